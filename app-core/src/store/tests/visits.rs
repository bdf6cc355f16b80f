//! The `visits` table: one row per visit of every household here, always what the household
//! documents and their volumes hold, after local visits, visits received (concurrent ones
//! included), a refused volume set aside, a reindex and an upgrade from version 10.

use super::*;
use crate::document::{HouseholdDoc, HouseholdDocument, Visit, VisitBookDoc};
use crate::ids::{HouseholdId, VisitId};

/// A visit as a row says it: id, time, grid, person, name, role, outcome, case.
type Row = (
    String,
    i64,
    Option<String>,
    String,
    String,
    String,
    String,
    Option<String>,
);

/// The visits the household documents and their volumes hold, read whole (the documents, not
/// the summary rows), against the `visits` table. Answers how many there are.
fn assert_rows_are_the_documents(store: &Store, what: &str) -> usize {
    let households: Vec<String> = store
        .connection()
        .prepare("SELECT id FROM households ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let mut expected: Vec<Row> = Vec::new();
    for h in &households {
        let doc = store.household(&HouseholdId::new(h)).unwrap();
        for v in doc.visits {
            expected.push((
                v.id.to_string(),
                v.at,
                Some(doc.grid.to_string()),
                v.actor.person.to_string(),
                v.actor.name.clone(),
                v.actor.role.code().to_owned(),
                v.outcome.code().to_owned(),
                v.outcome.case().map(|c| c.to_string()),
            ));
        }
    }
    let mut rows: Vec<Row> = store
        .connection()
        .prepare(
            "SELECT id, at, grid, person, person_name, role, outcome, case_id FROM visits
             WHERE household IN (SELECT id FROM households)",
        )
        .unwrap()
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
            ))
        })
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    // The visits of a household not here (its volumes came first) are in no grid.
    assert_eq!(
        count(
            store,
            "SELECT COUNT(*) FROM visits
             WHERE household NOT IN (SELECT id FROM households) AND grid IS NOT NULL"
        ),
        0,
        "{what}"
    );
    expected.sort();
    rows.sort();
    assert_eq!(rows, expected, "{what}: the visits table is the documents'");
    // Each row's place is the visit's place in its list.
    let places: Vec<(String, i64, i64, String)> = store
        .connection()
        .prepare("SELECT household, volume, idx, id FROM visits WHERE volume > 0")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    for (h, volume, idx, id) in places {
        let h = HouseholdId::new(h);
        let bytes = store
            .load_bytes(&VisitBookDoc::key(&h, volume as u64))
            .unwrap()
            .expect("a row's volume is here");
        let book = VisitBookDoc::load(
            &VisitBookDoc::id(&h, volume as u64),
            &bytes,
            &ActorId::random(),
        )
        .unwrap()
        .read()
        .unwrap();
        assert_eq!(book.visits[idx as usize].id.as_str(), id, "{what}");
    }
    expected.len()
}

/// A household from before volumes: `n` visits in its own document.
fn old_household(gw: &Actor, grid: &str, n: i64) -> HouseholdDoc {
    let visits = (0..n)
        .map(|i| Visit {
            id: VisitId::generate(),
            at: T0 - (i + 1) * DAY,
            actor: gw.clone(),
            outcome: if i % 2 == 0 {
                VisitOutcome::AllSafe
            } else {
                VisitOutcome::Noted
            },
            note: format!("旧走访{i}"),
        })
        .collect();
    let old = HouseholdDocument {
        schema: crate::model::HOUSEHOLD_SCHEMA,
        id: HouseholdId::generate(),
        grid: grid.into(),
        address: autosurgeon::Text::with_value("五丰村一巷3号"),
        head: "陈伯".to_owned(),
        members: 4,
        notes: autosurgeon::Text::with_value(""),
        visits,
    };
    HouseholdDoc::create(&old, &ActorId::random(), T0 - 100 * DAY).unwrap()
}

