//! Enrolment codes and device credentials: a centre's own server mints no code by itself, codes
//! carry 80 bits and are stored keyed, devices enrolled before keyed storage keep working, and
//! guessing codes is slowed to a crawl.

use crate::sync_errors::{assert_error, healthy, token};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use system_tests::{Device, Server};

/// A centre's data directory set up from its own CSV files (no demo): a county, a township, a
/// village with a grid; a grid worker, the township's staff and mediator, the county's staff,
/// each with a work phone.
pub(crate) fn csv_centre(dir: &Path) -> anyhow::Result<PathBuf> {
    csv_centre_on(dir, &[])
}

/// [`csv_centre`] with more of the server's environment (its engine).
pub(crate) fn csv_centre_on(dir: &Path, env: &[(String, String)]) -> anyhow::Result<PathBuf> {
    let admin = |data: &Path, args: &[&str]| system_tests::admin_with(data, env, args);
    let data = dir.join("data");
    admin(&data, &["init", "--empty"])?;
    let units = dir.join("units.csv");
    std::fs::write(
        &units,
        "id,name,tier,parent,centre\n\
         taishan,台山市,county,,yes\n\
         haiyan,海宴镇,township,taishan,yes\n\
         haiyan-wufeng,五丰村,village,haiyan,no\n\
         haiyan-wufeng-g1,五丰村第一网格,grid,haiyan-wufeng,no\n",
    )?;
    let people = dir.join("people.csv");
    std::fs::write(
        &people,
        "id,name,unit,roles,specialties,phone\n\
         wf-gw1,李明,haiyan-wufeng-g1,grid_worker,,13800000001\n\
         hy-staff,陈芳,haiyan,centre_staff,,13800000002\n\
         hy-med,黄伟,haiyan,mediator,marriage_family,13800000003\n\
         ts-staff,梁国栋,taishan,centre_staff,,13800000004\n",
    )?;
    admin(&data, &["import-units", &units.display().to_string()])?;
    admin(&data, &["import-people", &people.display().to_string()])?;
    Ok(data)
}

/// Posts an enrolment request; its status, JSON answer and `Retry-After`.
pub(crate) async fn enrol_raw(
    server: &Server,
    code: &str,
    name: &str,
) -> anyhow::Result<(u16, Value, Option<u64>)> {
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/enrol", server.url()))
        .json(&json!({"code": code, "device_name": name, "actor": automerge::ActorId::random().to_hex_string()}))
        .send()
        .await?;
    let status = resp.status().as_u16();
    let retry = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let text = resp.text().await?;
    Ok((
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
        retry,
    ))
}

