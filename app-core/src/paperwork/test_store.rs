//! The paperwork tests' store: a real SQLite file with demo cases played through the workflow.

use crate::demo::{Generator, DEMO_NOW_MS};
use crate::store::Store;

/// A store of `n` demo cases drawn from `seed`, the generator that drew them (its directory and
/// units), and the directory the file lives in.
pub(super) struct DemoStore {
    pub store: Store,
    pub g: Generator,
    _dir: tempfile::TempDir,
}

pub(super) fn demo_store(seed: u64, n: usize) -> DemoStore {
    let dir = tempfile::tempdir().unwrap();
    let mut g = Generator::new(seed);
    let cases = g.cases(n, DEMO_NOW_MS).unwrap();
    let mut store = Store::open(dir.path().join("s.sqlite3")).unwrap();
    store.set_directory(g.directory().clone()).unwrap();
    store
        .import_cases(
            cases.into_iter().map(|c| (c.doc, Some(c.contacts))),
            DEMO_NOW_MS,
        )
        .unwrap();
    DemoStore {
        store,
        g,
        _dir: dir,
    }
}
