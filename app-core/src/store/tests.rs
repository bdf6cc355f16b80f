//! Store tests on real SQLite files in a temporary directory.

use super::schema::upgrade_from;
use super::*;
use crate::document::{CaseDoc, CaseEdit, DocKind, VisitOutcome};
use crate::ids::{CaseId, UnitId};
use crate::model::{Action, Actor, NewCase};
use crate::model::{Agreement, Difficulty, NewParty, PartyRole, Satisfaction, Source};
use crate::model::{Assignee, FollowUpMethod, SessionMode};
use crate::org::{Directory, Person, Unit};
use crate::org::{Role, Tier};
use crate::summary::CaseSummary;
use crate::workflow::Status;
use automerge::{ActorId, AutoCommit, ChangeHash};
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::BTreeSet;

mod orders;
mod parties;
#[cfg(feature = "replication")]
mod replica;
mod visits;

const T0: i64 = 1_790_784_000_000; // 2026-10-01 00:00 CST
const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

fn unit(id: &str, name: &str, tier: Tier, parent: Option<&str>) -> Unit {
    Unit {
        id: id.into(),
        name: name.to_owned(),
        tier,
        parent: parent.map(Into::into),
        centre: matches!(tier, Tier::County | Tier::Township),
        policy: None,
        escalate_skip_to: Vec::new(),
        warnings: None,
    }
}

fn person(id: &str, name: &str, unit: &str, roles: &[Role]) -> Person {
    Person {
        id: id.into(),
        name: name.to_owned(),
        unit: unit.into(),
        roles: roles.iter().copied().collect(),
        specialties: BTreeSet::new(),
        phone: None,
    }
}

pub(crate) fn directory() -> Directory {
    Directory::new(
        [
            unit("ts", "台山市", Tier::County, None),
            unit("hy", "海宴镇", Tier::Township, Some("ts")),
            unit("dh", "都斛镇", Tier::Township, Some("ts")),
            unit("hy-wf", "五丰村", Tier::Village, Some("hy")),
            unit("hy-wf-1", "五丰村第一网格", Tier::Grid, Some("hy-wf")),
            unit("dh-lk", "莲塘村", Tier::Village, Some("dh")),
            unit("dh-lk-1", "莲塘村第一网格", Tier::Grid, Some("dh-lk")),
        ],
        [
            person("gw", "陈志强", "hy-wf-1", &[Role::GridWorker]),
            person("gw2", "黄丽娟", "dh-lk-1", &[Role::GridWorker]),
            person("staff", "李海燕", "hy", &[Role::CentreStaff]),
            person("lead", "梁国栋", "hy", &[Role::CentreLeader]),
            person("med", "伍建华", "hy", &[Role::Mediator]),
            person("county", "谭永明", "ts", &[Role::CentreStaff]),
        ],
    )
    .unwrap()
}

fn actor(dir: &Directory, id: &str, role: Role) -> Actor {
    let p = dir.person(&id.into()).unwrap();
    Actor {
        person: p.id.clone(),
        name: p.name.clone(),
        role,
        unit: p.unit.clone(),
    }
}

