//! The ledger (台账) as rows: one row per case reported to a unit in a period, with the columns
//! a centre keeps ([`COLUMNS`]), read from the summaries and the parties' index alone (never a
//! document), in report order. Rows are handed over one at a time ([`for_each_case`]), so a
//! ledger of a hundred thousand cases is never in memory at once. The visits sheet's rows
//! ([`visits`]): who visited the unit's households in the period, and what they found, from
//! the `visits` summary rows.

use super::{IdDisclosure, Period};
use crate::deadline::{DueState, LocalTime};
use crate::error::{Error, Result};
use crate::identity::ResidentId;
use crate::ids::{PersonId, UnitId};
use crate::org::Directory;
use crate::summary::CaseSummary;
use crate::taxonomy::{CategoryCode, Taxonomy};
use crate::workflow::{Judicial, Status};
use chrono::NaiveDate;
use rusqlite::{params, Connection};
use std::collections::{BTreeSet, HashMap, HashSet};

/// The ledger's columns, in order.
pub const COLUMNS: [&str; 19] = [
    "编号",
    "受理日期",
    "来源",
    "类别",
    "当事人",
    "村/网格",
    "简要案情",
    "难度",
    "风险",
    "责任单位/调解员",
    "期限",
    "状态",
    "结果",
    "协议",
    "司法确认",
    "回访满意度",
    "办结日期",
    "是否超期",
    "上报/交办",
];

/// One party as the ledger shows them: the name, and the resident ID number if one was given
/// (and not erased), masked or whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerParty {
    pub name: String,
    pub id_number: Option<String>,
}

/// One row of the ledger. Dates are local calendar dates.
#[derive(Clone, Debug, PartialEq)]
pub struct LedgerRow {
    /// 编号: the report date and the case id's random end (`20261203-3F4A5B`), for reading and
    /// searching.
    pub number: String,
    pub reported: NaiveDate,
    pub source: String,
    pub category: String,
    pub parties: Vec<LedgerParty>,
    /// 村/网格: the village, and the grid when the case names one below it.
    pub place: String,
    pub title: String,
    pub brief: String,
    pub difficulty: String,
    pub risks: String,
    /// 责任单位/调解员
    pub responsible: String,
    /// 期限: the last day to handle it by.
    pub due: NaiveDate,
    pub status: String,
    pub outcome: String,
    pub agreement: bool,
    pub judicial: String,
    pub satisfaction: String,
    pub concluded: Option<NaiveDate>,
    /// 是否超期: open past its deadline now, or handled after it.
    pub overdue: bool,
    /// 上报/交办: where it was escalated to, or assigned down to.
    pub referred: String,
}

impl LedgerRow {
    /// The parties as one cell: "周建国（110105********002X）；李秀英".
    pub fn parties_cell(&self) -> String {
        self.parties
            .iter()
            .map(|p| match &p.id_number {
                Some(id) => format!("{}（{}）", p.name, id),
                None => p.name.clone(),
            })
            .collect::<Vec<_>>()
            .join("；")
    }

    /// The case's title and brief as one cell: "【排水沟堵塞纠纷】两户因……".
    pub fn brief_cell(&self) -> String {
        if self.brief.is_empty() {
            self.title.clone()
        } else {
            format!("【{}】{}", self.title, self.brief)
        }
    }
}

/// A case's number as the ledger and the documents print it: the report date and the case
/// id's random end (`20261203-3F4A5B`).
pub fn case_number(id: &str, reported: NaiveDate) -> String {
    let hex: Vec<char> = id.chars().filter(|c| *c != '-').collect();
    let tail: String = hex[hex.len().saturating_sub(6)..].iter().collect();
    format!("{}-{}", reported.format("%Y%m%d"), tail.to_uppercase())
}

/// What rows are made with: the directory and taxonomy in force, the unit and the moment.
#[derive(Clone, Copy, Debug)]
pub struct LedgerContext<'a> {
    pub directory: &'a Directory,
    pub taxonomy: &'a Taxonomy,
    pub unit: &'a UnitId,
    pub now_ms: i64,
    pub disclosure: IdDisclosure,
}

