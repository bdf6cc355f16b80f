//! Intake from other systems (docs/intake.md): the 12345 hotline platform or police linkage
//! dispatches a work order (工单) with `POST /v1/intake/work-orders`, and polls where it stands
//! with `GET /v1/intake/work-orders/{number}`.
//!
//! An integrator is a device credential ([`ServerDb::add_integrator`]) whose person holds the
//! intake role, scoped to some units and one source. The server writes the order as that
//! device would: the case's documents (its report, by the integrator's person, then the
//! dispatch, 派单) under the automerge actor registered to the credential, checked and stored
//! by the same path as a device's upload ([`crate::sync::store_upload_queued`]): the guard, the log,
//! the scope, forwarding. A re-dispatched order (the same source and number, 重派) adds a
//! dispatch to its case instead of creating another.
//!
//! Idempotent after the IETF `Idempotency-Key` draft: the request's key, with the credential,
//! names one answer, stored in the transaction that stores the order. The same key and body
//! again get that answer (with `Idempotent-Replayed: true`); the same key with another body
//! gets 422 `idempotency_key_reused`; no key, 400 `missing_idempotency_key`. A request claims
//! its key and its order number ([`Intake::claim`]) until it is answered, so that ten retries
//! sent at once store one case and nine replays, and a re-dispatch waits for the dispatch it
//! follows; requests for other orders go on meanwhile, each building its case on its own core
//! and holding the database only to check and commit it (as a device's upload does).

use crate::db::{Device, IntegratorScope, ServerDb};
use crate::error::ApiError;
use crate::sync::{store_upload_queued, CommitQueue, Extra, SyncLimits};
use app_core::document::{CaseDoc, DocKind};
use app_core::ids::{CaseId, PersonId, UnitId};
use app_core::model::{Action, Actor, NewCase, NewParty, OrderKind, PartyRole, WorkOrder};
use app_core::org::{Directory, Role};
use app_core::protocol::{ErrorCode, IntakeAnswer, IntakeOrder};
use app_core::store::{CachedExecute, NewCaseDocs};
use rusqlite::{params, OptionalExtension};
use sha2::{Digest, Sha256};
use std::sync::Mutex;

/// The longest `Idempotency-Key` taken.
pub const MAX_KEY_CHARS: usize = 255;

/// What the caller is named in a case when they asked for secrecy (保密): nothing of theirs.
pub const CONFIDENTIAL_CALLER: &str = "来电人（保密）";

/// The intake's shared state: the idempotency keys and order numbers that requests in flight
/// have claimed.
#[derive(Debug, Default)]
pub struct Intake {
    claimed: Mutex<std::collections::HashSet<String>>,
    released: tokio::sync::Notify,
    /// The orders checked and waiting to be committed together.
    commits: CommitQueue,
}

/// A request's claim on its key and its order number, given up when dropped.
#[derive(Debug)]
pub struct Claim<'a> {
    intake: &'a Intake,
    names: [String; 2],
}

impl Intake {
    /// Claims `device`'s `key` and the order `number` of the integrator's source, waiting
    /// while another request holds either: both or neither are taken, so two requests never
    /// hold one each and wait for each other.
    pub async fn claim(
        &self,
        device: &Device,
        key: &str,
        scope: &IntegratorScope,
        number: &str,
    ) -> Claim<'_> {
        let names = [
            format!("key\u{0}{}\u{0}{key}", device.id),
            format!("order\u{0}{}\u{0}{}", scope.source.code(), number.trim()),
        ];
        self.claim_names(names).await
    }

    async fn claim_names(&self, names: [String; 2]) -> Claim<'_> {
        loop {
            // Listening before looking: a release between the look and the wait still wakes.
            let released = self.released.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            {
                let mut claimed = self.claimed.lock().unwrap_or_else(|e| e.into_inner());
                if names.iter().all(|n| !claimed.contains(n)) {
                    claimed.extend(names.iter().cloned());
                    return Claim {
                        intake: self,
                        names,
                    };
                }
            }
            released.await;
        }
    }
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        {
            let mut claimed = self
                .intake
                .claimed
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            for n in &self.names {
                claimed.remove(n);
            }
        }
        self.intake.released.notify_waiters();
    }
}

