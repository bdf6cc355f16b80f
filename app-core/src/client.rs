//! The sync client: what a phone (or a child server) runs to exchange changes with its centre.
//!
//! One [`SyncClient::sync`] call repeats round trips until the outbox is sent and the server has
//! nothing more: each round uploads up to [`ROUND_CHANGES`] changes from the outbox, applies what
//! comes back, and only then drops the uploaded changes from the outbox and saves the new
//! cursor. A crash anywhere re-sends at most one round, which the server takes idempotently.
//! The store is locked only for the local steps, never across the network.
//!
//! A document the server refuses (its error names the document) is moved aside with the
//! server's reason ([`Store::quarantine`]) so that one bad case cannot block the rest; any
//! other failure ends the call with a [`SyncError`] and the caller backs off ([`Backoff`]).
//!
//! Attachments' bytes go up after the changes: once the rounds have emptied the outbox of a
//! case's changes, the server holds the entry listing the attachment, and each pending blob is
//! uploaded on its own request (`PUT /v1/cases/{id}/attachments/{sha256}`), marked sent only
//! after the server's 2xx. A refused upload is reported and does not stop the others.

pub mod rounds;
pub mod transport;

pub use transport::{Refusal, Synced, Transport, ATTACHMENT_TIMEOUT};

use crate::document::DocKind;
use crate::error::Error;
use crate::ids::{CaseId, DeviceId, PersonId, UnitId};
use crate::org::{Role, Tier};
use crate::protocol::{DocChanges, DocUpdate, EnrolRequest, ErrorCode, SyncRequest};
use crate::store::Store;
use automerge::ChangeHash;
use rounds::{Applied, Prepared, Source};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// At most this many changes go up in one round trip.
pub const ROUND_CHANGES: usize = 2_000;

const CREDENTIALS: &str = "sync.credentials";
const CURSOR: &str = "sync.cursor";
const LAST_SYNC: &str = "sync.last_ok_at";
const DIRECTORY: &str = "sync.directory_version";

/// What a device keeps after enrolling (in its store's meta table).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Credentials {
    /// The server's base address, e.g. `http://192.168.1.10:8737`.
    pub server: String,
    pub device: DeviceId,
    pub token: String,
    pub person: PersonId,
    pub name: String,
    pub roles: Vec<(Role, UnitId)>,
    pub server_unit: UnitId,
    pub server_tier: Tier,
}

/// What a sync did, for the UI's progress line.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub rounds: u32,
    pub sent_changes: u64,
    pub received_docs: u64,
    pub received_changes: u64,
    pub bytes_up: u64,
    pub bytes_down: u64,
    /// Documents the server refused in this sync: (key, code, message).
    pub rejected: Vec<(String, ErrorCode, String)>,
    /// Changes still waiting in the outbox.
    pub pending: usize,
    /// Attachments whose bytes went up in this sync.
    pub sent_blobs: u64,
    /// Attachments whose upload the server refused in this sync: (sha256, code, message). They
    /// stay pending and are tried again next time.
    pub refused_blobs: Vec<(String, ErrorCode, String)>,
    /// Attachments attached here whose bytes no server has acknowledged yet.
    pub pending_blobs: usize,
}

/// Why a sync stopped.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// No connection to the server (no signal, server down, timeout). Try again later.
    #[error("the server cannot be reached: {0}")]
    Offline(String),
    /// The server refused the request as a whole.
    #[error("the server refused the request ({code:?}, HTTP {status}): {message}")]
    Refused {
        status: u16,
        code: ErrorCode,
        message: String,
    },
    /// The server answered with something that is not the protocol.
    #[error("the server's answer is not understood: {0}")]
    Protocol(String),
    #[error("this device is not enrolled with a server")]
    NotEnrolled,
    #[error(transparent)]
    Store(#[from] Error),
}