fn keyed(hash: &str) -> bool {
    hash.starts_with("hmac:") && hash.len() == 5 + 64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrolment_a_centre_from_csv_mints_no_code_when_it_serves() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let data = csv_centre(dir.path())?;
    // Even with the demo setting on: a directory of its own means no demo and no codes.
    let mut server = Server::start(&data, 40)?;
    assert!(server.codes.is_empty(), "printed: {:?}", server.codes);
    assert_eq!(server.count("SELECT COUNT(*) FROM enrol_codes")?, 0);
    server.restart()?;
    assert!(server.codes.is_empty(), "printed: {:?}", server.codes);
    assert_eq!(server.count("SELECT COUNT(*) FROM enrol_codes")?, 0);
    assert_eq!(server.count("SELECT COUNT(*) FROM cases")?, 0, "no demo");
    // Codes come from the administrator only.
    let gw = Device::enrol(&server, "wf-gw1").await?;
    gw.sync().await?;
    assert_eq!(server.count("SELECT COUNT(*) FROM enrol_codes")?, 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrolment_codes_carry_80_bits_are_stored_keyed_and_read_back_however_typed(
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let data = csv_centre(dir.path())?;
    let server = Server::start(&data, 0)?;
    let code = server.code_for("wf-gw1")?;
    // 16 Crockford base32 characters (5 bits each) in groups of four.
    let groups: Vec<&str> = code.split('-').collect();
    assert_eq!(groups.len(), 4, "{code}");
    for g in &groups {
        assert_eq!(g.len(), 4, "{code}");
        assert!(
            g.bytes()
                .all(|b| b"0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(&b)),
            "{code}"
        );
    }
    // Stored keyed: not the code, not its plain SHA-256.
    let stored: String =
        server
            .open_db()?
            .query_row("SELECT code_hash FROM enrol_codes", [], |r| r.get(0))?;
    assert!(keyed(&stored), "{stored}");
    let plain = app_core::store::sha256_hex(code.replace('-', "").as_bytes());
    assert!(!stored.contains(&plain) && !stored.contains(&code));
    // The key is the server's own, readable by its owner only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("server.key"))?
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Typed in lower case, in groups of four with spaces, an O for a 0 and an I for a 1.
    let typed = code
        .to_lowercase()
        .replace('-', " ")
        .replace('0', "o")
        .replace('1', "i");
    let gw = Device::enrol_with(&server, "wf-gw1", &typed).await?;
    gw.sync().await?;
    let token_hash: String =
        server
            .open_db()?
            .query_row("SELECT token_hash FROM devices", [], |r| r.get(0))?;
    assert!(keyed(&token_hash), "{token_hash}");
    let plain = app_core::store::sha256_hex(token(&gw).as_bytes());
    assert!(!token_hash.contains(&plain));
    // Once only.
    let again = enrol_raw(&server, &code, "第二台手机").await?;
    assert_error(&(again.0, again.1), 401, "bad_code");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrolment_devices_and_codes_stored_before_keyed_hashes_keep_working() -> anyhow::Result<()>
{
    // Files written by servers before keyed hashes are SQLite files, whichever engine the
    // other tests run on (a centre brought to PostgreSQL takes its rows as they are).
    let sqlite = vec![("FENGQIAO_DATABASE".to_owned(), String::new())];
    let dir = tempfile::tempdir()?;
    let data = csv_centre_on(dir.path(), &sqlite)?;
    let mut server = Server::start_with(&data, 0, sqlite)?;
    let gw = Device::enrol(&server, "wf-gw1").await?;
    gw.sync().await?;
    let device = gw.client.credentials().device.to_string();
    server.kill();
    // As a server before keyed hashes stored them: the token's and a ten-character code's
    // plain SHA-256 (the old alphabet had an L, which a new code would read as 1).
    {
        let conn = rusqlite::Connection::open(data.join("server.sqlite3"))?;
        conn.execute(
            "UPDATE devices SET token_hash = ?1 WHERE id = ?2",
            [
                app_core::store::sha256_hex(token(&gw).as_bytes()),
                device.clone(),
            ],
        )?;
        let now = system_tests::now_ms();
        conn.execute(
            "INSERT INTO enrol_codes(code_hash, person, created_at, expires_at)
             VALUES (?1, 'hy-staff', ?2, ?3)",
            rusqlite::params![
                app_core::store::sha256_hex(b"KF4M7D53GL"),
                now,
                now + 3_600_000
            ],
        )?;
    }
    server.restart()?;
    // The device enrolled before the change still syncs, and its row is now keyed.
    let p = gw.sync().await?;
    assert!(p.rejected.is_empty());
    let stored: String = server.open_db()?.query_row(
        "SELECT token_hash FROM devices WHERE id = ?1",
        [&device],
        |r| r.get(0),
    )?;
    assert!(keyed(&stored), "re-stored keyed at first use: {stored}");
    gw.sync().await?;
    // A code issued before the change still enrols, typed as its holder would.
    let staff = Device::enrol_with(&server, "hy-staff", "kf4m-7d53-gl").await?;
    assert_eq!(staff.client.credentials().person.as_str(), "hy-staff");
    staff.sync().await?;
    healthy(&server).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrolment_guessing_codes_gets_429_after_the_burst() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let data = csv_centre(dir.path())?;
    let server = Server::start(&data, 0)?;
    let code = server.code_for("wf-gw1")?;
    // Wrong codes, one after another: refused as unknown until the burst (20) is spent.
    let mut wrong = 0;
    let limited = loop {
        let answer = enrol_raw(&server, "AAAA-BBBB-CCCC-DDDD", "猜码的手机").await?;
        if answer.0 == 429 {
            break answer;
        }
        assert_error(&(answer.0, answer.1), 401, "bad_code");
        wrong += 1;
        assert!(wrong <= 40, "no limit after {wrong} wrong codes");
    };
    // 20 in the burst; a token comes back every 6 seconds, so a slow machine fits a few more.
    assert!((20..=30).contains(&wrong), "{wrong} attempts before 429");
    assert_error(&(limited.0, limited.1.clone()), 429, "rate_limited");
    let retry = limited.2.expect("Retry-After");
    assert!((1..=6).contains(&retry), "Retry-After {retry}");
    // The right code now waits too, and nothing was used or stored.
    let right = enrol_raw(&server, &code, "李明的手机").await?;
    assert_error(&(right.0, right.1), 429, "rate_limited");
    assert_eq!(server.count("SELECT COUNT(*) FROM devices")?, 0);
    assert_eq!(
        server.count("SELECT COUNT(*) FROM enrol_codes WHERE used_at IS NULL")?,
        1
    );
    healthy(&server).await
}
