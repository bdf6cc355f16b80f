//! Several sync-server processes serving one centre from one PostgreSQL database (a throwaway
//! cluster this test process starts): the log's order, and devices spread over two processes.

use crate::sync::{actor, new_case, server_summaries, GW, STAFF};
use app_core::ids::UnitId;
use app_core::model::{Action, Difficulty};
use app_core::org::Role;
use app_core::store::SharedLog;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use sync_server::pg::{PgLog, Postgres};
use system_tests::{now_ms, pg_cluster, shared_engine_env, Device, Server};

/// Waits until `f` holds, checking every 20 ms, for at most `secs` seconds.
fn wait_until(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The data directory `dir` of another process of the centre served from `with`: it has the
/// centre's key, as an operator copies it to each node.
fn with_key_of(with: &std::path::Path, dir: &std::path::Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::copy(with.join("server.key"), dir.join("server.key"))?;
    Ok(())
}

/// Runs SQL in the cluster with psql; its rows as text lines.
fn psql(database: &str, sql: &str) -> Vec<String> {
    let out = std::process::Command::new("psql")
        .args(["-v", "ON_ERROR_STOP=1", "-At", "-d", database, "-c", sql])
        .envs(&pg_cluster().env)
        .output()
        .expect("run psql");
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The classic trap of cursors over sequence numbers taken before commit, reproduced on a
/// plain table with a sequence; then the same race against the centre's log, where it cannot
/// happen.
#[test]
fn pg_a_reader_never_moves_its_cursor_past_an_entry_still_being_committed() {
    let url = pg_cluster().database("cursor_trap");
    psql(
        "cursor_trap",
        "CREATE TABLE naive (seq bigserial PRIMARY KEY, body text NOT NULL)",
    );
    // Writer 1 takes number 1 and has not committed; writer 2 takes 2 and commits.
    let mut first = std::process::Command::new("psql")
        .args(["-v", "ON_ERROR_STOP=1", "-d", "cursor_trap"])
        .envs(&pg_cluster().env)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write;
    let mut stdin = first.stdin.take().unwrap();
    writeln!(stdin, "BEGIN; INSERT INTO naive(body) VALUES ('first');").unwrap();
    stdin.flush().unwrap();
    wait_until(30, "writer 1 holds number 1, uncommitted", || {
        psql(
            "cursor_trap",
            "SELECT count(*) FROM pg_stat_activity
             WHERE datname = 'cursor_trap' AND state = 'idle in transaction'",
        ) == ["1"]
    });
    psql("cursor_trap", "INSERT INTO naive(body) VALUES ('second')");
    // A reader sees 2, and moves its cursor to it.
    let seen = psql(
        "cursor_trap",
        "SELECT seq FROM naive WHERE seq > 0 ORDER BY seq",
    );
    assert_eq!(seen, ["2"], "the reader sees 2 while 1 is not committed");
    let cursor = 2;
    writeln!(stdin, "COMMIT;").unwrap();
    drop(stdin);
    assert!(first.wait().unwrap().success());
    let after = psql(
        "cursor_trap",
        &format!("SELECT seq FROM naive WHERE seq > {cursor} ORDER BY seq"),
    );
    assert_eq!(
        after,
        Vec::<String>::new(),
        "entry 1 is committed now, below the reader's cursor: it is never received"
    );
    assert_eq!(psql("cursor_trap", "SELECT count(*) FROM naive"), ["2"]);

    // The centre's log: writer 1 holds the lock, writer 2 waits for it, a reader sees
    // neither; once 1 commits, 2 follows it, and the reader sees them in order.
    let pg = Postgres::connect(&url).unwrap();
    let schema = "test schema";
    let mut w1 = PgLog::open(&pg, "taishan", "haiyan", schema).unwrap();
    let mut reader = PgLog::open(&pg, "taishan", "haiyan", schema).unwrap();
    assert_eq!(w1.begin(0).unwrap(), vec![]);
    let pg2 = pg.clone();
    let second = std::thread::spawn(move || {
        let mut w2 = PgLog::open(&pg2, "taishan", "haiyan", schema).unwrap();
        let before = w2.begin(0).unwrap();
        let seq = w2.append(b"second".to_vec()).unwrap();
        (before.len(), seq)
    });
    wait_until(30, "writer 2 waits for the centre's lock", || {
        psql(
            "cursor_trap",
            "SELECT count(*) FROM pg_stat_activity
             WHERE datname = 'cursor_trap' AND wait_event_type = 'Lock'",
        ) == ["1"]
    });
    assert_eq!(
        reader.after(0, 100).unwrap(),
        vec![],
        "nothing committed yet"
    );
    assert_eq!(w1.append(b"first".to_vec()).unwrap(), 1);
    let (seen_by_second, seq) = second.join().unwrap();
    assert_eq!(
        (seen_by_second, seq),
        (1, 2),
        "writer 2 took its number after writer 1's commit, and saw its entry"
    );
    let entries = reader.after(0, 100).unwrap();
    let seqs: Vec<u64> = entries.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [1, 2]);
    assert_eq!(entries[0].changeset, b"first");

    // Under a storm of writers on four threads, a reader that moves its cursor to the last
    // entry it saw receives every entry, each once, in order.
    let writers: Vec<_> = (0..4)
        .map(|t| {
            let pg = pg.clone();
            std::thread::spawn(move || {
                let mut w = PgLog::open(&pg, "taishan", "haiyan", schema).unwrap();
                for i in 0..25 {
                    w.begin(0).unwrap();
                    w.append(format!("{t}-{i}").into_bytes()).unwrap();
                }
            })
        })
        .collect();
    let mut cursor = 2;
    let mut received = Vec::new();
    while received.len() < 100 {
        for e in reader.after(cursor, 7).unwrap() {
            assert_eq!(e.seq, cursor + 1, "no entry skipped, none twice");
            cursor = e.seq;
            received.push(String::from_utf8(e.changeset).unwrap());
        }
        if writers.iter().all(|w| w.is_finished()) && reader.head().unwrap() == cursor {
            break;
        }
    }
    for w in writers {
        w.join().unwrap();
    }
    let distinct: BTreeSet<&String> = received.iter().collect();
    assert_eq!((received.len(), distinct.len()), (100, 100));
    assert_eq!(reader.head().unwrap(), 102);
}

/// Two processes serve 海宴镇 from one database: a grid worker syncs with one, the centre's
/// staff with the other, and everything each does reaches the other; both processes' replicas
/// end the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_devices_spread_over_two_processes_converge() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let env = shared_engine_env("two_processes");
    let (a_dir, b_dir) = (dir.path().join("a"), dir.path().join("b"));
    let a = Server::start_with(&a_dir, 30, env.clone())?;
    with_key_of(&a_dir, &b_dir)?;
    let b = Server::start_with(&b_dir, 0, env.clone())?;

    let gw = Device::enrol_with(&a, GW, &a.codes[GW]).await?;
    // A code issued through one process is good at the other.
    let staff = Device::enrol(&a, STAFF).await?;
    let staff = {
        drop(staff);
        let code = a.code_for(STAFF)?;
        Device::enrol_with(&b, STAFF, &code).await?
    };
    gw.sync().await?;
    staff.sync().await?;
    let grid = UnitId::new("haiyan-fengjiang-g1");
    let mut reported = Vec::new();
    for i in 0..5 {
        let mut s = gw.store();
        let who = actor(&s, GW, Role::GridWorker);
        reported.push(s.create_case(
            &who,
            &new_case(&grid, &format!("跨进程案件{i}")),
            now_ms(),
        )?);
    }
    gw.sync().await?; // to process A
    staff.sync().await?; // from process B
    for id in &reported {
        assert_eq!(
            staff.store().summary(id)?.title,
            gw.store().summary(id)?.title,
            "the staff device, syncing with B, has what the grid worker sent to A"
        );
    }
    // The staff member assesses through B, while the grid worker edits the same case through
    // A: both edits are kept, wherever each was sent.
    {
        let mut s = staff.store();
        let who = actor(&s, STAFF, Role::CentreStaff);
        s.act(
            &reported[0],
            &who,
            Action::Assess {
                difficulty: Difficulty::General,
                risks: vec![],
                note: "两个进程分别收到".to_owned(),
            },
            now_ms(),
        )?;
    }
    {
        let mut s = gw.store();
        let who = actor(&s, GW, Role::GridWorker);
        s.edit(
            &reported[0],
            &who,
            &app_core::document::CaseEdit {
                narrative: Some("补充：双方同意下周再谈。".to_owned()),
                ..Default::default()
            },
            now_ms(),
        )?;
    }
    let (x, y) = tokio::join!(staff.sync(), gw.sync());
    x?;
    y?;
    gw.sync().await?;
    staff.sync().await?;
    for d in [&gw, &staff] {
        let s = d.store().summary(&reported[0])?;
        assert_eq!(
            s.status,
            app_core::workflow::Status::Assessed,
            "{}",
            d.person
        );
        let view = d.store().case(&reported[0])?;
        assert_eq!(
            view.document.narrative.as_str(),
            "补充：双方同意下周再谈。",
            "{}",
            d.person
        );
    }

    // Both processes' replicas hold the same cases, each as both devices have them.
    let on_a: BTreeSet<String> = server_summaries(&a)?
        .into_iter()
        .map(|s| format!("{} {:?}", s.id, s.status))
        .collect();
    // B's replica is brought up to date by its next request.
    let probe = reqwest::get(format!("{}/healthz", b.url())).await?;
    assert!(probe.status().is_success());
    staff.sync().await?;
    let on_b: BTreeSet<String> = server_summaries(&b)?
        .into_iter()
        .map(|s| format!("{} {:?}", s.id, s.status))
        .collect();
    assert_eq!(on_a, on_b);
    assert!(on_a.len() >= 35, "{} cases", on_a.len());
    let head = psql(
        "two_processes",
        "SELECT seq FROM fq_centres WHERE county = 'taishan' AND centre = 'haiyan'",
    );
    let entries = psql("two_processes", "SELECT count(*) FROM fq_log");
    assert_eq!(head, entries, "the log is numbered without gaps");
    Ok(())
}

