//! The closed loop (闭环) as a state machine, and the fold that turns a merged timeline into a
//! case's state.
//!
//! Pure: no I/O, no clock. [`check`] says whether an actor may take an action in a state (the
//! device calls it before saving, the server before storing an upload); [`fold`] replays a
//! timeline into a [`CaseState`].
//!
//! # Concurrent moves
//!
//! Each entry records its `base`: the last entry of the timeline its author saw. Entries with
//! the same base were made concurrently (two phones offline, a township and a county cut off from
//! each other). The entries form a tree by base; the fold walks it depth first, so an entry always
//! comes after everything its author saw. Where the tree forks, the branches are ordered by the
//! **precedence rule**, first to last:
//!
//! 1. report, 2. escalate (上报上级), 3. reopen, 4. assign down (交办), 5. assess, 6. assign,
//! 7. records (session, follow-up, report back, judicial confirmation, edits, settling,
//!    supervision, dispatching, signing for and replying to a work order),
//! 8. fail, 9. stabilise, 10. resolve, 11. close, 12. return a work order (退单);
//!
//! ties by wall-clock time, then entry id. That is: a move that keeps a case open or takes it
//! higher is applied before one that concludes it, so a concurrent "close" never buries an
//! "escalate". Each entry is then checked against the state the entries before it produced, with
//! the same [`check`] used at creation. An entry that no longer fits (the case was escalated while
//! a mediator recorded it resolved) is kept in the timeline but not applied, and raised as a
//! [`Conflict`]; a move that applies but was concurrent with another move (two staff assigned two
//! mediators) is applied in order and also raised. Conflicts stay on the case, for staff to see,
//! until a [`Action::SettleConflict`] names them. Because the fold depends only on the set of
//! entries, every replica that has the same entries computes the same state.
//!
//! A supervision (督办) is a record that sets the deadline: it applies after the moves it was
//! concurrent with, so its deadline holds for whoever holds the case then; a later move that
//! restarts the clock (escalate, assign down, reopen) ends it, since that move sets a deadline
//! of its own.
//!
//! A work order (工单) of the 12345 hotline lives in the case as records: the platform's
//! dispatch (派单, again on 重派), the centre's signing (签收) and replies (答复). Returning it
//! (退单) is a move that ends the case ([`Status::Returned`]), ordered last like a close: a
//! reply concurrent with a return goes first, and the return, no longer allowed after a reply,
//! is kept unapplied as a conflict. The order's deadlines are the platform's and do not change
//! the case's own (限时办结); [`OrderState`] says where the order stands.

use crate::ids::{CaseId, EntryId, MatterId, PersonId, UnitId};
use crate::model::{
    Action, ActionKind, Actor, Agreement, Assignee, Difficulty, EscalationReason, RiskFlag,
    Satisfaction, SuperviseLevel, TimelineEntry, WorkOrder,
};
use crate::org::Role;
use crate::warning::{AlertAck, Level};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Where a case is in the loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Status {
    /// 已受理, waiting for assessment.
    Reported,
    /// 已上报上级, waiting for the higher centre.
    Escalated,
    /// 已研判, waiting for assignment.
    Assessed,
    /// 已分流/交办, with a mediator, committee, department or lower unit.
    Assigned,
    /// 调处中: at least one session since assignment.
    Mediating,
    /// 调解成功
    Resolved,
    /// 稳控
    Stabilised,
    /// 调解失败 at this tier.
    Failed,
    /// 已办结
    Closed,
    /// 已退单: the centre returned the case's work order (退单) to the 12345 platform as not its
    /// own. Terminal, like [`Status::Closed`]: the platform dispatches the order elsewhere.
    Returned,
}

impl Status {
    pub const ALL: [Status; 10] = [
        Status::Reported,
        Status::Escalated,
        Status::Assessed,
        Status::Assigned,
        Status::Mediating,
        Status::Resolved,
        Status::Stabilised,
        Status::Failed,
        Status::Closed,
        Status::Returned,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Status::Reported => "reported",
            Status::Escalated => "escalated",
            Status::Assessed => "assessed",
            Status::Assigned => "assigned",
            Status::Mediating => "mediating",
            Status::Resolved => "resolved",
            Status::Stabilised => "stabilised",
            Status::Failed => "failed",
            Status::Closed => "closed",
            Status::Returned => "returned",
        }
    }

    pub fn from_code(code: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.code() == code)
    }

    pub fn zh(self) -> &'static str {
        match self {
            Status::Reported => "待研判",
            Status::Escalated => "已上报上级",
            Status::Assessed => "待分流",
            Status::Assigned => "已分流",
            Status::Mediating => "调处中",
            Status::Resolved => "调解成功",
            Status::Stabilised => "稳控",
            Status::Failed => "调解失败",
            Status::Closed => "已办结",
            Status::Returned => "已退单",
        }
    }

    /// Whether the deadline clock has stopped: the case was handled at its current tier, or its
    /// work order was returned (it is nobody's here to handle any more).
    pub fn is_handled(self) -> bool {
        matches!(
            self,
            Status::Resolved | Status::Stabilised | Status::Closed | Status::Returned
        )
    }

    /// Whether nothing more moves the case: closed (办结) or returned (退单).
    pub fn is_terminal(self) -> bool {
        matches!(self, Status::Closed | Status::Returned)
    }
}

/// Judicial confirmation (司法确认) of an agreement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Judicial {
    Requested,
    Granted,
    Refused,
}

/// An escalation as the fold saw it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscalationRecord {
    pub entry: EntryId,
    pub from: UnitId,
    pub to: UnitId,
    pub reason: EscalationReason,
    pub at: i64,
}

/// A higher centre's assignment down (交办), waiting for or having received feedback (反馈).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignedDown {
    pub entry: EntryId,
    pub from: UnitId,
    pub to: UnitId,
    pub instructions: String,
    pub due_at: i64,
    pub reported_back_at: Option<i64>,
}

/// A follow-up (回访) as the fold saw it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUpRecord {
    pub entry: EntryId,
    pub at: i64,
    pub satisfaction: Satisfaction,
    pub relapsed: bool,
}

