//! The centre's desk at 1366×768, in the real app window (Tauri + WebKitGTK under Xvfb, driven
//! over WebDriver) against a real sync server with the demo's cases: the case list and the open
//! case side by side, the ledger (台账) sorted by a clicked column, an export whose figures are
//! the figures screen's and whose ID numbers are masked for centre staff, and the export log.
//! Screenshots `desk-wide-*.png` go to `<target>/e2e-screenshots/` (the phone-sized desk of
//! `app_e2e` leaves `desk-*.png` too).
//!
//! The export's native save dialog is the platform's (GTK's) own window, which WebDriver cannot
//! drive. The exports whose files are checked call the very command the export button calls
//! after the dialog (`export_paperwork`, through the window's `window.__TAURI__.core.invoke`,
//! which the app's configuration enables), with a path in a temporary directory where the
//! dialog would have given the person's choice; everything after the dialog (the command, the
//! session, the paperwork code, the file and the log) is the app's real path. Once, the button
//! itself is pressed and its GTK dialog answered with X keyboard events (xdotool): the
//! capability, the dialog plugin and the button's wiring are the real ones too.
//!
//! Beside it, the desk's exports through the session alone (no window): the centre's leader
//! gets whole ID numbers, a grid worker is refused.

use crate::sync::{GW, STAFF};
use anyhow::Context;
use app_core::deadline::LocalTime;
use app_core::identity::ResidentId;
use app_core::screens::{DeskDocument, ExportFormat, ExportInput};
use app_core::session::Session;
use calamine::Data;
use fantoccini::Locator;
use std::time::{Duration, Instant};
use system_tests::window::{AppWindow, PATIENCE};
use system_tests::{now_ms, Server};

const LEADER: &str = "haiyan-leader";

/// The figures screen's "all time" period, as the interface computes it (`time::Period::All`):
/// from the epoch to the end of today, China Standard Time.
fn all_time(now: i64) -> (i64, i64) {
    let today = LocalTime::CHINA.date(now);
    (
        0,
        LocalTime::CHINA.midnight(today + chrono::Duration::days(1)),
    )
}

async fn texts(w: &AppWindow, css: &str) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    for e in w.client.find_all(Locator::Css(css)).await? {
        out.push(e.text().await?);
    }
    Ok(out)
}

