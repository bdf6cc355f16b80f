//! Supervision (督办) against real servers: who may supervise is held by the server on every
//! upload (a grid worker may not; a township may not supervise a case that is another
//! township's; a centre outside the case's path cannot even send one), and a supervision the
//! county issues reaches the township's assignee on the phone's today screen, with its level and
//! its new deadline, through the county's and the township's servers.

use crate::sync::{actor, GW, STAFF};
use crate::tier::{escalated_to_county, start, until};
use crate::trust::{
    changes_since, device_doc, insert_entry, refused, server, synced_case, timeline,
};
use app_core::document::DocKind;
use app_core::ids::{CaseId, EntryId};
use app_core::model::{Action, Actor, Assignee, Difficulty, SuperviseLevel, TimelineEntry};
use app_core::org::Role;
use app_core::session::Session;
use app_core::workflow;
use std::time::Duration;
use system_tests::{now_ms, Device};

const COUNTY_STAFF: &str = "taishan-staff1";
const DUHU_STAFF: &str = "duhu-staff1";
const DAY: i64 = 86_400_000;

fn supervise(due_at: i64) -> Action {
    Action::Supervise {
        level: SuperviseLevel::Priority,
        due_at,
        note: "重点督办：请于期限内办结并书面反馈".to_owned(),
    }
}

/// A supervision signed by `by`, written straight into the device's copy of the case after the
/// last entry its author saw (past the device's own store, which would refuse it), as the
/// changes to upload.
fn forged(d: &Device, case: &CaseId, by: &Actor, action: Action) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut doc = device_doc(d, case)?;
    let heads = doc.get_heads();
    let entries = timeline(&doc)?;
    let base = workflow::fold(&entries)
        .order
        .last()
        .map(|&i| entries[i].id.clone());
    insert_entry(
        &mut doc,
        entries.len(),
        &TimelineEntry {
            id: EntryId::generate(),
            base,
            at: now_ms(),
            actor: by.clone(),
            action,
        },
    )?;
    doc.commit();
    Ok(changes_since(&mut doc, &heads))
}

