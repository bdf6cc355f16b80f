//! The HTTP face of the server (axum): the routes ([`router`]), the state every handler shares,
//! limits, and the request bodies as the protocol reads them ([`ProtocolJson`],
//! [`AttachmentBody`]: bad input gets the protocol's error body, never axum's plain text).
//! Who may send a body, and how many at once, is [`crate::admission`]'s business: each
//! handler takes its checks as extractors, calls the domain function and maps its answer.
//! Errors become answers in one place, [`crate::error::Error`]'s `IntoResponse`.
//!
//! The database is one SQLite connection behind a mutex; every request's database work runs on
//! the blocking pool, so slow disks never stall the async workers that parse and answer.

use crate::admission::{
    Authed, BodySlot, Buckets, CaseAttachment, EnrolGate, Integrator, SyncTurn, UploadType,
    ENROL_BODY_BYTES,
};
use crate::db::{Device, ServerDb};
use crate::error::{ApiError, Error};
use crate::sync::{self, SyncLimits};
use crate::terminal::escape;
use app_core::model::MAX_ATTACHMENT_BYTES;
use app_core::protocol::{
    AttachmentStored, DirectoryResponse, EnrolRequest, EnrolResponse, ErrorCode, SyncRequest,
    PROTOCOL_VERSION,
};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Limits of the HTTP layer.
#[derive(Clone, Debug)]
pub struct HttpLimits {
    /// Largest request body, after decompression. An attachment's upload has its own limit,
    /// [`MAX_ATTACHMENT_BYTES`], whatever this one is.
    pub max_body_bytes: usize,
    /// Requests per device per second, sustained; bursts up to `burst`.
    pub rate_per_second: f64,
    pub burst: f64,
    /// Request bodies read (and answered) at once; more wait up to `body_wait_ms`, then get 503.
    pub max_bodies_in_flight: usize,
    pub body_wait_ms: u64,
    /// Enrolment attempts per client address per minute, sustained; bursts up to
    /// `enrol_burst`. Wrong codes count.
    pub enrol_per_minute: f64,
    pub enrol_burst: f64,
    /// Enrolment attempts per minute from all clients together; bursts up to
    /// `enrol_all_burst`.
    pub enrol_all_per_minute: f64,
    pub enrol_all_burst: f64,
    /// Intake requests per integrator per second, sustained; bursts up to `intake_burst`.
    pub intake_per_second: f64,
    pub intake_burst: f64,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            max_body_bytes: 16 << 20,
            rate_per_second: 5.0,
            burst: 20.0,
            max_bodies_in_flight: 8,
            body_wait_ms: 10_000,
            enrol_per_minute: 10.0,
            enrol_burst: 20.0,
            enrol_all_per_minute: 60.0,
            enrol_all_burst: 100.0,
            intake_per_second: 500.0,
            intake_burst: 1000.0,
        }
    }
}

