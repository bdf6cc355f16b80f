//! Work orders (工单) of the 12345 hotline against a real server: the platform, enrolled as the
//! principal of another system (系统对接), reports a call as a case and dispatches its order; the
//! township finds it waiting to be signed for, signs and replies; the platform sees where its
//! order stands on the cases it reported, and the server refuses it any other step.

use crate::sync::{actor, new_case, STAFF};
use crate::trust::{changes_since, device_doc, insert_entry, refused, server, timeline};
use app_core::document::DocKind;
use app_core::ids::{EntryId, UnitId};
use app_core::model::{Action, OrderKind, Source, TimelineEntry, WorkOrder};
use app_core::org::Role;
use app_core::workflow::{self, OrderState};
use system_tests::{now_ms, Device};

const HOTLINE: &str = "taishan-12345";
const GRID: &str = "haiyan-fengjiang-g1";
const HOUR: i64 = 3_600_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_a_hotline_case_is_dispatched_signed_and_replied_and_the_platform_does_nothing_else(
) -> anyhow::Result<()> {
    let (dir, server) = server()?;
    // The city's 12345 platform, registered at the county.
    let people = dir.path().join("intake.csv");
    std::fs::write(
        &people,
        format!("id,name,unit,roles,specialties,phone\n{HOTLINE},12345政务服务便民热线,taishan,intake,,\n"),
    )?;
    server.admin(&["import-people", &people.display().to_string()])?;
    let hotline = Device::enrol(&server, HOTLINE).await?;
    let desk = Device::enrol(&server, STAFF).await?;

    // The platform reports the call (the caller asked for secrecy: not a party) and dispatches
    // the order, then syncs.
    let now = now_ms();
    let order = WorkOrder {
        number: "TS12345-20261203-0007".to_owned(),
        channel: "12345".to_owned(),
        kind: OrderKind::Complaint,
        confidential: true,
        dispatched_at: now,
        sign_by: now + 2 * HOUR,
        reply_by: now + 72 * HOUR,
    };
    let case = {
        let mut s = hotline.store();
        let me = actor(&s, HOTLINE, Role::Intake);
        let mut new = new_case(&UnitId::new(GRID), "养殖场排污投诉");
        new.source = Source::Hotline12345;
        new.parties
            .retain(|p| p.role != app_core::model::PartyRole::Applicant);
        let id = s.create_case(&me, &new, now)?;
        s.act(
            &id,
            &me,
            Action::DispatchOrder {
                order: order.clone(),
            },
            now + 1_000,
        )?;
        id
    };
    hotline.sync().await?;
    assert_eq!(hotline.store().outbox_len()?, 0, "the server took both");

    // The township's desk finds it waiting to be signed for, signs and replies.
    desk.sync().await?;
    let rows = crate::intake::to_sign_at_haiyan(&desk.store())?;
    assert_eq!(rows.len(), 1);
    let o = rows[0].order.as_ref().expect("the order");
    assert_eq!(
        (o.number.as_str(), o.state, o.confidential),
        (order.number.as_str(), OrderState::Dispatched, true)
    );
    {
        let mut s = desk.store();
        let staff = actor(&s, STAFF, Role::CentreStaff);
        s.act(&case, &staff, Action::SignOrder, now_ms())?;
        s.act(
            &case,
            &staff,
            Action::ReplyOrder {
                reply: "已受理，明日组织双方现场调处".to_owned(),
            },
            now_ms(),
        )?;
    }
    desk.sync().await?;
    assert_eq!(desk.store().outbox_len()?, 0);
    assert!(crate::intake::to_sign_at_haiyan(&desk.store())?.is_empty());

    // The platform sees its case (and only what it reported) with the order replied to.
    hotline.sync().await?;
    let held = hotline.case_ids()?;
    assert!(held.contains(&case.to_string()), "{held:?}");
    for id in &held {
        let reporter = hotline.store().summary(&id.as_str().into())?.reporter;
        assert_eq!(
            reporter.as_str(),
            HOTLINE,
            "{id}: the platform holds only what it reported"
        );
    }
    let summary = hotline.store().case(&case)?.summary;
    let o = summary.order.expect("the order");
    assert_eq!(o.state, OrderState::Replied);
    assert_eq!(o.reply.as_deref(), Some("已受理，明日组织双方现场调处"));

    // It may not assess the case, even written past its own store: the server refuses.
    let key = DocKind::Case.key(case.as_str());
    let mut doc = device_doc(&hotline, &case)?;
    let heads = doc.get_heads();
    let entries = timeline(&doc)?;
    let base = workflow::fold(&entries)
        .order
        .last()
        .map(|&i| entries[i].id.clone());
    let me = actor(&hotline.store(), HOTLINE, Role::Intake);
    insert_entry(
        &mut doc,
        entries.len(),
        &TimelineEntry {
            id: EntryId::generate(),
            base,
            at: now_ms(),
            actor: me,
            action: Action::Assess {
                difficulty: app_core::model::Difficulty::Simple,
                risks: Vec::new(),
                note: String::new(),
            },
        },
    )?;
    doc.commit();
    refused(
        &server,
        &hotline,
        &key,
        changes_since(&mut doc, &heads),
        (409, "workflow_denied", "only reports"),
    )
    .await?;
    Ok(())
}
