//! What a replica accepts from another: the checks a server runs on every uploaded change before
//! it stores anything.
//!
//! A case's timeline is the official, attributable record of who did what (网上留痕), and every
//! change arrives from a device that may have been tampered with. Checking each change against
//! its author's view is not enough: automerge resolves a conflict on a map key by op order, so a
//! change built on an old view (or none) that puts a new `timeline` wins over the real one. So
//! the guard reads the *operations* of each change and admits only the ones an honest device
//! writes, by the role of the object they touch:
//!
//! | object | what a change after the report may do to it |
//! |---|---|
//! | the case (root map) | put `category` (a string); nothing else: no part of a case is ever replaced |
//! | `title`, `narrative`, `place.address` (text) | insert and delete characters |
//! | `place` | put `gps` (a new `{lat, lon}` map, or null) |
//! | `place.gps` | put `lat`, `lon` (f64) |
//! | `parties` | insert a new party; delete one (an edit naming `parties`) |
//! | a party | put `name`, `role` (strings) |
//! | `attachments` | insert a new attachment |
//! | `timeline` | insert exactly one new entry per change |
//! | entries, attachments, `place.unit`, `place.unit_path`, `id`, `schema`, `created_at` | nothing: fixed once written |
//!
//! Objects a change creates (the new entry, party, attachment or position) are filled in by the
//! same change and then never touched again except as the table says; each is read back from the
//! merged document and must hydrate into the model *exactly*: no unknown key, no missing one, and
//! every value of the automerge type the model writes (text vs string, uint vs int…), see
//! [`exact`]. A new case is its creating change alone (the only change with no dependencies),
//! read back exactly in the same way. Contacts, household documents and volumes of visits have
//! tables of their own ([`check_contacts`], [`check_household`], [`check_visit_book`]).
//!
//! Then the meaning: each change's entry is signed by the sender's person (or, for a child
//! server relaying its devices' work, by a person of its area) in a role they hold, names as its
//! `base` the last entry of its author's view, is allowed by the workflow in that view, carries a
//! time the server can believe ([`Limits::clock_skew_ms`]), and edits only the fields it names.
//! Entry ids are unique in the merged timeline. A report is placed where its author may report
//! and received by the centre the directory names.
//!
//! # Cost
//! Linear in the upload: each operation is looked at once; the role of an object that existed
//! before is looked up once per upload; each new object is read back alone. The author's view of
//! a change is the state after the change it depends on, carried forward one entry at a time
//! ([`workflow::advance`]); only a change that merges several branches, or starts from an old
//! view, needs the timeline read at its dependencies, and a sender may ask for at most
//! [`Limits::max_view_reads`] of those per document and request.

use crate::document::VISIT_BOOK_SCHEMA;
use crate::document::{
    ContactsDocument, HouseholdDocument, Visit, VisitBookDoc, VisitBookDocument,
};
use crate::ids::{CaseId, PartyId, PersonId, UnitId};
use crate::materialise;
use crate::model::{
    Action, Attachment, CaseDocument, Gps, NewCase, NewParty, Party, TimelineEntry,
    ATTACHMENT_TYPES, CASE_SCHEMA, HOUSEHOLD_SCHEMA, MAX_ATTACHMENT_BYTES,
};
use crate::org::Directory;
use crate::protocol::ErrorCode;
use crate::rules;
use crate::taxonomy::{CategoryCode, Taxonomy};
use crate::validate;
use crate::workflow::{self, CaseState};
use automerge::hydrate::Value as Hydrated;
use automerge::legacy::{Key, ObjectId, OpId, OpType};
use automerge::{AutoCommit, Change, ChangeHash, ObjType, Prop, ReadDoc, ScalarValue, ROOT};
use autosurgeon::Reconcile;
use serde::de::DeserializeOwned;
use std::collections::{BTreeSet, HashMap, HashSet};

/// The earliest time any entry may carry (2020-01-01 UTC): a phone whose clock reads earlier is
/// wrong.
pub const EARLIEST_MS: i64 = 1_577_836_800_000;

/// The longest address and party name accepted, in characters.
pub const ADDRESS_MAX: usize = 200;
pub const NAME_MAX: usize = 50;

/// Bounds of what the guard accepts.
#[derive(Clone, Debug)]
pub struct Limits {
    /// How far ahead of the server's clock an entry's time may be (phones' clocks drift), and
    /// how far before the case's creation.
    pub clock_skew_ms: i64,
    /// How many changes of one document in one request may start from a view that is not the
    /// stored document's or the previous change's (each costs a read of the document).
    pub max_view_reads: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            clock_skew_ms: 24 * 3_600_000,
            max_view_reads: 64,
        }
    }
}

/// Who sent the changes.
#[derive(Clone, Copy, Debug)]
pub enum Sender<'a> {
    /// A device enrolled for this person.
    Person(&'a PersonId),
    /// A child server relaying its area's work: entries must be signed by people of `unit`.
    Server(&'a UnitId),
}

/// Everything the checks need besides the document.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    pub directory: &'a Directory,
    pub taxonomy: &'a Taxonomy,
    pub sender: Sender<'a>,
    pub now_ms: i64,
    pub limits: &'a Limits,
}

/// Why an upload was refused: a protocol code and a message that names the problem.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Refusal {
    pub code: ErrorCode,
    pub message: String,
}

fn bad(message: impl Into<String>) -> Refusal {
    Refusal {
        code: ErrorCode::BadDocument,
        message: message.into(),
    }
}

impl From<crate::Error> for Refusal {
    fn from(e: crate::Error) -> Refusal {
        Refusal {
            code: e.protocol_code(),
            message: e.to_string(),
        }
    }
}

type Checked<T> = Result<T, Refusal>;

/// What a document held before the upload and what it holds after.
#[derive(Debug)]
pub struct Merged<'a> {
    /// The merged document.
    pub doc: &'a AutoCommit,
    /// Its heads before the upload (empty for a new document).
    pub before: &'a [ChangeHash],
    /// The upload's changes the document did not have, in causal order.
    pub new: &'a [Change],
}

// ----- exactness -----

