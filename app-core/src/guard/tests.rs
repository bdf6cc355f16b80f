//! The guard on real automerge documents: honest work passes; each attack a holder of one valid
//! device could make is refused with the code and words that name it.

use super::*;
use crate::demo::Generator;
use crate::document::{CaseDoc, CaseEdit, DocKind, HouseholdDoc, PartyContact, VisitOutcome};
use crate::ids::{EntryId, HouseholdId, VisitId};
use crate::model::{Actor, Difficulty, PartyRole, Source};
use crate::org::Role;
use crate::store::prepare_detached;
use automerge::transaction::Transactable;
use automerge::ActorId;

const NOW: i64 = 1_780_000_000_000;

struct World {
    generator: Generator,
    /// The demo county's directory, with the city's 12345 platform registered at the county
    /// (系统对接, [`Role::Intake`]).
    directory: Directory,
    limits: Limits,
}

/// The 12345 platform's principal in [`World`]'s directory (the demo county's).
const HOTLINE: &str = crate::demo::HOTLINE_ID;

impl World {
    fn new() -> World {
        let generator = Generator::new(7);
        let directory = generator.directory().clone();
        assert!(directory.person(&PersonId::new(HOTLINE)).is_some());
        World {
            generator,
            directory,
            limits: Limits::default(),
        }
    }

    fn dir(&self) -> &Directory {
        &self.directory
    }

    fn hotline(&self) -> Actor {
        Actor {
            person: PersonId::new(HOTLINE),
            name: "12345政务服务便民热线".to_owned(),
            role: Role::Intake,
            unit: self.generator.county(),
        }
    }

    fn grid(&self) -> UnitId {
        self.generator.grids(Some(&self.generator.township()))[0].clone()
    }

    fn grid_worker(&self) -> Actor {
        let p = self.generator.grid_worker_of(&self.grid()).unwrap();
        self.generator.actor_for(&p.id, Role::GridWorker)
    }

    fn staff(&self) -> Actor {
        let t = self.generator.township();
        let p = self.generator.staff_of(&t)[0];
        self.generator.actor_for(&p.id, Role::CentreStaff)
    }

    fn leader(&self) -> Actor {
        let t = self.generator.township();
        let p = self.generator.leader_of(&t).unwrap();
        self.generator.actor_for(&p.id, Role::CentreLeader)
    }

    fn cx<'a>(&'a self, sender: &'a PersonId) -> Context<'a> {
        Context {
            directory: &self.directory,
            taxonomy: self.generator.taxonomy(),
            sender: Sender::Person(sender),
            now_ms: NOW,
            limits: &self.limits,
        }
    }

    fn new_case(&self) -> NewCase {
        NewCase {
            title: "宅基地边界纠纷".to_owned(),
            category: "neighbour".to_owned(),
            narrative: "两户因围墙位置争执。".to_owned(),
            place_unit: self.grid(),
            address: "五丰村三巷12号".to_owned(),
            gps: None,
            parties: Vec::new(),
            source: Source::GridVisit,
        }
    }

    /// A case reported by the grid worker, as their phone writes it.
    fn report(&self, phone: &ActorId) -> CaseDoc {
        let gw = self.grid_worker();
        let new = self.new_case();
        CaseDoc::create(
            CaseId::generate(),
            &new,
            vec![Party {
                id: PartyId::new("p1"),
                name: "张三".to_owned(),
                role: PartyRole::Applicant,
            }],
            self.dir().path(&new.place_unit),
            self.generator.township(),
            &gw,
            phone,
            NOW - 3_600_000,
        )
        .unwrap()
    }

    /// Merges `changes` into the server's copy `stored` (`None`: a new document), as the
    /// server does before checking them.
    fn merge(
        &self,
        kind: DocKind,
        id: &str,
        stored: Option<AutoCommit>,
        changes: Vec<Change>,
    ) -> Checked<crate::store::Received> {
        Ok(
            prepare_detached(self.dir(), &ActorId::random(), kind, id, stored, changes)
                .map_err(Refusal::from)?
                .expect("something new"),
        )
    }

    /// Checks `changes` (sent by `sender`) against the server's copy `stored`.
    fn admit(
        &self,
        stored: Option<&mut AutoCommit>,
        id: &CaseId,
        changes: Vec<Change>,
        sender: &PersonId,
    ) -> Checked<()> {
        let r = self.merge(
            DocKind::Case,
            id.as_str(),
            stored.map(|d| d.fork()),
            changes,
        )?;
        let m = r.merged();
        check_case(&self.cx(sender), &m, id.as_str(), r.case.as_ref().unwrap())
    }
}

impl World {
    /// Checks a new case's `changes` as forwarded by the server of `unit` (a child server).
    fn admit_from_server(&self, id: &CaseId, changes: Vec<Change>, unit: &UnitId) -> Checked<()> {
        let r = self.merge(DocKind::Case, id.as_str(), None, changes)?;
        let m = r.merged();
        let cx = Context {
            directory: &self.directory,
            taxonomy: self.generator.taxonomy(),
            sender: Sender::Server(unit),
            now_ms: NOW,
            limits: &self.limits,
        };
        check_case(&cx, &m, id.as_str(), r.case.as_ref().unwrap())
    }
}

#[test]
fn a_child_server_relays_the_platform_above_it_in_its_intake_role_only() {
    let w = World::new();
    let township = w.generator.township();
    let other = w
        .generator
        .townships()
        .into_iter()
        .find(|t| t != &township)
        .expect("two townships");
    let report_by = |actor: &Actor, source: Source| {
        let new = NewCase {
            source,
            ..w.new_case()
        };
        let mut case = CaseDoc::create(
            CaseId::generate(),
            &new,
            vec![Party {
                id: PartyId::new("p1"),
                name: "来电人（保密）".to_owned(),
                role: PartyRole::Applicant,
            }],
            w.dir().path(&new.place_unit),
            township.clone(),
            actor,
            &ActorId::random(),
            NOW - 3_600_000,
        )
        .unwrap();
        let id = case.id().clone();
        (id, all_changes(case.automerge()))
    };
    // The county's 12345 platform reported it at the township, which forwards it up.
    let (id, changes) = report_by(&w.hotline(), Source::Hotline12345);
    w.admit_from_server(&id, changes, &township).unwrap();
    // The same signature in another role (the platform's person is no county staff), and a
    // county staff member's report, are not the township's to relay.
    let mut as_staff = w.hotline();
    as_staff.role = Role::CentreStaff;
    let (id, changes) = report_by(&as_staff, Source::WalkIn);
    refused(
        w.admit_from_server(&id, changes, &township),
        ErrorCode::WrongAuthor,
        "relays only people of",
    );
    // Nor an entry that claims the platform sits in another unit than the directory's.
    let mut elsewhere = w.hotline();
    elsewhere.unit = other.clone();
    let (id, changes) = report_by(&elsewhere, Source::Hotline12345);
    assert!(w.admit_from_server(&id, changes, &township).is_err());
}

