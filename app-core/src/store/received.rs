//! What arrives from elsewhere (a server, a device's upload, a parent server): changes or whole
//! documents merged in memory and read ([`Received`]), checked by the caller if it wants, then
//! written in one transaction with whatever the caller writes alongside. Nothing received goes
//! to the outbox.

use super::parties::Contacts;
use super::Store;
use crate::document::{
    CaseDoc, ContactsDocument, DocKind, HouseholdDoc, HouseholdDocument, VisitBookDoc,
    VisitBookDocument,
};
use crate::error::{Error, Result};
use crate::ids::{CaseId, HouseholdId};
use crate::model::CaseDocument;
use crate::org::Directory;
use crate::summary::CaseSummary;
use automerge::{ActorId, AutoCommit, Change, ChangeHash};
use rusqlite::Transaction;

/// A document with received changes merged in memory, read and summarised, not yet written:
/// what [`Store::prepare_changes`] gives and [`Store::commit_received`] writes. A server checks
/// it in between (who wrote the changes, what they did) and drops it if it is refused.
#[derive(Debug)]
pub struct Received {
    pub key: String,
    pub kind: DocKind,
    pub id: String,
    /// The document did not exist here before.
    pub is_new: bool,
    /// The merged document.
    pub doc: AutoCommit,
    /// Its heads before the merge (empty for a new document).
    pub before: Vec<ChangeHash>,
    /// The received changes that were new here, in causal order (empty when the document
    /// arrived whole).
    pub new_changes: Vec<Change>,
    /// For a case: the merged case, read.
    pub case: Option<CaseDocument>,
    pub summary: Option<CaseSummary>,
    /// For a case's contacts: the merged contacts, read.
    pub contacts: Option<ContactsDocument>,
    pub household: Option<HouseholdDocument>,
    /// For a volume of visits: the merged volume, read.
    pub visit_book: Option<VisitBookDocument>,
    /// What the commit writes, serialised beforehand ([`Received::encode`]).
    pub encoded: Option<Vec<u8>>,
}

impl Received {
    /// What the guard checks: the merged document, its heads before, the new changes.
    pub fn merged(&self) -> crate::guard::Merged<'_> {
        crate::guard::Merged {
            doc: &self.doc,
            before: &self.before,
            new: &self.new_changes,
        }
    }

    /// Serialises ahead of the commit what [`Store::commit_received`] writes of the document:
    /// the whole document when it is new here, else the changes since `before` as one chunk.
    /// A server does this outside its database's lock, after checking the upload, so that
    /// only the writing itself waits for the lock. (A document due for compaction is saved
    /// whole at the commit all the same.)
    pub fn encode(&mut self) {
        self.encoded = Some(if self.is_new {
            self.doc.save()
        } else {
            self.doc.save_after(&self.before)
        });
    }
}

impl Store {
    /// Merges changes received from elsewhere (a server, another replica) into a document,
    /// creating it if it is new here. Changes already held are ignored; nothing goes to the
    /// outbox. Bytes that are not automerge changes are refused and nothing is stored.
    pub fn apply_changes(
        &mut self,
        kind: DocKind,
        id: &str,
        changes: &[Vec<u8>],
        now_ms: i64,
    ) -> Result<()> {
        self.apply_changes_batch(&[(kind, id.to_owned(), changes.to_vec())], now_ms)
            .map(|_| ())
    }

    /// Merges received changes into many documents in one transaction (what one sync response
    /// carries). All or nothing: if any document's changes are corrupt or give a malformed
    /// document, nothing is stored. Returns how many documents changed.
    pub fn apply_changes_batch(
        &mut self,
        batch: &[(DocKind, String, Vec<Vec<u8>>)],
        now_ms: i64,
    ) -> Result<usize> {
        let mut merged = Vec::with_capacity(batch.len());
        for (kind, id, changes) in batch {
            let decoded = decode_changes(&kind.key(id), changes)?;
            if let Some(r) = self.prepare_changes(*kind, id, decoded)? {
                merged.push(r);
            }
        }
        let n = merged.len();
        if n > 0 {
            // Nothing new (an idle sync): no transaction, no fsync.
            self.write_received(merged, now_ms, |_, _| Ok(()))?;
        }
        Ok(n)
    }

    /// Merges decoded changes into a copy of a stored document (or a new one) in memory, and
    /// reads and summarises the result. `None` if they were all held already. Nothing is
    /// written: see [`Store::commit_received`]. Changes whose dependencies are missing here give
    /// [`Error::MissingDependencies`].
    pub fn prepare_changes(
        &self,
        kind: DocKind,
        id: &str,
        changes: Vec<Change>,
    ) -> Result<Option<Received>> {
        let existing = self.load_automerge(&kind.key(id))?;
        prepare_detached(&self.directory, &self.actor_id, kind, id, existing, changes)
    }

