//! What a device sends is not trusted: the server reads no body for a sender it does not know,
//! reads only so many at once, keeps what devices write from reaching a terminal raw, refuses
//! periods out of range, and hands each device only the phones its role needs.

use crate::enrolment::{csv_centre, enrol_raw};
use crate::sync_errors::{answer, assert_error, healthy, token};
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use system_tests::{Device, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const MIB: usize = 1 << 20;

/// Extra request headers.
type Headers<'a> = Vec<(&'a str, &'a str)>;

/// The head of a request (`POST /v1/sync`, `PUT /v1/cases/…`) that declares a body of
/// `declared` bytes.
fn head(port: u16, request: &str, extra: &[(&str, &str)], declared: usize) -> Vec<u8> {
    let mut h = format!(
        "{request} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {declared}\r\n"
    );
    for (k, v) in extra {
        h.push_str(&format!("{k}: {v}\r\n"));
    }
    h.push_str("\r\n");
    h.into_bytes()
}

/// Reads one HTTP answer: its status and JSON body.
async fn read_answer(rd: &mut (impl AsyncReadExt + Unpin)) -> anyhow::Result<(u16, Value)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let status: u16 = head
                .split_whitespace()
                .nth(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let len = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                let body = &buf[end + 4..end + 4 + len];
                return Ok((status, serde_json::from_slice(body).unwrap_or_default()));
            }
        }
        let n = rd.read(&mut chunk).await?;
        anyhow::ensure!(n > 0, "the connection closed before an answer");
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Sends a request whose body claims `declared` bytes and keeps sending it until the server answers;
/// returns the answer and how many bytes of the body had been written by then.
pub(crate) async fn upload_until_answered(
    port: u16,
    request: &str,
    extra: &[(&str, &str)],
    declared: usize,
) -> anyhow::Result<(u16, Value, usize)> {
    let stream = TcpStream::connect(("127.0.0.1", port)).await?;
    let (mut rd, mut wr) = stream.into_split();
    wr.write_all(&head(port, request, extra, declared)).await?;
    let written = Arc::new(AtomicUsize::new(0));
    let counted = written.clone();
    let writer = tokio::spawn(async move {
        let chunk = vec![b' '; 64 * 1024];
        while counted.load(Ordering::SeqCst) < declared {
            let n = chunk.len().min(declared - counted.load(Ordering::SeqCst));
            if wr.write_all(&chunk[..n]).await.is_err() {
                break;
            }
            counted.fetch_add(n, Ordering::SeqCst);
        }
        wr
    });
    // Bounded only so that a regression fails instead of hanging.
    let answer = tokio::time::timeout(Duration::from_secs(120), read_answer(&mut rd)).await??;
    let sent = written.load(Ordering::SeqCst);
    writer.abort();
    Ok((answer.0, answer.1, sent))
}

/// A connection that sent an authenticated POST's head and 10 bytes of a 1 MiB body, and holds.
async fn hold(server: &Server, token: &str) -> anyhow::Result<TcpStream> {
    let mut s = TcpStream::connect(("127.0.0.1", server.port)).await?;
    let auth = format!("Bearer {token}");
    s.write_all(&head(
        server.port,
        "POST /v1/sync",
        &[("Authorization", &auth)],
        MIB,
    ))
    .await?;
    s.write_all(b"{\"cursor\":").await?;
    Ok(s)
}

/// A small, valid sync request: status, JSON answer, `Retry-After`.
async fn idle_sync(server: &Server, token: &str) -> anyhow::Result<(u16, Value, Option<String>)> {
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/sync", server.url()))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(r#"{"cursor":0,"upload":[]}"#)
        .send()
        .await?;
    let status = resp.status().as_u16();
    let retry = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    Ok((status, resp.json().await.unwrap_or_default(), retry))
}

