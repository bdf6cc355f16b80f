//! Devices and a real sync server on loopback: enrolment, offline edits, convergence, scope.

use anyhow::Context;
use app_core::document::{CaseEdit, DocKind};
use app_core::ids::{CaseId, PersonId, UnitId};
use app_core::model::{Action, Actor, Assignee, Difficulty, NewCase, NewParty, PartyRole, Source};
use app_core::org::{Directory, Role};
use app_core::store::Store;
use app_core::summary::CaseSummary;
use std::collections::BTreeSet;
use system_tests::{now_ms, Device, Server};

pub(crate) const GW: &str = "haiyan-fengjiang-g1-gw";
pub(crate) const STAFF: &str = "haiyan-staff1";

pub(crate) fn actor(store: &Store, person: &str, role: Role) -> Actor {
    let p = store
        .directory()
        .person(&PersonId::new(person))
        .unwrap_or_else(|| panic!("{person} is in the directory"));
    Actor {
        person: p.id.clone(),
        name: p.name.clone(),
        role,
        unit: p.unit.clone(),
    }
}

pub(crate) fn new_case(grid: &UnitId, title: &str) -> NewCase {
    NewCase {
        title: title.to_owned(),
        category: "neighbour".to_owned(),
        narrative: "两户因排水沟堵塞发生争吵，网格员入户了解情况。".to_owned(),
        place_unit: grid.clone(),
        address: "海宴镇丰江村三巷8号".to_owned(),
        gps: None,
        parties: vec![
            NewParty {
                name: "陈大文".to_owned(),
                role: PartyRole::Applicant,
                phone: Some("13800138000".to_owned()),
                id_number: None,
            },
            NewParty {
                name: "李秀英".to_owned(),
                role: PartyRole::Respondent,
                phone: None,
                id_number: None,
            },
        ],
        source: Source::GridVisit,
    }
}

/// Every case summary the server holds, read from its database.
pub(crate) fn server_summaries(server: &Server) -> anyhow::Result<Vec<CaseSummary>> {
    let conn = server.open_db()?;
    let mut stmt = conn.prepare("SELECT summary FROM cases")?;
    let rows = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.iter()
        .map(|j| Ok(serde_json::from_str::<CaseSummary>(j)?))
        .collect()
}

/// The ids of the cases a person may see, by the scope rule, computed independently of the
/// server's code from the summaries.
fn visible_to(summaries: &[CaseSummary], directory: &Directory, person: &str) -> BTreeSet<String> {
    let p = directory.person(&PersonId::new(person)).expect("person");
    summaries
        .iter()
        .filter(|s| {
            s.reporter == p.id
                || s.assignee_people.contains(&p.id)
                || ((p.roles.contains(&Role::GridWorker) || p.roles.iter().any(|r| r.is_centre()))
                    && s.units.contains(&p.unit))
        })
        .map(|s| s.id.to_string())
        .collect()
}

