//! Errors the server answers with: a protocol code, a message a person can act on, and the
//! document concerned. Every refusal stores nothing.

use app_core::protocol::{ErrorBody, ErrorCode, ErrorDetail};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

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

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
                doc: self.doc,
            },
        };
        let mut resp = (status, axum::Json(body)).into_response();
        if matches!(self.code, ErrorCode::RateLimited | ErrorCode::Busy) {
            resp.headers_mut().insert(
                "retry-after",
                axum::http::HeaderValue::from(self.retry_after.unwrap_or(1)),
            );
        }
        resp
    }
}
