//! The case model: what a dispute case (矛盾纠纷案件) holds, as it is stored in its automerge
//! document.
//!
//! Two kinds of data live in a case:
//! - **fields** anyone working on the case may edit (narrative, address, parties, category,
//!   attachments). They merge as a CRDT: text character by character, registers last-writer-wins
//!   by automerge's rule, lists of parties and attachments by their ids.
//! - **the timeline**: an append-only list of [`TimelineEntry`]s, one per workflow step (report,
//!   assess, assign, session, resolve, escalate, follow-up, close…). The case's workflow state
//!   (status, difficulty, responsible unit, assignee, outcome) is never stored; it is folded from
//!   the timeline by [`crate::workflow::fold`], so no replica can hold a state its history does
//!   not explain, and every replica with the same entries computes the same state.
//!
//! Phones and ID numbers of parties are not here: they live in the case's small contacts document
//! ([`crate::document::ContactsDocument`]) so that they can be erased without rewriting history.

use crate::ids::{AttachmentId, CaseId, EntryId, MatterId, PartyId, PersonId, UnitId};
use crate::org::Role;
use crate::warning::Level;
use autosurgeon::{Hydrate, Reconcile, Text};
use serde::{Deserialize, Serialize};

/// The version of the document layout written by this code.
pub const CASE_SCHEMA: u64 = 1;
/// The version of the household document's shape.
pub const HOUSEHOLD_SCHEMA: u64 = 1;

/// How hard a case is (研判 result).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    Reconcile,
    Hydrate,
)]
pub enum Difficulty {
    /// 简单
    Simple,
    /// 一般
    General,
    /// 重大
    Major,
    /// 特大
    ExtraMajor,
}

impl Difficulty {
    pub const ALL: [Difficulty; 4] = [
        Difficulty::Simple,
        Difficulty::General,
        Difficulty::Major,
        Difficulty::ExtraMajor,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Difficulty::Simple => "simple",
            Difficulty::General => "general",
            Difficulty::Major => "major",
            Difficulty::ExtraMajor => "extra_major",
        }
    }

    pub fn from_code(code: &str) -> Option<Difficulty> {
        Difficulty::ALL.into_iter().find(|d| d.code() == code)
    }

    pub fn zh(self) -> &'static str {
        match self {
            Difficulty::Simple => "简单",
            Difficulty::General => "一般",
            Difficulty::Major => "重大",
            Difficulty::ExtraMajor => "特大",
        }
    }

    /// Major and extra-major cases need a centre leader's sign-off to close.
    pub fn needs_leader(self) -> bool {
        matches!(self, Difficulty::Major | Difficulty::ExtraMajor)
    }
}

/// Risk flags set at assessment.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    Reconcile,
    Hydrate,
)]
pub enum RiskFlag {
    /// 群体性事件风险
    GroupIncident,
    /// 信访积案: a long-standing petition case
    RepeatPetition,
    /// 重点人员: a key person is involved
    KeyPerson,
    /// 极端行为风险: risk of violence or self-harm
    Extreme,
}

impl RiskFlag {
    pub fn zh(self) -> &'static str {
        match self {
            RiskFlag::GroupIncident => "群体性事件风险",
            RiskFlag::RepeatPetition => "信访积案",
            RiskFlag::KeyPerson => "重点人员",
            RiskFlag::Extreme => "极端行为风险",
        }
    }
}

/// Where a case came from.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    Reconcile,
    Hydrate,
)]
pub enum Source {
    /// 网格员入户走访
    GridVisit,
    /// 群众来访 (walk-in at a centre)
    WalkIn,
    /// 12345 政务热线
    Hotline12345,
    /// 公安移交
    Police,
    /// 上级交办
    HigherAssignment,
    /// 其他
    Other,
}

impl Source {
    /// Every source, in the order the report form lists them.
    pub const ALL: [Source; 6] = [
        Source::GridVisit,
        Source::WalkIn,
        Source::Hotline12345,
        Source::Police,
        Source::HigherAssignment,
        Source::Other,
    ];

