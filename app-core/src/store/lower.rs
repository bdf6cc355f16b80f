//! The figures lower tiers' servers send up (逐级汇总): a township's server sends its county
//! the counts of its cases by local day, category and village ([`DayCells`]), and the county's
//! figures and reports take them in, so that they cover every township, not only the cases
//! escalated to the county, with the numbers each township reports for itself.
//!
//! Both ends are here, pure over a connection: what a server sends ([`day_cells_of`]), what
//! the server above keeps ([`put`]), and where every figure computed over a store begins
//! ([`builder`]).

use crate::error::Result;
use crate::figures::{day_cells, Cell, DayCells, ReportBuilder};
use crate::ids::{CaseId, UnitId};
use crate::org::Directory;
use crate::protocol::LowerDay;
use crate::summary::CaseSummary;
use chrono::NaiveDate;
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use std::collections::{BTreeMap, BTreeSet};

/// A report builder for `unit` over `[from_ms, to_ms)` as at `now_ms`, with the figures lower
/// tiers sent of the units it covers already taken in ([`ReportBuilder::lower`]). Every figure
/// computed over a store's cases starts here, so `/v1/figures`, the ledger's sheets and the
/// periodic reports agree.
pub fn builder(
    conn: &Connection,
    directory: &Directory,
    unit: &UnitId,
    from_ms: i64,
    to_ms: i64,
    now_ms: i64,
) -> Result<ReportBuilder> {
    let mut b = ReportBuilder::new(directory, unit, from_ms, to_ms, now_ms);
    if to_ms <= from_ms {
        return Ok(b);
    }
    let local = directory.policy(unit).local();
    let (first, last) = (
        local.date(from_ms).to_string(),
        local.date(to_ms - 1).to_string(),
    );
    let lowers: Vec<String> = conn
        .prepare_cached("SELECT DISTINCT unit FROM lower_days")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for lower in lowers.into_iter().map(UnitId::new) {
        let related = lower == *unit
            || directory.is_within(&lower, unit)
            || directory.is_within(unit, &lower);
        if !related {
            continue;
        }
        let mut days: BTreeMap<String, DayCells> = BTreeMap::new();
        let mut cells = conn.prepare_cached(
            "SELECT day, cells FROM lower_days WHERE unit = ?1 AND day BETWEEN ?2 AND ?3",
        )?;
        let mut rows = cells.query(params![lower.as_str(), first, last])?;
        while let Some(row) = rows.next()? {
            let day: String = row.get(0)?;
            let cells: Vec<Cell> = serde_json::from_str(&row.get::<_, String>(1)?)?;
            let Ok(date) = day.parse::<NaiveDate>() else {
                continue;
            };
            days.insert(
                day,
                DayCells {
                    day: date,
                    cells,
                    cases: Vec::new(),
                },
            );
        }
        let mut cases = conn.prepare_cached(
            "SELECT day, case_id FROM lower_cases WHERE unit = ?1 AND day BETWEEN ?2 AND ?3",
        )?;
        let mut rows = cases.query(params![lower.as_str(), first, last])?;
        while let Some(row) = rows.next()? {
            let day: String = row.get(0)?;
            if let Some(d) = days.get_mut(&day) {
                d.cases.push(CaseId::new(row.get::<_, String>(1)?));
            }
        }
        let days: Vec<DayCells> = days.into_values().collect();
        b.lower(directory, &lower, &days);
    }
    Ok(b)
}

/// Keeps what `lower`'s server sent as at `as_of_ms`: each day replaces the one it sent before,
/// cases and all, unless what is kept is newer (a late repeat changes nothing). Returns the
/// days taken.
pub fn put(
    tx: &Transaction<'_>,
    lower: &UnitId,
    days: &[DayCells],
    as_of_ms: i64,
) -> Result<usize> {
    let mut taken = 0;
    for d in days {
        let day = d.day.to_string();
        let kept: Option<i64> = tx
            .query_row(
                "SELECT as_of FROM lower_days WHERE unit = ?1 AND day = ?2",
                params![lower.as_str(), day],
                |r| r.get(0),
            )
            .optional()?;
        if kept.is_some_and(|k| k > as_of_ms) {
            continue;
        }
        tx.execute(
            "DELETE FROM lower_cases WHERE unit = ?1 AND day = ?2",
            params![lower.as_str(), day],
        )?;
        // A day with no case is kept empty (it counts nothing), so that its emptying reaches
        // the devices that hold it ([`changed_after`]). Each write takes the next `seq`: one
        // writer at a time, so the order is the order of commits.
        tx.execute(
            "INSERT INTO lower_days(unit, day, cells, as_of, seq)
             VALUES (?1, ?2, ?3, ?4, (SELECT COALESCE(MAX(seq), 0) + 1 FROM lower_days))
             ON CONFLICT(unit, day) DO UPDATE SET cells = ?3, as_of = ?4,
                 seq = (SELECT COALESCE(MAX(seq), 0) + 1 FROM lower_days)",
            params![
                lower.as_str(),
                day,
                serde_json::to_string(&d.cells)?,
                as_of_ms
            ],
        )?;
        let mut insert = tx.prepare_cached(
            "INSERT INTO lower_cases(case_id, unit, day) VALUES (?1, ?2, ?3)
             ON CONFLICT(case_id) DO UPDATE SET unit = ?2, day = ?3",
        )?;
        for case in &d.cases {
            insert.execute(params![case.as_str(), lower.as_str(), day])?;
        }
        taken += 1;
    }
    Ok(taken)
}

