//! The schema and its migration ladder: `PRAGMA user_version` counts the steps a file has
//! taken; [`migrate`] takes the rest, in one transaction, and refuses a file from a newer build.

use crate::error::{Error, Result};
use rusqlite::{Connection, Transaction, TransactionBehavior};

/// The schema version this build writes. See [`migrate`].
pub const SCHEMA_VERSION: i64 = 4;

/// Brings a database to [`SCHEMA_VERSION`], one step at a time (`PRAGMA user_version`).
/// Refuses a database written by a newer version.
pub fn migrate(conn: &mut Connection) -> Result<()> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(Error::SchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for version in found..SCHEMA_VERSION {
        upgrade_from(&tx, version)?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
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
        _ => unreachable!("no upgrade from version {version}"),
    }
    Ok(())
}