/// A work order as sent, read, with the fingerprint of what it asks.
#[derive(Clone, Debug)]
pub struct Parsed {
    pub order: IntakeOrder,
    fingerprint: String,
}

/// Reads a request's body as a work order.
pub fn parse(body: &[u8]) -> Result<Parsed, ApiError> {
    let order: IntakeOrder = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            ErrorCode::BadJson,
            format!("the body is not a work order: {e}"),
        )
    })?;
    // The fingerprint of what was asked, whatever the spacing or the order of the fields.
    let fingerprint = {
        let canonical = serde_json::to_vec(&order).map_err(ApiError::internal)?;
        app_core::store::hex(&Sha256::digest(&canonical))
    };
    Ok(Parsed { order, fingerprint })
}

/// An answer to send: its status and body (as stored for replays).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body: String,
    pub replayed: bool,
}

/// Checks the `Idempotency-Key` header's value: present, 1 to 255 visible ASCII characters.
pub fn check_key(key: Option<&str>) -> Result<String, ApiError> {
    let key = key.map(str::trim).unwrap_or_default();
    if key.is_empty() {
        return Err(ApiError::new(
            ErrorCode::MissingIdempotencyKey,
            "send the order with an Idempotency-Key header (a UUID, say), the same for each retry of this request",
        ));
    }
    if key.chars().count() > MAX_KEY_CHARS || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::new(
            ErrorCode::BadJson,
            format!("the Idempotency-Key must be 1 to {MAX_KEY_CHARS} visible ASCII characters"),
        ));
    }
    Ok(key.to_owned())
}

/// The integrator a device credential is, or `out_of_scope`.
pub fn integrator_of(db: &ServerDb, device: &Device) -> Result<IntegratorScope, ApiError> {
    db.integrator(&device.id)
        .map_err(|e| e.refusal())?
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::OutOfScope,
                "this credential is a device's, not another system's; intake needs an integrator credential (sync-server integrator add)",
            )
        })
}