impl SyncError {
    /// The failure in Chinese, for the interface (the `Display` text is the English one).
    pub fn zh(&self) -> String {
        match self {
            SyncError::Offline(_) => {
                "无法连接服务器（记录已保存在本机，联网后自动同步）".to_owned()
            }
            SyncError::Refused { code, message, .. } => match code {
                ErrorCode::BadCode => "登记码无效、已用过或已过期，请向综治中心重新申领".to_owned(),
                ErrorCode::Revoked => "本机的登记已被撤销，请联系综治中心".to_owned(),
                ErrorCode::Unauthenticated => "本机登记凭证无效，请重新登记".to_owned(),
                ErrorCode::RateLimited => "同步过于频繁，请稍候再试".to_owned(),
                ErrorCode::Busy => "服务器繁忙，稍后自动重试".to_owned(),
                ErrorCode::Version => "服务器版本与本应用不一致，请更新应用".to_owned(),
                _ => format!("服务器拒绝了请求：{message}"),
            },
            SyncError::Protocol(m) => format!("无法识别服务器的答复：{m}"),
            SyncError::NotEnrolled => "本机尚未登记到综治中心".to_owned(),
            SyncError::Store(e) => e.zh(),
        }
    }

    /// Whether trying again later may succeed (as opposed to needing a person to act).
    pub fn is_transient(&self) -> bool {
        match self {
            SyncError::Offline(_) => true,
            SyncError::Refused { code, .. } => {
                matches!(
                    code,
                    ErrorCode::RateLimited | ErrorCode::Busy | ErrorCode::Internal
                )
            }
            _ => false,
        }
    }
}

/// Exponential backoff with jitter between failed syncs: 1 s, 2 s, 4 s… up to `max`.
#[derive(Clone, Debug)]
pub struct Backoff {
    failures: u32,
    base: Duration,
    max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            failures: 0,
            base: Duration::from_secs(1),
            max: Duration::from_secs(300),
        }
    }
}

impl Backoff {
    pub fn new(base: Duration, max: Duration) -> Backoff {
        Backoff {
            failures: 0,
            base,
            max,
        }
    }

    /// The wait after one more failure.
    pub fn fail(&mut self) -> Duration {
        let exp = self.base.saturating_mul(1u32 << self.failures.min(16));
        self.failures += 1;
        let capped = exp.min(self.max);
        // Up to 25% jitter, so that a village's phones do not all retry at once.
        let jitter = (uuid::Uuid::new_v4().as_u128() % 1000) as u32;
        capped + capped.mul_f64(f64::from(jitter) / 4000.0)
    }

    pub fn succeed(&mut self) {
        self.failures = 0;
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }
}

/// A client bound to one server with one device credential.
#[derive(Clone, Debug)]
pub struct SyncClient {
    transport: Transport,
    credentials: Credentials,
}

fn lock(store: &Mutex<Store>) -> std::sync::MutexGuard<'_, Store> {
    store.lock().unwrap_or_else(|e| e.into_inner())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

impl SyncClient {
    /// Enrols this device with a server using a one-time code, and keeps the credential in the
    /// store.
    pub async fn enrol(
        server: &str,
        code: &str,
        device_name: &str,
        store: &Mutex<Store>,
    ) -> Result<SyncClient, SyncError> {
        let actor = lock(store).actor_id().to_hex_string();
        let transport = Transport::new(server, None);
        let e = transport
            .enrol(&EnrolRequest {
                code: code.trim().to_owned(),
                device_name: device_name.to_owned(),
                actor,
            })
            .await?;
        let server = transport.base().to_owned();
        let credentials = Credentials {
            server,
            device: e.device,
            token: e.token,
            person: e.person,
            name: e.name,
            roles: e.roles,
            server_unit: e.server_unit,
            server_tier: e.server_tier,
        };
        {
            let mut s = lock(store);
            s.set_meta(
                CREDENTIALS,
                &serde_json::to_string(&credentials).map_err(Error::Json)?,
            )?;
            s.set_meta(CURSOR, "0")?;
        }
        let client = SyncClient {
            transport: transport.with_token(&credentials.token),
            credentials,
        };
        client.fetch_directory(store).await?;
        Ok(client)
    }

