//! Replicas of one case that work offline and merge in any order converge: the same document,
//! the same folded state, the same heads; no timeline entry and no inserted text is lost.
//!
//! The property test drives 3–4 replicas through rounds of random valid work (workflow steps that
//! `workflow::check` allows for one of five people, field edits, keystroke-level narrative splices
//! in Chinese), random pairwise merges between rounds, then a final all-to-all merge in random
//! order. A deterministic test pins the documented outcome of a concurrent close and escalate.

use app_core::document::{CaseDoc, CaseEdit};
use app_core::ids::{AttachmentId, CaseId, EntryId, PartyId};
use app_core::model::{
    Action, ActionKind, Actor, Agreement, Assignee, Attachment, Difficulty, EscalationReason,
    FollowUpMethod, NewCase, Party, PartyRole, RiskFlag, Satisfaction, SessionMode, Source,
};
use app_core::org::Role;
use app_core::workflow::{self, CaseState, Conflict, ConflictKind, Denied, Status, Verdict};
use automerge::ActorId;
use proptest::prelude::*;
use std::collections::BTreeSet;

const T0: i64 = 1_700_000_000_000;
const MINUTE: i64 = 60_000;
const DAY: i64 = 86_400_000;
const NARRATIVE: &str = "村民甲与村民乙因宅基地边界发生争执，双方各执一词";

// ---------------------------------------------------------------------------------------------
// People and the case.

fn actor(person: &str, role: Role, unit: &str) -> Actor {
    Actor {
        person: person.into(),
        name: person.to_owned(),
        role,
        unit: unit.into(),
    }
}

/// The grid worker who reported the case.
fn gw() -> Actor {
    actor("gw", Role::GridWorker, "g")
}
fn staff() -> Actor {
    actor("s", Role::CentreStaff, "t")
}
fn leader() -> Actor {
    actor("l", Role::CentreLeader, "t")
}
fn mediator() -> Actor {
    actor("m", Role::Mediator, "v")
}
fn county() -> Actor {
    actor("cs", Role::CentreStaff, "c")
}

/// Everyone who works on the case in the property test.
fn people() -> [Actor; 5] {
    [gw(), staff(), leader(), mediator(), county()]
}

fn case_id() -> CaseId {
    CaseId::new("case-convergence")
}

/// A distinct, reproducible automerge actor per replica.
fn automerge_actor(n: u8) -> ActorId {
    ActorId::from(vec![0xA0, n, 0x5E, 0x11, 0xCA, 0x5E, n, n])
}

fn create() -> CaseDoc {
    CaseDoc::create(
        case_id(),
        &NewCase {
            title: "宅基地边界纠纷".to_owned(),
            category: "land".to_owned(),
            narrative: NARRATIVE.to_owned(),
            place_unit: "g".into(),
            address: "五丰村三巷12号".to_owned(),
            gps: None,
            parties: Vec::new(),
            source: Source::GridVisit,
        },
        vec![Party {
            id: PartyId::new("p-applicant"),
            name: "张三".to_owned(),
            role: PartyRole::Applicant,
        }],
        vec!["c".into(), "t".into(), "v".into(), "g".into()],
        "t".into(),
        &gw(),
        &automerge_actor(0),
        T0,
    )
    .expect("the grid worker may report")
}

/// `n` replicas of the saved case, each with its own automerge actor.
fn replicas_of(bytes: &[u8], n: usize) -> Vec<CaseDoc> {
    (0..n)
        .map(|i| CaseDoc::load(case_id(), bytes, &automerge_actor(i as u8 + 1)).expect("loads"))
        .collect()
}

fn state(doc: &CaseDoc) -> CaseState {
    doc.state().expect("folds").expect("has a report")
}

/// `into` merges `from` (two distinct elements of one slice).
fn merge(reps: &mut [CaseDoc], into: usize, from: usize) {
    if into == from {
        return;
    }
    let (a, b) = if into < from {
        let (l, r) = reps.split_at_mut(from);
        (&mut l[into], &mut r[0])
    } else {
        let (l, r) = reps.split_at_mut(into);
        (&mut r[0], &mut l[from])
    };
    a.merge(b).expect("replicas of one case merge");
}

