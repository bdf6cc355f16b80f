//! One sync round trip: check and store what a device uploads, then answer with what it lacks.
//!
//! # Checks on upload (all before anything is written; any failure refuses the whole request)
//! 1. Every change decodes, and its actor is one this device registered (`forged_actor`); the
//!    one exception is a volume of visits' genesis, which no device signs and which must be
//!    exactly the change the server computes for that volume.
//! 2. No document grows past `max_document_bytes` (`too_large`).
//! 3. The changes merge into the server's copy with no missing dependencies (`unknown_doc`).
//! 4. [`app_core::guard`] admits every new change: its operations are ones an honest device
//!    writes for the object they touch (`bad_document`), each entry is signed by the device's
//!    person in a role they hold (`wrong_author`), allowed by the workflow in its author's view
//!    (`workflow_denied`), and every new object reads back exactly as the model writes it.
//! 5. The device may see the document before or after the change (`out_of_scope`).
//!
//! # The answer
//! Documents in the device's scope whose sequence number is after the device's cursor, oldest
//! first: the changes it lacks (the document's changes since its heads at the cursor, less the
//! device's own), or the whole document if it came into scope after the cursor.

use crate::db::{Device, Logged, ServerDb};
use crate::error::ApiError;
use crate::scope;
use app_core::document::{DocKind, VisitBookDoc};
use app_core::guard;
use app_core::ids::{PartyId, UnitId};
use app_core::materialise;
use app_core::org::Directory;
use app_core::protocol::{DocUpdate, ErrorCode, SyncRequest, SyncResponse};
use app_core::store::{decode_changes, prepare_detached, Received};
use automerge::ChangeHash;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

/// How much one request may carry and one answer may hold.
#[derive(Clone, Debug)]
pub struct SyncLimits {
    pub max_upload_docs: usize,
    pub max_upload_changes: usize,
    pub max_answer_docs: usize,
    pub max_answer_bytes: usize,
    /// The largest a document may grow to, stored bytes and new changes together.
    pub max_document_bytes: usize,
    /// How many times an upload is checked again when other uploads keep changing its
    /// documents before it can commit; then the device is told to retry (`busy`).
    pub max_attempts: usize,
    pub guard: app_core::guard::Limits,
}

impl Default for SyncLimits {
    fn default() -> Self {
        SyncLimits {
            max_upload_docs: 2_000,
            max_upload_changes: 20_000,
            max_answer_docs: 1_000,
            max_answer_bytes: 4 << 20,
            max_document_bytes: 1 << 20,
            max_attempts: 8,
            guard: app_core::guard::Limits::default(),
        }
    }
}

/// Parses a document key into its kind and id.
pub fn parse_key(key: &str) -> Result<(DocKind, &str), ApiError> {
    DocKind::parse_key(key).ok_or_else(|| {
        ApiError::new(
            ErrorCode::BadEncoding,
            format!("`{key}` is not a document key (case:<id>, contacts:<id> or household:<id>)"),
        )
    })
}

/// Handles one sync request for an authenticated device.
///
/// The database is locked only to read what the upload needs and, at the end, to commit and
/// answer; decoding, merging and checking run unlocked, so two requests use two cores. If a
/// document changed between the two locked steps (another device uploaded to it), the upload
/// is checked again against the new state.
pub fn sync(
    shared: &Mutex<ServerDb>,
    queue: &CommitQueue,
    device: &Device,
    req: SyncRequest,
    limits: &SyncLimits,
    now_ms: i64,
) -> Result<SyncResponse, ApiError> {
    if req.upload.len() > limits.max_upload_docs {
        return Err(ApiError::new(
            ErrorCode::TooMany,
            format!(
                "{} documents in one request; send at most {} at a time",
                req.upload.len(),
                limits.max_upload_docs
            ),
        ));
    }
    let total: usize = req.upload.iter().map(|d| d.changes.len()).sum();
    if total > limits.max_upload_changes {
        return Err(ApiError::new(
            ErrorCode::TooMany,
            format!(
                "{total} changes in one request; send at most {} at a time",
                limits.max_upload_changes
            ),
        ));
    }
    // Group by document (a client may send one document in several pieces).
    let mut grouped: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
    for d in req.upload {
        parse_key(&d.doc)?;
        grouped.entry(d.doc).or_default().extend(d.changes);
    }
    // Cases first, so that a contacts document can be checked against its case's scope.
    let mut order: Vec<(String, Vec<Vec<u8>>)> = grouped.into_iter().collect();
    order.sort_by_key(|(k, _)| !k.starts_with("case:"));
    let (mut db, stored) =
        store_upload_queued(shared, queue, device, &order, limits, now_ms, None)?;
    let principals = scope::device_principals(db.store.directory(), device);
    let mut resp = answer(&db, device, &principals, req.cursor, req.max_docs, limits)?;
    resp.stored = stored;
    resp.directory = db.store.directory_version().map_err(ApiError::internal)?;
    db.touch(&device.id, now_ms);
    Ok(resp)
}

