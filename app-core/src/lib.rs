//! The shared core of the dispute-mediation system: every rule lives here once.
//!
//! # Data model
//!
//! A dispute case (矛盾纠纷) is one automerge document ([`document::CaseDoc`]), so a phone holds
//! only its caseload and any two replicas of a case merge without losing an edit. A case has
//! editable fields (narrative, parties, place…) and an append-only timeline of workflow steps; its
//! workflow state (status, difficulty, who holds it, deadline) is folded from the timeline by
//! [`workflow::fold`], never stored, so concurrent moves resolve by one documented rule on every
//! replica. Parties' phones and ID numbers live in a separate small contacts document that can be
//! erased. Households and their door-to-door visits are documents too.
//!
//! The organisation ([`org`]: units of the tier tree, people and their roles) and the dispute
//! [`taxonomy`] are configuration, administered centrally. [`deadline`] computes time limits and
//! overdue states with no clock of its own. [`figures`] computes the numbers a centre reports.
//! [`identity`] reads parties' ID numbers, phones and names (by sound) into canonical keys, to
//! recognise the same person across reports; [`validate`] checks what people type with it.
//!
//! With the `store` feature, [`store::Store`] keeps everything in one SQLite file: documents as
//! snapshot plus incremental changes, an outbox of local changes not yet acknowledged by a server,
//! and summary tables for list screens and figures, rebuilt from the documents when needed.
//!
//! # Invariants
//! - No I/O and no clock reads outside `store`: time is always an argument.
//! - This crate knows nothing of axum, Tauri or Yew.

pub mod deadline;
pub mod document;
pub mod error;
pub mod figures;
pub mod guard;
pub mod identity;
pub mod ids;
pub mod materialise;
pub mod model;
pub mod org;
pub mod protocol;
pub mod reminders;
pub mod rules;
pub mod screens;
pub mod summary;
pub mod taxonomy;
pub mod terminal;
pub mod validate;
pub mod warning;
pub mod workflow;

#[cfg(feature = "client")]
pub mod client;
#[cfg(feature = "store")]
pub mod ledger;
#[cfg(feature = "paperwork")]
pub mod paperwork;
#[cfg(feature = "client")]
pub mod session;
#[cfg(feature = "store")]
pub mod store;

#[cfg(feature = "demo")]
pub mod demo;

pub use error::{Error, Result};
