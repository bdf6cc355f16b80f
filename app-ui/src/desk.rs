//! The centre's desk (a screen 1024 px wide or more): the ledger table's columns and how a
//! click on a header sorts it, and the names the exports suggest to the save dialog. Pure, so
//! tested natively; the page is [`crate::pages::ledger`].

use app_core::screens::{DeskDocument, ExportFormat, LedgerLine};
use std::cmp::Ordering;

/// The narrowest screen that gets the desk's layout (list and case side by side, the ledger,
/// the side rail). The same width as the style sheet's media query.
pub const DESK_MIN_WIDTH_PX: u32 = 1024;

/// The media query for [`DESK_MIN_WIDTH_PX`].
pub fn desk_query() -> String {
    format!("(min-width: {DESK_MIN_WIDTH_PX}px)")
}

/// A column of the ledger table, in the order the table shows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Column {
    Number,
    Reported,
    Category,
    Parties,
    Place,
    Status,
    Due,
    Overdue,
    Responsible,
}

impl Column {
    pub const ALL: [Column; 9] = [
        Column::Number,
        Column::Reported,
        Column::Category,
        Column::Parties,
        Column::Place,
        Column::Status,
        Column::Due,
        Column::Overdue,
        Column::Responsible,
    ];

    /// The code in element ids (`ledger-sort-reported`) and cell classes (`col-reported`).
    pub fn code(self) -> &'static str {
        match self {
            Column::Number => "number",
            Column::Reported => "reported",
            Column::Category => "category",
            Column::Parties => "parties",
            Column::Place => "place",
            Column::Status => "status",
            Column::Due => "due",
            Column::Overdue => "overdue",
            Column::Responsible => "responsible",
        }
    }

    /// The header, as the exported ledger names the column.
    pub fn zh(self) -> &'static str {
        match self {
            Column::Number => "编号",
            Column::Reported => "受理日期",
            Column::Category => "类别",
            Column::Parties => "当事人",
            Column::Place => "村/网格",
            Column::Status => "状态",
            Column::Due => "期限",
            Column::Overdue => "是否超期",
            Column::Responsible => "责任单位/调解员",
        }
    }

    pub fn en(self) -> &'static str {
        match self {
            Column::Number => "No.",
            Column::Reported => "Reported",
            Column::Category => "Category",
            Column::Parties => "Parties",
            Column::Place => "Village/grid",
            Column::Status => "Status",
            Column::Due => "Due",
            Column::Overdue => "Overdue",
            Column::Responsible => "Responsible",
        }
    }

    /// The cell's text (是/否 for overdue: the table speaks the ledger's words).
    pub fn cell(self, line: &LedgerLine) -> &str {
        match self {
            Column::Number => &line.number,
            Column::Reported => &line.reported,
            Column::Category => &line.category,
            Column::Parties => &line.parties,
            Column::Place => &line.place,
            Column::Status => &line.status,
            Column::Due => &line.due,
            Column::Overdue => {
                if line.overdue {
                    "是"
                } else {
                    "否"
                }
            }
            Column::Responsible => &line.responsible,
        }
    }

    fn compare(self, a: &LedgerLine, b: &LedgerLine) -> Ordering {
        match self {
            // Overdue first when sorted "descending" reads naturally as yes before no.
            Column::Overdue => a.overdue.cmp(&b.overdue),
            // Dates are `YYYY-MM-DD` and numbers begin with the date: text order is time order.
            _ => self.cell(a).cmp(self.cell(b)),
        }
    }
}

/// How the table is sorted: by a column, up or down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sort {
    pub column: Column,
    pub ascending: bool,
}

impl Default for Sort {
    /// As the ledger is kept: by report date, oldest first.
    fn default() -> Sort {
        Sort {
            column: Column::Reported,
            ascending: true,
        }
    }
}

impl Sort {
    /// A click on `column`'s header: the same column turns the order round; another column
    /// sorts by it, ascending.
    pub fn clicked(self, column: Column) -> Sort {
        if self.column == column {
            Sort {
                column,
                ascending: !self.ascending,
            }
        } else {
            Sort {
                column,
                ascending: true,
            }
        }
    }

    /// `aria-sort` of a column's header.
    pub fn aria(self, column: Column) -> &'static str {
        match (self.column == column, self.ascending) {
            (false, _) => "none",
            (true, true) => "ascending",
            (true, false) => "descending",
        }
    }

    /// Sorts `lines` in place. Stable, ties broken by the case number, so equal cells keep a
    /// fixed order whichever way round.
    pub fn apply(self, lines: &mut [LedgerLine]) {
        lines.sort_by(|a, b| {
            let o = self
                .column
                .compare(a, b)
                .then_with(|| a.number.cmp(&b.number));
            if self.ascending {
                o
            } else {
                o.reverse()
            }
        });
    }
}

/// What the save dialog suggests for an export: "海宴镇-台账-2026-12-01-2026-12-31.xlsx",
/// "海宴镇-每月通报-2026-12-31.pdf" (a report is named by the day its period holds).
pub fn file_name(
    unit: &str,
    document: DeskDocument,
    format: ExportFormat,
    first: &str,
    last: &str,
) -> String {
    let ext = format.extension();
    match document {
        DeskDocument::Ledger => format!("{unit}-台账-{first}-{last}.{ext}"),
        other => format!("{unit}-{}-{last}.{ext}", document_zh(other)),
    }
}