    /// A stable code for the source (`grid_visit`, `walk_in`, `hotline_12345`, `police`,
    /// `higher_assignment`, `other`): forms and other systems spell it so. Its serde form stays
    /// the variant's name, as autosurgeon writes it into a case's report.
    pub fn code(self) -> &'static str {
        match self {
            Source::GridVisit => "grid_visit",
            Source::WalkIn => "walk_in",
            Source::Hotline12345 => "hotline_12345",
            Source::Police => "police",
            Source::HigherAssignment => "higher_assignment",
            Source::Other => "other",
        }
    }

    /// The source of a code, if it is one.
    pub fn from_code(code: &str) -> Option<Source> {
        Source::ALL.into_iter().find(|s| s.code() == code)
    }

    /// Whether the principal of another system ([`Role::Intake`]) reports cases from this
    /// source: the 12345 hotline and the police (110 联动).
    pub fn is_intake(self) -> bool {
        matches!(self, Source::Hotline12345 | Source::Police)
    }

    pub fn zh(self) -> &'static str {
        match self {
            Source::GridVisit => "网格员排查",
            Source::WalkIn => "群众来访",
            Source::Hotline12345 => "12345热线",
            Source::Police => "公安移交",
            Source::HigherAssignment => "上级交办",
            Source::Other => "其他",
        }
    }
}

/// A party's position in the dispute.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    Reconcile,
    Hydrate,
)]
pub enum PartyRole {
    /// 申请人/反映人
    Applicant,
    /// 被申请人/对方当事人
    Respondent,
    /// 第三人
    ThirdParty,
}

impl PartyRole {
    pub fn zh(self) -> &'static str {
        match self {
            PartyRole::Applicant => "申请人",
            PartyRole::Respondent => "被申请人",
            PartyRole::ThirdParty => "第三人",
        }
    }
}

/// A party (当事人). Contact details are in the contacts document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Party {
    #[key]
    pub id: PartyId,
    pub name: String,
    pub role: PartyRole,
}

/// A GPS fix.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Gps {
    pub lat: f64,
    pub lon: f64,
}

/// Where the dispute happened.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Place {
    /// The smallest unit it happened in (usually a grid).
    pub unit: UnitId,
    /// The path from the root unit down to `unit`, for scope checks without the directory.
    pub unit_path: Vec<UnitId>,
    #[serde(with = "crate::materialise::text")]
    pub address: Text,
    pub gps: Option<Gps>,
}

/// The largest file a case takes as an attachment (8 MiB: a phone's photo is 2–5 MB, a scanned
/// agreement less).
pub const MAX_ATTACHMENT_BYTES: u64 = 8 << 20;

/// The file types a case takes as attachments: photos (JPEG, PNG, WebP, HEIC) and PDF scans.
pub const ATTACHMENT_TYPES: &[&str] = &[
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/heic",
    "application/pdf",
];

/// A photo, a scanned agreement or another file. Only metadata and the content hash live in the
/// document; the bytes are kept apart by content hash (the store's `blobs`) and travel by their
/// own requests (`PUT`/`GET /v1/cases/{id}/attachments/{sha256}`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Attachment {
    #[key]
    pub id: AttachmentId,
    pub name: String,
    pub mime: String,
    pub size: u64,
    /// Hex SHA-256 of the content.
    pub sha256: String,
    pub added_by: PersonId,
    pub added_at: i64,
}

/// Who did something: the person, in which role and unit. The device is not written here: it is
/// the automerge actor of the change that carries the entry, which a server checks against the
/// device's enrolment, so it cannot be claimed falsely.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Actor {
    pub person: PersonId,
    /// The person's name when they acted, so the timeline reads without the directory.
    pub name: String,
    pub role: Role,
    pub unit: UnitId,
}

/// What a case was assigned to (分流/交办 target).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Reconcile, Hydrate)]
pub enum Assignee {
    /// A mediator in person.
    Mediator { person: PersonId, name: String },
    /// A mediation committee (人民调解委员会): any mediator of that unit may act.
    Committee { unit: UnitId, name: String },
    /// A department: police, court, judicial office, labour bureau… (by name).
    Department { name: String },
    /// A joint team (联合调处): several mediators together.
    JointTeam {
        members: Vec<PersonId>,
        names: Vec<String>,
    },
}