/// An early-warning alert acknowledged in the case (预警签收), as the fold saw it: the alert's
/// key, level and words as shown to the person who acknowledged it, and what they wrote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertRecord {
    pub key: String,
    pub level: Level,
    pub words: String,
    /// Who acknowledged it (their name then), when, and what they did about it.
    pub by: String,
    pub at: i64,
    pub note: String,
}

impl AlertRecord {
    /// The acknowledgement as the rules read it.
    pub fn ack(&self) -> AlertAck {
        AlertAck {
            key: self.key.clone(),
            by: self.by.clone(),
            at: self.at,
            note: self.note.clone(),
        }
    }
}

/// A supervision (督办) as the fold saw it: who pressed for the case to be handled, how firmly,
/// by when, and what they expect.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupervisionRecord {
    pub entry: EntryId,
    pub level: SuperviseLevel,
    /// The new deadline it set (the first late instant).
    pub due_at: i64,
    /// The supervising centre, and the person (their id, and their name then).
    pub unit: UnitId,
    pub person: PersonId,
    pub by: String,
    pub at: i64,
    pub note: String,
}

/// A work order (工单) of the 12345 hotline as the fold saw it: the order as last dispatched,
/// and what the centre did with it (signed, replied, returned). See [`OrderState`] for where it
/// stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRecord {
    /// The order as the platform last dispatched it (its number never changes).
    pub order: WorkOrder,
    /// How many times the platform dispatched it (派单, then each 重派).
    pub dispatches: u32,
    /// When and by whom (their name then) it was signed for (签收).
    pub signed_at: Option<i64>,
    pub signed_by: Option<String>,
    /// The latest reply to the platform (答复), when and by whom.
    pub reply: Option<String>,
    pub replied_at: Option<i64>,
    pub replied_by: Option<String>,
    /// Why and when it was returned (退单), and by whom.
    pub return_reason: Option<String>,
    pub returned_at: Option<i64>,
    pub returned_by: Option<String>,
}

impl OrderRecord {
    /// Where the order stands for the platform, given the case's status. See [`OrderState`].
    pub fn state(&self, status: Status) -> OrderState {
        if self.returned_at.is_some() {
            OrderState::Returned
        } else if self.signed_at.is_none() {
            OrderState::Dispatched
        } else if status.is_handled() && self.reply.is_some() {
            OrderState::Concluded
        } else if self.reply.is_some() {
            OrderState::Replied
        } else if status == Status::Reported {
            OrderState::Signed
        } else {
            OrderState::Handling
        }
    }

    /// The signing deadline while the order waits to be signed for (not signed, not returned).
    pub fn sign_owed(&self) -> Option<i64> {
        (self.signed_at.is_none() && self.returned_at.is_none()).then_some(self.order.sign_by)
    }

    /// The reply deadline while a reply is owed (none given yet, not returned).
    pub fn reply_owed(&self) -> Option<i64> {
        (self.reply.is_none() && self.returned_at.is_none()).then_some(self.order.reply_by)
    }
}

/// Where a work order stands for the 12345 platform, computed from its [`OrderRecord`] and the
/// case's [`Status`], first rule that holds:
///
/// 1. **Returned** (退单): the centre returned it.
/// 2. **Dispatched** (待签收): not signed for yet, whatever staff did to the case meanwhile.
/// 3. **Concluded** (办结): the case is handled at its tier (resolved, stabilised or closed) and
///    the centre has replied. For the hotline an order is concluded when its outcome is
///    reported back: a case handled but not yet replied to stays *Handling* until the reply,
///    which the platform's reply deadline presses for.
/// 4. **Replied** (已回复): a reply was given while the case is still open (an interim reply,
///    or the answer to a consultation).
/// 5. **Signed** (已签收): signed, and the case is still as reported (待研判).
/// 6. **Handling** (办理中): signed, and the case is being worked (assessed, assigned,
///    mediating, failed, escalated, assigned down…).
///
/// Its serde form is the code (`"handling"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    Dispatched,
    Signed,
    Handling,
    Replied,
    Concluded,
    Returned,
}

impl OrderState {
    /// Every state, in the order an order goes through them.
    pub const ALL: [OrderState; 6] = [
        OrderState::Dispatched,
        OrderState::Signed,
        OrderState::Handling,
        OrderState::Replied,
        OrderState::Concluded,
        OrderState::Returned,
    ];

    /// A stable code (`dispatched`, `signed`, `handling`, `replied`, `concluded`, `returned`):
    /// its serde form.
    pub fn code(self) -> &'static str {
        match self {
            OrderState::Dispatched => "dispatched",
            OrderState::Signed => "signed",
            OrderState::Handling => "handling",
            OrderState::Replied => "replied",
            OrderState::Concluded => "concluded",
            OrderState::Returned => "returned",
        }
    }

    /// The state of a code, if it is one.
    pub fn from_code(code: &str) -> Option<OrderState> {
        OrderState::ALL.into_iter().find(|s| s.code() == code)
    }

    /// The state in Chinese, as the hotline says it.
    pub fn zh(self) -> &'static str {
        match self {
            OrderState::Dispatched => "待签收",
            OrderState::Signed => "已签收",
            OrderState::Handling => "办理中",
            OrderState::Replied => "已回复",
            OrderState::Concluded => "办结",
            OrderState::Returned => "退单",
        }
    }
}

/// What the fold did with one entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    /// Applied to the state.
    Applied,
    /// Kept in the timeline but not applied: it no longer fitted the state when its concurrent
    /// entries were merged before it.
    NotApplied(Denied),
}

/// Why a merged timeline needs a person's attention.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConflictKind {
    /// The entry was made concurrently with `with` and no longer fits; it was not applied.
    NotApplied { reason: Denied },
    /// The move was applied after the concurrent moves `with`, overriding what they set.
    Overrode,
}

/// A flagged consequence of concurrent moves, shown to staff until settled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    pub entry: EntryId,
    pub kind: ConflictKind,
    /// The concurrent moves this entry met.
    pub with: Vec<EntryId>,
}

