//! Every bad input to the sync server, one test each: the right status and error code, a message,
//! nothing stored, and the server still serving.

use crate::sync::{actor, new_case, GW, STAFF};
use app_core::document::DocKind;
use app_core::ids::{CaseId, EntryId, UnitId};
use app_core::model::{Action, TimelineEntry};
use app_core::org::Role;
use app_core::protocol::{DocChanges, SyncRequest};
use automerge::transaction::Transactable;
use automerge::{AutoCommit, ReadDoc};
use serde_json::{json, Value};
use system_tests::{now_ms, Device, Server};

const OTHER_GW: &str = "haiyan-fengjiang-g2-gw";

/// A server with a few demo cases.
fn server() -> anyhow::Result<(tempfile::TempDir, Server)> {
    let dir = tempfile::tempdir()?;
    let server = Server::start(dir.path(), 6)?;
    Ok((dir, server))
}

/// What the server holds that an upload could add to: documents, the last sequence number,
/// chunks, versions.
pub(crate) fn holdings(server: &Server) -> anyhow::Result<(i64, i64, i64, i64)> {
    Ok((
        server.count("SELECT COUNT(*) FROM documents")?,
        server.count("SELECT COALESCE(MAX(seq), 0) FROM doc_seq")?,
        server.count("SELECT COUNT(*) FROM document_chunks")?,
        server.count("SELECT COUNT(*) FROM doc_versions")?,
    ))
}

async fn post(
    server: &Server,
    path: &str,
    token: Option<&str>,
    body: Vec<u8>,
) -> anyhow::Result<(u16, Value)> {
    let req = reqwest::Client::new()
        .post(format!("{}{path}", server.url()))
        .header("content-type", "application/json")
        .body(body);
    answer(req, token).await
}

/// Sends a raw request (with the credential, if any): its status and JSON answer (or the text,
/// when the answer is not JSON).
pub(crate) async fn answer(
    mut req: reqwest::RequestBuilder,
    token: Option<&str>,
) -> anyhow::Result<(u16, Value)> {
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await?;
    let status = resp.status().as_u16();
    let text = resp.text().await?;
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Ok((status, value))
}

pub(crate) async fn healthy(server: &Server) -> anyhow::Result<()> {
    let r = reqwest::get(format!("{}/healthz", server.url())).await?;
    assert_eq!(r.status().as_u16(), 200, "the server still serves");
    Ok(())
}

/// Asserts an error answer: status, code, a message, and (optionally) the document named.
pub(crate) fn assert_error(answer: &(u16, Value), status: u16, code: &str) {
    assert_eq!(answer.0, status, "status for {code}: {}", answer.1);
    assert_eq!(answer.1["error"]["code"], code, "{}", answer.1);
    let message = answer.1["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.len() > 20,
        "a message a person can act on: {message}"
    );
}

/// Uploads `changes` to `doc` from device `d`, expects the refusal `status`/`code`, and checks
/// the server stored nothing.
async fn refused_storing_nothing(
    server: &Server,
    d: &Device,
    doc: &str,
    changes: Vec<Vec<u8>>,
    status: u16,
    code: &str,
) -> anyhow::Result<()> {
    let before = holdings(server)?;
    let answer = upload(server, d, doc, changes).await?;
    assert_error(&answer, status, code);
    assert_eq!(holdings(server)?, before, "{code}: nothing stored");
    Ok(())
}

pub(crate) fn token(d: &Device) -> String {
    d.client.credentials().token.clone()
}

/// Uploads raw changes for one document.
pub(crate) async fn upload(
    server: &Server,
    d: &Device,
    doc: &str,
    changes: Vec<Vec<u8>>,
) -> anyhow::Result<(u16, Value)> {
    let req = SyncRequest {
        cursor: 0,
        upload: vec![DocChanges {
            doc: doc.to_owned(),
            changes,
        }],
        max_docs: Some(1),
    };
    post(
        server,
        "/v1/sync",
        Some(&token(d)),
        serde_json::to_vec(&req)?,
    )
    .await
}

