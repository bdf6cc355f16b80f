//! The centre's desk: the ledger (台账) of the centre's unit as a screen, and its exports (the
//! ledger as XLSX, the periodic reports as XLSX or PDF) written from this device's own store
//! with [`crate::paperwork`], the same code the server's exports run, so a file from the desk
//! shows the figures the figures screen shows for the same days.
//!
//! - **Who**: centre staff and leaders (the scope the server's exports have); anyone else is
//!   refused. The unit is the one the person's centre role is held in.
//! - **What they see**: parties' ID numbers as [`IdDisclosure::for_roles`] says, on the screen
//!   and in the file alike (masked except for the centre's leader); reports print none.
//! - **Logged**: every export, on this device, in the session's table `desk_exports` (when, who,
//!   what, the unit and days, how many cases, masked or not, and the file written), a store
//!   [`Layer`] as the reminders' table is. The file leaves the system, so the log is kept where
//!   the file was made; [`Session::desk_exports`] reads it.
//!
//! The file's path comes from the interface, which asks the person with the platform's save
//! dialog (`tauri-plugin-dialog`); the command writes it and nothing else.

use super::{lock, AppResult, Session};
use crate::deadline::LocalTime;
use crate::error::Error;
use crate::ids::UnitId;
use crate::paperwork::pdf::Fonts;
use crate::paperwork::report::{self, ReportKind};
use crate::paperwork::xlsx::{self, Exporter};
use crate::paperwork::{ledger, IdDisclosure, Period, MAX_PERIOD_DAYS};
use crate::screens::{
    DeskDocument, ExportDone, ExportFormat, ExportInput, LedgerLine, LedgerScreen, Me,
};
use crate::store::Layer;
use crate::workflow::Denied;
use chrono::Duration;
use rusqlite::params;
use std::path::PathBuf;

/// The session's log of exports in the store's file.
pub(super) const LAYER: Layer = Layer {
    name: "desk_exports",
    steps: &["CREATE TABLE desk_exports (
                  id INTEGER PRIMARY KEY,
                  at INTEGER NOT NULL,
                  person TEXT NOT NULL,
                  kind TEXT NOT NULL,
                  format TEXT NOT NULL,
                  unit TEXT NOT NULL,
                  first_day TEXT NOT NULL,
                  last_day TEXT NOT NULL,
                  cases INTEGER NOT NULL,
                  ids TEXT NOT NULL,
                  path TEXT NOT NULL
              );"],
};

/// One line of this device's export log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeskExport {
    pub at: i64,
    pub person: String,
    /// `ledger`, `report_weekly`, `report_monthly`, `report_quarterly`.
    pub kind: String,
    pub format: String,
    pub unit: String,
    pub first_day: String,
    pub last_day: String,
    pub cases: i64,
    /// `masked`, `full`, or `none`.
    pub ids: String,
    pub path: String,
}

/// The centre unit a person's paperwork is of: the unit of their first centre role.
fn centre_unit(me: &Me) -> AppResult<UnitId> {
    me.roles
        .iter()
        .find(|(r, _)| r.is_centre())
        .map(|(_, u)| u.id.clone())
        .ok_or_else(|| {
            Error::Denied(Denied::RoleMayNot {
                role: me.actor.role.zh().to_owned(),
                action: "导出台账和报表 (export the ledger and reports: they are kept by the centre's staff)"
                    .to_owned(),
            })
            .into()
        })
}

/// The local days `[from, to)` covers, at most [`MAX_PERIOD_DAYS`] ending on its last day ("all
/// time" is the last ten years).
fn period_of(local: LocalTime, from: i64, to: i64) -> AppResult<Period> {
    let last = local.date(to - 1);
    let earliest = last - Duration::days(MAX_PERIOD_DAYS - 1);
    let first = local.date(from).max(earliest);
    Ok(Period::days(local, first, last)?)
}

fn ids_word(d: IdDisclosure) -> &'static str {
    match d {
        IdDisclosure::Masked => "masked",
        IdDisclosure::Full => "full",
    }
}

