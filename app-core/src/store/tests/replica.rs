//! Stores kept as replicas of one shared log (store/replica.rs), over real SQLite files. The log
//! here is a vector under a lock, with the writer lock the trait asks for; the sync server's
//! PostgreSQL log is tested against a real PostgreSQL in sync-server.

use super::*;
use crate::store::{LogEntry, SharedLog};
use std::sync::{Arc, Condvar, Mutex};

#[derive(Debug, Default)]
struct Shared {
    entries: Vec<Vec<u8>>,
    locked: bool,
}

/// One process's handle on the shared log.
#[derive(Debug, Clone, Default)]
struct MemoryLog {
    shared: Arc<(Mutex<Shared>, Condvar)>,
    holding: bool,
}

impl MemoryLog {
    fn entries_after(s: &Shared, applied: u64, limit: usize) -> Vec<LogEntry> {
        s.entries
            .iter()
            .enumerate()
            .skip(applied as usize)
            .take(limit)
            .map(|(i, c)| LogEntry {
                seq: i as u64 + 1,
                changeset: c.clone(),
            })
            .collect()
    }
}

impl SharedLog for MemoryLog {
    fn begin(&mut self, applied: u64) -> Result<Vec<LogEntry>, String> {
        let (lock, cv) = &*self.shared;
        let mut s = lock.lock().unwrap();
        while s.locked {
            s = cv.wait(s).unwrap();
        }
        s.locked = true;
        self.holding = true;
        Ok(Self::entries_after(&s, applied, usize::MAX))
    }

    fn append(&mut self, changeset: Vec<u8>) -> Result<u64, String> {
        assert!(self.holding, "append without the lock");
        let (lock, cv) = &*self.shared;
        let mut s = lock.lock().unwrap();
        s.entries.push(changeset);
        s.locked = false;
        self.holding = false;
        cv.notify_all();
        Ok(s.entries.len() as u64)
    }

    fn release(&mut self) -> Result<(), String> {
        let (lock, cv) = &*self.shared;
        let mut s = lock.lock().unwrap();
        s.locked = false;
        self.holding = false;
        cv.notify_all();
        Ok(())
    }

    fn after(&mut self, applied: u64, limit: usize) -> Result<Vec<LogEntry>, String> {
        let s = self.shared.0.lock().unwrap();
        Ok(Self::entries_after(&s, applied, limit))
    }

    fn head(&mut self) -> Result<u64, String> {
        Ok(self.shared.0.lock().unwrap().entries.len() as u64)
    }
}

fn replica(dir: &tempfile::TempDir, name: &str, log: &MemoryLog) -> Store {
    let mut store = Store::open(dir.path().join(name)).unwrap();
    store.attach_log(Box::new(log.clone())).unwrap();
    store
}

fn ids(store: &Store) -> Vec<CaseId> {
    store
        .list(&CaseFilter::default(), T0)
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect()
}

/// Every row of every table a write goes through, in a fixed order: what two replicas must
/// hold alike.
fn rows(store: &Store) -> Vec<String> {
    let tables: Vec<String> = store
        .connection()
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
             AND name != 'replica_state' ORDER BY name",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut out = Vec::new();
    for t in tables {
        let mut stmt = store
            .connection()
            .prepare(&format!("SELECT * FROM {t} ORDER BY 1, 2"))
            .unwrap();
        let n = stmt.column_count();
        let mut q = stmt.query([]).unwrap();
        while let Some(r) = q.next().unwrap() {
            let cols: Vec<String> = (0..n)
                .map(|i| match r.get_ref(i).unwrap() {
                    rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                    rusqlite::types::ValueRef::Blob(b) => format!("blob:{}", sha256_hex(b)),
                    other => format!("{other:?}"),
                })
                .collect();
            // The actor id is each replica's own.
            if t == "meta" && cols[0] == "actor" {
                continue;
            }
            out.push(format!("{t}: {}", cols.join(" | ")));
        }
    }
    out
}