/// The state of a case folded from its timeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CaseState {
    pub status: Status,
    pub difficulty: Option<Difficulty>,
    pub risks: BTreeSet<RiskFlag>,
    pub reporter: PersonId,
    pub reported_at: i64,
    /// The centre currently responsible for the case.
    pub responsible_unit: UnitId,
    pub assignee: Option<Assignee>,
    pub chosen_by_parties: bool,
    /// When the responsible unit received the case: the deadline clock starts here.
    pub clock_start: i64,
    /// A deadline set explicitly by a higher centre's assignment down.
    pub due_override: Option<i64>,
    pub sessions: u32,
    pub agreement: Option<Agreement>,
    pub judicial: Option<Judicial>,
    pub escalations: Vec<EscalationRecord>,
    pub assigned_down: Option<AssignedDown>,
    pub follow_ups: Vec<FollowUpRecord>,
    /// When the case was last handled (resolved, stabilised or closed); `None` while open.
    pub handled_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub closed_at: Option<i64>,
    /// Every centre the case has been with; their staff may see it.
    pub units_involved: BTreeSet<UnitId>,
    /// Unsettled conflicts.
    pub conflicts: Vec<Conflict>,
    pub last_entry: Option<EntryId>,
    pub updated_at: i64,
    /// When staff erased the parties' contact details (删除联系方式), if they did.
    #[serde(default)]
    pub contacts_erased_at: Option<i64>,
    /// The matter (事项) staff linked the case into, if any.
    #[serde(default)]
    pub matter: Option<MatterId>,
    /// Cases staff decided are different matters (判定非重复): no longer shown as possible
    /// duplicates of this one.
    #[serde(default)]
    pub distinct_from: BTreeSet<CaseId>,
    /// Early-warning alerts acknowledged in this case (预警签收), in timeline order.
    #[serde(default)]
    pub alerts: Vec<AlertRecord>,
    /// How many times this case's mediation failed (调解失败).
    #[serde(default)]
    pub failures: u32,
    /// The supervision (督办) in force: the latest, until a move that restarts the deadline
    /// clock (escalate, assign down, reopen) ends it. Its `due_at` is the case's deadline.
    #[serde(default)]
    pub supervision: Option<SupervisionRecord>,
    /// How many times the case was supervised, ever.
    #[serde(default)]
    pub supervisions: u32,
    /// The case's work order (工单) of the 12345 hotline, if one was dispatched to it.
    #[serde(default)]
    pub order: Option<OrderRecord>,
}

impl CaseState {
    /// The latest follow-up's satisfaction.
    pub fn satisfaction(&self) -> Option<Satisfaction> {
        self.follow_ups.last().map(|f| f.satisfaction)
    }

    /// Where the case's work order stands, if it has one.
    pub fn order_state(&self) -> Option<OrderState> {
        self.order.as_ref().map(|o| o.state(self.status))
    }
}

/// Why an action is refused. The message says what the user can do about it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Denied {
    #[error("a case is created by its report; it cannot be reported twice")]
    AlreadyReported,
    #[error("the case has no report yet: its first step must be 上报")]
    NotReported,
    #[error("{role} may not {action}")]
    RoleMayNot { role: String, action: String },
    #[error("only the centre now responsible ({unit}) may {action}")]
    NotResponsibleUnit { unit: String, action: String },
    #[error("only the assigned mediator or the responsible centre may {action}")]
    NotAssignee { action: String },
    #[error("cannot {action} a case that is {status}")]
    WrongStatus { action: String, status: String },
    #[error("closing a {difficulty} case needs a centre leader's sign-off")]
    NeedsLeader { difficulty: String },
    #[error("judicial confirmation needs a written agreement")]
    NoAgreement,
    #[error("no judicial confirmation has been requested")]
    NoJudicialRequest,
    #[error("judicial confirmation was already requested")]
    JudicialAlreadyRequested,
    #[error("the case is already with {0}")]
    SameUnit(String),
    #[error("this case was not assigned down to this unit, so there is nobody to report back to")]
    NothingToReportBack,
    #[error("report back (反馈) to {0}, which assigned the case down, before closing it")]
    FeedbackOwed(String),
    #[error("entry {0} is not an unsettled conflict of this case")]
    NoSuchConflict(String),
    #[error("a follow-up that finds the dispute came back needs a reopen, not a close")]
    Relapsed,
    #[error(
        "erasing the parties' contact details needs a reason (their request, a retention rule)"
    )]
    NeedsReason,
    #[error("the parties' contact details were erased already")]
    AlreadyErased,
    #[error("the case is already in matter {0}")]
    AlreadyInMatter(String),
    #[error("the case is not in matter {0}")]
    NotInMatter(String),
    #[error("alert {0} was acknowledged in this case already")]
    AlreadyAcknowledged(String),
    #[error("only the centre responsible ({unit}) or a centre above it that the case was escalated or assigned down from may supervise it")]
    NotSupervisor { unit: String },
    #[error("the case has no work order (工单) of the 12345 hotline")]
    NoWorkOrder,
    #[error("the work order was signed for (签收) already")]
    AlreadySigned,
    #[error("sign for the work order (签收) before replying to it")]
    NotSigned,
    #[error("the work order was returned (退单); nothing more is done with it here")]
    OrderReturned,
    #[error("the work order was replied to already; a replied order cannot be returned (退单)")]
    AlreadyReplied,
    #[error("this case holds work order {held}; order {sent} is another order, for another case")]
    OrderNumber { held: String, sent: String },
    #[error("the principal of another system (12345 hotline, police linkage) only reports cases from the hotline or the police and dispatches their work orders")]
    IntakeOnly,
    #[error("only the system that reported this case ({reporter}) dispatches its work order")]
    OtherSystem { reporter: String },
}

