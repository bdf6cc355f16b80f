//! One row per case for list screens and figures, computed from the case's document; one row
//! per household for the visit list ([`HouseholdRow`]).
//!
//! A [`CaseSummary`] is what a list screen shows and filters on, and what [`crate::figures`]
//! counts: it is derived from the document (the truth) and the directory (deadline policies),
//! never edited by itself, so the store can rebuild every summary from its documents. The
//! deadline is computed here, offline, by the responsible unit's [`crate::deadline::DeadlinePolicy`].

use crate::deadline::DueState;
use crate::ids::{CaseId, HouseholdId, MatterId, PersonId, UnitId};
use crate::model::{
    Action, Assignee, CaseDocument, Difficulty, OrderKind, RiskFlag, Satisfaction, Source,
};
use crate::org::Directory;
use crate::workflow::{
    AlertRecord, Folded, Judicial, OrderRecord, OrderState, Status, SupervisionRecord,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// A household in the visit list: what the store keeps of a household document for the list
/// (who to visit next), without loading the document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HouseholdRow {
    pub id: HouseholdId,
    pub grid: UnitId,
    pub head: String,
    pub address: String,
    pub members: u64,
    pub visits: u64,
    pub last_visit_at: Option<i64>,
}

/// A case's work order (工单) of the 12345 hotline as lists and the case screen show it: the
/// order as last dispatched, where it stands ([`OrderState`]) and what the centre did with it.
/// Deadlines are instants met by acting at or before them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderSummary {
    /// The platform's number (工单号).
    pub number: String,
    pub channel: String,
    pub kind: OrderKind,
    /// The caller asked for secrecy (保密): nothing of theirs is in the case.
    pub confidential: bool,
    pub state: OrderState,
    pub dispatched_at: i64,
    /// 签收期限 and 答复期限.
    pub sign_by: i64,
    pub reply_by: i64,
    /// How many times the platform dispatched it (more than once: 重派).
    #[serde(default)]
    pub dispatches: u32,
    #[serde(default)]
    pub signed_at: Option<i64>,
    #[serde(default)]
    pub signed_by: Option<String>,
    /// The latest reply (答复) and when it was given.
    #[serde(default)]
    pub reply: Option<String>,
    #[serde(default)]
    pub replied_at: Option<i64>,
    /// Why and when it was returned (退单).
    #[serde(default)]
    pub return_reason: Option<String>,
    #[serde(default)]
    pub returned_at: Option<i64>,
}

impl OrderSummary {
    /// The summary of a folded order on a case of `status`.
    pub fn of(record: &OrderRecord, status: Status) -> OrderSummary {
        OrderSummary {
            number: record.order.number.clone(),
            channel: record.order.channel.clone(),
            kind: record.order.kind,
            confidential: record.order.confidential,
            state: record.state(status),
            dispatched_at: record.order.dispatched_at,
            sign_by: record.order.sign_by,
            reply_by: record.order.reply_by,
            dispatches: record.dispatches,
            signed_at: record.signed_at,
            signed_by: record.signed_by.clone(),
            reply: record.reply.clone(),
            replied_at: record.replied_at,
            return_reason: record.return_reason.clone(),
            returned_at: record.returned_at,
        }
    }

    /// The signing deadline while the order waits to be signed for.
    pub fn sign_owed(&self) -> Option<i64> {
        (self.signed_at.is_none() && self.returned_at.is_none()).then_some(self.sign_by)
    }

    /// The reply deadline while no reply has been given (and the order is not returned).
    pub fn reply_owed(&self) -> Option<i64> {
        (self.reply.is_none() && self.returned_at.is_none()).then_some(self.reply_by)
    }

    /// Whether the centre is late with the order at `now_ms`: not signed for by its signing
    /// deadline, or not replied to by its reply deadline.
    pub fn overdue(&self, now_ms: i64) -> bool {
        let late = |due: Option<i64>| due.is_some_and(|d| now_ms > d);
        late(self.sign_owed()) || late(self.reply_owed())
    }
}

