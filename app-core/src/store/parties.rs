//! Parties' identities (识别同一当事人): the `case_parties` and `party_keys` summary tables, and
//! the lookups that find the other cases of a case's parties: "同一当事人既往纠纷 N 件" and
//! "可能重复上报", on a device against its own caseload and at a centre against its unit's.
//! Nothing is ever merged: a match is a link for a person to follow.
//!
//! # The index
//! `case_parties` holds one row per party of each case: the name as written, the party's
//! village ([`party_village`]), and, from the case's contacts document, the resident ID number
//! (its canonical 18 characters) and the phone (digits only), unless staff erased them or they
//! do not read as one. `party_keys` holds every key each party is found under
//! ([`PartyIdentity::keys`]: `id:…`, `phone:…`, `name:<village>:<sound>`).
//!
//! Like `cases`, the tables are a summary: [`Store::reindex`] rebuilds them from the documents,
//! and every write that changes a case's parties or contacts keeps them true in its own
//! transaction: a case reported or edited here, a case or contacts document received, contacts
//! erased (the ID numbers, phones and their keys go, the names stay), a case or contacts
//! document set back by [`Store::quarantine`], a bulk import.
//!
//! # Matching
//! The parties being checked give their keys; each key is one equality lookup on `party_keys`'
//! primary key, never a scan. The cases found are candidates only: every pair of their parties
//! and ours is then compared with [`PartyMatch::between`] (two different ID numbers are two
//! people, whatever the names say), and a case is a match by its strongest pair.

use super::CachedExecute;
use super::Store;
use crate::document::{ContactsDocument, DocKind};
use crate::error::{Error, Result};
use crate::identity::{PartyIdentity, PartyMatch, Phone, ResidentId};
use crate::ids::{CaseId, UnitId};
use crate::model::{CaseDocument, NewCase};
use crate::org::Directory;
use crate::summary::CaseSummary;
use crate::workflow::Status;
use automerge::AutoCommit;
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use std::collections::{BTreeSet, HashMap, HashSet};

/// Two reports of the same parties and category this close (in days) may be one dispute
/// reported twice ([`CaseMatch::is_possible_duplicate`]).
pub const DUPLICATE_WINDOW_DAYS: i64 = 30;

const DAY_MS: i64 = 86_400_000;

/// A case's parties, each as (its name as written, its identity keys as
/// [`PartyIdentity::keys`] gives them): what the early-warning rules read of them
/// ([`Store::party_keys`]).
pub type PartyKeys = Vec<(String, Vec<String>)>;

/// One other case that shares a party with the case (or report) being checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseMatch {
    pub case: CaseId,
    /// From the other case's summary.
    pub title: String,
    pub category: String,
    pub status: Status,
    pub reported_at: i64,
    /// Our party's name, as written in the case (or report) being checked.
    pub ours: String,
    /// Their party's name, as written in the other case.
    pub theirs: String,
    /// The strongest match between any of our parties and any of theirs, by
    /// [`PartyMatch::between`] (never [`PartyMatch::None`]).
    pub how: PartyMatch,
}

impl CaseMatch {
    /// Whether the other case may be the same dispute reported twice (可能重复上报): the same
    /// category, reported within [`DUPLICATE_WINDOW_DAYS`] of `reported_at` (either way), and
    /// at least a party of the same sounding name in the same village. A suggestion for a
    /// person to look at; nothing is merged.
    pub fn is_possible_duplicate(&self, category: &str, reported_at: i64) -> bool {
        self.how >= PartyMatch::SameNameAndVillage
            && self.category == category
            && (self.reported_at - reported_at).abs() <= DUPLICATE_WINDOW_DAYS * DAY_MS
    }
}

/// The village (村/社区) the parties of a case at `place` are counted in: the unit of tier
/// [`Tier::Village`] on the place's `path` (root first, as [`Directory::path`] gives it and
/// `Place::unit_path` keeps it), by the directory's tiers; the place unit itself when none is a
/// village (a case reported at a township's centre, or a place the directory does not know).
pub fn party_village(directory: &Directory, path: &[UnitId], place: &UnitId) -> UnitId {
    directory.village_on(path).unwrap_or(place).clone()
}

/// A party as the index holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct PartyRow {
    party: String,
    name: String,
    village: String,
    resident_id: Option<ResidentId>,
    /// Digits only: no extension.
    phone: Option<Phone>,
}

impl PartyRow {
    fn identity(&self) -> PartyIdentity<'_> {
        PartyIdentity {
            name: &self.name,
            village: &self.village,
            resident_id: self.resident_id.as_ref(),
            phone: self.phone.as_ref(),
        }
    }

    /// The party's contact details as typed (a contacts document, a report form): what does not
    /// read as an ID number or a phone is left out.
    fn set_contact(&mut self, phone: Option<&str>, id_number: Option<&str>) {
        self.resident_id = id_number.and_then(|t| ResidentId::parse(t).ok());
        // Digits only: the same number with another extension is the same row.
        self.phone = phone
            .and_then(|t| Phone::parse(t).ok())
            .and_then(|p| Phone::parse(p.as_str()).ok());
    }
}