fn changes_since(doc: &mut AutoCommit, heads: &[ChangeHash]) -> Vec<Change> {
    doc.get_changes(heads).into_iter().collect()
}

fn all_changes(doc: &mut AutoCommit) -> Vec<Change> {
    changes_since(doc, &[])
}

/// The server holds the case as reported.
fn server_copy(case: &mut CaseDoc) -> AutoCommit {
    AutoCommit::load(&case.save()).unwrap()
}

fn refused(r: Checked<()>, code: ErrorCode, words: &str) {
    let e = r.expect_err("must be refused");
    assert_eq!(e.code, code, "{}", e.message);
    assert!(e.message.contains(words), "`{}` lacks `{words}`", e.message);
}

#[test]
fn an_honest_report_and_its_loop_are_admitted() {
    let w = World::new();
    let phone = ActorId::random();
    let mut case = w.report(&phone);
    let id = case.id().clone();
    let gw = w.grid_worker();
    w.admit(None, &id, all_changes(case.automerge()), &gw.person)
        .unwrap();
    let mut server = server_copy(&mut case);
    // The desk assesses and assigns, the grid worker edits the narrative, in one upload each.
    let desk = ActorId::random();
    let mut at_desk = CaseDoc::from_automerge(id.clone(), server.fork().with_actor(desk));
    let before = server.get_heads();
    let staff = w.staff();
    at_desk
        .act(
            &staff,
            Action::Assess {
                difficulty: Difficulty::Simple,
                risks: Vec::new(),
                note: "简单纠纷".to_owned(),
            },
            NOW - 1_000_000,
        )
        .unwrap();
    let mediator = w.generator.mediators_of(&w.generator.township())[0];
    at_desk
        .act(
            &staff,
            Action::Assign {
                to: crate::model::Assignee::Mediator {
                    person: mediator.id.clone(),
                    name: mediator.name.clone(),
                },
                chosen_by_parties: false,
                note: String::new(),
            },
            NOW - 900_000,
        )
        .unwrap();
    let up = changes_since(at_desk.automerge(), &before);
    w.admit(Some(&mut server), &id, up.clone(), &staff.person)
        .unwrap();
    server.apply_changes(up).unwrap();
    let before = case.heads();
    case.edit(
        &gw,
        &CaseEdit {
            narrative: Some("两户因围墙位置争执，已到场查看。".to_owned()),
            upsert_parties: vec![Party {
                id: PartyId::new("p2"),
                name: "李四".to_owned(),
                role: PartyRole::Respondent,
            }],
            gps: Some(Some((21.9, 112.6))),
            ..CaseEdit::default()
        },
        NOW - 800_000,
    )
    .unwrap();
    w.admit(
        Some(&mut server),
        &id,
        changes_since(case.automerge(), &before),
        &gw.person,
    )
    .unwrap();
}

#[test]
fn a_long_chain_of_edits_is_admitted_one_view_after_another() {
    let w = World::new();
    let phone = ActorId::random();
    let mut case = w.report(&phone);
    let gw = w.grid_worker();
    for i in 0..300 {
        case.splice_narrative(&gw, 0, 0, "补", NOW - 3_000_000 + i)
            .unwrap();
    }
    let id = case.id().clone();
    w.admit(None, &id, all_changes(case.automerge()), &gw.person)
        .unwrap();
}

#[test]
fn an_entry_signed_as_someone_else_is_refused() {
    let w = World::new();
    let phone = ActorId::random();
    let mut case = w.report(&phone);
    let id = case.id().clone();
    let mut server = server_copy(&mut case);
    let before = case.heads();
    // The grid worker's phone writes an entry signed by the leader.
    case.act(
        &w.leader(),
        Action::Assess {
            difficulty: Difficulty::Major,
            risks: Vec::new(),
            note: String::new(),
        },
        NOW - 1_000,
    )
    .unwrap();
    refused(
        w.admit(
            Some(&mut server),
            &id,
            changes_since(case.automerge(), &before),
            &w.grid_worker().person,
        ),
        ErrorCode::WrongAuthor,
        "signed by",
    );
}

/// Inserts a copy of `entry` (serialised as the model writes it) at `index` of the timeline.
fn insert_entry(doc: &mut AutoCommit, index: usize, entry: &TimelineEntry) {
    let (_, list) = doc.get(ROOT, "timeline").unwrap().unwrap();
    autosurgeon::reconcile_insert(doc, list, index, entry).unwrap();
}

#[test]
fn a_second_entry_reusing_an_id_and_a_foreign_signature_is_refused() {
    // Finding 1: one change appends a legitimate entry and inserts, before the report, an
    // entry reusing the report's id, signed as the leader.
    let w = World::new();
    let phone = ActorId::random();
    let mut case = w.report(&phone);
    let id = case.id().clone();
    let mut server = server_copy(&mut case);
    let report = case.timeline().unwrap()[0].clone();
    let gw = w.grid_worker();
    let before = case.heads();
    let doc = case.automerge();
    let forged = TimelineEntry {
        actor: w.leader(),
        action: Action::Close {
            note: "已办结".to_owned(),
        },
        ..report.clone()
    };
    insert_entry(doc, 0, &forged);
    let honest = TimelineEntry {
        id: EntryId::generate(),
        base: Some(report.id.clone()),
        at: NOW - 1_000,
        actor: gw.clone(),
        action: Action::RecordSession {
            mode: crate::model::SessionMode::OnSite,
            note: String::new(),
        },
    };
    insert_entry(doc, 2, &honest);
    doc.commit();
    refused(
        w.admit(
            Some(&mut server),
            &id,
            changes_since(case.automerge(), &before),
            &gw.person,
        ),
        ErrorCode::BadDocument,
        "share the id",
    );
}

