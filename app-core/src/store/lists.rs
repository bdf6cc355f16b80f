//! What list screens and reports read: cases filtered from the summary tables alone (no
//! document is loaded), and a unit's figures.

use super::Store;
use crate::error::{Error, Result};
use crate::figures::Report;
use crate::ids::{MatterId, PersonId, UnitId};
use crate::summary::CaseSummary;
use crate::workflow::Status;
use rusqlite::params;

/// Which cases a list screen wants. Every field narrows the list; the default is every case,
/// newest report first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CaseFilter {
    /// Cases of this unit: that happened in its subtree or were with its centre.
    pub unit: Option<UnitId>,
    /// Cases the centre of this unit is responsible for now.
    pub responsible: Option<UnitId>,
    /// Cases some other centre than this one is responsible for now (with `unit`: the unit's
    /// cases held elsewhere, such as those escalated up).
    pub held_elsewhere_than: Option<UnitId>,
    /// Cases this person reported or is assigned to ("my cases").
    pub person: Option<PersonId>,
    /// With `unit`: also the cases this person reported or is assigned to wherever they are (a
    /// grid worker's reports of the village around the grid are theirs to follow).
    pub or_person: Option<PersonId>,
    pub statuses: Vec<Status>,
    pub category: Option<String>,
    pub due: Option<DueFilter>,
    /// Only cases not yet handled at their current tier.
    pub open_only: bool,
    /// Cases reported at or after this time ("new in my township").
    pub reported_since: Option<i64>,
    /// Only cases with unsettled conflicts.
    pub conflicts_only: bool,
    /// Part of a party's name or of the case's title (the search box).
    pub search: Option<String>,
    /// Only the cases linked into this matter.
    pub matter: Option<MatterId>,
    /// Only cases under a supervision (督办) in force.
    pub supervised: bool,
    /// Only cases whose work order (工单) the centre owes something on.
    pub orders: Option<OrderFilter>,
    /// At most this many rows (0: no limit).
    pub limit: u32,
    pub order: ListOrder,
}

/// The order of a list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ListOrder {
    /// Overdue and due-soon lists by deadline, earliest first; others by report, newest first.
    #[default]
    Default,
    /// Earliest deadline first: the most overdue, then the soonest due (what to do next); of
    /// equal deadlines, the oldest report first.
    Deadline,
    /// Latest deadline first: among overdue cases, those that fell overdue most recently; of
    /// equal deadlines, the newest report first.
    RecentlyDue,
    /// The earliest work order deadline the centre still owes first (the signing deadline of an
    /// order waiting to be signed for, else its reply deadline); of equal ones, the oldest
    /// report first.
    OrderDeadline,
}

/// Work orders (工单) of the 12345 hotline the centre owes something on, evaluated at the `now`
/// passed to [`Store::list`]. A deadline is met by acting at or before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderFilter {
    /// Waiting to be signed for (待签收).
    ToSign,
    /// Late: not signed for by the signing deadline, or not replied to by the reply deadline.
    Overdue,
    /// Waiting to be signed for, or late with the reply: what today's 工单 section shows.
    Owed,
    /// Not replied to, and the reply deadline before this instant (UTC milliseconds): replies
    /// falling due, for reminders.
    ReplyDueBefore(i64),
}

/// Deadline filters, evaluated at the `now` passed to [`Store::list`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DueFilter {
    /// Open and past the deadline (超期).
    Overdue,
    /// Open and within the warning period before the deadline (即将到期).
    DueSoon,
}