/// The household and number of a volume of visits, for a document of that kind.
fn volume_of(kind: DocKind, id: &str) -> Option<(app_core::ids::HouseholdId, u64)> {
    (kind == DocKind::VisitBook)
        .then(|| VisitBookDoc::parse_id(id))
        .flatten()
}

/// What an upload needs from the database, read under the lock.
struct Snapshot {
    directory: Arc<Directory>,
    taxonomy: Arc<app_core::taxonomy::Taxonomy>,
    actor: automerge::ActorId,
    principals: Vec<String>,
    /// Per uploaded document: its scope keys, stored bytes and heads.
    docs: BTreeMap<String, Stored>,
    /// The grids of the households whose volumes of visits are uploaded, as stored.
    grids: BTreeMap<String, UnitId>,
}

/// A document as stored when the snapshot was read: scope keys, bytes, heads.
type Stored = (BTreeSet<String>, Option<Vec<u8>>, Vec<ChangeHash>);

fn read_snapshot(
    db: &ServerDb,
    device: &Device,
    order: &[(String, Vec<Vec<u8>>)],
) -> Result<Snapshot, ApiError> {
    let mut docs = BTreeMap::new();
    let mut grids = BTreeMap::new();
    for (key, _) in order {
        let (kind, id) = parse_key(key)?;
        if let Some((household, _)) = volume_of(kind, id) {
            if let Some(grid) = db
                .store
                .household_grid(&household)
                .map_err(|e| ApiError::from_core(e, key))?
            {
                grids.insert(household.to_string(), grid);
            }
        }
        let scope = stored_scope(db, key)?;
        let bytes = db
            .store
            .document_bytes(kind, id)
            .map_err(|e| ApiError::from_core(e, key))?;
        let heads = db
            .store
            .heads(kind, id)
            .map_err(|e| ApiError::from_core(e, key))?;
        docs.insert(key.clone(), (scope, bytes, heads));
        if kind == DocKind::Contacts {
            let case_key = DocKind::Case.key(id);
            if !docs.contains_key(&case_key) {
                // The case's scope, and its parties (contacts name only parties of the case).
                let scope = stored_scope(db, &case_key)?;
                let bytes = db
                    .store
                    .document_bytes(DocKind::Case, id)
                    .map_err(|e| ApiError::from_core(e, &case_key))?;
                docs.insert(format!("scope-of:{case_key}"), (scope, bytes, Vec::new()));
            }
        }
    }
    Ok(Snapshot {
        directory: db.store.directory_shared(),
        taxonomy: Arc::new(db.store.taxonomy().clone()),
        actor: db.store.actor_id().clone(),
        principals: scope::device_principals(db.store.directory(), device),
        docs,
        grids,
    })
}

/// Whether every uploaded document still has the heads it had in the snapshot.
fn unchanged(db: &ServerDb, snapshot: &Snapshot) -> Result<bool, ApiError> {
    for (key, (_, _, heads)) in &snapshot.docs {
        if key.starts_with("scope-of:") {
            continue;
        }
        let (kind, id) = parse_key(key)?;
        if &db.store.heads(kind, id).map_err(ApiError::internal)? != heads {
            return Ok(false);
        }
    }
    Ok(true)
}

/// An upload merged and checked, ready to commit.
struct Checked {
    received: Vec<Received>,
    /// Per document: its scope keys after the merge, and the keys it had.
    keys: Vec<(BTreeSet<String>, BTreeSet<String>)>,
    stored: u32,
}

