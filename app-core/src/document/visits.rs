//! A household's visits, kept in volumes (走访簿) of about [`VOLUME_VISITS`] each, so that
//! recording a visit loads one short volume instead of years of visits: a household visited
//! weekly for three years costs the same to visit as a new one.
//!
//! A volume is its own automerge document, `visits:<household>_<volume>`, numbered from 1. A
//! device writes to the household's last volume until it holds [`VOLUME_VISITS`] visits, then
//! opens the next. A visit is written once and never changed, so it is kept as one value, its
//! JSON ([`Visit`] through serde, in the one form serde writes it): one operation per visit
//! rather than a dozen, which is what keeps writing and reading a volume cheap.
//!
//! Two devices that open the same volume while apart must end up with one
//! document, not two roots that hide each other's visits: so every volume begins with the same
//! *genesis* change on every replica, made by a fixed actor at time 0 from the household's id
//! and the volume's number alone ([`VisitBookDoc::genesis`]). Identical changes have identical
//! hashes, and automerge keeps one. Visits are then inserts at the end of `visits`, merged like
//! any list: two devices' visits to one volume both survive. The bound is soft (two devices that
//! both see a volume with room may both add to it); what it bounds is the cost, not the count.
//!
//! The server accepts a change by the genesis actor only when it is exactly the genesis of the
//! volume it is uploaded to (its hash is recomputed), so no device can write under that actor.
//! Households created before volumes existed keep their visits in the household document; a
//! household's visits are those and every volume's, ordered by time.

use super::{commit, list_obj, load, shape, DocKind, Visit};
use crate::error::{Error, Result};
use crate::ids::HouseholdId;
use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, ChangeHash, ReadDoc};
use autosurgeon::{hydrate, reconcile, Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

pub const VISIT_BOOK_SCHEMA: u64 = 1;

/// A device opens a household's next volume when the last one holds this many visits.
pub const VOLUME_VISITS: u64 = 16;

/// The actor of every volume's genesis change (never a device's: devices' actors are random).
const GENESIS_ACTOR: &[u8; 16] = b"visit-book-genes";

/// One volume of a household's visits, read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VisitBookDocument {
    pub schema: u64,
    pub household: HouseholdId,
    /// 1, 2, …
    pub volume: u64,
    pub visits: Vec<Visit>,
}

/// A volume as the document holds it: each visit as its JSON.
#[derive(Clone, Debug, PartialEq, Reconcile, Hydrate)]
struct StoredBook {
    schema: u64,
    household: HouseholdId,
    volume: u64,
    visits: Vec<String>,
}

/// A visit from the JSON a volume holds; only the form [`VisitBookDoc::record_visit`] writes
/// is a visit (no other key, no other spelling), so what is read is what was signed.
pub fn visit_from_json(json: &str) -> std::result::Result<Visit, String> {
    let visit: Visit = serde_json::from_str(json).map_err(|e| e.to_string())?;
    if serde_json::to_string(&visit).map_err(|e| e.to_string())? != json {
        return Err("a visit is not written in its one form".to_owned());
    }
    Ok(visit)
}

/// One volume's automerge document.
#[derive(Debug)]
pub struct VisitBookDoc {
    id: String,
    doc: AutoCommit,
}

impl VisitBookDoc {
    /// The document id of a household's volume: `<household>_<volume>`.
    pub fn id(household: &HouseholdId, volume: u64) -> String {
        format!("{household}_{volume}")
    }

    /// The household and volume a volume's document id names.
    pub fn parse_id(id: &str) -> Option<(HouseholdId, u64)> {
        let (household, volume) = id.rsplit_once('_')?;
        let volume: u64 = volume.parse().ok().filter(|v| *v >= 1)?;
        (!household.is_empty() && VisitBookDoc::id(&HouseholdId::new(household), volume) == id)
            .then(|| (HouseholdId::new(household), volume))
    }

    /// The storage key of a household's volume.
    pub fn key(household: &HouseholdId, volume: u64) -> String {
        DocKind::VisitBook.key(&VisitBookDoc::id(household, volume))
    }

    /// The first change of a volume, the same on every replica.
    pub fn genesis(household: &HouseholdId, volume: u64) -> Result<AutoCommit> {
        let mut doc = AutoCommit::new().with_actor(ActorId::from(GENESIS_ACTOR.as_slice()));
        let book = StoredBook {
            schema: VISIT_BOOK_SCHEMA,
            household: household.clone(),
            volume,
            visits: Vec::new(),
        };
        reconcile(&mut doc, &book)?;
        doc.commit_with(CommitOptions::default().with_time(0));
        Ok(doc)
    }

    /// The hash of a volume's genesis change.
    pub fn genesis_hash(household: &HouseholdId, volume: u64) -> Result<ChangeHash> {
        let mut doc = VisitBookDoc::genesis(household, volume)?;
        doc.get_heads()
            .first()
            .copied()
            .ok_or_else(|| Error::Shape {
                id: VisitBookDoc::id(household, volume),
                reason: "a genesis with no change".to_owned(),
            })
    }

