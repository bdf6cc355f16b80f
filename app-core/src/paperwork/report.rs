//! The periodic reports a centre sends on its rhythm (每周研判、每月通报、每季总结), each as data
//! ([`PeriodicReport`]: text and tables), then as XLSX ([`to_xlsx`]) and as a printable PDF
//! ([`to_pdf`]). The figures are [`crate::figures::report`]'s for the unit and the period, so a
//! report says what the figures screen and the ledger say.
//!
//! - **每周研判** (weekly analysis): the week's new cases by category; the open cases by
//!   difficulty and by risk; the overdue; those due in the coming week; key cases (重大、特大, or
//!   with a risk flag) still open.
//! - **每月通报** (monthly notice): the month's figures; every village's figures ranked by
//!   resolution rate; the units with overdue cases named; the figures by category.
//! - **每季总结** (quarterly summary): the quarter's figures against the quarter before; by
//!   month, by category, by village.

use super::ledger::{self, case_number};
use super::pdf::{Fonts, Layout, BODY, LABEL, SMALL, TITLE};
use super::width::ColumnWidths;
use super::Period;
use crate::deadline::{DueState, LocalTime};
use crate::error::{Error, Result};
use crate::figures::{Figures, Rate, Report};
use crate::ids::UnitId;
use crate::model::Difficulty;
use crate::org::{Directory, Tier};
use crate::summary::CaseSummary;
use crate::taxonomy::{CategoryCode, Taxonomy};
use chrono::{Datelike, Duration, NaiveDate};
use rusqlite::Connection;
use rust_xlsxwriter::{Format, FormatBorder, Workbook};

const DAY: i64 = 86_400_000;

/// Which report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportKind {
    Weekly,
    Monthly,
    Quarterly,
}

impl ReportKind {
    pub const ALL: [ReportKind; 3] = [
        ReportKind::Weekly,
        ReportKind::Monthly,
        ReportKind::Quarterly,
    ];

    pub fn code(self) -> &'static str {
        match self {
            ReportKind::Weekly => "weekly",
            ReportKind::Monthly => "monthly",
            ReportKind::Quarterly => "quarterly",
        }
    }

    pub fn from_code(code: &str) -> Option<ReportKind> {
        ReportKind::ALL.into_iter().find(|k| k.code() == code)
    }

    pub fn zh(self) -> &'static str {
        match self {
            ReportKind::Weekly => "每周研判",
            ReportKind::Monthly => "每月通报",
            ReportKind::Quarterly => "每季总结",
        }
    }

    /// The week (Monday to Sunday), month or quarter that holds `day`.
    pub fn period(self, local: LocalTime, day: NaiveDate) -> Result<Period> {
        let (first, last) = match self {
            ReportKind::Weekly => {
                let first = day - Duration::days(day.weekday().num_days_from_monday() as i64);
                (first, first + Duration::days(6))
            }
            ReportKind::Monthly => month_bounds(day.year(), day.month())?,
            ReportKind::Quarterly => {
                let q = (day.month() - 1) / 3;
                let (first, _) = month_bounds(day.year(), q * 3 + 1)?;
                let (_, last) = month_bounds(day.year(), q * 3 + 3)?;
                (first, last)
            }
        };
        Period::days(local, first, last)
    }
}

fn month_bounds(year: i32, month: u32) -> Result<(NaiveDate, NaiveDate)> {
    let bad = || Error::Invalid {
        field: "period".into(),
        problem: format!("{year}-{month} is not a month"),
    };
    let first = NaiveDate::from_ymd_opt(year, month, 1).ok_or_else(bad)?;
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    }
    .ok_or_else(bad)?;
    Ok((first, next - Duration::days(1)))
}

/// A table's cell.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Text(String),
    Count(u64),
    /// A rate; `None` when there is nothing to divide by.
    Rate(Option<f64>),
}

impl Cell {
    pub fn text(&self) -> String {
        match self {
            Cell::Text(t) => t.clone(),
            Cell::Count(n) => n.to_string(),
            Cell::Rate(Some(p)) => format!("{p:.1}%"),
            Cell::Rate(None) => "–".to_owned(),
        }
    }
}

fn rate(r: Rate) -> Cell {
    Cell::Rate(r.percent())
}

/// A table of a report.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    pub title: String,
    pub head: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    /// Relative column widths for print.
    pub widths: Vec<f32>,
}

