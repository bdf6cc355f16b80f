//! The server is killed (SIGKILL) in the middle of a sync storm and restarted: every change a
//! device had acknowledged is on the server; every unacknowledged one is re-sent and lands once.

use crate::sync::{actor, new_case};
use app_core::document::{CaseEdit, DocKind};
use app_core::ids::{PersonId, UnitId};
use app_core::model::{Action, Difficulty};
use app_core::org::Role;
use app_core::store::Store;
use automerge::ChangeHash;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use system_tests::{now_ms, Device, Server};

/// Every change this device wrote, and those still waiting in its outbox.
pub(crate) fn own_changes(
    d: &Device,
) -> anyhow::Result<(BTreeSet<ChangeHash>, BTreeSet<ChangeHash>)> {
    let ids = d.case_ids()?;
    let store = d.store();
    let me = store.actor_id().clone();
    let mut all = BTreeSet::new();
    for id in ids {
        for kind in [DocKind::Case, DocKind::Contacts] {
            if let Some(mut doc) = store.load_document(kind, &id)? {
                for c in doc.get_changes(&[]) {
                    if c.actor_id() == &me {
                        all.insert(c.hash());
                    }
                }
            }
        }
    }
    let pending = store
        .outbox(usize::MAX >> 1)?
        .into_iter()
        .map(|e| e.hash)
        .collect();
    Ok((all, pending))
}

/// The hashes of every change the server holds.
pub(crate) fn server_changes(store: &Store) -> anyhow::Result<BTreeSet<ChangeHash>> {
    let keys: Vec<String> = store.read(|c| {
        c.prepare("SELECT key FROM documents")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()
    })?;
    let mut out = BTreeSet::new();
    for key in keys {
        let (kind, id) = key.split_once(':').expect("key");
        let kind = match kind {
            "case" => DocKind::Case,
            "contacts" => DocKind::Contacts,
            _ => DocKind::Household,
        };
        if let Some(mut doc) = store.load_document(kind, id)? {
            out.extend(doc.get_changes(&[]).iter().map(|c| c.hash()));
        }
    }
    Ok(out)
}

