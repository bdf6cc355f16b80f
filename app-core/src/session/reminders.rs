//! Reminders on this device: which cases to notify of now, computed from the local store with no
//! network, at most once a local day per case, and the setting that turns them off.
//!
//! What is notified is kept in the table `reminded` (per case: the local day it was last
//! notified, and the supervision it was last notified of). It is the session's own bookkeeping,
//! of no interest to a server or to another replica, so it is a store [`Layer`] that only the
//! session registers ([`Session::open`]), not a step of the core's schema, which every server
//! shares; it migrates with the store all the same. Choosing the cases, recording them and
//! wording the notifications happen in one transaction, so a second call on the same day finds
//! them recorded. The on/off setting is a value in the store's `meta`.

use super::{lock, AppError, AppResult, Session};
use crate::error::Error;
use crate::reminders::{self, Due, Reminder, ReminderKind};
use crate::screens::Settings;
use crate::store::{CaseFilter, DueFilter, Layer, OrderFilter, Store};
use rusqlite::OptionalExtension;
use std::collections::HashSet;

/// The session's table in the store's file.
pub(super) const LAYER: Layer = Layer {
    name: "reminders",
    steps: &["CREATE TABLE reminded (
                  case_id TEXT PRIMARY KEY,
                  day TEXT NOT NULL,
                  supervised_at INTEGER
              ) WITHOUT ROWID;"],
};

/// The `meta` key that holds the setting (`off` when turned off; on otherwise).
const OFF: &str = "reminders";

fn enabled(store: &Store) -> Result<bool, Error> {
    Ok(store.meta(OFF)?.as_deref() != Some("off"))
}

impl Session {
    /// The reminders to show now (`now`: UTC milliseconds): the person's own cases (reported
    /// by or assigned to them) and, for centre staff, their unit's, that are newly supervised by
    /// someone else, overdue or due soon, and, for centre staff, the cases whose work order the
    /// centre has to sign for or whose reply falls due; each at most once a local day; grouped as
    /// [`reminders::group`] says. What is returned is recorded as notified in the same
    /// transaction. Nothing when reminders are turned off or the device is not enrolled.
    pub fn due_reminders(&self, now: i64) -> AppResult<Vec<Reminder>> {
        let me = match self.me() {
            Ok(me) => me,
            Err(AppError::NotEnrolled) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut store = lock(&self.store);
        if !enabled(&store)? {
            return Ok(Vec::new());
        }
        let policy = store.directory().policy(&me.actor.unit);
        let local = policy.local();
        let soon = now + i64::from(policy.due_soon_hours) * 3_600_000;
        let today = local.date(now).format("%Y-%m-%d").to_string();
        // Whose cases: as today's sections choose them for staff; a person's own elsewhere.
        let scope = if me.at_centre {
            CaseFilter {
                unit: Some(me.actor.unit.clone()),
                or_person: Some(me.person.clone()),
                ..Default::default()
            }
        } else {
            CaseFilter {
                person: Some(me.person.clone()),
                ..Default::default()
            }
        };
        // In the order of urgency, so that a case due for two reasons is reminded of the first.
        let mut lists = vec![(
            ReminderKind::Supervised,
            CaseFilter {
                supervised: true,
                open_only: true,
                ..scope.clone()
            },
        )];
        if me.at_centre {
            // The work orders the centre owes, as today's 工单 section chooses them.
            let orders = |filter: OrderFilter| CaseFilter {
                responsible: Some(me.actor.unit.clone()),
                orders: Some(filter),
                ..Default::default()
            };
            lists.push((ReminderKind::OrderToSign, orders(OrderFilter::ToSign)));
            lists.push((
                ReminderKind::OrderReply,
                orders(OrderFilter::ReplyDueBefore(soon)),
            ));
        }
        lists.extend([
            (
                ReminderKind::Overdue,
                CaseFilter {
                    due: Some(DueFilter::Overdue),
                    ..scope.clone()
                },
            ),
            (
                ReminderKind::DueSoon,
                CaseFilter {
                    due: Some(DueFilter::DueSoon),
                    ..scope
                },
            ),
        ]);
        let mut found = Vec::new();
        for (kind, filter) in lists {
            for summary in store.list(&filter, now)? {
                found.push(Due { kind, summary });
            }
        }
        let answer = store.write(|tx| -> Result<Vec<Reminder>, Error> {
            let mut seen = HashSet::new();
            let mut due = Vec::new();
            let mut last =
                tx.prepare_cached("SELECT day, supervised_at FROM reminded WHERE case_id = ?1")?;
            for d in found {
                let id = d.summary.id.clone();
                if seen.contains(&id) {
                    continue;
                }
                let (day, supervised_at): (Option<String>, Option<i64>) = last
                    .query_row([id.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?
                    .unwrap_or((None, None));
                if d.kind == ReminderKind::Supervised {
                    // Only a supervision not yet notified, and not one this person issued.
                    let new = d.summary.supervised.as_ref().is_some_and(|s| {
                        s.person != me.person && supervised_at.is_none_or(|at| at < s.at)
                    });
                    if !new {
                        continue;
                    }
                }
                seen.insert(id);
                if day.as_deref() != Some(today.as_str()) {
                    due.push(d);
                }
            }
            let mut record = tx.prepare_cached(
                "INSERT INTO reminded(case_id, day, supervised_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT(case_id) DO UPDATE
                     SET day = ?2, supervised_at = COALESCE(?3, supervised_at)",
            )?;
            for d in &due {
                let supervised_at = match d.kind {
                    ReminderKind::Supervised => d.summary.supervised.as_ref().map(|s| s.at),
                    _ => None,
                };
                record.execute(rusqlite::params![
                    d.summary.id.as_str(),
                    today,
                    supervised_at
                ])?;
            }
            // Cases no longer open here need no bookkeeping once their day has passed.
            tx.execute(
                "DELETE FROM reminded WHERE day < ?1
                     AND case_id NOT IN (SELECT id FROM cases WHERE handled = 0)",
                [&today],
            )?;
            Ok(reminders::group(due, now, local))
        })?;
        Ok(answer)
    }

    /// This device's settings.
    pub fn settings(&self) -> AppResult<Settings> {
        let store = lock(&self.store);
        Ok(Settings {
            reminders: enabled(&store)?,
        })
    }

    /// Turns reminders on or off on this device (kept in the store); answers the settings.
    pub fn set_reminders(&self, on: bool) -> AppResult<Settings> {
        {
            let mut store = lock(&self.store);
            store.set_meta(OFF, if on { "on" } else { "off" })?;
        }
        self.settings()
    }
}