/// Records `n` visits from `start`, a day apart: all safe, a note, and every fifth a dispute
/// reported as `case`.
fn visit_n(f: &mut Fixture, h: &HouseholdId, who: &Actor, case: &CaseId, start: i64, n: i64) {
    for i in 0..n {
        let (outcome, note) = match i % 5 {
            4 => (
                VisitOutcome::Dispute { case: case.clone() },
                "发现宅基地纠纷，已上报",
            ),
            1 | 3 => (VisitOutcome::Noted, "老人独居，需常关注"),
            _ => (VisitOutcome::AllSafe, ""),
        };
        f.store
            .record_visit(h, who, outcome, note, start + i * DAY)
            .unwrap();
    }
}

/// Every change in `from`'s outbox applied at `to`, as a server passes them on.
fn pass_on(from: &Store, to: &mut Store) {
    for e in from.outbox(10_000).unwrap() {
        let (kind, id) = DocKind::parse_key(&e.key).unwrap();
        to.apply_changes(kind, id, std::slice::from_ref(&e.change), T0)
            .unwrap();
    }
}

#[test]
fn the_visits_table_is_the_documents_after_local_and_received_visits() {
    let mut f = fixture();
    let gw = actor(&f.d, "gw", Role::GridWorker);
    let case = f
        .store
        .create_case(&gw, &new_case("hy-wf-1", "张三"), T0)
        .unwrap();
    let old = old_household(&gw, "hy-wf-1", 5);
    let old_id = old.read().unwrap().id;
    f.store.import_households([old], T0).unwrap();
    assert_eq!(assert_rows_are_the_documents(&f.store, "imported"), 5);
    let h = f
        .store
        .create_household(&gw, &"hy-wf-1".into(), "陈志明", "五丰村二巷8号", 3, T0)
        .unwrap();
    // 20 visits: a full volume of 16 and a second of 4.
    visit_n(&mut f, &h, &gw, &case, T0 + DAY, 20);
    visit_n(&mut f, &old_id, &gw, &case, T0 + DAY, 3);
    assert_eq!(f.store.visit_volumes(&h).unwrap(), vec![1, 2]);
    assert_eq!(assert_rows_are_the_documents(&f.store, "local"), 28);
    let disputes = count(
        &f.store,
        "SELECT COUNT(*) FROM visits WHERE outcome = 'dispute'",
    );
    assert_eq!(
        disputes, 4,
        "the 5th, 10th, 15th and 20th visit of the new household"
    );

    // Another device receives them all, volumes before or after their households alike.
    // The old household was imported, not written here, so only its volume goes out: its
    // visits are in no grid there until the household itself arrives (whole, as a server sends
    // a document).
    let mut other = fixture();
    pass_on(&f.store, &mut other.store);
    assert_eq!(assert_rows_are_the_documents(&other.store, "received"), 20);
    let unplaced = "SELECT COUNT(*) FROM visits WHERE grid IS NULL";
    assert_eq!(count(&other.store, unplaced), 3);
    let whole = f
        .store
        .document_bytes(DocKind::Household, old_id.as_str())
        .unwrap()
        .unwrap();
    other
        .store
        .merge_documents(&[(DocKind::Household, old_id.to_string(), whole)], T0)
        .unwrap();
    assert_eq!(count(&other.store, unplaced), 0);
    assert_eq!(assert_rows_are_the_documents(&other.store, "received"), 28);

    // Both record visits to the same volume while apart; each takes the other's in.
    let staff = actor(&f.d, "staff", Role::CentreStaff);
    let sent = f.store.outbox(10_000).unwrap().len();
    visit_n(&mut f, &h, &gw, &case, T0 + 30 * DAY, 3);
    visit_n(&mut other, &h, &staff, &case, T0 + 31 * DAY, 2);
    pass_on(&other.store, &mut f.store);
    let mine: Vec<_> = f.store.outbox(10_000).unwrap().split_off(sent);
    for e in mine {
        let (kind, id) = DocKind::parse_key(&e.key).unwrap();
        other
            .store
            .apply_changes(kind, id, std::slice::from_ref(&e.change), T0)
            .unwrap();
    }
    assert_eq!(assert_rows_are_the_documents(&f.store, "merged here"), 33);
    assert_eq!(
        assert_rows_are_the_documents(&other.store, "merged there"),
        33
    );
    assert_eq!(
        count(
            &other.store,
            "SELECT COUNT(*) FROM visits WHERE person = 'staff' AND grid = 'hy-wf-1'"
        ),
        2
    );
}