fn summary(device: &Device, id: &CaseId) -> anyhow::Result<CaseSummary> {
    Ok(device.store().summary(id)?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_devices_converge_and_scopes_hold() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = Server::start(dir.path(), 40)?;
    assert!(
        server.codes.contains_key(GW),
        "codes printed: {:?}",
        server.codes
    );

    // Enrol a grid worker with the code printed at start, another grid worker and a staff member.
    let gw = Device::enrol_with(&server, GW, &server.codes[GW]).await?;
    let staff = Device::enrol(&server, STAFF).await?;
    let directory = gw.store().directory().clone();
    let haiyan = UnitId::new("haiyan");
    let other_gw = directory
        .people()
        .find(|p| {
            p.roles.contains(&Role::GridWorker)
                && directory.is_within(&p.unit, &haiyan)
                && p.id.as_str() != GW
        })
        .context("another grid worker")?
        .id
        .to_string();
    let gw2 = Device::enrol(&server, &other_gw).await?;

    // First sync: each device receives exactly what its scope allows.
    for d in [&gw, &staff, &gw2] {
        let p = d.sync().await?;
        assert_eq!(p.rejected, vec![], "{}", d.person);
    }
    let summaries = server_summaries(&server)?;
    for d in [&gw, &staff, &gw2] {
        let held: BTreeSet<String> = d.case_ids()?.into_iter().collect();
        let expected = visible_to(&summaries, &directory, &d.person);
        assert_eq!(held, expected, "{} holds exactly its scope", d.person);
    }
    assert!(!gw.case_ids()?.is_empty(), "the grid has demo cases");
    assert!(
        staff.case_ids()?.len() > gw.case_ids()?.len(),
        "the centre sees more than one grid"
    );

    // The grid worker reports a dispute offline; it reaches the centre on the next syncs.
    let grid = directory
        .person(&PersonId::new(GW))
        .context("gw")?
        .unit
        .clone();
    let case = {
        let mut s = gw.store();
        let a = actor(&s, GW, Role::GridWorker);
        s.create_case(&a, &new_case(&grid, "丰江村排水沟纠纷"), now_ms())?
    };
    let up = gw.sync().await?;
    assert!(
        up.sent_changes >= 2,
        "the case and its contacts went up: {up:?}"
    );
    assert_eq!(
        gw.store().outbox_len()?,
        0,
        "acknowledged changes leave the outbox"
    );
    staff.sync().await?;
    assert_eq!(summary(&staff, &case)?.title, "丰江村排水沟纠纷");
    assert!(!gw2.case_ids()?.contains(&case.to_string()));
    gw2.sync().await?;
    assert!(
        !gw2.case_ids()?.contains(&case.to_string()),
        "another grid's worker never receives it"
    );
    // Contacts travel with the case to the centre.
    assert!(staff.store().case(&case)?.contacts.is_some());

    // Offline on both sides: the grid worker adds to the narrative, the centre assesses.
    {
        let mut s = gw.store();
        let a = actor(&s, GW, Role::GridWorker);
        let edit = CaseEdit {
            narrative: Some(
                "两户因排水沟堵塞发生争吵，网格员入户了解情况。（补充）雨季前需清淤。".to_owned(),
            ),
            ..CaseEdit::default()
        };
        s.edit(&case, &a, &edit, now_ms())?;
    }
    {
        let mut s = staff.store();
        let a = actor(&s, STAFF, Role::CentreStaff);
        s.act(
            &case,
            &a,
            Action::Assess {
                difficulty: Difficulty::Simple,
                risks: vec![],
                note: "简单纠纷，3日内化解。".to_owned(),
            },
            now_ms(),
        )?;
    }
    staff.sync().await?;
    gw.sync().await?;
    staff.sync().await?;
    let a = staff.store().case(&case)?;
    let b = gw.store().case(&case)?;
    assert_eq!(a.document, b.document, "both replicas converge");
    assert!(a.document.narrative.as_str().ends_with("雨季前需清淤。"));
    assert_eq!(a.summary.difficulty, Some(Difficulty::Simple));
    assert_eq!(
        staff.store().heads(DocKind::Case, case.as_str())?,
        gw.store().heads(DocKind::Case, case.as_str())?
    );

    // The centre assigns it to a mediator, whose phone then receives it (and only its cases).
    let mediator = directory
        .people()
        .find(|p| p.roles.contains(&Role::Mediator) && p.unit == haiyan)
        .context("a mediator")?
        .clone();
    {
        let mut s = staff.store();
        let a = actor(&s, STAFF, Role::CentreStaff);
        s.act(
            &case,
            &a,
            Action::Assign {
                to: Assignee::Mediator {
                    person: mediator.id.clone(),
                    name: mediator.name.clone(),
                },
                chosen_by_parties: false,
                note: "按邻里纠纷分流。".to_owned(),
            },
            now_ms(),
        )?;
    }
    staff.sync().await?;
    let med = Device::enrol(&server, mediator.id.as_str()).await?;
    med.sync().await?;
    assert!(med.case_ids()?.contains(&case.to_string()));
    let summaries = server_summaries(&server)?;
    let held: BTreeSet<String> = med.case_ids()?.into_iter().collect();
    assert_eq!(
        held,
        visible_to(&summaries, &directory, mediator.id.as_str())
    );
    gw.sync().await?;
    assert_eq!(
        summary(&gw, &case)?.assignee.as_deref(),
        Some(mediator.name.as_str()),
        "the reporter sees the assignment"
    );

    // An idle sync is one small round trip each way.
    let idle = gw.sync().await?;
    assert_eq!(idle.rounds, 1);
    assert!(idle.bytes_up < 200 && idle.bytes_down < 200, "{idle:?}");
    Ok(())
}

async fn get_json(
    server: &Server,
    path: &str,
    token: &str,
) -> anyhow::Result<(u16, serde_json::Value)> {
    let resp = reqwest::Client::new()
        .get(format!("{}{path}", server.url()))
        .bearer_auth(token)
        .send()
        .await?;
    let status = resp.status().as_u16();
    Ok((status, resp.json().await?))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_read_endpoints_follow_scope() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = Server::start(dir.path(), 30)?;
    let staff = Device::enrol(&server, STAFF).await?;
    let gw = Device::enrol(&server, GW).await?;
    let st = staff.client.credentials().token.clone();
    let gt = gw.client.credentials().token.clone();

    // The centre's list is its township's cases; the grid worker's is its grid's.
    let (status, all) = get_json(&server, "/v1/cases?limit=500", &st).await?;
    assert_eq!(status, 200, "{all}");
    let all = all.as_array().cloned().unwrap_or_default();
    assert_eq!(all.len(), 30, "every demo case is the township's");
    let (_, mine) = get_json(&server, "/v1/cases?limit=500", &gt).await?;
    let mine = mine.as_array().cloned().unwrap_or_default();
    assert!(mine.len() < all.len());
    for c in &mine {
        let units: Vec<&str> = c["units"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|u| u.as_str())
            .collect();
        assert!(
            units.contains(&"haiyan-fengjiang-g1") || c["reporter"] == GW,
            "{c}"
        );
    }
    // Filters: status and overdue.
    let (_, closed) = get_json(&server, "/v1/cases?status=closed&limit=500", &st).await?;
    for c in closed.as_array().unwrap() {
        assert_eq!(c["status"], "Closed");
    }
    let (status, bad) = get_json(&server, "/v1/cases?status=nonsense", &st).await?;
    assert_eq!(status, 400);
    assert_eq!(bad["error"]["code"], "bad_json");

    // One case with its timeline, for the centre; not for another grid's worker.
    let outside = all
        .iter()
        .find(|c| !mine.iter().any(|m| m["id"] == c["id"]))
        .expect("a case outside the grid");
    let id = outside["id"].as_str().unwrap();
    let (status, one) = get_json(&server, &format!("/v1/cases/{id}"), &st).await?;
    assert_eq!(status, 200);
    assert!(!one["document"]["timeline"].as_array().unwrap().is_empty());
    let (status, refused) = get_json(&server, &format!("/v1/cases/{id}"), &gt).await?;
    assert_eq!(status, 404);
    assert_eq!(refused["error"]["code"], "unknown_doc");

    // Figures: the township's for its staff, refused to a grid worker.
    let from = 0;
    let (status, fig) = get_json(
        &server,
        &format!("/v1/figures?unit=haiyan&from={from}"),
        &st,
    )
    .await?;
    assert_eq!(status, 200, "{fig}");
    assert_eq!(fig["total"]["received"], 30);
    let (status, refused) = get_json(&server, "/v1/figures?unit=haiyan", &gt).await?;
    assert_eq!(status, 403);
    assert_eq!(refused["error"]["code"], "out_of_scope");
    Ok(())
}

/// Two devices upload to the same case at the same moment, again and again: the server checks
/// each against the state the other just wrote, and every edit lands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_concurrent_uploads_to_one_case_all_land() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = Server::start(dir.path(), 4)?;
    let gw = Device::enrol(&server, GW).await?;
    let staff = Device::enrol(&server, STAFF).await?;
    let grid = UnitId::new("haiyan-fengjiang-g1");
    let case = {
        let mut s = gw.store();
        let a = actor(&s, GW, Role::GridWorker);
        s.create_case(&a, &new_case(&grid, "丰江村围墙纠纷"), now_ms())?
    };
    gw.sync().await?;
    staff.sync().await?;
    for round in 0..6 {
        {
            let mut s = gw.store();
            let a = actor(&s, GW, Role::GridWorker);
            let narrative = format!(
                "{}（网格员补充{round}）",
                s.case(&case)?.document.narrative.as_str()
            );
            s.edit(
                &case,
                &a,
                &CaseEdit {
                    narrative: Some(narrative),
                    ..CaseEdit::default()
                },
                now_ms(),
            )?;
        }
        {
            let mut s = staff.store();
            let a = actor(&s, STAFF, Role::CentreStaff);
            let title = format!("丰江村围墙纠纷（{round}）");
            s.edit(
                &case,
                &a,
                &CaseEdit {
                    title: Some(title),
                    ..CaseEdit::default()
                },
                now_ms(),
            )?;
        }
        let (a, b) = tokio::join!(gw.sync(), staff.sync());
        a?;
        b?;
    }
    gw.sync().await?;
    staff.sync().await?;
    gw.sync().await?;
    let here = gw.store().case(&case)?;
    let there = staff.store().case(&case)?;
    assert_eq!(here.document, there.document);
    assert_eq!(here.document.title.as_str(), "丰江村围墙纠纷（5）");
    for round in 0..6 {
        assert!(here
            .document
            .narrative
            .as_str()
            .contains(&format!("（网格员补充{round}）")));
    }
    // One report and twelve edits, each once.
    assert_eq!(here.document.timeline.len(), 13);
    Ok(())
}