/// The path to write: the dialog's, with the format's extension added when it has another or
/// none (a save dialog's filter does not always add it).
fn target(path: &str, format: ExportFormat) -> AppResult<PathBuf> {
    let mut p = PathBuf::from(path.trim());
    if path.trim().is_empty() || !p.is_absolute() {
        return Err(Error::invalid(
            "path",
            "请选择保存位置 (choose where to save the file: an absolute path)",
        )
        .into());
    }
    let ext = format.extension();
    if p.extension().and_then(|e| e.to_str()) != Some(ext) {
        let mut name = p.file_name().unwrap_or_default().to_os_string();
        name.push(".");
        name.push(ext);
        p.set_file_name(name);
    }
    Ok(p)
}

impl Session {
    /// The ledger of my centre's unit for cases reported in `[from, to)`, as at `now`.
    pub fn ledger(&self, from: i64, to: i64, now: i64) -> AppResult<LedgerScreen> {
        let me = self.me()?;
        let unit = centre_unit(&me)?;
        let disclosure = IdDisclosure::for_roles(me.roles.iter().map(|(r, _)| r));
        let store = lock(&self.store);
        let directory = store.directory();
        let local = directory.policy(&unit).local();
        let period = period_of(local, from, to)?;
        let ctx = ledger::LedgerContext {
            directory,
            taxonomy: store.taxonomy(),
            unit: &unit,
            now_ms: now,
            disclosure,
        };
        let mut lines = Vec::new();
        store.read(|conn| {
            ledger::for_each_case(conn, directory, &unit, &period, |s, parties| {
                let row = ctx.row(s, parties);
                lines.push(LedgerLine {
                    case: s.id.clone(),
                    parties: row.parties_cell(),
                    number: row.number,
                    reported: row.reported.to_string(),
                    category: row.category,
                    place: row.place,
                    title: row.title,
                    responsible: row.responsible,
                    status: row.status,
                    due: row.due.to_string(),
                    overdue: row.overdue,
                });
                Ok(())
            })
        })?;
        Ok(LedgerScreen {
            unit_name: directory
                .unit(&unit)
                .map_or_else(|| unit.to_string(), |u| u.name.clone()),
            first: period.first.to_string(),
            last: period.last.to_string(),
            masked: disclosure == IdDisclosure::Masked,
            lines,
        })
    }

