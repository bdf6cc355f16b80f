//! Prevention (化解在萌芽) as the app shows it: the cases that share a party with a case or a
//! report being written (同一当事人既往纠纷, 可能重复上报), matters (cases staff linked as one),
//! and the early-warning alerts the unit's rules raise over the cases this device holds. A grid
//! worker's phone holds its own caseload and a centre's desk its unit's, so the same code
//! answers "against the device's own caseload" and "against the unit's"; nothing waits on the
//! network.
//!
//! Nothing here merges or decides anything by itself: staff link cases, mark a possible
//! duplicate distinct and acknowledge alerts, each a timeline entry in the cases concerned.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use super::TODAY_ROWS;
use super::{lock, AppError, AppResult, Session};
use crate::error::Error;
use crate::ids::{CaseId, MatterId, UnitId};
use crate::model::{Action, Actor, NewCase};
use crate::rules;
use crate::screens::{AlertRow, AlertsScreen, CaseRow, MatchRow, MatterScreen, ALERT_CASE_ROWS};
use crate::store::{CaseFilter, CaseMatch, Evaluated, Oversight, Store};
use crate::summary::CaseSummary;
use crate::warning::Alert;

impl Session {
    /// Other cases sharing a party with a report not yet saved.
    pub fn report_matches(&self, new: &NewCase, now: i64) -> AppResult<Vec<MatchRow>> {
        self.me()?;
        let store = lock(&self.store);
        let found = store.party_matches_for_new(new)?;
        match_rows(&store, found, None, &new.category, now, now)
    }

    /// Links `cases` as one matter (关联为同一事项): into the matter one of them is already in
    /// (the first such, in the order given), else a new one. Every case is checked before any
    /// is written, so that a refusal links none.
    pub fn link_cases(&self, cases: &[CaseId], note: &str, now: i64) -> AppResult<MatterScreen> {
        let me = self.me()?;
        let distinct: BTreeSet<&CaseId> = cases.iter().collect();
        if distinct.len() < 2 {
            return Err(Error::invalid(
                "cases",
                "关联为同一事项至少需要两件案件 (link at least two cases)",
            )
            .into());
        }
        let mut store = lock(&self.store);
        let mut states = Vec::new();
        for id in cases {
            let view = store.case(id)?;
            states.push((id, view.folded.state));
        }
        let matter = states
            .iter()
            .find_map(|(_, s)| s.as_ref().and_then(|s| s.matter.clone()))
            .unwrap_or_else(MatterId::generate);
        let action = Action::LinkMatter {
            matter: matter.clone(),
            note: note.trim().to_owned(),
        };
        let mut todo = Vec::new();
        for (id, state) in &states {
            if state.as_ref().and_then(|s| s.matter.as_ref()) == Some(&matter) {
                continue;
            }
            rules::check_action(store.directory(), state.as_ref(), &me.actor, &action, now)?;
            todo.push(*id);
        }
        for id in todo {
            store.act(id, &me.actor, action.clone(), now)?;
        }
        drop(store);
        self.wake.notify_one();
        self.matter(&matter, now)
    }

    /// A matter and its cases (those this device holds).
    pub fn matter(&self, matter: &MatterId, now: i64) -> AppResult<MatterScreen> {
        self.me()?;
        let store = lock(&self.store);
        let mut cases = Self::rows(
            &store,
            &CaseFilter {
                matter: Some(matter.clone()),
                ..Default::default()
            },
            now,
        )?;
        if cases.is_empty() {
            return Err(Error::invalid("matter", format!("本机没有事项 {matter} 的案件")).into());
        }
        cases.sort_by(|a, b| {
            (a.summary.reported_at, &a.summary.id).cmp(&(b.summary.reported_at, &b.summary.id))
        });
        Ok(MatterScreen {
            matter: matter.clone(),
            cases,
        })
    }

    /// The 预警 list.
    pub fn alerts(&self, now: i64) -> AppResult<AlertsScreen> {
        let me = self.me()?;
        let store = lock(&self.store);
        let evaluated = self.evaluated(&store, &me.actor, now)?;
        Ok(alerts_screen(&store, &me.actor, &evaluated, now, None)?.0)
    }

