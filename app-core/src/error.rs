//! The core's one error type. Messages say what went wrong in terms a user or an operator can act
//! on; the HTTP and Tauri boundaries map variants to codes.

use crate::ids::{CaseId, HouseholdId, PersonId, UnitId};
use crate::workflow::Denied;

/// Everything that can go wrong in the core.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The workflow does not allow this action now.
    #[error("not allowed: {0}")]
    Denied(#[from] Denied),
    #[error("case {0} is not on this device")]
    UnknownCase(CaseId),
    #[error("household {0} is not on this device")]
    UnknownHousehold(HouseholdId),
    #[error("person {0} is not in the directory")]
    UnknownPerson(PersonId),
    #[error("unit {0} is not in the directory")]
    UnknownUnit(UnitId),
    #[error("{person} does not hold the role {role} in unit {unit}")]
    RoleNotHeld {
        person: PersonId,
        role: String,
        unit: UnitId,
    },
    #[error("category {0} is not in the taxonomy")]
    UnknownCategory(String),
    #[error("{field}: {problem}")]
    Invalid { field: String, problem: String },
    #[error("escalation goes to the next centre up, {expected}; {requested} is not it")]
    EscalationTarget { expected: UnitId, requested: UnitId },
    #[error("{unit} has no centre above it to escalate to")]
    NoHigherCentre { unit: UnitId },
    #[error("{to} is not one tier below {from}, so {from} cannot assign the case down to it")]
    NotBelow { from: UnitId, to: UnitId },
    #[error("document {id} is damaged and cannot be read ({reason}); other cases are unaffected")]
    CorruptDocument { id: String, reason: String },
    #[error("document {id}: changes arrived whose dependencies are not here (send the earlier changes first)")]
    MissingDependencies { id: String },
    #[error("document {id} does not have the expected shape: {reason}")]
    Shape { id: String, reason: String },
    #[error("the local database was written by a newer version of the app (schema {found}, this app knows up to {supported}); update the app")]
    SchemaTooNew { found: i64, supported: i64 },
    #[error("the database's {layer} tables were written by a newer version ({layer} schema {found}, this build knows up to {supported}); update this program")]
    LayerTooNew {
        layer: String,
        found: i64,
        supported: i64,
    },
    #[error("directory: {0}")]
    Directory(#[from] crate::org::DirectoryError),
    #[error("document operation failed: {0}")]
    Automerge(Box<automerge::AutomergeError>),
    #[error("document update failed: {0}")]
    Reconcile(Box<autosurgeon::ReconcileError>),
    /// The shared log a server's replica writes through (PostgreSQL) failed or refused.
    #[error("the shared database (the centre's log): {0}")]
    Log(String),
    /// A replica's file no longer matches the shared log it follows.
    #[error("replica: {0}")]
    Replica(String),
    #[cfg(feature = "store")]
    #[error("local database error: {0}")]
    Storage(#[from] rusqlite::Error),
    #[error("stored data could not be decoded: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the spreadsheet could not be written: {0}")]
    Spreadsheet(String),
    /// A printed document (PDF) could not be made: its font, or the writer.
    #[error("{0}")]
    Document(String),
}

/// A field's problem as the store and the server refuse it: the field, and the problem in both
/// languages (`必填 (required)`).
impl From<crate::validate::FieldProblem> for Error {
    fn from(p: crate::validate::FieldProblem) -> Error {
        Error::invalid(&p.field, format!("{} ({})", p.problem.zh(), p.problem.en()))
    }
}

impl Error {
    pub(crate) fn invalid(field: &str, problem: impl Into<String>) -> Error {
        Error::Invalid {
            field: field.to_owned(),
            problem: problem.into(),
        }
    }
}

impl Error {
    /// The protocol's code for this error when it refuses what a device sent.
    pub fn protocol_code(&self) -> crate::protocol::ErrorCode {
        use crate::protocol::ErrorCode as C;
        match self {
            Error::Denied(_)
            | Error::EscalationTarget { .. }
            | Error::NoHigherCentre { .. }
            | Error::NotBelow { .. } => C::WorkflowDenied,
            Error::RoleNotHeld { .. } | Error::UnknownPerson(_) => C::WrongAuthor,
            Error::UnknownCase(_)
            | Error::UnknownHousehold(_)
            | Error::MissingDependencies { .. } => C::UnknownDoc,
            Error::CorruptDocument { .. } => C::CorruptChange,
            Error::Invalid { .. }
            | Error::UnknownCategory(_)
            | Error::UnknownUnit(_)
            | Error::Shape { .. }
            | Error::Automerge(_)
            | Error::Reconcile(_)
            | Error::Json(_) => C::BadDocument,
            _ => C::Internal,
        }
    }

    /// The error in Chinese, for the interface (the `Display` text is the English one). Input
    /// problems already carry both languages.
    pub fn zh(&self) -> String {
        match self {
            Error::Denied(d) => format!("不允许：{}", d.zh()),
            Error::UnknownCase(id) => format!("本机没有案件 {id}"),
            Error::UnknownHousehold(id) => format!("本机没有农户 {id}"),
            Error::UnknownPerson(id) => format!("人员 {id} 不在名录中"),
            Error::UnknownUnit(id) => format!("单位 {id} 不在名录中"),
            Error::RoleNotHeld { person, role, unit } => {
                format!("{person} 在 {unit} 没有“{role}”身份")
            }
            Error::UnknownCategory(c) => format!("纠纷类型 {c} 不在分类目录中"),
            Error::Invalid { field, problem } => format!("{field}：{problem}"),
            Error::EscalationTarget {
                expected,
                requested,
            } => {
                format!("应上报至上一级中心 {expected}，而不是 {requested}")
            }
            Error::NoHigherCentre { unit } => format!("{unit} 没有可上报的上级中心"),
            Error::NotBelow { from, to } => format!("{to} 不是 {from} 的下一级单位，不能交办"),
            Error::CorruptDocument { id, reason } => {
                format!("文档 {id} 已损坏，无法读取（{reason}）；其他案件不受影响")
            }
            Error::MissingDependencies { id } => {
                format!("文档 {id} 缺少之前的修改，请先同步")
            }
            Error::Shape { id, reason } => format!("文档 {id} 格式不符：{reason}"),
            Error::SchemaTooNew { .. } => "本机数据由更新版本的应用写入，请更新应用".to_owned(),
            Error::LayerTooNew { layer, .. } => {
                format!("数据库中的 {layer} 数据表由更新版本的程序写入，请更新程序")
            }
            Error::Directory(e) => format!("名录有误：{e}"),
            Error::Automerge(_) | Error::Reconcile(_) | Error::Json(_) => {
                format!("本机数据处理失败：{self}")
            }
            Error::Log(e) => format!("中心共享数据库出错：{e}"),
            Error::Replica(e) => format!("本进程的数据副本与共享数据库不一致：{e}"),
            #[cfg(feature = "store")]
            Error::Storage(_) => format!("本机数据库出错：{self}"),
            Error::Spreadsheet(e) => format!("表格文件写入失败：{e}"),
            Error::Document(e) => format!("文书生成失败：{e}"),
        }
    }
}

// The document errors are boxed: they are rare and large, and every `Result` of the core carries
// the size of its error variant.
impl From<automerge::AutomergeError> for Error {
    fn from(e: automerge::AutomergeError) -> Error {
        Error::Automerge(Box::new(e))
    }
}

impl From<autosurgeon::ReconcileError> for Error {
    fn from(e: autosurgeon::ReconcileError) -> Error {
        Error::Reconcile(Box::new(e))
    }
}

/// Shorthand for results of the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;
