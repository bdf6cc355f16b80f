//! What each screen of the app shows and what each form sends, as plain serde types. The app's
//! shell computes them from the store ([`crate::session`]) and the interface (wasm, no store)
//! renders them: one definition on both sides of the bridge, so the two cannot drift apart.
//!
//! Names, deadlines and allowed actions arrive computed: the interface never re-implements a
//! rule, it shows what the core decided.

use crate::deadline::{DeadlinePolicy, DueState};
use crate::document::{ContactsDocument, HouseholdDocument};
use crate::identity::PartyMatch;
use crate::ids::{CaseId, HouseholdId, MatterId, PersonId, UnitId};
use crate::model::{Action, ActionKind, Actor, CaseDocument, NewCase, TimelineEntry};
use crate::org::{Role, Tier};
use crate::summary::CaseSummary;
/// A household in the visit list (its summary row, read by the store).
pub use crate::summary::HouseholdRow;
use crate::taxonomy::Category;
use crate::warning::Alert;
use crate::workflow::{CaseState, Status};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A unit, named.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitRef {
    pub id: UnitId,
    pub name: String,
    pub tier: Tier,
}

impl From<&crate::org::Unit> for UnitRef {
    fn from(u: &crate::org::Unit) -> UnitRef {
        UnitRef {
            id: u.id.clone(),
            name: u.name.clone(),
            tier: u.tier,
        }
    }
}

/// The person using this device, as enrolled.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Me {
    pub person: PersonId,
    pub name: String,
    /// The role this device acts in (the person's first), with its unit.
    pub actor: Actor,
    pub unit_name: String,
    /// Every role the person holds, with the unit's name.
    pub roles: Vec<(Role, UnitRef)>,
    /// Whether the person works at a centre (assesses, assigns, supervises).
    pub at_centre: bool,
    /// The grids whose households this person visits (a grid worker's own grid).
    pub grids: Vec<UnitRef>,
    pub server: String,
    pub server_unit: UnitRef,
}

/// The sync line in the header, and the sync screen.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncState {
    pub enrolled: bool,
    pub server: Option<String>,
    /// When a sync last completed (epoch milliseconds).
    pub last_synced_at: Option<i64>,
    /// Local changes waiting to be sent.
    pub waiting: usize,
    /// Photos and files whose bytes wait to be sent (they go after the changes).
    #[serde(default)]
    pub photos_waiting: usize,
    /// A sync is running now.
    pub syncing: bool,
    /// Why the last sync failed, if it did (English).
    pub error: Option<String>,
    /// The same, in Chinese.
    #[serde(default)]
    pub error_zh: Option<String>,
    /// The last sync failed because no server answered (no signal, server down): it is retried
    /// by itself, and nothing is lost.
    #[serde(default)]
    pub offline: bool,
    /// When the next try is due after a failure (epoch milliseconds).
    pub retry_at: Option<i64>,
    /// What the last completed sync moved.
    pub last_sent: u64,
    pub last_received: u64,
    /// Documents the server refused: their refused changes are set aside on this device, and
    /// the document is back at the server's version.
    pub refused: Vec<RefusedDoc>,
}

/// This device's settings, shown on the sync screen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// Local notifications (提醒) of cases due soon, overdue or newly supervised.
    pub reminders: bool,
}

/// A document whose changes the server refused, and why, in both languages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedDoc {
    pub doc: String,
    /// How many changes were set aside.
    pub changes: usize,
    pub zh: String,
    pub en: String,
}

/// A case in a list: its summary with names resolved and its deadline state now.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CaseRow {
    pub summary: CaseSummary,
    pub due: DueState,
    pub category_name: String,
    pub place_name: String,
    pub responsible_name: String,
}