impl Denied {
    /// The refusal in Chinese, for the interface (the `Display` text is the English one).
    pub fn zh(&self) -> String {
        match self {
            Denied::AlreadyReported => "案件已上报，不能重复上报".to_owned(),
            Denied::NotReported => "案件尚未上报受理，第一步须为上报".to_owned(),
            Denied::RoleMayNot { role, action } => format!("{role}无权{action}"),
            Denied::NotResponsibleUnit { unit, action } => {
                format!("只有当前负责的中心（{unit}）可以{action}")
            }
            Denied::NotAssignee { action } => format!("只有承办的调解员或负责的中心可以{action}"),
            Denied::WrongStatus { action, status } => {
                format!("案件当前为“{status}”，不能{action}")
            }
            Denied::NeedsLeader { difficulty } => {
                format!("{difficulty}案件办结须经中心领导签批")
            }
            Denied::NoAgreement => "申请司法确认须有书面调解协议".to_owned(),
            Denied::NoJudicialRequest => "尚未申请司法确认".to_owned(),
            Denied::JudicialAlreadyRequested => "已经申请过司法确认".to_owned(),
            Denied::SameUnit(unit) => format!("案件已在{unit}"),
            Denied::NothingToReportBack => "此案件未交办到本单位，无需反馈".to_owned(),
            Denied::FeedbackOwed(unit) => format!("办结前请先向交办单位{unit}反馈"),
            Denied::NoSuchConflict(entry) => format!("记录{entry}不是本案未处理的冲突"),
            Denied::Relapsed => "回访发现纠纷反复，请重新启动案件，而不是办结".to_owned(),
            Denied::NeedsReason => "删除联系方式须说明理由（当事人申请、保存期限等）".to_owned(),
            Denied::AlreadyErased => "当事人联系方式已删除".to_owned(),
            Denied::AlreadyInMatter(m) => format!("案件已关联在事项{m}中"),
            Denied::NotInMatter(m) if m.is_empty() => "案件未关联任何事项".to_owned(),
            Denied::NotInMatter(m) => format!("案件不在事项{m}中"),
            Denied::AlreadyAcknowledged(_) => "此预警已在本案签收".to_owned(),
            Denied::NotSupervisor { unit } => {
                format!("只有负责的中心（{unit}）或案件上报、交办所经的上级中心可以督办")
            }
            Denied::NoWorkOrder => "本案没有12345工单".to_owned(),
            Denied::AlreadySigned => "工单已签收".to_owned(),
            Denied::NotSigned => "请先签收工单，再答复".to_owned(),
            Denied::OrderReturned => "工单已退单，不再办理".to_owned(),
            Denied::AlreadyReplied => "工单已答复，不能退单".to_owned(),
            Denied::OrderNumber { held, sent } => {
                format!("本案工单号为{held}，派单的工单号{sent}是另一张工单")
            }
            Denied::IntakeOnly => {
                "系统对接账号只能上报12345热线或公安移交的案件，并派发其工单".to_owned()
            }
            Denied::OtherSystem { reporter } => {
                format!("只有上报本案的系统（{reporter}）可以派发本案工单")
            }
        }
    }
}

fn role_may_not(actor: &Actor, action: ActionKind) -> Denied {
    Denied::RoleMayNot {
        role: actor.role.zh().to_owned(),
        action: action.zh().to_owned(),
    }
}

fn wrong_status(state: &CaseState, action: ActionKind) -> Denied {
    Denied::WrongStatus {
        action: action.zh().to_owned(),
        status: state.status.zh().to_owned(),
    }
}

/// Whether the actor is staff of the centre now responsible for the case.
fn is_responsible_staff(state: &CaseState, actor: &Actor) -> bool {
    actor.role.is_centre() && actor.unit == state.responsible_unit
}

fn is_assignee(state: &CaseState, actor: &Actor) -> bool {
    state
        .assignee
        .as_ref()
        .is_some_and(|a| a.includes(&actor.person, &actor.unit, actor.role))
}

/// Requires responsible-centre staff.
fn staff(state: &CaseState, actor: &Actor, action: ActionKind) -> Result<(), Denied> {
    if !actor.role.is_centre() {
        return Err(role_may_not(actor, action));
    }
    if actor.unit != state.responsible_unit {
        return Err(Denied::NotResponsibleUnit {
            unit: state.responsible_unit.to_string(),
            action: action.zh().to_owned(),
        });
    }
    Ok(())
}

/// Requires the assignee or responsible-centre staff.
fn handler(state: &CaseState, actor: &Actor, action: ActionKind) -> Result<(), Denied> {
    if is_responsible_staff(state, actor) || is_assignee(state, actor) {
        Ok(())
    } else if matches!(actor.role, Role::GridWorker | Role::HouseholdHead)
        && state.assignee.is_none()
    {
        Err(role_may_not(actor, action))
    } else {
        Err(Denied::NotAssignee {
            action: action.zh().to_owned(),
        })
    }
}

/// The case's work order, while the centre still works it (there is one, not returned).
fn open_order(state: &CaseState) -> Result<&OrderRecord, Denied> {
    match &state.order {
        None => Err(Denied::NoWorkOrder),
        Some(o) if o.returned_at.is_some() => Err(Denied::OrderReturned),
        Some(o) => Ok(o),
    }
}

fn status_in(state: &CaseState, action: ActionKind, allowed: &[Status]) -> Result<(), Denied> {
    if allowed.contains(&state.status) {
        Ok(())
    } else {
        Err(wrong_status(state, action))
    }
}

/// On-the-spot mediation (就地调解): the grid worker or mediator who reported the case settles
/// it before the centre has assessed it.
fn is_on_the_spot(state: &CaseState, actor: &Actor) -> bool {
    state.status == Status::Reported
        && actor.person == state.reporter
        && matches!(
            actor.role,
            Role::GridWorker | Role::HouseholdHead | Role::Mediator
        )
}

