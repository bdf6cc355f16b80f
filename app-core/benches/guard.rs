//! What checking an upload costs: one case, a chain of N changes (each an edit of the narrative
//! with its timeline entry, as a phone writes them), merged and admitted by the guard the way the
//! server does it outside its lock (`prepare_detached` + `guard::check_case`).
//!
//! ```text
//! cargo bench -p app-core --bench guard
//! ```
//!
//! Prints, before criterion's own figures, the median of five runs for 1,000 and 10,000 changes
//! (in order and sent backwards) and their ratio: checking must stay linear in the upload.

use app_core::demo::Generator;
use app_core::document::{CaseDoc, DocKind};
use app_core::guard::{self, Context, Limits, Sender};
use app_core::ids::{CaseId, EntryId, PartyId};
use app_core::model::{Action, NewCase, Party, PartyRole, Source, TimelineEntry};
use app_core::org::Role;
use app_core::store::prepare_detached;
use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, Change, ReadDoc, ROOT};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use std::time::{Duration, Instant};

const NOW: i64 = 1_780_000_000_000;

struct Fixture {
    generator: Generator,
    id: CaseId,
    /// The server's copy: the report.
    stored: AutoCommit,
    /// The phone's changes after it.
    chain: Vec<Change>,
}

fn fixture(n: usize) -> Fixture {
    let generator = Generator::new(3);
    let grid = generator.grids(Some(&generator.township()))[0].clone();
    let gw = generator
        .grid_worker_of(&grid)
        .expect("grid worker")
        .id
        .clone();
    let gw = generator.actor_for(&gw, Role::GridWorker);
    let phone = ActorId::random();
    let new = NewCase {
        title: "宅基地边界纠纷".to_owned(),
        category: "neighbour".to_owned(),
        narrative: "两户因围墙位置争执。".to_owned(),
        place_unit: grid.clone(),
        address: "五丰村三巷12号".to_owned(),
        gps: None,
        parties: Vec::new(),
        source: Source::GridVisit,
    };
    let mut case = CaseDoc::create(
        CaseId::generate(),
        &new,
        vec![Party {
            id: PartyId::new("p1"),
            name: "张三".to_owned(),
            role: PartyRole::Applicant,
        }],
        generator.directory().path(&grid),
        generator.township(),
        &gw,
        &phone,
        NOW - 86_400_000,
    )
    .expect("report");
    let id = case.id().clone();
    let stored = AutoCommit::load(&case.save()).expect("load");
    let doc = case.automerge();
    let before = doc.get_heads();
    let (_, list) = doc.get(ROOT, "timeline").expect("read").expect("timeline");
    let (_, narrative) = doc
        .get(ROOT, "narrative")
        .expect("read")
        .expect("narrative");
    let entries: Vec<TimelineEntry> =
        app_core::materialise::read_prop(&*doc, "timeline", None).expect("timeline");
    let mut base = entries[0].id.clone();
    // Built by hand (the store would read the case for every edit).
    for i in 0..n {
        // Type a character, take it back: the narrative stays within its 5,000 characters.
        if i % 2 == 0 {
            doc.splice_text(&narrative, 0, 0, "补").expect("splice");
        } else {
            doc.splice_text(&narrative, 0, 3, "").expect("splice");
        }
        let entry = TimelineEntry {
            id: EntryId::generate(),
            base: Some(base.clone()),
            at: NOW - 80_000_000 + i as i64,
            actor: gw.clone(),
            action: Action::Edit {
                fields: vec!["narrative".to_owned()],
            },
        };
        let len = doc.length(&list);
        autosurgeon::reconcile_insert(doc, list.clone(), len, &entry).expect("entry");
        doc.commit();
        base = entry.id;
    }
    let chain = doc.get_changes(&before);
    Fixture {
        generator,
        id,
        stored,
        chain,
    }
}

/// Merges and checks the chain as the server does; panics if the guard refuses it.
#[inline(never)]
fn check(f: &Fixture, changes: Vec<Change>) {
    let limits = Limits::default();
    let person = {
        let grid = f.generator.grids(Some(&f.generator.township()))[0].clone();
        f.generator
            .grid_worker_of(&grid)
            .expect("grid worker")
            .id
            .clone()
    };
    let cx = Context {
        directory: f.generator.directory(),
        taxonomy: f.generator.taxonomy(),
        sender: Sender::Person(&person),
        now_ms: NOW,
        limits: &limits,
    };
    let r = prepare_detached(
        f.generator.directory(),
        &ActorId::random(),
        DocKind::Case,
        f.id.as_str(),
        Some(f.stored.clone()),
        changes,
    )
    .expect("merge")
    .expect("new");
    let m = r.merged();
    guard::check_case(&cx, &m, f.id.as_str(), r.case.as_ref().expect("read")).expect("admitted");
}

fn median(f: &Fixture, backwards: bool) -> Duration {
    let mut times: Vec<Duration> = (0..5)
        .map(|_| {
            let mut changes = f.chain.clone();
            if backwards {
                changes.reverse();
            }
            let t = Instant::now();
            check(f, changes);
            t.elapsed()
        })
        .collect();
    times.sort();
    times[2]
}

/// `GUARD_N=1000` (or any size): build that fixture, check it once, and stop, for counting
/// instructions under callgrind, which noise on a shared machine does not move:
/// `GUARD_N=1000 valgrind --tool=callgrind --toggle-collect='*guard*check*' <bench binary>`.
fn once_if_asked() -> bool {
    let Some(n) = std::env::var("GUARD_N").ok().and_then(|v| v.parse().ok()) else {
        return false;
    };
    let f = fixture(n);
    let t = Instant::now();
    check(&f, f.chain.clone());
    println!("guard: {n} changes checked in {:?}", t.elapsed());
    true
}

fn benches(c: &mut Criterion) {
    if once_if_asked() {
        return;
    }
    let small = fixture(1_000);
    let large = fixture(10_000);
    let (s, l) = (median(&small, false), median(&large, false));
    let (sb, lb) = (median(&small, true), median(&large, true));
    println!(
        "guard: 1,000 changes {:.0} ms, 10,000 changes {:.0} ms: ×{:.1} for ×10 changes",
        s.as_secs_f64() * 1e3,
        l.as_secs_f64() * 1e3,
        l.as_secs_f64() / s.as_secs_f64()
    );
    println!(
        "guard, sent backwards: 1,000 changes {:.0} ms, 10,000 changes {:.0} ms: ×{:.1}",
        sb.as_secs_f64() * 1e3,
        lb.as_secs_f64() * 1e3,
        lb.as_secs_f64() / sb.as_secs_f64()
    );
    let mut group = c.benchmark_group("guard_check_one_case");
    group.sample_size(10);
    group.bench_function("1000_changes", |b| {
        b.iter_batched(
            || small.chain.clone(),
            |ch| check(&small, ch),
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(guard_bench, benches);
criterion_main!(guard_bench);
