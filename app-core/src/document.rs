//! Case, contacts and household documents: the automerge side of the model.
//!
//! A [`CaseDoc`] owns one case's automerge document. Reading hydrates it with autosurgeon;
//! writing is done by small, targeted operations, never by reconciling the whole struct, so that
//! concurrent edits merge as intended: a timeline entry is an insert at the end of the `timeline`
//! list; a text edit is a character-level diff of that one text; a party edit reconciles the
//! `parties` list by party id. Every workflow step is checked by [`crate::workflow::check`]
//! against the folded state before it is written.
//!
//! Text indices are UTF-8 byte offsets (automerge's `utf8-indexing` feature), matching Rust's
//! `str`; Chinese text is tested explicitly.

use crate::error::{Error, Result};
use crate::ids::{CaseId, EntryId, HouseholdId, PartyId, UnitId, VisitId};
use crate::materialise;
use crate::model::{
    Action, Actor, Attachment, CaseDocument, Gps, NewCase, Party, Place, TimelineEntry, CASE_SCHEMA,
};
use crate::workflow::{self, CaseState, Folded};
use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, ChangeHash, ObjType, ReadDoc, ROOT};
use autosurgeon::{hydrate, hydrate_prop, reconcile, reconcile_insert, reconcile_prop, Text};
use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The kinds of document a device keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DocKind {
    Case,
    Contacts,
    Household,
    /// A volume of a household's visits ([`VisitBookDoc`]).
    VisitBook,
}

impl DocKind {
    pub fn code(self) -> &'static str {
        match self {
            DocKind::Case => "case",
            DocKind::Contacts => "contacts",
            DocKind::Household => "household",
            DocKind::VisitBook => "visits",
        }
    }

    /// The storage key of a document of this kind.
    pub fn key(self, id: &str) -> String {
        format!("{}:{id}", self.code())
    }

    /// Splits a document key (`case:<id>`, `contacts:<id>`, `household:<id>`, `visits:<id>`) into its kind and
    /// id; `None` unless the id is 1–80 characters of `[A-Za-z0-9_-]` (what devices and servers
    /// generate, and safe in any path or query).
    pub fn parse_key(key: &str) -> Option<(DocKind, &str)> {
        let (kind, id) = key.split_once(':')?;
        let kind = [
            DocKind::Case,
            DocKind::Contacts,
            DocKind::Household,
            DocKind::VisitBook,
        ]
        .into_iter()
        .find(|k| k.code() == kind)?;
        let valid = !id.is_empty()
            && id.len() <= 80
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        valid.then_some((kind, id))
    }
}

fn load(id: &str, bytes: &[u8], actor: &ActorId) -> Result<AutoCommit> {
    AutoCommit::load(bytes)
        .map(|d| d.with_actor(actor.clone()))
        .map_err(|e| Error::CorruptDocument {
            id: id.to_owned(),
            reason: e.to_string(),
        })
}

fn list_obj(doc: &AutoCommit, key: &str, id: &str) -> Result<automerge::ObjId> {
    match doc.get(ROOT, key)? {
        Some((automerge::Value::Object(ObjType::List), obj)) => Ok(obj),
        _ => Err(Error::Shape {
            id: id.to_owned(),
            reason: format!("`{key}` is not a list"),
        }),
    }
}

/// Commits the pending operations as one change. The change carries no message: who did what is
/// in the timeline entry it writes, and the device is the change's actor.
fn commit(doc: &mut AutoCommit, now_ms: i64) {
    doc.commit_with(CommitOptions::default().with_time(now_ms / 1000));
}

fn shape(id: &str) -> impl Fn(autosurgeon::HydrateError) -> Error + '_ {
    move |e| Error::Shape {
        id: id.to_owned(),
        reason: e.to_string(),
    }
}

/// Field edits a person may make to a case (each is optional).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CaseEdit {
    pub title: Option<String>,
    pub narrative: Option<String>,
    pub category: Option<String>,
    pub address: Option<String>,
    pub gps: Option<Option<(f64, f64)>>,
    /// Parties added or changed (matched by id).
    pub upsert_parties: Vec<Party>,
    pub remove_parties: Vec<PartyId>,
    pub add_attachments: Vec<Attachment>,
}

