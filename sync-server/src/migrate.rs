//! `sync-server migrate --to postgres://…`: a centre's SQLite file copied into PostgreSQL, then
//! verified.
//!
//! The copy is written through a replica of the new log like any write (docs/scaling.md): the
//! file's rows, table by table in batches, each batch one entry. Nothing is translated: the
//! log's rows are the file's rows, so every document keeps its heads, every device its
//! credential, every cursor its meaning (a device's cursor is a sequence number of the file's
//! `doc_seq`, copied as it is) and forwarding its state. The verification then builds another
//! replica from the log alone, as a new process would, and compares it with the file: every
//! document's heads, and every row of every table.

use crate::db::ServerDb;
use crate::error::{Error, Result};
use crate::pg::Postgres;
use rusqlite::types::Value;
use rusqlite::Connection;
use std::collections::BTreeMap;
use std::path::Path;

/// Rows per log entry of the copy.
const BATCH: usize = 2_000;

/// What a migration copied and verified.
#[derive(Debug, Default)]
pub struct Migrated {
    /// Rows per table.
    pub tables: BTreeMap<String, usize>,
    /// Documents whose heads are the same in the file and in a replica built from the log.
    pub documents: usize,
    /// Devices (credentials) copied.
    pub devices: usize,
    /// The highest sequence number a device's cursor can hold.
    pub cursor: u64,
    /// Rows of forwarding's state (what the parent acknowledged, what it refused, attachments).
    pub forwarding: usize,
    /// Entries of the log the copy took.
    pub entries: u64,
}

/// Tables the copy leaves out: the replica's own place in the log, and SQLite's.
fn copied(table: &str) -> bool {
    table != "replica_state" && !table.starts_with("sqlite_")
}