/// One device's storm: report, edit, sync, again; sync failures back off and retry.
pub(crate) async fn storm(
    d: Arc<Device>,
    grid: UnitId,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<u32> {
    let mut made = 0;
    let mut last = None;
    while !stop.load(Ordering::SeqCst) {
        {
            let mut s = d.store();
            let a = actor(&s, &d.person, Role::GridWorker);
            let id = s.create_case(
                &a,
                &new_case(&grid, &format!("风暴测试纠纷{made}")),
                now_ms(),
            )?;
            if let Some(prev) = last.replace(id) {
                let edit = CaseEdit {
                    narrative: Some(format!("第{made}次补充：双方情绪平稳。")),
                    ..CaseEdit::default()
                };
                s.edit(&prev, &a, &edit, now_ms())?;
            }
            made += 1;
        }
        if d.sync().await.is_err() {
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    Ok(made)
}

pub(crate) async fn sync_until_drained(d: &Device) -> anyhow::Result<()> {
    for _ in 0..100 {
        match d.sync().await {
            Ok(p) if p.pending == 0 => return Ok(()),
            _ => tokio::time::sleep(Duration::from_millis(300)).await,
        }
    }
    anyhow::bail!("{} could not drain its outbox", d.person)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_server_killed_mid_storm_loses_nothing_acknowledged() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut server = Server::start(dir.path(), 6)?;
    let workers = [
        "haiyan-fengjiang-g1-gw",
        "haiyan-fengjiang-g2-gw",
        "haiyan-fengjiang-g3-gw",
    ];
    let mut devices = Vec::new();
    for w in workers {
        devices.push(Arc::new(Device::enrol(&server, w).await?));
    }
    let staff = Device::enrol(&server, "haiyan-staff2").await?;
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for d in &devices {
        let grid = d
            .store()
            .directory()
            .person(&PersonId::new(d.person.clone()))
            .expect("worker")
            .unit
            .clone();
        tasks.push(tokio::spawn(storm(d.clone(), grid, stop.clone())));
    }
    // Let the storm run, then cut the power.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    server.kill();
    // What each device had acknowledged when the server died must be on the server's disk.
    let mut acknowledged = BTreeSet::new();
    for d in &devices {
        let (all, pending) = own_changes(d)?;
        acknowledged.extend(all.difference(&pending).copied());
    }
    assert!(
        acknowledged.len() > 10,
        "the storm got changes acknowledged before the kill: {}",
        acknowledged.len()
    );
    {
        let on_disk = server_changes(&server.store()?)?;
        let missing: Vec<_> = acknowledged.difference(&on_disk).collect();
        assert!(missing.is_empty(), "acknowledged changes lost: {missing:?}");
    }
    // The devices keep working offline while the server is down, then it comes back.
    tokio::time::sleep(Duration::from_millis(800)).await;
    server.restart()?;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, Ordering::SeqCst);
    let mut made = 0;
    for t in tasks {
        made += t.await??;
    }
    assert!(made >= 6, "the devices reported cases throughout: {made}");
    for d in &devices {
        sync_until_drained(d).await?;
    }
    // The centre assesses one of them: work flows on after the restart.
    sync_until_drained(&staff).await?;
    let first = devices[0].case_ids()?;
    let reported = first
        .iter()
        .find(|id| {
            staff
                .store()
                .summary(&app_core::ids::CaseId::new(id.as_str()))
                .map(|s| s.title.starts_with("风暴测试"))
                .unwrap_or(false)
        })
        .expect("a storm case reached the centre")
        .clone();
    {
        let mut s = staff.store();
        let a = actor(&s, "haiyan-staff2", Role::CentreStaff);
        s.act(
            &app_core::ids::CaseId::new(reported.as_str()),
            &a,
            Action::Assess {
                difficulty: Difficulty::Simple,
                risks: vec![],
                note: "简单纠纷。".to_owned(),
            },
            now_ms(),
        )?;
    }
    sync_until_drained(&staff).await?;
    sync_until_drained(&devices[0]).await?;
    server.kill();
    let store = server.store()?;
    let on_server = server_changes(&store)?;
    for d in &devices {
        let (all, pending) = own_changes(d)?;
        assert!(pending.is_empty());
        let missing: Vec<_> = all.difference(&on_server).collect();
        assert!(
            missing.is_empty(),
            "{}: changes never landed: {missing:?}",
            d.person
        );
        // Landed once: the server's copy of each case has exactly the device's entries.
        for id in d.case_ids()? {
            let id = app_core::ids::CaseId::new(id);
            let here = d.store().case(&id)?;
            let there = store.case(&id)?;
            let ids: BTreeSet<_> = there.document.timeline.iter().map(|e| &e.id).collect();
            assert_eq!(ids.len(), there.document.timeline.len(), "no entry twice");
            if d.person == devices[0].person {
                assert_eq!(
                    here.document, there.document,
                    "the reporter has the centre's work"
                );
            }
        }
    }
    Ok(())
}

/// A device's background sync loop rides out the server being down and catches up by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_background_loop_catches_up_after_the_server_returns() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut server = Server::start(dir.path(), 3)?;
    let gw = Arc::new(Device::enrol(&server, "haiyan-fengjiang-g1-gw").await?);
    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let looping = {
        let (gw, stop, failures) = (gw.clone(), stop.clone(), failures.clone());
        tokio::spawn(async move {
            gw.client
                .run(
                    &gw.store,
                    Duration::from_millis(200),
                    || !stop.load(Ordering::SeqCst),
                    |e| {
                        if matches!(e, app_core::client::SyncEvent::Failed { .. }) {
                            failures.fetch_add(1, Ordering::SeqCst);
                        }
                    },
                )
                .await
        })
    };
    server.kill();
    let grid = UnitId::new("haiyan-fengjiang-g1");
    let id = {
        let mut s = gw.store();
        let a = actor(&s, &gw.person, Role::GridWorker);
        s.create_case(&a, &new_case(&grid, "断网时上报的纠纷"), now_ms())?
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        failures.load(Ordering::SeqCst) >= 1,
        "the loop saw the server down"
    );
    assert!(
        gw.store().outbox_len()? > 0,
        "the report waits on the phone"
    );
    server.restart()?;
    let mut landed = false;
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        if gw.store().outbox_len()? == 0 {
            landed = true;
            break;
        }
    }
    stop.store(true, Ordering::SeqCst);
    looping.await??;
    assert!(landed, "the outbox drained once the server was back");
    let on_server = server.count(&format!("SELECT COUNT(*) FROM cases WHERE id = '{id}'"))?;
    assert_eq!(on_server, 1);
    Ok(())
}