// ---------------------------------------------------------------------------------------------
// Random work.

/// One thing a replica does offline. The numbers are resolved against the replica's state when
/// the operation runs, so every operation is valid where it happens.
#[derive(Clone, Debug)]
enum Op {
    /// A workflow step: the first of the five people (from `who`) with anything allowed takes
    /// the `pick`th allowed step, its payload varied by `param`.
    Act { who: usize, pick: usize, param: u8 },
    /// A field edit through `CaseEdit`.
    Edit { who: usize, kind: u8 },
    /// A keystroke-level narrative edit: insert a marker at the `pos`th free character boundary,
    /// optionally deleting the (unmarked) character there.
    Splice {
        who: usize,
        pos: usize,
        delete: bool,
    },
}

#[derive(Clone, Debug)]
struct Round {
    /// (replica, operation), in the order they happen.
    ops: Vec<(usize, Op)>,
    /// (into, from) merges after the round's work.
    merges: Vec<(usize, usize)>,
}

#[derive(Clone, Debug)]
struct Scenario {
    replicas: usize,
    rounds: Vec<Round>,
    /// The final all-to-all merge: every (into, from) pair, shuffled.
    finale: Vec<(usize, usize)>,
    /// Per-replica clock skew, in seconds.
    skew: Vec<i64>,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (0..5usize, any::<usize>(), any::<u8>())
            .prop_map(|(who, pick, param)| Op::Act { who, pick, param }),
        2 => (0..5usize, any::<u8>()).prop_map(|(who, kind)| Op::Edit { who, kind }),
        2 => (0..5usize, any::<usize>(), any::<bool>())
            .prop_map(|(who, pos, delete)| Op::Splice { who, pos, delete }),
    ]
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (3..=4usize).prop_flat_map(|n| {
        let round = (
            prop::collection::vec((0..n, op()), 0..=10),
            prop::collection::vec((0..n, 0..n), 0..=4),
        )
            .prop_map(|(ops, merges)| Round { ops, merges });
        let pairs: Vec<(usize, usize)> = (0..n)
            .flat_map(|i| (0..n).map(move |j| (i, j)))
            .filter(|(i, j)| i != j)
            .collect();
        (
            prop::collection::vec(round, 1..=3),
            Just(pairs).prop_shuffle(),
            prop::collection::vec(-120i64..=120, n),
        )
            .prop_map(move |(rounds, finale, skew)| Scenario {
                replicas: n,
                rounds,
                finale,
                skew,
            })
    })
}

