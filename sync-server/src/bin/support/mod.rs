//! What the load generators and the week scenario share: the clock, percentiles, and a real
//! server process (release build) with the demo county loaded, on loopback.

#![allow(dead_code)]

use anyhow::{bail, Context};
use app_core::ids::{PersonId, UnitId};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use sync_server::db::ServerDb;

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// The `sync-server` binary beside this one.
pub(crate) fn server_bin() -> anyhow::Result<PathBuf> {
    let bin = std::env::current_exe()?
        .parent()
        .context("bin dir")?
        .join("sync-server");
    if !bin.exists() {
        bail!("build the server first: cargo build --release -p sync-server --features demo");
    }
    Ok(bin)
}

pub(crate) struct ServerProc {
    pub(crate) child: Child,
    pub(crate) url: String,
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The CPU time (user and system) process `pid` has used, in ms; 0 if it cannot be read.
pub(crate) fn cpu_ms(pid: &str) -> f64 {
    let ticks = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            // After the command's name (in parentheses): state is field 3, utime 14, stime 15.
            let rest = &s[s.rfind(')')? + 2..];
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some(f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?)
        })
        .unwrap_or(0.0);
    // Linux reports it in clock ticks of 1/100 s (USER_HZ) on every architecture it runs here.
    ticks * 10.0
}

impl ServerProc {
    /// The CPU time the server has used so far, in ms.
    pub(crate) fn cpu_ms(&self) -> f64 {
        cpu_ms(&self.child.id().to_string())
    }

    pub(crate) fn peak_rss_kib(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmHWM:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|n| n.parse().ok())
            })
            .unwrap_or(0)
    }
}

/// Loads the demo (`sync-server demo`) into `dir/data` with `dir/server.toml`, then serves it on
/// a free loopback port.
pub(crate) fn start_server(bin: &Path, dir: &Path) -> anyhow::Result<ServerProc> {
    load_demo(bin, dir, "data")?;
    serve(bin, dir, "data")
}

/// `sync-server demo` into `dir/<data>` with `dir/server.toml`.
pub(crate) fn load_demo(bin: &Path, dir: &Path, data: &str) -> anyhow::Result<()> {
    let demo = Command::new(bin)
        .arg("--config")
        .arg(dir.join("server.toml"))
        .arg("--data-dir")
        .arg(dir.join(data))
        .arg("demo")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .status()?;
    if !demo.success() {
        bail!("the demo could not be loaded");
    }
    Ok(())
}

/// Serves `dir/<data>` with `dir/server.toml` on a free loopback port.
pub(crate) fn serve(bin: &Path, dir: &Path, data: &str) -> anyhow::Result<ServerProc> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut child = Command::new(bin)
        .arg("--config")
        .arg(dir.join("server.toml"))
        .arg("--data-dir")
        .arg(dir.join(data))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()?;
    let out = child.stdout.take().context("stdout")?;
    for line in BufReader::new(out).lines() {
        if line?.starts_with("serving ") {
            return Ok(ServerProc {
                child,
                url: format!("http://127.0.0.1:{port}"),
            });
        }
    }
    bail!("the server exited before serving")
}

/// A throwaway PostgreSQL cluster (`pg_virtualenv`, which works as root), alive while this
/// value is: its command reads our pipe, and ends (dropping the cluster) when it closes.
pub(crate) struct PgCluster {
    child: Child,
    stdin: Option<std::process::ChildStdin>,
    pub(crate) env: std::collections::BTreeMap<String, String>,
}

