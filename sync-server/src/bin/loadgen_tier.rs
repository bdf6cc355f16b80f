//! Load generator for escalation between tiers: a township server linked to a county server,
//! both real processes (release build) on loopback. Prints its figures.
//!
//! ```text
//! cargo build --release -p sync-server
//! $CARGO_TARGET_DIR/release/loadgen_tier [--escalations 1000] [--backlog 10000]
//! ```
//!
//! 1. Latency: township staff escalate cases one at a time from their device (the real sync
//!    client); the time from the device's sync returning (the township has it durably) to the
//!    county server having committed it.
//! 2. Backlog: with the county down, `--backlog` cases are escalated at the township; the county
//!    comes back; the time until it holds them all, as cases/s and changes/s.

use anyhow::{bail, Context};
use app_core::client::SyncClient;
use app_core::demo::Generator;
use app_core::ids::{CaseId, PersonId, UnitId};
use app_core::model::{Action, Actor, EscalationReason, NewCase, NewParty, PartyRole, Source};
use app_core::org::Role;
use app_core::store::Store;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use sync_server::db::ServerDb;

#[path = "support/mod.rs"]
mod support;
use support::{now_ms, percentile};

struct Proc {
    child: Child,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(bin: &Path, data: &Path, unit: &str, port: u16) -> anyhow::Result<Proc> {
    let mut child = Command::new(bin)
        .arg("--config")
        .arg(data.join("server.toml"))
        .arg("--data-dir")
        .arg(data)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env(
            "RUST_LOG",
            // The servers' log, errors only unless the run asks for more.
            std::env::var("LOADGEN_SERVER_LOG").unwrap_or_else(|_| "error".to_owned()),
        )
        .env("FENGQIAO_UNIT", unit)
        .stdout(Stdio::piped())
        .spawn()?;
    let out = child.stdout.take().context("stdout")?;
    for line in BufReader::new(out).lines() {
        if line?.starts_with("serving ") {
            return Ok(Proc { child });
        }
    }
    bail!("{unit}'s server exited before serving")
}

fn actor(store: &Store, person: &str, role: Role) -> anyhow::Result<Actor> {
    let p = store
        .directory()
        .person(&PersonId::new(person))
        .with_context(|| format!("{person} in the directory"))?;
    Ok(Actor {
        person: p.id.clone(),
        name: p.name.clone(),
        role,
        unit: p.unit.clone(),
    })
}

fn new_case(grid: &UnitId, i: usize) -> NewCase {
    NewCase {
        title: format!("积案{i}：山林权属纠纷"),
        category: "land_resources".to_owned(),
        narrative: "两村村民因山林界线多次发生争执，镇村两级调解未果，涉及林业、国土等部门。"
            .to_owned(),
        place_unit: grid.clone(),
        address: "台山市海宴镇丰江村委会北山".to_owned(),
        gps: None,
        parties: vec![
            NewParty {
                name: "陈大文".to_owned(),
                role: PartyRole::Applicant,
                phone: None,
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

fn county_holds(conn: &rusqlite::Connection, id: &CaseId) -> anyhow::Result<bool> {
    Ok(conn.query_row(
        "SELECT COUNT(*) FROM cases WHERE id = ?1",
        [id.as_str()],
        |r| r.get::<_, i64>(0),
    )? == 1)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let mut escalations = 1000usize;
    let mut backlog = 10_000usize;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let v: usize = it.next().context("a value")?.parse()?;
        match flag.as_str() {
            "--escalations" => escalations = v,
            "--backlog" => backlog = v,
            _ => bail!("unknown option {flag}"),
        }
    }
    let bin = std::env::current_exe()?
        .parent()
        .context("bin dir")?
        .join("sync-server");
    let work = tempfile::tempdir()?;
    let county_dir = work.path().join("county");
    let town_dir = work.path().join("township");
    let g = Generator::new(2026);
    for (dir, unit) in [(&county_dir, "taishan"), (&town_dir, "haiyan")] {
        std::fs::create_dir_all(dir)?;
        std::fs::write(
            dir.join("server.toml"),
            format!(
                "unit = \"{unit}\"\ndemo_cases = 0\nparent_poll_ms = 1000\n[limits]\nrate_per_second = 1000000.0\nburst = 1000000.0\n"
            ),
        )?;
        let mut db = ServerDb::open(&dir.join("server.sqlite3"))?;
        db.store.set_directory(g.directory().clone())?;
    }
    let county_port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let town_port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let county_url = format!("http://127.0.0.1:{county_port}");
    let town_url = format!("http://127.0.0.1:{town_port}");
    let mut county = Some(serve(&bin, &county_dir, "taishan", county_port)?);
    {
        let code = ServerDb::open(&county_dir.join("server.sqlite3"))?.issue_code(
            &PersonId::new("server:haiyan"),
            now_ms(),
            3_600_000,
        )?;
        let mut db = ServerDb::open(&town_dir.join("server.sqlite3"))?;
        sync_server::forward::link(&mut db, &county_url, &code, "海宴镇服务器").await?;
    }

    // The township's open cases: reported by a grid worker straight into its database.
    let total = escalations + backlog;
    let grid = UnitId::new("haiyan-fengjiang-g1");
    let staff_id = "haiyan-staff1";
    let t = Instant::now();
    let mut ids = Vec::with_capacity(total);
    {
        let mut store = Store::open(town_dir.join("server.sqlite3"))?;
        let gw = actor(&store, "haiyan-fengjiang-g1-gw", Role::GridWorker)?;
        // Reported over the past year, about thirty a day, as a township's cases are: the
        // figures the township sends up go by day.
        let now = now_ms();
        let step = (365 * 86_400_000 / total.max(1) as i64).max(1);
        for i in 0..total {
            let at = now - (total - i) as i64 * step;
            ids.push(store.create_case(&gw, &new_case(&grid, i), at)?);
        }
    }
    {
        let mut db = ServerDb::open(&town_dir.join("server.sqlite3"))?;
        sync_server::log_unlogged(&mut db)?;
    }
    println!(
        "prepared {total} reported cases at the township in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let town = serve(&bin, &town_dir, "haiyan", town_port)?;

    // The staff member's device.
    let staff_dir = work.path().join("staff");
    std::fs::create_dir_all(&staff_dir)?;
    let code = ServerDb::open(&town_dir.join("server.sqlite3"))?.issue_code(
        &PersonId::new(staff_id),
        now_ms(),
        3_600_000,
    )?;
    let store = Mutex::new(Store::open(staff_dir.join("device.sqlite3"))?);
    let client = SyncClient::enrol(&town_url, &code, "综治中心电脑", &store).await?;
    client.sync(&store, |_| {}).await?;
    let county_db = rusqlite::Connection::open_with_flags(
        county_dir.join("server.sqlite3"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?;
    county_db.busy_timeout(Duration::from_secs(5))?;
    let escalate = |id: &CaseId| -> anyhow::Result<()> {
        let mut s = store.lock().map_err(|_| anyhow::anyhow!("lock"))?;
        let a = actor(&s, staff_id, Role::CentreStaff)?;
        s.act(
            id,
            &a,
            Action::Escalate {
                to: "taishan".into(),
                reason: EscalationReason::CrossDepartment,
                note: "涉及林业、国土部门，提请县联调中心处理".to_owned(),
            },
            now_ms(),
        )?;
        Ok(())
    };

    // 1. Latency, both servers up.
    let mut lat = Vec::with_capacity(escalations);
    for id in &ids[..escalations] {
        escalate(id)?;
        client.sync(&store, |_| {}).await?;
        let t = Instant::now();
        while !county_holds(&county_db, id)? {
            if t.elapsed() > Duration::from_secs(30) {
                bail!("case {id} did not reach the county in 30 s");
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    lat.sort_by(f64::total_cmp);
    println!(
        "1. escalation latency township → county, both up, over {escalations} escalations: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms   [goal p99 < 1 s]",
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        lat.last().copied().unwrap_or(0.0)
    );

    // 2. Backlog: the county is down while the rest are escalated.
    drop(county.take());
    let sends_before = {
        let h: serde_json::Value = reqwest::get(format!("{town_url}/healthz"))
            .await?
            .json()
            .await?;
        h["parent"]["figure_sends"].as_u64().unwrap_or(0)
    };
    let t = Instant::now();
    for id in &ids[escalations..] {
        escalate(id)?;
    }
    let p = client.sync(&store, |_| {}).await?;
    println!(
        "2. with the county down: {backlog} escalations recorded and synced to the township in {:.1} s ({} changes)",
        t.elapsed().as_secs_f64(),
        p.sent_changes
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let county_back = Instant::now();
    county = Some(serve(&bin, &county_dir, "taishan", county_port)?);
    let started = county_back.elapsed();
    let target = total as i64;
    let mut first: Option<(f64, i64)> = None;
    loop {
        let n: i64 = county_db.query_row("SELECT COUNT(*) FROM cases", [], |r| r.get(0))?;
        if first.is_none() && n > escalations as i64 {
            first = Some((county_back.elapsed().as_secs_f64(), n - escalations as i64));
        }
        if n >= target {
            break;
        }
        if county_back.elapsed() > Duration::from_secs(900) {
            bail!("the backlog did not drain in 15 minutes ({n} of {target})");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let drained = county_back.elapsed().as_secs_f64();
    let changes: i64 = {
        let s = Store::open(county_dir.join("server.sqlite3"))?;
        let mut n = 0i64;
        for id in &ids[escalations..] {
            n += i64::from(s.summary(id)?.entries);
        }
        n
    };
    let (first_at, first_n) = first.unwrap_or((drained, 0));
    let draining = (drained - first_at).max(1e-3);
    let forwarded = changes as f64 + backlog as f64;
    println!(
        "   the county came back (serving after {:.1} s); the township's next retry reached it after {:.1} s (its backoff); all {backlog} held {:.1} s after that: {:.0} cases/s, {:.0} changes/s drained ({} timeline entries + {backlog} contacts changes; {first_n} in the first round)",
        started.as_secs_f64(),
        first_at,
        draining,
        (backlog as i64 - first_n) as f64 / draining,
        forwarded * ((backlog as i64 - first_n) as f64 / backlog as f64) / draining,
        changes
    );

    // 3. Figures up the tiers: what sending the figures (at most once a minute, the default)
    // added to the forwarding passes above, as the township's /healthz counts both; once the
    // figures of the drained backlog went up too. The first send holds every day of the year.
    let health = || async {
        let h: serde_json::Value = reqwest::get(format!("{town_url}/healthz"))
            .await?
            .json()
            .await?;
        anyhow::Ok(h["parent"].clone())
    };
    // The first figures the township sends once the county is back hold the backlog (with the
    // county down, none could go up).
    let waited = Instant::now();
    let parent = loop {
        let p = health().await?;
        if p["figure_sends"].as_u64().unwrap_or(0) > sends_before {
            break p;
        }
        if waited.elapsed() > Duration::from_secs(150) {
            bail!("the backlog's figures did not go up in 150 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let (fwd, fig) = (
        parent["forward_us"].as_f64().unwrap_or(0.0) / 1000.0,
        parent["figures_us"].as_f64().unwrap_or(0.0) / 1000.0,
    );
    println!(
        "3. figures up the tiers: {} days in {} sends (at most one a minute; the first one every day of the year); {fig:.0} ms on figures against {fwd:.0} ms forwarding documents and attachments: +{:.1}%   [goal < 5%]",
        parent["sent_figure_days"],
        parent["figure_sends"],
        fig * 100.0 / fwd.max(1e-3)
    );
    drop(town);
    drop(county);
    Ok(())
}