/// A concrete action of kind `kind` for the state, or `None` where the test does not take it
/// (escalating beyond the county or assigning down below the township leaves nobody to act).
fn concrete(kind: &str, s: &CaseState, param: u8, now: i64) -> Option<Action> {
    let note = || format!("备注{param}");
    Some(match kind {
        "assess" => Action::Assess {
            difficulty: [Difficulty::Simple, Difficulty::General, Difficulty::Major]
                [usize::from(param) % 3],
            risks: if param & 4 != 0 {
                vec![RiskFlag::GroupIncident]
            } else {
                Vec::new()
            },
            note: note(),
        },
        "assign" => Action::Assign {
            to: if param.is_multiple_of(2) {
                Assignee::Mediator {
                    person: "m".into(),
                    name: "调解员老李".to_owned(),
                }
            } else {
                Assignee::Committee {
                    unit: "v".into(),
                    name: "五丰村人民调解委员会".to_owned(),
                }
            },
            chosen_by_parties: param & 2 != 0,
            note: note(),
        },
        "record_session" => Action::RecordSession {
            mode: [
                SessionMode::OnSite,
                SessionMode::MediationRoom,
                SessionMode::Online,
            ][usize::from(param) % 3],
            note: "双方到场，各自陈述".to_owned(),
        },
        "resolve" => Action::Resolve {
            agreement: (param.is_multiple_of(2)).then(|| Agreement {
                summary: "乙方退让半米，甲方补偿两千元".to_owned(),
                attachment: None,
                performance: String::new(),
                signatures: Vec::new(),
            }),
            note: note(),
        },
        "request_judicial_confirmation" => Action::RequestJudicialConfirmation {
            court: "台山市人民法院".to_owned(),
        },
        "record_judicial_confirmation" => Action::RecordJudicialConfirmation {
            granted: !param.is_multiple_of(3),
            note: note(),
        },
        "stabilise" => Action::Stabilise { note: note() },
        "fail" => Action::Fail { note: note() },
        "escalate" if s.responsible_unit.as_str() == "t" => Action::Escalate {
            to: "c".into(),
            reason: EscalationReason::Unresolved,
            note: note(),
        },
        "assign_down" if s.responsible_unit.as_str() == "c" => Action::AssignDown {
            to: "t".into(),
            person: (param.is_multiple_of(2)).then(|| Assignee::Mediator {
                person: "m".into(),
                name: "调解员老李".to_owned(),
            }),
            instructions: "请七日内调处并反馈".to_owned(),
            due_at: now + 7 * DAY,
        },
        "report_back" => Action::ReportBack {
            note: "已调处完毕".to_owned(),
        },
        "follow_up" => Action::FollowUp {
            method: if param.is_multiple_of(2) {
                FollowUpMethod::Phone
            } else {
                FollowUpMethod::Visit
            },
            satisfaction: [
                Satisfaction::Satisfied,
                Satisfaction::Basically,
                Satisfaction::Dissatisfied,
            ][usize::from(param) % 3],
            relapsed: param.is_multiple_of(5),
            note: note(),
        },
        "close" => Action::Close { note: note() },
        "reopen" => Action::Reopen {
            reason: "纠纷反复".to_owned(),
        },
        "settle_conflict" => Action::SettleConflict {
            entries: if param.is_multiple_of(2) {
                s.conflicts.iter().map(|c| c.entry.clone()).collect()
            } else {
                s.conflicts
                    .iter()
                    .take(1)
                    .map(|c| c.entry.clone())
                    .collect()
            },
            note: "已核实".to_owned(),
        },
        _ => return None,
    })
}

/// Byte offsets in `text` where a marker may go: character boundaries outside every 【…】.
fn free_positions(text: &str) -> Vec<usize> {
    let mut depth = 0i32;
    let mut free = Vec::new();
    for (i, c) in text.char_indices() {
        if depth == 0 {
            free.push(i);
        }
        match c {
            '【' => depth += 1,
            '】' => depth -= 1,
            _ => {}
        }
    }
    if depth == 0 {
        free.push(text.len());
    }
    free
}

/// Everything the replicas created, to look for after merging.
#[derive(Debug, Default)]
struct Made {
    entries: Vec<EntryId>,
    markers: Vec<String>,
    parties: Vec<PartyId>,
    attachments: Vec<AttachmentId>,
    /// Operations run so far (numbers markers, parties and attachments uniquely).
    ops: usize,
}

/// The person `who` if they may edit, else the reporter (who always may).
fn editor(s: &CaseState, who: usize) -> Actor {
    let candidate = people()[who % 5].clone();
    let edit = Action::Edit {
        fields: vec!["narrative".to_owned()],
    };
    if workflow::check(Some(s), &candidate, &edit).is_ok() {
        candidate
    } else {
        gw()
    }
}

