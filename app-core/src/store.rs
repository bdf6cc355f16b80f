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

use crate::document::{CaseDoc, CaseEdit, ContactsDocument, DocKind, HouseholdDoc, PartyContact};
use crate::document::{HouseholdDocument, Visit, VisitOutcome};
use crate::error::{Error, Result};
use crate::figures::{self, Report};
use crate::ids::AttachmentId;
use crate::ids::{CaseId, EntryId, HouseholdId, PartyId, PersonId, UnitId, VisitId};
use crate::model::{Action, Actor, Attachment, CaseDocument, NewCase, Party, HOUSEHOLD_SCHEMA};
pub use crate::model::{ATTACHMENT_TYPES, MAX_ATTACHMENT_BYTES};
use crate::org::{Directory, Person, Unit};
use crate::rules;
use crate::screens::HouseholdRow;
use crate::summary::CaseSummary;
use crate::taxonomy::{CategoryCode, Taxonomy};
use crate::workflow::{Folded, Status};
use automerge::{ActorId, AutoCommit, Change, ChangeHash};
use autosurgeon::Text;
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The schema version this build writes. See [`migrate`].
pub const SCHEMA_VERSION: i64 = 4;

/// A document is compacted into a fresh snapshot once it has this many incremental chunks.
pub const COMPACT_AFTER: i64 = 16;

/// Everything a case screen shows.
#[derive(Clone, Debug)]
pub struct CaseView {
    pub document: CaseDocument,
    pub folded: Folded,
    pub summary: CaseSummary,
    /// Parties' phones and ID numbers, unless erased or not held on this device.
    pub contacts: Option<ContactsDocument>,
}

/// Which cases a list screen wants. Every field narrows the list; the default is every case,
/// newest report first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CaseFilter {
    /// Cases of this unit: that happened in its subtree or were with its centre.
    pub unit: Option<UnitId>,
    /// Cases the centre of this unit is responsible for now.
    pub responsible: Option<UnitId>,
    /// Cases some other centre than this one is responsible for now (with `unit`: the unit's
    /// cases held elsewhere, such as those escalated up).
    pub held_elsewhere_than: Option<UnitId>,
    /// Cases this person reported or is assigned to ("my cases").
    pub person: Option<PersonId>,
    pub statuses: Vec<Status>,
    pub category: Option<String>,
    pub due: Option<DueFilter>,
    /// Only cases not yet handled at their current tier.
    pub open_only: bool,
    /// Cases reported at or after this time ("new in my township").
    pub reported_since: Option<i64>,
    /// Only cases with unsettled conflicts.
    pub conflicts_only: bool,
    /// Part of a party's name or of the case's title (the search box).
    pub search: Option<String>,
    /// At most this many rows (0: no limit).
    pub limit: u32,
}

/// Deadline filters, evaluated at the `now` passed to [`Store::list`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DueFilter {
    /// Open and past the deadline (超期).
    Overdue,
    /// Open and within the warning period before the deadline (即将到期).
    DueSoon,
}

/// A local change waiting for a server's acknowledgement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxEntry {
    pub seq: i64,
    /// The document's storage key, `kind:id`.
    pub key: String,
    pub hash: ChangeHash,
    pub change: Vec<u8>,
}

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
    pub household: Option<HouseholdDocument>,
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
}

/// The local SQLite store.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
    actor_id: ActorId,
    directory: std::sync::Arc<Directory>,
    taxonomy: Taxonomy,
}

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
fn upgrade_from(tx: &Transaction<'_>, version: i64) -> Result<()> {
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

/// Lowercase hex of some bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes of a hex string (`None` unless it is pairs of hex digits).
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The hex SHA-256 of some bytes (how attachments are named).
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(bytes))
}

/// Checks a file offered as an attachment: an accepted type ([`ATTACHMENT_TYPES`]), not empty,
/// at most [`MAX_ATTACHMENT_BYTES`]. Returns the type, trimmed and in lower case.
pub fn check_attachment(mime: &str, size: u64) -> Result<String> {
    let mime = mime.trim().to_ascii_lowercase();
    if !ATTACHMENT_TYPES.contains(&mime.as_str()) {
        let shown = if mime.is_empty() {
            "未知"
        } else {
            mime.as_str()
        };
        let shown_en = if mime.is_empty() {
            "unknown"
        } else {
            mime.as_str()
        };
        return Err(Error::invalid(
            "mime",
            format!(
                "不能附加此类文件（{shown}）：只收 JPEG、PNG、WebP、HEIC 照片或 PDF 文件 \
                 (a file of type {shown_en} cannot be attached: only JPEG, PNG, WebP or HEIC \
                 photos and PDF files)"
            ),
        ));
    }
    if size == 0 {
        return Err(Error::invalid(
            "size",
            "文件是空的，没有内容 (the file is empty)",
        ));
    }
    if size > MAX_ATTACHMENT_BYTES {
        return Err(Error::invalid(
            "size",
            format!(
                "文件过大（{size} 字节），上限为 {} MB (the file is {size} bytes; the limit is \
                 {MAX_ATTACHMENT_BYTES} bytes, {} MiB)",
                MAX_ATTACHMENT_BYTES >> 20,
                MAX_ATTACHMENT_BYTES >> 20
            ),
        ));
    }
    Ok(mime)
}