    /// The client for the credential kept in the store, if the device is enrolled.
    pub fn from_store(store: &Store) -> Result<Option<SyncClient>, SyncError> {
        let Some(json) = store.meta(CREDENTIALS)? else {
            return Ok(None);
        };
        let credentials: Credentials = serde_json::from_str(&json).map_err(Error::Json)?;
        Ok(Some(SyncClient {
            transport: Transport::new(&credentials.server, Some(&credentials.token)),
            credentials,
        }))
    }

    /// Whether the server can be reached now (its `/healthz` answers).
    pub async fn reachable(&self) -> bool {
        self.transport.reachable().await
    }

    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// When the last sync that reached the server completed (UTC ms).
    pub fn last_synced(store: &Store) -> Result<Option<i64>, SyncError> {
        Ok(store.meta(LAST_SYNC)?.and_then(|v| v.parse().ok()))
    }

    /// Syncs until the outbox is sent and the server has nothing more for this device.
    /// `progress` is called after every round.
    pub async fn sync(
        &self,
        store: &Mutex<Store>,
        mut progress: impl FnMut(&Progress),
    ) -> Result<Progress, SyncError> {
        let mut outbox = Outbox {
            client: self,
            store,
            p: Progress::default(),
        };
        rounds::run(&self.transport, &mut outbox, |o| progress(&o.p)).await?;
        let mut p = outbox.p;
        self.upload_blobs(store, &mut p, &mut progress).await?;
        self.pull_lower_days(store).await?;
        // What the sync wrote is in the database file now: the log need not stay large.
        lock(store).checkpoint()?;
        Ok(p)
    }

    /// Uploads the bytes of every pending attachment whose case has no change left in the outbox
    /// (so the server holds the entry listing it). Each is marked sent after the server's 2xx; a
    /// refusal is reported in `p` and the others go on; no connection, a revoked device, a busy
    /// or failing server end the call with an error and leave the rest pending.
    async fn upload_blobs(
        &self,
        store: &Mutex<Store>,
        p: &mut Progress,
        progress: &mut impl FnMut(&Progress),
    ) -> Result<(), SyncError> {
        let pending = {
            let s = lock(store);
            let mut pending = s.pending_blobs()?;
            if s.outbox_len()? > 0 {
                // Written while this sync ran: those cases' attachments wait for the next one.
                let unsent: std::collections::BTreeSet<String> = s
                    .outbox(i64::MAX as usize)?
                    .into_iter()
                    .map(|e| e.key)
                    .collect();
                pending.retain(|(_, case)| !unsent.contains(&DocKind::Case.key(case)));
            }
            pending
        };
        for (sha, case) in pending {
            let Some((mime, bytes)) = lock(store).blob(&sha)? else {
                continue;
            };
            p.bytes_up += bytes.len() as u64;
            match self
                .transport
                .put_attachment(&case, &sha, &mime, bytes.into())
                .await?
            {
                Ok(()) => {
                    lock(store).mark_blob_sent(&sha)?;
                    p.sent_blobs += 1;
                }
                Err(r) => p.refused_blobs.push((sha, r.code, r.message)),
            }
            progress(p);
        }
        p.pending_blobs = lock(store).pending_blobs()?.len();
        Ok(())
    }

    /// For a centre's staff and leaders: takes the figures the tiers below sent the server since
    /// the last time (逐级汇总), so that this device's figures cover the townships (or villages)
    /// as the server's do, offline too. Others, and a server that refuses or does not offer
    /// them, take nothing; no connection ends the sync with its error.
    async fn pull_lower_days(&self, store: &Mutex<Store>) -> Result<(), SyncError> {
        let (centre, mut after) = {
            let s = lock(store);
            let centre = s
                .directory()
                .person(&self.credentials().person)
                .is_some_and(|p| p.roles.iter().any(|r| r.is_centre()));
            (centre, s.lower_after()?)
        };
        if !centre {
            return Ok(());
        }
        // A few pages a sync at most; the next sync goes on from where this one stopped.
        for _ in 0..20 {
            let Ok(page) = self.transport.lower_days(after).await? else {
                return Ok(());
            };
            if page.next <= after && page.days.is_empty() {
                return Ok(());
            }
            lock(store).take_lower_days(&page.days, page.next)?;
            after = page.next;
            if !page.more {
                break;
            }
        }
        Ok(())
    }