fn new_case(grid: &str, applicant: &str) -> NewCase {
    NewCase {
        title: "宅基地边界纠纷".to_owned(),
        category: "neighbour".to_owned(),
        narrative: "两户因宅基地界址发生争执，一方砌墙占用通道。".to_owned(),
        place_unit: grid.into(),
        address: "五丰村三巷12号".to_owned(),
        gps: Some((21.78, 112.51)),
        parties: vec![
            NewParty {
                name: applicant.to_owned(),
                role: PartyRole::Applicant,
                phone: Some("13800138000".to_owned()),
                id_number: Some("11010519491231002X".to_owned()),
            },
            NewParty {
                name: "王五".to_owned(),
                role: PartyRole::Respondent,
                phone: None,
                id_number: None,
            },
        ],
        source: Source::GridVisit,
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
    store: Store,
    d: Directory,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.sqlite3");
    let mut store = Store::open(&path).unwrap();
    let d = directory();
    store.set_directory(d.clone()).unwrap();
    Fixture {
        _dir: dir,
        path,
        store,
        d,
    }
}

fn count(store: &Store, sql: &str) -> i64 {
    store.connection().query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn a_case_survives_closing_and_reopening_the_store() {
    let mut f = fixture();
    let gw = actor(&f.d, "gw", Role::GridWorker);
    let staff = actor(&f.d, "staff", Role::CentreStaff);
    let id = f
        .store
        .create_case(&gw, &new_case("hy-wf-1", "张三"), T0)
        .unwrap();
    f.store
        .act(
            &id,
            &staff,
            Action::Assess {
                difficulty: Difficulty::General,
                risks: vec![],
                note: "邻里纠纷，一般".to_owned(),
            },
            T0 + HOUR,
        )
        .unwrap();
    let actor_id = f.store.actor_id().clone();
    drop(f.store);

    let store = Store::open(&f.path).unwrap();
    assert_eq!(store.actor_id(), &actor_id, "the device keeps its actor id");
    let view = store.case(&id).unwrap();
    assert_eq!(view.summary.status, Status::Assessed);
    assert_eq!(view.summary.difficulty, Some(Difficulty::General));
    assert_eq!(view.document.timeline.len(), 2);
    assert_eq!(view.document.parties[0].name, "张三");
    let contacts = view.contacts.unwrap();
    let phone = &contacts.parties[view.document.parties[0].id.as_str()].phone;
    assert_eq!(phone.as_deref(), Some("13800138000"));
    assert_eq!(
        store.directory().units().count(),
        7,
        "the directory is kept too"
    );
    // General difficulty: 7 days from the report, counted from the next day, to end of day.
    let due = view.summary.due_at;
    assert_eq!(due, T0 + 8 * DAY, "due at the end of 8 October, local time");
}

#[test]
fn every_local_change_is_in_the_outbox_until_acknowledged() {
    let mut f = fixture();
    let gw = actor(&f.d, "gw", Role::GridWorker);
    let staff = actor(&f.d, "staff", Role::CentreStaff);
    let id = f
        .store
        .create_case(&gw, &new_case("hy-wf-1", "张三"), T0)
        .unwrap();
    f.store
        .act(
            &id,
            &staff,
            Action::Assess {
                difficulty: Difficulty::Simple,
                risks: vec![],
                note: String::new(),
            },
            T0 + HOUR,
        )
        .unwrap();
    let out = f.store.outbox(100).unwrap();
    // The case's report, the contacts document, the assessment.
    assert_eq!(out.len(), 3);
    assert_eq!(out.iter().filter(|e| e.key.starts_with("case:")).count(), 2);
    // A second replica built from the outbox alone holds the same case.
    let mut other = fixture();
    for e in &out {
        let (kind, id) = e.key.split_once(':').unwrap();
        let kind = match kind {
            "case" => DocKind::Case,
            _ => DocKind::Contacts,
        };
        other
            .store
            .apply_changes(kind, id, std::slice::from_ref(&e.change), T0)
            .unwrap();
    }
    assert_eq!(other.store.summary(&id).unwrap().status, Status::Assessed);
    assert!(
        other.store.outbox(10).unwrap().is_empty(),
        "received changes are not re-sent"
    );
    // Acknowledging drops them; acknowledging again is harmless.
    let hashes: Vec<ChangeHash> = out.iter().map(|e| e.hash).collect();
    assert_eq!(f.store.acknowledge(&hashes[..2]).unwrap(), 2);
    assert_eq!(f.store.acknowledge(&hashes[..2]).unwrap(), 0);
    assert_eq!(f.store.outbox(10).unwrap().len(), 1);
}

#[test]
fn a_failed_transaction_leaves_nothing_behind() {
    let mut f = fixture();
    let gw = actor(&f.d, "gw", Role::GridWorker);
    let staff = actor(&f.d, "staff", Role::CentreStaff);
    let id = f
        .store
        .create_case(&gw, &new_case("hy-wf-1", "张三"), T0)
        .unwrap();
    let before_chunks = count(&f.store, "SELECT COUNT(*) FROM document_chunks");
    let before_outbox = count(&f.store, "SELECT COUNT(*) FROM outbox");
    // The disk refuses the outbox write half-way through the save.
    f.store
        .connection()
        .execute_batch(
            "CREATE TRIGGER refuse BEFORE INSERT ON outbox
             BEGIN SELECT RAISE(ABORT, 'disk refused'); END;",
        )
        .unwrap();
    let assess = Action::Assess {
        difficulty: Difficulty::Major,
        risks: vec![],
        note: String::new(),
    };
    let err = f
        .store
        .act(&id, &staff, assess.clone(), T0 + HOUR)
        .unwrap_err();
    assert!(matches!(err, Error::Storage(_)), "{err}");
    assert_eq!(
        count(&f.store, "SELECT COUNT(*) FROM document_chunks"),
        before_chunks
    );
    assert_eq!(
        count(&f.store, "SELECT COUNT(*) FROM outbox"),
        before_outbox
    );
    assert_eq!(f.store.summary(&id).unwrap().status, Status::Reported);
    assert_eq!(f.store.case(&id).unwrap().document.timeline.len(), 1);
    // Once the disk is fine again, the same action saves normally.
    f.store
        .connection()
        .execute_batch("DROP TRIGGER refuse")
        .unwrap();
    f.store.act(&id, &staff, assess, T0 + 2 * HOUR).unwrap();
    assert_eq!(f.store.summary(&id).unwrap().status, Status::Assessed);
    assert_eq!(f.store.case(&id).unwrap().document.timeline.len(), 2);
}

#[test]
fn corrupt_document_bytes_give_a_clear_error_and_spare_other_cases() {
    let mut f = fixture();
    let gw = actor(&f.d, "gw", Role::GridWorker);
    let staff = actor(&f.d, "staff", Role::CentreStaff);
    let damaged = f
        .store
        .create_case(&gw, &new_case("hy-wf-1", "张三"), T0)
        .unwrap();
    let healthy = f
        .store
        .create_case(&gw, &new_case("hy-wf-1", "李四"), T0 + 1)
        .unwrap();
    f.store
        .connection()
        .execute(
            "UPDATE documents SET snapshot = X'856f4a83deadbeef0000' WHERE key = ?1",
            [DocKind::Case.key(damaged.as_str())],
        )
        .unwrap();
    let err = f.store.case(&damaged).unwrap_err();
    assert!(matches!(err, Error::CorruptDocument { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains(damaged.as_str()) && msg.contains("other cases are unaffected"),
        "{msg}"
    );
    let err = f
        .store
        .act(
            &damaged,
            &staff,
            Action::Assess {
                difficulty: Difficulty::Simple,
                risks: vec![],
                note: String::new(),
            },
            T0 + HOUR,
        )
        .unwrap_err();
    assert!(matches!(err, Error::CorruptDocument { .. }));
    // The other case opens and takes actions; the list still shows both.
    f.store
        .act(
            &healthy,
            &staff,
            Action::Assess {
                difficulty: Difficulty::Simple,
                risks: vec![],
                note: String::new(),
            },
            T0 + HOUR,
        )
        .unwrap();
    assert_eq!(f.store.list(&CaseFilter::default(), T0).unwrap().len(), 2);
    // Reopening and rebuilding the summaries reports the damage and keeps going.
    drop(f.store);
    let mut store = Store::open(&f.path).unwrap();
    let report = store.reindex().unwrap();
    assert_eq!(report.cases, 1);
    assert_eq!(report.damaged.len(), 1);
    assert!(report.damaged[0].0.contains(damaged.as_str()));
    assert_eq!(store.summary(&healthy).unwrap().status, Status::Assessed);
}

#[test]
fn garbage_received_from_elsewhere_is_refused_and_stores_nothing() {
    let mut f = fixture();
    let err = f
        .store
        .apply_changes(DocKind::Case, "c1", &[b"not a change".to_vec()], T0)
        .unwrap_err();
    assert!(matches!(err, Error::CorruptDocument { .. }), "{err}");
    let err = f
        .store
        .merge_document(DocKind::Case, "c1", b"\x85\x6f\x4a\x83garbage", T0)
        .unwrap_err();
    assert!(matches!(err, Error::CorruptDocument { .. }), "{err}");
    // A well-formed automerge document that is not a case is refused too.
    let mut doc = AutoCommit::new();
    automerge::transaction::Transactable::put(&mut doc, automerge::ROOT, "hello", "world").unwrap();
    let err = f
        .store
        .merge_document(DocKind::Case, "c1", &doc.save(), T0)
        .unwrap_err();
    assert!(matches!(err, Error::Shape { .. }), "{err}");
    assert_eq!(count(&f.store, "SELECT COUNT(*) FROM documents"), 0);
    assert_eq!(count(&f.store, "SELECT COUNT(*) FROM cases"), 0);
}

#[test]
fn lists_filter_by_unit_status_deadline_person_and_party_name() {
    let mut f = fixture();
    let gw = actor(&f.d, "gw", Role::GridWorker);
    let gw2 = actor(&f.d, "gw2", Role::GridWorker);
    let staff = actor(&f.d, "staff", Role::CentreStaff);
    let a = f
        .store
        .create_case(&gw, &new_case("hy-wf-1", "张三"), T0)
        .unwrap();
    let b = f
        .store
        .create_case(&gw, &new_case("hy-wf-1", "李四"), T0 + 5 * DAY)
        .unwrap();
    let c = f
        .store
        .create_case(&gw2, &new_case("dh-lk-1", "赵六"), T0)
        .unwrap();
    f.store
        .act(
            &b,
            &staff,
            Action::Assess {
                difficulty: Difficulty::Simple,
                risks: vec![],
                note: String::new(),
            },
            T0 + 5 * DAY + HOUR,
        )
        .unwrap();
    f.store
        .act(
            &b,
            &staff,
            Action::Assign {
                to: Assignee::Mediator {
                    person: "med".into(),
                    name: "伍建华".to_owned(),
                },
                chosen_by_parties: true,
                note: String::new(),
            },
            T0 + 5 * DAY + 2 * HOUR,
        )
        .unwrap();
    let now = T0 + 7 * DAY;
    let ids = |filter: CaseFilter| -> Vec<CaseId> {
        f.store
            .list(&filter, now)
            .unwrap()
            .into_iter()
            .map(|s| s.id)
            .collect()
    };
    // Township lists: 海宴镇 sees its two, 都斛镇 its one; the county holds none of them.
    assert_eq!(
        ids(CaseFilter {
            unit: Some("hy".into()),
            ..Default::default()
        }),
        vec![b.clone(), a.clone()]
    );
    assert_eq!(
        ids(CaseFilter {
            unit: Some("dh".into()),
            ..Default::default()
        }),
        vec![c.clone()]
    );
    assert!(ids(CaseFilter {
        unit: Some("ts".into()),
        ..Default::default()
    })
    .is_empty());
    // Overdue: unassessed cases have 3 days; a and c are 7 days old.
    assert_eq!(
        ids(CaseFilter {
            unit: Some("hy".into()),
            due: Some(DueFilter::Overdue),
            ..Default::default()
        }),
        vec![a.clone()]
    );
    // b is simple (3 days from day 5, counted from day 6: due end of day 8), not yet due soon.
    assert!(ids(CaseFilter {
        due: Some(DueFilter::DueSoon),
        ..Default::default()
    })
    .is_empty());
    let later = f
        .store
        .list(
            &CaseFilter {
                due: Some(DueFilter::DueSoon),
                ..Default::default()
            },
            T0 + 8 * DAY + HOUR,
        )
        .unwrap();
    assert_eq!(
        later.iter().map(|s| s.id.clone()).collect::<Vec<_>>(),
        vec![b.clone()]
    );
    // "My cases" for the mediator, by status, by party name (part of it), new since a time.
    assert_eq!(
        ids(CaseFilter {
            person: Some("med".into()),
            ..Default::default()
        }),
        vec![b.clone()]
    );
    assert_eq!(
        ids(CaseFilter {
            statuses: vec![Status::Reported],
            ..Default::default()
        })
        .len(),
        2
    );
    assert_eq!(
        ids(CaseFilter {
            search: Some("李".into()),
            ..Default::default()
        }),
        vec![b.clone()]
    );
    assert_eq!(
        ids(CaseFilter {
            search: Some("王五".into()),
            ..Default::default()
        })
        .len(),
        3
    );
    assert!(ids(CaseFilter {
        search: Some("%".into()),
        ..Default::default()
    })
    .is_empty());
    assert_eq!(
        ids(CaseFilter {
            reported_since: Some(T0 + DAY),
            ..Default::default()
        }),
        vec![b.clone()]
    );
    assert_eq!(
        ids(CaseFilter {
            limit: 1,
            ..Default::default()
        })
        .len(),
        1
    );
}

#[test]
fn a_whole_loop_gives_the_township_its_figures() {
    let mut f = fixture();
    let gw = actor(&f.d, "gw", Role::GridWorker);
    let staff = actor(&f.d, "staff", Role::CentreStaff);
    let med = actor(&f.d, "med", Role::Mediator);
    let id = f
        .store
        .create_case(&gw, &new_case("hy-wf-1", "张三"), T0)
        .unwrap();
    let steps = [
        (
            &staff,
            Action::Assess {
                difficulty: Difficulty::Simple,
                risks: vec![],
                note: String::new(),
            },
        ),
        (
            &staff,
            Action::Assign {
                to: Assignee::Mediator {
                    person: "med".into(),
                    name: "伍建华".to_owned(),
                },
                chosen_by_parties: false,
                note: String::new(),
            },
        ),
        (
            &med,
            Action::RecordSession {
                mode: SessionMode::OnSite,
                note: "现场调解".to_owned(),
            },
        ),
        (
            &med,
            Action::Resolve {
                agreement: Some(Agreement {
                    summary: "拆除围墙，恢复通道".to_owned(),
                    attachment: None,
                    performance: String::new(),
                    signatures: Vec::new(),
                }),
                note: String::new(),
            },
        ),
        (
            &staff,
            Action::FollowUp {
                method: FollowUpMethod::Phone,
                satisfaction: Satisfaction::Satisfied,
                relapsed: false,
                note: String::new(),
            },
        ),
        (
            &staff,
            Action::Close {
                note: String::new(),
            },
        ),
    ];
    for (i, (who, action)) in steps.into_iter().enumerate() {
        f.store
            .act(&id, who, action, T0 + (i as i64 + 1) * 3 * HOUR)
            .unwrap();
    }
    f.store
        .create_case(&gw, &new_case("hy-wf-1", "李四"), T0 + DAY)
        .unwrap();
    let r = f
        .store
        .figures(&"hy".into(), T0, T0 + 31 * DAY, T0 + 10 * DAY)
        .unwrap();
    assert_eq!(r.total.received, 2);
    assert_eq!(r.total.resolution_rate().to_string(), "1/2 = 50.0%");
    assert_eq!(r.total.completion_rate().to_string(), "1/2 = 50.0%");
    assert_eq!(r.total.on_time_rate().to_string(), "1/1 = 100.0%");
    assert_eq!(r.total.satisfaction_rate().to_string(), "1/1 = 100.0%");
    assert_eq!(r.total.overdue, 1);
    assert_eq!(r.by_unit[&UnitId::from("hy-wf")].received, 2);
    let err = f
        .store
        .figures(&"nowhere".into(), T0, T0 + DAY, T0)
        .unwrap_err();
    assert!(matches!(err, Error::UnknownUnit(_)));
}

#[test]
fn refused_actions_store_nothing_and_say_why() {
    let mut f = fixture();
    let gw = actor(&f.d, "gw", Role::GridWorker);
    let county = actor(&f.d, "county", Role::CentreStaff);
    let staff = actor(&f.d, "staff", Role::CentreStaff);
    let id = f
        .store
        .create_case(&gw, &new_case("hy-wf-1", "张三"), T0)
        .unwrap();
    let outbox = f.store.outbox(100).unwrap().len();
    let assess = Action::Assess {
        difficulty: Difficulty::Simple,
        risks: vec![],
        note: String::new(),
    };
    // A grid worker may not assess; the county is not responsible; an impostor is unknown.
    assert!(matches!(
        f.store.act(&id, &gw, assess.clone(), T0).unwrap_err(),
        Error::Denied(_)
    ));
    assert!(matches!(
        f.store.act(&id, &county, assess.clone(), T0).unwrap_err(),
        Error::Denied(_)
    ));
    let mut impostor = staff.clone();
    impostor.role = Role::CentreLeader;
    assert!(matches!(
        f.store.act(&id, &impostor, assess.clone(), T0).unwrap_err(),
        Error::RoleNotHeld { .. }
    ));
    // Escalation skips no tier; assigning down goes below; unknown cases are named.
    let err = f
        .store
        .act(
            &id,
            &staff,
            Action::Escalate {
                to: "dh".into(),
                reason: crate::model::EscalationReason::Unresolved,
                note: String::new(),
            },
            T0,
        )
        .unwrap_err();
    assert!(matches!(err, Error::EscalationTarget { .. }), "{err}");
    assert!(err.to_string().contains("ts"));
    let err = f
        .store
        .act(&"missing".into(), &staff, assess, T0)
        .unwrap_err();
    assert_eq!(err.to_string(), "case missing is not on this device");
    // Bad report fields are named.
    let mut bad = new_case("hy-wf-1", "张三");
    bad.parties[0].id_number = Some("110105194912310021".to_owned());
    let err = f.store.create_case(&gw, &bad, T0).unwrap_err();
    assert!(err.to_string().starts_with("parties[0].id_number"), "{err}");
    let mut bad = new_case("hy-wf-1", "张三");
    bad.category = "astrology".to_owned();
    assert!(matches!(
        f.store.create_case(&gw, &bad, T0).unwrap_err(),
        Error::UnknownCategory(_)
    ));
    let mut bad = new_case("hy-wf-1", "");
    bad.parties[0].phone = Some("12345".to_owned());
    assert!(f
        .store
        .create_case(&gw, &bad, T0)
        .unwrap_err()
        .to_string()
        .contains("parties[0].name"));
    assert_eq!(f.store.outbox(100).unwrap().len(), outbox);
    assert_eq!(f.store.summary(&id).unwrap().entries, 1);
}

#[test]
fn erasing_contacts_keeps_the_case_and_its_history() {
    let mut f = fixture();
    let gw = actor(&f.d, "gw", Role::GridWorker);
    let id = f
        .store
        .create_case(&gw, &new_case("hy-wf-1", "张三"), T0)
        .unwrap();
    // Only the centre may erase, and only with a reason; the erasure is on the record.
    assert!(f
        .store
        .erase_contacts(&id, &gw, "当事人申请", T0 + 1)
        .is_err());
    let staff = actor(&f.d, "staff", Role::CentreStaff);
    assert!(f.store.erase_contacts(&id, &staff, " ", T0 + 1).is_err());
    assert!(f.store.case(&id).unwrap().contacts.is_some());
    f.store
        .erase_contacts(&id, &staff, "当事人申请删除个人信息", T0 + 1)
        .unwrap();
    let view = f.store.case(&id).unwrap();
    assert!(view.contacts.is_none());
    assert!(view
        .folded
        .state
        .as_ref()
        .unwrap()
        .contacts_erased_at
        .is_some());
    assert!(matches!(
        view.document.timeline.last().unwrap().action,
        Action::EraseContacts { .. }
    ));
    assert_eq!(view.document.parties.len(), 2);
    assert!(f
        .store
        .outbox(100)
        .unwrap()
        .iter()
        .all(|e| !e.key.starts_with("contacts:")));
    let bytes: Vec<u8> = f
        .store
        .connection()
        .query_row(
            "SELECT snapshot FROM documents WHERE key = ?1",
            [DocKind::Case.key(id.as_str())],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        !bytes.windows(11).any(|w| w == b"13800138000"),
        "no phone in the case document"
    );
}

#[test]
fn visits_including_all_safe_are_recorded_and_listed_least_recent_first() {
    let mut f = fixture();
    let gw = actor(&f.d, "gw", Role::GridWorker);
    let grid: UnitId = "hy-wf-1".into();
    let h1 = f
        .store
        .create_household(&gw, &grid, "陈伯", "五丰村一巷3号", 4, T0)
        .unwrap();
    let h2 = f
        .store
        .create_household(&gw, &grid, "林婶", "五丰村二巷8号", 2, T0)
        .unwrap();
    f.store
        .record_visit(&h1, &gw, VisitOutcome::AllSafe, "", T0 + DAY)
        .unwrap();
    let case = f
        .store
        .create_case(&gw, &new_case("hy-wf-1", "林婶"), T0 + 2 * DAY)
        .unwrap();
    f.store
        .record_visit(
            &h2,
            &gw,
            VisitOutcome::Dispute { case: case.clone() },
            "宅基地纠纷",
            T0 + 2 * DAY,
        )
        .unwrap();
    f.store
        .record_visit(&h1, &gw, VisitOutcome::AllSafe, "", T0 + 3 * DAY)
        .unwrap();
    let list = f.store.households(&grid).unwrap();
    assert_eq!(
        list.iter().map(|h| h.head.as_str()).collect::<Vec<_>>(),
        vec!["林婶", "陈伯"]
    );
    assert_eq!(list[1].visits, 2);
    let h = f.store.household(&h2).unwrap();
    assert_eq!(h.visits[0].outcome, VisitOutcome::Dispute { case });
    let err = f
        .store
        .record_visit(
            &h1,
            &gw,
            VisitOutcome::Dispute {
                case: "nope".into(),
            },
            "",
            T0,
        )
        .unwrap_err();
    assert!(matches!(err, Error::UnknownCase(_)));
    drop(f.store);
    let store = Store::open(&f.path).unwrap();
    assert_eq!(store.households(&grid).unwrap().len(), 2);
}

#[test]
fn many_actions_are_compacted_into_one_snapshot() {
    let mut f = fixture();
    let gw = actor(&f.d, "gw", Role::GridWorker);
    let id = f
        .store
        .create_case(&gw, &new_case("hy-wf-1", "张三"), T0)
        .unwrap();
    for i in 0..(COMPACT_AFTER + 3) {
        let edit = CaseEdit {
            narrative: Some(format!("第{i}次补充：双方同意再谈。")),
            ..Default::default()
        };
        f.store.edit(&id, &gw, &edit, T0 + i * HOUR).unwrap();
    }
    let chunks = count(&f.store, "SELECT COUNT(*) FROM document_chunks");
    assert!(
        chunks < COMPACT_AFTER,
        "{chunks} chunks left after compaction"
    );
    let view = f.store.case(&id).unwrap();
    assert_eq!(view.document.timeline.len() as i64, COMPACT_AFTER + 4);
    assert!(view
        .document
        .narrative
        .as_str()
        .starts_with(&format!("第{}次", COMPACT_AFTER + 2)));
    f.store.compact_all().unwrap();
    assert_eq!(count(&f.store, "SELECT COUNT(*) FROM document_chunks"), 0);
    assert_eq!(f.store.case(&id).unwrap().document, view.document);
}

/// The case an old database holds in the upgrade tests.
fn old_case(d: &Directory, gw: &Actor) -> CaseDoc {
    CaseDoc::create(
        CaseId::new("old-case"),
        &new_case("hy-wf-1", "张三"),
        vec![],
        d.path(&"hy-wf-1".into()),
        "hy".into(),
        gw,
        &ActorId::random(),
        T0,
    )
    .unwrap()
}

/// Writes `doc` as an old database's only document, as a snapshot.
fn insert_old_case(tx: &rusqlite::Transaction, doc: &mut CaseDoc) {
    tx.execute(
        "INSERT INTO documents(key, kind, snapshot, chunks, updated_at) VALUES ('case:old-case', 'case', ?1, 0, 0)",
        [doc.save()],
    )
    .unwrap();
}

/// Writes the directory's units as an old database kept them.
fn insert_units(tx: &rusqlite::Transaction, d: &Directory) {
    for u in d.units() {
        tx.execute(
            "INSERT INTO units(id, json) VALUES (?1, ?2)",
            params![u.id.as_str(), serde_json::to_string(u).unwrap()],
        )
        .unwrap();
    }
}

/// Writes a case's summary row as databases of versions 2 to 6 held it (before
/// `cases.supervised_at`), with its units and people.
fn insert_old_summary(tx: &rusqlite::Transaction, summary: &CaseSummary) {
    let id = summary.id.as_str();
    tx.execute(
        "INSERT INTO cases(id, status, category, responsible_unit, reported_at, due_at,
                           due_soon_at, handled, conflicts, party_names, summary)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            id,
            summary.status.code(),
            summary.category,
            summary.responsible_unit.as_str(),
            summary.reported_at,
            summary.due_at,
            summary.due_soon_at,
            summary.is_handled(),
            summary.conflicts,
            summary.party_names.join("\u{1f}"),
            serde_json::to_string(summary).unwrap(),
        ],
    )
    .unwrap();
    for u in &summary.units {
        tx.execute(
            "INSERT INTO case_units(unit, case_id) VALUES (?1, ?2)",
            [u.as_str(), id],
        )
        .unwrap();
    }
    tx.execute(
        "INSERT INTO case_people(person, case_id) VALUES (?1, ?2)",
        [summary.reporter.as_str(), id],
    )
    .unwrap();
}

fn user_version(store: &Store) -> i64 {
    store
        .connection()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_version_one_database_is_upgraded_and_its_summaries_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.sqlite3");
    // A version-1 database (documents only) holding one case.
    let d = directory();
    let gw = actor(&d, "gw", Role::GridWorker);
    let mut doc = old_case(&d, &gw);
    {
        let mut conn = Connection::open(&path).unwrap();
        let tx = conn.transaction().unwrap();
        upgrade_from(&tx, 0).unwrap();
        tx.pragma_update(None, "user_version", 1).unwrap();
        insert_old_case(&tx, &mut doc);
        insert_units(&tx, &d);
        tx.commit().unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(user_version(&store), SCHEMA_VERSION);
    let list = store
        .list(
            &CaseFilter {
                unit: Some("hy".into()),
                ..Default::default()
            },
            T0,
        )
        .unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].id.as_str(), "old-case");
}

#[test]
fn a_version_six_database_is_upgraded_and_finds_supervised_cases() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v6.sqlite3");
    let d = directory();
    let gw = actor(&d, "gw", Role::GridWorker);
    let lead = actor(&d, "lead", Role::CentreLeader);
    let mut doc = old_case(&d, &gw);
    {
        // A version-6 database (before supervision) with the case, its summary row as version 6
        // wrote it, and the directory.
        let mut conn = Connection::open(&path).unwrap();
        let tx = conn.transaction().unwrap();
        for v in 0..6 {
            upgrade_from(&tx, v).unwrap();
        }
        tx.pragma_update(None, "user_version", 6).unwrap();
        insert_old_case(&tx, &mut doc);
        let document = doc.read().unwrap();
        let folded = crate::workflow::fold(&document.timeline);
        insert_old_summary(&tx, &CaseSummary::compute(&document, &folded, &d));
        insert_units(&tx, &d);
        for p in d.people() {
            tx.execute(
                "INSERT INTO people(id, json) VALUES (?1, ?2)",
                params![p.id.as_str(), serde_json::to_string(p).unwrap()],
            )
            .unwrap();
        }
        tx.execute("DELETE FROM meta WHERE key = 'needs_reindex'", [])
            .unwrap();
        tx.commit().unwrap();
    }
    let mut store = Store::open(&path).unwrap();
    assert_eq!(user_version(&store), SCHEMA_VERSION);
    assert_eq!(
        store.meta("needs_reindex").unwrap(),
        None,
        "rebuilt at open"
    );
    let supervised = CaseFilter {
        supervised: true,
        open_only: true,
        ..Default::default()
    };
    assert_eq!(store.count(&supervised, T0 + HOUR).unwrap(), 0);
    let id = CaseId::new("old-case");
    let due = T0 + 5 * DAY;
    store
        .act(
            &id,
            &lead,
            Action::Supervise {
                level: crate::model::SuperviseLevel::Listed,
                due_at: due,
                note: "挂牌督办，限五日内办结".to_owned(),
            },
            T0 + HOUR,
        )
        .unwrap();
    drop(store);
    let store = Store::open(&path).unwrap();
    let found = store.list(&supervised, T0 + HOUR).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(
        found[0].due_at, due,
        "the supervision's deadline is the case's"
    );
    let s = found[0].supervised.as_ref().expect("in force");
    assert_eq!(
        (s.level, s.due_at, s.unit.as_str(), s.at),
        (crate::model::SuperviseLevel::Listed, due, "hy", T0 + HOUR)
    );
    assert_eq!(found[0].supervisions, 1);
    let plan: String = store
        .connection()
        .prepare(
            "EXPLAIN QUERY PLAN SELECT COUNT(*) FROM cases c WHERE c.supervised_at IS NOT NULL",
        )
        .unwrap()
        .query_map([], |r| r.get::<_, String>(3))
        .unwrap()
        .collect::<rusqlite::Result<Vec<_>>>()
        .unwrap()
        .join("; ");
    assert!(plan.contains("cases_supervised"), "{plan}");
}