/// The two replicas' rows are the same; else the rows only one of them has.
fn assert_same(a: &Store, b: &Store) {
    let (a, b) = (rows(a), rows(b));
    let only_a: Vec<&String> = a.iter().filter(|r| !b.contains(r)).take(5).collect();
    let only_b: Vec<&String> = b.iter().filter(|r| !a.contains(r)).take(5).collect();
    assert!(
        a == b,
        "the replicas differ: only in the first {only_a:#?}; only in the second {only_b:#?}"
    );
}

#[test]
fn replicas_of_one_log_hold_the_same_rows_whichever_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let log = MemoryLog::default();
    let mut a = replica(&dir, "a.sqlite3", &log);
    let mut b = replica(&dir, "b.sqlite3", &log);
    let d = directory();
    a.set_directory(d.clone()).unwrap();
    assert_eq!(b.directory().units().count(), 0, "not yet applied");

    // B reads what A wrote once it catches up.
    b.catch_up().unwrap();
    let gw = actor(&d, "gw", Role::GridWorker);
    let staff = actor(&d, "staff", Role::CentreStaff);
    let id = b
        .create_case(&gw, &new_case("hy-wf-1", "张三"), T0)
        .unwrap();
    assert_eq!(b.directory().units().count(), 7, "B took A's directory");
    // A writes without having caught up: the write takes B's entry first.
    a.set_meta("seen", "1").unwrap();
    assert_eq!(a.list(&CaseFilter::default(), T0).unwrap().len(), 1);
    a.catch_up().unwrap();
    let on_a = a.case(&id).unwrap();
    assert_eq!(on_a.document.parties[0].name, "张三");
    a.act(
        &id,
        &staff,
        Action::Assess {
            difficulty: Difficulty::General,
            risks: vec![],
            note: "邻里纠纷".to_owned(),
        },
        T0 + HOUR,
    )
    .unwrap();
    b.catch_up().unwrap();
    assert_eq!(b.case(&id).unwrap().summary.status, Status::Assessed);
    assert_eq!(ids(&b), ids(&a));
    assert_same(&a, &b);
    assert!(rows(&a).len() > 20);
    assert_eq!(a.applied().unwrap(), b.applied().unwrap());
    assert_eq!(a.applied().unwrap(), log.clone().head().unwrap());

    // A third replica, started late from an empty file, replays the whole log to the same rows.
    let c = replica(&dir, "c.sqlite3", &log);
    assert_same(&c, &a);
    assert_ne!(
        c.actor_id(),
        a.actor_id(),
        "each process writes as its own actor"
    );

    // A write that fails appends nothing and gives up the lock (the next write goes on).
    let head = log.clone().head().unwrap();
    let failed: std::result::Result<(), rusqlite::Error> = a.write(|tx| {
        tx.execute("INSERT INTO meta(key, value) VALUES ('x', '1')", [])?;
        tx.execute("INSERT INTO no_such_table VALUES (1)", [])?;
        Ok(())
    });
    assert!(failed.is_err());
    assert_eq!(log.clone().head().unwrap(), head);
    assert_eq!(a.meta("x").unwrap(), None);
    b.set_meta("y", "2").unwrap();
    a.catch_up().unwrap();
    assert_eq!(a.meta("y").unwrap().as_deref(), Some("2"));
    // A write that changes nothing appends nothing.
    a.set_meta("y", "2").unwrap();
    assert_eq!(log.clone().head().unwrap(), head + 1);
}