/// What every handler shares.
#[derive(Debug)]
pub struct AppState {
    pub db: Mutex<ServerDb>,
    pub sync_limits: SyncLimits,
    pub http_limits: HttpLimits,
    /// Requests per device, and per integrator.
    pub devices: Buckets,
    pub integrators: Buckets,
    /// Intake from other systems: one order at a time.
    pub intake: crate::intake::Intake,
    /// Enrolment attempts per client address, and from everyone.
    pub enrol_by_client: Buckets,
    pub enrol_all: Buckets,
    /// Request bodies being read or handled.
    pub bodies: Arc<tokio::sync::Semaphore>,
    /// Devices with a sync request in progress (one at a time each).
    pub syncing: Mutex<std::collections::HashSet<app_core::ids::DeviceId>>,
    pub clock: fn() -> i64,
    /// The unit this server serves (its centre).
    pub unit: app_core::ids::UnitId,
    /// The directory version loaded in memory.
    pub directory_seen: std::sync::atomic::AtomicU64,
    /// Forwarding to the parent server: woken after uploads; its status for `/healthz`.
    pub forward_wake: Option<Arc<tokio::sync::Notify>>,
    pub parent_status: Mutex<crate::forward::ParentStatus>,
    /// With PostgreSQL, the processes serving the centre now (0 with SQLite).
    pub processes: std::sync::atomic::AtomicU32,
    /// Devices' uploads checked and waiting to be committed together.
    pub uploads: crate::sync::CommitQueue,
    /// With PostgreSQL, what brings the replica up to date as each request arrives.
    pub feed: Option<crate::pg::LogFeed>,
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

impl AppState {
    /// The state; `forward_wake` is the forwarding loop to wake after uploads, when the server
    /// has a parent.
    pub fn build(
        db: ServerDb,
        unit: app_core::ids::UnitId,
        sync_limits: SyncLimits,
        http_limits: HttpLimits,
        forward_wake: Option<Arc<tokio::sync::Notify>>,
    ) -> AppState {
        let seen = db.store.directory_version().unwrap_or(0);
        AppState {
            feed: db.feed(),
            forward_wake,
            parent_status: Mutex::new(Default::default()),
            processes: std::sync::atomic::AtomicU32::new(0),
            uploads: Default::default(),
            directory_seen: std::sync::atomic::AtomicU64::new(seen),
            unit,
            db: Mutex::new(db),
            sync_limits,
            devices: Buckets::new(http_limits.rate_per_second, http_limits.burst),
            integrators: Buckets::new(http_limits.intake_per_second, http_limits.intake_burst),
            intake: Default::default(),
            enrol_by_client: Buckets::new(
                http_limits.enrol_per_minute / 60.0,
                http_limits.enrol_burst,
            ),
            enrol_all: Buckets::new(
                http_limits.enrol_all_per_minute / 60.0,
                http_limits.enrol_all_burst,
            ),
            bodies: Arc::new(tokio::sync::Semaphore::new(
                http_limits.max_bodies_in_flight.max(1),
            )),
            syncing: Mutex::new(Default::default()),
            http_limits,
            clock: now_ms,
        }
    }
}

/// With PostgreSQL, brings the replica up to date before the request is handled: it then sees
/// every write committed before it arrived, by any process (see [`crate::pg::LogFeed`]). If the
/// database cannot be reached, the request goes on with the replica as it is (a read answers
/// from what it has; a write fails, naming the database).
async fn up_to_date(
    State(state): State<Arc<AppState>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if let Some(feed) = &state.feed {
        let st = state.clone();
        let apply = move |entries: Vec<app_core::store::LogEntry>| {
            let st = st.clone();
            async move {
                tokio::task::spawn_blocking(move || {
                    crate::db::lock(&st.db).store.apply_log(&entries)
                })
                .await
                .map_err(|e| crate::error::Error::Postgres(format!("applying the log: {e}")))?
                .map_err(crate::error::Error::from)
            }
        };
        if let Err(e) = feed.catch_up(apply).await {
            tracing::warn!(error = %e, "the replica could not catch up with the centre's log");
        }
    }
    next.run(request).await
}

/// The server's routes over `state`, with the body limit, gzip both ways and request tracing.
pub fn router(state: Arc<AppState>) -> Router {
    let max_body = state.http_limits.max_body_bytes;
    Router::new()
        .route("/healthz", get(healthz))
        .route(
            "/v1/enrol",
            post(enrol).layer(DefaultBodyLimit::max(ENROL_BODY_BYTES)),
        )
        .route("/v1/sync", post(sync_handler))
        .route("/v1/directory", get(directory_handler))
        .route("/v1/cases", get(cases_handler))
        .route("/v1/cases/{id}", get(case_handler))
        .route(
            "/v1/cases/{id}/attachments/{sha256}",
            put(put_attachment)
                .get(get_attachment)
                // Inside the general limit's layer, so this one decides for this route.
                .layer(DefaultBodyLimit::max(MAX_ATTACHMENT_BYTES as usize)),
        )
        .route("/v1/figures", get(figures_handler))
        .route("/v1/figures/lower", get(lower_days_handler))
        .route("/v1/tier/figures", post(lower_figures_handler))
        .route("/v1/ledger.xlsx", get(ledger_handler))
        .route("/v1/reports/{file}", get(report_handler))
        .route("/v1/cases/{id}/agreement.pdf", get(agreement_handler))
        .route(
            "/v1/cases/{id}/judicial-application.pdf",
            get(judicial_application_handler),
        )
        .route(
            "/v1/intake/work-orders",
            post(intake_handler).layer(DefaultBodyLimit::max(INTAKE_BODY_BYTES)),
        )
        .route("/v1/intake/work-orders/{number}", get(intake_state_handler))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            up_to_date,
        ))
        .layer(tower_http::decompression::RequestDecompressionLayer::new())
        .layer(tower_http::compression::CompressionLayer::new())
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// The largest work order (its content is a call's notes).
pub const INTAKE_BODY_BYTES: usize = 256 << 10;