/// A part of a report, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum Section {
    Heading(String),
    Text(String),
    Table(Table),
}

/// A report as data.
#[derive(Clone, Debug, PartialEq)]
pub struct PeriodicReport {
    pub kind: ReportKind,
    pub unit: UnitId,
    pub unit_name: String,
    pub period: Period,
    pub title: String,
    /// The figures of the period, as `/v1/figures` gives them.
    pub figures: Report,
    pub sections: Vec<Section>,
}

fn figures_of(
    conn: &Connection,
    directory: &Directory,
    unit: &UnitId,
    period: &Period,
    now_ms: i64,
) -> Result<Report> {
    let mut b =
        crate::store::lower::builder(conn, directory, unit, period.from, period.to, now_ms)?;
    ledger::for_each_case(conn, directory, unit, period, |s, _| {
        b.add(s);
        Ok(())
    })?;
    Ok(b.finish())
}

fn figures_row(name: String, f: &Figures) -> Vec<Cell> {
    vec![
        Cell::Text(name),
        Cell::Count(f.received),
        Cell::Count(f.resolved),
        rate(f.resolution_rate()),
        Cell::Count(f.concluded),
        rate(f.on_time_rate()),
        rate(f.satisfaction_rate()),
        Cell::Count(f.overdue),
    ]
}

