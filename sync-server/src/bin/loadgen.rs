//! Load generator for the sync server: one real server process (release build), simulated
//! devices over loopback HTTP using the real sync client. Prints its figures.
//!
//! ```text
//! cargo run --release -p sync-server --bin loadgen -- [--cases 1000] [--devices 500] [--per-device 20]
//! ```
//!
//! (a) initial sync of a township's caseload to a new centre device; (b) a storm of devices each
//! reporting and editing cases, uploaded in one sync each; (c) idle syncs of the device holding
//! the caseload. Also: bytes on the wire per change against the changes' own size, bytes per
//! case at rest, the server's peak memory, and plain automerge applying the same changes.

use anyhow::{bail, Context};
use app_core::client::SyncClient;
use app_core::document::CaseEdit;
use app_core::ids::{PersonId, UnitId};
use app_core::model::PartyRole;
use app_core::org::Role;
use app_core::store::Store;
use automerge::{AutoCommit, Change};
use std::path::{Path, PathBuf};

use std::sync::{Arc, Mutex};
use std::time::Instant;
use sync_server::db::ServerDb;

#[path = "support/mod.rs"]
mod support;
use support::{
    actor_of, add_grid_workers, issue, now_ms, percentile, start_server, storm_case, ServerProc,
};

struct Args {
    cases: usize,
    devices: usize,
    per_device: usize,
    concurrency: usize,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        cases: 1000,
        devices: 500,
        per_device: 20,
        concurrency: 32,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let v = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--cases" => a.cases = v.parse()?,
            "--devices" => a.devices = v.parse()?,
            "--per-device" => a.per_device = v.parse()?,
            "--concurrency" => a.concurrency = v.parse()?,
            _ => bail!("unknown option {flag}"),
        }
    }
    Ok(a)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let a = args()?;
    let bin = support::server_bin()?;
    let work = tempfile::tempdir()?;
    std::fs::write(
        work.path().join("server.toml"),
        format!(
            // Hundreds of devices enrol from one address in seconds: not an attack here.
            "unit = \"haiyan\"\ndemo_cases = {}\n[limits]\nrate_per_second = 1000000.0\nburst = 1000000.0\n\
             enrol_per_minute = 1000000.0\nenrol_burst = 1000000.0\n\
             enrol_all_per_minute = 1000000.0\nenrol_all_burst = 1000000.0\n",
            a.cases
        ),
    )?;
    let t = Instant::now();
    let server = start_server(&bin, work.path())?;
    println!(
        "server: {} demo cases of 海宴镇 loaded (`sync-server demo`) and serving in {:.1} s ({:.1} MiB peak so far)",
        a.cases,
        t.elapsed().as_secs_f64(),
        server.peak_rss_kib() as f64 / 1024.0
    );
    let db_path = work.path().join("data").join("server.sqlite3");

    // (a) A new centre device receives the township's caseload.
    let staff_dir = work.path().join("staff");
    std::fs::create_dir_all(&staff_dir)?;
    let code = issue(&db_path, "haiyan-staff1")?;
    let staff_store = Mutex::new(Store::open(staff_dir.join("device.sqlite3"))?);
    let staff = SyncClient::enrol(&server.url, &code, "综治中心电脑", &staff_store).await?;
    let t = Instant::now();
    let p = staff.sync(&staff_store, |_| {}).await?;
    let initial = t.elapsed();
    println!(
        "(a) initial sync: {} documents ({} cases) in {:.2} s over {} round trips, {:.0} KB down; {:.0} cases/s   [goal < 2 s]",
        p.received_docs,
        a.cases,
        initial.as_secs_f64(),
        p.rounds,
        p.bytes_down as f64 / 1024.0,
        a.cases as f64 / initial.as_secs_f64()
    );

    // (c) Idle syncs of that device.
    let mut idle = Vec::new();
    let mut up = 0;
    let mut down = 0;
    for _ in 0..200 {
        let t = Instant::now();
        let p = staff.sync(&staff_store, |_| {}).await?;
        idle.push(t.elapsed().as_secs_f64() * 1000.0);
        up = p.bytes_up;
        down = p.bytes_down;
    }
    idle.sort_by(f64::total_cmp);
    println!(
        "(c) idle sync holding {} cases: p50 {:.2} ms, p99 {:.2} ms; {} B up, {} B down (JSON bodies)   [goal < 5 ms, < 1 KB each way]",
        a.cases,
        percentile(&idle, 0.5),
        percentile(&idle, 0.99),
        up,
        down
    );

    // (b) The storm: devices of the township's grid workers, each reporting and editing cases.
    // One grid worker per device, each with a grid of their own under the township's villages
    // (the demo has fifteen grids; a storm of 500 phones is 500 people).
    let grid_workers = add_grid_workers(&db_path, a.devices)?;
    let codes: Vec<(PersonId, String)> = grid_workers
        .into_iter()
        .map(|person| {
            let code = issue(&db_path, person.as_str())?;
            Ok((person, code))
        })
        .collect::<anyhow::Result<_>>()?;
    let seq: u64 = reqwest::get(format!("{}/healthz", server.url))
        .await?
        .json::<serde_json::Value>()
        .await?["seq"]
        .as_u64()
        .unwrap_or(0);
    let t = Instant::now();
    let mut devices = Vec::new();
    for (person, code) in &codes {
        let store = Mutex::new(Store::open(":memory:")?);
        let client = SyncClient::enrol(&server.url, code, "网格员手机", &store).await?;
        {
            // The device is up to date with the server before the storm.
            let mut s = store.lock().map_err(|_| anyhow::anyhow!("lock"))?;
            s.set_meta("sync.cursor", &seq.to_string())?;
            let grid = s.directory().person(person).context("person")?.unit.clone();
            let actor = actor_of(&s, person, Role::GridWorker);
            for i in 0..a.per_device {
                let id = s.create_case(&actor, &storm_case(&grid, i), now_ms())?;
                for k in 0..2 {
                    let edit = CaseEdit {
                        narrative: Some(format!(
                            "{}（补充{}）双方已初步沟通，约定周末再谈。",
                            storm_case(&grid, i).narrative,
                            k + 1
                        )),
                        ..CaseEdit::default()
                    };
                    s.edit(&id, &actor, &edit, now_ms())?;
                }
            }
        }
        devices.push((Arc::new(store), Arc::new(client), person.clone()));
    }
    // What goes up: the changes and their own size.
    let mut own_bytes = 0usize;
    let mut changes_total = 0usize;
    let mut per_doc: Vec<Vec<Vec<u8>>> = Vec::new();
    for (store, _, _) in &devices {
        let s = store.lock().map_err(|_| anyhow::anyhow!("lock"))?;
        let mut by_key: std::collections::BTreeMap<String, Vec<Vec<u8>>> = Default::default();
        for e in s.outbox(usize::MAX >> 1)? {
            own_bytes += e.change.len();
            changes_total += 1;
            by_key.entry(e.key).or_default().push(e.change);
        }
        per_doc.extend(by_key.into_values());
    }
    println!(
        "(b) storm prepared: {} devices enrolled, {} cases, {} changes ({:.0} B each on average) in {:.1} s",
        a.devices,
        a.devices * a.per_device,
        changes_total,
        own_bytes as f64 / changes_total as f64,
        t.elapsed().as_secs_f64()
    );
    let sem = Arc::new(tokio::sync::Semaphore::new(a.concurrency));
    let t = Instant::now();
    let mut tasks = Vec::new();
    let kept: Vec<_> = devices.iter().take(100).cloned().collect();
    for (store, client, _) in devices {
        let sem = sem.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = sem.acquire().await;
            let started = Instant::now();
            let p = client.sync(&store, |_| {}).await;
            (started.elapsed().as_secs_f64() * 1000.0, p)
        }));
    }
    let mut lat = Vec::new();
    let mut bytes_up = 0u64;
    let mut sent = 0u64;
    for task in tasks {
        let (ms, p) = task.await?;
        let p = p?;
        if !p.rejected.is_empty() {
            bail!("the server refused storm documents: {:?}", p.rejected);
        }
        lat.push(ms);
        bytes_up += p.bytes_up;
        sent += p.sent_changes;
    }
    let storm = t.elapsed().as_secs_f64();
    lat.sort_by(f64::total_cmp);
    let rate = sent as f64 / storm;
    println!(
        "(b) storm: {} changes of {} cases stored durably in {:.2} s: {:.0} changes/s, {:.0} cases/s; per-device sync p50 {:.0} ms, p99 {:.0} ms   [goal ≥ 10,000 changes/s]",
        sent,
        a.devices * a.per_device,
        storm,
        rate,
        (a.devices * a.per_device) as f64 / storm,
        percentile(&lat, 0.5),
        percentile(&lat, 0.99)
    );
    println!(
        "    bytes on the wire per change: {:.0} B up (JSON, base64) for {:.0} B of change: {:.2}×   [goal < 1.5×]",
        bytes_up as f64 / sent as f64,
        own_bytes as f64 / changes_total as f64,
        bytes_up as f64 / own_bytes as f64
    );

    // Plain automerge on the same changes: fresh documents, apply, save.
    let t = Instant::now();
    let mut saved = 0usize;
    for changes in &per_doc {
        let mut doc = AutoCommit::new();
        let decoded: Vec<Change> = changes
            .iter()
            .map(|c| Change::from_bytes(c.clone()))
            .collect::<Result<_, _>>()?;
        doc.apply_changes(decoded)?;
        saved += doc.save().len();
    }
    let plain = t.elapsed().as_secs_f64();
    let plain_rate = changes_total as f64 / plain;
    println!(
        "    plain automerge, same changes into fresh documents and saved (in memory, no disk): {:.0} changes/s ({:.0} documents/s); the server's durable rate is {:.1}% of it   [goal ≥ 30%]",
        plain_rate,
        per_doc.len() as f64 / plain,
        100.0 * rate / plain_rate
    );
    println!(
        "    plain automerge saves those documents in {:.0} B each",
        saved as f64 / per_doc.len() as f64
    );

    println!(
        "    server peak memory (VmHWM): {:.1} MiB",
        server.peak_rss_kib() as f64 / 1024.0
    );

    // (d) A hostile device sends maximal uploads, over and over, while 100 phones sync.
    hostile(&server, &db_path, &kept).await?;
    drop(server);
    let db = ServerDb::open(&db_path)?;
    let storage = db.store.storage()?;
    let cases = db.store.read(|c| {
        c.query_row(
            "SELECT COUNT(*), SUM(LENGTH(snapshot)) + COALESCE((SELECT SUM(LENGTH(c.bytes)) FROM document_chunks c JOIN documents d2 ON d2.key = c.key WHERE d2.kind = 'case'), 0) FROM documents WHERE kind = 'case'",
            [],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
        )
    })?;
    let file = std::fs::metadata(&db_path)?.len()
        + std::fs::metadata(PathBuf::from(format!("{}-wal", db_path.display())))
            .map(|m| m.len())
            .unwrap_or(0);
    println!(
        "at rest on the server: {} cases; case documents {:.0} B per case; whole database {:.0} B per case ({} documents)   [goal < 2 KB per case]",
        cases.0,
        cases.1 as f64 / cases.0 as f64,
        file as f64 / cases.0 as f64,
        storage.documents
    );
    Ok(())
}