/// Decodes, merges and checks an upload against the snapshot (no database access).
fn check_upload(
    device: &Device,
    snapshot: &Snapshot,
    order: &[(String, Vec<Vec<u8>>)],
    limits: &SyncLimits,
    now_ms: i64,
) -> Result<Checked, ApiError> {
    let principals = &snapshot.principals;
    let server_unit = device.server_unit();
    let cx = guard::Context {
        directory: &snapshot.directory,
        taxonomy: &snapshot.taxonomy,
        sender: match &server_unit {
            Some(unit) => guard::Sender::Server(unit),
            None => guard::Sender::Person(&device.person),
        },
        now_ms,
        limits: &limits.guard,
    };
    let mut out = Checked {
        received: Vec::new(),
        keys: Vec::new(),
        stored: 0,
    };
    let mut case_keys: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    // Per case of the upload: its parties, and when its contacts were erased.
    let mut case_parties: BTreeMap<String, (Vec<PartyId>, Option<i64>)> = BTreeMap::new();
    // The grids of the households of this upload (their volumes of visits may follow them).
    let mut grids = snapshot.grids.clone();
    for (key, changes) in order {
        let (kind, id) = parse_key(key)?;
        let (before_scope, bytes, _) = &snapshot.docs[key];
        // Scope first: nobody may probe, let alone change, a document they cannot see.
        if !before_scope.is_empty() && !scope::admits(before_scope, principals) {
            return Err(out_of_scope(key));
        }
        let stored_len = bytes.as_ref().map_or(0, Vec::len);
        let upload_len: usize = changes.iter().map(Vec::len).sum();
        if stored_len.saturating_add(upload_len) > limits.max_document_bytes {
            return Err(ApiError::new(
                ErrorCode::TooLarge,
                format!(
                    "{key} would grow to {} bytes; a document may hold at most {}",
                    stored_len.saturating_add(upload_len),
                    limits.max_document_bytes
                ),
            )
            .on(key));
        }
        let decoded = decode_changes(key, changes).map_err(|e| ApiError::from_core(e, key))?;
        // The one change no device signs: a volume's genesis, recomputed here (the guard checks
        // it again).
        let genesis = match volume_of(kind, id) {
            Some((h, volume)) => Some(
                VisitBookDoc::genesis_hash(&h, volume).map_err(|e| ApiError::from_core(e, key))?,
            ),
            None => None,
        };
        // A child server relays its devices' changes; a device sends only its own.
        for (i, c) in decoded.iter().enumerate() {
            let actor = c.actor_id().to_hex_string();
            if server_unit.is_none() && !device.actors.contains(&actor) && Some(c.hash()) != genesis
            {
                return Err(ApiError::new(
                    ErrorCode::ForgedActor,
                    format!(
                        "change {i} was written by actor {actor}, which is not this device's; \
                         a device uploads only its own changes"
                    ),
                )
                .on(key));
            }
        }
        // A contacts document belongs to its case: its scope, its parties, whether its centre
        // erased it (then nothing of it is taken, whatever it depends on).
        let mut contacts_of = None;
        if kind == DocKind::Contacts {
            let case_key = DocKind::Case.key(id);
            let (keys, (parties, erased)): (BTreeSet<String>, (Vec<PartyId>, Option<i64>)) =
                match case_keys.get(id) {
                    Some(k) => (k.clone(), case_parties.get(id).cloned().unwrap_or_default()),
                    // Its case is not in the upload, or is but brought nothing new (a retry):
                    // the case as stored.
                    None => {
                        let (scope, case_bytes, _) = snapshot
                            .docs
                            .get(&format!("scope-of:{case_key}"))
                            .or_else(|| snapshot.docs.get(&case_key))
                            .ok_or_else(|| ApiError::internal("case of contacts not read"))?;
                        let Some(case_bytes) = case_bytes else {
                            return Err(ApiError::new(
                                ErrorCode::UnknownDoc,
                                format!("{key} belongs to a case this server does not have; send the case first"),
                            )
                            .on(key));
                        };
                        let case_doc =
                            automerge::AutoCommit::load(case_bytes).map_err(ApiError::internal)?;
                        let parties: Vec<app_core::model::Party> =
                            materialise::read_prop(&case_doc, "parties", None)
                                .map_err(ApiError::internal)?;
                        let timeline: Vec<app_core::model::TimelineEntry> =
                            materialise::read_prop(&case_doc, "timeline", None)
                                .map_err(ApiError::internal)?;
                        let erased = app_core::workflow::fold(&timeline)
                            .state
                            .and_then(|s| s.contacts_erased_at);
                        (
                            scope.clone(),
                            (parties.into_iter().map(|p| p.id).collect(), erased),
                        )
                    }
                };
            if erased.is_some() {
                return Err(ApiError::new(
                    ErrorCode::BadDocument,
                    "the parties' contact details of this case were erased by its centre; they are not kept any more",
                )
                .on(key));
            }
            contacts_of = Some((keys, parties, erased));
        }
        let existing = match bytes {
            None => None,
            Some(b) => Some(
                automerge::AutoCommit::load(b)
                    .map_err(ApiError::internal)?
                    .with_actor(snapshot.actor.clone()),
            ),
        };
        let Some(mut r) = prepare_detached(
            &snapshot.directory,
            &snapshot.actor,
            kind,
            id,
            existing,
            decoded,
        )
        .map_err(|e| ApiError::from_core(e, key))?
        else {
            // Everything was here already: a retry.
            continue;
        };
        let merged = r.merged();
        let refused = |e: guard::Refusal| ApiError::new(e.code, e.message).on(key);
        let keys = match kind {
            DocKind::Case => {
                let case = r
                    .case
                    .as_ref()
                    .ok_or_else(|| ApiError::internal("case not read"))?;
                guard::check_case(&cx, &merged, id, case).map_err(refused)?;
                let erased = r.summary.as_ref().and_then(|s| s.contacts_erased_at);
                case_parties.insert(
                    id.to_owned(),
                    (case.parties.iter().map(|p| p.id.clone()).collect(), erased),
                );
                let keys = scope::received_case_keys(&r)?;
                case_keys.insert(id.to_owned(), keys.clone());
                keys
            }
            DocKind::Contacts => {
                let (keys, parties, erased) = contacts_of
                    .take()
                    .ok_or_else(|| ApiError::internal("contacts' case not read"))?;
                guard::check_contacts(&merged, id, &parties, erased).map_err(refused)?;
                keys
            }
            DocKind::Household => {
                let h = r
                    .household
                    .as_ref()
                    .ok_or_else(|| ApiError::internal("no household"))?;
                guard::check_household(&cx, &merged, id, h).map_err(refused)?;
                grids.insert(id.to_owned(), h.grid.clone());
                scope::household_keys(&snapshot.directory, &h.grid)
            }
            DocKind::VisitBook => {
                let book = r
                    .visit_book
                    .as_ref()
                    .ok_or_else(|| ApiError::internal("no volume of visits"))?;
                let Some(grid) = grids.get(book.household.as_str()) else {
                    return Err(ApiError::new(
                        ErrorCode::UnknownDoc,
                        format!(
                            "{key} holds visits to household {}, which this server does not have; send the household first",
                            book.household
                        ),
                    )
                    .on(key));
                };
                guard::check_visit_book(&cx, &merged, id, book, grid).map_err(refused)?;
                scope::household_keys(&snapshot.directory, grid)
            }
        };
        // A document new to the log must be visible to its author once written.
        if before_scope.is_empty() && !scope::admits(&keys, principals) {
            return Err(out_of_scope(key));
        }
        out.stored += r.new_changes.len() as u32;
        out.keys.push((keys, before_scope.clone()));
        // Serialised here, outside the database's lock: the commit only writes it.
        r.encode();
        out.received.push(r);
    }
    Ok(out)
}

