//! The HTTP layer in process: the library's router answered with `oneshot` (no socket), over a
//! real SQLite database in a temporary directory, and `serve` on a loopback listener stopped
//! through its shutdown future. The whole-system tests (`tests/`) run the binary.

use app_core::ids::{PersonId, UnitId};
use app_core::org::{Directory, Person, Role, Tier, Unit};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use sync_server::db::ServerDb;
use sync_server::http::HttpLimits;
use sync_server::sync::SyncLimits;
use sync_server::AppState;
use tower::ServiceExt;

/// A centre (a township under a county, one member of staff) with two enrolled devices, the
/// second one revoked.
struct Centre {
    state: Arc<AppState>,
    token: String,
    revoked_token: String,
    _dir: tempfile::TempDir,
}

fn unit(id: &str, tier: Tier, parent: Option<&str>) -> Unit {
    Unit {
        id: UnitId::new(id),
        name: id.to_owned(),
        tier,
        parent: parent.map(UnitId::new),
        centre: true,
        policy: None,
        escalate_skip_to: Vec::new(),
        warnings: None,
    }
}

fn centre(limits: HttpLimits) -> anyhow::Result<Centre> {
    let dir = tempfile::tempdir()?;
    let mut db = ServerDb::open(&dir.path().join("server.sqlite3"))?;
    let staff = PersonId::new("town-staff");
    db.store.set_directory(Directory::new(
        [
            unit("county", Tier::County, None),
            unit("town", Tier::Township, Some("county")),
        ],
        [Person {
            id: staff.clone(),
            name: "王芳".to_owned(),
            unit: UnitId::new("town"),
            roles: BTreeSet::from([Role::CentreStaff]),
            specialties: BTreeSet::new(),
            phone: None,
        }],
    )?)?;
    let now = sync_server::http::now_ms();
    let mut enrol = |name: &str, actor: &str| -> anyhow::Result<(String, String)> {
        let code = db.issue_code(&staff, now, 3_600_000)?;
        let (device, token, _) = db
            .enrol(&code, name, actor, now)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok((device.to_string(), token))
    };
    let (_, token) = enrol("desk", "aa01")?;
    let (lost, revoked_token) = enrol("lost phone", "bb02")?;
    db.revoke(&lost, now)?;
    let state = Arc::new(AppState::build(
        db,
        UnitId::new("town"),
        SyncLimits::default(),
        limits,
        None,
    ));
    Ok(Centre {
        state,
        token,
        revoked_token,
        _dir: dir,
    })
}

/// Sends one request through the router; the answer's status and JSON body (`null` if none).
async fn answer(state: &Arc<AppState>, req: Request<Body>) -> anyhow::Result<(StatusCode, Value)> {
    let resp = sync_server::router(state.clone()).oneshot(req).await?;
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await?;
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Ok((status, body))
}

fn get(uri: &str, token: Option<&str>) -> anyhow::Result<Request<Body>> {
    let mut req = Request::get(uri);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    Ok(req.body(Body::empty())?)
}

fn sync(token: &str, body: impl Into<Body>) -> anyhow::Result<Request<Body>> {
    Ok(Request::post("/v1/sync")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.into())?)
}

#[tokio::test]
async fn healthz_answers_ok_with_the_protocol_version() -> anyhow::Result<()> {
    let c = centre(HttpLimits::default())?;
    let (status, body) = answer(&c.state, get("/healthz", None)?).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["protocol"], app_core::protocol::PROTOCOL_VERSION);
    assert_eq!(body["seq"], 0);
    Ok(())
}

#[tokio::test]
async fn a_request_without_a_token_is_unauthenticated() -> anyhow::Result<()> {
    let c = centre(HttpLimits::default())?;
    let (status, body) = answer(&c.state, get("/v1/directory", None)?).await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "unauthenticated");
    let (status, body) = answer(&c.state, get("/v1/directory", Some("nobody.00"))?).await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"]["code"], "unauthenticated");
    let (status, body) = answer(&c.state, get("/v1/directory", Some(&c.token))?).await?;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["people"][0]["name"], "王芳");
    Ok(())
}

