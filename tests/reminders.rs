//! Reminders (提醒) on the app's sessions: a grid worker's phone that has lost its server still
//! reminds of the case that falls due and overdue meanwhile, once a local day, and of a
//! supervision it received before; turned off, it reminds of nothing.

use crate::sync::new_case;
use crate::tier::start;
use app_core::ids::UnitId;
use app_core::model::{Action, SuperviseLevel};
use app_core::reminders::ReminderKind;
use app_core::screens::ActInput;
use app_core::session::Session;
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