impl Assignee {
    /// Whether `person` (working in `unit`, with `role`) is among the assignees.
    pub fn includes(&self, person: &PersonId, unit: &UnitId, role: Role) -> bool {
        match self {
            Assignee::Mediator { person: p, .. } => p == person,
            Assignee::Committee { unit: u, .. } => u == unit && role == Role::Mediator,
            Assignee::Department { .. } => false,
            Assignee::JointTeam { members, .. } => members.contains(person),
        }
    }

    /// A label for lists, e.g. the mediator's name.
    pub fn label(&self) -> String {
        match self {
            Assignee::Mediator { name, .. } => name.clone(),
            Assignee::Committee { name, .. } => name.clone(),
            Assignee::Department { name } => name.clone(),
            Assignee::JointTeam { names, .. } => names.join("、"),
        }
    }
}

/// Where a mediation session took place.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    Reconcile,
    Hydrate,
)]
pub enum SessionMode {
    /// 现场调解 (in the field, at the door, in the fields)
    OnSite,
    /// 调解室
    MediationRoom,
    /// 线上调解
    Online,
}

/// A written mediation agreement (调解协议书): the agreed terms, how and by when they are
/// performed, and, for one made on the spot (就地化解), each party's signature drawn on the
/// touchscreen. A scanned paper agreement is `attachment`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Agreement {
    /// The agreed terms, one per line.
    pub summary: String,
    pub attachment: Option<AttachmentId>,
    /// 履行方式、时限: how and by when the terms are performed. Empty in agreements written
    /// before it was asked for (their terms may say it in a line beginning 履行).
    #[serde(default)]
    #[autosurgeon(missing = "String::new")]
    pub performance: String,
    /// The parties' signatures, each an image the case lists as an attachment
    /// ([`crate::rules::check_agreement`]).
    #[serde(default)]
    #[autosurgeon(missing = "Vec::new")]
    pub signatures: Vec<Signature>,
}

/// A party's signature on an agreement: what they drew on the touchscreen, kept with the case
/// like a photo (an image attachment: hash-checked, synced, forwarded up the tiers).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Signature {
    pub party: PartyId,
    pub attachment: AttachmentId,
}

/// The file types a signature is kept in.
pub const SIGNATURE_TYPES: &[&str] = &["image/png", "image/jpeg", "image/webp"];

/// The largest signature image a device keeps (a drawn signature is a few kilobytes).
pub const MAX_SIGNATURE_BYTES: u64 = 512 * 1024;

/// Why a case goes up a tier (上报上级).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    Reconcile,
    Hydrate,
)]
pub enum EscalationReason {
    /// 调解不成: this tier could not resolve it.
    Unresolved,
    /// 当事人对调处结果不满意
    PartyDissatisfied,
    /// 涉及多部门
    CrossDepartment,
    /// 跨区域
    CrossRegion,
    /// 重大疑难
    MajorDifficulty,
}

impl EscalationReason {
    pub fn zh(self) -> &'static str {
        match self {
            EscalationReason::Unresolved => "本级调解不成",
            EscalationReason::PartyDissatisfied => "当事人对调处结果不满意",
            EscalationReason::CrossDepartment => "涉及多部门",
            EscalationReason::CrossRegion => "跨区域",
            EscalationReason::MajorDifficulty => "重大疑难",
        }
    }
}

/// How a follow-up (回访) was made.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    Reconcile,
    Hydrate,
)]
pub enum FollowUpMethod {
    /// 电话回访
    Phone,
    /// 入户回访
    Visit,
}

/// The parties' satisfaction recorded at follow-up (满意度).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    Reconcile,
    Hydrate,
)]
pub enum Satisfaction {
    /// 满意
    Satisfied,
    /// 基本满意
    Basically,
    /// 不满意
    Dissatisfied,
}

impl Satisfaction {
    pub fn zh(self) -> &'static str {
        match self {
            Satisfaction::Satisfied => "满意",
            Satisfaction::Basically => "基本满意",
            Satisfaction::Dissatisfied => "不满意",
        }
    }

    /// Counted as satisfied in 回访满意率 (满意 and 基本满意).
    pub fn counts_as_satisfied(self) -> bool {
        !matches!(self, Satisfaction::Dissatisfied)
    }
}

