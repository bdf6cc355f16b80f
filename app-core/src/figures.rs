//! The numbers every centre reports (每日登记、每周研判、每月通报、每季总结).
//!
//! Pure arithmetic over [`CaseSummary`] rows: cases received, resolved, resolution rate, concluded
//! (办结) and completion rate, on-time rate, follow-up satisfaction, escalations out and in,
//! supervised cases (督办), work orders of the 12345 hotline and those returned (退单); for a
//! unit and a period, broken down by category, by the unit's children and by month. The device
//! and the server compute them from the same rows, so the figures a township reports are the
//! figures its staff saw on their phones.

use crate::deadline::DueState;
use crate::ids::{MatterId, UnitId};
use crate::org::Directory;
use crate::summary::CaseSummary;
use chrono::Datelike;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::fmt;

/// A ratio as reports quote it: 176/182 = 96.7%.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rate {
    pub num: u64,
    pub den: u64,
}

impl Rate {
    /// The rate in percent; `None` when there is nothing to divide by.
    pub fn percent(self) -> Option<f64> {
        (self.den > 0).then(|| self.num as f64 * 100.0 / self.den as f64)
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.percent() {
            Some(p) => write!(f, "{}/{} = {:.1}%", self.num, self.den, p),
            None => write!(f, "{}/{} = –", self.num, self.den),
        }
    }
}

/// Counts for one slice (a unit, a category, a month).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    /// 受理: cases received in the period.
    pub received: u64,
    /// 事项: the matters those cases are, cases staff linked as one matter counted once (four
    /// villages reporting one crop-insurance complaint: 4 cases, 1 matter). Every other figure
    /// counts cases.
    #[serde(default)]
    pub matters: u64,
    /// Of the cases received, those linked into a matter (关联案件).
    #[serde(default)]
    pub linked: u64,
    /// 调解成功: of those, resolved (now or before being reopened and resolved again).
    pub resolved: u64,
    /// 稳控
    pub stabilised: u64,
    /// 办结: concluded and archived.
    pub concluded: u64,
    /// Still open (not handled at the current tier).
    pub open: u64,
    /// Open and past the deadline now (督办).
    pub overdue: u64,
    /// Handled, and of those handled by the deadline (按期办结).
    pub handled: u64,
    pub handled_on_time: u64,
    /// Followed up (回访), and of those satisfied or basically satisfied (满意、基本满意).
    pub followed_up: u64,
    pub satisfied: u64,
    /// Escalated out of the unit (上报上级) and escalated into it.
    pub escalated_out: u64,
    pub escalated_in: u64,
    /// 督办: cases supervised at least once (by this centre or another).
    #[serde(default)]
    pub supervised: u64,
    /// 12345工单: cases that came with a work order of the hotline (or police linkage).
    #[serde(default)]
    pub orders: u64,
    /// 退单: cases whose work order the centre returned as not its own. They are received
    /// cases (`received` counts them), but neither open nor handled: the centre did not handle
    /// them, so they weigh on no rate but the resolution and completion rates' denominators.
    #[serde(default)]
    pub returned: u64,
}

impl Figures {
    /// Counts a case. `new_matter`: the case is the first of its matter in this slice (always
    /// true for a case in no matter).
    fn add(&mut self, case: &CaseSummary, unit: Option<&UnitId>, now_ms: i64, new_matter: bool) {
        self.received += 1;
        if new_matter {
            self.matters += 1;
        }
        if case.matter.is_some() {
            self.linked += 1;
        }
        if case.resolved_at.is_some() {
            self.resolved += 1;
        }
        if case.status == crate::workflow::Status::Stabilised {
            self.stabilised += 1;
        }
        if case.closed_at.is_some() {
            self.concluded += 1;
        }
        if case.order.is_some() {
            self.orders += 1;
        }
        match case.due_state(now_ms) {
            _ if case.status == crate::workflow::Status::Returned => self.returned += 1,
            DueState::Handled => {
                self.handled += 1;
                if case.on_time() != Some(false) {
                    self.handled_on_time += 1;
                }
            }
            DueState::Overdue => {
                self.open += 1;
                self.overdue += 1;
            }
            DueState::OnTrack | DueState::DueSoon => self.open += 1,
        }
        if case.supervisions > 0 {
            self.supervised += 1;
        }
        if case.follow_ups > 0 {
            self.followed_up += 1;
            if case.satisfaction.is_some_and(|s| s.counts_as_satisfied()) {
                self.satisfied += 1;
            }
        }
        if let Some(unit) = unit {
            if case.escalated_from.contains(unit) {
                self.escalated_out += 1;
            }
            if case.escalated_to.contains(unit) {
                self.escalated_in += 1;
            }
        } else if !case.escalated_from.is_empty() {
            self.escalated_out += 1;
        }
    }