impl CaseEdit {
    fn field_names(&self) -> Vec<String> {
        let mut f = Vec::new();
        let mut push = |set: bool, name: &str| {
            if set {
                f.push(name.to_owned());
            }
        };
        push(self.title.is_some(), "title");
        push(self.narrative.is_some(), "narrative");
        push(self.category.is_some(), "category");
        push(self.address.is_some(), "address");
        push(self.gps.is_some(), "gps");
        push(
            !self.upsert_parties.is_empty() || !self.remove_parties.is_empty(),
            "parties",
        );
        push(!self.add_attachments.is_empty(), "attachments");
        f
    }
}

/// One case's automerge document.
#[derive(Debug)]
pub struct CaseDoc {
    id: CaseId,
    doc: AutoCommit,
}

impl CaseDoc {
    /// Creates a case from a report: the document with its fields and the first timeline entry
    /// (上报), received by `centre`. `unit_path` is the place's path from the root unit.
    #[allow(clippy::too_many_arguments)] // each is a distinct fact of the report
    pub fn create(
        id: CaseId,
        new: &NewCase,
        parties: Vec<Party>,
        unit_path: Vec<UnitId>,
        centre: UnitId,
        reporter: &Actor,
        actor_id: &ActorId,
        now_ms: i64,
    ) -> Result<CaseDoc> {
        let report = Action::Report {
            centre,
            source: new.source,
        };
        workflow::check(None, reporter, &report)?;
        let document = CaseDocument {
            schema: CASE_SCHEMA,
            id: id.clone(),
            created_at: now_ms,
            title: Text::with_value(&new.title),
            category: new.category.clone(),
            narrative: Text::with_value(&new.narrative),
            place: Place {
                unit: new.place_unit.clone(),
                unit_path,
                address: Text::with_value(&new.address),
                gps: new.gps.map(|(lat, lon)| Gps { lat, lon }),
            },
            parties,
            attachments: Vec::new(),
            timeline: vec![TimelineEntry {
                id: EntryId::generate(),
                base: None,
                at: now_ms,
                actor: reporter.clone(),
                action: report,
            }],
        };
        let mut doc = AutoCommit::new().with_actor(actor_id.clone());
        reconcile(&mut doc, &document)?;
        commit(&mut doc, now_ms);
        Ok(CaseDoc { id, doc })
    }

    /// Loads a document saved by [`CaseDoc::save`] (optionally followed by incremental chunks).
    pub fn load(id: CaseId, bytes: &[u8], actor_id: &ActorId) -> Result<CaseDoc> {
        let doc = load(&DocKind::Case.key(id.as_str()), bytes, actor_id)?;
        let case = CaseDoc { id, doc };
        // Refuse a document whose id field names another case.
        let stored: CaseId =
            hydrate_prop(&case.doc, ROOT, "id").map_err(shape(case.id.as_str()))?;
        if stored != case.id {
            return Err(Error::Shape {
                id: case.id.to_string(),
                reason: format!("the document holds case {stored}"),
            });
        }
        Ok(case)
    }

    /// Wraps an automerge document received from elsewhere (for example from a merge).
    pub fn from_automerge(id: CaseId, doc: AutoCommit) -> CaseDoc {
        CaseDoc { id, doc }
    }

    pub fn id(&self) -> &CaseId {
        &self.id
    }

    /// The whole case, hydrated.
    pub fn read(&self) -> Result<CaseDocument> {
        materialise::read(&self.doc, None).map_err(|reason| Error::Shape {
            id: self.id.to_string(),
            reason,
        })
    }

    /// The whole case as it was at `heads` (what an author saw when they made a change).
    pub fn read_at(&self, heads: &[ChangeHash]) -> Result<CaseDocument> {
        materialise::read(&self.doc, Some(heads)).map_err(|reason| Error::Shape {
            id: self.id.to_string(),
            reason,
        })
    }

    /// The whole case read key by key with autosurgeon: the slow reader that
    /// [`CaseDoc::read`] must always agree with (tests hold them to it).
    pub fn read_slowly(&self) -> Result<CaseDocument> {
        hydrate(&self.doc).map_err(shape(self.id.as_str()))
    }

    /// The timeline entries in document order.
    pub fn timeline(&self) -> Result<Vec<TimelineEntry>> {
        materialise::read_prop(&self.doc, "timeline", None).map_err(|reason| Error::Shape {
            id: self.id.to_string(),
            reason,
        })
    }