/// `POST /v1/intake/work-orders`: a work order from another system ([`crate::intake`]).
async fn intake_handler(
    State(state): State<Arc<AppState>>,
    Integrator(device, scope): Integrator,
    _slot: BodySlot,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, Error> {
    let key =
        crate::intake::check_key(headers.get("idempotency-key").and_then(|v| v.to_str().ok()))?;
    let body = body.map_err(|e| {
        ApiError::new(
            ErrorCode::TooLarge,
            format!("the work order is not readable or larger than {INTAKE_BODY_BYTES} bytes: {e}"),
        )
    })?;
    let parsed = crate::intake::parse(&body)?;
    let wake = state.forward_wake.clone();
    let st = state.clone();
    // The key and the order number, one request at a time: ten retries sent at once find the
    // first one's answer. Other orders go on.
    let _claim = state
        .intake
        .claim(&device, &key, &scope, &parsed.order.number)
        .await;
    let answer = blocking(move || {
        let now = (st.clock)();
        {
            // The claim may have waited for another request with this order: read the
            // database as it is now, not as it was when this request arrived.
            let mut db = crate::db::lock_latest(&st.db);
            fresh_directory(&mut db, &st.directory_seen)?;
        }
        crate::intake::dispatch(
            &st.db,
            &st.intake,
            &device,
            &scope,
            &key,
            &parsed,
            &st.sync_limits,
            now,
        )
        .inspect_err(|e| {
            tracing::warn!(
                device = %device.id,
                code = ?e.code,
                "work order refused: {}",
                escape(&e.message)
            )
        })
    })
    .await?;
    if !answer.replayed {
        if let Some(wake) = &wake {
            wake.notify_one();
        }
    }
    let mut resp = (
        StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK),
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        answer.body,
    )
        .into_response();
    if answer.replayed {
        resp.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(resp)
}

/// `GET /v1/intake/work-orders/{number}`: where an order of this system's stands.
async fn intake_state_handler(
    State(state): State<Arc<AppState>>,
    Integrator(device, scope): Integrator,
    Path(number): Path<String>,
) -> Result<Response, Error> {
    let answer = blocking(move || {
        let db = crate::db::lock(&state.db);
        crate::intake::state(&db, &device, &scope, &number)
    })
    .await?;
    Ok(Json(answer).into_response())
}

async fn healthz(State(state): State<Arc<AppState>>) -> Response {
    let state_processes = state.clone();
    let state_processes = &state_processes.processes;
    let result = tokio::task::spawn_blocking(move || {
        let seq = {
            let db = crate::db::lock(&state.db);
            db.current_seq()
        };
        let parent = state.forward_wake.as_ref().map(|_| {
            state
                .parent_status
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
        });
        seq.map(|s| (s, parent))
    })
    .await;
    match result {
        Ok(Ok((seq, parent))) => {
            let mut body = serde_json::json!({
                "status": "ok", "seq": seq, "protocol": PROTOCOL_VERSION, "parent": parent
            });
            let processes = state_processes.load(std::sync::atomic::Ordering::Relaxed);
            if processes > 0 {
                body["processes"] = processes.into();
            }
            Json(body).into_response()
        }
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"status": "unavailable"})),
        )
            .into_response(),
    }
}

fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        let msg = e.to_string();
        if msg.contains("base64") {
            ApiError::new(ErrorCode::BadEncoding, msg)
        } else {
            ApiError::new(
                ErrorCode::BadJson,
                format!("the body is not valid JSON for this request: {msg}"),
            )
        }
    })
}

pub(crate) fn check_version(headers: &HeaderMap) -> Result<(), ApiError> {
    if let Some(v) = headers.get("x-protocol-version") {
        let ok = v.to_str().ok().and_then(|s| s.parse::<u32>().ok()) == Some(PROTOCOL_VERSION);
        if !ok {
            return Err(ApiError::new(
                ErrorCode::Version,
                format!("this server speaks protocol version {PROTOCOL_VERSION}; update the app"),
            ));
        }
    }
    Ok(())
}

pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(ApiError::internal)?
}

/// A request body the protocol defines, and the most bytes it may take (for the refusal's
/// words; the router's `DefaultBodyLimit` layers enforce it).
pub trait ProtocolRequest: serde::de::DeserializeOwned + Send + 'static {
    fn limit(state: &AppState) -> usize;
}

impl ProtocolRequest for EnrolRequest {
    fn limit(_: &AppState) -> usize {
        ENROL_BODY_BYTES
    }
}

impl ProtocolRequest for app_core::protocol::LowerFigures {
    fn limit(state: &AppState) -> usize {
        state.http_limits.max_body_bytes
    }
}

/// `POST /v1/tier/figures`: a lower tier's server sends its figures by day
/// ([`crate::forward::figures`]).
async fn lower_figures_handler(
    State(state): State<Arc<AppState>>,
    Authed(device): Authed,
    _slot: BodySlot,
    ProtocolJson(req): ProtocolJson<app_core::protocol::LowerFigures>,
) -> Result<Json<app_core::protocol::LowerFiguresTaken>, Error> {
    let taken = blocking(move || {
        let mut db = crate::db::lock(&state.db);
        fresh_directory(&mut db, &state.directory_seen)?;
        let now = (state.clock)();
        crate::forward::figures::take(&mut db, &state.unit, &device, &req, now).inspect_err(|e| {
            tracing::warn!(
                device = %device.id,
                code = ?e.code,
                "figures refused: {}",
                escape(&e.message)
            )
        })
    })
    .await?;
    Ok(Json(taken))
}

impl ProtocolRequest for SyncRequest {
    fn limit(state: &AppState) -> usize {
        state.http_limits.max_body_bytes
    }
}

/// A JSON body, read and parsed as the protocol says: over the limit `too_large`, unreadable
/// (or bad base64) `bad_encoding`, not the request's JSON `bad_json`. Parsed on the blocking
/// pool: a large upload takes a while, and not on the workers that serve other requests.
#[derive(Debug)]
pub struct ProtocolJson<T>(pub T);

impl<T: ProtocolRequest> FromRequest<Arc<AppState>> for ProtocolJson<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let limit = T::limit(state);
        let body = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    ErrorCode::TooLarge,
                    format!("the request body is larger than this server accepts ({limit} bytes); send fewer changes at a time"),
                )
            } else {
                ApiError::new(ErrorCode::BadEncoding, format!("the request body cannot be read: {e}"))
            }
        })?;
        Ok(ProtocolJson(blocking(move || parse_json(&body)).await?))
    }
}

/// An attachment's bytes: over [`MAX_ATTACHMENT_BYTES`] `too_large`, unreadable `bad_encoding`.
#[derive(Debug)]
pub struct AttachmentBody(pub Bytes);

impl FromRequest<Arc<AppState>> for AttachmentBody {
    type Rejection = Error;

    async fn from_request(req: Request, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let body = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                crate::attachments::too_large()
            } else {
                ApiError::new(
                    ErrorCode::BadEncoding,
                    format!("the request body cannot be read: {e}"),
                )
            }
        })?;
        Ok(AttachmentBody(body))
    }
}

async fn enrol(
    State(state): State<Arc<AppState>>,
    _gate: EnrolGate,
    ProtocolJson(req): ProtocolJson<EnrolRequest>,
) -> Result<Json<EnrolResponse>, Error> {
    let resp = blocking(move || {
        let mut db = crate::db::lock(&state.db);
        fresh_directory(&mut db, &state.directory_seen)?;
        crate::enrolment::enrol(&mut db, &state.unit, &req, (state.clock)())
    })
    .await?;
    Ok(Json(resp))
}