/// Takes in one work order: the answer, stored under (device, key) with the order. The caller
/// holds the request's [`Claim`].
#[allow(clippy::too_many_arguments)]
pub fn dispatch(
    shared: &Mutex<ServerDb>,
    intake: &Intake,
    device: &Device,
    scope: &IntegratorScope,
    key: &str,
    parsed: &Parsed,
    limits: &SyncLimits,
    now_ms: i64,
) -> Result<Answer, ApiError> {
    let Parsed { order, fingerprint } = parsed;
    let lock = || shared.lock().unwrap_or_else(|e| e.into_inner());
    // What the database holds, read under the lock; the case is built without it.
    let (stored, existing, directory, taxonomy) = {
        let db = lock();
        let stored = stored_answer(&db, device, key)?;
        let existing = match (&stored, order_case(&db, scope, &order.number)?) {
            (None, Some(id)) => {
                let bytes = db
                    .store
                    .document_bytes(DocKind::Case, id.as_str())
                    .map_err(ApiError::internal)?
                    .ok_or_else(|| ApiError::internal(format!("case {id} of an order is gone")))?;
                Some((id, bytes))
            }
            _ => None,
        };
        (
            stored,
            existing,
            db.store.directory_shared(),
            db.store.taxonomy().clone(),
        )
    };
    if let Some((print, status, body)) = stored {
        if &print != fingerprint {
            return Err(ApiError::new(
                ErrorCode::IdempotencyKeyReused,
                format!(
                    "the Idempotency-Key {key} was used for another request; use a new key for a new request"
                ),
            ));
        }
        return Ok(Answer {
            status,
            body,
            replayed: true,
        });
    }
    let (uploads, case, created, answer) = {
        let actor = integrator_actor(&directory, &device.person)?;
        let actor_id = device_actor(device)?;
        let work = work_order(order, scope.source)?;
        match existing {
            None => {
                let place = place(&directory, &scope.units, order)?;
                let new = new_case(order, scope.source, place)?;
                let mut docs =
                    NewCaseDocs::build(&directory, &taxonomy, &actor, &new, &actor_id, now_ms)
                        .map_err(|e| refused(e, "order"))?;
                let answer = dispatched(
                    &directory,
                    &mut docs.doc,
                    &actor,
                    work,
                    &order.number,
                    now_ms,
                )?;
                let mut contacts = docs
                    .contacts
                    .to_automerge(&actor_id)
                    .map_err(ApiError::internal)?;
                let id = docs.id.clone();
                let uploads = vec![
                    (
                        DocKind::Case.key(id.as_str()),
                        changes(docs.doc.automerge(), &[]),
                    ),
                    (
                        DocKind::Contacts.key(id.as_str()),
                        changes(&mut contacts, &[]),
                    ),
                ];
                (uploads, id, true, answer)
            }
            Some((id, bytes)) => {
                let mut doc =
                    CaseDoc::load(id.clone(), &bytes, &actor_id).map_err(ApiError::internal)?;
                let before = doc.automerge().get_heads();
                let answer = dispatched(&directory, &mut doc, &actor, work, &order.number, now_ms)?;
                let uploads = vec![(
                    DocKind::Case.key(id.as_str()),
                    changes(doc.automerge(), &before),
                )];
                (uploads, id, false, answer)
            }
        }
    };
    let status = if created { 201 } else { 200 };
    let body = serde_json::to_string(&answer).map_err(ApiError::internal)?;
    // The order, its number and the key's answer in one transaction: a retry after a crash
    // finds all or nothing. Committed with the other orders waiting then (group commit).
    let row = (
        scope.source.code(),
        answer.number.clone(),
        case.to_string(),
        device.person.to_string(),
    );
    let request = (
        device.id.to_string(),
        key.to_owned(),
        fingerprint.clone(),
        status,
        body.clone(),
    );
    let extra: Extra = Box::new(move |tx| {
        if created {
            let (source, number, case, person) = &row;
            tx.exec(
                "INSERT INTO intake_orders(source, number, case_id, person, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![source, number, case, person, now_ms],
            )?;
        }
        let (device, key, fingerprint, status, body) = &request;
        tx.exec(
            "INSERT INTO intake_requests(device, key, fingerprint, status, body, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![device, key, fingerprint, status, body, now_ms],
        )?;
        Ok(())
    });
    let (db, _) = store_upload_queued(
        shared,
        &intake.commits,
        device,
        &uploads,
        limits,
        now_ms,
        Some(extra),
    )?;
    drop(db);
    Ok(Answer {
        status,
        body,
        replayed: false,
    })
}

/// An order a case holds as dispatched by another system: (source code, number, case, the
/// system's person), for [`record_orders`].
pub type DispatchedOrder = (String, String, CaseId, PersonId);

/// The work orders in a case's timeline that another system dispatched (派单 by a person in
/// the intake role), under the source the case was reported with.
pub fn dispatched_orders(doc: &app_core::model::CaseDocument) -> Vec<DispatchedOrder> {
    let source = doc.timeline.iter().find_map(|e| match &e.action {
        Action::Report { source, .. } => Some(*source),
        _ => None,
    });
    let Some(source) = source.filter(|s| s.is_intake()) else {
        return Vec::new();
    };
    doc.timeline
        .iter()
        .filter(|e| e.actor.role == Role::Intake)
        .filter_map(|e| match &e.action {
            Action::DispatchOrder { order } => Some((
                source.code().to_owned(),
                order.number.clone(),
                doc.id.clone(),
                e.actor.person.clone(),
            )),
            _ => None,
        })
        .collect()
}

/// Records orders that reached the server other than through `POST` (the demo's, played
/// through the workflow), as `POST` records them: the platform can then poll them, and a
/// re-dispatch updates their case. An order already recorded is left as it is.
pub fn record_orders(
    db: &mut ServerDb,
    orders: &[DispatchedOrder],
    now_ms: i64,
) -> crate::error::Result<()> {
    db.store.write(|tx| -> Result<(), rusqlite::Error> {
        let mut insert = tx.prepare_cached(
            "INSERT OR IGNORE INTO intake_orders(source, number, case_id, person, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for (source, number, case, person) in orders {
            insert.execute(params![
                source,
                number,
                case.as_str(),
                person.as_str(),
                now_ms
            ])?;
        }
        Ok(())
    })?;
    Ok(())
}