/// The first screen: today's work.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Today {
    pub me: Me,
    pub now: i64,
    /// Households to visit next (least recently visited first), a few.
    pub households: Vec<HouseholdRow>,
    pub households_total: usize,
    /// Households visited today.
    pub visited_today: usize,
    /// Cases of my unit, or reported by or assigned to me, past their deadline (超期): those
    /// that fell overdue most recently first.
    pub overdue: Vec<CaseRow>,
    /// Cases of my unit, or mine, due soon (即将到期): the soonest first.
    pub due_soon: Vec<CaseRow>,
    /// Open cases assigned to me or reported by me: the earliest deadline first.
    pub mine: Vec<CaseRow>,
    /// For centre staff: new reports waiting to be assessed (待研判).
    pub to_assess: Vec<CaseRow>,
    /// For centre staff: cases escalated to this centre, or assigned down to it, not yet handled.
    pub escalated_in: Vec<CaseRow>,
    /// For centre staff: cases this centre escalated up that the higher centre still holds.
    pub escalated_out: Vec<CaseRow>,
    /// Cases with unsettled conflicts.
    pub conflicts: usize,
    /// For centre staff: early-warning alerts not yet acknowledged (风险预警), most urgent first.
    #[serde(default)]
    pub alerts: Vec<AlertRow>,
    /// Cases of my unit, or mine, under a supervision (督办) and not yet handled: the earliest
    /// new deadline first. Each row's summary carries the supervision (level, deadline, by whom).
    #[serde(default)]
    pub supervised: Vec<CaseRow>,
    /// For centre staff: the centre's work orders (工单) of the 12345 hotline waiting to be
    /// signed for, or past their reply deadline with no reply; the earliest deadline owed
    /// first. Each row's summary carries the order (number, kind, state, deadlines).
    #[serde(default)]
    pub orders: Vec<CaseRow>,
    /// How many cases each section holds in all (its rows are the most urgent few).
    pub counts: TodayCounts,
    pub sync: SyncState,
}

/// The true size of each of today's sections, whatever rows it shows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TodayCounts {
    pub overdue: usize,
    pub due_soon: usize,
    pub mine: usize,
    pub to_assess: usize,
    /// Counted among the centre's newest 200 open cases (today reads no more).
    pub escalated_in: usize,
    pub escalated_out: usize,
    /// Open alerts.
    #[serde(default)]
    pub alerts: usize,
    /// Open cases under supervision.
    #[serde(default)]
    pub supervised: usize,
    /// Work orders waiting to be signed for or late with their reply.
    #[serde(default)]
    pub orders: usize,
}

/// Which cases the list shows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CaseQuery {
    /// Only cases I reported or am assigned to; otherwise my unit's.
    pub mine: bool,
    pub status: Option<Status>,
    pub category: Option<String>,
    /// `overdue` or `due_soon`.
    pub due: Option<DueState>,
    pub open_only: bool,
    pub conflicts_only: bool,
    /// Part of a party's name or of the title.
    pub search: Option<String>,
    /// Only cases whose work order (工单) of the 12345 hotline waits to be signed for or is late
    /// with its reply.
    #[serde(default)]
    pub orders: bool,
    /// Only open cases under a supervision (督办) in force, the earliest deadline first.
    #[serde(default)]
    pub supervised: bool,
    /// At most this many rows (0: the default page of 200).
    pub limit: u32,
}

/// A mediator on the roster (点单式调解).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mediator {
    pub id: PersonId,
    pub name: String,
    pub unit_name: String,
    /// Category codes the mediator is good at.
    pub specialties: Vec<String>,
    /// Good at this case's category.
    pub matches: bool,
}

/// The mediator roster of a centre (人民调解员名册), for 点单式调解 and for staff to know who
/// can take what.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Roster {
    pub unit_name: String,
    pub mediators: Vec<Mediator>,
    /// Category code → name, for the specialties.
    pub categories: BTreeMap<String, String>,
    /// Open cases each mediator is assigned to now, by person id.
    pub caseload: BTreeMap<String, usize>,
}

/// One line of a case's timeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimelineRow {
    pub entry: TimelineEntry,
    /// Why the entry was kept but not applied, when it was not (a concurrent move won).
    pub not_applied: Option<String>,
    /// The entry is an unsettled conflict.
    pub conflict: bool,
}