fn run_op(doc: &mut CaseDoc, replica: usize, op: &Op, now: i64, made: &mut Made) {
    let s = state(doc);
    made.ops += 1;
    let tag = format!("{replica}-{}", made.ops);
    match *op {
        Op::Act { who, pick, param } => {
            let people = people();
            for k in 0..people.len() {
                let by = &people[(who + k) % people.len()];
                let kinds: Vec<&str> = workflow::offered(Some(&s), by)
                    .into_iter()
                    .map(|k| k.code())
                    .collect();
                let candidates: Vec<Action> = kinds
                    .iter()
                    .filter_map(|kind| concrete(kind, &s, param, now))
                    .filter(|a| workflow::check(Some(&s), by, a).is_ok())
                    .collect();
                for a in &candidates {
                    assert!(
                        kinds.contains(&a.code()),
                        "check allows {} but allowed_kinds does not offer it",
                        a.code()
                    );
                }
                if candidates.is_empty() {
                    continue;
                }
                let action = candidates[pick % candidates.len()].clone();
                let code = action.code();
                let id = doc
                    .act(by, action, now)
                    .unwrap_or_else(|e| panic!("{code} by {} refused after check: {e}", by.person));
                made.entries.push(id);
                return;
            }
        }
        Op::Edit { who, kind } => {
            let by = editor(&s, who);
            let current = doc.read().expect("reads");
            let mut edit = CaseEdit::default();
            match kind % 7 {
                0 => edit.title = Some(format!("宅基地边界纠纷（{tag}）")),
                1 => {
                    edit.category =
                        Some(["land", "neighbour", "family"][usize::from(kind) % 3].to_owned())
                }
                2 => edit.address = Some(format!("五丰村{tag}巷")),
                3 => edit.gps = Some(Some((22.25 + f64::from(kind) / 1000.0, 112.79))),
                4 => {
                    let marker = format!("【补记{tag}：当事人情绪稳定】");
                    edit.narrative = Some(format!("{}{marker}", current.narrative.as_str()));
                    made.markers.push(marker);
                }
                5 => {
                    let id = PartyId::new(format!("p-{tag}"));
                    edit.upsert_parties.push(Party {
                        id: id.clone(),
                        name: format!("李四{tag}"),
                        role: PartyRole::Respondent,
                    });
                    made.parties.push(id);
                }
                _ => {
                    let id = AttachmentId::new(format!("a-{tag}"));
                    edit.add_attachments.push(Attachment {
                        id: id.clone(),
                        name: format!("现场照片{tag}.jpg"),
                        mime: "image/jpeg".to_owned(),
                        size: 1024,
                        sha256: "0".repeat(64),
                        added_by: by.person.clone(),
                        added_at: now,
                    });
                    made.attachments.push(id);
                }
            }
            let id = doc.edit(&by, &edit, now).expect("the editor may edit");
            made.entries.push(id);
        }
        Op::Splice { who, pos, delete } => {
            let by = editor(&s, who);
            let text = doc.read().expect("reads").narrative.as_str().to_owned();
            let free = free_positions(&text);
            let at = free[pos % free.len()];
            // Delete the character there only if it belongs to no marker.
            let deleted = text[at..]
                .chars()
                .next()
                .filter(|c| delete && *c != '【' && *c != '】')
                .map_or(0, char::len_utf8);
            let marker = format!("【调解员补充{tag}】");
            let id = doc
                .splice_narrative(&by, at, deleted, &marker, now)
                .expect("splices at a character boundary");
            made.entries.push(id);
            made.markers.push(marker);
        }
    }
}

