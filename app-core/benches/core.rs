//! The core's benchmarks, on a store of 10,000 realistic cases (two parties, about a dozen
//! timeline entries, Chinese text) in a real SQLite file.
//!
//! ```text
//! cargo bench -p app-core --bench core
//! ```
//!
//! - `record_action_durably`: one mediation session recorded on an open case (load, check, fold,
//!   write chunk + outbox + summary, fsync).
//! - `open_cold_and_list_overdue`: open the store (a new connection) and list one township's
//!   overdue cases.
//! - `merge_1000_changes/core` and `/plain_automerge`: one replica receives the 1,000 changes
//!   another made to 1,000 cases; the core stores them durably with their summaries, plain
//!   automerge loads the same documents and applies the same changes in memory and saves them.
//! - Bytes per case at rest are printed before the timings (they are sizes, not times).
//!
//! `CORE_BENCH_CASES` overrides the number of cases (default 10,000).

use app_core::demo::{Generator, DEMO_NOW_MS};
use app_core::document::DocKind;
use app_core::ids::CaseId;
use app_core::model::{Action, Actor, SessionMode};
use app_core::org::Role;
use app_core::store::{CaseFilter, DueFilter, Store};
use app_core::workflow::Status;
use automerge::{AutoCommit, Change};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
    township: app_core::ids::UnitId,
    /// Open cases the township's staff may record a session on.
    open: Vec<CaseId>,
    staff: Actor,
}

