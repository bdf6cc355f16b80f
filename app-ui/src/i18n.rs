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
    // Shell and navigation
    NavToday => "今日", "Today";
    NavHouseholds => "联户走访", "Households";
    NavCases => "案件", "Cases";
    NavReport => "上报", "Report";
    NavFigures => "统计", "Figures";
    NavSync => "同步", "Sync";
    MainNavigation => "主导航", "Main navigation";
    Loading => "加载中…", "Loading…";
    NoShell => "请在调处应用中打开本页面", "Open this page in the mediation app";
    Garbled => "应用返回了无法识别的数据：{}", "The app answered with something unexpected: {}";
    Retry => "重试", "Try again";
    Back => "返回", "Back";
    // Photos and files of a case
    PhotosWaiting => "待发送照片", "Photos waiting";
    SyncLinePhotos => "照片 {}", "photos: {}";
    ShowMore => "显示更多", "Show more";
    RosterTitle => "调解员名册", "Mediator roster";
    RosterLink => "查看调解员名册", "See the mediator roster";
    RosterGoodAt => "擅长：{}", "Good at: {}";
    RosterCaseload => "在办 {} 件", "{} open cases";
    RosterEmpty => "本单位暂无调解员", "No mediators in this unit";
    TodayEscalatedOut => "已上报上级、待上级处理", "Escalated up, with the higher centre";
    PhotosTitle => "照片与附件", "Photos and files";
    AddPhoto => "拍照或选择照片", "Take or choose a photo";
    NoPhotos => "暂无照片", "No photos yet";
    ShowPhoto => "查看", "View";
    PhotoAdding => "正在保存照片…", "Saving the photo…";
    PhotoWrongType => "只能添加照片（JPEG、PNG、WebP、HEIC）或 PDF 扫描件", "Only photos (JPEG, PNG, WebP, HEIC) or PDF scans can be added";
    PhotoTooBig => "文件超过 8 MB，请压缩后再添加", "The file is over 8 MB; shrink it and try again";
    PhotoUnreadable => "无法读取所选文件", "The chosen file could not be read";
    Cancel => "取消", "Cancel";
    NothingHere => "暂无", "None";
    SeeAll => "查看全部", "See all";
    SeeAllCount => "查看全部 {} 件", "See all {}";
    // Enrolment
    EnrolTitle => "登记本机", "Enrol this device";
    ServerAddress => "中心服务器地址", "Centre server address";
    EnrolCode => "登记码", "Enrolment code";
    EnrolButton => "登记", "Enrol";
    EnrolHint => "请向综治中心索取服务器地址和一次性登记码。", "Ask your centre for its server address and a one-time enrolment code.";
    DeviceName => "手机", "Mobile phone";
    Enrolling => "正在登记…", "Enrolling…";
    // Sync line and sync screen
    SyncLineSynced => "已同步 {}", "Synced {}";
    SyncLineNever => "尚未同步", "Not synced yet";
    SyncLineOffline => "离线", "Offline";
    SyncLineFailed => "同步出错", "Sync error";
    SyncLineWaiting => "待发送 {}", "{} to send";
    SyncLineRefused => "退回 {}", "{} refused";
    NotEnrolled => "未登记", "Not enrolled";
    SyncTitle => "数据同步", "Data sync";
    SyncedAt => "上次同步", "Last synced";
    NeverSynced => "从未同步", "Never";
    Waiting => "待上传", "Waiting to upload";
    Offline => "无网络，已保存在本机", "Offline: saved on this device";
    Syncing => "正在同步", "Syncing";
    SyncNow => "立即同步", "Sync now";
    SyncUpToDate => "已是最新", "Up to date";
    SyncFailed => "同步失败：{}", "Sync failed: {}";
    RetryAt => "将于 {} 自动重试，网络恢复后立即同步", "Will retry at {}, or as soon as the network is back";
    LastMoved => "上次发送 {} 项，接收 {} 项", "Last sync sent {} and received {}";
    Refused => "被中心退回", "Refused by the centre";
    SettingsTitle => "本机设置", "This device's settings";
    RemindersToggle => "提醒我超期、即将到期、被督办的案件和待办工单", "Remind me of overdue, due-soon and supervised cases and of hotline orders";
    RemindersHint => "无网络时也会提醒；同一案件每天最多提醒一次。", "Works without a network; at most one reminder a day for each case.";
    NothingRefused => "没有被退回的记录", "Nothing was refused";
    // Today
    TodayTitle => "今日工作", "Today's work";
    TodayVisits => "待走访农户", "Households to visit";
    VisitedToday => "今日已走访 {}/{} 户", "{} of {} households visited today";
    TodayOverdue => "超期案件", "Overdue cases";
    TodayDueSoon => "即将到期案件", "Cases due soon";
    TodayMine => "我经办的案件", "My open cases";
    TodayToAssess => "待研判的新案件", "New cases to assess";
    TodayEscalated => "上报与交办来的案件", "Escalated in or assigned down";
    TodaySupervised => "督办案件", "Cases under supervision";
    TodayOrders => "12345工单待签收、逾期未答复", "Hotline orders to sign for or overdue for a reply";
    ConflictsNotice => "{} 件案件有并发修改冲突待处理", "{} cases have conflicting changes to settle";
    NothingToday => "今天没有待办事项", "Nothing waiting today";
    // Case rows
    DueOn => "期限 {}", "due {}";
    // Households and visits
    HeadOfHousehold => "户主", "Head of household";
    Members => "{} 人", "{} people";
    VisitCount => "走访 {} 次", "{} visits";
    NeverVisited => "未走访", "Not visited yet";
    LastVisit => "上次走访", "Last visit";
    NoHouseholds => "本网格暂无农户", "No households in your grid";
    HouseholdNotes => "家庭情况", "About the household";
    RecordVisit => "记录走访", "Record a visit";
    AllSafeButton => "无事报平安", "All safe: nothing to report";
    VisitNote => "走访情况", "What you found";
    SaveVisit => "保存走访记录", "Save the visit";
    VisitNoteRequired => "请填写走访情况，或选择“无事报平安”", "Write what you found, or choose all safe";
    VisitWithDispute => "发现纠纷", "Found a dispute";
    VisitRecorded => "走访已记录", "Visit recorded";
    Visits => "走访记录", "Visits";
    NoVisits => "还没有走访记录", "No visits yet";
    OutcomeAllSafe => "平安无事", "All safe";
    OutcomeNoted => "记录情况", "Noted";
    OutcomeDispute => "发现纠纷并上报", "Dispute reported";
    OpenCase => "查看案件", "Open the case";
    // Reporting
    ReportDispute => "上报纠纷", "Report a dispute";
    ReportFromVisit => "上报走访发现的纠纷", "Report the dispute found on this visit";
    FieldTitle => "案由", "Title";
    FieldCategory => "纠纷类型", "Category";
    FieldNarrative => "基本情况", "What happened";
    FieldPlace => "所属网格或村", "Grid or village";
    FieldAddress => "地点", "Place";
    FieldSource => "来源", "Source";
    FieldParties => "当事人", "Parties";
    FieldPartyName => "姓名", "Name";
    FieldPartyRole => "身份", "Role in the dispute";
    FieldPhone => "电话", "Phone";
    FieldIdNumber => "身份证号", "ID number";
    AddParty => "添加当事人", "Add a party";
    UseLocation => "使用当前位置", "Use my location";
    Locating => "正在定位…", "Finding the position…";
    LocationSet => "已记录位置：{}", "Position recorded: {}";
    LocationUnavailable => "此设备无法定位，请在地点中写明", "This device cannot find its position; describe the place instead";
    Save => "保存", "Save";
    Saving => "正在保存…", "Saving…";
    Saved => "已保存到本机", "Saved on this device";
    // Case list
    SearchParty => "搜索当事人姓名或案由", "Search a party's name or the title";
    FilterStatus => "状态", "Status";
    FilterAll => "全部", "All";
    FilterOverdue => "超期", "Overdue";
    FilterDueSoon => "即将到期", "Due soon";
    FilterMine => "只看我经办的", "Only mine";
    FilterConflicts => "待处理冲突", "Conflicts to settle";
    FilterOrders => "只看待办的12345工单", "Only hotline orders waiting on us";
    FilterSupervised => "只看督办案件", "Only cases under supervision";
    CasesCount => "共 {} 件", "{} cases";
    NoCases => "没有符合条件的案件", "No cases match";
    // Case screen
    Responsible => "责任单位", "Responsible centre";
    AssignedTo => "承办", "Handled by";
    NotAssigned => "尚未分流", "Not assigned yet";
    ChosenByParties => "当事人点单", "Chosen by the parties";
    Difficulty => "难度", "Difficulty";
    NotAssessed => "尚未研判", "Not assessed yet";
    Risks => "风险", "Risks";
    ReportedBy => "上报人", "Reported by";
    Agreement => "调解协议", "Agreement";
    Contacts => "联系方式", "Contact details";
    Timeline => "办理过程", "Timeline";
    Deadline => "办结期限", "Deadline";
    Supervision => "督办情况", "Supervision";
    SupervisedBy => "{}督办", "supervised by {}";
    // A case's work order (12345 工单)
    WorkOrder => "12345工单", "Hotline work order";
    OrderNumber => "工单号", "Order number";
    OrderKindLabel => "工单类型", "Kind of order";
    OrderStateLabel => "工单状态", "Order status";
    OrderChannel => "来源渠道", "Channel";
    OrderConfidential => "来电人要求保密", "The caller asked for confidentiality";
    SignBy => "签收期限", "Sign for by";
    ReplyBy => "答复期限", "Reply by";
    OrderSigned => "{}签收于{}", "signed for by {} at {}";
    OrderReply => "答复内容", "Reply";
    ReturnReason => "退单原因", "Why it was returned";
    OrderOverdue => "工单逾期", "Order overdue";
    Redispatched => "第 {} 次派单", "dispatched {} times";
    Overdue => "已超期", "Past its deadline";
    NotApplied => "未生效：{}", "Not applied: {}";
    ConflictMark => "冲突", "Conflict";
    ActionsHeading => "可办理事项", "What you can do";
    NoActions => "您目前不能对此案件操作", "There is nothing for you to do on this case now";
    // Case actions (buttons)
    ActAssess => "研判", "Assess";
    ActAssign => "分流", "Assign";
    ActSession => "记录调解", "Record a session";
    ActResolve => "调解成功", "Mark resolved";
    ActJudicial => "申请司法确认", "Request judicial confirmation";
    ActJudicialResult => "登记司法确认结果", "Record the court's answer";
    ActStabilise => "稳控", "Stabilised";
    ActFail => "调解不成", "Mediation failed";
    ActEscalate => "上报上级", "Escalate";
    ActAssignDown => "交办下级", "Assign down";
    ActReportBack => "反馈", "Report back";
    ActFollowUp => "回访", "Follow up";
    ActClose => "办结", "Close";
    ActReopen => "重新启动", "Reopen";
    ActSettle => "处理冲突", "Settle conflicts";
    ActEraseContacts => "删除联系方式", "Erase contact details";
    ActUnlinkMatter => "取消关联", "Unlink from the matter";
    ActSupervise => "督办", "Supervise";
    ActSignOrder => "签收工单", "Sign for the order";
    ActReplyOrder => "答复工单", "Reply to the hotline";
    ActReturnOrder => "退单", "Return the order";
    ActUnknown => "此事项请在中心电脑上办理", "Do this step at the centre's desk";
    // Case action fields
    ActNote => "说明", "Note";
    ActInstructions => "交办要求", "Instructions";
    ActMediator => "调解员或调委会", "Mediator or committee";
    ActMediators => "调解员（★ 擅长此类纠纷）", "Mediators (★ good at this kind)";
    ActCommittees => "人民调解委员会", "Mediation committees";
    ActPartiesChoose => "点单式调解（当事人共同选定）", "Both parties chose this mediator";
    ActMode => "调解方式", "Where it took place";
    ActAgreementSummary => "协议内容（每行一项，可选）", "Agreed terms (one per line, optional)";
    ActPerformance => "履行方式、时限", "How and by when the terms are performed";
    ActSignatures => "当事人签名（现场手写）", "The parties sign here, on the screen";
    ActSignFor => "{}签名", "{} signs";
    ActSignClear => "重签", "Sign again";
    ActSigned => "已签名", "Signed";
    ActNotSigned => "未签名", "Not signed";
    ProblemAgreementFirst => "请先写明协议内容", "Write the agreed terms first";
    ActCourt => "法院", "Court";
    ActGranted => "法院结果", "Court's answer";
    Granted => "确认有效", "Confirmed";
    NotGranted => "不予确认", "Not confirmed";
    ActEscalateTo => "上报至", "Escalate to";
    ActAssignDownTo => "交办至", "Assign down to";
    ActEscalationReason => "上报原因", "Why it goes up";
    ActReopenReason => "重新启动原因", "Why it is reopened";
    ActMethod => "回访方式", "How";
    ActSatisfaction => "当事人满意度", "Parties' satisfaction";
    ActRelapsed => "纠纷出现反复", "The dispute has come back";
    ActDueDays => "办理期限（天）", "Days allowed";
    ActConflicts => "要处理的冲突记录", "Conflicting entries to settle";
    ActSuperviseLevel => "督办级别", "Level of supervision";
    ActNewDeadline => "新的办结期限", "New deadline";
    ActSuperviseNote => "督办要求", "What is expected";
    Choose => "请选择", "Choose…";
    Submit => "提交", "Submit";
    Submitting => "正在提交…", "Submitting…";
    Recorded => "已记录", "Recorded";
    // Case action problems
    ProblemCheckFields => "请检查：{}", "Please check: {}";
    ProblemChooseDifficulty => "请选择难度", "choose a difficulty";
    ProblemChooseAssignee => "请选择调解员或调委会", "choose a mediator or committee";
    ProblemNoteRequired => "请填写说明", "write a note";
    ProblemInstructionsRequired => "请填写交办要求", "write the instructions";
    ProblemCourtRequired => "请填写法院名称", "name the court";
    ProblemChooseGranted => "请选择法院结果", "choose the court's answer";
    ProblemChooseUnit => "请选择单位", "choose a unit";
    ProblemChooseReason => "请选择上报原因", "choose why it goes up";
    ProblemReasonRequired => "请填写原因", "give a reason";
    ProblemChooseMode => "请选择调解方式", "choose where it took place";
    ProblemChooseMethod => "请选择回访方式", "choose how you followed up";
    ProblemChooseSatisfaction => "请选择满意度", "choose the parties' satisfaction";
    ProblemDueDays => "期限须为 1 至 {} 天", "between 1 and {} days";
    ProblemChooseConflicts => "请选择要处理的冲突", "choose the conflicts to settle";
    ProblemTooLong => "不超过 {} 字", "at most {} characters";
    ProblemNoMatter => "本案未关联事项", "the case is in no matter";
    ProblemChooseSuperviseLevel => "请选择督办级别", "choose the level of supervision";
    ProblemNewDeadline => "请选择今天起 {} 天内的日期", "choose a date from today to {} days ahead";
    ProblemSuperviseNote => "请填写督办要求", "write what is expected";
    ProblemReplyRequired => "请填写答复内容", "write the reply";
    ProblemReturnReason => "请说明退单原因", "say why it is returned";
    // Possible duplicates, matters and early warning (预防)
    MatchesTitle => "同一当事人既往纠纷 {} 件", "{} earlier disputes with the same party";
    PossibleDuplicate => "可能重复上报", "May have been reported twice";
    PossibleDuplicates => "可能重复上报 {} 件", "{} cases may be this one reported twice";
    SameMatter => "同一事项", "Same matter";
    NotSameMatter => "不是同一事项", "Not the same matter";
    LinkedSameMatter => "已关联为同一事项", "Linked as one matter";
    MarkedDistinct => "已判定非重复", "Decided: a different matter";
    MatterSection => "关联事项", "Linked matter";
    MatterOpen => "查看事项全部案件", "See every case of the matter";
    MatterTitle => "事项 {}", "Matter {}";
    TimelineDistinct => "判定与“{}”非同一事项", "Decided it is not the same matter as “{}”";
    AlertsTitle => "风险预警", "Early warnings";
    AlertsOpen => "待签收", "To acknowledge";
    AlertsAcknowledged => "已签收", "Acknowledged";
    AlertRules => "预警规则", "Warning rules";
    AlertCaseCount => "涉及 {} 件", "concerns {} cases";
    AlertMoreCases => "另有较早的 {} 件未列出", "{} earlier cases not listed";
    AlertAckBy => "{} 于 {} 签收", "Acknowledged by {}, {}";
    AlertAckNote => "处置情况", "What was done";
    AlertAck => "签收", "Acknowledge";
    ProblemAckNote => "请填写处置情况", "write what was done";
    AlertLinkCases => "关联为同一事项", "Link as one matter";
    AlertsSeeAll => "查看全部预警", "See every alert";
    NoAlerts => "暂无预警", "No alerts";
    ReportMatchesHint => "请先核对以下案件：如是同一纠纷，请返回修改或到原案件办理", "Check these cases first: if it is the same dispute, go back, or work on the earlier case";
    ReportAnyway => "仍然上报", "Report anyway";
    ReportEdit => "返回修改", "Go back and edit";
    Checking => "正在核对…", "Checking…";
    // Figures
    FiguresOf => "{} 统计", "Figures of {}";
    Period => "统计期间", "Period";
    ThisMonth => "本月", "This month";
    ThisQuarter => "本季度", "This quarter";
    ThisYear => "本年度", "This year";
    AllTime => "全部时间", "All time";
    Received => "受理", "Received";
    MattersStat => "事项", "Matters";
    MattersValue => "{}（{} 件关联）", "{} ({} cases linked)";
    Resolved => "化解", "Resolved";
    ResolutionRate => "化解率", "Resolution rate";
    CompletionRate => "办结率", "Completion rate";
    OnTimeRate => "按期办结率", "On-time rate";
    SatisfactionRate => "回访满意率", "Satisfaction";
    OpenCases => "在办", "Open";
    OverdueCount => "超期件数", "Overdue now";
    StabilisedCount => "稳控件数", "Under control";
    EscalatedOut => "上报件数", "Escalated out";
    SupervisedCount => "督办件数", "Supervised";
    OrdersCount => "12345工单件数", "Hotline orders";
    ReturnedCount => "退单件数", "Orders returned";
    ByCategory => "按纠纷类型", "By category";
    ByMonth => "按月", "By month";
    ByUnit => "按单位", "By unit";
    NoData => "暂无数据", "No data";
    // The centre's desk: the ledger and its exports
    NavLedger => "台账", "Ledger";
    LedgerOf => "{} 矛盾纠纷台账", "Dispute ledger of {}";
    LedgerDays => "{} 至 {}，共 {} 件", "{} to {}: {} cases";
    LedgerMasked => "身份证号已脱敏", "ID numbers masked";
    LedgerFull => "身份证号完整（主任）", "ID numbers whole (the centre's leader)";
    LedgerSortHint => "点击列名排序", "Click a column's name to sort";
    Exports => "导出", "Export";
    ExportSaving => "正在导出…", "Exporting…";
    ExportDoneMsg => "已导出 {} 件：{}", "Exported {} cases: {}";
    ExportCancelled => "未选择保存位置，未导出", "No place chosen; nothing exported";
    DeskPickCase => "在左侧列表中选择案件", "Choose a case in the list on the left";
}

