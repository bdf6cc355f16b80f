//! The app's side of every screen: one [`Session`] per running app holds the device's store and
//! its sync client, answers each screen with a [`crate::screens`] type and records each form
//! durably before it returns. The Tauri shell's commands are one-line calls into it, and tests
//! and benchmarks drive it directly on a real SQLite file.
//!
//! Writes never wait on the network: they commit locally and wake the background sync
//! ([`Session::run_sync`]), which sends them when a server answers, backs off when none does, and
//! reports every change of its state to the shell (which pushes it to the interface).

#[cfg(feature = "paperwork")]
mod desk;
mod prevention;
mod reminders;

#[cfg(feature = "paperwork")]
pub use desk::DeskExport;

use crate::client::{SyncClient, SyncError};
use crate::deadline::DueState;
use crate::document::VisitOutcome;
use crate::error::Error;
use crate::ids::{CaseId, HouseholdId, UnitId};
use crate::model::{Action, ActionKind, Actor, Assignee, NewCase, Source};
use crate::org::{Role, Tier};
use crate::protocol::ErrorCode;
use crate::screens::{
    ActInput, AttachmentData, CaseQuery, CaseRow, CaseScreen, FiguresScreen, FormOptions,
    HouseholdRow, HouseholdScreen, Me, Mediator, RefusedDoc, Roster, SignedInput, SyncState,
    TimelineRow, Today, TodayCounts, UnitRef, VisitInput, VisitRecorded,
};
use crate::store::{CaseFilter, DueFilter, ListOrder, OrderFilter, Store};
use crate::summary::CaseSummary;
use crate::taxonomy::CategoryCode;
use crate::workflow::{offered, Status, Verdict};
use crate::{rules, validate};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// How many rows a list shows unless asked for more.
pub const PAGE: u32 = 200;
/// How many rows each section of the today screen shows.
pub const TODAY_ROWS: u32 = 20;