/// (VmRSS, VmHWM) of a process, in KiB.
fn memory(pid: u32) -> anyhow::Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    Ok((field("VmRSS:"), field("VmHWM:")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrusted_bodies_of_unknown_or_revoked_devices_are_refused_unread() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = Server::start(&csv_centre(dir.path())?, 0)?;
    let gw = Device::enrol(&server, "wf-gw1").await?;
    let staff = Device::enrol(&server, "hy-staff").await?;
    server.admin(&[
        "revoke",
        "--device",
        staff.client.credentials().device.as_str(),
    ])?;
    let revoked = format!("Bearer {}", token(&staff));
    let unknown = format!(
        "Bearer {}.{}",
        gw.client.credentials().device,
        "0".repeat(64)
    );
    let attachment = format!(
        "PUT /v1/cases/0196a0b0-0000-7000-8000-000000000000/attachments/{}",
        "a".repeat(64)
    );
    let cases: [(&str, Headers, &str); 5] = [
        ("POST /v1/sync", vec![], "unauthenticated"),
        (
            "POST /v1/sync",
            vec![("Authorization", &unknown)],
            "unauthenticated",
        ),
        (
            "POST /v1/sync",
            vec![("Authorization", &revoked)],
            "revoked",
        ),
        (
            "POST /v1/sync",
            vec![("Content-Encoding", "gzip")],
            "unauthenticated",
        ),
        (
            &attachment,
            vec![("Authorization", &unknown)],
            "unauthenticated",
        ),
    ];
    for (request, extra, code) in cases {
        let declared = 16 * MIB;
        let (status, body, sent) =
            upload_until_answered(server.port, request, &extra, declared).await?;
        assert_error(&(status, body), 401, code);
        // The answer came while the body was still on its way: the server did not wait for it.
        assert!(
            sent < declared,
            "{request} {extra:?}: {sent} of {declared} bytes sent before the answer"
        );
        println!("{request} {extra:?}: 401 {code} after {sent} of {declared} bytes");
    }
    // A known device is served as before.
    let (status, ..) = idle_sync(&server, &token(&gw)).await?;
    assert_eq!(status, 200);
    healthy(&server).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrusted_24_unauthenticated_16_mib_uploads_barely_move_the_servers_memory(
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = Server::start(&csv_centre(dir.path())?, 0)?;
    let pid = server.pid().expect("running");
    healthy(&server).await?;
    let (before, _) = memory(pid)?;
    let port = server.port;
    let uploads: Vec<_> = (0..24)
        .map(|_| {
            tokio::spawn(async move {
                upload_until_answered(port, "POST /v1/sync", &[], 16 * MIB).await
            })
        })
        .collect();
    let mut sent = 0;
    for upload in uploads {
        let (status, body, n) = upload.await??;
        assert_error(&(status, body), 401, "unauthenticated");
        sent += n;
    }
    let (after, peak) = memory(pid)?;
    println!(
        "24 unauthenticated 16 MiB uploads ({} MiB sent before the answers): server VmRSS {} MiB \
         before, {} MiB after, peak {} MiB",
        sent / MIB,
        before / 1024,
        after / 1024,
        peak / 1024
    );
    assert!(
        peak.saturating_sub(before) < 48 * 1024,
        "the server's memory grew by {} KiB",
        peak - before
    );
    healthy(&server).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrusted_bodies_beyond_the_cap_wait_then_get_503_busy() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let data = csv_centre(dir.path())?;
    let config = dir.path().join("server.toml");
    std::fs::write(
        &config,
        "[limits]\nmax_bodies_in_flight = 2\nbody_wait_ms = 300\n",
    )?;
    let server = Server::start_with(
        &data,
        0,
        vec![("FENGQIAO_CONFIG".to_owned(), config.display().to_string())],
    )?;
    let gw = Device::enrol(&server, "wf-gw1").await?;
    let staff = Device::enrol(&server, "hy-staff").await?;
    let mediator = Device::enrol(&server, "hy-med").await?;
    // Two slow uploads (two devices: one sync each at a time) take both slots; another
    // device's upload waits, then is refused.
    let holders = [
        hold(&server, &token(&staff)).await?,
        hold(&server, &token(&mediator)).await?,
    ];
    let started = Instant::now();
    let busy = loop {
        let probe = idle_sync(&server, &token(&gw)).await?;
        if probe.0 == 503 {
            break probe;
        }
        assert_eq!(probe.0, 200, "{}", probe.1);
        assert!(started.elapsed() < Duration::from_secs(60), "never busy");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_error(&(busy.0, busy.1), 503, "busy");
    assert_eq!(busy.2.as_deref(), Some("1"), "Retry-After");
    // The slow senders go away: their slots come back.
    drop(holders);
    let started = Instant::now();
    loop {
        let probe = idle_sync(&server, &token(&gw)).await?;
        if probe.0 == 200 {
            break;
        }
        assert_error(&(probe.0, probe.1), 503, "busy");
        assert!(started.elapsed() < Duration::from_secs(60), "still busy");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    healthy(&server).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrusted_text_reaches_logs_and_the_device_listing_escaped() -> anyhow::Result<()> {
    // Rows written by servers before names were checked are in SQLite files, whichever engine
    // the other tests run on (a centre brought to PostgreSQL takes its rows as they are).
    let sqlite = vec![("FENGQIAO_DATABASE".to_owned(), String::new())];
    let dir = tempfile::tempdir()?;
    let data = crate::enrolment::csv_centre_on(dir.path(), &sqlite)?;
    let log = dir.path().join("server.log");
    let server = Server::start_logging(&data, 0, sqlite, &log)?;
    // A device name with a new line and escape codes is refused, and uses up nothing.
    let code = server.code_for("wf-gw1")?;
    let refused = enrol_raw(&server, &code, "李明的手机\n\u{1b}[2J伪造").await?;
    assert_error(&(refused.0, refused.1), 400, "bad_json");
    assert_eq!(server.count("SELECT COUNT(*) FROM devices")?, 0);
    let gw = Device::enrol_with(&server, "wf-gw1", &code).await?;
    // A document key with a new line and escape codes: refused, and logged escaped.
    let req = serde_json::json!({"cursor": 0, "upload": [
        {"doc": "case:x\n\u{1b}[31mFORGED log line", "changes": []}]});
    let answer = answer(
        reqwest::Client::new()
            .post(format!("{}/v1/sync", server.url()))
            .json(&req),
        Some(&token(&gw)),
    )
    .await?;
    assert_error(&answer, 400, "bad_encoding");
    // A device enrolled before names were checked, with a name that would forge a row.
    {
        let conn = rusqlite::Connection::open(data.join("server.sqlite3"))?;
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.execute(
            "INSERT INTO devices(id, person, name, token_hash, enrolled_at)
             VALUES ('dev-old', 'wf-gw1', ?1, 'old', 0)",
            ["旧手机\ndev-forged\twf-gw1\t伪造\tactive\u{1b}[2J"],
        )?;
    }
    let listing = server.admin(&["devices"])?;
    let rows: Vec<&str> = listing.lines().collect();
    assert_eq!(rows.len(), 2, "one line per device: {listing:?}");
    assert!(
        rows.iter().all(|r| r.split('\t').count() == 4),
        "{listing:?}"
    );
    assert!(!listing.contains('\u{1b}'), "{listing:?}");
    assert!(
        listing.contains(r"旧手机\ndev-forged\twf-gw1\t伪造\tactive\u{1b}[2J"),
        "{listing:?}"
    );
    // The log has the refusal on one line, escaped, and no escape code at all.
    let text = std::fs::read_to_string(&log)?;
    assert!(text.contains("sync refused"), "{text}");
    assert!(text.contains(r"case:x\n\u{1b}[31mFORGED"), "{text}");
    assert!(!text.contains('\u{1b}'), "{text:?}");
    assert!(!text.lines().any(|l| l.starts_with("FORGED")), "{text}");
    healthy(&server).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrusted_figures_periods_out_of_range_are_refused_400() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = Server::start(&csv_centre(dir.path())?, 0)?;
    let staff = Device::enrol(&server, "hy-staff").await?;
    let t = token(&staff);
    let get = |q: String| {
        let req = reqwest::Client::new().get(format!("{}/v1/figures?{q}", server.url()));
        let t = t.clone();
        async move { answer(req, Some(&t)).await }
    };
    for (q, named) in [
        (format!("to={}", i64::MIN), "`to`"),
        (format!("to={}", i64::MAX), "`to`"),
        (format!("from={}", i64::MIN), "`from`"),
        (format!("from={}&to={}", i64::MAX, i64::MAX), "`to`"),
        (
            "from=2000&to=1000".to_owned(),
            "`from` (2000) is after `to` (1000)",
        ),
        ("to=-1".to_owned(), "`to`"),
    ] {
        let a = get(q.clone()).await?;
        assert_error(&a, 400, "bad_json");
        let message = a.1["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(named), "{q}: {message}");
    }
    let a = get("to=abc".to_owned()).await?;
    assert_error(&a, 400, "bad_json");
    // In range: answered, and the default period starts 30 days before `to` (not before 1970).
    let a = get("unit=haiyan&to=1000".to_owned()).await?;
    assert_eq!(a.0, 200, "{}", a.1);
    let a = get("unit=haiyan".to_owned()).await?;
    assert_eq!(a.0, 200, "{}", a.1);
    healthy(&server).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrusted_directory_gives_phones_only_to_the_people_who_supervise_them(
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = Server::start(&csv_centre(dir.path())?, 0)?;
    let phones =
        |d: &Device| -> anyhow::Result<std::collections::BTreeMap<String, Option<String>>> {
            Ok(d.store()
                .directory()
                .people()
                .map(|p| (p.id.to_string(), p.phone.clone()))
                .collect())
        };
    let phone = |n: u8| Some(format!("1380000000{n}"));
    // The grid worker and the mediator: everyone's name and roles, their own phone only.
    let gw = Device::enrol(&server, "wf-gw1").await?;
    let gw_sees = phones(&gw)?;
    assert_eq!(gw_sees.len(), 4, "the whole roster");
    assert_eq!(gw_sees["wf-gw1"], phone(1));
    assert_eq!(gw_sees["hy-staff"], None);
    assert_eq!(gw_sees["hy-med"], None);
    assert_eq!(gw_sees["ts-staff"], None);
    let med = Device::enrol(&server, "hy-med").await?;
    let med_sees = phones(&med)?;
    assert_eq!(med_sees["hy-med"], phone(3));
    assert_eq!(med_sees["wf-gw1"], None);
    assert_eq!(med_sees["hy-staff"], None);
    // The township's staff: the phones of everyone in the township, not the county's.
    let staff = Device::enrol(&server, "hy-staff").await?;
    let staff_sees = phones(&staff)?;
    assert_eq!(staff_sees["wf-gw1"], phone(1));
    assert_eq!(staff_sees["hy-staff"], phone(2));
    assert_eq!(staff_sees["hy-med"], phone(3));
    assert_eq!(staff_sees["ts-staff"], None);
    // Straight from the endpoint too (the client keeps what it is given).
    let (status, body) = answer(
        reqwest::Client::new().get(format!("{}/v1/directory", server.url())),
        Some(&token(&gw)),
    )
    .await?;
    assert_eq!(status, 200);
    let leaked: Vec<&Value> = body["people"]
        .as_array()
        .map(|p| {
            p.iter()
                .filter(|p| p["id"] != "wf-gw1" && !p["phone"].is_null())
                .collect()
        })
        .unwrap_or_default();
    assert!(leaked.is_empty(), "{leaked:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrusted_a_device_syncs_one_request_at_a_time() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let data = csv_centre(dir.path())?;
    let server = Server::start(&data, 0)?;
    let gw = Device::enrol(&server, "wf-gw1").await?;
    let staff = Device::enrol(&server, "hy-staff").await?;
    // The grid worker's device keeps a slow upload open: its turn is taken.
    let mut slow = hold(&server, &token(&gw)).await?;
    let started = Instant::now();
    let second = loop {
        // A hold the server already answered (refused at the door on a loaded machine, say)
        // holds no turn: hold again.
        let mut answered = [0u8; 512];
        match slow.try_read(&mut answered) {
            Ok(_) => slow = hold(&server, &token(&gw)).await?,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => slow = hold(&server, &token(&gw)).await?,
        }
        let probe = idle_sync(&server, &token(&gw)).await?;
        let in_progress = probe.1["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("already has a sync in progress"));
        if probe.0 == 429 && in_progress {
            break probe;
        }
        if probe.0 == 429 {
            // Probing while the slow upload was on its way spent the device's rate: wait as the
            // server asks, then look again.
            tokio::time::sleep(Duration::from_millis(1_100)).await;
            continue;
        }
        // The slow upload may not have reached the server yet.
        assert_eq!(probe.0, 200, "{}", probe.1);
        assert!(started.elapsed() < Duration::from_secs(60), "never refused");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_error(&(second.0, second.1.clone()), 429, "rate_limited");
    assert!(second.1["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("already has a sync in progress")));
    // Other devices are not held up.
    assert_eq!(idle_sync(&server, &token(&staff)).await?.0, 200);
    // When the slow upload goes away, the device's next sync is served.
    drop(slow);
    let started = Instant::now();
    loop {
        let probe = idle_sync(&server, &token(&gw)).await?;
        if probe.0 == 200 {
            break;
        }
        assert_eq!(probe.0, 429, "{}", probe.1);
        assert!(started.elapsed() < Duration::from_secs(60), "still refused");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    healthy(&server).await
}
