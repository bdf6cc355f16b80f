//! Reminders (提醒) on the app's sessions: a grid worker's phone that has lost its server still
//! reminds of the case that falls due and overdue meanwhile, once a local day, and of a
//! supervision it received before; turned off, it reminds of nothing.

use crate::intake::{bytes, intake_server, order, post};
use crate::sync::{new_case, GW, STAFF};
use crate::tier::start;
use app_core::ids::{CaseId, UnitId};
use app_core::model::{Action, SuperviseLevel};
use app_core::reminders::{Reminder, ReminderKind};
use app_core::screens::{ActInput, CaseQuery};
use app_core::session::Session;
use chrono::Datelike;
use system_tests::now_ms;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

fn lock(s: &Session) -> std::sync::MutexGuard<'_, app_core::store::Store> {
    s.store().lock().unwrap_or_else(|e| e.into_inner())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminders_fire_once_a_day_for_a_case_that_falls_overdue_while_offline(
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut server = start(dir.path(), "township", "haiyan", None)?;
    let apps = tempfile::tempdir()?;
    let phone = Session::open(apps.path().join("phone.sqlite3"))?;
    let desk = Session::open(apps.path().join("desk.sqlite3"))?;
    assert!(
        phone.due_reminders(now_ms())?.is_empty(),
        "nothing before enrolment"
    );
    phone
        .enrol(&server.url(), &server.code_for("gw2")?, "网格员的手机")
        .await?;
    desk.enrol(&server.url(), &server.code_for("tstaff")?, "综治中心电脑")
        .await?;

    // The grid worker reports two disputes; the township supervises the second (重点督办) with a
    // deadline far off, and the phone receives it.
    let t0 = now_ms();
    let grid = UnitId::new("haiyan-nacheng-g1");
    let late = phone.report_case(&new_case(&grid, "那陈村宅基地纠纷"), t0)?;
    let pressed = phone.report_case(&new_case(&grid, "那陈村排水沟纠纷"), t0)?;
    assert_eq!(phone.sync_now().await?.waiting, 0);
    desk.sync_now().await?;
    let policy = lock(&desk).directory().policy(&UnitId::new("haiyan"));
    let far = policy.supervise_due_on(policy.local_date(t0 + 60 * DAY));
    desk.act(
        &ActInput {
            case: pressed.clone(),
            action: Action::Supervise {
                level: SuperviseLevel::Priority,
                due_at: far,
                note: "请网格员配合村委会于期限内化解".to_owned(),
            },
        },
        t0,
    )?;
    assert_eq!(desk.sync_now().await?.waiting, 0);
    // The desk's list of supervised cases (the 督办 filter) holds the one, not the other.
    let listed = |q: CaseQuery| -> anyhow::Result<Vec<CaseId>> {
        Ok(desk
            .cases(&q, t0)?
            .into_iter()
            .map(|r| r.summary.id)
            .collect())
    };
    let all = listed(CaseQuery::default())?;
    assert!(all.contains(&late) && all.contains(&pressed), "{all:?}");
    let supervised = CaseQuery {
        supervised: true,
        ..CaseQuery::default()
    };
    assert_eq!(listed(supervised)?, std::slice::from_ref(&pressed));
    phone.sync_now().await?;
    assert!(lock(&phone).summary(&pressed)?.supervised.is_some());

    // The server goes away: from here on the phone is offline.
    server.kill();
    let state = phone.sync_now().await?;
    assert!(state.offline, "{state:?}");

    // At once: the supervision, issued by someone else, once.
    let r = phone.due_reminders(t0 + MINUTE)?;
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(
        (r[0].kind, r[0].case.as_ref()),
        (ReminderKind::Supervised, Some(&pressed))
    );
    assert!(r[0].title.starts_with("重点督办："), "{}", r[0].title);
    assert!(phone.due_reminders(t0 + 2 * MINUTE)?.is_empty());
    // Whoever issued it is not reminded of it; both cases are on track for the desk.
    assert!(desk.due_reminders(t0 + MINUTE)?.is_empty());

    // The first case falls due soon, then overdue, while the phone is still offline.
    let summary = lock(&phone).summary(&late)?;
    let r = phone.due_reminders(summary.due_soon_at + MINUTE)?;
    assert_eq!(
        r.iter()
            .map(|r| (r.kind, r.case.clone()))
            .collect::<Vec<_>>(),
        [(ReminderKind::DueSoon, Some(late.clone()))]
    );
    let overdue = summary.due_at + HOUR;
    let r = phone.due_reminders(overdue)?;
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(
        (r[0].kind, r[0].case.as_ref()),
        (ReminderKind::Overdue, Some(&late))
    );
    assert!(r[0].body.contains("已超期1天"), "{}", r[0].body);
    // Not again the same local day, however often it is asked.
    assert!(phone.due_reminders(overdue + MINUTE)?.is_empty());
    assert!(phone.due_reminders(overdue + 20 * HOUR)?.is_empty());
    // The next local day, again.
    let r = phone.due_reminders(overdue + DAY)?;
    assert_eq!(
        r.iter().map(|r| r.case.clone()).collect::<Vec<_>>(),
        [Some(late.clone())]
    );
    assert!(r[0].body.contains("已超期2天"), "{}", r[0].body);

    // Turned off: nothing, the day after either; turned on again: the day's reminder.
    assert!(!phone.set_reminders(false)?.reminders);
    assert!(!phone.settings()?.reminders);
    assert!(phone.due_reminders(overdue + 2 * DAY)?.is_empty());
    assert!(phone.set_reminders(true)?.reminders);
    let r = phone.due_reminders(overdue + 2 * DAY + MINUTE)?;
    assert_eq!(
        r.iter().map(|r| r.case.clone()).collect::<Vec<_>>(),
        [Some(late.clone())]
    );
    // The setting is kept on the device.
    drop(phone);
    let phone = Session::open(apps.path().join("phone.sqlite3"))?;
    phone.set_reminders(false)?;
    drop(phone);
    let phone = Session::open(apps.path().join("phone.sqlite3"))?;
    assert!(!phone.settings()?.reminders);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminders_the_desk_is_reminded_to_sign_for_and_reply_to_a_hotline_order(
) -> anyhow::Result<()> {
    let (_dir, server, hotline, _police) = intake_server()?;
    let apps = tempfile::tempdir()?;
    let desk = Session::open(apps.path().join("desk.sqlite3"))?;
    let phone = Session::open(apps.path().join("phone.sqlite3"))?;
    desk.enrol(&server.url(), &server.code_for(STAFF)?, "综治中心电脑")
        .await?;
    phone
        .enrol(&server.url(), &server.code_for(GW)?, "网格员的手机")
        .await?;
    let local = lock(&desk)
        .directory()
        .policy(&UnitId::new("haiyan"))
        .local();
    // The hotline dispatches an order now: to be signed for by 14:00 local time tomorrow,
    // replied to three days later. (Reminders are asked for at chosen instants, away from
    // local midnight, so that "the same day" is the same day however slow the machine.)
    let t0 = now_ms();
    let tomorrow = local.date(t0) + chrono::Days::new(1);
    let sign_by = local.midnight(tomorrow) + 14 * HOUR;
    let reply_by = sign_by + 3 * DAY;
    let mut body = order("TS12345-20261203-0042");
    body["sign_by"] = sign_by.into();
    body["reply_by"] = reply_by.into();
    let (status, answer, _) = post(&server, Some(&hotline), Some("k-42"), bytes(&body)).await?;
    assert_eq!(status, 201, "{answer}");
    let case: CaseId = answer["case"].as_str().unwrap_or_default().into();
    desk.sync_now().await?;
    phone.sync_now().await?;
    assert!(
        lock(&desk).summary(&case).is_ok(),
        "the order is on the desk"
    );
    // Offline from here: the reminders come from the local store.
    drop(server);
    let about = |r: &[Reminder]| -> Vec<Reminder> {
        r.iter()
            .filter(|r| r.case.as_ref() == Some(&case))
            .cloned()
            .collect()
    };

    // The morning it is due, the desk: sign for it, by the deadline to the minute.
    let morning = sign_by - 5 * HOUR;
    let r = about(&desk.due_reminders(morning)?);
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].kind, ReminderKind::OrderToSign);
    assert_eq!(r[0].title, "工单待签收：养殖场排污影响邻居");
    let at = local.datetime(sign_by);
    assert_eq!(
        r[0].body,
        format!(
            "12345工单TS12345-20261203-0042，请于{}月{}日 14:00前签收。",
            at.month(),
            at.day()
        )
    );
    // Not again that day; never on the grid worker's phone: the centre's orders are not theirs.
    assert!(about(&desk.due_reminders(morning + HOUR)?).is_empty());
    assert!(
        about(&phone.due_reminders(morning)?).is_empty(),
        "a grid worker is not reminded of the centre's orders"
    );
    // Not signed for by the next morning: reminded again, as late.
    let r = about(&desk.due_reminders(morning + DAY)?);
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].kind, ReminderKind::OrderToSign);
    assert!(r[0].body.contains("已超过签收期限"), "{}", r[0].body);

    // Signed for (offline, on the desk): the reply is reminded of once it falls due soon.
    desk.act(
        &ActInput {
            case: case.clone(),
            action: Action::SignOrder,
        },
        morning + DAY + HOUR,
    )?;
    assert!(
        about(&desk.due_reminders(reply_by - 2 * DAY)?).is_empty(),
        "two days before the reply is due, nothing"
    );
    let r = about(&desk.due_reminders(reply_by - 5 * HOUR)?);
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].kind, ReminderKind::OrderReply);
    assert_eq!(r[0].title, "工单待答复：养殖场排污影响邻居");
    assert!(r[0].body.ends_with("14:00前答复。"), "{}", r[0].body);
    // Late, the next day: said so.
    let r = about(&desk.due_reminders(reply_by + DAY)?);
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].kind, ReminderKind::OrderReply);
    assert!(r[0].body.contains("已超过答复期限"), "{}", r[0].body);
    // Replied to: the order is reminded of no more (the case itself may still be due).
    desk.act(
        &ActInput {
            case: case.clone(),
            action: Action::ReplyOrder {
                reply: "已约双方到村委会调解，养殖场承诺三日内整改排污管道。".to_owned(),
            },
        },
        reply_by + DAY + HOUR,
    )?;
    let r = about(&desk.due_reminders(reply_by + 2 * DAY)?);
    assert!(
        r.iter()
            .all(|r| !matches!(r.kind, ReminderKind::OrderToSign | ReminderKind::OrderReply)),
        "{r:?}"
    );
    Ok(())
}
