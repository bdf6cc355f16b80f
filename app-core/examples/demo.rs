//! The demo: a store (a real SQLite file) for 台山市's townships filled with realistic cases,
//! households and visits, a few live steps through the store's own API, and 海宴镇's ledger.
//!
//! ```text
//! cargo run --release -p app-core --example demo -- [--data-dir DIR] [--cases N] [--seed N]
//! ```

use anyhow::{bail, Context};
use app_core::demo::Generator;
use app_core::document::VisitOutcome;
use app_core::ledger;
use app_core::model::{Action, Difficulty, NewCase, NewParty, PartyRole, Source};
use app_core::org::Role;
use app_core::store::Store;
use std::path::PathBuf;
use std::time::Instant;

struct Options {
    data_dir: PathBuf,
    cases: usize,
    seed: u64,
}

const USAGE: &str = "demo [--data-dir DIR] [--cases N] [--seed N]
  --data-dir DIR  where the store is created (default ./demo-data); an earlier demo store there is replaced
  --cases N       how many cases to generate across the county's townships (default 800)
  --seed N        the random seed (default 2026)";

fn options() -> anyhow::Result<Options> {
    let mut o = Options {
        data_dir: PathBuf::from("demo-data"),
        cases: 800,
        seed: 2026,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().with_context(|| format!("{name} needs a value"));
        match a.as_str() {
            "--data-dir" => o.data_dir = value("--data-dir")?.into(),
            "--cases" => o.cases = value("--cases")?.parse().context("--cases: not a number")?,
            "--seed" => o.seed = value("--seed")?.parse().context("--seed: not a number")?,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown option {other}\n{USAGE}"),
        }
    }
    Ok(o)
}

fn main() -> anyhow::Result<()> {
    let o = options()?;
    let now = chrono::Utc::now().timestamp_millis();
    std::fs::create_dir_all(&o.data_dir)
        .with_context(|| format!("creating {}", o.data_dir.display()))?;
    let path = o.data_dir.join("demo.sqlite3");
    for suffix in ["", "-wal", "-shm"] {
        let p = PathBuf::from(format!("{}{suffix}", path.display()));
        if p.exists() {
            std::fs::remove_file(&p).with_context(|| format!("removing {}", p.display()))?;
        }
    }

    let started = Instant::now();
    let mut generator = Generator::new(o.seed);
    let township = generator.township();
    let mut store = Store::open(&path).with_context(|| format!("opening {}", path.display()))?;
    store.set_directory(generator.directory().clone())?;
    let cases = generator.cases(o.cases, now)?;
    store.import_cases(cases.into_iter().map(|c| (c.doc, Some(c.contacts))), now)?;
    let grids = generator.grids(Some(&township));
    let mut households = Vec::new();
    for grid in &grids {
        for _ in 0..12 {
            households.push(generator.household(grid, now)?);
        }
    }
    store.import_households(households, now)?;

    // A few live steps through the store, as the app takes them: a grid worker's visits, one of
    // them finding a dispute, which the township centre then assesses.
    let grid = &grids[0];
    let worker = generator
        .grid_worker_of(grid)
        .context("the demo grid has a grid worker")?
        .id
        .clone();
    let gw = generator.actor_for(&worker, Role::GridWorker);
    let staff_id = generator
        .staff_of(&township)
        .first()
        .context("the demo township has staff")?
        .id
        .clone();
    let staff = generator.actor_for(&staff_id, Role::CentreStaff);
    let list = store.households(grid)?;
    store.record_visit(&list[0].id, &gw, VisitOutcome::AllSafe, "", now - 3_600_000)?;
    let case = store.create_case(
        &gw,
        &NewCase {
            title: "租地合同到期纠纷".to_owned(),
            category: "land_resources".to_owned(),
            narrative: "承租人称口头约定续租三年，出租人要求收回土地另租他人，双方在地头争执。"
                .to_owned(),
            place_unit: grid.clone(),
            address: list[1].address.clone(),
            gps: None,
            parties: vec![
                NewParty {
                    name: list[1].head.clone(),
                    role: PartyRole::Applicant,
                    phone: Some("13912345678".to_owned()),
                    id_number: None,
                },
                NewParty {
                    name: "黄永康".to_owned(),
                    role: PartyRole::Respondent,
                    phone: None,
                    id_number: None,
                },
            ],
            source: Source::GridVisit,
        },
        now - 3_000_000,
    )?;
    store.record_visit(
        &list[1].id,
        &gw,
        VisitOutcome::Dispute { case: case.clone() },
        "现场劝导，已上报",
        now - 3_000_000,
    )?;
    let summary = store.summary(&case)?;
    if summary.responsible_unit == township {
        store.act(
            &case,
            &staff,
            Action::Assess {
                difficulty: Difficulty::Simple,
                risks: vec![],
                note: "事实清楚，争议不大".to_owned(),
            },
            now - 600_000,
        )?;
    }
    let built = started.elapsed();
    drop(store);

    // Open the store again, as the app does on start, and print the ledger.
    let opened = Instant::now();
    let store = Store::open(&path)?;
    let text = ledger::render(&store, &township, now, 15, 90)?;
    let shown = opened.elapsed();
    println!("{text}");
    let storage = store.storage()?;
    println!(
        "本机数据: {}  ({} 份文档, {:.1} KB, 待同步变更 {} 条)",
        path.display(),
        storage.documents,
        (storage.snapshot_bytes + storage.chunk_bytes) as f64 / 1024.0,
        storage.outbox
    );
    println!(
        "生成 {} 件案件与 {} 户家庭用时 {:.1} s; 重新打开并生成台账用时 {:.0} ms",
        o.cases,
        grids.len() * 12,
        built.as_secs_f64(),
        shown.as_secs_f64() * 1000.0
    );
    Ok(())
}
