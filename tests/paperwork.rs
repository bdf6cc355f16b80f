//! The centre's paperwork over the real server: the ledger (台账) downloaded as XLSX by the
//! township's staff, read back with a real XLSX reader and compared with `/v1/figures`; masking
//! by role; scope; bad requests; the export log; the operator's command line.

use crate::sync::{GW, STAFF};
use app_core::document::VisitOutcome;
use app_core::org::Tier;
use calamine::{Data, Reader, Xlsx};
use chrono::Datelike;
use std::collections::BTreeSet;
use std::io::Cursor;
use system_tests::{now_ms, Device, Server};

const LEADER: &str = "haiyan-leader";

pub(crate) struct Download {
    pub status: u16,
    content_type: String,
    disposition: String,
    pub bytes: Vec<u8>,
}

pub(crate) async fn download(server: &Server, path: &str, token: &str) -> anyhow::Result<Download> {
    let resp = reqwest::Client::new()
        .get(format!("{}{path}", server.url()))
        .bearer_auth(token)
        .send()
        .await?;
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    Ok(Download {
        status: resp.status().as_u16(),
        content_type: header("content-type"),
        disposition: header("content-disposition"),
        bytes: resp.bytes().await?.to_vec(),
    })
}

fn error_of(d: &Download) -> serde_json::Value {
    serde_json::from_slice(&d.bytes).unwrap_or_default()
}

pub(crate) fn rows(bytes: &[u8], sheet: &str) -> Vec<Vec<Data>> {
    let mut book: Xlsx<_> =
        calamine::open_workbook_from_rs(Cursor::new(bytes.to_vec())).expect("an XLSX workbook");
    book.worksheet_range(sheet)
        .unwrap_or_else(|e| panic!("sheet {sheet}: {e}"))
        .rows()
        .map(|r| r.to_vec())
        .collect()
}

pub(crate) fn text(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        other => other.to_string(),
    }
}

pub(crate) fn number(d: &Data) -> u64 {
    match d {
        Data::Float(f) => *f as u64,
        Data::Int(i) => *i as u64,
        other => panic!("not a number: {other:?}"),
    }
}