#[tokio::test]
async fn a_revoked_device_is_refused_everywhere() -> anyhow::Result<()> {
    let c = centre(HttpLimits::default())?;
    for uri in [
        "/v1/directory",
        "/v1/cases",
        "/v1/cases/0190a1b2-0000-7000-8000-000000000000",
        "/v1/figures",
    ] {
        let (status, body) = answer(&c.state, get(uri, Some(&c.revoked_token))?).await?;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri}: {body}");
        assert_eq!(body["error"]["code"], "revoked", "{uri}");
    }
    let (status, body) = answer(&c.state, sync(&c.revoked_token, "{}")?).await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "revoked");
    Ok(())
}

#[tokio::test]
async fn an_unknown_route_is_not_found() -> anyhow::Result<()> {
    let c = centre(HttpLimits::default())?;
    let (status, _) = answer(&c.state, get("/v1/nothing-here", Some(&c.token))?).await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    Ok(())
}

#[tokio::test]
async fn an_attachment_of_a_case_not_visible_is_unknown_before_the_body() -> anyhow::Result<()> {
    let c = centre(HttpLimits::default())?;
    let sha = "ab".repeat(32);
    let uri = format!("/v1/cases/0190a1b2-0000-7000-8000-000000000000/attachments/{sha}");
    let (status, body) = answer(&c.state, get(&uri, Some(&c.token))?).await?;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"]["code"], "unknown_doc");
    let (status, body) = answer(
        &c.state,
        get(
            "/v1/cases/0190a1b2-0000-7000-8000-000000000000/attachments/not-a-hash",
            Some(&c.token),
        )?,
    )
    .await?;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "bad_encoding");
    Ok(())
}

#[tokio::test]
async fn a_malformed_json_body_is_bad_json() -> anyhow::Result<()> {
    let c = centre(HttpLimits::default())?;
    let (status, body) = answer(&c.state, sync(&c.token, "{\"cursor\": ")?).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "bad_json");
    let (status, body) = answer(&c.state, sync(&c.token, "{\"cursor\": \"x\"}")?).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "bad_json");
    let (status, body) = answer(&c.state, sync(&c.token, "{}")?).await?;
    assert_eq!(status, StatusCode::OK, "an empty sync is fine: {body}");
    Ok(())
}

#[tokio::test]
async fn an_oversized_body_is_too_large() -> anyhow::Result<()> {
    let c = centre(HttpLimits {
        max_body_bytes: 1024,
        ..HttpLimits::default()
    })?;
    let big = format!("{{\"cursor\": 0, \"pad\": \"{}\"}}", "x".repeat(4096));
    let (status, body) = answer(&c.state, sync(&c.token, big.clone())?).await?;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["error"]["code"], "too_large");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("1024 bytes")),
        "{body}"
    );
    let enrol = Request::post("/v1/enrol")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(big))?;
    let (status, body) = answer(&c.state, enrol).await?;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["error"]["code"], "too_large");
    Ok(())
}

#[tokio::test]
async fn serve_answers_on_a_listener_until_shutdown() -> anyhow::Result<()> {
    let c = centre(HttpLimits::default())?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(sync_server::serve(listener, c.state.clone(), async {
        let _ = stopped.await;
    }));
    let health: Value = reqwest::get(format!("http://{addr}/healthz"))
        .await?
        .json()
        .await?;
    assert_eq!(health["status"], "ok");
    let refused = reqwest::get(format!("http://{addr}/v1/cases")).await?;
    assert_eq!(refused.status().as_u16(), 401);
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(10), server).await???;
    assert!(
        reqwest::get(format!("http://{addr}/healthz"))
            .await
            .is_err(),
        "nothing listens after shutdown"
    );
    Ok(())
}