/// Copies the centre whose file is `source` (with `server.key` beside it) into the log of
/// `centre` in `county` at `pg`, which must be empty, and verifies it; `replica` is where the
/// replica written meanwhile is left (the data directory's `replica.sqlite3`).
pub fn to_postgres(
    source: &Path,
    pg: &Postgres,
    county: &str,
    centre: &str,
    replica: &Path,
) -> Result<Migrated> {
    if !source.exists() {
        return Err(Error::BadArgument(format!(
            "{} does not exist: run migrate on the data directory of the centre's SQLite server",
            source.display()
        )));
    }
    let head = {
        let mut log = crate::pg::PgLog::open(pg, county, centre, &crate::db::replica_schema())?;
        app_core::store::SharedLog::head(&mut log).map_err(Error::Postgres)?
    };
    if head > 0 {
        return Err(Error::BadArgument(format!(
            "the database already holds {head} entries of {centre}'s log: migrate into an empty one"
        )));
    }
    if replica.exists() {
        return Err(Error::BadArgument(format!(
            "{} exists: remove it (a replica is rebuilt from the log) and migrate again",
            replica.display()
        )));
    }
    // The file at this build's schema (as the server would open it), then as it is now (the
    // server must be stopped).
    drop(ServerDb::open(source)?);
    let src = Connection::open_with_flags(source, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut migrated = Migrated::default();
    let mut db = ServerDb::open_shared(replica, pg, county, centre)?;
    for table in in_dependency_order(&src)? {
        let n = copy_table(&src, &mut db, &table)?;
        migrated.tables.insert(table, n);
    }
    migrated.entries = db.store.log_head()?;
    drop(db);

    // Verify: a replica built from the log alone.
    let check_dir = tempfile::tempdir().map_err(|error| Error::File {
        action: "create a directory to verify in",
        path: std::env::temp_dir(),
        error,
    })?;
    let check_path = check_dir.path().join("check.sqlite3");
    if let Some(dir) = source.parent() {
        // The key check in the log is the file's key's.
        let key = dir.join(crate::credential::KEY_FILE);
        std::fs::copy(&key, check_dir.path().join(crate::credential::KEY_FILE)).map_err(
            |error| Error::File {
                action: "copy",
                path: key.clone(),
                error,
            },
        )?;
    }
    let check = ServerDb::open_shared(&check_path, pg, county, centre)?;
    verify(&src, &check, &mut migrated)?;
    Ok(migrated)
}

/// The tables of the file, each after those its foreign keys name.
fn in_dependency_order(conn: &Connection) -> Result<Vec<String>> {
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let tables: Vec<String> = tables.into_iter().filter(|t| copied(t)).collect();
    let mut parents: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for t in &tables {
        let p: Vec<String> = conn
            .prepare("SELECT \"table\" FROM pragma_foreign_key_list(?1)")?
            .query_map([t], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        parents.insert(t.clone(), p);
    }
    let mut ordered: Vec<String> = Vec::new();
    while ordered.len() < tables.len() {
        let before = ordered.len();
        for t in &tables {
            if !ordered.contains(t)
                && parents[t]
                    .iter()
                    .all(|p| p == t || ordered.contains(p) || !tables.contains(p))
            {
                ordered.push(t.clone());
            }
        }
        if ordered.len() == before {
            return Err(Error::BadArgument(
                "the file's tables refer to one another in a cycle; it is not a centre's database"
                    .to_owned(),
            ));
        }
    }
    Ok(ordered)
}

fn columns(conn: &Connection, table: &str) -> Result<Vec<String>> {
    Ok(conn
        .prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")?
        .query_map([table], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?)
}

/// The columns, quoted, for a statement.
fn column_list(cols: &[String]) -> String {
    cols.iter()
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The rows of `table` that are the file's own (not the per-replica actor id).
fn select_rows(table: &str, cols: &[String]) -> String {
    let list = column_list(cols);
    // The actor id is each replica's own; the key's check value is the log's.
    let filter = match table {
        "meta" => " WHERE key != 'actor'",
        "server_meta" => " WHERE key != 'key.check'",
        _ => "",
    };
    format!("SELECT {list} FROM \"{table}\"{filter} ORDER BY 1, 2")
}

/// Copies one table, `BATCH` rows per write (each an entry of the log); returns the rows.
fn copy_table(src: &Connection, db: &mut ServerDb, table: &str) -> Result<usize> {
    let cols = columns(src, table)?;
    // The target's table must have the same columns: the same build made both.
    let list = column_list(&cols);
    let marks = vec!["?"; cols.len()].join(", ");
    let insert = format!("INSERT OR REPLACE INTO \"{table}\" ({list}) VALUES ({marks})");
    let mut stmt = src.prepare(&select_rows(table, &cols))?;
    let mut rows = stmt.query([])?;
    let mut batch: Vec<Vec<Value>> = Vec::with_capacity(BATCH);
    let mut n = 0;
    let mut flush = |batch: &mut Vec<Vec<Value>>| -> Result<()> {
        let taken = std::mem::take(batch);
        db.store.write(|tx| -> rusqlite::Result<()> {
            let mut ins = tx.prepare_cached(&insert)?;
            for values in &taken {
                ins.execute(rusqlite::params_from_iter(values.iter()))?;
            }
            Ok(())
        })?;
        Ok(())
    };
    while let Some(r) = rows.next()? {
        batch.push(
            (0..cols.len())
                .map(|i| r.get::<_, Value>(i))
                .collect::<rusqlite::Result<_>>()?,
        );
        n += 1;
        if batch.len() == BATCH {
            flush(&mut batch)?;
        }
    }
    if !batch.is_empty() {
        flush(&mut batch)?;
    }
    Ok(n)
}

/// Compares the file with a replica built from the log alone: every document's heads, then
/// every row of every table the copy took.
fn verify(src: &Connection, check: &ServerDb, migrated: &mut Migrated) -> Result<()> {
    let differs = |what: String| {
        Error::BadArgument(format!(
            "verification failed: {what}; the database holds a copy that is not the file's \
             (drop it, and migrate again with the server stopped)"
        ))
    };
    // Every document's heads, loaded from each side.
    let keys: Vec<(String, String)> = src
        .prepare("SELECT key, kind FROM documents ORDER BY key")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (key, _) in &keys {
        let (kind, id) = crate::sync::parse_key(key).map_err(|e| differs(e.message))?;
        let from_file = load_heads(src, key)?;
        let from_log = check
            .store
            .heads(kind, id)
            .map_err(|e| differs(format!("{key}: {e}")))?;
        if from_file != from_log {
            return Err(differs(format!("{key} has other heads")));
        }
    }
    migrated.documents = keys.len();
    // Every row.
    let dst = check.store.path().to_path_buf();
    let dst = Connection::open_with_flags(&dst, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    for table in migrated.tables.keys() {
        let cols = columns(src, table)?;
        let sql = select_rows(table, &cols);
        let a = all_rows(src, &sql, cols.len())?;
        let b = all_rows(&dst, &sql, cols.len())?;
        if a != b {
            return Err(differs(format!(
                "table {table}: {} rows in the file, {} from the log, or rows that differ",
                a.len(),
                b.len()
            )));
        }
    }
    migrated.devices = migrated.tables.get("devices").copied().unwrap_or(0);
    migrated.forwarding = ["forward_state", "forward_held", "forward_blobs"]
        .iter()
        .filter_map(|t| migrated.tables.get(*t))
        .sum();
    migrated.cursor = check.current_seq()?;
    Ok(())
}

fn all_rows(conn: &Connection, sql: &str, n: usize) -> Result<Vec<Vec<Value>>> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt
        .query_map([], |r| (0..n).map(|i| r.get::<_, Value>(i)).collect())?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// A document's heads from a file, by loading its snapshot and chunks.
fn load_heads(conn: &Connection, key: &str) -> Result<Vec<automerge::ChangeHash>> {
    let mut bytes: Vec<u8> = conn.query_row(
        "SELECT snapshot FROM documents WHERE key = ?1",
        [key],
        |r| r.get(0),
    )?;
    let chunks: Vec<Vec<u8>> = conn
        .prepare("SELECT bytes FROM document_chunks WHERE key = ?1 ORDER BY seq")?
        .query_map([key], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for c in chunks {
        bytes.extend(c);
    }
    let mut doc = automerge::AutoCommit::load(&bytes)
        .map_err(|e| Error::BadArgument(format!("{key} in the file cannot be read: {e}")))?;
    Ok(doc.get_heads())
}