/// Waits until the cells `css` read in the order `ordered` accepts (the table re-renders after a
/// click); returns them.
async fn wait_cells(
    w: &AppWindow,
    css: &str,
    what: &str,
    ordered: impl Fn(&[String]) -> bool,
) -> anyhow::Result<Vec<String>> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let cells = texts(w, css).await.unwrap_or_default();
        if cells.len() > 1 && ordered(&cells) {
            return Ok(cells);
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "`{css}` never read {what}: {cells:?}"
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

/// Calls a command of the app as the interface does, in the window; its answer or its refusal.
async fn invoke(
    w: &AppWindow,
    cmd: &str,
    args: serde_json::Value,
) -> anyhow::Result<Result<serde_json::Value, serde_json::Value>> {
    let got = w
        .client
        .execute_async(
            "const [cmd, args, done] = arguments;
             window.__TAURI__.core.invoke(cmd, args).then(
                 (ok) => done({ ok }),
                 (err) => done({ err }));",
            vec![cmd.into(), args],
        )
        .await
        .with_context(|| format!("invoke {cmd}"))?;
    Ok(match got.get("ok") {
        Some(ok) => Ok(ok.clone()),
        None => Err(got.get("err").cloned().unwrap_or_default()),
    })
}

/// Waits until the element's whole text is `expected`.
async fn wait_equal(w: &AppWindow, css: &str, expected: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let text = w.text(css).await?;
        if text.trim() == expected {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "`{css}` never read `{expected}` (last: `{text}`)"
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

/// Syncs from the sync screen and waits until nothing waits to be sent.
async fn sync_now(w: &AppWindow) -> anyhow::Result<()> {
    w.tap("#nav-sync").await?;
    w.tap("#sync-now").await?;
    let deadline = Instant::now() + PATIENCE;
    loop {
        let text = w.text("#sync-waiting").await?;
        let n: String = text
            .chars()
            .skip_while(|c| !c.is_ascii_digit())
            .take_while(|c| c.is_ascii_digit())
            .collect();
        if n == "0" {
            return Ok(());
        }
        anyhow::ensure!(Instant::now() < deadline, "still waiting: `{text}`");
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

/// Rows of a query on the app's store, read while the app runs (a read-only connection: the
/// store is in WAL mode).
fn read_rows<T>(
    store: &std::path::Path,
    sql: &str,
    row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> anyhow::Result<Vec<T>> {
    let conn =
        rusqlite::Connection::open_with_flags(store, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map([], row)?.collect::<Result<Vec<T>, _>>()?;
    Ok(rows)
}

fn overview_value(overview: &[Vec<Data>], label: &str) -> anyhow::Result<Data> {
    overview
        .iter()
        .find(|r| r.first().map(crate::paperwork::text).as_deref() == Some(label))
        .and_then(|r| r.get(1).cloned())
        .with_context(|| format!("the overview has no `{label}`"))
}

fn overview_rate(overview: &[Vec<Data>], label: &str) -> anyhow::Result<String> {
    overview
        .iter()
        .find(|r| r.first().map(crate::paperwork::text).as_deref() == Some(label))
        .and_then(|r| r.get(2).map(crate::paperwork::text))
        .with_context(|| format!("the overview has no `{label}`"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_e2e_desk_shows_cases_side_by_side_sorts_the_ledger_and_exports_masked_figures(
) -> anyhow::Result<()> {
    let server_dir = tempfile::tempdir()?;
    let server = Server::start(server_dir.path(), 40)?;
    let desk = AppWindow::launch(
        "desk",
        &[
            ("FENGQIAO_SERVER", server.url()),
            ("FENGQIAO_ENROL_CODE", server.code_for(STAFF)?),
            // A desk's screen; the phone's size is the configuration's default.
            ("FENGQIAO_WINDOW", "1366x768".to_owned()),
            // No background sync while the test reads: it syncs when it says so.
            ("FENGQIAO_SYNC_SECS", "600".to_owned()),
        ],
    )
    .await?;
    desk.wait("#today").await?;
    let width = desk
        .client
        .execute("return window.innerWidth;", vec![])
        .await?
        .as_f64()
        .unwrap_or_default();
    anyhow::ensure!(
        width >= 1024.0,
        "the window is desk-wide (1366 asked): {width}"
    );
    sync_now(&desk).await?;

    // Cases: the list, and a case beside it.
    desk.tap("#nav-cases").await?;
    desk.wait("#desk-list .case-row").await?;
    desk.wait("#desk-pick").await?;
    desk.screenshot("wide-cases").await?;
    let first = desk.wait("#desk-list .case-row").await?;
    let title = first
        .find(Locator::Css(".case-title"))
        .await?
        .text()
        .await?;
    first.click().await?;
    desk.wait_text("#case-title", &title).await?;
    let list = desk.wait("#desk-list .case-row").await?;
    let case = desk.wait("#case-title").await?;
    anyhow::ensure!(
        list.is_displayed().await? && case.is_displayed().await?,
        "the list and the case are both shown"
    );
    let (lx, _, lw, _) = desk.wait("#desk-list").await?.rectangle().await?;
    let (cx, _, cw, _) = desk.wait("#desk-case").await?.rectangle().await?;
    anyhow::ensure!(
        lx + lw <= cx && cx + cw <= width + 1.0,
        "the list ({lx}+{lw}) is left of the case ({cx}+{cw}), both on screen ({width})"
    );
    anyhow::ensure!(
        desk.client
            .find(Locator::Css("#nav-ledger"))
            .await?
            .is_displayed()
            .await?,
        "centre staff get the ledger on a desk"
    );
    desk.screenshot("wide-case").await?;

    // The ledger: a table, sorted by the column clicked, and again the other way round.
    desk.tap("#nav-ledger").await?;
    desk.choose("#ledger-period", "all").await?;
    // All time is the last ten years (3,660 days) of a ledger.
    let first_day = LocalTime::CHINA.date(now_ms()) - chrono::Duration::days(3_659);
    desk.wait_text("#ledger-days", &first_day.to_string())
        .await?;
    desk.wait("#ledger-table .ledger-row").await?;
    let reported = ".ledger-row td.col-reported";
    wait_cells(&desk, reported, "report dates ascending", |c| {
        c.windows(2).all(|p| p[0] <= p[1])
    })
    .await?;
    desk.tap("#ledger-sort-reported").await?;
    let down = wait_cells(&desk, reported, "report dates descending", |c| {
        c.windows(2).all(|p| p[0] >= p[1])
    })
    .await?;
    anyhow::ensure!(
        down.first() != down.last(),
        "the demo's cases span several days: {down:?}"
    );
    desk.tap("#ledger-sort-category").await?;
    let categories = wait_cells(
        &desk,
        ".ledger-row td.col-category",
        "categories in order",
        |c| c.windows(2).all(|p| p[0] <= p[1]),
    )
    .await?;
    let lines = categories.len();
    desk.wait_text("#ledger-ids", "脱敏").await?;
    desk.screenshot("wide-ledger").await?;

    // The export the 台账 XLSX button makes, once the dialog has given a path.
    let out = tempfile::tempdir()?;
    let path = out.path().join("海宴镇-台账.xlsx");
    let (from, to) = all_time(now_ms());
    let input = ExportInput {
        document: DeskDocument::Ledger,
        format: ExportFormat::Xlsx,
        from,
        to,
        path: path.to_string_lossy().into_owned(),
    };
    let done = invoke(
        &desk,
        "export_paperwork",
        serde_json::json!({ "export": input }),
    )
    .await?
    .map_err(|e| anyhow::anyhow!("the export was refused: {e}"))?;
    assert_eq!(done["ids"], "masked", "{done}");
    assert_eq!(done["cases"].as_u64(), Some(lines as u64), "{done}");
    let bytes = std::fs::read(&path).context("the export wrote the file")?;

    // Its figures are the figures screen's for the same days.
    let overview = crate::paperwork::rows(&bytes, "概况");
    desk.tap("#nav-figures").await?;
    desk.choose("#figures-period", "all").await?;
    // The screen reloads for the new period: wait until it shows the file's numbers.
    for (id, label) in [
        ("#figures-received", "受理"),
        ("#figures-resolved", "化解（调解成功）"),
        ("#figures-open", "在办"),
        ("#figures-overdue", "其中超期"),
        ("#figures-supervised", "督办"),
        ("#figures-escalated", "上报上级"),
    ] {
        let written = crate::paperwork::number(&overview_value(&overview, label)?);
        wait_equal(&desk, id, &written.to_string())
            .await
            .with_context(|| format!("{label}: the figures screen and the exported ledger"))?;
    }
    for (id, label) in [
        ("#figures-resolution-rate", "化解率"),
        ("#figures-on-time-rate", "按期办结率"),
        ("#figures-satisfaction-rate", "回访满意率"),
    ] {
        wait_equal(&desk, id, &overview_rate(&overview, label)?)
            .await
            .with_context(|| format!("{label}: the figures screen and the exported ledger"))?;
    }
    assert_eq!(
        crate::paperwork::number(&overview_value(&overview, "受理")?),
        lines as u64,
        "the ledger lists every case it counts"
    );
    desk.screenshot("wide-figures").await?;
    // The charts side by side.
    let (mx, my, _, _) = desk.reveal("#chart-month").await?.rectangle().await?;
    let (ux, uy, _, _) = desk.wait("#chart-unit").await?.rectangle().await?;
    let (kx, ky, _, _) = desk.wait("#chart-category").await?.rectangle().await?;
    anyhow::ensure!(
        (ky - my).abs() < 1.0 && (uy - my).abs() < 1.0 && kx < mx && mx < ux,
        "the charts stand side by side: category ({kx},{ky}) month ({mx},{my}) unit ({ux},{uy})"
    );
    desk.screenshot("wide-figures-charts").await?;

    // ID numbers: the desk's store holds them whole; the file has them masked only.
    let store = desk.data.path().join("fengqiao.sqlite3");
    let whole = read_rows(
        &store,
        "SELECT resident_id FROM case_parties WHERE resident_id IS NOT NULL",
        |r| r.get::<_, String>(0),
    )?;
    anyhow::ensure!(
        !whole.is_empty(),
        "the desk holds parties' ID numbers (the demo gives them)"
    );
    let ledger = crate::paperwork::rows(&bytes, "台账");
    let cells: String = ledger
        .iter()
        .flatten()
        .map(crate::paperwork::text)
        .collect::<Vec<_>>()
        .join("\n");
    let mut masked_seen = 0;
    for id in &whole {
        assert!(!cells.contains(id.as_str()), "{id} is in the file whole");
        if let Ok(r) = ResidentId::parse(id) {
            if cells.contains(&r.masked()) {
                masked_seen += 1;
            }
        }
    }
    anyhow::ensure!(masked_seen > 0, "the file names parties by masked numbers");

    // A report as PDF, the same way (the monthly notice's button).
    let pdf = out.path().join("每月通报.pdf");
    let monthly = ExportInput {
        document: DeskDocument::Monthly,
        format: ExportFormat::Pdf,
        from,
        to,
        path: pdf.to_string_lossy().into_owned(),
    };
    invoke(
        &desk,
        "export_paperwork",
        serde_json::json!({ "export": monthly }),
    )
    .await?
    .map_err(|e| anyhow::anyhow!("the report was refused: {e}"))?;
    assert!(std::fs::read(&pdf)?.starts_with(b"%PDF"), "a PDF");

    // Both exports are logged on the desk: who, what, the days, masked or not, the file.
    let logged = read_rows(
        &store,
        "SELECT person, kind, ids, path FROM desk_exports ORDER BY id",
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        },
    )?;
    assert_eq!(
        logged,
        [
            (
                STAFF.to_owned(),
                "ledger".to_owned(),
                "masked".to_owned(),
                input.path.clone()
            ),
            (
                STAFF.to_owned(),
                "report_monthly".to_owned(),
                "none".to_owned(),
                monthly.path.clone()
            ),
        ]
    );

    // The button itself, with the platform's save dialog answered as a person would: xdotool
    // (X's keyboard) types a path into the GTK dialog the button opened and presses Enter.
    desk.tap("#nav-ledger").await?;
    desk.wait("#ledger-table .ledger-row").await?;
    desk.tap("#export-quarterly-xlsx").await?;
    let chosen = out.path().join("quarterly.xlsx");
    answer_save_dialog("XLSX", &chosen).await?;
    desk.wait_text("#ledger-export-status", "quarterly.xlsx")
        .await
        .context("the button's export says where it wrote")?;
    let quarterly = std::fs::read(&chosen).context("the button's export wrote the file")?;
    let book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(quarterly)).context("an XLSX")?;
    assert!(
        !calamine::Reader::sheet_names(&book).is_empty(),
        "the report has its sheets"
    );
    let kinds = read_rows(
        &store,
        "SELECT kind, path FROM desk_exports ORDER BY id",
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
    )?;
    assert_eq!(
        kinds.last(),
        Some(&(
            "report_quarterly".to_owned(),
            chosen.to_string_lossy().into_owned()
        )),
        "the button's export is logged"
    );
    desk.screenshot("wide-ledger-exported").await?;
    desk.close().await?;
    Ok(())
}

/// Answers the platform's save dialog (a GTK window whose title contains `title`) with `path`:
/// waits for the window, focuses it, selects the name field's text and types the path, then
/// presses Enter until the dialog is gone. (`xdotool`, installed by `.ci/setup`, sends X
/// keyboard events on the test's display.) GTK may take the first Enter for its completion
/// popup, or ignore it while it reads the typed folder, which no event tells: Enter is pressed
/// again only while the dialog is still shown, so no key ever reaches the window behind it.
async fn answer_save_dialog(title: &str, path: &std::path::Path) -> anyhow::Result<()> {
    let path = path.to_str().context("an ASCII path")?.to_owned();
    let title = title.to_owned();
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let xdotool = |args: &[&str]| -> anyhow::Result<String> {
            let out = std::process::Command::new("timeout")
                .arg(PATIENCE.as_secs().to_string())
                .arg("xdotool")
                .args(args)
                .output()
                .context("run xdotool (installed by .ci/setup)")?;
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        };
        let shown = || -> anyhow::Result<Vec<String>> {
            Ok(xdotool(&["search", "--onlyvisible", "--name", &title])?
                .lines()
                .map(str::to_owned)
                .collect())
        };
        let found = xdotool(&["search", "--sync", "--onlyvisible", "--name", &title])?;
        let dialog = found
            .lines()
            .next()
            .with_context(|| format!("no save dialog `{title}` appeared"))?
            .to_owned();
        xdotool(&["windowfocus", "--sync", &dialog])?;
        xdotool(&["key", "--clearmodifiers", "ctrl+a"])?;
        xdotool(&["type", "--delay", "20", &path])?;
        let deadline = Instant::now() + PATIENCE;
        while shown()?.contains(&dialog) {
            anyhow::ensure!(Instant::now() < deadline, "the save dialog never closed");
            xdotool(&["windowfocus", "--sync", &dialog])?;
            xdotool(&["key", "Return"])?;
            let pressed = Instant::now();
            while shown()?.contains(&dialog) && pressed.elapsed() < Duration::from_secs(2) {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        Ok(())
    })
    .await?
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn desk_exports_show_whole_ids_to_the_leader_only_and_refuse_a_grid_worker(
) -> anyhow::Result<()> {
    let server_dir = tempfile::tempdir()?;
    let server = Server::start(server_dir.path(), 30)?;
    let dir = tempfile::tempdir()?;
    let leader = Session::open(dir.path().join("leader.sqlite3"))?;
    leader
        .enrol(&server.url(), &server.code_for(LEADER)?, "主任的电脑")
        .await?;
    leader.sync_now().await?;
    let gw = Session::open(dir.path().join("gw.sqlite3"))?;
    gw.enrol(&server.url(), &server.code_for(GW)?, "网格员的手机")
        .await?;

    let now = now_ms();
    let (from, to) = all_time(now);
    let screen = leader.ledger(from, to, now)?;
    assert!(!screen.masked, "the centre's leader sees whole numbers");
    let path = dir.path().join("台账");
    let done = leader.export_paperwork(
        &ExportInput {
            document: DeskDocument::Ledger,
            format: ExportFormat::Xlsx,
            from,
            to,
            path: path.to_string_lossy().into_owned(),
        },
        now,
    )?;
    assert_eq!(done.ids, "full");
    assert!(
        done.path.ends_with("台账.xlsx"),
        "the extension is added: {}",
        done.path
    );
    let bytes = std::fs::read(&done.path)?;
    let ledger = crate::paperwork::rows(&bytes, "台账");
    let whole = ledger[1..]
        .iter()
        .filter(|r| {
            crate::paperwork::text(&r[4])
                .split(['（', '）'])
                .any(|p| p.len() == 18 && p[..17].chars().all(|c| c.is_ascii_digit()))
        })
        .count();
    assert!(whole > 0, "the leader's ledger has whole ID numbers");
    assert_eq!(leader.desk_exports(10)?.len(), 1);

    let refused = gw.ledger(from, to, now).unwrap_err();
    assert!(refused.zh().contains("导出台账"), "{}", refused.zh());
    let refused = gw
        .export_paperwork(
            &ExportInput {
                document: DeskDocument::Weekly,
                format: ExportFormat::Pdf,
                from,
                to,
                path: dir.path().join("周报.pdf").to_string_lossy().into_owned(),
            },
            now,
        )
        .unwrap_err();
    assert!(refused.en().contains("may not"), "{}", refused.en());
    assert!(!dir.path().join("周报.pdf").exists(), "nothing written");
    assert!(gw.desk_exports(10)?.is_empty(), "nothing logged");
    Ok(())
}