#[test]
fn a_change_from_an_old_view_that_replaces_the_timeline_is_refused() {
    // Finding 2: a change based on the report's view puts a new `timeline`, which would win
    // automerge's conflict for the key.
    let w = World::new();
    let phone = ActorId::random();
    let mut case = w.report(&phone);
    let id = case.id().clone();
    let report_heads = case.heads();
    let mut server = server_copy(&mut case);
    let mut stale = server
        .fork_at(&report_heads)
        .unwrap()
        .with_actor(phone.clone());
    let (_, report) = stale.get(ROOT, "timeline").unwrap().unwrap();
    let first: TimelineEntry = autosurgeon::hydrate_prop(&stale, &report, 0_usize).unwrap();
    let list = stale.put_object(ROOT, "timeline", ObjType::List).unwrap();
    autosurgeon::reconcile_insert(&mut stale, list, 0, &first).unwrap();
    stale.commit();
    refused(
        w.admit(
            Some(&mut server),
            &id,
            changes_since(&mut stale, &report_heads),
            &w.grid_worker().person,
        ),
        ErrorCode::BadDocument,
        "never replaced",
    );
}

#[test]
fn a_change_with_no_history_cannot_recreate_an_existing_case() {
    let w = World::new();
    let phone = ActorId::random();
    let mut case = w.report(&phone);
    let id = case.id().clone();
    let mut server = server_copy(&mut case);
    // Another of the grid worker's actors "reports" the same case id again, from nothing.
    let phone = ActorId::random();
    let mut again = CaseDoc::create(
        id.clone(),
        &w.new_case(),
        vec![Party {
            id: PartyId::new("p9"),
            name: "王五".to_owned(),
            role: PartyRole::Applicant,
        }],
        w.dir().path(&w.grid()),
        w.generator.township(),
        &w.grid_worker(),
        &phone,
        NOW,
    )
    .unwrap();
    refused(
        w.admit(
            Some(&mut server),
            &id,
            all_changes(again.automerge()),
            &w.grid_worker().person,
        ),
        ErrorCode::BadDocument,
        "no history",
    );
}

#[test]
fn deleting_or_altering_an_entry_is_refused() {
    let w = World::new();
    let phone = ActorId::random();
    let mut case = w.report(&phone);
    let id = case.id().clone();
    let mut server = server_copy(&mut case);
    let gw = w.grid_worker();
    let before = case.heads();
    let doc = case.automerge();
    let (_, list) = doc.get(ROOT, "timeline").unwrap().unwrap();
    let (_, entry) = doc.get(&list, 0).unwrap().unwrap();
    doc.put(&entry, "at", 1_i64).unwrap();
    doc.commit();
    refused(
        w.admit(
            Some(&mut server),
            &id,
            changes_since(case.automerge(), &before),
            &gw.person,
        ),
        ErrorCode::BadDocument,
        "timeline only grows",
    );
    let mut case = w.report(&phone);
    let id = case.id().clone();
    let mut server = server_copy(&mut case);
    let before = case.heads();
    let doc = case.automerge();
    let (_, list) = doc.get(ROOT, "timeline").unwrap().unwrap();
    doc.delete(&list, 0).unwrap();
    doc.commit();
    refused(
        w.admit(
            Some(&mut server),
            &id,
            changes_since(case.automerge(), &before),
            &gw.person,
        ),
        ErrorCode::BadDocument,
        "timeline only grows",
    );
}

#[test]
fn a_report_must_be_exactly_the_model() {
    let w = World::new();
    let gw = w.grid_worker();
    let phone = ActorId::random();
    // Finding 5: the category written as collaborative text, and an unknown key with junk.
    let mut case = w.report(&phone);
    let id = case.id().clone();
    let mut doc = AutoCommit::load(&case.save())
        .unwrap()
        .with_actor(phone.clone());
    // Rebuild the creating change by hand, as a JS client would, with the category as text.
    let mut js = AutoCommit::new().with_actor(phone.clone());
    let value = doc.hydrate(ROOT, None).unwrap();
    let mut read: CaseDocument = exact(&value, "the case").unwrap();
    read.category = "neighbour".to_owned();
    autosurgeon::reconcile(&mut js, &read).unwrap();
    let text = js.put_object(ROOT, "category", ObjType::Text).unwrap();
    js.splice_text(&text, 0, 0, "neighbour").unwrap();
    js.commit();
    refused(
        w.admit(None, &id, all_changes(&mut js), &gw.person),
        ErrorCode::BadDocument,
        "category is collaborative text where the model has a string",
    );
    let mut junk = AutoCommit::new().with_actor(phone.clone());
    autosurgeon::reconcile(&mut junk, &read).unwrap();
    junk.put(ROOT, "junk", "x".repeat(1000)).unwrap();
    junk.commit();
    refused(
        w.admit(None, &id, all_changes(&mut junk), &gw.person),
        ErrorCode::BadDocument,
        "unknown key `junk`",
    );
    // A later change may not add a key either.
    let before = doc.get_heads();
    doc.put(ROOT, "junk", "x").unwrap();
    doc.commit();
    refused(
        w.admit(
            Some(&mut server_copy(&mut case)),
            &id,
            changes_since(&mut doc, &before),
            &gw.person,
        ),
        ErrorCode::BadDocument,
        "alters the case itself",
    );
}

#[test]
fn reports_are_validated_and_placed_where_their_author_works() {
    let w = World::new();
    let gw = w.grid_worker();
    let phone = ActorId::random();
    let other_township = w.generator.townships()[1].clone();
    let foreign_grid = w.generator.grids(Some(&other_township))[0].clone();
    let create = |new: NewCase, centre: UnitId| {
        let mut c = CaseDoc::create(
            CaseId::generate(),
            &new,
            vec![Party {
                id: PartyId::new("p1"),
                name: "张三".to_owned(),
                role: PartyRole::Applicant,
            }],
            w.dir().path(&new.place_unit),
            centre,
            &gw,
            &phone,
            NOW - 1_000,
        )
        .unwrap();
        let id = c.id().clone();
        w.admit(None, &id, all_changes(c.automerge()), &gw.person)
    };
    // Finding 4: another township's grid, straight to the county, a made-up category, no title.
    let mut new = w.new_case();
    new.place_unit = foreign_grid.clone();
    refused(
        create(new, other_township.clone()),
        ErrorCode::BadDocument,
        "outside the area",
    );
    refused(
        create(w.new_case(), w.generator.county()),
        ErrorCode::WorkflowDenied,
        "is received by",
    );
    let mut new = w.new_case();
    new.category = "astrology".to_owned();
    refused(
        create(new, w.generator.township()),
        ErrorCode::BadDocument,
        "category",
    );
    let mut new = w.new_case();
    new.title = " ".to_owned();
    refused(
        create(new, w.generator.township()),
        ErrorCode::BadDocument,
        "title",
    );
    // The village around the grid is a place the grid worker may report in.
    let mut new = w.new_case();
    new.place_unit = w.dir().unit(&w.grid()).unwrap().parent.clone().unwrap();
    create(new, w.generator.township()).unwrap();
}