    /// The alerts over the cases of `actor`'s unit ([`Store::alerts`]), evaluated again only
    /// when something was written to the store since the last time (by this session or by any
    /// other connection to the file), for another unit, or in another minute: today, the 预警
    /// list and an acknowledgement share one evaluation.
    pub(super) fn evaluated(
        &self,
        store: &Store,
        actor: &Actor,
        now: i64,
    ) -> AppResult<Arc<Evaluated>> {
        let stamp = (
            store.change_stamp()?,
            actor.unit.clone(),
            now.div_euclid(MEMO_MS),
        );
        let mut memo = lock(&self.alerts_memo);
        if let Some((at, evaluated)) = memo.as_ref() {
            if *at == stamp {
                return Ok(evaluated.clone());
            }
        }
        let evaluated = Arc::new(store.alerts(&actor.unit, now)?);
        *memo = Some((stamp, evaluated.clone()));
        Ok(evaluated)
    }

    /// Acknowledges the alert `key` (预警签收): an entry in each case it names, checked for every
    /// case before any is written. Then the list again.
    pub fn acknowledge_alert(&self, key: &str, note: &str, now: i64) -> AppResult<AlertsScreen> {
        let me = self.me()?;
        let mut store = lock(&self.store);
        let evaluated = self.evaluated(&store, &me.actor, now)?;
        let alert = evaluated
            .alerts
            .iter()
            .find(|a| a.key == key)
            .cloned()
            .ok_or_else(|| Error::invalid("alert", format!("没有预警 {key} (no such alert)")))?;
        if alert.acknowledged.is_some() {
            return Err(Error::invalid("alert", "此预警已签收 (already acknowledged)").into());
        }
        let action = Action::AcknowledgeAlert {
            alert: alert.key.clone(),
            level: alert.level,
            words: alert.words.clone(),
            note: note.trim().to_owned(),
        };
        for id in &alert.cases {
            let view = store.case(id)?;
            rules::check_action(
                store.directory(),
                view.folded.state.as_ref(),
                &me.actor,
                &action,
                now,
            )?;
        }
        for id in &alert.cases {
            store.act(id, &me.actor, action.clone(), now)?;
        }
        self.wake.notify_one();
        let evaluated = self.evaluated(&store, &me.actor, now)?;
        Ok(alerts_screen(&store, &me.actor, &evaluated, now, None)?.0)
    }
}

/// How long an evaluation of the alerts holds when nothing is written: deadlines pass and
/// windows slide with the clock, so at most a minute.
const MEMO_MS: i64 = 60_000;

/// What [`Session::evaluated`] keeps: the store's change stamp, the unit and the minute it
/// evaluated for, and what it found.
pub(super) type AlertsMemo = Option<(((u64, i64), UnitId, i64), Arc<Evaluated>)>;

/// Before a case is escalated (上报上级): the open alerts naming it are recorded in it as
/// acknowledged, "随案上报" with the escalation's note, so that they travel up with the case and
/// show at the higher centre. The escalation is checked first: nothing is written for a refused
/// one.
pub(super) fn carry_alerts(
    store: &mut Store,
    actor: &Actor,
    case: &CaseId,
    escalation: &Action,
    note: &str,
    now: i64,
) -> AppResult<()> {
    if !actor.role.is_centre() {
        return Ok(());
    }
    let view = store.case(case)?;
    rules::check_action(
        store.directory(),
        view.folded.state.as_ref(),
        actor,
        escalation,
        now,
    )?;
    let open: Vec<Alert> = store
        .alerts(&actor.unit, now)?
        .alerts
        .into_iter()
        .filter(|a| a.acknowledged.is_none() && a.cases.contains(case))
        .collect();
    for alert in open {
        store.act(
            case,
            actor,
            Action::AcknowledgeAlert {
                alert: alert.key,
                level: alert.level,
                words: alert.words,
                note: format!("随案上报上级：{}", note.trim()),
            },
            now,
        )?;
    }
    Ok(())
}

