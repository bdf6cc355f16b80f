//! Prevention on the screens (预防): other cases of the same parties and possible duplicates
//! (可能重复上报), matters (事项: cases staff linked as one) and early-warning alerts (风险预警).
//! What the screens decide and say is here, apart from rendering, so that it is tested natively;
//! whether the person may take a step is still the core's decision, checked again when it is
//! recorded.

use crate::i18n::{self, t, tf, Key, Lang};
use crate::{labels, time};
use app_core::ids::CaseId;
use app_core::model::Action;
use app_core::screens::{AlertRow, CaseScreen, MatchRow};
use app_core::validate::{self, Problem};
use app_core::warning::{AlertAck, Level};

/// An id shortened for reading aloud or comparing by eye: its last six characters (the random
/// end of a time-ordered id; ids made in the same minute share their beginning).
pub fn short_id(id: &str) -> String {
    let chars: Vec<char> = id.chars().filter(|c| *c != '-').collect();
    chars[chars.len().saturating_sub(6)..].iter().collect()
}

/// What a match row says about the pair: decided as one matter, decided distinct, or possibly
/// the same dispute reported twice; nothing for another dispute of the same party.
pub fn mark(r: &MatchRow) -> Option<Key> {
    if r.same_matter {
        Some(Key::LinkedSameMatter)
    } else if r.distinct {
        Some(Key::MarkedDistinct)
    } else if r.possible_duplicate {
        Some(Key::PossibleDuplicate)
    } else {
        None
    }
}

/// Whether a match row carries the buttons "同一事项" / "不是同一事项": a possible duplicate
/// not yet decided, shown to centre staff.
pub fn may_decide(r: &MatchRow, at_centre: bool) -> bool {
    at_centre && r.possible_duplicate && !r.same_matter && !r.distinct
}

/// How the parties match: "陈大文 ≈ 陈大闻（同村同音姓名）".
pub fn how(l: Lang, r: &MatchRow) -> String {
    i18n::aside(
        l,
        &format!("{} ≈ {}", r.ours, r.theirs),
        labels::party_match(l, r.how),
    )
}

/// The heading over the cases a report matches before it is saved: how many may be the same
/// dispute reported twice, else how many earlier disputes the same party has.
pub fn report_heading(l: Lang, rows: &[MatchRow]) -> String {
    let duplicates = rows.iter().filter(|r| r.possible_duplicate).count();
    if duplicates > 0 {
        tf(l, Key::PossibleDuplicates, &[&duplicates])
    } else {
        tf(l, Key::MatchesTitle, &[&rows.len()])
    }
}

/// Whether an alert offers "关联为同一事项": the person may act on it, and it names two cases
/// or more that are not all in one matter already (as far as the rows show: with cases not
/// shown, it offers it).
pub fn may_link(a: &AlertRow) -> bool {
    if a.may_acknowledge && a.more > 0 {
        return true;
    }
    let mut ids: Vec<&CaseId> = a.cases.iter().map(|c| &c.summary.id).collect();
    ids.sort();
    ids.dedup();
    if !a.may_acknowledge || ids.len() < 2 {
        return false;
    }
    let first = a.cases[0].summary.matter.as_ref();
    !(first.is_some() && a.cases.iter().all(|c| c.summary.matter.as_ref() == first))
}

/// The cases an alert names, for linking them as one matter (each once, in the alert's order).
pub fn alert_cases(a: &AlertRow) -> Vec<CaseId> {
    let mut out: Vec<CaseId> = Vec::new();
    for id in a
        .alert
        .cases
        .iter()
        .chain(a.cases.iter().map(|c| &c.summary.id))
    {
        if !out.contains(id) {
            out.push(id.clone());
        }
    }
    out
}

/// What is wrong with an acknowledgement's note, as the core checks it: required, not too long.
pub fn ack_problem(l: Lang, note: &str) -> Option<String> {
    let action = Action::AcknowledgeAlert {
        alert: String::new(),
        level: Level::Blue,
        words: String::new(),
        note: note.trim().to_owned(),
    };
    validate::action(&action)
        .into_iter()
        .next()
        .map(|p| match p.problem {
            Problem::TooLong { max } => tf(l, Key::ProblemTooLong, &[&max]),
            _ => t(l, Key::ProblemAckNote).to_owned(),
        })
}

/// Who acknowledged an alert, and when: "王主任 于 今天 09:30 签收".
pub fn acknowledged(l: Lang, ack: &AlertAck, now: i64) -> String {
    tf(
        l,
        Key::AlertAckBy,
        &[&ack.by, &time::moment(ack.at, now, l)],
    )
}

/// The title of another case the screen knows (a match, a case of the matter).
pub fn title_of(s: &CaseScreen, id: &CaseId) -> Option<String> {
    s.matches
        .iter()
        .map(|m| &m.row)
        .chain(&s.matter)
        .find(|r| &r.summary.id == id)
        .map(|r| r.summary.title.clone())
}

