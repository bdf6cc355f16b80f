//! The ledger workbook, read back with a real XLSX reader (calamine) and compared with the
//! figures the store computes for the same unit and period.

use super::test_store::{demo_store, DemoStore};
use super::xlsx::{self, Exporter, FIGURE_COLUMNS};
use super::{IdDisclosure, Period};
use crate::demo::DEMO_NOW_MS;
use crate::document::VisitOutcome;
use crate::figures::{Figures, Report};
use crate::ids::{HouseholdId, UnitId};
use crate::org::Role;
use crate::store::{CaseFilter, DueFilter};
use calamine::{Data, Reader, Xlsx};
use std::collections::{BTreeMap, BTreeSet, HashSet};
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
    export_of(f, &f.g.township(), &period(f), disclosure)
}

fn export_of(f: &Fixture, unit: &UnitId, p: &Period, disclosure: IdDisclosure) -> xlsx::LedgerFile {
    f.store
        .read(|conn| {
            xlsx::ledger(
                conn,
                f.store.directory(),
                f.store.taxonomy(),
                unit,
                p,
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
            "超期督办",
            "入户走访"
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

/// A visitor's row as a reader sees it: the grids, then 走访户数, 走访次数, 无事报平安,
/// 记录事项, 发现纠纷.
type VisitLine = (String, [u64; 5]);

/// The visits made in `p` to the households of `unit`, by visitor's name, and the total,
/// counted from the household documents and their volumes (not the store's visits rows).
fn visits_from_documents(
    f: &Fixture,
    households: &[HouseholdId],
    unit: &UnitId,
    p: &Period,
) -> (BTreeMap<String, VisitLine>, [u64; 5]) {
    let d = f.store.directory();
    // By name: the grids, the households, the counts.
    type Seen = (BTreeSet<String>, HashSet<HouseholdId>, [u64; 5]);
    let mut by_name: BTreeMap<String, Seen> = BTreeMap::new();
    let mut all = HashSet::new();
    let mut total = [0u64; 5];
    for id in households {
        let h = f.store.household(id).unwrap();
        if !d.is_within(&h.grid, unit) {
            continue;
        }
        for v in h.visits.iter().filter(|v| v.at >= p.from && v.at < p.to) {
            let (grids, seen, counts) = by_name.entry(v.actor.name.clone()).or_default();
            grids.insert(d.unit(&h.grid).unwrap().name.clone());
            seen.insert(h.id.clone());
            all.insert(h.id.clone());
            let found = match v.outcome {
                VisitOutcome::AllSafe => 2,
                VisitOutcome::Noted => 3,
                VisitOutcome::Dispute { .. } => 4,
            };
            for c in [&mut *counts, &mut total] {
                c[1] += 1;
                c[found] += 1;
            }
        }
    }
    total[0] = all.len() as u64;
    let rows = by_name
        .into_iter()
        .map(|(name, (grids, seen, mut counts))| {
            counts[0] = seen.len() as u64;
            let grids: Vec<String> = grids.into_iter().collect();
            (name, (grids.join("、"), counts))
        })
        .collect();
    (rows, total)
}

/// The 入户走访 sheet read back: its visitors' rows by name, and its total row.
fn visits_sheet(file: &xlsx::LedgerFile) -> (BTreeMap<String, VisitLine>, [u64; 5]) {
    let mut book: Xlsx<_> =
        calamine::open_workbook_from_rs(Cursor::new(file.bytes.clone())).unwrap();
    let rows = sheet(&mut book, "入户走访");
    let head: Vec<String> = rows[0].iter().map(text).collect();
    assert_eq!(
        head,
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
    let counts = |r: &[Data]| -> [u64; 5] { std::array::from_fn(|i| number(&r[i + 2]) as u64) };
    let last = rows.last().unwrap();
    assert_eq!(text(&last[0]), "合计");
    let visitors: BTreeMap<String, VisitLine> = rows[1..rows.len() - 1]
        .iter()
        .map(|r| (text(&r[0]), (text(&r[1]), counts(r))))
        .collect();
    assert_eq!(visitors.len(), rows.len() - 2, "one row per visitor");
    (visitors, counts(last))
}

#[test]
fn the_visits_sheet_counts_each_grid_workers_visits_in_the_period_and_the_unit() {
    let mut f = fixture(40);
    let township = f.g.township();
    let local = f.store.directory().policy(&township).local();
    let last = local.date(DEMO_NOW_MS);
    // 45 days: the demo's visits go back up to four months, so many fall before.
    let p = Period::days(local, last - chrono::Duration::days(44), last).unwrap();

    // Two households in every grid of the county, both townships, with months of visits by
    // their grid workers (in the households' own documents, as before volumes).
    let mut households = Vec::new();
    let mut docs = Vec::new();
    for grid in f.g.grids(None) {
        for _ in 0..2 {
            let doc = f.g.household(&grid, DEMO_NOW_MS).unwrap();
            households.push(doc.read().unwrap().id);
            docs.push(doc);
        }
    }
    f.store.import_households(docs, DEMO_NOW_MS).unwrap();

    // Visits recorded since, into volumes: a grid worker's on the period's first and last
    // instants (counted) and just outside it (not), a dispute among them; and the centre's
    // staff visiting households in two villages.
    let home = |f: &Fixture, grid: &UnitId| {
        households
            .iter()
            .find(|h| f.store.household_grid(h).unwrap().as_ref() == Some(grid))
            .unwrap()
            .clone()
    };
    let villages = f.g.villages(&township);
    let grid_a = f.g.grids(Some(&villages[0]))[0].clone();
    let grid_b = f.g.grids(Some(&villages[1]))[1].clone();
    let (ha, hb) = (home(&f, &grid_a), home(&f, &grid_b));
    let worker = f.g.grid_worker_of(&grid_a).unwrap().id.clone();
    let worker = f.g.actor_for(&worker, Role::GridWorker);
    let staff = f.g.staff_of(&township)[0].id.clone();
    let staff = f.g.actor_for(&staff, Role::CentreStaff);
    let case = f
        .store
        .list(
            &CaseFilter {
                unit: Some(township.clone()),
                ..CaseFilter::default()
            },
            DEMO_NOW_MS,
        )
        .unwrap()[0]
        .id
        .clone();
    let dispute = VisitOutcome::Dispute { case };
    for (who, h, outcome, note, at) in [
        (&worker, &ha, VisitOutcome::AllSafe, "", p.from - 1),
        (
            &worker,
            &ha,
            dispute.clone(),
            "发现邻里纠纷，已上报",
            p.from,
        ),
        (
            &worker,
            &ha,
            VisitOutcome::Noted,
            "老人独居，需常关注",
            p.to - 1,
        ),
        (&worker, &ha, dispute, "又发现纠纷", p.to),
        (
            &staff,
            &ha,
            VisitOutcome::AllSafe,
            "",
            p.from + 3 * 86_400_000,
        ),
        (
            &staff,
            &hb,
            VisitOutcome::Noted,
            "家中有人外出务工",
            p.from + 4 * 86_400_000,
        ),
    ] {
        f.store.record_visit(h, who, outcome, note, at).unwrap();
    }

    let file = export_of(&f, &township, &p, IdDisclosure::Masked);
    let (rows, total) = visits_sheet(&file);
    let (expected, expected_total) = visits_from_documents(&f, &households, &township, &p);
    assert_eq!(
        rows, expected,
        "each visitor's row is what the documents say"
    );
    assert_eq!(total, expected_total, "合计");
    // What the test exercises: every kind of visit, a visitor over two villages' grids.
    let [_, visits, all_safe, noted, disputes] = total;
    assert!(all_safe > 0 && noted > 0, "{total:?}");
    assert_eq!(
        disputes, 1,
        "the dispute on the first instant, not the one after the last"
    );
    assert_eq!(visits, all_safe + noted + disputes);
    let staff_row = &rows[&staff.name];
    assert_eq!(staff_row.1, [2, 2, 1, 1, 0], "the staff's two visits");
    let names = |grids: &[&UnitId]| {
        let mut n: Vec<String> = grids
            .iter()
            .map(|g| f.store.directory().unit(g).unwrap().name.clone())
            .collect();
        n.sort();
        n.join("、")
    };
    assert_eq!(staff_row.0, names(&[&grid_a, &grid_b]));
    assert_eq!(rows[&worker.name].0, names(&[&grid_a]));
    assert!(rows[&worker.name].1[4] == 1, "{:?}", rows[&worker.name]);
    // Every grid worker of the township (each visits each household at least every 35 days)
    // and the staff have a row, and nobody of the other township.
    let grids = f.g.grids(Some(&township));
    for g in &grids {
        let name = &f.g.grid_worker_of(g).unwrap().name;
        assert!(rows.contains_key(name), "{name} of {g} visited");
    }
    assert_eq!(rows.len(), grids.len() + 1, "{:?}", rows.keys());
    let other =
        f.g.townships()
            .into_iter()
            .find(|t| *t != township)
            .unwrap();
    let (theirs, their_total) = visits_from_documents(&f, &households, &other, &p);
    assert!(
        their_total[1] > 0,
        "the other township's workers visited in the period"
    );
    for name in theirs.keys() {
        assert!(
            !rows.contains_key(name),
            "{name} works in the other township"
        );
    }
    // Visits before the period were made, and are not counted.
    let before = households
        .iter()
        .map(|h| f.store.household(h).unwrap())
        .filter(|h| f.store.directory().is_within(&h.grid, &township))
        .flat_map(|h| h.visits)
        .filter(|v| v.at < p.from)
        .count();
    assert!(before > 50, "{before} visits before the period");
    assert_eq!(
        file.visits.total.visits, visits,
        "the file's figures are the sheet's"
    );

    // A village's ledger counts its own grids' households only.
    let village = &villages[0];
    let file = export_of(&f, village, &p, IdDisclosure::Masked);
    let (rows, total) = visits_sheet(&file);
    let (expected, expected_total) = visits_from_documents(&f, &households, village, &p);
    assert_eq!(rows, expected);
    assert_eq!(total, expected_total);
    assert_eq!(rows[&staff.name], (names(&[&grid_a]), [1, 1, 1, 0, 0]));
    assert!(total[1] < visits, "{total:?} of {visits}");

    // The header is frozen; 网格 is as wide as the widest grids' names.
    let mut zip = zip::ZipArchive::new(Cursor::new(file.bytes)).unwrap();
    let mut xml = String::new();
    zip.by_name("xl/worksheets/sheet7.xml")
        .unwrap()
        .read_to_string(&mut xml)
        .unwrap();
    assert!(xml.contains("<pane ySplit=\"1\""), "frozen header");
    let widest = rows
        .values()
        .map(|(g, _)| super::width::display_width(g))
        .max()
        .unwrap();
    let tag = "<col min=\"2\" max=\"2\" width=\"";
    let at = xml.find(tag).expect("网格's width") + tag.len();
    let width: f64 = xml[at..].split('"').next().unwrap().parse().unwrap();
    assert!(width >= widest as f64, "网格 {width} for {widest}");
}
