//! The server trusts nothing a device sends. Each test is an attack on the official record made
//! by someone holding one valid grid worker's device, against a real server: the upload is
//! refused with its code and a message that names the problem, nothing is stored, the server
//! still serves, and no other replica ever receives it.

use crate::sync::{actor, new_case, GW, STAFF};
use crate::sync_errors::{assert_error, healthy, holdings, token, upload};
use app_core::document::{CaseDoc, DocKind, VisitBookDoc};
use app_core::ids::{CaseId, EntryId, PartyId, UnitId};
use app_core::model::{Action, CaseDocument, Party, PartyRole, TimelineEntry};
use app_core::org::Role;
use automerge::transaction::Transactable;
use automerge::{AutoCommit, ChangeHash, ObjType, ReadDoc, ROOT};
use system_tests::{now_ms, Device, Server};

const LEADER: &str = "haiyan-leader";
const GRID: &str = "haiyan-fengjiang-g1";

pub(crate) fn server() -> anyhow::Result<(tempfile::TempDir, Server)> {
    let dir = tempfile::tempdir()?;
    let server = Server::start(dir.path(), 4)?;
    Ok((dir, server))
}

/// Uploads, expects the refusal, and checks that nothing was stored and the server serves; the
/// refusal's message must contain `words`.
pub(crate) async fn refused(
    server: &Server,
    d: &Device,
    doc: &str,
    changes: Vec<Vec<u8>>,
    (status, code, words): (u16, &str, &str),
) -> anyhow::Result<()> {
    let before = holdings(server)?;
    let a = upload(server, d, doc, changes).await?;
    assert_error(&a, status, code);
    let message = a.1["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(words), "`{message}` names `{words}`");
    assert_eq!(holdings(server)?, before, "{code}: nothing stored");
    healthy(server).await
}

/// A case the grid worker reported and synced, as automerge with the device's actor.
pub(crate) async fn synced_case(d: &Device) -> anyhow::Result<(CaseId, AutoCommit)> {
    let id = {
        let mut s = d.store();
        let a = actor(&s, GW, Role::GridWorker);
        s.create_case(
            &a,
            &new_case(&UnitId::new(GRID), "丰江村排水沟纠纷"),
            now_ms(),
        )?
    };
    d.sync().await?;
    assert_eq!(d.store().outbox_len()?, 0);
    Ok((id.clone(), device_doc(d, &id)?))
}

pub(crate) fn device_doc(d: &Device, id: &CaseId) -> anyhow::Result<AutoCommit> {
    let store = d.store();
    Ok(store
        .load_document(DocKind::Case, id.as_str())?
        .expect("held")
        .with_actor(store.actor_id().clone()))
}

pub(crate) fn changes_since(doc: &mut AutoCommit, heads: &[ChangeHash]) -> Vec<Vec<u8>> {
    doc.get_changes(heads)
        .into_iter()
        .map(|mut c| c.bytes().to_vec())
        .collect()
}

pub(crate) fn timeline(doc: &AutoCommit) -> anyhow::Result<Vec<TimelineEntry>> {
    app_core::materialise::read_prop(doc, "timeline", None).map_err(|e| anyhow::anyhow!(e))
}

pub(crate) fn insert_entry(
    doc: &mut AutoCommit,
    index: usize,
    entry: &TimelineEntry,
) -> anyhow::Result<()> {
    let list = doc.get(ROOT, "timeline")?.expect("timeline").1;
    autosurgeon::reconcile_insert(doc, list, index, entry)?;
    Ok(())
}

/// The grid worker's device writes `action` as the entry after the report, signed by the grid
/// worker, bypassing the store's rules: the changes it would upload.
fn forged_after_report(gw: &Device, id: &CaseId, action: Action) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut doc = device_doc(gw, id)?;
    let heads = doc.get_heads();
    let report = timeline(&doc)?[0].clone();
    let me = actor(&gw.store(), GW, Role::GridWorker);
    insert_entry(
        &mut doc,
        1,
        &TimelineEntry {
            id: EntryId::generate(),
            base: Some(report.id),
            at: now_ms(),
            actor: me,
            action,
        },
    )?;
    doc.commit();
    Ok(changes_since(&mut doc, &heads))
}