/// Whether `actor` may take a step of this kind on a case in `state` (`None`: the case does
/// not exist yet), whatever its payload: roles, statuses and what the case holds. [`check`] adds
/// what depends on the payload; [`offered`] is what the case screen shows.
///
/// This is the one place the rules live: the UI asks it to show the allowed actions, the store
/// before saving, the server before accepting an upload, and [`fold`] when replaying a merged
/// timeline.
pub fn may(state: Option<&CaseState>, actor: &Actor, kind: ActionKind) -> Result<(), Denied> {
    use ActionKind as K;
    use Status::*;
    // The principal of another system reports and dispatches its orders, and nothing else.
    if actor.role.is_intake() && !matches!(kind, K::Report | K::DispatchOrder) {
        return Err(Denied::IntakeOnly);
    }
    let state = match (state, kind) {
        (None, K::Report) => return Ok(()),
        (None, _) => return Err(Denied::NotReported),
        (Some(_), K::Report) => return Err(Denied::AlreadyReported),
        (Some(s), _) => s,
    };
    let action = kind;
    match kind {
        K::Report => unreachable!("handled above"),
        K::Assess => {
            staff(state, actor, action)?;
            status_in(
                state,
                action,
                &[Reported, Escalated, Assessed, Assigned, Mediating],
            )
        }
        K::Assign => {
            staff(state, actor, action)?;
            status_in(state, action, &[Assessed, Assigned, Mediating, Failed])
        }
        K::RecordSession => {
            if !is_on_the_spot(state, actor) {
                handler(state, actor, action)?;
                status_in(state, action, &[Assigned, Mediating])?;
            }
            Ok(())
        }
        K::Resolve => {
            if is_on_the_spot(state, actor) {
                return Ok(());
            }
            handler(state, actor, action)?;
            status_in(state, action, &[Assigned, Mediating])
        }
        K::Stabilise => {
            handler(state, actor, action)?;
            status_in(state, action, &[Assigned, Mediating, Failed])
        }
        K::Fail => {
            handler(state, actor, action)?;
            status_in(state, action, &[Assigned, Mediating])
        }
        K::RequestJudicialConfirmation => {
            handler(state, actor, action)?;
            status_in(state, action, &[Resolved, Closed])?;
            if state.agreement.is_none() {
                return Err(Denied::NoAgreement);
            }
            match state.judicial {
                Some(Judicial::Requested) | Some(Judicial::Granted) => {
                    Err(Denied::JudicialAlreadyRequested)
                }
                None | Some(Judicial::Refused) => Ok(()),
            }
        }
        K::RecordJudicialConfirmation => {
            staff(state, actor, action)?;
            if state.judicial != Some(Judicial::Requested) {
                return Err(Denied::NoJudicialRequest);
            }
            Ok(())
        }
        K::Escalate => {
            staff(state, actor, action)?;
            status_in(
                state,
                action,
                &[
                    Reported, Escalated, Assessed, Assigned, Mediating, Failed, Stabilised,
                    Resolved,
                ],
            )
        }
        K::AssignDown => {
            staff(state, actor, action)?;
            status_in(
                state,
                action,
                &[Escalated, Reported, Assessed, Assigned, Mediating, Failed],
            )
        }
        K::ReportBack => {
            staff(state, actor, action)?;
            match &state.assigned_down {
                Some(down) if down.to == state.responsible_unit => Ok(()),
                _ => Err(Denied::NothingToReportBack),
            }
        }
        K::FollowUp => {
            let reporter = actor.person == state.reporter;
            if !(is_responsible_staff(state, actor) || is_assignee(state, actor) || reporter) {
                return Err(Denied::NotAssignee {
                    action: action.zh().to_owned(),
                });
            }
            status_in(state, action, &[Resolved, Stabilised, Closed])
        }
        K::Close => {
            staff(state, actor, action)?;
            status_in(state, action, &[Resolved, Stabilised])?;
            if let Some(d) = state.difficulty.filter(|d| d.needs_leader()) {
                if actor.role != Role::CentreLeader {
                    return Err(Denied::NeedsLeader {
                        difficulty: d.zh().to_owned(),
                    });
                }
            }
            if let Some(down) = &state.assigned_down {
                if down.to == state.responsible_unit && down.reported_back_at.is_none() {
                    return Err(Denied::FeedbackOwed(down.from.to_string()));
                }
            }
            if state.follow_ups.last().is_some_and(|f| f.relapsed) {
                return Err(Denied::Relapsed);
            }
            Ok(())
        }
        K::Reopen => {
            staff(state, actor, action)?;
            status_in(state, action, &[Resolved, Stabilised, Closed])
        }
        K::SettleConflict => staff(state, actor, action),
        K::EraseContacts => {
            staff(state, actor, action)?;
            if state.contacts_erased_at.is_some() {
                return Err(Denied::AlreadyErased);
            }
            Ok(())
        }
        // Whose unit: the responsible centre, a centre the case has been with, or one above the
        // responsible centre (a township links its villages' cases): `rules::check_action`
        // holds that with the directory.
        K::LinkMatter | K::UnlinkMatter | K::MarkDistinct | K::AcknowledgeAlert => {
            if !actor.role.is_centre() {
                return Err(role_may_not(actor, action));
            }
            match (&state.matter, kind) {
                (None, K::UnlinkMatter) => Err(Denied::NotInMatter(String::new())),
                _ => Ok(()),
            }
        }
        // Centre staff and leaders, while the case is open. Whose centre (the responsible one, or
        // one above it that the case came through) is `rules::check_action`'s, with the
        // directory.
        K::Supervise => {
            if !actor.role.is_centre() {
                return Err(role_may_not(actor, action));
            }
            if state.status.is_terminal() {
                return Err(wrong_status(state, action));
            }
            Ok(())
        }
        // 派单: the system that reported the case (the 12345 platform, police linkage), first
        // while the case is as reported, then again (重派) until it is closed or the order
        // returned. That it is the same order is `check`'s (the payload's number).
        K::DispatchOrder => {
            if !actor.role.is_intake() {
                return Err(role_may_not(actor, action));
            }
            if actor.person != state.reporter {
                return Err(Denied::OtherSystem {
                    reporter: state.reporter.to_string(),
                });
            }
            match &state.order {
                None => status_in(state, action, &[Reported]),
                Some(_) => {
                    open_order(state)?;
                    if state.status == Closed {
                        return Err(wrong_status(state, action));
                    }
                    Ok(())
                }
            }
        }
        // 签收: the responsible centre, once, while the order is not returned.
        K::SignOrder => {
            staff(state, actor, action)?;
            if open_order(state)?.signed_at.is_some() {
                return Err(Denied::AlreadySigned);
            }
            Ok(())
        }
        // 答复: the responsible centre, after signing, as often as it has something to say.
        K::ReplyOrder => {
            staff(state, actor, action)?;
            if open_order(state)?.signed_at.is_none() {
                return Err(Denied::NotSigned);
            }
            Ok(())
        }
        // 退单: the responsible centre, before any reply, while the case is open and unhandled.
        K::ReturnOrder => {
            staff(state, actor, action)?;
            if open_order(state)?.reply.is_some() {
                return Err(Denied::AlreadyReplied);
            }
            status_in(
                state,
                action,
                &[Reported, Escalated, Assessed, Assigned, Mediating, Failed],
            )
        }
        K::Edit => {
            let reporter = actor.person == state.reporter;
            if is_responsible_staff(state, actor) || is_assignee(state, actor) || reporter {
                Ok(())
            } else {
                Err(Denied::NotAssignee {
                    action: action.zh().to_owned(),
                })
            }
        }
    }
}