/// Whether a server's `/healthz` says it forwards to its parent now.
async fn leads(server: &Server) -> bool {
    let Ok(r) = reqwest::get(format!("{}/healthz", server.url())).await else {
        return false;
    };
    let Ok(health) = r.json::<serde_json::Value>().await else {
        return false;
    };
    health["parent"]["leader"] == serde_json::json!(true)
}

/// A township served by two processes on one database, linked to its county: exactly one of
/// them forwards; killed (SIGKILL), the other takes over within seconds and the next
/// escalation reaches the county.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_one_process_forwards_and_another_takes_over_when_it_dies() -> anyhow::Result<()> {
    use crate::tier::{escalated_to_county, holds, start, start_on, until};
    let dir = tempfile::tempdir()?;
    let county = start(dir.path(), "county", "taishan", None)?;
    let shared = shared_engine_env("forwarding_leader");
    let a = start_on(dir.path(), "township-a", "haiyan", Some(&county), &shared)?;
    let b_dir = dir.path().join("township-b");
    with_key_of(&dir.path().join("township-a"), &b_dir)?;
    let env: Vec<(String, String)> = crate::tier::env("haiyan")
        .into_iter()
        .chain(shared.clone())
        .collect();
    let b = Server::start_with(&b_dir, 0, env)?;

    // Exactly one leads.
    let mut servers = [a, b];
    let deadline = Instant::now() + Duration::from_secs(60);
    let leading = loop {
        let (on_a, on_b) = (leads(&servers[0]).await, leads(&servers[1]).await);
        assert!(!(on_a && on_b), "two processes lead at once");
        if on_a || on_b {
            break if on_a { 0 } else { 1 };
        }
        assert!(Instant::now() < deadline, "no process leads");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let follower = 1 - leading;
    assert!(!leads(&servers[follower]).await);
    // The devices sync with the process that does not lead: what they send is forwarded by
    // the other.
    let gw2 = Device::enrol(&servers[follower], "gw2").await?;
    let tstaff = Device::enrol(&servers[follower], "tstaff").await?;
    gw2.sync().await?;
    tstaff.sync().await?;
    let first = escalated_to_county(&gw2, &tstaff, "那陈村宅基地纠纷", "跨进程转发").await?;
    until("the county holds the first escalation", &[], || {
        holds(&county, &first)
    })
    .await?;

    // The leader dies; the other process takes over and forwards the next escalation.
    servers[leading].kill();
    let second = escalated_to_county(&gw2, &tstaff, "那陈村借款纠纷", "主进程已停止").await?;
    let took = until("the county holds the second escalation", &[], || {
        holds(&county, &second)
    })
    .await?;
    assert!(
        leads(&servers[follower]).await,
        "the surviving process leads"
    );
    eprintln!("failover: the second escalation reached the county {took:?} after it synced");
    Ok(())
}