async fn sync_handler(
    State(state): State<Arc<AppState>>,
    Authed(device): Authed,
    _turn: SyncTurn,
    _slot: BodySlot,
    ProtocolJson(req): ProtocolJson<SyncRequest>,
) -> Result<Json<app_core::protocol::SyncResponse>, Error> {
    let started = Instant::now();
    let wake = state.forward_wake.clone();
    let uploaded = req.upload.len();
    let resp = blocking(move || {
        let now = (state.clock)();
        {
            let mut db = crate::db::lock(&state.db);
            fresh_directory(&mut db, &state.directory_seen)?;
        }
        sync::sync(
            &state.db,
            &state.uploads,
            &device,
            req,
            &state.sync_limits,
            now,
        )
        .inspect_err(|e| {
            tracing::warn!(
                device = %device.id,
                code = ?e.code,
                doc = ?e.doc.as_deref().map(escape),
                "sync refused: {}",
                escape(&e.message)
            );
        })
    })
    .await?;
    if uploaded > 0 {
        if let Some(wake) = &wake {
            wake.notify_one();
        }
    }
    tracing::debug!(
        uploaded,
        stored = resp.stored,
        sent = resp.docs.len(),
        ms = started.elapsed().as_millis() as u64,
        "sync"
    );
    Ok(Json(resp))
}

/// Reloads the directory if an admin command replaced it while the server ran.
pub fn fresh_directory(
    db: &mut ServerDb,
    seen: &std::sync::atomic::AtomicU64,
) -> Result<u64, ApiError> {
    let version = db.store.directory_version().map_err(ApiError::internal)?;
    if seen.swap(version, std::sync::atomic::Ordering::SeqCst) != version {
        db.store.reload_directory().map_err(ApiError::internal)?;
        tracing::info!(version, "directory reloaded");
    }
    Ok(version)
}

async fn directory_handler(
    State(state): State<Arc<AppState>>,
    Authed(device): Authed,
) -> Result<Json<DirectoryResponse>, Error> {
    let resp = blocking(move || {
        let mut db = crate::db::lock(&state.db);
        let version = fresh_directory(&mut db, &state.directory_seen)?;
        let d = db.store.directory();
        Ok(DirectoryResponse {
            version,
            units: d.units().cloned().collect(),
            people: crate::read::directory_people(d, &device),
        })
    })
    .await?;
    Ok(Json(resp))
}

/// Runs a read for an authenticated device.
async fn read<T: Send + 'static>(
    state: Arc<AppState>,
    device: Device,
    f: impl FnOnce(&ServerDb, &Device, i64, &AppState) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    blocking(move || {
        let mut db = crate::db::lock(&state.db);
        fresh_directory(&mut db, &state.directory_seen)?;
        f(&db, &device, (state.clock)(), &state)
    })
    .await
}

/// A query string, as the protocol reads it (`bad_json` if it is not understood).
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequestParts<S>
    for Query<T>
{
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        let q = serde_urlencoded::from_str(parts.uri.query().unwrap_or("")).map_err(|e| {
            ApiError::new(
                ErrorCode::BadJson,
                format!("the query string is not understood: {e}"),
            )
        })?;
        Ok(Query(q))
    }
}

async fn cases_handler(
    State(state): State<Arc<AppState>>,
    Authed(device): Authed,
    Query(q): Query<crate::read::ListQuery>,
) -> Result<Response, Error> {
    let rows = read(state, device, move |db, d, now, _| {
        crate::read::list(db, d, q, now)
    })
    .await?;
    Ok(Json(rows).into_response())
}

async fn case_handler(
    State(state): State<Arc<AppState>>,
    Authed(device): Authed,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    let answer = read(state, device, move |db, d, _, _| {
        crate::read::case(db, d, &id)
    })
    .await?;
    Ok(Json(answer).into_response())
}

async fn figures_handler(
    State(state): State<Arc<AppState>>,
    Authed(device): Authed,
    Query(q): Query<crate::read::FiguresQuery>,
) -> Result<Response, Error> {
    let report = read(state, device, move |db, d, now, st| {
        crate::read::figures(db, d, q, &st.unit, now)
    })
    .await?;
    Ok(Json(report).into_response())
}

/// `GET /v1/figures/lower?after=<seq>`: the lower tiers' figures kept here since `after`, for
/// a centre's staff device ([`crate::read::lower_days`]).
async fn lower_days_handler(
    State(state): State<Arc<AppState>>,
    Authed(device): Authed,
    Query(q): Query<crate::read::LowerQuery>,
) -> Result<Response, Error> {
    let days = read(state, device, move |db, d, _now, _st| {
        crate::read::lower_days(db, d, q)
    })
    .await?;
    Ok(Json(days).into_response())
}

