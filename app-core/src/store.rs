//! The local store: one SQLite file per device (or per server) holding every document, the
//! outbox, and the summaries list screens read.
//!
//! # Layout
//! - `documents` + `document_chunks`: each automerge document as a compacted snapshot plus the
//!   incremental chunks saved since (one chunk per saved action). Loading concatenates them;
//!   when a document has [`COMPACT_AFTER`] chunks, the next save folds them into a new snapshot.
//! - `outbox`: every local change not yet acknowledged by a server, by change hash. A change
//!   leaves the outbox only through [`Store::acknowledge`].
//! - `cases`, `case_units`, `case_people`, `households`: summaries derived from the documents,
//!   so that "my township's overdue cases" or a party-name search never loads a document. They
//!   can be rebuilt from the documents at any time ([`Store::reindex`]).
//! - `case_parties`, `party_keys`: the same kind of summary for parties' identities (name,
//!   village, ID number, phone, and the keys each is found under), so that the other cases of a
//!   case's parties are equality lookups ([`Store::party_matches`]); see `parties`.
//! - `units`, `people`: the directory this device knows.
//! - `blobs`: attachments' bytes (photos, scans) by content hash (hex SHA-256), kept apart from
//!   the documents, which list only their metadata. A blob attached on this device is `pending`
//!   until a server has acknowledged it ([`Store::pending_blobs`], [`Store::mark_blob_sent`]);
//!   one received from a server is not ([`Store::put_blob`]).
//! - `schema_layers`: the versions of other crates' tables in the same file (a server's), see
//!   [`Layer`].
//!
//! # Modules
//! Each concern is its own `impl Store` in its own module: `schema` (the migration
//! ladder and its layers), `documents` (snapshot and chunks), `cases`, `lists` (filters and
//! figures), `households`, `blobs` (attachments' bytes), `outbox` (and `rejected`), `received`
//! (merging what arrives from elsewhere), `parties` (parties' identities and matching them
//! across cases), `directory`, `maintenance` (reindex, compaction, bulk imports, storage),
//! `codec` (hex, SHA-256). Every public name is re-exported here.
//!
//! # Writing beside the store
//! [`Store::write`] runs a closure in one IMMEDIATE transaction (committed on `Ok`, rolled back
//! on `Err` or a panic) and [`Store::read`] runs one read-only: how a server
//! keeps its own tables in the same file, registered as a [`Layer`] with
//! [`Store::open_with`]. The raw connection is not public.
//!
//! # Durability
//! WAL with `synchronous = FULL`: when a call returns `Ok`, the action is on disk. Every action
//! (the document chunk, its outbox entries, the summary) is written in one transaction; if any
//! part fails nothing is written, and the document is re-read from disk on the next call, so a
//! failed save leaves no trace in memory either.
//!
//! # Damage
//! A document whose bytes are corrupt gives [`Error::CorruptDocument`] when it is opened; the
//! other documents, the lists and the figures keep working.

mod blobs;
mod cases;
mod codec;
mod directory;
mod documents;
mod households;
mod lists;
pub mod lower;
mod maintenance;
mod outbox;
mod parties;
mod received;
#[cfg(feature = "replication")]
mod replica;
mod schema;
mod warnings;

pub use blobs::{check_attachment, check_signature_image, SignatureImage};
pub use cases::{CaseView, NewCaseDocs};
pub use codec::{hex, sha256_hex, unhex};
pub use documents::COMPACT_AFTER;
pub use lists::{CaseFilter, DueFilter, ListOrder, OrderFilter};
pub use maintenance::{ReindexReport, StorageFigures};
pub use outbox::OutboxEntry;
pub use parties::{party_village, CaseMatch, PartyKeys, DUPLICATE_WINDOW_DAYS};
pub use received::{decode_changes, prepare_detached, prepare_document, Received};
#[cfg(feature = "replication")]
pub use replica::{LogEntry, SharedLog, CATCH_UP_BATCH};
pub use schema::{migrate, Layer, SCHEMA_VERSION};
pub use warnings::{horizon_days, Evaluated, Oversight};

