//! Read endpoints for a centre's screens (a browser or a desk that does not keep a replica):
//! the case list with filters, one case with its timeline, the figures. The same scope rule as
//! sync decides what a device may read.

use crate::db::{Device, ServerDb};
use crate::error::ApiError;
use crate::scope;
use app_core::ids::{CaseId, UnitId};
use app_core::model::CaseDocument;
use app_core::org::{Person, Role};
use app_core::protocol::ErrorCode;
use app_core::store::{CaseFilter, DueFilter};
use app_core::summary::CaseSummary;
use app_core::workflow::{CaseState, Status};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Query of `GET /v1/cases`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Cases of this unit (default: every case the device may see).
    pub unit: Option<String>,
    /// Comma-separated status codes, e.g. `reported,assessed`.
    pub status: Option<String>,
    pub category: Option<String>,
    /// `overdue` or `due_soon`.
    pub due: Option<String>,
    /// A party's name, or part of it.
    pub q: Option<String>,
    pub open: Option<bool>,
    pub limit: Option<u32>,
}

/// One case for a screen.
#[derive(Clone, Debug, Serialize)]
pub struct CaseAnswer {
    pub summary: CaseSummary,
    pub document: CaseDocument,
    pub state: Option<CaseState>,
}

/// Query of `GET /v1/figures`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FiguresQuery {
    pub unit: Option<String>,
    /// UTC milliseconds; default 30 days before `to`.
    pub from: Option<i64>,
    /// UTC milliseconds; default now.
    pub to: Option<i64>,
}

/// The latest time a figures query may name: 2100-01-01T00:00:00Z, in UTC milliseconds.
pub const MAX_TIME_MS: i64 = 4_102_444_800_000;
const DAY_MS: i64 = 86_400_000;

impl FiguresQuery {
    /// The period asked for, `[from, to)`: each bound a time between 1970 and 2100, `from` not
    /// after `to`; `to` defaults to now and `from` to 30 days before `to` (not before 1970).
    pub fn period(&self, now_ms: i64) -> Result<(i64, i64), ApiError> {
        let time = |name: &str, v: i64| {
            if (0..=MAX_TIME_MS).contains(&v) {
                Ok(v)
            } else {
                Err(ApiError::new(
                    ErrorCode::BadJson,
                    format!(
                        "`{name}` must be a time in UTC milliseconds between 0 (1970) and \
                         {MAX_TIME_MS} (2100); got {v}"
                    ),
                ))
            }
        };
        let to = time("to", self.to.unwrap_or(now_ms))?;
        let from = match self.from {
            Some(v) => time("from", v)?,
            None => (to - 30 * DAY_MS).max(0),
        };
        if from > to {
            return Err(ApiError::new(
                ErrorCode::BadJson,
                format!("`from` ({from}) is after `to` ({to}): the period would be empty"),
            ));
        }
        Ok((from, to))
    }
}

/// The people of the directory as `reader` receives them: everyone's name, unit, roles and
/// specialties (a device checks actions and offers the mediator roster with them), but a
/// person's work phone only to the person themself and to centre staff and leaders of the
/// person's unit or a unit above it, who supervise them. Grid workers, household heads,
/// mediators and child servers get no phone but their own.
pub fn directory_people(directory: &app_core::org::Directory, reader: &Device) -> Vec<Person> {
    let supervised: Vec<&UnitId> = match directory.person(&reader.person) {
        Some(p) if reader.server_unit().is_none() && p.roles.iter().any(|r| r.is_centre()) => {
            vec![&p.unit]
        }
        _ => Vec::new(),
    };
    directory
        .people()
        .map(|p| {
            let mut p = p.clone();
            let sees_phone =
                p.id == reader.person || supervised.iter().any(|u| directory.is_within(&p.unit, u));
            if !sees_phone {
                p.phone = None;
            }
            p
        })
        .collect()
}

/// The case keys (`case:<id>`) a device may read.
fn readable(db: &ServerDb, principals: &[String]) -> Result<BTreeSet<String>, ApiError> {
    Ok(db
        .store
        .read(|c| crate::db::cases_in_scope(c, principals))?)
}

/// Whether a device may read one document (`case:<id>`…): the rule of [`case`] and of the
/// attachment endpoints, without listing everything the device may read.
pub fn may_read(db: &ServerDb, device: &Device, key: &str) -> Result<bool, ApiError> {
    let principals = scope::device_principals(db.store.directory(), device);
    Ok(db
        .store
        .read(|c| crate::db::in_scope(c, key, &principals))?)
}

/// The answer for a case that does not exist *or* is not the reader's to see: the same, so
/// that nobody learns which cases exist outside their scope.
pub fn not_visible(id: &str) -> ApiError {
    ApiError::new(
        ErrorCode::UnknownDoc,
        format!("case {id} is not known here or not yours to see"),
    )
    .on(&format!("case:{id}"))
}