/// How many supervisions a device's copy of the case holds.
fn supervisions(d: &Device, case: &CaseId) -> anyhow::Result<usize> {
    Ok(d.store()
        .case(case)?
        .document
        .timeline
        .iter()
        .filter(|e| matches!(e.action, Action::Supervise { .. }))
        .count())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supervision_is_refused_to_a_grid_worker_and_to_a_township_the_case_is_not_with(
) -> anyhow::Result<()> {
    let (_dir, server) = server()?;
    let gw = Device::enrol(&server, GW).await?;
    let haiyan = Device::enrol(&server, STAFF).await?;
    let county = Device::enrol(&server, COUNTY_STAFF).await?;
    let duhu = Device::enrol(&server, DUHU_STAFF).await?;
    let (case, _) = synced_case(&gw).await?;
    let key = DocKind::Case.key(case.as_str());
    let me = actor(&gw.store(), GW, Role::GridWorker);

    // The grid worker who reported the case may not supervise it.
    let by_gw = forged(&gw, &case, &me, supervise(now_ms() + 3 * DAY))?;
    refused(
        &server,
        &gw,
        &key,
        by_gw,
        (409, "workflow_denied", "may not 督办"),
    )
    .await?;

    // Another township cannot send a supervision of a case it may not see at all.
    let duhu_staff = actor(&duhu.store(), DUHU_STAFF, Role::CentreStaff);
    {
        // The other township's device somehow holds a copy of the document.
        let bytes = gw.store().load_document(DocKind::Case, case.as_str())?;
        let mut doc = bytes.expect("held");
        let copy = doc.save();
        duhu.store().write(|tx| {
            tx.execute(
                "INSERT INTO documents(key, kind, snapshot, chunks, updated_at)
                 VALUES (?1, 'case', ?2, 0, 0)",
                rusqlite::params![key, copy],
            )
        })?;
    }
    let by_duhu = forged(&duhu, &case, &duhu_staff, supervise(now_ms() + 3 * DAY))?;
    refused(
        &server,
        &duhu,
        &key,
        by_duhu,
        (403, "out_of_scope", "may see or change"),
    )
    .await?;
    duhu.store()
        .write(|tx| tx.execute("DELETE FROM documents WHERE key = ?1", [&key]))?;

    // The township escalates the case; the county sends it on to 都斛镇 (跨区域), whose case it
    // now is. 海宴镇 still sees it (it happened there) but may no longer supervise it.
    haiyan.sync().await?;
    let staff = actor(&haiyan.store(), STAFF, Role::CentreStaff);
    haiyan.store().act(
        &case,
        &staff,
        Action::Escalate {
            to: "taishan".into(),
            reason: app_core::model::EscalationReason::CrossRegion,
            note: "涉及都斛镇村民".to_owned(),
        },
        now_ms(),
    )?;
    haiyan.sync().await?;
    county.sync().await?;
    let county_staff = actor(&county.store(), COUNTY_STAFF, Role::CentreStaff);
    county.store().act(
        &case,
        &county_staff,
        Action::AssignDown {
            to: "duhu".into(),
            person: None,
            instructions: "请都斛镇综治中心牵头调处，七日内反馈".to_owned(),
            due_at: now_ms() + 7 * DAY,
        },
        now_ms(),
    )?;
    county.sync().await?;
    haiyan.sync().await?;
    assert_eq!(
        haiyan.store().summary(&case)?.responsible_unit.as_str(),
        "duhu"
    );
    // 海宴镇's own store refuses it, naming the rule.
    let local = haiyan
        .store()
        .act(&case, &staff, supervise(now_ms() + 3 * DAY), now_ms())
        .expect_err("the store refuses it");
    assert!(local.zh().contains("可以督办"), "{}", local.zh());
    // And so does the server, whatever the device.
    let by_haiyan = forged(&haiyan, &case, &staff, supervise(now_ms() + 3 * DAY))?;
    refused(
        &server,
        &haiyan,
        &key,
        by_haiyan,
        (409, "workflow_denied", "may supervise"),
    )
    .await?;

    // The county, which sent it on, may; 都斛镇, whose case it is, receives its supervision,
    // and no refused one.
    let due = now_ms() + 5 * DAY;
    county
        .store()
        .act(&case, &county_staff, supervise(due), now_ms())?;
    county.sync().await?;
    assert_eq!(county.store().outbox_len()?, 0, "accepted");
    duhu.sync().await?;
    let at_duhu = duhu.store().summary(&case)?;
    assert_eq!(at_duhu.responsible_unit.as_str(), "duhu");
    assert_eq!(
        at_duhu.due_at, due,
        "the supervision's deadline is the case's"
    );
    assert_eq!(
        at_duhu
            .supervised
            .as_ref()
            .map(|s| (s.level, s.unit.as_str())),
        Some((SuperviseLevel::Priority, "taishan"))
    );
    assert_eq!(supervisions(&duhu, &case)?, 1);
    gw.sync().await?;
    assert_eq!(supervisions(&gw, &case)?, 1, "the reporter sees it too");
    Ok(())
}

/// Syncs a session until `check` holds of its today screen.
async fn until_today(
    what: &str,
    session: &Session,
    check: impl Fn(&app_core::screens::Today) -> bool,
) -> anyhow::Result<app_core::screens::Today> {
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        let _ = session.sync_now().await;
        let today = session.today(now_ms())?;
        if check(&today) {
            return Ok(today);
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    anyhow::bail!("timed out waiting until {what}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supervision_by_the_county_reaches_the_township_assignee_on_today() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let county = start(dir.path(), "county", "taishan", None)?;
    let township = start(dir.path(), "township", "haiyan", Some(&county))?;
    let gw2 = Device::enrol(&township, "gw2").await?;
    let tstaff = Device::enrol(&township, "tstaff").await?;
    let cstaff = Device::enrol(&county, "cstaff").await?;
    let phones = tempfile::tempdir()?;
    let tmed = Session::open(phones.path().join("tmed.sqlite3"))?;
    tmed.enrol(&township.url(), &township.code_for("tmed")?, "调解员的手机")
        .await?;

    // Escalated by the township, assessed at the county and assigned back down (交办) to the
    // township's mediator.
    let case = escalated_to_county(&gw2, &tstaff, "那陈村土地承包纠纷", "涉及多个部门").await?;
    until("the county has it", &[&cstaff], || {
        Ok(cstaff.store().summary(&case).is_ok())
    })
    .await?;
    let county_staff = actor(&cstaff.store(), "cstaff", Role::CentreStaff);
    {
        let mut s = cstaff.store();
        s.act(
            &case,
            &county_staff,
            Action::Assess {
                difficulty: Difficulty::General,
                risks: vec![],
                note: "土地承包合同争议".to_owned(),
            },
            now_ms(),
        )?;
        s.act(
            &case,
            &county_staff,
            Action::AssignDown {
                to: "haiyan".into(),
                person: Some(Assignee::Mediator {
                    person: "tmed".into(),
                    name: "谭凤仪".to_owned(),
                }),
                instructions: "请镇综治中心调处，十日内反馈".to_owned(),
                due_at: now_ms() + 10 * DAY,
            },
            now_ms(),
        )?;
    }
    cstaff.sync().await?;
    let mine = until_today("the mediator holds the case", &tmed, |t| {
        t.mine.iter().any(|r| r.summary.id == case)
    })
    .await?;
    assert_eq!(mine.counts.supervised, 0, "nothing supervised yet");

    // The county, which assigned it down, presses: listed (挂牌督办), due by the end of the
    // third day from now.
    let policy = cstaff.store().directory().policy(&"haiyan".into());
    let due = policy.supervise_due_on(policy.local_date(now_ms() + 3 * DAY));
    cstaff.store().act(
        &case,
        &county_staff,
        Action::Supervise {
            level: SuperviseLevel::Listed,
            due_at: due,
            note: "挂牌督办：请三日内办结".to_owned(),
        },
        now_ms(),
    )?;
    cstaff.sync().await?;
    let today = until_today("the mediator's today shows the supervision", &tmed, |t| {
        t.supervised.iter().any(|r| r.summary.id == case)
    })
    .await?;
    assert_eq!(today.counts.supervised, 1);
    let row = &today.supervised[0];
    assert_eq!(row.summary.due_at, due, "the new deadline is the case's");
    let s = row.summary.supervised.as_ref().expect("in force");
    assert_eq!(
        (s.level, s.due_at, s.unit.as_str(), s.note.as_str()),
        (
            SuperviseLevel::Listed,
            due,
            "taishan",
            "挂牌督办：请三日内办结"
        )
    );
    // The case screen shows it on the timeline; a mediator is not offered 督办.
    let screen = tmed.case(&case, now_ms())?;
    assert!(screen
        .timeline
        .iter()
        .any(|r| matches!(r.entry.action, Action::Supervise { .. })));
    assert!(!screen
        .allowed
        .contains(&app_core::model::ActionKind::Supervise));
    // The township's staff, whose case it is, see it under supervision too.
    until("the township's desk has it", &[&tstaff], || {
        Ok(tstaff.store().summary(&case)?.supervised.is_some())
    })
    .await?;
    Ok(())
}
