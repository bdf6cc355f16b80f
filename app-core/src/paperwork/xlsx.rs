//! The ledger of a unit for a period as an XLSX workbook (rust_xlsxwriter):
//!
//! 1. 概况: the unit, the period, who exported it and when, and the figures that every report
//!    quotes (受理、化解率、办结率、按期办结率、回访满意率).
//! 2. 台账: one row per case ([`super::ledger::COLUMNS`]), a frozen header, an autofilter, real
//!    dates, column widths from East-Asian display widths ([`super::width`]), printed landscape
//!    on A3 with the header row repeated. Written in constant-memory mode: rows go to a
//!    temporary file as they come, so the ledger's size does not weigh on memory.
//! 3. 按类型统计, 按村统计, 按月统计: the figures by category, by the unit's villages (or
//!    other children) and by month, each with a total row and a native Excel chart.
//! 4. 超期督办: the unit's open cases past their deadline now, the longest overdue first.
//! 5. 入户走访: one row per person who visited the unit's households in the period (网格员),
//!    with the households visited, the visits and what they found, and a total row.
//!
//! Every figure is the one [`crate::figures::report`] gives for the same unit and period: the
//! rows are counted as they are written ([`ReportBuilder`]).

use super::ledger::{self, LedgerContext, LedgerRow, VisitCounts, VisitSheet};
use super::ledger::{COLUMNS, VISIT_COLUMNS};
use super::width::ColumnWidths;
use super::{IdDisclosure, Period};
use crate::error::{Error, Result};
use crate::figures::{Figures, Rate, Report};
use crate::ids::UnitId;
use crate::org::Directory;
use crate::taxonomy::{CategoryCode, Taxonomy};
use chrono::{Datelike, NaiveDate};
use rusqlite::Connection;
use rust_xlsxwriter::{
    Chart, ChartType, DocProperties, ExcelDateTime, Format, FormatAlign, FormatBorder, Workbook,
    Worksheet, XlsxError,
};

const DAY: i64 = 86_400_000;

/// The sheets' names, as a reader finds them.
pub const SHEET_OVERVIEW: &str = "概况";
pub const SHEET_LEDGER: &str = "台账";
pub const SHEET_BY_CATEGORY: &str = "按类型统计";
pub const SHEET_BY_UNIT: &str = "按村统计";
pub const SHEET_BY_MONTH: &str = "按月统计";
pub const SHEET_OVERDUE: &str = "超期督办";
pub const SHEET_VISITS: &str = "入户走访";

/// The figures tables' columns (the three 统计 sheets), after the slice's name.
pub const FIGURE_COLUMNS: [&str; 15] = [
    "受理",
    "事项",
    "化解",
    "化解率",
    "稳控",
    "办结",
    "办结率",
    "在办",
    "超期",
    "按期办结率",
    "回访满意率",
    "督办",
    "上报上级",
    "12345工单",
    "退单",
];

/// Who asked for the export and when, for the overview sheet and the file's properties.
#[derive(Clone, Debug)]
pub struct Exporter {
    /// "张三（海宴镇综治中心）", or "服务器管理员" for the command line.
    pub who: String,
    pub at_ms: i64,
}

/// A written ledger: the file's bytes, how many cases it lists, and its figures.
#[derive(Debug)]
pub struct LedgerFile {
    pub bytes: Vec<u8>,
    pub cases: u64,
    pub report: Report,
    pub overdue: u64,
    /// The visits sheet's rows and total.
    pub visits: VisitSheet,
}

fn xlsx(e: XlsxError) -> Error {
    Error::Spreadsheet(e.to_string())
}

