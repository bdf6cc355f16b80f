//! Work orders (工单) of the 12345 hotline in the interface: what the timeline says of the
//! platform's dispatch and of the centre's steps, and the words of the order's block on the case
//! screen, apart from rendering so that they are tested natively.

use crate::i18n::{self, t, tf, Key, Lang};
use crate::labels;
use crate::time;
use app_core::model::{Action, WorkOrder};
use app_core::summary::OrderSummary;

/// The kind of an order, marked when the caller asked for secrecy (保密).
pub fn kind(l: Lang, kind: app_core::model::OrderKind, confidential: bool) -> String {
    let name = labels::order_kind(l, kind);
    if confidential {
        i18n::aside(l, name, t(l, Key::OrderConfidential))
    } else {
        name.to_owned()
    }
}

/// What a timeline entry of a work order says beyond its name (派单, 签收工单, 答复工单, 退单):
/// the dispatched order's number, kind and deadlines; the reply; why it was returned. `None` for
/// any other step.
pub fn details(l: Lang, action: &Action, now: i64) -> Option<Vec<String>> {
    Some(match action {
        Action::DispatchOrder { order } => dispatched(l, order, now),
        Action::SignOrder => Vec::new(),
        Action::ReplyOrder { reply } => vec![reply.clone()],
        Action::ReturnOrder { reason } => {
            vec![i18n::labelled(l, t(l, Key::ReturnReason), reason)]
        }
        _ => return None,
    })
}

fn dispatched(l: Lang, order: &WorkOrder, now: i64) -> Vec<String> {
    let labelled = |key: Key, value: &str| i18n::labelled(l, t(l, key), value);
    vec![
        labelled(Key::OrderNumber, &order.number),
        kind(l, order.kind, order.confidential),
        labelled(Key::SignBy, &time::moment(order.sign_by, now, l)),
        labelled(Key::ReplyBy, &time::moment(order.reply_by, now, l)),
    ]
}

/// The channel an order came through, with how many times it was dispatched when more than once
/// (重派).
pub fn channel(l: Lang, o: &OrderSummary) -> String {
    if o.dispatches > 1 {
        format!(
            "{} · {}",
            o.channel,
            tf(l, Key::Redispatched, &[&o.dispatches])
        )
    } else {
        o.channel.clone()
    }
}

/// The signing deadline, with who signed for it and when once it is signed.
pub fn sign_by(l: Lang, o: &OrderSummary, now: i64) -> String {
    let by = time::moment(o.sign_by, now, l);
    match (o.signed_at, &o.signed_by) {
        (Some(at), Some(who)) => format!(
            "{by} · {}",
            tf(l, Key::OrderSigned, &[who, &time::moment(at, now, l)])
        ),
        _ => by,
    }
}

/// The latest reply, with when it was given.
pub fn reply(l: Lang, o: &OrderSummary, now: i64) -> Option<String> {
    let reply = o.reply.as_ref()?;
    Some(match o.replied_at {
        Some(at) => format!("{reply} · {}", time::moment(at, now, l)),
        None => reply.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use app_core::model::OrderKind;
    use app_core::workflow::OrderState;

    /// 2026-06-01 10:00 China Standard Time.
    const NOW: i64 = 1_780_279_200_000;
    const HOUR: i64 = 3_600_000;

    fn order() -> WorkOrder {
        WorkOrder {
            number: "GD-12345-0042".to_owned(),
            channel: "12345".to_owned(),
            kind: OrderKind::Complaint,
            confidential: true,
            dispatched_at: NOW,
            sign_by: NOW + 2 * HOUR,
            reply_by: NOW + 3 * 24 * HOUR,
        }
    }

    #[test]
    fn the_timeline_reads_a_dispatch_with_its_number_kind_and_deadlines() {
        let dispatch = Action::DispatchOrder { order: order() };
        assert_eq!(
            details(Lang::Zh, &dispatch, NOW).unwrap(),
            [
                "工单号：GD-12345-0042",
                "投诉举报（来电人要求保密）",
                "签收期限：12:00",
                "答复期限：6月4日 10:00",
            ]
        );
        assert_eq!(
            details(Lang::En, &dispatch, NOW).unwrap(),
            [
                "Order number: GD-12345-0042",
                "Complaint or report (The caller asked for confidentiality)",
                "Sign for by: 12:00",
                "Reply by: 4 Jun 10:00",
            ]
        );
        assert_eq!(details(Lang::Zh, &Action::SignOrder, NOW), Some(vec![]));
        assert_eq!(
            details(
                Lang::Zh,
                &Action::ReturnOrder {
                    reason: "不属本镇".into()
                },
                NOW
            ),
            Some(vec!["退单原因：不属本镇".to_owned()])
        );
        assert_eq!(
            details(Lang::Zh, &Action::Close { note: "x".into() }, NOW),
            None
        );
    }

    #[test]
    fn the_order_block_says_who_signed_how_often_it_came_and_the_reply() {
        let mut o = OrderSummary {
            number: "GD-12345-0042".to_owned(),
            channel: "12345".to_owned(),
            kind: OrderKind::Help,
            confidential: false,
            state: OrderState::Dispatched,
            dispatched_at: NOW,
            sign_by: NOW + 2 * HOUR,
            reply_by: NOW + 72 * HOUR,
            dispatches: 1,
            signed_at: None,
            signed_by: None,
            reply: None,
            replied_at: None,
            return_reason: None,
            returned_at: None,
        };
        assert_eq!(sign_by(Lang::Zh, &o, NOW), "12:00");
        assert_eq!(channel(Lang::Zh, &o), "12345");
        assert_eq!(reply(Lang::Zh, &o, NOW), None);
        o.dispatches = 2;
        o.signed_at = Some(NOW + HOUR);
        o.signed_by = Some("李海燕".to_owned());
        o.reply = Some("已调解".to_owned());
        o.replied_at = Some(NOW + 2 * HOUR);
        assert_eq!(sign_by(Lang::Zh, &o, NOW), "12:00 · 李海燕签收于11:00");
        assert_eq!(channel(Lang::Zh, &o), "12345 · 第 2 次派单");
        assert_eq!(reply(Lang::Zh, &o, NOW).as_deref(), Some("已调解 · 12:00"));
        assert_eq!(kind(Lang::En, o.kind, o.confidential), "Request for help");
    }
}