    /// 化解率: resolved / received.
    pub fn resolution_rate(&self) -> Rate {
        Rate {
            num: self.resolved,
            den: self.received,
        }
    }

    /// 办结率: concluded / received.
    pub fn completion_rate(&self) -> Rate {
        Rate {
            num: self.concluded,
            den: self.received,
        }
    }

    /// 按期办结率: handled on time / handled.
    pub fn on_time_rate(&self) -> Rate {
        Rate {
            num: self.handled_on_time,
            den: self.handled,
        }
    }

    /// 回访满意率: satisfied / followed up.
    pub fn satisfaction_rate(&self) -> Rate {
        Rate {
            num: self.satisfied,
            den: self.followed_up,
        }
    }
}

/// A unit's figures for a period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub unit: UnitId,
    /// Cases reported in `[from, to)` (epoch milliseconds).
    pub from: i64,
    pub to: i64,
    pub total: Figures,
    pub by_category: BTreeMap<String, Figures>,
    /// By the unit's direct children (a township's villages); cases of the unit itself are
    /// under the unit's own id.
    pub by_unit: BTreeMap<UnitId, Figures>,
    /// By local calendar month, "2026-10".
    pub by_month: BTreeMap<String, Figures>,
}

/// The figures of `unit` for cases reported in `[from_ms, to_ms)`, as at `now_ms`. Cases count
/// for the unit when it appears in their [`CaseSummary::units`] (they happened below it or were
/// with its centre).
pub fn report<'a>(
    directory: &Directory,
    unit: &UnitId,
    cases: impl IntoIterator<Item = &'a CaseSummary>,
    from_ms: i64,
    to_ms: i64,
    now_ms: i64,
) -> Report {
    let mut builder = ReportBuilder::new(directory, unit, from_ms, to_ms, now_ms);
    for case in cases {
        builder.add(case);
    }
    builder.finish()
}

/// [`report`] one case at a time, for callers that stream their cases (the ledger of a
/// hundred thousand cases counts its figures as it writes its rows).
#[derive(Debug)]
pub struct ReportBuilder {
    out: Report,
    children: Vec<UnitId>,
    local: crate::deadline::LocalTime,
    now_ms: i64,
    /// The matters already counted, per slice: (slice kind, slice key, matter).
    counted: HashSet<(u8, String, MatterId)>,
}

impl ReportBuilder {
    pub fn new(
        directory: &Directory,
        unit: &UnitId,
        from_ms: i64,
        to_ms: i64,
        now_ms: i64,
    ) -> ReportBuilder {
        ReportBuilder {
            out: Report {
                unit: unit.clone(),
                from: from_ms,
                to: to_ms,
                total: Figures::default(),
                by_category: BTreeMap::new(),
                by_unit: BTreeMap::new(),
                by_month: BTreeMap::new(),
            },
            children: directory
                .children(unit)
                .into_iter()
                .map(|u| u.id.clone())
                .collect(),
            local: directory.policy(unit).local(),
            now_ms,
            counted: HashSet::new(),
        }
    }

    /// Counts `case` if it is the unit's and was reported in the period.
    pub fn add(&mut self, case: &CaseSummary) {
        let unit = &self.out.unit.clone();
        if !case.units.contains(unit)
            || case.reported_at < self.out.from
            || case.reported_at >= self.out.to
        {
            return;
        }
        let now_ms = self.now_ms;
        let counted = &mut self.counted;
        let mut first = |slice: u8, key: &str| match &case.matter {
            Some(m) => counted.insert((slice, key.to_owned(), m.clone())),
            None => true,
        };
        let new = first(0, "");
        self.out.total.add(case, Some(unit), now_ms, new);
        let new = first(1, &case.category);
        self.out
            .by_category
            .entry(case.category.clone())
            .or_default()
            .add(case, Some(unit), now_ms, new);
        let child = self
            .children
            .iter()
            .find(|c| case.units.contains(*c))
            .unwrap_or(unit);
        let new = first(2, child.as_str());
        self.out
            .by_unit
            .entry(child.clone())
            .or_default()
            .add(case, Some(unit), now_ms, new);
        let at = self.local.date(case.reported_at);
        let month = format!("{:04}-{:02}", at.year(), at.month());
        let new = first(3, &month);
        self.out
            .by_month
            .entry(month)
            .or_default()
            .add(case, Some(unit), now_ms, new);
    }

