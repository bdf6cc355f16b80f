//! The demo centre, behind the `demo` feature: `sync-server demo` fills an empty data directory
//! with app-core's demo county (台山市: its directory, realistic cases played through the real
//! workflow, households and visits) and issues enrolment codes for two of the served unit's
//! people. A server built without the feature holds no demo data and answers
//! [`Error::NoDemo`]; it serves a centre set up with `init`, `import-units` and `import-people`.

use crate::db::ServerDb;
use crate::error::{Error, Result};
use app_core::ids::{PersonId, UnitId};

/// What [`seed`] did.
#[derive(Debug)]
pub struct Seeded {
    /// Documents stored (cases, contacts, households).
    pub documents: usize,
    /// A one-time enrolment code (valid 72 hours) per person: a grid worker of the unit and one
    /// of its centre staff.
    pub codes: Vec<(PersonId, String)>,
    /// The bearer token of the city's 12345 platform, an integrator for the unit (docs/intake.md).
    pub hotline_token: String,
}

/// Whether this build carries the demo data.
pub const AVAILABLE: bool = cfg!(feature = "demo");

/// The demo's 12345 platform (none in a build without the demo).
#[cfg(feature = "demo")]
const HOTLINE_ID: &str = app_core::demo::HOTLINE_ID;
#[cfg(not(feature = "demo"))]
const HOTLINE_ID: &str = "";

/// Loads the demo county with `cases` demo cases of `unit` into an empty server, and issues
/// codes to enrol with. A server whose directory is set up already (its own, or the demo loaded
/// before) is left as it is: `Ok(None)`, and no code is issued.
pub fn seed(db: &mut ServerDb, unit: &UnitId, cases: usize, now_ms: i64) -> Result<Option<Seeded>> {
    if !AVAILABLE {
        return Err(Error::NoDemo);
    }
    if db.store.directory().units().next().is_some() {
        return Ok(None);
    }
    let documents = load_demo(db, unit, cases, 2026, now_ms)?;
    let mut codes = Vec::new();
    for person in demo_people(db, unit) {
        let code = db.issue_code(&person, now_ms, 72 * 3_600_000)?;
        codes.push((person, code));
    }
    let (_, hotline_token) = db.add_integrator(
        &PersonId::new(HOTLINE_ID),
        std::slice::from_ref(unit),
        app_core::model::Source::Hotline12345,
        now_ms,
    )?;
    Ok(Some(Seeded {
        documents,
        codes,
        hotline_token,
    }))
}

/// Fills an empty server with the demo county's directory and `cases` demo cases placed in
/// `unit` (plus a dozen households per grid), as a demo or a benchmark starts from. The cases'
/// lives end at `now_ms`, so deadlines and figures look current.
#[cfg(feature = "demo")]
pub fn load_demo(
    db: &mut ServerDb,
    unit: &UnitId,
    cases: usize,
    seed: u64,
    now_ms: i64,
) -> Result<usize> {
    use app_core::demo::Generator;
    let mut g = Generator::new(seed);
    db.store.set_directory(g.directory().clone())?;
    // One of the cases, when `unit` is a township: a call to the hotline half an hour ago,
    // its order waiting on the desk (待签收).
    let call = g.townships().into_iter().find(|t| t == unit && cases > 0);
    let played = cases - usize::from(call.is_some());
    // In batches, so that memory stays small however many cases are asked for.
    let mut imported = 0;
    while imported < played {
        let mut picked = Vec::new();
        for c in g.cases(100, now_ms)? {
            let doc = c.doc.read()?;
            if doc.place.unit_path.contains(unit) && imported + picked.len() < played {
                picked.push((c, doc));
            }
        }
        imported += picked.len();
        import(db, picked, now_ms)?;
    }
    if let Some(township) = call {
        let call = g.hotline_call(&township, now_ms)?;
        let doc = call.doc.read()?;
        import(db, vec![(call, doc)], now_ms)?;
    }
    let mut households = Vec::new();
    for grid in g.grids(Some(unit)) {
        for _ in 0..12 {
            households.push(g.household(&grid, now_ms)?);
        }
    }
    db.store.import_households(households, now_ms)?;
    crate::log_unlogged(db)
}

/// Imports generated cases (each with its document as read) and records the hotline's orders
/// among them as if dispatched through intake: the platform follows them, and a re-dispatch
/// updates its case.
#[cfg(feature = "demo")]
fn import(
    db: &mut ServerDb,
    cases: Vec<(app_core::demo::GeneratedCase, app_core::model::CaseDocument)>,
    now_ms: i64,
) -> Result<()> {
    let mut orders = Vec::new();
    let mut docs = Vec::with_capacity(cases.len());
    for (c, doc) in cases {
        orders.extend(crate::intake::dispatched_orders(&doc));
        docs.push((c.doc, Some(c.contacts)));
    }
    db.store.import_cases(docs, now_ms)?;
    crate::intake::record_orders(db, &orders, now_ms)
}

#[cfg(not(feature = "demo"))]
pub fn load_demo(_: &mut ServerDb, _: &UnitId, _: usize, _: u64, _: i64) -> Result<usize> {
    Err(Error::NoDemo)
}

/// The people the demo prints codes for: a grid worker in `unit` and one of its centre staff.
fn demo_people(db: &ServerDb, unit: &UnitId) -> Vec<PersonId> {
    use app_core::org::Role;
    let dir = db.store.directory();
    let mut out = Vec::new();
    if let Some(p) = dir
        .people()
        .find(|p| p.roles.contains(&Role::GridWorker) && dir.is_within(&p.unit, unit))
    {
        out.push(p.id.clone());
    }
    if let Some(p) = dir
        .people()
        .find(|p| p.unit == *unit && p.roles.contains(&Role::CentreStaff))
    {
        out.push(p.id.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_loads_once_into_an_empty_server_or_the_build_says_it_has_none() -> anyhow::Result<()>
    {
        let dir = tempfile::tempdir()?;
        let mut db = ServerDb::open(&dir.path().join("server.sqlite3"))?;
        let unit = UnitId::new("haiyan");
        let now = crate::http::now_ms();
        let first = seed(&mut db, &unit, 3, now);
        if !AVAILABLE {
            let e = first.err().map(|e| e.to_string()).unwrap_or_default();
            assert!(e.contains("built without demo data"), "{e}");
            return Ok(());
        }
        let seeded = first?.ok_or_else(|| anyhow::anyhow!("an empty server takes the demo"))?;
        assert!(seeded.documents > 3, "cases, contacts and households");
        assert_eq!(seeded.codes.len(), 2, "a grid worker and a centre's staff");
        assert!(!seeded.hotline_token.is_empty());
        assert_eq!(db.integrators()?.len(), 1, "the city's 12345 platform");
        assert!(seed(&mut db, &unit, 3, now)?.is_none(), "only once");
        Ok(())
    }
}