/// Writes the ledger of `unit` for `period` as at `now_ms` from the store's tables on `conn`.
pub fn ledger(
    conn: &Connection,
    directory: &Directory,
    taxonomy: &Taxonomy,
    unit: &UnitId,
    period: &Period,
    disclosure: IdDisclosure,
    exporter: &Exporter,
) -> Result<LedgerFile> {
    let unit_name = directory
        .unit(unit)
        .ok_or_else(|| Error::UnknownUnit(unit.clone()))?
        .name
        .clone();
    let now_ms = exporter.at_ms;
    let ctx = LedgerContext {
        directory,
        taxonomy,
        unit,
        now_ms,
        disclosure,
    };
    let local = directory.policy(unit).local();
    let title = format!("{unit_name}矛盾纠纷台账（{}）", period.zh());
    let mut book = Workbook::new();
    book.set_properties(
        &DocProperties::new()
            .set_title(&title)
            .set_author(&exporter.who)
            .set_company(&unit_name)
            .set_comment(format!(
                "导出时间 {}；{}",
                local.datetime(now_ms).format("%Y-%m-%d %H:%M"),
                disclosure.zh()
            )),
    );
    // Excel's own level: about a third faster to save than the default 6, for a file about 5%
    // larger.
    book.set_zip_compression_level(3);
    let fmt = Formats::new();
    book.add_worksheet()
        .set_name(SHEET_OVERVIEW)
        .map_err(xlsx)?;

    // 台账, streamed.
    let mut widths = ColumnWidths::new(
        &COLUMNS,
        &[
            16, 10, 12, 14, 40, 24, 60, 6, 20, 30, 10, 10, 8, 4, 8, 10, 10, 8, 24,
        ],
    );
    let mut figures =
        crate::store::lower::builder(conn, directory, unit, period.from, period.to, now_ms)?;
    let sheet = book.add_worksheet_with_constant_memory().map_err(xlsx)?;
    sheet.set_name(SHEET_LEDGER).map_err(xlsx)?;
    for (col, h) in COLUMNS.iter().enumerate() {
        sheet
            .write_string_with_format(0, col as u16, *h, &fmt.header)
            .map_err(xlsx)?;
    }
    let mut r: u32 = 0;
    let cases = ledger::for_each_case(conn, directory, unit, period, |summary, parties| {
        figures.add(summary);
        let row = ctx.row(summary, parties);
        r += 1;
        write_row(sheet, r, &row, &fmt, &mut widths).map_err(xlsx)
    })?;
    finish_table(sheet, &widths, r, COLUMNS.len() as u16, &title).map_err(xlsx)?;
    sheet.set_column_format(6, &fmt.wrap).map_err(xlsx)?;
    let report = figures.finish();

    // The figures by category, unit and month.
    let category = |code: &String| taxonomy.zh(&CategoryCode::from(code.as_str())).to_owned();
    let mut by_category: Vec<(String, &Figures)> = report
        .by_category
        .iter()
        .map(|(c, f)| (category(c), f))
        .collect();
    by_category.sort_by(|a, b| b.1.received.cmp(&a.1.received).then(a.0.cmp(&b.0)));
    let unit_label = |id: &UnitId| {
        directory
            .unit(id)
            .map_or_else(|| id.to_string(), |u| u.name.clone())
    };
    let by_unit: Vec<(String, &Figures)> = report
        .by_unit
        .iter()
        .map(|(u, f)| (unit_label(u), f))
        .collect();
    let by_month: Vec<(String, &Figures)> = report
        .by_month
        .iter()
        .map(|(m, f)| (month_zh(m), f))
        .collect();
    for (name, first, rows, chart) in [
        (SHEET_BY_CATEGORY, "类别", by_category, ChartType::Bar),
        (SHEET_BY_UNIT, "村（社区）", by_unit, ChartType::Column),
        (SHEET_BY_MONTH, "月份", by_month, ChartType::Line),
    ] {
        let sheet = book.add_worksheet();
        sheet.set_name(name).map_err(xlsx)?;
        figures_sheet(sheet, name, first, &rows, &report.total, chart, &fmt).map_err(xlsx)?;
    }

    // 超期督办.
    let overdue = ledger::open_cases(conn, unit, Some(now_ms))?;
    let sheet = book.add_worksheet();
    sheet.set_name(SHEET_OVERDUE).map_err(xlsx)?;
    let heads = [
        "编号",
        "案由",
        "村/网格",
        "责任单位/调解员",
        "受理日期",
        "期限",
        "超期天数",
        "督办",
        "状态",
    ];
    let mut w = ColumnWidths::new(&heads, &[16, 30, 24, 30, 10, 10, 8, 30, 10]);
    for (col, h) in heads.iter().enumerate() {
        sheet
            .write_string_with_format(0, col as u16, *h, &fmt.header)
            .map_err(xlsx)?;
    }
    for (i, s) in overdue.iter().enumerate() {
        let row = ctx.row(s, &[]);
        let r = i as u32 + 1;
        let supervised = s.supervised.as_ref().map_or(String::new(), |sv| {
            format!(
                "{}（{}，{}）",
                sv.level.zh(),
                sv.by,
                local.date(sv.at).format("%-m月%-d日")
            )
        });
        let days = (now_ms - s.due_at) / DAY + 1;
        let texts = [
            row.number.as_str(),
            row.title.as_str(),
            row.place.as_str(),
            row.responsible.as_str(),
        ];
        for (col, t) in texts.iter().enumerate() {
            sheet.write_string(r, col as u16, *t).map_err(xlsx)?;
            w.see(col, t);
        }
        date_cell(sheet, r, 4, row.reported, &fmt).map_err(xlsx)?;
        date_cell(sheet, r, 5, row.due, &fmt).map_err(xlsx)?;
        sheet.write_number(r, 6, days as f64).map_err(xlsx)?;
        sheet.write_string(r, 7, &supervised).map_err(xlsx)?;
        w.see(7, &supervised);
        sheet.write_string(r, 8, &row.status).map_err(xlsx)?;
        w.see(8, &row.status);
    }
    w.see(4, "2026-12-31");
    w.see(5, "2026-12-31");
    finish_table(
        sheet,
        &w,
        overdue.len() as u32,
        heads.len() as u16,
        &format!("{unit_name}超期督办案件（截至{}）", local.date(now_ms)),
    )
    .map_err(xlsx)?;

    // 入户走访.
    let visits = ledger::visits(conn, directory, unit, period)?;
    let sheet = book.add_worksheet();
    sheet.set_name(SHEET_VISITS).map_err(xlsx)?;
    visits_sheet(
        sheet,
        &visits,
        &format!("{unit_name}入户走访情况（{}）", period.zh()),
        &fmt,
    )
    .map_err(xlsx)?;

    // 概况, now that the figures are known.
    let sheet = book.worksheet_from_name(SHEET_OVERVIEW).map_err(xlsx)?;
    overview(
        sheet,
        &title,
        &unit_name,
        period,
        exporter,
        local.datetime(now_ms).format("%Y-%m-%d %H:%M").to_string(),
        disclosure,
        cases,
        overdue.len() as u64,
        &report.total,
        &fmt,
    )
    .map_err(xlsx)?;
    let bytes = book.save_to_buffer().map_err(xlsx)?;
    Ok(LedgerFile {
        bytes,
        cases,
        report,
        overdue: overdue.len() as u64,
        visits,
    })
}