impl LedgerContext<'_> {
    fn local(&self) -> LocalTime {
        self.directory.policy(self.unit).local()
    }

    fn unit_name(&self, id: &UnitId) -> String {
        self.directory
            .unit(id)
            .map_or_else(|| id.to_string(), |u| u.name.clone())
    }

    /// The row of a case, its parties as the index holds them (name, canonical ID number).
    pub fn row(&self, s: &CaseSummary, parties: &[(String, Option<String>)]) -> LedgerRow {
        let local = self.local();
        let date = |ms: i64| local.date(ms);
        let parties = if parties.is_empty() {
            s.party_names
                .iter()
                .map(|name| LedgerParty {
                    name: name.clone(),
                    id_number: None,
                })
                .collect()
        } else {
            parties
                .iter()
                .map(|(name, id)| LedgerParty {
                    name: name.clone(),
                    id_number: id.as_deref().map(|id| match self.disclosure {
                        IdDisclosure::Full => id.to_owned(),
                        IdDisclosure::Masked => ResidentId::parse(id)
                            .map(|r| r.masked())
                            .unwrap_or_else(|_| "*".repeat(id.chars().count())),
                    }),
                })
                .collect()
        };
        let place = match &s.village {
            Some(v) if *v != s.place_unit => {
                format!("{}/{}", self.unit_name(v), self.unit_name(&s.place_unit))
            }
            _ => self.unit_name(&s.place_unit),
        };
        let responsible = match &s.assignee {
            Some(a) => format!("{}/{}", self.unit_name(&s.responsible_unit), a),
            None => self.unit_name(&s.responsible_unit),
        };
        let outcome = match s.status {
            Status::Resolved => "调解成功",
            Status::Stabilised => "稳控",
            Status::Failed => "调解失败",
            Status::Closed if s.resolved_at.is_some() => "调解成功",
            Status::Closed => "办结",
            Status::Returned => "退单",
            Status::Escalated => "上报上级",
            _ => "",
        };
        let judicial = match s.judicial {
            Some(Judicial::Requested) => "已申请",
            Some(Judicial::Granted) => "已确认",
            Some(Judicial::Refused) => "未予确认",
            None => "",
        };
        let overdue = match s.due_state(self.now_ms) {
            DueState::Overdue => true,
            DueState::Handled => s.on_time() == Some(false),
            DueState::OnTrack | DueState::DueSoon => false,
        };
        let mut referred: Vec<String> = s
            .escalated_to
            .iter()
            .map(|u| format!("上报{}", self.unit_name(u)))
            .collect();
        if let Some(to) = &s.assigned_down_to {
            referred.push(format!("交办{}", self.unit_name(to)));
        }
        LedgerRow {
            number: case_number(s.id.as_str(), date(s.reported_at)),
            reported: date(s.reported_at),
            source: s.source.map_or("", |src| src.zh()).to_owned(),
            category: self
                .taxonomy
                .zh(&CategoryCode::from(s.category.as_str()))
                .to_owned(),
            parties,
            place,
            title: s.title.clone(),
            brief: s.brief.clone(),
            difficulty: s.difficulty.map_or("", |d| d.zh()).to_owned(),
            risks: s
                .risks
                .iter()
                .map(|r| r.zh())
                .collect::<Vec<_>>()
                .join("、"),
            responsible,
            // The deadline is the first late instant; the last day to act is the day before it
            // begins.
            due: date(s.due_at - 1),
            status: s.status.zh().to_owned(),
            outcome: outcome.to_owned(),
            agreement: s.agreement,
            judicial: judicial.to_owned(),
            satisfaction: s.satisfaction.map_or("", |x| x.zh()).to_owned(),
            concluded: s.closed_at.map(date),
            overdue,
            referred: referred.join("；"),
        }
    }
}

/// Hands `f` each case reported to `unit` in `period` (the cases its figures count: those in
/// its area or that were with its centre), in report order, with its parties from the index.
/// Answers how many there were.
pub fn for_each_case(
    conn: &Connection,
    directory: &Directory,
    unit: &UnitId,
    period: &Period,
    mut f: impl FnMut(&CaseSummary, &[(String, Option<String>)]) -> Result<()>,
) -> Result<u64> {
    if directory.unit(unit).is_none() {
        return Err(Error::UnknownUnit(unit.clone()));
    }
    let mut cases = conn.prepare_cached(
        "SELECT c.summary FROM cases c JOIN case_units u ON u.case_id = c.id AND u.unit = ?1
         WHERE c.reported_at >= ?2 AND c.reported_at < ?3
         ORDER BY c.reported_at, c.id",
    )?;
    let mut parties = conn.prepare_cached(
        "SELECT name, resident_id FROM case_parties WHERE case_id = ?1 ORDER BY party_id",
    )?;
    let mut rows = cases.query(params![unit.as_str(), period.from, period.to])?;
    let mut n = 0;
    let mut list: Vec<(String, Option<String>)> = Vec::new();
    while let Some(row) = rows.next()? {
        let json: String = row.get(0)?;
        let summary: CaseSummary = serde_json::from_str(&json)?;
        list.clear();
        let mut found = parties.query(params![summary.id.as_str()])?;
        while let Some(p) = found.next()? {
            list.push((p.get(0)?, p.get(1)?));
        }
        f(&summary, &list)?;
        n += 1;
    }
    Ok(n)
}