/// Reads `value` as a `T` and holds it to what `T` writes: the same keys, and every value of the
/// same automerge type. autosurgeon (and `materialise`) are lenient readers: they ignore unknown
/// keys and some read a text where a string is expected; a document that passes here reads the
/// same on every client.
pub fn exact<T: DeserializeOwned + Reconcile>(value: &Hydrated, what: &str) -> Checked<T> {
    let parsed: T = serde_json::from_value(materialise::to_json(value))
        .map_err(|e| bad(format!("{what} is not well formed: {e}")))?;
    // A scratch document per thread, cloned empty (a new one draws a random actor each time).
    let mut fresh = SCRATCH.with(|d| d.clone());
    autosurgeon::reconcile(&mut fresh, &parsed)
        .map_err(|e| bad(format!("{what} cannot be written back: {e}")))?;
    let canonical = fresh
        .hydrate(ROOT, None)
        .map_err(|e| bad(format!("{what}: {e}")))?;
    same(value, &canonical, what)?;
    Ok(parsed)
}

thread_local! {
    static SCRATCH: AutoCommit = AutoCommit::new().with_actor(automerge::ActorId::from(&[0u8; 16][..]));
}

fn type_name(v: &Hydrated) -> &'static str {
    match v {
        Hydrated::Map(_) => "a map",
        Hydrated::List(_) => "a list",
        Hydrated::Text(_) => "collaborative text",
        Hydrated::Scalar(s) => match s {
            ScalarValue::Str(_) => "a string",
            ScalarValue::Int(_) => "an int",
            ScalarValue::Uint(_) => "a uint",
            ScalarValue::F64(_) => "an f64",
            ScalarValue::Boolean(_) => "a boolean",
            ScalarValue::Null => "null",
            ScalarValue::Bytes(_) => "bytes",
            ScalarValue::Counter(_) => "a counter",
            ScalarValue::Timestamp(_) => "a timestamp",
            ScalarValue::Unknown { .. } => "an unknown value",
        },
    }
}

fn same(found: &Hydrated, want: &Hydrated, at: &str) -> Checked<()> {
    let mismatch = || {
        bad(format!(
            "{at} is {} where the model has {}",
            type_name(found),
            type_name(want)
        ))
    };
    match (found, want) {
        (Hydrated::Map(f), Hydrated::Map(w)) => {
            for (k, _) in f.iter() {
                if w.get(k).is_none() {
                    return Err(bad(format!("{at} has the unknown key `{}`", escape(k))));
                }
            }
            for (k, wv) in w.iter() {
                match f.get(k) {
                    Some(fv) => same(fv, &wv.value, &format!("{at}.{k}"))?,
                    None => return Err(bad(format!("{at} lacks `{k}`"))),
                }
            }
            Ok(())
        }
        (Hydrated::List(f), Hydrated::List(w)) => {
            if f.len() != w.len() {
                return Err(bad(format!("{at} does not read back the same")));
            }
            for (i, (fv, wv)) in f.iter().zip(w.iter()).enumerate() {
                same(&fv.value, &wv.value, &format!("{at}[{i}]"))?;
            }
            Ok(())
        }
        (Hydrated::Text(f), Hydrated::Text(w)) if String::from(f) == String::from(w) => Ok(()),
        (Hydrated::Scalar(f), Hydrated::Scalar(w)) if f == w => Ok(()),
        (Hydrated::Scalar(ScalarValue::F64(f)), Hydrated::Scalar(ScalarValue::F64(w)))
            if f.to_bits() == w.to_bits() =>
        {
            Ok(())
        }
        _ => Err(mismatch()),
    }
}

/// Text from a device, safe to put in a message, a log line or a terminal
/// ([`crate::terminal::escape`]), and clipped to 80 characters.
pub fn escape(s: &str) -> String {
    let clipped: String = s.chars().take(80).collect();
    let mut out = crate::terminal::escape(&clipped).into_owned();
    if s.chars().count() > 80 {
        out.push('…');
    }
    out
}

// ----- objects and their roles -----

/// What an object is in its document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Root,
    // case
    Title,
    Narrative,
    Place,
    Address,
    UnitPath,
    Gps,
    Parties,
    Party,
    Attachments,
    Attachment,
    Timeline,
    Entry,
    /// Inside an entry (its actor, its action…).
    EntryPart,
    // contacts
    ContactParties,
    ContactParty,
    // household
    Notes,
    Visits,
    Visit,
    VisitPart,
    /// Anything the model does not have.
    Unknown,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Case,
    Contacts,
    Household,
    VisitBook,
}

/// The role of the object at `prop` of an object of role `parent`.
fn child(kind: Kind, parent: Role, prop: Option<&str>) -> Role {
    use Role::*;
    match (kind, parent, prop) {
        (Kind::Case, Root, Some("title")) => Title,
        (Kind::Case, Root, Some("narrative")) => Narrative,
        (Kind::Case, Root, Some("place")) => Place,
        (Kind::Case, Root, Some("parties")) => Parties,
        (Kind::Case, Root, Some("attachments")) => Attachments,
        (Kind::Case, Root, Some("timeline")) => Timeline,
        (_, Place, Some("address")) => Address,
        (_, Place, Some("unit_path")) => UnitPath,
        (_, Place, Some("gps")) => Gps,
        (_, Parties, None) => Party,
        (_, Attachments, None) => Attachment,
        (_, Timeline, None) => Entry,
        (_, Entry | EntryPart, _) => EntryPart,
        (Kind::Contacts, Root, Some("parties")) => ContactParties,
        (_, ContactParties, Some(_)) => ContactParty,
        (Kind::Household, Root, Some("address")) => Address,
        (Kind::Household, Root, Some("notes")) => Notes,
        (Kind::Household | Kind::VisitBook, Root, Some("visits")) => Visits,
        (_, Visits, None) => Visit,
        (_, Visit | VisitPart, _) => VisitPart,
        _ => Unknown,
    }
}

/// An op id as automerge's object ids spell it.
fn exid_string(id: &OpId) -> String {
    format!("{}@{}", id.counter(), id.actor().to_hex_string())
}

/// Resolves objects to roles: those the upload creates as they are created, those that existed
/// by their path in the merged document (once each).
struct Roles<'a> {
    kind: Kind,
    doc: &'a AutoCommit,
    /// Objects created by the upload: their role and the change that created them.
    created: HashMap<OpId, (Role, ChangeHash)>,
    /// Objects that existed: their role.
    known: HashMap<OpId, Role>,
}

impl<'a> Roles<'a> {
    fn new(kind: Kind, doc: &'a AutoCommit) -> Self {
        Roles {
            kind,
            doc,
            created: HashMap::new(),
            known: HashMap::new(),
        }
    }

