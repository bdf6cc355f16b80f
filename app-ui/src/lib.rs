//! The Yew user interface (compiled to wasm with trunk). It talks to the core only through one
//! typed bridge; it shares the core's domain types (built without the SQLite store) so that it
//! never re-implements a rule.
//!
//! The screens come with the app issue; for now the crate exposes the labels the workflow gives,
//! which the screens will use.

pub use app_core::workflow::Status;

/// The Chinese label of every status, in the order the case list shows them.
pub fn status_labels() -> Vec<(&'static str, &'static str)> {
    Status::ALL.iter().map(|s| (s.code(), s.zh())).collect()
}