fn run(scenario: &Scenario) -> Result<(), TestCaseError> {
    let mut origin = create();
    let report = origin.timeline().unwrap()[0].id.clone();
    let mut reps = replicas_of(&origin.save(), scenario.replicas);
    let mut made = Made {
        entries: vec![report],
        ..Made::default()
    };
    let mut clock = T0;
    for round in &scenario.rounds {
        for (r, op) in &round.ops {
            clock += MINUTE;
            let now = clock + scenario.skew[*r] * 1000;
            run_op(&mut reps[*r], *r, op, now, &mut made);
        }
        for &(into, from) in &round.merges {
            merge(&mut reps, into, from);
        }
    }
    for &(into, from) in &scenario.finale {
        merge(&mut reps, into, from);
    }

    let reference = reps[0].read().unwrap();
    let reference_state = state(&reps[0]);
    let mut reference_heads = reps[0].heads();
    reference_heads.sort();
    for (i, rep) in reps.iter_mut().enumerate() {
        prop_assert_eq!(
            &rep.read().unwrap(),
            &reference,
            "document of replica {}",
            i
        );
        prop_assert_eq!(&state(rep), &reference_state, "state of replica {}", i);
        let mut heads = rep.heads();
        heads.sort();
        prop_assert_eq!(&heads, &reference_heads, "heads of replica {}", i);
    }

    // Nothing created anywhere is lost, and nothing is duplicated.
    let timeline: Vec<EntryId> = reference.timeline.iter().map(|e| e.id.clone()).collect();
    let unique: BTreeSet<&EntryId> = timeline.iter().collect();
    prop_assert_eq!(unique.len(), timeline.len(), "duplicate timeline entries");
    prop_assert_eq!(timeline.len(), made.entries.len());
    for id in &made.entries {
        prop_assert!(unique.contains(id), "entry {} lost", id);
    }
    let narrative = reference.narrative.as_str();
    for marker in &made.markers {
        prop_assert_eq!(
            narrative.matches(marker.as_str()).count(),
            1,
            "marker {} in {}",
            marker,
            narrative
        );
    }
    for id in &made.parties {
        prop_assert!(
            reference.parties.iter().any(|p| &p.id == id),
            "party {} lost",
            id
        );
    }
    prop_assert!(reference
        .parties
        .iter()
        .any(|p| p.id.as_str() == "p-applicant"));
    for id in &made.attachments {
        prop_assert!(
            reference.attachments.iter().any(|a| &a.id == id),
            "attachment {} lost",
            id
        );
    }

    // The fold accounts for every entry, and conflicts name entries of the case.
    let folded = reps[0].fold().unwrap();
    let mut order = folded.order.clone();
    order.sort_unstable();
    prop_assert_eq!(order, (0..timeline.len()).collect::<Vec<_>>());
    for c in &reference_state.conflicts {
        prop_assert!(unique.contains(&c.entry));
        for w in &c.with {
            prop_assert!(unique.contains(w));
        }
    }

    // A device that loads the merged case from storage sees the same.
    let bytes = reps[0].save();
    let reloaded = CaseDoc::load(case_id(), &bytes, &automerge_actor(99)).unwrap();
    prop_assert_eq!(&reloaded.read().unwrap(), &reference);
    prop_assert_eq!(&state(&reloaded), &reference_state);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn replicas_converge_whatever_they_do_offline_and_however_they_merge(s in scenario()) {
        run(&s)?;
    }
}

// ---------------------------------------------------------------------------------------------
// The documented outcome of a concurrent close and escalate.

/// A resolved general case, ready to be closed or escalated by the township.
fn resolved_case() -> Vec<u8> {
    let mut doc = create();
    let t = |m: i64| T0 + m * MINUTE;
    doc.act(
        &staff(),
        Action::Assess {
            difficulty: Difficulty::General,
            risks: Vec::new(),
            note: String::new(),
        },
        t(1),
    )
    .unwrap();
    doc.act(
        &staff(),
        Action::Assign {
            to: Assignee::Mediator {
                person: "m".into(),
                name: "调解员老李".to_owned(),
            },
            chosen_by_parties: false,
            note: String::new(),
        },
        t(2),
    )
    .unwrap();
    doc.act(
        &mediator(),
        Action::RecordSession {
            mode: SessionMode::OnSite,
            note: String::new(),
        },
        t(3),
    )
    .unwrap();
    doc.act(
        &mediator(),
        Action::Resolve {
            agreement: None,
            note: String::new(),
        },
        t(4),
    )
    .unwrap();
    assert_eq!(state(&doc).status, Status::Resolved);
    doc.save()
}

