//! The app with 10,000 cases in its store: how fast each screen is, in the core (the command a
//! screen calls) and in the real window (WebKitGTK under Xvfb, measured in the page). Prints
//! its figures; the goals are under 1 s from start to a usable today screen and under 100 ms for
//! a filter or for a case with 50 timeline entries to open.
//!
//! ```text
//! xvfb-run -a cargo run --release -p system-tests --bin ui_bench -- [--cases 10000] [--runs 7] [--keep DIR]
//! ```
//!
//! A release sync server with the demo township and `--cases` cases; township staff's device
//! enrols and takes the whole caseload (the centre sees every case of its villages); one case
//! is taken to 50 timeline entries. Then the app window starts over that store.

use anyhow::Context;
use app_core::model::{Action, SessionMode};
use app_core::screens::{ActInput, CaseQuery};
use app_core::session::Session;
use app_core::workflow::Status;
use fantoccini::Locator;
use std::time::{Duration, Instant};
use system_tests::window::AppWindow;
use system_tests::{now_ms, Server};

const STAFF: &str = "haiyan-staff1";

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Runs `script` in the page (WebDriver execute_async; the callback is the last argument) and
/// reads the number it reports.
async fn in_page(
    w: &AppWindow,
    what: &str,
    script: &str,
    args: Vec<serde_json::Value>,
) -> anyhow::Result<f64> {
    let v = match w.client.execute_async(script, args).await {
        Ok(v) => v,
        Err(e) => {
            let shot = w.screenshot(&format!("bench-{what}")).await;
            anyhow::bail!("{what}: {e} (screen: {shot:?})");
        }
    };
    v.as_f64()
        .with_context(|| format!("the page answered {v} instead of a duration"))
}

/// Chooses a status in the list's filter and times, in the page, until every row shown has
/// that status (the list has re-rendered) and the next frame is painted.
const FILTER: &str = r#"
const [css, value, label, cb] = arguments;
const select = document.querySelector(css);
const done = () => {
  const rows = [...document.querySelectorAll('.case-row .case-status')];
  return rows.length > 0 && rows.every(r => r.textContent.includes(label));
};
const t0 = performance.now();
select.value = value;
select.dispatchEvent(new Event('change', { bubbles: true }));
(function poll() {
  if (done()) requestAnimationFrame(() => cb(performance.now() - t0));
  else setTimeout(poll, 1);
})();
"#;

/// Taps the case row with the given id and times until its timeline shows `n` rows, painted.
const OPEN_CASE: &str = r#"
const [id, n, cb] = arguments;
const t0 = performance.now();
document.querySelector(`.case-row[data-id="${id}"]`).click();
(function poll() {
  if (document.querySelectorAll('.timeline-row').length >= n) requestAnimationFrame(() => cb(performance.now() - t0));
  else setTimeout(poll, 1);
})();
"#;

