//! Photos of a dispute taken with no signal: kept on the grid worker's phone, carried to the
//! township's server after the case's changes, downloaded byte for byte by the township's desk;
//! refused to a device that may not see the case, and every bad upload refused with nothing
//! stored.

use crate::sync::{actor, new_case, GW, STAFF};
use crate::sync_errors::{answer, assert_error, healthy, token};
use app_core::client::SyncError;
use app_core::document::DocKind;
use app_core::ids::{CaseId, UnitId};
use app_core::model::MAX_ATTACHMENT_BYTES;
use app_core::org::Role;
use app_core::protocol::ErrorCode;
use app_core::session::{AppError, Session};
use app_core::store::sha256_hex;
use base64::Engine;
use serde_json::Value;
use std::time::Instant;
use system_tests::{now_ms, Device, Server};

/// A grid worker of another grid of the same township: may not see the first grid's cases.
const OTHER_GW: &str = "haiyan-fengjiang-g2-gw";

/// Bytes that stand in for a photo: a JPEG header, then noise (photos do not compress).
pub(crate) fn photo(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut b = vec![0xff, 0xd8, 0xff, 0xe0];
    b.extend((4..len).map(|_| {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (x >> 33) as u8
    }));
    b.truncate(len);
    b
}

fn grid() -> UnitId {
    UnitId::new("haiyan-fengjiang-g1")
}

/// The grid worker reports a case on the device (no sync).
fn report(d: &Device, title: &str) -> anyhow::Result<CaseId> {
    let mut s = d.store();
    let a = actor(&s, GW, Role::GridWorker);
    Ok(s.create_case(&a, &new_case(&grid(), title), now_ms())?)
}

/// The grid worker attaches a file on the device (no sync); returns its SHA-256.
fn attach(
    d: &Device,
    case: &CaseId,
    name: &str,
    mime: &str,
    bytes: &[u8],
) -> anyhow::Result<String> {
    let mut s = d.store();
    let a = actor(&s, GW, Role::GridWorker);
    Ok(s.attach(case, &a, name, mime, bytes, now_ms())?.sha256)
}

fn url(server: &Server, case: &str, sha: &str) -> String {
    format!("{}/v1/cases/{case}/attachments/{sha}", server.url())
}

/// A raw upload: status and JSON answer.
async fn put(
    server: &Server,
    case: &str,
    sha: &str,
    token: Option<&str>,
    mime: &str,
    body: Vec<u8>,
) -> anyhow::Result<(u16, Value)> {
    let req = reqwest::Client::new()
        .put(url(server, case, sha))
        .header("content-type", mime)
        .body(body);
    answer(req, token).await
}

/// A raw download: status, content type and body.
async fn get(
    server: &Server,
    case: &str,
    sha: &str,
    token: &str,
) -> anyhow::Result<(u16, String, Vec<u8>)> {
    let resp = reqwest::Client::new()
        .get(url(server, case, sha))
        .bearer_auth(token)
        .send()
        .await?;
    let status = resp.status().as_u16();
    let mime = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    Ok((status, mime, resp.bytes().await?.to_vec()))
}

