//! The sync server a centre runs: devices enrol, upload what they saved offline, and receive
//! what they lack in their scope; every upload is checked before it is stored, and stored
//! before it is acknowledged. See `docs/protocol.md` for the exchange and [`sync`] for the rules.

pub mod admin;
pub mod admission;
pub mod attachments;
pub mod config;
pub mod credential;
pub mod db;
pub mod error;
pub mod forward;
pub mod http;
pub mod read;
pub mod scope;
pub mod sync;

/// Escaping of text from devices (shared with the core's refusal messages).
pub use app_core::terminal;

use app_core::document::DocKind;
use app_core::ids::UnitId;
use db::{Logged, ServerDb};

/// Logs every stored document that the sync log does not know yet (documents written by an
/// import rather than a sync), so that devices receive them. Returns how many were logged.
pub fn log_unlogged(db: &mut ServerDb) -> anyhow::Result<usize> {
    let keys = db.store.read(crate::db::unlogged)?;
    let mut logged = Vec::new();
    let mut case_scope = std::collections::BTreeMap::new();
    for (key, _) in &keys {
        let (kind, id) = sync::parse_key(key).map_err(|e| anyhow::anyhow!("{}", e.message))?;
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
                let h = db.store.household(&app_core::ids::HouseholdId::new(id))?;
                scope::household_keys(db.store.directory(), &h.grid)
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

/// Fills an empty server with the demo county's directory and `cases` demo cases placed in
/// `unit` (plus a dozen households per grid), as a demo or a benchmark starts from. The cases'
/// lives end at `now_ms`, so deadlines and figures look current.
pub fn load_demo(
    db: &mut ServerDb,
    unit: &UnitId,
    cases: usize,
    seed: u64,
    now_ms: i64,
) -> anyhow::Result<usize> {
    use app_core::demo::Generator;
    let mut g = Generator::new(seed);
    db.store.set_directory(g.directory().clone())?;
    // In batches, so that memory stays small however many cases are asked for.
    let mut imported = 0;
    while imported < cases {
        let mut picked = Vec::new();
        for c in g.cases(100, now_ms)? {
            let doc = c.doc.read()?;
            if doc.place.unit_path.contains(unit) && imported + picked.len() < cases {
                picked.push((c.doc, Some(c.contacts)));
            }
        }
        imported += picked.len();
        db.store.import_cases(picked, now_ms)?;
    }
    let mut households = Vec::new();
    for grid in g.grids(Some(unit)) {
        for _ in 0..12 {
            households.push(g.household(&grid, now_ms)?);
        }
    }
    db.store.import_households(households, now_ms)?;
    log_unlogged(db)
}
