//! The same load on the two engines, in one run: one server process on its SQLite file, and two
//! processes sharing one PostgreSQL database (a throwaway cluster), with the devices spread over
//! both. Prints each engine's figures and their ratio.
//!
//! ```text
//! cargo run --release -p sync-server --features demo --bin loadgen_pg -- [--cases 1000] [--devices 200] [--per-device 10] [--processes 2]
//! ```
//!
//! (a) initial sync of the township's caseload to a new centre device; (b) a storm of devices
//! each reporting and editing cases, uploaded in one sync each, all at once (32 at a time).

use anyhow::{bail, Context};
use app_core::client::SyncClient;
use app_core::document::CaseEdit;
use app_core::ids::PersonId;
use app_core::org::Role;
use app_core::store::Store;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use sync_server::db::ServerDb;

#[path = "support/mod.rs"]
mod support;
use support::{
    actor_of, add_grid_workers_in, now_ms, percentile, storm_case, PgCluster, ServerProc,
};

struct Args {
    cases: usize,
    devices: usize,
    per_device: usize,
    concurrency: usize,
    processes: usize,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        cases: 1000,
        devices: 200,
        per_device: 10,
        concurrency: 32,
        processes: 2,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let v = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--cases" => a.cases = v.parse()?,
            "--devices" => a.devices = v.parse()?,
            "--per-device" => a.per_device = v.parse()?,
            "--concurrency" => a.concurrency = v.parse()?,
            "--processes" => a.processes = v.parse::<usize>()?.max(1),
            _ => bail!("unknown option {flag}"),
        }
    }
    Ok(a)
}