/// Writes a checked upload and its log rows in one transaction.
fn commit_upload(
    db: &mut ServerDb,
    device: &Device,
    mut checked: Checked,
    now_ms: i64,
    extra: &mut impl FnMut(&rusqlite::Transaction<'_>) -> rusqlite::Result<()>,
) -> Result<u32, ApiError> {
    if checked.received.is_empty() {
        db.store.write(|tx| extra(tx))?;
        return Ok(checked.stored);
    }
    let logged = logged_of(db, device, &mut checked)?;
    db.commit_with(checked.received, logged, now_ms, extra)
        .map_err(|e| ApiError::from_core(e, "upload"))?;
    Ok(checked.stored)
}

/// The log rows of a checked upload: each document with its new heads and scope, and the
/// contacts of a case that gains scope keys (they go where the case goes).
fn logged_of(
    db: &ServerDb,
    device: &Device,
    checked: &mut Checked,
) -> Result<Vec<Logged>, ApiError> {
    let mut logged = Vec::new();
    for (r, (keys, before_scope)) in checked.received.iter_mut().zip(&checked.keys) {
        if r.kind == DocKind::Case && !r.is_new {
            let gained = keys.difference(before_scope).next().is_some();
            let contacts = DocKind::Contacts.key(&r.id);
            if gained {
                if let Some(mut c) = db
                    .store
                    .load_document(DocKind::Contacts, &r.id)
                    .map_err(|e| ApiError::from_core(e, &contacts))?
                {
                    logged.push(Logged {
                        writer: None,
                        key: contacts,
                        heads: c.get_heads(),
                        scope: keys.clone(),
                    });
                }
            }
        }
        logged.push(Logged {
            writer: Some(device.id.to_string()),
            key: r.key.clone(),
            heads: r.doc.get_heads(),
            scope: keys.clone(),
        });
    }
    Ok(logged)
}

// ----- group commit -----

/// Writes of the caller's committed with an upload of the [`CommitQueue`].
pub(crate) type Extra = Box<dyn FnMut(&rusqlite::Transaction<'_>) -> rusqlite::Result<()> + Send>;

/// Uploads checked and waiting to be committed (group commit): whoever next holds the database
/// commits every upload waiting then in one transaction, so that they share one commit, one
/// fsync and one turn of the lock. The others find their outcome when they get the lock.
#[derive(Default)]
pub struct CommitQueue {
    state: Mutex<QueueState>,
}

impl std::fmt::Debug for CommitQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommitQueue").finish_non_exhaustive()
    }
}

