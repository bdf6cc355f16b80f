//! Early warning over the cases this store holds: the same evaluation on a phone, a desk and a
//! server ([`crate::warning::evaluate`] over the summaries and the parties' identity keys).

use std::collections::{BTreeSet, HashMap, HashSet};

use serde::Deserialize;

use super::{PartyKeys, Store};
use crate::error::Result;
use crate::ids::{CaseId, MatterId, UnitId};
use crate::model::{Difficulty, RiskFlag};
use crate::summary::CaseSummary;
use crate::warning::{self, Alert, RuleKind, WarnCase, WarnParty, WarningRules};
use crate::workflow::AlertRecord;

/// What [`Store::alerts`] finds: the alerts, and what the screens need of the cases they were
/// raised over without reading their summaries again.
#[derive(Clone, Debug, Default)]
pub struct Evaluated {
    pub alerts: Vec<Alert>,
    /// The cases read that record acknowledged alerts (an escalated case brings those of the
    /// tier below), whole.
    pub recorded: Vec<CaseSummary>,
    /// Every case read, by id: where it stands in the tiers (who may acknowledge its alerts).
    pub oversight: HashMap<CaseId, Oversight>,
}

/// Where a case stands in the tiers: the centre responsible for it and those it went up to or
/// came down from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Oversight {
    pub responsible_unit: UnitId,
    pub escalated_from: Vec<UnitId>,
    pub escalated_to: Vec<UnitId>,
}

/// The part of a stored summary the rules read ([`CaseSummary`]'s serde form; what else the
/// summary holds is skipped, not built).
#[derive(Deserialize)]
struct WarnSummary {
    id: CaseId,
    title: String,
    category: String,
    #[serde(default)]
    village: Option<UnitId>,
    reported_at: i64,
    due_at: i64,
    handled_at: Option<i64>,
    closed_at: Option<i64>,
    difficulty: Option<Difficulty>,
    #[serde(default)]
    risks: BTreeSet<RiskFlag>,
    #[serde(default)]
    failures: u32,
    #[serde(default)]
    matter: Option<MatterId>,
    #[serde(default)]
    alerts: Vec<AlertRecord>,
    responsible_unit: UnitId,
    #[serde(default)]
    escalated_from: Vec<UnitId>,
    #[serde(default)]
    escalated_to: Vec<UnitId>,
}

/// The cases the rules read for a unit: `?1` the unit, `?2` the earliest report time.
const AREA: &str = "FROM cases c JOIN case_units u ON u.case_id = c.id AND u.unit = ?1 \
                    WHERE c.reported_at >= ?2 OR c.handled = 0";

impl Store {
    /// The alerts the rules in force for `unit` raise over the unit's cases held here, at
    /// `now`: over the cases reported within the rules' longest window ([`horizon_days`]) and
    /// every open case (a township's years are read a few months at a time, not whole). With
    /// them, the cases read that record acknowledged alerts, and where each case stands.
    ///
    /// Two queries: the summaries (only the fields the rules read are built) and the parties'
    /// stored identity keys, each restricted to those cases in SQL.
    pub fn alerts(&self, unit: &UnitId, now: i64) -> Result<Evaluated> {
        let rules = self.directory().warning_rules(unit);
        let since = now - i64::from(horizon_days(&rules)) * warning::DAY_MS;
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT c.summary {AREA}"))?;
        let mut rows = stmt.query(rusqlite::params![unit.as_str(), since])?;
        let mut summaries: Vec<WarnSummary> = Vec::new();
        while let Some(r) = rows.next()? {
            summaries.push(serde_json::from_str(text(r, 0)?)?);
        }
        drop(rows);
        let wanted: HashSet<&str> = summaries.iter().map(|s| s.id.as_str()).collect();
        let mut keys = self.keys_of(&wanted)?;
        let mut recorded = Vec::new();
        let mut oversight = HashMap::with_capacity(summaries.len());
        let mut cases = Vec::with_capacity(summaries.len());
        for s in summaries {
            if !s.alerts.is_empty() {
                recorded.push(s.id.clone());
            }
            oversight.insert(
                s.id.clone(),
                Oversight {
                    responsible_unit: s.responsible_unit,
                    escalated_from: s.escalated_from,
                    escalated_to: s.escalated_to,
                },
            );
            let parties = keys
                .remove(&s.id)
                .unwrap_or_default()
                .into_iter()
                .map(|(name, keys)| WarnParty { name, keys })
                .collect();
            cases.push(WarnCase {
                acknowledged: s.alerts.iter().map(|a| a.ack()).collect(),
                id: s.id,
                title: s.title,
                category: s.category,
                village: s.village,
                reported_at: s.reported_at,
                due_at: s.due_at,
                handled_at: s.handled_at.or(s.closed_at),
                difficulty: s.difficulty,
                risks: s.risks,
                failures: s.failures,
                parties,
                matter: s.matter,
            });
        }
        let mut alerts = warning::evaluate(&rules, &cases, now);
        // The words name a category by its code; people read its name.
        for alert in &mut alerts {
            for c in &self.taxonomy().categories {
                if let Some(rest) = alert
                    .words
                    .strip_prefix(&format!("{} 纠纷", c.code.as_str()))
                {
                    alert.words = format!("{}{rest}", c.zh);
                    break;
                }
            }
        }
        let recorded = recorded
            .iter()
            .map(|id| self.summary(id))
            .collect::<Result<Vec<_>>>()?;
        Ok(Evaluated {
            alerts,
            recorded,
            oversight,
        })
    }

