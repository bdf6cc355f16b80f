//! The ledger workbook, read back with a real XLSX reader (calamine) and compared with the
//! figures the store computes for the same unit and period.

use super::test_store::{demo_store, DemoStore};
use super::xlsx::{self, Exporter, FIGURE_COLUMNS};
use super::{IdDisclosure, Period};
use crate::demo::DEMO_NOW_MS;
use crate::figures::{Figures, Report};
use crate::store::{CaseFilter, DueFilter};
use calamine::{Data, Reader, Xlsx};
use std::io::{Cursor, Read};

type Fixture = DemoStore;

fn fixture(n: usize) -> Fixture {
    demo_store(11, n)
}

fn period(f: &Fixture) -> Period {
    let local = f.store.directory().policy(&f.g.township()).local();
    let last = local.date(DEMO_NOW_MS);
    Period::days(local, last - chrono::Duration::days(119), last).unwrap()
}

fn export(f: &Fixture, disclosure: IdDisclosure) -> xlsx::LedgerFile {
    let p = period(f);
    f.store
        .read(|conn| {
            xlsx::ledger(
                conn,
                f.store.directory(),
                f.store.taxonomy(),
                &f.g.township(),
                &p,
                disclosure,
                &Exporter {
                    who: "测试".into(),
                    at_ms: DEMO_NOW_MS,
                },
            )
        })
        .unwrap()
}

fn sheet(book: &mut Xlsx<Cursor<Vec<u8>>>, name: &str) -> Vec<Vec<Data>> {
    book.worksheet_range(name)
        .unwrap_or_else(|e| panic!("sheet {name}: {e}"))
        .rows()
        .map(|r| r.to_vec())
        .collect()
}

fn text(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        other => other.to_string(),
    }
}

fn number(d: &Data) -> f64 {
    match d {
        Data::Float(f) => *f,
        Data::Int(i) => *i as f64,
        other => panic!("not a number: {other:?}"),
    }
}

/// A figures sheet's rows by their first cell, compared with the report's slices.
fn check_figures(rows: &[Vec<Data>], slices: &[(String, Figures)], total: &Figures) {
    let head: Vec<String> = rows[0][1..].iter().map(text).collect();
    assert_eq!(head, FIGURE_COLUMNS.to_vec());
    assert_eq!(
        rows.len(),
        slices.len() + 2,
        "one row per slice and the total"
    );
    let check = |row: &[Data], f: &Figures, what: &str| {
        let at = |name: &str| {
            let col = FIGURE_COLUMNS.iter().position(|c| *c == name).unwrap() + 1;
            &row[col]
        };
        assert_eq!(number(at("受理")) as u64, f.received, "{what} 受理");
        assert_eq!(number(at("化解")) as u64, f.resolved, "{what} 化解");
        assert_eq!(number(at("办结")) as u64, f.concluded, "{what} 办结");
        assert_eq!(number(at("超期")) as u64, f.overdue, "{what} 超期");
        assert_eq!(number(at("督办")) as u64, f.supervised, "{what} 督办");
        match f.resolution_rate().percent() {
            Some(p) => assert!((number(at("化解率")) * 100.0 - p).abs() < 1e-9, "{what}"),
            None => assert_eq!(text(at("化解率")), "–"),
        }
        match f.satisfaction_rate().percent() {
            Some(p) => assert!((number(at("回访满意率")) * 100.0 - p).abs() < 1e-9),
            None => assert_eq!(text(at("回访满意率")), "–"),
        }
    };
    for (name, f) in slices {
        let row = rows
            .iter()
            .find(|r| text(&r[0]) == *name)
            .unwrap_or_else(|| panic!("no row for {name}"));
        check(row, f, name);
    }
    let last = rows.last().unwrap();
    assert_eq!(text(&last[0]), "合计");
    check(last, total, "合计");
}