/// The staff desk's copy of the case after it syncs: what another replica received.
async fn desk_timeline(desk: &Device, id: &CaseId) -> anyhow::Result<Vec<TimelineEntry>> {
    desk.sync().await?;
    timeline(&device_doc(desk, id)?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trust_an_entry_reusing_an_id_and_signed_as_the_leader_never_lands() -> anyhow::Result<()> {
    let (_dir, server) = server()?;
    let gw = Device::enrol(&server, GW).await?;
    let desk = Device::enrol(&server, STAFF).await?;
    let (id, mut doc) = synced_case(&gw).await?;
    let report = timeline(&doc)?[0].clone();
    let leader = actor(&gw.store(), LEADER, Role::CentreLeader);
    let me = actor(&gw.store(), GW, Role::GridWorker);
    let heads = doc.get_heads();
    // One change: a legitimate edit appended at the end, and before the report an entry with
    // the report's id, signed as the centre's leader, closing the case.
    insert_entry(
        &mut doc,
        0,
        &TimelineEntry {
            actor: leader.clone(),
            action: Action::Close {
                note: "已办结".to_owned(),
            },
            ..report.clone()
        },
    )?;
    let title = doc.get(ROOT, "title")?.expect("title").1;
    doc.splice_text(&title, 0, 0, "（补）")?;
    insert_entry(
        &mut doc,
        2,
        &TimelineEntry {
            id: EntryId::generate(),
            base: Some(report.id.clone()),
            at: now_ms(),
            actor: me.clone(),
            action: Action::Edit {
                fields: vec!["title".to_owned()],
            },
        },
    )?;
    doc.commit();
    let key = DocKind::Case.key(id.as_str());
    refused(
        &server,
        &gw,
        &key,
        changes_since(&mut doc, &heads),
        (422, "bad_document", "share the id"),
    )
    .await?;
    // Signed as the leader on its own: the author is checked against the device.
    let mut doc = device_doc(&gw, &id)?;
    let heads = doc.get_heads();
    insert_entry(
        &mut doc,
        1,
        &TimelineEntry {
            id: EntryId::generate(),
            base: Some(report.id.clone()),
            at: now_ms(),
            actor: leader,
            action: Action::Close {
                note: "已办结".to_owned(),
            },
        },
    )?;
    doc.commit();
    refused(
        &server,
        &gw,
        &key,
        changes_since(&mut doc, &heads),
        (403, "wrong_author", "signed by"),
    )
    .await?;
    let seen = desk_timeline(&desk, &id).await?;
    assert_eq!(seen, vec![report], "the desk received only the report");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trust_a_change_from_the_reports_view_cannot_erase_the_history() -> anyhow::Result<()> {
    let (_dir, server) = server()?;
    let gw = Device::enrol(&server, GW).await?;
    let desk = Device::enrol(&server, STAFF).await?;
    let (id, mut at_report) = synced_case(&gw).await?;
    let report_heads = at_report.get_heads();
    // The desk works the case: assessed, assigned.
    desk.sync().await?;
    {
        let mut s = desk.store();
        let staff = actor(&s, STAFF, Role::CentreStaff);
        s.act(
            &id,
            &staff,
            Action::Assess {
                difficulty: app_core::model::Difficulty::Simple,
                risks: Vec::new(),
                note: "邻里小事".to_owned(),
            },
            now_ms(),
        )?;
    }
    desk.sync().await?;
    let worked = desk_timeline(&desk, &id).await?;
    assert_eq!(worked.len(), 2);
    gw.sync().await?;
    // From the report's view, a new `timeline` holding the report alone (it would win
    // automerge's conflict for the key over the real one).
    let list = at_report.put_object(ROOT, "timeline", ObjType::List)?;
    autosurgeon::reconcile_insert(&mut at_report, list, 0, &worked[0])?;
    at_report.commit();
    let key = DocKind::Case.key(id.as_str());
    refused(
        &server,
        &gw,
        &key,
        changes_since(&mut at_report, &report_heads),
        (422, "bad_document", "never replaced"),
    )
    .await?;
    // A change with no history that re-creates the case with another reporter's story.
    let mut again = AutoCommit::new().with_actor(gw.store().actor_id().clone());
    let mut read: CaseDocument = app_core::materialise::read(&device_doc(&gw, &id)?, None)
        .map_err(|e| anyhow::anyhow!(e))?;
    read.timeline.truncate(1);
    read.narrative = autosurgeon::Text::with_value("另一个版本");
    autosurgeon::reconcile(&mut again, &read)?;
    again.commit();
    let changes = changes_since(&mut again, &[]);
    let a = upload(&server, &gw, &key, changes).await?;
    assert!(a.0 >= 400, "refused: {}", a.1);
    assert_eq!(desk_timeline(&desk, &id).await?, worked, "nothing lost");
    healthy(&server).await
}

/// A report made by hand on the grid worker's device (the store would refuse it).
fn hand_report(
    d: &Device,
    edit: impl FnOnce(&mut app_core::model::NewCase) -> UnitId,
) -> anyhow::Result<(String, Vec<Vec<u8>>)> {
    let s = d.store();
    let me = actor(&s, GW, Role::GridWorker);
    let mut new = new_case(&UnitId::new(GRID), "排水沟纠纷");
    let centre = edit(&mut new);
    let mut case = CaseDoc::create(
        CaseId::generate(),
        &new,
        vec![Party {
            id: PartyId::generate(),
            name: "陈大文".to_owned(),
            role: PartyRole::Applicant,
        }],
        s.directory().path(&new.place_unit),
        centre,
        &me,
        s.actor_id(),
        now_ms(),
    )?;
    let key = DocKind::Case.key(case.id().as_str());
    Ok((key, changes_since(case.automerge(), &[])))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trust_reports_are_validated_and_placed_where_the_reporter_works() -> anyhow::Result<()> {
    let (_dir, server) = server()?;
    let gw = Device::enrol(&server, GW).await?;
    let haiyan = UnitId::new("haiyan");
    // Into another township's grid.
    let (key, c) = hand_report(&gw, |n| {
        n.place_unit = UnitId::new("duhu-dagang-g2");
        UnitId::new("duhu")
    })?;
    refused(
        &server,
        &gw,
        &key,
        c,
        (422, "bad_document", "outside the area"),
    )
    .await?;
    // Straight to the county centre.
    let (key, c) = hand_report(&gw, |_| UnitId::new("taishan"))?;
    refused(
        &server,
        &gw,
        &key,
        c,
        (409, "workflow_denied", "is received by"),
    )
    .await?;
    // A category the taxonomy does not have; an empty title.
    let (key, c) = hand_report(&gw, |n| {
        n.category = "astrology".to_owned();
        haiyan.clone()
    })?;
    refused(&server, &gw, &key, c, (422, "bad_document", "category")).await?;
    let (key, c) = hand_report(&gw, |n| {
        n.title = String::new();
        haiyan.clone()
    })?;
    refused(&server, &gw, &key, c, (422, "bad_document", "title")).await?;
    // The village around the grid is the grid worker's to report in.
    let (key, c) = hand_report(&gw, |n| {
        n.place_unit = UnitId::new("haiyan-fengjiang");
        haiyan.clone()
    })?;
    let a = upload(&server, &gw, &key, c).await?;
    assert_eq!(a.0, 200, "{}", a.1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trust_documents_must_be_exactly_the_model_and_small() -> anyhow::Result<()> {
    let (_dir, server) = server()?;
    let gw = Device::enrol(&server, GW).await?;
    let (id, doc) = synced_case(&gw).await?;
    let key = DocKind::Case.key(id.as_str());
    let read: CaseDocument =
        app_core::materialise::read(&doc, None).map_err(|e| anyhow::anyhow!(e))?;
    let actor_id = gw.store().actor_id().clone();
    // A new case whose category is written as collaborative text (what a JS client writes for
    // a plain string): every Rust reader would fail on it.
    let mut js = AutoCommit::new().with_actor(actor_id.clone());
    let mut fresh = read.clone();
    fresh.id = CaseId::generate();
    fresh.timeline.truncate(1);
    autosurgeon::reconcile(&mut js, &fresh)?;
    let text = js.put_object(ROOT, "category", ObjType::Text)?;
    js.splice_text(&text, 0, 0, "neighbour")?;
    js.commit();
    let js_key = DocKind::Case.key(fresh.id.as_str());
    refused(
        &server,
        &gw,
        &js_key,
        changes_since(&mut js, &[]),
        (
            422,
            "bad_document",
            "collaborative text where the model has a string",
        ),
    )
    .await?;
    // Junk under an unknown key of an existing case.
    let mut doc = device_doc(&gw, &id)?;
    let heads = doc.get_heads();
    doc.put(ROOT, "junk", "垃圾".repeat(1000))?;
    doc.commit();
    refused(
        &server,
        &gw,
        &key,
        changes_since(&mut doc, &heads),
        (422, "bad_document", "alters the case itself"),
    )
    .await?;
    // A document past its size cap is refused before it is even merged.
    let mut doc = device_doc(&gw, &id)?;
    let heads = doc.get_heads();
    let noise: String = {
        use rand::Rng;
        let mut rng = rand::thread_rng();
        (0..1_500_000)
            .map(|_| char::from(rng.gen_range(b'!'..=b'~')))
            .collect()
    };
    doc.put(ROOT, "narrative_2", noise)?;
    doc.commit();
    refused(
        &server,
        &gw,
        &key,
        changes_since(&mut doc, &heads),
        (413, "too_large", "at most"),
    )
    .await?;
    // The server's own reads still open the case.
    let r = reqwest::Client::new()
        .get(format!("{}/v1/cases/{}", server.url(), id.as_str()))
        .bearer_auth(token(&gw))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 200);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trust_entry_times_far_from_the_servers_clock_are_refused() -> anyhow::Result<()> {
    let (_dir, server) = server()?;
    let gw = Device::enrol(&server, GW).await?;
    let (id, _) = synced_case(&gw).await?;
    let key = DocKind::Case.key(id.as_str());
    for at in [i64::MAX, i64::MIN, now_ms() + 3 * 86_400_000] {
        let mut doc = device_doc(&gw, &id)?;
        let heads = doc.get_heads();
        let report = timeline(&doc)?[0].clone();
        let me = actor(&gw.store(), GW, Role::GridWorker);
        let title = doc.get(ROOT, "title")?.expect("title").1;
        doc.splice_text(&title, 0, 0, "新")?;
        insert_entry(
            &mut doc,
            1,
            &TimelineEntry {
                id: EntryId::generate(),
                base: Some(report.id),
                at,
                actor: me,
                action: Action::Edit {
                    fields: vec!["title".to_owned()],
                },
            },
        )?;
        doc.commit();
        refused(
            &server,
            &gw,
            &key,
            changes_since(&mut doc, &heads),
            (422, "bad_document", "clock is wrong"),
        )
        .await?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trust_contacts_and_visits_cannot_be_wiped_nor_households_moved() -> anyhow::Result<()> {
    let (_dir, server) = server()?;
    let gw = Device::enrol(&server, GW).await?;
    let (id, _) = synced_case(&gw).await?;
    // Contacts: wipe a phone.
    let contacts_key = DocKind::Contacts.key(id.as_str());
    let mut contacts = {
        let s = gw.store();
        s.load_document(DocKind::Contacts, id.as_str())?
            .expect("contacts held")
            .with_actor(s.actor_id().clone())
    };
    let heads = contacts.get_heads();
    let parties = contacts.get(ROOT, "parties")?.expect("parties").1;
    let keys: Vec<String> = contacts.keys(&parties).collect();
    for k in &keys {
        let p = contacts.get(&parties, k.as_str())?.expect("party").1;
        contacts.put(&p, "phone", ())?;
    }
    contacts.commit();
    refused(
        &server,
        &gw,
        &contacts_key,
        changes_since(&mut contacts, &heads),
        (422, "bad_document", "staff action"),
    )
    .await?;
    // A household with a visit: the visits are deleted, then the household is moved.
    let hid = {
        let mut s = gw.store();
        let me = actor(&s, GW, Role::GridWorker);
        let h = s.create_household(
            &me,
            &UnitId::new(GRID),
            "陈大文",
            "丰江村三巷8号",
            4,
            now_ms(),
        )?;
        s.record_visit(
            &h,
            &me,
            app_core::document::VisitOutcome::AllSafe,
            "",
            now_ms(),
        )?;
        h
    };
    gw.sync().await?;
    let hkey = DocKind::Household.key(hid.as_str());
    let load = |kind: DocKind, id: &str| -> anyhow::Result<AutoCommit> {
        let s = gw.store();
        Ok(s.load_document(kind, id)?
            .expect("held")
            .with_actor(s.actor_id().clone()))
    };
    // The visit is in the household's first volume of visits.
    let volume = VisitBookDoc::id(&hid, 1);
    let vkey = DocKind::VisitBook.key(&volume);
    let mut v = load(DocKind::VisitBook, &volume)?;
    let vheads = v.get_heads();
    let visits = v.get(ROOT, "visits")?.expect("visits").1;
    v.delete(&visits, 0)?;
    v.commit();
    refused(
        &server,
        &gw,
        &vkey,
        changes_since(&mut v, &vheads),
        (422, "bad_document", "visits are only added"),
    )
    .await?;
    // A volume begun by the device itself (not the genesis every replica makes), with a visit
    // it never made: refused, so nobody can write history under a volume's name.
    let forged_volume = VisitBookDoc::id(&hid, 2);
    let a_visit = serde_json::to_string(&app_core::document::Visit {
        id: app_core::ids::VisitId::generate(),
        at: now_ms(),
        actor: actor(&gw.store(), GW, Role::GridWorker),
        outcome: app_core::document::VisitOutcome::AllSafe,
        note: String::new(),
    })?;
    let mut forged = AutoCommit::new().with_actor(gw.store().actor_id().clone());
    forged.put(ROOT, "schema", app_core::document::VISIT_BOOK_SCHEMA)?;
    forged.put(ROOT, "household", hid.as_str())?;
    forged.put(ROOT, "volume", 2u64)?;
    let list = forged.put_object(ROOT, "visits", automerge::ObjType::List)?;
    forged.insert(&list, 0, a_visit.as_str())?;
    forged.commit();
    refused(
        &server,
        &gw,
        &DocKind::VisitBook.key(&forged_volume),
        forged
            .get_changes(&[])
            .iter()
            .map(|c| c.raw_bytes().to_vec())
            .collect(),
        (422, "bad_document", "the volume's own first change"),
    )
    .await?;
    // The genesis of a volume, sent alone by its real maker, is no one's to misuse: the
    // genesis actor may write that one change and nothing else.
    let genesis_actor = VisitBookDoc::genesis(&hid, 2)?.get_actor().clone();
    let mut impostor = VisitBookDoc::genesis(&hid, 2)?;
    let list = impostor.get(ROOT, "visits")?.expect("visits").1;
    impostor.insert(&list, 0, a_visit.as_str())?;
    impostor.commit();
    assert_eq!(impostor.get_actor(), &genesis_actor);
    refused(
        &server,
        &gw,
        &DocKind::VisitBook.key(&forged_volume),
        impostor
            .get_changes(&[])
            .iter()
            .map(|c| c.raw_bytes().to_vec())
            .collect(),
        (403, "forged_actor", "not this device's"),
    )
    .await?;
    // Visits to a household the server has never heard of.
    let stranger = app_core::ids::HouseholdId::generate();
    let mut book = VisitBookDoc::open(&stranger, 1, gw.store().actor_id())?;
    book.record_visit(
        &app_core::document::Visit {
            id: app_core::ids::VisitId::generate(),
            at: now_ms(),
            actor: actor(&gw.store(), GW, Role::GridWorker),
            outcome: app_core::document::VisitOutcome::AllSafe,
            note: String::new(),
        },
        now_ms(),
    )?;
    refused(
        &server,
        &gw,
        &VisitBookDoc::key(&stranger, 1),
        book.automerge()
            .get_changes(&[])
            .iter()
            .map(|c| c.raw_bytes().to_vec())
            .collect(),
        (404, "unknown_doc", "send the household first"),
    )
    .await?;
    let mut h = load(DocKind::Household, hid.as_str())?;
    let heads = h.get_heads();
    h.put(ROOT, "grid", "duhu-dagang-g2")?;
    h.commit();
    refused(
        &server,
        &gw,
        &hkey,
        changes_since(&mut h, &heads),
        (422, "bad_document", "grid, id and shape are fixed"),
    )
    .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trust_a_refused_change_leaves_the_device_on_the_servers_version_and_work_goes_on(
) -> anyhow::Result<()> {
    let (_dir, server) = server()?;
    let gw = Device::enrol(&server, GW).await?;
    let (id, _) = synced_case(&gw).await?;
    let me = actor(&gw.store(), GW, Role::GridWorker);
    let title = |d: &Device| -> anyhow::Result<String> {
        Ok(d.store().case(&id)?.document.title.as_str().to_owned())
    };
    let original = title(&gw)?;
    // The phone's clock runs three days ahead: its edit is refused by the server.
    let ahead = now_ms() + 3 * 86_400_000;
    gw.store().edit(
        &id,
        &me,
        &app_core::document::CaseEdit {
            title: Some("时钟错误时的修改".to_owned()),
            ..Default::default()
        },
        ahead,
    )?;
    // And a new report made with that clock.
    let lost = gw.store().create_case(
        &me,
        &new_case(&UnitId::new(GRID), "时钟错误时的上报"),
        ahead,
    )?;
    let progress = gw.sync().await?;
    let mut refused: Vec<&str> = progress
        .rejected
        .iter()
        .map(|(d, _, _)| d.as_str())
        .collect();
    refused.sort();
    let mut expected = vec![
        DocKind::Case.key(id.as_str()),
        DocKind::Case.key(lost.as_str()),
        DocKind::Contacts.key(lost.as_str()),
    ];
    expected.sort();
    assert_eq!(refused, expected, "the edit, the report and its contacts");
    // Back on the server's version; the refused work is kept aside with the reason.
    assert_eq!(title(&gw)?, original);
    assert!(
        gw.store().case(&lost).is_err(),
        "the refused report left the lists"
    );
    let rejected = gw.store().rejected()?;
    assert!(rejected
        .iter()
        .any(|(k, _, m, _)| k == &DocKind::Case.key(id.as_str()) && m.contains("clock")));
    assert_eq!(gw.store().outbox_len()?, 0);
    // The next edit, with the clock set right, builds on the server's version and lands.
    gw.store().edit(
        &id,
        &me,
        &app_core::document::CaseEdit {
            title: Some("时钟校正后的修改".to_owned()),
            ..Default::default()
        },
        now_ms(),
    )?;
    let progress = gw.sync().await?;
    assert!(progress.rejected.is_empty(), "{:?}", progress.rejected);
    assert_eq!(gw.store().outbox_len()?, 0);
    let desk = Device::enrol(&server, STAFF).await?;
    desk.sync().await?;
    assert_eq!(title(&desk)?, "时钟校正后的修改");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trust_contacts_are_erased_only_by_the_centre_on_the_record_and_everywhere(
) -> anyhow::Result<()> {
    let (_dir, server) = server()?;
    let gw = Device::enrol(&server, GW).await?;
    let desk = Device::enrol(&server, STAFF).await?;
    let (id, _) = synced_case(&gw).await?;
    desk.sync().await?;
    let contacts_key = DocKind::Contacts.key(id.as_str());
    let held = |d: &Device| -> anyhow::Result<bool> { Ok(d.store().case(&id)?.contacts.is_some()) };
    assert!(held(&gw)? && held(&desk)?);
    // The grid worker's copy of the contacts, kept to try again later.
    let mut old = {
        let s = gw.store();
        s.load_document(DocKind::Contacts, id.as_str())?
            .expect("contacts")
            .with_actor(s.actor_id().clone())
    };
    // A grid worker may not erase them: refused on the device, and on the server when forged.
    let me = actor(&gw.store(), GW, Role::GridWorker);
    assert!(gw
        .store()
        .erase_contacts(&id, &me, "不想要了", now_ms())
        .is_err());
    let mut doc = device_doc(&gw, &id)?;
    let heads = doc.get_heads();
    let base = timeline(&doc)?.last().map(|e| e.id.clone());
    insert_entry(
        &mut doc,
        1,
        &TimelineEntry {
            id: EntryId::generate(),
            base,
            at: now_ms(),
            actor: me,
            action: Action::EraseContacts {
                reason: "不想要了".to_owned(),
            },
        },
    )?;
    doc.commit();
    refused(
        &server,
        &gw,
        &DocKind::Case.key(id.as_str()),
        changes_since(&mut doc, &heads),
        (409, "workflow_denied", "may not"),
    )
    .await?;
    // The centre's staff erase them, with a reason, on the record.
    let staff = actor(&desk.store(), STAFF, Role::CentreStaff);
    desk.store()
        .erase_contacts(&id, &staff, "当事人申请删除个人信息", now_ms())?;
    assert!(!held(&desk)?);
    desk.sync().await?;
    let on_server = server.count(&format!(
        "SELECT COUNT(*) FROM documents WHERE key = '{contacts_key}'"
    ))?;
    assert_eq!(on_server, 0, "the server dropped them");
    // The grid worker's phone drops its copy when the case arrives.
    gw.sync().await?;
    assert!(!held(&gw)?);
    let record = timeline(&device_doc(&gw, &id)?)?;
    let erased = record.last().expect("entries");
    assert!(matches!(erased.action, Action::EraseContacts { .. }));
    assert_eq!(erased.actor.person.as_str(), STAFF);
    // Contacts written on the old copy are refused from then on.
    let heads = old.get_heads();
    let parties = old.get(ROOT, "parties")?.expect("parties").1;
    let first: String = old.keys(&parties).next().expect("a party");
    let p = old.get(&parties, first.as_str())?.expect("party").1;
    old.put(&p, "phone", "13700137000")?;
    old.commit();
    refused(
        &server,
        &gw,
        &contacts_key,
        changes_since(&mut old, &heads),
        (422, "bad_document", "erased"),
    )
    .await?;
    Ok(())
}

/// A device that skips its own store's checks and uploads a step without the words it needs (an
/// on-the-spot mediation session with no note) is refused by the server, with the field named,
/// and nothing is stored; the same step with its note is taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trust_a_step_without_its_words_is_refused() -> anyhow::Result<()> {
    let (_dir, server) = server()?;
    let gw = Device::enrol(&server, GW).await?;
    let (id, _) = synced_case(&gw).await?;
    let key = DocKind::Case.key(id.as_str());
    let session = |note: &str| -> anyhow::Result<(AutoCommit, Vec<ChangeHash>)> {
        let mut doc = device_doc(&gw, &id)?;
        let heads = doc.get_heads();
        let report = timeline(&doc)?[0].clone();
        let me = actor(&gw.store(), GW, Role::GridWorker);
        insert_entry(
            &mut doc,
            1,
            &TimelineEntry {
                id: EntryId::generate(),
                base: Some(report.id),
                at: now_ms(),
                actor: me,
                action: Action::RecordSession {
                    mode: app_core::model::SessionMode::OnSite,
                    note: note.to_owned(),
                },
            },
        )?;
        doc.commit();
        Ok((doc, heads))
    };
    let (mut silent, heads) = session("  ")?;
    refused(
        &server,
        &gw,
        &key,
        changes_since(&mut silent, &heads),
        (422, "bad_document", "note"),
    )
    .await?;
    let (mut said, heads) = session("双方在田头当面调解，约定三日内疏通水沟")?;
    let taken = upload(&server, &gw, &key, changes_since(&mut said, &heads)).await?;
    assert_eq!(taken.0, 200, "{}", taken.1);
    Ok(())
}

/// Linking matters, deciding duplicates and acknowledging alerts are the centre's: a grid
/// worker's device that writes them is refused, and an acknowledgement can never be taken back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trust_a_grid_worker_cannot_link_matters_nor_acknowledge_alerts() -> anyhow::Result<()> {
    let (_dir, server) = server()?;
    let gw = Device::enrol(&server, GW).await?;
    let desk = Device::enrol(&server, STAFF).await?;
    let (id, _) = synced_case(&gw).await?;
    let key = DocKind::Case.key(id.as_str());
    let forged = |action: Action| forged_after_report(&gw, &id, action);
    let link = forged(Action::LinkMatter {
        matter: app_core::ids::MatterId::generate(),
        note: String::new(),
    })?;
    refused(
        &server,
        &gw,
        &key,
        link,
        (409, "workflow_denied", "may not"),
    )
    .await?;
    let ack = forged(Action::AcknowledgeAlert {
        alert: "category-spread:category-spread:agriculture_fishery:x".to_owned(),
        level: app_core::warning::Level::Red,
        words: "已处置".to_owned(),
        note: "已处置".to_owned(),
    })?;
    refused(&server, &gw, &key, ack, (409, "workflow_denied", "may not")).await?;

    // The desk acknowledges an alert; a change that removes the acknowledgement is refused.
    let staff = actor(&desk.store(), STAFF, Role::CentreStaff);
    desk.sync().await?;
    desk.store().act(
        &id,
        &staff,
        Action::AcknowledgeAlert {
            alert: "key-person:key-person:x".to_owned(),
            level: app_core::warning::Level::Orange,
            words: "涉及重点人员".to_owned(),
            note: "已安排专人稳控".to_owned(),
        },
        now_ms(),
    )?;
    desk.sync().await?;
    gw.sync().await?;
    let mut doc = device_doc(&gw, &id)?;
    let heads = doc.get_heads();
    let list = doc.get(ROOT, "timeline")?.expect("timeline").1;
    assert_eq!(
        timeline(&doc)?.len(),
        2,
        "the phone holds the acknowledgement"
    );
    doc.delete(&list, 1)?;
    doc.commit();
    refused(
        &server,
        &gw,
        &key,
        changes_since(&mut doc, &heads),
        (422, "bad_document", "the timeline only grows"),
    )
    .await?;
    assert_eq!(desk_timeline(&desk, &id).await?.len(), 2);
    Ok(())
}

/// A "drawing" as the store takes it: PNG's signature, then strokes.
fn drawing(seed: u8) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
    b.extend((0..3_000u32).map(|i| (i as u8).wrapping_mul(13).wrapping_add(seed)));
    b
}

/// An agreement signed on the spot is the official record of who signed: a device cannot sign
/// for someone who is not a party, name a drawing the case does not hold, or, once the
/// agreement is recorded, swap or drop a signature.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trust_a_signed_agreement_names_the_cases_parties_and_stays_as_signed() -> anyhow::Result<()>
{
    let (_dir, server) = server()?;
    let gw = Device::enrol(&server, GW).await?;
    let desk = Device::enrol(&server, STAFF).await?;
    let (id, doc) = synced_case(&gw).await?;
    let key = DocKind::Case.key(id.as_str());
    let parties: Vec<Party> =
        app_core::materialise::read_prop(&doc, "parties", None).map_err(|e| anyhow::anyhow!(e))?;
    let resolve = |signatures: Vec<(PartyId, app_core::ids::AttachmentId)>| Action::Resolve {
        agreement: Some(app_core::model::Agreement {
            summary: "李秀英家三日内疏通排水沟".to_owned(),
            attachment: None,
            performance: "三日内履行".to_owned(),
            signatures: signatures
                .into_iter()
                .map(|(party, attachment)| app_core::model::Signature { party, attachment })
                .collect(),
        }),
        note: "就地化解".to_owned(),
    };
    let forged = |action: Action| forged_after_report(&gw, &id, action);
    // Someone who is not a party "signs".
    let outsider = forged(resolve(vec![(
        PartyId::new("someone-else"),
        app_core::ids::AttachmentId::generate(),
    )]))?;
    refused(
        &server,
        &gw,
        &key,
        outsider,
        (422, "bad_document", "not a party of the case"),
    )
    .await?;
    // A party's signature that is no drawing the case holds.
    let nothing = forged(resolve(vec![(
        parties[0].id.clone(),
        app_core::ids::AttachmentId::generate(),
    )]))?;
    refused(
        &server,
        &gw,
        &key,
        nothing,
        (422, "bad_document", "does not list"),
    )
    .await?;

    // Signed for real on the phone: the step and both drawings reach the centre.
    {
        let mut s = gw.store();
        let me = actor(&s, GW, Role::GridWorker);
        let images: Vec<app_core::store::SignatureImage> = parties
            .iter()
            .zip([1u8, 2])
            .map(|(p, seed)| app_core::store::SignatureImage {
                party: p.id.clone(),
                mime: "image/png".to_owned(),
                bytes: drawing(seed),
            })
            .collect();
        s.resolve_signed(&id, &me, resolve(Vec::new()), &images, now_ms())?;
    }
    gw.sync().await?;
    assert_eq!(
        gw.store().pending_blobs()?.len(),
        0,
        "both drawings uploaded"
    );
    desk.sync().await?;
    let view = desk.store().case(&id)?;
    let signed = view
        .folded
        .state
        .as_ref()
        .and_then(|s| s.agreement.clone())
        .expect("the desk holds the agreement");
    assert_eq!(signed.signatures.len(), 2);

    // Afterwards the phone swaps the two signatures in the recorded agreement.
    let mut doc = device_doc(&gw, &id)?;
    let heads = doc.get_heads();
    let list = doc.get(ROOT, "timeline")?.expect("timeline").1;
    let last = doc.length(&list) - 1;
    let entry = doc.get(&list, last)?.expect("entry").1;
    let action = doc.get(&entry, "action")?.expect("action").1;
    let variant = doc.get(&action, "Resolve")?.expect("Resolve").1;
    let agreement = doc.get(&variant, "agreement")?.expect("agreement").1;
    let signatures = doc.get(&agreement, "signatures")?.expect("signatures").1;
    let first = doc.get(&signatures, 0)?.expect("first").1;
    doc.put(
        &first,
        "attachment",
        signed.signatures[1].attachment.as_str(),
    )?;
    doc.commit();
    refused(
        &server,
        &gw,
        &key,
        changes_since(&mut doc, &heads),
        (422, "bad_document", "timeline only grows"),
    )
    .await?;
    // The desk's copy still says who signed what.
    desk.sync().await?;
    let again = desk.store().case(&id)?;
    assert_eq!(again.folded.state.and_then(|s| s.agreement), Some(signed));
    Ok(())
}