/// Where an order of this integrator's person stands (`GET`).
pub fn state(
    db: &ServerDb,
    device: &Device,
    scope: &IntegratorScope,
    number: &str,
) -> Result<IntakeAnswer, ApiError> {
    let row: Option<(String, String)> = db.store.read(|c| {
        c.prepare_cached(
            "SELECT case_id, person FROM intake_orders WHERE source = ?1 AND number = ?2",
        )?
        .query_row(params![scope.source.code(), number], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()
    })?;
    match row {
        Some((case, person)) if person == device.person.as_str() => {
            answer_of(db, &CaseId::new(case), number)
        }
        // Another system's order is as unknown as one never sent.
        _ => Err(ApiError::new(
            ErrorCode::UnknownOrder,
            format!("no work order {number} was dispatched here by this system"),
        )),
    }
}

/// The order's state from its case's summary.
fn answer_of(db: &ServerDb, case: &CaseId, number: &str) -> Result<IntakeAnswer, ApiError> {
    let summary = db.store.summary(case).map_err(ApiError::internal)?;
    answer_of_summary(db.store.directory(), &summary, number)
}

/// Appends the dispatch (派单) of `work` to the case, if the rules allow it, and answers with
/// the order's state as the case then holds it (not yet stored).
fn dispatched(
    directory: &Directory,
    doc: &mut CaseDoc,
    actor: &Actor,
    work: WorkOrder,
    number: &str,
    now_ms: i64,
) -> Result<IntakeAnswer, ApiError> {
    let mut document = doc.read().map_err(ApiError::internal)?;
    let folded = app_core::workflow::fold(&document.timeline);
    let action = Action::DispatchOrder { order: work };
    app_core::rules::check_action(directory, folded.state.as_ref(), actor, &action, now_ms)
        .map_err(|e| refused(e, "order"))?;
    doc.append(&mut document.timeline, &folded, actor, action, now_ms)
        .map_err(|e| refused(e, "order"))?;
    let folded = app_core::workflow::fold(&document.timeline);
    let summary = app_core::summary::CaseSummary::compute(&document, &folded, directory);
    answer_of_summary(directory, &summary, number)
}

fn answer_of_summary(
    directory: &Directory,
    summary: &app_core::summary::CaseSummary,
    number: &str,
) -> Result<IntakeAnswer, ApiError> {
    let case = &summary.id;
    let order = summary
        .order
        .as_ref()
        .ok_or_else(|| ApiError::internal(format!("case {case} holds no work order")))?;
    let centre_name = directory
        .unit(&summary.responsible_unit)
        .map(|u| u.name.clone())
        .unwrap_or_else(|| summary.responsible_unit.to_string());
    Ok(IntakeAnswer {
        number: number.to_owned(),
        case: case.clone(),
        centre: summary.responsible_unit.clone(),
        centre_name,
        state: order.state,
        state_zh: order.state.zh().to_owned(),
        signed_at: order.signed_at,
        reply: order.reply.clone(),
        replied_at: order.replied_at,
        return_reason: order.return_reason.clone(),
        returned_at: order.returned_at,
        dispatches: order.dispatches,
    })
}

/// The answer stored under the device's key: (fingerprint, status, body).
fn stored_answer(
    db: &ServerDb,
    device: &Device,
    key: &str,
) -> Result<Option<(String, u16, String)>, ApiError> {
    Ok(db.store.read(|c| {
        c.prepare_cached(
            "SELECT fingerprint, status, body FROM intake_requests WHERE device = ?1 AND key = ?2",
        )?
        .query_row(params![device.id.as_str(), key], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()
    })?)
}

/// The case an order of this source already became, if any.
fn order_case(
    db: &ServerDb,
    scope: &IntegratorScope,
    number: &str,
) -> Result<Option<CaseId>, ApiError> {
    Ok(db
        .store
        .read(|c| {
            c.prepare_cached("SELECT case_id FROM intake_orders WHERE source = ?1 AND number = ?2")?
                .query_row(params![scope.source.code(), number], |r| {
                    r.get::<_, String>(0)
                })
                .optional()
        })?
        .map(CaseId::new))
}

/// The integrator's person acting in their intake role.
fn integrator_actor(directory: &Directory, person: &PersonId) -> Result<Actor, ApiError> {
    let p = directory
        .person(person)
        .filter(|p| p.roles.contains(&Role::Intake))
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::WrongAuthor,
                format!("{person} no longer holds the intake role in the directory"),
            )
        })?;
    Ok(Actor {
        person: p.id.clone(),
        name: p.name.clone(),
        role: Role::Intake,
        unit: p.unit.clone(),
    })
}

