//! Column widths for Chinese text. A spreadsheet's column width is counted in the width of the
//! digit `0` of its default font; a CJK character is about two of those. Autofit tools that
//! count characters make Chinese columns half as wide as their text, so widths are computed
//! here from East-Asian display widths (Unicode UAX #11: wide and fullwidth characters count 2).

use unicode_width::UnicodeWidthStr;

/// How many narrow columns `text` takes on one line: CJK characters and fullwidth punctuation
/// 2, others 1.
pub fn display_width(text: &str) -> usize {
    text.lines().map(UnicodeWidthStr::width).max().unwrap_or(0)
}

/// The widest text seen in each column of a sheet, turned into column widths at the end.
#[derive(Clone, Debug)]
pub struct ColumnWidths {
    widest: Vec<usize>,
    max: Vec<usize>,
}

impl ColumnWidths {
    /// Columns headed `headers`, each at most `max` narrow columns wide (longer text wraps).
    pub fn new(headers: &[&str], max: &[usize]) -> ColumnWidths {
        ColumnWidths {
            widest: headers.iter().map(|h| display_width(h)).collect(),
            max: max.to_vec(),
        }
    }

    /// Notes a cell's text in column `col`.
    pub fn see(&mut self, col: usize, text: &str) {
        if let Some(w) = self.widest.get_mut(col) {
            *w = (*w).max(display_width(text));
        }
    }

    /// The width to give column `col`, in the units a spreadsheet counts: the widest text plus
    /// a margin (and room for the autofilter's button), capped by the column's maximum.
    pub fn width(&self, col: usize) -> f64 {
        let widest = self.widest.get(col).copied().unwrap_or(8);
        let cap = self.max.get(col).copied().unwrap_or(60);
        (widest.min(cap) as f64) * 1.1 + 3.0
    }

    pub fn len(&self) -> usize {
        self.widest.len()
    }

    pub fn is_empty(&self) -> bool {
        self.widest.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_counts_double() {
        assert_eq!(display_width("编号"), 4);
        assert_eq!(display_width("2026-11-30"), 10);
        assert_eq!(display_width("张三（申请人）"), 14);
        assert_eq!(display_width("第一行\n第二行更长"), 10);
        let mut w = ColumnWidths::new(&["简要案情", "编号"], &[40, 20]);
        w.see(0, &"很".repeat(100));
        w.see(1, "20261203-3F4A5B");
        // Capped at 40 narrow columns; the number's 15.
        assert_eq!(w.width(0), 40.0 * 1.1 + 3.0);
        assert_eq!(w.width(1), 15.0 * 1.1 + 3.0);
    }
}
