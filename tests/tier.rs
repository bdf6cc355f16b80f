//! Escalation across tiers: village, township and county servers on loopback, each with its own
//! database, linked child to parent; phones enrolled at each.

use crate::attachments::photo;
use crate::sync::{actor, new_case};
use app_core::document::CaseEdit;
use app_core::ids::{CaseId, UnitId};
use app_core::model::{Action, Difficulty, EscalationReason};
use app_core::org::Role;
use std::path::Path;
use std::time::{Duration, Instant};
use system_tests::{admin_with, now_ms, Device, Server};

const UNITS: &str = "id,name,tier,parent,centre
taishan,台山市,county,,yes
haiyan,海宴镇,township,taishan,yes
haiyan-wufeng,五丰村,village,haiyan,yes
haiyan-wufeng-g1,五丰村第一网格,grid,haiyan-wufeng,no
haiyan-nacheng,那陈村,village,haiyan,no
haiyan-nacheng-g1,那陈村第一网格,grid,haiyan-nacheng,no
";

const PEOPLE: &str = "id,name,unit,roles,specialties,phone
gw1,李明,haiyan-wufeng-g1,grid_worker,,
gw2,陈芳,haiyan-nacheng-g1,grid_worker,,
vstaff,吴秀兰,haiyan-wufeng,centre_staff,,
tstaff,黄伟,haiyan,centre_staff,,
tmed,谭凤仪,haiyan,mediator,neighbour,
cstaff,梁国栋,taishan,centre_staff,,
taishan-12345,12345政务服务便民热线,taishan,intake,,
";

/// The data directory `name` of a server for `unit`, with the county's directory imported;
/// `extra`, more of the server's environment (its engine).
pub(crate) fn prepared(
    dir: &Path,
    name: &str,
    unit: &str,
    extra: &[(String, String)],
) -> anyhow::Result<std::path::PathBuf> {
    let data = dir.join(name);
    // The centre is named from the first command on (with PostgreSQL, it is the centre whose
    // log the data directory follows).
    let env: Vec<(String, String)> = env(unit).into_iter().chain(extra.to_vec()).collect();
    admin_with(&data, &env, &["init", "--empty"])?;
    let units = dir.join("units.csv");
    let people = dir.join("people.csv");
    std::fs::write(&units, UNITS)?;
    std::fs::write(&people, PEOPLE)?;
    admin_with(&data, &env, &["import-units", &units.display().to_string()])?;
    admin_with(
        &data,
        &env,
        &["import-people", &people.display().to_string()],
    )?;
    Ok(data)
}

pub(crate) fn env(unit: &str) -> Vec<(String, String)> {
    vec![
        ("FENGQIAO_UNIT".to_owned(), unit.to_owned()),
        ("FENGQIAO_PARENT_POLL_MS".to_owned(), "300".to_owned()),
        ("FENGQIAO_FIGURES_EVERY_MS".to_owned(), "300".to_owned()),
    ]
}

/// Starts a server for `unit`, linked to `parent` if given.
pub(crate) fn start(
    dir: &Path,
    name: &str,
    unit: &str,
    parent: Option<&Server>,
) -> anyhow::Result<Server> {
    start_on(dir, name, unit, parent, &[])
}

/// [`start`], with more of the server's environment (its engine).
pub(crate) fn start_on(
    dir: &Path,
    name: &str,
    unit: &str,
    parent: Option<&Server>,
    extra: &[(String, String)],
) -> anyhow::Result<Server> {
    let data = prepared(dir, name, unit, extra)?;
    let env: Vec<(String, String)> = env(unit).into_iter().chain(extra.to_vec()).collect();
    if let Some(p) = parent {
        let code = p
            .admin(&["enrol", "--server", unit])?
            .split(": ")
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .map(str::to_owned)
            .ok_or_else(|| anyhow::anyhow!("no code"))?;
        admin_with(
            &data,
            &env,
            &["link", "--parent", &p.url(), "--code", &code],
        )?;
    }
    Server::start_with(&data, 0, env)
}

/// Whether a server's database holds a case.
pub(crate) fn holds(server: &Server, case: &CaseId) -> anyhow::Result<bool> {
    Ok(server.count(&format!("SELECT COUNT(*) FROM cases WHERE id = '{case}'"))? == 1)
}

/// The bytes a server's database holds for an attachment.
fn blob(server: &Server, sha: &str) -> anyhow::Result<Option<Vec<u8>>> {
    use rusqlite::OptionalExtension;
    Ok(server
        .open_db()?
        .query_row("SELECT bytes FROM blobs WHERE sha256 = ?1", [sha], |r| {
            r.get(0)
        })
        .optional()?)
}

/// A device attaches a photo to a case (no sync); returns its SHA-256.
fn attach(
    d: &Device,
    person: &str,
    role: Role,
    case: &CaseId,
    name: &str,
    bytes: &[u8],
) -> anyhow::Result<String> {
    let mut s = d.store();
    let a = actor(&s, person, role);
    Ok(s.attach(case, &a, name, "image/jpeg", bytes, now_ms())?
        .sha256)
}

