//! Work orders (工单) of the 12345 hotline in the store: a hotline case through its order's life,
//! today's 工单 lists (waiting to be signed for, late with the reply), the ledger's lines, the
//! figures, and summaries written before orders existed.

use super::*;
use crate::model::{OrderKind, WorkOrder};
use crate::store::OrderFilter;
use crate::workflow::OrderState;

/// The test directory and the city's 12345 platform registered at the county (系统对接).
fn with_hotline() -> Fixture {
    let mut f = fixture();
    let d = directory();
    let d = Directory::new(
        d.units().cloned(),
        d.people()
            .cloned()
            .chain([person("hotline", "12345热线", "ts", &[Role::Intake])]),
    )
    .unwrap();
    f.store.set_directory(d.clone()).unwrap();
    f.d = d;
    f
}

fn hotline_case() -> NewCase {
    NewCase {
        source: Source::Hotline12345,
        ..new_case("hy-wf-1", "张三")
    }
}

fn order(number: &str) -> WorkOrder {
    WorkOrder {
        number: number.to_owned(),
        channel: "12345".to_owned(),
        kind: OrderKind::Complaint,
        confidential: false,
        dispatched_at: T0,
        sign_by: T0 + 2 * HOUR,
        reply_by: T0 + 3 * DAY,
    }
}

/// A hotline case the platform reported at `T0` with its order dispatched.
fn dispatched(f: &mut Fixture, number: &str) -> CaseId {
    let hotline = actor(&f.d, "hotline", Role::Intake);
    let id = f.store.create_case(&hotline, &hotline_case(), T0).unwrap();
    f.store
        .act(
            &id,
            &hotline,
            Action::DispatchOrder {
                order: order(number),
            },
            T0 + 1_000,
        )
        .unwrap();
    id
}

fn ids(f: &Fixture, orders: OrderFilter, now: i64) -> Vec<String> {
    f.store
        .list(
            &CaseFilter {
                responsible: Some("hy".into()),
                orders: Some(orders),
                order: ListOrder::OrderDeadline,
                ..Default::default()
            },
            now,
        )
        .unwrap()
        .into_iter()
        .map(|s| s.order.expect("an order").number)
        .collect()
}