/// Whether `actor` may take `action` on a case in `state` (`None`: the case does not exist yet):
/// [`may`] for its kind, then what its payload names (a unit other than the responsible one, the
/// conflicts the case holds, a reason for an erasure). The fold replays every entry through it.
pub fn check(state: Option<&CaseState>, actor: &Actor, action: &Action) -> Result<(), Denied> {
    may(state, actor, action.kind())?;
    if let Action::Report { source, .. } = action {
        if actor.role.is_intake() && !source.is_intake() {
            return Err(Denied::IntakeOnly);
        }
    }
    let Some(state) = state else {
        return Ok(());
    };
    match action {
        Action::Escalate { to, .. } | Action::AssignDown { to, .. }
            if to == &state.responsible_unit =>
        {
            Err(Denied::SameUnit(to.to_string()))
        }
        Action::SettleConflict { entries, .. } => {
            for e in entries {
                if !state.conflicts.iter().any(|c| &c.entry == e) {
                    return Err(Denied::NoSuchConflict(e.to_string()));
                }
            }
            Ok(())
        }
        Action::EraseContacts { reason } if reason.trim().is_empty() => Err(Denied::NeedsReason),
        Action::LinkMatter { matter, .. } if state.matter.as_ref() == Some(matter) => {
            Err(Denied::AlreadyInMatter(matter.to_string()))
        }
        Action::UnlinkMatter { matter, .. } if state.matter.as_ref() != Some(matter) => {
            Err(Denied::NotInMatter(matter.to_string()))
        }
        Action::AcknowledgeAlert { alert, .. } if state.alerts.iter().any(|a| &a.key == alert) => {
            Err(Denied::AlreadyAcknowledged(alert.clone()))
        }
        Action::DispatchOrder { order } => match &state.order {
            Some(held) if held.order.number != order.number => Err(Denied::OrderNumber {
                held: held.order.number.clone(),
                sent: order.number.clone(),
            }),
            _ => Ok(()),
        },
        _ => Ok(()),
    }
}

