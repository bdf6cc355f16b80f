//! A week in the field, as a benchmark: a grid worker's phone (the app's real `Session` on a real
//! SQLite file) is enrolled and synced with a real server (release build, demo county), then
//! works a week with no signal (visits door to door, disputes found and reported on visits, a
//! few settled on the spot), then syncs once. Prints its figures (BENCHMARKS.md).
//!
//! ```text
//! cargo build --release -p sync-server --features demo
//! $CARGO_TARGET_DIR/release/week [--visits 200] [--disputes 30] [--settled 4] [--households 40]
//! ```
//!
//! The simulated clock runs over the seven days before now (the server believes no time later
//! than its own clock). Checked at the end: the server holds every case the phone reported and
//! every visit it recorded.

use anyhow::{bail, Context};
use app_core::ids::{CaseId, HouseholdId, UnitId};
use app_core::model::{Action, NewCase, NewParty, PartyRole, SessionMode, Source};
use app_core::screens::{ActInput, VisitInput};
use app_core::session::Session;
use std::path::Path;
use std::time::Instant;

#[path = "support/mod.rs"]
mod support;
use support::{issue, now_ms, percentile, start_server};

const GW: &str = "haiyan-fengjiang-g1-gw";
const DAY: i64 = 86_400_000;

struct Args {
    visits: usize,
    disputes: usize,
    settled: usize,
    households: usize,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        visits: 200,
        disputes: 30,
        settled: 4,
        households: 40,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let v = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--visits" => a.visits = v.parse()?,
            "--disputes" => a.disputes = v.parse()?,
            "--settled" => a.settled = v.parse()?,
            "--households" => a.households = v.parse()?,
            _ => bail!("unknown option {flag}"),
        }
    }
    if a.disputes > a.visits || a.settled > a.disputes {
        bail!("disputes are found on visits, and settled ones are among them");
    }
    Ok(a)
}