#[test]
fn the_ledger_workbook_holds_every_case_and_the_figures_the_store_reports() {
    let f = fixture(200);
    let file = export(&f, IdDisclosure::Masked);
    let p = period(&f);
    let township = f.g.township();
    let report: Report = f
        .store
        .figures(&township, p.from, p.to, DEMO_NOW_MS)
        .unwrap();
    assert_eq!(file.report, report, "the file counts what the store counts");
    assert!(report.total.received > 50, "{:?}", report.total);
    assert_eq!(file.cases, report.total.received);

    let mut book: Xlsx<_> =
        calamine::open_workbook_from_rs(Cursor::new(file.bytes.clone())).unwrap();
    assert_eq!(
        book.sheet_names(),
        vec![
            "概况",
            "台账",
            "按类型统计",
            "按村统计",
            "按月统计",
            "超期督办"
        ]
    );

    // 台账: the columns, one row per case, real dates, unique numbers.
    let rows = sheet(&mut book, "台账");
    let head: Vec<String> = rows[0].iter().map(text).collect();
    assert_eq!(head, super::ledger::COLUMNS.to_vec());
    assert_eq!(rows.len() as u64 - 1, report.total.received);
    let numbers: std::collections::HashSet<String> =
        rows[1..].iter().map(|r| text(&r[0])).collect();
    assert_eq!(
        numbers.len(),
        rows.len() - 1,
        "every case has its own number"
    );
    for r in &rows[1..] {
        assert!(
            matches!(r[1], Data::DateTime(_)),
            "受理日期 is a date: {:?}",
            r[1]
        );
        assert!(
            matches!(r[10], Data::DateTime(_)),
            "期限 is a date: {:?}",
            r[10]
        );
        assert!(!text(&r[4]).is_empty(), "every case has parties");
        assert!(["是", "否"].contains(&text(&r[17]).as_str()));
    }
    // Dates read back as the local dates of the reports, in order.
    let first = match &rows[1][1] {
        Data::DateTime(d) => d.as_datetime().unwrap().date(),
        _ => unreachable!(),
    };
    assert!(first >= p.first && first <= p.last, "{first}");
    // 是否超期 agrees with the figures: overdue now, or handled late.
    let late = rows[1..].iter().filter(|r| text(&r[17]) == "是").count() as u64;
    assert!(
        late >= report.total.overdue,
        "{late} < {}",
        report.total.overdue
    );
    assert!(late <= report.total.overdue + (report.total.handled - report.total.handled_on_time));

    // Parties' ID numbers: masked, never whole.
    let ids: Vec<String> = rows[1..]
        .iter()
        .map(|r| text(&r[4]))
        .filter(|t| t.contains("********"))
        .collect();
    assert!(!ids.is_empty(), "the demo's parties have ID numbers");
    let whole = regex_like_id(&rows);
    assert_eq!(whole, 0, "no whole ID number in a masked ledger");

    // The figures sheets, slice by slice.
    let by_category: Vec<(String, Figures)> = report
        .by_category
        .iter()
        .map(|(c, fig)| {
            (
                f.store
                    .taxonomy()
                    .zh(&crate::taxonomy::CategoryCode::from(c.as_str()))
                    .to_owned(),
                *fig,
            )
        })
        .collect();
    check_figures(&sheet(&mut book, "按类型统计"), &by_category, &report.total);
    let by_unit: Vec<(String, Figures)> = report
        .by_unit
        .iter()
        .map(|(u, fig)| (f.store.directory().unit(u).unwrap().name.clone(), *fig))
        .collect();
    check_figures(&sheet(&mut book, "按村统计"), &by_unit, &report.total);
    let by_month: Vec<(String, Figures)> = report
        .by_month
        .iter()
        .map(|(m, fig)| {
            let (y, mo) = m.split_once('-').unwrap();
            (format!("{y}年{}月", mo.trim_start_matches('0')), *fig)
        })
        .collect();
    check_figures(&sheet(&mut book, "按月统计"), &by_month, &report.total);

    // 超期督办: the township's overdue cases now, whenever reported.
    let overdue = f
        .store
        .list(
            &CaseFilter {
                unit: Some(township.clone()),
                due: Some(DueFilter::Overdue),
                ..CaseFilter::default()
            },
            DEMO_NOW_MS,
        )
        .unwrap();
    let rows = sheet(&mut book, "超期督办");
    assert_eq!(rows.len() - 1, overdue.len());
    assert!(!overdue.is_empty(), "the demo has overdue cases");
    for s in &overdue {
        assert!(rows.iter().any(|r| text(&r[1]) == s.title), "{}", s.title);
    }

    // 概况 quotes the rates as reports do.
    let rows = sheet(&mut book, "概况");
    let rate = rows
        .iter()
        .find(|r| text(&r[0]) == "化解率")
        .expect("化解率");
    assert_eq!(text(&rate[2]), report.total.resolution_rate().to_string());

    // The leader's export shows whole numbers.
    let full = export(&f, IdDisclosure::Full);
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(full.bytes)).unwrap();
    let rows = sheet(&mut book, "台账");
    assert!(regex_like_id(&rows) > 0, "whole ID numbers for the leader");
}