fn figures_head(first: &str) -> Vec<String> {
    [
        first,
        "受理",
        "化解",
        "化解率",
        "办结",
        "按期办结率",
        "回访满意率",
        "超期",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

const FIGURE_WIDTHS: [f32; 8] = [3.0, 1.2, 1.2, 1.6, 1.2, 1.8, 1.8, 1.2];

/// Builds the report of `kind` for `unit` over `period`, as at `now_ms`.
#[allow(clippy::too_many_arguments)]
pub fn build(
    conn: &Connection,
    directory: &Directory,
    taxonomy: &Taxonomy,
    unit: &UnitId,
    kind: ReportKind,
    period: &Period,
    now_ms: i64,
) -> Result<PeriodicReport> {
    let unit_name = directory
        .unit(unit)
        .ok_or_else(|| Error::UnknownUnit(unit.clone()))?
        .name
        .clone();
    // What the units one tier down are called, for the tables by unit.
    let below = match directory.unit(unit).map(|u| u.tier) {
        Some(Tier::County) => "乡镇（街道）",
        Some(Tier::Village) => "网格",
        _ => "村（社区）",
    };
    let local = directory.policy(unit).local();
    let figures = figures_of(conn, directory, unit, period, now_ms)?;
    let name_of = |id: &UnitId| {
        directory
            .unit(id)
            .map_or_else(|| id.to_string(), |u| u.name.clone())
    };
    let category = |code: &str| taxonomy.zh(&CategoryCode::from(code)).to_owned();
    let t = &figures.total;
    let mut sections = vec![Section::Text(format!(
        "{}，{}共受理矛盾纠纷{}件，化解{}件，化解率{}；办结{}件，办结率{}；按期办结率{}；回访满意率{}。",
        period.zh(),
        unit_name,
        t.received,
        t.resolved,
        t.resolution_rate(),
        t.concluded,
        t.completion_rate(),
        t.on_time_rate(),
        t.satisfaction_rate()
    ))];
    let by_category = {
        let mut rows: Vec<(String, &Figures)> = figures
            .by_category
            .iter()
            .map(|(c, f)| (category(c), f))
            .collect();
        rows.sort_by(|a, b| b.1.received.cmp(&a.1.received).then(a.0.cmp(&b.0)));
        Table {
            title: "按纠纷类型".into(),
            head: figures_head("类型"),
            rows: rows.into_iter().map(|(n, f)| figures_row(n, f)).collect(),
            widths: FIGURE_WIDTHS.to_vec(),
        }
    };
    let case_row = |s: &CaseSummary, last: Cell| {
        vec![
            Cell::Text(case_number(s.id.as_str(), local.date(s.reported_at))),
            Cell::Text(s.title.clone()),
            Cell::Text(match &s.assignee {
                Some(a) => format!("{}/{}", name_of(&s.responsible_unit), a),
                None => name_of(&s.responsible_unit),
            }),
            Cell::Text(local.date(s.due_at - 1).to_string()),
            last,
        ]
    };
    match kind {
        ReportKind::Weekly => {
            let open = ledger::open_cases(conn, unit, None)?;
            let overdue: Vec<&CaseSummary> = open
                .iter()
                .filter(|s| s.due_state(now_ms) == DueState::Overdue)
                .collect();
            let week_end = local.midnight(local.date(now_ms)) + 8 * DAY;
            let due_soon: Vec<&CaseSummary> = open
                .iter()
                .filter(|s| s.due_at > now_ms && s.due_at <= week_end)
                .collect();
            sections.push(Section::Text(format!(
                "截至{}，在办{}件，其中超期{}件、七日内到期{}件。",
                local.datetime(now_ms).format("%Y年%-m月%-d日%H:%M"),
                open.len(),
                overdue.len(),
                due_soon.len()
            )));
            sections.push(Section::Table(by_category));
            let mut by_difficulty: Vec<Vec<Cell>> = Vec::new();
            for d in Difficulty::ALL.map(Some).into_iter().chain([None]) {
                let of: Vec<&CaseSummary> = open.iter().filter(|s| s.difficulty == d).collect();
                if of.is_empty() {
                    continue;
                }
                by_difficulty.push(vec![
                    Cell::Text(d.map_or("未研判", |d| d.zh()).to_owned()),
                    Cell::Count(of.len() as u64),
                    Cell::Count(
                        of.iter()
                            .filter(|s| s.due_state(now_ms) == DueState::Overdue)
                            .count() as u64,
                    ),
                    Cell::Count(of.iter().filter(|s| !s.risks.is_empty()).count() as u64),
                ]);
            }
            sections.push(Section::Table(Table {
                title: "在办案件（按难度）".into(),
                head: ["难度", "在办", "超期", "有风险标记"]
                    .map(String::from)
                    .to_vec(),
                rows: by_difficulty,
                widths: vec![2.0, 1.0, 1.0, 1.4],
            }));
            let mut by_risk: std::collections::BTreeMap<&'static str, u64> = Default::default();
            for s in &open {
                for r in &s.risks {
                    *by_risk.entry(r.zh()).or_default() += 1;
                }
            }
            sections.push(Section::Table(Table {
                title: "在办案件（按风险）".into(),
                head: ["风险", "在办"].map(String::from).to_vec(),
                rows: by_risk
                    .into_iter()
                    .map(|(r, n)| vec![Cell::Text(r.into()), Cell::Count(n)])
                    .collect(),
                widths: vec![3.0, 1.0],
            }));
            let head = |last: &str| {
                ["编号", "案由", "责任单位/调解员", "期限", last]
                    .map(String::from)
                    .to_vec()
            };
            let widths = vec![2.7, 3.1, 2.9, 1.8, 1.2];
            sections.push(Section::Table(Table {
                title: "超期案件".into(),
                head: head("超期天数"),
                rows: overdue
                    .iter()
                    .map(|s| case_row(s, Cell::Count(((now_ms - s.due_at) / DAY + 1) as u64)))
                    .collect(),
                widths: widths.clone(),
            }));
            sections.push(Section::Table(Table {
                title: "七日内到期".into(),
                head: head("状态"),
                rows: due_soon
                    .iter()
                    .map(|s| case_row(s, Cell::Text(s.status.zh().into())))
                    .collect(),
                widths: widths.clone(),
            }));
            sections.push(Section::Table(Table {
                title: "重点案件（重大、特大或有风险标记，在办）".into(),
                head: ["编号", "案由", "难度", "风险", "状态"]
                    .map(String::from)
                    .to_vec(),
                rows: open
                    .iter()
                    .filter(|s| {
                        matches!(
                            s.difficulty,
                            Some(Difficulty::Major | Difficulty::ExtraMajor)
                        ) || !s.risks.is_empty()
                    })
                    .map(|s| {
                        vec![
                            Cell::Text(case_number(s.id.as_str(), local.date(s.reported_at))),
                            Cell::Text(s.title.clone()),
                            Cell::Text(s.difficulty.map_or("", |d| d.zh()).into()),
                            Cell::Text(
                                s.risks
                                    .iter()
                                    .map(|r| r.zh())
                                    .collect::<Vec<_>>()
                                    .join("、"),
                            ),
                            Cell::Text(s.status.zh().into()),
                        ]
                    })
                    .collect(),
                widths: vec![2.7, 3.3, 1.0, 2.9, 1.3],
            }));
        }
        ReportKind::Monthly => {
            let mut villages: Vec<(String, &Figures)> = figures
                .by_unit
                .iter()
                .map(|(u, f)| (name_of(u), f))
                .collect();
            // Ranked by resolution rate, then by cases received; none received ranks last.
            villages.sort_by(|a, b| {
                let ra = a.1.resolution_rate().percent().unwrap_or(-1.0);
                let rb = b.1.resolution_rate().percent().unwrap_or(-1.0);
                rb.total_cmp(&ra)
                    .then(b.1.received.cmp(&a.1.received))
                    .then(a.0.cmp(&b.0))
            });
            let mut head = vec!["排名".to_owned()];
            head.extend(figures_head(below));
            let mut widths = vec![0.9];
            widths.extend(FIGURE_WIDTHS);
            sections.push(Section::Table(Table {
                title: format!("各{below}化解情况排名"),
                head,
                rows: villages
                    .iter()
                    .enumerate()
                    .map(|(i, (n, f))| {
                        let mut row = vec![Cell::Count(i as u64 + 1)];
                        row.extend(figures_row(n.clone(), f));
                        row
                    })
                    .collect(),
                widths,
            }));
            let late: Vec<String> = villages
                .iter()
                .filter(|(_, f)| f.overdue > 0)
                .map(|(n, f)| format!("{n}{}件", f.overdue))
                .collect();
            sections.push(Section::Heading("超期通报".into()));
            sections.push(Section::Text(if late.is_empty() {
                "本月受理的案件中没有超期未办结的案件。".to_owned()
            } else {
                format!(
                    "本月受理的案件中超期未办结{}件：{}。请相关{below}限期办结，逾期未办结的纳入督办。",
                    t.overdue,
                    late.join("、")
                )
            }));
            sections.push(Section::Table(by_category));
        }
        ReportKind::Quarterly => {
            let before = kind.period(local, period.first - Duration::days(1))?;
            let previous = figures_of(conn, directory, unit, &before, now_ms)?;
            let p = &previous.total;
            let change = |now: u64, then: u64| -> String {
                if then == 0 {
                    "上季无案件".to_owned()
                } else {
                    let pct = (now as f64 - then as f64) * 100.0 / then as f64;
                    format!(
                        "{}{:.1}%",
                        if pct >= 0.0 { "增长" } else { "下降" },
                        pct.abs()
                    )
                }
            };
            sections.push(Section::Text(format!(
                "与上季度（{}）相比，受理{}件（{}），化解{}件，化解率{}（上季{}）。",
                before.zh(),
                t.received,
                change(t.received, p.received),
                t.resolved,
                t.resolution_rate(),
                p.resolution_rate()
            )));
            sections.push(Section::Table(Table {
                title: "按月".into(),
                head: figures_head("月份"),
                rows: figures
                    .by_month
                    .iter()
                    .map(|(m, f)| figures_row(m.clone(), f))
                    .collect(),
                widths: FIGURE_WIDTHS.to_vec(),
            }));
            sections.push(Section::Table(by_category));
            sections.push(Section::Table(Table {
                title: format!("按{below}"),
                head: figures_head(below),
                rows: figures
                    .by_unit
                    .iter()
                    .map(|(u, f)| figures_row(name_of(u), f))
                    .collect(),
                widths: FIGURE_WIDTHS.to_vec(),
            }));
        }
    }
    Ok(PeriodicReport {
        kind,
        unit: unit.clone(),
        title: format!("{unit_name}矛盾纠纷{}", kind.zh()),
        unit_name,
        period: *period,
        figures,
        sections,
    })
}

/// The report as XLSX: the text on the first sheet, then a sheet per table.
pub fn to_xlsx(report: &PeriodicReport) -> Result<Vec<u8>> {
    let x = |e: rust_xlsxwriter::XlsxError| Error::Spreadsheet(e.to_string());
    let mut book = Workbook::new();
    let header = Format::new()
        .set_bold()
        .set_background_color(0xDDEBF7)
        .set_border(FormatBorder::Thin);
    let percent = Format::new().set_num_format("0.0%");
    let bold = Format::new().set_bold().set_font_size(14);
    let sheet = book.add_worksheet();
    sheet.set_name("说明").map_err(x)?;
    sheet
        .write_string_with_format(0, 0, &report.title, &bold)
        .map_err(x)?;
    sheet.write_string(1, 0, report.period.zh()).map_err(x)?;
    let mut r = 3;
    for s in &report.sections {
        match s {
            Section::Heading(h) => {
                sheet
                    .write_string_with_format(r, 0, h, &header)
                    .map_err(x)?;
                r += 1;
            }
            Section::Text(t) => {
                sheet.write_string(r, 0, t).map_err(x)?;
                r += 1;
            }
            Section::Table(_) => {}
        }
    }
    sheet.set_column_width(0, 120).map_err(x)?;
    let mut names = std::collections::HashSet::new();
    for s in &report.sections {
        let Section::Table(t) = s else { continue };
        // A sheet's name: at most 31 characters, none of []:*?/\, unique.
        let mut name: String = t
            .title
            .chars()
            .filter(|c| !"[]:*?/\\".contains(*c))
            .take(28)
            .collect();
        while !names.insert(name.clone()) {
            name.push('2');
        }
        let sheet = book.add_worksheet();
        sheet.set_name(&name).map_err(x)?;
        let heads: Vec<&str> = t.head.iter().map(String::as_str).collect();
        let mut widths = ColumnWidths::new(&heads, &vec![40; heads.len()]);
        for (c, h) in heads.iter().enumerate() {
            sheet
                .write_string_with_format(0, c as u16, *h, &header)
                .map_err(x)?;
        }
        for (i, row) in t.rows.iter().enumerate() {
            let r = i as u32 + 1;
            for (c, cell) in row.iter().enumerate() {
                let c16 = c as u16;
                match cell {
                    Cell::Text(s) => {
                        sheet.write_string(r, c16, s).map_err(x)?;
                    }
                    Cell::Count(n) => {
                        sheet.write_number(r, c16, *n as f64).map_err(x)?;
                    }
                    Cell::Rate(Some(p)) => {
                        sheet
                            .write_number_with_format(r, c16, p / 100.0, &percent)
                            .map_err(x)?;
                    }
                    Cell::Rate(None) => {
                        sheet.write_string(r, c16, "–").map_err(x)?;
                    }
                }
                widths.see(c, &cell.text());
            }
        }
        for c in 0..widths.len() {
            sheet
                .set_column_width(c as u16, widths.width(c))
                .map_err(x)?;
        }
        sheet.set_freeze_panes(1, 0).map_err(x)?;
    }
    book.save_to_buffer().map_err(x)
}

/// The report as a printable PDF.
pub fn to_pdf(report: &PeriodicReport, fonts: &Fonts, generated: &str) -> Result<Vec<u8>> {
    let mut l = Layout::new(fonts, &report.title);
    l.centred(&report.title, TITLE);
    l.centred(&report.period.zh(), BODY);
    l.right(generated, SMALL);
    l.gap(6.0);
    for s in &report.sections {
        match s {
            Section::Heading(h) => {
                l.gap(4.0);
                l.paragraph(h, "", LABEL, 0.0);
            }
            Section::Text(t) => l.paragraph("", t, BODY, 2.0),
            Section::Table(t) => {
                l.gap(4.0);
                l.paragraph(&t.title, "", LABEL, 0.0);
                if t.rows.is_empty() {
                    l.paragraph("", "无。", BODY, 2.0);
                    continue;
                }
                let head: Vec<&str> = t.head.iter().map(String::as_str).collect();
                let rows: Vec<Vec<String>> = t
                    .rows
                    .iter()
                    .map(|r| r.iter().map(Cell::text).collect())
                    .collect();
                l.table(&head, &rows, &t.widths, SMALL);
            }
        }
    }
    l.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_week_runs_monday_to_sunday_and_a_quarter_three_months() {
        let local = LocalTime::CHINA;
        let thursday = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        let w = ReportKind::Weekly.period(local, thursday).unwrap();
        assert_eq!(
            (w.first.to_string(), w.last.to_string()),
            ("2026-11-30".into(), "2026-12-06".into())
        );
        let m = ReportKind::Monthly.period(local, thursday).unwrap();
        assert_eq!(
            (m.first.to_string(), m.last.to_string()),
            ("2026-12-01".into(), "2026-12-31".into())
        );
        let q = ReportKind::Quarterly.period(local, thursday).unwrap();
        assert_eq!(
            (q.first.to_string(), q.last.to_string()),
            ("2026-10-01".into(), "2026-12-31".into())
        );
        let feb = ReportKind::Monthly
            .period(local, NaiveDate::from_ymd_opt(2028, 2, 10).unwrap())
            .unwrap();
        assert_eq!(feb.last.to_string(), "2028-02-29");
    }
}
