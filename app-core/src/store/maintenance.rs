//! Work on the whole store: rebuilding every summary from the documents, compacting every
//! document, bulk imports (demo data, a restore), and the bytes the documents take.

use super::parties::Contacts;
use super::Store;
use crate::document::{CaseDoc, ContactsDocument, DocKind, HouseholdDoc, VisitBookDoc};
use crate::error::Result;
use crate::ids::{CaseId, HouseholdId};
use rusqlite::params;

/// What [`Store::reindex`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReindexReport {
    pub cases: usize,
    pub households: usize,
    /// Documents that could not be read, with the reason; their old summaries are kept.
    pub damaged: Vec<(String, String)>,
}

/// Bytes held for documents.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StorageFigures {
    pub documents: u64,
    pub snapshot_bytes: u64,
    pub chunk_bytes: u64,
    pub chunks: u64,
    pub outbox: u64,
}

impl Store {
    /// Bulk import of documents built elsewhere (demo data, a restore), in one transaction,
    /// not queued for upload.
    pub fn import_cases(
        &mut self,
        cases: impl IntoIterator<Item = (CaseDoc, Option<ContactsDocument>)>,
        now_ms: i64,
    ) -> Result<usize> {
        let mut prepared = Vec::new();
        for (mut doc, contacts) in cases {
            let (summary, parties) = self.summarise_parties(&doc)?;
            let stored = match &contacts {
                Some(c) => Some(c.to_automerge(&self.actor_id)?),
                None => None,
            };
            let key = DocKind::Case.key(doc.id().as_str());
            prepared.push((key, doc.save(), stored, summary, parties, contacts));
        }
        self.write(|tx| -> Result<usize> {
            let n = prepared.len();
            for (key, bytes, contacts, summary, parties, read) in prepared {
                tx.execute(
                    "INSERT INTO documents(key, kind, snapshot, chunks, updated_at)
                     VALUES (?1, 'case', ?2, 0, ?3)",
                    params![key, bytes, now_ms],
                )?;
                if let Some(mut c) = contacts {
                    Self::insert_document(
                        tx,
                        &DocKind::Contacts.key(summary.id.as_str()),
                        DocKind::Contacts,
                        &mut c,
                        false,
                        now_ms,
                    )?;
                }
                Self::write_summary(tx, &summary)?;
                let read = read
                    .as_ref()
                    .filter(|_| summary.contacts_erased_at.is_none());
                Self::index_parties(tx, summary.id.as_str(), parties, Contacts::Known(read))?;
            }
            Ok(n)
        })
    }

    /// Bulk import of households.
    pub fn import_households(
        &mut self,
        households: impl IntoIterator<Item = HouseholdDoc>,
        now_ms: i64,
    ) -> Result<usize> {
        self.write(|tx| -> Result<usize> {
            let mut n = 0;
            for mut h in households {
                let read = h.read()?;
                Self::insert_document(
                    tx,
                    &DocKind::Household.key(read.id.as_str()),
                    DocKind::Household,
                    h.automerge(),
                    false,
                    now_ms,
                )?;
                Self::write_household_summary(tx, &read)?;
                n += 1;
            }
            Ok(n)
        })
    }