/// The document's Chinese name.
pub fn document_zh(d: DeskDocument) -> &'static str {
    match d {
        DeskDocument::Ledger => "台账",
        DeskDocument::Weekly => "每周研判",
        DeskDocument::Monthly => "每月通报",
        DeskDocument::Quarterly => "每季总结",
    }
}

/// The document's English name.
pub fn document_en(d: DeskDocument) -> &'static str {
    match d {
        DeskDocument::Ledger => "Ledger",
        DeskDocument::Weekly => "Weekly review",
        DeskDocument::Monthly => "Monthly notice",
        DeskDocument::Quarterly => "Quarterly summary",
    }
}

/// The export buttons, in order: the ledger (XLSX), then each report as XLSX and PDF. Each
/// button's id is `export-<document>-<format>`.
pub fn exports() -> Vec<(DeskDocument, ExportFormat)> {
    let mut out = vec![(DeskDocument::Ledger, ExportFormat::Xlsx)];
    for d in [
        DeskDocument::Weekly,
        DeskDocument::Monthly,
        DeskDocument::Quarterly,
    ] {
        out.push((d, ExportFormat::Xlsx));
        out.push((d, ExportFormat::Pdf));
    }
    out
}

/// The id of an export's button.
pub fn export_id(d: DeskDocument, f: ExportFormat) -> String {
    let d = match d {
        DeskDocument::Ledger => "ledger",
        DeskDocument::Weekly => "weekly",
        DeskDocument::Monthly => "monthly",
        DeskDocument::Quarterly => "quarterly",
    };
    format!("export-{d}-{}", f.extension())
}

#[cfg(test)]
mod tests {
    use super::*;
    use app_core::ids::CaseId;

    fn line(number: &str, reported: &str, category: &str, overdue: bool) -> LedgerLine {
        LedgerLine {
            case: CaseId::new(number),
            number: number.into(),
            reported: reported.into(),
            category: category.into(),
            parties: "周建国".into(),
            place: "丰江村".into(),
            title: "纠纷".into(),
            responsible: "海宴镇".into(),
            status: "待受理".into(),
            due: "2026-12-20".into(),
            overdue,
        }
    }

    fn numbers(lines: &[LedgerLine]) -> Vec<&str> {
        lines.iter().map(|l| l.number.as_str()).collect()
    }

    #[test]
    fn a_header_click_sorts_by_its_column_and_a_second_click_turns_it_round() {
        let mut lines = vec![
            line("20261203-BBBBBB", "2026-12-03", "邻里纠纷", false),
            line("20261201-AAAAAA", "2026-12-01", "婚姻家庭", true),
            line("20261202-CCCCCC", "2026-12-02", "土地山林", false),
        ];
        let sort = Sort::default();
        sort.apply(&mut lines);
        assert_eq!(
            numbers(&lines),
            ["20261201-AAAAAA", "20261202-CCCCCC", "20261203-BBBBBB"]
        );
        assert_eq!(sort.aria(Column::Reported), "ascending");
        assert_eq!(sort.aria(Column::Category), "none");

        let sort = sort.clicked(Column::Reported);
        assert!(!sort.ascending);
        sort.apply(&mut lines);
        assert_eq!(
            numbers(&lines),
            ["20261203-BBBBBB", "20261202-CCCCCC", "20261201-AAAAAA"]
        );
        assert_eq!(sort.aria(Column::Reported), "descending");

        // Another column starts ascending.
        let sort = sort.clicked(Column::Category);
        assert_eq!(
            sort,
            Sort {
                column: Column::Category,
                ascending: true
            }
        );
        sort.apply(&mut lines);
        let cats: Vec<&str> = lines.iter().map(|l| l.category.as_str()).collect();
        let mut sorted = cats.clone();
        sorted.sort();
        assert_eq!(cats, sorted);
    }

    #[test]
    fn overdue_sorts_yes_last_ascending_and_ties_keep_the_number_order() {
        let mut lines = vec![
            line("3", "2026-12-01", "a", true),
            line("1", "2026-12-01", "a", false),
            line("2", "2026-12-01", "a", true),
        ];
        let by = Sort {
            column: Column::Overdue,
            ascending: true,
        };
        by.apply(&mut lines);
        assert_eq!(numbers(&lines), ["1", "2", "3"]);
        by.clicked(Column::Overdue).apply(&mut lines);
        assert_eq!(numbers(&lines), ["3", "2", "1"]);
        assert_eq!(Column::Overdue.cell(&lines[0]), "是");
        assert_eq!(Column::Overdue.cell(&lines[2]), "否");
    }

    #[test]
    fn exports_are_named_for_the_unit_and_days_and_each_button_has_an_id() {
        assert_eq!(
            file_name(
                "海宴镇",
                DeskDocument::Ledger,
                ExportFormat::Xlsx,
                "2026-12-01",
                "2026-12-31"
            ),
            "海宴镇-台账-2026-12-01-2026-12-31.xlsx"
        );
        assert_eq!(
            file_name(
                "海宴镇",
                DeskDocument::Monthly,
                ExportFormat::Pdf,
                "2026-12-01",
                "2026-12-31"
            ),
            "海宴镇-每月通报-2026-12-31.pdf"
        );
        let ids: Vec<String> = exports()
            .into_iter()
            .map(|(d, f)| export_id(d, f))
            .collect();
        assert_eq!(ids.len(), 7);
        assert_eq!(ids[0], "export-ledger-xlsx");
        assert!(ids.contains(&"export-quarterly-pdf".to_owned()));
        let distinct: std::collections::BTreeSet<_> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len());
        assert_eq!(desk_query(), "(min-width: 1024px)");
    }
}