#[derive(Default)]
struct QueueState {
    next: u64,
    waiting: Vec<Queued>,
    done: BTreeMap<u64, Outcome>,
}

struct Queued {
    id: u64,
    device: Device,
    snapshot: Snapshot,
    checked: Checked,
    now_ms: i64,
    extra: Extra,
    /// Commit it in a transaction of its own: its group's commit failed once.
    alone: bool,
}

enum Outcome {
    Stored(u32),
    Failed(ApiError),
    /// Not committed: check it again (its documents moved, or its group's commit failed).
    Again {
        extra: Extra,
        alone: bool,
    },
}

impl CommitQueue {
    fn lock(&self) -> MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Checks `order` (per document key, its changes) as `device`'s upload and stores it, with
/// `extra`'s writes in the same transaction; returns the database, still locked, and how many
/// changes were new.
///
/// Optimistic: the upload is checked unlocked and committed if nothing it touches moved
/// meanwhile (else checked again, up to `max_attempts`), so no request checks while it holds
/// the lock and one device's upload cannot stall the others. Committed with the other uploads
/// waiting in `queue` when it reaches the database (group commit: one transaction, one fsync,
/// and with PostgreSQL one turn of the centre's writer lock and one entry of its log). An
/// upload that brings nothing new and no `extra` (an idle sync, a retry) writes nothing.
pub(crate) fn store_upload_queued<'a>(
    shared: &'a Mutex<ServerDb>,
    queue: &CommitQueue,
    device: &Device,
    order: &[(String, Vec<Vec<u8>>)],
    limits: &SyncLimits,
    now_ms: i64,
    extra: Option<Extra>,
) -> Result<(MutexGuard<'a, ServerDb>, u32), ApiError> {
    let lock = || crate::db::lock(shared);
    let (mut extra, mut alone) = (extra, false);
    for _ in 0..limits.max_attempts {
        let snapshot = read_snapshot(&lock(), device, order)?;
        let checked = check_upload(device, &snapshot, order, limits, now_ms)?;
        if checked.received.is_empty() && extra.is_none() {
            return Ok((lock(), checked.stored));
        }
        let extra_now: Extra = extra.take().unwrap_or_else(|| Box::new(|_| Ok(())));
        let id = {
            let mut q = queue.lock();
            q.next += 1;
            let id = q.next;
            q.waiting.push(Queued {
                id,
                device: device.clone(),
                snapshot,
                checked,
                now_ms,
                extra: extra_now,
                alone,
            });
            id
        };
        let mut db = lock();
        // Taken from the queue only under the database's lock: if it is not done now, it is
        // still waiting, and this request commits it with the others.
        let done = queue.lock().done.remove(&id);
        let outcome = match done {
            Some(o) => o,
            None => {
                let group = std::mem::take(&mut queue.lock().waiting);
                let outcomes = commit_group(&mut db, group);
                let mut q = queue.lock();
                q.done.extend(outcomes);
                q.done
                    .remove(&id)
                    .ok_or_else(|| ApiError::internal("an upload left its group"))?
            }
        };
        match outcome {
            Outcome::Stored(n) => return Ok((db, n)),
            Outcome::Failed(e) => return Err(e),
            Outcome::Again { extra: e, alone: a } => (extra, alone) = (Some(e), a),
        }
    }
    Err(ApiError::new(
        ErrorCode::Busy,
        "these cases kept changing while the upload was checked; nothing was stored; try again shortly",
    ))
}