    /// The timeline folded into the case's state.
    pub fn fold(&self) -> Result<Folded> {
        Ok(workflow::fold(&self.timeline()?))
    }

    /// The case's current state (`None` only for a document with no report).
    pub fn state(&self) -> Result<Option<CaseState>> {
        Ok(self.fold()?.state)
    }

    /// Records a workflow step if [`workflow::check`] allows it; returns the new entry's id.
    pub fn act(&mut self, actor: &Actor, action: Action, now_ms: i64) -> Result<EntryId> {
        let mut timeline = self.timeline()?;
        let folded = workflow::fold(&timeline);
        self.append(&mut timeline, &folded, actor, action, now_ms)
    }

    /// Records a workflow step on a timeline the caller has already read and folded (so that a
    /// store reads the document once per action: reading is the costly part). The new entry is
    /// pushed onto `timeline` as well as written to the document.
    pub fn append(
        &mut self,
        timeline: &mut Vec<TimelineEntry>,
        folded: &Folded,
        actor: &Actor,
        action: Action,
        now_ms: i64,
    ) -> Result<EntryId> {
        workflow::check(folded.state.as_ref(), actor, &action)?;
        let base = folded.order.last().map(|&i| timeline[i].id.clone());
        let entry = TimelineEntry {
            id: EntryId::generate(),
            base,
            at: now_ms,
            actor: actor.clone(),
            action,
        };
        let list = list_obj(&self.doc, "timeline", self.id.as_str())?;
        let len = self.doc.length(&list);
        reconcile_insert(&mut self.doc, list, len, &entry)?;
        commit(&mut self.doc, now_ms);
        let id = entry.id.clone();
        timeline.push(entry);
        Ok(id)
    }

    /// Edits fields and records the edit in the timeline, in one automerge change.
    pub fn edit(&mut self, actor: &Actor, edit: &CaseEdit, now_ms: i64) -> Result<EntryId> {
        let fields = edit.field_names();
        if fields.is_empty() {
            return Err(Error::invalid("edit", "nothing to change"));
        }
        let timeline = self.timeline()?;
        let folded = workflow::fold(&timeline);
        let action = Action::Edit { fields };
        workflow::check(folded.state.as_ref(), actor, &action)?;
        if let Some(title) = &edit.title {
            self.update_text(&["title"], title)?;
        }
        if let Some(narrative) = &edit.narrative {
            self.update_text(&["narrative"], narrative)?;
        }
        if let Some(address) = &edit.address {
            self.update_text(&["place", "address"], address)?;
        }
        if let Some(category) = &edit.category {
            self.doc.put(ROOT, "category", category.as_str())?;
        }
        if let Some(gps) = edit.gps {
            let place = self.map_obj(&["place"])?;
            reconcile_prop(
                &mut self.doc,
                place,
                "gps",
                gps.map(|(lat, lon)| Gps { lat, lon }),
            )?;
        }
        if !edit.upsert_parties.is_empty() || !edit.remove_parties.is_empty() {
            let mut parties: Vec<Party> =
                hydrate_prop(&self.doc, ROOT, "parties").map_err(shape(self.id.as_str()))?;
            parties.retain(|p| !edit.remove_parties.contains(&p.id));
            for p in &edit.upsert_parties {
                match parties.iter_mut().find(|q| q.id == p.id) {
                    Some(q) => *q = p.clone(),
                    None => parties.push(p.clone()),
                }
            }
            reconcile_prop(&mut self.doc, ROOT, "parties", &parties)?;
        }
        if !edit.add_attachments.is_empty() {
            let list = list_obj(&self.doc, "attachments", self.id.as_str())?;
            for a in &edit.add_attachments {
                let len = self.doc.length(&list);
                reconcile_insert(&mut self.doc, list.clone(), len, a)?;
            }
        }
        let entry = TimelineEntry {
            id: EntryId::generate(),
            base: folded.order.last().map(|&i| timeline[i].id.clone()),
            at: now_ms,
            actor: actor.clone(),
            action,
        };
        let list = list_obj(&self.doc, "timeline", self.id.as_str())?;
        let len = self.doc.length(&list);
        reconcile_insert(&mut self.doc, list, len, &entry)?;
        commit(&mut self.doc, now_ms);
        Ok(entry.id)
    }

