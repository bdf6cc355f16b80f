//! Attachments' bytes between this server and its parent.
//!
//! A case's document lists its attachments; the bytes travel on their own requests
//! (`PUT`/`GET /v1/cases/{id}/attachments/{sha256}`, with the `server:` credential). Every
//! attachment listed by a case that went up (recorded when the parent acknowledged the case's
//! changes) or came down (recorded with what the parent sent) gets a row in `forward_blobs`, in
//! the same transaction as the forwarding state. A row is open until the parent is known to hold
//! the bytes: after each forwarding pass, an open row whose bytes are here is uploaded; one whose
//! bytes are not here is fetched from the parent (the parent's staff or mediators attached it).
//! A row is closed (`acked_at`) only after the parent's 2xx (and, for a download, after the bytes
//! are stored here), so a restart neither loses work nor repeats work done; a crash between the
//! answer and the record repeats one idempotent request.
//!
//! A refused transfer (the parent does not list the attachment yet, or does not have the bytes
//! either) is logged and retried later, waiting 1 s, 2 s, 4 s … up to 30 minutes, without
//! holding up the others; as soon as the bytes of a row that waited for them arrive here, the
//! row goes up at the next pass. No connection, a revoked credential, a busy or failing parent
//! end the pass with an error: the forwarder backs off and everything stays open.

use super::{forwarded_cases, meta, Parent};
use crate::db::set_server_meta;
use crate::error::{Error, Result};
use crate::http::AppState;
use app_core::client::Transport;
use app_core::document::DocKind;
use app_core::model::Attachment;
use app_core::protocol::ErrorCode;
use automerge::AutoCommit;
use rusqlite::{params, Connection, Transaction};
use std::sync::Arc;

/// Open rows taken per step.
const BATCH: usize = 100;
/// The wait after a first refusal; doubled on each further one, up to [`MAX_WAIT_MS`].
const FIRST_WAIT_MS: i64 = 1_000;
const MAX_WAIT_MS: i64 = 30 * 60_000;

/// The SHA-256s (lower-case hex) of the attachments a case document lists.
pub(super) fn listed(doc: &AutoCommit) -> Result<Vec<String>> {
    let list: Option<Vec<Attachment>> = app_core::materialise::read_prop(doc, "attachments", None)?;
    Ok(list
        .unwrap_or_default()
        .into_iter()
        .map(|a| a.sha256.to_ascii_lowercase())
        .collect())
}

/// Records (case id, SHA-256) pairs as attachments the parent should hold; a pair already
/// recorded (open or done) is left as it is.
pub(super) fn record_listed(
    tx: &Transaction<'_>,
    parent: &str,
    listed: &[(String, String)],
) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO forward_blobs(parent, sha256, case_id) VALUES (?1, ?2, ?3)
         ON CONFLICT(parent, sha256) DO NOTHING",
    )?;
    for (case, sha) in listed {
        stmt.execute(params![parent, sha.to_ascii_lowercase(), case])?;
    }
    Ok(())
}

/// Once per parent: records the attachments of every case forwarded before this server
/// carried attachments' bytes.
fn backfill(db: &mut crate::db::ServerDb, parent: &str) -> Result<()> {
    let done_key = format!("forward.blobs.{parent}");
    if meta(db, &done_key).map_err(|e| e.to_string())?.is_some() {
        return Ok(());
    }
    let keys = db.store.read(forwarded_cases).map_err(|e| e.to_string())?;
    let mut pairs = Vec::new();
    for key in keys {
        let id = &key["case:".len()..];
        let Some(doc) = db
            .store
            .load_document(DocKind::Case, id)
            .map_err(|e| e.to_string())?
        else {
            continue;
        };
        match listed(&doc) {
            Ok(l) => pairs.extend(l.into_iter().map(|sha| (id.to_owned(), sha))),
            Err(e) => tracing::warn!(doc = %key, "attachments not readable: {e}"),
        }
    }
    db.store
        .write(|tx| {
            record_listed(tx, parent, &pairs)?;
            set_server_meta(tx, &done_key, "1")
        })
        .map_err(|e| e.to_string())?;
    if !pairs.is_empty() {
        tracing::info!(
            attachments = pairs.len(),
            "attachments of cases forwarded earlier"
        );
    }
    Ok(())
}

/// An open row due now.
struct Open {
    sha: String,
    case: String,
    tries: i64,
    /// The bytes are here (upload them), or not (fetch them).
    held: bool,
}