    /// The role of `obj`, and the change of this upload that created it, if one did.
    fn of(&mut self, obj: &ObjectId) -> Checked<(Role, Option<ChangeHash>)> {
        let id = match obj {
            ObjectId::Root => return Ok((Role::Root, None)),
            ObjectId::Id(id) => id,
        };
        if let Some((role, by)) = self.created.get(id) {
            return Ok((*role, Some(*by)));
        }
        if let Some(role) = self.known.get(id) {
            return Ok((*role, None));
        }
        let exid = self.doc.import_obj(&exid_string(id)).map_err(|_| {
            bad(format!(
                "a change refers to object {} that does not exist",
                exid_string(id)
            ))
        })?;
        let path = self
            .doc
            .parents(&exid)
            .map_err(|_| {
                bad(format!(
                    "a change refers to object {} that does not exist",
                    exid_string(id)
                ))
            })?
            .path();
        let mut role = Role::Root;
        for (_, prop) in &path {
            role = match prop {
                Prop::Map(k) => child(self.kind, role, Some(k)),
                Prop::Seq(_) => child(self.kind, role, None),
            };
        }
        self.known.insert(id.clone(), role);
        Ok((role, None))
    }
}

/// One operation, as the tables read it.
enum Op<'o> {
    /// Put a scalar on a map key.
    Put(&'o str, &'o ScalarValue),
    /// Make an object on a map key.
    Make(&'o str, ObjType),
    /// Insert a scalar into a sequence (a character into a text).
    InsertScalar,
    /// Insert an object into a sequence.
    InsertObject(ObjType),
    /// Delete a map key or a sequence element.
    Delete,
    /// Anything else (overwriting a sequence element, counters, marks).
    Other,
}

fn classify(op: &automerge::legacy::Op) -> Op<'_> {
    match (&op.key, &op.action, op.insert) {
        (Key::Map(k), OpType::Put(v), false) => Op::Put(k.as_str(), v),
        (Key::Map(k), OpType::Make(t), false) => Op::Make(k.as_str(), *t),
        (Key::Seq(_), OpType::Put(_), true) if op.pred.is_empty() => Op::InsertScalar,
        (Key::Seq(_), OpType::Make(t), true) if op.pred.is_empty() => Op::InsertObject(*t),
        (_, OpType::Delete, false) => Op::Delete,
        _ => Op::Other,
    }
}

/// The objects one change creates at the top of something new (an entry, a party…), in order.
type NewObjects = Vec<(Role, OpId)>;

