//! Cases: reporting one (上报), recording workflow steps and edits, reading a case whole or its
//! summary, and the `cases`, `case_units`, `case_people` summary rows written with every save
//! (and the index of its parties, `case_parties` and `party_keys`, when they may have changed:
//! see `parties`).

use super::parties::{Contacts, PartyRow};
use super::CachedExecute;
use super::Store;
use crate::document::{CaseDoc, CaseEdit, ContactsDocument, DocKind, PartyContact};
use crate::error::{Error, Result};
use crate::identity::{Phone, ResidentId};
use crate::ids::{CaseId, EntryId, PartyId};
use crate::model::{Action, Actor, CaseDocument, NewCase, Party};
use crate::org::Directory;
use crate::rules;
use crate::summary::CaseSummary;
use crate::taxonomy::{CategoryCode, Taxonomy};
use crate::workflow::Folded;
use automerge::ActorId;
use automerge::ChangeHash;
use rusqlite::{params, OptionalExtension, Transaction};

/// Everything a case screen shows.
#[derive(Clone, Debug)]
pub struct CaseView {
    pub document: CaseDocument,
    pub folded: Folded,
    pub summary: CaseSummary,
    /// Parties' phones and ID numbers, unless erased or not held on this device.
    pub contacts: Option<ContactsDocument>,
}

/// A new case's documents, not yet stored ([`Store::new_case_docs`]).
pub struct NewCaseDocs {
    pub id: CaseId,
    pub doc: CaseDoc,
    pub contacts: ContactsDocument,
}

impl NewCaseDocs {
    /// The documents of a new case as `actor` reports it, written under the automerge actor
    /// `actor_id`, checked as [`Store::create_case`] checks a report, nothing stored: the
    /// case (its first entry the report, received by the centre nearest the place) and its
    /// parties' contacts. A server takes a case in for another system (a 12345 work order)
    /// this way, then checks and stores it as an upload.
    pub fn build(
        directory: &Directory,
        taxonomy: &Taxonomy,
        actor: &Actor,
        new: &NewCase,
        actor_id: &ActorId,
        now_ms: i64,
    ) -> Result<NewCaseDocs> {
        rules::check_actor(directory, actor)?;
        validate_new_case(new, taxonomy)?;
        rules::check_report_place(directory, actor, &new.place_unit)?;
        let place = directory
            .unit(&new.place_unit)
            .ok_or_else(|| Error::UnknownUnit(new.place_unit.clone()))?;
        let centre = directory
            .receiving_centre(&place.id)
            .ok_or_else(|| {
                Error::invalid(
                    "place",
                    format!("no centre receives cases from {}", place.name),
                )
            })?
            .id
            .clone();
        rules::check_action(
            directory,
            None,
            actor,
            &Action::Report {
                centre: centre.clone(),
                source: new.source,
            },
            now_ms,
        )?;
        let id = CaseId::generate();
        let mut parties = Vec::new();
        let mut contacts = ContactsDocument {
            case: id.clone(),
            parties: Default::default(),
        };
        for p in &new.parties {
            let pid = PartyId::generate();
            // Kept in their canonical forms (checked above): a phone as its digits, an ID
            // number in 18 characters (a 15-digit one upgraded), so that every reader agrees.
            fn written(v: &Option<String>) -> Option<&str> {
                v.as_deref().map(str::trim).filter(|v| !v.is_empty())
            }
            contacts.parties.insert(
                pid.to_string(),
                PartyContact {
                    // (A number with an extension is kept as written: its digits would lose it.)
                    phone: written(&p.phone).map(|t| match Phone::parse(t) {
                        Ok(n) if n.extension().is_none() => n.as_str().to_owned(),
                        _ => t.to_owned(),
                    }),
                    id_number: written(&p.id_number).map(|t| {
                        ResidentId::parse(t)
                            .map_or_else(|_| t.to_owned(), |n| n.as_str().to_owned())
                    }),
                },
            );
            parties.push(Party {
                id: pid,
                name: p.name.trim().to_owned(),
                role: p.role,
            });
        }
        let path = directory.path(&place.id);
        let doc = CaseDoc::create(
            id.clone(),
            new,
            parties,
            path,
            centre,
            actor,
            actor_id,
            now_ms,
        )?;
        Ok(NewCaseDocs { id, doc, contacts })
    }
}

impl std::fmt::Debug for NewCaseDocs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewCaseDocs").field("id", &self.id).finish()
    }
}

