//! The workflow's rules, one table per action kind, and the fold's rule for concurrent moves.
//!
//! States are built by folding small timelines ([`Tl`]), so every state a table uses is one the
//! fold can produce. Each table row names the behaviour it pins and the exact [`Denied`] expected.

use super::*;
use crate::model::{FollowUpMethod, SessionMode, Source, SuperviseLevel};

const T0: i64 = 1_700_000_000_000;
const MINUTE: i64 = 60_000;
const DAY: i64 = 86_400_000;

// ---------------------------------------------------------------------------------------------
// People. Units: county centre `c` above township centre `t` (and its sibling `t2`), village `v`
// below `t`, grid `g` in `v`.

fn person(id: &str, role: Role, unit: &str) -> Actor {
    Actor {
        person: id.into(),
        name: id.to_owned(),
        role,
        unit: unit.into(),
    }
}

/// The grid worker who reports most cases here.
fn gw() -> Actor {
    person("gw", Role::GridWorker, "g")
}
/// Another grid worker of the same grid (not the reporter).
fn gw2() -> Actor {
    person("gw2", Role::GridWorker, "g")
}
fn hh() -> Actor {
    person("hh", Role::HouseholdHead, "g")
}
/// Township centre staff: the centre that receives the reports.
fn staff() -> Actor {
    person("s", Role::CentreStaff, "t")
}
fn leader() -> Actor {
    person("l", Role::CentreLeader, "t")
}
/// Staff of a sibling township's centre.
fn staff_t2() -> Actor {
    person("s2", Role::CentreStaff, "t2")
}
fn cstaff() -> Actor {
    person("cs", Role::CentreStaff, "c")
}
fn cleader() -> Actor {
    person("cl", Role::CentreLeader, "c")
}
/// The mediator the fixtures assign.
fn med() -> Actor {
    person("m", Role::Mediator, "v")
}
/// Another mediator of the same village.
fn med2() -> Actor {
    person("m2", Role::Mediator, "v")
}
/// A mediator of another village.
fn med_v2() -> Actor {
    person("m3", Role::Mediator, "v2")
}

// ---------------------------------------------------------------------------------------------
// Actions.

fn report(centre: &str) -> Action {
    Action::Report {
        centre: centre.into(),
        source: Source::GridVisit,
    }
}
fn assess(difficulty: Difficulty) -> Action {
    Action::Assess {
        difficulty,
        risks: vec![RiskFlag::KeyPerson],
        note: "研判".to_owned(),
    }
}
fn mediator(a: &Actor) -> Assignee {
    Assignee::Mediator {
        person: a.person.clone(),
        name: a.name.clone(),
    }
}
fn assign(to: Assignee) -> Action {
    Action::Assign {
        to,
        chosen_by_parties: false,
        note: String::new(),
    }
}
fn assign_to(a: &Actor) -> Action {
    assign(mediator(a))
}
fn session() -> Action {
    Action::RecordSession {
        mode: SessionMode::OnSite,
        note: "现场调解".to_owned(),
    }
}
fn agreement() -> Agreement {
    Agreement {
        summary: "双方同意以现有围墙为界".to_owned(),
        attachment: None,
        performance: String::new(),
        signatures: Vec::new(),
    }
}
fn resolve(agreement: Option<Agreement>) -> Action {
    Action::Resolve {
        agreement,
        note: String::new(),
    }
}
fn stabilise() -> Action {
    Action::Stabilise {
        note: String::new(),
    }
}
fn fail() -> Action {
    Action::Fail {
        note: String::new(),
    }
}
fn request_jc() -> Action {
    Action::RequestJudicialConfirmation {
        court: "县人民法院".to_owned(),
    }
}
fn record_jc(granted: bool) -> Action {
    Action::RecordJudicialConfirmation {
        granted,
        note: String::new(),
    }
}
fn escalate(to: &str) -> Action {
    Action::Escalate {
        to: to.into(),
        reason: EscalationReason::Unresolved,
        note: String::new(),
    }
}
fn assign_down(to: &str, person: Option<Assignee>, due_at: i64) -> Action {
    Action::AssignDown {
        to: to.into(),
        person,
        instructions: "请于期限内反馈".to_owned(),
        due_at,
    }
}
fn report_back() -> Action {
    Action::ReportBack {
        note: "已调处".to_owned(),
    }
}
fn follow_up(satisfaction: Satisfaction, relapsed: bool) -> Action {
    Action::FollowUp {
        method: FollowUpMethod::Phone,
        satisfaction,
        relapsed,
        note: String::new(),
    }
}
fn close() -> Action {
    Action::Close {
        note: String::new(),
    }
}
fn reopen() -> Action {
    Action::Reopen {
        reason: "纠纷反复".to_owned(),
    }
}
fn settle(entries: &[&EntryId]) -> Action {
    Action::SettleConflict {
        entries: entries.iter().map(|e| (*e).clone()).collect(),
        note: String::new(),
    }
}
fn edit() -> Action {
    Action::Edit {
        fields: vec!["narrative".to_owned()],
    }
}

// ---------------------------------------------------------------------------------------------
// Expected refusals, spelled as `check` spells them.