#[test]
fn entry_times_are_bounded_by_the_servers_clock() {
    let w = World::new();
    let phone = ActorId::random();
    let mut case = w.report(&phone);
    let id = case.id().clone();
    let mut server = server_copy(&mut case);
    let before = case.heads();
    case.act(
        &w.grid_worker(),
        Action::RecordSession {
            mode: crate::model::SessionMode::OnSite,
            note: String::new(),
        },
        i64::MAX,
    )
    .ok();
    let up = changes_since(case.automerge(), &before);
    if up.is_empty() {
        return; // the workflow refused on the device; nothing to send
    }
    refused(
        w.admit(Some(&mut server), &id, up, &w.grid_worker().person),
        ErrorCode::BadDocument,
        "clock is wrong",
    );
}

#[test]
fn a_field_changed_without_its_edit_is_refused() {
    let w = World::new();
    let phone = ActorId::random();
    let mut case = w.report(&phone);
    let id = case.id().clone();
    let mut server = server_copy(&mut case);
    let gw = w.grid_worker();
    let before = case.heads();
    let doc = case.automerge();
    doc.put(ROOT, "category", "labour").unwrap();
    // An entry that is not an edit.
    let report = crate::materialise::read_prop::<Vec<TimelineEntry>>(&*doc, "timeline", None)
        .unwrap()[0]
        .clone();
    insert_entry(
        doc,
        1,
        &TimelineEntry {
            id: EntryId::generate(),
            base: Some(report.id.clone()),
            at: NOW - 1_000,
            actor: gw.clone(),
            action: Action::Stabilise {
                note: String::new(),
            },
        },
    );
    doc.commit();
    let r = w.admit(
        Some(&mut server),
        &id,
        changes_since(case.automerge(), &before),
        &gw.person,
    );
    let e = r.expect_err("refused");
    assert!(
        e.message.contains("without recording an edit") || e.code == ErrorCode::WorkflowDenied,
        "{e:?}"
    );
}

#[test]
fn advancing_one_entry_agrees_with_folding_the_timeline() {
    let mut g = Generator::new(11);
    for case in g.cases(20, NOW).unwrap() {
        let timeline = case.doc.timeline().unwrap();
        let mut state: Option<CaseState> = None;
        for (i, entry) in timeline.iter().enumerate() {
            let folded = workflow::fold(&timeline[..=i]);
            let on_top = entry.base.as_ref() == state.as_ref().and_then(|s| s.last_entry.as_ref());
            if !on_top
                || folded
                    .verdicts
                    .iter()
                    .any(|v| *v != workflow::Verdict::Applied)
            {
                break;
            }
            state = Some(workflow::advance(state.as_ref(), entry).unwrap());
            assert_eq!(state, folded.state, "entry {i}");
        }
    }
}

#[test]
fn contacts_cannot_be_wiped_by_a_device() {
    let w = World::new();
    let phone = ActorId::random();
    let contacts = ContactsDocument {
        case: CaseId::new("c1"),
        parties: [(
            "p1".to_owned(),
            PartyContact {
                phone: Some("13800138000".to_owned()),
                id_number: None,
            },
        )]
        .into_iter()
        .collect(),
    };
    let mut doc = contacts.to_automerge(&phone).unwrap();
    let parties = vec![PartyId::new("p1")];
    let check = |stored: Option<AutoCommit>, changes: Vec<Change>| {
        let r = w.merge(DocKind::Contacts, "c1", stored, changes).unwrap();
        let m = r.merged();
        check_contacts(&m, "c1", &parties, None)
    };
    check(None, all_changes(&mut doc)).unwrap();
    let mut stored = doc.fork();
    let before = doc.get_heads();
    let (_, ps) = doc.get(ROOT, "parties").unwrap().unwrap();
    let (_, p1) = doc.get(&ps, "p1").unwrap().unwrap();
    doc.put(&p1, "phone", ()).unwrap();
    doc.commit();
    refused(
        check(Some(stored.fork()), changes_since(&mut doc, &before)),
        ErrorCode::BadDocument,
        "staff action",
    );
    let mut doc = stored.fork().with_actor(phone.clone());
    let (_, ps) = doc.get(ROOT, "parties").unwrap().unwrap();
    doc.delete(&ps, "p1").unwrap();
    doc.commit();
    refused(
        check(Some(stored.fork()), changes_since(&mut doc, &before)),
        ErrorCode::BadDocument,
        "staff action",
    );
    // A correction of the phone is fine; a party not of the case is not.
    let mut doc = stored.fork().with_actor(phone.clone());
    let (_, ps) = doc.get(ROOT, "parties").unwrap().unwrap();
    let (_, p1) = doc.get(&ps, "p1").unwrap().unwrap();
    doc.put(&p1, "phone", "13900139000").unwrap();
    doc.commit();
    check(Some(stored.fork()), changes_since(&mut doc, &before)).unwrap();
    let mut doc = stored.fork().with_actor(phone.clone());
    let (_, ps) = doc.get(ROOT, "parties").unwrap().unwrap();
    let px = doc.put_object(&ps, "px", ObjType::Map).unwrap();
    doc.put(&px, "phone", ()).unwrap();
    doc.put(&px, "id_number", ()).unwrap();
    doc.commit();
    refused(
        check(Some(stored.fork()), changes_since(&mut doc, &before)),
        ErrorCode::BadDocument,
        "not a party of the case",
    );
}