impl Store {
    /// Reports a new dispute (上报): creates the case and its contacts document, received by the
    /// centre nearest the place. Returns the new case's id.
    pub fn create_case(&mut self, actor: &Actor, new: &NewCase, now_ms: i64) -> Result<CaseId> {
        let NewCaseDocs {
            id,
            mut doc,
            contacts,
        } = self.new_case_docs(actor, new, &self.actor_id, now_ms)?;
        let (summary, party_rows) = self.summarise_parties(&doc)?;
        let mut contacts_doc = contacts.to_automerge(&self.actor_id)?;
        self.write(|tx| -> Result<()> {
            Self::insert_document(
                tx,
                &DocKind::Case.key(id.as_str()),
                DocKind::Case,
                doc.automerge(),
                true,
                now_ms,
            )?;
            Self::insert_document(
                tx,
                &DocKind::Contacts.key(id.as_str()),
                DocKind::Contacts,
                &mut contacts_doc,
                true,
                now_ms,
            )?;
            Self::write_summary(tx, &summary)?;
            Self::index_parties(
                tx,
                id.as_str(),
                party_rows,
                Contacts::Known(Some(&contacts)),
            )?;
            Ok(())
        })?;
        Ok(id)
    }

    /// The documents of a new case as `actor` reports it ([`NewCaseDocs::build`] with this
    /// store's directory and taxonomy), nothing stored.
    pub fn new_case_docs(
        &self,
        actor: &Actor,
        new: &NewCase,
        actor_id: &ActorId,
        now_ms: i64,
    ) -> Result<NewCaseDocs> {
        NewCaseDocs::build(
            &self.directory,
            &self.taxonomy,
            actor,
            new,
            actor_id,
            now_ms,
        )
    }

    /// Records a workflow step on a case, durably, if the rules allow it.
    pub fn act(
        &mut self,
        case: &CaseId,
        actor: &Actor,
        action: Action,
        now_ms: i64,
    ) -> Result<EntryId> {
        let mut doc = self.load_case(case)?;
        // The document is read once: reading (hydrating) costs more than everything else here.
        let mut document = doc.read()?;
        let folded = crate::workflow::fold(&document.timeline);
        rules::check_action(
            &self.directory,
            folded.state.as_ref(),
            actor,
            &action,
            now_ms,
        )?;
        rules::check_agreement(&document.parties, &document.attachments, actor, &action)?;
        let before = doc.heads();
        let entry = doc.append(&mut document.timeline, &folded, actor, action, now_ms)?;
        let folded = crate::workflow::fold(&document.timeline);
        let summary = CaseSummary::compute(&document, &folded, &self.directory);
        // A step never changes the parties (an erasure of their contacts is the summary's).
        self.write_case(&mut doc, &before, &summary, None, true, now_ms)?;
        Ok(entry)
    }

    /// Edits a case's fields, durably.
    pub fn edit(
        &mut self,
        case: &CaseId,
        actor: &Actor,
        edit: &CaseEdit,
        now_ms: i64,
    ) -> Result<EntryId> {
        rules::check_actor(&self.directory, actor)?;
        if let Some(c) = &edit.category {
            if !self.taxonomy.contains(&CategoryCode::from(c.as_str())) {
                return Err(Error::UnknownCategory(c.clone()));
            }
        }
        let mut doc = self.load_case(case)?;
        let before = doc.heads();
        let entry = doc.edit(actor, edit, now_ms)?;
        self.save_case(&mut doc, &before, true, now_ms)?;
        Ok(entry)
    }

    pub(super) fn save_case(
        &mut self,
        doc: &mut CaseDoc,
        before: &[ChangeHash],
        local: bool,
        now_ms: i64,
    ) -> Result<()> {
        let (summary, parties) = self.summarise_parties(doc)?;
        self.write_case(doc, before, &summary, Some(parties), local, now_ms)
    }

    /// Appends a case's new changes and its summary in one transaction, and brings the index of
    /// its parties to `parties` when they may have changed (`None`: they did not).
    pub(super) fn write_case(
        &mut self,
        doc: &mut CaseDoc,
        before: &[ChangeHash],
        summary: &CaseSummary,
        parties: Option<Vec<PartyRow>>,
        local: bool,
        now_ms: i64,
    ) -> Result<()> {
        let key = DocKind::Case.key(doc.id().as_str());
        self.write(|tx| -> Result<()> {
            Self::append_changes(tx, &key, doc.automerge(), before, local, now_ms)?;
            Self::write_summary(tx, summary)?;
            if let Some(parties) = parties {
                Self::index_parties(
                    tx,
                    summary.id.as_str(),
                    parties,
                    Contacts::stored_unless_erased(summary),
                )?;
            }
            Ok(())
        })
    }

    /// A case with its timeline, state and contacts.
    pub fn case(&self, id: &CaseId) -> Result<CaseView> {
        let doc = self.load_case(id)?;
        let document = doc.read()?;
        let folded = crate::workflow::fold(&document.timeline);
        let summary = CaseSummary::compute(&document, &folded, &self.directory);
        let contacts = match self.load_automerge(&DocKind::Contacts.key(id.as_str()))? {
            Some(d) => Some(ContactsDocument::from_automerge(id.as_str(), &d)?),
            None => None,
        };
        Ok(CaseView {
            document,
            folded,
            summary,
            contacts,
        })
    }