fn server_blobs(server: &Server) -> anyhow::Result<i64> {
    server.count("SELECT COUNT(*) FROM blobs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachments_photo_taken_offline_reaches_the_township_byte_for_byte() -> anyhow::Result<()>
{
    // A server whose JSON body limit (1 MiB) is far below an attachment's (8 MiB).
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("server.toml");
    std::fs::write(&config, "[limits]\nmax_body_bytes = 1048576\n")?;
    let data = dir.path().join("data");
    let mut server = Server::start_with(
        &data,
        6,
        vec![("FENGQIAO_CONFIG".into(), config.display().to_string())],
    )?;
    let gw = Device::enrol(&server, GW).await?;
    let staff = Device::enrol(&server, STAFF).await?;
    let outsider = Device::enrol(&server, OTHER_GW).await?;
    for d in [&gw, &staff, &outsider] {
        d.sync().await?;
    }
    // The JSON limit is in force: a 2 MiB sync body is refused.
    let big = vec![b' '; 2 << 20];
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/sync", server.url()))
        .bearer_auth(token(&gw))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await?;
    assert_eq!(resp.status().as_u16(), 413);

    // No signal: the grid worker reports the blocked ditch and photographs it twice (one photo
    // as large as an attachment may be), and the sync fails as offline; nothing is lost.
    server.kill();
    let case = report(&gw, "丰江村排水沟堵塞纠纷")?;
    let ditch = photo(1, MAX_ATTACHMENT_BYTES as usize);
    let wall = photo(2, 700_000);
    let ditch_sha = attach(&gw, &case, "排水沟.jpg", "image/jpeg", &ditch)?;
    let wall_sha = attach(&gw, &case, "围墙.png", "image/png", &wall)?;
    assert_eq!(ditch_sha, sha256_hex(&ditch));
    let err = gw.sync().await.expect_err("no server");
    assert!(
        matches!(err.downcast_ref::<SyncError>(), Some(SyncError::Offline(_))),
        "{err}"
    );
    assert_eq!(gw.store().pending_blobs()?.len(), 2);

    // Signal again: the changes go up, then both photos.
    server.restart()?;
    let started = Instant::now();
    let p = gw.sync().await?;
    let took = started.elapsed();
    assert_eq!(p.rejected, vec![]);
    assert_eq!(p.refused_blobs, vec![]);
    assert_eq!(p.sent_blobs, 2, "{p:?}");
    assert_eq!(p.pending_blobs, 0);
    assert!(p.bytes_up > MAX_ATTACHMENT_BYTES, "{p:?}");
    assert!(gw.store().pending_blobs()?.is_empty());
    println!(
        "sync with an 8 MiB and a 0.7 MiB photo: {} ms",
        took.as_millis()
    );
    assert_eq!(server_blobs(&server)?, 2);
    let held: Vec<u8> = server.open_db()?.query_row(
        "SELECT bytes FROM blobs WHERE sha256 = ?1 AND pending = 0",
        [&ditch_sha],
        |r| r.get(0),
    )?;
    assert!(held == ditch, "the server holds the photo as taken");
    // Nothing more to send next time.
    let again = gw.sync().await?;
    assert_eq!((again.sent_blobs, again.refused_blobs.len()), (0, 0));

    // The township's desk receives the case listing both, and downloads them on demand.
    staff.sync().await?;
    let listed = staff.store().case(&case)?.document.attachments;
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().any(|a| a.sha256 == ditch_sha
        && a.mime == "image/jpeg"
        && a.size == MAX_ATTACHMENT_BYTES));
    assert!(staff.store().blob(&ditch_sha)?.is_none(), "not fetched yet");
    let started = Instant::now();
    let (mime, bytes) = staff
        .client
        .fetch_attachment(&staff.store, &case, &ditch_sha)
        .await?;
    println!(
        "download of an 8 MiB photo: {} ms",
        started.elapsed().as_millis()
    );
    assert_eq!(mime, "image/jpeg");
    assert!(bytes == ditch, "byte-identical");
    assert!(staff
        .store()
        .blob(&ditch_sha)?
        .is_some_and(|(_, b)| b == ditch));
    let (mime, bytes) = staff
        .client
        .fetch_attachment(&staff.store, &case, &wall_sha)
        .await?;
    assert_eq!((mime.as_str(), bytes == wall), ("image/png", true));
    assert!(
        staff.store().pending_blobs()?.is_empty(),
        "downloaded bytes are not sent back"
    );

    // Another grid's worker gets the same answer as for a case that does not exist.
    let refused = |r: Result<(String, Vec<u8>), SyncError>| match r {
        Err(SyncError::Refused {
            status,
            code,
            message,
        }) => (status, code, message),
        other => panic!("not refused: {other:?}"),
    };
    let (status, code, message) = refused(
        outsider
            .client
            .fetch_attachment(&outsider.store, &case, &ditch_sha)
            .await,
    );
    assert_eq!((status, code), (404, ErrorCode::UnknownDoc));
    assert!(
        message.contains("not known here or not yours to see"),
        "{message}"
    );
    let unknown = CaseId::new("0196a000-0000-7000-8000-000000000000");
    let (status2, code2, message2) = refused(
        outsider
            .client
            .fetch_attachment(&outsider.store, &unknown, &ditch_sha)
            .await,
    );
    assert_eq!((status2, code2), (status, code));
    assert_eq!(
        message2.replace(unknown.as_str(), "X"),
        message.replace(case.as_str(), "X"),
        "the same answer for unknown and out of scope"
    );
    assert!(outsider.store().blob(&ditch_sha)?.is_none());
    // A visible case that lists no such attachment.
    let (status, code, _) = refused(
        staff
            .client
            .fetch_attachment(&staff.store, &case, &sha256_hex(b"not attached"))
            .await,
    );
    assert_eq!((status, code), (404, ErrorCode::UnknownAttachment));
    healthy(&server).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachments_bad_uploads_are_refused_and_store_nothing() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = Server::start(dir.path(), 6)?;
    let gw = Device::enrol(&server, GW).await?;
    let staff = Device::enrol(&server, STAFF).await?;
    let outsider = Device::enrol(&server, OTHER_GW).await?;
    // The server learns of an attachment whose bytes it does not have: the device syncs the
    // case's changes but (as if it had crashed before the upload) not the photo.
    let case = report(&gw, "围墙损坏纠纷")?;
    let bytes = photo(3, 200_000);
    let sha = attach(&gw, &case, "围墙.jpg", "image/jpeg", &bytes)?;
    gw.store().mark_blob_sent(&sha)?;
    let p = gw.sync().await?;
    assert_eq!(p.sent_blobs, 0);
    assert_eq!(server_blobs(&server)?, 0);
    let id = case.as_str();
    let t = token(&gw);
    let (status, _, _) = get(&server, id, &sha, &token(&staff)).await?;
    assert_eq!(status, 404, "listed but not uploaded yet");
    let answer = {
        let resp = reqwest::Client::new()
            .get(url(&server, id, &sha))
            .bearer_auth(token(&staff))
            .send()
            .await?;
        (resp.status().as_u16(), resp.json::<Value>().await?)
    };
    assert_error(&answer, 404, "not_uploaded");

    // No credentials.
    let answer = put(&server, id, &sha, None, "image/jpeg", bytes.clone()).await?;
    assert_error(&answer, 401, "unauthenticated");
    // Bytes that are not the attachment (same size, another hash).
    let mut wrong = bytes.clone();
    wrong[1000] ^= 0xff;
    let answer = put(&server, id, &sha, Some(&t), "image/jpeg", wrong).await?;
    assert_error(&answer, 422, "hash_mismatch");
    assert!(answer.1["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .contains(&sha));
    // A photo the case does not list (its own hash is right).
    let other = photo(4, 1000);
    let answer = put(
        &server,
        id,
        &sha256_hex(&other),
        Some(&t),
        "image/jpeg",
        other,
    )
    .await?;
    assert_error(&answer, 404, "unknown_attachment");
    // Over the limit.
    let oversized = photo(5, MAX_ATTACHMENT_BYTES as usize + 1);
    let answer = put(&server, id, &sha, Some(&t), "image/jpeg", oversized).await?;
    assert_error(&answer, 413, "too_large");
    // Another type than the case lists, or none.
    let answer = put(&server, id, &sha, Some(&t), "image/png", bytes.clone()).await?;
    assert_error(&answer, 422, "bad_attachment");
    let resp = reqwest::Client::new()
        .put(url(&server, id, &sha))
        .bearer_auth(&t)
        .body(bytes.clone())
        .send()
        .await?;
    assert_error(
        &(resp.status().as_u16(), resp.json().await?),
        422,
        "bad_attachment",
    );
    // Not a SHA-256.
    let answer = put(&server, id, "abc", Some(&t), "image/jpeg", bytes.clone()).await?;
    assert_error(&answer, 400, "bad_encoding");
    // A device that may not see the case, with the right bytes: as if the case did not exist.
    let answer = put(
        &server,
        id,
        &sha,
        Some(&token(&outsider)),
        "image/jpeg",
        bytes.clone(),
    )
    .await?;
    assert_error(&answer, 404, "unknown_doc");
    assert_eq!(server_blobs(&server)?, 0, "nothing stored");
    healthy(&server).await?;

    // The right upload is stored; repeating it is answered the same.
    for new in [true, false] {
        let answer = put(&server, id, &sha, Some(&t), "image/jpeg", bytes.clone()).await?;
        assert_eq!(answer.0, 200, "{}", answer.1);
        assert_eq!(answer.1["stored"], new);
        assert_eq!(answer.1["sha256"], sha.as_str());
        assert_eq!(server_blobs(&server)?, 1);
    }
    let (status, mime, got) = get(&server, id, &sha, &token(&staff)).await?;
    assert_eq!((status, mime.as_str()), (200, "image/jpeg"));
    assert!(got == bytes);
    // The outsider still cannot read it.
    let (status, _, _) = get(&server, id, &sha, &token(&outsider)).await?;
    assert_eq!(status, 404);
    // The device's refused upload is reported, does not block the others, and stays pending.
    let case2 = report(&gw, "宅基地边界纠纷")?;
    let good = photo(6, 5000);
    let good_sha = attach(&gw, &case2, "界址.jpg", "image/jpeg", &good)?;
    let bad_sha = {
        // A photo whose listing the server will never hold: its change is set aside as refused.
        let mut s = gw.store();
        let extra = photo(7, 5000);
        let a = actor(&s, GW, Role::GridWorker);
        let sha = s
            .attach(&case, &a, "另一张.jpg", "image/jpeg", &extra, now_ms())?
            .sha256;
        s.quarantine(
            &DocKind::Case.key(id),
            "test",
            "set aside by the test",
            now_ms(),
        )?;
        sha
    };
    let p = gw.sync().await?;
    assert_eq!(p.sent_blobs, 1, "{p:?}");
    assert_eq!(p.refused_blobs.len(), 1, "{p:?}");
    assert_eq!(p.refused_blobs[0].0, bad_sha);
    assert_eq!(p.refused_blobs[0].1, ErrorCode::UnknownAttachment);
    assert_eq!(p.pending_blobs, 1);
    assert_eq!(gw.store().pending_blobs()?, vec![(bad_sha, id.to_owned())]);
    assert!(
        server.count(&format!(
            "SELECT COUNT(*) FROM blobs WHERE sha256 = '{good_sha}'"
        ))? == 1
    );
    healthy(&server).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachments_through_the_apps_sessions() -> anyhow::Result<()> {
    let server_dir = tempfile::tempdir()?;
    let server = Server::start(server_dir.path(), 6)?;
    let dir = tempfile::tempdir()?;
    let open = |name: &str| Session::open(dir.path().join(format!("{name}.sqlite3")));
    let phone = open("phone")?;
    let desk = open("desk")?;
    phone
        .enrol(&server.url(), &server.code_for(GW)?, "网格员的手机")
        .await?;
    desk.enrol(&server.url(), &server.code_for(STAFF)?, "综治中心电脑")
        .await?;
    phone.sync_now().await?;
    let case = phone.report_case(&new_case(&grid(), "排水沟堵塞纠纷"), now_ms())?;
    let bytes = photo(8, 1_500_000);
    let screen = phone.attach_photo(&case, "现场照片.jpg", "image/jpeg", &bytes, now_ms())?;
    let listed = &screen.document.attachments;
    assert_eq!(listed.len(), 1);
    let sha = listed[0].sha256.clone();
    // A bad file is refused with the core's words and changes nothing.
    let err = phone
        .attach_photo(
            &case,
            "病毒.exe",
            "application/x-msdownload",
            b"MZ",
            now_ms(),
        )
        .unwrap_err();
    assert!(err.to_string().contains("不能附加此类文件"), "{err}");
    assert_eq!(phone.case(&case, now_ms())?.document.attachments.len(), 1);
    // Shown from the phone at once, before any sync.
    let shown = phone.attachment(&case, &sha).await?;
    let decode = |s: &str| base64::engine::general_purpose::STANDARD.decode(s);
    assert_eq!(shown.mime, "image/jpeg");
    assert!(decode(&shown.base64)? == bytes);

    assert_eq!(
        phone.sync_state()?.photos_waiting,
        1,
        "the sync line counts the photo"
    );
    let state = phone.sync_now().await?;
    assert!(state.error.is_none(), "{state:?}");
    assert_eq!(state.waiting, 0);
    assert_eq!(state.photos_waiting, 0, "the photo went up with the sync");
    desk.sync_now().await?;
    let shown = desk.attachment(&case, &sha).await?;
    assert_eq!(shown.mime, "image/jpeg");
    assert!(
        decode(&shown.base64)? == bytes,
        "the desk shows the photo as taken"
    );
    assert!(
        desk.store().lock().unwrap().blob(&sha)?.is_some(),
        "and keeps it"
    );

    // A device holding the case but not enrolled cannot fetch what it does not have.
    let lone = open("lone")?;
    {
        let from = desk.store().lock().unwrap();
        let doc = from
            .document_bytes(DocKind::Case, case.as_str())?
            .expect("the desk holds the case");
        let mut to = lone.store().lock().unwrap();
        to.set_directory(from.directory().clone())?;
        to.merge_document(DocKind::Case, case.as_str(), &doc, now_ms())?;
    }
    assert!(matches!(
        lone.attachment(&case, &sha).await,
        Err(AppError::NotEnrolled)
    ));
    Ok(())
}