    pub fn finish(self) -> Report {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Satisfaction;
    use crate::org::{Tier, Unit};
    use crate::workflow::Status;
    use std::collections::BTreeSet;

    fn unit(id: &str, tier: Tier, parent: Option<&str>) -> Unit {
        Unit {
            id: id.into(),
            name: id.to_owned(),
            tier,
            parent: parent.map(Into::into),
            centre: tier != Tier::Grid,
            policy: None,
            escalate_skip_to: Vec::new(),
            warnings: None,
        }
    }

    fn directory() -> Directory {
        Directory::new(
            [
                unit("c", Tier::County, None),
                unit("t", Tier::Township, Some("c")),
                unit("v1", Tier::Village, Some("t")),
                unit("v2", Tier::Village, Some("t")),
            ],
            [],
        )
        .unwrap()
    }

    const DAY: i64 = 86_400_000;
    // 2026-10-01 00:00 CST
    const OCT1: i64 = 1_790_784_000_000;

    fn case(id: &str, village: &str, reported: i64) -> CaseSummary {
        CaseSummary {
            id: id.into(),
            title: "t".into(),
            category: "neighbour".into(),
            status: Status::Reported,
            difficulty: None,
            place_unit: village.into(),
            responsible_unit: "t".into(),
            assignee: None,
            assignee_people: vec![],
            reporter: "p".into(),
            reporter_name: "p".into(),
            reported_at: reported,
            clock_start: reported,
            due_at: reported + 3 * DAY,
            due_soon_at: reported + 2 * DAY,
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
            party_names: vec![],
            entries: 1,
            units: ["c", "t", village].into_iter().map(UnitId::from).collect(),
            updated_at: reported,
            contacts_erased_at: None,
            village: Some(village.into()),
            risks: BTreeSet::new(),
            failures: 0,
            matter: None,
            distinct_from: BTreeSet::new(),
            alerts: Vec::new(),
            supervised: None,
            supervisions: 0,
            order: None,
            source: None,
            brief: String::new(),
            assigned_down_to: None,
        }
    }

    #[test]
    fn rates_read_as_reports_quote_them() {
        let r = Rate { num: 176, den: 182 };
        assert_eq!(r.to_string(), "176/182 = 96.7%");
        assert_eq!(Rate::default().to_string(), "0/0 = –");
    }

    #[test]
    fn township_figures_count_resolution_on_time_satisfaction_and_escalation() {
        let dir = directory();
        let mut resolved_on_time = case("a", "v1", OCT1);
        resolved_on_time.status = Status::Closed;
        resolved_on_time.handled_at = Some(OCT1 + DAY);
        resolved_on_time.resolved_at = Some(OCT1 + DAY);
        resolved_on_time.closed_at = Some(OCT1 + 2 * DAY);
        resolved_on_time.follow_ups = 1;
        resolved_on_time.satisfaction = Some(Satisfaction::Satisfied);
        let mut resolved_late = case("b", "v2", OCT1 + DAY);
        resolved_late.status = Status::Resolved;
        resolved_late.handled_at = Some(OCT1 + 10 * DAY);
        resolved_late.resolved_at = Some(OCT1 + 10 * DAY);
        resolved_late.follow_ups = 1;
        resolved_late.satisfaction = Some(Satisfaction::Dissatisfied);
        let overdue = case("c", "v2", OCT1 + 2 * DAY);
        let mut escalated = case("d", "v1", OCT1 + 3 * DAY);
        escalated.status = Status::Escalated;
        escalated.escalated_from = vec!["t".into()];
        escalated.escalated_to = vec!["c".into()];
        let november = case("e", "v1", OCT1 + 32 * DAY);
        let outside = case("f", "v1", OCT1 - 40 * DAY);
        let all = [
            resolved_on_time,
            resolved_late,
            overdue,
            escalated,
            november,
            outside,
        ];
        let now = OCT1 + 33 * DAY;
        let r = report(&dir, &"t".into(), &all, OCT1, OCT1 + 61 * DAY, now);
        assert_eq!(r.total.received, 5);
        assert_eq!(r.total.resolution_rate().to_string(), "2/5 = 40.0%");
        assert_eq!(r.total.completion_rate().to_string(), "1/5 = 20.0%");
        assert_eq!(r.total.on_time_rate().to_string(), "1/2 = 50.0%");
        assert_eq!(r.total.satisfaction_rate().to_string(), "1/2 = 50.0%");
        assert_eq!(r.total.overdue, 2, "c and d are open past their deadline");
        assert_eq!(r.total.escalated_out, 1);
        assert_eq!(r.by_unit[&UnitId::from("v1")].received, 3);
        assert_eq!(r.by_unit[&UnitId::from("v2")].received, 2);
        assert_eq!(r.by_month["2026-10"].received, 4);
        assert_eq!(r.by_month["2026-11"].received, 1);
        assert_eq!(r.by_category["neighbour"].received, 5);
        let county = report(&dir, &"c".into(), &all, OCT1, OCT1 + 61 * DAY, now);
        assert_eq!(county.total.escalated_in, 1);
    }

    #[test]
    fn supervised_cases_count_once_each_in_their_slices_even_after_the_supervision_ended() {
        let dir = directory();
        // Supervised twice and still under supervision; supervised once and then escalated
        // (no supervision in force any more); never supervised.
        let mut twice = case("a", "v1", OCT1);
        twice.supervisions = 2;
        twice.supervised = Some(crate::workflow::SupervisionRecord {
            entry: "e2".into(),
            level: crate::model::SuperviseLevel::Listed,
            due_at: OCT1 + 10 * DAY,
            unit: "t".into(),
            person: "s".into(),
            by: "s".into(),
            at: OCT1 + DAY,
            note: "限期办结".into(),
        });
        let mut once = case("b", "v2", OCT1 + 32 * DAY);
        once.supervisions = 1;
        let never = case("c", "v2", OCT1 + 2000);
        let r = report(
            &dir,
            &"t".into(),
            &[twice, once, never],
            OCT1,
            OCT1 + 61 * DAY,
            OCT1 + 40 * DAY,
        );
        assert_eq!((r.total.received, r.total.supervised), (3, 2));
        assert_eq!(r.by_unit[&UnitId::from("v1")].supervised, 1);
        assert_eq!(r.by_unit[&UnitId::from("v2")].supervised, 1);
        assert_eq!(r.by_month["2026-10"].supervised, 1);
        assert_eq!(r.by_month["2026-11"].supervised, 1);
        assert_eq!(r.by_category["neighbour"].supervised, 2);
    }

    #[test]
    fn linked_cases_count_once_as_matters_and_every_case_still_counts() {
        let dir = directory();
        let matter = MatterId::from("m1");
        // One crop-insurance complaint reported from two villages, linked as one matter, and
        // a third case on its own.
        let mut a = case("a", "v1", OCT1);
        a.matter = Some(matter.clone());
        let mut b = case("b", "v2", OCT1 + 1000);
        b.matter = Some(matter);
        let c = case("c", "v2", OCT1 + 2000);
        let r = report(
            &dir,
            &"t".into(),
            &[a, b, c],
            OCT1,
            OCT1 + 30 * DAY,
            OCT1 + DAY,
        );
        assert_eq!(
            (r.total.received, r.total.matters, r.total.linked),
            (3, 2, 2)
        );
        // Each village counts the matter it saw a case of.
        assert_eq!(r.by_unit[&UnitId::from("v1")].matters, 1);
        assert_eq!(r.by_unit[&UnitId::from("v2")].matters, 2);
        assert_eq!(r.by_month["2026-10"].matters, 2);
        assert_eq!(r.by_category["neighbour"].received, 3);
    }

    #[test]
    fn work_orders_and_returned_orders_are_counted_and_a_returned_case_is_neither_open_nor_handled()
    {
        use crate::model::OrderKind;
        use crate::summary::OrderSummary;
        use crate::workflow::OrderState;
        let dir = directory();
        let order = |number: &str, state| OrderSummary {
            number: number.to_owned(),
            channel: "12345".to_owned(),
            kind: OrderKind::Complaint,
            confidential: false,
            state,
            dispatched_at: OCT1,
            sign_by: OCT1 + DAY,
            reply_by: OCT1 + 3 * DAY,
            dispatches: 1,
            signed_at: None,
            signed_by: None,
            reply: None,
            replied_at: None,
            return_reason: None,
            returned_at: None,
        };
        // A hotline case still open, one returned (退单) long ago, and a grid worker's case.
        let mut open = case("a", "v1", OCT1);
        open.order = Some(order("A-1", OrderState::Dispatched));
        let mut returned = case("b", "v1", OCT1);
        returned.status = Status::Returned;
        returned.order = Some(OrderSummary {
            return_reason: Some("不属本镇".into()),
            returned_at: Some(OCT1 + 3_600_000),
            ..order("B-2", OrderState::Returned)
        });
        let plain = case("c", "v2", OCT1);
        let now = OCT1 + 10 * DAY;
        let r = report(&dir, &"t".into(), &[open, returned, plain], OCT1, now, now);
        let t = &r.total;
        assert_eq!((t.received, t.orders, t.returned), (3, 2, 1));
        assert_eq!(
            (t.open, t.overdue, t.handled),
            (2, 2, 0),
            "the returned case is not overdue, and not handled by the centre"
        );
        assert_eq!(r.by_unit[&UnitId::from("v1")].returned, 1);
        assert_eq!(r.by_unit[&UnitId::from("v2")].orders, 0);
        assert_eq!(r.by_category["neighbour"].orders, 2);
    }
}