/// A township's SQLite centre moved into PostgreSQL: `migrate` copies and verifies it, and the
/// server, started on the database, carries on with the same devices and cursors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_migrate_moves_a_sqlite_centre_and_its_devices_carry_on() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("centre");
    let on_sqlite = vec![("FENGQIAO_DATABASE".to_owned(), String::new())];
    let mut server = Server::start_with(&data, 30, on_sqlite.clone())?;
    let gw = Device::enrol_with(&server, GW, &server.codes[GW]).await?;
    let staff = Device::enrol(&server, STAFF).await?;
    gw.sync().await?;
    staff.sync().await?;
    let grid = UnitId::new("haiyan-fengjiang-g1");
    let before = {
        let mut s = gw.store();
        let who = actor(&s, GW, Role::GridWorker);
        s.create_case(&who, &new_case(&grid, "迁移前的案件"), now_ms())?
    };
    gw.sync().await?;
    staff.sync().await?;
    let cases_before = server_summaries(&server)?.len();
    let url = pg_cluster().database("migrated");
    let migrate = || {
        system_tests::admin_with(
            &data,
            &on_sqlite,
            &["migrate", "--to", &url, "--county", "taishan"],
        )
    };

    // Not while the server serves from the directory: what devices sent meanwhile would be
    // lost. Nothing is copied (the migration below is the first into this database).
    let refused = migrate();
    let message = format!("{:?}", refused.expect_err("no migration while serving"));
    assert!(message.contains("stop it first"), "{message}");
    server.kill();

    let out = migrate()?;
    assert!(out.contains("verified from the database alone"), "{out}");
    assert!(
        out.contains(&format!("{} documents with the same heads", {
            let conn = rusqlite::Connection::open(data.join("server.sqlite3"))?;
            conn.query_row("SELECT COUNT(*) FROM documents", [], |r| r.get::<_, i64>(0))?
        })),
        "{out}"
    );
    // A second migration into the same database is refused, and changes nothing.
    let again = migrate();
    let message = format!("{:?}", again.expect_err("a second migration is refused"));
    assert!(message.contains("already holds"), "{message}");

    // The server on PostgreSQL: the same devices, credentials and cursors.
    server.env = vec![
        ("FENGQIAO_DATABASE".to_owned(), url.clone()),
        ("FENGQIAO_COUNTY".to_owned(), "taishan".to_owned()),
    ];
    server.restart()?;
    assert!(data.join("replica.sqlite3").exists());
    assert_eq!(server_summaries(&server)?.len(), cases_before);
    let p = staff.sync().await?;
    assert_eq!(
        p.rejected,
        vec![],
        "the staff device's credential and cursor hold"
    );
    let after = {
        let mut s = gw.store();
        let who = actor(&s, GW, Role::GridWorker);
        s.create_case(&who, &new_case(&grid, "迁移后的案件"), now_ms())?
    };
    gw.sync().await?;
    staff.sync().await?;
    for id in [&before, &after] {
        assert_eq!(
            staff.store().summary(id)?.title,
            gw.store().summary(id)?.title
        );
    }
    assert_eq!(server_summaries(&server)?.len(), cases_before + 1);
    let entries = psql("migrated", "SELECT count(*) FROM fq_log");
    assert!(entries[0].parse::<u64>()? > 10, "{entries:?}");
    Ok(())
}