    /// Splices the narrative at a UTF-8 byte offset (a keystroke-level edit from the UI), and
    /// records the edit.
    pub fn splice_narrative(
        &mut self,
        actor: &Actor,
        pos: usize,
        delete: usize,
        insert: &str,
        now_ms: i64,
    ) -> Result<EntryId> {
        let timeline = self.timeline()?;
        let folded = workflow::fold(&timeline);
        let action = Action::Edit {
            fields: vec!["narrative".to_owned()],
        };
        workflow::check(folded.state.as_ref(), actor, &action)?;
        let text = self.text_obj(&["narrative"])?;
        let current = self.doc.text(&text)?;
        if pos + delete > current.len()
            || !current.is_char_boundary(pos)
            || !current.is_char_boundary(pos + delete)
        {
            return Err(Error::invalid(
                "narrative",
                format!(
                    "edit at byte {pos} (+{delete}) is not on a character boundary of a {}-byte text",
                    current.len()
                ),
            ));
        }
        self.doc.splice_text(&text, pos, delete as isize, insert)?;
        let entry = TimelineEntry {
            id: EntryId::generate(),
            base: folded.order.last().map(|&i| timeline[i].id.clone()),
            at: now_ms,
            actor: actor.clone(),
            action,
        };
        let list = list_obj(&self.doc, "timeline", self.id.as_str())?;
        let len = self.doc.length(&list);
        reconcile_insert(&mut self.doc, list, len, &entry)?;
        commit(&mut self.doc, now_ms);
        Ok(entry.id)
    }

    fn map_obj(&self, path: &[&str]) -> Result<automerge::ObjId> {
        let mut obj = ROOT;
        for key in path {
            obj = match self.doc.get(&obj, *key)? {
                Some((automerge::Value::Object(_), o)) => o,
                _ => {
                    return Err(Error::Shape {
                        id: self.id.to_string(),
                        reason: format!("`{}` is missing", path.join(".")),
                    })
                }
            };
        }
        Ok(obj)
    }

    fn text_obj(&self, path: &[&str]) -> Result<automerge::ObjId> {
        self.map_obj(path)
    }

    fn update_text(&mut self, path: &[&str], value: &str) -> Result<()> {
        let (parent, key) = path.split_at(path.len() - 1);
        let parent = self.map_obj(parent)?;
        let mut text: Text =
            hydrate_prop(&self.doc, &parent, key[0]).map_err(shape(self.id.as_str()))?;
        text.update(value);
        reconcile_prop(&mut self.doc, parent, key[0], &text)?;
        Ok(())
    }

    /// The underlying automerge document (for sync and storage).
    pub fn automerge(&mut self) -> &mut AutoCommit {
        &mut self.doc
    }

    pub fn into_automerge(self) -> AutoCommit {
        self.doc
    }

    pub fn heads(&mut self) -> Vec<ChangeHash> {
        self.doc.get_heads()
    }

    /// The whole document, compacted.
    pub fn save(&mut self) -> Vec<u8> {
        self.doc.save()
    }

    /// Merges another replica of the same case.
    pub fn merge(&mut self, other: &mut CaseDoc) -> Result<()> {
        self.doc.merge(&mut other.doc)?;
        Ok(())
    }
}

/// A party's contact details (sensitive: 个人信息).
#[derive(Clone, Debug, PartialEq, Eq, Default, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct PartyContact {
    pub phone: Option<String>,
    pub id_number: Option<String>,
}

/// The contacts document of a case: parties' phones and ID numbers, kept apart from the case
/// so that erasing them (a person's request, a retention rule) drops this document whole and
/// leaves the case's history intact.
#[derive(Clone, Debug, PartialEq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct ContactsDocument {
    pub case: CaseId,
    pub parties: BTreeMap<String, PartyContact>,
}

impl ContactsDocument {
    pub fn to_automerge(&self, actor_id: &ActorId) -> Result<AutoCommit> {
        let mut doc = AutoCommit::new().with_actor(actor_id.clone());
        reconcile(&mut doc, self)?;
        doc.commit();
        Ok(doc)
    }