/// The days of lower tiers' figures kept after `after` (in [`LowerDay::seq`] order), at most
/// `limit`, of the units `wanted` accepts; and the last `seq` looked at (the cursor to ask from
/// next: rows `wanted` refuses are passed over). What a county's server hands its staff's
/// devices, so that their figures cover the townships too.
pub fn changed_after(
    conn: &Connection,
    after: i64,
    limit: usize,
    wanted: &dyn Fn(&UnitId) -> bool,
) -> Result<(Vec<LowerDay>, i64)> {
    let mut stmt = conn.prepare_cached(
        "SELECT unit, day, cells, as_of, seq FROM lower_days WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    )?;
    let mut cases = conn.prepare_cached(
        "SELECT case_id FROM lower_cases WHERE unit = ?1 AND day = ?2 ORDER BY case_id",
    )?;
    let mut rows = stmt.query(params![after, limit as i64])?;
    let (mut out, mut last) = (Vec::new(), after);
    while let Some(row) = rows.next()? {
        last = row.get(4)?;
        let unit = UnitId::new(row.get::<_, String>(0)?);
        if !wanted(&unit) {
            continue;
        }
        let day: String = row.get(1)?;
        let Ok(date) = day.parse::<NaiveDate>() else {
            continue;
        };
        let ids = cases
            .query_map(params![unit.as_str(), day], |r| r.get::<_, String>(0))?
            .map(|id| id.map(CaseId::new))
            .collect::<rusqlite::Result<Vec<_>>>()?;
        out.push(LowerDay {
            unit,
            as_of: row.get(3)?,
            seq: last,
            day: DayCells {
                day: date,
                cells: serde_json::from_str(&row.get::<_, String>(2)?)?,
                cases: ids,
            },
        });
    }
    Ok((out, last))
}

/// The figures of `unit` for each of `days` (local days), from its cases, as at `now_ms`: what
/// its server sends up. A day with no case comes with no cells (the server above forgets it).
pub fn day_cells_of(
    conn: &Connection,
    directory: &Directory,
    unit: &UnitId,
    days: &BTreeSet<NaiveDate>,
    now_ms: i64,
) -> Result<Vec<DayCells>> {
    let local = directory.policy(unit).local();
    // By the time reported first (its index), then the unit: a few days of a unit with years of
    // cases read only those days.
    let mut stmt = conn.prepare_cached(
        "SELECT c.summary FROM cases c
         WHERE c.reported_at >= ?2 AND c.reported_at < ?3
           AND EXISTS (SELECT 1 FROM case_units u WHERE u.case_id = c.id AND u.unit = ?1)",
    )?;
    let mut cases: Vec<CaseSummary> = Vec::new();
    // Runs of consecutive days, one query each.
    let mut runs: Vec<(NaiveDate, NaiveDate)> = Vec::new();
    for day in days {
        match runs.last_mut() {
            Some((_, last)) if last.succ_opt() == Some(*day) => *last = *day,
            _ => runs.push((*day, *day)),
        }
    }
    for (first, last) in runs {
        let from = local.midnight(first);
        let to = last
            .succ_opt()
            .map(|d| local.midnight(d))
            .unwrap_or(i64::MAX);
        let mut rows = stmt.query(params![unit.as_str(), from, to])?;
        while let Some(row) = rows.next()? {
            cases.push(serde_json::from_str(&row.get::<_, String>(0)?)?);
        }
    }
    Ok(day_cells(directory, unit, days, &cases, now_ms))
}

/// The local days on which the cases `ids` were reported (those this store has).
pub fn days_of_cases<'a>(
    conn: &Connection,
    directory: &Directory,
    unit: &UnitId,
    ids: impl IntoIterator<Item = &'a str>,
) -> Result<BTreeSet<NaiveDate>> {
    let local = directory.policy(unit).local();
    let mut stmt = conn.prepare_cached("SELECT reported_at FROM cases WHERE id = ?1")?;
    let mut days = BTreeSet::new();
    for id in ids {
        if let Some(at) = stmt.query_row([id], |r| r.get::<_, i64>(0)).optional()? {
            days.insert(local.date(at));
        }
    }
    Ok(days)
}