/// The case screen's part: other cases sharing a party, how many came before, the rest of its
/// matter, and the alerts recorded in it.
pub(super) struct CaseContext {
    pub matches: Vec<MatchRow>,
    pub earlier_cases: usize,
    pub matter: Vec<CaseRow>,
    pub alerts: Vec<Alert>,
}

pub(super) fn case_context(
    store: &Store,
    summary: &CaseSummary,
    now: i64,
) -> AppResult<CaseContext> {
    let found = store.party_matches(&summary.id)?;
    let earlier_cases = found
        .iter()
        .filter(|m| m.reported_at < summary.reported_at)
        .map(|m| &m.case)
        .collect::<BTreeSet<_>>()
        .len();
    let matches = match_rows(
        store,
        found,
        Some(summary),
        &summary.category,
        summary.reported_at,
        now,
    )?;
    let matter = match &summary.matter {
        Some(m) => Session::rows(
            store,
            &CaseFilter {
                matter: Some(m.clone()),
                ..Default::default()
            },
            now,
        )?
        .into_iter()
        .filter(|r| r.summary.id != summary.id)
        .collect(),
        None => Vec::new(),
    };
    // The alerts recorded in the case (acknowledged here, or brought up with an escalation):
    // computing every alert of the unit for one case screen would cost as much as the 预警
    // list, which the screen links to.
    let alerts = summary
        .alerts
        .iter()
        .map(|a| Alert {
            key: a.key.clone(),
            rule: String::new(),
            level: a.level,
            words: a.words.clone(),
            cases: vec![summary.id.clone()],
            raised_at: a.at,
            acknowledged: Some(a.ack()),
        })
        .collect();
    Ok(CaseContext {
        matches,
        earlier_cases,
        matter,
        alerts,
    })
}

/// Today's open alerts, the most urgent few, and how many there are.
pub(super) fn today_alerts(
    session: &Session,
    store: &Store,
    actor: &Actor,
    now: i64,
) -> AppResult<(Vec<AlertRow>, usize)> {
    let evaluated = session.evaluated(store, actor, now)?;
    let (screen, count) = alerts_screen(store, actor, &evaluated, now, Some(TODAY_ROWS as usize))?;
    Ok((screen.open, count))
}

/// Rows for matches: each other case once (its strongest match), with whether it may be the
/// same dispute reported twice. `ours`: the case the matches are of, if saved.
fn match_rows(
    store: &Store,
    found: Vec<CaseMatch>,
    ours: Option<&CaseSummary>,
    category: &str,
    reported_at: i64,
    now: i64,
) -> AppResult<Vec<MatchRow>> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for m in found {
        if !seen.insert(m.case.clone()) {
            continue;
        }
        let Ok(theirs) = store.summary(&m.case) else {
            continue;
        };
        let same_matter = ours
            .and_then(|o| o.matter.as_ref())
            .is_some_and(|mine| theirs.matter.as_ref() == Some(mine));
        let distinct = ours.is_some_and(|o| {
            o.distinct_from.contains(&theirs.id) || theirs.distinct_from.contains(&o.id)
        });
        let possible_duplicate =
            !same_matter && !distinct && m.is_possible_duplicate(category, reported_at);
        out.push(MatchRow {
            row: Session::row(store, theirs, now),
            ours: m.ours,
            theirs: m.theirs,
            how: m.how,
            possible_duplicate,
            same_matter,
            distinct,
        });
    }
    Ok(out)
}