    /// Downloads an attachment's bytes from the server (which gives them only to a device that
    /// may see the case, for an attachment the case lists) and keeps them in the store, checked
    /// against their hash. Returns their type and the bytes.
    pub async fn fetch_attachment(
        &self,
        store: &Mutex<Store>,
        case: &CaseId,
        sha256: &str,
    ) -> Result<(String, Vec<u8>), SyncError> {
        let (mime, bytes) = self
            .transport
            .get_attachment(case.as_str(), sha256)
            .await??;
        lock(store)
            .put_blob(sha256, &mime, &bytes, now_ms())
            .map_err(|e| match e {
                Error::Invalid { .. } => SyncError::Protocol(format!(
                    "the server's bytes for attachment {sha256} are not that attachment: {e}"
                )),
                other => other.into(),
            })?;
        Ok((mime, bytes))
    }
}

impl SyncClient {
    /// Fetches the server's directory and installs it in the store.
    pub async fn fetch_directory(&self, store: &Mutex<Store>) -> Result<(), SyncError> {
        let d = self.transport.directory().await?;
        let directory = crate::org::Directory::new(d.units, d.people)
            .map_err(|e| SyncError::Protocol(format!("the server's directory is invalid: {e}")))?;
        let mut s = lock(store);
        s.set_directory(directory)?;
        s.set_meta(DIRECTORY, &d.version.to_string())?;
        Ok(())
    }
}

/// The device's side of the round loop: the outbox goes up, the server's answer is merged, the
/// cursor moves last.
struct Outbox<'a> {
    client: &'a SyncClient,
    store: &'a Mutex<Store>,
    p: Progress,
}

impl Source for Outbox<'_> {
    /// The hashes of the changes sent.
    type Sent = Vec<ChangeHash>;
    type Error = SyncError;

    async fn prepare(&mut self) -> Result<Prepared<Vec<ChangeHash>>, SyncError> {
        let s = lock(self.store);
        let cursor: u64 = s.meta(CURSOR)?.and_then(|v| v.parse().ok()).unwrap_or(0);
        let entries = s.outbox(ROUND_CHANGES)?;
        let full = entries.len() == ROUND_CHANGES;
        let mut by_doc: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
        let mut sent = Vec::with_capacity(entries.len());
        for e in entries {
            sent.push(e.hash);
            by_doc.entry(e.key).or_default().push(e.change);
        }
        let upload = by_doc
            .into_iter()
            .map(|(doc, changes)| DocChanges { doc, changes })
            .collect();
        Ok(Prepared {
            request: SyncRequest {
                cursor,
                upload,
                max_docs: None,
            },
            sent,
            full,
        })
    }

    /// One document refused: set it aside (its changes kept, with the reason) and go on with
    /// the rest.
    async fn refused(&mut self, r: Refusal) -> Result<(), SyncError> {
        self.p.rounds += 1;
        let doc = r.doc.clone().unwrap_or_default();
        lock(self.store).quarantine(&doc, &r.code.as_str(), &r.message, now_ms())?;
        self.p.rejected.push((doc, r.code, r.message));
        Ok(())
    }

    async fn apply(&mut self, sent: Vec<ChangeHash>, synced: Synced) -> Result<Applied, SyncError> {
        let p = &mut self.p;
        p.rounds += 1;
        p.bytes_up += synced.bytes_up;
        p.bytes_down += synced.bytes_down;
        let answer = synced.answer;
        // The directory first: received cases may name people it does not know yet.
        let held: u64 = lock(self.store)
            .meta(DIRECTORY)?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if answer.directory != held {
            self.client.fetch_directory(self.store).await?;
        }
        // Apply, then acknowledge and move the cursor.
        let mut s = lock(self.store);
        let now = now_ms();
        let mut batch = Vec::new();
        let mut whole = Vec::new();
        for d in answer.docs {
            match d {
                DocUpdate::Changes { doc, changes } => {
                    let (kind, id) = split_key(&doc)?;
                    p.received_changes += changes.len() as u64;
                    batch.push((kind, id.to_owned(), changes));
                }
                DocUpdate::Document { doc, bytes } => {
                    let (kind, id) = split_key(&doc)?;
                    whole.push((kind, id.to_owned(), bytes));
                }
            }
            p.received_docs += 1;
        }
        s.merge_documents(&whole, now)?;
        match s.apply_changes_batch(&batch, now) {
            Ok(_) => {}
            Err(Error::MissingDependencies { .. }) => {
                // This store lacks history the server thinks it has (restored from a backup?):
                // start over from cursor 0, which sends whole documents.
                s.set_meta(CURSOR, "0")?;
                return Ok(Applied::Again);
            }
            Err(e) => return Err(e.into()),
        }
        s.acknowledge(&sent)?;
        s.set_meta(CURSOR, &answer.cursor.to_string())?;
        s.set_meta(LAST_SYNC, &now.to_string())?;
        p.sent_changes += sent.len() as u64;
        p.pending = s.outbox_len()?;
        Ok(Applied::Done)
    }
}