/// The open cases of `unit` (not handled at their tier), the earliest deadline first, whenever
/// they were reported; with `due_by`, only those whose deadline is at or before it (超期督办:
/// `due_by` is now).
pub fn open_cases(
    conn: &Connection,
    unit: &UnitId,
    due_by: Option<i64>,
) -> Result<Vec<CaseSummary>> {
    let mut stmt = conn.prepare_cached(
        "SELECT c.summary FROM cases c JOIN case_units u ON u.case_id = c.id AND u.unit = ?1
         WHERE c.handled = 0 AND (?2 IS NULL OR c.due_at <= ?2)
         ORDER BY c.due_at, c.id",
    )?;
    let mut out = Vec::new();
    let mut rows = stmt.query(params![unit.as_str(), due_by])?;
    while let Some(row) = rows.next()? {
        let json: String = row.get(0)?;
        out.push(serde_json::from_str(&json)?);
    }
    Ok(out)
}

/// The visits sheet's columns (入户走访), in order: the visitor, the grids of the households
/// they visited, then [`VisitCounts`].
pub const VISIT_COLUMNS: [&str; 7] = [
    "网格员",
    "网格",
    "走访户数",
    "走访次数",
    "无事报平安",
    "记录事项",
    "发现纠纷",
];

/// Door-to-door visits (入户走访) counted, by what each found
/// ([`crate::document::VisitOutcome`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VisitCounts {
    /// 走访户数: the households visited, each once however often.
    pub households: u64,
    /// 走访次数
    pub visits: u64,
    /// 无事报平安: nothing to report.
    pub all_safe: u64,
    /// 记录事项: something noted, no dispute.
    pub noted: u64,
    /// 发现纠纷: a dispute found and reported as a case.
    pub disputes: u64,
}

/// One person's visits in the unit over the period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VisitorRow {
    pub person: PersonId,
    /// Their name in the directory, or as their latest visit in the period recorded it.
    pub name: String,
    /// The grids of the households they visited, by name ("五丰村第一网格、五丰村第二网格").
    pub grids: String,
    pub counts: VisitCounts,
}

/// The visits sheet: one row per person who visited households of the unit in the period, by
/// grid and then name, and the total (its households counted once however many visited them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VisitSheet {
    pub rows: Vec<VisitorRow>,
    pub total: VisitCounts,
}

/// The visits made in `period` to the households of `unit` and every unit below it, by who
/// made them, from the `visits` rows alone (no volume is read).
pub fn visits(
    conn: &Connection,
    directory: &Directory,
    unit: &UnitId,
    period: &Period,
) -> Result<VisitSheet> {
    if directory.unit(unit).is_none() {
        return Err(Error::UnknownUnit(unit.clone()));
    }
    #[derive(Default)]
    struct Visitor {
        /// The latest visit's time and recorded name.
        latest: (i64, String),
        grids: BTreeSet<String>,
        households: HashSet<String>,
        counts: VisitCounts,
    }
    let mut stmt = conn.prepare_cached(
        "SELECT person, person_name, household, outcome, at FROM visits
         WHERE grid = ?1 AND at >= ?2 AND at < ?3",
    )?;
    let mut by_person: HashMap<String, Visitor> = HashMap::new();
    let mut households: HashSet<String> = HashSet::new();
    let mut total = VisitCounts::default();
    for grid in directory
        .units()
        .filter(|u| directory.is_within(&u.id, unit))
    {
        let mut rows = stmt.query(params![grid.id.as_str(), period.from, period.to])?;
        while let Some(row) = rows.next()? {
            let person: String = row.get(0)?;
            let name: String = row.get(1)?;
            let household: String = row.get(2)?;
            let outcome: String = row.get(3)?;
            let at: i64 = row.get(4)?;
            let v = by_person.entry(person).or_default();
            if at >= v.latest.0 {
                v.latest = (at, name);
            }
            v.grids.insert(grid.name.clone());
            for counts in [&mut v.counts, &mut total] {
                counts.visits += 1;
                match outcome.as_str() {
                    "all_safe" => counts.all_safe += 1,
                    "noted" => counts.noted += 1,
                    "dispute" => counts.disputes += 1,
                    _ => {}
                }
            }
            v.households.insert(household.clone());
            households.insert(household);
        }
    }
    total.households = households.len() as u64;
    let mut rows: Vec<VisitorRow> = by_person
        .into_iter()
        .map(|(person, v)| {
            let person = PersonId::new(person);
            let name = directory
                .person(&person)
                .map_or(v.latest.1, |p| p.name.clone());
            VisitorRow {
                person,
                name,
                grids: v.grids.into_iter().collect::<Vec<_>>().join("、"),
                counts: VisitCounts {
                    households: v.households.len() as u64,
                    ..v.counts
                },
            }
        })
        .collect();
    rows.sort_by(|a, b| (&a.grids, &a.name, &a.person).cmp(&(&b.grids, &b.name, &b.person)));
    Ok(VisitSheet { rows, total })
}