    /// Rebuilds every summary from the documents. A damaged document is reported and its old
    /// summary kept; it does not stop the others.
    pub fn reindex(&mut self) -> Result<ReindexReport> {
        let mut report = ReindexReport::default();
        let keys: Vec<(String, String)> = {
            let mut stmt = self.conn.prepare("SELECT key, kind FROM documents")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let mut cases = Vec::new();
        let mut households = Vec::new();
        let mut books = Vec::new();
        for (key, kind) in keys {
            let id = key.split_once(':').map_or("", |(_, id)| id).to_owned();
            let result = match kind.as_str() {
                "case" => self
                    .load_case(&CaseId::new(&id))
                    .and_then(|d| self.summarise_parties(&d))
                    .map(|(s, p)| cases.push((s, p, None))),
                "household" => self
                    .load_household(&HouseholdId::new(&id))
                    .and_then(|h| h.read())
                    .map(|h| households.push(h)),
                "visits" => self
                    .load_bytes(&key)
                    .and_then(|b| {
                        VisitBookDoc::load(&id, &b.unwrap_or_default(), &self.actor_id)?.read()
                    })
                    .map(|b| books.push(b)),
                _ => Ok(()),
            };
            if let Err(e) = result {
                report.damaged.push((key, e.to_string()));
            }
        }
        // The parties' contacts, unless erased. A damaged contacts document is reported, and its
        // case indexed without it.
        for (summary, _, contacts) in &mut cases {
            if summary.contacts_erased_at.is_some() {
                continue;
            }
            let key = DocKind::Contacts.key(summary.id.as_str());
            let read = self.load_automerge(&key).and_then(|d| {
                d.map(|d| ContactsDocument::from_automerge(&key, &d))
                    .transpose()
            });
            match read {
                Ok(c) => *contacts = c,
                Err(e) => report.damaged.push((key, e.to_string())),
            }
        }
        self.write(|tx| -> Result<()> {
            for (s, parties, contacts) in &mut cases {
                Self::write_summary(tx, s)?;
                let parties = std::mem::take(parties);
                Self::index_parties(
                    tx,
                    s.id.as_str(),
                    parties,
                    Contacts::Known(contacts.as_ref()),
                )?;
            }
            // Index rows of cases that are no longer here.
            tx.execute(
                "DELETE FROM case_parties WHERE case_id NOT IN (SELECT id FROM cases)",
                [],
            )?;
            tx.execute(
                "DELETE FROM party_keys WHERE case_id NOT IN (SELECT id FROM cases)",
                [],
            )?;
            // Volumes before households: a household's row counts its volumes' visits.
            for b in &books {
                Self::write_visit_book_summary(tx, b)?;
            }
            for h in &households {
                Self::write_household_summary(tx, h)?;
            }
            tx.execute("DELETE FROM meta WHERE key = 'needs_reindex'", [])?;
            Ok(())
        })?;
        report.cases = cases.len();
        report.households = households.len();
        Ok(report)
    }

    /// Folds every document's chunks into a fresh snapshot.
    pub fn compact_all(&mut self) -> Result<usize> {
        let keys: Vec<String> = {
            let mut stmt = self
                .conn
                .prepare("SELECT key FROM documents WHERE chunks > 0")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let mut n = 0;
        for key in keys {
            let Some(mut doc) = self.load_automerge(&key)? else {
                continue;
            };
            self.write(|tx| -> Result<()> {
                tx.execute("DELETE FROM document_chunks WHERE key = ?1", [&key])?;
                tx.execute(
                    "UPDATE documents SET snapshot = ?2, chunks = 0 WHERE key = ?1",
                    params![key, doc.save()],
                )?;
                Ok(())
            })?;
            n += 1;
        }
        Ok(n)
    }

    /// How many bytes the documents take.
    /// Moves everything in the write-ahead log into the database file and empties the log
    /// (`wal_checkpoint(TRUNCATE)`). Returns whether it could: another connection reading the
    /// file may hold it back, and then the log is simply emptied next time.
    pub fn checkpoint(&mut self) -> Result<bool> {
        let busy: i64 = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
        Ok(busy == 0)
    }

    /// The size of the write-ahead log file beside the database, in bytes (0 when there is
    /// none).
    pub fn wal_bytes(&self) -> u64 {
        let mut wal = self.path().as_os_str().to_owned();
        wal.push("-wal");
        std::fs::metadata(wal).map(|m| m.len()).unwrap_or(0)
    }

    pub fn storage(&self) -> Result<StorageFigures> {
        Ok(self.conn.query_row(
            "SELECT (SELECT COUNT(*) FROM documents),
                    (SELECT COALESCE(SUM(LENGTH(snapshot)), 0) FROM documents),
                    (SELECT COALESCE(SUM(LENGTH(bytes)), 0) FROM document_chunks),
                    (SELECT COUNT(*) FROM document_chunks),
                    (SELECT COUNT(*) FROM outbox)",
            [],
            |r| {
                Ok(StorageFigures {
                    documents: r.get::<_, i64>(0)? as u64,
                    snapshot_bytes: r.get::<_, i64>(1)? as u64,
                    chunk_bytes: r.get::<_, i64>(2)? as u64,
                    chunks: r.get::<_, i64>(3)? as u64,
                    outbox: r.get::<_, i64>(4)? as u64,
                })
            },
        )?)
    }
}