/// Open rows due: those whose wait is over, and those that waited for bytes which are now here.
fn due(conn: &Connection, parent: &str, now_ms: i64) -> rusqlite::Result<Vec<Open>> {
    let mut stmt = conn.prepare_cached(
        "SELECT f.sha256, f.case_id, f.tries, b.sha256 IS NOT NULL
         FROM forward_blobs f LEFT JOIN blobs b ON b.sha256 = f.sha256
         WHERE f.parent = ?1 AND f.acked_at IS NULL
           AND (f.next_at <= ?2 OR (b.sha256 IS NOT NULL AND f.failed = 'get'))
         ORDER BY f.next_at, f.sha256 LIMIT ?3",
    )?;
    let rows = stmt
        .query_map(params![parent, now_ms, BATCH as i64], |r| {
            Ok(Open {
                sha: r.get(0)?,
                case: r.get(1)?,
                tries: r.get(2)?,
                held: r.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

fn mark_done(tx: &Transaction<'_>, parent: &str, sha: &str, now_ms: i64) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE forward_blobs SET acked_at = ?3, failed = NULL WHERE parent = ?1 AND sha256 = ?2",
        params![parent, sha, now_ms],
    )?;
    Ok(())
}

fn mark_failed(
    tx: &Transaction<'_>,
    parent: &str,
    item: &Open,
    direction: &str,
    now_ms: i64,
) -> rusqlite::Result<()> {
    let wait = FIRST_WAIT_MS
        .saturating_mul(1i64 << item.tries.clamp(0, 20))
        .min(MAX_WAIT_MS);
    tx.execute(
        "UPDATE forward_blobs SET tries = tries + 1, next_at = ?3, failed = ?4
         WHERE parent = ?1 AND sha256 = ?2",
        params![parent, item.sha, now_ms + wait, direction],
    )?;
    Ok(())
}

/// Runs `f` on the database, off the async threads.
async fn with_db<T: Send + 'static, E>(
    state: &Arc<AppState>,
    f: impl FnOnce(&mut crate::db::ServerDb, i64) -> Result<T, E> + Send + 'static,
) -> Result<T>
where
    E: Into<Error> + Send + 'static,
{
    let st = state.clone();
    tokio::task::spawn_blocking(move || {
        let mut db = crate::db::lock(&st.db);
        let now = (st.clock)();
        f(&mut db, now)
    })
    .await?
    .map_err(Into::into)
}

/// Uploads the bytes held here of every open row and fetches those the parent has and this
/// server lacks. Returns how many went up and came down.
pub(super) async fn exchange(
    state: &Arc<AppState>,
    parent: &Parent,
    transport: &Transport,
) -> Result<(u64, u64)> {
    let unit = parent.unit.to_string();
    let (mut up, mut down) = (0u64, 0u64);
    loop {
        let u = unit.clone();
        let items = with_db(state, move |db, now| {
            backfill(db, &u).map_err(|e| e.to_string())?;
            db.store
                .read(|c| due(c, &u, now))
                .map_err(|e| e.to_string())
        })
        .await?;
        let n = items.len();
        for item in items {
            if item.held {
                let sha = item.sha.clone();
                let Some((mime, bytes)) = with_db(state, move |db, _| {
                    db.store.blob(&sha).map_err(|e| e.to_string())
                })
                .await?
                else {
                    // Not here after all: try again later.
                    let u = unit.clone();
                    with_db(state, move |db, now| {
                        db.store
                            .write(|tx| mark_failed(tx, &u, &item, "put", now))
                            .map_err(|e| e.to_string())
                    })
                    .await?;
                    continue;
                };
                let size = bytes.len();
                let answer = transport
                    .put_attachment(&item.case, &item.sha, &mime, bytes.into())
                    .await?;
                let u = unit.clone();
                match answer {
                    Ok(_) => {
                        tracing::info!(case = %item.case, sha = %item.sha, size, "attachment sent to the parent");
                        up += 1;
                        with_db(state, move |db, now| {
                            db.store
                                .write(|tx| mark_done(tx, &u, &item.sha, now))
                                .map_err(|e| e.to_string())
                        })
                        .await?;
                    }
                    Err(refusal) => {
                        tracing::warn!(case = %item.case, sha = %item.sha, "the parent refused an attachment: {refusal}");
                        with_db(state, move |db, now| {
                            db.store
                                .write(|tx| mark_failed(tx, &u, &item, "put", now))
                                .map_err(|e| e.to_string())
                        })
                        .await?;
                    }
                }
            } else {
                let fetched = transport
                    .get_attachment(&item.case, &item.sha)
                    .await?
                    .map_err(|r| (r.code, r.to_string()));
                let u = unit.clone();
                let got = with_db(state, move |db, now| {
                    let failure = match fetched {
                        Ok((mime, bytes)) => {
                            match db.store.put_blob(&item.sha, &mime, &bytes, now) {
                                Ok(_) => {
                                    tracing::info!(case = %item.case, sha = %item.sha, size = bytes.len(), "attachment fetched from the parent");
                                    db.store.write(|tx| mark_done(tx, &u, &item.sha, now))
                                        .map_err(|e| e.to_string())?;
                                    return Ok(true);
                                }
                                Err(app_core::Error::Invalid { .. }) => {
                                    format!("the parent's bytes are not the attachment ({mime}, {} bytes)", bytes.len())
                                }
                                Err(e) => return Err(e.to_string()),
                            }
                        }
                        Err((code, message)) => {
                            if code == ErrorCode::NotUploaded {
                                // The parent waits for them too (from this side, or its device).
                                tracing::debug!(case = %item.case, sha = %item.sha, "the parent has not the attachment's bytes yet");
                                String::new()
                            } else {
                                message
                            }
                        }
                    };
                    if !failure.is_empty() {
                        tracing::warn!(case = %item.case, sha = %item.sha, "an attachment could not be fetched from the parent: {failure}");
                    }
                    db.store.write(|tx| mark_failed(tx, &u, &item, "get", now))
                        .map_err(|e| e.to_string())?;
                    Ok(false)
                })
                .await?;
                if got {
                    down += 1;
                }
            }
        }
        if n < BATCH {
            return Ok((up, down));
        }
    }
}
