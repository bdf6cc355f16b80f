//! What a request must pass before the server reads its body.
//!
//! Reading a body costs memory (up to the body limit, 16 MiB by default), so the server reads
//! none for a sender it does not know, and only so many at once:
//!
//! - [`Authed`]: the bearer token names an enrolled device that is not revoked, and the
//!   device's token bucket has a token. Every route but `/healthz` and `/v1/enrol` takes it.
//! - [`CaseAttachment`]: [`Authed`], and the path's `{id}` and `{sha256}` name an attachment
//!   that a case the device may see lists (`unknown_doc` alike for a case that does not exist
//!   and one out of scope; `unknown_attachment`); [`UploadType`]: the upload's `Content-Type`.
//! - [`SyncTurn`]: one sync request per device at a time.
//! - [`BodySlot`]: one of `max_bodies_in_flight` permits, held until the answer is written;
//!   a request waits up to `body_wait_ms` for one, then gets 503 `busy` with `Retry-After`.
//!
//! Axum runs a handler's extractors in the order of its arguments, and only the last one may
//! read the body: a handler that takes `Authed`, then `BodySlot`, then the body reads nothing
//! for an unknown or revoked credential; the answer (401) goes out while the sender is still
//! sending. The gzip layer (`RequestDecompressionLayer`) only wraps the body in a decoder and
//! reads nothing itself.
//!
//! Enrolment is the one route without a credential. [`EnrolGate`] takes a token from the
//! client address's bucket and one from the server-wide bucket for every attempt, right or
//! wrong (429 `rate_limited` with `Retry-After` when either is empty), then checks the
//! protocol version; its body is capped at [`ENROL_BODY_BYTES`]. An IPv6 client is counted by its /64, which one subscriber holds.
//! Behind a reverse proxy every client has the proxy's address: the server-wide bucket still
//! holds, and the per-address one then counts the proxy (the server does not trust
//! `X-Forwarded-For`, which a client can write).