    /// A volume this device opens: its genesis, then this device's changes.
    pub fn open(household: &HouseholdId, volume: u64, actor_id: &ActorId) -> Result<VisitBookDoc> {
        let mut doc = VisitBookDoc::genesis(household, volume)?;
        doc.set_actor(actor_id.clone());
        Ok(VisitBookDoc {
            id: VisitBookDoc::id(household, volume),
            doc,
        })
    }

    pub fn load(id: &str, bytes: &[u8], actor_id: &ActorId) -> Result<VisitBookDoc> {
        let doc = load(&DocKind::VisitBook.key(id), bytes, actor_id)?;
        Ok(VisitBookDoc {
            id: id.to_owned(),
            doc,
        })
    }

    /// Wraps an automerge document received from elsewhere.
    pub fn from_automerge(id: &str, doc: AutoCommit) -> VisitBookDoc {
        VisitBookDoc {
            id: id.to_owned(),
            doc,
        }
    }

    pub fn read(&self) -> Result<VisitBookDocument> {
        let stored: StoredBook = hydrate(&self.doc).map_err(shape(&self.id))?;
        let visits = stored
            .visits
            .iter()
            .map(|json| visit_from_json(json))
            .collect::<std::result::Result<_, _>>()
            .map_err(|reason| Error::Shape {
                id: self.id.clone(),
                reason,
            })?;
        Ok(VisitBookDocument {
            schema: stored.schema,
            household: stored.household,
            volume: stored.volume,
            visits,
        })
    }

    /// Appends a visit.
    pub fn record_visit(&mut self, visit: &Visit, now_ms: i64) -> Result<()> {
        let list = list_obj(&self.doc, "visits", &self.id)?;
        let len = self.doc.length(&list);
        let json = serde_json::to_string(visit).map_err(|e| Error::Shape {
            id: self.id.clone(),
            reason: e.to_string(),
        })?;
        self.doc.insert(&list, len, json)?;
        commit(&mut self.doc, now_ms);
        Ok(())
    }

    pub fn automerge(&mut self) -> &mut AutoCommit {
        &mut self.doc
    }

    pub fn into_automerge(self) -> AutoCommit {
        self.doc
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::VisitOutcome;
    use crate::ids::{PersonId, UnitId, VisitId};
    use crate::model::Actor;
    use crate::org::Role;

    fn visit(note: &str, at: i64) -> Visit {
        Visit {
            id: VisitId::generate(),
            at,
            actor: Actor {
                person: PersonId::new("gw-1"),
                name: "李网格".to_owned(),
                role: Role::GridWorker,
                unit: UnitId::new("grid-1"),
            },
            outcome: VisitOutcome::Noted,
            note: note.to_owned(),
        }
    }

    #[test]
    fn a_volume_begins_with_the_same_change_everywhere() {
        let h = HouseholdId::generate();
        let a = VisitBookDoc::genesis_hash(&h, 3).unwrap();
        assert_eq!(a, VisitBookDoc::genesis_hash(&h, 3).unwrap());
        assert_ne!(a, VisitBookDoc::genesis_hash(&h, 4).unwrap());
        assert_ne!(
            a,
            VisitBookDoc::genesis_hash(&HouseholdId::generate(), 3).unwrap()
        );
    }

    #[test]
    fn two_devices_that_open_a_volume_apart_keep_both_visits() {
        let h = HouseholdId::generate();
        let mut a = VisitBookDoc::open(&h, 2, &ActorId::random()).unwrap();
        let mut b = VisitBookDoc::open(&h, 2, &ActorId::random()).unwrap();
        a.record_visit(&visit("张家：邻里和睦", 1_000), 1_000)
            .unwrap();
        b.record_visit(&visit("张家：宅基地界址有争议", 2_000), 2_000)
            .unwrap();
        let mut merged = a.automerge().fork();
        merged.merge(b.automerge()).unwrap();
        let book = VisitBookDoc::from_automerge(&VisitBookDoc::id(&h, 2), merged)
            .read()
            .unwrap();
        let mut notes: Vec<_> = book.visits.iter().map(|v| v.note.as_str()).collect();
        notes.sort();
        assert_eq!(notes, ["张家：宅基地界址有争议", "张家：邻里和睦"]);
        assert_eq!((book.household, book.volume), (h, 2));
    }

    #[test]
    fn a_volume_id_names_its_household_and_number() {
        let h = HouseholdId::new("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");
        let id = VisitBookDoc::id(&h, 12);
        assert_eq!(VisitBookDoc::parse_id(&id), Some((h, 12)));
        assert!(DocKind::parse_key(&DocKind::VisitBook.key(&id)).is_some());
        for bad in ["h_0", "h_", "_3", "h_03", "h_x", "h"] {
            assert_eq!(VisitBookDoc::parse_id(bad), None, "{bad}");
        }
    }
}
