//! The app's sessions (what the window's commands call) against a real sync server: a grid
//! worker's phone and the township's desk play a case through the loop, offline and online.

use crate::sync::{new_case, GW, STAFF};
use app_core::model::{
    Action, ActionKind, Assignee, Difficulty, FollowUpMethod, Satisfaction, SessionMode,
};
use app_core::screens::{ActInput, CaseQuery, VisitInput};
use app_core::session::{AppError, Session};
use app_core::workflow::Status;
use std::sync::Arc;
use std::time::Duration;
use system_tests::{now_ms, Server};

fn session(dir: &tempfile::TempDir, name: &str) -> anyhow::Result<Session> {
    Ok(Session::open(dir.path().join(format!("{name}.sqlite3")))?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_sessions_play_a_case_through_the_loop() -> anyhow::Result<()> {
    let server_dir = tempfile::tempdir()?;
    let server = Server::start(server_dir.path(), 30)?;
    let dir = tempfile::tempdir()?;
    let phone = session(&dir, "phone")?;
    let desk = session(&dir, "desk")?;

    // Before enrolment every screen says so, and nothing is written.
    assert!(matches!(phone.today(now_ms()), Err(AppError::NotEnrolled)));
    let bad = phone.enrol(&server.url(), "WRONG-CODE", "手机").await;
    assert!(bad.is_err(), "a wrong code is refused");
    assert!(
        phone.me().is_err(),
        "a refused enrolment leaves the device unenrolled"
    );

    let me = phone
        .enrol(&server.url(), &server.code_for(GW)?, "网格员的手机")
        .await?;
    assert_eq!(me.person.as_str(), GW);
    assert!(!me.at_centre);
    assert_eq!(me.grids.len(), 1, "a grid worker visits their grid");
    desk.enrol(&server.url(), &server.code_for(STAFF)?, "综治中心电脑")
        .await?;
    phone.sync_now().await?;
    desk.sync_now().await?;

    // Today: the grid's households arrived with the first sync.
    let today = phone.today(now_ms())?;
    assert!(
        today.households_total > 0,
        "the grid's households are on the phone"
    );
    let household = today.households[0].id.clone();
    let visited_before = today.visited_today;

    // An all-safe visit, and a visit that finds a dispute.
    phone.record_visit(
        &VisitInput {
            household: household.clone(),
            all_safe: true,
            note: String::new(),
            dispute: None,
        },
        now_ms(),
    )?;
    let second = today.households[1].id.clone();
    let mut dispute = new_case(&me.grids[0].id, "排水沟堵塞纠纷");
    dispute.parties[0].name = "周建国".into();
    let recorded = phone.record_visit(
        &VisitInput {
            household: second.clone(),
            all_safe: false,
            note: "两户因排水沟争吵".into(),
            dispute: Some(dispute),
        },
        now_ms(),
    )?;
    let case = recorded.case.expect("the visit reported a case");
    assert_eq!(phone.today(now_ms())?.visited_today, visited_before + 2);
    let h = phone.household(&second)?;
    assert!(h
        .household
        .visits
        .iter()
        .any(|v| v.note == "两户因排水沟争吵"));
    // Bad visit input is refused and stores nothing.
    let waiting = phone.sync_state()?.waiting;
    assert!(phone
        .record_visit(
            &VisitInput {
                household: household.clone(),
                all_safe: false,
                note: "  ".into(),
                dispute: None,
            },
            now_ms(),
        )
        .is_err());
    assert_eq!(phone.sync_state()?.waiting, waiting);
    assert!(waiting > 0, "the visits wait to be sent");

    // Sync: the desk sees the new report waiting to be assessed.
    let s = phone.sync_now().await?;
    assert_eq!(s.waiting, 0, "{s:?}");
    assert!(s.error.is_none());
    desk.sync_now().await?;
    let today = desk.today(now_ms())?;
    assert!(
        today.to_assess.iter().any(|r| r.summary.id == case),
        "the township's queue holds the new report"
    );
    let found = desk.cases(
        &CaseQuery {
            search: Some("周建国".into()),
            ..Default::default()
        },
        now_ms(),
    )?;
    assert_eq!(found.len(), 1);
    let found = desk.cases(
        &CaseQuery {
            search: Some("排水沟".into()),
            status: Some(Status::Reported),
            ..Default::default()
        },
        now_ms(),
    )?;
    assert!(found.iter().any(|r| r.summary.id == case), "title search");

    // Assess and assign from the roster.
    let screen = desk.case(&case, now_ms())?;
    assert!(
        screen.allowed.contains(&ActionKind::Assess),
        "{:?}",
        screen.allowed
    );
    let before = desk.figures(0, i64::MAX, now_ms())?.report.total;
    desk.act(
        &ActInput {
            case: case.clone(),
            action: Action::Assess {
                difficulty: Difficulty::Simple,
                risks: vec![],
                note: "邻里纠纷，简单".into(),
            },
        },
        now_ms(),
    )?;
    let screen = desk.case(&case, now_ms())?;
    let mediator = screen
        .roster
        .first()
        .expect("the township has mediators")
        .clone();
    let screen = desk.act(
        &ActInput {
            case: case.clone(),
            action: Action::Assign {
                to: Assignee::Mediator {
                    person: mediator.id.clone(),
                    name: String::new(),
                },
                chosen_by_parties: true,
                note: "双方共同选择".into(),
            },
        },
        now_ms(),
    )?;
    assert_eq!(screen.row.summary.status, Status::Assigned);
    assert_eq!(
        screen.row.summary.assignee.as_deref(),
        Some(mediator.name.as_str()),
        "the shell names the mediator from the directory"
    );
    // A step the workflow does not allow now is refused with its reason, nothing stored.
    let waiting = desk.sync_state()?.waiting;
    let refused = desk.act(
        &ActInput {
            case: case.clone(),
            action: Action::FollowUp {
                method: FollowUpMethod::Phone,
                satisfaction: Satisfaction::Satisfied,
                relapsed: false,
                note: String::new(),
            },
        },
        now_ms(),
    );
    let refused = refused.expect_err("a follow-up before any resolution is refused");
    assert_eq!(
        refused.zh(),
        "不允许：案件当前为“已分流”，不能回访",
        "the window shows why, in Chinese"
    );
    assert!(refused.en().contains("cannot"), "{}", refused.en());
    assert_eq!(desk.sync_state()?.waiting, waiting);
    desk.sync_now().await?;

    // The phone syncs and sees the assignment.
    phone.sync_now().await?;
    let seen = phone.case(&case, now_ms())?;
    assert_eq!(seen.row.summary.status, Status::Assigned);
    assert_eq!(
        seen.row.summary.assignee.as_deref(),
        Some(mediator.name.as_str())
    );

    // Resolution and follow-up at the desk; the figures move.
    for action in [
        Action::RecordSession {
            mode: SessionMode::OnSite,
            note: "现场调解".into(),
        },
        Action::Resolve {
            agreement: None,
            note: "双方达成一致".into(),
        },
        Action::FollowUp {
            method: FollowUpMethod::Phone,
            satisfaction: Satisfaction::Satisfied,
            relapsed: false,
            note: "电话回访，满意".into(),
        },
    ] {
        desk.act(
            &ActInput {
                case: case.clone(),
                action,
            },
            now_ms(),
        )?;
    }
    let after = desk.figures(0, i64::MAX, now_ms())?.report.total;
    assert_eq!(after.received, before.received);
    assert_eq!(after.resolved, before.resolved + 1);
    assert_eq!(after.followed_up, before.followed_up + 1);
    let timeline = desk.case(&case, now_ms())?.timeline;
    assert_eq!(
        timeline.len(),
        6,
        "report, assess, assign, session, resolve, follow-up"
    );
    assert_eq!(timeline[0].entry.actor.person.as_str(), GW);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_background_sync_catches_up_after_the_server_returns() -> anyhow::Result<()> {
    let server_dir = tempfile::tempdir()?;
    let mut server = Server::start(server_dir.path(), 10)?;
    let dir = tempfile::tempdir()?;
    let phone = Arc::new(session(&dir, "phone")?);
    let me = phone
        .enrol(&server.url(), &server.code_for(GW)?, "手机")
        .await?;
    phone.sync_now().await?;

    // The background sync runs as in the app: every 200 ms and on every write.
    let states = Arc::new(std::sync::Mutex::new(Vec::new()));
    let task = {
        let (phone, states) = (phone.clone(), states.clone());
        tokio::spawn(async move {
            phone
                .run_sync(Duration::from_millis(200), |s| {
                    states.lock().unwrap().push(s)
                })
                .await
        })
    };

    server.kill();
    let case = phone.report_case(&new_case(&me.grids[0].id, "断网时上报的纠纷"), now_ms())?;
    // Offline: the report is saved and waits; the sync line says why.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let s = phone.sync_state()?;
        if s.error.is_some() && s.waiting > 0 {
            assert!(s.retry_at.is_some(), "a retry is scheduled: {s:?}");
            assert!(s.offline, "no server answered: {s:?}");
            assert!(
                s.error_zh
                    .as_deref()
                    .is_some_and(|e| e.contains("无法连接服务器")),
                "{s:?}"
            );
            break;
        }
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "no failure seen: {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        phone.case(&case, now_ms())?.row.summary.status,
        Status::Reported
    );

    server.restart()?;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let s = phone.sync_state()?;
        if s.waiting == 0 && s.error.is_none() {
            assert!(!s.offline && s.error_zh.is_none());
            break;
        }
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "never caught up: {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    task.abort();
    let ids = server.store()?.list(&Default::default(), now_ms())?;
    assert!(
        ids.iter().any(|s| s.id == case),
        "the server holds the offline report"
    );
    assert!(
        states.lock().unwrap().iter().any(|s| s.error.is_some()),
        "the window was told about the failure"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_concurrent_moves_show_as_a_conflict_that_staff_settle() -> anyhow::Result<()> {
    let server_dir = tempfile::tempdir()?;
    let server = Server::start(server_dir.path(), 10)?;
    let dir = tempfile::tempdir()?;
    let phone = session(&dir, "phone")?;
    let desk = session(&dir, "desk")?;
    let me = phone
        .enrol(&server.url(), &server.code_for(GW)?, "手机")
        .await?;
    desk.enrol(&server.url(), &server.code_for(STAFF)?, "电脑")
        .await?;
    let case = phone.report_case(&new_case(&me.grids[0].id, "院墙倒塌赔偿纠纷"), now_ms())?;
    phone.sync_now().await?;
    desk.sync_now().await?;

    // Without syncing in between: the grid worker settles it on the spot, while the township
    // assesses it and assigns a mediator.
    phone.act(
        &ActInput {
            case: case.clone(),
            action: Action::Resolve {
                agreement: None,
                note: "现场调解，双方和解".into(),
            },
        },
        now_ms(),
    )?;
    desk.act(
        &ActInput {
            case: case.clone(),
            action: Action::Assess {
                difficulty: Difficulty::General,
                risks: vec![],
                note: "需调解员介入".into(),
            },
        },
        now_ms(),
    )?;
    let mediator = desk.case(&case, now_ms())?.roster[0].id.clone();
    desk.act(
        &ActInput {
            case: case.clone(),
            action: Action::Assign {
                to: Assignee::Mediator {
                    person: mediator,
                    name: String::new(),
                },
                chosen_by_parties: false,
                note: String::new(),
            },
        },
        now_ms(),
    )?;
    phone.sync_now().await?;
    desk.sync_now().await?;
    phone.sync_now().await?;

    // Both replicas fold the same history the same way, and flag what needs a person.
    let on_desk = desk.case(&case, now_ms())?;
    let on_phone = phone.case(&case, now_ms())?;
    assert_eq!(on_desk.state, on_phone.state, "the replicas converge");
    assert_eq!(on_desk.timeline.len(), 4);
    let flagged: Vec<_> = on_desk.timeline.iter().filter(|r| r.conflict).collect();
    assert!(
        !flagged.is_empty(),
        "the concurrent moves are flagged: {:?}",
        on_desk.timeline
    );
    assert!(desk.today(now_ms())?.conflicts >= 1);
    let listed = desk.cases(
        &CaseQuery {
            conflicts_only: true,
            ..Default::default()
        },
        now_ms(),
    )?;
    assert!(listed.iter().any(|r| r.summary.id == case));
    assert!(
        on_desk.allowed.contains(&ActionKind::SettleConflict),
        "{:?}",
        on_desk.allowed
    );

    // Staff look at it and settle it; the flag goes, the history stays.
    let settled = desk.act(
        &ActInput {
            case: case.clone(),
            action: Action::SettleConflict {
                entries: flagged.iter().map(|r| r.entry.id.clone()).collect(),
                note: "已与网格员核实，按调解员分流继续办理".into(),
            },
        },
        now_ms(),
    )?;
    assert!(settled.timeline.iter().all(|r| !r.conflict));
    assert_eq!(settled.timeline.len(), 5);
    assert_eq!(settled.row.summary.conflicts, 0);
    Ok(())
}

/// A grid worker's week with no signal: disputes reported in the grid and one at the level of the
/// village around it, none assessed. On day 5 the village-level case is on the worker's overdue
/// list and today's overdue section like the rest; each section of today says how many it holds
/// in all, its rows the most urgent; when the network is back, the sync empties the store's
/// write-ahead log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_a_week_offline_keeps_every_case_of_the_worker_in_view() -> anyhow::Result<()> {
    const DAY: i64 = 86_400_000;
    let server_dir = tempfile::tempdir()?;
    let mut server = Server::start(server_dir.path(), 5)?;
    let dir = tempfile::tempdir()?;
    let phone = session(&dir, "phone")?;
    let me = phone
        .enrol(&server.url(), &server.code_for(GW)?, "网格员的手机")
        .await?;
    phone.sync_now().await?;
    let grid = me.grids[0].id.clone();
    let village = {
        let store = phone.store().lock().unwrap_or_else(|e| e.into_inner());
        store
            .directory()
            .unit(&grid)
            .and_then(|u| u.parent.clone())
            .expect("the grid lies in a village")
    };
    server.kill();

    // Day 0: 25 disputes in the grid, then one of the whole village, an hour later.
    let day0 = now_ms();
    let mut in_grid = Vec::new();
    for i in 0..25 {
        in_grid.push(phone.report_case(&new_case(&grid, &format!("网格纠纷{i}")), day0)?);
    }
    let village_case =
        phone.report_case(&new_case(&village, "丰江村灌溉用水纠纷"), day0 + 3_600_000)?;

    // Day 5, still offline: none was assessed within its three days.
    let day5 = day0 + 5 * DAY;
    let overdue = phone.cases(
        &CaseQuery {
            due: Some(app_core::deadline::DueState::Overdue),
            limit: 1_000,
            ..CaseQuery::default()
        },
        day5,
    )?;
    assert!(
        overdue.iter().any(|r| r.summary.id == village_case),
        "the village-level report is on the worker's overdue list"
    );
    let today = phone.today(day5)?;
    assert_eq!(today.counts.overdue, overdue.len(), "the true count");
    assert!(today.counts.overdue >= 26, "{}", today.counts.overdue);
    assert_eq!(today.overdue.len(), 20, "a few rows, the rest a tap away");
    let fell: Vec<i64> = today.overdue.iter().map(|r| r.summary.due_at).collect();
    assert!(
        fell.windows(2).all(|w| w[0] >= w[1]),
        "the cases that fell overdue last come first"
    );
    assert!(
        today.overdue.iter().any(|r| r.summary.id == village_case),
        "the village-level report, the newest overdue, is in today's overdue section"
    );
    assert_eq!(today.counts.mine, 26);
    assert_eq!(today.mine.len(), 20);
    let deadlines: Vec<i64> = today.mine.iter().map(|r| r.summary.due_at).collect();
    assert!(
        deadlines.windows(2).all(|w| w[0] <= w[1]),
        "my cases, the earliest deadline first"
    );
    assert!(in_grid.contains(&today.mine[0].summary.id));

    // The network is back: one sync sends the week and empties the log.
    let wal = |phone: &Session| {
        phone
            .store()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .wal_bytes()
    };
    assert!(wal(&phone) > 0, "the week's writes are in the log");
    server.restart()?;
    let state = phone.sync_now().await?;
    assert_eq!(state.waiting, 0, "{state:?}");
    assert_eq!(wal(&phone), 0, "the sync emptied the write-ahead log");
    Ok(())
}

/// With no signal the background sync backs off (here two minutes): saves meanwhile do not make
/// it try again, and when the server can be reached again its probe notices and the outbox goes
/// up within seconds, long before the try the backoff set, with nobody tapping anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_background_sync_notices_the_network_coming_back() -> anyhow::Result<()> {
    let server_dir = tempfile::tempdir()?;
    let mut server = Server::start(server_dir.path(), 5)?;
    let dir = tempfile::tempdir()?;
    let phone = Arc::new(session(&dir, "phone")?);
    let me = phone
        .enrol(&server.url(), &server.code_for(GW)?, "手机")
        .await?;
    phone.sync_now().await?;
    let grid = me.grids[0].id.clone();
    server.kill();
    phone.report_case(&new_case(&grid, "断网时上报的纠纷"), now_ms())?;

    // Failed tries, as the sync line reports them.
    let failures = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let task = {
        let (phone, failures) = (phone.clone(), failures.clone());
        tokio::spawn(async move {
            let backoff =
                app_core::client::Backoff::new(Duration::from_secs(120), Duration::from_secs(300));
            phone
                .run_sync_with(
                    Duration::from_secs(3_600),
                    backoff,
                    Duration::from_millis(300),
                    |s| {
                        if !s.syncing && s.error.is_some() {
                            failures.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        }
                    },
                )
                .await
        })
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let retry_at = loop {
        if let Some(at) = phone.sync_state()?.retry_at {
            break at;
        }
        anyhow::ensure!(std::time::Instant::now() < deadline, "no failed try");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(retry_at > now_ms() + 60_000, "the next try is minutes away");
    // A save while backing off waits with the rest.
    phone.report_case(&new_case(&grid, "又一件"), now_ms())?;

    server.restart()?;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let s = phone.sync_state()?;
        if s.waiting == 0 && s.error.is_none() {
            break;
        }
        anyhow::ensure!(std::time::Instant::now() < deadline, "not synced: {s:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        now_ms() < retry_at,
        "the probe found the server before the backoff's try was due"
    );
    assert_eq!(
        failures.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the save made no try of its own while the sync was backing off"
    );
    task.abort();
    Ok(())
}