type Phone = (Arc<Mutex<Store>>, Arc<SyncClient>, PersonId);

/// Each phone records a visit-sized edit and syncs, all at once; their latencies, sorted.
async fn phones_sync(phones: &[Phone], round: usize) -> anyhow::Result<Vec<f64>> {
    let mut tasks = Vec::new();
    for (store, client, person) in phones {
        let (store, client, person) = (store.clone(), client.clone(), person.clone());
        tasks.push(tokio::spawn(async move {
            {
                let mut s = store.lock().map_err(|_| anyhow::anyhow!("lock"))?;
                let actor = actor_of(&s, &person, Role::GridWorker);
                let id = s
                    .list(&app_core::store::CaseFilter::default(), now_ms())?
                    .first()
                    .map(|c| c.id.clone())
                    .context("a case")?;
                let edit = CaseEdit {
                    narrative: Some(format!("第{round}次回访：双方情绪平稳。")),
                    ..CaseEdit::default()
                };
                s.edit(&id, &actor, &edit, now_ms())?;
            }
            let t = Instant::now();
            let p = client.sync(&store, |_| {}).await?;
            if !p.rejected.is_empty() {
                bail!("refused: {:?}", p.rejected);
            }
            anyhow::Ok(t.elapsed().as_secs_f64() * 1000.0)
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.push(t.await??);
    }
    lat.sort_by(f64::total_cmp);
    Ok(lat)
}

/// The largest upload the limits let through to checking: 7 new cases of 2,800 changes each
/// (19,600 changes, just under the 1 MiB a document may hold), the very last change signed as
/// someone else, so the server checks nearly everything and stores nothing.
fn hostile_payload(store: &Store, person: &PersonId) -> anyhow::Result<Vec<u8>> {
    use automerge::transaction::Transactable;
    use automerge::ReadDoc;
    let actor = actor_of(store, person, Role::GridWorker);
    let grid = actor.unit.clone();
    let township = UnitId::new("haiyan");
    let staff = actor_of(store, &PersonId::new("haiyan-staff1"), Role::CentreStaff);
    let mut upload = Vec::new();
    for k in 0..7 {
        let mut case = app_core::document::CaseDoc::create(
            app_core::ids::CaseId::generate(),
            &storm_case(&grid, k),
            vec![app_core::model::Party {
                id: app_core::ids::PartyId::generate(),
                name: "陈大文".to_owned(),
                role: PartyRole::Applicant,
            }],
            store.directory().path(&grid),
            township.clone(),
            &actor,
            store.actor_id(),
            now_ms(),
        )?;
        let key = app_core::document::DocKind::Case.key(case.id().as_str());
        let doc = case.automerge();
        let list = doc.get(automerge::ROOT, "timeline")?.context("timeline")?.1;
        let text = doc
            .get(automerge::ROOT, "narrative")?
            .context("narrative")?
            .1;
        let timeline: Vec<app_core::model::TimelineEntry> =
            app_core::materialise::read_prop(&*doc, "timeline", None)
                .map_err(|e| anyhow::anyhow!(e))?;
        let mut base = timeline[0].id.clone();
        for i in 0..2_799 {
            if i % 2 == 0 {
                doc.splice_text(&text, 0, 0, "补")?;
            } else {
                doc.splice_text(&text, 0, 3, "")?;
            }
            let forged = k == 6 && i == 2_798;
            let entry = app_core::model::TimelineEntry {
                id: app_core::ids::EntryId::generate(),
                base: Some(base.clone()),
                at: now_ms(),
                actor: if forged { staff.clone() } else { actor.clone() },
                action: app_core::model::Action::Edit {
                    fields: vec!["narrative".to_owned()],
                },
            };
            let len = doc.length(&list);
            autosurgeon::reconcile_insert(doc, list.clone(), len, &entry)?;
            doc.commit();
            base = entry.id;
        }
        let changes: Vec<Vec<u8>> = doc
            .get_changes(&[])
            .into_iter()
            .map(|mut c| c.bytes().to_vec())
            .collect();
        upload.push(app_core::protocol::DocChanges { doc: key, changes });
    }
    Ok(serde_json::to_vec(&app_core::protocol::SyncRequest {
        cursor: u64::MAX >> 1,
        upload,
        max_docs: Some(1),
    })?)
}

async fn hostile(server: &ServerProc, db_path: &Path, phones: &[Phone]) -> anyhow::Result<()> {
    let quiet = phones_sync(phones, 1).await?;
    let person = add_grid_workers_named(db_path, "haiyan-hostile")?;
    let code = issue(db_path, person.as_str())?;
    let store = Mutex::new(Store::open(":memory:")?);
    let client = SyncClient::enrol(&server.url, &code, "被篡改的手机", &store).await?;
    let token = client.credentials().token.clone();
    let body = {
        let s = store.lock().map_err(|_| anyhow::anyhow!("lock"))?;
        Arc::new(hostile_payload(&s, &person)?)
    };
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut attackers = Vec::new();
    for _ in 0..2 {
        let (stop, body, token, url) = (
            stop.clone(),
            body.clone(),
            token.clone(),
            server.url.clone(),
        );
        attackers.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut sent = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let t = Instant::now();
                let r = http
                    .post(format!("{url}/v1/sync"))
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .body(body.as_ref().clone())
                    .send()
                    .await;
                // Refused before the body was read (its other upload is still being checked:
                // one sync per device at a time), the connection may close under the sender.
                let status = match r {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        match r.bytes().await {
                            Ok(_) => status,
                            Err(_) => 429,
                        }
                    }
                    Err(_) => 429,
                };
                if status == 429 {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
                sent.push((status, t.elapsed().as_secs_f64() * 1000.0));
            }
            anyhow::Ok(sent)
        }));
    }
    // Let the attack reach the server before the phones start.
    let mut under_attack = Vec::new();
    for round in 2..22 {
        under_attack.extend(phones_sync(phones, round).await?);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut hostile_times = Vec::new();
    for a in attackers {
        hostile_times.extend(a.await??);
    }
    under_attack.sort_by(f64::total_cmp);
    let refused = hostile_times.iter().filter(|(s, _)| *s == 403).count();
    if refused < hostile_times.len() {
        println!(
            "    (answers to the hostile device: {:?})",
            hostile_times.iter().map(|(s, _)| *s).collect::<Vec<_>>()
        );
    }
    let mut ht: Vec<f64> = hostile_times.iter().map(|(_, ms)| *ms).collect();
    ht.sort_by(f64::total_cmp);
    println!(
        "(d) hostile: one device sent {} maximal uploads ({:.1} MB, 19,600 changes each; {} refused as forged after checking), p50 {:.0} ms each",
        ht.len(),
        body.len() as f64 / 1e6,
        refused,
        percentile(&ht, 0.5)
    );
    println!(
        "    100 phones syncing an edit each: quiet p50 {:.0} ms, p99 {:.0} ms; under attack p50 {:.0} ms, p99 {:.0} ms ({} syncs)   [goal p99 < 1 s]",
        percentile(&quiet, 0.5),
        percentile(&quiet, 0.99),
        percentile(&under_attack, 0.5),
        percentile(&under_attack, 0.99),
        under_attack.len()
    );
    Ok(())
}

/// Adds one grid (under the township's first village) with a grid worker `person`.
fn add_grid_workers_named(db_path: &Path, person: &str) -> anyhow::Result<PersonId> {
    use app_core::org::{Directory, Person, Tier, Unit};
    let mut db = ServerDb::open(db_path)?;
    let d = db.store.directory();
    let village = d
        .children(&UnitId::new("haiyan"))
        .first()
        .map(|u| u.id.clone())
        .context("a village")?;
    let mut units: Vec<Unit> = d.units().cloned().collect();
    let mut people: Vec<Person> = d.people().cloned().collect();
    let grid = UnitId::new(format!("{person}-grid"));
    units.push(Unit {
        id: grid.clone(),
        name: "测试网格".to_owned(),
        tier: Tier::Grid,
        parent: Some(village),
        centre: false,
        policy: None,
        escalate_skip_to: Vec::new(),
        warnings: None,
    });
    let id = PersonId::new(person);
    people.push(Person {
        id: id.clone(),
        name: "被篡改的网格员".to_owned(),
        unit: grid,
        roles: [Role::GridWorker].into_iter().collect(),
        specialties: Default::default(),
        phone: None,
    });
    db.store.set_directory(Directory::new(units, people)?)?;
    Ok(id)
}