    /// Writes prepared documents in one transaction, and in the same transaction whatever
    /// `also` writes (a server's log of versions and scopes): all of it is durable together or
    /// none of it is.
    pub fn commit_received<F>(
        &mut self,
        received: Vec<Received>,
        now_ms: i64,
        also: F,
    ) -> Result<()>
    where
        F: FnOnce(&Transaction<'_>, &[Received]) -> Result<()>,
    {
        self.write_received(received, now_ms, also)
    }

    /// Merges a whole document's bytes (a `save`, or snapshot and chunks) into a copy of the
    /// stored one (or a new one) in memory, and reads the result; `None` if nothing was new.
    /// Nothing is written: see [`Store::commit_received`].
    pub fn prepare_document_bytes(
        &self,
        kind: DocKind,
        id: &str,
        bytes: &[u8],
    ) -> Result<Option<Received>> {
        let key = kind.key(id);
        let mut incoming = AutoCommit::load(bytes).map_err(|e| Error::CorruptDocument {
            id: key.clone(),
            reason: e.to_string(),
        })?;
        let existing = self.load_automerge(&key)?;
        let is_new = existing.is_none();
        let (doc, before) = match existing {
            Some(mut d) => {
                let before = d.get_heads();
                d.merge(&mut incoming)?;
                if d.get_heads() == before {
                    return Ok(None);
                }
                (d, before)
            }
            None => (incoming.with_actor(self.actor_id.clone()), Vec::new()),
        };
        self.prepare_received(kind, id, doc, before, is_new)
            .map(Some)
    }

    /// Merges many whole documents received from elsewhere in one transaction (what a first
    /// sync carries). All or nothing.
    pub fn merge_documents(
        &mut self,
        docs: &[(DocKind, String, Vec<u8>)],
        now_ms: i64,
    ) -> Result<usize> {
        let mut prepared = Vec::with_capacity(docs.len());
        for (kind, id, bytes) in docs {
            if let Some(r) = self.prepare_document_bytes(*kind, id, bytes)? {
                prepared.push(r);
            }
        }
        let n = prepared.len();
        if n > 0 {
            self.write_received(prepared, now_ms, |_, _| Ok(()))?;
        }
        Ok(n)
    }

    /// Merges a whole document received from elsewhere (for example a case that just came into
    /// this device's scope).
    pub fn merge_document(
        &mut self,
        kind: DocKind,
        id: &str,
        bytes: &[u8],
        now_ms: i64,
    ) -> Result<()> {
        self.merge_documents(&[(kind, id.to_owned(), bytes.to_vec())], now_ms)
            .map(|_| ())
    }

    /// Reads a merged document before anything is written: a merge that does not give a
    /// well-formed document is refused whole.
    pub(super) fn prepare_received(
        &self,
        kind: DocKind,
        id: &str,
        doc: AutoCommit,
        before: Vec<ChangeHash>,
        is_new: bool,
    ) -> Result<Received> {
        prepare_document(&self.directory, kind, id, doc, before, is_new)
    }

    pub(super) fn write_received<F>(
        &mut self,
        mut received: Vec<Received>,
        now_ms: i64,
        also: F,
    ) -> Result<()>
    where
        F: FnOnce(&Transaction<'_>, &[Received]) -> Result<()>,
    {
        // The parties of each case, in the village the directory gives its place.
        let mut parties: Vec<_> = received
            .iter()
            .map(|r| {
                r.case
                    .as_ref()
                    .map(|c| Self::party_rows(&self.directory, c))
            })
            .collect();
        self.write(|tx| -> Result<()> {
            for (r, parties) in received.iter_mut().zip(&mut parties) {
                match (r.is_new, r.encoded.take()) {
                    (true, Some(saved)) => {
                        Self::insert_saved(tx, &r.key, r.kind, &saved, now_ms)?;
                    }
                    (true, None) => {
                        Self::insert_document(tx, &r.key, r.kind, &mut r.doc, false, now_ms)?;
                    }
                    (false, chunk) => {
                        Self::write_chunk_of(tx, &r.key, &mut r.doc, &r.before, chunk, now_ms)?;
                    }
                }
                if let Some(s) = &r.summary {
                    Self::write_summary(tx, s)?;
                    if let Some(parties) = parties.take() {
                        let contacts = Contacts::stored_unless_erased(s);
                        Self::index_parties(tx, &r.id, parties, contacts)?;
                    }
                }
                if let Some(c) = &r.contacts {
                    Self::index_contacts(tx, &r.id, Some(c))?;
                }
                if let Some(h) = &r.household {
                    Self::write_household_summary(tx, h)?;
                }
                if let Some(b) = &r.visit_book {
                    Self::write_visit_book_summary(tx, b)?;
                }
            }
            also(tx, &received)?;
            Ok(())
        })
    }
}

/// Decodes received changes; bytes that are not an automerge change name the document and the
/// change's position.
pub fn decode_changes(key: &str, changes: &[Vec<u8>]) -> Result<Vec<Change>> {
    changes
        .iter()
        .enumerate()
        .map(|(i, c)| {
            Change::from_bytes(c.clone()).map_err(|e| Error::CorruptDocument {
                id: key.to_owned(),
                reason: format!("change {i}: {e}"),
            })
        })
        .collect()
}

/// Changes in an order where each comes after those of its dependencies that are in the list
/// (duplicates dropped); otherwise in the order they came. Linear (Kahn's algorithm): a device
/// that sends a long chain backwards costs no more than one that sends it in order.
fn causal_order(mut changes: Vec<Change>) -> Vec<Change> {
    let mut seen = std::collections::HashSet::new();
    changes.retain(|c| seen.insert(c.hash()));
    let index: std::collections::HashMap<ChangeHash, usize> = changes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.hash(), i))
        .collect();
    let mut waiting_on = vec![0usize; changes.len()];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); changes.len()];
    for (i, c) in changes.iter().enumerate() {
        for d in c.deps() {
            if let Some(&j) = index.get(d) {
                waiting_on[i] += 1;
                dependents[j].push(i);
            }
        }
    }
    // Ready changes in arrival order (a min-heap of indices keeps the order stable).
    let mut ready: std::collections::BinaryHeap<std::cmp::Reverse<usize>> = (0..changes.len())
        .filter(|&i| waiting_on[i] == 0)
        .map(std::cmp::Reverse)
        .collect();
    let mut order = Vec::with_capacity(changes.len());
    while let Some(std::cmp::Reverse(i)) = ready.pop() {
        order.push(i);
        for &k in &dependents[i] {
            waiting_on[k] -= 1;
            if waiting_on[k] == 0 {
                ready.push(std::cmp::Reverse(k));
            }
        }
    }
    // A cycle cannot happen with real hashes; keep whatever is left as it came.
    let mut placed = vec![false; changes.len()];
    for &i in &order {
        placed[i] = true;
    }
    order.extend((0..changes.len()).filter(|&i| !placed[i]));
    let mut slots: Vec<Option<Change>> = changes.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