#[test]
fn household_visits_only_grow_and_households_stay_in_their_grid() {
    let w = World::new();
    let phone = ActorId::random();
    let gw = w.grid_worker();
    let household = HouseholdDocument {
        schema: HOUSEHOLD_SCHEMA,
        id: HouseholdId::new("h1"),
        grid: w.grid(),
        address: autosurgeon::Text::with_value("五丰村一巷1号"),
        head: "陈大".to_owned(),
        members: 4,
        notes: autosurgeon::Text::with_value(""),
        visits: Vec::new(),
    };
    let mut h = HouseholdDoc::create(&household, &phone, NOW - 10_000).unwrap();
    let check = |stored: Option<AutoCommit>, changes: Vec<Change>, sender: &PersonId| {
        let r = w.merge(DocKind::Household, "h1", stored, changes)?;
        let m = r.merged();
        check_household(&w.cx(sender), &m, "h1", r.household.as_ref().unwrap())
    };
    check(None, all_changes(h.automerge()), &gw.person).unwrap();
    let mut stored = h.automerge().fork();
    let before = stored.get_heads();
    let visit = Visit {
        id: VisitId::generate(),
        at: NOW - 5_000,
        actor: gw.clone(),
        outcome: VisitOutcome::AllSafe,
        note: String::new(),
    };
    h.record_visit(&visit, NOW - 5_000).unwrap();
    check(
        Some(stored.fork()),
        changes_since(h.automerge(), &before),
        &gw.person,
    )
    .unwrap();
    let mut stored = h.automerge().fork();
    let before = stored.get_heads();
    // Finding 6: delete every visit; move the household to another township.
    let doc = h.automerge();
    let (_, visits) = doc.get(ROOT, "visits").unwrap().unwrap();
    doc.delete(&visits, 0).unwrap();
    doc.commit();
    refused(
        check(
            Some(stored.fork()),
            changes_since(h.automerge(), &before),
            &gw.person,
        ),
        ErrorCode::BadDocument,
        "visits are only added",
    );
    let mut moved = stored.fork().with_actor(phone.clone());
    let elsewhere = w.generator.grids(Some(&w.generator.townships()[1]))[0].clone();
    moved.put(ROOT, "grid", elsewhere.as_str()).unwrap();
    moved.commit();
    refused(
        check(
            Some(stored.fork()),
            changes_since(&mut moved, &before),
            &gw.person,
        ),
        ErrorCode::BadDocument,
        "grid, id and shape are fixed",
    );
    // A visit signed by someone else.
    let mut forged =
        HouseholdDoc::from_automerge(HouseholdId::new("h1"), stored.fork().with_actor(phone));
    forged
        .record_visit(
            &Visit {
                actor: w.staff(),
                id: VisitId::generate(),
                ..visit
            },
            NOW,
        )
        .unwrap();
    refused(
        check(
            Some(stored.fork()),
            changes_since(forged.automerge(), &before),
            &gw.person,
        ),
        ErrorCode::WrongAuthor,
        "signed by",
    );
}

#[test]
fn escape_keeps_device_text_on_one_line() {
    assert_eq!(escape("a\nb\u{1b}[31m"), "a\\nb\\u{1b}[31m");
    assert!(escape(&"长".repeat(100)).ends_with('…'));
}

// ----- hostile uploads, generated -----

/// One upload a device attempts: honest, or one of the attacks on the record.
#[derive(Clone, Copy, Debug)]
enum Attempt {
    Honest,
    DeleteEntry,
    PutRootKey(u8),
    DuplicateId,
    ForeignSignature,
    WrongType,
    StaleBase,
    AlterEntry,
    NoHistory,
    OversizedNote,
}

fn attempt() -> impl proptest::strategy::Strategy<Value = Attempt> {
    use proptest::prelude::*;
    prop_oneof![
        4 => Just(Attempt::Honest),
        1 => Just(Attempt::DeleteEntry),
        1 => (0u8..6).prop_map(Attempt::PutRootKey),
        1 => Just(Attempt::DuplicateId),
        1 => Just(Attempt::ForeignSignature),
        1 => Just(Attempt::WrongType),
        1 => Just(Attempt::StaleBase),
        1 => Just(Attempt::AlterEntry),
        1 => Just(Attempt::NoHistory),
        1 => Just(Attempt::OversizedNote),
    ]
}

/// The first move of a list the workflow allows `actor` in `view`, or an edit of the title.
fn honest_action(w: &World, view: Option<&CaseState>, actor: &Actor) -> Action {
    let mediator = w.generator.mediators_of(&w.generator.township())[0];
    let candidates = [
        Action::Assess {
            difficulty: Difficulty::Simple,
            risks: Vec::new(),
            note: "研判".to_owned(),
        },
        Action::Assign {
            to: crate::model::Assignee::Mediator {
                person: mediator.id.clone(),
                name: mediator.name.clone(),
            },
            chosen_by_parties: false,
            note: String::new(),
        },
        Action::RecordSession {
            mode: crate::model::SessionMode::MediationRoom,
            note: "调解".to_owned(),
        },
        Action::Resolve {
            agreement: None,
            note: "达成一致".to_owned(),
        },
        Action::Close {
            note: "办结".to_owned(),
        },
    ];
    candidates
        .into_iter()
        .find(|a| rules::check_action(w.dir(), view, actor, a, NOW).is_ok())
        .unwrap_or(Action::Edit {
            fields: vec!["title".to_owned()],
        })
}