/// How firmly a case is supervised (督办级别), from the least to the most: a notice, a case a
/// leader follows, a case posted on the centre's list until it is concluded. Its serde form is
/// the variant's name (`Listed`), as autosurgeon writes it into a case's timeline; forms and
/// lists spell it [`SuperviseLevel::code`].
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    Reconcile,
    Hydrate,
)]
pub enum SuperviseLevel {
    /// 一般督办: a notice to handle the case by the new deadline.
    General,
    /// 重点督办: a priority case, which a leader follows until it is handled.
    Priority,
    /// 挂牌督办: the case is posted on the centre's supervision list (挂牌) until it is concluded.
    Listed,
}

impl SuperviseLevel {
    /// Every level, the least first.
    pub const ALL: [SuperviseLevel; 3] = [
        SuperviseLevel::General,
        SuperviseLevel::Priority,
        SuperviseLevel::Listed,
    ];

    /// A stable code for the level (`general`, `priority`, `listed`).
    pub fn code(self) -> &'static str {
        match self {
            SuperviseLevel::General => "general",
            SuperviseLevel::Priority => "priority",
            SuperviseLevel::Listed => "listed",
        }
    }

    /// The level of a code, if it is one.
    pub fn from_code(code: &str) -> Option<SuperviseLevel> {
        SuperviseLevel::ALL.into_iter().find(|l| l.code() == code)
    }

    /// The level's name in Chinese.
    pub fn zh(self) -> &'static str {
        match self {
            SuperviseLevel::General => "一般督办",
            SuperviseLevel::Priority => "重点督办",
            SuperviseLevel::Listed => "挂牌督办",
        }
    }
}

/// What a caller asked the 12345 hotline for (工单类型). Its serde form is the variant's name
/// (`Complaint`), as autosurgeon writes it into a case's timeline; other systems and lists spell
/// it [`OrderKind::code`].
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    Reconcile,
    Hydrate,
)]
pub enum OrderKind {
    /// 咨询: a question to answer.
    Consultation,
    /// 求助: a request for help.
    Help,
    /// 投诉举报: a complaint or a report of wrongdoing.
    Complaint,
    /// 意见建议: an opinion or a suggestion.
    Suggestion,
}

impl OrderKind {
    /// Every kind, in the hotline's order.
    pub const ALL: [OrderKind; 4] = [
        OrderKind::Consultation,
        OrderKind::Help,
        OrderKind::Complaint,
        OrderKind::Suggestion,
    ];

    /// A stable code for the kind (`consultation`, `help`, `complaint`, `suggestion`).
    pub fn code(self) -> &'static str {
        match self {
            OrderKind::Consultation => "consultation",
            OrderKind::Help => "help",
            OrderKind::Complaint => "complaint",
            OrderKind::Suggestion => "suggestion",
        }
    }

    /// The kind of a code, if it is one.
    pub fn from_code(code: &str) -> Option<OrderKind> {
        OrderKind::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The kind's name in Chinese, as the hotline writes it.
    pub fn zh(self) -> &'static str {
        match self {
            OrderKind::Consultation => "咨询",
            OrderKind::Help => "求助",
            OrderKind::Complaint => "投诉举报",
            OrderKind::Suggestion => "意见建议",
        }
    }
}

/// A work order (工单) of the 12345 government hotline (or of police linkage) as the platform
/// dispatched it to the centre: its number on the platform, the channel, what the caller asked
/// for, and the platform's two deadlines. Times are UTC milliseconds; a deadline is met by
/// acting at or before it.
///
/// Nothing about the caller is here. `confidential` is the caller's request for secrecy (保密):
/// then the caller is not a party of the case and no name, phone or address of theirs is
/// written anywhere in it (whoever creates the case from the order adds the caller as a party
/// only when the order is not confidential), and the centre's reply goes to the platform, not
/// to the caller.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct WorkOrder {
    /// The platform's number of the order (工单号): 1 to 40 letters, digits or `-`.
    pub number: String,
    /// The channel it came through, e.g. `12345`, `110`.
    pub channel: String,
    pub kind: OrderKind,
    /// The caller asked that who they are stay secret (保密).
    pub confidential: bool,
    /// When the platform dispatched it (派单时间).
    pub dispatched_at: i64,
    /// When it must be signed for (签收期限).
    pub sign_by: i64,
    /// When the platform must have the centre's reply (答复期限).
    pub reply_by: i64,
}