/// Applies an action that [`check`] allowed. `state` is `None` only for the report.
pub fn apply(state: Option<CaseState>, entry: &TimelineEntry) -> CaseState {
    let at = entry.at;
    let mut s = match (state, &entry.action) {
        (None, Action::Report { centre, .. }) => {
            let mut units = BTreeSet::new();
            units.insert(centre.clone());
            CaseState {
                status: Status::Reported,
                difficulty: None,
                risks: BTreeSet::new(),
                reporter: entry.actor.person.clone(),
                reported_at: at,
                responsible_unit: centre.clone(),
                assignee: None,
                chosen_by_parties: false,
                clock_start: at,
                due_override: None,
                sessions: 0,
                agreement: None,
                judicial: None,
                escalations: Vec::new(),
                assigned_down: None,
                follow_ups: Vec::new(),
                handled_at: None,
                resolved_at: None,
                closed_at: None,
                units_involved: units,
                conflicts: Vec::new(),
                last_entry: None,
                updated_at: at,
                contacts_erased_at: None,
                matter: None,
                distinct_from: BTreeSet::new(),
                alerts: Vec::new(),
                failures: 0,
                supervision: None,
                supervisions: 0,
                order: None,
            }
        }
        (Some(s), _) => s,
        (None, _) => unreachable!("check refuses anything but a report on a new case"),
    };
    match &entry.action {
        Action::Report { .. } => {}
        Action::Assess {
            difficulty, risks, ..
        } => {
            s.difficulty = Some(*difficulty);
            s.risks = risks.iter().copied().collect();
            if matches!(s.status, Status::Reported | Status::Escalated) {
                s.status = Status::Assessed;
            }
        }
        Action::Assign {
            to,
            chosen_by_parties,
            ..
        } => {
            s.assignee = Some(to.clone());
            s.chosen_by_parties = *chosen_by_parties;
            s.status = Status::Assigned;
        }
        Action::RecordSession { .. } => {
            s.sessions += 1;
            if s.status == Status::Assigned {
                s.status = Status::Mediating;
            }
        }
        Action::Resolve { agreement, .. } => {
            if s.status == Status::Reported {
                // On-the-spot mediation: the reporter handled it; the centre still sees it.
                s.difficulty.get_or_insert(Difficulty::Simple);
            }
            s.status = Status::Resolved;
            s.agreement = agreement.clone();
            s.judicial = None;
            s.handled_at = Some(at);
            s.resolved_at = Some(at);
        }
        Action::RequestJudicialConfirmation { .. } => s.judicial = Some(Judicial::Requested),
        Action::RecordJudicialConfirmation { granted, .. } => {
            s.judicial = Some(if *granted {
                Judicial::Granted
            } else {
                Judicial::Refused
            });
        }
        Action::Stabilise { .. } => {
            s.status = Status::Stabilised;
            s.handled_at = Some(at);
        }
        Action::Fail { .. } => {
            s.status = Status::Failed;
            s.failures += 1;
        }
        Action::Escalate { to, reason, .. } => {
            s.escalations.push(EscalationRecord {
                entry: entry.id.clone(),
                from: s.responsible_unit.clone(),
                to: to.clone(),
                reason: *reason,
                at,
            });
            s.responsible_unit = to.clone();
            s.units_involved.insert(to.clone());
            s.status = Status::Escalated;
            s.assignee = None;
            s.chosen_by_parties = false;
            s.clock_start = at;
            s.due_override = None;
            s.handled_at = None;
            s.resolved_at = None;
            s.assigned_down = None;
            s.supervision = None;
        }
        Action::AssignDown {
            to,
            person,
            instructions,
            due_at,
        } => {
            s.assigned_down = Some(AssignedDown {
                entry: entry.id.clone(),
                from: s.responsible_unit.clone(),
                to: to.clone(),
                instructions: instructions.clone(),
                due_at: *due_at,
                reported_back_at: None,
            });
            s.responsible_unit = to.clone();
            s.units_involved.insert(to.clone());
            s.assignee = person.clone();
            s.status = match (person, s.difficulty) {
                (Some(_), _) => Status::Assigned,
                (None, Some(_)) => Status::Assessed,
                (None, None) => Status::Reported,
            };
            s.clock_start = at;
            s.due_override = Some(*due_at);
            s.handled_at = None;
            s.supervision = None;
        }
        Action::ReportBack { .. } => {
            if let Some(down) = &mut s.assigned_down {
                down.reported_back_at = Some(at);
            }
        }
        Action::FollowUp {
            satisfaction,
            relapsed,
            ..
        } => s.follow_ups.push(FollowUpRecord {
            entry: entry.id.clone(),
            at,
            satisfaction: *satisfaction,
            relapsed: *relapsed,
        }),
        Action::Close { .. } => {
            s.status = Status::Closed;
            s.closed_at = Some(at);
            s.handled_at.get_or_insert(at);
        }
        Action::Reopen { .. } => {
            s.status = if s.difficulty.is_some() {
                Status::Assessed
            } else {
                Status::Reported
            };
            s.assignee = None;
            s.agreement = None;
            s.judicial = None;
            s.handled_at = None;
            s.resolved_at = None;
            s.closed_at = None;
            s.clock_start = at;
            s.due_override = None;
            s.supervision = None;
        }
        Action::SettleConflict { entries, .. } => {
            s.conflicts.retain(|c| !entries.contains(&c.entry));
        }
        Action::Edit { .. } => {}
        Action::EraseContacts { .. } => {
            s.contacts_erased_at.get_or_insert(at);
        }
        Action::LinkMatter { matter, .. } => s.matter = Some(matter.clone()),
        Action::UnlinkMatter { .. } => s.matter = None,
        Action::MarkDistinct { other, .. } => {
            s.distinct_from.insert(other.clone());
        }
        Action::AcknowledgeAlert {
            alert,
            level,
            words,
            note,
        } => s.alerts.push(AlertRecord {
            key: alert.clone(),
            level: *level,
            words: words.clone(),
            by: entry.actor.name.clone(),
            at,
            note: note.clone(),
        }),
        Action::Supervise {
            level,
            due_at,
            note,
        } => {
            s.supervision = Some(SupervisionRecord {
                entry: entry.id.clone(),
                level: *level,
                due_at: *due_at,
                unit: entry.actor.unit.clone(),
                person: entry.actor.person.clone(),
                by: entry.actor.name.clone(),
                at,
                note: note.clone(),
            });
            s.supervisions += 1;
            s.due_override = Some(*due_at);
        }
        Action::DispatchOrder { order } => match &mut s.order {
            Some(held) => {
                held.order = order.clone();
                held.dispatches += 1;
            }
            None => {
                s.order = Some(OrderRecord {
                    order: order.clone(),
                    dispatches: 1,
                    signed_at: None,
                    signed_by: None,
                    reply: None,
                    replied_at: None,
                    replied_by: None,
                    return_reason: None,
                    returned_at: None,
                    returned_by: None,
                })
            }
        },
        Action::SignOrder => {
            if let Some(o) = &mut s.order {
                o.signed_at = Some(at);
                o.signed_by = Some(entry.actor.name.clone());
            }
        }
        Action::ReplyOrder { reply } => {
            if let Some(o) = &mut s.order {
                o.reply = Some(reply.clone());
                o.replied_at = Some(at);
                o.replied_by = Some(entry.actor.name.clone());
            }
        }
        Action::ReturnOrder { reason } => {
            if let Some(o) = &mut s.order {
                o.return_reason = Some(reason.clone());
                o.returned_at = Some(at);
                o.returned_by = Some(entry.actor.name.clone());
            }
            s.status = Status::Returned;
        }
    }
    s.updated_at = s.updated_at.max(at);
    s
}

/// Where concurrent branches go in the fold: lower first. See the module documentation.
pub fn precedence(action: &Action) -> u8 {
    match action {
        Action::Report { .. } => 0,
        Action::Escalate { .. } => 1,
        Action::Reopen { .. } => 2,
        Action::AssignDown { .. } => 3,
        Action::Assess { .. } => 4,
        Action::Assign { .. } => 5,
        Action::RecordSession { .. }
        | Action::ReportBack { .. }
        | Action::FollowUp { .. }
        | Action::RequestJudicialConfirmation { .. }
        | Action::RecordJudicialConfirmation { .. }
        | Action::SettleConflict { .. }
        | Action::EraseContacts { .. }
        | Action::LinkMatter { .. }
        | Action::UnlinkMatter { .. }
        | Action::MarkDistinct { .. }
        | Action::AcknowledgeAlert { .. }
        | Action::Supervise { .. }
        | Action::DispatchOrder { .. }
        | Action::SignOrder
        | Action::ReplyOrder { .. }
        | Action::Edit { .. } => 6,
        Action::Fail { .. } => 7,
        Action::Stabilise { .. } => 8,
        Action::Resolve { .. } => 9,
        Action::Close { .. } => 10,
        Action::ReturnOrder { .. } => 11,
    }
}