use crate::db::Device;
use crate::error::{ApiError, Error};
use crate::http::{blocking, check_version, fresh_directory, AppState};
use app_core::model::Attachment;
use app_core::protocol::ErrorCode;
use axum::extract::{ConnectInfo, FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::OwnedSemaphorePermit;

/// The largest enrolment request body (a code, a device name of 60 characters, an actor id).
pub const ENROL_BODY_BYTES: usize = 4096;

/// Keys a bucket map holds before it forgets the full ones (then all, if still too many).
const MAX_KEYS: usize = 10_000;

/// Token buckets by key: `rate` tokens a second, at most `burst`.
#[derive(Debug)]
pub struct Buckets {
    rate: f64,
    burst: f64,
    /// The processes serving the centre that share these limits (1 with SQLite): each takes
    /// its part of the rate and the burst.
    share: std::sync::atomic::AtomicU32,
    map: Mutex<HashMap<String, (f64, Instant)>>,
}

impl Buckets {
    pub fn new(rate_per_second: f64, burst: f64) -> Buckets {
        Buckets {
            rate: rate_per_second.max(0.0),
            burst: burst.max(1.0),
            share: std::sync::atomic::AtomicU32::new(1),
            map: Mutex::new(HashMap::new()),
        }
    }

    /// Shares the limits among `processes` processes (at least one): each allows its part.
    pub fn share_among(&self, processes: u32) {
        self.share
            .store(processes.max(1), std::sync::atomic::Ordering::Relaxed);
    }

    /// Takes a token from `key`'s bucket, or says in how many seconds one will be there.
    pub fn take(&self, key: &str) -> Result<(), u64> {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let share = f64::from(self.share.load(std::sync::atomic::Ordering::Relaxed).max(1));
        let (rate, burst) = (self.rate / share, (self.burst / share).max(1.0));
        if map.len() >= MAX_KEYS && !map.contains_key(key) {
            // A full bucket is the same as no bucket.
            map.retain(|_, (t, at)| *t + now.duration_since(*at).as_secs_f64() * rate < burst);
            if map.len() >= MAX_KEYS {
                map.clear();
            }
        }
        let (tokens, at) = map.entry(key.to_owned()).or_insert((burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * rate).min(burst);
        *at = now;
        if *tokens < 1.0 {
            let wait = if rate > 0.0 {
                ((1.0 - *tokens) / rate).ceil() as u64
            } else {
                3600
            };
            return Err(wait.max(1));
        }
        *tokens -= 1.0;
        Ok(())
    }
}

/// The device a request comes from: its bearer token checked (and its rate) before anything
/// else of the request is looked at.
#[derive(Debug)]
pub struct Authed(pub Device);

impl FromRequestParts<Arc<AppState>> for Authed {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        check_version(&parts.headers)?;
        let token = bearer(&parts.headers)?;
        let st = state.clone();
        let device = blocking(move || {
            let mut db = crate::db::lock(&st.db);
            fresh_directory(&mut db, &st.directory_seen)?;
            db.authenticate(&token)
        })
        .await?;
        state.devices.take(device.id.as_str()).map_err(|wait| {
            ApiError::new(
                ErrorCode::RateLimited,
                "this device is syncing too often; wait a moment and try again",
            )
            .retry_after(wait)
        })?;
        parts.extensions.insert(device.id.clone());
        Ok(Authed(device))
    }
}

/// An integrator's credential (another system's: the 12345 platform, police linkage), before
/// the body is read: the bearer token names a device that is not revoked and is an integrator
/// ([`crate::db::ServerDb::integrator`]; `out_of_scope` for a person's device), and the
/// integrators' bucket has a token (`intake_per_second`, larger than a device's: a platform
/// sends a city's orders).
#[derive(Debug)]
pub struct Integrator(pub Device, pub crate::db::IntegratorScope);

impl FromRequestParts<Arc<AppState>> for Integrator {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(&parts.headers)?;
        let st = state.clone();
        let (device, scope) = blocking(move || {
            let mut db = crate::db::lock(&st.db);
            fresh_directory(&mut db, &st.directory_seen)?;
            let device = db.authenticate(&token)?;
            let scope = crate::intake::integrator_of(&db, &device)?;
            Ok((device, scope))
        })
        .await?;
        state.integrators.take(device.id.as_str()).map_err(|wait| {
            ApiError::new(
                ErrorCode::RateLimited,
                "this system is sending orders faster than the server takes them; wait and retry with the same Idempotency-Key",
            )
            .retry_after(wait)
        })?;
        Ok(Integrator(device, scope))
    }
}

/// A device's turn to sync: one sync request per device at a time. An honest client never
/// sends two at once (it waits for each answer); a device that does could otherwise keep both
/// cores checking its uploads. Runs after [`Authed`], before the body is read.
#[derive(Debug)]
pub struct SyncTurn {
    state: Arc<AppState>,
    device: app_core::ids::DeviceId,
}

impl Drop for SyncTurn {
    fn drop(&mut self) {
        self.state
            .syncing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.device);
    }
}

impl FromRequestParts<Arc<AppState>> for SyncTurn {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let device = parts
            .extensions
            .get::<app_core::ids::DeviceId>()
            .cloned()
            .ok_or_else(|| ApiError::internal("SyncTurn runs after Authed"))?;
        let fresh = state
            .syncing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(device.clone());
        if !fresh {
            return Err(ApiError::new(
                ErrorCode::RateLimited,
                "this device already has a sync in progress; send the next one after its answer",
            )
            .retry_after(1)
            .into());
        }
        Ok(SyncTurn {
            state: state.clone(),
            device,
        })
    }
}

fn bearer(headers: &HeaderMap) -> Result<String, ApiError> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::Unauthenticated,
                "no device credential: send `Authorization: Bearer <token>`",
            )
        })?;
    value
        .strip_prefix("Bearer ")
        .map(|t| t.trim().to_owned())
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::Unauthenticated,
                "the Authorization header must be `Bearer <token>`",
            )
        })
}

