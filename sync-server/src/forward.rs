//! Forwarding to the parent server: a lower tier's server acts as a sync client of the next
//! tier's server, over the same protocol, with a credential the parent issued to `server:<unit>`.
//!
//! What goes up: every document whose scope keys include the parent's centre (`u:<parent>`),
//! i.e. cases escalated to it (and their contacts). Nothing else leaves the server.
//!
//! Durability: `forward_state` keeps, per document, the heads the parent has acknowledged, and
//! `server_meta` the forwarding cursor (the local sequence up to which documents were
//! considered) and the parent's cursor. Both move only after the parent answered 200, in the
//! same transaction as what the parent sent back; so a restart, a parent down for days, or a
//! lost answer only repeats work, and the parent takes repeats idempotently.
//!
//! Both tables are the store's layer [`LAYER`], created and upgraded once, at open.
//!
//! A document the parent refuses (its guard, say, does not know a person this server's
//! directory has) is held back (`forward_held`, with the refusal) and the others go on: one
//! refused case never holds up the escalations behind it. A held document is offered again
//! when it changes here, when the parent's directory changes, or after [`HELD_RETRY_MS`];
//! `/healthz` lists what is held and why.
//!
//! What comes down: the parent's answer (its staff's work on those cases, cases it assigned
//! down to this unit) is merged and logged like an upload, so this server's devices receive it.
//!
//! Attachments' bytes follow their cases ([`blobs`]): every attachment listed by a case that went
//! up (once the parent acknowledged it) or came down is recorded in `forward_blobs`, in the
//! same transaction; after each pass the bytes held here go up, and the bytes the parent has and
//! this server lacks come down, each recorded as done once the parent answered 2xx.

mod blobs;
pub mod figures;

use crate::db::{set_server_meta, Logged, ServerDb};
use crate::error::{ApiError, Error, Result};
use crate::http::AppState;
use crate::scope;
use crate::sync::parse_key;
use app_core::client::rounds::{self, Applied, Prepared, Source};
use app_core::client::{Backoff, Refusal, SyncError, Synced, Transport};
use app_core::document::DocKind;
use app_core::ids::UnitId;
use app_core::protocol::{DocChanges, DocUpdate, EnrolRequest, SyncRequest, SyncResponse};
use app_core::store::{decode_changes, Layer, Received};
use automerge::ChangeHash;
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Documents considered per round trip.
const ROUND_DOCS: usize = 500;

/// The link to the parent server, kept in `server_meta`.
#[derive(Clone, Debug)]
pub struct Parent {
    pub url: String,
    pub token: String,
    /// The unit the parent serves (where escalations from here go).
    pub unit: UnitId,
}

/// How forwarding is doing, for `/healthz` and the logs.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ParentStatus {
    pub url: String,
    pub unit: String,
    pub last_ok_at: Option<i64>,
    pub error: Option<String>,
    /// Documents sent up and received down since the server started.
    pub sent_docs: u64,
    pub received_docs: u64,
    /// Attachments' bytes sent up and fetched down since the server started.
    pub sent_blobs: u64,
    pub received_blobs: u64,
    /// Times figures were sent, and the days the parent took, since the server started
    /// (逐级汇总).
    pub figure_sends: u64,
    pub sent_figure_days: u64,
    /// Time spent since the server started forwarding documents and attachments, and sending
    /// figures (microseconds): what figures add to forwarding.
    pub forward_us: u64,
    pub figures_us: u64,
    /// Why the parent did not take the figures the last time, if it did not. Figures wait
    /// for the next pass; escalations go on regardless.
    pub figures_error: Option<String>,
    /// Documents the parent refused, held back here.
    pub held: Vec<Held>,
    /// With several processes on PostgreSQL: whether this one forwards now (exactly one of
    /// them does at a time); absent with SQLite.
    pub leader: Option<bool>,
}

/// A document the parent refused, and why.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Held {
    pub doc: String,
    pub code: String,
    pub message: String,
    pub held_at: i64,
}

/// The documents held back, oldest first.
pub fn held(db: &ServerDb) -> rusqlite::Result<Vec<Held>> {
    db.store.read(|c| {
        c.prepare_cached(
            "SELECT key, code, message, held_at FROM forward_held ORDER BY held_at, key",
        )?
        .query_map([], |r| {
            Ok(Held {
                doc: r.get(0)?,
                code: r.get(1)?,
                message: r.get(2)?,
                held_at: r.get(3)?,
            })
        })?
        .collect()
    })
}