/// What a timeline entry of prevention says beyond its name (`None`: another kind of step).
/// `title` names another case when the screen knows it.
pub fn details(
    l: Lang,
    action: &Action,
    title: &dyn Fn(&CaseId) -> Option<String>,
) -> Option<Vec<String>> {
    let (first, note) = match action {
        Action::LinkMatter { matter, note } | Action::UnlinkMatter { matter, note } => {
            (tf(l, Key::MatterTitle, &[&short_id(matter.as_str())]), note)
        }
        Action::MarkDistinct { other, note } => {
            let other = title(other).unwrap_or_else(|| short_id(other.as_str()));
            (tf(l, Key::TimelineDistinct, &[&other]), note)
        }
        Action::AcknowledgeAlert {
            level, words, note, ..
        } => (format!("{} {words}", labels::level(l, *level)), note),
        _ => return None,
    };
    let mut out = vec![first];
    if !note.trim().is_empty() {
        out.push(note.clone());
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use app_core::deadline::DueState;
    use app_core::identity::PartyMatch;
    use app_core::ids::MatterId;
    use app_core::screens::CaseRow;
    use app_core::summary::CaseSummary;
    use app_core::validate::NARRATIVE_MAX;
    use app_core::warning::Alert;

    fn row(id: &str, title: &str, matter: Option<&str>) -> CaseRow {
        let mut summary: CaseSummary = serde_json::from_value(serde_json::json!({
            "id": id, "title": title, "category": "neighbour", "status": "Reported",
            "difficulty": null, "place_unit": "v1", "responsible_unit": "t1", "assignee": null,
            "assignee_people": [], "reporter": "p1", "reporter_name": "黄网格", "reported_at": 0,
            "clock_start": 0, "due_at": 0, "due_soon_at": 0, "handled_at": null,
            "resolved_at": null, "closed_at": null, "agreement": false, "judicial": null,
            "follow_ups": 0, "satisfaction": null, "escalated_from": [], "escalated_to": [],
            "conflicts": 0, "party_names": [], "entries": 1, "units": [], "updated_at": 0,
        }))
        .expect("a summary");
        summary.matter = matter.map(MatterId::new);
        CaseRow {
            summary,
            due: DueState::OnTrack,
            category_name: "邻里纠纷".into(),
            place_name: "五丰村".into(),
            responsible_name: "海宴镇".into(),
        }
    }

    fn matched(possible_duplicate: bool, same_matter: bool, distinct: bool) -> MatchRow {
        MatchRow {
            row: row("c2", "排水沟堵塞", None),
            ours: "陈大文".into(),
            theirs: "陈大闻".into(),
            how: PartyMatch::SameNameAndVillage,
            possible_duplicate,
            same_matter,
            distinct,
        }
    }

    fn alert(cases: Vec<CaseRow>, may_acknowledge: bool) -> AlertRow {
        AlertRow {
            alert: Alert {
                key: "k1".into(),
                rule: "r1".into(),
                level: Level::Orange,
                words: "陈大文 90 天内涉及 3 件纠纷".into(),
                cases: cases.iter().map(|c| c.summary.id.clone()).collect(),
                raised_at: 0,
                acknowledged: None,
            },
            rule: "同一当事人 90 天内涉及 3 件及以上纠纷".into(),
            cases,
            more: 0,
            may_acknowledge,
        }
    }

    #[test]
    fn a_possible_duplicate_offers_a_decision_to_centre_staff_only() {
        let dup = matched(true, false, false);
        assert_eq!(mark(&dup), Some(Key::PossibleDuplicate));
        assert!(may_decide(&dup, true));
        assert!(!may_decide(&dup, false), "a grid worker only sees the mark");
        let linked = matched(false, true, false);
        assert_eq!(mark(&linked), Some(Key::LinkedSameMatter));
        assert!(!may_decide(&linked, true));
        let distinct = matched(false, false, true);
        assert_eq!(mark(&distinct), Some(Key::MarkedDistinct));
        assert!(!may_decide(&distinct, true));
        assert_eq!(mark(&matched(false, false, false)), None);
        assert_eq!(how(Lang::Zh, &dup), "陈大文 ≈ 陈大闻（同村同音姓名）");
        assert_eq!(
            how(Lang::En, &dup),
            "陈大文 ≈ 陈大闻 (similar name, same village)"
        );
    }

    #[test]
    fn the_report_warns_of_duplicates_first() {
        let rows = [matched(false, false, false), matched(true, false, false)];
        assert_eq!(report_heading(Lang::Zh, &rows), "可能重复上报 1 件");
        assert_eq!(
            report_heading(Lang::Zh, &rows[..1]),
            "同一当事人既往纠纷 1 件"
        );
        assert_eq!(
            report_heading(Lang::En, &rows[..1]),
            "1 earlier disputes with the same party"
        );
    }

    #[test]
    fn an_alert_offers_linking_its_cases_unless_they_are_one_matter_already() {
        let two = vec![row("c1", "甲", None), row("c2", "乙", None)];
        assert!(may_link(&alert(two.clone(), true)));
        assert!(!may_link(&alert(two, false)), "not this person's to act on");
        assert!(!may_link(&alert(vec![row("c1", "甲", None)], true)));
        assert!(
            !may_link(&alert(
                vec![row("c1", "甲", None), row("c1", "甲", None)],
                true
            )),
            "the same case twice is one case"
        );
        let one_matter = vec![row("c1", "甲", Some("m1")), row("c2", "乙", Some("m1"))];
        assert!(!may_link(&alert(one_matter, true)));
        let partly = vec![row("c1", "甲", Some("m1")), row("c2", "乙", None)];
        assert!(may_link(&alert(partly.clone(), true)));
        let two_matters = vec![row("c1", "甲", Some("m1")), row("c2", "乙", Some("m2"))];
        assert!(may_link(&alert(two_matters, true)));
        let mut three = partly;
        three.push(row("c1", "甲", Some("m1")));
        assert_eq!(
            alert_cases(&alert(three, true)),
            [CaseId::new("c1"), CaseId::new("c2")]
        );
        // A large alert shows its newest cases only: linking takes all of them, and is
        // offered although the rows shown are one matter.
        let mut big = alert(
            vec![row("c3", "丙", Some("m1")), row("c4", "丁", Some("m1"))],
            true,
        );
        big.alert.cases = ["c1", "c2", "c3", "c4"].map(CaseId::new).to_vec();
        big.more = 2;
        assert!(may_link(&big));
        assert_eq!(
            alert_cases(&big),
            ["c1", "c2", "c3", "c4"].map(CaseId::new).to_vec()
        );
    }

    #[test]
    fn an_acknowledgement_needs_what_was_done() {
        assert_eq!(
            ack_problem(Lang::Zh, "  ").as_deref(),
            Some("请填写处置情况")
        );
        assert_eq!(
            ack_problem(Lang::En, "").as_deref(),
            Some("write what was done")
        );
        assert_eq!(ack_problem(Lang::Zh, "已约谈双方，安排镇调委会介入"), None);
        assert_eq!(
            ack_problem(Lang::En, &"长".repeat(NARRATIVE_MAX + 1)).as_deref(),
            Some("at most 5000 characters")
        );
    }

    #[test]
    fn timeline_entries_of_prevention_read_in_both_languages() {
        let none = |_: &CaseId| None;
        let known = |id: &CaseId| (id.as_str() == "c2").then(|| "排水沟堵塞".to_owned());
        let matter = MatterId::new("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");
        assert_eq!(short_id(matter.as_str()), "3f4a5b");
        let link = Action::LinkMatter {
            matter: matter.clone(),
            note: String::new(),
        };
        assert_eq!(labels::step(Lang::Zh, &link), "关联为同一事项");
        assert_eq!(
            details(Lang::Zh, &link, &none),
            Some(vec!["事项 3f4a5b".into()])
        );
        let unlink = Action::UnlinkMatter {
            matter,
            note: "误关联".into(),
        };
        assert_eq!(
            details(Lang::En, &unlink, &none),
            Some(vec!["Matter 3f4a5b".into(), "误关联".into()])
        );
        let distinct = Action::MarkDistinct {
            other: CaseId::new("c2"),
            note: String::new(),
        };
        assert_eq!(
            details(Lang::Zh, &distinct, &known),
            Some(vec!["判定与“排水沟堵塞”非同一事项".into()])
        );
        assert_eq!(
            details(Lang::En, &distinct, &none),
            Some(vec!["Decided it is not the same matter as “c2”".into()])
        );
        let ack = Action::AcknowledgeAlert {
            alert: "k1".into(),
            level: Level::Red,
            words: "五丰村 7 天内 4 件土地纠纷".into(),
            note: "已约谈村委".into(),
        };
        assert_eq!(labels::step(Lang::Zh, &ack), "预警签收");
        assert_eq!(
            details(Lang::Zh, &ack, &none),
            Some(vec![
                "红色预警 五丰村 7 天内 4 件土地纠纷".into(),
                "已约谈村委".into()
            ])
        );
        assert_eq!(
            details(Lang::En, &ack, &none).unwrap()[0],
            "Red alert 五丰村 7 天内 4 件土地纠纷"
        );
        assert_eq!(
            details(
                Lang::Zh,
                &Action::Close {
                    note: String::new()
                },
                &none
            ),
            None
        );
    }

    #[test]
    fn an_acknowledgement_says_who_and_when() {
        let ack = AlertAck {
            key: "k1".into(),
            by: "王主任".into(),
            at: 1_751_277_600_000,
            note: "已处置".into(),
        };
        let zh = acknowledged(Lang::Zh, &ack, 1_751_277_600_000);
        assert!(
            zh.starts_with("王主任 于 ") && zh.ends_with(" 签收"),
            "{zh}"
        );
        let en = acknowledged(Lang::En, &ack, 1_751_277_600_000);
        assert!(en.starts_with("Acknowledged by 王主任, "), "{en}");
    }
}
