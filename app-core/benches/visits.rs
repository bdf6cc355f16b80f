//! Recording a door-to-door visit as a household's history grows: a visit to a new household
//! against one to a household visited weekly for three years (150 visits), on a real SQLite
//! file, durably (BENCHMARKS.md). Goal: within 1.5× of the new household.
//!
//! A new household is made for each measured visit to one (not timed). The old households are a
//! pool of 40 visited in turn, so that they stay near 150 visits (each gains one per 40
//! iterations; the measurement is kept short).

use app_core::demo::{Generator, DEMO_NOW_MS};
use app_core::document::VisitOutcome;
use app_core::ids::HouseholdId;
use app_core::model::Actor;
use app_core::org::Role;
use app_core::store::Store;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use std::cell::RefCell;
use std::time::Duration;

const POOL: usize = 40;
const HISTORY: usize = 150;
const WEEK: i64 = 7 * 86_400_000;

fn households(store: &mut Store, worker: &Actor, visits: usize) -> Vec<HouseholdId> {
    let grid = worker.unit.clone();
    (0..POOL)
        .map(|i| {
            let start = DEMO_NOW_MS - (visits as i64 + 1) * WEEK;
            let h = store
                .create_household(worker, &grid, &format!("户主{i}"), "安置点", 4, start)
                .expect("household");
            for w in 0..visits {
                store
                    .record_visit(
                        &h,
                        worker,
                        VisitOutcome::AllSafe,
                        "",
                        start + (w as i64 + 1) * WEEK,
                    )
                    .expect("visit");
            }
            h
        })
        .collect()
}

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut store = Store::open(dir.path().join("visits.sqlite3")).expect("store");
    let g = Generator::new(7);
    store
        .set_directory(g.directory().clone())
        .expect("directory");
    let grid = g.grids(Some(&g.township()))[0].clone();
    let worker = g.grid_worker_of(&grid).expect("a grid worker").id.clone();
    let worker = g.actor_for(&worker, Role::GridWorker);
    let old = households(&mut store, &worker, HISTORY);
    let store = RefCell::new(store);
    let mut group = c.benchmark_group("record_visit");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2));
    let visit = |h: &HouseholdId, at: i64| {
        store
            .borrow_mut()
            .record_visit(h, &worker, VisitOutcome::Noted, "邻里和睦，无纠纷苗头", at)
            .expect("visit")
    };
    let mut i = 0i64;
    group.bench_function("new_household", |b| {
        b.iter_batched(
            || {
                store
                    .borrow_mut()
                    .create_household(&worker, &worker.unit, "新户", "安置点", 3, DEMO_NOW_MS)
                    .expect("household")
            },
            |h| {
                i += 1;
                visit(&h, DEMO_NOW_MS + i)
            },
            BatchSize::PerIteration,
        )
    });
    let mut n = 0usize;
    group.bench_function("household_with_150_visits", |b| {
        b.iter(|| {
            n += 1;
            visit(&old[n % POOL], DEMO_NOW_MS + n as i64)
        })
    });
    group.finish();
    let most = old
        .iter()
        .map(|h| store.borrow().household(h).expect("household").visits.len())
        .max()
        .unwrap_or(0);
    println!("the old households hold at most {most} visits after the run");
}

criterion_group!(visits, benches);
criterion_main!(visits);