/// What a background sync loop reports.
#[derive(Debug)]
pub enum SyncEvent {
    /// A sync completed.
    Synced(Progress),
    /// A sync failed; the next try is after `retry_in`.
    Failed {
        error: SyncError,
        retry_in: Duration,
    },
}

impl SyncClient {
    /// Syncs every `every` while `keep_going` says so; after a failure that may pass (no signal,
    /// server busy) waits with exponential backoff instead. Reports each outcome to `report`.
    /// Returns when `keep_going` returns false or a failure needs a person (revoked device,
    /// refused request).
    pub async fn run(
        &self,
        store: &Mutex<Store>,
        every: Duration,
        mut keep_going: impl FnMut() -> bool,
        mut report: impl FnMut(SyncEvent),
    ) -> Result<(), SyncError> {
        let mut backoff = Backoff::default();
        while keep_going() {
            match self.sync(store, |_| {}).await {
                Ok(p) => {
                    backoff.succeed();
                    report(SyncEvent::Synced(p));
                    tokio::time::sleep(every).await;
                }
                Err(e) if e.is_transient() => {
                    let retry_in = backoff.fail();
                    report(SyncEvent::Failed { error: e, retry_in });
                    tokio::time::sleep(retry_in).await;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

fn split_key(key: &str) -> Result<(DocKind, &str), SyncError> {
    DocKind::parse_key(key)
        .ok_or_else(|| SyncError::Protocol(format!("`{key}` is not a document key")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap_and_resets_on_success() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
        let waits: Vec<Duration> = (0..10).map(|_| b.fail()).collect();
        for (i, w) in waits.iter().enumerate() {
            let base = Duration::from_secs(1u64 << i.min(6)).min(Duration::from_secs(60));
            assert!(
                *w >= base && *w <= base + base / 4,
                "wait {i}: {w:?} vs {base:?}"
            );
        }
        assert_eq!(b.failures(), 10);
        b.succeed();
        assert_eq!(b.failures(), 0);
        assert!(b.fail() < Duration::from_millis(1250));
    }

    #[test]
    fn only_passing_failures_are_retried() {
        assert!(SyncError::Offline("no route".into()).is_transient());
        let refused = |code| SyncError::Refused {
            status: 400,
            code,
            message: String::new(),
        };
        assert!(refused(ErrorCode::RateLimited).is_transient());
        assert!(refused(ErrorCode::Internal).is_transient());
        assert!(!refused(ErrorCode::Revoked).is_transient());
        assert!(!refused(ErrorCode::WorkflowDenied).is_transient());
        assert!(!SyncError::NotEnrolled.is_transient());
    }
}
