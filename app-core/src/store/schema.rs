//! The schema and its migration ladder. `PRAGMA user_version` counts the steps the core's
//! tables have taken; [`migrate`] takes the rest, one at a time, and refuses a file from a newer
//! build.
//!
//! Other crates keep tables in the same file (a server's devices and sync log) as [`Layer`]s:
//! a name and its own ordered steps, the version each file has reached recorded in
//! `schema_layers(layer, version)`. They are migrated in the same transaction as the core, right
//! after it, in the order given, and refused in the same way when the file is newer than the
//! build. A step that has shipped is never edited; a change is a new step.

use super::write_in;
use crate::error::{Error, Result};
use rusqlite::{params, Connection, OptionalExtension, Transaction};

/// The schema version this build writes. See [`migrate`].
pub const SCHEMA_VERSION: i64 = 12;

/// Tables of another crate's kept in the store's file under a version of their own.
#[derive(Clone, Copy, Debug)]
pub struct Layer {
    /// The layer's name, its key in `schema_layers`.
    pub name: &'static str,
    /// SQL batches, in order: step `i` takes the layer from version `i` to `i + 1`.
    pub steps: &'static [&'static str],
}

impl Layer {
    /// The version this build brings the layer to.
    pub const fn version(&self) -> i64 {
        self.steps.len() as i64
    }
}

/// Brings a database to [`SCHEMA_VERSION`], one step at a time (`PRAGMA user_version`), then
/// each layer to its version, all in one IMMEDIATE transaction: a file is migrated whole or not
/// at all, and a second process opening it meanwhile waits and then finds nothing to do. Refuses
/// a database written by a newer version ([`Error::SchemaTooNew`], [`Error::LayerTooNew`]).
pub fn migrate(conn: &mut Connection, layers: &[Layer]) -> Result<()> {
    write_in(conn, |tx| {
        let found: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if found > SCHEMA_VERSION {
            return Err(Error::SchemaTooNew {
                found,
                supported: SCHEMA_VERSION,
            });
        }
        for version in found..SCHEMA_VERSION {
            upgrade_from(tx, version)?;
        }
        if found < SCHEMA_VERSION {
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        }
        if !layers.is_empty() {
            migrate_layers(tx, layers)?;
        }
        Ok(())
    })
}

/// Brings each layer to its version. `schema_layers` is the layers' own bookkeeping (as
/// `user_version` is the core's): it comes with the first layer, so a device's file, which has
/// none, is as it always was.
fn migrate_layers(tx: &Transaction<'_>, layers: &[Layer]) -> Result<()> {
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_layers (
             layer TEXT PRIMARY KEY,
             version INTEGER NOT NULL
         );",
    )?;
    for layer in layers {
        let found: i64 = tx
            .query_row(
                "SELECT version FROM schema_layers WHERE layer = ?1",
                [layer.name],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(0);
        let supported = layer.version();
        if found > supported {
            return Err(Error::LayerTooNew {
                layer: layer.name.to_owned(),
                found,
                supported,
            });
        }
        if found == supported {
            continue;
        }
        for step in &layer.steps[usize::try_from(found).unwrap_or(0)..] {
            tx.execute_batch(step)?;
        }
        tx.execute(
            "INSERT INTO schema_layers(layer, version) VALUES (?1, ?2)
             ON CONFLICT(layer) DO UPDATE SET version = ?2",
            params![layer.name, supported],
        )?;
    }
    Ok(())
}