    pub fn from_automerge(id: &str, doc: &AutoCommit) -> Result<ContactsDocument> {
        hydrate(doc).map_err(shape(id))
    }
}

/// What a door-to-door visit found.
#[derive(Clone, Debug, PartialEq, Eq, Reconcile, Hydrate, Serialize, Deserialize)]
pub enum VisitOutcome {
    /// 无事报平安: nothing to report.
    AllSafe,
    /// Something worth noting but no dispute (a household fact, a concern).
    Noted,
    /// A dispute was found and reported as `case`.
    Dispute { case: CaseId },
}

impl VisitOutcome {
    /// The outcome's code in the store's `visits` table: `all_safe`, `noted` or `dispute`.
    pub fn code(&self) -> &'static str {
        match self {
            VisitOutcome::AllSafe => "all_safe",
            VisitOutcome::Noted => "noted",
            VisitOutcome::Dispute { .. } => "dispute",
        }
    }

    /// The case a dispute found on the visit was reported as.
    pub fn case(&self) -> Option<&CaseId> {
        match self {
            VisitOutcome::Dispute { case } => Some(case),
            VisitOutcome::AllSafe | VisitOutcome::Noted => None,
        }
    }
}

/// One door-to-door visit (入户走访).
#[derive(Clone, Debug, PartialEq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Visit {
    pub id: VisitId,
    pub at: i64,
    pub actor: Actor,
    pub outcome: VisitOutcome,
    pub note: String,
}

/// A household (户) in a grid, with the facts the grid worker has learned and every visit.
#[derive(Clone, Debug, PartialEq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct HouseholdDocument {
    pub schema: u64,
    pub id: HouseholdId,
    pub grid: UnitId,
    #[serde(with = "crate::materialise::text")]
    pub address: Text,
    /// The head of household's name (户主).
    pub head: String,
    pub members: u64,
    /// Facts learned on visits (家庭基本信息, 夫妻子女相处情况…), edited collaboratively.
    #[serde(with = "crate::materialise::text")]
    pub notes: Text,
    pub visits: Vec<Visit>,
}

/// One household's automerge document.
#[derive(Debug)]
pub struct HouseholdDoc {
    id: HouseholdId,
    doc: AutoCommit,
}

impl HouseholdDoc {
    pub fn create(
        household: &HouseholdDocument,
        actor_id: &ActorId,
        now_ms: i64,
    ) -> Result<HouseholdDoc> {
        let mut doc = AutoCommit::new().with_actor(actor_id.clone());
        reconcile(&mut doc, household)?;
        commit(&mut doc, now_ms);
        Ok(HouseholdDoc {
            id: household.id.clone(),
            doc,
        })
    }

    pub fn load(id: HouseholdId, bytes: &[u8], actor_id: &ActorId) -> Result<HouseholdDoc> {
        let doc = load(&DocKind::Household.key(id.as_str()), bytes, actor_id)?;
        Ok(HouseholdDoc { id, doc })
    }

    /// Wraps an automerge document received from elsewhere.
    pub fn from_automerge(id: HouseholdId, doc: AutoCommit) -> HouseholdDoc {
        HouseholdDoc { id, doc }
    }

    pub fn read(&self) -> Result<HouseholdDocument> {
        hydrate(&self.doc).map_err(shape(self.id.as_str()))
    }

    /// Appends a visit.
    pub fn record_visit(&mut self, visit: &Visit, now_ms: i64) -> Result<()> {
        let list = list_obj(&self.doc, "visits", self.id.as_str())?;
        let len = self.doc.length(&list);
        reconcile_insert(&mut self.doc, list, len, visit)?;
        commit(&mut self.doc, now_ms);
        Ok(())
    }

    /// Replaces the household notes (a character-level diff, so concurrent edits merge).
    pub fn update_notes(&mut self, notes: &str, now_ms: i64) -> Result<()> {
        let mut text: Text =
            hydrate_prop(&self.doc, ROOT, "notes").map_err(shape(self.id.as_str()))?;
        text.update(notes);
        reconcile_prop(&mut self.doc, ROOT, "notes", &text)?;
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

mod visits;
pub use visits::{
    visit_from_json, VisitBookDoc, VisitBookDocument, VISIT_BOOK_SCHEMA, VOLUME_VISITS,
};

#[cfg(test)]
mod tests;