/// `GET /v1/ledger.xlsx?unit=&from=YYYY-MM-DD&to=YYYY-MM-DD`: the ledger (台账) of a unit for
/// a period as an XLSX workbook, for centre staff of the unit or above ([`crate::paperwork`]).
/// Allowed under the lock; written from a connection of its own, outside it; logged.
async fn ledger_handler(
    State(state): State<Arc<AppState>>,
    Authed(device): Authed,
    Query(q): Query<crate::paperwork::LedgerQuery>,
) -> Result<Response, Error> {
    let started = Instant::now();
    let st = state.clone();
    let (req, path, directory, taxonomy, now) = blocking(move || {
        let mut db = crate::db::lock(&st.db);
        fresh_directory(&mut db, &st.directory_seen)?;
        let now = (st.clock)();
        let req = crate::paperwork::authorise(&db, &device, &q, &st.unit, now)?;
        Ok((
            req,
            db.store.path().to_owned(),
            db.store.directory_shared(),
            db.store.taxonomy().clone(),
            now,
        ))
    })
    .await?;
    let (req, file) = blocking(move || {
        let file = crate::paperwork::write(&path, directory, &taxonomy, &req, now)?;
        Ok((req, file))
    })
    .await?;
    let st = state.clone();
    let (req, file) = blocking(move || {
        let mut db = crate::db::lock(&st.db);
        crate::paperwork::log(&mut db, &req, &file, now)?;
        Ok((req, file))
    })
    .await?;
    tracing::info!(
        unit = %req.unit,
        person = %req.person,
        cases = file.cases,
        bytes = file.bytes.len(),
        ms = started.elapsed().as_millis() as u64,
        "ledger exported"
    );
    let name = format!(
        "{}-台账-{}-{}.xlsx",
        req.unit,
        req.period.first.format("%Y%m%d"),
        req.period.last.format("%Y%m%d")
    );
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                ),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&format!(
                    "attachment; filename=\"ledger.xlsx\"; filename*=UTF-8''{}",
                    percent_encode(&name)
                ))
                .unwrap_or_else(|_| HeaderValue::from_static("attachment")),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        file.bytes,
    )
        .into_response())
}

/// `GET /v1/reports/{weekly|monthly|quarterly}.{xlsx|pdf}?unit=&date=YYYY-MM-DD`: a periodic
/// report (每周研判、每月通报、每季总结) of the week, month or quarter holding `date`, for centre
/// staff of the unit or above; as the ledger, written outside the lock and logged.
async fn report_handler(
    State(state): State<Arc<AppState>>,
    Authed(device): Authed,
    Path(file): Path<String>,
    Query(q): Query<crate::paperwork::ReportQuery>,
) -> Result<Response, Error> {
    let started = Instant::now();
    let (kind, format) = crate::paperwork::report_file(&file)?;
    let st = state.clone();
    let (req, path, directory, taxonomy, now) = blocking(move || {
        let mut db = crate::db::lock(&st.db);
        fresh_directory(&mut db, &st.directory_seen)?;
        let now = (st.clock)();
        let req = crate::paperwork::authorise_report(&db, &device, &q, kind, &st.unit, now)?;
        Ok((
            req,
            db.store.path().to_owned(),
            db.store.directory_shared(),
            db.store.taxonomy().clone(),
            now,
        ))
    })
    .await?;
    let (req, bytes, cases) = blocking(move || {
        let (bytes, cases) =
            crate::paperwork::write_report(&path, directory, &taxonomy, &req, kind, format, now)?;
        Ok((req, bytes, cases))
    })
    .await?;
    let st = state.clone();
    let req = blocking(move || {
        let mut db = crate::db::lock(&st.db);
        crate::paperwork::log_report(&mut db, &req, kind, cases, now)?;
        Ok(req)
    })
    .await?;
    tracing::info!(
        unit = %req.unit,
        person = %req.person,
        report = kind.code(),
        bytes = bytes.len(),
        ms = started.elapsed().as_millis() as u64,
        "report exported"
    );
    let name = format!(
        "{}-{}-{}-{}.{}",
        req.unit,
        kind.zh(),
        req.period.first.format("%Y%m%d"),
        req.period.last.format("%Y%m%d"),
        format.extension()
    );
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(format.content_type()),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&format!(
                    "attachment; filename=\"{}.{}\"; filename*=UTF-8''{}",
                    kind.code(),
                    format.extension(),
                    percent_encode(&name)
                ))
                .unwrap_or_else(|_| HeaderValue::from_static("attachment")),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        bytes,
    )
        .into_response())
}