/// How many ledger party cells hold an 18-character resident ID number whole.
fn regex_like_id(rows: &[Vec<Data>]) -> usize {
    rows[1..]
        .iter()
        .filter(|r| {
            let t = text(&r[4]);
            t.split(['（', '）'])
                .any(|part| part.len() == 18 && part[..17].chars().all(|c| c.is_ascii_digit()))
        })
        .count()
}

#[test]
fn chinese_columns_are_as_wide_as_their_text() {
    let f = fixture(60);
    let file = export(&f, IdDisclosure::Masked);
    let mut zip = zip::ZipArchive::new(Cursor::new(file.bytes)).unwrap();
    let mut xml = String::new();
    zip.by_name("xl/worksheets/sheet2.xml")
        .unwrap()
        .read_to_string(&mut xml)
        .unwrap();
    let width = |col: usize| -> f64 {
        let tag = format!("<col min=\"{col}\" max=\"{col}\" width=\"");
        let at = xml
            .find(&tag)
            .unwrap_or_else(|| panic!("no width for column {col}"))
            + tag.len();
        xml[at..].split('"').next().unwrap().parse().unwrap()
    };
    // 编号 (15 narrow characters) against 协议 (是/否 under a two-character header): the
    // number's column is wider; 当事人 (names and masked numbers) wider still; 简要案情 is
    // capped and wraps.
    assert!(width(1) >= 15.0 * 1.1, "编号 {}", width(1));
    assert!(width(14) < 10.0, "协议 {}", width(14));
    assert!(
        width(5) > width(1),
        "当事人 {} vs 编号 {}",
        width(5),
        width(1)
    );
    // (Excel stores widths rounded to whole pixels, a little over what was asked.)
    assert!(
        (width(7) - (60.0 * 1.1 + 3.0)).abs() < 1.0,
        "简要案情 capped: {}",
        width(7)
    );
    // The header row is frozen and filtered.
    assert!(xml.contains("<pane ySplit=\"1\""), "frozen header");
    assert!(
        xml.contains("<autoFilter ref=\"A1:S"),
        "autofilter over the 19 columns"
    );
}

#[test]
fn a_ledger_of_an_unknown_unit_is_refused() {
    let f = fixture(5);
    let p = period(&f);
    let e = f
        .store
        .read(|conn| {
            xlsx::ledger(
                conn,
                f.store.directory(),
                f.store.taxonomy(),
                &"nowhere".into(),
                &p,
                IdDisclosure::Masked,
                &Exporter {
                    who: "测试".into(),
                    at_ms: DEMO_NOW_MS,
                },
            )
        })
        .unwrap_err();
    assert!(matches!(e, crate::Error::UnknownUnit(_)), "{e}");
}