/// The cell formats the workbook uses.
struct Formats {
    header: Format,
    date: Format,
    wrap: Format,
    percent: Format,
    title: Format,
    label: Format,
    total: Format,
    total_percent: Format,
}

impl Formats {
    fn new() -> Formats {
        let header = Format::new()
            .set_bold()
            .set_background_color(0xDDEBF7)
            .set_border(FormatBorder::Thin)
            .set_align(FormatAlign::Center)
            .set_align(FormatAlign::VerticalCenter);
        Formats {
            header,
            date: Format::new().set_num_format("yyyy-mm-dd"),
            wrap: Format::new().set_text_wrap().set_align(FormatAlign::Top),
            percent: Format::new().set_num_format("0.0%"),
            title: Format::new().set_bold().set_font_size(16),
            label: Format::new().set_bold(),
            total: Format::new().set_bold().set_border(FormatBorder::Thin),
            total_percent: Format::new()
                .set_bold()
                .set_border(FormatBorder::Thin)
                .set_num_format("0.0%"),
        }
    }
}

fn excel_date(d: NaiveDate) -> std::result::Result<ExcelDateTime, XlsxError> {
    ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)
}

fn date_cell(
    sheet: &mut Worksheet,
    row: u32,
    col: u16,
    d: NaiveDate,
    fmt: &Formats,
) -> std::result::Result<(), XlsxError> {
    sheet.write_datetime_with_format(row, col, excel_date(d)?, &fmt.date)?;
    Ok(())
}

/// One ledger row, its text noted for the column widths. Dates are real dates; empty cells are
/// left empty.
fn write_row(
    sheet: &mut Worksheet,
    r: u32,
    row: &LedgerRow,
    fmt: &Formats,
    widths: &mut ColumnWidths,
) -> std::result::Result<(), XlsxError> {
    let parties = row.parties_cell();
    let brief = row.brief_cell();
    let yes_no = |b: bool| if b { "是" } else { "否" };
    let texts: [(u16, &str); 16] = [
        (0, &row.number),
        (2, &row.source),
        (3, &row.category),
        (4, &parties),
        (5, &row.place),
        (6, &brief),
        (7, &row.difficulty),
        (8, &row.risks),
        (9, &row.responsible),
        (11, &row.status),
        (12, &row.outcome),
        (13, yes_no(row.agreement)),
        (14, &row.judicial),
        (15, &row.satisfaction),
        (17, yes_no(row.overdue)),
        (18, &row.referred),
    ];
    for (col, text) in texts {
        if !text.is_empty() {
            sheet.write_string(r, col, text)?;
            widths.see(col as usize, text);
        }
    }
    date_cell(sheet, r, 1, row.reported, fmt)?;
    date_cell(sheet, r, 10, row.due, fmt)?;
    if let Some(d) = row.concluded {
        date_cell(sheet, r, 16, d, fmt)?;
    }
    Ok(())
}