/// The processes serving a centre share its enrolment limits: with two alive, each lets half
/// the burst of wrong codes through, so that the centre's budget holds whichever process a
/// guesser reaches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_two_processes_share_the_centres_enrolment_limits() -> anyhow::Result<()> {
    use crate::enrolment::enrol_raw;
    let dir = tempfile::tempdir()?;
    let env = shared_engine_env("shared_limits");
    let (a_dir, b_dir) = (dir.path().join("a"), dir.path().join("b"));
    // The demo county's directory, no cases.
    system_tests::admin_with(&a_dir, &env, &["demo", "--cases", "0"])?;
    let a = Server::start_with(&a_dir, 0, env.clone())?;
    with_key_of(&a_dir, &b_dir)?;
    let b = Server::start_with(&b_dir, 0, env)?;
    for s in [&a, &b] {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let health: serde_json::Value = reqwest::get(format!("{}/healthz", s.url()))
                .await?
                .json()
                .await?;
            if health["processes"] == 2 {
                break;
            }
            assert!(Instant::now() < deadline, "{health}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let mut through = Vec::new();
    for s in [&a, &b] {
        let mut wrong = 0;
        loop {
            let (status, body, _) = enrol_raw(s, "AAAA-BBBB-CCCC-DDDD", "猜码的手机").await?;
            if status == 429 {
                break;
            }
            assert_eq!(status, 401, "{body}");
            wrong += 1;
            assert!(wrong <= 40, "no limit after {wrong} wrong codes");
        }
        through.push(wrong);
    }
    // One process alone lets 20 through (enrolment's burst); two, about 10 each (a token
    // comes back every 12 seconds each, so a slow machine fits a few more).
    for n in &through {
        assert!((10..=15).contains(n), "{through:?} attempts before 429");
    }
    Ok(())
}

/// Two processes serve a storm of devices; one is killed (SIGKILL) in the middle of it. Every
/// change a device had acknowledged is in the centre's database (a replica built from it alone
/// holds it), the other process serves on meanwhile, and once the killed one is back every
/// change lands, once, and both replicas hold the same cases.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_a_process_killed_mid_storm_loses_nothing_acknowledged() -> anyhow::Result<()> {
    use crate::sync_crash::{own_changes, server_changes, storm, sync_until_drained};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let dir = tempfile::tempdir()?;
    let env = shared_engine_env("storm");
    let (a_dir, b_dir) = (dir.path().join("a"), dir.path().join("b"));
    let mut a = Server::start_with(&a_dir, 6, env.clone())?;
    with_key_of(&a_dir, &b_dir)?;
    let b = Server::start_with(&b_dir, 0, env.clone())?;
    let workers = [
        ("haiyan-fengjiang-g1-gw", 0),
        ("haiyan-fengjiang-g2-gw", 1),
        ("haiyan-fengjiang-g3-gw", 0),
        ("haiyan-wufeng-g1-gw", 1),
    ];
    let mut devices = Vec::new();
    for (w, on) in workers {
        let server = if on == 0 { &a } else { &b };
        devices.push((Arc::new(Device::enrol(server, w).await?), on));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for (d, _) in &devices {
        let grid = d
            .store()
            .directory()
            .person(&app_core::ids::PersonId::new(d.person.clone()))
            .expect("worker")
            .unit
            .clone();
        tasks.push(tokio::spawn(storm(d.clone(), grid, stop.clone())));
    }
    let acknowledged = |devices: &[(Arc<Device>, usize)], on: usize| -> anyhow::Result<usize> {
        let mut n = 0;
        for (d, s) in devices {
            if *s == on {
                let (all, pending) = own_changes(d)?;
                n += all.difference(&pending).count();
            }
        }
        Ok(n)
    };
    // The storm runs until A has acknowledged a good many changes, then A is killed.
    let deadline = Instant::now() + Duration::from_secs(120);
    while acknowledged(&devices, 0)? < 20 {
        assert!(
            Instant::now() < deadline,
            "the storm got nothing acknowledged"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    a.kill();
    let mut acked = BTreeSet::new();
    for (d, _) in &devices {
        let (all, pending) = own_changes(d)?;
        acked.extend(all.difference(&pending).copied());
    }
    // In the database: a replica built from it alone holds every acknowledged change.
    let check_dir = dir.path().join("check");
    with_key_of(&a_dir, &check_dir)?;
    {
        let pg = Postgres::connect(&env[0].1)?;
        let check = sync_server::db::ServerDb::open_shared(
            &check_dir.join("replica.sqlite3"),
            &pg,
            "taishan",
            "haiyan",
        )?;
        let held = server_changes(&check.store)?;
        let missing: Vec<_> = acked.difference(&held).collect();
        assert!(missing.is_empty(), "acknowledged changes lost: {missing:?}");
    }
    // B serves on while A is down: its devices' changes keep being acknowledged.
    let on_b = acknowledged(&devices, 1)?;
    let deadline = Instant::now() + Duration::from_secs(120);
    while acknowledged(&devices, 1)? < on_b + 5 {
        assert!(Instant::now() < deadline, "B stopped serving when A died");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    a.restart()?;
    stop.store(true, Ordering::SeqCst);
    for t in tasks {
        t.await??;
    }
    for (d, _) in &devices {
        sync_until_drained(d).await?;
    }
    // Each process's replica catches up at its next request.
    for s in [&a, &b] {
        let _ = reqwest::get(format!("{}/healthz", s.url())).await?;
    }
    let on_a = server_summaries(&a)?;
    let mut on_a: Vec<String> = on_a.into_iter().map(|s| s.id.to_string()).collect();
    let mut on_b: Vec<String> = server_summaries(&b)?
        .into_iter()
        .map(|s| s.id.to_string())
        .collect();
    on_a.sort();
    on_b.sort();
    assert_eq!(on_a, on_b, "both replicas hold the same cases");
    let store = a.store()?;
    let held = server_changes(&store)?;
    for (d, _) in &devices {
        let (all, pending) = own_changes(d)?;
        assert!(pending.is_empty());
        let missing: Vec<_> = all.difference(&held).collect();
        assert!(
            missing.is_empty(),
            "{}: never landed: {missing:?}",
            d.person
        );
        for id in d.case_ids()? {
            let there = store.case(&app_core::ids::CaseId::new(id))?;
            let ids: BTreeSet<_> = there.document.timeline.iter().map(|e| &e.id).collect();
            assert_eq!(ids.len(), there.document.timeline.len(), "no entry twice");
        }
    }
    Ok(())
}