/// Holds back a document the parent refused, as it was sent.
fn hold(
    db: &mut ServerDb,
    key: &str,
    heads: &[ChangeHash],
    refusal: &Refusal,
    now_ms: i64,
) -> rusqlite::Result<()> {
    let directory: i64 = meta(db, "parent.directory")?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    db.store.write(|tx| {
        tx.execute(
            "INSERT INTO forward_held(key, heads, directory, code, message, held_at, retry_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT(key) DO UPDATE SET heads = ?2, directory = ?3, code = ?4, message = ?5,
                 held_at = ?6, retry_at = ?7",
            params![
                key,
                crate::db::heads_bytes(heads),
                directory,
                refusal.code.as_str(),
                refusal.message,
                now_ms,
                now_ms + HELD_RETRY_MS
            ],
        )
        .map(drop)
    })
}

/// Held documents not yet due, by key, with the heads they were held at.
type HeldBack = BTreeMap<String, Vec<ChangeHash>>;

/// The held documents, in one read: those not yet due to be offered again, by key, with the
/// heads they were held at; and the keys of those due (their time came, or the parent's
/// directory changed since). A held-back document is also due once it changes here.
fn held_split(conn: &Connection, now_ms: i64) -> rusqlite::Result<(HeldBack, Vec<String>)> {
    let directory: i64 = crate::db::server_meta(conn, "parent.directory")?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut back = BTreeMap::new();
    let mut due = Vec::new();
    let mut stmt = conn.prepare_cached(
        "SELECT key, heads, retry_at > ?1 AND directory = ?2 FROM forward_held ORDER BY key",
    )?;
    let rows = stmt.query_map(params![now_ms, directory], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, Vec<u8>>(1)?,
            r.get::<_, bool>(2)?,
        ))
    })?;
    for row in rows {
        let (key, heads, waiting) = row?;
        if waiting {
            back.insert(key, crate::db::heads_from_bytes(&heads));
        } else {
            due.push(key);
        }
    }
    Ok((back, due))
}

/// Forwarding's tables in the store's migration ladder. Never edit a step that has shipped; add
/// one.
pub(crate) const LAYER: Layer = Layer {
    name: "forward",
    steps: &[V1, V2],
};

/// Documents the parent refused, held back until they change, the parent's directory changes,
/// or `retry_at`.
const V2: &str = "
CREATE TABLE forward_held (
    key TEXT PRIMARY KEY,
    heads BLOB NOT NULL,
    directory INTEGER NOT NULL,
    code TEXT NOT NULL,
    message TEXT NOT NULL,
    held_at INTEGER NOT NULL,
    retry_at INTEGER NOT NULL
) WITHOUT ROWID;
";

/// How long a refused document is held back at most before it is offered again.
pub const HELD_RETRY_MS: i64 = 30 * 60 * 1000;