#[test]
fn a_hotline_order_waits_to_be_signed_then_for_its_reply_and_leaves_the_lists_once_answered() {
    let mut f = with_hotline();
    let staff = actor(&f.d, "staff", Role::CentreStaff);
    let first = dispatched(&mut f, "GD-0001");
    let second = dispatched(&mut f, "GD-0002");
    // A grid worker's case has no order and is in none of these lists.
    let gw = actor(&f.d, "gw", Role::GridWorker);
    f.store
        .create_case(&gw, &new_case("hy-wf-1", "李四"), T0)
        .unwrap();
    let soon = T0 + HOUR;
    assert_eq!(ids(&f, OrderFilter::ToSign, soon), ["GD-0001", "GD-0002"]);
    assert_eq!(ids(&f, OrderFilter::Overdue, soon), Vec::<String>::new());
    // Past the signing deadline, unsigned: late.
    let late = T0 + 3 * HOUR;
    assert_eq!(ids(&f, OrderFilter::Overdue, late), ["GD-0001", "GD-0002"]);
    // Signed: no longer waiting to be signed for; its reply is not due yet.
    f.store
        .act(&first, &staff, Action::SignOrder, late)
        .unwrap();
    assert_eq!(ids(&f, OrderFilter::ToSign, late), ["GD-0002"]);
    assert_eq!(ids(&f, OrderFilter::Owed, late), ["GD-0002"]);
    let summary = f.store.case(&first).unwrap().summary;
    let o = summary.order.as_ref().unwrap();
    assert_eq!(
        (o.state, o.signed_at, o.signed_by.as_deref()),
        (OrderState::Signed, Some(late), Some("李海燕"))
    );
    // Three days on, the signed order is late with its reply, and owed first (earliest
    // deadline it still owes); the other still waits to be signed for.
    let days_later = T0 + 3 * DAY + 1;
    assert_eq!(
        ids(&f, OrderFilter::Owed, days_later),
        ["GD-0002", "GD-0001"]
    );
    assert!(summary.order.as_ref().unwrap().overdue(days_later));
    f.store
        .act(
            &first,
            &staff,
            Action::ReplyOrder {
                reply: "已组织双方调解，达成一致".to_owned(),
            },
            days_later,
        )
        .unwrap();
    assert_eq!(ids(&f, OrderFilter::Owed, days_later), ["GD-0002"]);
    // Returned (退单): in no list, the case handled, the order's state and reason kept.
    f.store
        .act(
            &second,
            &staff,
            Action::ReturnOrder {
                reason: "事发地属都斛镇，请改派".to_owned(),
            },
            days_later,
        )
        .unwrap();
    assert_eq!(ids(&f, OrderFilter::Owed, days_later), Vec::<String>::new());
    let returned = f.store.case(&second).unwrap().summary;
    assert_eq!(returned.status, Status::Returned);
    assert!(returned.is_handled());
    let o = returned.order.unwrap();
    assert_eq!(o.state, OrderState::Returned);
    assert_eq!(o.return_reason.as_deref(), Some("事发地属都斛镇，请改派"));
    assert!(!o.overdue(days_later + 30 * DAY));
    // The ledger names both orders, and why the second went back; the figures count them.
    let text = crate::ledger::render(&f.store, &"hy".into(), days_later, 10, 30).unwrap();
    assert!(text.contains("工单 GD-0001（投诉举报，已回复）"), "{text}");
    assert!(text.contains("工单 GD-0002（投诉举报，退单）"), "{text}");
    assert!(text.contains("退单原因：事发地属都斛镇，请改派"), "{text}");
    assert!(text.contains("其中12345工单 2 件，退单 1 件"), "{text}");
    let r = f
        .store
        .figures(&"hy".into(), T0, days_later, days_later)
        .unwrap();
    assert_eq!(
        (r.total.received, r.total.orders, r.total.returned),
        (3, 2, 1)
    );
}

#[test]
fn the_store_refuses_what_the_rules_refuse_with_the_field_or_the_reason() {
    let mut f = with_hotline();
    let staff = actor(&f.d, "staff", Role::CentreStaff);
    let hotline = actor(&f.d, "hotline", Role::Intake);
    let id = dispatched(&mut f, "GD-0001");
    // A different order number on the case.
    let err = f
        .store
        .act(
            &id,
            &hotline,
            Action::DispatchOrder {
                order: order("GD-0999"),
            },
            T0 + HOUR,
        )
        .unwrap_err();
    assert!(err.zh().contains("另一张工单"), "{}", err.zh());
    // A re-dispatch of the same order with deadlines out of order names its field.
    let err = f
        .store
        .act(
            &id,
            &hotline,
            Action::DispatchOrder {
                order: WorkOrder {
                    sign_by: T0 - 1,
                    ..order("GD-0001")
                },
            },
            T0 + HOUR,
        )
        .unwrap_err();
    assert!(
        matches!(&err, Error::Invalid { field, .. } if field == "order.sign_by"),
        "{err}"
    );
    // The platform may not sign for its own order; staff may not reply unsigned.
    let err = f
        .store
        .act(&id, &hotline, Action::SignOrder, T0 + HOUR)
        .unwrap_err();
    assert!(matches!(
        err,
        Error::Denied(crate::workflow::Denied::IntakeOnly)
    ));
    let err = f
        .store
        .act(
            &id,
            &staff,
            Action::ReplyOrder {
                reply: "已办理".to_owned(),
            },
            T0 + HOUR,
        )
        .unwrap_err();
    assert!(matches!(
        err,
        Error::Denied(crate::workflow::Denied::NotSigned)
    ));
    // Another township's case report: the platform reports where it is registered (the county),
    // but not as a grid worker's visit.
    let err = f
        .store
        .create_case(&hotline, &new_case("dh-lk-1", "王五"), T0)
        .unwrap_err();
    assert!(matches!(
        err,
        Error::Denied(crate::workflow::Denied::IntakeOnly)
    ));
    let police = NewCase {
        source: Source::Police,
        ..new_case("dh-lk-1", "王五")
    };
    f.store.create_case(&hotline, &police, T0).unwrap();
}

