//! The index of parties' identities: matching a case's parties against the store's caseload by
//! ID number, phone and name in the village, and keeping the index true through every write.

use super::*;
use crate::document::{ContactsDocument, PartyContact};
use crate::identity::PartyMatch;
use crate::model::Party;

/// Weights of GB 11643-1999's check character.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

/// A valid 18-character resident ID number: region, `YYYYMMDD`, three sequence digits and the
/// check character the standard gives them.
fn resident_id(region: &str, birth: &str, sequence: &str) -> String {
    let body = format!("{region}{birth}{sequence}");
    assert_eq!(body.len(), 17);
    let sum: u32 = body
        .bytes()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    let check = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'][(sum % 11) as usize];
    format!("{body}{check}")
}

/// The same number as a 15-digit card of before 1999 wrote it (no century, no check).
fn old_resident_id(region: &str, birth: &str, sequence: &str) -> String {
    format!("{region}{}{sequence}", &birth[2..])
}

/// 单雄信 of 五丰村, born 1965-03-15 in 台山 (440781).
const SHAN: (&str, &str, &str) = ("440781", "19650315", "123");
/// Another man of the same name and village, born 1972.
const OTHER_SHAN: (&str, &str, &str) = ("440781", "19720808", "051");

fn party(name: &str, phone: Option<&str>, id_number: Option<String>) -> NewParty {
    NewParty {
        name: name.to_owned(),
        role: PartyRole::Applicant,
        phone: phone.map(str::to_owned),
        id_number,
    }
}

/// A report at `grid` with these parties.
fn report(grid: &str, category: &str, parties: Vec<NewParty>) -> NewCase {
    NewCase {
        category: category.to_owned(),
        parties,
        ..new_case(grid, "")
    }
}

/// A grid worker of 五丰村 (`hy-wf-1`) or of 莲塘村 in another township (`dh-lk-1`).
fn worker(d: &Directory, grid: &str) -> Actor {
    match grid {
        "hy-wf-1" => actor(d, "gw", Role::GridWorker),
        _ => actor(d, "gw2", Role::GridWorker),
    }
}

fn report_case(f: &mut Fixture, grid: &str, parties: Vec<NewParty>, at: i64) -> CaseId {
    let gw = worker(&f.d, grid);
    f.store
        .create_case(&gw, &report(grid, "neighbour", parties), at)
        .unwrap()
}

/// (case, how, ours, theirs) of each match.
fn found(matches: &[CaseMatch]) -> Vec<(CaseId, PartyMatch, String, String)> {
    matches
        .iter()
        .map(|m| (m.case.clone(), m.how, m.ours.clone(), m.theirs.clone()))
        .collect()
}

/// A table's rows, whole.
type Rows = Vec<Vec<Option<String>>>;

/// Both index tables, whole, in a stable order.
fn index(store: &Store) -> (Rows, Rows) {
    let conn = store.connection();
    let mut stmt = conn
        .prepare(
            "SELECT case_id, party_id, name, village, resident_id, phone FROM case_parties
             ORDER BY case_id, party_id",
        )
        .unwrap();
    let parties = stmt
        .query_map([], |r| (0..6).map(|i| r.get(i)).collect())
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let mut stmt = conn
        .prepare("SELECT key, case_id, party_id FROM party_keys ORDER BY key, case_id, party_id")
        .unwrap();
    let keys = stmt
        .query_map([], |r| (0..3).map(|i| r.get(i)).collect())
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    (parties, keys)
}