/// What the write-ahead log is cut back to at each checkpoint, in bytes.
pub const WAL_LIMIT_BYTES: i64 = 1 << 20;

pub use crate::model::{ATTACHMENT_TYPES, MAX_ATTACHMENT_BYTES};
/// See [`crate::validate::is_phone`].
pub use crate::validate::{is_phone, is_resident_id};

/// How many prepared statements each connection keeps (rusqlite's default is 16). A server's
/// writer runs a few dozen distinct statements per sync; with 16 they evicted one another and
/// every write was parsed again.
pub const STATEMENT_CACHE: usize = 256;

/// `execute` through the connection's statement cache: for statements a store runs on every
/// write (rusqlite's `execute` parses the SQL each time).
pub trait CachedExecute {
    fn exec<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize>;
}

impl CachedExecute for Connection {
    fn exec<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }
}

use crate::error::{Error, Result};
use crate::org::Directory;
use crate::taxonomy::Taxonomy;
use automerge::ActorId;
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use std::path::{Path, PathBuf};

/// The local SQLite store.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    /// A second connection to the same file, opened read-only, for [`Store::read`]; `None` for
    /// a store in memory, whose reads run on `conn` under `PRAGMA query_only`. Toggling that
    /// pragma expires every statement the connection has prepared, so a server that reads and
    /// writes in turn would parse its cached statements again after every read.
    reader: Option<Connection>,
    path: PathBuf,
    actor_id: ActorId,
    directory: std::sync::Arc<Directory>,
    taxonomy: Taxonomy,
    /// The shared log this store is a replica of (a server with several processes).
    #[cfg(feature = "replication")]
    replication: Option<replica::Replication>,
}

