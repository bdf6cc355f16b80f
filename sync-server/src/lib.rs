//! The sync server a centre runs: devices enrol, upload what they saved offline, and receive
//! what they lack in their scope; every upload is checked before it is stored, and stored
//! before it is acknowledged. See `docs/protocol.md` for the exchange and [`sync`] for the rules.

pub mod admin;
pub mod admission;
pub mod attachments;
pub mod config;
pub mod credential;
pub mod db;
pub mod demo;
pub mod enrolment;
pub mod error;
pub mod forward;
pub mod http;
pub mod intake;
pub mod migrate;
pub mod paperwork;
pub mod pg;
pub mod read;
pub mod scope;
pub mod server;
pub mod sync;

pub use error::{ApiError, Error, Result};
pub use http::{router, AppState};
pub use server::{open, run, serve, serve_tls};

/// Escaping of text from devices (shared with the core's refusal messages).
pub use app_core::terminal;

use app_core::document::DocKind;
use db::{Logged, ServerDb};

/// Logs every stored document that the sync log does not know yet (documents written by an
/// import rather than a sync), so that devices receive them. Returns how many were logged.
pub fn log_unlogged(db: &mut ServerDb) -> Result<usize> {
    let keys = db.store.read(crate::db::unlogged)?;
    let mut logged = Vec::new();
    let mut case_scope = std::collections::BTreeMap::new();
    for (key, _) in &keys {
        let (kind, id) = sync::parse_key(key)?;
        let Some(mut doc) = db.store.load_document(kind, id)? else {
            continue;
        };
        let scope = match kind {
            DocKind::Case => {
                let view = db.store.case(&app_core::ids::CaseId::new(id))?;
                let s = scope::case_keys(&view.summary, &view.folded);
                case_scope.insert(id.to_owned(), s.clone());
                s
            }
            DocKind::Contacts => case_scope.get(id).cloned().unwrap_or_default(),
            DocKind::Household => {
                // Its grid from its row (reading the household would read all its visits).
                let h = app_core::ids::HouseholdId::new(id);
                let grid = match db.store.household_grid(&h)? {
                    Some(grid) => grid,
                    None => db.store.household(&h)?.grid,
                };
                scope::household_keys(db.store.directory(), &grid)
            }
            // A volume of visits is seen by whoever sees its household.
            DocKind::VisitBook => {
                match app_core::document::VisitBookDoc::parse_id(id)
                    .map(|(h, _)| db.store.household_grid(&h))
                    .transpose()?
                    .flatten()
                {
                    Some(grid) => scope::household_keys(db.store.directory(), &grid),
                    None => continue,
                }
            }
        };
        logged.push(Logged {
            writer: None,
            key: key.clone(),
            heads: doc.get_heads(),
            scope,
        });
    }
    db.log_only(&logged)?;
    Ok(logged.len())
}