/// The 预警 list, and how many alerts are open. With `limit` (today's section), only the most
/// urgent open alerts get their rows, and no acknowledged ones.
fn alerts_screen(
    store: &Store,
    actor: &Actor,
    evaluated: &Evaluated,
    now: i64,
    limit: Option<usize>,
) -> AppResult<(AlertsScreen, usize)> {
    let rules = store.directory().warning_rules(&actor.unit);
    let described: HashMap<&str, String> = rules
        .rules
        .iter()
        .map(|r| (r.id.as_str(), r.zh()))
        .collect();
    let mut known: BTreeSet<String> = BTreeSet::new();
    let mut open = Vec::new();
    let mut acknowledged = Vec::new();
    let mut rows = HashMap::new();
    let mut row_of = |id: &CaseId| -> AppResult<Option<CaseRow>> {
        if let Some(r) = rows.get(id) {
            return Ok(Some(Clone::clone(r)));
        }
        match store.summary(id) {
            Ok(s) => {
                let r = Session::row(store, s, now);
                rows.insert(id.clone(), r.clone());
                Ok(Some(r))
            }
            Err(Error::UnknownCase(_)) => Ok(None),
            Err(e) => Err(AppError::from(e)),
        }
    };
    let mut open_count = 0;
    for alert in &evaluated.alerts {
        known.insert(alert.key.clone());
        if alert.acknowledged.is_none() {
            open_count += 1;
        }
        let wanted = match (limit, &alert.acknowledged) {
            (None, _) => true,
            (Some(n), None) => open.len() < n,
            (Some(_), Some(_)) => false,
        };
        if !wanted {
            continue;
        }
        let shown = alert.cases.len().saturating_sub(ALERT_CASE_ROWS);
        let mut cases = Vec::new();
        for id in &alert.cases[shown..] {
            cases.extend(row_of(id)?);
        }
        let may_acknowledge = alert.acknowledged.is_none()
            && alert.cases.iter().all(|id| {
                evaluated
                    .oversight
                    .get(id)
                    .is_some_and(|o| may_oversee(store, actor, o))
            });
        let row = AlertRow {
            rule: described
                .get(alert.rule.as_str())
                .cloned()
                .unwrap_or_default(),
            alert: alert.clone(),
            more: shown,
            cases,
            may_acknowledge,
        };
        if row.alert.acknowledged.is_some() {
            acknowledged.push(row);
        } else {
            open.push(row);
        }
    }
    // Alerts acknowledged in cases held here that this unit's rules do not raise (another
    // tier's, recorded in a case escalated here): shown as they were recorded.
    let mut recorded: HashMap<String, AlertRow> = HashMap::new();
    for s in evaluated.recorded.iter().filter(|_| limit.is_none()) {
        for a in &s.alerts {
            if known.contains(&a.key) {
                continue;
            }
            let row = Session::row(store, s.clone(), now);
            recorded
                .entry(a.key.clone())
                .and_modify(|r| r.cases.push(row.clone()))
                .or_insert_with(|| AlertRow {
                    alert: Alert {
                        key: a.key.clone(),
                        rule: String::new(),
                        level: a.level,
                        words: a.words.clone(),
                        cases: vec![s.id.clone()],
                        raised_at: a.at,
                        acknowledged: Some(a.ack()),
                    },
                    rule: String::new(),
                    cases: vec![row],
                    more: 0,
                    may_acknowledge: false,
                });
        }
    }
    let mut recorded: Vec<AlertRow> = recorded.into_values().collect();
    recorded.sort_by(|a, b| {
        (a.alert.level, -a.alert.raised_at, &a.alert.key).cmp(&(
            b.alert.level,
            -b.alert.raised_at,
            &b.alert.key,
        ))
    });
    acknowledged.extend(recorded);
    Ok((
        AlertsScreen {
            open,
            acknowledged,
            rules: rules.rules.iter().map(|r| r.zh()).collect(),
        },
        open_count,
    ))
}

/// Whether `actor`'s centre oversees the case: the one responsible, one it was escalated to or
/// from, or one above the responsible one (what [`rules::check_action`] requires of linking and
/// acknowledging, read from the summary; the store checks again when it is written).
fn may_oversee(store: &Store, actor: &Actor, s: &Oversight) -> bool {
    actor.role.is_centre()
        && (actor.unit == s.responsible_unit
            || s.escalated_to.contains(&actor.unit)
            || s.escalated_from.contains(&actor.unit)
            || store
                .directory()
                .is_within(&s.responsible_unit, &actor.unit))
}