/// The tables as forwarding created them before they were versioned (on every link and every
/// start): `IF NOT EXISTS`, so that this first step adopts those files as they are.
const V1: &str = "
CREATE TABLE IF NOT EXISTS forward_state (
    key TEXT PRIMARY KEY,
    acked_heads BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS forward_blobs (
    parent TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    case_id TEXT NOT NULL,
    acked_at INTEGER,
    tries INTEGER NOT NULL DEFAULT 0,
    next_at INTEGER NOT NULL DEFAULT 0,
    failed TEXT,
    PRIMARY KEY (parent, sha256)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS forward_blobs_open ON forward_blobs(parent, next_at)
    WHERE acked_at IS NULL;
";

fn meta(db: &ServerDb, key: &str) -> rusqlite::Result<Option<String>> {
    db.store.read(|c| crate::db::server_meta(c, key))
}

/// The parent link, if this server has one.
pub fn parent(db: &ServerDb) -> Result<Option<Parent>> {
    let (Some(url), Some(token), Some(unit)) = (
        meta(db, "parent.url")?,
        meta(db, "parent.token")?,
        meta(db, "parent.unit")?,
    ) else {
        return Ok(None);
    };
    Ok(Some(Parent {
        url,
        token,
        unit: UnitId::new(unit),
    }))
}

impl Parent {
    /// The parent as a sync client reaches it, with this server's credential.
    pub fn transport(&self) -> Transport {
        Transport::new(&self.url, Some(&self.token))
    }
}

/// Enrols this server with its parent using a code the parent issued for `server:<this unit>`,
/// and keeps the link.
pub async fn link(db: &mut ServerDb, url: &str, code: &str, name: &str) -> Result<Parent> {
    let transport = Transport::new(url, None);
    let e = transport
        .enrol(&EnrolRequest {
            code: code.to_owned(),
            device_name: name.to_owned(),
            actor: db.store.actor_id().to_hex_string(),
        })
        .await
        .map_err(|e| Error::Parent(format!("the parent server refused the link: {e}")))?;
    let url = transport.base().to_owned();
    db.store.write(|tx| {
        set_server_meta(tx, "parent.url", &url)?;
        set_server_meta(tx, "parent.token", &e.token)?;
        set_server_meta(tx, "parent.unit", e.server_unit.as_str())?;
        set_server_meta(tx, "parent.cursor", "0")?;
        set_server_meta(tx, "forward.cursor", "0")
    })?;
    Ok(Parent {
        url,
        token: e.token,
        unit: e.server_unit,
    })
}

/// One round's upload: the request and what it carries.
struct Round {
    request: SyncRequest,
    /// Per document sent: the heads sent (acknowledged when the parent answers 200).
    sent: Vec<(String, Vec<ChangeHash>)>,
    /// The forwarding cursor once this round is acknowledged.
    next_cursor: u64,
    /// More documents wait beyond this round.
    full: bool,
    /// The attachments the cases sent list, as sent: (case id, SHA-256).
    attachments: Vec<(String, String)>,
}

/// The heads of a document the parent has acknowledged (none if it was never forwarded).
fn acked_heads(conn: &Connection, key: &str) -> rusqlite::Result<Vec<ChangeHash>> {
    Ok(conn
        .query_row(
            "SELECT acked_heads FROM forward_state WHERE key = ?1",
            [key],
            |r| r.get::<_, Vec<u8>>(0),
        )
        .optional()?
        .map(|b| crate::db::heads_from_bytes(&b))
        .unwrap_or_default())
}

fn set_acked_heads(tx: &Transaction<'_>, key: &str, heads: &[ChangeHash]) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO forward_state(key, acked_heads) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET acked_heads = ?2",
        params![key, crate::db::heads_bytes(heads)],
    )?;
    Ok(())
}

/// Documents of this server's cases that went up to a parent.
fn forwarded_cases(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    conn.prepare("SELECT key FROM forward_state WHERE key LIKE 'case:%'")?
        .query_map([], |r| r.get(0))?
        .collect()
}

fn build_round(db: &ServerDb, parent: &Parent, now_ms: i64) -> Result<Round, ApiError> {
    let cursor: u64 = meta(db, "forward.cursor")
        .map_err(ApiError::internal)?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let parent_cursor: u64 = meta(db, "parent.cursor")
        .map_err(ApiError::internal)?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let current = db.current_seq().map_err(ApiError::internal)?;
    let scope = format!("u:{}", parent.unit);
    let mut rows = db
        .store
        .read(|c| crate::db::in_scope_after(c, cursor, &scope, ROUND_DOCS))?;
    let full = rows.len() == ROUND_DOCS;
    let next_cursor = if full {
        rows.last().map(|r| r.1 as u64).unwrap_or(current)
    } else {
        current
    };
    // Refused documents: offered again when due, else left out while unchanged.
    let (back, due) = db.store.read(|c| held_split(c, now_ms))?;
    // A case's contacts go with it: held back while it is, offered again with it.
    for key in due {
        let contacts = key
            .strip_prefix("case:")
            .map(|id| DocKind::Contacts.key(id));
        for key in std::iter::once(key).chain(contacts) {
            if !rows.iter().any(|(k, _)| *k == key) {
                rows.push((key, 0));
            }
        }
    }
    let mut upload = Vec::new();
    let mut sent = Vec::new();
    let mut attachments = Vec::new();
    // What the parent acknowledged of each, in one read.
    let acked_all: Vec<Vec<ChangeHash>> = db.store.read(|c| {
        rows.iter()
            .map(|(key, _)| acked_heads(c, key))
            .collect::<rusqlite::Result<_>>()
    })?;
    for ((key, _), acked) in rows.into_iter().zip(acked_all) {
        let (kind, id) = parse_key(&key)?;
        let Some(mut doc) = db
            .store
            .load_document(kind, id)
            .map_err(|e| ApiError::from_core(e, &key))?
        else {
            continue;
        };
        let heads = doc.get_heads();
        let case_held = kind == DocKind::Contacts && back.contains_key(&DocKind::Case.key(id));
        if acked == heads || back.get(&key) == Some(&heads) || case_held {
            continue;
        }
        let changes: Vec<Vec<u8>> = doc
            .get_changes(&acked)
            .into_iter()
            .map(|mut c| c.bytes().to_vec())
            .collect();
        if changes.is_empty() {
            continue;
        }
        if kind == DocKind::Case {
            // A list that cannot be read holds up no document: its bytes stay here.
            match blobs::listed(&doc) {
                Ok(l) => attachments.extend(l.into_iter().map(|sha| (id.to_owned(), sha))),
                Err(e) => tracing::warn!(doc = %key, "attachments not readable: {e}"),
            }
        }
        upload.push(DocChanges {
            doc: key.clone(),
            changes,
        });
        sent.push((key, heads));
    }
    Ok(Round {
        request: SyncRequest {
            cursor: parent_cursor,
            upload,
            max_docs: None,
        },
        sent,
        next_cursor,
        full,
        attachments,
    })
}

/// Records an acknowledged round and merges what the parent sent down, in one transaction.
fn apply_round(
    db: &mut ServerDb,
    parent: &Parent,
    round: &Round,
    answer: SyncResponse,
    now_ms: i64,
) -> Result<(), ApiError> {
    let directory = db.store.directory_shared();
    let mut received: Vec<Received> = Vec::new();
    let mut logged: Vec<Logged> = Vec::new();
    let mut case_keys: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    // Documents whose every local change the parent had: after merging its update, it has all.
    let mut in_step = Vec::new();
    let sent: BTreeMap<&str, &Vec<ChangeHash>> =
        round.sent.iter().map(|(k, h)| (k.as_str(), h)).collect();
    // The attachments of the cases that went up (now acknowledged) and came down.
    let mut attachments = round.attachments.clone();
    let mut docs = answer.docs;
    docs.sort_by_key(|d| !d.doc().starts_with("case:"));
    for update in docs {
        let key = update.doc().to_owned();
        let (kind, id) = parse_key(&key)?;
        let acked = match sent.get(key.as_str()) {
            Some(h) => (*h).clone(),
            None => db.store.read(|c| acked_heads(c, &key))?,
        };
        let r = match update {
            DocUpdate::Changes { changes, .. } => {
                let decoded =
                    decode_changes(&key, &changes).map_err(|e| ApiError::from_core(e, &key))?;
                db.store
                    .prepare_changes(kind, id, decoded)
                    .map_err(|e| ApiError::from_core(e, &key))?
            }
            DocUpdate::Document { bytes, .. } => db
                .store
                .prepare_document_bytes(kind, id, &bytes)
                .map_err(|e| ApiError::from_core(e, &key))?,
        };
        let Some(mut r) = r else { continue };
        if let Some(case) = &r.case {
            attachments.extend(
                case.attachments
                    .iter()
                    .map(|a| (id.to_owned(), a.sha256.clone())),
            );
        }
        let keys = match kind {
            DocKind::Case => {
                let k = scope::received_case_keys(&r)?;
                case_keys.insert(id.to_owned(), k.clone());
                k
            }
            DocKind::Contacts => match case_keys.get(id) {
                Some(k) => k.clone(),
                None => crate::sync::stored_scope(db, &DocKind::Case.key(id))?,
            },
            DocKind::Household => {
                let h = r
                    .household
                    .as_ref()
                    .ok_or_else(|| ApiError::internal("no household"))?;
                scope::household_keys(&directory, &h.grid)
            }
            DocKind::VisitBook => {
                let grid = r
                    .visit_book
                    .as_ref()
                    .map(|b| db.store.household_grid(&b.household))
                    .transpose()
                    .map_err(|e| ApiError::from_core(e, &key))?
                    .flatten()
                    .ok_or_else(|| {
                        ApiError::new(
                            app_core::protocol::ErrorCode::UnknownDoc,
                            format!("{key} belongs to a household this server does not have"),
                        )
                    })?;
                scope::household_keys(&directory, &grid)
            }
        };
        // The heads it had before this merge: if the parent had them all, it now has all.
        if r.before == acked {
            in_step.push((key.clone(), r.doc.get_heads()));
        }
        logged.push(Logged {
            writer: Some("parent".to_owned()),
            key,
            heads: r.doc.get_heads(),
            scope: keys,
        });
        received.push(r);
    }
    let mut acks: Vec<(String, Vec<ChangeHash>)> = round
        .sent
        .iter()
        .filter(|(k, _)| !in_step.iter().any(|(s, _)| s == k))
        .cloned()
        .collect();
    acks.extend(in_step);
    let next_cursor = round.next_cursor;
    let parent_cursor = answer.cursor;
    let parent_directory = answer.directory;
    let parent_unit = parent.unit.to_string();
    let taken: Vec<String> = round.sent.iter().map(|(k, _)| k.clone()).collect();
    let record = move |tx: &rusqlite::Transaction<'_>| -> rusqlite::Result<()> {
        blobs::record_listed(tx, &parent_unit, &attachments)?;
        for (key, heads) in &acks {
            set_acked_heads(tx, key, heads)?;
        }
        // What the parent took is no longer held back.
        for key in &taken {
            tx.execute("DELETE FROM forward_held WHERE key = ?1", [key])?;
        }
        set_server_meta(tx, "parent.directory", &parent_directory.to_string())?;
        set_server_meta(tx, "forward.cursor", &next_cursor.to_string())?;
        set_server_meta(tx, "parent.cursor", &parent_cursor.to_string())?;
        Ok(())
    };
    db.commit_with(received, logged, now_ms, record)
        .map_err(|e| ApiError::from_core(e, "from the parent"))
}