fn keys_of(store: &Store, case: &CaseId) -> Vec<String> {
    let conn = store.connection();
    let mut stmt = conn
        .prepare("SELECT key FROM party_keys WHERE case_id = ?1 ORDER BY key")
        .unwrap();
    stmt.query_map([case.as_str()], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

#[test]
fn parties_are_matched_by_id_phone_and_name_in_their_village() {
    let mut f = fixture();
    let (r, b, s) = SHAN;
    let a = report_case(
        &mut f,
        "hy-wf-1",
        vec![
            party("单雄信", Some("13800138000"), Some(resident_id(r, b, s))),
            party("区志强", None, None),
        ],
        T0,
    );
    // The same ID number, written on an old 15-digit card, under another name elsewhere.
    let same_id = report_case(
        &mut f,
        "dh-lk-1",
        vec![party("张伟", None, Some(old_resident_id(r, b, s)))],
        T0 + DAY,
    );
    // The same phone, written another way, for someone of another village.
    let same_phone = report_case(
        &mut f,
        "dh-lk-1",
        vec![party("黄丽华", Some("+86 138-0013-8000"), None)],
        T0 + 2 * DAY,
    );
    // 单 as a surname is shàn: 善雄信 sounds the same, but in another village it is no one.
    let elsewhere = report_case(
        &mut f,
        "dh-lk-1",
        vec![party("善雄信", None, None)],
        T0 + 3 * DAY,
    );
    // The same name in the same village, but another ID number: another man.
    let namesake = report_case(
        &mut f,
        "hy-wf-1",
        vec![party(
            "单雄信",
            None,
            Some(resident_id(OTHER_SHAN.0, OTHER_SHAN.1, OTHER_SHAN.2)),
        )],
        T0 + 4 * DAY,
    );
    // 区 as a surname is ōu: 欧志强 of the same village.
    let ou = report_case(
        &mut f,
        "hy-wf-1",
        vec![party("欧志强", None, None)],
        T0 + 5 * DAY,
    );
    // 曾 as a surname is zēng, which folds with zhèng (z/zh, -n/-ng), never céng.
    let zeng = report_case(
        &mut f,
        "hy-wf-1",
        vec![party("曾国藩", None, None)],
        T0 + 6 * DAY,
    );
    let zheng = report_case(
        &mut f,
        "hy-wf-1",
        vec![party("郑国藩", None, None)],
        T0 + 7 * DAY,
    );
    let ceng = report_case(
        &mut f,
        "hy-wf-1",
        vec![party("层国藩", None, None)],
        T0 + 8 * DAY,
    );

    let text = |s: &str| s.to_owned();
    assert_eq!(
        found(&f.store.party_matches(&a).unwrap()),
        [
            (
                same_id.clone(),
                PartyMatch::SameId,
                text("单雄信"),
                text("张伟")
            ),
            (
                same_phone.clone(),
                PartyMatch::SamePhone,
                text("单雄信"),
                text("黄丽华")
            ),
            (
                ou.clone(),
                PartyMatch::SameNameAndVillage,
                text("区志强"),
                text("欧志强")
            ),
        ]
    );
    assert_eq!(
        found(&f.store.party_matches(&same_id).unwrap()),
        [(a.clone(), PartyMatch::SameId, text("张伟"), text("单雄信"))]
    );
    assert_eq!(
        found(&f.store.party_matches(&zeng).unwrap()),
        [(
            zheng.clone(),
            PartyMatch::SameNameAndVillage,
            text("曾国藩"),
            text("郑国藩")
        )]
    );
    assert!(f.store.party_matches(&ceng).unwrap().is_empty());
    assert!(f.store.party_matches(&elsewhere).unwrap().is_empty());
    assert!(f.store.party_matches(&namesake).unwrap().is_empty());
    assert!(matches!(
        f.store.party_matches(&CaseId::new("nowhere")),
        Err(Error::UnknownCase(_))
    ));

    // The summary's words come along, for the link.
    let m = &f.store.party_matches(&a).unwrap()[0];
    assert_eq!(
        (
            m.title.as_str(),
            m.category.as_str(),
            m.status,
            m.reported_at
        ),
        ("宅基地边界纠纷", "neighbour", Status::Reported, T0 + DAY)
    );

    // A new report is checked before it is saved: 善雄信 without numbers sounds like both men of
    // 五丰村 called 单雄信 (the newer first), 曲志强 (qū) like no one.
    let new = report(
        "hy-wf-1",
        "neighbour",
        vec![party("善雄信", None, None), party("曲志强", None, None)],
    );
    assert_eq!(
        found(&f.store.party_matches_for_new(&new).unwrap()),
        [
            (
                namesake.clone(),
                PartyMatch::SameNameAndVillage,
                text("善雄信"),
                text("单雄信")
            ),
            (
                a.clone(),
                PartyMatch::SameNameAndVillage,
                text("善雄信"),
                text("单雄信")
            ),
        ]
    );
    // With his number typed in, only he is.
    let new = report(
        "hy-wf-1",
        "neighbour",
        vec![party(
            "善雄信",
            None,
            Some(format!(" {} ", resident_id(r, b, s).to_lowercase())),
        )],
    );
    assert_eq!(
        found(&f.store.party_matches_for_new(&new).unwrap()),
        [
            (
                same_id.clone(),
                PartyMatch::SameId,
                text("善雄信"),
                text("张伟")
            ),
            (
                a.clone(),
                PartyMatch::SameId,
                text("善雄信"),
                text("单雄信")
            ),
        ]
    );
}

#[test]
fn a_possible_duplicate_is_the_same_category_within_thirty_days() {
    let mut f = fixture();
    let a = report_case(&mut f, "hy-wf-1", vec![party("曾国藩", None, None)], T0);
    let gw = worker(&f.d, "hy-wf-1");
    let later = f
        .store
        .create_case(
            &gw,
            &report("hy-wf-1", "neighbour", vec![party("郑国藩", None, None)]),
            T0 + (DUPLICATE_WINDOW_DAYS + 1) * DAY,
        )
        .unwrap();
    let other_kind = f
        .store
        .create_case(
            &gw,
            &report("hy-wf-1", "labour", vec![party("曾国藩", None, None)]),
            T0 + DAY,
        )
        .unwrap();
    let new = report("hy-wf-1", "neighbour", vec![party("曾国藩", None, None)]);
    let now = T0;
    let matches = f.store.party_matches_for_new(&new).unwrap();
    let duplicates: Vec<&CaseId> = matches
        .iter()
        .filter(|m| m.is_possible_duplicate(&new.category, now))
        .map(|m| &m.case)
        .collect();
    assert_eq!(duplicates, [&a]);
    assert_eq!(matches.len(), 3, "all three are 同一当事人既往纠纷");
    // The window holds both ways, to the day.
    let m = matches.iter().find(|m| m.case == later).unwrap();
    assert!(m.is_possible_duplicate("neighbour", m.reported_at - DUPLICATE_WINDOW_DAYS * DAY));
    assert!(!m.is_possible_duplicate("neighbour", m.reported_at - DUPLICATE_WINDOW_DAYS * DAY - 1));
    assert!(m.is_possible_duplicate("neighbour", m.reported_at + DUPLICATE_WINDOW_DAYS * DAY));
    assert!(matches.iter().any(|m| m.case == other_kind));
}

#[test]
fn erased_contacts_leave_the_names_in_the_index() {
    let mut f = fixture();
    let (r, b, s) = SHAN;
    let a = report_case(
        &mut f,
        "hy-wf-1",
        vec![party(
            "单雄信",
            Some("138 0013 8000"),
            Some(resident_id(r, b, s)),
        )],
        T0,
    );
    let phone = report_case(
        &mut f,
        "dh-lk-1",
        vec![party("黄丽华", Some("13800138000"), None)],
        T0 + DAY,
    );
    let id = report_case(
        &mut f,
        "dh-lk-1",
        vec![party("张伟", None, Some(old_resident_id(r, b, s)))],
        T0 + DAY,
    );
    let name = report_case(
        &mut f,
        "hy-wf-1",
        vec![party("善雄信", None, None)],
        T0 + DAY,
    );
    let cases = |store: &Store| -> Vec<CaseId> {
        store
            .party_matches(&a)
            .unwrap()
            .into_iter()
            .map(|m| m.case)
            .collect()
    };
    assert_eq!(cases(&f.store), [id.clone(), phone.clone(), name.clone()]);
    let staff = actor(&f.d, "staff", Role::CentreStaff);
    f.store
        .erase_contacts(&a, &staff, "当事人申请删除个人信息", T0 + 2 * DAY)
        .unwrap();
    assert_eq!(cases(&f.store), std::slice::from_ref(&name));
    assert_eq!(
        keys_of(&f.store, &a),
        ["name:hy-wf:san xiong sen", "name:hy-wf:san xiong xin"]
    );
    let numbers: i64 = count(
        &f.store,
        "SELECT COUNT(*) FROM case_parties WHERE resident_id IS NOT NULL OR phone IS NOT NULL",
    );
    assert_eq!(numbers, 2, "the other cases keep theirs");
    // The early-warning rules read the same keys.
    let keys = f
        .store
        .party_keys(&[a.clone(), CaseId::new("nowhere")])
        .unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(
        keys[&a],
        [(
            "单雄信".to_owned(),
            // In key order, as stored.
            vec![
                "name:hy-wf:san xiong sen".to_owned(),
                "name:hy-wf:san xiong xin".to_owned()
            ]
        )]
    );
    let all = f.store.all_party_keys().unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(all[&a], keys[&a]);
    assert_eq!(
        all[&phone][0].1,
        ["name:dh-lk:fan li fa", "phone:13800138000"]
    );
    // A later reindex does not bring the numbers back (the contacts document is gone).
    f.store.reindex().unwrap();
    assert_eq!(cases(&f.store), [name]);
}

#[test]
fn the_index_is_a_summary_rebuilt_the_same_from_the_documents() {
    let mut f = fixture();
    let (r, b, s) = SHAN;
    let a = report_case(
        &mut f,
        "hy-wf-1",
        vec![
            party(
                "单雄信",
                Some("0750-5512345转8001"),
                Some(resident_id(r, b, s)),
            ),
            party("区志强", Some("+86 139 2222 3333"), None),
        ],
        T0,
    );
    let c = report_case(
        &mut f,
        "hy-wf-1",
        vec![party("曾国藩", Some("13900001111"), None)],
        T0 + DAY,
    );
    let staff = actor(&f.d, "staff", Role::CentreStaff);
    f.store
        .erase_contacts(&c, &staff, "当事人申请删除个人信息", T0 + 2 * DAY)
        .unwrap();
    // An edit renames a party and adds one: the index follows, the renamed party keeps his
    // numbers.
    let view = f.store.case(&a).unwrap();
    let shan = view.document.parties[0].clone();
    let gw = worker(&f.d, "hy-wf-1");
    f.store
        .edit(
            &a,
            &gw,
            &CaseEdit {
                upsert_parties: vec![
                    Party {
                        name: "单雄新".to_owned(),
                        ..shan.clone()
                    },
                    Party {
                        id: crate::ids::PartyId::generate(),
                        name: "梅少芳".to_owned(),
                        role: PartyRole::Respondent,
                    },
                ],
                ..CaseEdit::default()
            },
            T0 + 3 * DAY,
        )
        .unwrap();
    let stored: (String, Option<String>, Option<String>) = f
        .store
        .connection()
        .query_row(
            "SELECT name, resident_id, phone FROM case_parties WHERE party_id = ?1",
            [shan.id.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(
        stored,
        (
            "单雄新".to_owned(),
            Some(resident_id(r, b, s)),
            Some("07505512345".to_owned())
        )
    );
    assert_eq!(count(&f.store, "SELECT COUNT(*) FROM case_parties"), 4);
    let before = index(&f.store);
    f.store.reindex().unwrap();
    assert_eq!(index(&f.store), before, "reindex changes nothing");
    f.store
        .connection()
        .execute_batch("DELETE FROM case_parties; DELETE FROM party_keys;")
        .unwrap();
    f.store.reindex().unwrap();
    assert_eq!(index(&f.store), before, "reindex rebuilds the same index");
    // Rows of a case no longer here go with the next reindex.
    f.store
        .connection()
        .execute_batch(
            "INSERT INTO case_parties VALUES ('gone', 'p', '张三', 'hy-wf', NULL, NULL);
             INSERT INTO party_keys VALUES ('name:hy-wf:zan san', 'gone', 'p');",
        )
        .unwrap();
    f.store.reindex().unwrap();
    assert_eq!(index(&f.store), before);
}

#[test]
fn cases_and_contacts_received_are_indexed_in_either_order() {
    let mut f = fixture();
    let (r, b, s) = SHAN;
    let a = report_case(
        &mut f,
        "hy-wf-1",
        vec![party(
            "单雄信",
            Some("13800138000"),
            Some(resident_id(r, b, s)),
        )],
        T0,
    );
    let bytes = |kind| f.store.document_bytes(kind, a.as_str()).unwrap().unwrap();
    let (case, contacts) = (bytes(DocKind::Case), bytes(DocKind::Contacts));
    let expected = index(&f.store);
    let new = report(
        "dh-lk-1",
        "neighbour",
        vec![party("张伟", Some("+86 13800138000"), None)],
    );
    // The contacts first, then the case (two syncs).
    let mut centre = fixture();
    centre
        .store
        .merge_document(DocKind::Contacts, a.as_str(), &contacts, T0)
        .unwrap();
    assert!(centre.store.party_matches_for_new(&new).unwrap().is_empty());
    centre
        .store
        .merge_document(DocKind::Case, a.as_str(), &case, T0)
        .unwrap();
    assert_eq!(index(&centre.store), expected);
    // The case first, then its contacts.
    let mut other = fixture();
    other
        .store
        .merge_document(DocKind::Case, a.as_str(), &case, T0)
        .unwrap();
    assert_eq!(keys_of(&other.store, &a).len(), 2, "the name's keys only");
    other
        .store
        .merge_document(DocKind::Contacts, a.as_str(), &contacts, T0)
        .unwrap();
    assert_eq!(index(&other.store), expected);
    let m = &other.store.party_matches_for_new(&new).unwrap();
    assert_eq!(
        found(m),
        [(
            a.clone(),
            PartyMatch::SamePhone,
            "张伟".into(),
            "单雄信".into()
        )]
    );
    // Both in one batch.
    let mut third = fixture();
    third
        .store
        .merge_documents(
            &[
                (DocKind::Contacts, a.to_string(), contacts.clone()),
                (DocKind::Case, a.to_string(), case.clone()),
            ],
            T0,
        )
        .unwrap();
    assert_eq!(index(&third.store), expected);
    // The erasure arrives as changes to the case: the numbers go here too.
    let staff = actor(&f.d, "staff", Role::CentreStaff);
    let heads = f.store.heads(DocKind::Case, a.as_str()).unwrap();
    f.store
        .erase_contacts(&a, &staff, "当事人申请删除个人信息", T0 + DAY)
        .unwrap();
    let erasure: Vec<Vec<u8>> = f
        .store
        .load_document(DocKind::Case, a.as_str())
        .unwrap()
        .unwrap()
        .get_changes(&heads)
        .into_iter()
        .map(|mut c| c.bytes().to_vec())
        .collect();
    other
        .store
        .apply_changes(DocKind::Case, a.as_str(), &erasure, T0 + DAY)
        .unwrap();
    assert_eq!(index(&other.store), index(&f.store));
    assert!(other.store.party_matches_for_new(&new).unwrap().is_empty());
    // Contacts that arrive after the erasure (a stale replica's) are not indexed.
    other
        .store
        .merge_document(DocKind::Contacts, a.as_str(), &contacts, T0 + 2 * DAY)
        .unwrap();
    assert!(other.store.party_matches_for_new(&new).unwrap().is_empty());
}

#[test]
fn a_refused_report_or_contacts_leave_the_index() {
    let mut f = fixture();
    let (r, b, s) = SHAN;
    let parties = || {
        vec![party(
            "单雄信",
            Some("13800138000"),
            Some(resident_id(r, b, s)),
        )]
    };
    let a = report_case(&mut f, "hy-wf-1", parties(), T0);
    // The server takes the case but refuses its contacts: they go, the name stays.
    let hashes: Vec<ChangeHash> = f
        .store
        .outbox(100)
        .unwrap()
        .into_iter()
        .filter(|e| e.key == DocKind::Case.key(a.as_str()))
        .map(|e| e.hash)
        .collect();
    f.store.acknowledge(&hashes).unwrap();
    f.store
        .quarantine(
            &DocKind::Contacts.key(a.as_str()),
            "refused",
            "不予接收",
            T0,
        )
        .unwrap();
    assert_eq!(
        keys_of(&f.store, &a),
        ["name:hy-wf:san xiong sen", "name:hy-wf:san xiong xin"]
    );
    // A report the server refuses whole leaves the lists and the index.
    let refused = report_case(&mut f, "hy-wf-1", parties(), T0 + DAY);
    assert_eq!(f.store.party_matches(&a).unwrap().len(), 1);
    f.store
        .quarantine(
            &DocKind::Case.key(refused.as_str()),
            "refused",
            "不予接收",
            T0,
        )
        .unwrap();
    assert!(keys_of(&f.store, &refused).is_empty());
    assert!(f.store.party_matches(&a).unwrap().is_empty());
    let new = report("hy-wf-1", "neighbour", parties());
    let m = f.store.party_matches_for_new(&new).unwrap();
    assert_eq!(
        found(&m),
        [(
            a,
            PartyMatch::SameNameAndVillage,
            "单雄信".into(),
            "单雄信".into()
        )]
    );
}

#[test]
fn a_version_five_database_is_upgraded_and_its_parties_indexed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v5.sqlite3");
    let d = directory();
    let gw = actor(&d, "gw", Role::GridWorker);
    let (r, b, s) = SHAN;
    let shan = Party {
        id: crate::ids::PartyId::generate(),
        name: "单雄信".to_owned(),
        role: PartyRole::Applicant,
    };
    let mut doc = CaseDoc::create(
        CaseId::new("old-case"),
        &new_case("hy-wf-1", "单雄信"),
        vec![shan.clone()],
        d.path(&"hy-wf-1".into()),
        "hy".into(),
        &gw,
        &ActorId::random(),
        T0,
    )
    .unwrap();
    let contacts = ContactsDocument {
        case: CaseId::new("old-case"),
        parties: [(
            shan.id.to_string(),
            PartyContact {
                phone: None,
                id_number: Some(old_resident_id(r, b, s)),
            },
        )]
        .into(),
    };
    {
        // A version-5 database (before the index of parties) with the case, its contacts, its
        // summary and the directory.
        let mut conn = Connection::open(&path).unwrap();
        let tx = conn.transaction().unwrap();
        for v in 0..5 {
            upgrade_from(&tx, v).unwrap();
        }
        tx.pragma_update(None, "user_version", 5).unwrap();
        insert_old_case(&tx, &mut doc);
        tx.execute(
            "INSERT INTO documents(key, kind, snapshot, chunks, updated_at)
             VALUES ('contacts:old-case', 'contacts', ?1, 0, 0)",
            [contacts.to_automerge(&ActorId::random()).unwrap().save()],
        )
        .unwrap();
        let document = doc.read().unwrap();
        let folded = crate::workflow::fold(&document.timeline);
        insert_old_summary(&tx, &CaseSummary::compute(&document, &folded, &d));
        insert_units(&tx, &d);
        tx.execute("DELETE FROM meta WHERE key = 'needs_reindex'", [])
            .unwrap();
        tx.commit().unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(user_version(&store), SCHEMA_VERSION);
    let new = report(
        "dh-lk-1",
        "neighbour",
        vec![party("张伟", None, Some(resident_id(r, b, s)))],
    );
    assert_eq!(
        found(&store.party_matches_for_new(&new).unwrap()),
        [(
            CaseId::new("old-case"),
            PartyMatch::SameId,
            "张伟".into(),
            "单雄信".into()
        )]
    );
    drop(store);
    // Opening again migrates and rebuilds nothing more.
    let store = Store::open(&path).unwrap();
    assert_eq!(store.meta("needs_reindex").unwrap(), None);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM case_parties"), 1);
}

#[test]
fn a_lookup_is_an_index_search_never_a_scan() {
    let f = fixture();
    let plan = |sql: &str| -> String {
        let conn = f.store.connection();
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        stmt.query_map([], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<rusqlite::Result<Vec<_>>>()
            .unwrap()
            .join("; ")
    };
    for sql in [
        "SELECT DISTINCT case_id FROM party_keys WHERE key = 'phone:13800138000'",
        "SELECT party_id, name, village, resident_id, phone FROM case_parties
         WHERE case_id = 'c' ORDER BY party_id",
        "DELETE FROM party_keys WHERE case_id = 'c'",
    ] {
        let plan = plan(sql);
        assert!(plan.contains("SEARCH"), "{sql}: {plan}");
        assert!(!plan.contains("SCAN"), "{sql}: {plan}");
    }
}

#[test]
fn the_rules_read_the_same_cases_and_keys_as_the_summaries_hold() {
    let mut f = fixture();
    let (r, b, s) = SHAN;
    let same = || party("单雄信", None, Some(resident_id(r, b, s)));
    // The same person three times in 五丰村, with other parties beside; a case of another
    // township; a case from before the rules' window; a case whose contacts were erased.
    let mut ours = Vec::new();
    for (i, at) in [T0, T0 + DAY, T0 + 2 * DAY].into_iter().enumerate() {
        let other = party(
            ["张伟", "李娜", "王芳"][i],
            Some(["13800138000", "13912345678", "15012345678"][i]),
            None,
        );
        ours.push(report_case(&mut f, "hy-wf-1", vec![same(), other], at));
    }
    report_case(&mut f, "dh-lk-1", vec![same()], T0 + DAY);
    let early = report_case(
        &mut f,
        "hy-wf-1",
        vec![party("范立发", Some("13800138000"), None)],
        T0 - 200 * DAY,
    );
    let erased = report_case(
        &mut f,
        "hy-wf-1",
        vec![party("陈大文", Some("13711112222"), None)],
        T0 + 3 * DAY,
    );
    let staff = actor(&f.d, "staff", Role::CentreStaff);
    f.store
        .erase_contacts(&erased, &staff, "当事人申请删除个人信息", T0 + 3 * DAY)
        .unwrap();

    let unit = staff.unit.clone();
    let now = T0 + 4 * DAY;
    let found = f.store.alerts(&unit, now).unwrap();

    // What the rules would read from the whole summaries and every case's keys.
    let rules = f.store.directory().warning_rules(&unit);
    let all = f.store.all_party_keys().unwrap();
    let cases: Vec<crate::warning::WarnCase> = f
        .store
        .list(
            &CaseFilter {
                unit: Some(unit.clone()),
                ..Default::default()
            },
            now,
        )
        .unwrap()
        .into_iter()
        .filter(|s| {
            s.handled_at.is_none()
                || s.reported_at >= now - i64::from(crate::store::horizon_days(&rules)) * DAY
        })
        .map(|s| crate::warning::WarnCase {
            parties: all
                .get(&s.id)
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|(name, keys)| crate::warning::WarnParty { name, keys })
                .collect(),
            acknowledged: Vec::new(),
            id: s.id,
            title: s.title,
            category: s.category,
            village: s.village,
            reported_at: s.reported_at,
            due_at: s.due_at,
            handled_at: s.handled_at.or(s.closed_at),
            difficulty: s.difficulty,
            risks: s.risks,
            failures: s.failures,
            matter: s.matter,
        })
        .collect();
    let expected = crate::warning::evaluate(&rules, &cases, now);
    let keys = |a: &[crate::warning::Alert]| -> Vec<(String, Vec<CaseId>)> {
        a.iter().map(|a| (a.key.clone(), a.cases.clone())).collect()
    };
    assert_eq!(keys(&found.alerts), keys(&expected));
    let repeat = found
        .alerts
        .iter()
        .find(|a| a.key.starts_with("repeat-party:"))
        .expect("the same person in three cases raises an alert");
    assert_eq!(repeat.cases, ours, "not the other township's case");
    // Every case read is there with where it stands (an open case whatever its age), and the
    // other township's not at all.
    assert!(ours.iter().all(|c| found.oversight.contains_key(c)));
    assert!(found.oversight.contains_key(&erased));
    assert!(found.oversight.contains_key(&early), "still open");
    assert_eq!(found.oversight.len(), 5);
    assert_eq!(cases.len(), 5);
    assert_eq!(found.oversight[&ours[0]].responsible_unit, unit);
    assert!(found.recorded.is_empty(), "nothing acknowledged yet");
}

#[test]
fn the_change_stamp_moves_with_every_write_from_any_connection() {
    let mut f = fixture();
    let before = f.store.change_stamp().unwrap();
    assert_eq!(
        f.store.change_stamp().unwrap(),
        before,
        "reading writes nothing"
    );
    f.store.list(&CaseFilter::default(), T0).unwrap();
    assert_eq!(f.store.change_stamp().unwrap(), before);
    report_case(&mut f, "hy-wf-1", vec![party("张伟", None, None)], T0);
    let written = f.store.change_stamp().unwrap();
    assert_ne!(written, before, "a write here");
    let other = Store::open(&f.path).unwrap();
    other
        .connection()
        .execute("INSERT INTO meta(key, value) VALUES ('elsewhere', '1')", [])
        .unwrap();
    assert_ne!(
        f.store.change_stamp().unwrap(),
        written,
        "a write by another connection to the file"
    );
}

#[test]
fn a_report_keeps_phones_and_id_numbers_in_their_canonical_forms() {
    let mut f = fixture();
    let (r, b, s) = SHAN;
    // As a walk-in's card and a phone are typed at the desk: an old 15-digit card, a mobile
    // with the country code and dashes, a landline with its area code in brackets.
    let id = report_case(
        &mut f,
        "hy-wf-1",
        vec![
            party(
                "单雄信",
                Some("+86 138-0013-8000"),
                Some(old_resident_id(r, b, s)),
            ),
            party("张伟", Some("(0750) 5551234"), None),
            party("李娜", Some("  "), Some(" ".to_owned())),
        ],
        T0,
    );
    let view = f.store.case(&id).unwrap();
    let contacts = view.contacts.expect("contacts");
    let by_name = |name: &str| {
        let p = view
            .document
            .parties
            .iter()
            .find(|p| p.name == name)
            .expect("party");
        contacts.parties[&p.id.to_string()].clone()
    };
    let shan = by_name("单雄信");
    assert_eq!(shan.phone.as_deref(), Some("13800138000"));
    assert_eq!(
        shan.id_number,
        Some(resident_id(r, b, s)),
        "upgraded to 18 characters with its check character"
    );
    assert_eq!(by_name("张伟").phone.as_deref(), Some("07505551234"));
    let blank = by_name("李娜");
    assert_eq!(
        (blank.phone, blank.id_number),
        (None, None),
        "nothing typed"
    );
}
