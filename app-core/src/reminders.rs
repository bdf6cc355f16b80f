//! Reminders (提醒): the local notifications a phone or a desk raises for cases that are due
//! soon, overdue, or newly supervised (督办), and, on a centre's desk, for work orders (工单) of
//! the 12345 hotline waiting to be signed for or replied to, with no network. Which cases, and the once-a-day
//! bookkeeping, are the session's (`session::reminders`, over the local store); this module is
//! what a reminder says and how many a person gets at once.
//!
//! A desk with hundreds of overdue cases must not get hundreds of notifications: at most
//! [`SEPARATE`] cases, the most urgent, get a notification of their own, and the rest one
//! summary ("另有 N 件案件超期"). Urgency: a new supervision first (the firmest level first), then
//! work orders to sign for (a signing deadline is hours), then orders whose reply falls due, then
//! overdue cases (the longest overdue first), then cases due soon (the soonest first): the
//! hotline's deadlines are counted against the centre by the platform, to the minute.
//!
//! Pure: time comes in as an argument, and the words are Chinese (the notification the shell
//! shows) and English.

use crate::deadline::LocalTime;
use crate::ids::CaseId;
use crate::model::SuperviseLevel;
use crate::summary::CaseSummary;
use chrono::Datelike;
use serde::{Deserialize, Serialize};

/// How many cases get a notification of their own when several are due at once.
pub const SEPARATE: usize = 3;
/// How many characters of a supervision's note a notification quotes.
const NOTE_CHARS: usize = 60;
const DAY_MS: i64 = 86_400_000;

/// Why a case is reminded of, most urgent first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ReminderKind {
    /// A supervision (督办) this person has not been reminded of, issued by someone else.
    Supervised,
    /// A work order (工单) of the hotline waiting to be signed for (待签收).
    OrderToSign,
    /// A work order signed for but not replied to, its reply deadline within the due-soon
    /// window or past (待答复).
    OrderReply,
    /// Open and past its deadline (超期).
    Overdue,
    /// Open and within the warning period before its deadline (即将到期).
    DueSoon,
    /// The summary of the cases that did not get a notification of their own.
    Others,
}

/// A case to remind of, and why (what the session found in the store).
#[derive(Clone, Debug, PartialEq)]
pub struct Due {
    pub kind: ReminderKind,
    pub summary: CaseSummary,
}

/// One notification to show.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reminder {
    pub kind: ReminderKind,
    /// The case it is about; `None` for the summary of several.
    pub case: Option<CaseId>,
    /// How many cases it stands for (1 for a case's own).
    pub cases: usize,
    /// The title and the text, in Chinese (what the shell shows) and in English.
    pub title: String,
    pub body: String,
    pub title_en: String,
    pub body_en: String,
}

impl Due {
    /// The deadline the reminder is about: the order's signing or reply deadline for an order,
    /// the case's otherwise.
    fn deadline(&self) -> i64 {
        let order = self.summary.order.as_ref();
        match self.kind {
            ReminderKind::OrderToSign => order.map(|o| o.sign_by),
            ReminderKind::OrderReply => order.map(|o| o.reply_by),
            _ => None,
        }
        .unwrap_or(self.summary.due_at)
    }
}

/// The order of urgency: kind, then (supervisions) the firmest level, then the earliest
/// deadline, then the case id (so that equal cases always come out alike).
fn urgency(
    d: &Due,
) -> (
    ReminderKind,
    std::cmp::Reverse<Option<SuperviseLevel>>,
    i64,
    CaseId,
) {
    let level = match d.kind {
        ReminderKind::Supervised => d.summary.supervised.as_ref().map(|s| s.level),
        _ => None,
    };
    (
        d.kind,
        std::cmp::Reverse(level),
        d.deadline(),
        d.summary.id.clone(),
    )
}

