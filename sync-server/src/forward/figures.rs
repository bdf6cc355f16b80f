//! Figures up the tiers (逐级汇总): after a forwarding pass, at most every `figures_every_ms`,
//! this server sends its parent the figures of its unit for every local day whose figures may
//! have changed since the parent last took them: the days of the cases changed since (the
//! change log's cursor `figures.cursor`), and the days of open cases that fell due since
//! (`figures.as_of`: open became overdue with time alone). The first time, every day. Counts
//! only, by day, category and village ([`app_core::figures::DayCells`]); no person's name or
//! number leaves.
//!
//! The cursor and the time move only once the parent took every day of the pass, so a parent
//! that was away gets the days again; it takes repeats idempotently (a day replaces the day).
//!
//! The parent's side ([`take`]) trusts nothing the child sends: the credential must be the
//! unit's server, the unit below the parent's, every cell a village of it (or the unit
//! itself), every category the taxonomy's, every cell's counts those of real cases, and every
//! case it names one of its own.

use crate::db::{last_seq, server_meta, set_server_meta, Device, ServerDb};
use crate::error::{ApiError, Error, Result};
use crate::http::AppState;
use app_core::figures::DayCells;
use app_core::ids::UnitId;
use app_core::org::Directory;
use app_core::protocol::{ErrorCode, LowerFigures, LowerFiguresTaken, MAX_FIGURE_DAYS};
use app_core::store::lower;
use app_core::taxonomy::Taxonomy;
use chrono::{Datelike, NaiveDate};
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

/// Days per request.
const CHUNK_DAYS: usize = 200;

/// What a pass will send: the days' figures, and where the cursor and the time go once the
/// parent took them all.
struct Pending {
    days: Vec<DayCells>,
    cursor: u64,
    as_of: i64,
    /// Whether there is anything to record: days to send, or a cursor that moved.
    moved: bool,
}

