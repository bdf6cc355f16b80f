//! Early warning over the cases this store holds: the same evaluation on a phone, a desk and a
//! server ([`crate::warning::evaluate`] over the summaries and the parties' identity keys).

use std::collections::{BTreeSet, HashMap};

use super::{CaseFilter, PartyKeys, Store};
use crate::error::Result;
use crate::ids::{CaseId, UnitId};
use crate::summary::CaseSummary;
use crate::warning::{self, Alert, RuleKind, WarnCase, WarnParty, WarningRules};

impl Store {
    /// The alerts the rules in force for `unit` raise over the unit's cases held here, at
    /// `now`: over the cases reported within the rules' longest window ([`horizon_days`]) and
    /// every open case (a township's years are read a few months at a time, not whole). With
    /// them, the cases read that record acknowledged alerts (an escalated case brings those of
    /// the tier below).
    pub fn alerts(&self, unit: &UnitId, now: i64) -> Result<(Vec<Alert>, Vec<CaseSummary>)> {
        let rules = self.directory().warning_rules(unit);
        let area = CaseFilter {
            unit: Some(unit.clone()),
            ..Default::default()
        };
        let mut summaries = self.list(
            &CaseFilter {
                reported_since: Some(now - i64::from(horizon_days(&rules)) * warning::DAY_MS),
                ..area.clone()
            },
            now,
        )?;
        let recent: BTreeSet<CaseId> = summaries.iter().map(|s| s.id.clone()).collect();
        summaries.extend(
            self.list(
                &CaseFilter {
                    open_only: true,
                    ..area
                },
                now,
            )?
            .into_iter()
            .filter(|s| !recent.contains(&s.id)),
        );
        let ids: Vec<CaseId> = summaries.iter().map(|s| s.id.clone()).collect();
        let recorded: Vec<CaseSummary> = summaries
            .iter()
            .filter(|s| !s.alerts.is_empty())
            .cloned()
            .collect();
        let mut keys = self.party_keys(&ids)?;
        let cases: Vec<WarnCase> = summaries
            .into_iter()
            .map(|s| warn_case(s, &mut keys))
            .collect();
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
        Ok((alerts, recorded))
    }
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

fn warn_case(s: CaseSummary, keys: &mut HashMap<CaseId, PartyKeys>) -> WarnCase {
    let parties = keys
        .remove(&s.id)
        .unwrap_or_default()
        .into_iter()
        .map(|(name, keys)| WarnParty { name, keys })
        .collect();
    WarnCase {
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
    }
}
