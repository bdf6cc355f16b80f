//! The Yew user interface (compiled to wasm with trunk). It talks to the core only through one
//! typed bridge; it shares the core's domain types (built without the SQLite store) so that it
//! never re-implements a rule.
//!
//! So far: [`i18n`] (every text in Chinese and English), [`forms`] (form state and validation
//! as you type, with the core's rules), [`bridge`] (typed Tauri commands) and [`app`] (the shell
//! with the enrol and report screens). The other screens come with the app issue.

pub mod app;
pub mod bridge;
pub mod forms;
pub mod i18n;

pub use app_core::workflow::Status;

/// The Chinese label of every status, in the order the case list shows them.
pub fn status_labels() -> Vec<(&'static str, &'static str)> {
    Status::ALL.iter().map(|s| (s.code(), s.zh())).collect()
}