/// Builds the attempt as changes against the server's copy (at its heads or, for a stale
/// view, at an earlier accepted version).
fn build(
    w: &World,
    server: &mut AutoCommit,
    versions: &[Vec<ChangeHash>],
    who: &Actor,
    what: Attempt,
    stale: usize,
) -> Vec<Change> {
    let heads = if stale > 0 && !versions.is_empty() {
        versions[versions.len().saturating_sub(1 + stale % versions.len())].clone()
    } else {
        server.get_heads()
    };
    let mut doc = server
        .fork_at(&heads)
        .unwrap()
        .with_actor(ActorId::random());
    let timeline: Vec<TimelineEntry> =
        crate::materialise::read_prop(&doc, "timeline", None).unwrap();
    let folded = workflow::fold(&timeline);
    let last = folded.order.last().map(|&i| timeline[i].id.clone());
    let before = doc.get_heads();
    let (_, list) = doc.get(ROOT, "timeline").unwrap().unwrap();
    let len = doc.length(&list);
    let action = honest_action(w, folded.state.as_ref(), who);
    let mut entry = TimelineEntry {
        id: EntryId::generate(),
        base: last.clone(),
        at: NOW - 10_000,
        actor: who.clone(),
        action: action.clone(),
    };
    match what {
        Attempt::Honest => {
            if matches!(action, Action::Edit { .. }) {
                let (_, title) = doc.get(ROOT, "title").unwrap().unwrap();
                doc.splice_text(&title, 0, 0, "改").unwrap();
            }
        }
        Attempt::DeleteEntry => doc.delete(&list, 0).unwrap(),
        Attempt::PutRootKey(k) => {
            let key = ["timeline", "parties", "title", "schema", "id", "junk"][k as usize];
            if k % 2 == 0 {
                doc.put_object(ROOT, key, ObjType::List).unwrap();
            } else {
                doc.put(ROOT, key, 7_u64).unwrap();
            }
        }
        Attempt::DuplicateId => {
            let victim = timeline[0].clone();
            autosurgeon::reconcile_insert(&mut doc, list.clone(), 0, &victim).unwrap();
        }
        Attempt::ForeignSignature => entry.actor = w.leader(),
        Attempt::WrongType => doc.put(ROOT, "category", 3_i64).unwrap(),
        Attempt::StaleBase => {
            entry.base = Some(timeline[0].id.clone()).filter(|b| Some(b) != last.as_ref())
        }
        Attempt::AlterEntry => {
            let (_, e) = doc.get(&list, 0).unwrap().unwrap();
            doc.put(&e, "at", NOW).unwrap();
        }
        Attempt::NoHistory => {
            let mut fresh = AutoCommit::new().with_actor(ActorId::random());
            let mut read: CaseDocument = crate::materialise::read(&*server, None).unwrap();
            read.timeline.truncate(1);
            autosurgeon::reconcile(&mut fresh, &read).unwrap();
            fresh.commit();
            return fresh.get_changes(&[]);
        }
        Attempt::OversizedNote => {
            entry.action = Action::RecordSession {
                mode: crate::model::SessionMode::OnSite,
                note: "长".repeat(200_000),
            }
        }
    }
    let len_now = doc.length(&list);
    autosurgeon::reconcile_insert(&mut doc, list, len_now.max(len).min(len_now), &entry).unwrap();
    doc.commit();
    doc.get_changes(&before)
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

    /// Whatever mix of honest and hostile uploads two devices attempt, everything the guard
    /// admits leaves a case that reads exactly, keeps every entry it ever accepted unaltered,
    /// and holds only entries signed by the person whose device uploaded them.
    #[test]
    fn whatever_devices_send_the_record_stays_true(
        steps in proptest::collection::vec((proptest::bool::ANY, attempt(), 0usize..3), 1..14)
    ) {
        let w = World::new();
        let phone = ActorId::random();
        let mut case = w.report(&phone);
        let id = case.id().clone();
        let mut server = server_copy(&mut case);
        let mut versions = vec![server.get_heads()];
        let mut accepted: std::collections::HashMap<String, (TimelineEntry, PersonId)> =
            std::collections::HashMap::new();
        let report = case.timeline().unwrap()[0].clone();
        accepted.insert(report.id.to_string(), (report, w.grid_worker().person));
        for (staff, what, stale) in steps {
            let who = if staff { w.staff() } else { w.grid_worker() };
            let changes = build(&w, &mut server, &versions, &who, what, stale);
            let verdict = w.admit(Some(&mut server), &id, changes.clone(), &who.person);
            if matches!(what, Attempt::Honest) && stale == 0 {
                proptest::prop_assert!(verdict.is_ok(), "honest work refused: {:?}", verdict);
            }
            if verdict.is_err() {
                continue;
            }
            server.apply_changes(changes).unwrap();
            versions.push(server.get_heads());
            let value = server.hydrate(ROOT, None).unwrap();
            let now: CaseDocument = exact(&value, "the case").unwrap();
            for e in &now.timeline {
                accepted
                    .entry(e.id.to_string())
                    .or_insert_with(|| (e.clone(), who.person.clone()));
            }
            for (entry, uploader) in accepted.values() {
                let held = now.timeline.iter().filter(|e| e.id == entry.id).collect::<Vec<_>>();
                proptest::prop_assert_eq!(held.len(), 1, "entry {} kept once", entry.id);
                proptest::prop_assert_eq!(held[0], entry);
                proptest::prop_assert_eq!(&entry.actor.person, uploader);
            }
            proptest::prop_assert!(
                !matches!(what, Attempt::DeleteEntry | Attempt::PutRootKey(_) | Attempt::DuplicateId
                    | Attempt::ForeignSignature | Attempt::WrongType | Attempt::AlterEntry | Attempt::NoHistory
                    | Attempt::StaleBase),
                "{:?} was admitted", what
            );
        }
    }
}

#[test]
fn a_volume_of_visits_begins_with_its_own_genesis_and_only_gains_visits() {
    let w = World::new();
    let phone = ActorId::random();
    let gw = w.grid_worker();
    let household = HouseholdId::new("h1");
    let id = VisitBookDoc::id(&household, 2);
    let check = |stored: Option<AutoCommit>, changes: Vec<Change>, grid: &UnitId| {
        let r = w.merge(DocKind::VisitBook, &id, stored, changes)?;
        let m = r.merged();
        check_visit_book(
            &w.cx(&gw.person),
            &m,
            &id,
            r.visit_book.as_ref().unwrap(),
            grid,
        )
    };
    let visit = Visit {
        id: VisitId::generate(),
        at: NOW - 5_000,
        actor: gw.clone(),
        outcome: VisitOutcome::Noted,
        note: "邻里和睦".to_owned(),
    };
    let mut book = VisitBookDoc::open(&household, 2, &phone).unwrap();
    book.record_visit(&visit, NOW - 5_000).unwrap();
    check(None, all_changes(book.automerge()), &w.grid()).unwrap();
    // The same visits to a household of a grid elsewhere: not the sender's.
    let elsewhere = w.generator.grids(Some(&w.generator.townships()[1]))[0].clone();
    refused(
        check(None, all_changes(book.automerge()), &elsewhere),
        ErrorCode::OutOfScope,
        "outside the sender's area",
    );
    // A forged genesis: the same shape by a device's actor, or the genesis of another volume.
    let mut forged = AutoCommit::new().with_actor(phone.clone());
    forged.put(ROOT, "schema", VISIT_BOOK_SCHEMA).unwrap();
    forged.put(ROOT, "household", "h1").unwrap();
    forged.put(ROOT, "volume", 2u64).unwrap();
    forged
        .put_object(ROOT, "visits", automerge::ObjType::List)
        .unwrap();
    forged.commit();
    refused(
        check(None, all_changes(&mut forged), &w.grid()),
        ErrorCode::BadDocument,
        "the volume's own first change",
    );
    let mut other = VisitBookDoc::open(&household, 3, &phone).unwrap();
    other.record_visit(&visit, NOW - 5_000).unwrap();
    refused(
        check(None, all_changes(other.automerge()), &w.grid()),
        ErrorCode::BadDocument,
        "holds volume 3 of household h1",
    );
    // Once stored, a visit is never removed, and the volume's household never changes.
    let mut stored = book.automerge().fork();
    let before = stored.get_heads();
    let mut erased = stored.fork().with_actor(phone.clone());
    let (_, visits) = erased.get(ROOT, "visits").unwrap().unwrap();
    erased.delete(&visits, 0).unwrap();
    erased.commit();
    refused(
        check(
            Some(stored.fork()),
            changes_since(&mut erased, &before),
            &w.grid(),
        ),
        ErrorCode::BadDocument,
        "visits are only added, each as its JSON",
    );
    // A visit in another spelling than the one a device writes (an extra key).
    let mut spelled = stored.fork().with_actor(phone.clone());
    let (_, visits) = spelled.get(ROOT, "visits").unwrap().unwrap();
    let mut json = serde_json::to_value(&visit).unwrap();
    json["hidden"] = serde_json::json!("藏在走访里的话");
    spelled.insert(&visits, 1, json.to_string()).unwrap();
    spelled.commit();
    refused(
        check(
            Some(stored.fork()),
            changes_since(&mut spelled, &before),
            &w.grid(),
        ),
        ErrorCode::BadDocument,
        "not written in its one form",
    );
    let mut moved = stored.fork().with_actor(phone.clone());
    moved.put(ROOT, "grid", "hy-wf-2").unwrap();
    moved.commit();
    refused(
        check(
            Some(stored.fork()),
            changes_since(&mut moved, &before),
            &w.grid(),
        ),
        ErrorCode::BadDocument,
        "household and number are fixed",
    );
    // A visit signed by someone else.
    let mut signed = VisitBookDoc::from_automerge(&id, stored.fork().with_actor(phone));
    signed
        .record_visit(
            &Visit {
                actor: w.staff(),
                id: VisitId::generate(),
                ..visit
            },
            NOW,
        )
        .unwrap();
    refused(
        check(
            Some(stored.fork()),
            changes_since(signed.automerge(), &before),
            &w.grid(),
        ),
        ErrorCode::WrongAuthor,
        "signed by",
    );
}

