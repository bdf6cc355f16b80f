//! Households of a grid and their door-to-door visits.

use super::random::{demo_device, device_actor_id};
use super::texts::{COUNTY_NAME, HAMLETS, HOUSEHOLD_EXTRAS, HOUSEHOLD_FACTS, VISIT_NOTES};
use super::{Generator, DAY, WINDOW_DAYS};
use crate::document::{HouseholdDoc, HouseholdDocument, Visit, VisitOutcome};
use crate::error::{Error, Result};
use crate::ids::{HouseholdId, UnitId, VisitId};
use crate::model::HOUSEHOLD_SCHEMA;
use crate::org::Role;
use autosurgeon::Text;
use rand::Rng;

impl Generator {
    // --- Households ---

    /// A household of `grid` with a few months of door-to-door visits by the grid's worker up to
    /// `now_ms`: most report all safe (无事报平安), some note a fact or a concern.
    pub fn household(&mut self, grid: &UnitId, now_ms: i64) -> Result<HouseholdDoc> {
        let worker = self
            .grid_worker_of(grid)
            .map(|p| p.id.clone())
            .ok_or_else(|| Error::UnknownUnit(grid.clone()))?;
        let actor = self.actor_for(&worker, Role::GridWorker);
        let actor_id = device_actor_id(&demo_device(&actor.person));
        let path = self.directory.path(grid);
        let name_of = |id: Option<&UnitId>| {
            id.and_then(|u| self.directory.unit(u))
                .map_or(String::new(), |u| u.name.clone())
        };
        let township = name_of(path.get(1));
        let village = name_of(path.get(2));
        let hamlet = self.one(HAMLETS);
        let address = format!(
            "{COUNTY_NAME}{township}{village}委会{hamlet}{}号",
            self.rng.gen_range(1..=88)
        );
        let female = self.pct(20);
        let head = self.name(female);
        let members = self.rng.gen_range(1..=7u64);
        let fact = self.one(HOUSEHOLD_FACTS);
        let extra = self.one(HOUSEHOLD_EXTRAS);
        let notes = format!("户主{head}，{fact}，家中{members}口人。{extra}");

        let back = self.rng.gen_range(100 * DAY..WINDOW_DAYS * DAY);
        let created = self.daytime(now_ms - back);
        let household = HouseholdDocument {
            schema: HOUSEHOLD_SCHEMA,
            id: HouseholdId::new(self.uuid_v7(created)),
            grid: grid.clone(),
            address: Text::with_value(&address),
            head,
            members,
            notes: Text::with_value(&notes),
            visits: Vec::new(),
        };
        let mut doc = HouseholdDoc::create(&household, &actor_id, created)?;
        let mut t = created;
        loop {
            let gap = self.rng.gen_range(10 * DAY..35 * DAY);
            t = self.daytime(t + gap);
            if t > now_ms {
                break;
            }
            let noted = self.pct(18);
            let note = if noted {
                self.one(VISIT_NOTES).to_owned()
            } else {
                self.one(&[
                    "无事报平安。",
                    "入户走访，家庭和睦，无矛盾纠纷。",
                    "电话联系户主，家中一切正常。",
                ])
                .to_owned()
            };
            let visit = Visit {
                id: VisitId::new(
                    uuid::Builder::from_random_bytes(self.bytes())
                        .into_uuid()
                        .to_string(),
                ),
                at: t,
                actor: actor.clone(),
                outcome: if noted {
                    VisitOutcome::Noted
                } else {
                    VisitOutcome::AllSafe
                },
                note: note.clone(),
            };
            doc.record_visit(&visit, t)?;
            if noted && self.pct(40) {
                let current = doc.read()?.notes.as_str().to_owned();
                doc.update_notes(&format!("{current}\n{note}"), t)?;
            }
        }
        Ok(doc)
    }
}