/// Syncs the devices until `check` holds (forwarding runs in the servers meanwhile).
pub(crate) async fn until(
    what: &str,
    devices: &[&Device],
    mut check: impl FnMut() -> anyhow::Result<bool>,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        for d in devices {
            let _ = d.sync().await;
        }
        if check()? {
            return Ok(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    anyhow::bail!("timed out waiting until {what}")
}

/// A grid worker of 那陈村 reports a dispute to the township, whose staff escalate it to the
/// county; both devices have synced.
pub(crate) async fn escalated_to_county(
    gw2: &Device,
    tstaff: &Device,
    title: &str,
    note: &str,
) -> anyhow::Result<CaseId> {
    let case = {
        let mut s = gw2.store();
        let a = actor(&s, "gw2", Role::GridWorker);
        s.create_case(
            &a,
            &new_case(&UnitId::new("haiyan-nacheng-g1"), title),
            now_ms(),
        )?
    };
    gw2.sync().await?;
    tstaff.sync().await?;
    {
        let mut s = tstaff.store();
        let a = actor(&s, "tstaff", Role::CentreStaff);
        s.act(
            &case,
            &a,
            Action::Escalate {
                to: "taishan".into(),
                reason: EscalationReason::Unresolved,
                note: note.to_owned(),
            },
            now_ms(),
        )?;
    }
    tstaff.sync().await?;
    Ok(case)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tier_escalation_village_to_county_and_back_down() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let county = start(dir.path(), "county", "taishan", None)?;
    let mut township = start(dir.path(), "township", "haiyan", Some(&county))?;
    let village = start(dir.path(), "village", "haiyan-wufeng", Some(&township))?;

    let gw1 = Device::enrol(&village, "gw1").await?;
    let vstaff = Device::enrol(&village, "vstaff").await?;
    let tstaff = Device::enrol(&township, "tstaff").await?;
    let gw2 = Device::enrol(&township, "gw2").await?;
    let cstaff = Device::enrol(&county, "cstaff").await?;

    // A grid worker reports; the village centre receives it.
    let grid = UnitId::new("haiyan-wufeng-g1");
    let case = {
        let mut s = gw1.store();
        let a = actor(&s, "gw1", Role::GridWorker);
        s.create_case(&a, &new_case(&grid, "五丰村山林权属纠纷"), now_ms())?
    };
    gw1.sync().await?;
    vstaff.sync().await?;
    assert_eq!(
        vstaff.store().summary(&case)?.responsible_unit,
        UnitId::new("haiyan-wufeng")
    );
    // The township sees its villages' cases (the village server forwards them), but the
    // village centre is responsible until it escalates.
    until("the township sees the village's case", &[], || {
        holds(&township, &case)
    })
    .await?;
    assert!(!holds(&county, &case)?, "the county sees nothing of it");

    // Another case in the township that nobody escalates.
    let kept = {
        let mut s = gw2.store();
        let a = actor(&s, "gw2", Role::GridWorker);
        s.create_case(
            &a,
            &new_case(&UnitId::new("haiyan-nacheng-g1"), "那陈村邻里纠纷"),
            now_ms(),
        )?
    };
    gw2.sync().await?;

    // The village cannot settle it and escalates it to the township.
    {
        let mut s = vstaff.store();
        let a = actor(&s, "vstaff", Role::CentreStaff);
        s.act(
            &case,
            &a,
            Action::Assess {
                difficulty: Difficulty::Major,
                risks: vec![],
                note: "涉及两村山林界线".to_owned(),
            },
            now_ms(),
        )?;
        s.act(
            &case,
            &a,
            Action::Escalate {
                to: "haiyan".into(),
                reason: EscalationReason::CrossRegion,
                note: "跨村纠纷，村级无法调处".to_owned(),
            },
            now_ms(),
        )?;
    }
    vstaff.sync().await?;
    until("the township has it", &[&tstaff], || {
        holds(&township, &case)
    })
    .await?;
    // The township saw the case all along; now it is the township's to handle.
    until(
        "the township's staff hold the escalation",
        &[&tstaff],
        || {
            Ok(tstaff
                .store()
                .summary(&case)
                .is_ok_and(|s| s.responsible_unit.as_str() == "haiyan"))
        },
    )
    .await?;
    assert!(!holds(&county, &case)?, "the county has nothing yet");

    // The township escalates it to the county.
    {
        let mut s = tstaff.store();
        let a = actor(&s, "tstaff", Role::CentreStaff);
        s.act(
            &case,
            &a,
            Action::Escalate {
                to: "taishan".into(),
                reason: EscalationReason::CrossDepartment,
                note: "涉及林业、国土部门".to_owned(),
            },
            now_ms(),
        )?;
    }
    tstaff.sync().await?;
    until("the county's staff have it", &[&cstaff], || {
        Ok(cstaff.store().summary(&case).is_ok())
    })
    .await?;
    let at_county = cstaff.store().summary(&case)?;
    assert_eq!(at_county.responsible_unit, UnitId::new("taishan"));
    assert_eq!(
        at_county.escalated_from,
        vec![UnitId::new("haiyan-wufeng"), UnitId::new("haiyan")]
    );
    assert_eq!(
        at_county.escalated_to,
        vec![UnitId::new("haiyan"), UnitId::new("taishan")]
    );

    // Cut off: the township's server is down while both tiers edit the case.
    township.kill();
    {
        let mut s = cstaff.store();
        let a = actor(&s, "cstaff", Role::CentreStaff);
        let n = format!(
            "{}（县联调中心：已调取林权证）",
            s.case(&case)?.document.narrative.as_str()
        );
        s.edit(
            &case,
            &a,
            &CaseEdit {
                narrative: Some(n),
                ..CaseEdit::default()
            },
            now_ms(),
        )?;
    }
    cstaff.sync().await?;
    // The reporter adds what they learnt in the village; the village server has it, but cannot
    // pass it up while the township is down.
    {
        let mut s = gw1.store();
        let a = actor(&s, "gw1", Role::GridWorker);
        let n = format!(
            "{}（网格员补充：双方祖辈曾立界碑）",
            s.case(&case)?.document.narrative.as_str()
        );
        s.edit(
            &case,
            &a,
            &CaseEdit {
                narrative: Some(n),
                ..CaseEdit::default()
            },
            now_ms(),
        )?;
    }
    gw1.sync().await?;
    assert!(tstaff.sync().await.is_err(), "the township is unreachable");
    township.restart()?;

    // The county assigns it back down to the township with instructions and a deadline.
    {
        let mut s = cstaff.store();
        let a = actor(&s, "cstaff", Role::CentreStaff);
        s.act(
            &case,
            &a,
            Action::AssignDown {
                to: "haiyan".into(),
                person: Some(app_core::model::Assignee::Mediator {
                    person: "tmed".into(),
                    name: "谭凤仪".to_owned(),
                }),
                instructions: "请镇综治中心牵头，会同林业站现场勘界，7日内反馈。".to_owned(),
                due_at: now_ms() + 7 * 86_400_000,
            },
            now_ms(),
        )?;
    }
    cstaff.sync().await?;
    until(
        "the township sees the instruction and the county's edit",
        &[&tstaff, &cstaff],
        || {
            let s = tstaff.store().case(&case)?;
            Ok(s.summary.responsible_unit.as_str() == "haiyan"
                && s.document.narrative.as_str().contains("已调取林权证"))
        },
    )
    .await?;
    until(
        "the county sees the village's edit",
        &[&tstaff, &cstaff],
        || {
            Ok(cstaff
                .store()
                .case(&case)?
                .document
                .narrative
                .as_str()
                .contains("双方祖辈曾立界碑"))
        },
    )
    .await?;
    // The mediator the county named receives it on their phone, at the township.
    let tmed = Device::enrol(&township, "tmed").await?;
    until("the named mediator has it", &[&tmed], || {
        let s = tmed.store().summary(&case)?;
        Ok(s.assignee_people.iter().any(|p| p.as_str() == "tmed"))
    })
    .await?;
    // The grid worker who reported it sees it on the phone, through the village server.
    until("the reporter sees the assignment down", &[&gw1], || {
        Ok(gw1.store().summary(&case)?.responsible_unit.as_str() == "haiyan")
    })
    .await?;

    // The township reports back (反馈); the county sees the feedback.
    {
        let mut s = tstaff.store();
        let a = actor(&s, "tstaff", Role::CentreStaff);
        s.act(
            &case,
            &a,
            Action::ReportBack {
                note: "已现场勘界，双方认可界线，签订协议。".to_owned(),
            },
            now_ms(),
        )?;
    }
    tstaff.sync().await?;
    until("the county sees the feedback", &[&cstaff], || {
        let c = cstaff.store().case(&case)?;
        Ok(c.document
            .timeline
            .iter()
            .any(|e| matches!(e.action, Action::ReportBack { .. })))
    })
    .await?;

    // Every replica converges: phones and servers at three tiers.
    for d in [&gw1, &vstaff, &tstaff, &cstaff] {
        d.sync().await?;
    }
    until(
        "all replicas agree",
        &[&gw1, &vstaff, &tstaff, &cstaff],
        || {
            let c = cstaff.store().case(&case)?.document;
            Ok(tstaff.store().case(&case)?.document == c
                && gw1.store().case(&case)?.document == c
                && vstaff.store().case(&case)?.document == c)
        },
    )
    .await?;
    let c = cstaff.store().case(&case)?;
    let tiers: Vec<&str> = c
        .document
        .timeline
        .iter()
        .map(|e| e.actor.unit.as_str())
        .collect();
    assert!(
        tiers.contains(&"haiyan-wufeng") && tiers.contains(&"haiyan") && tiers.contains(&"taishan"),
        "{tiers:?}"
    );

    // Figures from the same records: escalated out below, received above.
    let fig = |server: &Server, unit: &str| -> anyhow::Result<serde_json::Value> {
        Ok(serde_json::from_str(&server.admin(&[
            "figures", "--unit", unit, "--days", "2", "--json",
        ])?)?)
    };
    let tf = fig(&township, "haiyan")?;
    let cf = fig(&county, "taishan")?;
    assert_eq!(tf["total"]["escalated_out"], 1, "{tf}");
    assert_eq!(cf["total"]["escalated_in"], 1, "{cf}");

    // Data minimisation: the county never received the case nobody escalated.
    assert!(holds(&township, &kept)?);
    assert!(!holds(&county, &kept)?);
    assert_eq!(
        county.count(&format!(
            "SELECT COUNT(*) FROM documents WHERE key LIKE '%{kept}'"
        ))?,
        0
    );
    let (status, _) = get(&county, &format!("/v1/cases/{kept}"), &cstaff).await?;
    assert_eq!(status, 404);
    assert!(cstaff.store().summary(&kept).is_err());
    Ok(())
}

/// A GET as the device, answered. A device that asks too often (`429`, as a test that waits
/// for figures does) waits the `Retry-After` it is given and asks again, as a client must.
async fn get(server: &Server, path: &str, d: &Device) -> anyhow::Result<(u16, serde_json::Value)> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let resp = reqwest::Client::new()
            .get(format!("{}{path}", server.url()))
            .bearer_auth(&d.client.credentials().token)
            .send()
            .await?;
        let status = resp.status().as_u16();
        if status == 429 && Instant::now() < deadline {
            let wait = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(1);
            tokio::time::sleep(Duration::from_secs(wait.clamp(1, 5))).await;
            continue;
        }
        return Ok((status, resp.json().await.unwrap_or_default()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tier_escalations_wait_for_a_county_that_was_down() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut county = start(dir.path(), "county", "taishan", None)?;
    let mut township = start(dir.path(), "township", "haiyan", Some(&county))?;
    let tstaff = Device::enrol(&township, "tstaff").await?;
    let gw2 = Device::enrol(&township, "gw2").await?;
    let cstaff = Device::enrol(&county, "cstaff").await?;
    county.kill();

    let grid = UnitId::new("haiyan-nacheng-g1");
    let mut cases = Vec::new();
    for i in 0..5 {
        let mut s = gw2.store();
        let a = actor(&s, "gw2", Role::GridWorker);
        cases.push(s.create_case(&a, &new_case(&grid, &format!("那陈村积案{i}")), now_ms())?);
    }
    // A photo of the first, taken while the county is away.
    let scene = photo(7, 400_000);
    let scene_sha = attach(&gw2, "gw2", Role::GridWorker, &cases[0], "现场.jpg", &scene)?;
    gw2.sync().await?;
    assert!(blob(&township, &scene_sha)?.is_some_and(|b| b == scene));
    tstaff.sync().await?;
    for (i, case) in cases.iter().enumerate() {
        let mut s = tstaff.store();
        let a = actor(&s, "tstaff", Role::CentreStaff);
        s.act(
            case,
            &a,
            Action::Escalate {
                to: "taishan".into(),
                reason: EscalationReason::Unresolved,
                note: format!("第{i}件上报"),
            },
            now_ms(),
        )?;
    }
    tstaff.sync().await?;
    // The township restarts twice while the county is away; more edits arrive in between.
    township.restart()?;
    {
        let mut s = gw2.store();
        let a = actor(&s, "gw2", Role::GridWorker);
        let n = format!(
            "{}（补充：当事人已搬离）",
            s.case(&cases[0])?.document.narrative.as_str()
        );
        s.edit(
            &cases[0],
            &a,
            &CaseEdit {
                narrative: Some(n),
                ..CaseEdit::default()
            },
            now_ms(),
        )?;
    }
    gw2.sync().await?;
    tokio::time::sleep(Duration::from_millis(700)).await;
    township.restart()?;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(!holds(&county, &cases[0])?);

    let back = Instant::now();
    county.restart()?;
    until("the county has all five", &[&cstaff], || {
        Ok(cases.iter().all(|c| cstaff.store().summary(c).is_ok())
            && cstaff
                .store()
                .case(&cases[0])
                .map(|v| v.document.narrative.as_str().contains("当事人已搬离"))
                .unwrap_or(false))
    })
    .await?;
    // Each exactly once, with every edit: the county's copy is the township's.
    let at_township = township.store()?;
    let at_county = county.store()?;
    for case in &cases {
        let here = at_township.case(case)?;
        let there = at_county.case(case)?;
        assert_eq!(there.document, here.document);
        let ids: std::collections::BTreeSet<_> =
            there.document.timeline.iter().map(|e| &e.id).collect();
        assert_eq!(ids.len(), there.document.timeline.len());
    }
    assert_eq!(county.count("SELECT COUNT(*) FROM cases")?, 5);
    // The photo followed its case once the county was back, byte for byte.
    until("the county holds the photo", &[], || {
        Ok(blob(&county, &scene_sha)?.is_some())
    })
    .await?;
    println!(
        "photo at the county {} ms after the county came back",
        back.elapsed().as_millis()
    );
    assert!(blob(&county, &scene_sha)?.is_some_and(|b| b == scene));
    let (_, bytes) = cstaff
        .client
        .fetch_attachment(&cstaff.store, &cases[0], &scene_sha)
        .await?;
    assert!(bytes == scene, "byte-identical at the county's desk");
    // Recorded as done: a restart of the township sends nothing again. (The county holds the
    // bytes before the township has read its answer and recorded it: wait for the record.)
    until("the township records the photo as sent", &[], || {
        Ok(township.count("SELECT COUNT(*) FROM forward_blobs WHERE acked_at IS NOT NULL")? == 1)
    })
    .await?;
    assert_eq!(
        township.count("SELECT COUNT(*) FROM forward_blobs WHERE acked_at IS NULL")?,
        0
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tier_attachments_reach_the_county_and_come_back_down() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let county = start(dir.path(), "county", "taishan", None)?;
    let township = start(dir.path(), "township", "haiyan", Some(&county))?;
    let gw2 = Device::enrol(&township, "gw2").await?;
    let tstaff = Device::enrol(&township, "tstaff").await?;
    let cstaff = Device::enrol(&county, "cstaff").await?;

    // A grid worker reports a case with a photo of the scene and syncs: the township has both.
    let case = {
        let mut s = gw2.store();
        let a = actor(&s, "gw2", Role::GridWorker);
        s.create_case(
            &a,
            &new_case(&UnitId::new("haiyan-nacheng-g1"), "那陈村宅基地纠纷"),
            now_ms(),
        )?
    };
    let scene = photo(11, 2_500_000);
    let scene_sha = attach(&gw2, "gw2", Role::GridWorker, &case, "界墙.jpg", &scene)?;
    let p = gw2.sync().await?;
    assert_eq!(p.sent_blobs, 1);
    assert!(blob(&township, &scene_sha)?.is_some_and(|b| b == scene));
    // Not escalated: nothing of it at the county.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(blob(&county, &scene_sha)?.is_none());

    // The township escalates it; the photo follows the case to the county.
    tstaff.sync().await?;
    {
        let mut s = tstaff.store();
        let a = actor(&s, "tstaff", Role::CentreStaff);
        s.act(
            &case,
            &a,
            Action::Escalate {
                to: "taishan".into(),
                reason: EscalationReason::CrossDepartment,
                note: "涉及国土部门".to_owned(),
            },
            now_ms(),
        )?;
    }
    tstaff.sync().await?;
    let took = until("the county holds the photo", &[], || {
        Ok(blob(&county, &scene_sha)?.is_some())
    })
    .await?;
    println!(
        "a 2.5 MB photo at the county {} ms after the escalation synced",
        took.as_millis()
    );
    assert!(blob(&county, &scene_sha)?.is_some_and(|b| b == scene));
    until("the county's staff have the case", &[&cstaff], || {
        Ok(cstaff.store().summary(&case).is_ok())
    })
    .await?;
    let (mime, bytes) = cstaff
        .client
        .fetch_attachment(&cstaff.store, &case, &scene_sha)
        .await?;
    assert_eq!(mime, "image/jpeg");
    assert!(bytes == scene, "byte-identical at the county's desk");

    // The county attaches a photo of its own (the land registry's map); it comes down.
    let map = photo(12, 900_000);
    let map_sha = attach(
        &cstaff,
        "cstaff",
        Role::CentreStaff,
        &case,
        "地籍图.jpg",
        &map,
    )?;
    let p = cstaff.sync().await?;
    assert_eq!(p.sent_blobs, 1);
    let took = until("the township holds the county's photo", &[], || {
        Ok(blob(&township, &map_sha)?.is_some())
    })
    .await?;
    println!(
        "the county's photo at the township {} ms after it synced",
        took.as_millis()
    );
    until("the township's desk lists it", &[&tstaff], || {
        Ok(tstaff
            .store()
            .case(&case)?
            .document
            .attachments
            .iter()
            .any(|a| a.sha256 == map_sha))
    })
    .await?;
    let (mime, bytes) = tstaff
        .client
        .fetch_attachment(&tstaff.store, &case, &map_sha)
        .await?;
    assert_eq!(mime, "image/jpeg");
    assert!(bytes == map, "byte-identical at the township's desk");
    // And on the grid worker's phone, through the same township server.
    gw2.sync().await?;
    let (_, bytes) = gw2
        .client
        .fetch_attachment(&gw2.store, &case, &map_sha)
        .await?;
    assert!(bytes == map);

    // A photo taken after the escalation goes up too (its case's change may reach the county
    // before its bytes reach the township: the township waits for them, then sends them).
    let later = photo(13, 600_000);
    let later_sha = attach(&gw2, "gw2", Role::GridWorker, &case, "补拍.jpg", &later)?;
    gw2.sync().await?;
    let took = until("the county holds the later photo", &[], || {
        Ok(blob(&county, &later_sha)?.is_some())
    })
    .await?;
    println!(
        "a photo of an escalated case at the county {} ms after the phone synced",
        took.as_millis()
    );
    assert!(blob(&county, &later_sha)?.is_some_and(|b| b == later));

    // Each photo crossed once, and is recorded as done on the township (once the township has
    // read the county's answer: the county holds the bytes a moment before that).
    until("the township records all three photos as done", &[], || {
        Ok(township.count("SELECT COUNT(*) FROM forward_blobs WHERE acked_at IS NOT NULL")? == 3)
    })
    .await?;
    assert_eq!(
        township.count("SELECT COUNT(*) FROM forward_blobs WHERE acked_at IS NULL")?,
        0
    );
    // The counts move at the end of the forwarding pass that did the work: wait for it.
    let started = Instant::now();
    let health = loop {
        let health: serde_json::Value = reqwest::get(format!("{}/healthz", township.url()))
            .await?
            .json()
            .await?;
        let counted = |k: &str| health["parent"][k].as_u64().unwrap_or(0);
        if counted("sent_blobs") >= 2 && counted("received_blobs") >= 1 {
            break health;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{health}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(health["parent"]["sent_blobs"], 2, "{health}");
    assert_eq!(health["parent"]["received_blobs"], 1, "{health}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tier_revoked_child_server_is_refused() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let county = start(dir.path(), "county", "taishan", None)?;
    let township = start(dir.path(), "township", "haiyan", Some(&county))?;
    let devices = county.admin(&["devices"])?;
    let child = devices
        .lines()
        .find(|l| l.contains("server:haiyan"))
        .and_then(|l| l.split('\t').next())
        .ok_or_else(|| anyhow::anyhow!("the township's credential is listed: {devices}"))?
        .to_owned();
    county.admin(&["revoke", "--device", &child])?;
    // Something to forward.
    let tstaff = Device::enrol(&township, "tstaff").await?;
    let gw2 = Device::enrol(&township, "gw2").await?;
    let case = escalated_to_county(&gw2, &tstaff, "那陈村债务纠纷", "").await?;
    let started = Instant::now();
    let error = loop {
        let health: serde_json::Value = reqwest::get(format!("{}/healthz", township.url()))
            .await?
            .json()
            .await?;
        if let Some(e) = health["parent"]["error"].as_str() {
            break e.to_owned();
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{health}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        error.contains("401") && error.contains("Revoked"),
        "{error}"
    );
    assert!(!holds(&county, &case)?);
    Ok(())
}

/// A township whose copy of an escalated case is lost (its disk restored without it) gets it back
/// whole from the county: the county's next changes to a document the township lacks make its
/// forwarder start over from cursor 0, as a device does, instead of failing on every pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tier_a_child_that_lost_a_case_gets_it_whole_from_the_parent() -> anyhow::Result<()> {
    // The township's disk is an SQLite file restored from a backup, whichever engine the other
    // tests run on (on PostgreSQL, the log is the backup's unit, not one document).
    let sqlite = vec![("FENGQIAO_DATABASE".to_owned(), String::new())];
    let dir = tempfile::tempdir()?;
    let county = start(dir.path(), "county", "taishan", None)?;
    let mut township = start_on(dir.path(), "township", "haiyan", Some(&county), &sqlite)?;
    let tstaff = Device::enrol(&township, "tstaff").await?;
    let gw2 = Device::enrol(&township, "gw2").await?;
    let cstaff = Device::enrol(&county, "cstaff").await?;
    let case = escalated_to_county(&gw2, &tstaff, "那陈村宅基地纠纷", "镇级调处未果").await?;
    until("the county holds the escalation", &[], || {
        holds(&county, &case)
    })
    .await?;
    // The timeline's length as the server's summary row has it.
    let entries = |server: &Server| {
        server.count(&format!(
            "SELECT COALESCE(MAX(json_extract(summary, '$.entries')), 0) FROM cases WHERE id = '{case}'"
        ))
    };
    until("the county's staff see it", &[&cstaff], || {
        Ok(cstaff.store().summary(&case).is_ok())
    })
    .await?;

    // The township loses its copy of the case (and only that).
    township.kill();
    {
        let db = rusqlite::Connection::open(dir.path().join("township").join("server.sqlite3"))?;
        let key = format!("case:{case}");
        db.execute("DELETE FROM document_chunks WHERE key = ?1", [&key])?;
        db.execute("DELETE FROM documents WHERE key = ?1", [&key])?;
        for table in ["case_units", "case_people"] {
            db.execute(
                &format!("DELETE FROM {table} WHERE case_id = ?1"),
                [case.as_str()],
            )?;
        }
        db.execute("DELETE FROM cases WHERE id = ?1", [case.as_str()])?;
    }
    township.restart()?;
    assert!(!holds(&township, &case)?);

    // The county assesses it: changes to a document the township no longer has.
    {
        let mut s = cstaff.store();
        let a = actor(&s, "cstaff", Role::CentreStaff);
        s.act(
            &case,
            &a,
            Action::Assess {
                difficulty: Difficulty::General,
                risks: vec![],
                note: "县中心研判：需勘界".to_owned(),
            },
            now_ms(),
        )?;
    }
    cstaff.sync().await?;
    let on_county = entries(&county)?;
    assert_eq!(on_county, 3, "reported, escalated, assessed");
    until(
        "the township holds the whole case again, the county's assessment included",
        &[],
        || Ok(holds(&township, &case)? && entries(&township)? == on_county),
    )
    .await?;
    Ok(())
}

/// A 12345 order the city's platform dispatched to the township (its credential is the
/// county's platform's, relayed by the township) is escalated: the county takes the case,
/// its report and dispatch signed by the platform, and the platform still follows it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tier_a_hotline_order_escalated_by_the_township_reaches_the_county() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let county = start(dir.path(), "county", "taishan", None)?;
    let township = start(dir.path(), "township", "haiyan", Some(&county))?;
    let token = township
        .admin(&[
            "integrator-add",
            "--person",
            "taishan-12345",
            "--units",
            "haiyan",
        ])?
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_owned();
    let now = now_ms();
    let order = serde_json::json!({
        "number": "TS12345-20261203-0100",
        "kind": "help",
        "title": "邻里围墙倒塌纠纷",
        "content": "来电人称邻居围墙倒塌压坏其菜地，双方争执不下。",
        "address": "台山市海宴镇那陈村东安里3号",
        "caller": {"name": "谭志强", "phone": "13500001111"},
        "confidential": false,
        "dispatched_at": now,
        "sign_by": now + 2 * 3_600_000,
        "reply_by": now + 72 * 3_600_000,
    });
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/intake/work-orders", township.url()))
        .bearer_auth(&token)
        .header("idempotency-key", "tier-1")
        .json(&order)
        .send()
        .await?;
    assert_eq!(resp.status().as_u16(), 201);
    let made: serde_json::Value = resp.json().await?;
    let case = CaseId::new(made["case"].as_str().unwrap_or_default());

    let tstaff = Device::enrol(&township, "tstaff").await?;
    tstaff.sync().await?;
    {
        let mut s = tstaff.store();
        let a = actor(&s, "tstaff", Role::CentreStaff);
        s.act(&case, &a, Action::SignOrder, now_ms())?;
        s.act(
            &case,
            &a,
            Action::Escalate {
                to: "taishan".into(),
                reason: EscalationReason::Unresolved,
                note: "涉及多户，提请市中心协调".to_owned(),
            },
            now_ms(),
        )?;
    }
    tstaff.sync().await?;
    until("the county holds the hotline case", &[&tstaff], || {
        holds(&county, &case)
    })
    .await?;
    let cstaff = Device::enrol(&county, "cstaff").await?;
    cstaff.sync().await?;
    let summary = cstaff.store().case(&case)?.summary;
    assert_eq!(summary.responsible_unit.as_str(), "taishan");
    assert_eq!(
        summary.order.map(|o| o.number),
        Some("TS12345-20261203-0100".to_owned())
    );
    Ok(())
}

/// The county refuses one escalated case (its directory lacks the grid worker who reported it,
/// added at the township only): that case is held back at the township, with the refusal on
/// `/healthz`, and the escalations behind it still reach the county. Once the county's
/// directory has the grid worker, the held case goes up by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tier_one_case_the_county_refuses_holds_up_no_other() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let county = start(dir.path(), "county", "taishan", None)?;
    let township = start(dir.path(), "township", "haiyan", Some(&county))?;
    let newcomer = dir.path().join("newcomer.csv");
    std::fs::write(
        &newcomer,
        "id,name,unit,roles,specialties,phone\ngw3,周小燕,haiyan-nacheng-g1,grid_worker,,\n",
    )?;
    township.admin(&["import-people", &newcomer.display().to_string()])?;

    let gw3 = Device::enrol(&township, "gw3").await?;
    let gw2 = Device::enrol(&township, "gw2").await?;
    let tstaff = Device::enrol(&township, "tstaff").await?;
    for d in [&gw3, &gw2, &tstaff] {
        d.sync().await?;
    }
    let refused = {
        let mut s = gw3.store();
        let a = actor(&s, "gw3", Role::GridWorker);
        s.create_case(
            &a,
            &new_case(&UnitId::new("haiyan-nacheng-g1"), "鱼塘承包款纠纷"),
            now_ms(),
        )?
    };
    gw3.sync().await?;
    tstaff.sync().await?;
    {
        let mut s = tstaff.store();
        let a = actor(&s, "tstaff", Role::CentreStaff);
        s.act(
            &refused,
            &a,
            Action::Escalate {
                to: "taishan".into(),
                reason: EscalationReason::Unresolved,
                note: "涉及多村，提请市中心协调".to_owned(),
            },
            now_ms(),
        )?;
    }
    tstaff.sync().await?;
    // The township holds it back, saying why.
    let health = || async {
        reqwest::get(format!("{}/healthz", township.url()))
            .await?
            .json::<serde_json::Value>()
            .await
    };
    let key = format!("case:{refused}");
    let started = Instant::now();
    let held = loop {
        let h = health().await?;
        let held = h["parent"]["held"].as_array().cloned().unwrap_or_default();
        if !held.is_empty() {
            break held;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(60),
            "nothing held: {h}"
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
    };
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(held[0]["doc"], key.as_str());
    assert_eq!(held[0]["code"], "wrong_author", "{held:?}");
    assert!(!holds(&county, &refused)?);

    // The next escalation goes up all the same.
    let next = escalated_to_county(&gw2, &tstaff, "宅基地边界纠纷", "两村交界，提请协调").await?;
    until(
        "the county holds the case behind the refused one",
        &[&tstaff],
        || holds(&county, &next),
    )
    .await?;
    assert!(!holds(&county, &refused)?, "the refused case is still held");
    assert_eq!(
        county.count(&format!(
            "SELECT COUNT(*) FROM documents WHERE key = 'contacts:{refused}'"
        ))?,
        0,
        "its contacts wait with it"
    );

    // The county learns of the grid worker: the held case goes up by itself.
    county.admin(&["import-people", &newcomer.display().to_string()])?;
    let contacts = format!("SELECT COUNT(*) FROM documents WHERE key = 'contacts:{refused}'");
    until(
        "the county holds the case it refused, with its contacts",
        &[&tstaff],
        || Ok(holds(&county, &refused)? && county.count(&contacts)? == 1),
    )
    .await?;
    let started = Instant::now();
    loop {
        let h = health().await?;
        if h["parent"]["held"].as_array().is_some_and(|a| a.is_empty()) {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(60),
            "still held: {h}"
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    Ok(())
}

/// The figures of `unit` over `[from, to)` as `d` reads them from `server`.
async fn figures_of(
    server: &Server,
    d: &Device,
    unit: &str,
    from: i64,
    to: i64,
) -> anyhow::Result<serde_json::Value> {
    let (status, body) = get(
        server,
        &format!("/v1/figures?unit={unit}&from={from}&to={to}"),
        d,
    )
    .await?;
    anyhow::ensure!(status == 200, "figures of {unit}: {status} {body}");
    Ok(body)
}

/// A figures upload with `token`, as a lower tier's server would send it.
async fn post_figures(
    server: &Server,
    token: &str,
    body: &str,
) -> anyhow::Result<(u16, serde_json::Value)> {
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/tier/figures", server.url()))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await?;
    let status = resp.status().as_u16();
    Ok((status, resp.json().await.unwrap_or_default()))
}

/// Syncs the county staff's device and compares its own figures of the county with the
/// county server's `/v1/figures`.
async fn device_figures_are_the_servers(
    device: &Device,
    server: &Server,
    from: i64,
    to: i64,
) -> anyhow::Result<()> {
    device.sync().await?;
    let here = {
        let s = device.store();
        serde_json::to_value(s.figures(&UnitId::new("taishan"), from, to, now_ms())?)?
    };
    let there = figures_of(server, device, "taishan", from, to).await?;
    for part in ["total", "by_unit", "by_category", "by_month"] {
        assert_eq!(
            here[part], there[part],
            "{part}: the device's {here} vs the server's {there}"
        );
    }
    assert!(here["total"]["received"].as_u64() >= Some(4), "{here}");
    Ok(())
}

/// 逐级汇总: the township's server sends its figures by day after each forwarding pass. The
/// county's figures of the township become the township's own, case for case; the county's own
/// figures count every township case, the escalated ones once; its monthly notice ranks the
/// township with them; a new case at the township follows. Figures that are not the sender's
/// to send, or that real cases cannot have, are refused and change nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tier_the_countys_figures_cover_the_township_with_the_townships_own_numbers(
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let county = start(dir.path(), "county", "taishan", None)?;
    let township = start(dir.path(), "township", "haiyan", Some(&county))?;
    let gw1 = Device::enrol(&township, "gw1").await?;
    let gw2 = Device::enrol(&township, "gw2").await?;
    let tstaff = Device::enrol(&township, "tstaff").await?;
    let cstaff = Device::enrol(&county, "cstaff").await?;
    let (from, to) = (now_ms() - 86_400_000, now_ms() + 86_400_000);

    // Three cases the township keeps, one it escalates to the county.
    for (d, person, grid, title) in [
        (&gw1, "gw1", "haiyan-wufeng-g1", "五丰村排水沟纠纷"),
        (&gw1, "gw1", "haiyan-wufeng-g1", "五丰村宅基地纠纷"),
        (&gw2, "gw2", "haiyan-nacheng-g1", "那陈村邻里纠纷"),
    ] {
        let mut s = d.store();
        let a = actor(&s, person, Role::GridWorker);
        s.create_case(&a, &new_case(&UnitId::new(grid), title), now_ms())?;
    }
    gw1.sync().await?;
    let escalated = escalated_to_county(&gw2, &tstaff, "那陈村土地纠纷", "调解不成").await?;
    until("the county holds the escalation", &[], || {
        holds(&county, &escalated)
    })
    .await?;

    let mut own = figures_of(&township, &tstaff, "haiyan", from, to).await?;
    assert_eq!(own["total"]["received"], 4);
    assert_eq!(own["total"]["escalated_out"], 1);
    let deadline = Instant::now() + Duration::from_secs(60);
    // The county's figures of the township: the township's own.
    loop {
        let there = figures_of(&county, &cstaff, "haiyan", from, to).await?;
        if there["total"] == own["total"] && there["by_unit"] == own["by_unit"] {
            assert_eq!(there["by_category"], own["by_category"]);
            assert_eq!(there["by_month"], own["by_month"]);
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the county's figures of haiyan stayed {there} while the township's are {own}"
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    // The county's own figures: every township case once, the escalation as the county's.
    let whole = figures_of(&county, &cstaff, "taishan", from, to).await?;
    assert_eq!(whole["total"]["received"], 4, "{whole}");
    assert_eq!(whole["total"]["escalated_in"], 1);
    assert_eq!(whole["total"]["escalated_out"], 0);
    assert_eq!(whole["by_unit"]["haiyan"]["received"], 4);
    assert_eq!(whole["total"]["open"], own["total"]["open"]);

    // The county's staff device takes the townships' figures down with its sync: its own
    // figures screen (the store's figures) says what the county's server says, offline too.
    device_figures_are_the_servers(&cstaff, &county, from, to).await?;

    // A new case at the township: the county's figures follow.
    {
        let mut s = gw2.store();
        let a = actor(&s, "gw2", Role::GridWorker);
        s.create_case(
            &a,
            &new_case(&UnitId::new("haiyan-nacheng-g1"), "那陈村灌溉用水纠纷"),
            now_ms(),
        )?;
    }
    gw2.sync().await?;
    own = figures_of(&township, &tstaff, "haiyan", from, to).await?;
    assert_eq!(own["total"]["received"], 5);
    let deadline = Instant::now() + Duration::from_secs(60);
    while figures_of(&county, &cstaff, "haiyan", from, to).await?["total"] != own["total"] {
        anyhow::ensure!(Instant::now() < deadline, "the county did not follow");
        tokio::time::sleep(Duration::from_millis(150)).await;
    }

    // And the device follows, from where it stopped.
    let after = cstaff.store().lower_after()?;
    device_figures_are_the_servers(&cstaff, &county, from, to).await?;
    assert!(cstaff.store().lower_after()? > after);
    // The tiers' figures go down to centre staff only, and a cursor is a count.
    let (status, body) = get(&township, "/v1/figures/lower?after=0", &gw1).await?;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "out_of_scope", "{body}");
    assert_eq!(
        gw1.store().lower_after()?,
        0,
        "a grid worker's device takes none"
    );
    let (status, body) = get(&county, "/v1/figures/lower?after=-1", &cstaff).await?;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("after"),
        "{body}"
    );

    // The county's monthly notice ranks the township with its figures.
    let today = chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .date_naive();
    let first = chrono::Datelike::with_day(&today, 1).unwrap();
    let month_start = first
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_local_timezone(chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .unwrap()
        .timestamp_millis();
    let month = figures_of(&county, &cstaff, "taishan", month_start, now_ms() + 1).await?;
    let xlsx = crate::paperwork::download(
        &county,
        &format!("/v1/reports/monthly.xlsx?unit=taishan&date={first}"),
        &cstaff.client.credentials().token,
    )
    .await?;
    assert_eq!(xlsx.status, 200, "{}", String::from_utf8_lossy(&xlsx.bytes));
    let ranking = crate::paperwork::rows(&xlsx.bytes, "各乡镇（街道）化解情况排名");
    let head: Vec<String> = ranking[0].iter().map(crate::paperwork::text).collect();
    let at = |name: &str| head.iter().position(|h| h == name).unwrap();
    let row = ranking
        .iter()
        .find(|r| crate::paperwork::text(&r[at("乡镇（街道）")]) == "海宴镇")
        .unwrap_or_else(|| panic!("海宴镇 ranked: {ranking:?}"));
    assert_eq!(
        crate::paperwork::number(&row[at("受理")]),
        month["by_unit"]["haiyan"]["received"].as_u64().unwrap()
    );
    assert!(crate::paperwork::number(&row[at("受理")]) >= 5);

    // What a device holding a credential might try. Nothing changes the county's figures.
    let before = figures_of(&county, &cstaff, "taishan", from, to).await?;
    let server_token: String = township.open_db()?.query_row(
        "SELECT value FROM server_meta WHERE key = 'parent.token'",
        [],
        |r| r.get(0),
    )?;
    let day = today.to_string();
    // (No child: a cell of haiyan itself, sent with a time a month ahead.)
    let upload = |unit: &str, child: &str, open: u64, received: u64| {
        let (child, as_of) = match child {
            "" => (unit, now_ms() + 30 * 86_400_000),
            c => (c, now_ms()),
        };
        serde_json::json!({
            "unit": unit,
            "as_of": as_of,
            "days": [{
                "day": day,
                "cells": [{
                    "category": "neighbour",
                    "child": child,
                    "figures": {
                        "received": received, "matters": received, "linked": 0, "resolved": 0,
                        "stabilised": 0, "concluded": 0, "open": open, "overdue": 0,
                        "handled": 0, "handled_on_time": 0, "followed_up": 0, "satisfied": 0,
                        "escalated_out": 0, "escalated_in": 0
                    },
                    "matters": []
                }],
                "cases": (0..received).map(|i| format!("forged-{i}")).collect::<Vec<_>>()
            }]
        })
        .to_string()
    };
    let person = cstaff.client.credentials().token.clone();
    for (what, token, body, status, code, words) in [
        (
            "a person's device",
            &person,
            upload("haiyan", "haiyan-wufeng", 1, 1),
            403,
            "out_of_scope",
            "only the server of haiyan",
        ),
        (
            "the township's server sending the county's figures",
            &server_token,
            upload("taishan", "haiyan", 1, 1),
            403,
            "out_of_scope",
            "this credential is server:haiyan's",
        ),
        (
            "a cell of a grid, not a village",
            &server_token,
            upload("haiyan", "haiyan-wufeng-g1", 1, 1),
            422,
            "bad_document",
            "not haiyan or a unit directly below it",
        ),
        (
            "a case neither open nor handled",
            &server_token,
            upload("haiyan", "haiyan-wufeng", 0, 1),
            422,
            "bad_document",
            "do not make the 1 received",
        ),
        (
            "a time a month ahead, which would shut out every update until then",
            &server_token,
            upload("haiyan", "", 1, 1),
            422,
            "bad_document",
            "more than a day ahead of this server's clock",
        ),
        (
            "not JSON",
            &server_token,
            "{\"unit\": ".to_owned(),
            400,
            "bad_json",
            "not valid JSON",
        ),
    ] {
        let (got, answer) = post_figures(&county, token, &body).await?;
        assert_eq!(got, status, "{what}: {answer}");
        assert_eq!(answer["error"]["code"], code, "{what}: {answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains(words),
            "{what}: {answer}"
        );
        assert_eq!(
            figures_of(&county, &cstaff, "taishan", from, to).await?,
            before,
            "{what} changed nothing"
        );
    }
    Ok(())
}
