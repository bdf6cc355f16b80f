//! Exports of the centre's paperwork: the ledger (台账) of a unit for a period as an XLSX
//! workbook ([`app_core::paperwork::xlsx`]), for staff devices (`GET /v1/ledger.xlsx`) and the
//! operator (`sync-server ledger`); a resolved case's mediation agreement and application for
//! judicial confirmation as PDF ([`app_core::paperwork::agreement`]), for anyone who may see the
//! case (`GET /v1/cases/{id}/agreement.pdf`, `…/judicial-application.pdf`, `sync-server
//! agreement`).
//!
//! - **Who**: centre staff and leaders, for their own unit or a unit below it. A grid worker,
//!   a mediator or another system may not export a ledger: it lists every party of the unit.
//! - **What they see**: parties' ID numbers masked unless the role may see them
//!   ([`IdDisclosure::for_roles`] for a ledger, [`IdDisclosure::for_document`] for a case's
//!   documents); the operator's command line masks them unless asked.
//! - **Logged**: every export, who, from which device, what (unit, days, how many cases,
//!   masked or not) and when, in `exports`; `sync-server exports` lists them.
//! - **Not under the lock**: the workbook is written from a read-only connection of its own
//!   (SQLite's WAL lets it read while syncs write), so a large ledger never holds up a sync.

use crate::db::{Device, ServerDb};
use crate::error::ApiError;
use app_core::ids::UnitId;
use app_core::org::Directory;
use app_core::paperwork::agreement::{self, AgreementPaper};
use app_core::paperwork::pdf::Fonts;
use app_core::paperwork::report::{self, ReportKind};
use app_core::paperwork::xlsx::{self, Exporter, LedgerFile};
use app_core::paperwork::{IdDisclosure, Period};
use app_core::protocol::ErrorCode;
use app_core::taxonomy::Taxonomy;
use rusqlite::{params, Connection, OpenFlags};
use std::path::Path;
use std::sync::Arc;

/// The query of `GET /v1/ledger.xlsx`: a unit (the server's own by default) and a period of
/// local days, `YYYY-MM-DD`, both ends included (by default the month so far).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerQuery {
    pub unit: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// An export allowed: what, for whom.
#[derive(Clone, Debug)]
pub struct LedgerRequest {
    pub unit: UnitId,
    pub period: Period,
    pub disclosure: IdDisclosure,
    /// The person (or `operator` for the command line), and their name and unit as the file
    /// names them.
    pub person: String,
    pub device: Option<String>,
    pub who: String,
}

/// The period a query names: `from`..`to`, or the month so far.
pub fn period(
    directory: &Directory,
    unit: &UnitId,
    from: Option<&str>,
    to: Option<&str>,
    now_ms: i64,
) -> Result<Period, ApiError> {
    let local = directory.policy(unit).local();
    let today = local.date(now_ms).format("%Y-%m-%d").to_string();
    let to = to.unwrap_or(&today);
    let month_start = format!("{}-01", &to.get(..7).unwrap_or(&today[..7]));
    let from = from.unwrap_or(&month_start);
    Period::parse(local, from, to).map_err(|e| ApiError::new(ErrorCode::BadJson, e.to_string()))
}

/// Checks that `device`'s person may export the ledger of the unit `q` names, and what they
/// see of it.
pub fn authorise(
    db: &ServerDb,
    device: &Device,
    q: &LedgerQuery,
    default_unit: &UnitId,
    now_ms: i64,
) -> Result<LedgerRequest, ApiError> {
    authorise_unit(
        db,
        device,
        q.unit.as_deref(),
        default_unit,
        |directory, unit| period(directory, unit, q.from.as_deref(), q.to.as_deref(), now_ms),
    )
}

/// Checks that `device`'s person may export a report of the unit `q` names.
pub fn authorise_report(
    db: &ServerDb,
    device: &Device,
    q: &ReportQuery,
    kind: ReportKind,
    default_unit: &UnitId,
    now_ms: i64,
) -> Result<LedgerRequest, ApiError> {
    authorise_unit(
        db,
        device,
        q.unit.as_deref(),
        default_unit,
        |directory, unit| report_period(directory, unit, kind, q.date.as_deref(), now_ms),
    )
}

