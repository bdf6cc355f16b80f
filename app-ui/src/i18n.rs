//! Every word the interface shows, in Chinese (the default) and English. Components never hold
//! a string of their own: they ask for a [`Key`] in the current [`Lang`]. The table is one macro
//! call, so a key cannot exist in one language only; the tests check that both texts are real.

/// The interface language.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Lang {
    /// 简体中文, the default.
    #[default]
    Zh,
    En,
}

impl Lang {
    /// The other language (the switch in the header).
    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }

    /// The BCP 47 tag, for the page's `lang` attribute.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }
}

macro_rules! keys {
    ($($key:ident => $zh:literal, $en:literal;)*) => {
        /// A text of the interface.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Key { $($key),* }

        impl Key {
            /// Every key, for the tests and the language switch.
            pub const ALL: &'static [Key] = &[$(Key::$key),*];
        }

        /// The text of `key` in `lang`.
        pub fn t(lang: Lang, key: Key) -> &'static str {
            match (lang, key) {
                $((Lang::Zh, Key::$key) => $zh, (Lang::En, Key::$key) => $en,)*
            }
        }
    };
}

keys! {
    AppName => "矛盾纠纷调处", "Dispute mediation";
    SwitchLanguage => "English", "中文";
    // Navigation
    NavToday => "今日", "Today";
    NavHouseholds => "联户走访", "Households";
    NavCases => "案件", "Cases";
    NavFigures => "统计", "Figures";
    NavSync => "同步", "Sync";
    // Enrolment
    EnrolTitle => "登记本机", "Enrol this device";
    ServerAddress => "中心服务器地址", "Centre server address";
    EnrolCode => "登记码", "Enrolment code";
    EnrolButton => "登记", "Enrol";
    // Today
    TodayVisits => "待走访农户", "Households to visit";
    TodayDue => "即将到期与超期案件", "Cases due or overdue";
    TodayAssigned => "中心交办给我的", "Assigned to me";
    NothingToday => "今天没有待办事项", "Nothing waiting today";
    // Visits
    RecordVisit => "记录走访", "Record a visit";
    AllSafe => "平安无事", "All safe";
    VisitWithDispute => "发现纠纷", "Found a dispute";
    LastVisit => "上次走访", "Last visit";
    // Reporting
    ReportDispute => "上报纠纷", "Report a dispute";
    FieldTitle => "案由", "Title";
    FieldCategory => "纠纷类型", "Category";
    FieldNarrative => "基本情况", "What happened";
    FieldAddress => "地点", "Place";
    FieldParties => "当事人", "Parties";
    FieldPartyName => "姓名", "Name";
    FieldPhone => "电话", "Phone";
    FieldIdNumber => "身份证号", "ID number";
    AddParty => "添加当事人", "Add a party";
    AddPhoto => "拍照", "Add a photo";
    UseLocation => "使用当前位置", "Use my location";
    Save => "保存", "Save";
    Saved => "已保存到本机", "Saved on this device";
    // Case list
    SearchParty => "按当事人姓名搜索", "Search by party name";
    FilterStatus => "状态", "Status";
    FilterOverdue => "超期", "Overdue";
    FilterDueSoon => "即将到期", "Due soon";
    FilterConflicts => "待处理冲突", "Conflicts to settle";
    // Case actions
    ActAssess => "研判", "Assess";
    ActAssign => "分流", "Assign";
    ActPartiesChoose => "当事人点单", "Parties' choice";
    ActSession => "记录调解", "Record a session";
    ActResolve => "调解成功", "Mark resolved";
    ActJudicial => "申请司法确认", "Request judicial confirmation";
    ActStabilise => "稳控", "Stabilised";
    ActEscalate => "上报上级", "Escalate";
    ActReportBack => "反馈", "Report back";
    ActFollowUp => "回访", "Follow up";
    ActClose => "办结", "Close";
    ActReopen => "重新启动", "Reopen";
    Timeline => "办理过程", "Timeline";
    Deadline => "办结期限", "Deadline";
    Overdue => "已超期", "Past its deadline";
    // Figures
    Received => "受理", "Received";
    Resolved => "化解", "Resolved";
    ResolutionRate => "化解率", "Resolution rate";
    OnTimeRate => "按期办结率", "On-time rate";
    SatisfactionRate => "回访满意率", "Satisfaction";
    ByCategory => "按纠纷类型", "By category";
    ByMonth => "按月", "By month";
    // Sync
    SyncedAt => "上次同步", "Last synced";
    Waiting => "待上传", "Waiting to upload";
    Offline => "无网络，已保存在本机", "Offline: saved on this device";
    Syncing => "正在同步", "Syncing";
    Refused => "被中心退回", "Refused by the centre";
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn has_han(s: &str) -> bool {
        s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
    }

    #[test]
    fn every_key_has_both_languages() {
        for &k in Key::ALL {
            let zh = t(Lang::Zh, k);
            let en = t(Lang::En, k);
            assert!(!zh.trim().is_empty() && !en.trim().is_empty(), "{k:?}");
            if k != Key::SwitchLanguage {
                assert!(has_han(zh), "{k:?}: Chinese text has Chinese: {zh}");
                assert!(!has_han(en), "{k:?}: English text has none: {en}");
            }
            assert_ne!(zh, en, "{k:?}");
        }
    }

    #[test]
    fn no_two_keys_say_the_same_thing() {
        for lang in [Lang::Zh, Lang::En] {
            let mut seen = HashSet::new();
            for &k in Key::ALL {
                assert!(
                    seen.insert(t(lang, k)),
                    "{lang:?}: {k:?} repeats {}",
                    t(lang, k)
                );
            }
        }
    }

    #[test]
    fn chinese_is_the_default_and_the_switch_toggles() {
        assert_eq!(Lang::default(), Lang::Zh);
        assert_eq!(Lang::Zh.other(), Lang::En);
        assert_eq!(Lang::En.other().tag(), "zh-CN");
    }
}