#[test]
fn a_database_from_a_newer_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.sqlite3");
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    let err = Store::open(&path).unwrap_err();
    assert!(matches!(err, Error::SchemaTooNew { .. }));
    assert!(err.to_string().contains("update the app"), "{err}");
}

#[test]
fn resident_ids_and_phones_are_checked() {
    assert!(is_resident_id("11010519491231002X"));
    assert!(is_resident_id("11010519491231002x"));
    assert!(!is_resident_id("110105194912310021"));
    assert!(!is_resident_id("1101051949123100"));
    assert!(is_phone("13800138000"));
    assert!(is_phone("0750-5123456"));
    assert!(!is_phone("23800138000"));
    assert!(!is_phone("1380013800a"));
}

#[test]
fn a_received_batch_is_stored_whole_or_not_at_all() {
    let mut f = fixture();
    let gw = actor(&f.d, "gw", Role::GridWorker);
    let staff = actor(&f.d, "staff", Role::CentreStaff);
    let a = f
        .store
        .create_case(&gw, &new_case("hy-wf-1", "张三"), T0)
        .unwrap();
    let b = f
        .store
        .create_case(&gw, &new_case("hy-wf-1", "李四"), T0)
        .unwrap();
    f.store
        .act(
            &b,
            &staff,
            Action::Assess {
                difficulty: Difficulty::Simple,
                risks: vec![],
                note: String::new(),
            },
            T0 + HOUR,
        )
        .unwrap();
    let changes = |key: &str| -> Vec<Vec<u8>> {
        f.store
            .outbox(100)
            .unwrap()
            .into_iter()
            .filter(|e| e.key == key)
            .map(|e| e.change)
            .collect()
    };
    let a_changes = changes(&DocKind::Case.key(a.as_str()));
    let b_changes = changes(&DocKind::Case.key(b.as_str()));
    assert_eq!(b_changes.len(), 2);
    let mut other = fixture();
    // b's assessment without the report it depends on: refused, and a (good) is not stored either.
    let err = other
        .store
        .apply_changes_batch(
            &[
                (DocKind::Case, a.to_string(), a_changes.clone()),
                (DocKind::Case, b.to_string(), vec![b_changes[1].clone()]),
            ],
            T0,
        )
        .unwrap_err();
    assert!(
        matches!(err, Error::MissingDependencies { .. })
            && err.to_string().contains("dependencies are not here"),
        "{err}"
    );
    assert_eq!(count(&other.store, "SELECT COUNT(*) FROM documents"), 0);
    // The whole batch lands in one go; sending it again changes nothing.
    let batch = [
        (DocKind::Case, a.to_string(), a_changes),
        (DocKind::Case, b.to_string(), b_changes),
    ];
    assert_eq!(other.store.apply_changes_batch(&batch, T0).unwrap(), 2);
    assert_eq!(other.store.apply_changes_batch(&batch, T0).unwrap(), 0);
    assert_eq!(other.store.summary(&b).unwrap().status, Status::Assessed);
    assert_eq!(
        count(&other.store, "SELECT COUNT(*) FROM document_chunks"),
        0
    );
}