/// The case screen: the case, its history, and what this person may do now.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CaseScreen {
    pub row: CaseRow,
    pub document: CaseDocument,
    pub state: Option<CaseState>,
    /// In the order the workflow folded it (oldest first).
    pub timeline: Vec<TimelineRow>,
    /// The steps this person may take now ([`crate::workflow::offered`]).
    pub allowed: Vec<ActionKind>,
    /// Where an escalation may go ([`crate::rules::escalation_targets`]).
    pub escalate_to: Vec<UnitRef>,
    /// Where an assignment down may go ([`crate::rules::assign_down_targets`]).
    pub assign_down_to: Vec<UnitRef>,
    /// How the responsible centre counts days: an assignment down's deadline is
    /// [`DeadlinePolicy::assign_down_due`] of it, as the store and the server check it.
    pub policy: DeadlinePolicy,
    /// Mediators who may take the case, those good at its category first.
    pub roster: Vec<Mediator>,
    /// Mediation committees (units with centres) below the responsible one.
    pub committees: Vec<UnitRef>,
    /// Parties' phones and ID numbers, when held here.
    pub contacts: Option<ContactsDocument>,
    /// Other cases sharing a party with this one, strongest match first.
    #[serde(default)]
    pub matches: Vec<MatchRow>,
    /// 同一当事人既往纠纷 N 件: of those, reported before this one.
    #[serde(default)]
    pub earlier_cases: usize,
    /// The other cases of the matter this case is linked into.
    #[serde(default)]
    pub matter: Vec<CaseRow>,
    /// Early-warning alerts concerning this case, open ones first.
    #[serde(default)]
    pub alerts: Vec<Alert>,
}

/// What the report form offers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FormOptions {
    pub categories: Vec<Category>,
    /// Places this person reports from (their grid first, then the units around it).
    pub places: Vec<UnitRef>,
}

/// A visit as the visit form sends it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VisitInput {
    pub household: HouseholdId,
    /// 无事报平安: nothing to report.
    pub all_safe: bool,
    pub note: String,
    /// A dispute found on this visit: reported as a case, and the visit points to it.
    pub dispute: Option<NewCase>,
}

/// What recording a visit did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitRecorded {
    pub household: HouseholdId,
    pub case: Option<CaseId>,
}

/// A household with its visits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HouseholdScreen {
    pub household: HouseholdDocument,
    pub grid_name: String,
}

/// A workflow step as the case screen sends it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActInput {
    pub case: CaseId,
    pub action: Action,
}

/// 调解成功 with an agreement the parties signed on this device's touchscreen, as the case
/// screen sends it: the step, and each signature as the canvas gave it (PNG, base64).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignedInput {
    pub case: CaseId,
    pub action: Action,
    pub signatures: Vec<SignatureInput>,
}

/// One party's signature as drawn.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignatureInput {
    pub party: crate::ids::PartyId,
    /// The PNG's bytes, base64 (a canvas's data URL without its `data:image/png;base64,`).
    pub png_base64: String,
}

/// Another case sharing a party with the one shown (或 the report being written): "同一当事人既往纠纷
/// N 件" lists them, and those that may be the same dispute reported twice are "可能重复上报".
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MatchRow {
    pub row: CaseRow,
    /// Our party's name and theirs, as written.
    pub ours: String,
    pub theirs: String,
    /// How the parties match (same ID number, same phone, names that sound alike in the
    /// same village).
    pub how: PartyMatch,
    /// 可能重复上报: the same category, reported within [`crate::store::DUPLICATE_WINDOW_DAYS`]
    /// days, not yet decided by staff (linked as one matter, or marked distinct).
    pub possible_duplicate: bool,
    /// Staff linked the two into one matter.
    pub same_matter: bool,
    /// Staff decided the two are different matters (判定非重复).
    pub distinct: bool,
}

/// A matter (事项): cases staff linked as one, with their states.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MatterScreen {
    pub matter: MatterId,
    /// Its cases, oldest report first.
    pub cases: Vec<CaseRow>,
}

/// The cases an [`AlertRow`] shows: the newest ones (a group alert over a busy year can concern
/// a thousand cases); the row says how many more there are.
pub const ALERT_CASE_ROWS: usize = 20;

/// An early-warning alert with its cases.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertRow {
    pub alert: Alert,
    /// The rule that raised it, in Chinese ("同一当事人 90 天内涉及 3 件及以上纠纷"); for an
    /// alert recorded by another tier, empty.
    pub rule: String,
    /// The newest of the cases it concerns, at most [`ALERT_CASE_ROWS`] (all of them are in
    /// `alert.cases`), and how many older ones are not shown.
    pub cases: Vec<CaseRow>,
    #[serde(default)]
    pub more: usize,
    /// Whether this person may acknowledge it (centre staff over every case it names).
    pub may_acknowledge: bool,
}