/// What one forwarding pass did.
#[derive(Clone, Debug)]
pub struct Pass {
    pub sent_docs: u64,
    pub received_docs: u64,
    pub rounds: u32,
    /// Attachments' bytes sent up and fetched down.
    pub sent_blobs: u64,
    pub received_blobs: u64,
    /// Documents the parent refused in this pass (held back).
    pub held: u64,
    /// Days of figures the parent took, or why it did not.
    pub figure_days: Result<u64, String>,
    /// Time spent on documents and attachments, and on figures (microseconds).
    pub forward_us: u64,
    pub figures_us: u64,
}

impl Default for Pass {
    fn default() -> Pass {
        Pass {
            sent_docs: 0,
            received_docs: 0,
            rounds: 0,
            sent_blobs: 0,
            received_blobs: 0,
            held: 0,
            figure_days: Ok(0),
            forward_us: 0,
            figures_us: 0,
        }
    }
}

/// The forwarder's side of the round loop: this server's documents in the parent's scope go
/// up, the parent's answer is merged and logged like an upload.
struct ToParent<'a> {
    state: &'a Arc<AppState>,
    parent: &'a Parent,
    pass: Pass,
    /// What the last round offered: (key, heads).
    offered: Vec<(String, Vec<ChangeHash>)>,
}