/// A village centre escalates to its township; straight to the county only where the rules of
/// the village allow skipping a tier.
#[test]
fn escalation_skips_a_tier_only_where_configured() {
    let units = |skip: Vec<UnitId>| {
        let mut village = unit("hy-wf", "五丰村", Tier::Village, Some("hy"));
        village.centre = true;
        village.escalate_skip_to = skip;
        vec![
            unit("ts", "台山市", Tier::County, None),
            unit("hy", "海宴镇", Tier::Township, Some("ts")),
            village,
            unit("hy-wf-1", "五丰村第一网格", Tier::Grid, Some("hy-wf")),
        ]
    };
    let people = || {
        vec![
            person("gw", "陈志强", "hy-wf-1", &[Role::GridWorker]),
            person("vstaff", "吴秀兰", "hy-wf", &[Role::CentreStaff]),
        ]
    };
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path().join("village.sqlite3")).unwrap();
    store
        .set_directory(Directory::new(units(vec![]), people()).unwrap())
        .unwrap();
    let d = store.directory().clone();
    let gw = actor(&d, "gw", Role::GridWorker);
    let vstaff = actor(&d, "vstaff", Role::CentreStaff);
    let id = store
        .create_case(&gw, &new_case("hy-wf-1", "张三"), T0)
        .unwrap();
    assert_eq!(
        store.summary(&id).unwrap().responsible_unit,
        UnitId::new("hy-wf")
    );
    let up = |to: &str| Action::Escalate {
        to: to.into(),
        reason: crate::model::EscalationReason::Unresolved,
        note: "村级调解未果".to_owned(),
    };
    let err = store.act(&id, &vstaff, up("ts"), T0 + 1).unwrap_err();
    assert!(
        matches!(&err, Error::EscalationTarget { expected, .. } if expected.as_str() == "hy"),
        "{err}"
    );
    // The county allows this village to bring cases straight to it.
    store
        .set_directory(Directory::new(units(vec!["ts".into()]), people()).unwrap())
        .unwrap();
    store.act(&id, &vstaff, up("ts"), T0 + 2).unwrap();
    let s = store.summary(&id).unwrap();
    assert_eq!(s.responsible_unit, UnitId::new("ts"));
    assert_eq!(s.escalated_to, vec![UnitId::new("ts")]);
}

