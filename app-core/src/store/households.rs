//! Households and door-to-door visits (入户走访), with the `households` summary rows the visit
//! list reads.

use super::Store;
use crate::document::HouseholdDoc;
use crate::document::{DocKind, HouseholdDocument, Visit, VisitOutcome};
use crate::error::{Error, Result};
use crate::ids::{HouseholdId, UnitId, VisitId};
use crate::model::{Actor, HOUSEHOLD_SCHEMA};
use crate::rules;
use crate::summary::HouseholdRow;
use autosurgeon::Text;
use rusqlite::{params, Transaction};

impl Store {
    /// Registers a household in a grid.
    pub fn create_household(
        &mut self,
        actor: &Actor,
        grid: &UnitId,
        head: &str,
        address: &str,
        members: u64,
        now_ms: i64,
    ) -> Result<HouseholdId> {
        rules::check_actor(&self.directory, actor)?;
        if self.directory.unit(grid).is_none() {
            return Err(Error::UnknownUnit(grid.clone()));
        }
        if head.trim().is_empty() {
            return Err(Error::invalid(
                "head",
                "户主姓名不能为空 (the head of household needs a name)",
            ));
        }
        let household = HouseholdDocument {
            schema: HOUSEHOLD_SCHEMA,
            id: HouseholdId::generate(),
            grid: grid.clone(),
            address: Text::with_value(address),
            head: head.trim().to_owned(),
            members,
            notes: Text::with_value(""),
            visits: Vec::new(),
        };
        let mut doc = HouseholdDoc::create(&household, &self.actor_id, now_ms)?;
        self.write(|tx| -> Result<()> {
            Self::insert_document(
                tx,
                &DocKind::Household.key(household.id.as_str()),
                DocKind::Household,
                doc.automerge(),
                true,
                now_ms,
            )?;
            Self::write_household_summary(tx, &household)?;
            Ok(())
        })?;
        Ok(household.id)
    }

    /// Records a door-to-door visit (入户走访); "all safe" (无事报平安) is
    /// [`VisitOutcome::AllSafe`].
    pub fn record_visit(
        &mut self,
        household: &HouseholdId,
        actor: &Actor,
        outcome: VisitOutcome,
        note: &str,
        now_ms: i64,
    ) -> Result<VisitId> {
        rules::check_actor(&self.directory, actor)?;
        let found = |safe, dispute| crate::validate::visit(safe, dispute, note);
        let problem = match &outcome {
            VisitOutcome::Dispute { case } => {
                self.summary(case)?;
                found(false, true)
            }
            VisitOutcome::AllSafe => found(true, false),
            VisitOutcome::Noted => found(false, false),
        };
        if let Some(p) = problem {
            return Err(p.into());
        }
        let mut doc = self.load_household(household)?;
        let before = doc.automerge().get_heads();
        let visit = Visit {
            id: VisitId::generate(),
            at: now_ms,
            actor: actor.clone(),
            outcome,
            note: note.to_owned(),
        };
        doc.record_visit(&visit, now_ms)?;
        let key = DocKind::Household.key(household.as_str());
        self.write(|tx| -> Result<()> {
            Self::append_changes(tx, &key, doc.automerge(), &before, true, now_ms)?;
            // The summary row was the document's before this visit (every write keeps them
            // together), so one more visit is all that changes: no need to read years of them.
            let updated = tx.execute(
                "UPDATE households SET visits = visits + 1,
                     last_visit_at = MAX(COALESCE(last_visit_at, ?2), ?2)
                 WHERE id = ?1",
                params![household.as_str(), now_ms],
            )?;
            if updated == 0 {
                Self::write_household_summary(tx, &doc.read()?)?;
            }
            Ok(())
        })?;
        Ok(visit.id)
    }

    /// Whether the household is on this device, from its summary row alone (no document read).
    pub fn has_household(&self, id: &HouseholdId) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM households WHERE id = ?1")?
            .exists([id.as_str()])?)
    }

    pub fn household(&self, id: &HouseholdId) -> Result<HouseholdDocument> {
        self.load_household(id)?.read()
    }

    /// The households of a grid, least recently visited first (who to visit next).
    pub fn households(&self, grid: &UnitId) -> Result<Vec<HouseholdRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, grid, head, address, members, visits, last_visit_at FROM households
             WHERE grid = ?1 ORDER BY last_visit_at IS NOT NULL, last_visit_at, head",
        )?;
        let rows = stmt.query_map([grid.as_str()], |r| {
            Ok(HouseholdRow {
                id: HouseholdId::new(r.get::<_, String>(0)?),
                grid: UnitId::new(r.get::<_, String>(1)?),
                head: r.get(2)?,
                address: r.get(3)?,
                members: r.get::<_, i64>(4)? as u64,
                visits: r.get::<_, i64>(5)? as u64,
                last_visit_at: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub(super) fn write_household_summary(
        tx: &Transaction<'_>,
        h: &HouseholdDocument,
    ) -> Result<()> {
        tx.execute(
            "INSERT INTO households(id, grid, head, address, members, visits, last_visit_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT(id) DO UPDATE SET grid = ?2, head = ?3, address = ?4, members = ?5,
                 visits = ?6, last_visit_at = ?7",
            params![
                h.id.as_str(),
                h.grid.as_str(),
                h.head,
                h.address.as_str(),
                h.members as i64,
                h.visits.len() as i64,
                h.visits.iter().map(|v| v.at).max(),
            ],
        )?;
        Ok(())
    }
}