/// A workflow step: one entry of the closed loop (查→研→交→办→督→结).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub enum Action {
    /// 上报/受理: the case is created and received by `centre`.
    Report { centre: UnitId, source: Source },
    /// 研判: difficulty and risk flags.
    Assess {
        difficulty: Difficulty,
        risks: Vec<RiskFlag>,
        note: String,
    },
    /// 分流: to a mediator, committee, department or joint team. `chosen_by_parties` marks the
    /// parties' joint choice from the roster (点单式调解).
    Assign {
        to: Assignee,
        chosen_by_parties: bool,
        note: String,
    },
    /// 调处: a mediation session.
    RecordSession { mode: SessionMode, note: String },
    /// 调解成功, with or without a written agreement.
    Resolve {
        agreement: Option<Agreement>,
        note: String,
    },
    /// 申请司法确认 of the agreement.
    RequestJudicialConfirmation { court: String },
    /// The court's answer to a judicial confirmation request.
    RecordJudicialConfirmation { granted: bool, note: String },
    /// 稳控: not resolved, but under control.
    Stabilise { note: String },
    /// 调解失败: this tier's mediation failed.
    Fail { note: String },
    /// 上报上级: the case goes to the centre `to` of a higher tier.
    Escalate {
        to: UnitId,
        reason: EscalationReason,
        note: String,
    },
    /// 交办: a higher centre assigns the case down to `to`, with instructions and a deadline;
    /// optionally straight to a person there.
    AssignDown {
        to: UnitId,
        person: Option<Assignee>,
        instructions: String,
        due_at: i64,
    },
    /// 反馈: the lower tier reports back to the centre that assigned the case down.
    ReportBack { note: String },
    /// 回访: follow-up with the parties.
    FollowUp {
        method: FollowUpMethod,
        satisfaction: Satisfaction,
        relapsed: bool,
        note: String,
    },
    /// 办结: concluded and archived.
    Close { note: String },
    /// 重新启动: the dispute came back (化纠纷、查根源、防反复).
    Reopen { reason: String },
    /// Staff have looked at flagged concurrent moves and settled them.
    SettleConflict { entries: Vec<EntryId>, note: String },
    /// Fields of the case were edited (the edit itself is in the document's fields).
    Edit { fields: Vec<String> },
    /// 删除当事人联系方式: centre staff erase the parties' phones and ID numbers (a person's
    /// request, a retention rule). Every replica then drops the case's contacts document and
    /// refuses it from then on; the case's own history is untouched.
    EraseContacts { reason: String },
    /// 关联为同一事项: staff link the case into a matter with others (one group complaint
    /// reported from several villages, the same dispute reported twice). Each case of the
    /// matter records its own link; the case leaves any matter it was in.
    LinkMatter { matter: MatterId, note: String },
    /// 取消关联: staff take the case out of its matter.
    UnlinkMatter { matter: MatterId, note: String },
    /// 判定非重复: staff looked at a possible duplicate (可能重复上报) and decided `other` is a
    /// different matter; the warning is not shown again for the pair.
    MarkDistinct { other: CaseId, note: String },
    /// 预警签收: staff acknowledge an early-warning alert concerning the case, with what they
    /// did about it. `alert` is the alert's key; its level and words are kept as shown.
    AcknowledgeAlert {
        alert: String,
        level: Level,
        words: String,
        note: String,
    },
    /// 督办: the responsible centre, or a centre above it that the case was escalated to, presses
    /// for the case to be handled: a level, a new deadline (`due_at`, UTC milliseconds, the
    /// first late instant) that becomes the case's deadline, and what is expected.
    Supervise {
        level: SuperviseLevel,
        due_at: i64,
        note: String,
    },
    /// 派单: the 12345 platform (or police linkage), as [`Role::Intake`], hands the case's work
    /// order to the centre: right after the report that created the case, and again whenever
    /// the platform dispatches the same order again (重派), with its new kind and deadlines.
    DispatchOrder { order: WorkOrder },
    /// 签收: the responsible centre's staff or leader sign for the work order (once).
    SignOrder,
    /// 答复: the responsible centre's reply to the platform, after signing; it may be given
    /// again, and the latest reply is the order's.
    ReplyOrder { reply: String },
    /// 退单: the responsible centre returns the work order to the platform as not its own,
    /// before any reply, saying why. The case ends there ([`crate::workflow::Status::Returned`]).
    ReturnOrder { reason: String },
}