/// Bytes that stand in for a photo (a JPEG header and some content).
fn photo(seed: u8, len: usize) -> Vec<u8> {
    let mut b = vec![0xff, 0xd8, 0xff, 0xe0];
    b.extend((0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)));
    b
}

/// Rows that an attachment may write: blobs, outbox entries, document chunks.
fn attachment_rows(store: &Store) -> (i64, i64, i64) {
    (
        count(store, "SELECT COUNT(*) FROM blobs"),
        count(store, "SELECT COUNT(*) FROM outbox"),
        count(store, "SELECT COUNT(*) FROM document_chunks"),
    )
}

#[test]
fn an_attachment_keeps_its_bytes_and_lists_them_in_the_case_in_one_transaction() {
    let mut f = fixture();
    let gw = actor(&f.d, "gw", Role::GridWorker);
    let id = f
        .store
        .create_case(&gw, &new_case("hy-wf-1", "张三"), T0)
        .unwrap();
    let (blobs, outbox, chunks) = attachment_rows(&f.store);
    assert_eq!(blobs, 0);
    let bytes = photo(1, 300_000);
    let a = f
        .store
        .attach(&id, &gw, " 现场照片.jpg ", "Image/JPEG", &bytes, T0 + HOUR)
        .unwrap();
    assert_eq!(a.name, "现场照片.jpg");
    assert_eq!(a.mime, "image/jpeg");
    assert_eq!(a.size, bytes.len() as u64);
    assert_eq!(a.sha256, sha256_hex(&bytes));
    assert_eq!(a.sha256.len(), 64);
    assert_eq!(a.added_by.as_str(), "gw");
    assert_eq!(a.added_at, T0 + HOUR);
    // The case lists it, through an edit entry naming the attachments.
    let view = f.store.case(&id).unwrap();
    assert_eq!(view.document.attachments, vec![a.clone()]);
    let last = view.document.timeline.last().unwrap();
    assert_eq!(
        last.action,
        Action::Edit {
            fields: vec!["attachments".to_owned()]
        }
    );
    assert_eq!(last.actor, gw);
    // The bytes are here, pending upload under this case; the change waits in the outbox.
    assert_eq!(
        f.store.blob(&a.sha256).unwrap(),
        Some(("image/jpeg".to_owned(), bytes.clone()))
    );
    assert_eq!(
        f.store.pending_blobs().unwrap(),
        vec![(a.sha256.clone(), id.to_string())]
    );
    assert_eq!(
        attachment_rows(&f.store),
        (blobs + 1, outbox + 1, chunks + 1)
    );
    // The same file twice on one case is refused.
    let err = f
        .store
        .attach(&id, &gw, "again.jpg", "image/jpeg", &bytes, T0 + HOUR)
        .unwrap_err();
    assert!(err.to_string().contains("already attached"), "{err}");
    // Once a server has the bytes, they are no longer pending, and still here.
    f.store.mark_blob_sent(&a.sha256).unwrap();
    assert!(f.store.pending_blobs().unwrap().is_empty());
    assert!(f.store.blob(&a.sha256).unwrap().is_some());
    // It survives closing and reopening the store.
    drop(f.store);
    let store = Store::open(&f.path).unwrap();
    assert_eq!(store.case(&id).unwrap().document.attachments.len(), 1);
    assert_eq!(store.blob(&a.sha256).unwrap().unwrap().1, bytes);
}

#[test]
fn a_failed_attachment_leaves_neither_bytes_nor_edit() {
    let mut f = fixture();
    let gw = actor(&f.d, "gw", Role::GridWorker);
    let id = f
        .store
        .create_case(&gw, &new_case("hy-wf-1", "张三"), T0)
        .unwrap();
    let before = attachment_rows(&f.store);
    let entries = f.store.summary(&id).unwrap().entries;
    // The disk refuses the outbox write, after the blob was written in the same transaction;
    // then the blob write itself.
    for table in ["outbox", "blobs"] {
        f.store
            .connection()
            .execute_batch(&format!(
                "CREATE TRIGGER refuse BEFORE INSERT ON {table}
                 BEGIN SELECT RAISE(ABORT, 'disk refused'); END;"
            ))
            .unwrap();
        let err = f
            .store
            .attach(&id, &gw, "墙.jpg", "image/jpeg", &photo(2, 1000), T0 + HOUR)
            .unwrap_err();
        assert!(matches!(err, Error::Storage(_)), "{table}: {err}");
        assert_eq!(attachment_rows(&f.store), before, "{table}");
        assert!(f.store.case(&id).unwrap().document.attachments.is_empty());
        assert_eq!(f.store.summary(&id).unwrap().entries, entries);
        assert!(f.store.pending_blobs().unwrap().is_empty());
        f.store
            .connection()
            .execute_batch("DROP TRIGGER refuse")
            .unwrap();
    }
    // Once the disk is fine again, the same attachment saves normally.
    f.store
        .attach(&id, &gw, "墙.jpg", "image/jpeg", &photo(2, 1000), T0 + HOUR)
        .unwrap();
    assert_eq!(f.store.case(&id).unwrap().document.attachments.len(), 1);
}

#[test]
fn refused_attachments_store_nothing_and_say_why() {
    let mut f = fixture();
    let gw = actor(&f.d, "gw", Role::GridWorker);
    let gw2 = actor(&f.d, "gw2", Role::GridWorker);
    let id = f
        .store
        .create_case(&gw, &new_case("hy-wf-1", "张三"), T0)
        .unwrap();
    let before = attachment_rows(&f.store);
    let max = MAX_ATTACHMENT_BYTES as usize;
    let oversize = vec![7u8; max + 1];
    let cases: Vec<(&str, &str, &[u8], &str, &str)> = vec![
        ("a.txt", "text/plain", b"hello", "mime", "text/plain"),
        ("a.gif", "image/gif", b"GIF89a", "mime", "不能附加此类文件"),
        ("a.jpg", "", b"\xff\xd8", "mime", "unknown"),
        ("a.jpg", "image/jpeg", b"", "size", "文件是空的"),
        ("a.jpg", "image/jpeg", &oversize, "size", "8388609"),
        ("  ", "image/jpeg", b"\xff\xd8", "name", "请填写文件名"),
    ];
    for (name, mime, bytes, field, says) in cases {
        let err = f.store.attach(&id, &gw, name, mime, bytes, T0).unwrap_err();
        match &err {
            Error::Invalid { field: f, problem } => {
                assert_eq!(f, field, "{err}");
                assert!(problem.contains(says), "{err}");
                assert!(problem.contains(" ("), "Chinese, then English: {err}");
            }
            other => panic!("{mime}: {other}"),
        }
        assert_eq!(attachment_rows(&f.store), before, "{mime}: nothing written");
    }
    // Someone who may not edit the case, an impostor, an unknown case.
    let err = f
        .store
        .attach(&id, &gw2, "a.jpg", "image/jpeg", b"\xff\xd8", T0)
        .unwrap_err();
    assert!(matches!(err, Error::Denied(_)), "{err}");
    let mut impostor = gw.clone();
    impostor.role = Role::CentreLeader;
    let err = f
        .store
        .attach(&id, &impostor, "a.jpg", "image/jpeg", b"\xff\xd8", T0)
        .unwrap_err();
    assert!(matches!(err, Error::RoleNotHeld { .. }), "{err}");
    let err = f
        .store
        .attach(
            &"missing".into(),
            &gw,
            "a.jpg",
            "image/jpeg",
            b"\xff\xd8",
            T0,
        )
        .unwrap_err();
    assert!(matches!(err, Error::UnknownCase(_)), "{err}");
    assert_eq!(attachment_rows(&f.store), before);
    assert!(f.store.case(&id).unwrap().document.attachments.is_empty());
    // Exactly the limit is accepted.
    let at_limit = vec![9u8; max];
    let a = f
        .store
        .attach(&id, &gw, "扫描件.pdf", "application/pdf", &at_limit, T0)
        .unwrap();
    assert_eq!(a.size, MAX_ATTACHMENT_BYTES);
}