/// The 预警 list: the alerts the unit's rules raise over its cases, those acknowledged, and
/// those acknowledged at another tier of the cases escalated here (随案上报).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertsScreen {
    pub open: Vec<AlertRow>,
    pub acknowledged: Vec<AlertRow>,
    /// The rules in force for the unit, in Chinese.
    pub rules: Vec<String>,
}

/// The figures screen: a unit's report with names for its keys.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FiguresScreen {
    pub report: crate::figures::Report,
    pub unit_name: String,
    /// Names of the units and categories the report's keys name.
    pub names: BTreeMap<String, String>,
}

/// The ledger (台账) as the centre's desk shows it: the cases of the unit reported in a period,
/// one line each, as the exported ledger lists them (`paperwork::ledger`), ID numbers as the
/// export shows them to this person.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LedgerScreen {
    pub unit_name: String,
    /// The period's first and last local days, `YYYY-MM-DD`.
    pub first: String,
    pub last: String,
    /// Whether parties' ID numbers are masked for this person (in the lines and the exports).
    pub masked: bool,
    pub lines: Vec<LedgerLine>,
}

/// One case of the ledger. Dates are local days, `YYYY-MM-DD` (they sort as text).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerLine {
    pub case: CaseId,
    /// 编号 (`20261203-3F4A5B`).
    pub number: String,
    /// 受理日期.
    pub reported: String,
    pub category: String,
    /// 当事人, with their ID numbers as the export shows them.
    pub parties: String,
    /// 村/网格.
    pub place: String,
    pub title: String,
    /// 责任单位/调解员.
    pub responsible: String,
    /// 状态, in Chinese.
    pub status: String,
    /// 期限: the last day to handle it by.
    pub due: String,
    /// 是否超期.
    pub overdue: bool,
}

/// What the desk writes out: the ledger, or a periodic report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeskDocument {
    /// 台账 (XLSX).
    Ledger,
    /// 每周研判.
    Weekly,
    /// 每月通报.
    Monthly,
    /// 每季总结.
    Quarterly,
}

/// The file type of an export.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    Xlsx,
    Pdf,
}

impl ExportFormat {
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Xlsx => "xlsx",
            ExportFormat::Pdf => "pdf",
        }
    }
}

/// An export the desk asks for: the document, the period as the ledger screen shows it
/// (`[from, to)`, UTC milliseconds: the ledger covers its local days; a report covers the week,
/// month or quarter holding its last day, or today if that comes first), and the file to write
/// (the path the save dialog gave).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportInput {
    pub document: DeskDocument,
    pub format: ExportFormat,
    pub from: i64,
    pub to: i64,
    pub path: String,
}

/// An export written: where, how many cases it covers, its days, and whether ID numbers in it
/// are masked (`masked`, `full`, or `none` for a report, which prints none).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportDone {
    pub path: String,
    pub cases: u64,
    pub first: String,
    pub last: String,
    pub ids: String,
    pub bytes: u64,
}

/// An attachment's bytes for the interface to show (a photo, a PDF): its type and the bytes in
/// standard base64.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentData {
    pub mime: String,
    pub base64: String,
}