/// The one scope rule of a unit's paperwork: centre staff and leaders, of the unit or a unit
/// above it. `period` reads the days asked for once the unit is known.
fn authorise_unit(
    db: &ServerDb,
    device: &Device,
    unit: Option<&str>,
    default_unit: &UnitId,
    period: impl FnOnce(&Directory, &UnitId) -> Result<Period, ApiError>,
) -> Result<LedgerRequest, ApiError> {
    let directory = db.store.directory();
    let person = directory.person(&device.person).ok_or_else(|| {
        ApiError::new(
            ErrorCode::WrongAuthor,
            "this device's person is no longer in the directory",
        )
    })?;
    let unit = unit
        .map(UnitId::new)
        .unwrap_or_else(|| default_unit.clone());
    let Some(target) = directory.unit(&unit) else {
        return Err(ApiError::new(
            ErrorCode::UnknownDoc,
            format!("unit {unit} is not in this server's directory"),
        ));
    };
    if !person.roles.iter().any(|r| r.is_centre()) {
        return Err(ApiError::new(
            ErrorCode::OutOfScope,
            format!(
                "the ledger and reports of {} are kept by its centre's staff; {} may not export them",
                target.name,
                person.roles.first().map_or("this person", |r| r.zh())
            ),
        ));
    }
    if !directory.is_within(&unit, &person.unit) {
        return Err(ApiError::new(
            ErrorCode::OutOfScope,
            format!(
                "the ledger and reports of {} are not yours to export: it is outside {}",
                target.name, person.unit
            ),
        ));
    }
    let period = period(directory, &unit)?;
    let centre = directory
        .unit(&person.unit)
        .map_or(person.unit.to_string(), |u| u.name.clone());
    Ok(LedgerRequest {
        unit,
        period,
        disclosure: IdDisclosure::for_roles(&person.roles),
        person: person.id.to_string(),
        device: Some(device.id.to_string()),
        who: format!("{}（{}）", person.name, centre),
    })
}

/// Writes the workbook from a read-only connection of its own to the database at `path`.
pub fn write(
    path: &Path,
    directory: Arc<Directory>,
    taxonomy: &Taxonomy,
    req: &LedgerRequest,
    now_ms: i64,
) -> Result<LedgerFile, ApiError> {
    snapshot(path, |conn| {
        xlsx::ledger(
            conn,
            &directory,
            taxonomy,
            &req.unit,
            &req.period,
            req.disclosure,
            &Exporter {
                who: req.who.clone(),
                at_ms: now_ms,
            },
        )
        .map_err(|e| ApiError::from_core(e, "ledger"))
    })
}

/// Runs `f` on a read-only connection of its own to the database at `path`, in one read
/// transaction: every row and figure from the same moment of the database, and the server's
/// lock never held.
pub(crate) fn snapshot<T>(
    path: &Path,
    f: impl FnOnce(&Connection) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.execute_batch("BEGIN")?;
    let out = f(&conn)?;
    conn.execute_batch("COMMIT")?;
    Ok(out)
}

/// Records an export in the log.
pub fn log(
    db: &mut ServerDb,
    req: &LedgerRequest,
    file: &LedgerFile,
    now_ms: i64,
) -> Result<(), ApiError> {
    db.store.write(|tx| {
        tx.execute(
            "INSERT INTO exports(at, person, device, kind, unit, first_day, last_day, cases, ids)
             VALUES (?1, ?2, ?3, 'ledger', ?4, ?5, ?6, ?7, ?8)",
            params![
                now_ms,
                req.person,
                req.device,
                req.unit.as_str(),
                req.period.first.to_string(),
                req.period.last.to_string(),
                file.cases as i64,
                match req.disclosure {
                    IdDisclosure::Masked => "masked",
                    IdDisclosure::Full => "full",
                },
            ],
        )
        .map(|_| ())
    })?;
    Ok(())
}

/// One line of the export log.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ExportRecord {
    pub at: i64,
    pub person: String,
    pub device: Option<String>,
    pub kind: String,
    pub unit: String,
    pub first_day: String,
    pub last_day: String,
    pub cases: i64,
    pub ids: String,
    /// The case a document was printed from.
    pub subject: Option<String>,
}

/// The export log, latest first.
pub fn exports(db: &ServerDb, limit: u32) -> Result<Vec<ExportRecord>, ApiError> {
    Ok(db.store.read(|conn| {
        let mut stmt = conn.prepare(
            "SELECT at, person, device, kind, unit, first_day, last_day, cases, ids, subject
             FROM exports ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit], |r| {
            Ok(ExportRecord {
                at: r.get(0)?,
                person: r.get(1)?,
                device: r.get(2)?,
                kind: r.get(3)?,
                unit: r.get(4)?,
                first_day: r.get(5)?,
                last_day: r.get(6)?,
                cases: r.get(7)?,
                ids: r.get(8)?,
                subject: r.get(9)?,
            })
        })?;
        rows.collect::<Result<Vec<_>, rusqlite::Error>>()
    })?)
}