#[test]
fn received_bytes_must_match_their_hash_and_are_kept_once() {
    let mut f = fixture();
    let bytes = photo(3, 5000);
    let sha = sha256_hex(&bytes);
    let wrong = sha256_hex(b"something else");
    let err = f
        .store
        .put_blob(&wrong, "image/jpeg", &bytes, T0)
        .unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("sha256: "), "{text}");
    assert!(
        text.contains(&wrong) && text.contains(&sha),
        "names both: {text}"
    );
    assert_eq!(count(&f.store, "SELECT COUNT(*) FROM blobs"), 0);
    // A type that cannot be attached is refused as when attaching.
    let err = f.store.put_blob(&sha, "text/html", &bytes, T0).unwrap_err();
    assert!(matches!(err, Error::Invalid { ref field, .. } if field == "mime"));
    assert_eq!(count(&f.store, "SELECT COUNT(*) FROM blobs"), 0);
    // The right hash (in either case) is stored once, not pending; again changes nothing.
    assert!(f
        .store
        .put_blob(&sha.to_ascii_uppercase(), "image/jpeg", &bytes, T0)
        .unwrap());
    assert!(!f.store.put_blob(&sha, "image/jpeg", &bytes, T0).unwrap());
    assert_eq!(count(&f.store, "SELECT COUNT(*) FROM blobs"), 1);
    assert_eq!(
        f.store.blob(&sha).unwrap(),
        Some(("image/jpeg".to_owned(), bytes))
    );
    assert!(f.store.pending_blobs().unwrap().is_empty());
    assert_eq!(f.store.blob(&wrong).unwrap(), None);
}

#[test]
fn a_version_three_database_is_upgraded_and_takes_attachments() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v3.sqlite3");
    let d = directory();
    let gw = actor(&d, "gw", Role::GridWorker);
    let mut doc = old_case(&d, &gw);
    {
        // A version-3 database (before attachments' bytes) holding one case, its summary and the
        // directory, with a change waiting in the outbox.
        let mut conn = Connection::open(&path).unwrap();
        let tx = conn.transaction().unwrap();
        for v in 0..3 {
            upgrade_from(&tx, v).unwrap();
        }
        tx.pragma_update(None, "user_version", 3).unwrap();
        insert_old_case(&tx, &mut doc);
        Store::enqueue(&tx, "case:old-case", doc.automerge().get_changes(&[])).unwrap();
        let document = doc.read().unwrap();
        let folded = crate::workflow::fold(&document.timeline);
        insert_old_summary(&tx, &CaseSummary::compute(&document, &folded, &d));
        insert_units(&tx, &d);
        for p in d.people() {
            tx.execute(
                "INSERT INTO people(id, json) VALUES (?1, ?2)",
                params![p.id.as_str(), serde_json::to_string(p).unwrap()],
            )
            .unwrap();
        }
        tx.execute("DELETE FROM meta WHERE key = 'needs_reindex'", [])
            .unwrap();
        tx.commit().unwrap();
    }
    let mut store = Store::open(&path).unwrap();
    assert_eq!(user_version(&store), SCHEMA_VERSION);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM blobs"), 0);
    assert_eq!(store.outbox_len().unwrap(), 1, "the outbox is kept");
    let id = CaseId::new("old-case");
    let bytes = photo(4, 2000);
    let a = store
        .attach(&id, &gw, "现场.png", "image/png", &bytes, T0 + HOUR)
        .unwrap();
    assert_eq!(
        store.pending_blobs().unwrap(),
        vec![(a.sha256.clone(), "old-case".to_owned())]
    );
    assert_eq!(store.outbox_len().unwrap(), 2);
    drop(store);
    // Opening again migrates nothing more.
    let store = Store::open(&path).unwrap();
    assert_eq!(store.blob(&a.sha256).unwrap().unwrap().0, "image/png");
}

// ----- write, read and layers -----

/// A layer as a server registers one: two steps, the second not re-runnable (a plain `CREATE`),
/// so a ladder that ran it twice would fail.
const NOTES: Layer = Layer {
    name: "notes",
    steps: &[
        "CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL);",
        "CREATE TABLE note_tags (note INTEGER NOT NULL, tag TEXT NOT NULL);",
    ],
};

fn layer_version(store: &Store, layer: &str) -> Option<i64> {
    store
        .read(|c| {
            c.query_row(
                "SELECT version FROM schema_layers WHERE layer = ?1",
                [layer],
                |r| r.get(0),
            )
            .optional()
        })
        .unwrap()
}

#[test]
fn write_commits_on_ok_and_stores_nothing_on_err() {
    let (_dir, mut store) = fixture_store();
    store
        .write(|tx| tx.execute("INSERT INTO meta(key, value) VALUES ('a', '1')", []))
        .unwrap();
    let err = store
        .write(|tx| -> Result<()> {
            tx.execute("INSERT INTO meta(key, value) VALUES ('b', '2')", [])?;
            Err(Error::invalid("b", "refused after writing"))
        })
        .unwrap_err();
    assert!(matches!(err, Error::Invalid { .. }), "{err}");
    assert_eq!(store.meta("a").unwrap().as_deref(), Some("1"));
    assert_eq!(
        store.meta("b").unwrap(),
        None,
        "the failed write left nothing"
    );
    // A panic inside rolls back too, and the store keeps working.
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = store.write(|tx| -> Result<()> {
            tx.execute("INSERT INTO meta(key, value) VALUES ('c', '3')", [])?;
            panic!("in the middle of a write");
        });
    }));
    assert!(panicked.is_err());
    assert_eq!(store.meta("c").unwrap(), None);
    store.set_meta("d", "4").unwrap();
    assert_eq!(store.meta("d").unwrap().as_deref(), Some("4"));
}

#[test]
fn read_cannot_write() {
    let (_dir, file) = fixture_store();
    for mut store in [file, Store::open(":memory:").unwrap()] {
        let err = store
            .read(|c| c.execute("INSERT INTO meta(key, value) VALUES ('a', '1')", []))
            .unwrap_err();
        assert!(err.to_string().contains("readonly"), "{err}");
        assert_eq!(store.meta("a").unwrap(), None);
        // Writes work again after the read.
        store.set_meta("a", "1").unwrap();
        assert_eq!(store.meta("a").unwrap().as_deref(), Some("1"));
    }
}

#[test]
fn a_read_sees_each_write_once_it_commits() {
    let (_dir, mut store) = fixture_store();
    let count = |store: &Store| -> i64 {
        store
            .read(|c| {
                c.prepare_cached("SELECT count(*) FROM meta WHERE key LIKE 'k%'")?
                    .query_row([], |r| r.get(0))
            })
            .unwrap()
    };
    for i in 0..5 {
        assert_eq!(count(&store), i);
        store
            .write(|tx| {
                tx.execute(
                    "INSERT INTO meta(key, value) VALUES (?1, 'v')",
                    [format!("k{i}")],
                )
            })
            .unwrap();
        assert_eq!(count(&store), i + 1, "the read after write {i} sees it");
    }
    // A write that fails is not seen.
    let _ = store.write(|tx| -> Result<()> {
        tx.execute("INSERT INTO meta(key, value) VALUES ('k9', 'v')", [])?;
        Err(Error::invalid("k9", "refused"))
    });
    assert_eq!(count(&store), 5);
}

fn fixture_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store.sqlite3")).unwrap();
    (dir, store)
}

#[test]
fn a_layer_is_created_at_open_recorded_and_not_run_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("layered.sqlite3");
    let mut store = Store::open_with(&path, &[NOTES]).unwrap();
    assert_eq!(layer_version(&store, "notes"), Some(2));
    assert_eq!(user_version(&store), SCHEMA_VERSION);
    store
        .write(|tx| tx.execute("INSERT INTO notes(text) VALUES ('kept')", []))
        .unwrap();
    drop(store);
    // Reopening runs no step (the second one would fail if it ran again).
    let store = Store::open_with(&path, &[NOTES]).unwrap();
    assert_eq!(layer_version(&store, "notes"), Some(2));
    assert_eq!(count(&store, "SELECT COUNT(*) FROM notes"), 1);
    drop(store);
    // A store opened without the layer leaves its tables and version alone.
    let store = Store::open(&path).unwrap();
    assert_eq!(layer_version(&store, "notes"), Some(2));
    // A device's store has no layers and no bookkeeping for them.
    let (_d, device) = fixture_store();
    assert_eq!(
        count(
            &device,
            "SELECT COUNT(*) FROM sqlite_master WHERE name = 'schema_layers'"
        ),
        0
    );
}

#[test]
fn a_layer_adopts_tables_made_before_it_was_versioned_and_climbs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.sqlite3");
    {
        // A file whose notes table was made the old way, at the first step, unrecorded.
        let store = Store::open(&path).unwrap();
        drop(store);
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL);
             INSERT INTO notes(text) VALUES ('old');",
        )
        .unwrap();
    }
    let store = Store::open_with(&path, &[NOTES]).unwrap();
    assert_eq!(layer_version(&store, "notes"), Some(2));
    assert_eq!(count(&store, "SELECT COUNT(*) FROM notes"), 1, "rows kept");
    assert_eq!(count(&store, "SELECT COUNT(*) FROM note_tags"), 0);
}