    /// Writes the ledger or a report of my centre's unit to `input.path`, from this device's
    /// store, as at `now`, and logs the export. A ledger is XLSX only.
    pub fn export_paperwork(&self, input: &ExportInput, now: i64) -> AppResult<ExportDone> {
        let me = self.me()?;
        let unit = centre_unit(&me)?;
        let disclosure = IdDisclosure::for_roles(me.roles.iter().map(|(r, _)| r));
        let path = target(&input.path, input.format)?;
        let mut store = lock(&self.store);
        let directory = store.directory_shared();
        let local = directory.policy(&unit).local();
        let unit_name = directory
            .unit(&unit)
            .map_or_else(|| unit.to_string(), |u| u.name.clone());
        let centre = me
            .roles
            .iter()
            .find(|(r, _)| r.is_centre())
            .map_or(unit_name.clone(), |(_, u)| u.name.clone());
        let who = format!("{}（{}）", me.name, centre);
        let asked = period_of(local, input.from, input.to)?;
        let kind = match input.document {
            DeskDocument::Ledger => None,
            DeskDocument::Weekly => Some(ReportKind::Weekly),
            DeskDocument::Monthly => Some(ReportKind::Monthly),
            DeskDocument::Quarterly => Some(ReportKind::Quarterly),
        };
        let (bytes, cases, period, ids) = match kind {
            None => {
                if input.format != ExportFormat::Xlsx {
                    return Err(Error::invalid(
                        "format",
                        "台账只导出为 XLSX (the ledger is exported as XLSX only)",
                    )
                    .into());
                }
                let taxonomy = store.taxonomy();
                let file = store.read(|conn| {
                    xlsx::ledger(
                        conn,
                        &directory,
                        taxonomy,
                        &unit,
                        &asked,
                        disclosure,
                        &Exporter {
                            who: who.clone(),
                            at_ms: now,
                        },
                    )
                })?;
                (file.bytes, file.cases, asked, ids_word(disclosure))
            }
            Some(kind) => {
                // The week, month or quarter holding the period's last day, or today if that
                // comes first (this month's weekly review is this week's, not the month's last).
                let period = kind.period(local, asked.last.min(local.date(now)))?;
                let taxonomy = store.taxonomy();
                let r = store.read(|conn| {
                    report::build(conn, &directory, taxonomy, &unit, kind, &period, now)
                })?;
                let bytes = match input.format {
                    ExportFormat::Xlsx => report::to_xlsx(&r)?,
                    ExportFormat::Pdf => report::to_pdf(
                        &r,
                        Fonts::shared()?,
                        &format!(
                            "{who} 于 {} 导出",
                            local.datetime(now).format("%Y-%m-%d %H:%M")
                        ),
                    )?,
                };
                (bytes, r.figures.total.received, period, "none")
            }
        };
        std::fs::write(&path, &bytes).map_err(|e| {
            Error::invalid(
                "path",
                format!(
                    "无法写入 {} (could not write the file: {e})",
                    path.display()
                ),
            )
        })?;
        let kind_code = match kind {
            None => "ledger".to_owned(),
            Some(k) => format!("report_{}", k.code()),
        };
        let shown = path.to_string_lossy().into_owned();
        store
            .write(|tx| {
                tx.execute(
                    "INSERT INTO desk_exports(at, person, kind, format, unit, first_day, last_day,
                                          cases, ids, path)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                    params![
                        now,
                        me.person.as_str(),
                        kind_code,
                        input.format.extension(),
                        unit.as_str(),
                        period.first.to_string(),
                        period.last.to_string(),
                        cases as i64,
                        ids,
                        shown,
                    ],
                )
                .map(|_| ())
            })
            .map_err(Error::from)?;
        Ok(ExportDone {
            path: shown,
            cases,
            first: period.first.to_string(),
            last: period.last.to_string(),
            ids: ids.to_owned(),
            bytes: bytes.len() as u64,
        })
    }

    /// This device's export log, latest first.
    pub fn desk_exports(&self, limit: u32) -> AppResult<Vec<DeskExport>> {
        let store = lock(&self.store);
        let out = store.read(|conn| {
            let mut stmt = conn.prepare(
                "SELECT at, person, kind, format, unit, first_day, last_day, cases, ids, path
                 FROM desk_exports ORDER BY id DESC LIMIT ?1",
            )?;
            let rows = stmt.query_map(params![limit], |r| {
                Ok(DeskExport {
                    at: r.get(0)?,
                    person: r.get(1)?,
                    kind: r.get(2)?,
                    format: r.get(3)?,
                    unit: r.get(4)?,
                    first_day: r.get(5)?,
                    last_day: r.get(6)?,
                    cases: r.get(7)?,
                    ids: r.get(8)?,
                    path: r.get(9)?,
                })
            })?;
            rows.collect::<Result<Vec<_>, rusqlite::Error>>()
        });
        Ok(out.map_err(Error::from)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn the_file_gets_its_formats_extension_and_must_be_a_place_on_disk() {
        assert_eq!(
            target("/home/a/海宴镇-台账", ExportFormat::Xlsx).unwrap(),
            PathBuf::from("/home/a/海宴镇-台账.xlsx")
        );
        assert_eq!(
            target("/home/a/通报.pdf", ExportFormat::Pdf).unwrap(),
            PathBuf::from("/home/a/通报.pdf")
        );
        assert_eq!(
            target("/home/a/通报.pdf", ExportFormat::Xlsx).unwrap(),
            PathBuf::from("/home/a/通报.pdf.xlsx")
        );
        for bad in ["", "  ", "台账.xlsx"] {
            let e = target(bad, ExportFormat::Xlsx).unwrap_err();
            assert!(e.zh().contains("请选择保存位置"), "{bad}: {}", e.zh());
        }
    }

    #[test]
    fn a_period_is_the_local_days_of_its_range_and_all_time_the_last_ten_years() {
        let local = LocalTime::CHINA;
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        // December 2026, as the figures screen asks for it: [midnight 1 Dec, midnight 1 Jan).
        let p = period_of(
            local,
            local.midnight(day(2026, 12, 1)),
            local.midnight(day(2027, 1, 1)),
        )
        .unwrap();
        assert_eq!((p.first, p.last), (day(2026, 12, 1), day(2026, 12, 31)));
        // All time: from the epoch to the end of today, at most the ledger's ten years.
        let p = period_of(local, 0, local.midnight(day(2026, 12, 5))).unwrap();
        assert_eq!(p.last, day(2026, 12, 4));
        assert_eq!((p.last - p.first).num_days() + 1, MAX_PERIOD_DAYS);
    }
}