/// The person an operator's export is logged as.
pub const OPERATOR: &str = "operator";

/// What the command line exports: the operator sees ID numbers masked unless `full_ids`.
pub fn operator_request(
    directory: &Directory,
    unit: UnitId,
    from: Option<&str>,
    to: Option<&str>,
    full_ids: bool,
    now_ms: i64,
) -> Result<LedgerRequest, ApiError> {
    if directory.unit(&unit).is_none() {
        return Err(ApiError::new(
            ErrorCode::UnknownDoc,
            format!("unit {unit} is not in this server's directory"),
        ));
    }
    let period = period(directory, &unit, from, to, now_ms)?;
    Ok(LedgerRequest {
        unit,
        period,
        disclosure: if full_ids {
            IdDisclosure::Full
        } else {
            IdDisclosure::Masked
        },
        person: OPERATOR.into(),
        device: None,
        who: "服务器管理员（命令行）".into(),
    })
}

/// Which of a case's documents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaseDocumentKind {
    /// 人民调解协议书
    Agreement,
    /// 司法确认申请书
    JudicialApplication,
}

impl CaseDocumentKind {
    pub fn code(self) -> &'static str {
        match self {
            CaseDocumentKind::Agreement => "agreement",
            CaseDocumentKind::JudicialApplication => "judicial_application",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            CaseDocumentKind::Agreement => "人民调解协议书",
            CaseDocumentKind::JudicialApplication => "司法确认申请书",
        }
    }
}

/// The fonts documents are printed in, loaded once (two font files of ~20 MB each; the PDF
/// embeds only the glyphs it uses).
pub fn fonts() -> Result<&'static Fonts, ApiError> {
    Fonts::shared().map_err(|e| ApiError::internal(format!("documents cannot be printed: {e}")))
}

/// A printed document of a case and what the log says of it.
#[derive(Debug)]
pub struct PrintedDocument {
    pub kind: CaseDocumentKind,
    pub case: String,
    pub disclosure: IdDisclosure,
    pub bytes: Vec<u8>,
    pub file_name: String,
    pub unit: UnitId,
    pub date: chrono::NaiveDate,
}

/// Prints `kind` of case `id` for `person` (their roles decide the ID numbers); `None` for the
/// operator, who sees them masked unless `full_ids`. The caller has checked the case is theirs
/// to see.
pub fn print_case_document(
    db: &ServerDb,
    id: &str,
    kind: CaseDocumentKind,
    disclosure: IdDisclosure,
) -> Result<PrintedDocument, ApiError> {
    let key = format!("case:{id}");
    let view = db
        .store
        .case(&app_core::ids::CaseId::new(id))
        .map_err(|e| ApiError::from_core(e, &key))?;
    let image = |sha: &str| db.store.blob(sha).ok().flatten().map(|(_, bytes)| bytes);
    let paper = AgreementPaper::of(&view, db.store.directory(), disclosure, &image)
        .map_err(|e| ApiError::new(ErrorCode::WorkflowDenied, e.to_string()).on(&key))?;
    let fonts = fonts()?;
    let bytes = match kind {
        CaseDocumentKind::Agreement => agreement::mediation_agreement(&paper, fonts),
        CaseDocumentKind::JudicialApplication => agreement::judicial_application(&paper, fonts),
    }
    .map_err(ApiError::internal)?;
    Ok(PrintedDocument {
        kind,
        case: id.to_owned(),
        disclosure,
        bytes,
        file_name: format!("{}-{}.pdf", kind.zh(), paper.number),
        unit: view.summary.responsible_unit.clone(),
        date: paper.date,
    })
}

/// Records a printed document in the log.
pub fn log_document(
    db: &mut ServerDb,
    person: &str,
    device: Option<&str>,
    doc: &PrintedDocument,
    now_ms: i64,
) -> Result<(), ApiError> {
    db.store.write(|tx| {
        tx.execute(
            "INSERT INTO exports(at, person, device, kind, unit, first_day, last_day, cases, ids,
                 subject)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, 1, ?7, ?8)",
            params![
                now_ms,
                person,
                device,
                doc.kind.code(),
                doc.unit.as_str(),
                doc.date.to_string(),
                match doc.disclosure {
                    IdDisclosure::Masked => "masked",
                    IdDisclosure::Full => "full",
                },
                doc.case,
            ],
        )
        .map(|_| ())
    })?;
    Ok(())
}

