//! The figures screen's bar charts as plain geometry: one row per category, month or unit, a
//! pale bar for the cases received and a dark one inside it for those resolved, scaled to the
//! largest row. Pure, so the arithmetic is tested natively; the page draws the rows as inline
//! SVG (no chart library).

use crate::i18n::Lang;
use crate::time;
use app_core::figures::Figures;
use app_core::screens::FiguresScreen;

/// The drawing's width in SVG units (the page scales it to the column).
pub const WIDTH: f64 = 320.0;
/// The height of one row: a label line and a bar.
pub const ROW: f64 = 40.0;
/// Where a row's bar starts below the row's top, and its thickness.
pub const BAR_TOP: f64 = 20.0;
pub const BAR_HEIGHT: f64 = 14.0;

/// One row of a chart.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    /// The key in the report (a category code, a unit id, a month).
    pub key: String,
    pub label: String,
    pub received: u64,
    pub resolved: u64,
    /// The top of the row.
    pub y: f64,
    /// The bars' lengths in SVG units.
    pub received_width: f64,
    pub resolved_width: f64,
}

impl Bar {
    /// The value printed on the row: "resolved/received".
    pub fn value(&self) -> String {
        format!("{}/{}", self.resolved, self.received)
    }
}

/// A chart ready to draw.
#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    pub bars: Vec<Bar>,
    /// The drawing's height in SVG units.
    pub height: f64,
}

/// How to order the rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// Most cases received first (categories, units).
    Largest,
    /// By key (months, chronologically).
    Key,
}

/// Lays out `rows` of (key, label, figures).
pub fn chart(rows: impl IntoIterator<Item = (String, String, Figures)>, order: Order) -> Chart {
    let mut rows: Vec<(String, String, Figures)> = rows.into_iter().collect();
    match order {
        Order::Largest => {
            rows.sort_by(|a, b| b.2.received.cmp(&a.2.received).then_with(|| a.1.cmp(&b.1)))
        }
        Order::Key => rows.sort_by(|a, b| a.0.cmp(&b.0)),
    }
    let max = rows.iter().map(|r| r.2.received).max().unwrap_or(0).max(1) as f64;
    let bars: Vec<Bar> = rows
        .into_iter()
        .enumerate()
        .map(|(i, (key, label, f))| {
            let resolved = f.resolved.min(f.received);
            Bar {
                key,
                label,
                received: f.received,
                resolved: f.resolved,
                y: i as f64 * ROW,
                received_width: f.received as f64 / max * WIDTH,
                resolved_width: resolved as f64 / max * WIDTH,
            }
        })
        .collect();
    Chart {
        height: bars.len() as f64 * ROW,
        bars,
    }
}

fn name(screen: &FiguresScreen, key: &str) -> String {
    screen
        .names
        .get(key)
        .cloned()
        .unwrap_or_else(|| key.to_owned())
}

/// Cases by category, largest first. `english` names categories in English when the page has
/// them (the report's names are Chinese).
pub fn by_category(
    screen: &FiguresScreen,
    english: impl Fn(&str) -> Option<String>,
    lang: Lang,
) -> Chart {
    chart(
        screen.report.by_category.iter().map(|(code, f)| {
            let label = match lang {
                Lang::En => english(code).unwrap_or_else(|| name(screen, code)),
                Lang::Zh => name(screen, code),
            };
            (code.clone(), label, *f)
        }),
        Order::Largest,
    )
}

/// Cases by month, oldest first.
pub fn by_month(screen: &FiguresScreen, lang: Lang) -> Chart {
    chart(
        screen
            .report
            .by_month
            .iter()
            .map(|(m, f)| (m.clone(), time::month_label(m, lang), *f)),
        Order::Key,
    )
}

/// Cases by the unit's direct children (and the unit itself), largest first.
pub fn by_unit(screen: &FiguresScreen) -> Chart {
    chart(
        screen
            .report
            .by_unit
            .iter()
            .map(|(u, f)| (u.to_string(), name(screen, u.as_str()), *f)),
        Order::Largest,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use app_core::figures::Report;
    use app_core::ids::UnitId;
    use std::collections::BTreeMap;

    fn figures(received: u64, resolved: u64) -> Figures {
        Figures {
            received,
            resolved,
            ..Figures::default()
        }
    }

    fn screen() -> FiguresScreen {
        let mut by_category = BTreeMap::new();
        by_category.insert("labour".to_owned(), figures(4, 1));
        by_category.insert("neighbour".to_owned(), figures(8, 6));
        by_category.insert("marriage_family".to_owned(), figures(4, 4));
        let mut by_month = BTreeMap::new();
        by_month.insert("2025-06".to_owned(), figures(10, 7));
        by_month.insert("2025-05".to_owned(), figures(6, 4));
        let mut by_unit = BTreeMap::new();
        by_unit.insert(UnitId::new("t/wufeng"), figures(9, 7));
        by_unit.insert(UnitId::new("t/shalan"), figures(7, 4));
        let mut names = BTreeMap::new();
        names.insert("labour".to_owned(), "劳动争议/劳资纠纷".to_owned());
        names.insert("neighbour".to_owned(), "邻里纠纷".to_owned());
        names.insert("marriage_family".to_owned(), "婚姻家庭纠纷".to_owned());
        names.insert("t/wufeng".to_owned(), "五丰村".to_owned());
        FiguresScreen {
            report: Report {
                unit: UnitId::new("t"),
                from: 0,
                to: 1,
                total: figures(16, 11),
                by_category,
                by_unit,
                by_month,
            },
            unit_name: "海宴镇".into(),
            names,
        }
    }

    #[test]
    fn the_largest_row_fills_the_width_and_the_rest_scale() {
        let c = by_category(&screen(), |_| None, Lang::Zh);
        let labels: Vec<&str> = c.bars.iter().map(|b| b.label.as_str()).collect();
        assert_eq!(
            labels,
            ["邻里纠纷", "劳动争议/劳资纠纷", "婚姻家庭纠纷"],
            "largest first, ties by name"
        );
        assert_eq!(c.bars[0].received_width, WIDTH);
        assert_eq!(c.bars[0].resolved_width, WIDTH * 6.0 / 8.0);
        assert_eq!(c.bars[1].received_width, WIDTH / 2.0);
        assert_eq!(c.bars[2].resolved_width, c.bars[2].received_width);
        assert_eq!(c.bars[2].y, 2.0 * ROW);
        assert_eq!(c.height, 3.0 * ROW);
        assert_eq!(c.bars[0].value(), "6/8");
    }

    #[test]
    fn months_run_in_order_and_units_are_named() {
        let c = by_month(&screen(), Lang::En);
        let labels: Vec<&str> = c.bars.iter().map(|b| b.label.as_str()).collect();
        assert_eq!(labels, ["May 2025", "Jun 2025"]);
        let u = by_unit(&screen());
        assert_eq!(u.bars[0].label, "五丰村");
        assert_eq!(u.bars[1].label, "t/shalan", "an unnamed unit shows its id");
        let en = by_category(
            &screen(),
            |code| (code == "neighbour").then(|| "Neighbours".to_owned()),
            Lang::En,
        );
        assert_eq!(en.bars[0].label, "Neighbours");
    }

    #[test]
    fn empty_and_zero_rows() {
        let c = chart(Vec::new(), Order::Largest);
        assert!(c.bars.is_empty());
        assert_eq!(c.height, 0.0);
        let c = chart(
            vec![("a".into(), "a".into(), figures(0, 0))],
            Order::Largest,
        );
        assert_eq!(
            c.bars[0].received_width, 0.0,
            "nothing to divide by draws nothing"
        );
    }
}