/// The kind of a workflow step, without its payload: what the screens offer, what the rules
/// are written against, and the stable code lists, logs and error messages use. Its serde form
/// is the code (`"assign_down"`), so it crosses the app's bridge as before.
///
/// Adding an action: a variant of [`Action`] and of this enum, its rules in
/// [`crate::workflow::may`] and its words; every `match` on it then points at what is left.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    Report,
    Assess,
    Assign,
    RecordSession,
    Resolve,
    RequestJudicialConfirmation,
    RecordJudicialConfirmation,
    Stabilise,
    Fail,
    Escalate,
    AssignDown,
    ReportBack,
    FollowUp,
    Close,
    Reopen,
    SettleConflict,
    Edit,
    EraseContacts,
    LinkMatter,
    UnlinkMatter,
    MarkDistinct,
    AcknowledgeAlert,
    Supervise,
    DispatchOrder,
    SignOrder,
    ReplyOrder,
    ReturnOrder,
}

impl ActionKind {
    /// Every kind, in the order the case screen offers them.
    pub const ALL: [ActionKind; 27] = [
        ActionKind::Report,
        ActionKind::Assess,
        ActionKind::Assign,
        ActionKind::RecordSession,
        ActionKind::Resolve,
        ActionKind::RequestJudicialConfirmation,
        ActionKind::RecordJudicialConfirmation,
        ActionKind::Stabilise,
        ActionKind::Fail,
        ActionKind::Escalate,
        ActionKind::AssignDown,
        ActionKind::ReportBack,
        ActionKind::FollowUp,
        ActionKind::Close,
        ActionKind::Reopen,
        ActionKind::SettleConflict,
        ActionKind::Edit,
        ActionKind::EraseContacts,
        ActionKind::LinkMatter,
        ActionKind::UnlinkMatter,
        ActionKind::MarkDistinct,
        ActionKind::AcknowledgeAlert,
        ActionKind::Supervise,
        ActionKind::DispatchOrder,
        ActionKind::SignOrder,
        ActionKind::ReplyOrder,
        ActionKind::ReturnOrder,
    ];

