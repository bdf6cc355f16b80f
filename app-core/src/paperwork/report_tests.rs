//! The periodic reports over a demo store: their figures are the store's, their XLSX opens, their
//! PDF reads back.

use super::pdf::Fonts;
use super::report::{self, Cell, ReportKind, Section};
use super::test_store::demo_store;
use crate::demo::DEMO_NOW_MS;
use calamine::{Reader, Xlsx};
use std::io::Cursor;

fn pdf_text(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext");
    String::from_utf8(out.stdout)
        .unwrap()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

#[test]
fn each_report_says_what_the_figures_say_in_a_spreadsheet_and_on_paper() {
    // Kept whole: its directory holds the file.
    let demo = demo_store(3, 200);
    let (store, g) = (&demo.store, &demo.g);
    let township = g.township();
    let local = store.directory().policy(&township).local();
    let today = local.date(DEMO_NOW_MS);
    let fonts = Fonts::load(None).unwrap();
    // The month before the demo's "now" is a whole month of cases.
    let last_month = today - chrono::Duration::days(today.day0() as i64 + 1);
    use chrono::Datelike;
    for (kind, day) in [
        (ReportKind::Weekly, today),
        (ReportKind::Monthly, last_month),
        (ReportKind::Quarterly, today),
    ] {
        let period = kind.period(local, day).unwrap();
        let r = store
            .read(|conn| {
                report::build(
                    conn,
                    store.directory(),
                    store.taxonomy(),
                    &township,
                    kind,
                    &period,
                    DEMO_NOW_MS,
                )
            })
            .unwrap();
        let figures = store
            .figures(&township, period.from, period.to, DEMO_NOW_MS)
            .unwrap();
        assert_eq!(r.figures, figures, "{kind:?}");
        assert!(figures.total.received > 0, "{kind:?} has cases");
        let Section::Text(first) = &r.sections[0] else {
            panic!("a report opens with its figures in words")
        };
        assert!(
            first.contains(&format!("共受理矛盾纠纷{}件", figures.total.received)),
            "{first}"
        );

        let xlsx = report::to_xlsx(&r).unwrap();
        let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(xlsx)).unwrap();
        let tables: Vec<&report::Table> = r
            .sections
            .iter()
            .filter_map(|s| match s {
                Section::Table(t) => Some(t),
                _ => None,
            })
            .collect();
        assert_eq!(book.sheet_names().len(), tables.len() + 1, "{kind:?}");
        for (name, t) in book.sheet_names().into_iter().skip(1).zip(&tables) {
            let range = book.worksheet_range(&name).unwrap();
            assert_eq!(range.rows().count(), t.rows.len() + 1, "{name}");
        }

        let pdf = report::to_pdf(&r, &fonts, "测试").unwrap();
        let text = pdf_text(&pdf);
        assert!(text.contains(&r.title), "{text}");
        for t in &tables {
            assert!(text.contains(&t.title), "{} in {kind:?}", t.title);
        }

        match kind {
            ReportKind::Monthly => {
                // Every village, ranked by resolution rate.
                let t = tables[0];
                assert_eq!(t.rows.len(), figures.by_unit.len());
                let rates: Vec<f64> = t
                    .rows
                    .iter()
                    .map(|row| match row[4] {
                        Cell::Rate(p) => p.unwrap_or(-1.0),
                        _ => panic!("化解率"),
                    })
                    .collect();
                assert!(rates.windows(2).all(|w| w[0] >= w[1]), "{rates:?}");
                for row in &t.rows {
                    assert!(text.contains(&row[1].text()), "{:?} on paper", row[1]);
                }
            }
            ReportKind::Quarterly => {
                assert!(r
                    .sections
                    .iter()
                    .any(|s| matches!(s, Section::Text(t) if t.contains("与上季度"))));
            }
            ReportKind::Weekly => {
                assert!(tables.iter().any(|t| t.title == "超期案件"));
            }
        }
    }
}