fn cases_wanted() -> usize {
    std::env::var("CORE_BENCH_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

fn fixture() -> Fixture {
    let n = cases_wanted();
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("bench.sqlite3");
    let started = Instant::now();
    let mut g = Generator::new(7);
    let township = g.township();
    let staff_id = g.staff_of(&township)[0].id.clone();
    let staff = g.actor_for(&staff_id, Role::CentreStaff);
    let cases = g.cases(n, DEMO_NOW_MS).expect("demo cases");
    let generated = started.elapsed();
    let mut store = Store::open(&path).expect("store");
    store
        .set_directory(g.directory().clone())
        .expect("directory");
    let mut entries = 0usize;
    let mut plain = 0usize;
    let mut docs = Vec::with_capacity(n);
    for mut c in cases {
        entries += c.doc.timeline().map(|t| t.len()).unwrap_or(0);
        plain += c.doc.save().len();
        docs.push((c.doc, Some(c.contacts)));
    }
    store.import_cases(docs, DEMO_NOW_MS).expect("import");
    let open: Vec<CaseId> = store
        .list(
            &CaseFilter {
                responsible: Some(township.clone()),
                statuses: vec![Status::Assigned, Status::Mediating],
                ..CaseFilter::default()
            },
            DEMO_NOW_MS,
        )
        .expect("list")
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert!(
        !open.is_empty(),
        "the demo data has open cases in the township"
    );
    checkpoint(&path);
    drop(store);
    let file = file_bytes(&path);
    println!(
        "fixture: {n} cases ({:.1} timeline entries each) generated in {:.1} s",
        entries as f64 / n as f64,
        generated.as_secs_f64()
    );
    println!(
        "bytes per case: plain automerge save {:.0} B; core case document at rest {:.0} B; \
         its contacts document {:.0} B; SQLite file incl. households, summaries, indexes {:.0} B",
        plain as f64 / n as f64,
        kind_bytes(&path, "case") as f64 / n as f64,
        kind_bytes(&path, "contacts") as f64 / n as f64,
        file as f64 / n as f64
    );
    Fixture {
        _dir: dir,
        path,
        township,
        open,
        staff,
    }
}

/// Moves the write-ahead log into the main file (from a connection of its own, beside any open
/// store), so that copying or measuring the main file sees everything.
fn checkpoint(path: &Path) {
    rusqlite::Connection::open(path)
        .and_then(|c| c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)"))
        .expect("checkpoint");
}

/// Bytes of the documents of one kind, snapshots and chunks.
fn kind_bytes(path: &Path, kind: &str) -> u64 {
    let store = Store::open(path).expect("store");
    store
        .read(|c| {
            c.query_row(
                "SELECT (SELECT COALESCE(SUM(LENGTH(snapshot)), 0) FROM documents WHERE kind = ?1)
                      + (SELECT COALESCE(SUM(LENGTH(c.bytes)), 0) FROM document_chunks c
                         JOIN documents d ON d.key = c.key WHERE d.kind = ?1)",
                [kind],
                |r| r.get::<_, i64>(0),
            )
        })
        .expect("document bytes") as u64
}

fn file_bytes(path: &Path) -> u64 {
    ["", "-wal"]
        .iter()
        .filter_map(|s| std::fs::metadata(format!("{}{s}", path.display())).ok())
        .map(|m| m.len())
        .sum()
}

fn session(i: usize) -> Action {
    Action::RecordSession {
        mode: SessionMode::MediationRoom,
        note: format!("第{i}次调解：双方就赔偿金额各让一步，约定下周再谈。"),
    }
}

fn benches(c: &mut Criterion) {
    let f = fixture();

    // An action, durably.
    {
        let mut store = Store::open(&f.path).expect("store");
        let mut i = 0usize;
        c.bench_function("record_action_durably", |b| {
            b.iter(|| {
                let case = &f.open[i % f.open.len()];
                i += 1;
                store
                    .act(case, &f.staff, session(i), DEMO_NOW_MS + i as i64)
                    .expect("record session")
            })
        });
        let storage = store.storage().expect("storage");
        println!(
            "after {i} recorded sessions: {} chunks waiting for compaction, {} outbox entries",
            storage.chunks, storage.outbox
        );
    }

    // The floor under a durable action on this disk: one SQLite transaction in the same mode (WAL,
    // synchronous=FULL) that writes a change-sized blob and a summary-sized row, nothing else.
    {
        let dir = tempfile::tempdir().expect("temporary directory");
        let conn = rusqlite::Connection::open(dir.path().join("floor.sqlite3")).expect("sqlite");
        conn.pragma_update(None, "journal_mode", "WAL")
            .expect("wal");
        conn.pragma_update(None, "synchronous", "FULL")
            .expect("full");
        conn.execute_batch(
            "CREATE TABLE chunks (id INTEGER PRIMARY KEY, bytes BLOB);
             CREATE TABLE rows (id INTEGER PRIMARY KEY, body TEXT);",
        )
        .expect("schema");
        let blob = vec![7u8; 300];
        let body = "调".repeat(70);
        let mut conn = conn;
        c.bench_function("sqlite_durable_commit_floor", |b| {
            b.iter(|| {
                let tx = conn.transaction().expect("tx");
                tx.execute("INSERT INTO chunks (bytes) VALUES (?1)", [&blob])
                    .expect("chunk");
                tx.execute(
                    "INSERT OR REPLACE INTO rows (id, body) VALUES (1, ?1)",
                    [&body],
                )
                .expect("row");
                tx.commit().expect("commit");
            })
        });
    }

    // A list screen from a cold start.
    c.bench_function("open_cold_and_list_overdue", |b| {
        b.iter(|| {
            let store = Store::open(&f.path).expect("store");
            let list = store
                .list(
                    &CaseFilter {
                        unit: Some(f.township.clone()),
                        due: Some(DueFilter::Overdue),
                        ..CaseFilter::default()
                    },
                    DEMO_NOW_MS,
                )
                .expect("list");
            assert!(!list.is_empty());
            list.len()
        })
    });

    // Two replicas that each made 1,000 changes; one receives the other's.
    let (base_dir, base, theirs) = replicas(&f);
    let touched: Vec<String> = theirs.iter().map(|(_, id, _)| id.clone()).collect();
    let base_docs: Vec<Vec<u8>> = {
        let store = Store::open(&base).expect("store");
        touched
            .iter()
            .map(|id| {
                store
                    .read(|c| {
                        c.query_row(
                            "SELECT snapshot FROM documents WHERE key = ?1",
                            [DocKind::Case.key(id)],
                            |r| r.get(0),
                        )
                    })
                    .expect("snapshot")
            })
            .collect()
    };
    let changes: usize = theirs.iter().map(|(_, _, c)| c.len()).sum();
    println!("merge: {changes} changes to {} cases", theirs.len());
    let mut group = c.benchmark_group("merge_1000_changes");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("core", |b| {
        b.iter_batched(
            || {
                let copy = base_dir
                    .path()
                    .join(format!("copy-{}.sqlite3", rand_suffix()));
                copy_store(&base, &copy);
                (Store::open(&copy).expect("store"), copy)
            },
            |(mut store, copy)| {
                let n = store
                    .apply_changes_batch(&theirs, DEMO_NOW_MS)
                    .expect("merge");
                assert_eq!(n, theirs.len());
                drop(store);
                let _ = std::fs::remove_file(copy);
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("plain_automerge", |b| {
        b.iter(|| {
            let mut total = 0;
            for (bytes, (_, _, changes)) in base_docs.iter().zip(&theirs) {
                let mut doc = AutoCommit::load(bytes).expect("load");
                let before = doc.get_heads();
                let decoded: Vec<Change> = changes
                    .iter()
                    .map(|c| Change::from_bytes(c.clone()).expect("change"))
                    .collect();
                doc.apply_changes(decoded).expect("apply");
                total += doc.save_after(&before).len();
            }
            total
        })
    });
    group.finish();
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
}

fn copy_store(from: &Path, to: &Path) {
    // The source is closed and checkpointed, so the main file is the whole database.
    std::fs::copy(from, to).expect("copy store");
}

/// Changes as a sync response carries them: per document, its kind, id and raw changes.
type Batch = Vec<(DocKind, String, Vec<Vec<u8>>)>;

/// A base store with 1,000 open cases' worth of data, and the 1,000 changes another replica made
/// to those cases (one session each), as a sync response would carry them.
fn replicas(f: &Fixture) -> (tempfile::TempDir, PathBuf, Batch) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let base = dir.path().join("base.sqlite3");
    let theirs_path = dir.path().join("theirs.sqlite3");
    // Checkpoint the fixture so that copying the main file copies everything.
    checkpoint(&f.path);
    copy_store(&f.path, &base);
    copy_store(&f.path, &theirs_path);
    {
        // The other replica is another device: it gets its own actor id.
        let conn = rusqlite::Connection::open(&theirs_path).expect("sqlite");
        conn.execute("DELETE FROM meta WHERE key = 'actor'", [])
            .expect("new actor");
    }
    let mut ours = Store::open(&base).expect("store");
    let mut theirs = Store::open(&theirs_path).expect("store");
    // Clear what the fixture's own benchmark left in the outbox.
    for s in [&mut ours, &mut theirs] {
        let hashes: Vec<_> = s
            .outbox(usize::MAX >> 1)
            .expect("outbox")
            .into_iter()
            .map(|e| e.hash)
            .collect();
        s.acknowledge(&hashes).expect("ack");
    }
    let cases: Vec<&CaseId> = f.open.iter().cycle().take(1000).collect();
    // Both replicas make 1,000 changes to the same cases while apart.
    for (i, case) in cases.iter().enumerate() {
        ours.act(case, &f.staff, session(i), DEMO_NOW_MS + i as i64)
            .expect("ours");
        theirs
            .act(case, &f.staff, session(i + 5000), DEMO_NOW_MS + i as i64)
            .expect("theirs");
    }
    let mut by_case: std::collections::BTreeMap<String, Vec<Vec<u8>>> = Default::default();
    for e in theirs.outbox(10_000).expect("outbox") {
        let id = e
            .key
            .split_once(':')
            .map(|(_, id)| id.to_owned())
            .unwrap_or_default();
        by_case.entry(id).or_default().push(e.change);
    }
    checkpoint(&base);
    drop(ours);
    let batch = by_case
        .into_iter()
        .map(|(id, changes)| (DocKind::Case, id, changes))
        .collect();
    (dir, base, batch)
}

criterion_group!(core, benches);
criterion_main!(core);