fn may_not(role: Role, action: &Action) -> Denied {
    Denied::RoleMayNot {
        role: role.zh().to_owned(),
        action: action.zh().to_owned(),
    }
}
fn not_unit(unit: &str, action: &Action) -> Denied {
    Denied::NotResponsibleUnit {
        unit: unit.to_owned(),
        action: action.zh().to_owned(),
    }
}
fn not_assignee(action: &Action) -> Denied {
    Denied::NotAssignee {
        action: action.zh().to_owned(),
    }
}
fn wrong(status: Status, action: &Action) -> Denied {
    Denied::WrongStatus {
        action: action.zh().to_owned(),
        status: status.zh().to_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// A tiny timeline builder.

/// A timeline under construction. Entry ids are `e000`, `e001`… in creation order; each step is
/// a minute after the previous one unless placed explicitly.
#[derive(Clone, Debug)]
struct Tl {
    entries: Vec<TimelineEntry>,
    now: i64,
}

impl Tl {
    fn reported_by(by: &Actor, centre: &str) -> Tl {
        let mut tl = Tl {
            entries: Vec::new(),
            now: T0,
        };
        tl.entries.push(TimelineEntry {
            id: EntryId::new("e000"),
            base: None,
            at: T0,
            actor: by.clone(),
            action: report(centre),
        });
        tl
    }

    fn next_id(&self) -> EntryId {
        EntryId::new(format!("e{:03}", self.entries.len()))
    }

    fn fold(&self) -> Folded {
        fold(&self.entries)
    }

    fn state(&self) -> CaseState {
        self.fold().state.expect("the timeline has a report")
    }

    /// The last entry in fold order: the base of the next step taken on this view.
    fn head(&self) -> EntryId {
        let folded = self.fold();
        self.entries[*folded.order.last().expect("not empty")]
            .id
            .clone()
    }

    /// Takes a step on the current state, as `CaseDoc::act` does; panics if `check` refuses it
    /// (a fixture must only build histories an honest device can make).
    fn step(&mut self, by: &Actor, action: Action) -> EntryId {
        self.now += MINUTE;
        let at = self.now;
        self.step_at(at, by, action)
    }

    fn step_at(&mut self, at: i64, by: &Actor, action: Action) -> EntryId {
        let folded = self.fold();
        if let Err(d) = check(folded.state.as_ref(), by, &action) {
            panic!(
                "fixture step {} by {} refused: {d}",
                action.code(),
                by.person
            );
        }
        let base = folded.order.last().map(|&i| self.entries[i].id.clone());
        self.push(self.next_id(), base, at, by, action)
    }

    /// Chains a step (for fixtures).
    fn then(mut self, by: &Actor, action: Action) -> Tl {
        self.step(by, action);
        self
    }

    /// An entry made on a device whose last seen entry was `base` (and whose view was the chain
    /// of entries leading to it), concurrently with whatever else has `base` as its base.
    fn concurrent(&mut self, base: &EntryId, at: i64, by: &Actor, action: Action) -> EntryId {
        let id = self.next_id();
        self.concurrent_with_id(id, base, at, by, action)
    }

    fn concurrent_with_id(
        &mut self,
        id: EntryId,
        base: &EntryId,
        at: i64,
        by: &Actor,
        action: Action,
    ) -> EntryId {
        let view = fold(&self.chain(base));
        if let Err(d) = check(view.state.as_ref(), by, &action) {
            panic!(
                "concurrent {} by {} refused on its author's view: {d}",
                action.code(),
                by.person
            );
        }
        self.now = self.now.max(at);
        self.push(id, Some(base.clone()), at, by, action)
    }

    /// `id` and the entries it was based on, back to the report.
    fn chain(&self, id: &EntryId) -> Vec<TimelineEntry> {
        let mut chain = Vec::new();
        let mut next = Some(id.clone());
        while let Some(id) = next {
            let e = self.entry(&id).clone();
            next = e.base.clone();
            chain.push(e);
        }
        chain.reverse();
        chain
    }

    fn push(
        &mut self,
        id: EntryId,
        base: Option<EntryId>,
        at: i64,
        by: &Actor,
        action: Action,
    ) -> EntryId {
        self.entries.push(TimelineEntry {
            id: id.clone(),
            base,
            at,
            actor: by.clone(),
            action,
        });
        id
    }

    fn entry(&self, id: &EntryId) -> &TimelineEntry {
        self.entries
            .iter()
            .find(|e| &e.id == id)
            .unwrap_or_else(|| panic!("no entry {id}"))
    }

    fn verdict(&self, id: &EntryId) -> Verdict {
        let i = self.entries.iter().position(|e| &e.id == id).unwrap();
        self.fold().verdicts[i].clone()
    }

    /// The entry ids in fold order.
    fn order(&self) -> Vec<EntryId> {
        self.fold()
            .order
            .iter()
            .map(|&i| self.entries[i].id.clone())
            .collect()
    }
}

// Fixtures: the gw reports to township centre `t`; the township assesses and assigns mediator m.

fn reported() -> Tl {
    Tl::reported_by(&gw(), "t")
}
fn assessed(d: Difficulty) -> Tl {
    reported().then(&staff(), assess(d))
}
fn assigned(d: Difficulty) -> Tl {
    assessed(d).then(&staff(), assign_to(&med()))
}
fn mediating(d: Difficulty) -> Tl {
    assigned(d).then(&med(), session())
}
fn resolved(d: Difficulty) -> Tl {
    mediating(d).then(&med(), resolve(None))
}
fn resolved_with_agreement() -> Tl {
    mediating(Difficulty::General).then(&med(), resolve(Some(agreement())))
}
fn stabilised(d: Difficulty) -> Tl {
    mediating(d).then(&med(), stabilise())
}
fn failed(d: Difficulty) -> Tl {
    mediating(d).then(&med(), fail())
}
fn closed(d: Difficulty) -> Tl {
    let closer = if d.needs_leader() { leader() } else { staff() };
    resolved(d).then(&closer, close())
}
/// Escalated by the township to the county.
fn escalated() -> Tl {
    reported().then(&staff(), escalate("c"))
}
/// Escalated to the county, assessed there and assigned back down (交办) to the township with no
/// person named: status Assessed, the township responsible, feedback owed to `c`.
fn assigned_down() -> Tl {
    escalated()
        .then(&cstaff(), assess(Difficulty::General))
        .then(&cstaff(), assign_down("t", None, T0 + 7 * DAY))
}
/// Two township staff assigned two mediators concurrently: one Overrode conflict (returned).
fn with_conflict() -> (Tl, EntryId) {
    let mut tl = assessed(Difficulty::General);
    let base = tl.head();
    tl.concurrent(&base, T0 + 10 * MINUTE, &staff(), assign_to(&med()));
    let later = tl.concurrent(&base, T0 + 11 * MINUTE, &leader(), assign_to(&med2()));
    (tl, later)
}

// ---------------------------------------------------------------------------------------------
// The one check helper: a table of (what it pins, state, actor, expected) for one action.

type Row<'a> = (&'a str, Option<&'a CaseState>, Actor, Result<(), Denied>);

#[track_caller]
fn table(action: &Action, rows: &[Row<'_>]) {
    let failures: Vec<String> = rows
        .iter()
        .filter_map(|(what, state, actor, want)| {
            let got = check(*state, actor, action);
            (&got != want).then(|| format!("  {what}: expected {want:?}, got {got:?}"))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} ({}): {} of {} rows wrong:\n{}",
        action.code(),
        action.zh(),
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

const OK: Result<(), Denied> = Ok(());

// ---------------------------------------------------------------------------------------------
// One table per action kind.

#[test]
fn report_creates_a_case_once_and_nothing_else_can() {
    let reported = reported().state();
    let a = report("t");
    table(
        &a,
        &[
            ("a grid worker may report a new case", None, gw(), OK),
            ("a household head may report", None, hh(), OK),
            ("centre staff may register a walk-in", None, staff(), OK),
            ("a mediator may report", None, med(), OK),
            (
                "a case cannot be reported twice",
                Some(&reported),
                gw(),
                Err(Denied::AlreadyReported),
            ),
            (
                "not even by staff",
                Some(&reported),
                staff(),
                Err(Denied::AlreadyReported),
            ),
        ],
    );
    for a in [assess(Difficulty::Simple), close(), edit(), session()] {
        table(
            &a,
            &[
                (
                    "nothing but a report on a case that does not exist",
                    None,
                    staff(),
                    Err(Denied::NotReported),
                ),
                (
                    "not even by its reporter",
                    None,
                    gw(),
                    Err(Denied::NotReported),
                ),
            ],
        );
    }
}

#[test]
fn assess_is_for_responsible_centre_staff_while_the_case_is_open() {
    use Difficulty::General;
    let a = assess(General);
    let reported = reported().state();
    let escalated = escalated().state();
    let assessed = assessed(General).state();
    let assigned = assigned(General).state();
    let mediating = mediating(General).state();
    let resolved = resolved(General).state();
    let stabilised = stabilised(General).state();
    let failed = failed(General).state();
    let closed = closed(General).state();
    table(
        &a,
        &[
            (
                "township staff assess a reported case",
                Some(&reported),
                staff(),
                OK,
            ),
            ("a centre leader may assess", Some(&reported), leader(), OK),
            (
                "grid worker may not assess",
                Some(&reported),
                gw(),
                Err(may_not(Role::GridWorker, &a)),
            ),
            (
                "household head may not assess",
                Some(&reported),
                hh(),
                Err(may_not(Role::HouseholdHead, &a)),
            ),
            (
                "mediator may not assess",
                Some(&reported),
                med(),
                Err(may_not(Role::Mediator, &a)),
            ),
            (
                "another township's staff may not assess",
                Some(&reported),
                staff_t2(),
                Err(not_unit("t", &a)),
            ),
            (
                "the county may not assess a case it has not received",
                Some(&reported),
                cstaff(),
                Err(not_unit("t", &a)),
            ),
            (
                "the county assesses an escalated case",
                Some(&escalated),
                cstaff(),
                OK,
            ),
            (
                "the township no longer assesses a case it escalated",
                Some(&escalated),
                staff(),
                Err(not_unit("c", &a)),
            ),
            (
                "re-assessing an assessed case",
                Some(&assessed),
                staff(),
                OK,
            ),
            (
                "re-assessing an assigned case",
                Some(&assigned),
                staff(),
                OK,
            ),
            (
                "re-assessing during mediation",
                Some(&mediating),
                staff(),
                OK,
            ),
            (
                "not once resolved",
                Some(&resolved),
                staff(),
                Err(wrong(Status::Resolved, &a)),
            ),
            (
                "not once stabilised",
                Some(&stabilised),
                staff(),
                Err(wrong(Status::Stabilised, &a)),
            ),
            (
                "not after a failure (escalate or reassign instead)",
                Some(&failed),
                staff(),
                Err(wrong(Status::Failed, &a)),
            ),
            (
                "not once closed",
                Some(&closed),
                leader(),
                Err(wrong(Status::Closed, &a)),
            ),
        ],
    );
}

#[test]
fn assign_needs_assessment_and_responsible_staff() {
    use Difficulty::General;
    let a = assign_to(&med());
    let reported = reported().state();
    let escalated = escalated().state();
    let assessed = assessed(General).state();
    let assigned = assigned(General).state();
    let mediating = mediating(General).state();
    let failed = failed(General).state();
    let resolved = resolved(General).state();
    let stabilised = stabilised(General).state();
    let closed = closed(General).state();
    let down = assigned_down().state();
    table(
        &a,
        &[
            (
                "staff assign an assessed case",
                Some(&assessed),
                staff(),
                OK,
            ),
            ("a leader may assign", Some(&assessed), leader(), OK),
            (
                "grid worker may not assign",
                Some(&assessed),
                gw(),
                Err(may_not(Role::GridWorker, &a)),
            ),
            (
                "mediator may not assign (even to themself)",
                Some(&assessed),
                med(),
                Err(may_not(Role::Mediator, &a)),
            ),
            (
                "another township may not assign",
                Some(&assessed),
                staff_t2(),
                Err(not_unit("t", &a)),
            ),
            (
                "a reported case must be assessed first",
                Some(&reported),
                staff(),
                Err(wrong(Status::Reported, &a)),
            ),
            (
                "an escalated case must be assessed by the higher centre first",
                Some(&escalated),
                cstaff(),
                Err(wrong(Status::Escalated, &a)),
            ),
            ("reassigning an assigned case", Some(&assigned), staff(), OK),
            (
                "reassigning during mediation",
                Some(&mediating),
                staff(),
                OK,
            ),
            ("reassigning after a failure", Some(&failed), staff(), OK),
            (
                "not once resolved",
                Some(&resolved),
                staff(),
                Err(wrong(Status::Resolved, &a)),
            ),
            (
                "not once stabilised",
                Some(&stabilised),
                staff(),
                Err(wrong(Status::Stabilised, &a)),
            ),
            (
                "not once closed",
                Some(&closed),
                staff(),
                Err(wrong(Status::Closed, &a)),
            ),
            (
                "the township assigns a case the county assigned down to it",
                Some(&down),
                staff(),
                OK,
            ),
            (
                "the county no longer assigns a case it assigned down",
                Some(&down),
                cstaff(),
                Err(not_unit("t", &a)),
            ),
        ],
    );
}

#[test]
fn record_session_is_for_the_assignee_or_staff_or_the_reporter_on_the_spot() {
    use Difficulty::General;
    let a = session();
    let reported = reported().state();
    let by_mediator = Tl::reported_by(&med(), "t").state();
    let walk_in = Tl::reported_by(&staff(), "t").state();
    let assigned_to = |to: Assignee| assessed(General).then(&staff(), assign(to)).state();
    let committee = assigned_to(Assignee::Committee {
        unit: "v".into(),
        name: "五丰村人民调解委员会".to_owned(),
    });
    let team = assigned_to(Assignee::JointTeam {
        members: vec!["m2".into(), "m3".into()],
        names: vec!["m2".to_owned(), "m3".to_owned()],
    });
    let department = assigned_to(Assignee::Department {
        name: "派出所".to_owned(),
    });
    let assessed = assessed(General).state();
    let assigned = assigned(General).state();
    let mediating = mediating(General).state();
    let resolved = resolved(General).state();
    let failed = failed(General).state();
    table(
        &a,
        &[
            (
                "the reporting grid worker mediates on the spot before assessment",
                Some(&reported),
                gw(),
                OK,
            ),
            (
                "a reporting mediator mediates on the spot",
                Some(&by_mediator),
                med(),
                OK,
            ),
            (
                "another grid worker may not (not the reporter, nothing assigned)",
                Some(&reported),
                gw2(),
                Err(may_not(Role::GridWorker, &a)),
            ),
            (
                "a household head who did not report may not",
                Some(&reported),
                hh(),
                Err(may_not(Role::HouseholdHead, &a)),
            ),
            (
                "a mediator who did not report is not the assignee",
                Some(&reported),
                med(),
                Err(not_assignee(&a)),
            ),
            (
                "staff do not record sessions on an unassigned case",
                Some(&reported),
                staff(),
                Err(wrong(Status::Reported, &a)),
            ),
            (
                "staff who registered a walk-in are not on the spot",
                Some(&walk_in),
                staff(),
                Err(wrong(Status::Reported, &a)),
            ),
            (
                "on-the-spot mediation by the reporter ends with assessment",
                Some(&assessed),
                gw(),
                Err(may_not(Role::GridWorker, &a)),
            ),
            (
                "the assigned mediator records a session",
                Some(&assigned),
                med(),
                OK,
            ),
            ("and further sessions", Some(&mediating), med(), OK),
            (
                "responsible staff may record one",
                Some(&assigned),
                staff(),
                OK,
            ),
            ("so may the leader", Some(&mediating), leader(), OK),
            (
                "another mediator is not the assignee",
                Some(&assigned),
                med2(),
                Err(not_assignee(&a)),
            ),
            (
                "the reporter is not the assignee once assigned",
                Some(&assigned),
                gw(),
                Err(not_assignee(&a)),
            ),
            (
                "another township's staff are not the assignee",
                Some(&assigned),
                staff_t2(),
                Err(not_assignee(&a)),
            ),
            (
                "no sessions once resolved",
                Some(&resolved),
                med(),
                Err(wrong(Status::Resolved, &a)),
            ),
            (
                "no sessions after a failure",
                Some(&failed),
                med(),
                Err(wrong(Status::Failed, &a)),
            ),
            (
                "any mediator of an assigned committee",
                Some(&committee),
                med2(),
                OK,
            ),
            (
                "a mediator of another committee",
                Some(&committee),
                med_v2(),
                Err(not_assignee(&a)),
            ),
            (
                "a member of an assigned joint team",
                Some(&team),
                med_v2(),
                OK,
            ),
            (
                "a mediator outside the joint team",
                Some(&team),
                med(),
                Err(not_assignee(&a)),
            ),
            (
                "a department is nobody in the system: staff record for it",
                Some(&department),
                staff(),
                OK,
            ),
            (
                "no mediator is a department",
                Some(&department),
                med(),
                Err(not_assignee(&a)),
            ),
        ],
    );
}

#[test]
fn resolve_is_for_the_handler_or_the_reporter_on_the_spot() {
    use Difficulty::General;
    let a = resolve(None);
    let reported = reported().state();
    let by_head = Tl::reported_by(&hh(), "t").state();
    let by_mediator = Tl::reported_by(&med(), "t").state();
    let assessed = assessed(General).state();
    let escalated = escalated().state();
    let assigned = assigned(General).state();
    let mediating = mediating(General).state();
    let failed = failed(General).state();
    let stabilised = stabilised(General).state();
    let resolved = resolved(General).state();
    let closed = closed(General).state();
    table(
        &a,
        &[
            (
                "the reporting grid worker resolves on the spot",
                Some(&reported),
                gw(),
                OK,
            ),
            (
                "a reporting household head resolves on the spot",
                Some(&by_head),
                hh(),
                OK,
            ),
            (
                "a reporting mediator resolves on the spot",
                Some(&by_mediator),
                med(),
                OK,
            ),
            (
                "another grid worker may not",
                Some(&reported),
                gw2(),
                Err(may_not(Role::GridWorker, &a)),
            ),
            (
                "staff cannot resolve a case nobody handled",
                Some(&reported),
                staff(),
                Err(wrong(Status::Reported, &a)),
            ),
            (
                "on-the-spot mediation by the reporter before assessment only",
                Some(&assessed),
                gw(),
                Err(may_not(Role::GridWorker, &a)),
            ),
            (
                "nor once escalated",
                Some(&escalated),
                gw(),
                Err(may_not(Role::GridWorker, &a)),
            ),
            ("the assigned mediator resolves", Some(&assigned), med(), OK),
            ("during mediation", Some(&mediating), med(), OK),
            (
                "staff may record the resolution",
                Some(&mediating),
                staff(),
                OK,
            ),
            (
                "another mediator may not",
                Some(&mediating),
                med2(),
                Err(not_assignee(&a)),
            ),
            (
                "a failed case is reassigned or escalated, not resolved",
                Some(&failed),
                med(),
                Err(wrong(Status::Failed, &a)),
            ),
            (
                "not from stabilised",
                Some(&stabilised),
                med(),
                Err(wrong(Status::Stabilised, &a)),
            ),
            (
                "not twice",
                Some(&resolved),
                med(),
                Err(wrong(Status::Resolved, &a)),
            ),
            (
                "not once closed",
                Some(&closed),
                staff(),
                Err(wrong(Status::Closed, &a)),
            ),
        ],
    );
}

#[test]
fn stabilise_is_for_the_handler_while_mediating_or_after_failure() {
    use Difficulty::General;
    let a = stabilise();
    let reported = reported().state();
    let assigned = assigned(General).state();
    let mediating = mediating(General).state();
    let failed = failed(General).state();
    let resolved = resolved(General).state();
    let stabilised = stabilised(General).state();
    table(
        &a,
        &[
            (
                "the assigned mediator stabilises",
                Some(&assigned),
                med(),
                OK,
            ),
            ("during mediation", Some(&mediating), med(), OK),
            ("after this tier failed", Some(&failed), staff(), OK),
            (
                "the reporter has no on-the-spot stabilising",
                Some(&reported),
                gw(),
                Err(may_not(Role::GridWorker, &a)),
            ),
            (
                "staff cannot stabilise an unassigned case",
                Some(&reported),
                staff(),
                Err(wrong(Status::Reported, &a)),
            ),
            (
                "another mediator may not",
                Some(&mediating),
                med2(),
                Err(not_assignee(&a)),
            ),
            (
                "not once resolved",
                Some(&resolved),
                med(),
                Err(wrong(Status::Resolved, &a)),
            ),
            (
                "not twice",
                Some(&stabilised),
                med(),
                Err(wrong(Status::Stabilised, &a)),
            ),
        ],
    );
}

#[test]
fn fail_is_for_the_handler_while_mediating() {
    use Difficulty::General;
    let a = fail();
    let reported = reported().state();
    let assigned = assigned(General).state();
    let mediating = mediating(General).state();
    let failed = failed(General).state();
    let resolved = resolved(General).state();
    let stabilised = stabilised(General).state();
    table(
        &a,
        &[
            (
                "the assigned mediator records failure",
                Some(&assigned),
                med(),
                OK,
            ),
            ("during mediation", Some(&mediating), med(), OK),
            ("staff may record it", Some(&mediating), staff(), OK),
            (
                "not by the reporter",
                Some(&reported),
                gw(),
                Err(may_not(Role::GridWorker, &a)),
            ),
            (
                "not by another mediator",
                Some(&mediating),
                med2(),
                Err(not_assignee(&a)),
            ),
            (
                "not twice",
                Some(&failed),
                med(),
                Err(wrong(Status::Failed, &a)),
            ),
            (
                "not once resolved",
                Some(&resolved),
                med(),
                Err(wrong(Status::Resolved, &a)),
            ),
            (
                "not once stabilised",
                Some(&stabilised),
                med(),
                Err(wrong(Status::Stabilised, &a)),
            ),
        ],
    );
}

#[test]
fn judicial_confirmation_needs_a_resolved_agreement_and_one_request_at_a_time() {
    use Difficulty::General;
    let a = request_jc();
    let with_agreement = resolved_with_agreement();
    let resolved_agreed = with_agreement.state();
    let requested = with_agreement.clone().then(&med(), request_jc());
    let granted = requested.clone().then(&staff(), record_jc(true)).state();
    let refused = requested.clone().then(&staff(), record_jc(false)).state();
    let requested = requested.state();
    let closed_agreed = with_agreement.then(&staff(), close()).state();
    let no_agreement = resolved(General).state();
    let mediating = mediating(General).state();
    let on_the_spot = reported().then(&gw(), resolve(Some(agreement()))).state();
    table(
        &a,
        &[
            (
                "the mediator requests confirmation of a written agreement",
                Some(&resolved_agreed),
                med(),
                OK,
            ),
            ("staff may request it", Some(&resolved_agreed), staff(), OK),
            (
                "after the case was closed",
                Some(&closed_agreed),
                staff(),
                OK,
            ),
            (
                "judicial confirmation needs an agreement",
                Some(&no_agreement),
                med(),
                Err(Denied::NoAgreement),
            ),
            (
                "not before the case is resolved",
                Some(&mediating),
                med(),
                Err(wrong(Status::Mediating, &a)),
            ),
            (
                "judicial confirmation already requested",
                Some(&requested),
                med(),
                Err(Denied::JudicialAlreadyRequested),
            ),
            (
                "or already granted",
                Some(&granted),
                med(),
                Err(Denied::JudicialAlreadyRequested),
            ),
            (
                "may be requested again after a refusal",
                Some(&refused),
                med(),
                OK,
            ),
            (
                "the reporter is not the handler of an assigned case",
                Some(&resolved_agreed),
                gw(),
                Err(not_assignee(&a)),
            ),
            (
                "another mediator may not",
                Some(&resolved_agreed),
                med2(),
                Err(not_assignee(&a)),
            ),
            (
                "an on-the-spot agreement goes to the court through staff",
                Some(&on_the_spot),
                staff(),
                OK,
            ),
            (
                "not through the grid worker",
                Some(&on_the_spot),
                gw(),
                Err(may_not(Role::GridWorker, &a)),
            ),
        ],
    );
}

#[test]
fn recording_the_courts_answer_needs_a_pending_request_and_staff() {
    let with_agreement = resolved_with_agreement();
    let not_requested = with_agreement.state();
    let requested = with_agreement.then(&med(), request_jc());
    let granted = requested.clone().then(&staff(), record_jc(true)).state();
    let refused = requested.clone().then(&staff(), record_jc(false)).state();
    let requested = requested.state();
    for a in [record_jc(true), record_jc(false)] {
        table(
            &a,
            &[
                (
                    "staff record the court's answer",
                    Some(&requested),
                    staff(),
                    OK,
                ),
                ("a leader may", Some(&requested), leader(), OK),
                (
                    "a mediator may not",
                    Some(&requested),
                    med(),
                    Err(may_not(Role::Mediator, &a)),
                ),
                (
                    "another centre may not",
                    Some(&requested),
                    cstaff(),
                    Err(not_unit("t", &a)),
                ),
                (
                    "no judicial confirmation request",
                    Some(&not_requested),
                    staff(),
                    Err(Denied::NoJudicialRequest),
                ),
                (
                    "the answer was already recorded (granted)",
                    Some(&granted),
                    staff(),
                    Err(Denied::NoJudicialRequest),
                ),
                (
                    "the answer was already recorded (refused)",
                    Some(&refused),
                    staff(),
                    Err(Denied::NoJudicialRequest),
                ),
            ],
        );
    }
}

#[test]
fn escalate_goes_to_another_unit_from_any_state_but_closed() {
    use Difficulty::General;
    let up = escalate("c");
    let reported = reported().state();
    let assessed = assessed(General).state();
    let assigned = assigned(General).state();
    let mediating = mediating(General).state();
    let failed = failed(General).state();
    let stabilised = stabilised(General).state();
    let resolved = resolved(General).state();
    let closed = closed(General).state();
    let escalated = escalated().state();
    table(
        &up,
        &[
            (
                "the township escalates a reported case",
                Some(&reported),
                staff(),
                OK,
            ),
            ("an assessed case", Some(&assessed), staff(), OK),
            ("an assigned case", Some(&assigned), staff(), OK),
            ("a case in mediation", Some(&mediating), leader(), OK),
            ("a failed case", Some(&failed), staff(), OK),
            ("a stabilised case", Some(&stabilised), staff(), OK),
            (
                "a resolved case whose party is dissatisfied",
                Some(&resolved),
                staff(),
                OK,
            ),
            (
                "not a closed case (reopen it first)",
                Some(&closed),
                staff(),
                Err(wrong(Status::Closed, &up)),
            ),
            (
                "grid worker may not escalate",
                Some(&reported),
                gw(),
                Err(may_not(Role::GridWorker, &up)),
            ),
            (
                "mediator may not escalate",
                Some(&mediating),
                med(),
                Err(may_not(Role::Mediator, &up)),
            ),
            (
                "the county cannot pull up a case it does not hold",
                Some(&reported),
                cstaff(),
                Err(not_unit("t", &up)),
            ),
            (
                "the township no longer holds an escalated case",
                Some(&escalated),
                staff(),
                Err(not_unit("c", &up)),
            ),
            (
                "escalate to same unit",
                Some(&escalated),
                cstaff(),
                Err(Denied::SameUnit("c".to_owned())),
            ),
        ],
    );
    let same = escalate("t");
    table(
        &same,
        &[(
            "the township cannot escalate to itself",
            Some(&reported),
            staff(),
            Err(Denied::SameUnit("t".to_owned())),
        )],
    );
    let higher = escalate("city");
    table(
        &higher,
        &[(
            "the county escalates further up",
            Some(&escalated),
            cleader(),
            OK,
        )],
    );
}

#[test]
fn assign_down_is_for_the_responsible_centre_to_another_unit_while_open() {
    use Difficulty::General;
    let down = assign_down("t", None, T0 + 7 * DAY);
    let to_village = assign_down("v", None, T0 + 3 * DAY);
    let escalated = escalated().state();
    let reported = reported().state();
    let assessed = assessed(General).state();
    let mediating = mediating(General).state();
    let failed = failed(General).state();
    let resolved = resolved(General).state();
    let stabilised = stabilised(General).state();
    let closed = closed(General).state();
    table(
        &down,
        &[
            (
                "the county assigns an escalated case down",
                Some(&escalated),
                cstaff(),
                OK,
            ),
            ("a county leader may", Some(&escalated), cleader(), OK),
            (
                "the township cannot assign down what it escalated",
                Some(&escalated),
                staff(),
                Err(not_unit("c", &down)),
            ),
            (
                "a mediator may not assign down",
                Some(&escalated),
                med(),
                Err(may_not(Role::Mediator, &down)),
            ),
            (
                "the township cannot assign down to itself",
                Some(&reported),
                staff(),
                Err(Denied::SameUnit("t".to_owned())),
            ),
        ],
    );
    table(
        &assign_down("c", None, T0 + 7 * DAY),
        &[(
            "the county cannot assign down to itself",
            Some(&escalated),
            cstaff(),
            Err(Denied::SameUnit("c".to_owned())),
        )],
    );
    table(
        &to_village,
        &[
            (
                "the township assigns a reported case to a village",
                Some(&reported),
                staff(),
                OK,
            ),
            ("an assessed case", Some(&assessed), staff(), OK),
            ("a case in mediation", Some(&mediating), staff(), OK),
            ("a failed case", Some(&failed), staff(), OK),
            (
                "not a resolved case",
                Some(&resolved),
                staff(),
                Err(wrong(Status::Resolved, &to_village)),
            ),
            (
                "not a stabilised case",
                Some(&stabilised),
                staff(),
                Err(wrong(Status::Stabilised, &to_village)),
            ),
            (
                "not a closed case",
                Some(&closed),
                staff(),
                Err(wrong(Status::Closed, &to_village)),
            ),
        ],
    );
}

#[test]
fn report_back_only_by_the_unit_a_case_was_assigned_down_to() {
    let a = report_back();
    let down = assigned_down();
    let reescalated = down.clone().then(&staff(), escalate("c")).state();
    let down = down.state();
    let reported = reported().state();
    let escalated = escalated().state();
    table(
        &a,
        &[
            (
                "the township reports back to the county",
                Some(&down),
                staff(),
                OK,
            ),
            ("its leader may", Some(&down), leader(), OK),
            (
                "the county does not report back to itself",
                Some(&down),
                cstaff(),
                Err(not_unit("t", &a)),
            ),
            (
                "a mediator may not report back",
                Some(&down),
                med(),
                Err(may_not(Role::Mediator, &a)),
            ),
            (
                "report back with nothing assigned down",
                Some(&reported),
                staff(),
                Err(Denied::NothingToReportBack),
            ),
            (
                "the higher centre holding an escalated case has nobody to report to",
                Some(&escalated),
                cstaff(),
                Err(Denied::NothingToReportBack),
            ),
            (
                "escalating again ends the assignment down",
                Some(&reescalated),
                cstaff(),
                Err(Denied::NothingToReportBack),
            ),
        ],
    );
}

#[test]
fn follow_up_by_staff_assignee_or_reporter_after_handling() {
    use Difficulty::General;
    let a = follow_up(Satisfaction::Satisfied, false);
    let reported = reported().state();
    let mediating = mediating(General).state();
    let resolved = resolved(General).state();
    let stabilised = stabilised(General).state();
    let closed = closed(General).state();
    table(
        &a,
        &[
            ("the reporter follows up", Some(&resolved), gw(), OK),
            (
                "the assigned mediator follows up",
                Some(&resolved),
                med(),
                OK,
            ),
            ("staff follow up", Some(&resolved), staff(), OK),
            ("a stabilised case", Some(&stabilised), staff(), OK),
            ("a closed case (回头看)", Some(&closed), staff(), OK),
            (
                "another grid worker may not",
                Some(&resolved),
                gw2(),
                Err(not_assignee(&a)),
            ),
            (
                "another mediator may not",
                Some(&resolved),
                med2(),
                Err(not_assignee(&a)),
            ),
            (
                "another township may not",
                Some(&resolved),
                staff_t2(),
                Err(not_assignee(&a)),
            ),
            (
                "not before the case is handled",
                Some(&mediating),
                staff(),
                Err(wrong(Status::Mediating, &a)),
            ),
            (
                "not on a fresh report",
                Some(&reported),
                gw(),
                Err(wrong(Status::Reported, &a)),
            ),
        ],
    );
}

#[test]
fn close_needs_staff_a_handled_case_a_leader_for_major_feedback_and_no_relapse() {
    use Difficulty::*;
    let a = close();
    let resolved_general = resolved(General).state();
    let resolved_simple = resolved(Simple).state();
    let resolved_major = resolved(Major).state();
    let resolved_extra = resolved(ExtraMajor).state();
    let stabilised_major = stabilised(Major).state();
    let stabilised = stabilised(General).state();
    let mediating = mediating(General).state();
    let failed = failed(General).state();
    let on_the_spot = reported().then(&gw(), resolve(None)).state();
    let reported = reported().state();
    let closed = closed(General).state();
    let handled_down = assigned_down()
        .then(&staff(), assign_to(&med()))
        .then(&med(), resolve(None));
    let feedback_owed = handled_down.state();
    let reported_back = handled_down.then(&staff(), report_back()).state();
    let relapsing = resolved(General).then(&staff(), follow_up(Satisfaction::Dissatisfied, true));
    let relapsed = relapsing.state();
    let settled_again = relapsing
        .then(&staff(), follow_up(Satisfaction::Basically, false))
        .state();
    table(
        &a,
        &[
            (
                "staff close a resolved general case",
                Some(&resolved_general),
                staff(),
                OK,
            ),
            ("a simple one", Some(&resolved_simple), staff(), OK),
            ("a leader may close", Some(&resolved_general), leader(), OK),
            ("a stabilised case", Some(&stabilised), staff(), OK),
            (
                "a case resolved on the spot (assessed simple by default)",
                Some(&on_the_spot),
                staff(),
                OK,
            ),
            (
                "closing a major case needs leader",
                Some(&resolved_major),
                staff(),
                Err(Denied::NeedsLeader {
                    difficulty: "重大".to_owned(),
                }),
            ),
            (
                "closing an extra-major case needs leader",
                Some(&resolved_extra),
                staff(),
                Err(Denied::NeedsLeader {
                    difficulty: "特大".to_owned(),
                }),
            ),
            (
                "also when stabilised",
                Some(&stabilised_major),
                staff(),
                Err(Denied::NeedsLeader {
                    difficulty: "重大".to_owned(),
                }),
            ),
            (
                "the leader signs off a major case",
                Some(&resolved_major),
                leader(),
                OK,
            ),
            (
                "and an extra-major one",
                Some(&resolved_extra),
                leader(),
                OK,
            ),
            (
                "the mediator may not close",
                Some(&resolved_general),
                med(),
                Err(may_not(Role::Mediator, &a)),
            ),
            (
                "the reporter may not close",
                Some(&resolved_general),
                gw(),
                Err(may_not(Role::GridWorker, &a)),
            ),
            (
                "another township may not close",
                Some(&resolved_general),
                staff_t2(),
                Err(not_unit("t", &a)),
            ),
            (
                "not during mediation",
                Some(&mediating),
                staff(),
                Err(wrong(Status::Mediating, &a)),
            ),
            (
                "not after a failure",
                Some(&failed),
                staff(),
                Err(wrong(Status::Failed, &a)),
            ),
            (
                "not unhandled",
                Some(&reported),
                staff(),
                Err(wrong(Status::Reported, &a)),
            ),
            (
                "not twice",
                Some(&closed),
                staff(),
                Err(wrong(Status::Closed, &a)),
            ),
            (
                "close while feedback owed to the county",
                Some(&feedback_owed),
                staff(),
                Err(Denied::FeedbackOwed("c".to_owned())),
            ),
            (
                "close after reporting back",
                Some(&reported_back),
                staff(),
                OK,
            ),
            (
                "close after relapse",
                Some(&relapsed),
                staff(),
                Err(Denied::Relapsed),
            ),
            (
                "a later follow-up without relapse counts",
                Some(&settled_again),
                staff(),
                OK,
            ),
        ],
    );
}

#[test]
fn reopen_is_for_responsible_staff_after_handling() {
    use Difficulty::General;
    let a = reopen();
    let resolved = resolved(General).state();
    let stabilised = stabilised(General).state();
    let closed = closed(General).state();
    let mediating = mediating(General).state();
    let reported = reported().state();
    table(
        &a,
        &[
            ("staff reopen a closed case", Some(&closed), staff(), OK),
            ("a resolved case", Some(&resolved), staff(), OK),
            ("a stabilised case", Some(&stabilised), leader(), OK),
            (
                "not an open case",
                Some(&mediating),
                staff(),
                Err(wrong(Status::Mediating, &a)),
            ),
            (
                "not a fresh report",
                Some(&reported),
                staff(),
                Err(wrong(Status::Reported, &a)),
            ),
            (
                "the mediator may not reopen",
                Some(&closed),
                med(),
                Err(may_not(Role::Mediator, &a)),
            ),
            (
                "the reporter may not reopen",
                Some(&closed),
                gw(),
                Err(may_not(Role::GridWorker, &a)),
            ),
            (
                "another township may not",
                Some(&closed),
                staff_t2(),
                Err(not_unit("t", &a)),
            ),
        ],
    );
}

#[test]
fn settle_conflict_names_existing_conflicts_and_is_for_staff() {
    let (tl, conflict) = with_conflict();
    let conflicted = tl.state();
    assert_eq!(conflicted.conflicts.len(), 1);
    let calm = assessed(Difficulty::General).state();
    let stranger = EntryId::new("e999");
    table(
        &settle(&[&conflict]),
        &[
            (
                "staff settle a named conflict",
                Some(&conflicted),
                staff(),
                OK,
            ),
            ("a leader may", Some(&conflicted), leader(), OK),
            (
                "a mediator may not settle",
                Some(&conflicted),
                med(),
                Err(may_not(Role::Mediator, &settle(&[&conflict]))),
            ),
            (
                "another centre may not",
                Some(&conflicted),
                cstaff(),
                Err(not_unit("t", &settle(&[&conflict]))),
            ),
            (
                "settle a non-existent conflict",
                Some(&calm),
                staff(),
                Err(Denied::NoSuchConflict(conflict.to_string())),
            ),
        ],
    );
    table(
        &settle(&[&conflict, &stranger]),
        &[(
            "every named entry must be a conflict",
            Some(&conflicted),
            staff(),
            Err(Denied::NoSuchConflict("e999".to_owned())),
        )],
    );
}

#[test]
fn edit_is_for_the_reporter_the_assignee_and_responsible_staff_in_any_status() {
    use Difficulty::General;
    let a = edit();
    let reported = reported().state();
    let assigned = assigned(General).state();
    let closed = closed(General).state();
    let escalated = escalated().state();
    table(
        &a,
        &[
            ("the reporter edits", Some(&reported), gw(), OK),
            ("even a closed case", Some(&closed), gw(), OK),
            ("responsible staff edit", Some(&reported), staff(), OK),
            ("the assigned mediator edits", Some(&assigned), med(), OK),
            (
                "another mediator may not",
                Some(&assigned),
                med2(),
                Err(not_assignee(&a)),
            ),
            (
                "a mediator before assignment may not",
                Some(&reported),
                med(),
                Err(not_assignee(&a)),
            ),
            (
                "another grid worker may not",
                Some(&reported),
                gw2(),
                Err(not_assignee(&a)),
            ),
            (
                "another township may not",
                Some(&reported),
                staff_t2(),
                Err(not_assignee(&a)),
            ),
            (
                "the county edits what it holds",
                Some(&escalated),
                cstaff(),
                OK,
            ),
            (
                "the township no longer edits what it escalated",
                Some(&escalated),
                staff(),
                Err(not_assignee(&a)),
            ),
            (
                "the reporter still edits an escalated case",
                Some(&escalated),
                gw(),
                OK,
            ),
        ],
    );
}

/// The codes of the kinds the case screen offers.
fn allowed_kinds(state: Option<&CaseState>, actor: &Actor) -> Vec<&'static str> {
    offered(state, actor)
        .into_iter()
        .map(ActionKind::code)
        .collect()
}

#[test]
fn allowed_kinds_offers_exactly_what_check_allows() {
    use Difficulty::General;
    let reported = reported().state();
    let mediating = mediating(General).state();
    let resolved = resolved(General).state();
    let (tl, _) = with_conflict();
    let conflicted = tl.state();
    assert!(allowed_kinds(None, &gw()).is_empty());
    assert_eq!(
        allowed_kinds(Some(&reported), &gw()),
        ["record_session", "resolve"]
    );
    assert_eq!(
        allowed_kinds(Some(&reported), &staff()),
        [
            "assess",
            "escalate",
            "assign_down",
            "erase_contacts",
            "supervise"
        ]
    );
    assert!(allowed_kinds(Some(&reported), &gw2()).is_empty());
    assert_eq!(
        allowed_kinds(Some(&mediating), &med()),
        ["record_session", "resolve", "stabilise", "fail"]
    );
    assert_eq!(
        allowed_kinds(Some(&resolved), &staff()),
        [
            "escalate",
            "follow_up",
            "close",
            "reopen",
            "erase_contacts",
            "supervise"
        ]
    );
    assert_eq!(
        allowed_kinds(Some(&conflicted), &staff()),
        [
            "assess",
            "assign",
            "record_session",
            "resolve",
            "stabilise",
            "fail",
            "escalate",
            "assign_down",
            "settle_conflict",
            "erase_contacts",
            "supervise"
        ]
    );
    assert!(!allowed_kinds(Some(&conflicted), &med()).contains(&"settle_conflict"));
    // Erased once: not offered again.
    let mut erased = resolved.clone();
    erased.contacts_erased_at = Some(1);
    assert!(!allowed_kinds(Some(&erased), &staff()).contains(&"erase_contacts"));
}

// ---------------------------------------------------------------------------------------------
// Precedence and the fold.

#[test]
fn precedence_follows_the_documented_order() {
    let documented = [
        report("t"),
        escalate("c"),
        reopen(),
        assign_down("v", None, 0),
        assess(Difficulty::Simple),
        assign_to(&med()),
        session(),
        fail(),
        stabilise(),
        resolve(None),
        close(),
    ];
    let ranks: Vec<u8> = documented.iter().map(precedence).collect();
    assert!(ranks.windows(2).all(|w| w[0] < w[1]), "{ranks:?}");
    for record in [
        session(),
        follow_up(Satisfaction::Satisfied, false),
        report_back(),
        request_jc(),
        record_jc(true),
        edit(),
        settle(&[]),
        supervise(SuperviseLevel::General, T0 + DAY),
    ] {
        assert_eq!(
            precedence(&record),
            precedence(&session()),
            "{}",
            record.code()
        );
        assert!(!is_move(&record), "{} is a record", record.code());
    }
    assert!(!is_move(&report("t")));
    for m in [
        escalate("c"),
        reopen(),
        assess(Difficulty::Simple),
        assign_to(&med()),
        close(),
    ] {
        assert!(is_move(&m), "{} is a move", m.code());
    }
}

/// A deterministic shuffle (xorshift), so failures reproduce.
fn shuffled<T: Clone>(items: &[T], seed: u64) -> Vec<T> {
    let mut v = items.to_vec();
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for i in (1..v.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.swap(i, (x % (i as u64 + 1)) as usize);
    }
    v
}

/// A timeline with forks at several depths, conflicts, not-applied entries and records.
fn tangled() -> Tl {
    let mut tl = assigned(Difficulty::General);
    let fork = tl.head();
    let t = T0 + 10 * MINUTE;
    // Branch 1: the mediator holds a session and resolves (offline).
    let s = tl.concurrent(&fork, t + MINUTE, &med(), session());
    let r = tl.concurrent(&s, t + 2 * MINUTE, &med(), resolve(Some(agreement())));
    tl.concurrent(
        &r,
        t + 3 * MINUTE,
        &gw(),
        follow_up(Satisfaction::Satisfied, false),
    );
    // Branch 2: the leader reassigns to m2, who records a session.
    let re = tl.concurrent(&fork, t + MINUTE, &leader(), assign_to(&med2()));
    tl.concurrent(&re, t + 4 * MINUTE, &med2(), session());
    // Branch 3: staff escalate, the county assesses and assigns down.
    let up = tl.concurrent(&fork, t + 5 * MINUTE, &staff(), escalate("c"));
    let ca = tl.concurrent(&up, t + 6 * MINUTE, &cstaff(), assess(Difficulty::Major));
    tl.concurrent(
        &ca,
        t + 7 * MINUTE,
        &cstaff(),
        assign_down("t", None, T0 + 7 * DAY),
    );
    // Branch 4: the reporter edits.
    tl.concurrent(&fork, t, &gw(), edit());
    tl
}

#[test]
fn fold_is_independent_of_timeline_order() {
    let tl = tangled();
    let reference = tl.fold();
    let state = reference.state.clone().unwrap();
    assert!(!state.conflicts.is_empty(), "the fixture should conflict");
    let order = tl.order();
    let verdict_by_id = |entries: &[TimelineEntry], f: &Folded| -> Vec<(EntryId, Verdict)> {
        let mut v: Vec<_> = entries
            .iter()
            .zip(&f.verdicts)
            .map(|(e, v)| (e.id.clone(), v.clone()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    let verdicts = verdict_by_id(&tl.entries, &reference);
    let mut reversed = tl.entries.clone();
    reversed.reverse();
    let mut permutations = vec![reversed];
    permutations.extend((0..64).map(|seed| shuffled(&tl.entries, seed)));
    for (n, entries) in permutations.iter().enumerate() {
        let f = fold(entries);
        assert_eq!(f.state.as_ref(), Some(&state), "permutation {n}");
        let ids: Vec<EntryId> = f.order.iter().map(|&i| entries[i].id.clone()).collect();
        assert_eq!(ids, order, "permutation {n}");
        assert_eq!(verdict_by_id(entries, &f), verdicts, "permutation {n}");
    }
}

#[test]
fn fold_replays_each_branch_depth_first_after_everything_its_author_saw() {
    let tl = tangled();
    let ids: Vec<String> = tl.order().iter().map(|e| e.to_string()).collect();
    let code = |id: &str| tl.entry(&EntryId::new(id)).action.code();
    let codes: Vec<&str> = ids.iter().map(|id| code(id)).collect();
    // Escalate branch (with its county descendants) first, then the reassignment branch, then
    // the records (the edit at the earliest time, then the session that leads to the
    // resolution), each branch whole.
    assert_eq!(
        codes,
        [
            "report",
            "assess",
            "assign",
            "escalate",
            "assess",
            "assign_down",
            "assign",
            "record_session",
            "edit",
            "record_session",
            "resolve",
            "follow_up",
        ]
    );
    // Every entry comes after its base.
    for (k, id) in tl.order().iter().enumerate() {
        if let Some(base) = &tl.entry(id).base {
            let pos = tl.order().iter().position(|e| e == base).unwrap();
            assert!(pos < k, "{id} before its base {base}");
        }
    }
}

#[test]
fn concurrent_close_and_escalate_escalate_wins_and_the_close_is_a_conflict() {
    // Whichever was made first by the clock.
    for (close_at, escalate_at) in [(1, 2), (2, 1), (1, 1)] {
        let mut tl = resolved(Difficulty::General);
        let base = tl.head();
        let t = T0 + DAY;
        let closed = tl.concurrent(&base, t + close_at * MINUTE, &staff(), close());
        let up = tl.concurrent(&base, t + escalate_at * MINUTE, &leader(), escalate("c"));
        let s = tl.state();
        assert_eq!(s.status, Status::Escalated);
        assert_eq!(s.responsible_unit, "c".into());
        assert_eq!(s.closed_at, None);
        assert_eq!(s.handled_at, None, "escalation restarts handling");
        assert_eq!(tl.verdict(&up), Verdict::Applied);
        let reason = not_unit("c", &close());
        assert_eq!(tl.verdict(&closed), Verdict::NotApplied(reason.clone()));
        assert_eq!(
            s.conflicts,
            [Conflict {
                entry: closed.clone(),
                kind: ConflictKind::NotApplied { reason },
                with: vec![up.clone()],
            }]
        );
        assert_eq!(tl.order().last(), Some(&closed));
        assert_eq!(s.last_entry, Some(closed.clone()));
        // The county sees the conflict and settles it.
        tl.step(&cstaff(), settle(&[&closed]));
        assert!(tl.state().conflicts.is_empty());
        assert_eq!(tl.state().status, Status::Escalated);
    }
}

#[test]
fn concurrent_resolve_and_escalate_the_resolution_is_not_applied() {
    let mut tl = mediating(Difficulty::General);
    let base = tl.head();
    let resolved = tl.concurrent(&base, T0 + DAY, &med(), resolve(None));
    let up = tl.concurrent(&base, T0 + DAY + MINUTE, &staff(), escalate("c"));
    let s = tl.state();
    assert_eq!(s.status, Status::Escalated);
    assert_eq!(s.resolved_at, None);
    assert_eq!(s.assignee, None);
    assert_eq!(
        tl.verdict(&resolved),
        Verdict::NotApplied(not_assignee(&resolve(None)))
    );
    assert_eq!(s.conflicts.len(), 1);
    assert_eq!(s.conflicts[0].entry, resolved);
    assert_eq!(s.conflicts[0].with, [up]);
}

#[test]
fn concurrent_assigns_both_apply_in_time_order_and_the_later_overrides() {
    let mut tl = assessed(Difficulty::General);
    let base = tl.head();
    // Made later by the clock but first in the timeline.
    let later = tl.concurrent(&base, T0 + 20 * MINUTE, &leader(), assign_to(&med2()));
    let earlier = tl.concurrent(&base, T0 + 10 * MINUTE, &staff(), assign_to(&med()));
    let s = tl.state();
    assert_eq!(tl.verdict(&earlier), Verdict::Applied);
    assert_eq!(tl.verdict(&later), Verdict::Applied);
    let order = tl.order();
    assert_eq!(&order[order.len() - 2..], [earlier.clone(), later.clone()]);
    assert_eq!(s.status, Status::Assigned);
    assert_eq!(s.assignee, Some(mediator(&med2())));
    assert_eq!(
        s.conflicts,
        [Conflict {
            entry: later.clone(),
            kind: ConflictKind::Overrode,
            with: vec![earlier],
        }]
    );
    assert_eq!(s.last_entry, Some(later));
}

#[test]
fn concurrent_assigns_at_the_same_time_are_ordered_by_entry_id() {
    let mut tl = assessed(Difficulty::General);
    let base = tl.head();
    let at = T0 + DAY;
    let b = tl.concurrent_with_id(EntryId::new("zz-b"), &base, at, &staff(), assign_to(&med()));
    let a = tl.concurrent_with_id(
        EntryId::new("zz-a"),
        &base,
        at,
        &leader(),
        assign_to(&med2()),
    );
    let s = tl.state();
    assert_eq!(s.assignee, Some(mediator(&med())), "zz-b applies last");
    assert_eq!(
        s.conflicts,
        [Conflict {
            entry: b,
            kind: ConflictKind::Overrode,
            with: vec![a],
        }]
    );
}

#[test]
fn precedence_beats_the_clock_between_concurrent_moves() {
    // A reassignment made after a failure by the clock still applies first (assign ranks
    // before fail); the failure is then checked against the reassigned case.
    let mut tl = mediating(Difficulty::General);
    let base = tl.head();
    let failed = tl.concurrent(&base, T0 + DAY, &med(), fail());
    let reassigned = tl.concurrent(&base, T0 + DAY + MINUTE, &staff(), assign_to(&med2()));
    let s = tl.state();
    assert_eq!(
        tl.order()[tl.order().len() - 2..],
        [reassigned.clone(), failed.clone()]
    );
    // After the reassignment m is no longer the assignee, so the failure is not applied.
    assert_eq!(s.status, Status::Assigned);
    assert_eq!(s.assignee, Some(mediator(&med2())));
    assert_eq!(
        tl.verdict(&failed),
        Verdict::NotApplied(not_assignee(&fail()))
    );
    assert_eq!(s.conflicts.len(), 1);
    assert_eq!(s.conflicts[0].with, [reassigned]);
}

#[test]
fn concurrent_records_both_apply_without_conflict() {
    let mut tl = assigned(Difficulty::General);
    let base = tl.head();
    tl.concurrent(&base, T0 + DAY, &med(), session());
    tl.concurrent(&base, T0 + DAY, &staff(), session());
    tl.concurrent(&base, T0 + DAY, &gw(), edit());
    let s = tl.state();
    assert_eq!(s.sessions, 2);
    assert_eq!(s.status, Status::Mediating);
    assert!(s.conflicts.is_empty());
    assert!(tl.fold().verdicts.iter().all(|v| *v == Verdict::Applied));
}

#[test]
fn a_move_after_a_concurrent_record_is_not_flagged() {
    let mut tl = assigned(Difficulty::General);
    let base = tl.head();
    tl.concurrent(&base, T0 + DAY, &med(), session());
    tl.concurrent(&base, T0 + DAY, &med(), resolve(None));
    let s = tl.state();
    assert_eq!(s.status, Status::Resolved);
    assert_eq!(s.sessions, 1);
    assert!(s.conflicts.is_empty(), "{:?}", s.conflicts);
}

#[test]
fn an_entry_that_never_fitted_is_kept_unapplied_with_no_partner() {
    // Not producible by an honest device (check refuses it at creation), but a forged or buggy
    // upload must not break the fold.
    let mut tl = reported();
    let base = tl.head();
    let forged = tl.next_id();
    tl.push(forged.clone(), Some(base), T0 + MINUTE, &gw2(), close());
    let s = tl.state();
    assert_eq!(s.status, Status::Reported);
    assert_eq!(
        s.conflicts,
        [Conflict {
            entry: forged.clone(),
            kind: ConflictKind::NotApplied {
                reason: may_not(Role::GridWorker, &close()),
            },
            with: Vec::new(),
        }]
    );
    assert_eq!(s.last_entry, Some(forged));
    assert_eq!(s.updated_at, T0 + MINUTE);
}

#[test]
fn settling_a_conflict_removes_only_the_named_one() {
    let (mut tl, first) = with_conflict();
    // A second conflict: concurrent reassignments again.
    let base = tl.head();
    tl.concurrent(&base, T0 + DAY, &staff(), assign_to(&med()));
    let second = tl.concurrent(&base, T0 + DAY + MINUTE, &leader(), assign_to(&med_v2()));
    let before: Vec<EntryId> = tl
        .state()
        .conflicts
        .iter()
        .map(|c| c.entry.clone())
        .collect();
    assert_eq!(before, [first.clone(), second.clone()]);
    let settling = tl.step(&staff(), settle(&[&first]));
    let s = tl.state();
    assert_eq!(tl.verdict(&settling), Verdict::Applied);
    assert_eq!(s.conflicts.len(), 1);
    assert_eq!(s.conflicts[0].entry, second);
    tl.step(&leader(), settle(&[&second]));
    assert!(tl.state().conflicts.is_empty());
    // Settling does not change who holds the case.
    assert_eq!(tl.state().assignee, Some(mediator(&med_v2())));
}

#[test]
fn deadline_clock_restarts_on_escalate_assign_down_and_reopen() {
    let mut tl = reported();
    assert_eq!(tl.state().clock_start, T0);
    tl.step_at(T0 + DAY, &staff(), assess(Difficulty::General));
    assert_eq!(
        tl.state().clock_start,
        T0,
        "assessment does not restart the clock"
    );
    let up_at = T0 + 2 * DAY;
    tl.step_at(up_at, &staff(), escalate("c"));
    let s = tl.state();
    assert_eq!((s.clock_start, s.due_override), (up_at, None));
    assert_eq!(s.status, Status::Escalated, "a higher centre reassesses");
    assert_eq!(s.difficulty, Some(Difficulty::General));
    let down_at = T0 + 3 * DAY;
    let due = T0 + 10 * DAY;
    tl.step_at(
        down_at,
        &cstaff(),
        assign_down("t", Some(mediator(&med())), due),
    );
    let s = tl.state();
    assert_eq!((s.clock_start, s.due_override), (down_at, Some(due)));
    assert_eq!(s.status, Status::Assigned);
    assert_eq!(s.responsible_unit, "t".into());
    assert_eq!(
        s.units_involved,
        ["c".into(), "t".into()].into_iter().collect()
    );
    let resolved_at = T0 + 4 * DAY;
    tl.step_at(resolved_at, &med(), resolve(None));
    let s = tl.state();
    assert_eq!(
        s.clock_start, down_at,
        "handling stops the clock but does not move it"
    );
    assert_eq!(
        (s.handled_at, s.resolved_at),
        (Some(resolved_at), Some(resolved_at))
    );
    tl.step_at(T0 + 5 * DAY, &staff(), report_back());
    assert_eq!(
        tl.state().assigned_down.unwrap().reported_back_at,
        Some(T0 + 5 * DAY)
    );
    tl.step_at(T0 + 6 * DAY, &staff(), close());
    let s = tl.state();
    assert_eq!(s.closed_at, Some(T0 + 6 * DAY));
    assert_eq!(
        s.handled_at,
        Some(resolved_at),
        "closing keeps the handled time"
    );
    let reopen_at = T0 + 30 * DAY;
    tl.step_at(reopen_at, &staff(), reopen());
    let s = tl.state();
    assert_eq!((s.clock_start, s.due_override), (reopen_at, None));
    assert_eq!(
        (s.handled_at, s.resolved_at, s.closed_at),
        (None, None, None)
    );
    assert_eq!(s.status, Status::Assessed);
    assert_eq!(s.assignee, None);
    assert_eq!(s.updated_at, reopen_at);
}

#[test]
fn escalation_is_recorded_and_clears_the_tier_below() {
    let mut tl = resolved(Difficulty::Simple);
    let up = tl.step(&staff(), escalate("c"));
    let s = tl.state();
    assert_eq!(s.escalations.len(), 1);
    let e = &s.escalations[0];
    assert_eq!(
        (&e.entry, &e.from, &e.to, e.reason),
        (&up, &"t".into(), &"c".into(), EscalationReason::Unresolved)
    );
    assert_eq!(s.assignee, None);
    assert_eq!((s.handled_at, s.resolved_at), (None, None));
    assert!(s.units_involved.contains(&"t".into()) && s.units_involved.contains(&"c".into()));
}

#[test]
fn follow_ups_and_satisfaction_are_recorded_and_a_relapse_reopens() {
    let mut tl = resolved(Difficulty::General);
    assert_eq!(tl.state().satisfaction(), None);
    let first = tl.step(&gw(), follow_up(Satisfaction::Satisfied, false));
    let s = tl.state();
    assert_eq!(s.satisfaction(), Some(Satisfaction::Satisfied));
    assert_eq!(
        s.status,
        Status::Resolved,
        "a follow-up records, it does not move"
    );
    tl.step(&staff(), close());
    let second = tl.step(&staff(), follow_up(Satisfaction::Dissatisfied, true));
    let s = tl.state();
    assert_eq!(s.status, Status::Closed);
    assert_eq!(
        s.follow_ups
            .iter()
            .map(|f| (&f.entry, f.satisfaction, f.relapsed))
            .collect::<Vec<_>>(),
        [
            (&first, Satisfaction::Satisfied, false),
            (&second, Satisfaction::Dissatisfied, true)
        ]
    );
    assert_eq!(s.satisfaction(), Some(Satisfaction::Dissatisfied));
    tl.step(&staff(), reopen());
    let s = tl.state();
    assert_eq!(s.status, Status::Assessed);
    assert_eq!(s.agreement, None);
    assert_eq!(s.follow_ups.len(), 2, "the history of follow-ups is kept");
    // Handled again, the relapse still blocks closing until a follow-up finds it settled.
    tl.step(&staff(), assign_to(&med()));
    tl.step(&med(), resolve(None));
    assert_eq!(
        check(Some(&tl.state()), &staff(), &close()),
        Err(Denied::Relapsed)
    );
    tl.step(&staff(), follow_up(Satisfaction::Basically, false));
    assert_eq!(check(Some(&tl.state()), &staff(), &close()), Ok(()));
    assert!(tl.state().satisfaction().unwrap().counts_as_satisfied());
}

#[test]
fn on_the_spot_resolution_counts_as_simple_and_keeps_the_reporter() {
    let mut tl = reported();
    tl.step(&gw(), session());
    tl.step(&gw(), resolve(Some(agreement())));
    let s = tl.state();
    assert_eq!(s.status, Status::Resolved);
    assert_eq!(s.difficulty, Some(Difficulty::Simple));
    assert_eq!(s.sessions, 1);
    assert_eq!(s.reporter, "gw".into());
    assert_eq!(s.agreement, Some(agreement()));
    assert_eq!(s.assignee, None);
}

#[test]
fn reassessing_an_assigned_case_keeps_it_with_its_mediator() {
    let mut tl = mediating(Difficulty::Simple);
    tl.step(&staff(), assess(Difficulty::Major));
    let s = tl.state();
    assert_eq!(s.status, Status::Mediating);
    assert_eq!(s.difficulty, Some(Difficulty::Major));
    assert_eq!(s.assignee, Some(mediator(&med())));
    assert_eq!(s.risks, [RiskFlag::KeyPerson].into_iter().collect());
}

#[test]
fn judicial_confirmation_is_tracked_and_reset_by_a_new_resolution() {
    let mut tl = resolved_with_agreement();
    tl.step(&med(), request_jc());
    assert_eq!(tl.state().judicial, Some(Judicial::Requested));
    tl.step(&staff(), record_jc(false));
    assert_eq!(tl.state().judicial, Some(Judicial::Refused));
    tl.step(&staff(), reopen());
    let s = tl.state();
    assert_eq!((s.judicial, s.agreement), (None, None));
}

#[test]
fn assign_down_without_a_person_waits_for_the_lower_centre() {
    let mut tl = escalated();
    tl.step(&cstaff(), assign_down("t", None, T0 + DAY));
    assert_eq!(
        tl.state().status,
        Status::Reported,
        "never assessed: back to 待研判"
    );
    let s = assigned_down().state();
    assert_eq!(s.status, Status::Assessed);
    let down = s.assigned_down.unwrap();
    assert_eq!((down.from, down.to), ("c".into(), "t".into()));
    assert_eq!(down.reported_back_at, None);
}

// ---------------------------------------------------------------------------------------------
// Prevention: matters, possible duplicates, alerts.

fn link(matter: &str) -> Action {
    Action::LinkMatter {
        matter: MatterId::new(matter),
        note: "同一批次保险理赔".to_owned(),
    }
}

fn unlink(matter: &str) -> Action {
    Action::UnlinkMatter {
        matter: MatterId::new(matter),
        note: "经核实为两件不同纠纷".to_owned(),
    }
}

fn acknowledge(key: &str) -> Action {
    Action::AcknowledgeAlert {
        alert: key.to_owned(),
        level: crate::warning::Level::Red,
        words: "涉农涉渔纠纷 7 天内在 4 个村报告，共 4 件".to_owned(),
        note: "已联系农业农村局".to_owned(),
    }
}

#[test]
fn only_centre_staff_link_matters_and_unlink_only_the_matter_it_is_in() {
    let fresh = reported().state();
    let linked = reported().then(&staff(), link("m1")).state();
    assert_eq!(linked.matter, Some(MatterId::new("m1")));
    table(
        &link("m1"),
        &[
            ("township staff link a case", Some(&fresh), staff(), OK),
            ("a leader links a case", Some(&fresh), leader(), OK),
            (
                "a grid worker may not",
                Some(&fresh),
                gw(),
                Err(may_not(Role::GridWorker, &link("m1"))),
            ),
            (
                "a mediator may not",
                Some(&fresh),
                med(),
                Err(may_not(Role::Mediator, &link("m1"))),
            ),
            (
                "not twice into the same matter",
                Some(&linked),
                staff(),
                Err(Denied::AlreadyInMatter("m1".to_owned())),
            ),
        ],
    );
    table(
        &link("m2"),
        &[(
            "into another matter (it leaves m1)",
            Some(&linked),
            staff(),
            OK,
        )],
    );
    table(
        &unlink("m1"),
        &[
            ("out of its matter", Some(&linked), staff(), OK),
            (
                "a case in no matter",
                Some(&fresh),
                staff(),
                Err(Denied::NotInMatter(String::new())),
            ),
        ],
    );
    table(
        &unlink("m2"),
        &[(
            "not out of a matter it is not in",
            Some(&linked),
            staff(),
            Err(Denied::NotInMatter("m2".to_owned())),
        )],
    );
    let moved = reported()
        .then(&staff(), link("m1"))
        .then(&staff(), link("m2"))
        .state();
    assert_eq!(moved.matter, Some(MatterId::new("m2")));
    let out = reported()
        .then(&staff(), link("m1"))
        .then(&staff(), unlink("m1"))
        .state();
    assert_eq!(out.matter, None);
    assert_eq!(out.status, Status::Reported, "linking moves nothing");
}

#[test]
fn alerts_are_acknowledged_once_per_case_by_the_centre_and_distinct_is_recorded() {
    let fresh = reported().state();
    let acked = reported()
        .then(&staff(), acknowledge("category-spread:x"))
        .state();
    assert_eq!(acked.alerts.len(), 1);
    assert_eq!(acked.alerts[0].by, staff().name);
    assert_eq!(acked.alerts[0].note, "已联系农业农村局");
    table(
        &acknowledge("category-spread:x"),
        &[
            ("staff acknowledge", Some(&fresh), staff(), OK),
            (
                "not twice",
                Some(&acked),
                staff(),
                Err(Denied::AlreadyAcknowledged("category-spread:x".to_owned())),
            ),
            (
                "a grid worker may not",
                Some(&fresh),
                gw(),
                Err(may_not(Role::GridWorker, &acknowledge("x"))),
            ),
        ],
    );
    table(
        &acknowledge("key-person:y"),
        &[("another alert", Some(&acked), staff(), OK)],
    );
    let distinct = reported()
        .then(
            &staff(),
            Action::MarkDistinct {
                other: CaseId::new("other"),
                note: String::new(),
            },
        )
        .state();
    assert!(distinct.distinct_from.contains(&CaseId::new("other")));
    let failed = mediating(Difficulty::General)
        .then(
            &med(),
            Action::Fail {
                note: "双方分歧大".to_owned(),
            },
        )
        .state();
    assert_eq!(failed.failures, 1);
}

// ---------------------------------------------------------------------------------------------
// Supervision (督办).

fn supervise(level: SuperviseLevel, due_at: i64) -> Action {
    Action::Supervise {
        level,
        due_at,
        note: "请于期限内办结并反馈".to_owned(),
    }
}

#[test]
fn supervise_is_for_centre_staff_and_leaders_while_the_case_is_open() {
    use Difficulty::General;
    let a = supervise(SuperviseLevel::Priority, T0 + 5 * DAY);
    let reported = reported().state();
    let mediating = mediating(General).state();
    let failed = failed(General).state();
    let resolved = resolved(General).state();
    let escalated = escalated().state();
    let down = assigned_down().state();
    let closed = closed(General).state();
    table(
        &a,
        &[
            (
                "township staff supervise a new report",
                Some(&reported),
                staff(),
                OK,
            ),
            ("the township's leader", Some(&mediating), leader(), OK),
            ("a failed case", Some(&failed), staff(), OK),
            (
                "a resolved case not yet closed (督促办结)",
                Some(&resolved),
                staff(),
                OK,
            ),
            (
                "the county supervises an escalation",
                Some(&escalated),
                cstaff(),
                OK,
            ),
            (
                "the county's leader, after assigning it back down",
                Some(&down),
                cleader(),
                OK,
            ),
            (
                "not a closed case",
                Some(&closed),
                staff(),
                Err(wrong(Status::Closed, &a)),
            ),
            (
                "a grid worker may not, not even the reporter",
                Some(&reported),
                gw(),
                Err(may_not(Role::GridWorker, &a)),
            ),
            (
                "a household-group head may not",
                Some(&reported),
                hh(),
                Err(may_not(Role::HouseholdHead, &a)),
            ),
            (
                "the assigned mediator may not",
                Some(&mediating),
                med(),
                Err(may_not(Role::Mediator, &a)),
            ),
        ],
    );
    // Which centre (the responsible one, or one above it that the case came through) needs the
    // unit tree: `rules::check_supervisor` holds it, tested in `rules`.
    assert_eq!(check(None, &staff(), &a), Err(Denied::NotReported));
}

#[test]
fn a_supervision_sets_the_deadline_until_the_clock_restarts() {
    use Difficulty::General;
    let mut tl = mediating(General);
    let clock = tl.state().clock_start;
    let due = T0 + 20 * DAY;
    let first = tl.step(&staff(), supervise(SuperviseLevel::General, due));
    let s = tl.state();
    assert_eq!(s.due_override, Some(due), "the new deadline is the case's");
    assert_eq!(s.clock_start, clock, "the clock is not restarted");
    assert_eq!(s.status, Status::Mediating, "supervision moves nothing");
    assert_eq!(s.supervisions, 1);
    let record = s.supervision.clone().expect("in force");
    assert_eq!(
        (record.entry, record.level, record.due_at, record.unit),
        (first, SuperviseLevel::General, due, "t".into())
    );
    assert_eq!((record.by.as_str(), record.at), ("s", s.updated_at));
    // Supervised again, more firmly: the latest is in force, both are counted.
    let later = T0 + 10 * DAY;
    tl.step(&leader(), supervise(SuperviseLevel::Listed, later));
    let s = tl.state();
    assert_eq!(s.due_override, Some(later));
    assert_eq!(s.supervisions, 2);
    assert_eq!(
        s.supervision.as_ref().map(|r| r.level),
        Some(SuperviseLevel::Listed)
    );
    // Handling the case keeps the record; escalating it ends the supervision (the county's
    // own clock runs) but not the count.
    tl.step(&staff(), escalate("c"));
    let s = tl.state();
    assert_eq!((s.supervision.clone(), s.due_override), (None, None));
    assert_eq!(s.supervisions, 2);
    // The county supervises, then assigns it back down with a deadline of its own: that ends
    // the county's supervision too; supervising after the assignment sets the deadline again.
    tl.step(
        &cstaff(),
        supervise(SuperviseLevel::Priority, T0 + 30 * DAY),
    );
    assert_eq!(tl.state().due_override, Some(T0 + 30 * DAY));
    tl.step(&cstaff(), assign_down("t", None, T0 + 40 * DAY));
    let s = tl.state();
    assert_eq!(
        (s.supervision.clone(), s.due_override),
        (None, Some(T0 + 40 * DAY))
    );
    tl.step(&cleader(), supervise(SuperviseLevel::Listed, T0 + 35 * DAY));
    let s = tl.state();
    assert_eq!(s.due_override, Some(T0 + 35 * DAY));
    assert_eq!(s.supervision.as_ref().map(|r| r.unit.as_str()), Some("c"));
    assert_eq!(s.supervisions, 4);
    // Reopening a concluded case ends it as well.
    let mut tl = resolved(General).then(&staff(), supervise(SuperviseLevel::General, T0 + 9 * DAY));
    assert!(tl.state().supervision.is_some());
    tl.step(&staff(), close());
    tl.step(&staff(), reopen());
    assert_eq!(tl.state().supervision, None);
    assert_eq!(tl.state().supervisions, 1);
}

#[test]
fn a_supervision_concurrent_with_an_escalation_applies_after_it_without_a_conflict() {
    let mut tl = assessed(Difficulty::General);
    let base = tl.head();
    let due = T0 + 12 * DAY;
    // The township's leader supervises while its staff, offline, escalate: the escalation
    // (a move) goes first, the supervision (a record) after, and its deadline holds.
    let pressed = tl.concurrent(
        &base,
        T0 + DAY,
        &leader(),
        supervise(SuperviseLevel::Priority, due),
    );
    let up = tl.concurrent(&base, T0 + DAY + MINUTE, &staff(), escalate("c"));
    assert_eq!(tl.order().last(), Some(&pressed));
    let s = tl.state();
    assert_eq!(tl.verdict(&up), Verdict::Applied);
    assert_eq!(tl.verdict(&pressed), Verdict::Applied);
    assert_eq!(s.status, Status::Escalated);
    assert_eq!(s.due_override, Some(due));
    assert!(s.conflicts.is_empty(), "{:?}", s.conflicts);
    assert!(!is_move(&supervise(SuperviseLevel::General, due)));
}

// ---------------------------------------------------------------------------------------------
// Work orders (工单) of the 12345 hotline: their own file.

mod orders;
