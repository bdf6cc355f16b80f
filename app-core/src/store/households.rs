//! Households and door-to-door visits (入户走访), with the `households` summary rows the visit
//! list reads and the `visit_books` rows that say which volume of a household's visits
//! ([`VisitBookDoc`]) a visit goes to, so that a visit reads neither the household nor years of
//! its visits; and the `visits` rows, one per visit (who, when, in which grid, what it found),
//! which the ledger counts (入户走访) without reading a volume. Every write of a household or a
//! volume writes its rows with it, so they are always what the documents hold.

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
            // The visit is the volume's last: its place is the number the volume held.
            let held = last.filter(|_| !opened).map_or(0, |(_, held)| held);
            Self::insert_visit_row(tx, household, volume, held, &visit)?;
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
        // The household document's own visits are its volume 0; its volumes' rows learn its
        // grid (a volume may have come before its household).
        Self::replace_visit_rows(tx, &h.id, 0, &h.visits)?;
        tx.execute(
            "UPDATE visits SET grid = ?2 WHERE household = ?1 AND grid IS NOT ?2",
            params![h.id.as_str(), h.grid.as_str()],
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
        Self::replace_visit_rows(tx, &book.household, book.volume, &book.visits)?;
        Ok(())
    }

    /// Writes the `visits` rows of one list of a household's visits (`volume` 0: its own
    /// document's) as the list now is, in its order.
    fn replace_visit_rows(
        tx: &Transaction<'_>,
        household: &HouseholdId,
        volume: u64,
        visits: &[Visit],
    ) -> Result<()> {
        tx.prepare_cached("DELETE FROM visits WHERE household = ?1 AND volume = ?2")?
            .execute(params![household.as_str(), volume as i64])?;
        for (idx, v) in visits.iter().enumerate() {
            Self::insert_visit_row(tx, household, volume, idx as u64, v)?;
        }
        Ok(())
    }

    /// One visit's row, at place `idx` of its list, in its household's grid if the household
    /// is here.
    fn insert_visit_row(
        tx: &Transaction<'_>,
        household: &HouseholdId,
        volume: u64,
        idx: u64,
        v: &Visit,
    ) -> Result<()> {
        tx.prepare_cached(
            "INSERT INTO visits(household, volume, idx, id, at, grid, person, person_name, role,
                 outcome, case_id)
             VALUES (?1, ?2, ?3, ?4, ?5, (SELECT grid FROM households WHERE id = ?1), ?6, ?7, ?8,
                 ?9, ?10)
             ON CONFLICT(household, volume, idx) DO UPDATE SET id = excluded.id,
                 at = excluded.at, grid = excluded.grid, person = excluded.person,
                 person_name = excluded.person_name, role = excluded.role,
                 outcome = excluded.outcome, case_id = excluded.case_id",
        )?
        .execute(params![
            household.as_str(),
            volume as i64,
            idx as i64,
            v.id.as_str(),
            v.at,
            v.actor.person.as_str(),
            v.actor.name,
            v.actor.role.code(),
            v.outcome.code(),
            v.outcome.case().map(|c| c.as_str()),
        ])?;
        Ok(())
    }
}