/// What one engine did.
struct Figures {
    initial_s: f64,
    initial_docs: u64,
    storm_changes: u64,
    storm_s: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// One engine's servers: their processes, and how to open the centre's database beside them.
struct Centre {
    procs: Vec<ServerProc>,
    /// Opens the database as an admin command would (a replica of its own on PostgreSQL).
    open: Box<dyn Fn() -> anyhow::Result<ServerDb>>,
}

fn config(dir: &Path, cases: usize, database: Option<&str>) -> anyhow::Result<()> {
    let mut toml = format!(
        // Hundreds of devices enrol from one address in seconds: not an attack here.
        "unit = \"haiyan\"\ndemo_cases = {cases}\n"
    );
    if let Some(url) = database {
        toml.push_str(&format!("database = \"{url}\"\ncounty = \"taishan\"\n"));
    }
    toml.push_str(
        "[limits]\nrate_per_second = 1000000.0\nburst = 1000000.0\n\
         enrol_per_minute = 1000000.0\nenrol_burst = 1000000.0\n\
         enrol_all_per_minute = 1000000.0\nenrol_all_burst = 1000000.0\n",
    );
    std::fs::write(dir.join("server.toml"), toml)?;
    Ok(())
}

fn sqlite_centre(bin: &Path, dir: &Path, cases: usize) -> anyhow::Result<Centre> {
    config(dir, cases, None)?;
    support::load_demo(bin, dir, "a")?;
    let procs = vec![support::serve(bin, dir, "a")?];
    let path = dir.join("a").join("server.sqlite3");
    Ok(Centre {
        procs,
        open: Box::new(move || Ok(ServerDb::open(&path)?)),
    })
}

fn postgres_centre(
    bin: &Path,
    dir: &Path,
    cases: usize,
    url: &str,
    processes: usize,
) -> anyhow::Result<Centre> {
    config(dir, cases, Some(url))?;
    support::load_demo(bin, dir, "a")?;
    let mut procs = Vec::new();
    for i in 0..processes {
        let data = format!("p{i}");
        if i > 0 {
            std::fs::create_dir_all(dir.join(&data))?;
            std::fs::copy(
                dir.join("a").join("server.key"),
                dir.join(&data).join("server.key"),
            )?;
        }
        procs.push(support::serve(bin, dir, if i == 0 { "a" } else { &data })?);
    }
    let admin = dir.join("admin");
    std::fs::create_dir_all(&admin)?;
    std::fs::copy(dir.join("a").join("server.key"), admin.join("server.key"))?;
    let pg = sync_server::pg::Postgres::connect(url)?;
    let path = admin.join("replica.sqlite3");
    Ok(Centre {
        procs,
        open: Box::new(move || Ok(ServerDb::open_shared(&path, &pg, "taishan", "haiyan")?)),
    })
}

async fn measure(centre: &Centre, a: &Args, label: &str) -> anyhow::Result<Figures> {
    // (a) A new centre device receives the township's caseload, from the first process.
    let code = (centre.open)()?.issue_code(&PersonId::new("haiyan-staff1"), now_ms(), 3_600_000)?;
    let staff_dir = tempfile::tempdir()?;
    let staff_store = Mutex::new(Store::open(staff_dir.path().join("device.sqlite3"))?);
    let staff =
        SyncClient::enrol(&centre.procs[0].url, &code, "综治中心电脑", &staff_store).await?;
    let t = Instant::now();
    let p = staff.sync(&staff_store, |_| {}).await?;
    let initial_s = t.elapsed().as_secs_f64();

    // (b) The storm, devices spread over the processes.
    let grid_workers = add_grid_workers_in(&mut (centre.open)()?, a.devices)?;
    let codes: Vec<(PersonId, String)> = {
        let mut db = (centre.open)()?;
        grid_workers
            .into_iter()
            .map(|person| {
                let code = db.issue_code(&person, now_ms(), 3_600_000)?;
                Ok((person, code))
            })
            .collect::<anyhow::Result<_>>()?
    };
    let mut devices = Vec::new();
    for (i, (person, code)) in codes.iter().enumerate() {
        let url = &centre.procs[i % centre.procs.len()].url;
        let seq: u64 = reqwest::get(format!("{url}/healthz"))
            .await?
            .json::<serde_json::Value>()
            .await?["seq"]
            .as_u64()
            .unwrap_or(0);
        let store = Mutex::new(Store::open(":memory:")?);
        let client = SyncClient::enrol(url, code, "网格员手机", &store).await?;
        {
            let mut s = store.lock().map_err(|_| anyhow::anyhow!("lock"))?;
            s.set_meta("sync.cursor", &seq.to_string())?;
            let grid = s.directory().person(person).context("person")?.unit.clone();
            let actor = actor_of(&s, person, Role::GridWorker);
            for k in 0..a.per_device {
                let id = s.create_case(&actor, &storm_case(&grid, k), now_ms())?;
                let edit = CaseEdit {
                    narrative: Some("双方已初步沟通，约定周末再谈。".to_owned()),
                    ..CaseEdit::default()
                };
                s.edit(&id, &actor, &edit, now_ms())?;
            }
        }
        devices.push((Arc::new(store), Arc::new(client)));
    }
    let sem = Arc::new(tokio::sync::Semaphore::new(a.concurrency));
    let cpu_before: f64 = centre.procs.iter().map(ServerProc::cpu_ms).sum::<f64>();
    let pg_before = postgres_cpu_ms();
    let idle_before = machine_idle();
    let t = Instant::now();
    let mut tasks = Vec::new();
    for (store, client) in devices {
        let sem = sem.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = sem.acquire().await;
            let started = Instant::now();
            let p = client.sync(&store, |_| {}).await;
            (started.elapsed().as_secs_f64() * 1000.0, p)
        }));
    }
    let mut lat = Vec::new();
    let mut sent = 0u64;
    for task in tasks {
        let (ms, p) = task.await?;
        let p = p?;
        if !p.rejected.is_empty() {
            bail!(
                "{label}: the server refused storm documents: {:?}",
                p.rejected
            );
        }
        lat.push(ms);
        sent += p.sent_changes;
    }
    let storm_s = t.elapsed().as_secs_f64();
    let servers_cpu = centre.procs.iter().map(ServerProc::cpu_ms).sum::<f64>() - cpu_before;
    let pg_cpu = postgres_cpu_ms() - pg_before;
    let idle = {
        let (i1, t1) = machine_idle();
        (i1 - idle_before.0) / (t1 - idle_before.1).max(1.0)
    };
    lat.sort_by(f64::total_cmp);
    let f = Figures {
        initial_s,
        initial_docs: p.received_docs,
        storm_changes: sent,
        storm_s,
        p50_ms: percentile(&lat, 0.5),
        p99_ms: percentile(&lat, 0.99),
    };
    println!(
        "{label}: (a) initial sync of {} cases ({} documents) in {:.2} s   [goal < 2 s]",
        a.cases, f.initial_docs, f.initial_s
    );
    println!(
        "{label}: (b) storm of {} devices: {} changes stored durably in {:.2} s, {:.0} changes/s; per-device sync p50 {:.0} ms, p99 {:.0} ms",
        a.devices,
        f.storm_changes,
        f.storm_s,
        f.storm_changes as f64 / f.storm_s,
        f.p50_ms,
        f.p99_ms
    );
    println!(
        "{label}:     CPU during the storm: server processes {:.2} ms per change, PostgreSQL {:.2} ms per change; the machine idle {:.0}% of the time",
        servers_cpu / f.storm_changes as f64,
        pg_cpu / f.storm_changes as f64,
        100.0 * idle
    );
    Ok(f)
}