    /// The parties' names and stored keys of the cases in `wanted`, by case, parties in the
    /// order of their ids and each one's keys sorted (as [`Store::party_keys`] gives them).
    ///
    /// Two scans in case order merged here: `case_parties` by its primary key and `party_keys`
    /// by its covering index on the case (keys sorted within a case). Asking SQLite to join
    /// them looks each party's keys up one by one, which costs twice as much for a unit's
    /// year of cases.
    fn keys_of(&self, wanted: &HashSet<&str>) -> Result<HashMap<CaseId, PartyKeys>> {
        let mut parties = self.conn.prepare_cached(
            "SELECT case_id, party_id, name FROM case_parties ORDER BY case_id, party_id",
        )?;
        let mut keys = self.conn.prepare_cached(
            "SELECT case_id, party_id, key FROM party_keys INDEXED BY party_keys_case \
             ORDER BY case_id, key",
        )?;
        let mut parties = parties.query([])?;
        let mut keys = keys.query([])?;
        let mut out: HashMap<CaseId, PartyKeys> = HashMap::with_capacity(wanted.len());
        let key_row = |keys: &mut rusqlite::Rows<'_>| -> rusqlite::Result<_> {
            Ok(match keys.next()? {
                Some(r) => Some((r.get(0)?, r.get(1)?, r.get(2)?)),
                None => None,
            })
        };
        // The next key row not yet taken: (case, party, key).
        let mut next_key: Option<(String, String, String)> = key_row(&mut keys)?;
        // The case being read: its id, and its parties (id, name, keys).
        let mut case: Option<CaseParties> = None;
        let mut finish = |case: Option<CaseParties>,
                          next_key: &mut Option<(String, String, String)>,
                          keys: &mut rusqlite::Rows<'_>|
         -> rusqlite::Result<()> {
            let Some((id, mut ps)) = case else {
                return Ok(());
            };
            // Skip the keys of cases before this one (parties of cases not wanted, or keys
            // without a party), then take this case's.
            while let Some((c, p, k)) = next_key.take() {
                match c.as_str().cmp(id.as_str()) {
                    std::cmp::Ordering::Less => {}
                    std::cmp::Ordering::Equal => {
                        if let Some(party) = ps.iter_mut().find(|(pid, ..)| *pid == p) {
                            party.2.push(k);
                        }
                    }
                    std::cmp::Ordering::Greater => {
                        *next_key = Some((c, p, k));
                        break;
                    }
                }
                *next_key = key_row(keys)?;
            }
            if wanted.contains(id.as_str()) {
                out.insert(
                    CaseId::new(id),
                    ps.into_iter().map(|(_, name, keys)| (name, keys)).collect(),
                );
            }
            Ok(())
        };
        while let Some(r) = parties.next()? {
            let c = text(r, 0)?;
            if case.as_ref().is_none_or(|(id, _)| id != c) {
                finish(case.take(), &mut next_key, &mut keys)?;
                case = Some((c.to_owned(), Vec::new()));
            }
            if let Some((_, ps)) = &mut case {
                ps.push((r.get(1)?, r.get(2)?, Vec::new()));
            }
        }
        finish(case.take(), &mut next_key, &mut keys)?;
        Ok(out)
    }
}

/// A case being read by [`Store::keys_of`]: its id, and its parties (id, name, keys).
type CaseParties = (String, Vec<(String, String, Vec<String>)>);

/// Column `i` of `row` as text, borrowed.
fn text<'r>(row: &'r rusqlite::Row<'_>, i: usize) -> rusqlite::Result<&'r str> {
    row.get_ref(i)?.as_str().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// The longest window of the rules, in days (at least 90): how far back the rules look at
/// cases that are no longer open.
pub fn horizon_days(rules: &WarningRules) -> u32 {
    rules
        .rules
        .iter()
        .map(|r| match &r.kind {
            RuleKind::RepeatParty { days, .. } | RuleKind::CategorySpread { days, .. } => *days,
            _ => 0,
        })
        .max()
        .unwrap_or(0)
        .max(90)
}