#[test]
fn a_hotline_case_and_its_work_order_are_admitted_and_the_platform_does_nothing_else() {
    use crate::model::{OrderKind, WorkOrder};
    let w = World::new();
    let hotline = w.hotline();
    let platform = ActorId::random();
    let mut new = w.new_case();
    new.source = Source::Hotline12345;
    let create = |new: &NewCase| {
        CaseDoc::create(
            CaseId::generate(),
            new,
            // Confidential: the caller is no party; the one complained about is.
            vec![Party {
                id: PartyId::new("p1"),
                name: "某养殖场".to_owned(),
                role: PartyRole::Respondent,
            }],
            w.dir().path(&new.place_unit),
            w.generator.township(),
            &hotline,
            &platform,
            NOW - 7_200_000,
        )
    };
    // The platform reports the call and dispatches its order, one upload.
    let mut case = create(&new).unwrap();
    let id = case.id().clone();
    let order = WorkOrder {
        number: "TS-2026-000123".to_owned(),
        channel: "12345".to_owned(),
        kind: OrderKind::Help,
        confidential: true,
        dispatched_at: NOW - 7_200_000,
        sign_by: NOW + 3_600_000,
        reply_by: NOW + 3 * 86_400_000,
    };
    case.act(
        &hotline,
        Action::DispatchOrder {
            order: order.clone(),
        },
        NOW - 7_100_000,
    )
    .unwrap();
    w.admit(None, &id, all_changes(case.automerge()), &hotline.person)
        .unwrap();
    let mut server = server_copy(&mut case);
    // The township signs and replies from its desk.
    let staff = w.staff();
    let mut desk = CaseDoc::from_automerge(id.clone(), server.fork().with_actor(ActorId::random()));
    let before = server.get_heads();
    desk.act(&staff, Action::SignOrder, NOW - 3_600_000)
        .unwrap();
    desk.act(
        &staff,
        Action::ReplyOrder {
            reply: "已联系求助人，明日上门调处".to_owned(),
        },
        NOW - 3_000_000,
    )
    .unwrap();
    let up = changes_since(desk.automerge(), &before);
    w.admit(Some(&mut server), &id, up.clone(), &staff.person)
        .unwrap();
    server.apply_changes(up).unwrap();
    let state = workflow::fold(&desk.timeline().unwrap()).state.unwrap();
    let held = state.order.as_ref().unwrap();
    assert_eq!(held.order, order, "the order reads back exactly");
    assert_eq!(state.order_state(), Some(workflow::OrderState::Replied));

    // The platform may not assess (forged on its own copy, past its device's check).
    let mut forged =
        CaseDoc::from_automerge(id.clone(), server.fork().with_actor(platform.clone()));
    let before = server.get_heads();
    let timeline = forged.timeline().unwrap();
    let folded = workflow::fold(&timeline);
    let base = folded.order.last().map(|&i| timeline[i].id.clone());
    let list = forged
        .automerge()
        .get(automerge::ROOT, "timeline")
        .unwrap()
        .unwrap()
        .1;
    let len = forged.automerge().length(&list);
    autosurgeon::reconcile_insert(
        forged.automerge(),
        list,
        len,
        &TimelineEntry {
            id: EntryId::generate(),
            base,
            at: NOW - 1_000,
            actor: hotline.clone(),
            action: Action::Assess {
                difficulty: Difficulty::Simple,
                risks: Vec::new(),
                note: String::new(),
            },
        },
    )
    .unwrap();
    forged.automerge().commit();
    refused(
        w.admit(
            Some(&mut server),
            &id,
            changes_since(forged.automerge(), &before),
            &hotline.person,
        ),
        ErrorCode::WorkflowDenied,
        "only reports",
    );
    // Nor report what a grid worker found: its reports come from the hotline or the police.
    new.source = Source::GridVisit;
    assert!(matches!(
        create(&new),
        Err(crate::Error::Denied(workflow::Denied::IntakeOnly))
    ));
    // A dispatch whose deadlines are out of order is refused with the field it names.
    let mut bad = create(&{
        let mut n = w.new_case();
        n.source = Source::Police;
        n
    })
    .unwrap();
    let bad_id = bad.id().clone();
    bad.act(
        &hotline,
        Action::DispatchOrder {
            order: WorkOrder {
                reply_by: order.sign_by - 1,
                ..order.clone()
            },
        },
        NOW - 7_100_000,
    )
    .unwrap();
    refused(
        w.admit(None, &bad_id, all_changes(bad.automerge()), &hotline.person),
        ErrorCode::BadDocument,
        "order.reply_by",
    );
}