/// (c) A process started on a new machine builds its replica from the whole log: how long that
/// takes for what the run wrote (the demo township, then the storm).
fn replay(dir: &Path, url: &str) -> anyhow::Result<()> {
    let fresh = dir.join("fresh");
    std::fs::create_dir_all(&fresh)?;
    std::fs::copy(dir.join("a").join("server.key"), fresh.join("server.key"))?;
    let pg = sync_server::pg::Postgres::connect(url)?;
    let (entries, bytes, stored) = pg.run(|pool| async move {
        let client = pool.get().await.map_err(|e| e.to_string())?;
        let row = client
            .query_one(
                "SELECT count(*), COALESCE(sum(octet_length(changeset)), 0)::bigint,
                        COALESCE(sum(pg_column_size(changeset)), 0)::bigint FROM fq_log",
                &[],
            )
            .await
            .map_err(|e| e.to_string())?;
        Ok((
            row.get::<_, i64>(0),
            row.get::<_, i64>(1),
            row.get::<_, i64>(2),
        ))
    })?;
    let t = Instant::now();
    let db = ServerDb::open_shared(&fresh.join("replica.sqlite3"), &pg, "taishan", "haiyan")?;
    let s = t.elapsed().as_secs_f64();
    let applied = db.store.applied()?;
    let mb = bytes as f64 / 1e6;
    println!(
        "PostgreSQL: (c) a new process's replica from the whole log: {applied} of {entries} entries ({mb:.1} MB of changesets, {:.1} MB stored) in {s:.2} s, {:.1} MB/s",
        stored as f64 / 1e6,
        mb / s
    );
    if applied != entries as u64 {
        bail!("the new replica applied {applied} of the log's {entries} entries");
    }
    Ok(())
}

/// The machine's idle and total CPU time so far (jiffies, all cores), from /proc/stat.
fn machine_idle() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let fields: Vec<f64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    let idle = fields.get(3).copied().unwrap_or(0.0) + fields.get(4).copied().unwrap_or(0.0);
    (idle, fields.iter().sum())
}

/// The CPU time every PostgreSQL process on this machine has used so far, in ms.
fn postgres_cpu_ms() -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|pid| pid.bytes().all(|b| b.is_ascii_digit()))
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "postgres")
        })
        .map(|pid| support::cpu_ms(&pid))
        .sum()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let a = args()?;
    let bin = support::server_bin()?;
    let work = tempfile::tempdir()?;
    let cluster = PgCluster::start(work.path())?;

    let sqlite_dir = work.path().join("sqlite");
    std::fs::create_dir_all(&sqlite_dir)?;
    let centre = sqlite_centre(&bin, &sqlite_dir, a.cases)?;
    let on_sqlite = measure(&centre, &a, "SQLite, 1 process").await?;
    drop(centre);

    let pg_dir = work.path().join("postgres");
    std::fs::create_dir_all(&pg_dir)?;
    let url = cluster.database("loadgen")?;
    let centre = postgres_centre(&bin, &pg_dir, a.cases, &url, a.processes)?;
    let label = format!("PostgreSQL, {} processes", a.processes);
    let on_pg = measure(&centre, &a, &label).await?;
    drop(centre);
    replay(&pg_dir, &url)?;

    let rate = |f: &Figures| f.storm_changes as f64 / f.storm_s;
    println!(
        "PostgreSQL with {} processes stores {:.0}% of SQLite's rate with 1   [goal ≥ 70%]; initial sync {:.2} s against {:.2} s",
        a.processes,
        100.0 * rate(&on_pg) / rate(&on_sqlite),
        on_pg.initial_s,
        on_sqlite.initial_s
    );
    Ok(())
}