/// Reads and summarises a merged document (no storage involved): a merge that does not give a
/// well-formed document is refused whole.
pub fn prepare_document(
    directory: &Directory,
    kind: DocKind,
    id: &str,
    mut doc: AutoCommit,
    before: Vec<ChangeHash>,
    is_new: bool,
) -> Result<Received> {
    let key = kind.key(id);
    let mut summary = None;
    let mut household = None;
    let mut visit_book = None;
    let mut case_document = None;
    let mut contacts = None;
    match kind {
        DocKind::Case => {
            let case = CaseDoc::from_automerge(CaseId::new(id), doc);
            let document = case.read()?;
            if document.id.as_str() != id {
                return Err(Error::Shape {
                    id: key,
                    reason: format!("the document holds case {}", document.id),
                });
            }
            let folded = crate::workflow::fold(&document.timeline);
            summary = Some(CaseSummary::compute(&document, &folded, directory));
            case_document = Some(document);
            doc = case.into_automerge();
        }
        DocKind::Household => {
            let h = HouseholdDoc::from_automerge(HouseholdId::new(id), doc);
            household = Some(h.read()?);
            doc = h.into_automerge();
        }
        DocKind::Contacts => {
            contacts = Some(ContactsDocument::from_automerge(&key, &doc)?);
        }
        DocKind::VisitBook => {
            let book = VisitBookDoc::from_automerge(id, doc);
            let read = book.read()?;
            if VisitBookDoc::parse_id(id) != Some((read.household.clone(), read.volume)) {
                return Err(Error::Shape {
                    id: key,
                    reason: format!(
                        "the document holds volume {} of household {}",
                        read.volume, read.household
                    ),
                });
            }
            visit_book = Some(read);
            doc = book.into_automerge();
        }
    }
    Ok(Received {
        key,
        kind,
        id: id.to_owned(),
        is_new,
        doc,
        before,
        new_changes: Vec::new(),
        case: case_document,
        summary,
        contacts,
        household,
        visit_book,
        encoded: None,
    })
}

/// Merges decoded changes into `existing` (a document loaded earlier, or `None` for a new one)
/// and reads the result, without the store: a server does this outside its database lock and
/// commits with [`Store::commit_received`] after checking nothing changed meanwhile.
pub fn prepare_detached(
    directory: &Directory,
    actor_id: &ActorId,
    kind: DocKind,
    id: &str,
    existing: Option<AutoCommit>,
    changes: Vec<Change>,
) -> Result<Option<Received>> {
    let key = kind.key(id);
    let is_new = existing.is_none();
    let mut doc = existing.unwrap_or_else(|| AutoCommit::new().with_actor(actor_id.clone()));
    let before = doc.get_heads();
    let fresh = causal_order(
        changes
            .iter()
            .filter(|c| doc.get_change_meta_by_hash(&c.hash()).is_none())
            .cloned()
            .collect(),
    );
    doc.apply_changes(changes)?;
    if !doc.get_missing_deps(&[]).is_empty() {
        return Err(Error::MissingDependencies { id: key });
    }
    if doc.get_heads() == before {
        return Ok(None);
    }
    let mut r = prepare_document(directory, kind, id, doc, before, is_new)?;
    r.new_changes = fresh;
    Ok(Some(r))
}
