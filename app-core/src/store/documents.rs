//! How a document is kept: a snapshot plus incremental chunks (`documents`,
//! `document_chunks`), compacted into a fresh snapshot every [`COMPACT_AFTER`] chunks. Loading,
//! inserting a new document whole, appending a save's changes as one chunk.

use super::CachedExecute;
use super::Store;
use crate::document::{CaseDoc, DocKind, HouseholdDoc};
use crate::error::{Error, Result};
use crate::ids::{CaseId, HouseholdId};
use automerge::{AutoCommit, ChangeHash};
use rusqlite::{params, Connection, OptionalExtension, Transaction};

/// A document is compacted into a fresh snapshot once it has this many incremental chunks.
pub const COMPACT_AFTER: i64 = 16;

impl Store {
    pub(super) fn load_bytes(&self, key: &str) -> Result<Option<Vec<u8>>> {
        Self::load_bytes_in(&self.conn, key)
    }

    /// A stored document's bytes (snapshot and chunks) read on `conn`: in a write transaction,
    /// what the transaction has written so far.
    pub(super) fn load_bytes_in(conn: &Connection, key: &str) -> Result<Option<Vec<u8>>> {
        let Some(mut bytes) = conn
            .prepare_cached("SELECT snapshot FROM documents WHERE key = ?1")?
            .query_row([key], |r| r.get::<_, Vec<u8>>(0))
            .optional()?
        else {
            return Ok(None);
        };
        let mut stmt =
            conn.prepare_cached("SELECT bytes FROM document_chunks WHERE key = ?1 ORDER BY seq")?;
        for chunk in stmt.query_map([key], |r| r.get::<_, Vec<u8>>(0))? {
            bytes.extend_from_slice(&chunk?);
        }
        Ok(Some(bytes))
    }

    pub(super) fn load_automerge(&self, key: &str) -> Result<Option<AutoCommit>> {
        match self.load_bytes(key)? {
            None => Ok(None),
            Some(bytes) => AutoCommit::load(&bytes)
                .map(|d| Some(d.with_actor(self.actor_id.clone())))
                .map_err(|e| Error::CorruptDocument {
                    id: key.to_owned(),
                    reason: e.to_string(),
                }),
        }
    }

    pub(super) fn load_case(&self, id: &CaseId) -> Result<CaseDoc> {
        let key = DocKind::Case.key(id.as_str());
        let bytes = self
            .load_bytes(&key)?
            .ok_or_else(|| Error::UnknownCase(id.clone()))?;
        CaseDoc::load(id.clone(), &bytes, &self.actor_id)
    }

    pub(super) fn load_household(&self, id: &HouseholdId) -> Result<HouseholdDoc> {
        let key = DocKind::Household.key(id.as_str());
        let bytes = self
            .load_bytes(&key)?
            .ok_or_else(|| Error::UnknownHousehold(id.clone()))?;
        HouseholdDoc::load(id.clone(), &bytes, &self.actor_id)
    }

    /// Writes a new document whole.
    pub(super) fn insert_document(
        tx: &Transaction<'_>,
        key: &str,
        kind: DocKind,
        doc: &mut AutoCommit,
        local: bool,
        now_ms: i64,
    ) -> Result<()> {
        Self::insert_saved(tx, key, kind, &doc.save(), now_ms)?;
        if local {
            Self::enqueue(tx, key, doc.get_changes(&[]))?;
        }
        Ok(())
    }

    /// Stores a new document from its saved bytes.
    pub(super) fn insert_saved(
        tx: &Transaction<'_>,
        key: &str,
        kind: DocKind,
        saved: &[u8],
        now_ms: i64,
    ) -> Result<()> {
        tx.exec(
            "INSERT INTO documents(key, kind, snapshot, chunks, updated_at)
             VALUES (?1, ?2, ?3, 0, ?4)",
            params![key, kind.code(), saved, now_ms],
        )?;
        Ok(())
    }

    /// Appends the changes made since `before` as one chunk (compacting when due) and, for
    /// local changes, queues them in the outbox.
    pub(super) fn append_changes(
        tx: &Transaction<'_>,
        key: &str,
        doc: &mut AutoCommit,
        before: &[ChangeHash],
        local: bool,
        now_ms: i64,
    ) -> Result<()> {
        Self::write_chunk(tx, key, doc, before, now_ms)?;
        if local {
            Self::enqueue(tx, key, doc.get_changes(before))?;
        }
        Ok(())
    }

    /// Stores the changes since `before` as a new chunk, or, when the document has
    /// [`COMPACT_AFTER`] chunks, replaces snapshot and chunks with a fresh snapshot.
    pub(super) fn write_chunk(
        tx: &Transaction<'_>,
        key: &str,
        doc: &mut AutoCommit,
        before: &[ChangeHash],
        now_ms: i64,
    ) -> Result<()> {
        Self::write_chunk_of(tx, key, doc, before, None, now_ms)
    }

    /// [`Store::write_chunk`] with the chunk (`doc.save_after(before)`) serialised beforehand,
    /// when it was.
    pub(super) fn write_chunk_of(
        tx: &Transaction<'_>,
        key: &str,
        doc: &mut AutoCommit,
        before: &[ChangeHash],
        chunk: Option<Vec<u8>>,
        now_ms: i64,
    ) -> Result<()> {
        let chunks: i64 = tx
            .prepare_cached("SELECT chunks FROM documents WHERE key = ?1")?
            .query_row([key], |r| r.get(0))?;
        if chunks + 1 >= COMPACT_AFTER {
            tx.exec("DELETE FROM document_chunks WHERE key = ?1", [key])?;
            tx.exec(
                "UPDATE documents SET snapshot = ?2, chunks = 0, updated_at = ?3 WHERE key = ?1",
                params![key, doc.save(), now_ms],
            )?;
        } else {
            tx.exec(
                "INSERT INTO document_chunks(key, seq, bytes)
                 VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM document_chunks WHERE key = ?1), ?2)",
                params![key, chunk.unwrap_or_else(|| doc.save_after(before))],
            )?;
            tx.exec(
                "UPDATE documents SET chunks = chunks + 1, updated_at = ?2 WHERE key = ?1",
                params![key, now_ms],
            )?;
        }
        Ok(())
    }

    /// The heads of a stored document (empty if it is not here).
    pub fn heads(&self, kind: DocKind, id: &str) -> Result<Vec<ChangeHash>> {
        Ok(self
            .load_automerge(&kind.key(id))?
            .map(|mut d| d.get_heads())
            .unwrap_or_default())
    }

    /// A stored document's bytes as kept (its snapshot followed by its chunks): a valid input to
    /// automerge's `load`, without the cost of loading and saving it.
    pub fn document_bytes(&self, kind: DocKind, id: &str) -> Result<Option<Vec<u8>>> {
        self.load_bytes(&kind.key(id))
    }

    /// A stored document, loaded (`None` if it is not here).
    pub fn load_document(&self, kind: DocKind, id: &str) -> Result<Option<AutoCommit>> {
        self.load_automerge(&kind.key(id))
    }
}