impl PgCluster {
    pub(crate) fn start(dir: &Path) -> anyhow::Result<PgCluster> {
        let settings = dir.join("pg-env");
        let mut child = Command::new("pg_virtualenv")
            .arg("-t")
            .args([
                "sh",
                "-c",
                "env > \"$0.part\" && mv \"$0.part\" \"$0\" && exec cat",
            ])
            .arg(&settings)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("start pg_virtualenv (apt-get install postgresql)")?;
        let stdin = child.stdin.take();
        let started = std::time::Instant::now();
        let text = loop {
            if let Ok(text) = std::fs::read_to_string(&settings) {
                break text;
            }
            if child.try_wait()?.is_some() || started.elapsed().as_secs() > 120 {
                bail!("pg_virtualenv gave no cluster");
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        let env = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .filter(|(k, _)| ["PGHOST", "PGPORT", "PGUSER", "PGPASSWORD"].contains(k))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Ok(PgCluster { child, stdin, env })
    }

    /// The address of a new database `name` in the cluster.
    pub(crate) fn database(&self, name: &str) -> anyhow::Result<String> {
        let out = Command::new("psql")
            .args(["-v", "ON_ERROR_STOP=1", "-d", "postgres", "-c"])
            .arg(format!("CREATE DATABASE \"{name}\""))
            .envs(&self.env)
            .output()?;
        if !out.status.success() {
            bail!("create database: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(format!(
            "postgres://{}:{}@{}:{}/{name}",
            self.env["PGUSER"], self.env["PGPASSWORD"], self.env["PGHOST"], self.env["PGPORT"]
        ))
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

/// Issues an enrolment code straight in the server's database (as the admin command does).
pub(crate) fn issue(db_path: &Path, person: &str) -> anyhow::Result<String> {
    let mut db = ServerDb::open(db_path)?;
    Ok(db.issue_code(&PersonId::new(person), now_ms(), 3_600_000)?)
}

/// Runs an admin command of the server binary on `dir`'s data (as support's server is set up),
/// the server running or not: what it printed.
pub(crate) fn admin(bin: &Path, dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new(bin)
        .arg("--config")
        .arg(dir.join("server.toml"))
        .arg("--data-dir")
        .arg(dir.join("data"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()?;
    if !out.status.success() {
        bail!(
            "sync-server {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Adds `n` grids (under the township's villages) with a grid worker each, in the server's
/// database; the running server reloads its directory on the next request.
pub(crate) fn add_grid_workers(db_path: &Path, n: usize) -> anyhow::Result<Vec<PersonId>> {
    add_grid_workers_in(&mut ServerDb::open(db_path)?, n)
}

/// [`add_grid_workers`] in an open database (a replica of a centre on PostgreSQL).
pub(crate) fn add_grid_workers_in(db: &mut ServerDb, n: usize) -> anyhow::Result<Vec<PersonId>> {
    use app_core::org::{Directory, Person, Role, Tier, Unit};
    let d = db.store.directory();
    let haiyan = UnitId::new("haiyan");
    let villages: Vec<UnitId> = d
        .children(&haiyan)
        .into_iter()
        .map(|u| u.id.clone())
        .collect();
    let mut units: Vec<Unit> = d.units().cloned().collect();
    let mut people: Vec<Person> = d.people().cloned().collect();
    let mut added = Vec::new();
    for i in 0..n {
        let grid = UnitId::new(format!("haiyan-lg{i}"));
        units.push(Unit {
            id: grid.clone(),
            name: format!("测试网格{i}"),
            tier: Tier::Grid,
            parent: Some(villages[i % villages.len()].clone()),
            centre: false,
            policy: None,
            escalate_skip_to: Vec::new(),
            warnings: None,
        });
        let person = PersonId::new(format!("haiyan-lg{i}-gw"));
        people.push(Person {
            id: person.clone(),
            name: format!("网格员{i}"),
            unit: grid,
            roles: [Role::GridWorker].into_iter().collect(),
            specialties: Default::default(),
            phone: None,
        });
        added.push(person);
    }
    db.store.set_directory(Directory::new(units, people)?)?;
    Ok(added)
}

/// A case a storm's phone reports: one of four kinds in turn, in the phone's grid.
pub(crate) fn storm_case(grid: &UnitId, i: usize) -> app_core::model::NewCase {
    const TITLES: [&str; 4] = [
        "宅基地边界纠纷",
        "鱼塘承包纠纷",
        "拖欠工资纠纷",
        "相邻采光纠纷",
    ];
    use app_core::model::{NewCase, NewParty, PartyRole, Source};
    NewCase {
        title: format!("{}（{}）", TITLES[i % TITLES.len()], i + 1),
        category: ["land_resources", "agriculture_fishery", "labour", "neighbour"][i % 4].to_owned(),
        narrative: "网格员入户走访时了解到，两户村民因宅基地边界问题多次发生争吵，双方各执一词，情绪较为激动，需要尽快调处。".to_owned(),
        place_unit: grid.clone(),
        address: "台山市海宴镇丰江村委会西华里18号".to_owned(),
        gps: Some((21.95, 112.65)),
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
                phone: Some("13900139000".to_owned()),
                id_number: None,
            },
        ],
        source: Source::GridVisit,
    }
}

/// `person` as the actor of a step in `role`, from a device's directory.
pub(crate) fn actor_of(
    store: &app_core::store::Store,
    person: &PersonId,
    role: app_core::org::Role,
) -> app_core::model::Actor {
    let p = store.directory().person(person).expect("person");
    app_core::model::Actor {
        person: p.id.clone(),
        name: p.name.clone(),
        role,
        unit: p.unit.clone(),
    }
}
