//! Work orders (工单) of the 12345 hotline: the principal of another system reports a case and
//! dispatches its order (派单); the responsible centre signs for it (签收), replies (答复) or
//! returns it (退单); and where the order stands ([`OrderState`]) as the case goes on.

use super::*;
use crate::model::{OrderKind, WorkOrder};

const HOUR: i64 = 3_600_000;

/// The city's 12345 platform, registered at the county.
fn hotline() -> Actor {
    person("hotline", Role::Intake, "c")
}
/// Police linkage (110 联动), another system.
fn police() -> Actor {
    person("police", Role::Intake, "c")
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
fn dispatch(number: &str) -> Action {
    Action::DispatchOrder {
        order: order(number),
    }
}
fn sign() -> Action {
    Action::SignOrder
}
fn reply(words: &str) -> Action {
    Action::ReplyOrder {
        reply: words.to_owned(),
    }
}
fn return_order() -> Action {
    Action::ReturnOrder {
        reason: "不属本镇管辖，应由都斛镇办理".to_owned(),
    }
}

const NUMBER: &str = "GD-12345-0042";

/// A case the 12345 platform reported to township `t` from a call, not yet with its order.
fn hotline_reported() -> Tl {
    let mut tl = Tl {
        entries: Vec::new(),
        now: T0,
    };
    tl.push(
        EntryId::new("e000"),
        None,
        T0,
        &hotline(),
        Action::Report {
            centre: "t".into(),
            source: Source::Hotline12345,
        },
    );
    tl
}
/// ... and its work order dispatched right after.
fn dispatched() -> Tl {
    hotline_reported().then(&hotline(), dispatch(NUMBER))
}
fn signed() -> Tl {
    dispatched().then(&staff(), sign())
}
fn replied() -> Tl {
    signed().then(&staff(), reply("已受理，正在组织调解"))
}
fn returned() -> Tl {
    dispatched().then(&staff(), return_order())
}

fn order_state(tl: &Tl) -> Option<OrderState> {
    tl.state().order_state()
}

#[test]
fn the_intake_principal_reports_hotline_and_police_cases_and_does_nothing_else() {
    let hotline_report = |source| Action::Report {
        centre: "t".into(),
        source,
    };
    for source in Source::ALL {
        let want = if matches!(source, Source::Hotline12345 | Source::Police) {
            OK
        } else {
            Err(Denied::IntakeOnly)
        };
        assert_eq!(
            check(None, &hotline(), &hotline_report(source)),
            want,
            "{}",
            source.code()
        );
    }
    // Every other step, on a case it reported and dispatched, whatever the case's state.
    let mediating = dispatched()
        .then(&staff(), sign())
        .then(&staff(), assess(Difficulty::General))
        .then(&staff(), assign_to(&med()))
        .then(&med(), session());
    let resolved = mediating.clone().then(&med(), resolve(Some(agreement())));
    let steps = [
        assess(Difficulty::General),
        assign_to(&med()),
        session(),
        resolve(None),
        request_jc(),
        record_jc(true),
        stabilise(),
        fail(),
        escalate("c"),
        assign_down("v", None, T0 + DAY),
        report_back(),
        follow_up(Satisfaction::Satisfied, false),
        close(),
        reopen(),
        settle(&[]),
        edit(),
        Action::EraseContacts {
            reason: "当事人申请".to_owned(),
        },
        Action::LinkMatter {
            matter: MatterId::new("m1"),
            note: String::new(),
        },
        Action::UnlinkMatter {
            matter: MatterId::new("m1"),
            note: "x".to_owned(),
        },
        Action::MarkDistinct {
            other: CaseId::new("other"),
            note: String::new(),
        },
        Action::AcknowledgeAlert {
            alert: "k".to_owned(),
            level: Level::Red,
            words: "w".to_owned(),
            note: "n".to_owned(),
        },
        supervise(SuperviseLevel::General, T0 + DAY),
        sign(),
        reply("已办结"),
        return_order(),
    ];
    let kinds: BTreeSet<ActionKind> = steps.iter().map(Action::kind).collect();
    assert_eq!(
        kinds.len(),
        ActionKind::ALL.len() - 2,
        "every kind but report and dispatch"
    );
    for state in [dispatched().state(), mediating.state(), resolved.state()] {
        for a in &steps {
            assert_eq!(
                check(Some(&state), &hotline(), a),
                Err(Denied::IntakeOnly),
                "{}",
                a.code()
            );
        }
    }
    // Not even on a case that does not exist, and the refusal says so in both languages.
    assert_eq!(
        check(None, &hotline(), &assess(Difficulty::Simple)),
        Err(Denied::IntakeOnly)
    );
    let d = Denied::IntakeOnly;
    assert!(d.to_string().contains("only reports"), "{d}");
    assert!(d.zh().contains("系统对接账号只能"), "{}", d.zh());
    // Nothing is offered to it on the case screen: it never uses the app.
    assert!(offered(Some(&dispatched().state()), &hotline()).is_empty());
}

#[test]
fn dispatch_is_for_the_reporting_system_first_on_the_new_case_then_for_the_same_order() {
    let grid_case = reported().state();
    let reported = hotline_reported().state();
    let dispatched = dispatched().state();
    let assessed_first = hotline_reported()
        .then(&staff(), assess(Difficulty::General))
        .state();
    let handling = signed().then(&staff(), assess(Difficulty::General)).state();
    let returned = returned().state();
    let closed = replied()
        .then(&staff(), assess(Difficulty::Simple))
        .then(&staff(), assign_to(&med()))
        .then(&med(), session())
        .then(&med(), resolve(None))
        .then(&staff(), close())
        .state();
    let first = dispatch(NUMBER);
    table(
        &first,
        &[
            (
                "the platform dispatches the order of the case it reported",
                Some(&reported),
                hotline(),
                OK,
            ),
            (
                "again (重派) while the centre handles it",
                Some(&dispatched),
                hotline(),
                OK,
            ),
            ("again after signing", Some(&handling), hotline(), OK),
            (
                "the first dispatch comes before the case moves on",
                Some(&assessed_first),
                hotline(),
                Err(wrong(Status::Assessed, &first)),
            ),
            (
                "not once the centre returned it",
                Some(&returned),
                hotline(),
                Err(Denied::OrderReturned),
            ),
            (
                "not once the case is closed",
                Some(&closed),
                hotline(),
                Err(wrong(Status::Closed, &first)),
            ),
            (
                "centre staff never dispatch",
                Some(&reported),
                staff(),
                Err(may_not(Role::CentreStaff, &first)),
            ),
            (
                "nor does a grid worker",
                Some(&reported),
                gw(),
                Err(may_not(Role::GridWorker, &first)),
            ),
            (
                "another system does not dispatch on the platform's case",
                Some(&reported),
                police(),
                Err(Denied::OtherSystem {
                    reporter: "hotline".to_owned(),
                }),
            ),
            (
                "nor on a case a grid worker reported",
                Some(&grid_case),
                hotline(),
                Err(Denied::OtherSystem {
                    reporter: "gw".to_owned(),
                }),
            ),
            (
                "nothing before the report",
                None,
                hotline(),
                Err(Denied::NotReported),
            ),
        ],
    );
    // A different order number on a case that holds one is refused, in both languages.
    let other = dispatch("GD-12345-0099");
    let want = Denied::OrderNumber {
        held: NUMBER.to_owned(),
        sent: "GD-12345-0099".to_owned(),
    };
    assert_eq!(
        check(Some(&dispatched), &hotline(), &other),
        Err(want.clone())
    );
    assert_eq!(
        check(Some(&handling), &hotline(), &other),
        Err(want.clone())
    );
    assert!(want.to_string().contains("GD-12345-0099"), "{want}");
    assert_eq!(
        want.zh(),
        "本案工单号为GD-12345-0042，派单的工单号GD-12345-0099是另一张工单"
    );
}

#[test]
fn a_redispatch_updates_the_kind_and_deadlines_and_keeps_what_the_centre_did() {
    let mut tl = signed();
    let signed_at = tl.state().order.unwrap().signed_at;
    let again = WorkOrder {
        kind: OrderKind::Help,
        dispatched_at: T0 + DAY,
        sign_by: T0 + DAY + HOUR,
        reply_by: T0 + 5 * DAY,
        ..order(NUMBER)
    };
    tl.step(
        &hotline(),
        Action::DispatchOrder {
            order: again.clone(),
        },
    );
    let s = tl.state();
    let o = s.order.clone().expect("an order");
    assert_eq!(o.order, again, "the platform's latest dispatch holds");
    assert_eq!(o.dispatches, 2);
    assert_eq!(o.signed_at, signed_at, "signing is not undone");
    assert_eq!(s.order_state(), Some(OrderState::Signed));
    assert_eq!(s.status, Status::Reported, "a dispatch moves nothing");
    assert_eq!(s.due_override, None, "the case's own deadline is its own");
}

#[test]
fn sign_once_by_the_responsible_centre_while_the_order_is_not_returned() {
    let a = sign();
    let dispatched = dispatched().state();
    let signed = signed().state();
    let returned = returned().state();
    let no_order = reported().state();
    let escalated = dispatched_escalated().state();
    table(
        &a,
        &[
            ("township staff sign", Some(&dispatched), staff(), OK),
            ("or its leader", Some(&dispatched), leader(), OK),
            (
                "only once",
                Some(&signed),
                staff(),
                Err(Denied::AlreadySigned),
            ),
            (
                "only where there is an order",
                Some(&no_order),
                staff(),
                Err(Denied::NoWorkOrder),
            ),
            (
                "not a returned order",
                Some(&returned),
                staff(),
                Err(Denied::OrderReturned),
            ),
            (
                "another township's staff may not",
                Some(&dispatched),
                staff_t2(),
                Err(not_unit("t", &a)),
            ),
            (
                "the county may not while the township holds it",
                Some(&dispatched),
                cstaff(),
                Err(not_unit("t", &a)),
            ),
            (
                "the county signs once the case is escalated to it",
                Some(&escalated),
                cstaff(),
                OK,
            ),
            (
                "a grid worker may not",
                Some(&dispatched),
                gw(),
                Err(may_not(Role::GridWorker, &a)),
            ),
            (
                "a mediator may not",
                Some(&dispatched),
                med(),
                Err(may_not(Role::Mediator, &a)),
            ),
        ],
    );
    let d = Denied::AlreadySigned;
    assert_eq!(
        (d.to_string().as_str(), d.zh().as_str()),
        ("the work order was signed for (签收) already", "工单已签收")
    );
}

/// A dispatched order's case escalated by the township to the county before anyone signed.
fn dispatched_escalated() -> Tl {
    dispatched().then(&staff(), escalate("c"))
}

#[test]
fn reply_after_signing_as_often_as_needed_and_the_latest_counts() {
    let a = reply("已联系当事人，正在调解");
    let dispatched = dispatched().state();
    let signed = signed().state();
    let returned = returned().state();
    table(
        &a,
        &[
            ("staff reply once signed", Some(&signed), staff(), OK),
            ("the leader too", Some(&signed), leader(), OK),
            (
                "not before signing",
                Some(&dispatched),
                staff(),
                Err(Denied::NotSigned),
            ),
            (
                "not to a returned order",
                Some(&returned),
                staff(),
                Err(Denied::OrderReturned),
            ),
            (
                "not from another township",
                Some(&signed),
                staff_t2(),
                Err(not_unit("t", &a)),
            ),
            (
                "not by a mediator",
                Some(&signed),
                med(),
                Err(may_not(Role::Mediator, &a)),
            ),
            (
                "only where there is an order",
                Some(&reported().state()),
                staff(),
                Err(Denied::NoWorkOrder),
            ),
        ],
    );
    let mut tl = replied();
    let first_at = tl.state().order.unwrap().replied_at;
    tl.step(&leader(), reply("双方已达成协议，纠纷化解"));
    let o = tl.state().order.unwrap();
    assert_eq!(o.reply.as_deref(), Some("双方已达成协议，纠纷化解"));
    assert_eq!(o.replied_by.as_deref(), Some("l"));
    assert!(o.replied_at > first_at, "the latest reply counts");
    assert_eq!(Denied::NotSigned.zh(), "请先签收工单，再答复");
}

#[test]
fn return_only_before_a_reply_and_the_case_ends_returned() {
    let a = return_order();
    let dispatched = dispatched().state();
    let signed = signed().state();
    let replied = replied().state();
    let returned = returned().state();
    let mediating = signed_mediating().state();
    let resolved = signed_mediating().then(&med(), resolve(None)).state();
    table(
        &a,
        &[
            (
                "staff return an order not theirs, unsigned",
                Some(&dispatched),
                staff(),
                OK,
            ),
            ("or signed", Some(&signed), leader(), OK),
            ("or while it is worked", Some(&mediating), staff(), OK),
            (
                "not once replied to",
                Some(&replied),
                staff(),
                Err(Denied::AlreadyReplied),
            ),
            (
                "not twice",
                Some(&returned),
                staff(),
                Err(Denied::OrderReturned),
            ),
            (
                "not a case already resolved",
                Some(&resolved),
                staff(),
                Err(wrong(Status::Resolved, &a)),
            ),
            (
                "not by another township",
                Some(&dispatched),
                staff_t2(),
                Err(not_unit("t", &a)),
            ),
            (
                "not by the assigned mediator",
                Some(&mediating),
                med(),
                Err(may_not(Role::Mediator, &a)),
            ),
            (
                "only where there is an order",
                Some(&reported().state()),
                staff(),
                Err(Denied::NoWorkOrder),
            ),
        ],
    );
    // Returned: terminal. The reason is kept; nothing moves the case any more.
    let s = returned;
    assert_eq!(s.status, Status::Returned);
    assert!(s.status.is_handled() && s.status.is_terminal());
    assert_eq!(Status::Returned.zh(), "已退单");
    let o = s.order.clone().unwrap();
    assert_eq!(
        (o.return_reason.as_deref(), o.returned_by.as_deref()),
        (Some("不属本镇管辖，应由都斛镇办理"), Some("s"))
    );
    for (step, want) in [
        (
            assess(Difficulty::General),
            wrong(Status::Returned, &assess(Difficulty::General)),
        ),
        (escalate("c"), wrong(Status::Returned, &escalate("c"))),
        (reopen(), wrong(Status::Returned, &reopen())),
        (close(), wrong(Status::Returned, &close())),
        (
            supervise(SuperviseLevel::General, T0 + DAY),
            wrong(
                Status::Returned,
                &supervise(SuperviseLevel::General, T0 + DAY),
            ),
        ),
        (sign(), Denied::OrderReturned),
        (reply("答复"), Denied::OrderReturned),
    ] {
        assert_eq!(
            check(Some(&s), &staff(), &step),
            Err(want),
            "{}",
            step.code()
        );
    }
    assert_eq!(
        allowed_kinds(Some(&s), &staff()),
        ["erase_contacts"],
        "a returned case offers nothing but erasing contacts"
    );
}

fn signed_mediating() -> Tl {
    signed()
        .then(&staff(), assess(Difficulty::General))
        .then(&staff(), assign_to(&med()))
        .then(&med(), session())
}

#[test]
fn the_order_goes_dispatched_signed_handling_replied_concluded() {
    let mut tl = dispatched();
    assert_eq!(order_state(&tl), Some(OrderState::Dispatched));
    // Staff may work the case before signing; the order still waits for 签收.
    let mut early = tl.clone();
    early.step(&staff(), assess(Difficulty::Simple));
    assert_eq!(order_state(&early), Some(OrderState::Dispatched));
    tl.step(&staff(), sign());
    assert_eq!(order_state(&tl), Some(OrderState::Signed));
    tl.step(&staff(), assess(Difficulty::General));
    assert_eq!(order_state(&tl), Some(OrderState::Handling));
    tl.step(&staff(), assign_to(&med()));
    tl.step(&med(), session());
    assert_eq!(order_state(&tl), Some(OrderState::Handling));
    tl.step(&staff(), reply("已分流至调解员，正在调解"));
    assert_eq!(order_state(&tl), Some(OrderState::Replied));
    tl.step(&med(), resolve(Some(agreement())));
    assert_eq!(
        order_state(&tl),
        Some(OrderState::Concluded),
        "resolved and replied: 办结"
    );
    tl.step(&staff(), close());
    assert_eq!(order_state(&tl), Some(OrderState::Concluded));
    // Reopened, the order is being handled again (its reply stands until a new one).
    tl.step(&staff(), reopen());
    assert_eq!(order_state(&tl), Some(OrderState::Replied));

    // Handled without a reply: still 办理中 for the hotline, until the centre replies.
    let mut quiet = signed_mediating();
    quiet.step(&med(), stabilise());
    assert_eq!(order_state(&quiet), Some(OrderState::Handling));
    quiet.step(&staff(), reply("双方情绪稳定，已稳控"));
    assert_eq!(order_state(&quiet), Some(OrderState::Concluded));

    // Returned.
    assert_eq!(order_state(&returned()), Some(OrderState::Returned));
    let mut late = signed_mediating();
    late.step(&staff(), return_order());
    assert_eq!(order_state(&late), Some(OrderState::Returned));
    assert_eq!(late.state().status, Status::Returned);
    // No order, no order state.
    assert_eq!(order_state(&reported()), None);
    // Codes and words.
    for st in OrderState::ALL {
        assert_eq!(OrderState::from_code(st.code()), Some(st));
        assert_eq!(
            serde_json::to_value(st).unwrap(),
            serde_json::json!(st.code())
        );
    }
    let words: Vec<&str> = OrderState::ALL.iter().map(|s| s.zh()).collect();
    assert_eq!(
        words,
        ["待签收", "已签收", "办理中", "已回复", "办结", "退单"]
    );
}

#[test]
fn the_case_screen_offers_signing_then_replying_and_returning_until_a_reply() {
    assert_eq!(
        allowed_kinds(Some(&dispatched().state()), &staff()),
        [
            "assess",
            "escalate",
            "assign_down",
            "erase_contacts",
            "supervise",
            "sign_order",
            "return_order"
        ]
    );
    let signed = allowed_kinds(Some(&signed().state()), &staff());
    assert!(
        signed.ends_with(&["reply_order", "return_order"]),
        "{signed:?}"
    );
    let replied = allowed_kinds(Some(&replied().state()), &staff());
    assert!(replied.ends_with(&["reply_order"]), "{replied:?}");
    assert!(!replied.contains(&"return_order"));
    // Another township's staff: nothing of the order (supervision's unit is the directory's).
    assert_eq!(
        allowed_kinds(Some(&dispatched().state()), &staff_t2()),
        ["supervise"]
    );
    // A case with no order offers none of the order's steps.
    let plain = allowed_kinds(Some(&reported().state()), &staff());
    assert!(plain.iter().all(|k| !k.contains("order")), "{plain:?}");
}

#[test]
fn order_steps_are_records_and_a_return_is_a_move_after_a_close() {
    for record in [dispatch(NUMBER), sign(), reply("答复")] {
        assert_eq!(
            precedence(&record),
            precedence(&session()),
            "{}",
            record.code()
        );
        assert!(!is_move(&record), "{} is a record", record.code());
    }
    assert!(is_move(&return_order()));
    assert!(precedence(&return_order()) > precedence(&close()));
}

#[test]
fn a_reply_concurrent_with_a_return_wins_and_the_return_is_a_conflict() {
    let mut tl = signed();
    let base = tl.head();
    let back = tl.concurrent(&base, T0 + DAY, &staff(), return_order());
    let answered = tl.concurrent(
        &base,
        T0 + DAY + MINUTE,
        &leader(),
        reply("已受理，正在办理"),
    );
    assert_eq!(tl.order().last(), Some(&back), "the return goes last");
    assert_eq!(tl.verdict(&answered), Verdict::Applied);
    assert_eq!(
        tl.verdict(&back),
        Verdict::NotApplied(Denied::AlreadyReplied)
    );
    let s = tl.state();
    assert_eq!(s.status, Status::Reported, "the case stays open");
    assert_eq!(s.order_state(), Some(OrderState::Replied));
    assert!(
        s.conflicts.iter().any(|c| c.entry == back),
        "shown to staff: {:?}",
        s.conflicts
    );
}

#[test]
fn two_staff_signing_at_once_sign_once_and_the_second_is_shown() {
    let mut tl = dispatched();
    let base = tl.head();
    let first = tl.concurrent(&base, T0 + HOUR, &staff(), sign());
    let second = tl.concurrent(&base, T0 + HOUR + MINUTE, &leader(), sign());
    assert_eq!(tl.verdict(&first), Verdict::Applied);
    assert_eq!(
        tl.verdict(&second),
        Verdict::NotApplied(Denied::AlreadySigned)
    );
    let o = tl.state().order.unwrap();
    assert_eq!(
        (o.signed_at, o.signed_by.as_deref()),
        (Some(T0 + HOUR), Some("s"))
    );
}