impl Source for ToParent<'_> {
    type Sent = Round;
    type Error = Error;

    async fn prepare(&mut self) -> Result<Prepared<Round>> {
        let st = self.state.clone();
        let p = self.parent.clone();
        let round = tokio::task::spawn_blocking(move || {
            let db = crate::db::lock_latest(&st.db);
            build_round(&db, &p, (st.clock)())
        })
        .await??;
        let mut round = round;
        self.offered = round.sent.clone();
        Ok(Prepared {
            request: std::mem::take(&mut round.request),
            full: round.full,
            sent: round,
        })
    }

    /// The parent refused one document of the round: it is held back and the others go on.
    /// A refusal of the whole request (the credential, the rate, the server) stops forwarding,
    /// which backs off and tries again.
    async fn refused(&mut self, refusal: Refusal) -> Result<()> {
        // One document's refusal names it; the credential's (401) or the rate's (429) do not
        // concern one document, whatever they name.
        let one = (400..500).contains(&refusal.status) && ![401, 429].contains(&refusal.status);
        let offered = refusal
            .doc
            .as_ref()
            .and_then(|d| self.offered.iter().find(|(k, _)| k == d))
            .cloned();
        let Some((key, heads)) = offered.filter(|_| one) else {
            return Err(SyncError::from(refusal).into());
        };
        tracing::warn!(
            doc = %key,
            code = %refusal.code.as_str(),
            "the parent refused a document; it is held back and the others go on: {}",
            refusal.message
        );
        let st = self.state.clone();
        tokio::task::spawn_blocking(move || {
            let mut db = crate::db::lock_latest(&st.db);
            hold(&mut db, &key, &heads, &refusal, (st.clock)())?;
            Ok::<_, Error>(())
        })
        .await??;
        self.pass.held += 1;
        Ok(())
    }

    async fn apply(&mut self, round: Round, synced: Synced) -> Result<Applied> {
        let answer = synced.answer;
        self.pass.rounds += 1;
        self.pass.sent_docs += round.sent.len() as u64;
        self.pass.received_docs += answer.docs.len() as u64;
        let st = self.state.clone();
        let p = self.parent.clone();
        tokio::task::spawn_blocking(move || {
            let mut db = crate::db::lock_latest(&st.db);
            let now = (st.clock)();
            match apply_round(&mut db, &p, &round, answer, now) {
                Ok(()) => Ok(Applied::Done),
                Err(e) if e.code == app_core::protocol::ErrorCode::UnknownDoc => {
                    // The parent sent changes to a document we lack: start over from cursor 0,
                    // which brings whole documents (as a device does when it lacks history).
                    tracing::warn!(
                        "the parent sent changes to a document not here: {}",
                        e.message
                    );
                    db.store
                        .write(|tx| set_server_meta(tx, "parent.cursor", "0"))?;
                    Ok(Applied::Again)
                }
                Err(e) => Err(Error::from(e)),
            }
        })
        .await?
    }
}