/// The notifications for `due`, as at `now`: the [`SEPARATE`] most urgent cases each on their
/// own, and, when there are more, one summary of the rest. `local` is the person's local time
/// (the dates the words name).
pub fn group(mut due: Vec<Due>, now: i64, local: LocalTime) -> Vec<Reminder> {
    due.sort_by_key(urgency);
    let rest = if due.len() > SEPARATE {
        due.split_off(SEPARATE)
    } else {
        Vec::new()
    };
    let mut out: Vec<Reminder> = due.iter().map(|d| one(d, now, local)).collect();
    if !rest.is_empty() {
        out.push(others(&rest));
    }
    out
}

/// A deadline (the first late instant) as the last day to meet it: "6月3日", "3 Jun".
fn last_day(due_at: i64, local: LocalTime) -> (String, String) {
    day_of(local.date(due_at - 1))
}

fn day_of(d: chrono::NaiveDate) -> (String, String) {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    (
        format!("{}月{}日", d.month(), d.day()),
        format!("{} {}", d.day(), MONTHS[d.month0() as usize]),
    )
}

/// An instant as the local date and time it names: "6月3日 14:00", "3 Jun 14:00".
fn moment(at: i64, local: LocalTime) -> (String, String) {
    let t = local.datetime(at);
    let (day, day_en) = day_of(t.date());
    let clock = t.format("%H:%M");
    (format!("{day} {clock}"), format!("{day_en} {clock}"))
}

fn parties(s: &CaseSummary) -> (String, String) {
    if s.party_names.is_empty() {
        (String::new(), String::new())
    } else {
        (
            format!("当事人：{}", s.party_names.join("、")),
            format!(" Parties: {}", s.party_names.join(", ")),
        )
    }
}

/// A case's own notification.
fn one(d: &Due, now: i64, local: LocalTime) -> Reminder {
    let s = &d.summary;
    let (day, day_en) = last_day(s.due_at, local);
    let (who, who_en) = parties(s);
    let (title, body, title_en, body_en) = match (d.kind, &s.supervised) {
        (ReminderKind::Supervised, Some(sup)) => {
            let note: String = sup.note.trim().chars().take(NOTE_CHARS).collect();
            let level_en = match sup.level {
                SuperviseLevel::General => "General supervision",
                SuperviseLevel::Priority => "Priority supervision",
                SuperviseLevel::Listed => "Listed supervision",
            };
            (
                format!("{}：{}", sup.level.zh(), s.title),
                format!("{}督办，请于{day}前办结。{note}", sup.by),
                format!("{level_en}: {}", s.title),
                format!(
                    "Supervised by {}: to be handled by the end of {day_en}. {note}",
                    sup.by
                ),
            )
        }
        (ReminderKind::OrderToSign | ReminderKind::OrderReply, _) => {
            let number = s.order.as_ref().map(|o| o.number.as_str()).unwrap_or("");
            let (at, at_en) = moment(d.deadline(), local);
            let late = now > d.deadline();
            let sign = d.kind == ReminderKind::OrderToSign;
            let (what, what_en) = if sign {
                ("签收", "sign for")
            } else {
                ("答复", "reply to")
            };
            let (body, body_en) = if late {
                (
                    format!("12345工单{number}已超过{what}期限（{at}），请尽快{what}。"),
                    format!("Hotline order {number}: the deadline to {what_en} it ({at_en}) has passed."),
                )
            } else {
                (
                    format!("12345工单{number}，请于{at}前{what}。"),
                    format!("Hotline order {number}: {what_en} it by {at_en}."),
                )
            };
            (
                format!("工单待{what}：{}", s.title),
                body,
                format!(
                    "{}: {}",
                    if sign {
                        "Order to sign for"
                    } else {
                        "Order to reply to"
                    },
                    s.title
                ),
                body_en,
            )
        }
        (ReminderKind::Overdue, _) => {
            let days = (now - s.due_at).max(0) / DAY_MS + 1;
            (
                format!("案件超期：{}", s.title),
                format!("期限{day}，已超期{days}天。{who}"),
                format!("Overdue: {}", s.title),
                format!("Due by the end of {day_en}, {days} day(s) overdue.{who_en}"),
            )
        }
        _ => (
            format!("即将到期：{}", s.title),
            format!("请于{day}前办结。{who}"),
            format!("Due soon: {}", s.title),
            format!("To be handled by the end of {day_en}.{who_en}"),
        ),
    };
    Reminder {
        kind: d.kind,
        case: Some(s.id.clone()),
        cases: 1,
        title,
        body: body.trim().to_owned(),
        title_en,
        body_en: body_en.trim().to_owned(),
    }
}

