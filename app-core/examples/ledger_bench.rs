//! The ledger's benchmark: a township's store with `--cases` cases (100,000 by default), its
//! ledger for the whole period written as XLSX, with the time it takes and the process's peak
//! memory while writing it.
//!
//! ```text
//! cargo run --release -p app-core --example ledger_bench -- [--cases N] [--base N]
//! ```
//!
//! It also times the monthly notice (每月通报) of the last whole month as PDF.
//!
//! `--base` cases (2,000) are generated and played through the real workflow; the township's
//! are then copied (their summary rows and parties' index rows under new ids, in SQL, since the
//! ledger reads only those tables) until it has `--cases`. The export runs in a process of its
//! own (the example runs itself with `--export DB`), whose peak resident memory is the
//! export's.

use anyhow::Context;
use app_core::demo::{Generator, DEMO_NOW_MS};
use app_core::paperwork::report::{self, ReportKind};
use app_core::paperwork::xlsx::{self, Exporter};
use app_core::paperwork::{IdDisclosure, Period};
use app_core::store::Store;
use std::time::Instant;

fn arg(name: &str, default: usize) -> anyhow::Result<usize> {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == name) {
        Some(i) => args
            .get(i + 1)
            .context("a number after the flag")?
            .parse()
            .with_context(|| format!("{name} takes a number")),
        None => Ok(default),
    }
}

fn status(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--export") {
        let db = args.get(i + 1).context("a database after --export")?;
        return export(db);
    }
    let cases = arg("--cases", 100_000)?;
    let base = arg("--base", 2_000)?.min(cases);
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("bench.sqlite3");
    let started = Instant::now();
    let mut g = Generator::new(7);
    let township = g.township();
    let generated = g.cases(base, DEMO_NOW_MS)?;
    {
        let mut store = Store::open(&path)?;
        store.set_directory(g.directory().clone())?;
        store.import_cases(
            generated.into_iter().map(|c| (c.doc, Some(c.contacts))),
            DEMO_NOW_MS,
        )?;
        // Copies of the township's cases under new ids (the summary's id rewritten, the same
        // units and parties) until it has `cases`.
        store.write(|tx| -> anyhow::Result<()> {
            tx.execute(
                "CREATE TEMP TABLE base AS SELECT c.* FROM cases c
                 JOIN case_units u ON u.case_id = c.id AND u.unit = ?1",
                [township.as_str()],
            )?;
            let n: i64 = tx.query_row("SELECT COUNT(*) FROM base", [], |r| r.get(0))?;
            let n = n as usize;
            let copies = cases.saturating_sub(n).div_ceil(n.max(1));
            for k in 1..=copies {
                let id = |t: &str| {
                    format!("substr({t}id, 1, 24) || printf('%012x', {k} * 1000003 + {t}rowid)")
                };
                tx.execute_batch(&format!(
                    "INSERT INTO cases SELECT {}, status, category, responsible_unit,
                         reported_at, due_at, due_soon_at, handled, conflicts, party_names,
                         json_set(summary, '$.id', {}), supervised_at, order_sign_by,
                         order_reply_by
                     FROM base;
                     INSERT INTO case_units SELECT u.unit, {}
                     FROM base b JOIN case_units u ON u.case_id = b.id;
                     INSERT INTO case_parties SELECT {}, p.party_id, p.name, p.village,
                         p.resident_id, p.phone
                     FROM base b JOIN case_parties p ON p.case_id = b.id;",
                    id(""),
                    id(""),
                    id("b."),
                    id("b.")
                ))?;
            }
            // Down to exactly `cases` of the township.
            tx.execute(
                "DELETE FROM cases WHERE id IN (
                     SELECT c.id FROM cases c
                     JOIN case_units u ON u.case_id = c.id AND u.unit = ?1
                     ORDER BY c.id DESC
                     LIMIT max(0, (SELECT COUNT(*) FROM case_units WHERE unit = ?1) - ?2))",
                rusqlite::params![township.as_str(), cases as i64],
            )?;
            Ok(())
        })?;
    }
    println!(
        "store: {cases} cases of {township} ({base} cases played through the workflow, the \
         township's copied) in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // The export in a process of its own, so that its memory is its own.
    let out = std::process::Command::new(std::env::current_exe()?)
        .arg("--export")
        .arg(&path)
        .output()?;
    print!("{}", String::from_utf8_lossy(&out.stdout));
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    anyhow::ensure!(out.status.success(), "the export failed");
    Ok(())
}

fn export(db: &str) -> anyhow::Result<()> {
    let store = Store::open(db)?;
    let township = Generator::new(7).township();
    let local = store.directory().policy(&township).local();
    let last = local.date(DEMO_NOW_MS);
    let period = Period::days(local, last - chrono::Duration::days(365), last)?;
    let before = status("VmHWM:").unwrap_or(0);
    let started = Instant::now();
    let file = store.read(|conn| {
        xlsx::ledger(
            conn,
            store.directory(),
            store.taxonomy(),
            &township,
            &period,
            IdDisclosure::Masked,
            &Exporter {
                who: "基准测试".into(),
                at_ms: DEMO_NOW_MS,
            },
        )
    })?;
    let took = started.elapsed();
    let peak = status("VmHWM:").unwrap_or(0);
    // The same rows read and counted, nothing written: what the spreadsheet itself costs.
    let started = Instant::now();
    let mut figures = app_core::figures::ReportBuilder::new(
        store.directory(),
        &township,
        period.from,
        period.to,
        DEMO_NOW_MS,
    );
    let read = store.read(|conn| {
        app_core::paperwork::ledger::for_each_case(
            conn,
            store.directory(),
            &township,
            &period,
            |s, _| {
                figures.add(s);
                Ok(())
            },
        )
    })?;
    let reading = started.elapsed();
    anyhow::ensure!(figures.finish() == file.report && read == file.cases);
    println!(
        "ledger: {} cases of {} in {:.2} s ({:.0} cases/s), {:.1} MB written",
        file.cases,
        township,
        took.as_secs_f64(),
        file.cases as f64 / took.as_secs_f64(),
        file.bytes.len() as f64 / 1e6
    );
    println!(
        "reading the same rows and counting them, nothing written: {:.2} s ({:.0}% of the export)",
        reading.as_secs_f64(),
        reading.as_secs_f64() * 100.0 / took.as_secs_f64()
    );
    // The monthly notice of the demo's last whole month, as PDF (the fonts loaded first, as a
    // server holds them).
    let fonts = app_core::paperwork::pdf::Fonts::load(None)?;
    let month = ReportKind::Monthly.period(local, last - chrono::Duration::days(31))?;
    let started = Instant::now();
    let report = store.read(|conn| {
        report::build(
            conn,
            store.directory(),
            store.taxonomy(),
            &township,
            ReportKind::Monthly,
            &month,
            DEMO_NOW_MS,
        )
    })?;
    let built = started.elapsed();
    let pdf = report::to_pdf(&report, &fonts, "基准测试")?;
    let took_pdf = started.elapsed();
    println!(
        "monthly notice ({} to {}, {} cases): {:.2} s as PDF ({:.2} s reading and counting), {} KB",
        month.first,
        month.last,
        report.figures.total.received,
        took_pdf.as_secs_f64(),
        built.as_secs_f64(),
        pdf.len() / 1024
    );
    println!(
        "memory: peak resident {:.0} MB (the process opened its store at {:.0} MB)",
        peak as f64 / 1024.0,
        before as f64 / 1024.0
    );
    Ok(())
}
