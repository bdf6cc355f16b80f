//! The commands the interface calls. Their names, arguments and answers are the one list in
//! [`app_core::app_commands`], from which this module generates each Tauri command (and
//! [`invoke_handler`], which registers them all) and `app-ui` each bridge function. Each command
//! is one call into [`Session`] in [`handlers`]; the answer is a `screens` type or the core's
//! error in both languages. Argument names stay snake_case on both sides.
//!
//! Commands are `async` so that they run on the async runtime, not the window's thread: a list
//! read over 10,000 cases must never freeze scrolling.

use app_core::session::{AppError, Session};
use std::sync::Arc;
use tauri::State;

/// A refused command, as the interface receives it: what went wrong in both languages (the
/// interface shows the one it speaks).
#[derive(Debug, thiserror::Error, serde::Serialize)]
#[error("{en}")]
pub(crate) struct CommandError {
    zh: String,
    en: String,
}

impl From<AppError> for CommandError {
    fn from(e: AppError) -> CommandError {
        CommandError {
            zh: e.zh(),
            en: e.en(),
        }
    }
}

type Answer<T> = Result<T, CommandError>;
type App<'a> = State<'a, Arc<Session>>;

/// Generates, for each command of the list, the Tauri command that calls its handler, and the
/// handler registration.
macro_rules! tauri_commands {
    ($($(#[$doc:meta])* $name:ident($($arg:ident: $ty:ty),*) -> $answer:ty;)*) => {
        $(
            $(#[$doc])*
            #[tauri::command(rename_all = "snake_case")]
            pub(crate) async fn $name(app: App<'_>, $($arg: $ty),*) -> Answer<$answer> {
                handlers::$name(&app, $($arg),*).await
            }
        )*

        /// Every command of the list, for the builder's `invoke_handler`.
        pub(crate) fn invoke_handler<R: tauri::Runtime>(
        ) -> impl Fn(tauri::ipc::Invoke<R>) -> bool + Send + Sync + 'static {
            tauri::generate_handler![$($name),*]
        }
    };
}

app_core::app_commands!(tauri_commands);

/// What each command does: one call into the session, at the shell's clock.
mod handlers {
    use super::{Answer, CommandError};
    use app_core::ids::{CaseId, HouseholdId, MatterId};
    use app_core::model::NewCase;
    use app_core::screens::{
        ActInput, AlertsScreen, AttachmentData, CaseQuery, CaseRow, CaseScreen, ExportDone,
        ExportInput, FiguresScreen, FormOptions, HouseholdRow, HouseholdScreen, LedgerScreen,
        MatchRow, MatterScreen, Me, Roster, Settings, SignedInput, SyncState, Today, VisitInput,
        VisitRecorded,
    };
    use app_core::session::Session;

    fn now() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or_default()
    }

    pub(super) async fn enrol(
        app: &Session,
        server: String,
        code: String,
        device_name: String,
    ) -> Answer<Me> {
        Ok(app.enrol(&server, &code, &device_name).await?)
    }

    pub(super) async fn me(app: &Session) -> Answer<Me> {
        Ok(app.me()?)
    }

    pub(super) async fn today(app: &Session) -> Answer<Today> {
        Ok(app.today(now())?)
    }

    pub(super) async fn cases(app: &Session, query: CaseQuery) -> Answer<Vec<CaseRow>> {
        Ok(app.cases(&query, now())?)
    }

    pub(super) async fn case(app: &Session, id: CaseId) -> Answer<CaseScreen> {
        Ok(app.case(&id, now())?)
    }

    pub(super) async fn act(app: &Session, input: ActInput) -> Answer<CaseScreen> {
        Ok(app.act(&input, now())?)
    }

    pub(super) async fn resolve_signed(app: &Session, input: SignedInput) -> Answer<CaseScreen> {
        Ok(app.resolve_signed(&input, now())?)
    }

    pub(super) async fn roster(app: &Session) -> Answer<Roster> {
        Ok(app.roster(now())?)
    }

    pub(super) async fn form_options(app: &Session) -> Answer<FormOptions> {
        Ok(app.form_options()?)
    }

    pub(super) async fn report_case(app: &Session, report: NewCase) -> Answer<CaseId> {
        Ok(app.report_case(&report, now())?)
    }

    pub(super) async fn households(app: &Session) -> Answer<Vec<HouseholdRow>> {
        Ok(app.households()?)
    }

    pub(super) async fn household(app: &Session, id: HouseholdId) -> Answer<HouseholdScreen> {
        Ok(app.household(&id)?)
    }

    pub(super) async fn record_visit(app: &Session, visit: VisitInput) -> Answer<VisitRecorded> {
        Ok(app.record_visit(&visit, now())?)
    }

    pub(super) async fn figures(app: &Session, from: i64, to: i64) -> Answer<FiguresScreen> {
        Ok(app.figures(from, to, now())?)
    }

    /// The interface reads the file the camera or the picker gave it and sends its bytes as
    /// base64.
    pub(super) async fn attach_photo(
        app: &Session,
        case: CaseId,
        name: String,
        mime: String,
        base64: String,
    ) -> Answer<CaseScreen> {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(base64.as_bytes())
            .map_err(|e| CommandError {
                zh: format!("照片数据已损坏：{e}"),
                en: format!("the photo's data is damaged: {e}"),
            })?;
        Ok(app.attach_photo(&case, &name, &mime, &bytes, now())?)
    }

    pub(super) async fn attachment(
        app: &Session,
        case: CaseId,
        sha256: String,
    ) -> Answer<AttachmentData> {
        Ok(app.attachment(&case, &sha256).await?)
    }

    pub(super) async fn report_matches(app: &Session, report: NewCase) -> Answer<Vec<MatchRow>> {
        Ok(app.report_matches(&report, now())?)
    }

    pub(super) async fn link_cases(
        app: &Session,
        cases: Vec<CaseId>,
        note: String,
    ) -> Answer<MatterScreen> {
        Ok(app.link_cases(&cases, &note, now())?)
    }

    pub(super) async fn matter(app: &Session, id: MatterId) -> Answer<MatterScreen> {
        Ok(app.matter(&id, now())?)
    }

    pub(super) async fn alerts(app: &Session) -> Answer<AlertsScreen> {
        Ok(app.alerts(now())?)
    }

    pub(super) async fn acknowledge_alert(
        app: &Session,
        key: String,
        note: String,
    ) -> Answer<AlertsScreen> {
        Ok(app.acknowledge_alert(&key, &note, now())?)
    }

    pub(super) async fn sync_state(app: &Session) -> Answer<SyncState> {
        Ok(app.sync_state()?)
    }

    pub(super) async fn sync_now(app: &Session) -> Answer<SyncState> {
        Ok(app.sync_now().await?)
    }

    pub(super) async fn network_changed(app: &Session) -> Answer<SyncState> {
        Ok(app.network_changed()?)
    }

    pub(super) async fn settings(app: &Session) -> Answer<Settings> {
        Ok(app.settings()?)
    }

    pub(super) async fn set_reminders(app: &Session, on: bool) -> Answer<Settings> {
        Ok(app.set_reminders(on)?)
    }

    pub(super) async fn ledger(app: &Session, from: i64, to: i64) -> Answer<LedgerScreen> {
        Ok(app.ledger(from, to, now())?)
    }

    /// The interface has asked the person where to save (the dialog plugin's save dialog) and
    /// sends the path; the file is written here, from this device's store, and logged.
    pub(super) async fn export_paperwork(app: &Session, export: ExportInput) -> Answer<ExportDone> {
        Ok(app.export_paperwork(&export, now())?)
    }
}