impl Store {
    /// The cases a list screen shows, from the summaries alone, in the filter's order.
    pub fn list(&self, filter: &CaseFilter, now_ms: i64) -> Result<Vec<CaseSummary>> {
        let (mut sql, args) = Self::filtered("SELECT c.summary FROM cases c", filter, now_ms);
        sql.push_str(match (filter.order, filter.due) {
            (ListOrder::Default, Some(_)) => " ORDER BY c.due_at ASC, c.id",
            (ListOrder::Default, None) => " ORDER BY c.reported_at DESC, c.id",
            (ListOrder::Deadline, _) => " ORDER BY c.due_at ASC, c.reported_at ASC, c.id",
            (ListOrder::RecentlyDue, _) => " ORDER BY c.due_at DESC, c.reported_at DESC, c.id",
            (ListOrder::OrderDeadline, _) => {
                " ORDER BY COALESCE(c.order_sign_by, c.order_reply_by) ASC, c.reported_at ASC, c.id"
            }
        });
        if filter.limit > 0 {
            sql.push_str(&format!(" LIMIT {}", filter.limit));
        }
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args), |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for json in rows {
            out.push(serde_json::from_str(&json?)?);
        }
        Ok(out)
    }

    /// How many cases the filter selects, whatever its `limit` (a section's true count).
    pub fn count(&self, filter: &CaseFilter, now_ms: i64) -> Result<usize> {
        let (sql, args) = Self::filtered("SELECT COUNT(*) FROM cases c", filter, now_ms);
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let n: i64 = stmt.query_row(rusqlite::params_from_iter(args), |r| r.get(0))?;
        Ok(n as usize)
    }

    /// `select` with the filter's joins and conditions, and their arguments.
    fn filtered(
        select: &str,
        filter: &CaseFilter,
        now_ms: i64,
    ) -> (String, Vec<rusqlite::types::Value>) {
        let mut sql = String::from(select);
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        let arg = |v: rusqlite::types::Value, args: &mut Vec<_>| {
            args.push(v);
            format!("?{}", args.len())
        };
        let mut clauses = Vec::new();
        match (&filter.unit, &filter.or_person) {
            (Some(unit), Some(person)) => {
                let u = arg(unit.to_string().into(), &mut args);
                let p = arg(person.to_string().into(), &mut args);
                clauses.push(format!(
                    "(EXISTS (SELECT 1 FROM case_units u WHERE u.case_id = c.id AND u.unit = {u}) \
                     OR EXISTS (SELECT 1 FROM case_people q WHERE q.case_id = c.id AND q.person = {p}))"
                ));
            }
            (Some(unit), None) => {
                let a = arg(unit.to_string().into(), &mut args);
                sql.push_str(&format!(
                    " JOIN case_units u ON u.case_id = c.id AND u.unit = {a}"
                ));
            }
            (None, _) => {}
        }
        if let Some(person) = &filter.person {
            let a = arg(person.to_string().into(), &mut args);
            sql.push_str(&format!(
                " JOIN case_people p ON p.case_id = c.id AND p.person = {a}"
            ));
        }
        if let Some(unit) = &filter.responsible {
            let a = arg(unit.to_string().into(), &mut args);
            clauses.push(format!("c.responsible_unit = {a}"));
        }
        if let Some(unit) = &filter.held_elsewhere_than {
            let a = arg(unit.to_string().into(), &mut args);
            clauses.push(format!("c.responsible_unit != {a}"));
        }
        if !filter.statuses.is_empty() {
            let list: Vec<String> = filter
                .statuses
                .iter()
                .map(|s| arg(s.code().to_owned().into(), &mut args))
                .collect();
            clauses.push(format!("c.status IN ({})", list.join(", ")));
        }
        if let Some(category) = &filter.category {
            let a = arg(category.clone().into(), &mut args);
            clauses.push(format!("c.category = {a}"));
        }
        if filter.open_only {
            clauses.push("c.handled = 0".to_owned());
        }
        match filter.due {
            Some(DueFilter::Overdue) => {
                let a = arg(now_ms.into(), &mut args);
                clauses.push(format!("c.handled = 0 AND c.due_at <= {a}"));
            }
            Some(DueFilter::DueSoon) => {
                let a = arg(now_ms.into(), &mut args);
                clauses.push(format!(
                    "c.handled = 0 AND c.due_soon_at <= {a} AND c.due_at > {a}"
                ));
            }
            None => {}
        }
        if let Some(since) = filter.reported_since {
            let a = arg(since.into(), &mut args);
            clauses.push(format!("c.reported_at >= {a}"));
        }
        if filter.conflicts_only {
            clauses.push("c.conflicts > 0".to_owned());
        }
        if filter.supervised {
            clauses.push("c.supervised_at IS NOT NULL".to_owned());
        }
        match filter.orders {
            Some(OrderFilter::ToSign) => clauses.push("c.order_sign_by IS NOT NULL".to_owned()),
            Some(OrderFilter::Overdue) => {
                let a = arg(now_ms.into(), &mut args);
                clauses.push(format!("(c.order_sign_by < {a} OR c.order_reply_by < {a})"));
            }
            Some(OrderFilter::Owed) => {
                let a = arg(now_ms.into(), &mut args);
                clauses.push(format!(
                    "(c.order_sign_by IS NOT NULL OR c.order_reply_by < {a})"
                ));
            }
            Some(OrderFilter::ReplyDueBefore(at)) => {
                let a = arg(at.into(), &mut args);
                clauses.push(format!("c.order_reply_by < {a}"));
            }
            None => {}
        }
        if let Some(matter) = &filter.matter {
            let a = arg(matter.to_string().into(), &mut args);
            clauses.push(format!("json_extract(c.summary, '$.matter') = {a}"));
        }
        if let Some(name) = filter.search.as_deref().map(str::trim) {
            if !name.is_empty() {
                let escaped = name
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                let a = arg(format!("%{escaped}%").into(), &mut args);
                clauses.push(format!(
                    "(c.party_names LIKE {a} ESCAPE '\\' \
                     OR json_extract(c.summary, '$.title') LIKE {a} ESCAPE '\\')"
                ));
            }
        }
        if !clauses.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&clauses.join(" AND "));
        }
        (sql, args)
    }

    /// The figures of `unit` for cases reported in `[from_ms, to_ms)`, as at `now_ms`.
    pub fn figures(&self, unit: &UnitId, from_ms: i64, to_ms: i64, now_ms: i64) -> Result<Report> {
        if self.directory.unit(unit).is_none() {
            return Err(Error::UnknownUnit(unit.clone()));
        }
        let mut stmt = self.conn.prepare_cached(
            "SELECT c.summary FROM cases c JOIN case_units u ON u.case_id = c.id AND u.unit = ?1
             WHERE c.reported_at >= ?2 AND c.reported_at < ?3",
        )?;
        let mut b =
            super::lower::builder(&self.conn, &self.directory, unit, from_ms, to_ms, now_ms)?;
        for json in stmt.query_map(params![unit.as_str(), from_ms, to_ms], |r| {
            r.get::<_, String>(0)
        })? {
            b.add(&serde_json::from_str::<CaseSummary>(&json?)?);
        }
        Ok(b.finish())
    }
}
