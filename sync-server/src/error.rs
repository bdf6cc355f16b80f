//! The server's errors, in one enum: [`Error`]. A request the protocol refuses is an
//! [`ApiError`] (a protocol code, a message a person can act on, the document concerned; every
//! refusal stores nothing), carried by [`Error::Refused`]; everything else names what failed
//! (the database, a file, the parent server, the configuration). `Error`'s [`IntoResponse`] is
//! the one place errors become HTTP answers: a refusal with its code's status, anything else
//! `500 internal`, its detail logged and not sent. The admin commands print an `Error`'s
//! message as it is.

use app_core::ids::{PersonId, UnitId};
use app_core::protocol::{ErrorBody, ErrorCode, ErrorDetail};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::path::PathBuf;

/// What went wrong, for every function of the server's library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A request the protocol refuses (bad input, no credential, out of scope, busy…).
    #[error("{}", .0.message)]
    Refused(ApiError),
    #[error(transparent)]
    Database(#[from] rusqlite::Error),
    /// The centre's PostgreSQL database (the engine of several processes) failed or refused.
    #[error("the centre's PostgreSQL database, {0}")]
    Postgres(String),
    /// The core (store, documents) refused or failed.
    #[error(transparent)]
    Core(#[from] app_core::Error),
    /// A directory that is not a well-formed tree (an import that would break it).
    #[error(transparent)]
    Directory(#[from] app_core::org::DirectoryError),
    /// A file or directory could not be read, written or created.
    #[error("cannot {action} {}: {error}", path.display())]
    File {
        action: &'static str,
        path: PathBuf,
        error: std::io::Error,
    },
    /// `server.key` is there but holds no key.
    #[error("{} is not a server key (64 hexadecimal digits); restore it from the backup of this data directory", path.display())]
    BadServerKey { path: PathBuf },
    /// The configuration file does not parse.
    #[error("{} is not a valid configuration: {error}", path.display())]
    BadConfig {
        path: PathBuf,
        error: toml::de::Error,
    },
    /// An environment variable's value is not what it should be.
    #[error("{name}={value} is not {expected}: {problem}")]
    BadSetting {
        name: &'static str,
        value: String,
        expected: &'static str,
        problem: String,
    },
    /// A CSV file of an import: `at` says where (`<file> line <n>` or `line <n>`).
    #[error("{at}: {problem}")]
    BadImport { at: String, problem: String },
    #[error("unit {0} is not in the directory; import units first")]
    UnknownUnit(UnitId),
    #[error("person {0} is not in the directory; import people first")]
    UnknownPerson(PersonId),
    /// The unit the configuration says this server serves is not in its directory.
    #[error("the unit {0} is not in this server's directory; import units and people first, or set `unit`")]
    UnitNotServed(UnitId),
    #[error("no device {0} that is not already revoked")]
    NoActiveDevice(String),
    /// An admin command's argument is out of its range.
    #[error("{0}")]
    BadArgument(String),
    /// The parent server could not be reached, or refused, or answered what is not the
    /// protocol (the message as the log and `/healthz` show it).
    #[error("{0}")]
    Parent(String),
    /// The parent server, reached as a sync client reaches its server.
    #[error("the parent server: {0}")]
    Upstream(#[from] app_core::client::SyncError),
    #[error("cannot listen on {addr}: {error}")]
    Listen {
        addr: SocketAddr,
        error: std::io::Error,
    },
    #[error("cannot read the TLS certificate {} or key {}: {error}", cert.display(), key.display())]
    Tls {
        cert: PathBuf,
        key: PathBuf,
        error: std::io::Error,
    },
    /// Serving stopped on an error of the listener.
    #[error("serving stopped: {0}")]
    Serve(std::io::Error),
    /// A task on the blocking pool panicked or was cancelled.
    #[error("a task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// `sync-server demo` in a build without the `demo` feature.
    #[error("this sync-server was built without demo data; build it with `cargo build -p sync-server --features demo`, or set up a centre with `init`, `import-units` and `import-people`")]
    NoDemo,
}

/// The library's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Error {
        Error::Refused(e)
    }
}

/// Forwarding's messages (what the parent answered, or why it could not be reached).
impl From<String> for Error {
    fn from(message: String) -> Error {
        Error::Parent(message)
    }
}

impl Error {
    /// The protocol refusal this error is answered with: a refusal as it is, anything else
    /// logged and answered `internal`.
    pub fn refusal(self) -> ApiError {
        match self {
            Error::Refused(e) => e,
            other => ApiError::internal(other),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let e = self.refusal();
        let status =
            StatusCode::from_u16(e.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let retry_after = e.retry_after;
        let code = e.code;
        let body = ErrorBody {
            error: ErrorDetail {
                code: e.code,
                message: e.message,
                doc: e.doc,
            },
        };
        let mut resp = (status, axum::Json(body)).into_response();
        if matches!(code, ErrorCode::RateLimited | ErrorCode::Busy) {
            resp.headers_mut().insert(
                "retry-after",
                axum::http::HeaderValue::from(retry_after.unwrap_or(1)),
            );
        }
        resp
    }
}

/// A request refused under the protocol: its code, a message a person can act on, and the
/// document concerned.

#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub doc: Option<String>,
    /// For `rate_limited` and `busy`: the seconds to wait (`Retry-After`; 1 if not set).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
            doc: None,
            retry_after: None,
        }
    }

    /// Says how many seconds to wait before trying again.
    pub fn retry_after(mut self, seconds: u64) -> ApiError {
        self.retry_after = Some(seconds.max(1));
        self
    }

    pub fn on(mut self, doc: &str) -> ApiError {
        self.doc = Some(doc.to_owned());
        self
    }

    pub fn internal(e: impl std::fmt::Display) -> ApiError {
        tracing::error!(
            error = %crate::terminal::escape(&e.to_string()),
            "internal error"
        );
        ApiError::new(
            ErrorCode::Internal,
            "the server could not complete the request; nothing was stored; try again later",
        )
    }

    /// Maps a core error met while merging a device's upload.
    pub fn from_core(e: app_core::Error, doc: &str) -> ApiError {
        use app_core::Error as E;
        if let E::CorruptDocument { reason, .. } = &e {
            return ApiError::new(
                ErrorCode::CorruptChange,
                format!("{doc}: the uploaded bytes are not automerge changes ({reason}); nothing was stored"),
            )
            .on(doc);
        }
        let code = match &e {
            E::CorruptDocument { .. } => ErrorCode::CorruptChange,
            E::MissingDependencies { .. } => ErrorCode::UnknownDoc,
            E::Shape { .. } | E::Automerge(_) | E::Reconcile(_) | E::Json(_) => {
                ErrorCode::BadDocument
            }
            E::Denied(_)
            | E::EscalationTarget { .. }
            | E::NoHigherCentre { .. }
            | E::NotBelow { .. } => ErrorCode::WorkflowDenied,
            E::RoleNotHeld { .. } | E::UnknownPerson(_) => ErrorCode::WrongAuthor,
            E::UnknownCase(_) | E::UnknownHousehold(_) => ErrorCode::UnknownDoc,
            E::Invalid { .. } | E::UnknownCategory(_) | E::UnknownUnit(_) => ErrorCode::BadDocument,
            _ => return ApiError::internal(e).on(doc),
        };
        ApiError::new(code, e.to_string()).on(doc)
    }
}

/// A database failure is the server's own: logged, answered `internal`.
impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> ApiError {
        ApiError::internal(e)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}: {}", self.code, self.message)
    }
}

impl std::error::Error for ApiError {}
