use super::*;
use crate::model::{NewCase, PartyRole, Source};
use crate::org::Role;
use crate::workflow::Status;

pub(crate) fn actor(person: &str, role: Role, unit: &str) -> Actor {
    Actor {
        person: person.into(),
        name: person.to_owned(),
        role,
        unit: unit.into(),
    }
}

pub(crate) fn new_case() -> NewCase {
    NewCase {
        title: "宅基地边界纠纷".to_owned(),
        category: "neighbour".to_owned(),
        narrative: "甲乙丙丁戊己庚辛".to_owned(),
        place_unit: "g".into(),
        address: "五丰村三巷12号".to_owned(),
        gps: None,
        parties: Vec::new(),
        source: Source::GridVisit,
    }
}

pub(crate) fn created(actor_id: &ActorId) -> CaseDoc {
    CaseDoc::create(
        CaseId::new("case-1"),
        &new_case(),
        vec![Party {
            id: PartyId::new("p1"),
            name: "张三".to_owned(),
            role: PartyRole::Applicant,
        }],
        vec!["c".into(), "t".into(), "v".into(), "g".into()],
        "t".into(),
        &actor("gw", Role::GridWorker, "g"),
        actor_id,
        1_700_000_000_000,
    )
    .unwrap()
}

#[test]
fn created_case_is_reported_to_its_centre() {
    let doc = created(&ActorId::random());
    let state = doc.state().unwrap().unwrap();
    assert_eq!(state.status, Status::Reported);
    assert_eq!(state.responsible_unit, "t".into());
    let read = doc.read().unwrap();
    assert_eq!(read.narrative.as_str(), "甲乙丙丁戊己庚辛");
    assert_eq!(read.parties[0].name, "张三");
}

#[test]
fn chinese_text_splices_at_character_boundaries() {
    let mut doc = created(&ActorId::random());
    let gw = actor("gw", Role::GridWorker, "g");
    // After the 2nd character (6 bytes in UTF-8).
    doc.splice_narrative(&gw, 6, 0, "【插入】", 1_700_000_001_000)
        .unwrap();
    let len = doc.read().unwrap().narrative.as_str().len();
    doc.splice_narrative(&gw, len, 0, "末尾", 1_700_000_002_000)
        .unwrap();
    assert_eq!(
        doc.read().unwrap().narrative.as_str(),
        "甲乙【插入】丙丁戊己庚辛末尾"
    );
    let err = doc
        .splice_narrative(&gw, 1, 0, "x", 1_700_000_003_000)
        .unwrap_err();
    assert!(err.to_string().contains("character boundary"), "{err}");
}

#[test]
fn concurrent_text_edits_both_survive() {
    let mut a = created(&ActorId::random());
    let mut b = CaseDoc::from_automerge(
        a.id().clone(),
        a.automerge().fork().with_actor(ActorId::random()),
    );
    let gw = actor("gw", Role::GridWorker, "g");
    let staff = actor("s", Role::CentreStaff, "t");
    a.edit(
        &gw,
        &CaseEdit {
            narrative: Some("甲乙丙丁戊己庚辛，双方已到场".to_owned()),
            ..CaseEdit::default()
        },
        1,
    )
    .unwrap();
    b.edit(
        &staff,
        &CaseEdit {
            narrative: Some("据反映：甲乙丙丁戊己庚辛".to_owned()),
            ..CaseEdit::default()
        },
        2,
    )
    .unwrap();
    a.merge(&mut b).unwrap();
    b.merge(&mut a).unwrap();
    let text = a.read().unwrap().narrative.as_str().to_owned();
    assert_eq!(text, "据反映：甲乙丙丁戊己庚辛，双方已到场");
    assert_eq!(b.read().unwrap().narrative.as_str(), text);
    assert_eq!(a.timeline().unwrap().len(), 3);
}

#[test]
fn a_supervision_reads_back_the_same_through_both_readers() {
    use crate::model::SuperviseLevel;
    let mut doc = created(&ActorId::random());
    let staff = actor("s", Role::CentreLeader, "t");
    for (i, level) in SuperviseLevel::ALL.into_iter().enumerate() {
        doc.act(
            &staff,
            Action::Supervise {
                level,
                due_at: 1_700_600_000_000 + i as i64,
                note: "挂牌督办，限期办结".to_owned(),
            },
            1_700_000_060_000 + i as i64,
        )
        .unwrap();
    }
    // serde's reading (the model's serde shape) and autosurgeon's agree on every level.
    let fast = doc.read().unwrap();
    assert_eq!(fast, doc.read_slowly().unwrap());
    let state = doc.state().unwrap().unwrap();
    assert_eq!(state.supervisions, 3);
    assert_eq!(state.due_override, Some(1_700_600_000_002));
    assert_eq!(
        state.supervision.map(|s| s.level),
        Some(SuperviseLevel::Listed)
    );
}

#[test]
fn a_work_order_reads_back_the_same_through_both_readers() {
    use crate::model::{OrderKind, WorkOrder};
    use crate::workflow::OrderState;
    let hotline = actor("hotline", Role::Intake, "c");
    let mut doc = CaseDoc::create(
        CaseId::new("case-1"),
        &NewCase {
            source: Source::Hotline12345,
            ..new_case()
        },
        vec![Party {
            id: PartyId::new("p1"),
            name: "张三".to_owned(),
            role: PartyRole::Respondent,
        }],
        vec!["c".into(), "t".into(), "v".into(), "g".into()],
        "t".into(),
        &hotline,
        &ActorId::random(),
        1_700_000_000_000,
    )
    .unwrap();
    let staff = actor("s", Role::CentreStaff, "t");
    // Dispatched (every kind, as 重派 of the same order), signed (a step with no payload),
    // replied to, and a second case returned.
    for (i, kind) in OrderKind::ALL.into_iter().enumerate() {
        let at = 1_700_000_010_000 + i as i64;
        doc.act(
            &hotline,
            Action::DispatchOrder {
                order: WorkOrder {
                    number: "GD-12345-0042".to_owned(),
                    channel: "12345".to_owned(),
                    kind,
                    confidential: i % 2 == 0,
                    dispatched_at: at,
                    sign_by: at + 7_200_000,
                    reply_by: at + 259_200_000,
                },
            },
            at,
        )
        .unwrap();
    }
    doc.act(&staff, Action::SignOrder, 1_700_000_060_000)
        .unwrap();
    doc.act(
        &staff,
        Action::ReplyOrder {
            reply: "已受理，正在调处".to_owned(),
        },
        1_700_000_070_000,
    )
    .unwrap();
    let fast = doc.read().unwrap();
    assert_eq!(fast, doc.read_slowly().unwrap());
    let state = doc.state().unwrap().unwrap();
    let order = state.order.clone().unwrap();
    assert_eq!(
        (order.order.kind, order.order.confidential, order.dispatches),
        (OrderKind::Suggestion, false, 4)
    );
    assert_eq!(state.order_state(), Some(OrderState::Replied));
    // A case with no order: signing is refused before anything is written.
    let mut other = created(&ActorId::random());
    assert!(other
        .act(&staff, Action::SignOrder, 1_700_000_080_000)
        .is_err());
    assert_eq!(other.timeline().unwrap().len(), 1);
    // The reply stands; returning is no longer possible.
    let err = doc
        .act(
            &staff,
            Action::ReturnOrder {
                reason: "不属本镇".to_owned(),
            },
            1_700_000_090_000,
        )
        .unwrap_err();
    assert!(err.zh().contains("工单已答复，不能退单"), "{}", err.zh());
}
