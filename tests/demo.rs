//! The demo the README's run command shows: a township's store built from realistic data, closed,
//! reopened, and its ledger checked against its own lists and figures.

use anyhow::Context;
use app_core::demo::{Generator, DEMO_NOW_MS};
use app_core::document::VisitOutcome;
use app_core::ledger;
use app_core::org::Role;
use app_core::store::{CaseFilter, DueFilter, Store};
use app_core::workflow::Status;

const DAY: i64 = 86_400_000;

#[test]
fn demo_township_ledger_matches_its_lists_after_reopening() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("demo.sqlite3");
    let mut g = Generator::new(11);
    let township = g.township();
    {
        let mut store = Store::open(&path)?;
        store.set_directory(g.directory().clone())?;
        let cases = g.cases(120, DEMO_NOW_MS)?;
        store.import_cases(
            cases.into_iter().map(|c| (c.doc, Some(c.contacts))),
            DEMO_NOW_MS,
        )?;
        let grid = g.grids(Some(&township))[0].clone();
        let households = (0..5)
            .map(|_| g.household(&grid, DEMO_NOW_MS))
            .collect::<Result<Vec<_>, _>>()?;
        store.import_households(households, DEMO_NOW_MS)?;
        // A live "all safe" visit through the store.
        let worker = g.grid_worker_of(&grid).context("grid worker")?.id.clone();
        let gw = g.actor_for(&worker, Role::GridWorker);
        let first = store.households(&grid)?[0].id.clone();
        store.record_visit(&first, &gw, VisitOutcome::AllSafe, "", DEMO_NOW_MS)?;
    }

    let store = Store::open(&path)?;
    let text = ledger::render(&store, &township, DEMO_NOW_MS, 10, 120)?;
    let overdue = store.list(
        &CaseFilter {
            unit: Some(township.clone()),
            due: Some(DueFilter::Overdue),
            ..CaseFilter::default()
        },
        DEMO_NOW_MS,
    )?;
    let all = store.list(
        &CaseFilter {
            unit: Some(township.clone()),
            ..CaseFilter::default()
        },
        DEMO_NOW_MS,
    )?;
    assert!(
        all.len() > 30,
        "海宴镇 holds most of the demo's cases: {}",
        all.len()
    );
    assert!(text.starts_with("海宴镇 矛盾纠纷台账"), "{text}");
    assert!(
        text.contains(&format!("超期未办结 (督办): {} 件", overdue.len())),
        "{text}"
    );
    for case in &overdue {
        assert!(
            text.contains(&case.title),
            "overdue case {} missing",
            case.title
        );
        assert!(case.due_at <= DEMO_NOW_MS && !case.status.is_handled());
    }
    // The figures count exactly the cases the list holds for the period.
    let from = DEMO_NOW_MS - 120 * DAY;
    let in_period: Vec<_> = all.iter().filter(|c| c.reported_at >= from).collect();
    let resolved = in_period.iter().filter(|c| c.resolved_at.is_some()).count();
    assert!(
        text.contains(&format!(
            "受理 {} 件，化解 {} 件",
            in_period.len(),
            resolved
        )),
        "{text}"
    );
    let closed = in_period
        .iter()
        .filter(|c| c.status == Status::Closed)
        .count();
    assert!(closed > 0 && resolved > 0, "the demo has concluded cases");
    assert!(text.contains("化解率 "), "{text}");
    assert!(text.contains("按村（社区）") && text.contains("按纠纷类型") && text.contains("按月"));
    // The live visit was kept.
    let grid = g.grids(Some(&township))[0].clone();
    assert_eq!(
        store
            .households(&grid)?
            .iter()
            .filter(|h| h.last_visit_at == Some(DEMO_NOW_MS))
            .count(),
        1
    );
    Ok(())
}