/// Where the contact details of a case's parties come from when the index of its parties is
/// brought to its document.
pub(super) enum Contacts<'a> {
    /// These (`None`: no contacts document, or erased).
    Known(Option<&'a ContactsDocument>),
    /// What the index holds for the parties it has; for a party it does not have yet, the stored
    /// contacts document's (read in the transaction).
    Stored,
}

impl Contacts<'_> {
    /// [`Contacts::Stored`], or none at all once staff erased the case's contacts.
    pub(super) fn stored_unless_erased(summary: &CaseSummary) -> Contacts<'static> {
        match summary.contacts_erased_at {
            Some(_) => Contacts::Known(None),
            None => Contacts::Stored,
        }
    }
}

impl Store {
    /// The parties of a case as the index holds them, without their contact details.
    pub(super) fn party_rows(directory: &Directory, document: &CaseDocument) -> Vec<PartyRow> {
        let village = party_village(directory, &document.place.unit_path, &document.place.unit);
        document
            .parties
            .iter()
            .map(|p| PartyRow {
                party: p.id.to_string(),
                name: p.name.clone(),
                village: village.to_string(),
                resident_id: None,
                phone: None,
            })
            .collect()
    }

    /// Brings the index of a case's parties to `rows` (from [`Store::party_rows`]) with their
    /// contact details from `contacts`. Writes nothing when the index already says the same.
    pub(super) fn index_parties(
        tx: &Transaction<'_>,
        case: &str,
        mut rows: Vec<PartyRow>,
        contacts: Contacts<'_>,
    ) -> Result<()> {
        let stored = stored_rows(tx, case)?;
        match contacts {
            Contacts::Known(contacts) => fill_contacts(&mut rows, contacts),
            Contacts::Stored => {
                let mut new = Vec::new();
                for row in &mut rows {
                    match stored.iter().find(|s| s.party == row.party) {
                        Some(s) => {
                            row.resident_id = s.resident_id.clone();
                            row.phone = s.phone.clone();
                        }
                        None => new.push(row.party.clone()),
                    }
                }
                if !new.is_empty() {
                    let contacts = stored_contacts(tx, case)?;
                    for row in rows.iter_mut().filter(|r| new.contains(&r.party)) {
                        fill_contacts(std::slice::from_mut(row), contacts.as_ref());
                    }
                }
            }
        }
        rows.sort_by(|a, b| a.party.cmp(&b.party));
        if rows != stored {
            write_rows(tx, case, &rows)?;
        }
        Ok(())
    }

    /// Brings the index of a case's parties to its contacts document (`None`: dropped). The
    /// parties are the ones the index holds (a case not here yet has none: its parties take their
    /// contacts when it comes). Contacts of a case whose contacts were erased are not indexed.
    pub(super) fn index_contacts(
        tx: &Transaction<'_>,
        case: &str,
        contacts: Option<&ContactsDocument>,
    ) -> Result<()> {
        let erased = tx
            .query_row(
                "SELECT json_extract(summary, '$.contacts_erased_at') IS NOT NULL
                 FROM cases WHERE id = ?1",
                [case],
                |r| r.get::<_, bool>(0),
            )
            .optional()?
            .unwrap_or(false);
        let stored = stored_rows(tx, case)?;
        let mut rows = stored.clone();
        fill_contacts(&mut rows, contacts.filter(|_| !erased));
        if rows != stored {
            write_rows(tx, case, &rows)?;
        }
        Ok(())
    }

    /// Drops the ID numbers and phones of a case's parties, and their keys; the names stay
    /// (contacts erased, 删除联系方式).
    pub(super) fn erase_party_contacts(tx: &Transaction<'_>, case: &str) -> Result<()> {
        tx.exec(
            "UPDATE case_parties SET resident_id = NULL, phone = NULL
             WHERE case_id = ?1 AND (resident_id IS NOT NULL OR phone IS NOT NULL)",
            [case],
        )?;
        let mut stmt = tx.prepare_cached(
            "DELETE FROM party_keys WHERE case_id = ?1 AND (key >= ?2 AND key < ?3)",
        )?;
        for prefix in [
            crate::identity::ID_KEY_PREFIX,
            crate::identity::PHONE_KEY_PREFIX,
        ] {
            stmt.execute(params![case, prefix, prefix_end(prefix)])?;
        }
        Ok(())
    }