/// Party cells holding an 18-character resident ID number whole.
fn whole_ids(ledger: &[Vec<Data>]) -> usize {
    ledger[1..]
        .iter()
        .filter(|r| {
            text(&r[4])
                .split(['（', '）'])
                .any(|part| part.len() == 18 && part[..17].chars().all(|c| c.is_ascii_digit()))
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paperwork_the_township_ledger_downloads_as_xlsx_with_the_figures_of_v1_figures(
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = Server::start(dir.path(), 60)?;
    let staff = Device::enrol(&server, STAFF).await?;
    let leader = Device::enrol(&server, LEADER).await?;
    let gw = Device::enrol(&server, GW).await?;
    let st = staff.client.credentials().token.clone();
    let lt = leader.client.credentials().token.clone();
    let gt = gw.client.credentials().token.clone();

    // The demo's cases go back 120 days: the last 150 days, in China's local dates.
    let cst = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
    let today = chrono::DateTime::from_timestamp_millis(now_ms())
        .unwrap()
        .with_timezone(&cst)
        .date_naive();
    let first = today - chrono::Duration::days(149);
    let query = format!("unit=haiyan&from={first}&to={today}");
    let from_ms = first
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_local_timezone(cst)
        .unwrap()
        .timestamp_millis();
    let to_ms = (today + chrono::Duration::days(1))
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_local_timezone(cst)
        .unwrap()
        .timestamp_millis();

    let got = download(&server, &format!("/v1/ledger.xlsx?{query}"), &st).await?;
    assert_eq!(got.status, 200, "{}", String::from_utf8_lossy(&got.bytes));
    assert_eq!(
        got.content_type,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert!(
        got.disposition.starts_with("attachment;"),
        "{}",
        got.disposition
    );
    assert!(
        got.disposition
            .contains("filename*=UTF-8''haiyan-%E5%8F%B0%E8%B4%A6-"),
        "the file is named 台账 for the unit: {}",
        got.disposition
    );

    // The same numbers as /v1/figures for the same days.
    let figures: serde_json::Value = reqwest::Client::new()
        .get(format!(
            "{}/v1/figures?unit=haiyan&from={from_ms}&to={to_ms}",
            server.url()
        ))
        .bearer_auth(&st)
        .send()
        .await?
        .json()
        .await?;
    let total = &figures["total"];
    let received = total["received"].as_u64().unwrap();
    assert!(
        received >= 50,
        "the demo's cases are in the period: {total}"
    );
    let ledger = rows(&got.bytes, "台账");
    assert_eq!(
        ledger.len() as u64 - 1,
        received,
        "one row per case received"
    );
    let by_village = rows(&got.bytes, "按村统计");
    let col = |name: &str| {
        by_village[0]
            .iter()
            .position(|h| text(h) == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    };
    let directory = server.store()?.directory().clone();
    let units = figures["by_unit"].as_object().unwrap();
    assert_eq!(
        by_village.len(),
        units.len() + 2,
        "a row per village and the total"
    );
    for (unit, f) in units {
        let name = &directory.unit(&unit.as_str().into()).unwrap().name;
        let row = by_village
            .iter()
            .find(|r| text(&r[0]) == *name)
            .unwrap_or_else(|| panic!("no row for {name}"));
        for (column, key) in [
            ("受理", "received"),
            ("化解", "resolved"),
            ("办结", "concluded"),
            ("超期", "overdue"),
            ("督办", "supervised"),
            ("12345工单", "orders"),
        ] {
            assert_eq!(
                number(&row[col(column)]),
                f[key].as_u64().unwrap(),
                "{name} {column}"
            );
        }
    }
    let last = by_village.last().unwrap();
    assert_eq!(text(&last[0]), "合计");
    for (column, key) in [("受理", "received"), ("化解", "resolved"), ("在办", "open")] {
        assert_eq!(
            number(&last[col(column)]),
            total[key].as_u64().unwrap(),
            "{column}"
        );
    }

    // 入户走访: a row per grid worker of the township (the demo's households are visited
    // every few weeks) and the total; the grid worker's row counts the visits their own phone
    // holds for the period, of the households of their grid it synced down.
    gw.sync().await?;
    let visits = rows(&got.bytes, "入户走访");
    assert_eq!(
        visits[0].iter().map(text).collect::<Vec<_>>(),
        [
            "网格员",
            "网格",
            "走访户数",
            "走访次数",
            "无事报平安",
            "记录事项",
            "发现纠纷"
        ]
    );
    let haiyan = "haiyan".into();
    let grids = directory
        .units()
        .filter(|u| u.tier == Tier::Grid && directory.is_within(&u.id, &haiyan))
        .count();
    assert_eq!(
        visits.len(),
        grids + 2,
        "a row per grid worker and the total"
    );
    let me = directory.person(&GW.into()).unwrap();
    let row = visits
        .iter()
        .find(|r| text(&r[0]) == me.name)
        .expect("the grid worker's row");
    assert_eq!(text(&row[1]), directory.unit(&me.unit).unwrap().name);
    let mine = {
        let phone = gw.store();
        let (mut households, mut made, mut safe) = (BTreeSet::new(), 0u64, 0u64);
        for h in phone.households(&me.unit)? {
            for v in phone.household(&h.id)?.visits {
                if v.at >= from_ms && v.at < to_ms && v.actor.person == me.id {
                    households.insert(h.id.clone());
                    made += 1;
                    safe += u64::from(v.outcome == VisitOutcome::AllSafe);
                }
            }
        }
        [households.len() as u64, made, safe]
    };
    assert!(mine[1] > 0, "the grid worker visited in the period");
    assert_eq!(
        [number(&row[2]), number(&row[3]), number(&row[4])],
        mine,
        "走访户数, 走访次数, 无事报平安 of {}",
        me.name
    );
    let sum = |col: usize| {
        visits[1..visits.len() - 1]
            .iter()
            .map(|r| number(&r[col]))
            .sum::<u64>()
    };
    let last = visits.last().unwrap();
    assert_eq!(text(&last[0]), "合计");
    assert_eq!(number(&last[3]), sum(3), "the total of 走访次数");

    // Staff see ID numbers masked; the leader whole.
    assert!(ledger[1..].iter().any(|r| text(&r[4]).contains("********")));
    assert_eq!(whole_ids(&ledger), 0, "no whole ID number for staff");
    let lead = download(&server, &format!("/v1/ledger.xlsx?{query}"), &lt).await?;
    assert_eq!(lead.status, 200);
    assert!(
        whole_ids(&rows(&lead.bytes, "台账")) > 0,
        "whole numbers for the leader"
    );

    // Refusals: each with its code and words, nothing logged.
    let refusals: [(&str, &str, u16, &str, &str); 6] = [
        (
            &gt,
            "unit=haiyan",
            403,
            "out_of_scope",
            "kept by its centre's staff",
        ),
        (&st, "unit=duhu", 403, "out_of_scope", "not yours to export"),
        (
            &st,
            "unit=nowhere",
            404,
            "unknown_doc",
            "unit nowhere is not in",
        ),
        (
            &st,
            "unit=haiyan&from=2026-11-30&to=2026-11-01",
            400,
            "bad_json",
            "ends (2026-11-01) before it starts (2026-11-30)",
        ),
        (
            &st,
            "from=2026-13-01",
            400,
            "bad_json",
            "`2026-13-01` is not a date",
        ),
        (&st, "unit=haiyan&format=pdf", 400, "bad_json", "format"),
    ];
    for (token, q, status, code, words) in refusals {
        let d = download(&server, &format!("/v1/ledger.xlsx?{q}"), token).await?;
        let e = error_of(&d);
        assert_eq!(d.status, status, "{q}: {e}");
        assert_eq!(e["error"]["code"], code, "{q}: {e}");
        let message = e["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(words), "{q}: {message}");
    }

    // The log holds the two exports, who and what; the refusals left nothing.
    let log = server.admin(&["exports"])?;
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 2, "{log}");
    assert!(
        lines[0].contains(LEADER) && lines[0].contains("ids full"),
        "{log}"
    );
    assert!(
        lines[1].contains(STAFF) && lines[1].contains("ids masked"),
        "{log}"
    );
    assert!(lines[1].contains(&format!("{first} to {today}")), "{log}");
    assert!(lines[1].contains(&format!("{received} cases")), "{log}");

    // The monthly notice of the month before, as XLSX and PDF: every village's figures are
    // /v1/figures' for that month.
    let month_first = (today.with_day(1).unwrap()) - chrono::Duration::days(1);
    let month_first = month_first.with_day(1).unwrap();
    let next_first = today.with_day(1).unwrap();
    let ms = |d: chrono::NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .unwrap()
            .and_local_timezone(cst)
            .unwrap()
            .timestamp_millis()
    };
    let month_figures: serde_json::Value = reqwest::Client::new()
        .get(format!(
            "{}/v1/figures?unit=haiyan&from={}&to={}",
            server.url(),
            ms(month_first),
            ms(next_first)
        ))
        .bearer_auth(&st)
        .send()
        .await?
        .json()
        .await?;
    let q = format!("unit=haiyan&date={month_first}");
    let xlsx = download(&server, &format!("/v1/reports/monthly.xlsx?{q}"), &st).await?;
    assert_eq!(xlsx.status, 200, "{}", String::from_utf8_lossy(&xlsx.bytes));
    let ranking = rows(&xlsx.bytes, "各村（社区）化解情况排名");
    let head: Vec<String> = ranking[0].iter().map(text).collect();
    let at = |name: &str| head.iter().position(|h| h == name).unwrap();
    let units = month_figures["by_unit"].as_object().unwrap();
    assert_eq!(ranking.len(), units.len() + 1, "{head:?}");
    for (unit, f) in units {
        let name = &directory.unit(&unit.as_str().into()).unwrap().name;
        let row = ranking
            .iter()
            .find(|r| text(&r[at("村（社区）")]) == *name)
            .unwrap_or_else(|| panic!("{name} ranked"));
        assert_eq!(
            number(&row[at("受理")]),
            f["received"].as_u64().unwrap(),
            "{name}"
        );
        assert_eq!(
            number(&row[at("化解")]),
            f["resolved"].as_u64().unwrap(),
            "{name}"
        );
    }
    let pdf = download(&server, &format!("/v1/reports/monthly.pdf?{q}"), &st).await?;
    assert_eq!(pdf.status, 200);
    assert_eq!(pdf.content_type, "application/pdf");
    let words = read_pdf(&pdf.bytes, "paper-monthly-report")?;
    assert!(words.contains("海宴镇矛盾纠纷每月通报"), "{words}");
    assert!(
        words.contains(&format!(
            "共受理矛盾纠纷{}件",
            month_figures["total"]["received"]
        )),
        "{words}"
    );
    for (token, path, status, code) in [
        (&gt, "monthly.pdf", 403, "out_of_scope"),
        (&st, "yearly.pdf", 404, "unknown_doc"),
        (&st, "monthly.docx", 404, "unknown_doc"),
    ] {
        let d = download(&server, &format!("/v1/reports/{path}"), token).await?;
        assert_eq!(
            (d.status, error_of(&d)["error"]["code"].clone()),
            (status, code.into()),
            "{path}"
        );
    }
    let d = download(&server, "/v1/reports/weekly.pdf?date=2026-02-30", &st).await?;
    assert_eq!(d.status, 400);
    assert!(error_of(&d)["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .contains("`2026-02-30` is not a date"));

    // The operator's command line writes the same ledger, masked, and is logged too.
    let out = dir.path().join("台账.xlsx");
    let printed = server.admin(&[
        "ledger",
        "--unit",
        "haiyan",
        "--from",
        &first.to_string(),
        "--to",
        &today.to_string(),
        "--out",
        out.to_str().unwrap(),
    ])?;
    assert!(printed.contains(&format!("{received} cases")), "{printed}");
    let cli = rows(&std::fs::read(&out)?, "台账");
    assert_eq!(cli.len(), ledger.len());
    assert_eq!(whole_ids(&cli), 0);
    assert_eq!(
        server.count("SELECT COUNT(*) FROM exports WHERE person = 'operator'")?,
        1
    );
    assert_eq!(
        server.count("SELECT COUNT(*) FROM exports WHERE kind = 'report_monthly'")?,
        2,
        "the two reports logged, the refusals not"
    );
    Ok(())
}

/// `pdftotext` of a PDF, its whitespace removed (a paragraph may break anywhere); the first
/// page rendered with `pdftoppm` beside the e2e screenshots as `<name>.png`.
pub(crate) fn read_pdf(bytes: &[u8], name: &str) -> anyhow::Result<String> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("doc.pdf");
    std::fs::write(&path, bytes)?;
    let out = std::process::Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()?;
    anyhow::ensure!(out.status.success(), "pdftotext refused the file");
    let shots = system_tests::window::screenshot_dir();
    std::fs::create_dir_all(&shots)?;
    let status = std::process::Command::new("pdftoppm")
        .args(["-png", "-r", "80", "-singlefile", "-f", "1"])
        .arg(&path)
        .arg(shots.join(name))
        .status()?;
    anyhow::ensure!(status.success(), "pdftoppm could not render the file");
    Ok(String::from_utf8(out.stdout)?
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paperwork_a_resolved_cases_agreement_prints_as_pdf_for_those_who_see_the_case(
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = Server::start(dir.path(), 60)?;
    let staff = Device::enrol(&server, STAFF).await?;
    let gw = Device::enrol(&server, GW).await?;
    let st = staff.client.credentials().token.clone();
    let gt = gw.client.credentials().token.clone();
    let (with, open, parties) = {
        let store = server.store()?;
        let all = store.list(
            &app_core::store::CaseFilter {
                unit: Some("haiyan".into()),
                limit: 1000,
                ..Default::default()
            },
            now_ms(),
        )?;
        let with = all
            .iter()
            .find(|s| s.agreement && !s.units.contains(&"haiyan-fengjiang-g1".into()))
            .expect("a case with an agreement outside the grid worker's grid")
            .clone();
        let open = all
            .iter()
            .find(|s| s.resolved_at.is_none())
            .expect("an open case")
            .clone();
        let parties = store.case(&with.id)?.document.parties;
        (with, open, parties)
    };

    let got = download(
        &server,
        &format!("/v1/cases/{}/agreement.pdf", with.id),
        &st,
    )
    .await?;
    assert_eq!(got.status, 200, "{}", String::from_utf8_lossy(&got.bytes));
    assert_eq!(got.content_type, "application/pdf");
    assert!(got.bytes.len() < 300_000, "{} bytes", got.bytes.len());
    let text = read_pdf(&got.bytes, "paper-agreement")?;
    assert!(text.contains("人民调解协议书"), "{text}");
    for p in &parties {
        assert!(text.contains(&p.name), "{} in {text}", p.name);
    }
    assert!(text.contains("当事人自愿达成如下协议"), "{text}");
    // Staff prepare the agreement: the parties' ID numbers are whole on it.
    assert!(!text.contains("********"), "{text}");

    let app = download(
        &server,
        &format!("/v1/cases/{}/judicial-application.pdf", with.id),
        &st,
    )
    .await?;
    assert_eq!(app.status, 200);
    let text = read_pdf(&app.bytes, "paper-judicial-application")?;
    assert!(
        text.contains("司法确认申请书") && text.contains("请求事项"),
        "{text}"
    );

    // Refusals, each with its code; none logged.
    let cases: [(&str, String, u16, &str); 4] = [
        (
            &gt,
            format!("{}/agreement.pdf", with.id),
            404,
            "unknown_doc",
        ),
        (
            &st,
            format!("{}/agreement.pdf", open.id),
            409,
            "workflow_denied",
        ),
        (
            &st,
            "01a2aaaa-0000-7000-8000-000000000000/agreement.pdf".into(),
            404,
            "unknown_doc",
        ),
        (
            &st,
            "..%2F..%2Fetc/agreement.pdf".into(),
            400,
            "bad_encoding",
        ),
    ];
    for (token, path, status, code) in cases {
        let d = download(&server, &format!("/v1/cases/{path}"), token).await?;
        let e = error_of(&d);
        assert_eq!(d.status, status, "{path}: {e}");
        assert_eq!(e["error"]["code"], code, "{path}: {e}");
    }
    let open_refusal = error_of(
        &download(
            &server,
            &format!("/v1/cases/{}/agreement.pdf", open.id),
            &st,
        )
        .await?,
    );
    assert!(
        open_refusal["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("no mediation agreement to print"),
        "{open_refusal}"
    );

    // The log: the two documents printed, by whom, of which case.
    let log = server.admin(&["exports"])?;
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 2, "{log}");
    assert!(
        lines[0].contains("judicial_application") && lines[0].contains(with.id.as_str()),
        "{log}"
    );
    assert!(
        lines[1].contains("agreement") && lines[1].contains(STAFF),
        "{log}"
    );
    assert!(lines[1].contains("ids full"), "{log}");
    Ok(())
}