/// Commits `group` (under the database's lock): those whose documents are as their snapshot
/// saw them and touch no document of another in the group, in one transaction; the others
/// are checked again by their requests.
fn commit_group(db: &mut ServerDb, group: Vec<Queued>) -> Vec<(u64, Outcome)> {
    let outcomes = commit_group_held(db, group);
    if let Err(e) = db.store.release_write() {
        tracing::warn!(error = %e, "giving up the centre's writer lock");
    }
    outcomes
}

/// [`commit_group`] under the centre's writer lock (with several processes): taken before the
/// checks that nothing moved, and again before each upload committed alone.
fn commit_group_held(db: &mut ServerDb, group: Vec<Queued>) -> Vec<(u64, Outcome)> {
    let mut outcomes = Vec::new();
    if let Err(e) = db.store.begin_write() {
        let e = ApiError::internal(e);
        return group
            .into_iter()
            .map(|job| (job.id, Outcome::Failed(e.clone())))
            .collect();
    }
    let mut ready = Vec::new();
    let mut touched = BTreeSet::new();
    for job in group {
        let keys: Vec<&String> = job
            .snapshot
            .docs
            .keys()
            .filter(|k| !k.starts_with("scope-of:"))
            .collect();
        let clash = keys.iter().any(|k| touched.contains(*k));
        match unchanged(db, &job.snapshot) {
            Err(e) => outcomes.push((job.id, Outcome::Failed(e))),
            Ok(false) => outcomes.push(again(job, false)),
            Ok(true) if clash => outcomes.push(again(job, false)),
            Ok(true) => {
                touched.extend(keys.into_iter().cloned());
                ready.push(job);
            }
        }
    }
    let (mut alone, together): (Vec<Queued>, Vec<Queued>) =
        ready.into_iter().partition(|j| j.alone);
    if together.len() < 2 {
        // A group of one is an upload alone.
        alone.extend(together);
    } else {
        outcomes.extend(commit_together(db, together));
    }
    for mut job in alone {
        // A write before this one gave up the lock: take it again, and check again that
        // nothing this upload touches moved meanwhile.
        if let Err(e) = db.store.begin_write() {
            outcomes.push((job.id, Outcome::Failed(ApiError::internal(e))));
            continue;
        }
        match unchanged(db, &job.snapshot) {
            Ok(true) => {}
            Ok(false) => {
                outcomes.push(again(job, false));
                continue;
            }
            Err(e) => {
                outcomes.push((job.id, Outcome::Failed(e)));
                continue;
            }
        }
        let outcome = match commit_upload(db, &job.device, job.checked, job.now_ms, &mut job.extra)
        {
            Ok(n) => Outcome::Stored(n),
            Err(e) => Outcome::Failed(e),
        };
        outcomes.push((job.id, outcome));
    }
    outcomes
}

/// Several checked uploads in one transaction; if it fails, each is checked again and then
/// committed alone, so that one bad upload fails only itself.
fn commit_together(db: &mut ServerDb, group: Vec<Queued>) -> Vec<(u64, Outcome)> {
    let mut received = Vec::new();
    let mut logged = Vec::new();
    let mut stored = Vec::new();
    let mut extras = Vec::new();
    let mut now_ms = 0;
    for mut job in group {
        match logged_of(db, &job.device, &mut job.checked) {
            Ok(l) => logged.extend(l),
            Err(_) => {
                // Checked again and committed alone, where its error is its own.
                extras.push((job.id, job.extra, true));
                continue;
            }
        }
        received.append(&mut job.checked.received);
        stored.push((job.id, job.checked.stored));
        extras.push((job.id, job.extra, false));
        now_ms = now_ms.max(job.now_ms);
    }
    let committed = db
        .commit_with(received, logged, now_ms, |tx| {
            for (_, extra, failed) in extras.iter_mut() {
                if !*failed {
                    extra(tx)?;
                }
            }
            Ok(())
        })
        .is_ok();
    let stored: BTreeMap<u64, u32> = stored.into_iter().collect();
    extras
        .into_iter()
        .map(|(id, extra, failed)| match stored.get(&id) {
            Some(n) if committed && !failed => (id, Outcome::Stored(*n)),
            _ => (id, Outcome::Again { extra, alone: true }),
        })
        .collect()
}

fn again(job: Queued, alone: bool) -> (u64, Outcome) {
    (
        job.id,
        Outcome::Again {
            extra: job.extra,
            alone: alone || job.alone,
        },
    )
}

