//! The outbox: local changes a server has not acknowledged yet, by change hash; and the
//! `rejected` table, where changes a server refused are set aside (never deleted).

use super::parties::Contacts;
use super::Store;
use crate::document::{CaseDoc, ContactsDocument, DocKind, HouseholdDoc, VisitBookDoc};
use crate::error::{Error, Result};
use crate::ids::{CaseId, HouseholdId};
use automerge::{AutoCommit, Change, ChangeHash};
use rusqlite::{params, Transaction};
use std::collections::HashSet;

/// A local change waiting for a server's acknowledgement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxEntry {
    pub seq: i64,
    /// The document's storage key, `kind:id`.
    pub key: String,
    pub hash: ChangeHash,
    pub change: Vec<u8>,
}

impl Store {
    pub(super) fn enqueue(tx: &Transaction<'_>, key: &str, changes: Vec<Change>) -> Result<()> {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO outbox(key, hash, change) VALUES (?1, ?2, ?3) ON CONFLICT(hash) DO NOTHING",
        )?;
        for mut change in changes {
            let hash = change.hash().to_string();
            stmt.execute(params![key, hash, change.bytes().as_ref()])?;
        }
        Ok(())
    }

    /// Local changes not yet acknowledged by a server, oldest first.
    pub fn outbox(&self, limit: usize) -> Result<Vec<OutboxEntry>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT seq, key, hash, change FROM outbox ORDER BY seq LIMIT ?1")?;
        let rows = stmt.query_map([limit as i64], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Vec<u8>>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, key, hash, change) = row?;
            let hash = hash
                .parse()
                .map_err(|_| Error::invalid("outbox", format!("entry {seq} has a bad hash")))?;
            out.push(OutboxEntry {
                seq,
                key,
                hash,
                change,
            });
        }
        Ok(out)
    }

    /// How many changes wait in the outbox.
    pub fn outbox_len(&self) -> Result<usize> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get::<_, i64>(0))?
            as usize)
    }

    /// Drops acknowledged changes from the outbox. Unknown hashes are ignored (an
    /// acknowledgement may arrive twice).
    pub fn acknowledge(&mut self, hashes: &[ChangeHash]) -> Result<usize> {
        self.write(|tx| -> Result<usize> {
            let mut n = 0;
            {
                let mut stmt = tx.prepare_cached("DELETE FROM outbox WHERE hash = ?1")?;
                for h in hashes {
                    n += stmt.execute([h.to_string()])?;
                }
            }
            Ok(n)
        })
    }

    /// Sets a document's unacknowledged changes aside after a server refused them (`code`,
    /// `message`), and brings the document back to what the server has: the changes stay in the
    /// `rejected` table (nothing is lost, the user sees why), the document is rebuilt without
    /// them, its summary with it, so later work builds on the server's version and syncs. A
    /// document the server never had (a refused report) leaves the lists. Returns how many
    /// changes were set aside. One transaction: a crash leaves either the old state or the new.
    pub fn quarantine(
        &mut self,
        key: &str,
        code: &str,
        message: &str,
        now_ms: i64,
    ) -> Result<usize> {
        let refused: HashSet<ChangeHash> = {
            let mut stmt = self
                .conn
                .prepare_cached("SELECT hash FROM outbox WHERE key = ?1")?;
            let rows = stmt.query_map([key], |r| r.get::<_, String>(0))?;
            rows.filter_map(|h| h.ok().and_then(|h| h.parse().ok()))
                .collect()
        };
        let mut rebuilt = match self.load_automerge(key)? {
            Some(mut doc) if !refused.is_empty() => {
                // Everything but the refused changes and what was built on them (only this
                // device has either).
                let mut dropped = refused.clone();
                let mut kept = Vec::new();
                for c in doc.get_changes(&[]) {
                    if c.deps().iter().any(|d| dropped.contains(d)) || dropped.contains(&c.hash()) {
                        dropped.insert(c.hash());
                    } else {
                        kept.push(c);
                    }
                }
                let mut fresh = AutoCommit::new().with_actor(self.actor_id.clone());
                fresh.apply_changes(kept)?;
                Some(fresh)
            }
            _ => None,
        };
        let (kind, id) = DocKind::parse_key(key)
            .map(|(k, id)| (Some(k), id.to_owned()))
            .unwrap_or((None, String::new()));
        // The rebuilt document's summary, read before the transaction.
        let mut summary = None;
        let mut parties = None;
        let mut contacts = None;
        let mut household = None;
        let mut book = None;
        // A volume's household is counted again once the volume is set back.
        let mut household_of_book = None;
        if let (Some(DocKind::VisitBook), Some((h, _))) = (kind, VisitBookDoc::parse_id(&id)) {
            household_of_book = self.load_household(&h).and_then(|h| h.read()).ok();
        }
        if let Some(doc) = rebuilt.as_mut() {
            if !doc.get_heads().is_empty() {
                match kind {
                    Some(DocKind::Case) => {
                        let case = CaseDoc::from_automerge(CaseId::new(&id), doc.clone());
                        let (s, p) = self.summarise_parties(&case)?;
                        summary = Some(s);
                        parties = Some(p);
                    }
                    Some(DocKind::Contacts) => {
                        contacts = Some(ContactsDocument::from_automerge(key, doc)?);
                    }
                    Some(DocKind::Household) => {
                        let h = HouseholdDoc::from_automerge(HouseholdId::new(&id), doc.clone());
                        household = Some(h.read()?);
                    }
                    Some(DocKind::VisitBook) => {
                        book = Some(VisitBookDoc::from_automerge(&id, doc.clone()).read()?);
                    }
                    _ => {}
                }
            }
        }
        self.write(|tx| -> Result<usize> {
            tx.execute(
                "INSERT OR IGNORE INTO rejected(hash, key, change, code, message, at)
                 SELECT hash, key, change, ?2, ?3, ?4 FROM outbox WHERE key = ?1",
                params![key, code, message, now_ms],
            )?;
            let n = tx.execute("DELETE FROM outbox WHERE key = ?1", [key])?;
            if let Some(mut doc) = rebuilt {
                tx.execute("DELETE FROM document_chunks WHERE key = ?1", [key])?;
                if doc.get_heads().is_empty() {
                    // The server never had this document.
                    tx.execute("DELETE FROM documents WHERE key = ?1", [key])?;
                    match kind {
                        Some(DocKind::Case) => {
                            tx.execute("DELETE FROM cases WHERE id = ?1", [&id])?;
                            tx.execute("DELETE FROM case_units WHERE case_id = ?1", [&id])?;
                            tx.execute("DELETE FROM case_people WHERE case_id = ?1", [&id])?;
                            Self::drop_parties(tx, &id)?;
                        }
                        Some(DocKind::Contacts) => Self::index_contacts(tx, &id, None)?,
                        Some(DocKind::Household) => {
                            tx.execute("DELETE FROM households WHERE id = ?1", [&id])?;
                            // Its own visits go with it; its volumes' are in no grid held here.
                            tx.execute(
                                "DELETE FROM visits WHERE household = ?1 AND volume = 0",
                                [&id],
                            )?;
                            tx.execute(
                                "UPDATE visits SET grid = NULL WHERE household = ?1",
                                [&id],
                            )?;
                        }
                        Some(DocKind::VisitBook) => {
                            if let Some((h, volume)) = VisitBookDoc::parse_id(&id) {
                                tx.execute(
                                    "DELETE FROM visit_books WHERE household = ?1 AND volume = ?2",
                                    params![h.as_str(), volume as i64],
                                )?;
                                tx.execute(
                                    "DELETE FROM visits WHERE household = ?1 AND volume = ?2",
                                    params![h.as_str(), volume as i64],
                                )?;
                            }
                        }
                        _ => {}
                    }
                } else {
                    tx.execute(
                        "UPDATE documents SET snapshot = ?2, chunks = 0, updated_at = ?3 WHERE key = ?1",
                        params![key, doc.save(), now_ms],
                    )?;
                    if let Some(s) = &summary {
                        Self::write_summary(tx, s)?;
                        if let Some(p) = parties.take() {
                            Self::index_parties(tx, &id, p, Contacts::stored_unless_erased(s))?;
                        }
                    }
                    if let Some(c) = &contacts {
                        Self::index_contacts(tx, &id, Some(c))?;
                    }
                    if let Some(h) = &household {
                        Self::write_household_summary(tx, h)?;
                    }
                    if let Some(b) = &book {
                        Self::write_visit_book_summary(tx, b)?;
                    }
                }
                if let Some(h) = &household_of_book {
                    Self::write_household_summary(tx, h)?;
                }
            }
            Ok(n)
        })
    }

    /// Documents whose local changes a server refused: (key, code, message, changes).
    pub fn rejected(&self) -> Result<Vec<(String, String, String, usize)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT key, MIN(code), MIN(message), COUNT(*) FROM rejected GROUP BY key ORDER BY MIN(at)",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get::<_, i64>(3)? as usize,
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }
}