/// Taps a tab (or a button) and times until at least `n` elements match `css`, painted.
const TAB: &str = r#"
const [tab, css, n, cb] = arguments;
const t0 = performance.now();
document.querySelector(tab).click();
(function poll() {
  if (document.querySelectorAll(css).length >= n) requestAnimationFrame(() => cb(performance.now() - t0));
  else setTimeout(poll, 1);
})();
"#;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut cases = 10_000usize;
    let mut runs = 7usize;
    // Where to leave the desk's store afterwards (to profile a screen over it), if anywhere.
    let mut keep: Option<std::path::PathBuf> = None;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--cases" => cases = it.next().context("--cases N")?.parse()?,
            "--runs" => runs = it.next().context("--runs N")?.parse()?,
            "--keep" => keep = Some(std::path::PathBuf::from(it.next().context("--keep DIR")?)),
            other => anyhow::bail!("unknown argument {other}"),
        }
    }

    let server_dir = tempfile::tempdir()?;
    let t = Instant::now();
    let server = Server::start(server_dir.path(), cases)?;
    println!(
        "server with {cases} demo cases ready in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    // The desk's store: enrolled, the whole caseload synced.
    let data = tempfile::tempdir()?;
    let path = match &keep {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            let p = dir.join("fengqiao.sqlite3");
            anyhow::ensure!(!p.exists(), "{} already holds a store", dir.display());
            p
        }
        None => data.path().join("fengqiao.sqlite3"),
    };
    let case_id;
    let case_title;
    {
        let session = Session::open(&path)?;
        session
            .enrol(&server.url(), &server.code_for(STAFF)?, "综治中心电脑")
            .await?;
        let t = Instant::now();
        session.sync_now().await?;
        let held = session
            .cases(
                &CaseQuery {
                    limit: u32::MAX,
                    ..Default::default()
                },
                now_ms(),
            )?
            .len();
        println!(
            "desk holds {held} cases after its first sync ({:.1} s)",
            t.elapsed().as_secs_f64()
        );
        // One case taken to 50 timeline entries.
        let candidates = session.cases(
            &CaseQuery {
                status: Some(Status::Mediating),
                ..Default::default()
            },
            now_ms(),
        )?;
        let id = candidates
            .iter()
            .map(|r| r.summary.id.clone())
            .find(|id| {
                session
                    .case(id, now_ms())
                    .is_ok_and(|c| c.allowed.iter().any(|a| a.code() == "record_session"))
            })
            .context("no case in mediation that the desk may add sessions to")?;
        while session.case(&id, now_ms())?.timeline.len() < 50 {
            session.act(
                &ActInput {
                    case: id.clone(),
                    action: Action::RecordSession {
                        mode: SessionMode::MediationRoom,
                        note: "再次组织双方到调解室面对面协商，双方各自陈述意见。".into(),
                    },
                },
                now_ms(),
            )?;
        }
        session.sync_now().await?;
        case_title = session.case(&id, now_ms())?.row.summary.title;
        case_id = id;

        // The core's side of each screen (what the command does before the page renders).
        let mut open = Vec::new();
        let mut today = Vec::new();
        let mut filter = Vec::new();
        let mut search = Vec::new();
        let mut case = Vec::new();
        let mut alerts = Vec::new();
        let mut matches = Vec::new();
        drop(session);
        for _ in 0..runs {
            let t = Instant::now();
            let s = Session::open(&path)?;
            open.push(ms(t.elapsed()));
            let t = Instant::now();
            s.today(now_ms())?;
            today.push(ms(t.elapsed()));
            let t = Instant::now();
            s.cases(
                &CaseQuery {
                    status: Some(Status::Resolved),
                    ..Default::default()
                },
                now_ms(),
            )?;
            filter.push(ms(t.elapsed()));
            let t = Instant::now();
            s.cases(
                &CaseQuery {
                    search: Some("陈".into()),
                    ..Default::default()
                },
                now_ms(),
            )?;
            search.push(ms(t.elapsed()));
            let t = Instant::now();
            let c = s.case(&case_id, now_ms())?;
            case.push(ms(t.elapsed()));
            assert!(c.timeline.len() >= 50);
            let t = Instant::now();
            s.alerts(now_ms())?;
            alerts.push(ms(t.elapsed()));
            // The duplicate check a report makes before it is saved, against the desk's store.
            let t = Instant::now();
            s.report_matches(&report_like(&c), now_ms())?;
            matches.push(ms(t.elapsed()));
        }
        println!("core, median of {runs}:");
        println!("  open the store            {:8.2} ms", median(open));
        println!("  today                     {:8.2} ms", median(today));
        println!("  list filtered by status   {:8.2} ms", median(filter));
        println!("  list searched by name     {:8.2} ms", median(search));
        println!("  case with 50 entries      {:8.2} ms", median(case));
        println!("  early-warning alerts      {:8.2} ms", median(alerts));
        println!("  duplicate check of report {:8.2} ms", median(matches));
    }

    // The window (built first, so that no launch below includes a build).
    system_tests::window::app_bin();
    let mut start = Vec::new();
    let mut start_in_page = Vec::new();
    let mut list = Vec::new();
    let mut more = Vec::new();
    let mut filter = Vec::new();
    let mut open_case = Vec::new();
    let mut data = Some(data);
    let mut window_data = None;
    for run in 0..runs {
        let dir = match data.take() {
            Some(d) => d,
            None => window_data.take().context("data directory")?,
        };
        let t = Instant::now();
        let w =
            AppWindow::launch_in("bench", dir, &[("FENGQIAO_SYNC_SECS", "3600".into())]).await?;
        let launched = t.elapsed();
        w.wait("#today .case-row").await?;
        let usable = t.elapsed();
        let page: f64 = w
            .client
            .execute("return performance.now()", vec![])
            .await?
            .as_f64()
            .unwrap_or_default();
        start.push(ms(usable));
        start_in_page.push(page);
        list.push(
            in_page(
                &w,
                "list",
                TAB,
                vec!["#nav-cases".into(), ".case-row".into(), 50.into()],
            )
            .await?,
        );
        // Scrolling on: the next 50 rows appended below.
        more.push(
            in_page(
                &w,
                "more",
                TAB,
                vec!["#cases-more".into(), ".case-row".into(), 100.into()],
            )
            .await?,
        );
        filter.push(
            in_page(&w, "filter", FILTER, {
                let status = if run % 2 == 0 {
                    Status::Resolved
                } else {
                    Status::Mediating
                };
                vec![
                    "#cases-status".into(),
                    format!("{status:?}").into(),
                    status.zh().into(),
                ]
            })
            .await?,
        );
        // A fresh list, searched for the 50-entry case's title, then the case.
        w.tap("#nav-today").await?;
        w.tap("#nav-cases").await?;
        let id = case_id.to_string();
        w.fill("#cases-search", &case_title).await?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while w
            .client
            .find(Locator::Css(&format!(".case-row[data-id=\"{id}\"]")))
            .await
            .is_err()
        {
            anyhow::ensure!(Instant::now() < deadline, "the 50-entry case never listed");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        open_case.push(in_page(&w, "open-case", OPEN_CASE, vec![id.into(), 50.into()]).await?);
        if run == 0 {
            println!(
                "window launch (tauri-driver session) took {:.0} ms",
                ms(launched)
            );
        }
        window_data = Some(w.into_data().await?);
    }
    println!("window, median of {runs}:");
    println!(
        "  start to a usable today   {:8.0} ms (of which in the page {:.0} ms)",
        median(start),
        median(start_in_page)
    );
    println!("  case list, first 50 rows {:8.1} ms", median(list));
    println!("  and the next 50 (more)   {:8.1} ms", median(more));
    println!("  filter by status          {:8.1} ms", median(filter));
    println!("  open a 50-entry case      {:8.1} ms", median(open_case));
    Ok(())
}

/// A new report with the parties of a case on screen (their names; the same place).
fn report_like(c: &app_core::screens::CaseScreen) -> app_core::model::NewCase {
    app_core::model::NewCase {
        title: c.row.summary.title.clone(),
        category: c.row.summary.category.clone(),
        narrative: "再次反映同一纠纷。".to_owned(),
        place_unit: c.document.place.unit.clone(),
        address: String::new(),
        gps: None,
        parties: c
            .document
            .parties
            .iter()
            .map(|p| app_core::model::NewParty {
                name: p.name.clone(),
                role: p.role,
                phone: None,
                id_number: None,
            })
            .collect(),
        source: app_core::model::Source::WalkIn,
    }
}