#[test]
fn concurrent_close_and_escalate_end_escalated_with_the_close_in_conflict_whatever_the_merge_order()
{
    let base = resolved_case();
    // Whichever came first by the clock.
    for (close_at, escalate_at) in [(T0 + DAY, T0 + DAY + MINUTE), (T0 + DAY + MINUTE, T0 + DAY)] {
        let mut closer = CaseDoc::load(case_id(), &base, &automerge_actor(1)).unwrap();
        let mut escalator = CaseDoc::load(case_id(), &base, &automerge_actor(2)).unwrap();
        let close = closer
            .act(
                &staff(),
                Action::Close {
                    note: "已办结".to_owned(),
                },
                close_at,
            )
            .unwrap();
        assert_eq!(state(&closer).status, Status::Closed, "closed offline");
        let escalate = escalator
            .act(
                &leader(),
                Action::Escalate {
                    to: "c".into(),
                    reason: EscalationReason::PartyDissatisfied,
                    note: "当事人不服".to_owned(),
                },
                escalate_at,
            )
            .unwrap();
        let closed_bytes = closer.save();
        let escalated_bytes = escalator.save();

        let expected = vec![Conflict {
            entry: close.clone(),
            kind: ConflictKind::NotApplied {
                reason: Denied::NotResponsibleUnit {
                    unit: "c".to_owned(),
                    action: "办结".to_owned(),
                },
            },
            with: vec![escalate.clone()],
        }];
        let fresh =
            |bytes: &[u8], n: u8| CaseDoc::load(case_id(), bytes, &automerge_actor(n)).unwrap();
        // Every merge order: each side merges the other; a third device merges them either way.
        let mut outcomes: Vec<CaseDoc> = Vec::new();
        for closer_first in [true, false] {
            let mut a = fresh(&closed_bytes, 10);
            let mut b = fresh(&escalated_bytes, 11);
            if closer_first {
                a.merge(&mut b).unwrap();
                b.merge(&mut a).unwrap();
            } else {
                b.merge(&mut a).unwrap();
                a.merge(&mut b).unwrap();
            }
            let mut third = fresh(&base, 12);
            let (mut x, mut y) = (fresh(&closed_bytes, 13), fresh(&escalated_bytes, 14));
            if closer_first {
                third.merge(&mut x).unwrap();
                third.merge(&mut y).unwrap();
            } else {
                third.merge(&mut y).unwrap();
                third.merge(&mut x).unwrap();
            }
            outcomes.extend([a, b, third]);
        }
        let mut reference_heads = outcomes[0].heads();
        reference_heads.sort();
        for doc in &mut outcomes {
            let s = state(doc);
            assert_eq!(s.status, Status::Escalated);
            assert_eq!(s.responsible_unit.as_str(), "c");
            assert_eq!(s.closed_at, None);
            assert_eq!(s.conflicts, expected);
            let timeline = doc.timeline().unwrap();
            let folded = workflow::fold(&timeline);
            let verdict = |id: &EntryId| {
                let i = timeline.iter().position(|e| &e.id == id).unwrap();
                folded.verdicts[i].clone()
            };
            assert_eq!(verdict(&escalate), Verdict::Applied);
            assert_eq!(
                verdict(&close),
                Verdict::NotApplied(Denied::NotResponsibleUnit {
                    unit: "c".to_owned(),
                    action: "办结".to_owned(),
                })
            );
            let mut heads = doc.heads();
            heads.sort();
            assert_eq!(heads, reference_heads);
        }

        // The county sees the conflict, settles it, and every replica agrees once synced.
        let mut county_desk = fresh(&outcomes[0].save(), 20);
        county_desk
            .act(
                &county(),
                Action::SettleConflict {
                    entries: vec![close.clone()],
                    note: "办结在上报之后，不予采纳".to_owned(),
                },
                T0 + 2 * DAY,
            )
            .unwrap();
        for doc in &mut outcomes {
            doc.merge(&mut county_desk).unwrap();
            let s = state(doc);
            assert!(s.conflicts.is_empty());
            assert_eq!(s.status, Status::Escalated);
        }
        // The township may no longer close it; the county now handles it.
        let s = state(&outcomes[0]);
        assert!(workflow::check(
            Some(&s),
            &staff(),
            &Action::Close {
                note: String::new()
            }
        )
        .is_err());
        assert!(workflow::offered(Some(&s), &county()).contains(&ActionKind::Assess));
    }
}