fn json_err(e: serde_json::Error) -> Error {
    Error::Json(e)
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

    fn read_directory(conn: &Connection) -> Result<Directory> {
        let mut units = Vec::new();
        let mut stmt = conn.prepare("SELECT json FROM units")?;
        for json in stmt.query_map([], |r| r.get::<_, String>(0))? {
            units.push(serde_json::from_str::<Unit>(&json?).map_err(json_err)?);
        }
        let mut people = Vec::new();
        let mut stmt = conn.prepare("SELECT json FROM people")?;
        for json in stmt.query_map([], |r| r.get::<_, String>(0))? {
            people.push(serde_json::from_str::<Person>(&json?).map_err(json_err)?);
        }
        Ok(Directory::new(units, people)?)
    }

    /// Replaces the directory (units and people) and recomputes every summary, since deadlines
    /// depend on the units' policies.
    pub fn set_directory(&mut self, directory: Directory) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute("DELETE FROM units", [])?;
        tx.execute("DELETE FROM people", [])?;
        for u in directory.units() {
            tx.execute(
                "INSERT INTO units(id, json) VALUES (?1, ?2)",
                params![u.id.as_str(), serde_json::to_string(u)?],
            )?;
        }
        for p in directory.people() {
            tx.execute(
                "INSERT INTO people(id, json) VALUES (?1, ?2)",
                params![p.id.as_str(), serde_json::to_string(p)?],
            )?;
        }
        tx.execute(
            "INSERT INTO meta(key, value) VALUES ('directory_version', '1')
             ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
            [],
        )?;
        tx.commit()?;
        self.directory = std::sync::Arc::new(directory);
        self.reindex()?;
        Ok(())
    }

    /// Counts replacements of the directory (0: never set). Another process that shares the
    /// file (an admin command beside a running server) changes it; see [`Store::reload_directory`].
    pub fn directory_version(&self) -> Result<u64> {
        Ok(self
            .meta("directory_version")?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    /// Re-reads the directory from the file (after another process replaced it).
    pub fn reload_directory(&mut self) -> Result<()> {
        self.directory = std::sync::Arc::new(Self::read_directory(&self.conn)?);
        self.reindex()?;
        Ok(())
    }

    // ----- documents -----

    fn load_bytes(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let Some(mut bytes) = self
            .conn
            .query_row(
                "SELECT snapshot FROM documents WHERE key = ?1",
                [key],
                |r| r.get::<_, Vec<u8>>(0),
            )
            .optional()?
        else {
            return Ok(None);
        };
        let mut stmt = self
            .conn
            .prepare_cached("SELECT bytes FROM document_chunks WHERE key = ?1 ORDER BY seq")?;
        for chunk in stmt.query_map([key], |r| r.get::<_, Vec<u8>>(0))? {
            bytes.extend_from_slice(&chunk?);
        }
        Ok(Some(bytes))
    }

    fn load_automerge(&self, key: &str) -> Result<Option<AutoCommit>> {
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

    fn load_case(&self, id: &CaseId) -> Result<CaseDoc> {
        let key = DocKind::Case.key(id.as_str());
        let bytes = self
            .load_bytes(&key)?
            .ok_or_else(|| Error::UnknownCase(id.clone()))?;
        CaseDoc::load(id.clone(), &bytes, &self.actor_id)
    }

    fn load_household(&self, id: &HouseholdId) -> Result<HouseholdDoc> {
        let key = DocKind::Household.key(id.as_str());
        let bytes = self
            .load_bytes(&key)?
            .ok_or_else(|| Error::UnknownHousehold(id.clone()))?;
        HouseholdDoc::load(id.clone(), &bytes, &self.actor_id)
    }

    /// Writes a new document whole.
    fn insert_document(
        tx: &Transaction<'_>,
        key: &str,
        kind: DocKind,
        doc: &mut AutoCommit,
        local: bool,
        now_ms: i64,
    ) -> Result<()> {
        tx.execute(
            "INSERT INTO documents(key, kind, snapshot, chunks, updated_at)
             VALUES (?1, ?2, ?3, 0, ?4)",
            params![key, kind.code(), doc.save(), now_ms],
        )?;
        if local {
            Self::enqueue(tx, key, doc.get_changes(&[]))?;
        }
        Ok(())
    }

    /// Appends the changes made since `before` as one chunk (compacting when due) and, for
    /// local changes, queues them in the outbox.
    fn append_changes(
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
    fn write_chunk(
        tx: &Transaction<'_>,
        key: &str,
        doc: &mut AutoCommit,
        before: &[ChangeHash],
        now_ms: i64,
    ) -> Result<()> {
        let chunks: i64 =
            tx.query_row("SELECT chunks FROM documents WHERE key = ?1", [key], |r| {
                r.get(0)
            })?;
        if chunks + 1 >= COMPACT_AFTER {
            tx.execute("DELETE FROM document_chunks WHERE key = ?1", [key])?;
            tx.execute(
                "UPDATE documents SET snapshot = ?2, chunks = 0, updated_at = ?3 WHERE key = ?1",
                params![key, doc.save(), now_ms],
            )?;
        } else {
            tx.execute(
                "INSERT INTO document_chunks(key, seq, bytes)
                 VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM document_chunks WHERE key = ?1), ?2)",
                params![key, doc.save_after(before)],
            )?;
            tx.execute(
                "UPDATE documents SET chunks = chunks + 1, updated_at = ?2 WHERE key = ?1",
                params![key, now_ms],
            )?;
        }
        Ok(())
    }

    fn enqueue(tx: &Transaction<'_>, key: &str, changes: Vec<Change>) -> Result<()> {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO outbox(key, hash, change) VALUES (?1, ?2, ?3) ON CONFLICT(hash) DO NOTHING",
        )?;
        for mut change in changes {
            let hash = change.hash().to_string();
            stmt.execute(params![key, hash, change.bytes().as_ref()])?;
        }
        Ok(())
    }

    fn write_summary(tx: &Transaction<'_>, summary: &CaseSummary) -> Result<()> {
        let id = summary.id.as_str();
        if summary.contacts_erased_at.is_some() {
            // Staff erased the parties' contact details: the contacts document goes, with
            // anything of it waiting to be sent, in the same transaction as the case.
            let contacts = DocKind::Contacts.key(id);
            for sql in [
                "DELETE FROM document_chunks WHERE key = ?1",
                "DELETE FROM documents WHERE key = ?1",
                "DELETE FROM outbox WHERE key = ?1",
                "DELETE FROM rejected WHERE key = ?1",
            ] {
                tx.execute(sql, [&contacts])?;
            }
        }
        tx.execute(
            "INSERT INTO cases(id, status, category, responsible_unit, reported_at, due_at,
                               due_soon_at, handled, conflicts, party_names, summary)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
             ON CONFLICT(id) DO UPDATE SET status = ?2, category = ?3, responsible_unit = ?4,
                 reported_at = ?5, due_at = ?6, due_soon_at = ?7, handled = ?8, conflicts = ?9,
                 party_names = ?10, summary = ?11",
            params![
                id,
                summary.status.code(),
                summary.category,
                summary.responsible_unit.as_str(),
                summary.reported_at,
                summary.due_at,
                summary.due_soon_at,
                summary.is_handled(),
                summary.conflicts,
                summary.party_names.join("\u{1f}"),
                serde_json::to_string(summary)?,
            ],
        )?;
        tx.execute("DELETE FROM case_units WHERE case_id = ?1", [id])?;
        tx.execute("DELETE FROM case_people WHERE case_id = ?1", [id])?;
        let mut units =
            tx.prepare_cached("INSERT INTO case_units(unit, case_id) VALUES (?1, ?2)")?;
        for u in &summary.units {
            units.execute([u.as_str(), id])?;
        }
        let mut people = tx.prepare_cached(
            "INSERT INTO case_people(person, case_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        )?;
        for p in summary.assignee_people.iter().chain([&summary.reporter]) {
            people.execute([p.as_str(), id])?;
        }
        Ok(())
    }

    fn summarise(&self, doc: &CaseDoc) -> Result<CaseSummary> {
        let document = doc.read()?;
        let folded = crate::workflow::fold(&document.timeline);
        Ok(CaseSummary::compute(&document, &folded, &self.directory))
    }

    fn write_household_summary(tx: &Transaction<'_>, h: &HouseholdDocument) -> Result<()> {
        tx.execute(
            "INSERT INTO households(id, grid, head, address, members, visits, last_visit_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT(id) DO UPDATE SET grid = ?2, head = ?3, address = ?4, members = ?5,
                 visits = ?6, last_visit_at = ?7",
            params![
                h.id.as_str(),
                h.grid.as_str(),
                h.head,
                h.address.as_str(),
                h.members as i64,
                h.visits.len() as i64,
                h.visits.iter().map(|v| v.at).max(),
            ],
        )?;
        Ok(())
    }

    // ----- cases -----

    /// Reports a new dispute (上报): creates the case and its contacts document, received by the
    /// centre nearest the place. Returns the new case's id.
    pub fn create_case(&mut self, actor: &Actor, new: &NewCase, now_ms: i64) -> Result<CaseId> {
        rules::check_actor(&self.directory, actor)?;
        validate_new_case(new, &self.taxonomy)?;
        rules::check_report_place(&self.directory, actor, &new.place_unit)?;
        let place = self
            .directory
            .unit(&new.place_unit)
            .ok_or_else(|| Error::UnknownUnit(new.place_unit.clone()))?;
        let centre = self
            .directory
            .receiving_centre(&place.id)
            .ok_or_else(|| {
                Error::invalid(
                    "place",
                    format!("no centre receives cases from {}", place.name),
                )
            })?
            .id
            .clone();
        rules::check_action(
            &self.directory,
            None,
            actor,
            &Action::Report {
                centre: centre.clone(),
                source: new.source,
            },
            now_ms,
        )?;
        let id = CaseId::generate();
        let mut parties = Vec::new();
        let mut contacts = ContactsDocument {
            case: id.clone(),
            parties: Default::default(),
        };
        for p in &new.parties {
            let pid = PartyId::generate();
            contacts.parties.insert(
                pid.to_string(),
                PartyContact {
                    phone: p.phone.clone(),
                    id_number: p.id_number.clone(),
                },
            );
            parties.push(Party {
                id: pid,
                name: p.name.trim().to_owned(),
                role: p.role,
            });
        }
        let path = self.directory.path(&place.id);
        let mut doc = CaseDoc::create(
            id.clone(),
            new,
            parties,
            path,
            centre,
            actor,
            &self.actor_id,
            now_ms,
        )?;
        let summary = self.summarise(&doc)?;
        let mut contacts_doc = contacts.to_automerge(&self.actor_id)?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        Self::insert_document(
            &tx,
            &DocKind::Case.key(id.as_str()),
            DocKind::Case,
            doc.automerge(),
            true,
            now_ms,
        )?;
        Self::insert_document(
            &tx,
            &DocKind::Contacts.key(id.as_str()),
            DocKind::Contacts,
            &mut contacts_doc,
            true,
            now_ms,
        )?;
        Self::write_summary(&tx, &summary)?;
        tx.commit()?;
        Ok(id)
    }

    /// Records a workflow step on a case, durably, if the rules allow it.
    pub fn act(
        &mut self,
        case: &CaseId,
        actor: &Actor,
        action: Action,
        now_ms: i64,
    ) -> Result<EntryId> {
        let mut doc = self.load_case(case)?;
        // The document is read once: reading (hydrating) costs more than everything else here.
        let mut document = doc.read()?;
        let folded = crate::workflow::fold(&document.timeline);
        rules::check_action(
            &self.directory,
            folded.state.as_ref(),
            actor,
            &action,
            now_ms,
        )?;
        let before = doc.heads();
        let entry = doc.append(&mut document.timeline, &folded, actor, action, now_ms)?;
        let folded = crate::workflow::fold(&document.timeline);
        let summary = CaseSummary::compute(&document, &folded, &self.directory);
        self.write_case(&mut doc, &before, &summary, true, now_ms)?;
        Ok(entry)
    }

    /// Edits a case's fields, durably.
    pub fn edit(
        &mut self,
        case: &CaseId,
        actor: &Actor,
        edit: &CaseEdit,
        now_ms: i64,
    ) -> Result<EntryId> {
        rules::check_actor(&self.directory, actor)?;
        if let Some(c) = &edit.category {
            if !self.taxonomy.contains(&CategoryCode::from(c.as_str())) {
                return Err(Error::UnknownCategory(c.clone()));
            }
        }
        let mut doc = self.load_case(case)?;
        let before = doc.heads();
        let entry = doc.edit(actor, edit, now_ms)?;
        self.save_case(&mut doc, &before, true, now_ms)?;
        Ok(entry)
    }

    fn save_case(
        &mut self,
        doc: &mut CaseDoc,
        before: &[ChangeHash],
        local: bool,
        now_ms: i64,
    ) -> Result<()> {
        let summary = self.summarise(doc)?;
        self.write_case(doc, before, &summary, local, now_ms)
    }

    /// Appends a case's new changes and its summary in one transaction.
    fn write_case(
        &mut self,
        doc: &mut CaseDoc,
        before: &[ChangeHash],
        summary: &CaseSummary,
        local: bool,
        now_ms: i64,
    ) -> Result<()> {
        let key = DocKind::Case.key(doc.id().as_str());
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        Self::append_changes(&tx, &key, doc.automerge(), before, local, now_ms)?;
        Self::write_summary(&tx, summary)?;
        tx.commit()?;
        Ok(())
    }

    // ----- attachments -----

    /// Attaches a file (a photo of the scene, a scanned agreement) to a case: the bytes are kept
    /// here by their SHA-256, pending upload, and the case lists the attachment in an edit entry
    /// signed by `actor`. Blob, document change, outbox entries and summary are written in one
    /// transaction: if any part fails, nothing is.
    pub fn attach(
        &mut self,
        case: &CaseId,
        actor: &Actor,
        name: &str,
        mime: &str,
        bytes: &[u8],
        now_ms: i64,
    ) -> Result<Attachment> {
        let mime = check_attachment(mime, bytes.len() as u64)?;
        let name = name.trim();
        if name.is_empty() {
            return Err(Error::invalid(
                "name",
                "请填写文件名 (the file needs a name)",
            ));
        }
        if name.chars().count() > 200 {
            return Err(Error::invalid(
                "name",
                "文件名过长，最多200个字 (the file name is longer than 200 characters)",
            ));
        }
        rules::check_actor(&self.directory, actor)?;
        let sha256 = sha256_hex(bytes);
        let mut doc = self.load_case(case)?;
        if doc.read()?.attachments.iter().any(|a| a.sha256 == sha256) {
            return Err(Error::invalid(
                "attachment",
                "这个文件已附在本案件中 (this file is already attached to the case)",
            ));
        }
        let attachment = Attachment {
            id: AttachmentId::generate(),
            name: name.to_owned(),
            mime,
            size: bytes.len() as u64,
            sha256,
            added_by: actor.person.clone(),
            added_at: now_ms,
        };
        let before = doc.heads();
        let edit = CaseEdit {
            add_attachments: vec![attachment.clone()],
            ..CaseEdit::default()
        };
        doc.edit(actor, &edit, now_ms)?;
        let summary = self.summarise(&doc)?;
        let key = DocKind::Case.key(case.as_str());
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        // The same bytes may be here already (attached to another case, or received): they are
        // kept once, and keep their state.
        tx.execute(
            "INSERT INTO blobs(sha256, mime, size, bytes, pending, case_id, added_at)
             VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6) ON CONFLICT(sha256) DO NOTHING",
            params![
                attachment.sha256,
                attachment.mime,
                attachment.size as i64,
                bytes,
                case.as_str(),
                now_ms
            ],
        )?;
        Self::append_changes(&tx, &key, doc.automerge(), &before, true, now_ms)?;
        Self::write_summary(&tx, &summary)?;
        tx.commit()?;
        Ok(attachment)
    }

    /// An attachment's bytes and type, if they are on this device.
    pub fn blob(&self, sha256: &str) -> Result<Option<(String, Vec<u8>)>> {
        Ok(self
            .conn
            .query_row(
                "SELECT mime, bytes FROM blobs WHERE sha256 = ?1",
                [sha256.to_ascii_lowercase()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// Attachments attached here that no server has acknowledged yet, with the case each was
    /// attached to (a case held here, whose document lists it): (sha256, case id), oldest first.
    pub fn pending_blobs(&self) -> Result<Vec<(String, String)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT b.sha256, b.case_id FROM blobs b JOIN cases c ON c.id = b.case_id
             WHERE b.pending = 1 ORDER BY b.added_at, b.sha256",
        )?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Records that a server has stored an attachment's bytes: it is no longer pending.
    pub fn mark_blob_sent(&mut self, sha256: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE blobs SET pending = 0 WHERE sha256 = ?1",
            [sha256.to_ascii_lowercase()],
        )?;
        Ok(())
    }

    /// Keeps an attachment's bytes received from elsewhere (a device's upload on a server, a
    /// download on a device), not pending. The bytes must hash to `sha256` and be an acceptable
    /// attachment ([`check_attachment`]); a mismatch is refused and nothing is stored. Storing
    /// bytes already held changes nothing. Returns whether they were new here.
    pub fn put_blob(
        &mut self,
        sha256: &str,
        mime: &str,
        bytes: &[u8],
        now_ms: i64,
    ) -> Result<bool> {
        let mime = check_attachment(mime, bytes.len() as u64)?;
        let expected = sha256.trim().to_ascii_lowercase();
        let actual = sha256_hex(bytes);
        if actual != expected {
            return Err(Error::invalid(
                "sha256",
                format!(
                    "内容与SHA-256不符：应为 {expected}，实为 {actual} \
                     (the content's SHA-256 is {actual}, not {expected})"
                ),
            ));
        }
        let n = self.conn.execute(
            "INSERT INTO blobs(sha256, mime, size, bytes, pending, case_id, added_at)
             VALUES (?1, ?2, ?3, ?4, 0, NULL, ?5) ON CONFLICT(sha256) DO NOTHING",
            params![expected, mime, bytes.len() as i64, bytes, now_ms],
        )?;
        Ok(n == 1)
    }

    /// A case with its timeline, state and contacts.
    pub fn case(&self, id: &CaseId) -> Result<CaseView> {
        let doc = self.load_case(id)?;
        let document = doc.read()?;
        let folded = crate::workflow::fold(&document.timeline);
        let summary = CaseSummary::compute(&document, &folded, &self.directory);
        let contacts = match self.load_automerge(&DocKind::Contacts.key(id.as_str()))? {
            Some(d) => Some(ContactsDocument::from_automerge(id.as_str(), &d)?),
            None => None,
        };
        Ok(CaseView {
            document,
            folded,
            summary,
            contacts,
        })
    }

    /// The summary of one case, without loading its document.
    pub fn summary(&self, id: &CaseId) -> Result<CaseSummary> {
        let json: String = self
            .conn
            .query_row(
                "SELECT summary FROM cases WHERE id = ?1",
                [id.as_str()],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| Error::UnknownCase(id.clone()))?;
        Ok(serde_json::from_str(&json)?)
    }

    /// Erases a case's contact details (phones, ID numbers) as centre staff (删除联系方式):
    /// an entry on the case's timeline says who did it and why, and the contacts document is
    /// dropped whole with any unsent changes to it, in the same transaction. Every replica that
    /// receives the entry drops its copy too. The case and its history stay.
    pub fn erase_contacts(
        &mut self,
        id: &CaseId,
        actor: &Actor,
        reason: &str,
        now_ms: i64,
    ) -> Result<EntryId> {
        self.act(
            id,
            actor,
            Action::EraseContacts {
                reason: reason.trim().to_owned(),
            },
            now_ms,
        )
    }

    /// The cases a list screen shows, from the summaries alone. Overdue and due-soon lists are
    /// ordered by deadline, others by report time, newest first.
    pub fn list(&self, filter: &CaseFilter, now_ms: i64) -> Result<Vec<CaseSummary>> {
        let mut sql = String::from("SELECT c.summary FROM cases c");
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        let arg = |v: rusqlite::types::Value, args: &mut Vec<_>| {
            args.push(v);
            format!("?{}", args.len())
        };
        let mut clauses = Vec::new();
        if let Some(unit) = &filter.unit {
            let a = arg(unit.to_string().into(), &mut args);
            sql.push_str(&format!(
                " JOIN case_units u ON u.case_id = c.id AND u.unit = {a}"
            ));
        }
        if let Some(person) = &filter.person {
            let a = arg(person.to_string().into(), &mut args);
            sql.push_str(&format!(
                " JOIN case_people p ON p.case_id = c.id AND p.person = {a}"
            ));
        }
        if let Some(unit) = &filter.responsible {
            let a = arg(unit.to_string().into(), &mut args);
            clauses.push(format!("c.responsible_unit = {a}"));
        }
        if let Some(unit) = &filter.held_elsewhere_than {
            let a = arg(unit.to_string().into(), &mut args);
            clauses.push(format!("c.responsible_unit != {a}"));
        }
        if !filter.statuses.is_empty() {
            let list: Vec<String> = filter
                .statuses
                .iter()
                .map(|s| arg(s.code().to_owned().into(), &mut args))
                .collect();
            clauses.push(format!("c.status IN ({})", list.join(", ")));
        }
        if let Some(category) = &filter.category {
            let a = arg(category.clone().into(), &mut args);
            clauses.push(format!("c.category = {a}"));
        }
        if filter.open_only {
            clauses.push("c.handled = 0".to_owned());
        }
        match filter.due {
            Some(DueFilter::Overdue) => {
                let a = arg(now_ms.into(), &mut args);
                clauses.push(format!("c.handled = 0 AND c.due_at <= {a}"));
            }
            Some(DueFilter::DueSoon) => {
                let a = arg(now_ms.into(), &mut args);
                clauses.push(format!(
                    "c.handled = 0 AND c.due_soon_at <= {a} AND c.due_at > {a}"
                ));
            }
            None => {}
        }
        if let Some(since) = filter.reported_since {
            let a = arg(since.into(), &mut args);
            clauses.push(format!("c.reported_at >= {a}"));
        }
        if filter.conflicts_only {
            clauses.push("c.conflicts > 0".to_owned());
        }
        if let Some(name) = filter.search.as_deref().map(str::trim) {
            if !name.is_empty() {
                let escaped = name
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                let a = arg(format!("%{escaped}%").into(), &mut args);
                clauses.push(format!(
                    "(c.party_names LIKE {a} ESCAPE '\\' \
                     OR json_extract(c.summary, '$.title') LIKE {a} ESCAPE '\\')"
                ));
            }
        }
        if !clauses.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&clauses.join(" AND "));
        }
        sql.push_str(match filter.due {
            Some(_) => " ORDER BY c.due_at ASC, c.id",
            None => " ORDER BY c.reported_at DESC, c.id",
        });
        if filter.limit > 0 {
            sql.push_str(&format!(" LIMIT {}", filter.limit));
        }
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args), |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for json in rows {
            out.push(serde_json::from_str(&json?)?);
        }
        Ok(out)
    }

    /// The figures of `unit` for cases reported in `[from_ms, to_ms)`, as at `now_ms`.
    pub fn figures(&self, unit: &UnitId, from_ms: i64, to_ms: i64, now_ms: i64) -> Result<Report> {
        if self.directory.unit(unit).is_none() {
            return Err(Error::UnknownUnit(unit.clone()));
        }
        let mut stmt = self.conn.prepare_cached(
            "SELECT c.summary FROM cases c JOIN case_units u ON u.case_id = c.id AND u.unit = ?1
             WHERE c.reported_at >= ?2 AND c.reported_at < ?3",
        )?;
        let mut cases: Vec<CaseSummary> = Vec::new();
        for json in stmt.query_map(params![unit.as_str(), from_ms, to_ms], |r| {
            r.get::<_, String>(0)
        })? {
            cases.push(serde_json::from_str(&json?)?);
        }
        Ok(figures::report(
            &self.directory,
            unit,
            &cases,
            from_ms,
            to_ms,
            now_ms,
        ))
    }

    // ----- households and visits -----

    /// Registers a household in a grid.
    pub fn create_household(
        &mut self,
        actor: &Actor,
        grid: &UnitId,
        head: &str,
        address: &str,
        members: u64,
        now_ms: i64,
    ) -> Result<HouseholdId> {
        rules::check_actor(&self.directory, actor)?;
        if self.directory.unit(grid).is_none() {
            return Err(Error::UnknownUnit(grid.clone()));
        }
        if head.trim().is_empty() {
            return Err(Error::invalid(
                "head",
                "户主姓名不能为空 (the head of household needs a name)",
            ));
        }
        let household = HouseholdDocument {
            schema: HOUSEHOLD_SCHEMA,
            id: HouseholdId::generate(),
            grid: grid.clone(),
            address: Text::with_value(address),
            head: head.trim().to_owned(),
            members,
            notes: Text::with_value(""),
            visits: Vec::new(),
        };
        let mut doc = HouseholdDoc::create(&household, &self.actor_id, now_ms)?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        Self::insert_document(
            &tx,
            &DocKind::Household.key(household.id.as_str()),
            DocKind::Household,
            doc.automerge(),
            true,
            now_ms,
        )?;
        Self::write_household_summary(&tx, &household)?;
        tx.commit()?;
        Ok(household.id)
    }

    /// Records a door-to-door visit (入户走访); "all safe" (无事报平安) is
    /// [`VisitOutcome::AllSafe`].
    pub fn record_visit(
        &mut self,
        household: &HouseholdId,
        actor: &Actor,
        outcome: VisitOutcome,
        note: &str,
        now_ms: i64,
    ) -> Result<VisitId> {
        rules::check_actor(&self.directory, actor)?;
        let found = |safe, dispute| crate::validate::visit(safe, dispute, note);
        let problem = match &outcome {
            VisitOutcome::Dispute { case } => {
                self.summary(case)?;
                found(false, true)
            }
            VisitOutcome::AllSafe => found(true, false),
            VisitOutcome::Noted => found(false, false),
        };
        if let Some(p) = problem {
            return Err(Error::invalid(
                &p.field,
                format!("{} ({})", p.problem.zh(), p.problem.en()),
            ));
        }
        let mut doc = self.load_household(household)?;
        let before = doc.automerge().get_heads();
        let visit = Visit {
            id: VisitId::generate(),
            at: now_ms,
            actor: actor.clone(),
            outcome,
            note: note.to_owned(),
        };
        doc.record_visit(&visit, now_ms)?;
        let read = doc.read()?;
        let key = DocKind::Household.key(household.as_str());
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        Self::append_changes(&tx, &key, doc.automerge(), &before, true, now_ms)?;
        Self::write_household_summary(&tx, &read)?;
        tx.commit()?;
        Ok(visit.id)
    }

    pub fn household(&self, id: &HouseholdId) -> Result<HouseholdDocument> {
        self.load_household(id)?.read()
    }

    /// The households of a grid, least recently visited first (who to visit next).
    pub fn households(&self, grid: &UnitId) -> Result<Vec<HouseholdRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, grid, head, address, members, visits, last_visit_at FROM households
             WHERE grid = ?1 ORDER BY last_visit_at IS NOT NULL, last_visit_at, head",
        )?;
        let rows = stmt.query_map([grid.as_str()], |r| {
            Ok(HouseholdRow {
                id: HouseholdId::new(r.get::<_, String>(0)?),
                grid: UnitId::new(r.get::<_, String>(1)?),
                head: r.get(2)?,
                address: r.get(3)?,
                members: r.get::<_, i64>(4)? as u64,
                visits: r.get::<_, i64>(5)? as u64,
                last_visit_at: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    // ----- replication -----

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

    /// Drops acknowledged changes from the outbox. Unknown hashes are ignored (an
    /// acknowledgement may arrive twice).
    pub fn acknowledge(&mut self, hashes: &[ChangeHash]) -> Result<usize> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut n = 0;
        {
            let mut stmt = tx.prepare_cached("DELETE FROM outbox WHERE hash = ?1")?;
            for h in hashes {
                n += stmt.execute([h.to_string()])?;
            }
        }
        tx.commit()?;
        Ok(n)
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
        let mut household = None;
        if let Some(doc) = rebuilt.as_mut() {
            if !doc.get_heads().is_empty() {
                match kind {
                    Some(DocKind::Case) => {
                        let case = CaseDoc::from_automerge(CaseId::new(&id), doc.clone());
                        summary = Some(self.summarise(&case)?);
                    }
                    Some(DocKind::Household) => {
                        let h = HouseholdDoc::from_automerge(HouseholdId::new(&id), doc.clone());
                        household = Some(h.read()?);
                    }
                    _ => {}
                }
            }
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
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
                    }
                    Some(DocKind::Household) => {
                        tx.execute("DELETE FROM households WHERE id = ?1", [&id])?;
                    }
                    _ => {}
                }
            } else {
                tx.execute(
                    "UPDATE documents SET snapshot = ?2, chunks = 0, updated_at = ?3 WHERE key = ?1",
                    params![key, doc.save(), now_ms],
                )?;
                if let Some(s) = &summary {
                    Self::write_summary(&tx, s)?;
                }
                if let Some(h) = &household {
                    Self::write_household_summary(&tx, h)?;
                }
            }
        }
        tx.commit()?;
        Ok(n)
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

    /// How many changes wait in the outbox.
    pub fn outbox_len(&self) -> Result<usize> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get::<_, i64>(0))?
            as usize)
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

    /// The heads of a stored document (empty if it is not here).
    pub fn heads(&self, kind: DocKind, id: &str) -> Result<Vec<ChangeHash>> {
        Ok(self
            .load_automerge(&kind.key(id))?
            .map(|mut d| d.get_heads())
            .unwrap_or_default())
    }

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

    /// A stored document's bytes as kept (its snapshot followed by its chunks): a valid input to
    /// automerge's `load`, without the cost of loading and saving it.
    pub fn document_bytes(&self, kind: DocKind, id: &str) -> Result<Option<Vec<u8>>> {
        self.load_bytes(&kind.key(id))
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

    /// A stored document, loaded (`None` if it is not here).
    pub fn load_document(&self, kind: DocKind, id: &str) -> Result<Option<AutoCommit>> {
        self.load_automerge(&kind.key(id))
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
    fn prepare_received(
        &self,
        kind: DocKind,
        id: &str,
        doc: AutoCommit,
        before: Vec<ChangeHash>,
        is_new: bool,
    ) -> Result<Received> {
        prepare_document(&self.directory, kind, id, doc, before, is_new)
    }

    fn write_received<F>(&mut self, mut received: Vec<Received>, now_ms: i64, also: F) -> Result<()>
    where
        F: FnOnce(&Transaction<'_>, &[Received]) -> Result<()>,
    {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for r in &mut received {
            if r.is_new {
                Self::insert_document(&tx, &r.key, r.kind, &mut r.doc, false, now_ms)?;
            } else {
                Self::write_chunk(&tx, &r.key, &mut r.doc, &r.before, now_ms)?;
            }
            if let Some(s) = &r.summary {
                Self::write_summary(&tx, s)?;
            }
            if let Some(h) = &r.household {
                Self::write_household_summary(&tx, h)?;
            }
        }
        also(&tx, &received)?;
        tx.commit()?;
        Ok(())
    }

    /// Bulk import of documents built elsewhere (demo data, a restore), in one transaction,
    /// not queued for upload.
    pub fn import_cases(
        &mut self,
        cases: impl IntoIterator<Item = (CaseDoc, Option<ContactsDocument>)>,
        now_ms: i64,
    ) -> Result<usize> {
        let mut prepared = Vec::new();
        for (mut doc, contacts) in cases {
            let summary = self.summarise(&doc)?;
            let contacts = match contacts {
                Some(c) => Some(c.to_automerge(&self.actor_id)?),
                None => None,
            };
            let key = DocKind::Case.key(doc.id().as_str());
            prepared.push((key, doc.save(), contacts, summary));
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n = prepared.len();
        for (key, bytes, contacts, summary) in prepared {
            tx.execute(
                "INSERT INTO documents(key, kind, snapshot, chunks, updated_at)
                 VALUES (?1, 'case', ?2, 0, ?3)",
                params![key, bytes, now_ms],
            )?;
            if let Some(mut c) = contacts {
                Self::insert_document(
                    &tx,
                    &DocKind::Contacts.key(summary.id.as_str()),
                    DocKind::Contacts,
                    &mut c,
                    false,
                    now_ms,
                )?;
            }
            Self::write_summary(&tx, &summary)?;
        }
        tx.commit()?;
        Ok(n)
    }

    /// Bulk import of households.
    pub fn import_households(
        &mut self,
        households: impl IntoIterator<Item = HouseholdDoc>,
        now_ms: i64,
    ) -> Result<usize> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut n = 0;
        for mut h in households {
            let read = h.read()?;
            Self::insert_document(
                &tx,
                &DocKind::Household.key(read.id.as_str()),
                DocKind::Household,
                h.automerge(),
                false,
                now_ms,
            )?;
            Self::write_household_summary(&tx, &read)?;
            n += 1;
        }
        tx.commit()?;
        Ok(n)
    }

    // ----- maintenance -----

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
        for (key, kind) in keys {
            let id = key.split_once(':').map_or("", |(_, id)| id).to_owned();
            let result = match kind.as_str() {
                "case" => self
                    .load_case(&CaseId::new(&id))
                    .and_then(|d| self.summarise(&d))
                    .map(|s| cases.push(s)),
                "household" => self
                    .load_household(&HouseholdId::new(&id))
                    .and_then(|h| h.read())
                    .map(|h| households.push(h)),
                _ => Ok(()),
            };
            if let Err(e) = result {
                report.damaged.push((key, e.to_string()));
            }
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for s in &cases {
            Self::write_summary(&tx, s)?;
        }
        for h in &households {
            Self::write_household_summary(&tx, h)?;
        }
        tx.execute("DELETE FROM meta WHERE key = 'needs_reindex'", [])?;
        tx.commit()?;
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
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute("DELETE FROM document_chunks WHERE key = ?1", [&key])?;
            tx.execute(
                "UPDATE documents SET snapshot = ?2, chunks = 0 WHERE key = ?1",
                params![key, doc.save()],
            )?;
            tx.commit()?;
            n += 1;
        }
        Ok(n)
    }

    /// How many bytes the documents take.
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

/// Checks a new report's fields; messages name the field, in the interface's language.
fn validate_new_case(new: &NewCase, taxonomy: &Taxonomy) -> Result<()> {
    use crate::validate::Problem;
    match crate::validate::new_case(new, taxonomy).into_iter().next() {
        None => Ok(()),
        Some(p) if p.problem == Problem::UnknownCategory => {
            Err(Error::UnknownCategory(new.category.clone()))
        }
        Some(p) => Err(Error::invalid(
            &p.field,
            format!("{} ({})", p.problem.zh(), p.problem.en()),
        )),
    }
}

/// See [`crate::validate::is_phone`].
pub use crate::validate::{is_phone, is_resident_id};

#[cfg(test)]
mod tests;

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
    let mut case_document = None;
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
            ContactsDocument::from_automerge(&key, &doc)?;
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
        household,
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