/// Four devices edit shared cases offline in random rounds and sync in random orders and
/// subsets: all converge, and every edit each made (a unique token in the narrative, every
/// timeline entry) is in the result everywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_random_offline_edits_in_random_orders_converge() -> anyhow::Result<()> {
    use rand::{Rng, SeedableRng};
    let seed: u64 = std::env::var("SYNC_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("SYNC_SEED={seed}");
    let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
    let dir = tempfile::tempdir()?;
    let server = Server::start(dir.path(), 4)?;
    let gw = Device::enrol(&server, GW).await?;
    let staff = Device::enrol(&server, STAFF).await?;
    let staff2 = Device::enrol(&server, "haiyan-staff2").await?;
    let gw_b = Device::enrol(&server, GW).await?; // the same worker's second phone
    let devices = [&gw, &staff, &staff2, &gw_b];
    let roles = [
        Role::GridWorker,
        Role::CentreStaff,
        Role::CentreStaff,
        Role::GridWorker,
    ];
    let people = [GW, STAFF, "haiyan-staff2", GW];
    let grid = UnitId::new("haiyan-fengjiang-g1");
    let mut cases = Vec::new();
    for i in 0..3 {
        let mut s = gw.store();
        let a = actor(&s, GW, Role::GridWorker);
        cases.push(s.create_case(&a, &new_case(&grid, &format!("随机测试纠纷{i}")), now_ms())?);
    }
    for d in devices {
        d.sync().await?;
    }
    let mut tokens = Vec::new();
    for round in 0..6 {
        for (k, d) in devices.iter().enumerate() {
            if !rng.gen_bool(0.7) {
                continue;
            }
            let case = &cases[rng.gen_range(0..cases.len())];
            let mut s = d.store();
            if s.summary(case).is_err() {
                continue;
            }
            let a = actor(&s, people[k], roles[k]);
            let token = format!("〔{round}-{k}〕");
            let narrative = format!("{}{token}", s.case(case)?.document.narrative.as_str());
            s.edit(
                case,
                &a,
                &CaseEdit {
                    narrative: Some(narrative),
                    ..CaseEdit::default()
                },
                now_ms(),
            )?;
            tokens.push((case.clone(), token));
            if roles[k] == Role::CentreStaff && rng.gen_bool(0.5) {
                // A workflow move when the case allows it; concurrent moves are folded, not lost.
                let _ = s.act(
                    case,
                    &a,
                    Action::Assess {
                        difficulty: Difficulty::General,
                        risks: vec![],
                        note: format!("第{round}轮研判"),
                    },
                    now_ms(),
                );
            }
        }
        // A random subset syncs, in a random order.
        let mut order: Vec<usize> = (0..devices.len()).filter(|_| rng.gen_bool(0.6)).collect();
        for i in (1..order.len()).rev() {
            order.swap(i, rng.gen_range(0..=i));
        }
        for i in order {
            devices[i].sync().await?;
        }
    }
    for _ in 0..2 {
        for d in devices {
            d.sync().await?;
        }
    }
    for case in &cases {
        let reference = gw.store().case(case)?;
        for d in devices {
            let here = d.store().case(case)?;
            assert_eq!(
                here.document, reference.document,
                "{} converged (seed {seed})",
                d.person
            );
            assert_eq!(here.summary, reference.summary);
        }
        for (c, token) in &tokens {
            if c == case {
                assert!(
                    reference
                        .document
                        .narrative
                        .as_str()
                        .contains(token.as_str()),
                    "edit {token} survived (seed {seed})"
                );
            }
        }
    }
    Ok(())
}