/// The days whose figures may have changed since the parent last took them, counted now.
fn pending(
    conn: &Connection,
    directory: &Directory,
    unit: &UnitId,
    now_ms: i64,
) -> Result<Pending, ApiError> {
    let core = |e| ApiError::from_core(e, "figures");
    let cursor = last_seq(conn)?;
    let sent: Option<u64> = server_meta(conn, "figures.cursor")?.and_then(|v| v.parse().ok());
    let as_of: i64 = server_meta(conn, "figures.as_of")?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let local = directory.policy(unit).local();
    let days: BTreeSet<NaiveDate> = match sent {
        // Never sent: every day of the unit's cases.
        None => conn
            .prepare_cached(
                "SELECT DISTINCT c.reported_at FROM cases c
                 JOIN case_units u ON u.case_id = c.id AND u.unit = ?1",
            )?
            .query_map([unit.as_str()], |r| r.get::<_, i64>(0))?
            .map(|r| r.map(|at| local.date(at)))
            .collect::<rusqlite::Result<_>>()?,
        Some(after) => {
            let changed: Vec<String> = conn
                .prepare_cached(
                    "SELECT substr(key, 6) FROM doc_seq WHERE seq > ?1 AND key LIKE 'case:%'",
                )?
                .query_map([after as i64], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            let mut days =
                lower::days_of_cases(conn, directory, unit, changed.iter().map(String::as_str))
                    .map_err(core)?;
            days.extend(
                lower::days_fallen_due(conn, directory, unit, as_of, now_ms).map_err(core)?,
            );
            days
        }
    };
    let days = lower::day_cells_of(conn, directory, unit, &days, now_ms).map_err(core)?;
    Ok(Pending {
        moved: !days.is_empty() || sent != Some(cursor),
        days,
        cursor,
        as_of: now_ms,
    })
}

/// Sends the parent the figures of every day that may have changed; returns how many days
/// went up.
pub(super) async fn send(
    state: &Arc<AppState>,
    transport: &app_core::client::Transport,
) -> Result<u64> {
    let st = state.clone();
    let (path, directory, unit, now) = tokio::task::spawn_blocking(move || {
        let db = crate::db::lock(&st.db);
        (
            db.store.path().to_owned(),
            db.store.directory_shared(),
            st.unit.clone(),
            (st.clock)(),
        )
    })
    .await?;
    let u = unit.clone();
    let started = std::time::Instant::now();
    let pending = tokio::task::spawn_blocking(move || {
        crate::paperwork::snapshot(&path, |c| pending(c, &directory, &u, now))
    })
    .await??;
    if !pending.moved {
        // Nothing changed and nothing fell due: nothing to send or record. The window of
        // `figures.as_of` stays open until something does.
        return Ok(0);
    }
    let counted_ms = started.elapsed().as_millis() as u64;
    let mut sent = 0;
    for chunk in pending.days.chunks(CHUNK_DAYS) {
        transport
            .send_figures(&LowerFigures {
                unit: unit.clone(),
                as_of: pending.as_of,
                days: chunk.to_vec(),
            })
            .await
            .map_err(|e| Error::Parent(format!("the parent did not take the figures: {e}")))?;
        sent += chunk.len() as u64;
    }
    let st = state.clone();
    tokio::task::spawn_blocking(move || {
        let mut db = crate::db::lock(&st.db);
        db.store.write(|tx| {
            set_server_meta(tx, "figures.cursor", &pending.cursor.to_string())?;
            set_server_meta(tx, "figures.as_of", &pending.as_of.to_string())
        })
    })
    .await??;
    tracing::info!(
        days = sent,
        counted_ms,
        ms = started.elapsed().as_millis() as u64,
        "figures sent to the parent"
    );
    Ok(sent)
}

fn refuse(code: ErrorCode, message: String) -> ApiError {
    ApiError::new(code, message)
}

/// Whether `id` reads as a case id (what [`app_core::ids::CaseId`]s are made of).
fn plausible_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Checks what a lower tier's server sent, against this server's directory, taxonomy and cases.
pub fn check(
    conn: &Connection,
    directory: &Directory,
    taxonomy: &Taxonomy,
    here: &UnitId,
    device: &Device,
    req: &LowerFigures,
    now_ms: i64,
) -> Result<(), ApiError> {
    let unit = &req.unit;
    if device.server_unit().as_ref() != Some(unit) {
        return Err(refuse(
            ErrorCode::OutOfScope,
            format!(
                "only the server of {unit} sends {unit}'s figures; this credential is {}'s",
                device.person
            ),
        ));
    }
    if directory.unit(unit).is_none() || unit == here || !directory.is_within(unit, here) {
        return Err(refuse(
            ErrorCode::OutOfScope,
            format!("{unit} is not a unit below {here}: its figures are not this server's to keep"),
        ));
    }
    if req.days.len() > MAX_FIGURE_DAYS {
        return Err(refuse(
            ErrorCode::TooMany,
            format!(
                "{} days of figures at once; send at most {MAX_FIGURE_DAYS}",
                req.days.len()
            ),
        ));
    }
    // From 2000-01-01, and not ahead of this server's clock by more than a day (a day kept
    // with a time in the future would shut out every honest update until then).
    if req.as_of < 946_684_800_000 || req.as_of > now_ms + 86_400_000 {
        return Err(refuse(
            ErrorCode::BadDocument,
            format!(
                "the figures' time {} is before 2000 or more than a day ahead of this server's clock ({now_ms})",
                req.as_of
            ),
        ));
    }
    let children: HashSet<&UnitId> = directory
        .children(unit)
        .into_iter()
        .map(|u| &u.id)
        .collect();
    let mut days = HashSet::new();
    let mut cases = HashSet::new();
    let mut held = conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM cases WHERE id = ?1),
                EXISTS (SELECT 1 FROM case_units WHERE case_id = ?1 AND unit = ?2)",
    )?;
    let mut claimed =
        conn.prepare_cached("SELECT unit FROM lower_cases WHERE case_id = ?1 AND unit <> ?2")?;
    for d in &req.days {
        let day = d.day;
        if !(2000..2100).contains(&day.year()) || !days.insert(day) {
            return Err(refuse(
                ErrorCode::BadDocument,
                format!("the day {day} is not a day of this century, or comes twice"),
            ));
        }
        let mut slots = HashSet::new();
        let mut received = 0u64;
        for cell in &d.cells {
            let at = format!(
                "the figures of {unit} on {day}, {}/{}",
                cell.category, cell.child
            );
            if cell.child != *unit && !children.contains(&cell.child) {
                return Err(refuse(
                    ErrorCode::BadDocument,
                    format!(
                        "{at}: {} is not {unit} or a unit directly below it",
                        cell.child
                    ),
                ));
            }
            if !taxonomy.contains(&cell.category.as_str().into()) {
                return Err(refuse(
                    ErrorCode::BadDocument,
                    format!(
                        "{at}: {} is not a category of this server's taxonomy",
                        cell.category
                    ),
                ));
            }
            if !slots.insert((&cell.category, &cell.child)) {
                return Err(refuse(
                    ErrorCode::BadDocument,
                    format!("{at}: the cell comes twice"),
                ));
            }
            let distinct: HashSet<_> = cell.matters.iter().collect();
            if distinct.len() != cell.matters.len() {
                return Err(refuse(
                    ErrorCode::BadDocument,
                    format!("{at}: a matter comes twice"),
                ));
            }
            if cell.figures.received == 0 {
                return Err(refuse(
                    ErrorCode::BadDocument,
                    format!("{at}: the cell counts no case"),
                ));
            }
            if let Some(why) = cell.figures.inconsistency(cell.matters.len()) {
                return Err(refuse(ErrorCode::BadDocument, format!("{at}: {why}")));
            }
            received += cell.figures.received;
        }
        if received != d.cases.len() as u64 {
            return Err(refuse(
                ErrorCode::BadDocument,
                format!(
                    "the figures of {unit} on {day} count {received} cases but name {}",
                    d.cases.len()
                ),
            ));
        }
        for case in &d.cases {
            let id = case.as_str();
            if !plausible_id(id) || !cases.insert(id) {
                return Err(refuse(
                    ErrorCode::BadDocument,
                    format!("the figures of {unit} on {day} name a case id that is not one, or one twice"),
                ));
            }
            let (here_too, its) = held.query_row(params![id, unit.as_str()], |r| {
                Ok((r.get::<_, bool>(0)?, r.get::<_, bool>(1)?))
            })?;
            if here_too && !its {
                return Err(refuse(
                    ErrorCode::OutOfScope,
                    format!("the figures of {unit} on {day} count case {id}, which is not a case of {unit}"),
                ));
            }
            if !here_too {
                if let Some(other) = claimed
                    .query_row(params![id, unit.as_str()], |r| r.get::<_, String>(0))
                    .optional()?
                {
                    return Err(refuse(
                        ErrorCode::OutOfScope,
                        format!("the figures of {unit} on {day} count case {id}, which {other}'s figures count"),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Takes what a lower tier's server sent (after [`check`]): each day replaces the one before.
pub fn take(
    db: &mut ServerDb,
    here: &UnitId,
    device: &Device,
    req: &LowerFigures,
    now_ms: i64,
) -> Result<LowerFiguresTaken, ApiError> {
    let directory = db.store.directory_shared();
    let taxonomy = db.store.taxonomy().clone();
    db.store
        .read(|c| check(c, &directory, &taxonomy, here, device, req, now_ms))?;
    let days = db
        .store
        .write(|tx| lower::put(tx, &req.unit, &req.days, req.as_of))
        .map_err(|e| ApiError::from_core(e, "figures"))?;
    Ok(LowerFiguresTaken { days })
}