    /// A stable code for the kind (for lists, logs and error messages); its serde form.
    pub fn code(self) -> &'static str {
        match self {
            ActionKind::Report => "report",
            ActionKind::Assess => "assess",
            ActionKind::Assign => "assign",
            ActionKind::RecordSession => "record_session",
            ActionKind::Resolve => "resolve",
            ActionKind::RequestJudicialConfirmation => "request_judicial_confirmation",
            ActionKind::RecordJudicialConfirmation => "record_judicial_confirmation",
            ActionKind::Stabilise => "stabilise",
            ActionKind::Fail => "fail",
            ActionKind::Escalate => "escalate",
            ActionKind::AssignDown => "assign_down",
            ActionKind::ReportBack => "report_back",
            ActionKind::FollowUp => "follow_up",
            ActionKind::Close => "close",
            ActionKind::Reopen => "reopen",
            ActionKind::SettleConflict => "settle_conflict",
            ActionKind::Edit => "edit",
            ActionKind::EraseContacts => "erase_contacts",
            ActionKind::LinkMatter => "link_matter",
            ActionKind::UnlinkMatter => "unlink_matter",
            ActionKind::MarkDistinct => "mark_distinct",
            ActionKind::AcknowledgeAlert => "acknowledge_alert",
            ActionKind::Supervise => "supervise",
            ActionKind::DispatchOrder => "dispatch_order",
            ActionKind::SignOrder => "sign_order",
            ActionKind::ReplyOrder => "reply_order",
            ActionKind::ReturnOrder => "return_order",
        }
    }

    /// The kind with this [`ActionKind::code`].
    pub fn from_code(code: &str) -> Option<ActionKind> {
        ActionKind::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The Chinese name of the step, as the timeline shows it.
    pub fn zh(self) -> &'static str {
        match self {
            ActionKind::Report => "上报受理",
            ActionKind::Assess => "研判",
            ActionKind::Assign => "分流",
            ActionKind::RecordSession => "调处",
            ActionKind::Resolve => "调解成功",
            ActionKind::RequestJudicialConfirmation => "申请司法确认",
            ActionKind::RecordJudicialConfirmation => "司法确认结果",
            ActionKind::Stabilise => "稳控",
            ActionKind::Fail => "调解失败",
            ActionKind::Escalate => "上报上级",
            ActionKind::AssignDown => "交办",
            ActionKind::ReportBack => "反馈",
            ActionKind::FollowUp => "回访",
            ActionKind::Close => "办结",
            ActionKind::Reopen => "重新启动",
            ActionKind::SettleConflict => "处理冲突",
            ActionKind::Edit => "修改",
            ActionKind::EraseContacts => "删除联系方式",
            ActionKind::LinkMatter => "关联为同一事项",
            ActionKind::UnlinkMatter => "取消关联",
            ActionKind::MarkDistinct => "判定非重复",
            ActionKind::AcknowledgeAlert => "预警签收",
            ActionKind::Supervise => "督办",
            ActionKind::DispatchOrder => "派单",
            ActionKind::SignOrder => "签收工单",
            ActionKind::ReplyOrder => "答复工单",
            ActionKind::ReturnOrder => "退单",
        }
    }

    /// Whether the step is meaningless without its words: what happened in the session, why
    /// mediation failed, what was reported back, the instructions of an assignment down, why
    /// contacts were erased or a case reopened, what a supervision (督办) expects, the reply to
    /// a work order and why it is returned (退单). The store and the server refuse such a step
    /// with its text empty ([`crate::validate::action`]); the forms mark the field required.
    pub fn note_required(self) -> bool {
        match self {
            ActionKind::RecordSession
            | ActionKind::Stabilise
            | ActionKind::Fail
            | ActionKind::ReportBack
            | ActionKind::AssignDown
            | ActionKind::SettleConflict
            | ActionKind::EraseContacts
            | ActionKind::UnlinkMatter
            | ActionKind::AcknowledgeAlert
            | ActionKind::Supervise
            | ActionKind::ReplyOrder
            | ActionKind::ReturnOrder
            | ActionKind::Reopen => true,
            ActionKind::Report
            | ActionKind::Assess
            | ActionKind::Assign
            | ActionKind::Resolve
            | ActionKind::RequestJudicialConfirmation
            | ActionKind::RecordJudicialConfirmation
            | ActionKind::Escalate
            | ActionKind::FollowUp
            | ActionKind::Close
            | ActionKind::LinkMatter
            | ActionKind::MarkDistinct
            | ActionKind::DispatchOrder
            | ActionKind::SignOrder
            | ActionKind::Edit => false,
        }
    }
}

impl Action {
    /// The kind of this step.
    pub fn kind(&self) -> ActionKind {
        match self {
            Action::Report { .. } => ActionKind::Report,
            Action::Assess { .. } => ActionKind::Assess,
            Action::Assign { .. } => ActionKind::Assign,
            Action::RecordSession { .. } => ActionKind::RecordSession,
            Action::Resolve { .. } => ActionKind::Resolve,
            Action::RequestJudicialConfirmation { .. } => ActionKind::RequestJudicialConfirmation,
            Action::RecordJudicialConfirmation { .. } => ActionKind::RecordJudicialConfirmation,
            Action::Stabilise { .. } => ActionKind::Stabilise,
            Action::Fail { .. } => ActionKind::Fail,
            Action::Escalate { .. } => ActionKind::Escalate,
            Action::AssignDown { .. } => ActionKind::AssignDown,
            Action::ReportBack { .. } => ActionKind::ReportBack,
            Action::FollowUp { .. } => ActionKind::FollowUp,
            Action::Close { .. } => ActionKind::Close,
            Action::Reopen { .. } => ActionKind::Reopen,
            Action::SettleConflict { .. } => ActionKind::SettleConflict,
            Action::Edit { .. } => ActionKind::Edit,
            Action::EraseContacts { .. } => ActionKind::EraseContacts,
            Action::LinkMatter { .. } => ActionKind::LinkMatter,
            Action::UnlinkMatter { .. } => ActionKind::UnlinkMatter,
            Action::MarkDistinct { .. } => ActionKind::MarkDistinct,
            Action::AcknowledgeAlert { .. } => ActionKind::AcknowledgeAlert,
            Action::Supervise { .. } => ActionKind::Supervise,
            Action::DispatchOrder { .. } => ActionKind::DispatchOrder,
            Action::SignOrder => ActionKind::SignOrder,
            Action::ReplyOrder { .. } => ActionKind::ReplyOrder,
            Action::ReturnOrder { .. } => ActionKind::ReturnOrder,
        }
    }