/// What a case list shows and filters on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CaseSummary {
    pub id: CaseId,
    pub title: String,
    pub category: String,
    pub status: Status,
    pub difficulty: Option<Difficulty>,
    /// Where the dispute happened.
    pub place_unit: UnitId,
    /// The centre now responsible.
    pub responsible_unit: UnitId,
    pub assignee: Option<String>,
    /// People who may act as the assignee (a mediator, a joint team's members).
    pub assignee_people: Vec<PersonId>,
    pub reporter: PersonId,
    pub reporter_name: String,
    pub reported_at: i64,
    /// When the responsible unit received the case (the deadline clock's start).
    pub clock_start: i64,
    /// The deadline (限时办结) of the current tier.
    pub due_at: i64,
    /// When due-soon begins (`due_at` less the policy's warning hours).
    pub due_soon_at: i64,
    pub handled_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub agreement: bool,
    pub judicial: Option<Judicial>,
    pub follow_ups: u32,
    /// The latest follow-up's satisfaction (回访满意度).
    pub satisfaction: Option<Satisfaction>,
    /// Units the case was escalated out of (上报上级), in order.
    pub escalated_from: Vec<UnitId>,
    /// Units the case was escalated to.
    pub escalated_to: Vec<UnitId>,
    /// Unsettled conflicts between concurrent moves.
    pub conflicts: u32,
    pub party_names: Vec<String>,
    pub entries: u32,
    /// The units whose staff see this case in "my unit's cases": the place's path and every
    /// centre the case has been with.
    pub units: BTreeSet<UnitId>,
    pub updated_at: i64,
    /// When staff erased the parties' contact details; every replica drops the case's
    /// contacts document from then on.
    #[serde(default)]
    pub contacts_erased_at: Option<i64>,
    /// The village (村/社区) the dispute happened in: the place path's unit of that tier.
    #[serde(default)]
    pub village: Option<UnitId>,
    /// Risk flags set at assessment (研判).
    #[serde(default)]
    pub risks: BTreeSet<RiskFlag>,
    /// How many times mediation failed.
    #[serde(default)]
    pub failures: u32,
    /// The matter (事项) staff linked the case into.
    #[serde(default)]
    pub matter: Option<MatterId>,
    /// Cases staff decided are different matters (not duplicates of this one).
    #[serde(default)]
    pub distinct_from: BTreeSet<CaseId>,
    /// Early-warning alerts acknowledged in this case.
    #[serde(default)]
    pub alerts: Vec<AlertRecord>,
    /// The supervision (督办) in force, if any: its level, new deadline (`due_at` above is the
    /// same), who issued it and what they expect.
    #[serde(default)]
    pub supervised: Option<SupervisionRecord>,
    /// How many times the case was supervised, ever (the figures count cases with any).
    #[serde(default)]
    pub supervisions: u32,
    /// The case's work order (工单) of the 12345 hotline, if one was dispatched to it.
    #[serde(default)]
    pub order: Option<OrderSummary>,
    /// Where the case came from (来源), as its report says.
    #[serde(default)]
    pub source: Option<Source>,
    /// The narrative's beginning (简要案情) for the ledger: at most [`BRIEF_CHARS`] characters,
    /// its whitespace folded.
    #[serde(default)]
    pub brief: String,
    /// The unit a higher centre assigned the case down to (交办), if it did.
    #[serde(default)]
    pub assigned_down_to: Option<UnitId>,
}

/// How much of the narrative a summary keeps ([`CaseSummary::brief`]).
pub const BRIEF_CHARS: usize = 80;

/// The beginning of a narrative: runs of whitespace folded into one space, cut at
/// [`BRIEF_CHARS`] characters with an ellipsis.
pub fn brief(narrative: &str) -> String {
    let folded = narrative.split_whitespace().collect::<Vec<_>>().join(" ");
    if folded.chars().count() <= BRIEF_CHARS {
        return folded;
    }
    let mut out: String = folded.chars().take(BRIEF_CHARS - 1).collect();
    out.push('…');
    out
}