#[test]
fn a_layer_newer_than_the_build_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.sqlite3");
    drop(Store::open_with(&path, &[NOTES]).unwrap());
    Connection::open(&path)
        .unwrap()
        .execute(
            "UPDATE schema_layers SET version = 3 WHERE layer = 'notes'",
            [],
        )
        .unwrap();
    let err = Store::open_with(&path, &[NOTES]).unwrap_err();
    assert!(
        matches!(&err, Error::LayerTooNew { layer, found: 3, supported: 2 } if layer == "notes"),
        "{err:?}"
    );
    assert!(err.to_string().contains("update this program"), "{err}");
    // An older build of the layer (one step) is refused the same way.
    let older = Layer {
        name: "notes",
        steps: &NOTES.steps[..1],
    };
    drop(Store::open(&path).unwrap());
    Connection::open(&path)
        .unwrap()
        .execute("UPDATE schema_layers SET version = 2", [])
        .unwrap();
    assert!(matches!(
        Store::open_with(&path, &[older]).unwrap_err(),
        Error::LayerTooNew { .. }
    ));
}

#[test]
fn a_failing_layer_step_leaves_the_file_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fresh.sqlite3");
    let broken = Layer {
        name: "broken",
        steps: &["CREATE TABLE fine (x INTEGER);", "NOT SQL AT ALL;"],
    };
    assert!(matches!(
        Store::open_with(&path, &[broken]).unwrap_err(),
        Error::Storage(_)
    ));
    // Not even the core was migrated: the ladder is one transaction.
    let conn = Connection::open(&path).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 0);
    let tables: i64 = conn
        .query_row("SELECT COUNT(*) FROM sqlite_master", [], |r| r.get(0))
        .unwrap();
    assert_eq!(tables, 0);
}

/// The rules the forms once kept to themselves now hold in the core: a step without the words it
/// needs, an assignment down too far below or too far off, a visit that says nothing.
#[test]
fn steps_without_their_words_or_beyond_their_limits_are_refused_and_store_nothing() {
    let mut f = fixture();
    let gw = actor(&f.d, "gw", Role::GridWorker);
    let county = actor(&f.d, "county", Role::CentreStaff);
    let id = f
        .store
        .create_case(&gw, &new_case("hy-wf-1", "张三"), T0)
        .unwrap();
    let staff = actor(&f.d, "staff", Role::CentreStaff);
    f.store
        .act(
            &id,
            &staff,
            Action::Escalate {
                to: "ts".into(),
                reason: crate::model::EscalationReason::Unresolved,
                note: String::new(),
            },
            T0,
        )
        .unwrap();
    let outbox = f.store.outbox(100).unwrap().len();
    let entries = f.store.summary(&id).unwrap().entries;
    let down = |to: &str, instructions: &str, due_at: i64| Action::AssignDown {
        to: to.into(),
        person: None,
        instructions: instructions.to_owned(),
        due_at,
    };
    let refused = |f: &mut Fixture, action: Action| {
        f.store
            .act(&id, &county, action, T0 + DAY)
            .unwrap_err()
            .to_string()
    };
    let in_a_week = T0 + 8 * DAY;
    let err = refused(&mut f, down("hy", "  ", in_a_week));
    assert!(err.starts_with("instructions"), "{err}");
    assert!(err.contains("必填"), "{err}");
    let err = refused(&mut f, down("hy", "请七日内反馈", T0 + 100 * DAY));
    assert!(err.starts_with("due_at"), "{err}");
    assert!(err.contains("90"), "{err}");
    let err = refused(&mut f, down("hy", "请七日内反馈", T0));
    assert!(err.starts_with("due_at"), "{err}");
    // One tier at a time: the county gives the case to the township, not to its village.
    let err = refused(&mut f, down("hy-wf", "请七日内反馈", in_a_week));
    assert!(err.contains("not one tier below"), "{err}");
    assert_eq!(f.store.outbox(100).unwrap().len(), outbox);
    assert_eq!(f.store.summary(&id).unwrap().entries, entries);
    f.store
        .act(
            &id,
            &county,
            down("hy", "请七日内反馈", in_a_week),
            T0 + DAY,
        )
        .unwrap();

    let h = f
        .store
        .create_household(&gw, &"hy-wf-1".into(), "陈伯", "五丰村一巷3号", 4, T0)
        .unwrap();
    let err = f
        .store
        .record_visit(&h, &gw, VisitOutcome::Noted, " ", T0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("无事报平安"), "{err}");
    assert_eq!(f.store.household(&h).unwrap().visits.len(), 0);
}

/// A list's true count, whatever its limit; a worker's area takes in what they reported above
/// their grid; the write-ahead log is emptied by a checkpoint.
#[test]
fn counts_areas_and_the_write_ahead_log() {
    let mut f = fixture();
    let gw = actor(&f.d, "gw", Role::GridWorker);
    for i in 0..30 {
        f.store
            .create_case(&gw, &new_case("hy-wf-1", &format!("当事人{i}")), T0)
            .unwrap();
    }
    // A dispute of the whole village around the grid.
    let village = f
        .store
        .create_case(&gw, &new_case("hy-wf", "全村"), T0 + 60_000)
        .unwrap();
    let grid = CaseFilter {
        unit: Some("hy-wf-1".into()),
        limit: 5,
        ..Default::default()
    };
    assert_eq!(f.store.list(&grid, T0).unwrap().len(), 5);
    assert_eq!(f.store.count(&grid, T0).unwrap(), 30);
    let area = CaseFilter {
        or_person: Some("gw".into()),
        ..grid.clone()
    };
    assert_eq!(f.store.count(&area, T0).unwrap(), 31);
    let newest_due = CaseFilter {
        order: crate::store::ListOrder::RecentlyDue,
        ..area
    };
    assert_eq!(f.store.list(&newest_due, T0).unwrap()[0].id, village);
    assert!(f.store.wal_bytes() > 0);
    assert!(f.store.checkpoint().unwrap());
    assert_eq!(f.store.wal_bytes(), 0);
}

/// A visit adds itself to the household's summary row without reading the household: the row
/// stays what the whole document says, visits recorded out of time order included.
#[test]
fn a_visit_keeps_the_household_row_equal_to_its_document() {
    let mut f = fixture();
    let gw = actor(&f.d, "gw", Role::GridWorker);
    let grid: UnitId = "hy-wf-1".into();
    let h = f
        .store
        .create_household(&gw, &grid, "陈伯", "五丰村一巷3号", 4, T0)
        .unwrap();
    for at in [T0 + 3 * DAY, T0 + DAY, T0 + 2 * DAY] {
        f.store
            .record_visit(&h, &gw, VisitOutcome::AllSafe, "", at)
            .unwrap();
    }
    let doc = f.store.household(&h).unwrap();
    let row = f
        .store
        .households(&grid)
        .unwrap()
        .into_iter()
        .find(|r| r.id == h)
        .unwrap();
    assert_eq!(row.visits, doc.visits.len() as u64);
    assert_eq!(row.last_visit_at, Some(T0 + 3 * DAY));
    assert_eq!(row.last_visit_at, doc.visits.iter().map(|v| v.at).max());
}