/// A table's finish: widths, the frozen header, the autofilter, and the page set up for
/// printing (landscape, one page wide, the header row on every page, the title at the top).
fn finish_table(
    sheet: &mut Worksheet,
    widths: &ColumnWidths,
    last_row: u32,
    columns: u16,
    title: &str,
) -> std::result::Result<(), XlsxError> {
    for col in 0..widths.len() {
        sheet.set_column_width(col as u16, widths.width(col))?;
    }
    sheet.set_freeze_panes(1, 0)?;
    sheet.autofilter(0, 0, last_row.max(1), columns - 1)?;
    sheet.set_landscape();
    sheet.set_paper_size(8); // A3
    sheet.set_print_fit_to_pages(1, 0);
    sheet.set_repeat_rows(0, 0)?;
    sheet.set_header(format!("&C&\"-,Bold\"{}", title.replace('&', "&&")));
    sheet.set_footer("&C第 &P 页，共 &N 页");
    Ok(())
}

/// "2026-10" → "2026年10月".
fn month_zh(m: &str) -> String {
    match m.split_once('-') {
        Some((y, mo)) => format!("{}年{}月", y, mo.trim_start_matches('0')),
        None => m.to_owned(),
    }
}

fn rate_cell(
    sheet: &mut Worksheet,
    r: u32,
    col: u16,
    rate: Rate,
    format: &Format,
) -> std::result::Result<(), XlsxError> {
    match rate.percent() {
        Some(p) => sheet.write_number_with_format(r, col, p / 100.0, format)?,
        None => sheet.write_string(r, col, "–")?,
    };
    Ok(())
}

fn figure_cells(
    sheet: &mut Worksheet,
    r: u32,
    f: &Figures,
    plain: Option<&Format>,
    percent: &Format,
) -> std::result::Result<(), XlsxError> {
    let counts: [(u16, u64); 11] = [
        (1, f.received),
        (2, f.matters),
        (3, f.resolved),
        (5, f.stabilised),
        (6, f.concluded),
        (8, f.open),
        (9, f.overdue),
        (12, f.supervised),
        (13, f.escalated_out),
        (14, f.orders),
        (15, f.returned),
    ];
    for (col, n) in counts {
        match plain {
            Some(format) => sheet.write_number_with_format(r, col, n as f64, format)?,
            None => sheet.write_number(r, col, n as f64)?,
        };
    }
    rate_cell(sheet, r, 4, f.resolution_rate(), percent)?;
    rate_cell(sheet, r, 7, f.completion_rate(), percent)?;
    rate_cell(sheet, r, 10, f.on_time_rate(), percent)?;
    rate_cell(sheet, r, 11, f.satisfaction_rate(), percent)?;
    Ok(())
}

/// A figures table (one row per slice, then 合计) and its chart of cases received and resolved.
fn figures_sheet(
    sheet: &mut Worksheet,
    name: &str,
    first: &str,
    rows: &[(String, &Figures)],
    total: &Figures,
    chart_type: ChartType,
    fmt: &Formats,
) -> std::result::Result<(), XlsxError> {
    let mut heads = vec![first];
    heads.extend(FIGURE_COLUMNS);
    let mut widths = ColumnWidths::new(&heads, &[20]);
    for (col, h) in heads.iter().enumerate() {
        sheet.write_string_with_format(0, col as u16, *h, &fmt.header)?;
    }
    for (i, (label, f)) in rows.iter().enumerate() {
        let r = i as u32 + 1;
        sheet.write_string(r, 0, label)?;
        widths.see(0, label);
        figure_cells(sheet, r, f, None, &fmt.percent)?;
    }
    let total_row = rows.len() as u32 + 1;
    sheet.write_string_with_format(total_row, 0, "合计", &fmt.total)?;
    figure_cells(
        sheet,
        total_row,
        total,
        Some(&fmt.total),
        &fmt.total_percent,
    )?;
    for col in 0..heads.len() {
        sheet.set_column_width(col as u16, widths.width(col))?;
    }
    sheet.set_freeze_panes(1, 1)?;
    if rows.is_empty() {
        return Ok(());
    }
    let last = rows.len() as u32;
    let mut chart = Chart::new(chart_type);
    chart.title().set_name(name);
    for (col, series) in [(1u16, "受理"), (3u16, "化解")] {
        chart
            .add_series()
            .set_name(series)
            .set_categories((name, 1, 0, last, 0))
            .set_values((name, 1, col, last, col));
    }
    sheet.insert_chart(total_row + 2, 0, &chart)?;
    Ok(())
}