#[test]
fn writers_on_two_threads_are_serialised_by_the_log_and_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let log = MemoryLog::default();
    let mut a = replica(&dir, "a.sqlite3", &log);
    a.set_directory(directory()).unwrap();
    let b = replica(&dir, "b.sqlite3", &log);
    let d = directory();
    let made: Vec<Vec<CaseId>> = std::thread::scope(|s| {
        [a, b]
            .into_iter()
            .enumerate()
            .map(|(n, mut store)| {
                let d = d.clone();
                s.spawn(move || {
                    let gw = actor(&d, "gw", Role::GridWorker);
                    (0..15)
                        .map(|i| {
                            store
                                .create_case(&gw, &new_case("hy-wf-1", &format!("甲{n}{i}")), T0)
                                .unwrap()
                        })
                        .collect()
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect()
    });
    let mut a = Store::open(dir.path().join("a.sqlite3")).unwrap();
    a.attach_log(Box::new(log.clone())).unwrap();
    let mut b = Store::open(dir.path().join("b.sqlite3")).unwrap();
    b.attach_log(Box::new(log.clone())).unwrap();
    let all: BTreeSet<CaseId> = made.into_iter().flatten().collect();
    assert_eq!(all.len(), 30);
    assert_eq!(ids(&a).into_iter().collect::<BTreeSet<_>>(), all);
    assert_same(&a, &b);
    // Numbered without gaps: each entry the one after the last.
    assert_eq!(a.applied().unwrap(), log.clone().head().unwrap());
    b.catch_up().unwrap();
}

#[test]
fn a_replica_that_diverged_from_the_log_is_refused_not_silently_patched() {
    let dir = tempfile::tempdir().unwrap();
    let log = MemoryLog::default();
    let mut a = replica(&dir, "a.sqlite3", &log);
    a.set_directory(directory()).unwrap();
    let mut b = replica(&dir, "b.sqlite3", &log);
    // Someone edits B's file by hand.
    b.connection()
        .execute("UPDATE units SET json = '{}' WHERE id = 'hy'", [])
        .unwrap();
    let mut d = directory();
    let hy = d.unit(&"hy".into()).unwrap().clone();
    let mut renamed = hy.clone();
    renamed.name = "海宴镇（新）".to_owned();
    d = Directory::new(
        d.units().map(|u| {
            if u.id == hy.id {
                renamed.clone()
            } else {
                u.clone()
            }
        }),
        d.people().cloned(),
    )
    .unwrap();
    a.set_directory(d).unwrap();
    let applied = b.applied().unwrap();
    match b.catch_up() {
        Err(Error::Replica(message)) => {
            assert!(message.contains("diverged"), "{message}");
        }
        other => panic!("a diverged replica must be refused, got {other:?}"),
    }
    assert_eq!(
        b.applied().unwrap(),
        applied,
        "nothing of the entry applied"
    );
}

#[test]
fn entries_fetched_without_the_store_apply_in_one_batch_and_a_gap_applies_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let log = MemoryLog::default();
    let mut a = replica(&dir, "a.sqlite3", &log);
    let mut b = replica(&dir, "b.sqlite3", &log);
    let counter = b
        .applied_counter()
        .expect("a replica counts what it applied");
    let d = directory();
    a.set_directory(d.clone()).unwrap();
    let gw = actor(&d, "gw", Role::GridWorker);
    for i in 0..3 {
        a.create_case(&gw, &new_case("hy-wf-1", &format!("李{i}")), T0)
            .unwrap();
    }
    let head = log.clone().head().unwrap();
    assert_eq!(head, 4);

    // Fetched while B is in use by others (here: simply not through B), from B's counter.
    let fetched = log
        .clone()
        .after(counter.load(std::sync::atomic::Ordering::SeqCst), 256)
        .unwrap();
    assert_eq!(fetched.len(), 4);

    // A gap (the first entry missing) is refused, and nothing of the batch applies.
    match b.apply_log(&fetched[1..]) {
        Err(Error::Replica(message)) => assert!(message.contains("applied up to 0"), "{message}"),
        other => panic!("a gap must be refused, got {other:?}"),
    }
    assert_eq!(b.applied().unwrap(), 0);
    assert_eq!(counter.load(std::sync::atomic::Ordering::SeqCst), 0);

    // The whole batch applies; fetched twice (two requests racing), the second applies nothing.
    assert_eq!(b.apply_log(&fetched).unwrap(), 4);
    assert_eq!(b.apply_log(&fetched).unwrap(), 0);
    assert_eq!(counter.load(std::sync::atomic::Ordering::SeqCst), head);
    assert_eq!(ids(&b).len(), 3);
    assert_same(&a, &b);

    // B's own write moves its counter too.
    b.set_meta("z", "1").unwrap();
    assert_eq!(counter.load(std::sync::atomic::Ordering::SeqCst), head + 1);

    // A store that is no replica refuses entries.
    let mut plain = Store::open(dir.path().join("plain.sqlite3")).unwrap();
    assert!(plain.applied_counter().is_none());
    assert!(matches!(plain.apply_log(&fetched), Err(Error::Replica(_))));
}