    /// Drops a case from the index (the case left the store).
    pub(super) fn drop_parties(tx: &Transaction<'_>, case: &str) -> Result<()> {
        tx.exec("DELETE FROM case_parties WHERE case_id = ?1", [case])?;
        tx.exec("DELETE FROM party_keys WHERE case_id = ?1", [case])?;
        Ok(())
    }

    /// Other cases in this store sharing a party with `case`, strongest match first, then the
    /// most recently reported. Reads the index only (no document). [`Error::UnknownCase`] if the
    /// case is not here.
    pub fn party_matches(&self, case: &CaseId) -> Result<Vec<CaseMatch>> {
        let known = self
            .conn
            .query_row("SELECT 1 FROM cases WHERE id = ?1", [case.as_str()], |_| {
                Ok(())
            })
            .optional()?;
        if known.is_none() {
            return Err(Error::UnknownCase(case.clone()));
        }
        let ours = stored_rows(&self.conn, case.as_str())?;
        matches_of(&self.conn, &ours, Some(case.as_str()))
    }

    /// The same for a report not yet saved (before [`Store::create_case`]): its parties' names,
    /// phones and ID numbers as typed (what does not read as a phone or an ID number is left
    /// out), in the village of its place unit.
    pub fn party_matches_for_new(&self, new: &NewCase) -> Result<Vec<CaseMatch>> {
        let path = self.directory.path(&new.place_unit);
        let village = party_village(&self.directory, &path, &new.place_unit).to_string();
        let ours: Vec<PartyRow> = new
            .parties
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut row = PartyRow {
                    party: i.to_string(),
                    name: p.name.trim().to_owned(),
                    village: village.clone(),
                    resident_id: None,
                    phone: None,
                };
                row.set_contact(p.phone.as_deref(), p.id_number.as_deref());
                row
            })
            .collect();
        matches_of(&self.conn, &ours, None)
    }

    /// The identity keys of every party of the given cases, for the early-warning rules: for
    /// each case, its parties (by party id) as (name as written, keys as
    /// [`PartyIdentity::keys`] gives them, sorted). A case this store does not hold, or
    /// whose document names no party, is absent from the map. See [`Store::all_party_keys`]
    /// for every case.
    pub fn party_keys(&self, cases: &[CaseId]) -> Result<HashMap<CaseId, PartyKeys>> {
        let wanted: HashSet<&str> = cases.iter().map(CaseId::as_str).collect();
        self.stored_keys(|case| wanted.contains(case))
    }

    /// [`Store::party_keys`] of every case in the store.
    pub fn all_party_keys(&self) -> Result<HashMap<CaseId, PartyKeys>> {
        self.stored_keys(|_| true)
    }

    /// Runs `sql`, a query of three text columns, and hands each row to `row`.
    fn each_triple(&self, sql: &str, mut row: impl FnMut(String, String, String)) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            row(r.get(0)?, r.get(1)?, r.get(2)?);
        }
        Ok(())
    }

    /// The parties' names and the keys stored for them (as [`PartyIdentity::keys`] wrote
    /// them, not computed again: reading a name's readings costs more than the query), of
    /// the cases `wanted` admits, in two passes over the tables.
    fn stored_keys(&self, wanted: impl Fn(&str) -> bool) -> Result<HashMap<CaseId, PartyKeys>> {
        let mut parties: HashMap<(String, String), (String, Vec<String>)> = HashMap::new();
        self.each_triple(
            "SELECT case_id, party_id, name FROM case_parties",
            |case, party, name| {
                if wanted(&case) {
                    parties.insert((case, party), (name, Vec::new()));
                }
            },
        )?;
        self.each_triple(
            "SELECT case_id, party_id, key FROM party_keys",
            |case, party, key| {
                if let Some((_, k)) = parties.get_mut(&(case, party)) {
                    k.push(key);
                }
            },
        )?;
        let mut sorted: Vec<_> = parties.into_iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: HashMap<CaseId, PartyKeys> = HashMap::new();
        for ((case, _), (name, mut keys)) in sorted {
            keys.sort();
            out.entry(CaseId::new(case)).or_default().push((name, keys));
        }
        Ok(out)
    }
}

/// Sets each row's contact details from a contacts document (none if there is none or it does
/// not name the party).
fn fill_contacts(rows: &mut [PartyRow], contacts: Option<&ContactsDocument>) {
    for row in rows {
        match contacts.and_then(|c| c.parties.get(&row.party)) {
            Some(c) => row.set_contact(c.phone.as_deref(), c.id_number.as_deref()),
            None => row.set_contact(None, None),
        }
    }
}