impl CaseSummary {
    /// Computes a case's summary. `folded` must come from `document`'s timeline.
    pub fn compute(document: &CaseDocument, folded: &Folded, directory: &Directory) -> CaseSummary {
        let state = folded.state.as_ref();
        let first = document.timeline.first();
        let responsible = state
            .map(|s| s.responsible_unit.clone())
            .unwrap_or_else(|| document.place.unit.clone());
        let policy = directory.policy(&responsible);
        let difficulty = state.and_then(|s| s.difficulty);
        let clock_start = state.map_or(document.created_at, |s| s.clock_start);
        let due_at = state
            .and_then(|s| s.due_override)
            .unwrap_or_else(|| policy.due_at(clock_start, policy.days_for(difficulty)));
        let assignee = state.and_then(|s| s.assignee.as_ref());
        let assignee_people = match assignee {
            Some(Assignee::Mediator { person, .. }) => vec![person.clone()],
            Some(Assignee::JointTeam { members, .. }) => members.clone(),
            _ => Vec::new(),
        };
        // The place's path from its township down (a township sees every case of its area,
        // whichever of its village centres received it), and from the centre that received
        // the report down: a county does not see a township's case merely because the
        // township lies in the county, only when the case reaches it.
        let report = document.timeline.iter().find_map(|e| match &e.action {
            Action::Report { centre, source } => Some((centre, *source)),
            _ => None,
        });
        let received_by = report.map(|(centre, _)| centre);
        let path = &document.place.unit_path;
        let from_centre = received_by
            .and_then(|c| path.iter().position(|u| u == c))
            .unwrap_or(path.len());
        let mut units: BTreeSet<UnitId> = path
            .iter()
            .enumerate()
            .filter(|(i, u)| {
                *i >= from_centre
                    || directory
                        .unit(u)
                        .is_some_and(|unit| unit.tier >= crate::org::Tier::Township)
            })
            .map(|(_, u)| u.clone())
            .collect();
        units.insert(document.place.unit.clone());
        if let Some(s) = state {
            units.extend(s.units_involved.iter().cloned());
        }
        CaseSummary {
            id: document.id.clone(),
            title: document.title.as_str().to_owned(),
            category: document.category.clone(),
            status: state.map_or(Status::Reported, |s| s.status),
            difficulty,
            place_unit: document.place.unit.clone(),
            responsible_unit: responsible,
            assignee: assignee.map(Assignee::label),
            assignee_people,
            reporter: state
                .map(|s| s.reporter.clone())
                .unwrap_or_else(|| PersonId::new("")),
            reporter_name: first.map(|e| e.actor.name.clone()).unwrap_or_default(),
            reported_at: state.map_or(document.created_at, |s| s.reported_at),
            clock_start,
            due_at,
            due_soon_at: due_at - i64::from(policy.due_soon_hours) * 3_600_000,
            handled_at: state.and_then(|s| s.handled_at),
            resolved_at: state.and_then(|s| s.resolved_at),
            closed_at: state.and_then(|s| s.closed_at),
            agreement: state.is_some_and(|s| s.agreement.is_some()),
            judicial: state.and_then(|s| s.judicial),
            follow_ups: state.map_or(0, |s| s.follow_ups.len() as u32),
            satisfaction: state.and_then(|s| s.satisfaction()),
            escalated_from: state
                .map(|s| s.escalations.iter().map(|e| e.from.clone()).collect())
                .unwrap_or_default(),
            escalated_to: state
                .map(|s| s.escalations.iter().map(|e| e.to.clone()).collect())
                .unwrap_or_default(),
            conflicts: state.map_or(0, |s| s.conflicts.len() as u32),
            party_names: document.parties.iter().map(|p| p.name.clone()).collect(),
            entries: document.timeline.len() as u32,
            units,
            updated_at: state.map_or(document.created_at, |s| s.updated_at),
            contacts_erased_at: state.and_then(|s| s.contacts_erased_at),
            village: directory.village_on(path).cloned(),
            risks: state.map(|s| s.risks.clone()).unwrap_or_default(),
            failures: state.map_or(0, |s| s.failures),
            matter: state.and_then(|s| s.matter.clone()),
            distinct_from: state.map(|s| s.distinct_from.clone()).unwrap_or_default(),
            alerts: state.map(|s| s.alerts.clone()).unwrap_or_default(),
            supervised: state.and_then(|s| s.supervision.clone()),
            supervisions: state.map_or(0, |s| s.supervisions),
            order: state.and_then(|s| s.order.as_ref().map(|o| OrderSummary::of(o, s.status))),
            source: report.map(|(_, source)| source),
            brief: brief(document.narrative.as_str()),
            assigned_down_to: state.and_then(|s| s.assigned_down.as_ref().map(|a| a.to.clone())),
        }
    }

    /// Whether the case has been handled at its current tier (the deadline clock stopped).
    pub fn is_handled(&self) -> bool {
        self.handled_at.is_some() || self.status.is_handled()
    }

    /// Overdue, due soon, on track or handled, at `now_ms`.
    pub fn due_state(&self, now_ms: i64) -> DueState {
        if self.is_handled() {
            DueState::Handled
        } else if now_ms >= self.due_at {
            DueState::Overdue
        } else if now_ms >= self.due_soon_at {
            DueState::DueSoon
        } else {
            DueState::OnTrack
        }
    }

    /// Whether the case was handled by its deadline (`None` while it is open).
    pub fn on_time(&self) -> Option<bool> {
        self.handled_at.map(|h| h <= self.due_at)
    }
}