/// Whether an action moves the case (changes who holds it or where it is in the loop), as
/// opposed to recording something that happened.
pub fn is_move(action: &Action) -> bool {
    !matches!(precedence(action), 0 | 6)
}

/// The result of folding a timeline.
#[derive(Clone, Debug, PartialEq)]
pub struct Folded {
    /// `None` only if the timeline has no report.
    pub state: Option<CaseState>,
    /// Indices into the timeline, in fold order.
    pub order: Vec<usize>,
    /// What happened to each entry, by timeline index.
    pub verdicts: Vec<Verdict>,
}

/// The order in which the fold replays a timeline: depth first over the tree of bases, branches
/// by [`precedence`], then time, then id.
pub fn fold_order(timeline: &[TimelineEntry]) -> Vec<usize> {
    let index: HashMap<&EntryId, usize> = timeline
        .iter()
        .enumerate()
        .map(|(i, e)| (&e.id, i))
        .collect();
    let mut children: BTreeMap<Option<usize>, Vec<usize>> = BTreeMap::new();
    for (i, e) in timeline.iter().enumerate() {
        // An unknown base cannot come from a well-formed history; such entries are roots.
        let parent = e
            .base
            .as_ref()
            .and_then(|b| index.get(b).copied())
            .filter(|p| *p != i);
        children.entry(parent).or_default().push(i);
    }
    let key = |i: &usize| {
        let e = &timeline[*i];
        (precedence(&e.action), e.at, e.id.clone())
    };
    for kids in children.values_mut() {
        kids.sort_by_key(key);
    }
    let mut order = Vec::with_capacity(timeline.len());
    let mut stack: Vec<usize> = children
        .get(&None)
        .map(|r| r.iter().rev().copied().collect())
        .unwrap_or_default();
    let mut seen = vec![false; timeline.len()];
    while let Some(i) = stack.pop() {
        if std::mem::replace(&mut seen[i], true) {
            continue;
        }
        order.push(i);
        if let Some(kids) = children.get(&Some(i)) {
            stack.extend(kids.iter().rev().copied());
        }
    }
    // Entries caught in a cycle of bases (not producible by honest replicas) go last, by key.
    let mut rest: Vec<usize> = (0..timeline.len()).filter(|i| !seen[*i]).collect();
    rest.sort_by_key(key);
    order.extend(rest);
    order
}

/// Replays a timeline into the case's state. See the module documentation for the rule.
pub fn fold(timeline: &[TimelineEntry]) -> Folded {
    let order = fold_order(timeline);
    let mut verdicts = vec![Verdict::Applied; timeline.len()];
    let mut position: HashMap<&EntryId, usize> = HashMap::new();
    let mut state: Option<CaseState> = None;
    for (k, &i) in order.iter().enumerate() {
        let entry = &timeline[i];
        // Entries between this entry's base and itself in fold order are concurrent with it.
        let from = entry
            .base
            .as_ref()
            .and_then(|b| position.get(b))
            .map_or(0, |p| p + 1);
        let concurrent_moves: Vec<EntryId> = order[from.min(k)..k]
            .iter()
            .filter(|&&j| is_move(&timeline[j].action) && verdicts[j] == Verdict::Applied)
            .map(|&j| timeline[j].id.clone())
            .collect();
        let concurrent_any = entry.base.is_some() && from < k;
        position.insert(&entry.id, k);
        match check(state.as_ref(), &entry.actor, &entry.action) {
            Ok(()) => {
                let mut next = apply(state.take(), entry);
                if is_move(&entry.action) && !concurrent_moves.is_empty() {
                    next.conflicts.push(Conflict {
                        entry: entry.id.clone(),
                        kind: ConflictKind::Overrode,
                        with: concurrent_moves,
                    });
                }
                next.last_entry = Some(entry.id.clone());
                state = Some(next);
            }
            Err(reason) => {
                verdicts[i] = Verdict::NotApplied(reason.clone());
                if let Some(s) = state.as_mut() {
                    let with = if concurrent_any {
                        order[from..k]
                            .iter()
                            .map(|&j| timeline[j].id.clone())
                            .collect()
                    } else {
                        Vec::new()
                    };
                    s.conflicts.push(Conflict {
                        entry: entry.id.clone(),
                        kind: ConflictKind::NotApplied { reason },
                        with,
                    });
                    s.last_entry = Some(entry.id.clone());
                    s.updated_at = s.updated_at.max(entry.at);
                }
            }
        }
    }
    Folded {
        state,
        order,
        verdicts,
    }
}

/// One step of the fold for an entry made on top of everything `state` holds (its `base` is
/// `state.last_entry`, or it is the report): checked as at creation, then applied. The fold of
/// the timeline with this entry gives the same state, so a replica checking a chain of entries
/// advances one entry at a time instead of folding again.
pub fn advance(state: Option<&CaseState>, entry: &TimelineEntry) -> Result<CaseState, Denied> {
    check(state, &entry.actor, &entry.action)?;
    let mut next = apply(state.cloned(), entry);
    next.last_entry = Some(entry.id.clone());
    Ok(next)
}

/// The kinds of step the case screen offers `actor` now: those [`may`] allows, except the
/// report and field edits (they have screens of their own), and settling only when there are
/// conflicts to settle.
pub fn offered(state: Option<&CaseState>, actor: &Actor) -> Vec<ActionKind> {
    ActionKind::ALL
        .into_iter()
        .filter(|&kind| match kind {
            // Screens of their own: the report form, field edits, the possible duplicates, the
            // matter and the alerts sections; and dispatching a work order, which only another
            // system does.
            ActionKind::Report
            | ActionKind::DispatchOrder
            | ActionKind::Edit
            | ActionKind::LinkMatter
            | ActionKind::MarkDistinct
            | ActionKind::AcknowledgeAlert => false,
            ActionKind::SettleConflict => state.is_some_and(|s| !s.conflicts.is_empty()),
            _ => true,
        })
        .filter(|&kind| may(state, actor, kind).is_ok())
        .collect()
}

#[cfg(test)]
mod tests;