    /// The summary of one case, without loading its document.
    pub fn summary(&self, id: &CaseId) -> Result<CaseSummary> {
        let json: String = self
            .conn
            .prepare_cached("SELECT summary FROM cases WHERE id = ?1")?
            .query_row([id.as_str()], |r| r.get(0))
            .optional()?
            .ok_or_else(|| Error::UnknownCase(id.clone()))?;
        Ok(serde_json::from_str(&json)?)
    }

    /// Erases a case's contact details (phones, ID numbers) as centre staff (删除联系方式):
    /// an entry on the case's timeline says who did it and why, and the contacts document is
    /// dropped whole with any unsent changes to it, in the same transaction. Every replica that
    /// receives the entry drops its copy too. The case and its history stay.
    pub fn erase_contacts(
        &mut self,
        id: &CaseId,
        actor: &Actor,
        reason: &str,
        now_ms: i64,
    ) -> Result<EntryId> {
        self.act(
            id,
            actor,
            Action::EraseContacts {
                reason: reason.trim().to_owned(),
            },
            now_ms,
        )
    }

    pub(super) fn summarise(&self, doc: &CaseDoc) -> Result<CaseSummary> {
        let document = doc.read()?;
        let folded = crate::workflow::fold(&document.timeline);
        Ok(CaseSummary::compute(&document, &folded, &self.directory))
    }

    /// A case's summary and its parties as the index holds them (without their contacts), from
    /// one read of the document.
    pub(super) fn summarise_parties(&self, doc: &CaseDoc) -> Result<(CaseSummary, Vec<PartyRow>)> {
        let document = doc.read()?;
        let folded = crate::workflow::fold(&document.timeline);
        Ok((
            CaseSummary::compute(&document, &folded, &self.directory),
            Self::party_rows(&self.directory, &document),
        ))
    }

    pub(super) fn write_summary(tx: &Transaction<'_>, summary: &CaseSummary) -> Result<()> {
        let id = summary.id.as_str();
        if summary.contacts_erased_at.is_some() {
            // Staff erased the parties' contact details: the contacts document goes, with
            // anything of it waiting to be sent, in the same transaction as the case.
            let contacts = DocKind::Contacts.key(id);
            for sql in [
                "DELETE FROM document_chunks WHERE key = ?1",
                "DELETE FROM documents WHERE key = ?1",
                "DELETE FROM outbox WHERE key = ?1",
                "DELETE FROM rejected WHERE key = ?1",
            ] {
                tx.exec(sql, [&contacts])?;
            }
            // And the parties' ID numbers and phones with it; their names stay indexed.
            Self::erase_party_contacts(tx, id)?;
        }
        tx.exec(
            "INSERT INTO cases(id, status, category, responsible_unit, reported_at, due_at,
                               due_soon_at, handled, conflicts, party_names, summary,
                               supervised_at, order_sign_by, order_reply_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
             ON CONFLICT(id) DO UPDATE SET status = ?2, category = ?3, responsible_unit = ?4,
                 reported_at = ?5, due_at = ?6, due_soon_at = ?7, handled = ?8, conflicts = ?9,
                 party_names = ?10, summary = ?11, supervised_at = ?12, order_sign_by = ?13,
                 order_reply_by = ?14",
            params![
                id,
                summary.status.code(),
                summary.category,
                summary.responsible_unit.as_str(),
                summary.reported_at,
                summary.due_at,
                summary.due_soon_at,
                summary.is_handled(),
                summary.conflicts,
                summary.party_names.join("\u{1f}"),
                serde_json::to_string(summary)?,
                summary.supervised.as_ref().map(|s| s.at),
                summary.order.as_ref().and_then(|o| o.sign_owed()),
                summary.order.as_ref().and_then(|o| o.reply_owed()),
            ],
        )?;
        tx.exec("DELETE FROM case_units WHERE case_id = ?1", [id])?;
        tx.exec("DELETE FROM case_people WHERE case_id = ?1", [id])?;
        let mut units =
            tx.prepare_cached("INSERT INTO case_units(unit, case_id) VALUES (?1, ?2)")?;
        for u in &summary.units {
            units.execute([u.as_str(), id])?;
        }
        let mut people = tx.prepare_cached(
            "INSERT INTO case_people(person, case_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        )?;
        for p in summary.assignee_people.iter().chain([&summary.reporter]) {
            people.execute([p.as_str(), id])?;
        }
        Ok(())
    }
}

/// Checks a new report's fields; messages name the field, in the interface's language.
fn validate_new_case(new: &NewCase, taxonomy: &Taxonomy) -> Result<()> {
    use crate::validate::Problem;
    match crate::validate::new_case(new, taxonomy).into_iter().next() {
        None => Ok(()),
        Some(p) if p.problem == Problem::UnknownCategory => {
            Err(Error::UnknownCategory(new.category.clone()))
        }
        Some(p) => Err(p.into()),
    }
}
