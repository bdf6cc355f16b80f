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
//! - `units`, `people`: the directory this device knows.
//! - `blobs`: attachments' bytes (photos, scans) by content hash (hex SHA-256), kept apart from
//!   the documents, which list only their metadata. A blob attached on this device is `pending`
//!   until a server has acknowledged it ([`Store::pending_blobs`], [`Store::mark_blob_sent`]);
//!   one received from a server is not ([`Store::put_blob`]).
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
mod maintenance;
mod outbox;
mod received;
mod schema;

pub use blobs::check_attachment;
pub use cases::CaseView;
pub use codec::{hex, sha256_hex, unhex};
pub use documents::COMPACT_AFTER;
pub use lists::{CaseFilter, DueFilter};
pub use maintenance::{ReindexReport, StorageFigures};
pub use outbox::OutboxEntry;
pub use received::{decode_changes, prepare_detached, prepare_document, Received};
pub use schema::{migrate, SCHEMA_VERSION};

pub use crate::model::{ATTACHMENT_TYPES, MAX_ATTACHMENT_BYTES};
/// See [`crate::validate::is_phone`].
pub use crate::validate::{is_phone, is_resident_id};

use crate::error::{Error, Result};
use crate::org::Directory;
use crate::taxonomy::Taxonomy;
use automerge::ActorId;
use rusqlite::{params, Connection, OptionalExtension};
use std::path::{Path, PathBuf};

/// The local SQLite store.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
    actor_id: ActorId,
    directory: std::sync::Arc<Directory>,
    taxonomy: Taxonomy,
}

impl Store {
    /// Opens (creating if needed) the store at `path`, migrating it to this version.
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        let path = path.as_ref().to_path_buf();
        let mut conn = Connection::open(&path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrate(&mut conn)?;
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
        let mut store = Store {
            conn,
            path,
            actor_id,
            directory,
            taxonomy: Taxonomy::default(),
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
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    pub fn set_meta(&mut self, key: &str, value: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2",
            params![key, value],
        )?;
        Ok(())
    }

    /// The raw connection, for tests that need to damage or inspect the file.
    #[doc(hidden)]
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The SQLite connection, for a server's own tables written alongside the core's.
    #[doc(hidden)]
    pub fn connection_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }
}

#[cfg(test)]
mod tests;