/// A case the grid worker reported and synced, loaded with the device's actor.
async fn synced_case(d: &Device) -> anyhow::Result<(CaseId, AutoCommit)> {
    let grid = UnitId::new("haiyan-fengjiang-g1");
    let id = {
        let mut s = d.store();
        let a = actor(&s, GW, Role::GridWorker);
        s.create_case(&a, &new_case(&grid, "丰江村排水沟纠纷"), now_ms())?
    };
    d.sync().await?;
    assert_eq!(d.store().outbox_len()?, 0);
    let store = d.store();
    let doc = store
        .load_document(DocKind::Case, id.as_str())?
        .expect("held")
        .with_actor(store.actor_id().clone());
    Ok((id, doc))
}

/// Appends an entry to a case document directly (bypassing the workflow check a device makes),
/// as a modified or buggy client could; returns the new change.
fn forge_entry(doc: &mut AutoCommit, entry: &TimelineEntry) -> anyhow::Result<Vec<u8>> {
    let before = doc.get_heads();
    let list = match doc.get(automerge::ROOT, "timeline")? {
        Some((_, id)) => id,
        None => anyhow::bail!("no timeline"),
    };
    let len = doc.length(&list);
    autosurgeon::reconcile_insert(doc, list, len, entry)?;
    doc.commit();
    let mut changes = doc.get_changes(&before);
    Ok(changes.remove(0).bytes().to_vec())
}