/// The stored contacts document of a case, read on `conn` (in a transaction, as written so far).
/// A contacts document that does not load is taken as none: the index then lacks its numbers,
/// and the case is still written.
fn stored_contacts(conn: &Connection, case: &str) -> Result<Option<ContactsDocument>> {
    let key = DocKind::Contacts.key(case);
    let Some(bytes) = Store::load_bytes_in(conn, &key)? else {
        return Ok(None);
    };
    Ok(AutoCommit::load(&bytes)
        .ok()
        .and_then(|doc| ContactsDocument::from_automerge(&key, &doc).ok()))
}

/// A `case_parties` row from column `at` on (party_id, name, village, resident_id, phone).
fn row_of(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<PartyRow> {
    let resident_id: Option<String> = r.get(at + 3)?;
    let phone: Option<String> = r.get(at + 4)?;
    Ok(PartyRow {
        party: r.get(at)?,
        name: r.get(at + 1)?,
        village: r.get(at + 2)?,
        resident_id: resident_id.and_then(|t| ResidentId::parse(&t).ok()),
        phone: phone.and_then(|t| Phone::parse(&t).ok()),
    })
}

/// The index's rows of a case, by party id.
fn stored_rows(conn: &Connection, case: &str) -> Result<Vec<PartyRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT party_id, name, village, resident_id, phone FROM case_parties
         WHERE case_id = ?1 ORDER BY party_id",
    )?;
    let rows = stmt.query_map([case], |r| row_of(r, 0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Replaces a case's rows and keys.
fn write_rows(tx: &Transaction<'_>, case: &str, rows: &[PartyRow]) -> Result<()> {
    Store::drop_parties(tx, case)?;
    let mut party = tx.prepare_cached(
        "INSERT INTO case_parties(case_id, party_id, name, village, resident_id, phone)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    let mut key = tx.prepare_cached(
        "INSERT INTO party_keys(key, case_id, party_id) VALUES (?1, ?2, ?3)
         ON CONFLICT DO NOTHING",
    )?;
    for row in rows {
        party.execute(params![
            case,
            row.party,
            row.name,
            row.village,
            row.resident_id.as_ref().map(ResidentId::as_str),
            row.phone.as_ref().map(Phone::as_str),
        ])?;
        for k in row.identity().keys() {
            key.execute(params![k, case, row.party])?;
        }
    }
    Ok(())
}

/// The first string after every string that starts with `prefix` (which ends in ASCII).
fn prefix_end(prefix: &str) -> String {
    let mut end = prefix.to_owned();
    let last = end.pop().map_or(0, |c| c as u8);
    end.push(char::from(last + 1));
    end
}

/// The other cases sharing a party with `ours` (other than `exclude`), strongest first, then
/// newest.
fn matches_of(
    conn: &Connection,
    ours: &[PartyRow],
    exclude: Option<&str>,
) -> Result<Vec<CaseMatch>> {
    // Candidates: an equality lookup per key.
    let mut candidates = BTreeSet::new();
    {
        let mut stmt =
            conn.prepare_cached("SELECT DISTINCT case_id FROM party_keys WHERE key = ?1")?;
        let keys: BTreeSet<String> = ours.iter().flat_map(|p| p.identity().keys()).collect();
        for key in keys {
            for case in stmt.query_map([key], |r| r.get::<_, String>(0))? {
                let case = case?;
                if Some(case.as_str()) != exclude {
                    candidates.insert(case);
                }
            }
        }
    }
    // Each candidate confirmed by its strongest pair of parties.
    let mut out = Vec::new();
    let mut summary = conn.prepare_cached(
        "SELECT json_extract(summary, '$.title'), category, status, reported_at
         FROM cases WHERE id = ?1",
    )?;
    for case in candidates {
        let theirs = stored_rows(conn, &case)?;
        let mut best: Option<(PartyMatch, &PartyRow, &PartyRow)> = None;
        for a in ours {
            for b in &theirs {
                let how = PartyMatch::between(&a.identity(), &b.identity());
                if how > best.map_or(PartyMatch::None, |(h, _, _)| h) {
                    best = Some((how, a, b));
                }
            }
        }
        let Some((how, a, b)) = best else {
            continue;
        };
        let Some((title, category, status, reported_at)) = summary
            .query_row([&case], |r| {
                Ok((
                    r.get::<_, Option<String>>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })
            .optional()?
        else {
            // Index rows of a case whose summary is gone: not a case to link to.
            continue;
        };
        let status = Status::from_code(&status)
            .ok_or_else(|| Error::invalid("status", format!("case {case}: {status}")))?;
        out.push(CaseMatch {
            case: CaseId::new(&case),
            title: title.unwrap_or_default(),
            category,
            status,
            reported_at,
            ours: a.name.clone(),
            theirs: b.name.clone(),
            how,
        });
    }
    out.sort_by(|x, y| {
        y.how
            .cmp(&x.how)
            .then(y.reported_at.cmp(&x.reported_at))
            .then(x.case.cmp(&y.case))
    });
    Ok(out)
}
