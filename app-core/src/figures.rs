//! The numbers every centre reports (每日登记、每周研判、每月通报、每季总结).
//!
//! Pure arithmetic over [`CaseSummary`] rows: cases received, resolved, resolution rate, concluded
//! (办结) and completion rate, on-time rate, follow-up satisfaction, escalations out and in,
//! supervised cases (督办), work orders of the 12345 hotline and those returned (退单); for a
//! unit and a period, broken down by category, by the unit's children and by month. The device
//! and the server compute them from the same rows, so the figures a township reports are the
//! figures its staff saw on their phones.

use crate::deadline::DueState;
use crate::ids::{CaseId, MatterId, UnitId};
use crate::org::Directory;
use crate::summary::CaseSummary;
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
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
        self.add_escalation(case, unit);
    }

    /// Counts a case's escalations out of and into `unit` (with no unit, any escalation out).
    fn add_escalation(&mut self, case: &CaseSummary, unit: Option<&UnitId>) {
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

    /// Adds another slice's counts to this one's.
    fn absorb(&mut self, o: &Figures) {
        self.received += o.received;
        self.matters += o.matters;
        self.linked += o.linked;
        self.resolved += o.resolved;
        self.stabilised += o.stabilised;
        self.concluded += o.concluded;
        self.open += o.open;
        self.overdue += o.overdue;
        self.handled += o.handled;
        self.handled_on_time += o.handled_on_time;
        self.followed_up += o.followed_up;
        self.satisfied += o.satisfied;
        self.escalated_out += o.escalated_out;
        self.escalated_in += o.escalated_in;
        self.supervised += o.supervised;
        self.orders += o.orders;
        self.returned += o.returned;
    }

    /// Why these counts cannot be one slice's counts of real cases, if they cannot: a part
    /// larger than the whole, cases neither open nor handled nor returned, matters that do
    /// not add up. What a tier above checks of the figures a lower tier sends.
    pub fn inconsistency(&self, matter_ids: usize) -> Option<String> {
        let parts = [
            ("linked", self.linked),
            ("resolved", self.resolved),
            ("stabilised", self.stabilised),
            ("concluded", self.concluded),
            ("followed_up", self.followed_up),
            ("escalated_out", self.escalated_out),
            ("escalated_in", self.escalated_in),
            ("supervised", self.supervised),
            ("orders", self.orders),
        ];
        if let Some((name, n)) = parts.iter().find(|(_, n)| *n > self.received) {
            return Some(format!(
                "{name} is {n}, more than the {} cases received",
                self.received
            ));
        }
        if self.open + self.handled + self.returned != self.received {
            return Some(format!(
                "{} open, {} handled and {} returned do not make the {} received",
                self.open, self.handled, self.returned, self.received
            ));
        }
        if self.overdue > self.open
            || self.handled_on_time > self.handled
            || self.satisfied > self.followed_up
        {
            return Some(
                "overdue exceeds open, on time exceeds handled, or satisfied exceeds followed up"
                    .to_owned(),
            );
        }
        if matter_ids as u64 > self.linked
            || self.matters != self.received - self.linked + matter_ids as u64
        {
            return Some(format!(
                "{} matters are not the {} cases in no matter and the {matter_ids} matters named",
                self.matters,
                self.received - self.linked
            ));
        }
        None
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

/// The slice of `case` among `unit`'s direct `children`: the child it happened in, or the unit
/// itself for a case of the unit's own.
fn child_slice<'a>(children: &'a [UnitId], case: &CaseSummary, unit: &'a UnitId) -> &'a UnitId {
    children
        .iter()
        .find(|c| case.units.contains(*c))
        .unwrap_or(unit)
}

/// The key of a local day's month among the slices by month: "2026-10".
fn month_key(day: NaiveDate) -> String {
    format!("{:04}-{:02}", day.year(), day.month())
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
    /// Cases a lower tier's figures count ([`ReportBuilder::lower`]): `true` when those
    /// figures count them whole for this report, `false` when only their escalations are
    /// this report's to count.
    covered: HashMap<CaseId, bool>,
}

/// One cell of a unit's figures as it sends them up a tier (逐级汇总): the cases reported on one
/// local day, of one category, in one of the unit's children (or in the unit itself). Counts
/// only: no name, no narrative, no number of a person. The matters of its linked cases go
/// with it, so that a matter reported from two villages still counts once above.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cell {
    pub category: String,
    pub child: UnitId,
    pub figures: Figures,
    /// The distinct matters the cell's linked cases are.
    #[serde(default)]
    pub matters: Vec<MatterId>,
}

/// A lower tier's figures of one local day: its cells, and the ids of the cases they count,
/// so that the tier above, which holds the cases escalated to it, counts none of them twice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayCells {
    pub day: NaiveDate,
    pub cells: Vec<Cell>,
    pub cases: Vec<CaseId>,
}