/// The visits sheet: a row per visitor, then 合计, the header frozen and filtered (the total
/// row outside the filter, so sorting leaves it last).
fn visits_sheet(
    sheet: &mut Worksheet,
    visits: &VisitSheet,
    title: &str,
    fmt: &Formats,
) -> std::result::Result<(), XlsxError> {
    let mut widths = ColumnWidths::new(&VISIT_COLUMNS, &[16, 40]);
    for (col, h) in VISIT_COLUMNS.iter().enumerate() {
        sheet.write_string_with_format(0, col as u16, *h, &fmt.header)?;
    }
    let counts = |c: &VisitCounts| [c.households, c.visits, c.all_safe, c.noted, c.disputes];
    for (i, v) in visits.rows.iter().enumerate() {
        let r = i as u32 + 1;
        sheet.write_string(r, 0, &v.name)?;
        widths.see(0, &v.name);
        sheet.write_string(r, 1, &v.grids)?;
        widths.see(1, &v.grids);
        for (col, n) in counts(&v.counts).into_iter().enumerate() {
            sheet.write_number(r, col as u16 + 2, n as f64)?;
        }
    }
    let total_row = visits.rows.len() as u32 + 1;
    sheet.write_string_with_format(total_row, 0, "合计", &fmt.total)?;
    sheet.write_string_with_format(total_row, 1, "", &fmt.total)?;
    for (col, n) in counts(&visits.total).into_iter().enumerate() {
        sheet.write_number_with_format(total_row, col as u16 + 2, n as f64, &fmt.total)?;
    }
    for col in 0..widths.len() {
        sheet.set_column_width(col as u16, widths.width(col))?;
    }
    sheet.set_freeze_panes(1, 0)?;
    sheet.autofilter(0, 0, total_row - 1, VISIT_COLUMNS.len() as u16 - 1)?;
    sheet.set_print_fit_to_pages(1, 0);
    sheet.set_repeat_rows(0, 0)?;
    sheet.set_header(format!("&C&\"-,Bold\"{}", title.replace('&', "&&")));
    sheet.set_footer("&C第 &P 页，共 &N 页");
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn overview(
    sheet: &mut Worksheet,
    title: &str,
    unit_name: &str,
    period: &Period,
    exporter: &Exporter,
    at: String,
    disclosure: IdDisclosure,
    cases: u64,
    overdue_now: u64,
    t: &Figures,
    fmt: &Formats,
) -> std::result::Result<(), XlsxError> {
    sheet.write_string_with_format(0, 0, title, &fmt.title)?;
    let facts: [(&str, String); 5] = [
        ("单位", unit_name.to_owned()),
        ("统计期间", period.zh()),
        ("导出人", exporter.who.clone()),
        ("导出时间", at),
        (
            "说明",
            format!("按受理日期统计，共 {cases} 件；{}", disclosure.zh()),
        ),
    ];
    let mut r = 2;
    for (label, value) in facts {
        sheet.write_string_with_format(r, 0, label, &fmt.label)?;
        sheet.write_string(r, 1, &value)?;
        r += 1;
    }
    r += 1;
    let counts: [(&str, u64); 10] = [
        ("受理", t.received),
        ("事项", t.matters),
        ("化解（调解成功）", t.resolved),
        ("稳控", t.stabilised),
        ("办结", t.concluded),
        ("在办", t.open),
        ("其中超期", t.overdue),
        ("督办", t.supervised),
        ("上报上级", t.escalated_out),
        ("12345工单", t.orders),
    ];
    for (label, n) in counts {
        sheet.write_string_with_format(r, 0, label, &fmt.label)?;
        sheet.write_number(r, 1, n as f64)?;
        r += 1;
    }
    let rates: [(&str, Rate); 4] = [
        ("化解率", t.resolution_rate()),
        ("办结率", t.completion_rate()),
        ("按期办结率", t.on_time_rate()),
        ("回访满意率", t.satisfaction_rate()),
    ];
    for (label, rate) in rates {
        sheet.write_string_with_format(r, 0, label, &fmt.label)?;
        rate_cell(sheet, r, 1, rate, &fmt.percent)?;
        sheet.write_string(r, 2, rate.to_string())?;
        r += 1;
    }
    sheet.write_string_with_format(r + 1, 0, "当前超期未办结", &fmt.label)?;
    sheet.write_number(r + 1, 1, overdue_now as f64)?;
    sheet.set_column_width(0, 18)?;
    sheet.set_column_width(1, 44)?;
    sheet.set_column_width(2, 24)?;
    Ok(())
}