pub fn list(
    db: &ServerDb,
    device: &Device,
    q: ListQuery,
    now_ms: i64,
) -> Result<Vec<CaseSummary>, ApiError> {
    let statuses = match &q.status {
        None => Vec::new(),
        Some(s) => s
            .split(',')
            .filter(|c| !c.is_empty())
            .map(|c| {
                Status::from_code(c).ok_or_else(|| {
                    ApiError::new(
                        ErrorCode::BadJson,
                        format!("status `{c}` is not a status code"),
                    )
                })
            })
            .collect::<Result<_, _>>()?,
    };
    let due = match q.due.as_deref() {
        None => None,
        Some("overdue") => Some(DueFilter::Overdue),
        Some("due_soon") => Some(DueFilter::DueSoon),
        Some(other) => {
            return Err(ApiError::new(
                ErrorCode::BadJson,
                format!("due `{other}` is not `overdue` or `due_soon`"),
            ))
        }
    };
    let limit = q.limit.unwrap_or(200).min(2000);
    let filter = CaseFilter {
        unit: q.unit.map(UnitId::new),
        statuses,
        category: q.category,
        due,
        search: q.q,
        open_only: q.open.unwrap_or(false),
        ..CaseFilter::default()
    };
    let principals = scope::device_principals(db.store.directory(), device);
    let visible = readable(db, &principals)?;
    let rows = db
        .store
        .list(&filter, now_ms)
        .map_err(|e| ApiError::from_core(e, "list"))?;
    Ok(rows
        .into_iter()
        .filter(|s| visible.contains(&format!("case:{}", s.id)))
        .take(limit as usize)
        .collect())
}

pub fn case(db: &ServerDb, device: &Device, id: &str) -> Result<CaseAnswer, ApiError> {
    let key = format!("case:{id}");
    crate::sync::parse_key(&key)?;
    if !may_read(db, device, &key)? {
        // The same answer whether the case does not exist or is not this person's to see.
        return Err(not_visible(id));
    }
    let view = db
        .store
        .case(&CaseId::new(id))
        .map_err(|e| ApiError::from_core(e, &key))?;
    Ok(CaseAnswer {
        summary: view.summary,
        document: view.document,
        state: view.folded.state,
    })
}

pub fn figures(
    db: &ServerDb,
    device: &Device,
    q: FiguresQuery,
    default_unit: &UnitId,
    now_ms: i64,
) -> Result<app_core::figures::Report, ApiError> {
    let (from, to) = q.period(now_ms)?;
    let directory = db.store.directory();
    let person = directory.person(&device.person).ok_or_else(|| {
        ApiError::new(
            ErrorCode::WrongAuthor,
            "this device's person is no longer in the directory",
        )
    })?;
    let unit = q
        .unit
        .map(UnitId::new)
        .unwrap_or_else(|| default_unit.clone());
    if directory.unit(&unit).is_none() {
        return Err(ApiError::new(
            ErrorCode::UnknownDoc,
            format!("unit {unit} is not in this server's directory"),
        ));
    }
    // Centre staff see their unit and below; others only their own unit.
    let allowed = if person.roles.iter().any(|r| r.is_centre()) {
        directory.is_within(&unit, &person.unit)
    } else {
        unit == person.unit && person.roles.contains(&Role::GridWorker)
    };
    if !allowed {
        return Err(ApiError::new(
            ErrorCode::OutOfScope,
            format!("the figures of {unit} are not yours to see"),
        ));
    }
    db.store
        .figures(&unit, from, to, now_ms)
        .map_err(|e| ApiError::from_core(e, "figures"))
}

/// `GET /v1/figures/lower?after=<seq>`.
#[derive(Debug, serde::Deserialize)]
pub struct LowerQuery {
    #[serde(default)]
    pub after: i64,
}

/// The figures the lower tiers' servers sent this one (逐级汇总) that were kept after
/// `q.after`, of the units below the device's person's, for centre staff and leaders: what
/// their devices keep so that their own figures screen covers the townships as `/v1/figures`
/// here does. Counts and case ids only, as the townships sent them.
pub fn lower_days(
    db: &ServerDb,
    device: &Device,
    q: LowerQuery,
) -> Result<app_core::protocol::LowerDays, ApiError> {
    use app_core::protocol::{LowerDays, MAX_LOWER_DAYS_DOWN};
    if q.after < 0 {
        return Err(ApiError::new(
            ErrorCode::BadJson,
            format!("`after` is the last seq taken, 0 or more; got {}", q.after),
        ));
    }
    let directory = db.store.directory();
    let person = directory.person(&device.person).ok_or_else(|| {
        ApiError::new(
            ErrorCode::WrongAuthor,
            "this device's person is no longer in the directory",
        )
    })?;
    if !person.roles.iter().any(|r| r.is_centre()) {
        return Err(ApiError::new(
            ErrorCode::OutOfScope,
            "the figures of the tiers below are for the centre's staff and leaders",
        ));
    }
    let unit = person.unit.clone();
    let wanted = |u: &UnitId| *u != unit && directory.is_within(u, &unit);
    db.store
        .read(|c| {
            let (days, next) =
                app_core::store::lower::changed_after(c, q.after, MAX_LOWER_DAYS_DOWN, &wanted)?;
            let more: bool = c.query_row(
                "SELECT EXISTS (SELECT 1 FROM lower_days WHERE seq > ?1)",
                [next],
                |r| r.get(0),
            )?;
            Ok::<_, app_core::Error>(LowerDays { days, next, more })
        })
        .map_err(|e| ApiError::from_core(e, "figures"))
}