/// `GET /v1/cases/{id}/agreement.pdf`: a resolved case's mediation agreement (人民调解协议书),
/// for anyone who may see the case; ID numbers as [`IdDisclosure::for_document`] says; logged.
///
/// [`IdDisclosure::for_document`]: app_core::paperwork::IdDisclosure::for_document
async fn agreement_handler(
    State(state): State<Arc<AppState>>,
    Authed(device): Authed,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    case_document(
        state,
        device,
        id,
        crate::paperwork::CaseDocumentKind::Agreement,
    )
    .await
}

/// `GET /v1/cases/{id}/judicial-application.pdf`: the parties' application for the agreement's
/// judicial confirmation (司法确认申请书), as for the agreement.
async fn judicial_application_handler(
    State(state): State<Arc<AppState>>,
    Authed(device): Authed,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    case_document(
        state,
        device,
        id,
        crate::paperwork::CaseDocumentKind::JudicialApplication,
    )
    .await
}

async fn case_document(
    state: Arc<AppState>,
    device: Device,
    id: String,
    kind: crate::paperwork::CaseDocumentKind,
) -> Result<Response, Error> {
    let doc = blocking(move || {
        let mut db = crate::db::lock(&state.db);
        fresh_directory(&mut db, &state.directory_seen)?;
        let key = format!("case:{id}");
        crate::sync::parse_key(&key)?;
        if !crate::read::may_read(&db, &device, &key)? {
            return Err(crate::read::not_visible(&id));
        }
        let disclosure = crate::paperwork::document_disclosure(&db, &device)?;
        let doc = crate::paperwork::print_case_document(&db, &id, kind, disclosure)?;
        crate::paperwork::log_document(
            &mut db,
            device.person.as_str(),
            Some(device.id.as_str()),
            &doc,
            (state.clock)(),
        )?;
        Ok(doc)
    })
    .await?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/pdf"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&format!(
                    "inline; filename=\"{}.pdf\"; filename*=UTF-8''{}",
                    kind.code(),
                    percent_encode(&doc.file_name)
                ))
                .unwrap_or_else(|_| HeaderValue::from_static("inline")),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        doc.bytes,
    )
        .into_response())
}

/// RFC 5987's encoding of a file name: unreserved characters as they are, every other byte as
/// `%XX`.
fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `PUT /v1/cases/{id}/attachments/{sha256}`: an attachment's bytes, from a device that may see
/// the case, for an attachment the case lists. Who and what are checked before the body is read
/// ([`CaseAttachment`], [`UploadType`], [`BodySlot`]); the bytes are stored durably before the
/// answer. A repeated upload is answered the same.
async fn put_attachment(
    State(state): State<Arc<AppState>>,
    attachment: CaseAttachment,
    UploadType(mime): UploadType,
    _slot: BodySlot,
    AttachmentBody(body): AttachmentBody,
) -> Result<Json<AttachmentStored>, Error> {
    let started = Instant::now();
    let wake = state.forward_wake.clone();
    let stored = blocking(move || {
        let mut db = crate::db::lock(&state.db);
        crate::attachments::store(&mut db, &attachment, &mime, &body, (state.clock)())
    })
    .await?;
    tracing::debug!(
        ms = started.elapsed().as_millis() as u64,
        "attachment stored"
    );
    if stored.stored {
        // New bytes here may be owed to the parent (an escalated case's photo).
        if let Some(wake) = &wake {
            wake.notify_one();
        }
    }
    Ok(Json(stored))
}

/// `GET /v1/cases/{id}/attachments/{sha256}`: an attachment's bytes with their type, for a device
/// that may see the case ([`CaseAttachment`]), if the case lists it and its bytes are here.
async fn get_attachment(
    State(state): State<Arc<AppState>>,
    CaseAttachment { case: id, sha, .. }: CaseAttachment,
) -> Result<Response, Error> {
    let (mime, bytes) = blocking(move || {
        let db = crate::db::lock(&state.db);
        crate::attachments::bytes(&db, &id, &sha)
    })
    .await?;
    let content_type = HeaderValue::from_str(&mime)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=31536000, immutable"),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        bytes,
    )
        .into_response())
}