/// An attachment as a phone lists it: a PNG drawn by `by` unless said otherwise.
fn listed(name: &str, mime: &str, seed: u8, by: &PersonId) -> crate::model::Attachment {
    crate::model::Attachment {
        id: crate::ids::AttachmentId::generate(),
        name: name.to_owned(),
        mime: mime.to_owned(),
        size: 1200,
        sha256: format!("{seed:02x}").repeat(32),
        added_by: by.clone(),
        added_at: NOW - 60_000,
    }
}

fn signed(summary: &str, signatures: Vec<(&str, &crate::ids::AttachmentId)>) -> Action {
    Action::Resolve {
        agreement: Some(crate::model::Agreement {
            summary: summary.to_owned(),
            attachment: None,
            performance: "签订当日拆除".to_owned(),
            signatures: signatures
                .into_iter()
                .map(|(party, a)| crate::model::Signature {
                    party: PartyId::new(party),
                    attachment: a.clone(),
                })
                .collect(),
        }),
        note: "就地化解".to_owned(),
    }
}

#[test]
fn an_agreement_signed_on_the_spot_names_only_the_cases_parties_and_their_drawn_images() {
    let w = World::new();
    let phone = ActorId::random();
    let mut case = w.report(&phone);
    let id = case.id().clone();
    let gw = w.grid_worker();
    w.admit(None, &id, all_changes(case.automerge()), &gw.person)
        .unwrap();
    let mut server = server_copy(&mut case);
    // The grid worker adds the respondent and a photo of the scene; the centre adds a scan.
    let before = case.heads();
    let photo = listed("现场.jpg", "image/jpeg", 1, &gw.person);
    case.edit(
        &gw,
        &CaseEdit {
            upsert_parties: vec![Party {
                id: PartyId::new("p2"),
                name: "李四".to_owned(),
                role: PartyRole::Respondent,
            }],
            add_attachments: vec![photo.clone()],
            ..CaseEdit::default()
        },
        NOW - 200_000,
    )
    .unwrap();
    let up = changes_since(case.automerge(), &before);
    w.admit(Some(&mut server), &id, up.clone(), &gw.person)
        .unwrap();
    server.apply_changes(up).unwrap();
    let staff = w.staff();
    let scan = listed("协议.pdf", "application/pdf", 2, &staff.person);
    let mut at_desk =
        CaseDoc::from_automerge(id.clone(), server.fork().with_actor(ActorId::random()));
    let before = server.get_heads();
    at_desk
        .edit(
            &staff,
            &CaseEdit {
                add_attachments: vec![scan.clone()],
                ..CaseEdit::default()
            },
            NOW - 150_000,
        )
        .unwrap();
    let up = changes_since(at_desk.automerge(), &before);
    w.admit(Some(&mut server), &id, up.clone(), &staff.person)
        .unwrap();
    server.apply_changes(up).unwrap();

    // Each attempt: on the phone's copy of what the server holds, the grid worker attaches two
    // drawn signatures and records the agreement naming `sign`.
    let mut attempt = |sign: &dyn Fn(&[crate::model::Attachment]) -> Action| -> Checked<()> {
        let mut phone =
            CaseDoc::from_automerge(id.clone(), server.fork().with_actor(ActorId::random()));
        let before = server.get_heads();
        let drawn = vec![
            listed("签名-张三.png", "image/png", 3, &gw.person),
            listed("签名-李四.png", "image/png", 4, &gw.person),
        ];
        let all = drawn.clone();
        phone
            .edit(
                &gw,
                &CaseEdit {
                    add_attachments: all.clone(),
                    ..CaseEdit::default()
                },
                NOW - 100_000,
            )
            .unwrap();
        phone.act(&gw, sign(&all), NOW - 90_000).unwrap();
        w.admit(
            Some(&mut server.fork()),
            &id,
            changes_since(phone.automerge(), &before),
            &gw.person,
        )
    };
    // Honest: each party's own drawing.
    attempt(&|a| signed("拆除围墙", vec![("p1", &a[0].id), ("p2", &a[1].id)])).unwrap();
    // Someone who is not a party of the case "signs".
    refused(
        attempt(&|a| signed("拆除围墙", vec![("p1", &a[0].id), ("p9", &a[1].id)])),
        ErrorCode::BadDocument,
        "not a party of the case",
    );
    // One party signs twice (and the other not at all).
    refused(
        attempt(&|a| signed("拆除围墙", vec![("p1", &a[0].id), ("p1", &a[1].id)])),
        ErrorCode::BadDocument,
        "twice",
    );
    // A signature that is no attachment of the case.
    let nowhere = crate::ids::AttachmentId::generate();
    refused(
        attempt(&|a| signed("拆除围墙", vec![("p1", &a[0].id), ("p2", &nowhere)])),
        ErrorCode::BadDocument,
        "does not list",
    );
    // The centre's scanned PDF passed off as a party's signature.
    refused(
        attempt(&|a| signed("拆除围墙", vec![("p1", &a[0].id), ("p2", &scan.id)])),
        ErrorCode::BadDocument,
        "application/pdf",
    );
    // An image someone else attached (the centre's) stands for a party's signature.
    let foreign = listed("签名.png", "image/png", 5, &staff.person);
    let mut server_with_foreign = server.fork();
    {
        let mut at_desk = CaseDoc::from_automerge(
            id.clone(),
            server_with_foreign.fork().with_actor(ActorId::random()),
        );
        let before = server_with_foreign.get_heads();
        at_desk
            .edit(
                &staff,
                &CaseEdit {
                    add_attachments: vec![foreign.clone()],
                    ..CaseEdit::default()
                },
                NOW - 120_000,
            )
            .unwrap();
        server_with_foreign
            .apply_changes(changes_since(at_desk.automerge(), &before))
            .unwrap();
    }
    let mut phone = CaseDoc::from_automerge(
        id.clone(),
        server_with_foreign.fork().with_actor(ActorId::random()),
    );
    let before = server_with_foreign.get_heads();
    phone
        .act(
            &gw,
            signed("拆除围墙", vec![("p1", &foreign.id)]),
            NOW - 90_000,
        )
        .unwrap();
    refused(
        w.admit(
            Some(&mut server_with_foreign),
            &id,
            changes_since(phone.automerge(), &before),
            &gw.person,
        ),
        ErrorCode::BadDocument,
        "who records the agreement",
    );
    // The grid worker's own photo of the scene stands for a signature: an image they attached,
    // which the rule cannot tell from a drawing; what it shows is the mediator's word, as on
    // paper.
    drop(photo);
}
