//! Households and door-to-door visits (入户走访), with the `households` summary rows the visit
//! list reads and the `visit_books` rows that say which volume of a household's visits
//! ([`VisitBookDoc`]) a visit goes to, so that a visit reads neither the household nor years of
//! its visits.

use super::Store;
use crate::document::{DocKind, HouseholdDocument, Visit, VisitOutcome};
use crate::document::{HouseholdDoc, VisitBookDoc, VisitBookDocument, VOLUME_VISITS};
use crate::error::{Error, Result};
use crate::ids::{HouseholdId, UnitId, VisitId};
use crate::model::{Actor, HOUSEHOLD_SCHEMA};
use crate::rules;
use crate::summary::HouseholdRow;
use autosurgeon::Text;
use rusqlite::{params, OptionalExtension, Transaction};

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
        if !self.has_household(household)? {
            return Err(Error::UnknownHousehold(household.clone()));
        }
        // The household's last volume, or the next one when it is full (or there is none).
        let last: Option<(u64, u64)> = self
            .conn
            .prepare_cached(
                "SELECT volume, visits FROM visit_books WHERE household = ?1
                 ORDER BY volume DESC LIMIT 1",
            )?
            .query_row([household.as_str()], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64))
            })
            .optional()?;
        let (volume, opened) = match last {
            Some((volume, held)) if held < VOLUME_VISITS => (volume, false),
            Some((volume, _)) => (volume + 1, true),
            None => (1, true),
        };
        let key = VisitBookDoc::key(household, volume);
        let (mut book, before) = if opened {
            (
                VisitBookDoc::open(household, volume, &self.actor_id)?,
                Vec::new(),
            )
        } else {
            let bytes = self
                .load_bytes(&key)?
                .ok_or_else(|| Error::CorruptDocument {
                    id: key.clone(),
                    reason: "the volume's summary row has no document".to_owned(),
                })?;
            let mut book =
                VisitBookDoc::load(&VisitBookDoc::id(household, volume), &bytes, &self.actor_id)?;
            let before = book.automerge().get_heads();
            (book, before)
        };
        let visit = Visit {
            id: VisitId::generate(),
            at: now_ms,
            actor: actor.clone(),
            outcome,
            note: note.to_owned(),
        };
        book.record_visit(&visit, now_ms)?;
        self.write(|tx| -> Result<()> {
            if opened {
                Self::insert_document(
                    tx,
                    &key,
                    DocKind::VisitBook,
                    book.automerge(),
                    true,
                    now_ms,
                )?;
            } else {
                Self::append_changes(tx, &key, book.automerge(), &before, true, now_ms)?;
            }
            // The summary rows were the documents' before this visit (every write keeps them
            // together), so one more visit is all that changes.
            tx.execute(
                "INSERT INTO visit_books(household, volume, visits, last_visit_at)
                 VALUES (?1, ?2, 1, ?3)
                 ON CONFLICT(household, volume) DO UPDATE SET visits = visits + 1,
                     last_visit_at = MAX(COALESCE(last_visit_at, ?3), ?3)",
                params![household.as_str(), volume as i64, now_ms],
            )?;
            tx.execute(
                "UPDATE households SET visits = visits + 1,
                     last_visit_at = MAX(COALESCE(last_visit_at, ?2), ?2)
                 WHERE id = ?1",
                params![household.as_str(), now_ms],
            )?;
            Ok(())
        })?;
        Ok(visit.id)
    }

    /// The grid of a household held here, from its summary row alone (no document read).
    pub fn household_grid(&self, id: &HouseholdId) -> Result<Option<UnitId>> {
        Ok(self
            .conn
            .prepare_cached("SELECT grid FROM households WHERE id = ?1")?
            .query_row([id.as_str()], |r| r.get::<_, String>(0))
            .optional()?
            .map(UnitId::new))
    }

    /// Whether the household is on this device, from its summary row alone (no document read).
    pub fn has_household(&self, id: &HouseholdId) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM households WHERE id = ?1")?
            .exists([id.as_str()])?)
    }

    /// A household with every visit: those its own document holds (households created before
    /// volumes existed) and every volume's, in the order they were made.
    pub fn household(&self, id: &HouseholdId) -> Result<HouseholdDocument> {
        let mut household = self.load_household(id)?.read()?;
        for volume in self.visit_volumes(id)? {
            let key = VisitBookDoc::key(id, volume);
            if let Some(bytes) = self.load_bytes(&key)? {
                let book =
                    VisitBookDoc::load(&VisitBookDoc::id(id, volume), &bytes, &self.actor_id)?;
                household.visits.extend(book.read()?.visits);
            }
        }
        household.visits.sort_by_key(|v| v.at);
        Ok(household)
    }

    /// The numbers of a household's volumes of visits on this device.
    pub fn visit_volumes(&self, id: &HouseholdId) -> Result<Vec<u64>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT volume FROM visit_books WHERE household = ?1 ORDER BY volume",
        )?;
        let rows = stmt.query_map([id.as_str()], |r| r.get::<_, i64>(0))?;
        Ok(rows
            .map(|v| v.map(|v| v as u64))
            .collect::<rusqlite::Result<_>>()?)
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

    /// Writes a household's summary row: its document's facts, and its visits counted over its
    /// document and its volumes' rows.
    pub(super) fn write_household_summary(
        tx: &Transaction<'_>,
        h: &HouseholdDocument,
    ) -> Result<()> {
        tx.execute(
            "INSERT INTO households(id, grid, head, address, members, visits, last_visit_at)
             VALUES (?1, ?2, ?3, ?4, ?5,
                 ?6 + (SELECT COALESCE(SUM(visits), 0) FROM visit_books WHERE household = ?1),
                 (SELECT MAX(at) FROM (SELECT ?7 AS at UNION ALL
                     SELECT last_visit_at FROM visit_books WHERE household = ?1)))
             ON CONFLICT(id) DO UPDATE SET grid = excluded.grid, head = excluded.head,
                 address = excluded.address, members = excluded.members,
                 visits = excluded.visits, last_visit_at = excluded.last_visit_at",
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

    /// Writes a volume's summary row (a volume received, rebuilt or reindexed) and moves its
    /// household's count by the visits it gained.
    pub(super) fn write_visit_book_summary(
        tx: &Transaction<'_>,
        book: &VisitBookDocument,
    ) -> Result<()> {
        let (h, volume) = (book.household.as_str(), book.volume as i64);
        let had: i64 = tx
            .query_row(
                "SELECT visits FROM visit_books WHERE household = ?1 AND volume = ?2",
                params![h, volume],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(0);
        let visits = book.visits.len() as i64;
        let last = book.visits.iter().map(|v| v.at).max();
        tx.execute(
            "INSERT INTO visit_books(household, volume, visits, last_visit_at)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(household, volume) DO UPDATE SET visits = ?3, last_visit_at = ?4",
            params![h, volume, visits, last],
        )?;
        tx.execute(
            "UPDATE households SET visits = visits + ?2,
                 last_visit_at = CASE WHEN ?3 IS NULL THEN last_visit_at
                                      ELSE MAX(COALESCE(last_visit_at, ?3), ?3) END
             WHERE id = ?1",
            params![h, visits - had, last],
        )?;
        Ok(())
    }
}