/// Leave to read a request body: held until the handler has answered.
#[derive(Debug)]
pub struct BodySlot(#[allow(dead_code)] OwnedSemaphorePermit);

impl BodySlot {
    /// Waits (briefly) for a slot, or refuses with 503 `busy`.
    pub async fn take(state: &AppState) -> Result<BodySlot, ApiError> {
        let wait = Duration::from_millis(state.http_limits.body_wait_ms);
        match tokio::time::timeout(wait, state.bodies.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(BodySlot(permit)),
            _ => Err(ApiError::new(
                ErrorCode::Busy,
                "the server is receiving as many uploads as it can at once; nothing was \
                 stored; try again in a moment",
            )
            .retry_after(1)),
        }
    }
}

impl FromRequestParts<Arc<AppState>> for BodySlot {
    type Rejection = Error;

    async fn from_request_parts(
        _parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        Ok(BodySlot::take(state).await?)
    }
}

/// An attachment of a case, as the path `/v1/cases/{id}/attachments/{sha256}` names it, for a
/// device ([`Authed`]) that may see the case, which lists it. Checked before the body is read.
#[derive(Debug)]
pub struct CaseAttachment {
    pub device: Device,
    /// The case's id.
    pub case: String,
    /// The SHA-256, lower-case hex.
    pub sha: String,
    /// The case's entries for this attachment (at least one).
    pub listed: Vec<Attachment>,
}

impl FromRequestParts<Arc<AppState>> for CaseAttachment {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let Authed(device) = Authed::from_request_parts(parts, state).await?;
        let Path((case, sha)) = Path::<(String, String)>::from_request_parts(parts, state)
            .await
            .map_err(|e| {
                ApiError::new(
                    ErrorCode::BadEncoding,
                    format!("the path is not understood: {e}"),
                )
            })?;
        let st = state.clone();
        Ok(blocking(move || {
            let db = crate::db::lock(&st.db);
            let sha = crate::attachments::parse_sha(&sha)?;
            let listed = crate::attachments::listed(&db, &device, &case, &sha)?;
            Ok(CaseAttachment {
                device,
                case,
                sha,
                listed,
            })
        })
        .await?)
    }
}

/// The `Content-Type` of an attachment's upload (without parameters, in lower case):
/// `bad_attachment` if there is none.
#[derive(Debug)]
pub struct UploadType(pub String);

impl<S: Send + Sync> FromRequestParts<S> for UploadType {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(UploadType(crate::attachments::upload_type(&parts.headers)?))
    }
}

/// Leave to try an enrolment code, from the client address's bucket and the server's.
#[derive(Debug)]
pub struct EnrolGate;

impl FromRequestParts<Arc<AppState>> for EnrolGate {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let client = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| client_key(c.0.ip()))
            .unwrap_or_else(|| "unknown".to_owned());
        let refused = |wait: u64| {
            tracing::warn!(client = %client, wait, "enrolment attempts limited");
            ApiError::new(
                ErrorCode::RateLimited,
                format!(
                    "too many enrolment attempts; wait {wait} seconds and try again (check \
                     the code: it is 16 characters, as printed)"
                ),
            )
            .retry_after(wait)
        };
        state.enrol_by_client.take(&client).map_err(refused)?;
        state.enrol_all.take("all").map_err(refused)?;
        check_version(&parts.headers)?;
        Ok(EnrolGate)
    }
}

/// The key a client address is counted under: the address, or an IPv6 address's /64.
fn client_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_lets_a_burst_through_then_says_how_long_to_wait() {
        let b = Buckets::new(0.5, 3.0);
        for _ in 0..3 {
            assert_eq!(b.take("a"), Ok(()));
        }
        assert_eq!(b.take("a"), Err(2), "one token every two seconds");
        assert_eq!(b.take("b"), Ok(()), "each key its own bucket");
        assert_eq!(Buckets::new(0.0, 1.0).take("x"), Ok(()));
    }

    #[test]
    fn ipv6_clients_count_by_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1"
            .parse()
            .unwrap_or(IpAddr::from([0; 4]));
        let b: IpAddr = "2001:db8:1:2:bbbb::2"
            .parse()
            .unwrap_or(IpAddr::from([0; 4]));
        assert_eq!(client_key(a), client_key(b));
        assert_eq!(client_key(IpAddr::from([127, 0, 0, 1])), "127.0.0.1");
    }
}