fn out_of_scope(key: &str) -> ApiError {
    ApiError::new(
        ErrorCode::OutOfScope,
        format!("{key} is outside what this person may see or change"),
    )
    .on(key)
}

/// The scope keys a stored document has.
pub(crate) fn stored_scope(db: &ServerDb, key: &str) -> Result<BTreeSet<String>, ApiError> {
    Ok(db.store.read(|c| crate::db::scope_of(c, key))?)
}

/// What the device lacks, after `cursor`, in its scope.
pub fn answer(
    db: &ServerDb,
    device: &Device,
    principals: &[String],
    cursor: u64,
    max_docs: Option<u32>,
    limits: &SyncLimits,
) -> Result<SyncResponse, ApiError> {
    let current = db.current_seq().map_err(ApiError::internal)?;
    let mut resp = SyncResponse {
        cursor: current.max(cursor),
        ..SyncResponse::default()
    };
    if cursor >= current || principals.is_empty() {
        return Ok(resp);
    }
    let max = max_docs
        .map(|m| (m as usize).clamp(1, limits.max_answer_docs))
        .unwrap_or(limits.max_answer_docs);
    // Documents whose every version after the cursor this device wrote itself have nothing
    // for it.
    let rows = db
        .store
        .read(|c| crate::db::changed_after(c, cursor, device.id.as_str(), principals, max + 1))?;
    let mut bytes = 0usize;
    for (i, (key, _, since)) in rows.iter().enumerate() {
        if i == max {
            resp.more = true;
            resp.cursor = rows[i - 1].1 as u64;
            break;
        }
        let (kind, id) = parse_key(key)?;
        let then = if (*since as u64) > cursor {
            None
        } else {
            db.store.read(|c| crate::db::heads_at(c, key, cursor))?
        };
        let update = match then {
            None => {
                // The stored snapshot and chunks as they are: a valid `load` input.
                let Some(stored) = db
                    .store
                    .document_bytes(kind, id)
                    .map_err(|e| ApiError::from_core(e, key))?
                else {
                    continue;
                };
                DocUpdate::Document {
                    doc: key.clone(),
                    bytes: stored,
                }
            }
            Some(heads) => {
                let Some(mut doc) = db
                    .store
                    .load_document(kind, id)
                    .map_err(|e| ApiError::from_core(e, key))?
                else {
                    continue;
                };
                let changes: Vec<Vec<u8>> = doc
                    .get_changes(&heads)
                    .into_iter()
                    .filter(|c| !device.actors.contains(&c.actor_id().to_hex_string()))
                    .map(|mut c| c.bytes().to_vec())
                    .collect();
                if changes.is_empty() {
                    continue;
                }
                DocUpdate::Changes {
                    doc: key.clone(),
                    changes,
                }
            }
        };
        let size = match &update {
            DocUpdate::Document { bytes, .. } => bytes.len(),
            DocUpdate::Changes { changes, .. } => changes.iter().map(Vec::len).sum(),
        };
        // The answer stays within its cap (one document alone always fits: documents are
        // capped well below it).
        if !resp.docs.is_empty() && bytes + size > limits.max_answer_bytes {
            resp.more = true;
            resp.cursor = rows[i - 1].1 as u64;
            break;
        }
        bytes += size;
        resp.docs.push(update);
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use app_core::ids::{DeviceId, PersonId};

    fn device() -> Device {
        Device {
            id: DeviceId::new("dev-test"),
            person: PersonId::new("hy-staff"),
            name: "desk".to_owned(),
            actors: BTreeSet::new(),
        }
    }

    /// An upload of no documents whose `extra` writes `meta(key)`, or fails if `key` is empty;
    /// queued as `id`, with the documents `touching` as its snapshot saw them (none stored).
    fn job(db: &ServerDb, id: u64, key: &str, touching: &[&str]) -> Queued {
        let device = device();
        let mut snapshot = read_snapshot(db, &device, &[]).unwrap();
        for k in touching {
            snapshot
                .docs
                .insert((*k).to_owned(), (BTreeSet::new(), None, Vec::new()));
        }
        let checked = check_upload(&device, &snapshot, &[], &SyncLimits::default(), 1).unwrap();
        let key = key.to_owned();
        Queued {
            id,
            device,
            snapshot,
            checked,
            now_ms: 1,
            extra: Box::new(move |tx| {
                let sql = if key.is_empty() {
                    "INSERT INTO no_such_table(key) VALUES (?1)"
                } else {
                    "INSERT INTO meta(key, value) VALUES (?1, 'v')"
                };
                tx.execute(sql, [&key]).map(drop)
            }),
            alone: false,
        }
    }

    fn meta(db: &ServerDb, key: &str) -> bool {
        db.store.meta(key).unwrap().is_some()
    }

    fn stored(outcomes: &[(u64, Outcome)]) -> Vec<u64> {
        let mut ids: Vec<u64> = outcomes
            .iter()
            .filter(|(_, o)| matches!(o, Outcome::Stored(_)))
            .map(|(id, _)| *id)
            .collect();
        ids.sort();
        ids
    }

    #[test]
    fn a_group_commits_together_and_one_bad_upload_fails_only_itself() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = ServerDb::open(&dir.path().join("server.sqlite3")).unwrap();

        // Three good uploads: one transaction, all stored.
        let group = vec![
            job(&db, 1, "a", &[]),
            job(&db, 2, "b", &[]),
            job(&db, 3, "c", &[]),
        ];
        let outcomes = commit_group(&mut db, group);
        assert_eq!(stored(&outcomes), [1, 2, 3]);
        assert!(["a", "b", "c"].iter().all(|k| meta(&db, k)));

        // One bad among good ones: the group's transaction fails and stores nothing; each is
        // sent back to be committed alone.
        let group = vec![
            job(&db, 4, "d", &[]),
            job(&db, 5, "", &[]),
            job(&db, 6, "e", &[]),
        ];
        let outcomes = commit_group(&mut db, group);
        assert!(stored(&outcomes).is_empty());
        assert!(!meta(&db, "d") && !meta(&db, "e"));
        assert!(outcomes
            .iter()
            .all(|(_, o)| matches!(o, Outcome::Again { alone: true, .. })));
        // Alone, the good ones are stored and the bad one fails with its own error.
        let mut again: Vec<Queued> = [(4, "d"), (5, ""), (6, "e")]
            .into_iter()
            .map(|(id, key)| job(&db, id, key, &[]))
            .collect();
        for j in &mut again {
            j.alone = true;
        }
        let outcomes = commit_group(&mut db, again);
        assert_eq!(stored(&outcomes), [4, 6]);
        assert!(meta(&db, "d") && meta(&db, "e"));
        let failed: Vec<&u64> = outcomes
            .iter()
            .filter(|(_, o)| matches!(o, Outcome::Failed(_)))
            .map(|(id, _)| id)
            .collect();
        assert_eq!(failed, [&5]);

        // Two uploads of one document are never in one group: the second is checked again
        // after the first is stored.
        let group = vec![
            job(&db, 7, "f", &["case:c1"]),
            job(&db, 8, "g", &["case:c1", "case:c2"]),
            job(&db, 9, "h", &["case:c2"]),
        ];
        let outcomes = commit_group(&mut db, group);
        assert_eq!(stored(&outcomes), [7, 9]);
        assert!(matches!(
            outcomes.iter().find(|(id, _)| *id == 8),
            Some((_, Outcome::Again { alone: false, .. }))
        ));
        assert!(!meta(&db, "g"));
    }

    #[test]
    fn uploads_queued_from_many_threads_are_each_stored_once() {
        let dir = tempfile::tempdir().unwrap();
        let shared = Mutex::new(ServerDb::open(&dir.path().join("server.sqlite3")).unwrap());
        let queue = CommitQueue::default();
        let limits = SyncLimits::default();
        std::thread::scope(|s| {
            for t in 0..8 {
                let (shared, queue, limits) = (&shared, &queue, &limits);
                s.spawn(move || {
                    for i in 0..10 {
                        let key = format!("t{t}-{i}");
                        let extra: Extra = Box::new(move |tx| {
                            tx.execute("INSERT INTO meta(key, value) VALUES (?1, 'v')", [&key])
                                .map(drop)
                        });
                        let (db, n) = store_upload_queued(
                            shared,
                            queue,
                            &device(),
                            &[],
                            limits,
                            1,
                            Some(extra),
                        )
                        .unwrap();
                        drop(db);
                        assert_eq!(n, 0);
                    }
                });
            }
        });
        let db = shared.lock().unwrap();
        let rows: i64 = db
            .store
            .read(|c| {
                c.query_row("SELECT COUNT(*) FROM meta WHERE key LIKE 't%'", [], |r| {
                    r.get(0)
                })
            })
            .unwrap();
        assert_eq!(rows, 80);
        assert!(queue.lock().waiting.is_empty() && queue.lock().done.is_empty());
    }
}