    /// A stable code for the kind of action (for lists, logs and error messages).
    pub fn code(&self) -> &'static str {
        self.kind().code()
    }

    /// The Chinese name of the step, as the timeline shows it.
    pub fn zh(&self) -> &'static str {
        self.kind().zh()
    }

    /// The step's words, as the person wrote them, with the name of their field: the note, the
    /// instructions of an assignment down, the reason of a reopening, an erasure or a returned
    /// work order, the reply to a work order (`None`: the step has no such words).
    pub fn text(&self) -> Option<(&'static str, &str)> {
        match self {
            Action::Assess { note, .. }
            | Action::Assign { note, .. }
            | Action::RecordSession { note, .. }
            | Action::Resolve { note, .. }
            | Action::RecordJudicialConfirmation { note, .. }
            | Action::Stabilise { note }
            | Action::Fail { note }
            | Action::Escalate { note, .. }
            | Action::ReportBack { note }
            | Action::FollowUp { note, .. }
            | Action::Close { note }
            | Action::SettleConflict { note, .. }
            | Action::LinkMatter { note, .. }
            | Action::UnlinkMatter { note, .. }
            | Action::MarkDistinct { note, .. }
            | Action::AcknowledgeAlert { note, .. }
            | Action::Supervise { note, .. } => Some(("note", note)),
            Action::AssignDown { instructions, .. } => Some(("instructions", instructions)),
            Action::Reopen { reason }
            | Action::EraseContacts { reason }
            | Action::ReturnOrder { reason } => Some(("reason", reason)),
            Action::ReplyOrder { reply } => Some(("reply", reply)),
            Action::Report { .. }
            | Action::RequestJudicialConfirmation { .. }
            | Action::DispatchOrder { .. }
            | Action::SignOrder
            | Action::Edit { .. } => None,
        }
    }
}

/// One step of a case's history: who did what, when, from which device.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct TimelineEntry {
    pub id: EntryId,
    /// The entry that was last in this author's timeline when they acted (their view of the
    /// case). Entries that share a base were made concurrently; see [`crate::workflow`].
    pub base: Option<EntryId>,
    /// Wall-clock time on the device, UTC milliseconds.
    pub at: i64,
    pub actor: Actor,
    pub action: Action,
}

/// The whole case document as autosurgeon maps it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct CaseDocument {
    pub schema: u64,
    pub id: CaseId,
    pub created_at: i64,
    /// A short title (案由), e.g. 宅基地边界纠纷.
    #[serde(with = "crate::materialise::text")]
    pub title: Text,
    pub category: String,
    #[serde(with = "crate::materialise::text")]
    pub narrative: Text,
    pub place: Place,
    pub parties: Vec<Party>,
    pub attachments: Vec<Attachment>,
    pub timeline: Vec<TimelineEntry>,
}

/// What a reporter fills in to create a case.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewCase {
    pub title: String,
    pub category: String,
    pub narrative: String,
    /// Where it happened (usually the reporter's grid).
    pub place_unit: UnitId,
    pub address: String,
    pub gps: Option<(f64, f64)>,
    pub parties: Vec<NewParty>,
    pub source: Source,
}

/// A party as entered on the report form, contact details included.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewParty {
    pub name: String,
    pub role: PartyRole,
    pub phone: Option<String>,
    pub id_number: Option<String>,
}