fn dispute(place: &UnitId, i: usize) -> NewCase {
    const FOUND: [(&str, &str); 3] = [
        ("neighbour", "相邻通道堆放杂物引发争执"),
        ("land_resources", "宅基地边界有争议"),
        ("marriage_family", "赡养老人费用分担纠纷"),
    ];
    let (category, title) = FOUND[i % FOUND.len()];
    NewCase {
        title: format!("{title}（走访发现{i}）"),
        category: category.to_owned(),
        narrative: "入户走访时群众反映，双方已多次口角，需及时化解。".to_owned(),
        place_unit: place.clone(),
        address: "丰江村安置点".to_owned(),
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

fn file_bytes(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn ms(samples: &mut [f64]) -> String {
    samples.sort_by(f64::total_cmp);
    format!(
        "mean {:.2} ms, p50 {:.2}, p99 {:.2}",
        mean(samples),
        percentile(samples, 0.5),
        percentile(samples, 0.99)
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let a = args()?;
    let bin = support::server_bin()?;
    let work = tempfile::tempdir()?;
    std::fs::write(
        work.path().join("server.toml"),
        "unit = \"haiyan\"\ndemo_cases = 200\n",
    )?;
    let server = start_server(&bin, work.path())?;
    let code = issue(&work.path().join("data").join("server.sqlite3"), GW)?;
    let phone_db = work.path().join("phone.sqlite3");
    let phone = Session::open(&phone_db)?;
    let me = phone.enrol(&server.url, &code, "网格员的手机").await?;
    phone.sync_now().await?;
    let grid = me
        .grids
        .first()
        .context("the grid worker's grid")?
        .id
        .clone();
    let village = phone
        .store()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .directory()
        .unit(&grid)
        .and_then(|u| u.parent.clone())
        .context("the grid's village")?;
    let mut households: Vec<HouseholdId> = phone
        .households()?
        .into_iter()
        .filter(|h| h.grid == grid)
        .map(|h| h.id)
        .collect();
    let had = households.len();
    households.truncate(a.households);
    println!(
        "phone: enrolled as {GW} and synced; its grid {grid} has {had} households, {} visited in turn",
        households.len()
    );
    if households.is_empty() {
        bail!("the demo grid has no households");
    }

    // The week, offline: the server is never called until the one sync at the end.
    let start = now_ms() - 7 * DAY;
    let per_day = a.visits.div_ceil(7);
    let every_dispute = a.visits / a.disputes.max(1);
    let mut visit_ms: Vec<Vec<f64>> = vec![Vec::new(); 7];
    let mut report_ms = Vec::new();
    let mut reported: Vec<CaseId> = Vec::new();
    for i in 0..a.visits {
        let day = i / per_day;
        let at = start + day as i64 * DAY + 8 * 3_600_000 + (i % per_day) as i64 * 600_000;
        let found = a.disputes > 0 && i % every_dispute == 0 && reported.len() < a.disputes;
        let input = VisitInput {
            household: households[i % households.len()].clone(),
            all_safe: !found && i % 3 != 0,
            note: if found || i % 3 != 0 {
                String::new()
            } else {
                "家中老人身体欠佳，子女外出务工".to_owned()
            },
            dispute: found.then(|| {
                // One in five of the disputes concerns the whole village.
                let place = if reported.len() % 5 == 4 {
                    &village
                } else {
                    &grid
                };
                dispute(place, reported.len())
            }),
        };
        let t = Instant::now();
        let done = phone.record_visit(&input, at)?;
        let took = t.elapsed().as_secs_f64() * 1000.0;
        match done.case {
            Some(case) => {
                report_ms.push(took);
                reported.push(case);
            }
            None => visit_ms[day].push(took),
        }
    }
    let mut settle_ms = Vec::new();
    for (k, case) in reported.iter().take(a.settled).enumerate() {
        let at = start + 6 * DAY + 17 * 3_600_000 + k as i64 * 600_000;
        let t = Instant::now();
        for action in [
            Action::RecordSession {
                mode: SessionMode::OnSite,
                note: "在院坝里当场调解".to_owned(),
            },
            Action::Resolve {
                agreement: None,
                note: "双方当场达成一致，握手言和".to_owned(),
            },
        ] {
            phone.act(
                &ActInput {
                    case: case.clone(),
                    action,
                },
                at,
            )?;
        }
        settle_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let mut all: Vec<f64> = visit_ms.iter().flatten().copied().collect();
    let (first, last) = (mean(&visit_ms[0]), mean(&visit_ms[6]));
    println!(
        "visits: {} ({} all safe or noted, {} with a dispute reported): {}",
        a.visits,
        all.len(),
        reported.len(),
        ms(&mut all)
    );
    println!(
        "        day 1 mean {first:.2} ms, day 7 mean {last:.2} ms: day 7 / day 1 = {:.2}",
        last / first
    );
    println!(
        "reports (a visit that finds a dispute): {}",
        ms(&mut report_ms)
    );
    println!(
        "settled on the spot (a session and the resolution): {}",
        ms(&mut settle_ms)
    );
    let wal = phone_db.with_extension("sqlite3-wal");
    let waiting = phone.sync_state()?.waiting;
    println!(
        "store before the sync: {:.0} KB file + {:.0} KB write-ahead log; {waiting} changes waiting",
        file_bytes(&phone_db) as f64 / 1024.0,
        file_bytes(&wal) as f64 / 1024.0
    );

    // The one sync.
    let t = Instant::now();
    let state = phone.sync_now().await?;
    let took = t.elapsed().as_secs_f64() * 1000.0;
    if let Some(e) = state.error {
        bail!("the sync failed: {e}");
    }
    println!(
        "the one sync: {} changes sent, {} received, in {took:.0} ms; {} still waiting",
        state.last_sent, state.last_received, state.waiting
    );
    println!(
        "store after the sync: {:.0} KB file + {:.0} KB write-ahead log",
        file_bytes(&phone_db) as f64 / 1024.0,
        file_bytes(&wal) as f64 / 1024.0
    );

    // What the township's server holds now.
    let db = rusqlite::Connection::open_with_flags(
        work.path().join("data").join("server.sqlite3"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?;
    let mut held = 0;
    for case in &reported {
        held += db.query_row(
            "SELECT COUNT(*) FROM cases WHERE id = ?1",
            [case.as_str()],
            |r| r.get::<_, i64>(0),
        )?;
    }
    let mut visits = 0;
    for h in &households {
        visits += db.query_row(
            "SELECT COALESCE(SUM(visits), 0) FROM visit_books WHERE household = ?1",
            [h.as_str()],
            |r| r.get::<_, i64>(0),
        )?;
    }
    println!(
        "the server holds {held} of the {} cases reported and {visits} of the {} visits",
        reported.len(),
        a.visits
    );
    if held != reported.len() as i64 || visits != a.visits as i64 {
        bail!("the server does not hold everything the phone did");
    }
    Ok(())
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}