fn last_entry_id(doc: &AutoCommit) -> anyhow::Result<Option<EntryId>> {
    let t: Vec<TimelineEntry> =
        app_core::materialise::read_prop(doc, "timeline", None).map_err(|e| anyhow::anyhow!(e))?;
    Ok(t.last().map(|e| e.id.clone()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_malformed_json_is_refused() -> anyhow::Result<()> {
    let (_dir, server) = server()?;
    let d = Device::enrol(&server, GW).await?;
    let before = holdings(&server)?;
    let answer = post(
        &server,
        "/v1/sync",
        Some(&token(&d)),
        b"{\"cursor\": 0, \"upload\": [".to_vec(),
    )
    .await?;
    assert_error(&answer, 400, "bad_json");
    let answer = post(
        &server,
        "/v1/sync",
        Some(&token(&d)),
        b"{\"cursor\": \"zero\"}".to_vec(),
    )
    .await?;
    assert_error(&answer, 400, "bad_json");
    assert_eq!(holdings(&server)?, before);
    healthy(&server).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_bad_encoding_is_refused() -> anyhow::Result<()> {
    let (_dir, server) = server()?;
    let d = Device::enrol(&server, GW).await?;
    let before = holdings(&server)?;
    let body = json!({"cursor": 0, "upload": [{"doc": "case:abc", "changes": ["**not base64**"]}]});
    let answer = post(
        &server,
        "/v1/sync",
        Some(&token(&d)),
        body.to_string().into_bytes(),
    )
    .await?;
    assert_error(&answer, 400, "bad_encoding");
    let answer = upload(&server, &d, "folder:../../etc", vec![vec![1, 2, 3]]).await?;
    assert_error(&answer, 400, "bad_encoding");
    assert_eq!(holdings(&server)?, before);
    healthy(&server).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_corrupt_automerge_bytes_are_refused() -> anyhow::Result<()> {
    let (_dir, server) = server()?;
    let d = Device::enrol(&server, GW).await?;
    let (id, mut doc) = synced_case(&d).await?;
    let before = holdings(&server)?;
    // A real change with its bytes damaged in the middle.
    let base = last_entry_id(&doc)?;
    let a = actor(&d.store(), GW, Role::GridWorker);
    let mut change = forge_entry(
        &mut doc,
        &TimelineEntry {
            id: EntryId::generate(),
            base,
            at: now_ms(),
            actor: a,
            action: Action::Edit { fields: vec![] },
        },
    )?;
    // Cut short in transit.
    let mut truncated = change.clone();
    truncated.truncate(change.len() * 2 / 3);
    let answer = upload(
        &server,
        &d,
        &DocKind::Case.key(id.as_str()),
        vec![truncated],
    )
    .await?;
    assert_error(&answer, 400, "corrupt_change");
    assert_eq!(answer.1["error"]["doc"], DocKind::Case.key(id.as_str()));
    // Bytes flipped in the middle: either it no longer decodes, or it decodes to a change that
    // does not give a case; refused either way.
    let mid = change.len() / 2;
    change[mid] ^= 0xff;
    change[mid + 1] ^= 0x55;
    let answer = upload(&server, &d, &DocKind::Case.key(id.as_str()), vec![change]).await?;
    assert!(
        matches!(answer.0, 400 | 422) && answer.1["error"]["code"].is_string(),
        "{answer:?}"
    );
    let answer = upload(&server, &d, "case:new-one", vec![b"garbage".to_vec()]).await?;
    assert_error(&answer, 400, "corrupt_change");
    assert_eq!(holdings(&server)?, before);
    healthy(&server).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_changes_to_an_unknown_case_are_refused() -> anyhow::Result<()> {
    let (_dir, server) = server()?;
    let d = Device::enrol(&server, GW).await?;
    // A case made on the device; its later change is sent without the report it depends on.
    let grid = UnitId::new("haiyan-fengjiang-g1");
    let id = {
        let mut s = d.store();
        let a = actor(&s, GW, Role::GridWorker);
        let id = s.create_case(&a, &new_case(&grid, "丰江村鱼塘纠纷"), now_ms())?;
        s.act(
            &id,
            &a,
            Action::RecordSession {
                mode: app_core::model::SessionMode::OnSite,
                note: "现场劝导。".to_owned(),
            },
            now_ms(),
        )
        .ok();
        id
    };
    let key = DocKind::Case.key(id.as_str());
    let later: Vec<Vec<u8>> = d
        .store()
        .outbox(100)?
        .into_iter()
        .filter(|e| e.key == key)
        .skip(1)
        .map(|e| e.change)
        .collect();
    assert!(!later.is_empty(), "the device made a second change");
    refused_storing_nothing(&server, &d, &key, later, 404, "unknown_doc").await?;
    healthy(&server).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_forged_actor_is_refused() -> anyhow::Result<()> {
    let (_dir, server) = server()?;
    let gw = Device::enrol(&server, GW).await?;
    let other = Device::enrol(&server, OTHER_GW).await?;
    // The grid worker's new case, uploaded with the other device's credential.
    let grid = UnitId::new("haiyan-fengjiang-g1");
    let id = {
        let mut s = gw.store();
        let a = actor(&s, GW, Role::GridWorker);
        s.create_case(&a, &new_case(&grid, "丰江村宅基地纠纷"), now_ms())?
    };
    let key = DocKind::Case.key(id.as_str());
    let changes: Vec<Vec<u8>> = gw
        .store()
        .outbox(100)?
        .into_iter()
        .filter(|e| e.key == key)
        .map(|e| e.change)
        .collect();
    refused_storing_nothing(&server, &other, &key, changes, 403, "forged_actor").await?;
    healthy(&server).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_out_of_scope_case_is_refused() -> anyhow::Result<()> {
    let (_dir, server) = server()?;
    let gw = Device::enrol(&server, GW).await?;
    let (id, _) = synced_case(&gw).await?;
    let other = Device::enrol(&server, OTHER_GW).await?;
    other.sync().await?;
    assert!(!other.case_ids()?.contains(&id.to_string()));
    // The other grid's worker gets hold of the case's bytes and edits it as themselves.
    let bytes = gw
        .store()
        .load_document(DocKind::Case, id.as_str())?
        .expect("held")
        .save();
    let other_actor = other.store().actor_id().clone();
    let mut doc = AutoCommit::load(&bytes)?.with_actor(other_actor);
    let base = last_entry_id(&doc)?;
    let a = actor(&other.store(), OTHER_GW, Role::GridWorker);
    let change = forge_entry(
        &mut doc,
        &TimelineEntry {
            id: EntryId::generate(),
            base,
            at: now_ms(),
            actor: a,
            action: Action::Edit { fields: vec![] },
        },
    )?;
    refused_storing_nothing(
        &server,
        &other,
        &DocKind::Case.key(id.as_str()),
        vec![change],
        403,
        "out_of_scope",
    )
    .await?;
    healthy(&server).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_invalid_workflow_move_is_refused() -> anyhow::Result<()> {
    let (_dir, server) = server()?;
    let gw = Device::enrol(&server, GW).await?;
    let (id, mut doc) = synced_case(&gw).await?;
    let base = last_entry_id(&doc)?;
    let a = actor(&gw.store(), GW, Role::GridWorker);
    // A grid worker may not conclude (办结) a case: only its centre may.
    let change = forge_entry(
        &mut doc,
        &TimelineEntry {
            id: EntryId::generate(),
            base,
            at: now_ms(),
            actor: a,
            action: Action::Close {
                note: "自行办结".to_owned(),
            },
        },
    )?;
    refused_storing_nothing(
        &server,
        &gw,
        &DocKind::Case.key(id.as_str()),
        vec![change],
        409,
        "workflow_denied",
    )
    .await?;
    healthy(&server).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_entry_signed_as_someone_else_is_refused() -> anyhow::Result<()> {
    let (_dir, server) = server()?;
    let gw = Device::enrol(&server, GW).await?;
    let (id, mut doc) = synced_case(&gw).await?;
    let base = last_entry_id(&doc)?;
    // The grid worker's device writes an entry claiming to be the centre's staff.
    let a = actor(&gw.store(), STAFF, Role::CentreStaff);
    let change = forge_entry(
        &mut doc,
        &TimelineEntry {
            id: EntryId::generate(),
            base,
            at: now_ms(),
            actor: a,
            action: Action::Close {
                note: "办结".to_owned(),
            },
        },
    )?;
    refused_storing_nothing(
        &server,
        &gw,
        &DocKind::Case.key(id.as_str()),
        vec![change],
        403,
        "wrong_author",
    )
    .await?;
    healthy(&server).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_rewriting_history_is_refused() -> anyhow::Result<()> {
    let (_dir, server) = server()?;
    let gw = Device::enrol(&server, GW).await?;
    let (id, mut doc) = synced_case(&gw).await?;
    let before_heads = doc.get_heads();
    let list = match doc.get(automerge::ROOT, "timeline")? {
        Some((_, l)) => l,
        None => anyhow::bail!("no timeline"),
    };
    doc.delete(&list, 0)?;
    doc.commit();
    let change = doc.get_changes(&before_heads).remove(0).bytes().to_vec();
    refused_storing_nothing(
        &server,
        &gw,
        &DocKind::Case.key(id.as_str()),
        vec![change],
        422,
        "bad_document",
    )
    .await?;
    healthy(&server).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_oversized_body_is_refused() -> anyhow::Result<()> {
    let (_dir, server) = server()?;
    let d = Device::enrol(&server, GW).await?;
    let before = holdings(&server)?;
    // 17 MiB: the server answers before it has all of it and may close the connection under
    // the sender, so the answer is read while the body is still being sent.
    let auth = format!("Bearer {}", token(&d));
    let (status, body, _) = crate::untrusted::upload_until_answered(
        server.port,
        "POST /v1/sync",
        &[("Authorization", &auth)],
        17 << 20,
    )
    .await?;
    assert_error(&(status, body), 413, "too_large");
    assert_eq!(holdings(&server)?, before);
    healthy(&server).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_oversized_batch_is_refused() -> anyhow::Result<()> {
    let (_dir, server) = server()?;
    let d = Device::enrol(&server, GW).await?;
    let before = holdings(&server)?;
    let upload: Vec<Value> = (0..2001)
        .map(|i| json!({"doc": format!("case:c{i}"), "changes": []}))
        .collect();
    let body = json!({"cursor": 0, "upload": upload});
    let answer = post(
        &server,
        "/v1/sync",
        Some(&token(&d)),
        body.to_string().into_bytes(),
    )
    .await?;
    assert_error(&answer, 413, "too_many");
    assert_eq!(holdings(&server)?, before);
    healthy(&server).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_too_fast_is_rate_limited() -> anyhow::Result<()> {
    let (_dir, server) = server()?;
    let d = Device::enrol(&server, GW).await?;
    let body = serde_json::to_vec(&SyncRequest::default())?;
    let mut limited = None;
    for _ in 0..60 {
        let a = post(&server, "/v1/sync", Some(&token(&d)), body.clone()).await?;
        if a.0 == 429 {
            limited = Some(a);
            break;
        }
    }
    let limited = limited.expect("a burst of syncs is limited");
    assert_error(&limited, 429, "rate_limited");
    // Another device is not affected.
    let other = Device::enrol(&server, OTHER_GW).await?;
    other.sync().await?;
    healthy(&server).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_without_valid_credential_is_refused() -> anyhow::Result<()> {
    let (_dir, server) = server()?;
    let body = serde_json::to_vec(&SyncRequest::default())?;
    let answer = post(&server, "/v1/sync", None, body.clone()).await?;
    assert_error(&answer, 401, "unauthenticated");
    let answer = post(&server, "/v1/sync", Some("dev-0.not-a-token"), body).await?;
    assert_error(&answer, 401, "unauthenticated");
    healthy(&server).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_revoked_device_is_refused() -> anyhow::Result<()> {
    let (_dir, server) = server()?;
    let d = Device::enrol(&server, GW).await?;
    d.sync().await?;
    let device = d.client.credentials().device.to_string();
    server.admin(&["revoke", "--device", &device])?;
    assert!(server
        .admin(&["devices"])?
        .contains(&format!("{device}\t{GW}")));
    // Work done after the revocation is refused and stays on the phone.
    let grid = UnitId::new("haiyan-fengjiang-g1");
    {
        let mut s = d.store();
        let a = actor(&s, GW, Role::GridWorker);
        s.create_case(&a, &new_case(&grid, "丰江村水渠纠纷"), now_ms())?;
    }
    let before = holdings(&server)?;
    let err = d.sync().await.expect_err("revoked");
    assert!(err.to_string().contains("revoked"), "{err}");
    assert_eq!(holdings(&server)?, before);
    assert!(d.store().outbox_len()? > 0, "nothing is lost on the phone");
    let body = serde_json::to_vec(&SyncRequest::default())?;
    let answer = post(&server, "/v1/sync", Some(&token(&d)), body).await?;
    assert_error(&answer, 401, "revoked");
    healthy(&server).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_bad_enrolment_code_is_refused() -> anyhow::Result<()> {
    let (_dir, server) = server()?;
    let devices = server.count("SELECT COUNT(*) FROM devices")?;
    let body = json!({"code": "WRONGCODE1", "device_name": "手机", "actor": "0011223344556677"});
    let answer = post(&server, "/v1/enrol", None, body.to_string().into_bytes()).await?;
    assert_error(&answer, 401, "bad_code");
    // A code works once.
    let code = server.code_for(GW)?;
    let body = json!({"code": code, "device_name": "手机", "actor": "0011223344556677"});
    let first = post(&server, "/v1/enrol", None, body.to_string().into_bytes()).await?;
    assert_eq!(first.0, 200, "{}", first.1);
    let body = json!({"code": code, "device_name": "另一部手机", "actor": "8899aabbccddeeff"});
    let again = post(&server, "/v1/enrol", None, body.to_string().into_bytes()).await?;
    assert_error(&again, 401, "bad_code");
    assert_eq!(server.count("SELECT COUNT(*) FROM devices")?, devices + 1);
    healthy(&server).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_replayed_changes_store_nothing_twice() -> anyhow::Result<()> {
    let (_dir, server) = server()?;
    let d = Device::enrol(&server, GW).await?;
    let grid = UnitId::new("haiyan-fengjiang-g1");
    let id = {
        let mut s = d.store();
        let a = actor(&s, GW, Role::GridWorker);
        s.create_case(&a, &new_case(&grid, "丰江村噪音纠纷"), now_ms())?
    };
    let key = DocKind::Case.key(id.as_str());
    let changes: Vec<Vec<u8>> = d
        .store()
        .outbox(100)?
        .into_iter()
        .filter(|e| e.key == key)
        .map(|e| e.change)
        .collect();
    let first = upload(&server, &d, &key, changes.clone()).await?;
    assert_eq!(first.0, 200, "{}", first.1);
    assert_eq!(first.1["stored"], 1);
    let after_first = holdings(&server)?;
    // The same batch again (a response lost to a timeout), and the change twice in one batch.
    let again = upload(&server, &d, &key, changes.clone()).await?;
    assert_eq!(again.0, 200, "{}", again.1);
    assert_eq!(again.1["stored"], 0);
    let doubled = upload(&server, &d, &key, [changes.clone(), changes].concat()).await?;
    assert_eq!(doubled.1["stored"], 0);
    assert_eq!(holdings(&server)?, after_first, "nothing stored twice");
    let timeline = server.count(&format!(
        "SELECT json_extract(summary, '$.entries') FROM cases WHERE id = '{id}'"
    ))?;
    assert_eq!(timeline, 1, "one report, once");
    healthy(&server).await
}

/// A retry that carries a case the server already has whole, with its contacts it does not
/// have yet (the case went up in one request whose answer was lost, the contacts were not in
/// it): the contacts are taken, read against the case as stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_a_retry_with_the_case_already_here_takes_its_new_contacts() -> anyhow::Result<()> {
    let (_dir, server) = server()?;
    let d = Device::enrol(&server, GW).await?;
    let grid = UnitId::new("haiyan-fengjiang-g1");
    let id = {
        let mut s = d.store();
        let a = actor(&s, GW, Role::GridWorker);
        s.create_case(&a, &new_case(&grid, "丰江村排水沟纠纷"), now_ms())?
    };
    let pending = d.store().outbox(100)?;
    let of = |key: &str| -> Vec<Vec<u8>> {
        pending
            .iter()
            .filter(|e| e.key == key)
            .map(|e| e.change.clone())
            .collect()
    };
    let (case_key, contacts_key) = (
        DocKind::Case.key(id.as_str()),
        DocKind::Contacts.key(id.as_str()),
    );
    assert!(!of(&contacts_key).is_empty(), "the case has contacts");
    let first = upload(&server, &d, &case_key, of(&case_key)).await?;
    assert_eq!(first.0, 200, "{}", first.1);
    let req = SyncRequest {
        cursor: 0,
        upload: vec![
            DocChanges {
                doc: case_key.clone(),
                changes: of(&case_key),
            },
            DocChanges {
                doc: contacts_key.clone(),
                changes: of(&contacts_key),
            },
        ],
        max_docs: Some(1),
    };
    let retry = post(
        &server,
        "/v1/sync",
        Some(&token(&d)),
        serde_json::to_vec(&req)?,
    )
    .await?;
    assert_eq!(retry.0, 200, "{}", retry.1);
    assert_eq!(
        retry.1["stored"], 1,
        "the contacts' change, and nothing of the case again"
    );
    assert_eq!(
        server.count(&format!(
            "SELECT COUNT(*) FROM documents WHERE key = '{contacts_key}'"
        ))?,
        1
    );
    healthy(&server).await
}