/// The local days on which cases were reported that were open and fell due in
/// `(after_ms, until_ms]`: their figures changed with time alone (open became overdue).
pub fn days_fallen_due(
    conn: &Connection,
    directory: &Directory,
    unit: &UnitId,
    after_ms: i64,
    until_ms: i64,
) -> Result<BTreeSet<NaiveDate>> {
    let local = directory.policy(unit).local();
    conn.prepare_cached(
        "SELECT reported_at FROM cases WHERE handled = 0 AND due_at > ?1 AND due_at <= ?2",
    )?
    .query_map(params![after_ms, until_ms], |r| r.get::<_, i64>(0))?
    .map(|r| Ok(local.date(r?)))
    .collect()
}

/// Where a device's copy of its server's lower-tier figures stands: the `seq` to ask after.
const DOWN_CURSOR: &str = "lower.after";

impl super::Store {
    /// The `seq` of the last lower-tier day this device took from its server (0: none yet).
    pub fn lower_after(&self) -> Result<i64> {
        Ok(self
            .meta(DOWN_CURSOR)?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    /// Keeps the lower-tier days a device's server handed down ([`changed_after`] there), and
    /// moves the cursor to `next`, in one transaction: the figures of a county's staff device
    /// then cover the townships, as the county's server's do. Returns the days taken.
    pub fn take_lower_days(&mut self, days: &[LowerDay], next: i64) -> Result<usize> {
        self.write(|tx| -> Result<usize> {
            let mut taken = 0;
            for d in days {
                taken += put(tx, &d.unit, std::slice::from_ref(&d.day), d.as_of)?;
            }
            tx.execute(
                "INSERT INTO meta(key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = ?2",
                params![DOWN_CURSOR, next.to_string()],
            )?;
            Ok(taken)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::{Generator, DEMO_NOW_MS};
    use crate::store::Store;

    const DAY: i64 = 86_400_000;

    fn summaries(store: &Store) -> Vec<CaseSummary> {
        store
            .read(|c| {
                c.prepare("SELECT summary FROM cases")?
                    .query_map([], |r| r.get::<_, String>(0))?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .unwrap()
            .iter()
            .map(|j| serde_json::from_str(j).unwrap())
            .collect()
    }

    /// Two real stores: the townships' (every case) and the county's (only what was escalated
    /// to it, and what happened at the county itself), the second with the figures each
    /// township sent it. The county's figures, for itself, for each township and for a
    /// village, are those the whole set of cases gives.
    #[test]
    fn a_countys_figures_with_its_townships_cells_are_those_of_every_case() {
        let dir = tempfile::tempdir().unwrap();
        let mut g = Generator::new(7);
        let generated = g.cases(200, DEMO_NOW_MS).unwrap();
        let directory = g.directory().clone();
        let county = g.county();
        let townships = g.townships();
        let mut all = Store::open(dir.path().join("all.sqlite3")).unwrap();
        all.set_directory(directory.clone()).unwrap();
        all.import_cases(
            generated.into_iter().map(|c| (c.doc, Some(c.contacts))),
            DEMO_NOW_MS,
        )
        .unwrap();
        let cases = summaries(&all);
        let at_county: BTreeSet<CaseId> = cases
            .iter()
            .filter(|c| {
                c.escalated_to.contains(&county) || !townships.iter().any(|t| c.units.contains(t))
            })
            .map(|c| c.id.clone())
            .collect();
        assert!(
            at_county.len() > 3 && at_county.len() < cases.len() / 2,
            "the county holds a few cases: {} of {}",
            at_county.len(),
            cases.len()
        );
        let mut held = Store::open(dir.path().join("county.sqlite3")).unwrap();
        held.set_directory(directory.clone()).unwrap();
        // The same seed draws the same cases again.
        let again = Generator::new(7).cases(200, DEMO_NOW_MS).unwrap();
        held.import_cases(
            again
                .into_iter()
                .filter(|c| at_county.contains(c.doc.id()))
                .map(|c| (c.doc, Some(c.contacts))),
            DEMO_NOW_MS,
        )
        .unwrap();
        let local = directory.policy(&county).local();
        let days: BTreeSet<NaiveDate> = cases.iter().map(|c| local.date(c.reported_at)).collect();
        // Before: the county sees only what it holds.
        let (from, to) = (
            local.midnight(*days.first().unwrap()),
            local.midnight(*days.last().unwrap()) + DAY,
        );
        // Every case happened within the county, though its staff list only those that were
        // with its centre: that is what the county's figures cover once its townships report.
        let within_county: Vec<CaseSummary> = cases
            .iter()
            .cloned()
            .map(|mut c| {
                c.units.insert(county.clone());
                c
            })
            .collect();
        let truth_of = |unit: &UnitId, from: i64, to: i64| {
            if *unit == county {
                crate::figures::report(&directory, unit, &within_county, from, to, DEMO_NOW_MS)
            } else {
                all.figures(unit, from, to, DEMO_NOW_MS).unwrap()
            }
        };
        let truth = truth_of(&county, from, to);
        let before = held.figures(&county, from, to, DEMO_NOW_MS).unwrap();
        assert!(
            before.total.received < truth.total.received / 2,
            "{} of {} ({} cases, {} at the county)",
            before.total.received,
            truth.total.received,
            cases.len(),
            at_county.len()
        );
        for t in &townships {
            let sent = all
                .read(|c| day_cells_of(c, &directory, t, &days, DEMO_NOW_MS))
                .unwrap();
            assert!(sent
                .iter()
                .flat_map(|d| &d.cells)
                .all(|c| c.figures.inconsistency(c.matters.len()).is_none()));
            held.write(|tx| put(tx, t, &sent, DEMO_NOW_MS)).unwrap();
        }
        // A month in the middle, and the whole span.
        let mid = *days.iter().nth(days.len() / 2).unwrap();
        let month = (
            local.midnight(mid) - 15 * DAY,
            local.midnight(mid) + 15 * DAY,
        );
        for (from, to) in [(from, to), month] {
            let mut units = vec![county.clone()];
            units.extend(townships.iter().cloned());
            units.push(directory.children(&townships[0])[0].id.clone());
            for unit in &units {
                let truth = truth_of(unit, from, to);
                let merged = held.figures(unit, from, to, DEMO_NOW_MS).unwrap();
                assert!(truth.total.received > 0, "{unit}");
                if directory
                    .unit(unit)
                    .is_some_and(|u| u.tier == crate::org::Tier::Village)
                {
                    // A township's figures go by village: a village's grids are not in them.
                    assert_eq!(merged.total, truth.total, "the figures of {unit}");
                    assert_eq!(merged.by_category, truth.by_category, "{unit}");
                    assert_eq!(merged.by_month, truth.by_month, "{unit}");
                    assert_eq!(merged.by_unit.keys().collect::<Vec<_>>(), [unit]);
                } else {
                    assert_eq!(merged, truth, "the figures of {unit}");
                }
            }
        }
        // A county staff's device takes what its server kept, a page at a time, and its
        // figures are the server's.
        let mut device = Store::open(dir.path().join("device.sqlite3")).unwrap();
        device.set_directory(directory.clone()).unwrap();
        device
            .import_cases(
                Generator::new(7)
                    .cases(200, DEMO_NOW_MS)
                    .unwrap()
                    .into_iter()
                    .filter(|c| at_county.contains(c.doc.id()))
                    .map(|c| (c.doc, Some(c.contacts))),
                DEMO_NOW_MS,
            )
            .unwrap();
        let below = |u: &UnitId| *u != county && directory.is_within(u, &county);
        let pull = |held: &Store, device: &mut Store| {
            let mut pages = 0;
            loop {
                let after = device.lower_after().unwrap();
                let (days, next) = held.read(|c| changed_after(c, after, 7, &below)).unwrap();
                if next == after {
                    return pages;
                }
                device.take_lower_days(&days, next).unwrap();
                pages += 1;
            }
        };
        assert!(pull(&held, &mut device) > 1, "pages of 7 days");
        assert_eq!(
            device.figures(&county, from, to, DEMO_NOW_MS).unwrap(),
            truth
        );
        assert_eq!(pull(&held, &mut device), 0, "nothing new");

        // A late repeat of an older pass changes nothing; an empty day is forgotten.
        let t = &townships[0];
        let day = *days.iter().next().unwrap();
        let stale = DayCells {
            day,
            cells: Vec::new(),
            cases: Vec::new(),
        };
        held.write(|tx| put(tx, t, std::slice::from_ref(&stale), DEMO_NOW_MS - 1))
            .unwrap();
        assert_eq!(held.figures(&county, from, to, DEMO_NOW_MS).unwrap(), truth);
        held.write(|tx| put(tx, t, &[stale], DEMO_NOW_MS + 1))
            .unwrap();
        let emptied = held.figures(&county, from, to, DEMO_NOW_MS).unwrap();
        assert_ne!(emptied, truth);
        // The emptied day reaches the device too, and only it.
        assert_eq!(pull(&held, &mut device), 1);
        assert_eq!(
            device.figures(&county, from, to, DEMO_NOW_MS).unwrap(),
            emptied
        );
    }
}