/// What `device`'s person sees of ID numbers on a case's documents.
pub fn document_disclosure(db: &ServerDb, device: &Device) -> Result<IdDisclosure, ApiError> {
    let person = db.store.directory().person(&device.person).ok_or_else(|| {
        ApiError::new(
            ErrorCode::WrongAuthor,
            "this device's person is no longer in the directory",
        )
    })?;
    Ok(IdDisclosure::for_document(&person.roles))
}

/// The query of `GET /v1/reports/{kind}.{xlsx|pdf}`: a unit (the server's own by default) and a
/// day within the week, month or quarter (today by default).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    pub unit: Option<String>,
    pub date: Option<String>,
}

/// A report's file: `monthly.pdf` → (monthly, pdf).
pub fn report_file(file: &str) -> Result<(ReportKind, ReportFormat), ApiError> {
    let bad = || {
        ApiError::new(
            ErrorCode::UnknownDoc,
            format!(
                "no report `{}`: the reports are weekly, monthly and quarterly, as .xlsx or .pdf",
                app_core::terminal::escape(file)
            ),
        )
    };
    let (kind, ext) = file.rsplit_once('.').ok_or_else(bad)?;
    let kind = ReportKind::from_code(kind).ok_or_else(bad)?;
    let format = match ext {
        "xlsx" => ReportFormat::Xlsx,
        "pdf" => ReportFormat::Pdf,
        _ => return Err(bad()),
    };
    Ok((kind, format))
}

/// A report's file type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    Xlsx,
    Pdf,
}

impl ReportFormat {
    pub fn content_type(self) -> &'static str {
        match self {
            ReportFormat::Xlsx => {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
            ReportFormat::Pdf => "application/pdf",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            ReportFormat::Xlsx => "xlsx",
            ReportFormat::Pdf => "pdf",
        }
    }
}

/// The period of a report: the week, month or quarter holding `date` (today by default).
pub fn report_period(
    directory: &Directory,
    unit: &UnitId,
    kind: ReportKind,
    date: Option<&str>,
    now_ms: i64,
) -> Result<Period, ApiError> {
    let local = directory.policy(unit).local();
    let day = match date {
        Some(d) => chrono::NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").map_err(|_| {
            ApiError::new(
                ErrorCode::BadJson,
                format!(
                    "date: `{}` is not a date of the form 2026-11-30",
                    app_core::terminal::escape(d)
                ),
            )
        })?,
        None => local.date(now_ms),
    };
    kind.period(local, day)
        .map_err(|e| ApiError::new(ErrorCode::BadJson, e.to_string()))
}

/// Writes a report from a read-only connection of its own, as XLSX or PDF.
pub fn write_report(
    path: &Path,
    directory: Arc<Directory>,
    taxonomy: &Taxonomy,
    req: &LedgerRequest,
    kind: ReportKind,
    format: ReportFormat,
    now_ms: i64,
) -> Result<(Vec<u8>, u64), ApiError> {
    let r = snapshot(path, |conn| {
        report::build(
            conn,
            &directory,
            taxonomy,
            &req.unit,
            kind,
            &req.period,
            now_ms,
        )
        .map_err(|e| ApiError::from_core(e, "report"))
    })?;
    let bytes = match format {
        ReportFormat::Xlsx => report::to_xlsx(&r),
        ReportFormat::Pdf => {
            let local = directory.policy(&req.unit).local();
            report::to_pdf(
                &r,
                fonts()?,
                &format!(
                    "{} 于 {} 导出",
                    req.who,
                    local.datetime(now_ms).format("%Y-%m-%d %H:%M")
                ),
            )
        }
    }
    .map_err(ApiError::internal)?;
    Ok((bytes, r.figures.total.received))
}

/// Records a report in the log (`report_weekly`, …), as a ledger is.
pub fn log_report(
    db: &mut ServerDb,
    req: &LedgerRequest,
    kind: ReportKind,
    cases: u64,
    now_ms: i64,
) -> Result<(), ApiError> {
    db.store.write(|tx| {
        tx.execute(
            "INSERT INTO exports(at, person, device, kind, unit, first_day, last_day, cases, ids)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'none')",
            params![
                now_ms,
                req.person,
                req.device,
                format!("report_{}", kind.code()),
                req.unit.as_str(),
                req.period.first.to_string(),
                req.period.last.to_string(),
                cases as i64,
            ],
        )
        .map(|_| ())
    })?;
    Ok(())
}