#[test]
fn a_refused_volume_takes_its_visits_rows_with_it() {
    let mut f = fixture();
    let gw = actor(&f.d, "gw", Role::GridWorker);
    let case = f
        .store
        .create_case(&gw, &new_case("hy-wf-1", "张三"), T0)
        .unwrap();
    let h = f
        .store
        .create_household(&gw, &"hy-wf-1".into(), "陈志明", "五丰村二巷8号", 3, T0)
        .unwrap();
    visit_n(&mut f, &h, &gw, &case, T0 + DAY, 18);
    assert_eq!(assert_rows_are_the_documents(&f.store, "before"), 18);
    // The server acknowledged everything but volume 2, then refused it: the device keeps
    // volume 1 only.
    let key = VisitBookDoc::key(&h, 2);
    let others: Vec<ChangeHash> = f
        .store
        .outbox(10_000)
        .unwrap()
        .into_iter()
        .filter(|e| e.key != key)
        .map(|e| e.hash)
        .collect();
    f.store.acknowledge(&others).unwrap();
    f.store
        .quarantine(&key, "out_of_scope", "refused", T0 + 30 * DAY)
        .unwrap();
    assert_eq!(f.store.visit_volumes(&h).unwrap(), vec![1]);
    assert_eq!(assert_rows_are_the_documents(&f.store, "refused"), 16);
    assert_eq!(
        count(&f.store, "SELECT COUNT(*) FROM visits WHERE volume = 2"),
        0
    );
}

#[test]
fn the_visits_table_is_rebuilt_by_a_reindex_and_filled_on_upgrade() {
    let mut f = fixture();
    let gw = actor(&f.d, "gw", Role::GridWorker);
    let case = f
        .store
        .create_case(&gw, &new_case("hy-wf-1", "张三"), T0)
        .unwrap();
    f.store
        .import_households([old_household(&gw, "hy-wf-1", 4)], T0)
        .unwrap();
    let h = f
        .store
        .create_household(&gw, &"hy-wf-1".into(), "陈志明", "五丰村二巷8号", 3, T0)
        .unwrap();
    visit_n(&mut f, &h, &gw, &case, T0 + DAY, 17);
    assert_eq!(assert_rows_are_the_documents(&f.store, "written"), 21);

    // Rows lost or wrong: a reindex writes them again from the documents.
    f.store
        .connection()
        .execute_batch(
            "DELETE FROM visits WHERE volume = 1;
             UPDATE visits SET outcome = 'all_safe', grid = 'dh-lk-1';",
        )
        .unwrap();
    f.store.reindex().unwrap();
    assert_eq!(assert_rows_are_the_documents(&f.store, "reindexed"), 21);

    // A version-10 file (no visits table, no order of lower tiers' days) gains the table,
    // filled, when opened.
    drop(f.store);
    {
        let conn = Connection::open(&f.path).unwrap();
        conn.execute_batch(
            "DROP TABLE visits;
             DROP INDEX lower_days_seq;
             ALTER TABLE lower_days DROP COLUMN seq;
             PRAGMA user_version = 10;
             DELETE FROM meta WHERE key = 'needs_reindex';",
        )
        .unwrap();
    }
    let store = Store::open(&f.path).unwrap();
    assert_eq!(user_version(&store), SCHEMA_VERSION);
    assert_eq!(store.meta("needs_reindex").unwrap(), None);
    assert_eq!(assert_rows_are_the_documents(&store, "upgraded"), 21);
}