/// The automerge actor registered to the credential.
fn device_actor(device: &Device) -> Result<automerge::ActorId, ApiError> {
    let hex = device
        .actors
        .iter()
        .next()
        .ok_or_else(|| ApiError::internal(format!("integrator {} has no actor", device.id)))?;
    let bytes = app_core::store::unhex(hex)
        .ok_or_else(|| ApiError::internal(format!("integrator actor {hex} is not hexadecimal")))?;
    Ok(automerge::ActorId::from(bytes))
}

/// The order's fields as the case records them.
fn work_order(order: &IntakeOrder, source: app_core::model::Source) -> Result<WorkOrder, ApiError> {
    let kind = OrderKind::from_code(order.kind.trim())
        .or_else(|| OrderKind::ALL.into_iter().find(|k| k.zh() == order.kind.trim()))
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::BadJson,
                format!(
                    "kind `{}` is not one of consultation, help, complaint, suggestion (咨询, 求助, 投诉举报, 意见建议)",
                    order.kind
                ),
            )
        })?;
    let channel = order
        .channel
        .clone()
        .filter(|c| !c.trim().is_empty())
        .unwrap_or_else(|| match source {
            app_core::model::Source::Police => "110".to_owned(),
            _ => "12345".to_owned(),
        });
    Ok(WorkOrder {
        number: order.number.trim().to_owned(),
        channel,
        kind,
        confidential: order.confidential,
        dispatched_at: order.dispatched_at,
        sign_by: order.sign_by,
        reply_by: order.reply_by,
    })
}

/// The report the order becomes: the caller an applicant unless they asked for secrecy (then
/// named only as a confidential caller, with nothing of theirs), the others it names as
/// respondents.
fn new_case(
    order: &IntakeOrder,
    source: app_core::model::Source,
    place: UnitId,
) -> Result<NewCase, ApiError> {
    let mut parties = Vec::new();
    if order.confidential {
        parties.push(NewParty {
            name: CONFIDENTIAL_CALLER.to_owned(),
            role: PartyRole::Applicant,
            phone: None,
            id_number: None,
        });
    } else {
        parties.push(NewParty {
            name: order.caller.name.trim().to_owned(),
            role: PartyRole::Applicant,
            phone: order.caller.phone.clone().filter(|p| !p.trim().is_empty()),
            id_number: None,
        });
    }
    for p in &order.parties {
        parties.push(NewParty {
            name: p.name.trim().to_owned(),
            role: PartyRole::Respondent,
            phone: p.phone.clone().filter(|p| !p.trim().is_empty()),
            id_number: None,
        });
    }
    Ok(NewCase {
        title: order.title.trim().to_owned(),
        category: order
            .category
            .clone()
            .filter(|c| !c.trim().is_empty())
            .unwrap_or_else(|| "other".to_owned()),
        narrative: order.content.trim().to_owned(),
        place_unit: place,
        address: order.address.trim().to_owned(),
        gps: None,
        parties,
        source,
    })
}