/// A grid worker and the township's staff visit the same household while apart: both open the
/// household's first volume of visits on their own, and after syncing both visits are on the
/// server and on both devices, in one volume.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_visits_made_apart_to_one_household_both_survive() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = Server::start(dir.path(), 4)?;
    let gw = Device::enrol(&server, GW).await?;
    let staff = Device::enrol(&server, STAFF).await?;
    let grid = UnitId::new("haiyan-fengjiang-g1");
    let household = {
        let mut s = gw.store();
        let me = actor(&s, GW, Role::GridWorker);
        s.create_household(&me, &grid, "黄家强", "丰江村五巷2号", 5, now_ms())?
    };
    gw.sync().await?;
    staff.sync().await?;
    assert!(
        staff.store().has_household(&household)?,
        "the staff hold the household"
    );
    // Apart: each records a visit, each opening volume 1.
    let visit = |d: &Device, person: &str, role: Role, note: &str| -> anyhow::Result<()> {
        let mut s = d.store();
        let me = actor(&s, person, role);
        s.record_visit(
            &household,
            &me,
            app_core::document::VisitOutcome::Noted,
            note,
            now_ms(),
        )?;
        Ok(())
    };
    visit(
        &gw,
        GW,
        Role::GridWorker,
        "网格员走访：宅基地边界有争议苗头",
    )?;
    visit(
        &staff,
        STAFF,
        Role::CentreStaff,
        "综治中心回访：双方情绪平稳",
    )?;
    gw.sync().await?;
    staff.sync().await?;
    gw.sync().await?;
    let notes = |s: &Store| -> anyhow::Result<BTreeSet<String>> {
        Ok(s.household(&household)?
            .visits
            .into_iter()
            .map(|v| v.note)
            .collect())
    };
    let both: BTreeSet<String> = [
        "网格员走访：宅基地边界有争议苗头",
        "综治中心回访：双方情绪平稳",
    ]
    .map(str::to_owned)
    .into();
    assert_eq!(notes(&gw.store())?, both, "the grid worker's phone");
    assert_eq!(notes(&staff.store())?, both, "the centre's desk");
    assert_eq!(notes(&server.store()?)?, both, "the server");
    for d in [&gw, &staff] {
        let s = d.store();
        assert_eq!(s.visit_volumes(&household)?, vec![1], "one volume, not two");
        let row = s
            .households(&grid)?
            .into_iter()
            .find(|r| r.id == household)
            .context("the household's row")?;
        assert_eq!(row.visits, 2, "the row counts both visits");
    }
    Ok(())
}