/// Items listed in a sentence: "陈大文、李秀英" / "陈大文, 李秀英".
pub fn join(lang: Lang, items: &[impl AsRef<str>]) -> String {
    let items: Vec<&str> = items.iter().map(AsRef::as_ref).collect();
    items.join(match lang {
        Lang::Zh => "、",
        Lang::En => ", ",
    })
}

/// A text with a remark after it: "海宴镇（镇/街道）" / "海宴镇 (Township)".
pub fn aside(lang: Lang, text: &str, remark: &str) -> String {
    match lang {
        Lang::Zh => format!("{text}（{remark}）"),
        Lang::En => format!("{text} ({remark})"),
    }
}

/// A label and its value: "难度：简单" / "Difficulty: Simple".
pub fn labelled(lang: Lang, label: &str, value: &str) -> String {
    match lang {
        Lang::Zh => format!("{label}：{value}"),
        Lang::En => format!("{label}: {value}"),
    }
}

/// The text of `key` in `lang` with each `{}` replaced by the next of `args`.
pub fn tf(lang: Lang, key: Key, args: &[&dyn std::fmt::Display]) -> String {
    let mut out = String::new();
    let mut args = args.iter();
    let mut parts = t(lang, key).split("{}").peekable();
    while let Some(part) = parts.next() {
        out.push_str(part);
        if parts.peek().is_some() {
            if let Some(a) = args.next() {
                out.push_str(&a.to_string());
            }
        }
    }
    out
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
    fn placeholders_are_filled_in_order_and_match_across_languages() {
        assert_eq!(
            tf(Lang::Zh, Key::VisitedToday, &[&3, &40]),
            "今日已走访 3/40 户"
        );
        assert_eq!(
            tf(Lang::En, Key::VisitedToday, &[&3, &40]),
            "3 of 40 households visited today"
        );
        assert_eq!(tf(Lang::En, Key::SyncLineWaiting, &[&0]), "0 to send");
        for &k in Key::ALL {
            assert_eq!(
                t(Lang::Zh, k).matches("{}").count(),
                t(Lang::En, k).matches("{}").count(),
                "{k:?}: both languages take the same arguments"
            );
        }
    }

    #[test]
    fn punctuation_follows_the_language() {
        assert_eq!(join(Lang::Zh, &["陈大文", "李秀英"]), "陈大文、李秀英");
        assert_eq!(join(Lang::En, &["a", "b"]), "a, b");
        assert_eq!(aside(Lang::Zh, "海宴镇", "镇/街道"), "海宴镇（镇/街道）");
        assert_eq!(aside(Lang::En, "海宴镇", "Township"), "海宴镇 (Township)");
        assert_eq!(labelled(Lang::Zh, "难度", "简单"), "难度：简单");
    }

    #[test]
    fn chinese_is_the_default_and_the_switch_toggles() {
        assert_eq!(Lang::default(), Lang::Zh);
        assert_eq!(Lang::Zh.other(), Lang::En);
        assert_eq!(Lang::En.other().tag(), "zh-CN");
    }
}
