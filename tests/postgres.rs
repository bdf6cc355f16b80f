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
    // The second process has the centre's key (as an operator copies it to each node).
    std::fs::create_dir_all(&b_dir)?;
    std::fs::copy(a_dir.join("server.key"), b_dir.join("server.key"))?;
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