#[test]
fn a_summary_written_before_orders_existed_still_loads() {
    let mut f = fixture();
    let gw = actor(&f.d, "gw", Role::GridWorker);
    let id = f
        .store
        .create_case(&gw, &new_case("hy-wf-1", "张三"), T0)
        .unwrap();
    // The summary as an older build wrote it: no `order` key at all.
    let json: String = f
        .store
        .connection()
        .query_row(
            "SELECT summary FROM cases WHERE id = ?1",
            [id.as_str()],
            |r| r.get(0),
        )
        .unwrap();
    let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(value.as_object_mut().unwrap().remove("order").is_some());
    f.store
        .connection()
        .execute(
            "UPDATE cases SET summary = ?1 WHERE id = ?2",
            params![value.to_string(), id.as_str()],
        )
        .unwrap();
    let list = f
        .store
        .list(
            &CaseFilter {
                unit: Some("hy".into()),
                ..Default::default()
            },
            T0,
        )
        .unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!((list[0].id.clone(), list[0].order.clone()), (id, None));
}

#[test]
fn a_version_seven_database_is_upgraded_and_finds_orders_waiting_to_be_signed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v7.sqlite3");
    let f = with_hotline();
    let d = f.d.clone();
    drop(f);
    let hotline = actor(&d, "hotline", Role::Intake);
    // A hotline case with its order, in a version-7 database (before work orders had columns),
    // its summary row as version 7 wrote it (no order in the summary).
    let mut doc = CaseDoc::create(
        CaseId::new("old-case"),
        &hotline_case(),
        vec![],
        d.path(&"hy-wf-1".into()),
        "hy".into(),
        &hotline,
        &ActorId::random(),
        T0,
    )
    .unwrap();
    doc.act(
        &hotline,
        Action::DispatchOrder {
            order: order("GD-0007"),
        },
        T0 + 1_000,
    )
    .unwrap();
    {
        let mut conn = Connection::open(&path).unwrap();
        let tx = conn.transaction().unwrap();
        for v in 0..7 {
            upgrade_from(&tx, v).unwrap();
        }
        tx.pragma_update(None, "user_version", 7).unwrap();
        insert_old_case(&tx, &mut doc);
        let document = doc.read().unwrap();
        let folded = crate::workflow::fold(&document.timeline);
        let mut summary =
            serde_json::to_value(CaseSummary::compute(&document, &folded, &d)).unwrap();
        summary.as_object_mut().unwrap().remove("order");
        let summary: CaseSummary = serde_json::from_value(summary).unwrap();
        assert_eq!(summary.order, None);
        insert_old_summary(&tx, &summary);
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
    let store = Store::open(&path).unwrap();
    assert_eq!(user_version(&store), SCHEMA_VERSION);
    assert_eq!(
        store.meta("needs_reindex").unwrap(),
        None,
        "rebuilt at open"
    );
    let waiting = store
        .list(
            &CaseFilter {
                orders: Some(OrderFilter::ToSign),
                ..Default::default()
            },
            T0 + HOUR,
        )
        .unwrap();
    assert_eq!(waiting.len(), 1);
    let o = waiting[0]
        .order
        .as_ref()
        .expect("the order, from the document");
    assert_eq!(
        (o.number.as_str(), o.state, o.sign_by),
        ("GD-0007", OrderState::Dispatched, T0 + 2 * HOUR)
    );
    let plan: String = store
        .connection()
        .prepare(
            "EXPLAIN QUERY PLAN SELECT COUNT(*) FROM cases c WHERE c.order_sign_by IS NOT NULL",
        )
        .unwrap()
        .query_map([], |r| r.get::<_, String>(3))
        .unwrap()
        .collect::<rusqlite::Result<Vec<_>>>()
        .unwrap()
        .join("; ");
    assert!(plan.contains("cases_order_sign"), "{plan}");
}