/// The figures of `unit` as it sends them up: one [`DayCells`] for each local day of `days`
/// (a day with no case has no cells), from the unit's cases reported on those days, as at
/// `now_ms`. Each cell's figures are exactly what [`report`] counts of its cases for `unit`.
pub fn day_cells<'a>(
    directory: &Directory,
    unit: &UnitId,
    days: &BTreeSet<NaiveDate>,
    cases: impl IntoIterator<Item = &'a CaseSummary>,
    now_ms: i64,
) -> Vec<DayCells> {
    type Slot = (Figures, BTreeSet<MatterId>);
    type Day = (BTreeMap<(String, UnitId), Slot>, Vec<CaseId>);
    let local = directory.policy(unit).local();
    let children: Vec<UnitId> = directory
        .children(unit)
        .into_iter()
        .map(|u| u.id.clone())
        .collect();
    let mut out: BTreeMap<NaiveDate, Day> = days
        .iter()
        .map(|d| (*d, (BTreeMap::new(), Vec::new())))
        .collect();
    for case in cases {
        if !case.units.contains(unit) {
            continue;
        }
        let Some((cells, ids)) = out.get_mut(&local.date(case.reported_at)) else {
            continue;
        };
        let child = child_slice(&children, case, unit);
        let (figures, matters) = cells
            .entry((case.category.clone(), child.clone()))
            .or_default();
        let new = match &case.matter {
            Some(m) => matters.insert(m.clone()),
            None => true,
        };
        figures.add(case, Some(unit), now_ms, new);
        ids.push(case.id.clone());
    }
    out.into_iter()
        .map(|(day, (cells, cases))| DayCells {
            day,
            cells: cells
                .into_iter()
                .map(|((category, child), (figures, matters))| Cell {
                    category,
                    child,
                    figures,
                    matters: matters.into_iter().collect(),
                })
                .collect(),
            cases,
        })
        .collect()
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
            covered: HashMap::new(),
        }
    }

    /// Takes in the figures a lower tier's server sent of `lower` (its [`DayCells`]), before
    /// any case is added. Which of them count depends on where this report's unit stands:
    /// - the unit is `lower` (a county's staff looking at one township): the township's
    ///   figures are taken as they are, and the cases they count that are also held here
    ///   (escalated to this tier) are not counted again;
    /// - the unit is above `lower` (the county itself): each cell counts in the slice of the
    ///   child on the way down to `lower`; escalations are counted from the cases held here,
    ///   as this unit sees them (into it, out of it), not as the township saw them;
    /// - the unit is a child of `lower` (one village): the cells of that village, likewise.
    ///
    /// Days count when they fall within the period (its local days): a lower tier's figures
    /// are by day.
    pub fn lower(&mut self, directory: &Directory, lower: &UnitId, days: &[DayCells]) {
        let unit = self.out.unit.clone();
        let whole = unit == *lower;
        let below = directory.is_within(lower, &unit);
        let child_of = !below && directory.is_within(&unit, lower);
        if !whole && !below && !child_of {
            return;
        }
        let slice_child = if whole {
            None
        } else if below {
            Some(
                self.children
                    .iter()
                    .find(|c| directory.is_within(lower, c))
                    .unwrap_or(&unit)
                    .clone(),
            )
        } else {
            Some(unit.clone())
        };
        if self.out.to <= self.out.from {
            return;
        }
        let first = self.local.date(self.out.from);
        let last = self.local.date(self.out.to - 1);
        for day in days.iter().filter(|d| d.day >= first && d.day <= last) {
            for case in &day.cases {
                self.covered.insert(case.clone(), whole || child_of);
            }
            let month = month_key(day.day);
            for cell in &day.cells {
                if child_of && cell.child != unit {
                    continue;
                }
                let child = slice_child.as_ref().unwrap_or(&cell.child).clone();
                let mut f = cell.figures;
                if !whole {
                    f.escalated_in = 0;
                    f.escalated_out = 0;
                }
                // Each matter counts once per slice, whoever counted it first.
                let unlinked = f.matters.saturating_sub(cell.matters.len() as u64);
                let counted = &mut self.counted;
                let mut slice = |kind: u8, key: &str, into: &mut Figures| {
                    let mut g = f;
                    g.matters = unlinked
                        + cell
                            .matters
                            .iter()
                            .filter(|m| counted.insert((kind, key.to_owned(), (*m).clone())))
                            .count() as u64;
                    into.absorb(&g);
                };
                slice(0, "", &mut self.out.total);
                slice(
                    1,
                    &cell.category,
                    self.out
                        .by_category
                        .entry(cell.category.clone())
                        .or_default(),
                );
                slice(
                    2,
                    child.as_str(),
                    self.out.by_unit.entry(child.clone()).or_default(),
                );
                slice(
                    3,
                    &month,
                    self.out.by_month.entry(month.clone()).or_default(),
                );
            }
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
        if let Some(whole) = self.covered.get(&case.id) {
            // A lower tier's figures count it: only its escalations, as this unit sees them,
            // are left to count here, if that.
            if !*whole {
                self.add_escalation(case);
            }
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
        let child = child_slice(&self.children, case, unit);
        let new = first(2, child.as_str());
        self.out
            .by_unit
            .entry(child.clone())
            .or_default()
            .add(case, Some(unit), now_ms, new);
        let month = month_key(self.local.date(case.reported_at));
        let new = first(3, &month);
        self.out
            .by_month
            .entry(month)
            .or_default()
            .add(case, Some(unit), now_ms, new);
    }

    /// Counts only `case`'s escalations into and out of the unit, in each of its slices.
    fn add_escalation(&mut self, case: &CaseSummary) {
        let unit = self.out.unit.clone();
        if !case.escalated_from.contains(&unit) && !case.escalated_to.contains(&unit) {
            return;
        }
        let child = child_slice(&self.children, case, &unit).clone();
        let month = month_key(self.local.date(case.reported_at));
        for slice in [
            &mut self.out.total,
            self.out
                .by_category
                .entry(case.category.clone())
                .or_default(),
            self.out.by_unit.entry(child).or_default(),
            self.out.by_month.entry(month).or_default(),
        ] {
            slice.add_escalation(case, Some(&unit));
        }
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