/// Forwards everything pending and takes what the parent has, in as many rounds as needed;
/// then the attachments' bytes.
pub async fn forward_once(
    state: &Arc<AppState>,
    parent: &Parent,
    transport: &Transport,
) -> Result<Pass> {
    let started = std::time::Instant::now();
    let mut to_parent = ToParent {
        state,
        parent,
        pass: Pass::default(),
        offered: Vec::new(),
    };
    rounds::run(transport, &mut to_parent, |_| {}).await?;
    let mut pass = to_parent.pass;
    // The documents are in step: now the bytes of their attachments.
    let (up, down) = blobs::exchange(state, parent, transport).await?;
    pass.sent_blobs = up;
    pass.received_blobs = down;
    pass.forward_us = started.elapsed().as_micros() as u64;
    Ok(pass)
}

/// The figures of the days that changed, to the parent ([`figures`]), with the time it took.
/// A parent that does not take them holds up no escalation: they wait for the next time.
async fn send_figures(state: &Arc<AppState>, transport: &Transport, pass: &mut Pass) {
    let started = std::time::Instant::now();
    pass.figure_days = figures::send(state, transport).await.map_err(|e| {
        tracing::warn!(error = %e, "the parent did not take the figures; they wait for the next time");
        e.to_string()
    });
    pass.figures_us = started.elapsed().as_micros() as u64;
}

/// How often a process that does not forward asks to, and how often the one that does checks
/// that its session (and with it the lock) is alive and whether the centre's log moved.
const LEADER_EVERY: Duration = Duration::from_millis(500);