/// Where the order happened: the unit it names, if within the integrator's units; else the
/// deepest unit within them whose name the address holds (the one deepest, or the order
/// cannot be placed).
pub fn place(
    directory: &Directory,
    units: &[UnitId],
    order: &IntakeOrder,
) -> Result<UnitId, ApiError> {
    let within = |u: &UnitId| units.iter().any(|s| directory.is_within(u, s));
    if let Some(u) = &order.unit {
        if directory.unit(u).is_none() {
            return Err(ApiError::new(
                ErrorCode::Unplaceable,
                format!("unit {u} is not known here"),
            ));
        }
        if !within(u) {
            return Err(ApiError::new(
                ErrorCode::OutOfScope,
                format!(
                    "unit {u} is outside the units this system dispatches to ({})",
                    names(units)
                ),
            ));
        }
        return Ok(u.clone());
    }
    let address = order.address.as_str();
    let mut found: Vec<(usize, &app_core::org::Unit)> = directory
        .units()
        .filter(|u| !u.name.is_empty() && address.contains(u.name.as_str()) && within(&u.id))
        .map(|u| (directory.path(&u.id).len(), u))
        .collect();
    found.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.id.cmp(&b.1.id)));
    match found.as_slice() {
        [] => Err(ApiError::new(
            ErrorCode::Unplaceable,
            format!(
                "the address `{address}` names no place within {}; send the unit",
                names(units)
            ),
        )),
        [(depth, first), (other_depth, second), ..] if depth == other_depth => Err(ApiError::new(
            ErrorCode::Unplaceable,
            format!(
                "the address `{address}` names both {} ({}) and {} ({}); send the unit",
                first.name, first.id, second.name, second.id
            ),
        )),
        [(_, u), ..] => Ok(u.id.clone()),
    }
}

fn names(units: &[UnitId]) -> String {
    units
        .iter()
        .map(UnitId::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A core refusal of the order's content: the problem named, as a bad request.
fn refused(e: app_core::Error, doc: &str) -> ApiError {
    use app_core::Error as E;
    match e {
        E::Invalid { .. } | E::UnknownCategory(_) | E::UnknownUnit(_) => {
            ApiError::new(ErrorCode::BadJson, e.to_string())
        }
        other => ApiError::from_core(other, doc),
    }
}

/// The document's changes since `heads`, encoded as a device uploads them.
fn changes(doc: &mut automerge::AutoCommit, heads: &[automerge::ChangeHash]) -> Vec<Vec<u8>> {
    doc.get_changes(heads)
        .into_iter()
        .map(|c| c.raw_bytes().to_vec())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    fn names(key: &str, order: &str) -> [String; 2] {
        [key.to_owned(), order.to_owned()]
    }

    type Waiting<'a> = std::pin::Pin<&'a mut dyn Future<Output = Claim<'static>>>;

    /// Polls a waiting claim once: ready if both its names are free.
    fn poll_once(f: &mut Waiting<'_>) -> Poll<Claim<'static>> {
        f.as_mut().poll(&mut Context::from_waker(Waker::noop()))
    }

    #[tokio::test]
    async fn a_claim_waits_only_for_its_own_key_or_order_and_takes_both_or_neither() {
        let intake: &'static Intake = Box::leak(Box::default());
        let first = intake.claim_names(names("k1", "o1")).await;
        // The same key, another order: waits.
        let mut same_key = pin!(intake.claim_names(names("k1", "o2")));
        let mut same_key: Waiting = same_key.as_mut();
        assert!(poll_once(&mut same_key).is_pending());
        // Another key, the same order: waits.
        let mut same_order = pin!(intake.claim_names(names("k2", "o1")));
        let mut same_order: Waiting = same_order.as_mut();
        assert!(poll_once(&mut same_order).is_pending());
        // The waiting ones hold nothing: a request for k3 and o2 goes on.
        let third = intake.claim_names(names("k3", "o2")).await;
        drop(first);
        // k1 is free but o2 is still held by the third: the first waiter waits on; the
        // second (k2, o1) goes on.
        assert!(poll_once(&mut same_key).is_pending());
        let Poll::Ready(second) = poll_once(&mut same_order) else {
            panic!("k2 and o1 are free once the first claim is dropped");
        };
        drop(third);
        let Poll::Ready(after) = poll_once(&mut same_key) else {
            panic!("k1 and o2 are free once the first and third claims are dropped");
        };
        drop((second, after));
        assert!(intake.claimed.lock().unwrap().is_empty());
    }
}
