//! End to end, in the real app window (Tauri + WebKitGTK under Xvfb, driven over WebDriver by
//! tauri-driver), against a real sync server on loopback: a grid worker's phone and the
//! township's desk play a dispute through the loop, then the phone works offline and catches up
//! by itself. Screenshots of each main screen are saved at phone size (see `window.rs`).

use crate::sync::{GW, STAFF};
use anyhow::Context;
use fantoccini::Locator;
use std::time::{Duration, Instant};
use system_tests::window::AppWindow;
use system_tests::{now_ms, Server};

const TITLE: &str = "排水沟堵塞纠纷";
const APPLICANT: &str = "周建国";
const OFFLINE_TITLE: &str = "断网时上报的宅基地纠纷";

/// Taps the first element matching `css` whose text contains `needle`.
async fn tap_text(w: &AppWindow, css: &str, needle: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + system_tests::window::PATIENCE;
    loop {
        for e in w
            .client
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_default()
        {
            if e.text().await.unwrap_or_default().contains(needle) {
                // The screen scrolls inside its own container: bring the row into view. A screen
                // that re-renders (a background sync every second) between finding and tapping
                // leaves a stale element: find it again.
                w.scroll_to(&e).await?;
                match e.click().await {
                    Ok(()) => return Ok(()),
                    Err(err) if Instant::now() < deadline => {
                        eprintln!("{}: tap `{css}` `{needle}` failed ({err:?}); again", w.name);
                        break;
                    }
                    Err(err) => {
                        return Err(err)
                            .with_context(|| format!("{}: tap `{css}` `{needle}`", w.name))
                    }
                }
            }
        }
        anyhow::ensure!(Instant::now() < deadline, "no `{css}` says `{needle}`");
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

async fn count(w: &AppWindow, css: &str) -> usize {
    w.client
        .find_all(Locator::Css(css))
        .await
        .map(|v| v.len())
        .unwrap_or(0)
}

/// The first number in a text ("12/13 = 92.3%" → 12).
fn leading_number(text: &str) -> anyhow::Result<u64> {
    let digits: String = text
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits
        .parse()
        .with_context(|| format!("no number in `{text}`"))
}

/// Fills the report form's fields (the form is already open).
async fn fill_report(w: &AppWindow, title: &str, applicant: &str) -> anyhow::Result<()> {
    w.fill("#report-title", title).await?;
    w.choose("#report-category", "neighbour").await?;
    w.fill(
        "#report-narrative",
        "两户因排水沟堵塞，雨天积水流入邻家院内，多次争吵。",
    )
    .await?;
    w.fill("#report-address", "丰江村三巷8号").await?;
    w.fill("#report-parties-0--name", applicant).await?;
    w.fill("#report-parties-0--phone", "13800138000").await?;
    w.fill("#report-parties-1--name", "李秀英").await?;
    Ok(())
}

/// Saves the report form. The form first looks for other cases of the same parties on the
/// device; if it shows some, the report is saved anyway (仍然上报). Answers whether it did.
async fn save_report(w: &AppWindow, title: &str) -> anyhow::Result<bool> {
    w.tap("#report-save").await?;
    let deadline = Instant::now() + system_tests::window::PATIENCE;
    loop {
        if count(w, "#report-anyway").await > 0 {
            w.screenshot("report-matches").await?;
            w.tap("#report-anyway").await?;
            w.wait_text("#case-title", title).await?;
            return Ok(true);
        }
        if count(w, "#case-title").await > 0 && w.text("#case-title").await?.contains(title) {
            return Ok(false);
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the report `{title}` never saved"
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

/// Runs one workflow step from the case screen: opens its form, lets `fill` complete it,
/// submits, and waits for the status to say `status`.
async fn act(w: &AppWindow, code: &str, note: &str, status: &str) -> anyhow::Result<()> {
    w.tap(&format!("#action-{code}")).await?;
    if count(w, "#act-note").await > 0 {
        w.fill("#act-note", note).await?;
    }
    w.tap("#act-submit").await?;
    w.wait_text("#case-status", status)
        .await
        .with_context(|| format!("after {code}"))?;
    Ok(())
}

/// Waits until the first number `css` shows satisfies `ok`; returns it.
async fn wait_number(
    w: &AppWindow,
    css: &str,
    what: &str,
    ok: impl Fn(u64) -> bool,
) -> anyhow::Result<u64> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = w.text(css).await?;
        if let Ok(n) = leading_number(&text) {
            if ok(n) {
                return Ok(n);
            }
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "`{css}` never showed {what}: `{text}`"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn sync_now(w: &AppWindow) -> anyhow::Result<()> {
    w.tap("#nav-sync").await?;
    w.tap("#sync-now").await?;
    wait_number(w, "#sync-waiting", "nothing waiting", |n| n == 0).await?;
    Ok(())
}

async fn open_case(w: &AppWindow, search: &str) -> anyhow::Result<()> {
    w.tap("#nav-cases").await?;
    w.fill("#cases-search", search).await?;
    tap_text(w, ".case-row", search).await?;
    w.wait("#case-title").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_e2e_phone_and_desk_settle_a_dispute_and_the_phone_catches_up_offline(
) -> anyhow::Result<()> {
    let server_dir = tempfile::tempdir()?;
    let mut server = Server::start(server_dir.path(), 40)?;
    let fast_sync = ("FENGQIAO_SYNC_SECS", "1".to_owned());

    // The grid worker enrols the phone with the one-time code.
    let phone = AppWindow::launch("phone", std::slice::from_ref(&fast_sync)).await?;
    phone.wait("#enrol-server").await?;
    phone.fill("#enrol-server", &server.url()).await?;
    phone.fill("#enrol-code", &server.code_for(GW)?).await?;
    phone.screenshot("enrol").await?;
    phone.tap("#enrol-submit").await?;
    phone.wait("#today").await?;
    phone.wait(".household-row").await?;
    phone.screenshot("today").await?;
    // English is one tap away, and back.
    phone.tap("#lang-switch").await?;
    phone.wait_text("#nav-today", "Today").await?;
    phone.screenshot("today-en").await?;
    phone.tap("#lang-switch").await?;
    phone.wait_text("#nav-today", "今日").await?;

    // An "all safe" visit is one tap.
    phone.tap("#nav-households").await?;
    phone.tap(".household-row").await?;
    phone.wait("#visit-all-safe").await?;
    let visits = count(&phone, ".visit-row").await;
    phone.tap("#visit-all-safe").await?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while count(&phone, ".visit-row").await <= visits {
        anyhow::ensure!(Instant::now() < deadline, "the all-safe visit never showed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    phone.screenshot("household").await?;

    // A visit that finds a dispute: the report form, saved as a case.
    phone.tap("#nav-households").await?;
    phone.tap(".household-row").await?;
    phone.tap("#visit-dispute").await?;
    phone.wait("#report-title").await?;
    fill_report(&phone, TITLE, APPLICANT).await?;
    phone.screenshot("report").await?;
    save_report(&phone, TITLE).await?;
    // A photo of the blocked ditch, attached on the spot.
    let photo = system_tests::window::workspace_root().join("src-tauri/icons/128x128.png");
    phone.upload("#case-photo", &photo).await?;
    phone
        .wait_text("#case-photos .photo-row", "128x128.png")
        .await?;
    phone.screenshot("case-reported").await?;
    sync_now(&phone).await?;
    phone.screenshot("sync").await?;

    // The township's desk, enrolled on first start, finds the report in its queue.
    let desk = AppWindow::launch(
        "desk",
        &[
            ("FENGQIAO_SERVER", server.url()),
            ("FENGQIAO_ENROL_CODE", server.code_for(STAFF)?),
            fast_sync.clone(),
        ],
    )
    .await?;
    desk.wait_text("#today-to-assess", TITLE).await?;
    desk.screenshot("today").await?;
    desk.tap("#today-roster").await?;
    desk.wait(".roster-row").await?;
    desk.screenshot("roster").await?;
    desk.tap("#nav-today").await?;
    tap_text(&desk, "#today-to-assess .case-row", TITLE).await?;
    desk.wait_text("#case-title", TITLE).await?;
    // The phone's photo came with the sync: the desk shows it.
    desk.tap("#case-photos .photo-show").await?;
    desk.wait("#case-photos img.photo").await?;
    desk.tap("#action-assess").await?;
    desk.choose_index("#act-difficulty", 0).await?;
    desk.fill("#act-note", "邻里纠纷，事实清楚").await?;
    desk.tap("#act-submit").await?;
    desk.wait_text("#case-status", "待分流").await?;
    desk.tap("#action-assign").await?;
    desk.wait("#act-mediator").await?;
    desk.choose_index("#act-mediator", 0).await?;
    desk.tap("#act-chosen-by-parties").await?;
    desk.tap("#act-submit").await?;
    desk.wait_text("#case-status", "已分流").await?;
    desk.screenshot("case-assigned").await?;
    sync_now(&desk).await?;

    // The phone syncs and sees the assignment.
    sync_now(&phone).await?;
    open_case(&phone, APPLICANT).await?;
    phone.wait_text("#case-status", "已分流").await?;
    phone.screenshot("case-assigned").await?;

    // The desk records the mediation, the resolution and the follow-up; the figures move.
    desk.tap("#nav-figures").await?;
    let resolved_before = leading_number(&desk.text("#figures-resolved").await?)?;
    open_case(&desk, APPLICANT).await?;
    act(&desk, "record_session", "在村委会调解室调解", "调处中").await?;
    act(&desk, "resolve", "双方同意共同疏通排水沟", "调解成功").await?;
    desk.tap("#action-follow_up").await?;
    desk.choose_index("#act-satisfaction", 0).await?;
    desk.fill("#act-note", "电话回访，双方满意").await?;
    desk.tap("#act-submit").await?;
    desk.wait_text("#case-timeline", "回访").await?;
    desk.screenshot("case-resolved").await?;
    desk.tap("#nav-figures").await?;
    wait_number(&desk, "#figures-resolved", "one more resolved", |n| {
        n == resolved_before + 1
    })
    .await?;
    desk.wait("#chart-category").await?;
    desk.screenshot("figures").await?;
    sync_now(&desk).await?;
    desk.close().await?;

    // Offline: the server stops; the phone still records, and says it is waiting.
    server.kill();
    phone.tap("#nav-report").await?;
    fill_report(&phone, OFFLINE_TITLE, "黄志明").await?;
    // The same phone number as the first report's applicant: the form shows that case before
    // saving, from the phone's own store, with no network.
    assert!(
        save_report(&phone, OFFLINE_TITLE).await?,
        "the form showed the earlier case of the same phone"
    );
    // The case screen lists it too.
    phone
        .wait_text("#matches .match-row", TITLE)
        .await
        .context("the case screen lists the earlier case of the same phone")?;
    phone.screenshot("case-matches").await?;
    phone.tap("#nav-sync").await?;
    wait_number(&phone, "#sync-waiting", "changes waiting", |n| n > 0).await?;
    phone.screenshot("offline").await?;

    // The server returns; the phone catches up by itself.
    server.restart()?;
    wait_number(&phone, "#sync-waiting", "nothing waiting", |n| n == 0).await?;
    let on_server = server.store()?.list(
        &app_core::store::CaseFilter {
            search: Some(OFFLINE_TITLE.into()),
            ..Default::default()
        },
        now_ms(),
    )?;
    assert_eq!(on_server.len(), 1, "the offline report reached the server");
    phone.close().await?;
    Ok(())
}