/// Forwarding with several processes on one database: exactly one forwards at a time, the
/// holder of a session advisory lock named after the centre. The lock lives as long as the
/// holder's database session: when its process dies (or its session does), PostgreSQL releases
/// it and another process takes it within [`LEADER_EVERY`]. The holder checks its session every
/// [`LEADER_EVERY`] and stops forwarding if it is gone; and wakes forwarding when the centre's
/// log moved (uploads to the other processes concern the parent too).
pub async fn lead(
    shared: crate::db::Shared,
    state: Arc<AppState>,
    parent: Parent,
    wake: Arc<tokio::sync::Notify>,
    poll: Duration,
    figures_every: Duration,
) {
    let key = format!("fengqiao forward {}/{}", shared.county, shared.centre);
    let set_leader = |leading: bool| {
        let mut s = state
            .parent_status
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        s.leader = Some(leading);
        s.url = parent.url.clone();
        s.unit = parent.unit.to_string();
    };
    set_leader(false);
    loop {
        let client = match shared.pg.dedicated().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "forwarding: cannot reach the database to lead");
                tokio::time::sleep(LEADER_EVERY).await;
                continue;
            }
        };
        // Wait for the lock (another process forwards meanwhile).
        let leading = loop {
            match client
                .query_one(
                    "SELECT pg_try_advisory_lock(hashtextextended($1, 0))",
                    &[&key],
                )
                .await
            {
                Ok(row) if row.get::<_, bool>(0) => break true,
                Ok(_) => tokio::time::sleep(LEADER_EVERY).await,
                Err(e) => {
                    tracing::warn!(error = %crate::pg::describe(&e), "forwarding: the database session ended");
                    break false;
                }
            }
        };
        if !leading {
            continue;
        }
        set_leader(true);
        tracing::info!("this process forwards to the parent now");
        let task = tokio::spawn(run(
            state.clone(),
            parent.clone(),
            wake.clone(),
            poll,
            figures_every,
        ));
        let mut head: Option<i64> = None;
        loop {
            tokio::time::sleep(LEADER_EVERY).await;
            match client
                .query_one(
                    "SELECT seq FROM fq_centres WHERE county = $1 AND centre = $2",
                    &[&shared.county, &shared.centre],
                )
                .await
            {
                Ok(row) => {
                    let seq: i64 = row.get(0);
                    if head.is_some_and(|h| h != seq) {
                        wake.notify_one();
                    }
                    head = Some(seq);
                }
                Err(e) => {
                    tracing::warn!(error = %crate::pg::describe(&e), "forwarding stops: the session that held the lead ended");
                    break;
                }
            }
        }
        task.abort();
        set_leader(false);
    }
}

/// The forwarding loop: on every local change that may concern the parent (`wake`), and at
/// least every `poll` (to take the parent's work), with backoff while the parent is away; and
/// after a pass, at most every `figures_every`, the figures of the days that changed.
pub async fn run(
    state: Arc<AppState>,
    parent: Parent,
    wake: Arc<tokio::sync::Notify>,
    poll: Duration,
    figures_every: Duration,
) {
    let mut figures_at: Option<std::time::Instant> = None;
    let transport = parent.transport();
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(60));
    {
        let mut s = state
            .parent_status
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        s.url = parent.url.clone();
        s.unit = parent.unit.to_string();
    }
    loop {
        let wait = match forward_once(&state, &parent, &transport).await {
            Ok(mut pass) => {
                if figures_at.is_none_or(|t| t.elapsed() >= figures_every) {
                    figures_at = Some(std::time::Instant::now());
                    send_figures(&state, &transport, &mut pass).await;
                }
                backoff.succeed();
                let mut s = state
                    .parent_status
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                s.last_ok_at = Some((state.clock)());
                s.error = None;
                s.sent_docs += pass.sent_docs;
                s.received_docs += pass.received_docs;
                s.sent_blobs += pass.sent_blobs;
                s.received_blobs += pass.received_blobs;
                s.forward_us += pass.forward_us;
                s.figures_us += pass.figures_us;
                match &pass.figure_days {
                    Ok(days) => {
                        s.figure_sends += u64::from(*days > 0);
                        s.sent_figure_days += days;
                        s.figures_error = None;
                    }
                    Err(e) => s.figures_error = Some(e.clone()),
                }
                if pass.sent_docs + pass.received_docs + pass.sent_blobs + pass.received_blobs > 0 {
                    tracing::info!(
                        held = pass.held,
                        sent = pass.sent_docs,
                        received = pass.received_docs,
                        sent_blobs = pass.sent_blobs,
                        received_blobs = pass.received_blobs,
                        "forwarded"
                    );
                }
                poll
            }
            Err(e) => {
                let retry = backoff.fail();
                tracing::warn!(error = %e, retry_ms = retry.as_millis() as u64, "forwarding to the parent failed");
                state
                    .parent_status
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .error = Some(e.to_string());
                retry
            }
        };
        // What is held back, for /healthz.
        let st = state.clone();
        if let Ok(Ok(h)) =
            tokio::task::spawn_blocking(move || held(&crate::db::lock_latest(&st.db))).await
        {
            state
                .parent_status
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .held = h;
        }
        if backoff.failures() > 0 {
            // While the parent is away, local changes do not hurry the next try.
            tokio::time::sleep(wait).await;
        } else {
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }
}