/// A table of what may be done to an object that existed before the change: the field an op
/// edits (`Ok(Some)`), none (`Ok(None)`), or why it is refused.
type Table = dyn Fn(Role, &Op<'_>) -> Result<Option<&'static str>, String>;

/// Reads the operations of `change`: records the objects it creates, and returns the objects it
/// creates at the top of something new and the fields it edits. `allowed` says, for an op on an
/// object that existed before this change, which field it edits (`Ok(Some)`), that it edits none
/// (`Ok(None)`), or why it is refused.
fn read_ops(
    roles: &mut Roles<'_>,
    change: &Change,
    allowed: &Table,
) -> Checked<(NewObjects, BTreeSet<&'static str>)> {
    let hash = change.hash();
    let expanded = change.decode();
    let actor = expanded.actor_id.clone();
    let start = u64::from(expanded.start_op);
    let mut tops = Vec::new();
    let mut fields = BTreeSet::new();
    for (i, op) in expanded.operations.iter().enumerate() {
        let (role, created_by) = roles.of(&op.obj)?;
        let class = classify(op);
        let prop = match &op.key {
            Key::Map(k) => Some(k.as_str()),
            Key::Seq(_) => None,
        };
        if created_by == Some(hash) {
            // Inside something this change creates: filled in freely, checked whole below.
            if matches!(class, Op::Other) {
                return Err(bad("a change uses an operation the model never writes"));
            }
        } else {
            match allowed(role, &class) {
                Ok(Some(field)) => {
                    fields.insert(field);
                }
                Ok(None) => {}
                Err(why) => return Err(bad(why)),
            }
        }
        if let OpType::Make(t) = &op.action {
            if *t == ObjType::Table {
                return Err(bad("a change makes a table, which the model never has"));
            }
            let made = child(roles.kind, role, prop);
            let id = OpId::new(start + i as u64, &actor);
            if created_by != Some(hash) {
                tops.push((made, id.clone()));
            }
            roles.created.insert(id, (made, hash));
        }
    }
    Ok((tops, fields))
}

/// Reads one object the upload created, exactly as a `T`.
fn read_new<T: DeserializeOwned + Reconcile>(
    doc: &AutoCommit,
    id: &OpId,
    what: &str,
) -> Checked<T> {
    let exid = doc
        .import_obj(&exid_string(id))
        .map_err(|_| bad(format!("{what} cannot be found")))?;
    let value = doc
        .hydrate(exid, None)
        .map_err(|e| bad(format!("{what} cannot be read: {e}")))?;
    exact(&value, what)
}

/// The sender may sign as `person`.
fn signs_as(cx: &Context<'_>, person: &PersonId) -> Checked<()> {
    let ok = match cx.sender {
        Sender::Person(p) => p == person,
        Sender::Server(unit) => cx
            .directory
            .person(person)
            .is_some_and(|p| cx.directory.is_within(&p.unit, unit)),
    };
    if ok {
        return Ok(());
    }
    let who = match cx.sender {
        Sender::Person(p) => format!("this device belongs to {p}"),
        Sender::Server(u) => format!("this server relays only people of {u}"),
    };
    Err(Refusal {
        code: ErrorCode::WrongAuthor,
        message: format!(
            "the entry is signed by {}, but {who}",
            escape(person.as_str())
        ),
    })
}

/// Whether a server relays an entry of another system above it: a work order the city's 12345
/// platform (registered at the county) dispatched to the township, which the township then
/// escalates. The platform's credential is held at the township's server, which writes its
/// orders; the entry is accepted as the platform's when it is signed in the intake role (which
/// may only report and dispatch, checked next) by a person whose unit holds the relaying
/// server's.
fn relays_intake(cx: &Context<'_>, actor: &crate::model::Actor) -> bool {
    match cx.sender {
        Sender::Server(unit) => {
            actor.role == crate::org::Role::Intake
                && cx
                    .directory
                    .person(&actor.person)
                    .is_some_and(|p| cx.directory.is_within(unit, &p.unit))
        }
        Sender::Person(_) => false,
    }
}

/// The actor is who they say, by the directory: role held in the unit, and the name it gives.
fn check_signer(cx: &Context<'_>, actor: &crate::model::Actor) -> Checked<()> {
    if !relays_intake(cx, actor) {
        signs_as(cx, &actor.person)?;
    }
    rules::check_actor(cx.directory, actor)?;
    let known = cx.directory.person(&actor.person).map(|p| p.name.as_str());
    if known != Some(actor.name.as_str()) {
        return Err(Refusal {
            code: ErrorCode::WrongAuthor,
            message: format!(
                "the entry names its author “{}”, but the directory names {} “{}”",
                escape(&actor.name),
                actor.person,
                known.unwrap_or_default()
            ),
        });
    }
    Ok(())
}

/// A time written by a device: after [`EARLIEST_MS`] and `not_before`, and not ahead of the
/// server's clock by more than the skew allowed.
fn check_time(cx: &Context<'_>, what: &str, at: i64, not_before: i64) -> Checked<()> {
    let latest = cx.now_ms.saturating_add(cx.limits.clock_skew_ms);
    let earliest = EARLIEST_MS.max(not_before.saturating_sub(cx.limits.clock_skew_ms));
    if at > latest {
        return Err(bad(format!(
            "{what} is dated {} ms after this server's clock; the device's clock is wrong (set its date and time, then try again)",
            at.saturating_sub(cx.now_ms)
        )));
    }
    if at < earliest {
        return Err(bad(format!(
            "{what} is dated before the case or the system existed; the device's clock is wrong (set its date and time, then try again)"
        )));
    }
    Ok(())
}

fn text_len(problem: Option<validate::FieldProblem>) -> Checked<()> {
    match problem {
        None => Ok(()),
        Some(p) => Err(bad(format!(
            "the case's {}: {} ({})",
            p.field,
            p.problem.en(),
            p.problem.zh()
        ))),
    }
}

fn check_name(what: &str, name: &str) -> Checked<()> {
    if name.trim().is_empty() {
        return Err(bad(format!("{what} needs a name")));
    }
    if name.chars().count() > NAME_MAX {
        return Err(bad(format!("{what}: at most {NAME_MAX} characters")));
    }
    Ok(())
}

// ----- cases -----

/// Which field of a case an op on an existing object edits, or why it may not be made.
fn case_op(role: Role, op: &Op<'_>) -> Result<Option<&'static str>, String> {
    use Role::*;
    match (role, op) {
        (Root, Op::Put("category", ScalarValue::Str(_))) => Ok(Some("category")),
        (Root, Op::Put(k, _) | Op::Make(k, _)) if *k == "category" => {
            Err("`category` is a string".to_owned())
        }
        (Root, Op::Make(k, _)) => Err(format!(
            "a change replaces the case's `{}`; a case's parts are never replaced, only edited",
            escape(k)
        )),
        (Root, _) => Err(
            "a change alters the case itself; after the report only its category, texts, position, parties and attachments are edited, and the timeline grows"
                .to_owned(),
        ),
        (Title, Op::InsertScalar | Op::Delete) => Ok(Some("title")),
        (Narrative, Op::InsertScalar | Op::Delete) => Ok(Some("narrative")),
        (Address, Op::InsertScalar | Op::Delete) => Ok(Some("address")),
        (Title | Narrative | Address, _) => {
            Err("a text is edited by inserting and deleting characters only".to_owned())
        }
        (Place, Op::Put("gps", ScalarValue::Null) | Op::Make("gps", ObjType::Map)) => {
            Ok(Some("gps"))
        }
        (Place, _) => Err(
            "the place of a case is fixed once reported; only its address and position are edited"
                .to_owned(),
        ),
        (Gps, Op::Put("lat" | "lon", ScalarValue::F64(_))) => Ok(Some("gps")),
        (Gps, _) => Err("a position has only `lat` and `lon`, both f64".to_owned()),
        (Parties, Op::InsertObject(ObjType::Map) | Op::Delete) => Ok(Some("parties")),
        (Parties, _) => Err("parties are added or removed whole".to_owned()),
        (Party, Op::Put("name" | "role", ScalarValue::Str(_))) => Ok(Some("parties")),
        (Party, _) => Err("a party's name and role are strings, and its id never changes".to_owned()),
        (Attachments, Op::InsertObject(ObjType::Map)) => Ok(Some("attachments")),
        (Attachments | Attachment, _) => {
            Err("attachments are only added: a change may not remove or alter one".to_owned())
        }
        (Timeline, Op::InsertObject(ObjType::Map)) => Ok(None),
        (Timeline | Entry | EntryPart, _) => Err(
            "the timeline only grows: a change may append an entry, never remove, replace or alter one"
                .to_owned(),
        ),
        (UnitPath, _) => Err("the place of a case is fixed once reported".to_owned()),
        _ => Err("a change writes where the model has nothing".to_owned()),
    }
}

/// The fields an edit entry may name.
pub const EDIT_FIELDS: [&str; 7] = [
    "title",
    "narrative",
    "category",
    "address",
    "gps",
    "parties",
    "attachments",
];

/// The views changes were made in, carried forward from change to change.
struct Views {
    /// The state after each change of the upload, until every change built on it is checked.
    after: HashMap<ChangeHash, (Option<CaseState>, usize)>,
    before: Vec<ChangeHash>,
    /// The state of the stored document (read when first needed).
    stored: Option<Option<CaseState>>,
    reads: usize,
}

/// Checks the new changes of a case. `merged_case` is the merged document as read for its
/// summary.
pub fn check_case(
    cx: &Context<'_>,
    m: &Merged<'_>,
    id: &str,
    merged_case: &CaseDocument,
) -> Checked<()> {
    // Entry ids are unique in the merged timeline (a duplicate would replace an entry in every
    // reader keyed by id).
    let mut ids = HashSet::new();
    for e in &merged_case.timeline {
        if !ids.insert(e.id.as_str()) {
            return Err(bad(format!(
                "two timeline entries share the id {}; entry ids are unique",
                escape(e.id.as_str())
            )));
        }
    }
    let mut party_ids = HashSet::new();
    for p in &merged_case.parties {
        if !party_ids.insert(p.id.as_str()) {
            return Err(bad("two parties share an id"));
        }
    }
    let mut attachment_ids = HashSet::new();
    for a in &merged_case.attachments {
        if !attachment_ids.insert(a.id.as_str()) {
            return Err(bad("two attachments share an id"));
        }
    }
    let mut roles = Roles::new(Kind::Case, m.doc);
    // How many changes of the upload build on each change (so a view is dropped once used).
    let mut builds_on: HashMap<ChangeHash, usize> = HashMap::new();
    for c in m.new {
        for d in c.deps() {
            *builds_on.entry(*d).or_default() += 1;
        }
    }
    let mut views = Views {
        after: HashMap::new(),
        before: sorted(m.before),
        stored: None,
        reads: 0,
    };
    let mut created_at = merged_case.created_at;
    let mut new_entries: HashSet<String> = HashSet::new();
    let mut checked: Vec<(&Change, TimelineEntry, BTreeSet<&'static str>, NewObjects)> =
        Vec::with_capacity(m.new.len());
    for c in m.new {
        if c.deps().is_empty() {
            if !m.before.is_empty() || !checked.is_empty() {
                return Err(bad(
                    "a change with no history creates a case, and this case exists already",
                ));
            }
            let (entry, case) = check_report(cx, m.doc, c, id)?;
            created_at = case.created_at;
            new_entries.insert(entry.id.to_string());
            let state = workflow::advance(None, &entry).map_err(crate::Error::from)?;
            views.after.insert(
                c.hash(),
                (Some(state), builds_on.get(&c.hash()).copied().unwrap_or(0)),
            );
            // Later changes find the report's objects by their path: its entry is fixed, its
            // texts and parties editable as the table says.
            continue;
        }
        if m.before.is_empty() && checked.is_empty() && views.after.is_empty() {
            return Err(bad("a new case must begin with its report"));
        }
        let (tops, fields) = read_ops(&mut roles, c, &case_op)?;
        let entries: Vec<&(Role, OpId)> = tops.iter().filter(|(r, _)| *r == Role::Entry).collect();
        let [(_, entry_id)] = entries.as_slice() else {
            return Err(bad(format!(
                "a change must record exactly one timeline entry; this one records {}",
                entries.len()
            )));
        };
        let entry: TimelineEntry = read_new(m.doc, entry_id, "the new timeline entry")?;
        new_entries.insert(entry.id.to_string());
        checked.push((c, entry, fields, tops));
    }
    // Second pass, in causal order: the meaning of each entry in its author's view.
    for (change, entry, fields, tops) in checked {
        let hash = change.hash();
        let view = view_of(cx, m, change, &mut views, merged_case, &new_entries)?;
        check_entry(cx, &entry, view.as_ref(), created_at)?;
        check_agreement(m.doc, change, &entry)?;
        check_fields(cx, m.doc, &entry, &fields, &tops)?;
        let next = workflow::advance(view.as_ref(), &entry).map_err(crate::Error::from)?;
        views.after.insert(
            hash,
            (Some(next), builds_on.get(&hash).copied().unwrap_or(0)),
        );
    }
    // What an upload leaves must still be a valid case.
    text_len(
        [
            check_text(
                "title",
                merged_case.title.as_str(),
                validate::TITLE_MAX,
                true,
            ),
            check_text(
                "narrative",
                merged_case.narrative.as_str(),
                validate::NARRATIVE_MAX,
                false,
            ),
            check_text(
                "address",
                merged_case.place.address.as_str(),
                ADDRESS_MAX,
                false,
            ),
        ]
        .into_iter()
        .flatten()
        .next(),
    )?;
    if merged_case.parties.is_empty() {
        return Err(bad("parties: a case needs at least one party"));
    }
    if !cx
        .taxonomy
        .contains(&CategoryCode::from(merged_case.category.as_str()))
    {
        return Err(bad(format!(
            "category `{}` is not in the taxonomy",
            escape(&merged_case.category)
        )));
    }
    Ok(())
}

fn check_text(
    field: &str,
    value: &str,
    max: usize,
    required: bool,
) -> Option<validate::FieldProblem> {
    let problem = if required && value.trim().is_empty() {
        validate::Problem::Required
    } else if value.chars().count() > max {
        validate::Problem::TooLong { max }
    } else {
        return None;
    };
    Some(validate::FieldProblem {
        field: field.to_owned(),
        problem,
    })
}

fn sorted(heads: &[ChangeHash]) -> Vec<ChangeHash> {
    let mut h = heads.to_vec();
    h.sort();
    h
}

/// The state of the case as the author of `change` saw it.
fn view_of(
    cx: &Context<'_>,
    m: &Merged<'_>,
    change: &Change,
    views: &mut Views,
    merged_case: &CaseDocument,
    new_entries: &HashSet<String>,
) -> Checked<Option<CaseState>> {
    if let [dep] = change.deps() {
        if let Some((state, users)) = views.after.get_mut(dep) {
            *users = users.saturating_sub(1);
            return Ok(if *users == 0 {
                views.after.remove(dep).and_then(|(s, _)| s)
            } else {
                state.clone()
            });
        }
    }
    if sorted(change.deps()) == views.before {
        if views.stored.is_none() {
            // The stored timeline: the merged one less this upload's entries.
            let stored: Vec<TimelineEntry> = merged_case
                .timeline
                .iter()
                .filter(|e| !new_entries.contains(e.id.as_str()))
                .cloned()
                .collect();
            views.stored = Some(workflow::fold(&stored).state);
        }
        return Ok(views.stored.clone().flatten());
    }
    views.reads += 1;
    if views.reads > cx.limits.max_view_reads {
        return Err(Refusal {
            code: ErrorCode::TooMany,
            message: format!(
                "more than {} changes of one case in this request start from an older view or merge branches; send fewer changes at a time",
                cx.limits.max_view_reads
            ),
        });
    }
    let timeline: Vec<TimelineEntry> =
        materialise::read_prop(m.doc, "timeline", Some(change.deps()))
            .map_err(|e| bad(format!("the timeline its author saw cannot be read: {e}")))?;
    Ok(workflow::fold(&timeline).state)
}

/// One entry in its author's view: signed by the sender, based on the view's last entry, timed
/// believably, allowed by the workflow and the directory.
fn check_entry(
    cx: &Context<'_>,
    entry: &TimelineEntry,
    view: Option<&CaseState>,
    created_at: i64,
) -> Checked<()> {
    check_signer(cx, &entry.actor)?;
    let last = view.and_then(|s| s.last_entry.as_ref());
    if entry.base.as_ref() != last {
        return Err(bad(format!(
            "the entry's base is {}, but the last entry its author saw is {}",
            entry
                .base
                .as_ref()
                .map_or("none".to_owned(), |b| escape(b.as_str())),
            last.map_or("none", |b| b.as_str())
        )));
    }
    check_time(cx, "the entry", entry.at, created_at)?;
    if matches!(entry.action, Action::Report { .. }) {
        return Err(Refusal {
            code: ErrorCode::WorkflowDenied,
            message: workflow::Denied::AlreadyReported.to_string(),
        });
    }
    rules::check_action(cx.directory, view, &entry.actor, &entry.action, entry.at)?;
    Ok(())
}

/// What an agreement names (its signatures, its scan) is in the case as the entry's author saw
/// it: read at the change's dependencies, only for an agreement that names something (a party
/// removed since, or an attachment listed only by a concurrent change, would otherwise decide).
fn check_agreement(doc: &AutoCommit, change: &Change, entry: &TimelineEntry) -> Checked<()> {
    let Action::Resolve {
        agreement: Some(a), ..
    } = &entry.action
    else {
        return Ok(());
    };
    if a.signatures.is_empty() && a.attachment.is_none() {
        return Ok(());
    }
    let deps = Some(change.deps());
    let parties: Vec<crate::model::Party> = materialise::read_prop(doc, "parties", deps)
        .map_err(|e| bad(format!("the parties its author saw cannot be read: {e}")))?;
    let attachments: Vec<crate::model::Attachment> =
        materialise::read_prop(doc, "attachments", deps).map_err(|e| {
            bad(format!(
                "the attachments its author saw cannot be read: {e}"
            ))
        })?;
    rules::check_agreement(&parties, &attachments, &entry.actor, &entry.action)?;
    Ok(())
}

/// The fields a change edits are the ones its entry names, and what it adds is well formed.
fn check_fields(
    cx: &Context<'_>,
    doc: &AutoCommit,
    entry: &TimelineEntry,
    fields: &BTreeSet<&'static str>,
    tops: &NewObjects,
) -> Checked<()> {
    let named: BTreeSet<&str> = match &entry.action {
        Action::Edit { fields } => {
            let mut named = BTreeSet::new();
            for f in fields {
                if !EDIT_FIELDS.contains(&f.as_str()) {
                    return Err(bad(format!(
                        "an edit names `{}`, which is not a field of a case",
                        escape(f)
                    )));
                }
                if !named.insert(f.as_str()) {
                    return Err(bad(format!("an edit names `{f}` twice")));
                }
            }
            if named.is_empty() {
                return Err(bad("an edit names no field"));
            }
            named
        }
        _ => BTreeSet::new(),
    };
    if let Some(f) = fields.iter().find(|f| !named.contains(**f)) {
        return Err(bad(format!(
            "a change alters `{f}` without recording an edit of it"
        )));
    }
    // A new category is checked once, on the merged case, with the other fields
    // (`check_case`).
    for (role, id) in tops {
        match role {
            Role::Entry => {}
            Role::Party => {
                let party: Party = read_new(doc, id, "a new party")?;
                check_name("a party", &party.name)?;
            }
            Role::Attachment => {
                let a: Attachment = read_new(doc, id, "a new attachment")?;
                check_attachment(cx, entry, &a)?;
            }
            Role::Gps => {
                let gps: Gps = read_new(doc, id, "the position")?;
                check_gps(&gps)?;
            }
            _ => return Err(bad("a change creates something the model does not have")),
        }
    }
    Ok(())
}

fn check_gps(gps: &Gps) -> Checked<()> {
    if !(-90.0..=90.0).contains(&gps.lat) || !(-180.0..=180.0).contains(&gps.lon) {
        return Err(bad("the position is outside the globe"));
    }
    Ok(())
}

fn check_attachment(cx: &Context<'_>, entry: &TimelineEntry, a: &Attachment) -> Checked<()> {
    if a.added_by != entry.actor.person {
        return Err(Refusal {
            code: ErrorCode::WrongAuthor,
            message: "an attachment is added by the person who signs the edit".to_owned(),
        });
    }
    check_time(cx, "the attachment", a.added_at, entry.at)?;
    if !ATTACHMENT_TYPES.contains(&a.mime.as_str()) || a.size == 0 || a.size > MAX_ATTACHMENT_BYTES
    {
        return Err(bad(format!(
            "an attachment must be a photo or a PDF of at most {MAX_ATTACHMENT_BYTES} bytes"
        )));
    }
    if a.sha256.len() != 64
        || !a
            .sha256
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    {
        return Err(bad("an attachment's sha256 is 64 lowercase hex digits"));
    }
    if a.name.trim().is_empty() || a.name.chars().count() > 200 {
        return Err(bad(
            "an attachment needs a file name of at most 200 characters",
        ));
    }
    Ok(())
}

/// The change that creates a case: the document it makes, read exactly, is a valid report placed
/// where its author may report.
fn check_report(
    cx: &Context<'_>,
    doc: &AutoCommit,
    change: &Change,
    id: &str,
) -> Checked<(TimelineEntry, CaseDocument)> {
    let value = doc
        .hydrate(ROOT, Some(&[change.hash()]))
        .map_err(|e| bad(format!("the new case cannot be read: {e}")))?;
    let case: CaseDocument = exact(&value, "the case")?;
    if case.schema != CASE_SCHEMA {
        return Err(bad(format!(
            "case schema {} is not the one this server knows ({CASE_SCHEMA})",
            case.schema
        )));
    }
    if case.id != CaseId::new(id) {
        return Err(bad("the case id does not match its key"));
    }
    let [entry] = case.timeline.as_slice() else {
        return Err(bad(
            "a new case is created with exactly one entry, its report",
        ));
    };
    let Action::Report { centre, source } = &entry.action else {
        return Err(bad("a new case must begin with its report"));
    };
    if entry.base.is_some() {
        return Err(bad("the report has no base"));
    }
    if !case.attachments.is_empty() {
        return Err(bad(
            "attachments are added after the report, each with its edit",
        ));
    }
    check_signer(cx, &entry.actor)?;
    check_time(cx, "the case", case.created_at, EARLIEST_MS)?;
    check_time(cx, "the report", entry.at, case.created_at)?;
    let new = NewCase {
        title: case.title.as_str().to_owned(),
        category: case.category.clone(),
        narrative: case.narrative.as_str().to_owned(),
        place_unit: case.place.unit.clone(),
        address: case.place.address.as_str().to_owned(),
        gps: case.place.gps.map(|g| (g.lat, g.lon)),
        parties: case
            .parties
            .iter()
            .map(|p| NewParty {
                name: p.name.clone(),
                role: p.role,
                phone: None,
                id_number: None,
            })
            .collect(),
        source: *source,
    };
    if let Some(p) = validate::new_case(&new, cx.taxonomy).into_iter().next() {
        return Err(bad(format!(
            "the report's {}: {} ({})",
            p.field,
            p.problem.en(),
            p.problem.zh()
        )));
    }
    text_len(check_text("address", &new.address, ADDRESS_MAX, false))?;
    for p in &case.parties {
        check_name("a party", &p.name)?;
    }
    // Placement: where the author may report, the path the directory gives, the centre that
    // receives cases from there.
    rules::check_report_place(cx.directory, &entry.actor, &case.place.unit)?;
    if case.place.unit_path != cx.directory.path(&case.place.unit) {
        return Err(bad("the place's unit path is not the directory's"));
    }
    let receiving = cx
        .directory
        .receiving_centre(&case.place.unit)
        .map(|u| &u.id);
    if receiving != Some(centre) {
        return Err(Refusal {
            code: ErrorCode::WorkflowDenied,
            message: format!(
                "a case reported in {} is received by {}, not {}",
                case.place.unit,
                receiving.map_or("no centre", |u| u.as_str()),
                escape(centre.as_str())
            ),
        });
    }
    rules::check_action(cx.directory, None, &entry.actor, &entry.action, entry.at)?;
    Ok((entry.clone(), case))
}

// ----- contacts -----

fn contacts_op(role: Role, op: &Op<'_>) -> Result<Option<&'static str>, String> {
    match (role, op) {
        (Role::ContactParties, Op::Make(_, ObjType::Map)) => Ok(None),
        (Role::ContactParty, Op::Put("phone" | "id_number", ScalarValue::Str(_))) => Ok(None),
        (Role::ContactParties | Role::ContactParty, Op::Delete | Op::Put(_, ScalarValue::Null)) => Err(
            "erasing a party's contact details is a staff action of its own; a change may not remove them"
                .to_owned(),
        ),
        (Role::ContactParty, _) => {
            Err("a party's contact details are `phone` and `id_number`, strings".to_owned())
        }
        _ => Err("the contacts of a case are added party by party; nothing else changes".to_owned()),
    }
}

/// Checks the new changes of a case's contacts document (parties' phones and ID numbers).
/// `party_ids` are the parties of the case; `erased_at`, when staff erased its contacts (after
/// which no replica keeps or takes them).
pub fn check_contacts(
    m: &Merged<'_>,
    id: &str,
    party_ids: &[PartyId],
    erased_at: Option<i64>,
) -> Checked<()> {
    if erased_at.is_some() {
        return Err(bad(
            "the parties' contact details of this case were erased by its centre; they are not kept any more",
        ));
    }
    let mut roles = Roles::new(Kind::Contacts, m.doc);
    for (i, c) in m.new.iter().enumerate() {
        if c.deps().is_empty() {
            if !m.before.is_empty() || i > 0 {
                return Err(bad(
                    "a change with no history creates a contacts document, and this one exists already",
                ));
            }
            continue;
        }
        if m.before.is_empty() && i == 0 {
            return Err(bad("a new contacts document must begin with its creation"));
        }
        let (tops, _) = read_ops(&mut roles, c, &contacts_op)?;
        for (role, _) in &tops {
            if *role != Role::ContactParty {
                return Err(bad(
                    "a change creates something the contacts document does not have",
                ));
            }
        }
    }
    // The whole document is small: read it exactly.
    let value = m
        .doc
        .hydrate(ROOT, None)
        .map_err(|e| bad(format!("the contacts cannot be read: {e}")))?;
    let contacts: ContactsDocument = exact(&value, "the contacts")?;
    if contacts.case.as_str() != id {
        return Err(bad("the contacts name another case"));
    }
    // A key written twice concurrently would hide one value: one writer per party.
    if let Some((_, parties)) = m.doc.get(ROOT, "parties").ok().flatten() {
        for key in contacts.parties.keys() {
            if m.doc.get_all(&parties, key.as_str()).map_or(0, |v| v.len()) > 1 {
                return Err(bad("two changes add the contacts of the same party"));
            }
        }
    }
    for (party, c) in &contacts.parties {
        if !party_ids.iter().any(|p| p.as_str() == party) {
            return Err(bad(format!(
                "the contacts name {}, who is not a party of the case",
                escape(party)
            )));
        }
        if c.phone
            .as_deref()
            .is_some_and(|p| !p.is_empty() && !validate::is_phone(p))
        {
            return Err(bad(format!("the phone of {party} is not a phone number")));
        }
        if c.id_number
            .as_deref()
            .is_some_and(|n| !n.is_empty() && !validate::is_resident_id(n))
        {
            return Err(bad(format!(
                "the ID number of {party} is not a valid resident ID number"
            )));
        }
    }
    Ok(())
}

// ----- households -----

fn household_op(role: Role, op: &Op<'_>) -> Result<Option<&'static str>, String> {
    match (role, op) {
        (Role::Root, Op::Put("head", ScalarValue::Str(_)) | Op::Put("members", ScalarValue::Uint(_))) => {
            Ok(None)
        }
        (Role::Root, Op::Put("head" | "members", _)) => {
            Err("a household's head is a string and its members a uint".to_owned())
        }
        (Role::Root, _) => Err(
            "a household's grid, id and shape are fixed; only its head, members, address, notes and visits change"
                .to_owned(),
        ),
        (Role::Address | Role::Notes, Op::InsertScalar | Op::Delete) => Ok(None),
        (Role::Address | Role::Notes, _) => {
            Err("a text is edited by inserting and deleting characters only".to_owned())
        }
        (Role::Visits, Op::InsertObject(ObjType::Map)) => Ok(None),
        (Role::Visits | Role::Visit | Role::VisitPart, _) => {
            Err("visits are only added: a change may not remove or alter one".to_owned())
        }
        _ => Err("a change writes where the household has nothing".to_owned()),
    }
}

fn check_visit(cx: &Context<'_>, visit: &Visit) -> Checked<()> {
    check_signer(cx, &visit.actor)?;
    check_time(cx, "the visit", visit.at, EARLIEST_MS)?;
    let (safe, dispute) = match visit.outcome {
        crate::document::VisitOutcome::AllSafe => (true, false),
        crate::document::VisitOutcome::Dispute { .. } => (false, true),
        crate::document::VisitOutcome::Noted => (false, false),
    };
    if let Some(p) = validate::visit(safe, dispute, &visit.note) {
        return Err(bad(format!("a visit's {}: {}", p.field, p.problem.en())));
    }
    if visit.note.chars().count() > validate::NARRATIVE_MAX {
        return Err(bad(format!(
            "a visit's note: at most {} characters",
            validate::NARRATIVE_MAX
        )));
    }
    Ok(())
}

/// The sender works where the household is.
fn check_household_place(cx: &Context<'_>, grid: &UnitId) -> Checked<()> {
    if cx.directory.unit(grid).is_none() {
        return Err(crate::Error::UnknownUnit(grid.clone()).into());
    }
    let within = match cx.sender {
        Sender::Person(p) => cx
            .directory
            .person(p)
            .is_some_and(|p| cx.directory.is_within(grid, &p.unit)),
        Sender::Server(u) => cx.directory.is_within(grid, u),
    };
    if !within {
        return Err(Refusal {
            code: ErrorCode::OutOfScope,
            message: format!("the household's grid {grid} is outside the sender's area"),
        });
    }
    Ok(())
}

/// Checks the new changes of a household document. `merged` is the merged household as read
/// for its summary.
pub fn check_household(
    cx: &Context<'_>,
    m: &Merged<'_>,
    id: &str,
    merged: &HouseholdDocument,
) -> Checked<()> {
    let mut roles = Roles::new(Kind::Household, m.doc);
    for (i, c) in m.new.iter().enumerate() {
        if c.deps().is_empty() {
            if !m.before.is_empty() || i > 0 {
                return Err(bad(
                    "a change with no history creates a household, and this one exists already",
                ));
            }
            let value = m
                .doc
                .hydrate(ROOT, Some(&[c.hash()]))
                .map_err(|e| bad(format!("the new household cannot be read: {e}")))?;
            let h: HouseholdDocument = exact(&value, "the household")?;
            if h.schema != HOUSEHOLD_SCHEMA || h.id.as_str() != id {
                return Err(bad("the household's schema or id is not this document's"));
            }
            check_household_place(cx, &h.grid)?;
            for v in &h.visits {
                check_visit(cx, v)?;
            }
            continue;
        }
        if m.before.is_empty() && i == 0 {
            return Err(bad("a new household must begin with its creation"));
        }
        let (tops, _) = read_ops(&mut roles, c, &household_op)?;
        for (role, obj) in &tops {
            if *role != Role::Visit {
                return Err(bad(
                    "a change creates something the household does not have",
                ));
            }
            let visit: Visit = read_new(m.doc, obj, "a new visit")?;
            check_visit(cx, &visit)?;
        }
    }
    let mut ids = HashSet::new();
    for v in &merged.visits {
        if !ids.insert(v.id.as_str()) {
            return Err(bad("two visits share an id"));
        }
    }
    if merged.head.trim().is_empty() || merged.head.chars().count() > NAME_MAX {
        return Err(bad(
            "the head of household needs a name of at most 50 characters",
        ));
    }
    if merged.members > 1_000 {
        return Err(bad("a household of more than 1,000 members?"));
    }
    text_len(
        [
            check_text("address", merged.address.as_str(), ADDRESS_MAX, false),
            check_text(
                "notes",
                merged.notes.as_str(),
                validate::NARRATIVE_MAX,
                false,
            ),
        ]
        .into_iter()
        .flatten()
        .next(),
    )?;
    Ok(())
}

/// Checks the new changes of a volume of a household's visits (`visits:<household>_<volume>`).
/// `merged` is the merged volume as read, `grid` the grid of its household (which the server
/// must hold already). A change with no history must be the volume's genesis exactly (the one
/// change no device signs, see [`VisitBookDoc`]); every other change adds visits, each signed
/// by someone who works where the household is.
pub fn check_visit_book(
    cx: &Context<'_>,
    m: &Merged<'_>,
    id: &str,
    merged: &VisitBookDocument,
    grid: &UnitId,
) -> Checked<()> {
    let Some((household, volume)) = VisitBookDoc::parse_id(id) else {
        return Err(bad("a volume of visits is named <household>_<volume>"));
    };
    check_household_place(cx, grid)?;
    let genesis = VisitBookDoc::genesis_hash(&household, volume)
        .map_err(|e| bad(format!("the volume's first change cannot be made: {e}")))?;
    let mut roles = Roles::new(Kind::VisitBook, m.doc);
    for c in m.new {
        if c.deps().is_empty() {
            if c.hash() != genesis {
                return Err(bad(
                    "a change with no history must be the volume's own first change, exactly",
                ));
            }
            continue;
        }
        // A volume only gains visits: each op inserts one visit's JSON at `visits`.
        for op in c.decode().operations {
            let (role, _) = roles.of(&op.obj)?;
            let json = match (role, &op.key, &op.action, op.insert) {
                (Role::Visits, Key::Seq(_), OpType::Put(ScalarValue::Str(json)), true)
                    if op.pred.is_empty() =>
                {
                    json
                }
                (Role::Visits, ..) => return Err(bad(
                    "visits are only added, each as its JSON: a change may not remove or alter one",
                )),
                _ => {
                    return Err(bad(
                        "a volume of visits only gains visits; its household and number are fixed",
                    ))
                }
            };
            let visit = crate::document::visit_from_json(json)
                .map_err(|e| bad(format!("a new visit is not well formed: {e}")))?;
            check_visit(cx, &visit)?;
        }
    }
    if merged.schema != VISIT_BOOK_SCHEMA
        || merged.household != household
        || merged.volume != volume
    {
        return Err(bad(
            "the volume's schema, household or number is not this document's",
        ));
    }
    let mut ids = HashSet::new();
    for v in &merged.visits {
        if !ids.insert(v.id.as_str()) {
            return Err(bad("two visits share an id"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
