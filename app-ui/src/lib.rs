//! The Yew user interface (compiled to wasm with trunk). It talks to the core only through one
//! typed bridge; it shares the core's domain types (built without the SQLite store) so that it
//! never re-implements a rule.
//!
//! - [`app`]: the shell (language, routes, header with the sync line, bottom tab bar);
//! - [`pages`]: one module per screen;
//! - [`widgets`]: what several screens share (loading, errors, links, case and household rows);
//! - [`bridge`]: the only place that calls the Tauri shell, one function per command;
//! - [`signature_pad`]: where a party signs an agreement with a finger;
//! - pure logic, tested natively: [`i18n`] (every text in Chinese and English), [`labels`]
//!   (names of the core's enumerations), [`forms`] (the report form, validated as you type with
//!   the core's rules), [`actions`] (workflow-step forms → actions), [`charts`] (figures → bars),
//!   [`sync_line`] (the header's sync line), [`time`] (China Standard Time, periods),
//!   [`prevention`] (possible duplicates, matters and early-warning alerts: what they say and
//!   which buttons they offer), [`orders`] (the 12345 hotline's work orders: what the timeline
//!   and the case screen say of them), [`desk`] (the centre's desk: the ledger table's sorting and
//!   the exports' names).

pub mod actions;
pub mod app;
pub mod bridge;
pub mod charts;
pub mod desk;
pub mod forms;
pub mod i18n;
pub mod labels;
pub mod orders;
pub mod pages;
pub mod prevention;
pub mod signature_pad;
pub mod sync_line;
pub mod time;
pub mod widgets;

pub use app_core::workflow::Status;

/// The Chinese label of every status, in the order the case list shows them.
pub fn status_labels() -> Vec<(&'static str, &'static str)> {
    Status::ALL.iter().map(|s| (s.code(), s.zh())).collect()
}