/// The app's commands: the one list from which the shell (`src-tauri`) generates each Tauri
/// command and its handler registration, and the interface (`app-ui`) each bridge function, so
/// that a name, an argument or an answer cannot differ between the two sides. Each line is
/// `name(argument: Type, …) -> Answer;` (arguments are named as the interface sends them).
///
/// `app_commands!(m)` calls the macro `m` with the list. Adding a command: a line here, a
/// handler of that name in the shell; the compiler points at anything missing.
#[macro_export]
macro_rules! app_commands {
    ($m:ident) => {
        $m! {
            /// Enrols this device with a centre's server using a one-time code.
            enrol(server: String, code: String, device_name: String) -> $crate::screens::Me;
            /// The enrolled person (refused when the device is not enrolled).
            me() -> $crate::screens::Me;
            /// Today's work.
            today() -> $crate::screens::Today;
            /// The case list, filtered.
            cases(query: $crate::screens::CaseQuery) -> Vec<$crate::screens::CaseRow>;
            /// One case, its timeline and the steps offered now.
            case(id: $crate::ids::CaseId) -> $crate::screens::CaseScreen;
            /// Records a workflow step; answers with the case as it is now.
            act(input: $crate::screens::ActInput) -> $crate::screens::CaseScreen;
            /// 调解成功 with an agreement the parties signed on the touchscreen.
            resolve_signed(input: $crate::screens::SignedInput) -> $crate::screens::CaseScreen;
            /// The mediators of my unit, their specialties and caseload.
            roster() -> $crate::screens::Roster;
            /// Categories and places for the report form.
            form_options() -> $crate::screens::FormOptions;
            /// Records a dispute on this device; answers with the new case's id.
            report_case(report: $crate::model::NewCase) -> $crate::ids::CaseId;
            /// The households of my grid, least recently visited first.
            households() -> Vec<$crate::screens::HouseholdRow>;
            /// One household with its visits.
            household(id: $crate::ids::HouseholdId) -> $crate::screens::HouseholdScreen;
            /// Records a door-to-door visit (and the dispute found on it, if any).
            record_visit(visit: $crate::screens::VisitInput) -> $crate::screens::VisitRecorded;
            /// My unit's figures for cases reported in `[from, to)` (epoch milliseconds).
            figures(from: i64, to: i64) -> $crate::screens::FiguresScreen;
            /// Attaches a photo (or a PDF scan) to a case on this device; `base64` is the file's
            /// bytes in standard base64. Answers with the case as it is now; the bytes go to the
            /// server with the next sync.
            attach_photo(case: $crate::ids::CaseId, name: String, mime: String, base64: String)
                -> $crate::screens::CaseScreen;
            /// An attachment's type and bytes (base64), from this device or else the server.
            attachment(case: $crate::ids::CaseId, sha256: String)
                -> $crate::screens::AttachmentData;
            /// Other cases sharing a party with a report not yet saved (可能重复上报, 既往纠纷).
            report_matches(report: $crate::model::NewCase) -> Vec<$crate::screens::MatchRow>;
            /// Links cases as one matter (关联为同一事项), joining the matter one of them is in.
            link_cases(cases: Vec<$crate::ids::CaseId>, note: String)
                -> $crate::screens::MatterScreen;
            /// A matter and its cases.
            matter(id: $crate::ids::MatterId) -> $crate::screens::MatterScreen;
            /// The 预警 list.
            alerts() -> $crate::screens::AlertsScreen;
            /// Acknowledges an alert (预警签收) with what was done, in each case it names.
            acknowledge_alert(key: String, note: String) -> $crate::screens::AlertsScreen;
            /// The header's sync line.
            sync_state() -> $crate::screens::SyncState;
            /// Syncs at once; answers how it went.
            sync_now() -> $crate::screens::SyncState;
            /// The platform's network came back: the background sync tries at once, even while
            /// backing off. Answers the sync state.
            network_changed() -> $crate::screens::SyncState;
            /// This device's settings.
            settings() -> $crate::screens::Settings;
            /// Turns reminders (local notifications of cases due soon, overdue or supervised) on
            /// or off on this device. Answers the settings.
            set_reminders(on: bool) -> $crate::screens::Settings;
            /// The ledger (台账) of my centre's unit for cases reported in `[from, to)` (centre
            /// staff and leaders only).
            ledger(from: i64, to: i64) -> $crate::screens::LedgerScreen;
            /// Writes the ledger or a periodic report from this device's store to the file
            /// `export.path` names (the save dialog's), and logs the export on this device.
            export_paperwork(export: $crate::screens::ExportInput) -> $crate::screens::ExportDone;
        }
    };
}

#[cfg(test)]
mod tests {
    /// The command names, from the list.
    macro_rules! names {
        ($($(#[$doc:meta])* $name:ident($($arg:ident: $ty:ty),*) -> $answer:ty;)*) => {
            [$(stringify!($name)),*]
        };
    }

    #[test]
    fn commands_have_distinct_snake_case_names() {
        let names = crate::app_commands!(names);
        assert_eq!(names.len(), 28);
        let distinct: std::collections::BTreeSet<_> = names.iter().collect();
        assert_eq!(distinct.len(), names.len(), "{names:?}");
        for n in names {
            assert!(n.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{n}");
        }
    }
}