/// The one notification for the cases that did not get their own.
fn others(rest: &[Due]) -> Reminder {
    // Each kind's count, in the order of urgency, with its words: in the body, and in the
    // title when it is the only kind.
    let parts: Vec<(usize, &str, &str, &str)> = [
        (
            ReminderKind::Supervised,
            "督办",
            "案件被督办",
            "newly supervised",
        ),
        (
            ReminderKind::OrderToSign,
            "工单待签收",
            "工单待签收",
            "hotline orders to sign for",
        ),
        (
            ReminderKind::OrderReply,
            "工单待答复",
            "工单待答复",
            "hotline orders to reply to",
        ),
        (ReminderKind::Overdue, "超期", "案件超期", "overdue"),
        (
            ReminderKind::DueSoon,
            "即将到期",
            "案件即将到期",
            "due soon",
        ),
    ]
    .into_iter()
    .map(|(k, zh, title, en)| (rest.iter().filter(|d| d.kind == k).count(), zh, title, en))
    .filter(|(n, _, _, _)| *n > 0)
    .collect();
    let n = rest.len();
    let (what, what_en) = match parts.as_slice() {
        [(_, _, title, en)] => (*title, format!("more: {en}")),
        _ => ("案件待办", "more cases needing attention".to_owned()),
    };
    let zh: Vec<String> = parts
        .iter()
        .map(|(k, w, _, _)| format!("{w}{k}件"))
        .collect();
    let en: Vec<String> = parts
        .iter()
        .map(|(k, _, _, w)| format!("{k} {w}"))
        .collect();
    Reminder {
        kind: ReminderKind::Others,
        case: None,
        cases: n,
        title: format!("另有{n}件{what}"),
        body: format!("{}，请打开应用查看。", zh.join("，")),
        title_en: format!("{n} {what_en}"),
        body_en: format!("{}: open the app to see them.", en.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{PersonId, UnitId};
    use crate::workflow::{Status, SupervisionRecord};
    use std::collections::BTreeSet;

    const DAY: i64 = DAY_MS;
    /// 2026-10-10 00:00 China Standard Time.
    const OCT10: i64 = 1_791_561_600_000;

    fn summary(id: &str, due_at: i64) -> CaseSummary {
        CaseSummary {
            id: id.into(),
            title: format!("纠纷{id}"),
            category: "neighbour".into(),
            status: Status::Assigned,
            difficulty: None,
            place_unit: "g".into(),
            responsible_unit: "t".into(),
            assignee: None,
            assignee_people: vec![],
            reporter: PersonId::new("gw"),
            reporter_name: "陈志强".into(),
            reported_at: due_at - 7 * DAY,
            clock_start: due_at - 7 * DAY,
            due_at,
            due_soon_at: due_at - DAY,
            handled_at: None,
            resolved_at: None,
            closed_at: None,
            agreement: false,
            judicial: None,
            follow_ups: 0,
            satisfaction: None,
            escalated_from: vec![],
            escalated_to: vec![],
            conflicts: 0,
            party_names: vec!["陈大文".into(), "李秀英".into()],
            entries: 3,
            units: BTreeSet::from([UnitId::new("t")]),
            updated_at: due_at - 7 * DAY,
            contacts_erased_at: None,
            village: None,
            risks: BTreeSet::new(),
            failures: 0,
            matter: None,
            distinct_from: BTreeSet::new(),
            alerts: vec![],
            supervised: None,
            supervisions: 0,
            order: None,
            source: None,
            brief: String::new(),
            assigned_down_to: None,
        }
    }

    fn due(kind: ReminderKind, id: &str, due_at: i64) -> Due {
        Due {
            kind,
            summary: summary(id, due_at),
        }
    }

    fn supervised(id: &str, level: SuperviseLevel, due_at: i64) -> Due {
        let mut s = summary(id, due_at);
        s.supervised = Some(SupervisionRecord {
            entry: "e9".into(),
            level,
            due_at,
            unit: "c".into(),
            person: "cs".into(),
            by: "梁国栋".into(),
            at: OCT10 - DAY,
            note: "挂牌督办，请限期办结并书面反馈。".repeat(10),
        });
        s.supervisions = 1;
        Due {
            kind: ReminderKind::Supervised,
            summary: s,
        }
    }

    /// A case whose hotline order (signing deadline `sign_by`, reply three days later) is owed.
    fn ordered(kind: ReminderKind, id: &str, sign_by: i64) -> Due {
        let mut s = summary(id, sign_by + 9 * DAY);
        s.order = Some(crate::summary::OrderSummary {
            number: format!("TS-{id}"),
            channel: "12345".into(),
            kind: crate::model::OrderKind::Complaint,
            confidential: false,
            state: crate::workflow::OrderState::Dispatched,
            dispatched_at: sign_by - 2 * 3_600_000,
            sign_by,
            reply_by: sign_by + 3 * DAY,
            dispatches: 1,
            signed_at: None,
            signed_by: None,
            reply: None,
            replied_at: None,
            return_reason: None,
            returned_at: None,
        });
        Due { kind, summary: s }
    }

    #[test]
    fn hotline_orders_come_after_supervisions_and_before_overdue_cases() {
        // 10:00 on 10 October, China Standard Time.
        let now = OCT10 + 10 * 3_600_000;
        let r = group(
            vec![
                due(ReminderKind::Overdue, "late", OCT10 - 2 * DAY),
                // Its reply is due at 14:30 on 13 October.
                ordered(
                    ReminderKind::OrderReply,
                    "reply",
                    now + 4 * 3_600_000 + 1_800_000 - 3 * DAY,
                ),
                ordered(ReminderKind::OrderToSign, "sign", now + 2 * 3_600_000),
                supervised("pressed", SuperviseLevel::General, OCT10 + 9 * DAY),
            ],
            now,
            LocalTime::CHINA,
        );
        assert_eq!(
            ids(&r),
            [Some("pressed"), Some("sign"), Some("reply"), None],
            "{r:?}"
        );
        assert_eq!(r[1].title, "工单待签收：纠纷sign");
        assert_eq!(r[1].body, "12345工单TS-sign，请于10月10日 12:00前签收。");
        assert_eq!(
            r[1].body_en,
            "Hotline order TS-sign: sign for it by 10 Oct 12:00."
        );
        assert_eq!(r[2].title, "工单待答复：纠纷reply");
        assert_eq!(r[2].body, "12345工单TS-reply，请于10月10日 14:30前答复。");
        // Late: said so.
        let late = group(
            vec![ordered(ReminderKind::OrderToSign, "sign", now - 3_600_000)],
            now,
            LocalTime::CHINA,
        );
        assert_eq!(
            late[0].body,
            "12345工单TS-sign已超过签收期限（10月10日 09:00），请尽快签收。"
        );
        // The summary names the orders among the rest.
        assert_eq!(r[3].title, "另有1件案件超期");
        let many: Vec<Due> = (0..6)
            .map(|i| ordered(ReminderKind::OrderToSign, &format!("o{i}"), now + DAY))
            .collect();
        let r = group(many, now, LocalTime::CHINA);
        assert_eq!(r[3].title, "另有3件工单待签收");
        assert_eq!(r[3].title_en, "3 more: hotline orders to sign for");
        assert_eq!(r[3].body, "工单待签收3件，请打开应用查看。");
    }

    fn ids(r: &[Reminder]) -> Vec<Option<&str>> {
        r.iter()
            .map(|r| r.case.as_ref().map(CaseId::as_str))
            .collect()
    }

    #[test]
    fn a_few_cases_get_a_notification_each_in_order_of_urgency() {
        let now = OCT10 + 10 * 3_600_000;
        assert!(group(vec![], now, LocalTime::CHINA).is_empty());
        let r = group(
            vec![
                due(ReminderKind::DueSoon, "soon", OCT10 + DAY),
                due(ReminderKind::Overdue, "late", OCT10 - 2 * DAY),
                supervised("pressed", SuperviseLevel::General, OCT10 + 9 * DAY),
            ],
            now,
            LocalTime::CHINA,
        );
        assert_eq!(ids(&r), [Some("pressed"), Some("late"), Some("soon")]);
        assert!(r.iter().all(|r| r.cases == 1));
        assert_eq!(r[0].title, "一般督办：纠纷pressed");
        assert!(
            r[0].body
                .starts_with("梁国栋督办，请于10月18日前办结。挂牌督办"),
            "{}",
            r[0].body
        );
        assert!(r[0].body.chars().count() < 100, "the note is cut short");
        assert_eq!(r[1].title, "案件超期：纠纷late");
        assert_eq!(r[1].body, "期限10月7日，已超期3天。当事人：陈大文、李秀英");
        assert_eq!(
            r[1].body_en,
            "Due by the end of 7 Oct, 3 day(s) overdue. Parties: 陈大文, 李秀英"
        );
        assert_eq!(r[2].title, "即将到期：纠纷soon");
        assert_eq!(r[2].body, "请于10月10日前办结。当事人：陈大文、李秀英");
    }

    #[test]
    fn hundreds_of_overdue_cases_give_three_notifications_and_one_summary() {
        let now = OCT10;
        let many: Vec<Due> = (0..500)
            .map(|i| {
                due(
                    ReminderKind::Overdue,
                    &format!("c{i:03}"),
                    OCT10 - (i % 40) * DAY,
                )
            })
            .collect();
        let r = group(many, now, LocalTime::CHINA);
        assert_eq!(r.len(), SEPARATE + 1);
        // The longest overdue first (due 39 days ago: c039, c079, …), by id among equals.
        assert_eq!(ids(&r[..3]), [Some("c039"), Some("c079"), Some("c119")]);
        let summary = &r[3];
        assert_eq!(
            (summary.kind, summary.case.as_ref(), summary.cases),
            (ReminderKind::Others, None, 497)
        );
        assert_eq!(summary.title, "另有497件案件超期");
        assert_eq!(summary.body, "超期497件，请打开应用查看。");
        assert_eq!(summary.title_en, "497 more: overdue");
    }

    #[test]
    fn the_summary_names_what_it_holds() {
        let now = OCT10;
        let mut mixed = vec![
            supervised("a", SuperviseLevel::Listed, OCT10 + 5 * DAY),
            supervised("b", SuperviseLevel::General, OCT10 + 2 * DAY),
            supervised("c", SuperviseLevel::Priority, OCT10 + 9 * DAY),
        ];
        mixed.push(supervised("d", SuperviseLevel::General, OCT10 + 3 * DAY));
        mixed.push(due(ReminderKind::Overdue, "e", OCT10 - DAY));
        mixed.push(due(ReminderKind::DueSoon, "f", OCT10 + DAY));
        let r = group(mixed, now, LocalTime::CHINA);
        // Firmest supervision first: listed, priority, then the general one due soonest.
        assert_eq!(ids(&r), [Some("a"), Some("c"), Some("b"), None]);
        assert_eq!(r[3].title, "另有3件案件待办");
        assert_eq!(r[3].body, "督办1件，超期1件，即将到期1件，请打开应用查看。");
        assert_eq!(
            r[3].body_en,
            "1 newly supervised, 1 overdue, 1 due soon: open the app to see them."
        );
        // Exactly SEPARATE cases: no summary.
        let three: Vec<Due> = (0..3)
            .map(|i| due(ReminderKind::DueSoon, &format!("s{i}"), OCT10 + DAY))
            .collect();
        assert_eq!(group(three, now, LocalTime::CHINA).len(), 3);
        let four: Vec<Due> = (0..4)
            .map(|i| due(ReminderKind::DueSoon, &format!("s{i}"), OCT10 + DAY))
            .collect();
        let r = group(four, now, LocalTime::CHINA);
        assert_eq!(r[3].title, "另有1件案件即将到期");
    }
}