/// Version `version` to `version + 1`.
pub(super) fn upgrade_from(tx: &Transaction<'_>, version: i64) -> Result<()> {
    match version {
        // 1: documents, their chunks, the outbox, the directory.
        0 => tx.execute_batch(
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE documents (
                 key TEXT PRIMARY KEY,
                 kind TEXT NOT NULL,
                 snapshot BLOB NOT NULL,
                 chunks INTEGER NOT NULL DEFAULT 0,
                 updated_at INTEGER NOT NULL
             );
             CREATE TABLE document_chunks (
                 key TEXT NOT NULL REFERENCES documents(key) ON DELETE CASCADE,
                 seq INTEGER NOT NULL,
                 bytes BLOB NOT NULL,
                 PRIMARY KEY (key, seq)
             );
             CREATE TABLE outbox (
                 seq INTEGER PRIMARY KEY AUTOINCREMENT,
                 key TEXT NOT NULL,
                 hash TEXT NOT NULL UNIQUE,
                 change BLOB NOT NULL
             );
             CREATE TABLE units (id TEXT PRIMARY KEY, json TEXT NOT NULL);
             CREATE TABLE people (id TEXT PRIMARY KEY, json TEXT NOT NULL);",
        )?,
        // 2: summaries for list screens and figures, rebuilt from the documents on open.
        1 => tx.execute_batch(
            "CREATE TABLE cases (
                 id TEXT PRIMARY KEY,
                 status TEXT NOT NULL,
                 category TEXT NOT NULL,
                 responsible_unit TEXT NOT NULL,
                 reported_at INTEGER NOT NULL,
                 due_at INTEGER NOT NULL,
                 due_soon_at INTEGER NOT NULL,
                 handled INTEGER NOT NULL,
                 conflicts INTEGER NOT NULL,
                 party_names TEXT NOT NULL,
                 summary TEXT NOT NULL
             );
             CREATE INDEX cases_open_due ON cases(handled, due_at);
             CREATE INDEX cases_reported ON cases(reported_at);
             CREATE TABLE case_units (
                 unit TEXT NOT NULL,
                 case_id TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
                 PRIMARY KEY (unit, case_id)
             ) WITHOUT ROWID;
             CREATE INDEX case_units_case ON case_units(case_id);
             CREATE TABLE case_people (
                 person TEXT NOT NULL,
                 case_id TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
                 PRIMARY KEY (person, case_id)
             ) WITHOUT ROWID;
             CREATE INDEX case_people_case ON case_people(case_id);
             CREATE TABLE households (
                 id TEXT PRIMARY KEY,
                 grid TEXT NOT NULL,
                 head TEXT NOT NULL,
                 address TEXT NOT NULL,
                 members INTEGER NOT NULL,
                 visits INTEGER NOT NULL,
                 last_visit_at INTEGER
             );
             CREATE INDEX households_grid ON households(grid);
             INSERT INTO meta(key, value) VALUES ('needs_reindex', '1')
                 ON CONFLICT(key) DO UPDATE SET value = '1';",
        )?,
        // 3: local changes a server refused, kept aside (never deleted) for the user to see.
        2 => tx.execute_batch(
            "CREATE TABLE rejected (
                 hash TEXT PRIMARY KEY,
                 key TEXT NOT NULL,
                 change BLOB NOT NULL,
                 code TEXT NOT NULL,
                 message TEXT NOT NULL,
                 at INTEGER NOT NULL
             );",
        )?,
        // 4: attachments' bytes by content hash; `pending` until a server has them, with the
        // case they were attached to (the one to upload them under).
        3 => tx.execute_batch(
            "CREATE TABLE blobs (
                 sha256 TEXT PRIMARY KEY,
                 mime TEXT NOT NULL,
                 size INTEGER NOT NULL,
                 bytes BLOB NOT NULL,
                 pending INTEGER NOT NULL,
                 case_id TEXT,
                 added_at INTEGER NOT NULL
             );
             CREATE INDEX blobs_pending ON blobs(pending) WHERE pending = 1;",
        )?,
        // 5: the volumes of households' visits (a summary: rebuilt from the documents), so that a
        // visit finds the volume to write to without reading any.
        4 => tx.execute_batch(
            "CREATE TABLE visit_books (
                 household TEXT NOT NULL,
                 volume INTEGER NOT NULL,
                 visits INTEGER NOT NULL,
                 last_visit_at INTEGER,
                 PRIMARY KEY (household, volume)
             ) WITHOUT ROWID;",
        )?,
        // 6: parties' identities (a summary: rebuilt from the case and contacts documents, so the
        // cases already here are indexed by the reindex this step asks for), so that "同一当事人
        // 既往纠纷" and "可能重复上报" are equality lookups: each party of each case with its
        // village and canonical ID number and phone, and every key it is found under
        // (`identity::PartyIdentity::keys`; the primary key is the index on `key`).
        5 => tx.execute_batch(
            "CREATE TABLE case_parties (
                 case_id TEXT NOT NULL,
                 party_id TEXT NOT NULL,
                 name TEXT NOT NULL,
                 village TEXT NOT NULL,
                 resident_id TEXT,
                 phone TEXT,
                 PRIMARY KEY (case_id, party_id)
             ) WITHOUT ROWID;
             CREATE TABLE party_keys (
                 key TEXT NOT NULL,
                 case_id TEXT NOT NULL,
                 party_id TEXT NOT NULL,
                 PRIMARY KEY (key, case_id, party_id)
             ) WITHOUT ROWID;
             CREATE INDEX party_keys_case ON party_keys(case_id);
             INSERT INTO meta(key, value) VALUES ('needs_reindex', '1')
                 ON CONFLICT(key) DO UPDATE SET value = '1';",
        )?,
        // 7: when the supervision (督办) in force was issued, so that today's 督办 section and
        // reminders find supervised cases without reading summaries; the summaries gain the
        // supervision, so they are rebuilt.
        6 => tx.execute_batch(
            "ALTER TABLE cases ADD COLUMN supervised_at INTEGER;
             CREATE INDEX cases_supervised ON cases(supervised_at)
                 WHERE supervised_at IS NOT NULL;
             INSERT INTO meta(key, value) VALUES ('needs_reindex', '1')
                 ON CONFLICT(key) DO UPDATE SET value = '1';",
        )?,
        // 8: what the centre owes on a case's work order (工单) of the 12345 hotline: the signing
        // deadline while it waits to be signed for, the reply deadline while no reply was given
        // (each NULL otherwise), so that today's 工单 section finds them without reading
        // summaries; the summaries gain the order, so they are rebuilt.
        7 => tx.execute_batch(
            "ALTER TABLE cases ADD COLUMN order_sign_by INTEGER;
             ALTER TABLE cases ADD COLUMN order_reply_by INTEGER;
             CREATE INDEX cases_order_sign ON cases(order_sign_by)
                 WHERE order_sign_by IS NOT NULL;
             CREATE INDEX cases_order_reply ON cases(order_reply_by)
                 WHERE order_reply_by IS NOT NULL;
             INSERT INTO meta(key, value) VALUES ('needs_reindex', '1')
                 ON CONFLICT(key) DO UPDATE SET value = '1';",
        )?,
        // 9: the summaries gain what the ledger (台账) shows of a case beyond the lists: its
        // source, the narrative's beginning and where it was assigned down; they are rebuilt.
        8 => tx.execute_batch(
            "INSERT INTO meta(key, value) VALUES ('needs_reindex', '1')
                 ON CONFLICT(key) DO UPDATE SET value = '1';",
        )?,
        // 10: the figures lower tiers' servers sent up (逐级汇总), by unit and local day, and
        // the cases they count, so that a tier's figures cover every unit below it and count
        // no case twice. Filled only on a server with servers below it.
        9 => tx.execute_batch(
            "CREATE TABLE lower_days (
                 unit TEXT NOT NULL,
                 day TEXT NOT NULL,
                 cells TEXT NOT NULL,
                 as_of INTEGER NOT NULL,
                 PRIMARY KEY (unit, day)
             ) WITHOUT ROWID;
             CREATE TABLE lower_cases (
                 case_id TEXT PRIMARY KEY,
                 unit TEXT NOT NULL,
                 day TEXT NOT NULL
             ) WITHOUT ROWID;
             CREATE INDEX lower_cases_day ON lower_cases(unit, day);",
        )?,
        // 11: every visit of every household held here, one row each (a summary: rebuilt from
        // the household documents and their volumes, so the visits already here are listed by
        // the reindex this step asks for), so that the ledger counts a unit's visits over a
        // period (入户走访) without reading a volume. `volume` 0 is the household document's own
        // visits (households from before volumes), `idx` a visit's place in its list; `grid` is
        // the household's (fixed), NULL while the household itself is not here.
        10 => tx.execute_batch(
            "CREATE TABLE visits (
                 household TEXT NOT NULL,
                 volume INTEGER NOT NULL,
                 idx INTEGER NOT NULL,
                 id TEXT NOT NULL,
                 at INTEGER NOT NULL,
                 grid TEXT,
                 person TEXT NOT NULL,
                 person_name TEXT NOT NULL,
                 role TEXT NOT NULL,
                 outcome TEXT NOT NULL,
                 case_id TEXT,
                 PRIMARY KEY (household, volume, idx)
             ) WITHOUT ROWID;
             CREATE INDEX visits_grid_at ON visits(grid, at);
             INSERT INTO meta(key, value) VALUES ('needs_reindex', '1')
                 ON CONFLICT(key) DO UPDATE SET value = '1';",
        )?,
        // 12: the order in which lower tiers' figures were kept (`seq`, one more for each day
        // written), so that a county's server hands its staff's devices what changed since
        // they last asked ([`super::lower::changed_after`]); a day a township emptied stays as
        // `[]`, so that its emptying is handed down too. The days kept before this step are
        // numbered 1, 2, … in (unit, day) order.
        11 => tx.execute_batch(
            "ALTER TABLE lower_days ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
             UPDATE lower_days SET seq = (SELECT COUNT(*) FROM lower_days l
                 WHERE l.unit < lower_days.unit
                    OR (l.unit = lower_days.unit AND l.day <= lower_days.day));
             CREATE INDEX lower_days_seq ON lower_days(seq);",
        )?,
        _ => unreachable!("no upgrade from version {version}"),
    }
    Ok(())
}