impl Store {
    /// Opens (creating if needed) the store at `path`, migrating it to this version.
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        Store::open_with(path, &[])
    }

    /// Opens the store at `path` with other tables of the caller's in the same file: each
    /// [`Layer`] is brought to its latest version in the transaction that migrates the core's
    /// schema (see [`migrate`]). A file whose core schema or any of these layers is newer than
    /// this build knows is refused.
    pub fn open_with(path: impl AsRef<Path>, layers: &[Layer]) -> Result<Store> {
        let path = path.as_ref().to_path_buf();
        let mut conn = Connection::open(&path)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // The write-ahead log is cut back to this size at every checkpoint (SQLite checkpoints
        // on its own every 1,000 pages, ~4 MiB); a device also empties it after every sync
        // ([`Store::checkpoint`]).
        conn.pragma_update(None, "journal_size_limit", WAL_LIMIT_BYTES)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrate(&mut conn, layers)?;
        let actor_id = match conn
            .query_row("SELECT value FROM meta WHERE key = 'actor'", [], |r| {
                r.get::<_, String>(0)
            })
            .optional()?
        {
            Some(h) => ActorId::from(unhex(&h).ok_or_else(|| {
                Error::invalid("actor", "the stored device actor id is not hexadecimal")
            })?),
            None => {
                let a = ActorId::random();
                conn.execute(
                    "INSERT INTO meta(key, value) VALUES ('actor', ?1)",
                    [hex(a.to_bytes())],
                )?;
                a
            }
        };
        let directory = std::sync::Arc::new(Self::read_directory(&conn)?);
        let reader = open_reader(&path)?;
        let mut store = Store {
            conn,
            reader,
            path,
            actor_id,
            directory,
            taxonomy: Taxonomy::default(),
            #[cfg(feature = "replication")]
            replication: None,
        };
        if store.meta("needs_reindex")?.as_deref() == Some("1") {
            store.reindex()?;
        }
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The automerge actor id of this replica: every change it makes carries it.
    pub fn actor_id(&self) -> &ActorId {
        &self.actor_id
    }

    pub fn directory(&self) -> &Directory {
        &self.directory
    }

    /// The directory, shared: for work done without holding the store (a server checking an
    /// upload while other requests use the store).
    pub fn directory_shared(&self) -> std::sync::Arc<Directory> {
        self.directory.clone()
    }

    pub fn taxonomy(&self) -> &Taxonomy {
        &self.taxonomy
    }

    /// A value this device keeps about itself (sync credentials, cursor…).
    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?)
    }

    pub fn set_meta(&mut self, key: &str, value: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2",
                params![key, value],
            )
        })?;
        Ok(())
    }

    /// Changes when anything is written to the file: the rows this connection has changed
    /// since it opened, and SQLite's `data_version` (which moves when another connection
    /// commits). Equal stamps mean nothing was written in between; a derived result (the
    /// early-warning alerts) kept with its stamp holds while the stamp does.
    pub fn change_stamp(&self) -> Result<(u64, i64)> {
        let version: i64 = self
            .conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))?;
        Ok((self.conn.total_changes(), version))
    }

    /// Runs `f` in one IMMEDIATE transaction: committed if `f` returns `Ok`, rolled back if it
    /// returns `Err` or panics. For tables kept beside the store's (a server's), so that what
    /// they record is durable together or not at all.
    pub fn write<T, E>(
        &mut self,
        f: impl FnOnce(&Transaction<'_>) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E>
    where
        E: From<rusqlite::Error>,
    {
        #[cfg(feature = "replication")]
        if self.replication.is_some() {
            return self.write_replicated(f);
        }
        write_in(&mut self.conn, f)
    }

    /// Runs `f` read-only, on a connection opened read-only (a write in `f` fails; writes go
    /// through [`Store::write`]). Each statement sees what is committed when it runs.
    pub fn read<T, E>(
        &self,
        f: impl FnOnce(&Connection) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E>
    where
        E: From<rusqlite::Error>,
    {
        if let Some(reader) = &self.reader {
            return f(reader);
        }
        let guard = QueryOnly::set(&self.conn)?;
        let out = f(&self.conn);
        guard.reset()?;
        out
    }

    /// The raw connection, for the store's tests that damage or inspect the file.
    #[cfg(test)]
    pub(crate) fn connection(&self) -> &Connection {
        &self.conn
    }
}

/// One IMMEDIATE transaction around `f`: committed on `Ok`; rolled back on `Err`, and on a panic
/// (the transaction is dropped while unwinding, and a dropped transaction rolls back).
fn write_in<T, E>(
    conn: &mut Connection,
    f: impl FnOnce(&Transaction<'_>) -> std::result::Result<T, E>,
) -> std::result::Result<T, E>
where
    E: From<rusqlite::Error>,
{
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let out = f(&tx)?;
    tx.commit()?;
    Ok(out)
}

/// The read-only connection beside the store's at `path`, or `None` for a store in memory
/// (another connection to `:memory:` would be another, empty database).
fn open_reader(path: &Path) -> Result<Option<Connection>> {
    let name = path.to_string_lossy();
    if name.is_empty() || name == ":memory:" || name.starts_with("file::memory:") {
        return Ok(None);
    }
    let reader = Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    reader.busy_timeout(std::time::Duration::from_secs(5))?;
    reader.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(Some(reader))
}

/// `PRAGMA query_only` for the length of a [`Store::read`] of a store in memory, turned off
/// again even if the read panics.
struct QueryOnly<'c>(Option<&'c Connection>);

impl<'c> QueryOnly<'c> {
    fn set(conn: &'c Connection) -> rusqlite::Result<QueryOnly<'c>> {
        if conn.pragma_query_value(None, "query_only", |r| r.get::<_, bool>(0))? {
            // A read within a read: the outer one turns it off.
            return Ok(QueryOnly(None));
        }
        conn.pragma_update(None, "query_only", true)?;
        Ok(QueryOnly(Some(conn)))
    }

    fn reset(mut self) -> rusqlite::Result<()> {
        match self.0.take() {
            Some(conn) => conn.pragma_update(None, "query_only", false),
            None => Ok(()),
        }
    }
}

impl Drop for QueryOnly<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.0.take() {
            let _ = conn.pragma_update(None, "query_only", false);
        }
    }
}

#[cfg(test)]
mod tests;
