//! The ledger (台账) of a unit as text: its case list, overdue first, and its figures. A case
//! that came with a work order of the 12345 hotline has a line for the order (number, kind,
//! where it stands) and, when it was returned (退单), one for the reason.
//!
//! Centres keep this ledger in spreadsheets today; this is the plain-text form the demo prints and
//! an operator can read in a terminal. It reads only summaries, never a document, so it is as
//! fast as a list screen.

use crate::deadline::DueState;
use crate::error::{Error, Result};
use crate::figures::Figures;
use crate::ids::UnitId;
use crate::store::{CaseFilter, DueFilter, Store};
use crate::summary::CaseSummary;
use crate::taxonomy::CategoryCode;
use std::fmt::Write;

const DAY: i64 = 86_400_000;

/// Renders the ledger of `unit` as at `now_ms`: overdue cases, cases due soon, the latest
/// `recent` reports, and the figures of the last `period_days` days by village, category and
/// month.
pub fn render(
    store: &Store,
    unit: &UnitId,
    now_ms: i64,
    recent: u32,
    period_days: i64,
) -> Result<String> {
    let dir = store.directory();
    let u = dir
        .unit(unit)
        .ok_or_else(|| Error::UnknownUnit(unit.clone()))?;
    let policy = dir.policy(unit);
    let date = |ms: i64| policy.local_date(ms).format("%Y-%m-%d").to_string();
    let unit_name = |id: &UnitId| dir.unit(id).map_or(id.to_string(), |u| u.name.clone());
    let category = |code: &str| store.taxonomy().zh(&CategoryCode::from(code)).to_owned();
    // The village (or other child of `unit`) a case happened in.
    let children: Vec<UnitId> = dir
        .children(unit)
        .into_iter()
        .map(|c| c.id.clone())
        .collect();
    let village = |s: &CaseSummary| {
        children
            .iter()
            .find(|c| s.units.contains(*c))
            .map_or_else(|| unit_name(&s.place_unit), unit_name)
    };
    let mut out = String::new();
    let w = &mut out;
    let line = |w: &mut String, s: &CaseSummary| {
        let state = match s.due_state(now_ms) {
            DueState::Overdue => format!("超期{}天", (now_ms - s.due_at) / DAY + 1),
            DueState::DueSoon => "即将到期".to_owned(),
            DueState::OnTrack => format!("{}前办结", date(s.due_at - 1)),
            DueState::Handled => String::new(),
        };
        let _ = writeln!(
            w,
            "  {}  {:<8} {:<14} {:<6} {:<6} {:<10} {}",
            date(s.reported_at),
            village(s),
            s.title,
            category(&s.category),
            s.status.zh(),
            s.assignee.as_deref().unwrap_or("—"),
            state
        );
        if let Some(o) = &s.order {
            let _ = writeln!(
                w,
                "      工单 {}（{}，{}）",
                o.number,
                o.kind.zh(),
                o.state.zh()
            );
            if let Some(reason) = &o.return_reason {
                let _ = writeln!(w, "      退单原因：{reason}");
            }
        }
    };
    let _ = writeln!(w, "{} 矛盾纠纷台账  (截至 {})", u.name, date(now_ms));
    let _ = writeln!(w);

    let overdue = store.list(
        &CaseFilter {
            unit: Some(unit.clone()),
            due: Some(DueFilter::Overdue),
            ..CaseFilter::default()
        },
        now_ms,
    )?;
    let _ = writeln!(w, "超期未办结 (督办): {} 件", overdue.len());
    for s in &overdue {
        line(w, s);
    }
    let soon = store.list(
        &CaseFilter {
            unit: Some(unit.clone()),
            due: Some(DueFilter::DueSoon),
            ..CaseFilter::default()
        },
        now_ms,
    )?;
    let _ = writeln!(w, "\n即将到期: {} 件", soon.len());
    for s in &soon {
        line(w, s);
    }
    let latest = store.list(
        &CaseFilter {
            unit: Some(unit.clone()),
            limit: recent,
            ..CaseFilter::default()
        },
        now_ms,
    )?;
    let _ = writeln!(w, "\n最新受理 {} 件:", latest.len());
    for s in &latest {
        line(w, s);
    }

    let from = now_ms - period_days * DAY;
    let report = store.figures(unit, from, now_ms + 1, now_ms)?;
    let _ = writeln!(
        w,
        "\n近{}天统计 ({} 至 {})",
        period_days,
        date(from),
        date(now_ms)
    );
    let t = &report.total;
    let _ = writeln!(
        w,
        "  受理 {} 件，化解 {} 件，稳控 {} 件，办结 {} 件，在办 {} 件（超期 {} 件），督办 {} 件，上报上级 {} 件",
        t.received,
        t.resolved,
        t.stabilised,
        t.concluded,
        t.open,
        t.overdue,
        t.supervised,
        t.escalated_out
    );
    // Cases are counted one by one; cases staff linked as one matter are said apart, so that
    // nothing is double counted silently.
    if t.linked > 0 {
        let _ = writeln!(
            w,
            "  以上按案件计；其中 {} 件关联为同一事项，合计 {} 个事项",
            t.linked, t.matters
        );
    }
    if t.orders > 0 {
        let _ = writeln!(w, "  其中12345工单 {} 件，退单 {} 件", t.orders, t.returned);
    }
    let _ = writeln!(w, "  化解率 {}", t.resolution_rate());
    let _ = writeln!(w, "  办结率 {}", t.completion_rate());
    let _ = writeln!(w, "  按期办结率 {}", t.on_time_rate());
    let _ = writeln!(w, "  回访满意率 {}", t.satisfaction_rate());
    let table = |w: &mut String, title: &str, rows: Vec<(String, &Figures)>| {
        let _ = writeln!(w, "\n  {title}");
        for (name, f) in rows {
            let _ = writeln!(
                w,
                "    {:<10} 受理 {:>4}  化解率 {:<18} 按期率 {:<18} 满意率 {}",
                name,
                f.received,
                f.resolution_rate().to_string(),
                f.on_time_rate().to_string(),
                f.satisfaction_rate()
            );
        }
    };
    table(
        w,
        "按村（社区）",
        report
            .by_unit
            .iter()
            .map(|(id, f)| (unit_name(id), f))
            .collect(),
    );
    let mut by_category: Vec<_> = report.by_category.iter().collect();
    by_category.sort_by_key(|(_, f)| std::cmp::Reverse(f.received));
    table(
        w,
        "按纠纷类型",
        by_category
            .into_iter()
            .map(|(c, f)| (category(c), f))
            .collect(),
    );
    table(
        w,
        "按月",
        report
            .by_month
            .iter()
            .map(|(m, f)| (m.clone(), f))
            .collect(),
    );
    Ok(out)
}