/// Why a screen or form could not be served, in words for the person holding the phone.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("本机尚未登记到综治中心 (this device is not enrolled with a centre yet)")]
    NotEnrolled,
    #[error(transparent)]
    Core(#[from] Error),
    #[error(transparent)]
    Sync(#[from] SyncError),
}

impl AppError {
    /// The error in Chinese (the `Display` text is English, or both for input problems).
    pub fn zh(&self) -> String {
        match self {
            AppError::NotEnrolled => "本机尚未登记到综治中心".to_owned(),
            AppError::Core(e) => e.zh(),
            AppError::Sync(e) => e.zh(),
        }
    }

    /// The error in English.
    pub fn en(&self) -> String {
        match self {
            AppError::NotEnrolled => "this device is not enrolled with a centre yet".to_owned(),
            other => other.to_string(),
        }
    }
}

pub type AppResult<T> = Result<T, AppError>;

/// What the background sync is doing, kept in memory (the store keeps what must survive).
#[derive(Debug, Default)]
struct Running {
    syncing: bool,
    error: Option<String>,
    error_zh: Option<String>,
    offline: bool,
    retry_at: Option<i64>,
    last_sent: u64,
    last_received: u64,
}

/// The running app: its store, its sync client and the sync's state.
#[derive(Debug)]
pub struct Session {
    store: Arc<Mutex<Store>>,
    client: Mutex<Option<SyncClient>>,
    running: Mutex<Running>,
    /// A local write: sync soon, unless the sync is backing off.
    wake: tokio::sync::Notify,
    /// The device's network came back (the platform said so): try at once.
    network: tokio::sync::Notify,
    /// The last evaluation of the early-warning rules ([`Session::evaluated`]).
    alerts_memo: Mutex<prevention::AlertsMemo>,
}

/// How often a sync that is backing off probes the server (`/healthz`) to notice that the
/// network is back before its next try is due.
pub const PROBE_EVERY: Duration = Duration::from_secs(10);

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Session {
    /// Opens (creating if needed) the store at `path`, with the credentials it holds, and the
    /// session's own tables: reminders ([`Session::due_reminders`]) and, with paperwork, the
    /// desk's export log ([`Session::export_paperwork`]).
    pub fn open(path: impl AsRef<Path>) -> AppResult<Session> {
        let layers = [
            reminders::LAYER,
            #[cfg(feature = "paperwork")]
            desk::LAYER,
        ];
        let store = Store::open_with(path, &layers)?;
        let client = SyncClient::from_store(&store)?;
        Ok(Session {
            store: Arc::new(Mutex::new(store)),
            client: Mutex::new(client),
            running: Mutex::new(Running::default()),
            wake: tokio::sync::Notify::new(),
            network: tokio::sync::Notify::new(),
            alerts_memo: Mutex::new(None),
        })
    }

    /// The store, for the shell's own needs and for tests.
    pub fn store(&self) -> &Mutex<Store> {
        &self.store
    }

    fn client(&self) -> Option<SyncClient> {
        lock(&self.client).clone()
    }

    /// Enrols this device with a centre's server using a one-time code.
    pub async fn enrol(&self, server: &str, code: &str, device_name: &str) -> AppResult<Me> {
        if server.trim().is_empty() {
            return Err(
                Error::invalid("server", "请填写服务器地址 (enter the server's address)").into(),
            );
        }
        if code.trim().is_empty() {
            return Err(Error::invalid("code", "请填写登记码 (enter the enrolment code)").into());
        }
        let client = SyncClient::enrol(server.trim(), code, device_name, &self.store).await?;
        *lock(&self.client) = Some(client);
        self.wake.notify_one();
        self.me()
    }

    /// The enrolled person.
    pub fn me(&self) -> AppResult<Me> {
        let client = self.client().ok_or(AppError::NotEnrolled)?;
        let c = client.credentials();
        let store = lock(&self.store);
        let dir = store.directory();
        let unit_ref = |id: &UnitId| match dir.unit(id) {
            Some(u) => UnitRef::from(u),
            None => UnitRef {
                id: id.clone(),
                name: id.to_string(),
                tier: Tier::Grid,
            },
        };
        // The principal of another system (12345, police linkage) uses none of the app's
        // screens: it hands cases over through the server, not from a phone.
        let (role, unit) = c
            .roles
            .iter()
            .find(|(r, _)| !r.is_intake())
            .cloned()
            .ok_or_else(|| match c.roles.first() {
                Some(_) => Error::invalid(
                    "roles",
                    "系统对接账号不使用本应用 (the principal of another system does not use the app)",
                ),
                None => Error::invalid("roles", "the enrolled person holds no role"),
            })?;
        let roles: Vec<(Role, UnitRef)> = c
            .roles
            .iter()
            .filter(|(r, _)| !r.is_intake())
            .map(|(r, u)| (*r, unit_ref(u)))
            .collect();
        let grids = c
            .roles
            .iter()
            .filter(|(r, _)| matches!(r, Role::GridWorker | Role::HouseholdHead))
            .map(|(_, u)| unit_ref(u))
            .collect();
        Ok(Me {
            person: c.person.clone(),
            name: c.name.clone(),
            actor: Actor {
                person: c.person.clone(),
                name: c.name.clone(),
                role,
                unit: unit.clone(),
            },
            unit_name: unit_ref(&unit).name,
            at_centre: c.roles.iter().any(|(r, _)| r.is_centre()),
            roles,
            grids,
            server: c.server.clone(),
            server_unit: unit_ref(&c.server_unit),
        })
    }

    fn row(store: &Store, summary: CaseSummary, now: i64) -> CaseRow {
        let dir = store.directory();
        let name = |id: &UnitId| {
            dir.unit(id)
                .map(|u| u.name.clone())
                .unwrap_or_else(|| id.to_string())
        };
        CaseRow {
            due: summary.due_state(now),
            category_name: store
                .taxonomy()
                .zh(&CategoryCode::from(summary.category.as_str()))
                .to_owned(),
            place_name: name(&summary.place_unit),
            responsible_name: name(&summary.responsible_unit),
            summary,
        }
    }

    fn rows(store: &Store, filter: &CaseFilter, now: i64) -> AppResult<Vec<CaseRow>> {
        Ok(store
            .list(filter, now)?
            .into_iter()
            .map(|s| Self::row(store, s, now))
            .collect())
    }

    /// Today's work.
    pub fn today(&self, now: i64) -> AppResult<Today> {
        let me = self.me()?;
        let sync = self.sync_state()?;
        let store = lock(&self.store);
        let unit = me.actor.unit.clone();
        let mut households = Vec::new();
        for g in &me.grids {
            households.extend(store.households(&g.id)?);
        }
        households.sort_by_key(|h| (h.last_visit_at.is_some(), h.last_visit_at));
        let start_of_day = store.directory().policy(&unit).local().start_of_day(now);
        let visited_today = households
            .iter()
            .filter(|h| h.last_visit_at.is_some_and(|t| t >= start_of_day))
            .count();
        let households_total = households.len();
        let households = households
            .into_iter()
            .filter(|h| h.last_visit_at.is_none_or(|t| t < start_of_day))
            .take(TODAY_ROWS as usize)
            .collect();
        // My unit's cases, and wherever they are the cases I reported or am assigned to.
        let area = CaseFilter {
            unit: Some(unit.clone()),
            or_person: Some(me.person.clone()),
            limit: TODAY_ROWS,
            ..Default::default()
        };
        let mut counts = TodayCounts::default();
        let section = |filter: CaseFilter, count: &mut usize| -> AppResult<Vec<CaseRow>> {
            *count = store.count(&filter, now)?;
            Self::rows(&store, &filter, now)
        };
        let overdue = section(
            CaseFilter {
                due: Some(DueFilter::Overdue),
                order: ListOrder::RecentlyDue,
                ..area.clone()
            },
            &mut counts.overdue,
        )?;
        let due_soon = section(
            CaseFilter {
                due: Some(DueFilter::DueSoon),
                ..area.clone()
            },
            &mut counts.due_soon,
        )?;
        let supervised = section(
            CaseFilter {
                supervised: true,
                open_only: true,
                order: ListOrder::Deadline,
                ..area.clone()
            },
            &mut counts.supervised,
        )?;
        let mine = section(
            CaseFilter {
                person: Some(me.person.clone()),
                open_only: true,
                order: ListOrder::Deadline,
                limit: TODAY_ROWS,
                ..Default::default()
            },
            &mut counts.mine,
        )?;
        // Work orders of the 12345 hotline the centre owes something on: to sign for, or late
        // with the reply.
        let orders = if me.at_centre {
            section(
                CaseFilter {
                    responsible: Some(unit.clone()),
                    orders: Some(OrderFilter::Owed),
                    order: ListOrder::OrderDeadline,
                    limit: TODAY_ROWS,
                    ..Default::default()
                },
                &mut counts.orders,
            )?
        } else {
            Vec::new()
        };
        let (to_assess, escalated_in, escalated_out) = if me.at_centre {
            let to_assess = section(
                CaseFilter {
                    responsible: Some(unit.clone()),
                    statuses: vec![Status::Reported],
                    limit: TODAY_ROWS,
                    ..Default::default()
                },
                &mut counts.to_assess,
            )?;
            let mut inbound = Self::rows(
                &store,
                &CaseFilter {
                    responsible: Some(unit.clone()),
                    open_only: true,
                    limit: PAGE,
                    ..Default::default()
                },
                now,
            )?;
            // Escalated up to this centre, or sent back down to it by a higher one: looked for
            // among the centre's newest page of open cases, as before (today reads no more).
            inbound.retain(|r| {
                r.summary.escalated_to.contains(&unit) || r.summary.escalated_from.contains(&unit)
            });
            counts.escalated_in = inbound.len();
            inbound.truncate(TODAY_ROWS as usize);
            // Escalated up and still with the higher centre (open cases of this unit held
            // elsewhere).
            let mut outbound = Self::rows(
                &store,
                &CaseFilter {
                    unit: Some(unit.clone()),
                    held_elsewhere_than: Some(unit.clone()),
                    open_only: true,
                    ..Default::default()
                },
                now,
            )?;
            outbound.retain(|r| {
                r.summary.responsible_unit != unit && r.summary.escalated_from.contains(&unit)
            });
            counts.escalated_out = outbound.len();
            outbound.truncate(TODAY_ROWS as usize);
            (to_assess, inbound, outbound)
        } else {
            (Vec::new(), Vec::new(), Vec::new())
        };
        let conflicts = store.count(
            &CaseFilter {
                conflicts_only: true,
                limit: 0,
                ..area.clone()
            },
            now,
        )?;
        let alerts = if me.at_centre {
            let (rows, count) = prevention::today_alerts(self, &store, &me.actor, now)?;
            counts.alerts = count;
            rows
        } else {
            Vec::new()
        };
        Ok(Today {
            me,
            now,
            households,
            households_total,
            visited_today,
            overdue,
            due_soon,
            mine,
            to_assess,
            escalated_in,
            escalated_out,
            conflicts,
            alerts,
            supervised,
            orders,
            counts,
            sync,
        })
    }

    /// The case list.
    pub fn cases(&self, q: &CaseQuery, now: i64) -> AppResult<Vec<CaseRow>> {
        let me = self.me()?;
        let filter = CaseFilter {
            unit: (!q.mine).then(|| me.actor.unit.clone()),
            or_person: (!q.mine).then(|| me.person.clone()),
            person: q.mine.then(|| me.person.clone()),
            statuses: q.status.into_iter().collect(),
            category: q.category.clone().filter(|c| !c.is_empty()),
            due: match q.due {
                Some(DueState::Overdue) => Some(DueFilter::Overdue),
                Some(DueState::DueSoon) => Some(DueFilter::DueSoon),
                _ => None,
            },
            open_only: q.open_only || q.supervised,
            conflicts_only: q.conflicts_only,
            search: q.search.clone().filter(|s| !s.trim().is_empty()),
            supervised: q.supervised,
            orders: q.orders.then_some(OrderFilter::Owed),
            // As today's sections order them: an order's deadline, else a supervision's.
            order: if q.orders {
                ListOrder::OrderDeadline
            } else if q.supervised {
                ListOrder::Deadline
            } else {
                ListOrder::Default
            },
            limit: if q.limit == 0 { PAGE } else { q.limit },
            ..Default::default()
        };
        let store = lock(&self.store);
        Self::rows(&store, &filter, now)
    }

    /// One case with what this person may do with it now.
    pub fn case(&self, id: &CaseId, now: i64) -> AppResult<CaseScreen> {
        let me = self.me()?;
        let store = lock(&self.store);
        let view = store.case(id)?;
        let dir = store.directory();
        let state = view.folded.state.clone();
        let mut allowed = offered(state.as_ref(), &me.actor);
        // 督办 only where this centre may supervise the case (its unit part needs the tree).
        if let Some(s) = state.as_ref() {
            allowed.retain(|&k| {
                k != ActionKind::Supervise || rules::check_supervisor(dir, s, &me.actor).is_ok()
            });
        }
        let conflicted: Vec<_> = state
            .as_ref()
            .map(|s| s.conflicts.iter().map(|c| c.entry.clone()).collect())
            .unwrap_or_default();
        let timeline = view
            .folded
            .order
            .iter()
            .map(|&i| {
                let entry = view.document.timeline[i].clone();
                TimelineRow {
                    not_applied: match &view.folded.verdicts[i] {
                        Verdict::Applied => None,
                        Verdict::NotApplied(d) => Some(d.to_string()),
                    },
                    conflict: conflicted.contains(&entry.id),
                    entry,
                }
            })
            .collect();
        let responsible = view.summary.responsible_unit.clone();
        let escalate_to = rules::escalation_targets(dir, &responsible)
            .into_iter()
            .map(UnitRef::from)
            .collect();
        let assign_down_to = rules::assign_down_targets(dir, &responsible)
            .into_iter()
            .map(UnitRef::from)
            .collect();
        let policy = dir.policy(&responsible);
        let category = CategoryCode::from(view.document.category.as_str());
        let roster = dir
            .mediators_for(&responsible, Some(&category))
            .into_iter()
            .map(|p| mediator(dir, p, Some(&category)))
            .collect();
        let committees = std::iter::once(&responsible)
            .filter_map(|id| dir.unit(id))
            .chain(dir.children(&responsible))
            .filter(|u| u.centre || u.tier == Tier::Village)
            .map(UnitRef::from)
            .collect();
        let context = prevention::case_context(&store, &view.summary, now)?;
        Ok(CaseScreen {
            matches: context.matches,
            earlier_cases: context.earlier_cases,
            matter: context.matter,
            alerts: context.alerts,
            row: Self::row(&store, view.summary, now),
            document: view.document,
            state,
            timeline,
            allowed,
            escalate_to,
            assign_down_to,
            policy,
            roster,
            committees,
            contacts: view.contacts,
        })
    }

    /// Records a workflow step, then shows the case again.
    pub fn act(&self, input: &ActInput, now: i64) -> AppResult<CaseScreen> {
        let me = self.me()?;
        let action = self.complete(&input.action)?;
        let mut store = lock(&self.store);
        if let Action::Escalate { note, .. } = &action {
            prevention::carry_alerts(&mut store, &me.actor, &input.case, &action, note, now)?;
        }
        store.act(&input.case, &me.actor, action, now)?;
        drop(store);
        self.wake.notify_one();
        self.case(&input.case, now)
    }

    /// Records 调解成功 with an agreement signed on this device's touchscreen: the signatures
    /// are kept with the case like photos, and uploaded by the background sync with the step.
    /// Then shows the case again.
    pub fn resolve_signed(&self, input: &SignedInput, now: i64) -> AppResult<CaseScreen> {
        use base64::Engine as _;
        let me = self.me()?;
        let action = self.complete(&input.action)?;
        let images = input
            .signatures
            .iter()
            .map(|s| {
                let data = s.png_base64.trim();
                let data = data.strip_prefix("data:image/png;base64,").unwrap_or(data);
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(data.as_bytes())
                    .map_err(|e| crate::Error::Invalid {
                        field: "signature".to_owned(),
                        problem: format!(
                            "签名数据已损坏 (the signature of party {} is not base64: {e})",
                            s.party
                        ),
                    })?;
                Ok(crate::store::SignatureImage {
                    party: s.party.clone(),
                    mime: "image/png".to_owned(),
                    bytes,
                })
            })
            .collect::<Result<Vec<_>, crate::Error>>()?;
        lock(&self.store).resolve_signed(&input.case, &me.actor, action, &images, now)?;
        self.wake.notify_one();
        self.case(&input.case, now)
    }

    /// Attaches a photo (or a scanned agreement) to a case: kept on this device at once, its
    /// bytes uploaded by the background sync after the change that lists it. Then shows the case
    /// again.
    pub fn attach_photo(
        &self,
        case: &CaseId,
        name: &str,
        mime: &str,
        bytes: &[u8],
        now: i64,
    ) -> AppResult<CaseScreen> {
        let me = self.me()?;
        lock(&self.store).attach(case, &me.actor, name, mime, bytes, now)?;
        self.wake.notify_one();
        self.case(case, now)
    }

    /// An attachment of a case, to show: from this device if its bytes are here, else downloaded
    /// from the server (and kept). Not here and not enrolled: [`AppError::NotEnrolled`].
    pub async fn attachment(&self, case: &CaseId, sha256: &str) -> AppResult<AttachmentData> {
        use base64::Engine;
        let encode = |mime: String, bytes: &[u8]| AttachmentData {
            mime,
            base64: base64::engine::general_purpose::STANDARD.encode(bytes),
        };
        let held = {
            let store = lock(&self.store);
            let listed = store
                .case(case)?
                .document
                .attachments
                .iter()
                .any(|a| a.sha256.eq_ignore_ascii_case(sha256));
            if !listed {
                return Err(Error::invalid(
                    "sha256",
                    "此案件没有这个附件 (the case has no such attachment)",
                )
                .into());
            }
            store.blob(sha256)?
        };
        if let Some((mime, bytes)) = held {
            return Ok(encode(mime, &bytes));
        }
        let client = self.client().ok_or(AppError::NotEnrolled)?;
        let (mime, bytes) = client.fetch_attachment(&self.store, case, sha256).await?;
        Ok(encode(mime, &bytes))
    }

    /// Fills in what the interface cannot know: the names of assignees from the directory.
    fn complete(&self, action: &Action) -> AppResult<Action> {
        let store = lock(&self.store);
        let dir = store.directory();
        let named = |a: &Assignee| -> Result<Assignee, Error> {
            Ok(match a {
                Assignee::Mediator { person, .. } => Assignee::Mediator {
                    person: person.clone(),
                    name: dir
                        .person(person)
                        .ok_or_else(|| Error::UnknownPerson(person.clone()))?
                        .name
                        .clone(),
                },
                Assignee::Committee { unit, .. } => Assignee::Committee {
                    unit: unit.clone(),
                    name: dir
                        .unit(unit)
                        .ok_or_else(|| Error::UnknownUnit(unit.clone()))?
                        .name
                        .clone(),
                },
                other => other.clone(),
            })
        };
        Ok(match action {
            Action::Assign {
                to,
                chosen_by_parties,
                note,
            } => Action::Assign {
                to: named(to)?,
                chosen_by_parties: *chosen_by_parties,
                note: note.clone(),
            },
            Action::AssignDown {
                to,
                person,
                instructions,
                due_at,
            } => Action::AssignDown {
                to: to.clone(),
                person: person.as_ref().map(named).transpose()?,
                instructions: instructions.clone(),
                due_at: *due_at,
            },
            other => other.clone(),
        })
    }

    /// The mediators of my unit and below, with their specialties and open caseload.
    pub fn roster(&self, now: i64) -> AppResult<Roster> {
        let me = self.me()?;
        let store = lock(&self.store);
        let dir = store.directory();
        let unit = &me.actor.unit;
        let people = dir.mediators_for(unit, None);
        let mut caseload = BTreeMap::new();
        for p in &people {
            let open = store
                .list(
                    &CaseFilter {
                        person: Some(p.id.clone()),
                        open_only: true,
                        ..Default::default()
                    },
                    now,
                )?
                .into_iter()
                .filter(|s| s.assignee_people.contains(&p.id))
                .count();
            caseload.insert(p.id.to_string(), open);
        }
        let mediators = people.into_iter().map(|p| mediator(dir, p, None)).collect();
        Ok(Roster {
            unit_name: me.unit_name,
            mediators,
            categories: store
                .taxonomy()
                .categories
                .iter()
                .map(|c| (c.code.as_str().to_owned(), c.zh.clone()))
                .collect(),
            caseload,
        })
    }

    /// What the report form offers this person.
    pub fn form_options(&self) -> AppResult<FormOptions> {
        let me = self.me()?;
        let store = lock(&self.store);
        let dir = store.directory();
        let mut places: Vec<UnitRef> = Vec::new();
        let mut push = |u: UnitRef| {
            if !places.iter().any(|p| p.id == u.id) {
                places.push(u);
            }
        };
        for (_, u) in &me.roles {
            if let Some(unit) = dir.unit(&u.id) {
                push(UnitRef::from(unit));
                // A centre reports from any unit below it; a grid worker from their grid and
                // the village around it.
                for child in dir.children(&unit.id) {
                    push(UnitRef::from(child));
                    for grandchild in dir.children(&child.id) {
                        push(UnitRef::from(grandchild));
                    }
                }
                if let Some(parent) = unit.parent.as_ref().and_then(|p| dir.unit(p)) {
                    if !me.at_centre {
                        push(UnitRef::from(parent));
                    }
                }
            }
        }
        Ok(FormOptions {
            categories: store.taxonomy().categories.clone(),
            places,
        })
    }

    /// Reports a dispute (上报); returns the new case's id.
    pub fn report_case(&self, new: &NewCase, now: i64) -> AppResult<CaseId> {
        let me = self.me()?;
        let id = lock(&self.store).create_case(&me.actor, new, now)?;
        self.wake.notify_one();
        Ok(id)
    }

    /// The households of my grids, least recently visited first.
    pub fn households(&self) -> AppResult<Vec<HouseholdRow>> {
        let me = self.me()?;
        let store = lock(&self.store);
        let mut out = Vec::new();
        for g in &me.grids {
            out.extend(store.households(&g.id)?);
        }
        out.sort_by_key(|h| (h.last_visit_at.is_some(), h.last_visit_at));
        Ok(out)
    }

    pub fn household(&self, id: &HouseholdId) -> AppResult<HouseholdScreen> {
        let store = lock(&self.store);
        let household = store.household(id)?;
        let grid_name = store
            .directory()
            .unit(&household.grid)
            .map(|u| u.name.clone())
            .unwrap_or_default();
        Ok(HouseholdScreen {
            household,
            grid_name,
        })
    }

    /// Records a door-to-door visit; a dispute found on it is reported first, in its own
    /// transaction, so that the visit can point to the case.
    pub fn record_visit(&self, v: &VisitInput, now: i64) -> AppResult<VisitRecorded> {
        let me = self.me()?;
        let mut store = lock(&self.store);
        if !store.has_household(&v.household)? {
            return Err(Error::UnknownHousehold(v.household.clone()).into());
        }
        if let Some(p) = validate::visit(v.all_safe, v.dispute.is_some(), &v.note) {
            return Err(Error::from(p).into());
        }
        let (outcome, case) = match (&v.dispute, v.all_safe) {
            (Some(new), _) => {
                let mut new = new.clone();
                new.source = Source::GridVisit;
                let case = store.create_case(&me.actor, &new, now)?;
                (VisitOutcome::Dispute { case: case.clone() }, Some(case))
            }
            (None, true) => (VisitOutcome::AllSafe, None),
            (None, false) => (VisitOutcome::Noted, None),
        };
        store.record_visit(&v.household, &me.actor, outcome, v.note.trim(), now)?;
        drop(store);
        self.wake.notify_one();
        Ok(VisitRecorded {
            household: v.household.clone(),
            case,
        })
    }

    /// The figures of my unit for cases reported in `[from, to)`.
    pub fn figures(&self, from: i64, to: i64, now: i64) -> AppResult<FiguresScreen> {
        let me = self.me()?;
        let store = lock(&self.store);
        let report = store.figures(&me.actor.unit, from, to, now)?;
        let dir = store.directory();
        let mut names = BTreeMap::new();
        for id in report.by_unit.keys() {
            if let Some(u) = dir.unit(id) {
                names.insert(id.to_string(), u.name.clone());
            }
        }
        for code in report.by_category.keys() {
            names.insert(
                code.clone(),
                store
                    .taxonomy()
                    .zh(&CategoryCode::from(code.as_str()))
                    .to_owned(),
            );
        }
        Ok(FiguresScreen {
            unit_name: dir
                .unit(&me.actor.unit)
                .map(|u| u.name.clone())
                .unwrap_or_default(),
            report,
            names,
        })
    }

    /// The sync line.
    pub fn sync_state(&self) -> AppResult<SyncState> {
        let client = self.client();
        let store = lock(&self.store);
        let running = lock(&self.running);
        Ok(SyncState {
            enrolled: client.is_some(),
            server: client.map(|c| c.credentials().server.clone()),
            last_synced_at: SyncClient::last_synced(&store)?,
            waiting: store.outbox_len()?,
            photos_waiting: store.pending_blobs()?.len(),
            syncing: running.syncing,
            error: running.error.clone(),
            error_zh: running.error_zh.clone(),
            offline: running.offline,
            retry_at: running.retry_at,
            last_sent: running.last_sent,
            last_received: running.last_received,
            refused: store
                .rejected()?
                .into_iter()
                .map(|(doc, code, message, changes)| {
                    let code = ErrorCode::parse(&code).unwrap_or(ErrorCode::Internal);
                    RefusedDoc {
                        doc,
                        changes,
                        zh: format!(
                            "服务器退回了 {changes} 项修改：{}。已恢复为服务器上的版本，退回的修改另行保存。（{message}）",
                            code.zh()
                        ),
                        en: format!(
                            "the server refused {changes} change(s): {message}. The document is back at the server's version; the refused changes are kept aside."
                        ),
                    }
                })
                .collect(),
        })
    }

    /// Syncs now (the "sync now" button); the answer says how it went.
    pub async fn sync_now(&self) -> AppResult<SyncState> {
        self.sync_once().await;
        self.sync_state()
    }

    async fn sync_once(&self) -> Option<Duration> {
        let client = self.client()?;
        lock(&self.running).syncing = true;
        let outcome = client.sync(&self.store, |_| {}).await;
        let mut running = lock(&self.running);
        running.syncing = false;
        match outcome {
            Ok(p) => {
                running.error = None;
                running.error_zh = None;
                running.offline = false;
                running.retry_at = None;
                running.last_sent = p.sent_changes;
                running.last_received = p.received_changes + p.received_docs;
                None
            }
            Err(e) => {
                running.error = Some(e.to_string());
                running.error_zh = Some(e.zh());
                running.offline = matches!(e, SyncError::Offline(_));
                Some(Duration::ZERO)
            }
        }
    }

    /// The platform says the device's network changed (came back): the background sync tries
    /// at once, even while it is backing off. Answers the sync state.
    pub fn network_changed(&self) -> AppResult<SyncState> {
        self.network.notify_one();
        self.sync_state()
    }

    /// The background sync: syncs at once, then every `every` and whenever a local write wakes
    /// it. After a failure it waits with exponential backoff ([`crate::client::Backoff`]): local
    /// writes then do not hurry it (they are safe in the store), but the network coming back
    /// does, as the platform says ([`Session::network_changed`]) or as a probe of the server
    /// every [`PROBE_EVERY`] finds. `SyncState::retry_at` is the next try the backoff set; it
    /// comes earlier only when the server is found reachable. Calls `changed` after every
    /// attempt. Runs until the task is dropped.
    pub async fn run_sync(&self, every: Duration, changed: impl Fn(SyncState)) {
        self.run_sync_with(
            every,
            crate::client::Backoff::default(),
            PROBE_EVERY,
            changed,
        )
        .await
    }

    /// [`Session::run_sync`] with its backoff and probe interval given (tests shorten them).
    pub async fn run_sync_with(
        &self,
        every: Duration,
        mut backoff: crate::client::Backoff,
        probe_every: Duration,
        changed: impl Fn(SyncState),
    ) {
        loop {
            let (wait, failing) = if self.client().is_none() {
                (every, false)
            } else {
                if let Ok(s) = self.sync_state() {
                    changed(SyncState { syncing: true, ..s });
                }
                match self.sync_once().await {
                    None => {
                        backoff.succeed();
                        (every, false)
                    }
                    Some(_) => {
                        let wait = backoff.fail();
                        lock(&self.running).retry_at = Some(now_ms() + wait.as_millis() as i64);
                        (wait, true)
                    }
                }
            };
            if let Ok(s) = self.sync_state() {
                changed(s);
            }
            let until = tokio::time::Instant::now() + wait;
            loop {
                tokio::select! {
                    _ = tokio::time::sleep_until(until) => break,
                    _ = self.network.notified() => break,
                    _ = self.wake.notified(), if !failing => break,
                    _ = tokio::time::sleep(probe_every), if failing => {
                        let reachable = match self.client() {
                            Some(c) => c.reachable().await,
                            None => false,
                        };
                        if reachable {
                            break;
                        }
                    }
                }
            }
        }
    }
}

/// A mediator as the roster and the assign form show them; `matches` when good at `category`.
fn mediator(
    dir: &crate::org::Directory,
    p: &crate::org::Person,
    category: Option<&CategoryCode>,
) -> Mediator {
    Mediator {
        id: p.id.clone(),
        name: p.name.clone(),
        unit_name: dir
            .unit(&p.unit)
            .map(|u| u.name.clone())
            .unwrap_or_default(),
        specialties: p
            .specialties
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect(),
        matches: category.is_some_and(|c| p.specialties.contains(c)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Credentials;
    use crate::ids::{DeviceId, PersonId};

    /// A session on a store enrolled (offline) for a person holding `roles`.
    fn enrolled(dir: &Path, roles: Vec<(Role, UnitId)>) -> Session {
        let path = dir.join("app.sqlite3");
        {
            let mut store = Store::open(&path).unwrap();
            let credentials = Credentials {
                server: "http://127.0.0.1:9".to_owned(),
                device: DeviceId::new("d1"),
                token: "t".to_owned(),
                person: PersonId::new("p"),
                name: "来电转办".to_owned(),
                roles,
                server_unit: UnitId::new("t"),
                server_tier: Tier::Township,
            };
            store
                .set_meta(
                    "sync.credentials",
                    &serde_json::to_string(&credentials).unwrap(),
                )
                .unwrap();
        }
        Session::open(&path).unwrap()
    }

    #[test]
    fn the_principal_of_another_system_sees_no_screens() {
        let dir = tempfile::tempdir().unwrap();
        let hotline = enrolled(dir.path(), vec![(Role::Intake, UnitId::new("c"))]);
        let err = hotline.me().unwrap_err();
        assert!(
            err.zh().contains("系统对接账号不使用本应用"),
            "{}",
            err.zh()
        );
        assert!(hotline.today(0).is_err());
        assert!(hotline.cases(&CaseQuery::default(), 0).is_err());
        // Someone who also holds a role of the app acts in that one, never as the system.
        let dir = tempfile::tempdir().unwrap();
        let both = enrolled(
            dir.path(),
            vec![
                (Role::Intake, UnitId::new("c")),
                (Role::CentreStaff, UnitId::new("t")),
            ],
        );
        let me = both.me().unwrap();
        assert_eq!(me.actor.role, Role::CentreStaff);
        assert_eq!(me.roles.len(), 1);
        assert!(me.at_centre);
    }
}
