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

/// The images in a PDF (not their transparency masks), as `pdfimages -list` gives their sizes.
fn pdf_images(pdf: &[u8]) -> anyhow::Result<Vec<(u32, u32)>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("doc.pdf");
    std::fs::write(&path, pdf)?;
    let out = std::process::Command::new("pdfimages")
        .arg("-list")
        .arg(&path)
        .output()?;
    anyhow::ensure!(out.status.success(), "pdfimages refused the file");
    Ok(String::from_utf8(out.stdout)?
        .lines()
        .skip(2)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.get(2) == Some(&"image")).then(|| Some((f[3].parse().ok()?, f[4].parse().ok()?)))
        })
        .flatten()
        .collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_e2e_an_agreement_signed_in_the_courtyard_with_no_signal_prints_with_both_signatures(
) -> anyhow::Result<()> {
    const SETTLED: &str = "院内排水沟纠纷";
    let server_dir = tempfile::tempdir()?;
    let mut server = Server::start(server_dir.path(), 10)?;
    let phone = AppWindow::launch("signing", &[("FENGQIAO_SYNC_SECS", "1".to_owned())]).await?;
    phone.wait("#enrol-server").await?;
    phone.fill("#enrol-server", &server.url()).await?;
    phone.fill("#enrol-code", &server.code_for(GW)?).await?;
    phone.tap("#enrol-submit").await?;
    phone.wait("#today").await?;

    // In the courtyard, no signal: the grid worker reports the dispute and settles it there.
    server.kill();
    phone.tap("#nav-report").await?;
    fill_report(&phone, SETTLED, "周建华").await?;
    save_report(&phone, SETTLED).await?;
    phone.tap("#action-resolve").await?;
    phone
        .fill(
            "#act-agreement",
            "李秀英家三日内疏通排水沟；周建华承担疏通材料费三百元",
        )
        .await?;
    phone
        .fill(
            "#act-performance",
            "签订之日起三日内履行完毕，网格员回访见证",
        )
        .await?;
    // Each party signs with a finger on their own pad.
    let pads = [
        "#act-signatures .signature:nth-of-type(1) canvas",
        "#act-signatures .signature:nth-of-type(2) canvas",
    ];
    for (i, pad) in pads.iter().enumerate() {
        let w = 40 + 10 * i as i64;
        phone
            .draw(
                pad,
                &[
                    (-120, 10),
                    (-80, -25),
                    (-w, 20),
                    (0, -20),
                    (w, 25),
                    (110, -15),
                ],
            )
            .await?;
        phone.draw(pad, &[(-60, 30), (60, 30)]).await?;
    }
    let deadline = Instant::now() + system_tests::window::PATIENCE;
    while count(&phone, "#act-signatures .signature.signed").await < 2 {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the pads never took both signatures"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    phone.screenshot("signatures").await?;
    phone.tap("#act-submit").await?;
    phone.wait_text("#case-status", "调解成功").await?;
    // The drawings are kept with the case like photos.
    phone.wait_text("#case-photos", "签名-周建华.png").await?;
    phone.wait_text("#case-photos", "签名-李秀英.png").await?;
    phone.screenshot("resolved-offline").await?;

    // Back in signal: the case and both drawings reach the centre by themselves.
    server.restart()?;
    let (id, shas) = {
        let deadline = Instant::now() + system_tests::window::PATIENCE;
        loop {
            let store = server.store()?;
            let found = store.list(
                &app_core::store::CaseFilter {
                    search: Some(SETTLED.into()),
                    ..Default::default()
                },
                now_ms(),
            )?;
            if let Some(row) = found.first() {
                let view = store.case(&row.id)?;
                let agreement = view.folded.state.as_ref().and_then(|s| s.agreement.clone());
                if let Some(a) = agreement {
                    let shas: Vec<String> = a
                        .signatures
                        .iter()
                        .filter_map(|s| {
                            view.document
                                .attachments
                                .iter()
                                .find(|x| x.id == s.attachment)
                                .map(|x| x.sha256.clone())
                        })
                        .collect();
                    let here = shas
                        .iter()
                        .filter(|sha| store.blob(sha).ok().flatten().is_some())
                        .count();
                    if shas.len() == 2 && here == 2 {
                        break (row.id.clone(), shas);
                    }
                }
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "the signed agreement and both drawings never reached the server"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    assert_ne!(shas[0], shas[1], "each party drew their own");

    // The centre prints the agreement with both signatures drawn in.
    let staff = system_tests::Device::enrol(&server, STAFF).await?;
    let token = staff.client.credentials().token.clone();
    let pdf = crate::paperwork::download(&server, &format!("/v1/cases/{id}/agreement.pdf"), &token)
        .await?;
    assert_eq!(pdf.status, 200, "{}", String::from_utf8_lossy(&pdf.bytes));
    // Two drawings, each cut to its strokes from the pad's 600 × 220 (app-ui's signature_pad).
    let images = pdf_images(&pdf.bytes)?;
    assert_eq!(images.len(), 2, "{images:?}");
    for (w, h) in images {
        assert!((100..600).contains(&w) && (20..220).contains(&h), "{w}×{h}");
    }
    let text = crate::paperwork::read_pdf(&pdf.bytes, "paper-agreement-signed")?;
    for words in [
        "1.李秀英家三日内疏通排水沟。",
        "2.周建华承担疏通材料费三百元。",
        "签订之日起三日内履行完毕，网格员回访见证",
        "当事人签名系在调解现场于移动设备上手写",
        "周建华",
        "李秀英",
    ] {
        assert!(text.contains(words), "`{words}` not in {text}");
    }
    phone.close().await?;
    Ok(())
}