#[test]
fn visits_fill_volumes_of_sixteen_and_a_household_reads_back_whole() {
    let mut f = fixture();
    let gw = actor(&f.d, "gw", Role::GridWorker);
    let grid: UnitId = "hy-wf-1".into();
    // A household from before volumes: three visits in its own document.
    let visit = |note: &str, at: i64| crate::document::Visit {
        id: crate::ids::VisitId::generate(),
        at,
        actor: gw.clone(),
        outcome: VisitOutcome::Noted,
        note: note.to_owned(),
    };
    let old = crate::document::HouseholdDocument {
        schema: crate::model::HOUSEHOLD_SCHEMA,
        id: crate::ids::HouseholdId::generate(),
        grid: grid.clone(),
        address: autosurgeon::Text::with_value("五丰村一巷3号"),
        head: "陈伯".to_owned(),
        members: 4,
        notes: autosurgeon::Text::with_value(""),
        visits: (0..3)
            .map(|i| visit(&format!("旧走访{i}"), T0 + i))
            .collect(),
    };
    let h = old.id.clone();
    let doc = crate::document::HouseholdDoc::create(&old, &ActorId::random(), T0).unwrap();
    f.store.import_households([doc], T0).unwrap();
    for i in 0..40 {
        f.store
            .record_visit(
                &h,
                &gw,
                VisitOutcome::Noted,
                &format!("第{i}次走访"),
                T0 + (i + 1) * DAY,
            )
            .unwrap();
    }
    // Three volumes: 16, 16 and 8 visits; the household's own document is untouched.
    assert_eq!(f.store.visit_volumes(&h).unwrap(), vec![1, 2, 3]);
    let per_volume: Vec<i64> = f
        .store
        .connection()
        .prepare("SELECT visits FROM visit_books WHERE household = ?1 ORDER BY volume")
        .unwrap()
        .query_map([h.as_str()], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(per_volume, vec![16, 16, 8]);
    let read = f.store.household(&h).unwrap();
    assert_eq!(read.visits.len(), 43);
    assert_eq!(read.visits[0].note, "旧走访0");
    assert_eq!(read.visits[3].note, "第0次走访");
    assert_eq!(read.visits[42].note, "第39次走访");
    assert!(read.visits.windows(2).all(|w| w[0].at <= w[1].at));
    let row = |store: &Store| {
        store
            .households(&grid)
            .unwrap()
            .into_iter()
            .find(|r| r.id == h)
            .unwrap()
    };
    assert_eq!(row(&f.store).visits, 43);
    assert_eq!(row(&f.store).last_visit_at, Some(T0 + 40 * DAY));
    // Each volume begins with the genesis every replica makes, and it goes to the server too.
    for volume in 1..=3 {
        let key = crate::document::VisitBookDoc::key(&h, volume);
        let genesis = crate::document::VisitBookDoc::genesis_hash(&h, volume).unwrap();
        let queued: i64 = f
            .store
            .connection()
            .query_row(
                "SELECT COUNT(*) FROM outbox WHERE key = ?1 AND hash = ?2",
                params![key, genesis.to_string()],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(queued, 1, "the genesis of volume {volume} is in the outbox");
    }
    // The rows are summaries: rebuilt from the documents, they are the same.
    f.store
        .connection()
        .execute_batch(
            "UPDATE households SET visits = 0, last_visit_at = NULL; DELETE FROM visit_books;",
        )
        .unwrap();
    f.store.reindex().unwrap();
    assert_eq!(row(&f.store).visits, 43);
    assert_eq!(row(&f.store).last_visit_at, Some(T0 + 40 * DAY));
    assert_eq!(f.store.visit_volumes(&h).unwrap(), vec![1, 2, 3]);
}

#[test]
fn the_ledger_counts_supervised_cases_and_lists_them_by_their_new_deadline() {
    let mut f = fixture();
    let gw = actor(&f.d, "gw", Role::GridWorker);
    let staff = actor(&f.d, "staff", Role::CentreStaff);
    let pressed = f
        .store
        .create_case(&gw, &new_case("hy-wf-1", "张三"), T0)
        .unwrap();
    f.store
        .create_case(&gw, &new_case("hy-wf-1", "李四"), T0)
        .unwrap();
    // Supervised with a deadline already near: due soon on the new deadline, not the old one.
    let due = T0 + 2 * DAY;
    f.store
        .act(
            &pressed,
            &staff,
            Action::Supervise {
                level: crate::model::SuperviseLevel::General,
                due_at: due,
                note: "请两日内办结".to_owned(),
            },
            T0 + HOUR,
        )
        .unwrap();
    let now = T0 + DAY + HOUR;
    let soon = f
        .store
        .list(
            &CaseFilter {
                unit: Some("hy".into()),
                due: Some(DueFilter::DueSoon),
                ..Default::default()
            },
            now,
        )
        .unwrap();
    assert_eq!(soon.iter().map(|s| &s.id).collect::<Vec<_>>(), [&pressed]);
    let text = crate::ledger::render(&f.store, &"hy".into(), now, 10, 30).unwrap();
    assert!(text.contains("督办 1 件"), "{text}");
    let report = f.store.figures(&"hy".into(), T0, now, now).unwrap();
    assert_eq!((report.total.received, report.total.supervised), (2, 1));
}

/// A "drawn signature" as far as the store looks: PNG's signature, then strokes.
fn drawing(seed: u8) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
    b.extend((0..2_000u32).map(|i| (i as u8).wrapping_mul(17).wrapping_add(seed)));
    b
}

fn resolve_with(summary: &str) -> Action {
    Action::Resolve {
        agreement: Some(Agreement {
            summary: summary.to_owned(),
            attachment: None,
            performance: "签订当日履行".to_owned(),
            signatures: Vec::new(),
        }),
        note: "就地化解".to_owned(),
    }
}

#[test]
fn an_agreement_signed_on_the_spot_keeps_each_signature_with_the_case_in_one_transaction() {
    use crate::ids::PartyId;
    let mut f = fixture();
    let gw = actor(&f.d, "gw", Role::GridWorker);
    let id = f
        .store
        .create_case(&gw, &new_case("hy-wf-1", "张三"), T0)
        .unwrap();
    let parties: Vec<PartyId> = f
        .store
        .case(&id)
        .unwrap()
        .document
        .parties
        .iter()
        .map(|p| p.id.clone())
        .collect();
    let sign = |party: &PartyId, mime: &str, bytes: Vec<u8>| SignatureImage {
        party: party.clone(),
        mime: mime.to_owned(),
        bytes,
    };
    let honest = [
        sign(&parties[0], "image/png", drawing(1)),
        sign(&parties[1], "image/png", drawing(2)),
    ];
    let rows = attachment_rows(&f.store);
    let entries = f.store.case(&id).unwrap().document.timeline.len();
    let at = T0 + HOUR;
    let refusals: Vec<(Action, Vec<SignatureImage>, &str)> = vec![
        (
            resolve_with("拆除围墙"),
            vec![
                honest[0].clone(),
                sign(&PartyId::new("nobody"), "image/png", drawing(3)),
            ],
            "not a party of the case",
        ),
        (
            resolve_with("拆除围墙"),
            vec![
                honest[0].clone(),
                sign(&parties[0], "image/png", drawing(4)),
            ],
            "twice",
        ),
        (
            resolve_with("拆除围墙"),
            vec![sign(&parties[0], "image/gif", drawing(5))],
            "PNG",
        ),
        (
            resolve_with("拆除围墙"),
            vec![sign(&parties[0], "image/png", photo(6, 2_000))],
            "damaged",
        ),
        (
            resolve_with("拆除围墙"),
            vec![sign(&parties[0], "image/png", Vec::new())],
            "empty",
        ),
        (
            resolve_with("拆除围墙"),
            vec![
                sign(&parties[0], "image/png", vec![0x89; 600_000]),
                honest[1].clone(),
            ],
            "limit",
        ),
        (
            resolve_with("拆除围墙"),
            vec![
                honest[0].clone(),
                sign(&parties[1], "image/png", drawing(1)),
            ],
            "same image",
        ),
        (
            Action::Resolve {
                agreement: None,
                note: "口头协议".to_owned(),
            },
            honest.to_vec(),
            "only on a mediation agreement",
        ),
        (
            // The workflow: a staff member's step this case is not ready for.
            Action::Close {
                note: String::new(),
            },
            honest.to_vec(),
            "only on a mediation agreement",
        ),
    ];
    for (action, signatures, words) in refusals {
        let e = f
            .store
            .resolve_signed(&id, &gw, action, &signatures, at)
            .unwrap_err();
        assert!(e.to_string().contains(words), "`{e}` lacks `{words}`");
        assert_eq!(attachment_rows(&f.store), rows, "{words}: nothing kept");
        assert_eq!(
            f.store.case(&id).unwrap().document.timeline.len(),
            entries,
            "{words}: no entry"
        );
    }
    // A signature named in an agreement recorded without its image.
    let mut forged = resolve_with("拆除围墙");
    if let Action::Resolve {
        agreement: Some(a), ..
    } = &mut forged
    {
        a.signatures.push(crate::model::Signature {
            party: parties[0].clone(),
            attachment: crate::ids::AttachmentId::generate(),
        });
    }
    let e = f.store.act(&id, &gw, forged, at).unwrap_err();
    assert!(e.to_string().contains("does not list"), "{e}");

    // Both parties sign on the grid worker's phone, in the courtyard.
    f.store
        .resolve_signed(&id, &gw, resolve_with("拆除围墙；恢复通道"), &honest, at)
        .unwrap();
    let view = f.store.case(&id).unwrap();
    assert_eq!(view.summary.status, Status::Resolved);
    let agreement = view
        .folded
        .state
        .as_ref()
        .unwrap()
        .agreement
        .clone()
        .unwrap();
    assert_eq!(agreement.performance, "签订当日履行");
    assert_eq!(agreement.signatures.len(), 2);
    for (s, image) in agreement.signatures.iter().zip(&honest) {
        assert_eq!(s.party, image.party);
        let a = view
            .document
            .attachments
            .iter()
            .find(|a| a.id == s.attachment)
            .expect("the case lists the signature");
        assert_eq!(a.mime, "image/png");
        assert_eq!(a.added_by, gw.person);
        assert_eq!(a.sha256, sha256_hex(&image.bytes));
        let party = view
            .document
            .parties
            .iter()
            .find(|p| p.id == s.party)
            .unwrap();
        assert_eq!(a.name, format!("签名-{}.png", party.name));
        // Kept here by its hash, waiting to go up with the case.
        assert_eq!(f.store.blob(&a.sha256).unwrap().unwrap().1, image.bytes);
        assert!(f
            .store
            .pending_blobs()
            .unwrap()
            .contains(&(a.sha256.clone(), id.to_string())));
    }
    // The images are listed by one edit entry, the agreement by the next.
    let n = view.document.timeline.len();
    assert_eq!(n, entries + 2);
    assert_eq!(
        view.document.timeline[n - 2].action,
        Action::Edit {
            fields: vec!["attachments".to_owned()]
        }
    );
    assert!(matches!(
        view.document.timeline[n - 1].action,
        Action::Resolve { .. }
    ));
    assert_eq!(attachment_rows(&f.store).0, rows.0 + 2);
}
