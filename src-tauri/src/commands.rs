//! The commands the interface calls (through `app-ui`'s bridge, one function per command, same
//! names). Each is one call into [`Session`]; the answer is a `screens` type or the core's error
//! as its message. Argument names stay snake_case on both sides.
//!
//! Commands are `async` so that they run on the async runtime, not the window's thread: a list
//! read over 10,000 cases must never freeze scrolling.

use app_core::ids::{CaseId, HouseholdId};
use app_core::model::NewCase;
use app_core::screens::{
    ActInput, AttachmentData, CaseQuery, CaseRow, CaseScreen, FiguresScreen, FormOptions,
    HouseholdRow, HouseholdScreen, Me, Roster, SyncState, Today, VisitInput, VisitRecorded,
};
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

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

#[tauri::command(rename_all = "snake_case")]
pub(crate) async fn enrol(
    app: App<'_>,
    server: String,
    code: String,
    device_name: String,
) -> Answer<Me> {
    Ok(app.enrol(&server, &code, &device_name).await?)
}

#[tauri::command(rename_all = "snake_case")]
pub(crate) async fn me(app: App<'_>) -> Answer<Me> {
    Ok(app.me()?)
}

#[tauri::command(rename_all = "snake_case")]
pub(crate) async fn today(app: App<'_>) -> Answer<Today> {
    Ok(app.today(now())?)
}

#[tauri::command(rename_all = "snake_case")]
pub(crate) async fn cases(app: App<'_>, query: CaseQuery) -> Answer<Vec<CaseRow>> {
    Ok(app.cases(&query, now())?)
}

#[tauri::command(rename_all = "snake_case")]
pub(crate) async fn case(app: App<'_>, id: CaseId) -> Answer<CaseScreen> {
    Ok(app.case(&id, now())?)
}

#[tauri::command(rename_all = "snake_case")]
pub(crate) async fn act(app: App<'_>, input: ActInput) -> Answer<CaseScreen> {
    Ok(app.act(&input, now())?)
}

#[tauri::command(rename_all = "snake_case")]
pub(crate) async fn roster(app: App<'_>) -> Answer<Roster> {
    Ok(app.roster(now())?)
}

#[tauri::command(rename_all = "snake_case")]
pub(crate) async fn form_options(app: App<'_>) -> Answer<FormOptions> {
    Ok(app.form_options()?)
}

#[tauri::command(rename_all = "snake_case")]
pub(crate) async fn report_case(app: App<'_>, report: NewCase) -> Answer<CaseId> {
    Ok(app.report_case(&report, now())?)
}

#[tauri::command(rename_all = "snake_case")]
pub(crate) async fn households(app: App<'_>) -> Answer<Vec<HouseholdRow>> {
    Ok(app.households()?)
}

#[tauri::command(rename_all = "snake_case")]
pub(crate) async fn household(app: App<'_>, id: HouseholdId) -> Answer<HouseholdScreen> {
    Ok(app.household(&id)?)
}

#[tauri::command(rename_all = "snake_case")]
pub(crate) async fn record_visit(app: App<'_>, visit: VisitInput) -> Answer<VisitRecorded> {
    Ok(app.record_visit(&visit, now())?)
}

#[tauri::command(rename_all = "snake_case")]
pub(crate) async fn figures(app: App<'_>, from: i64, to: i64) -> Answer<FiguresScreen> {
    Ok(app.figures(from, to, now())?)
}

/// Attaches a photo (or a scan): the interface reads the file the camera or the picker gave it
/// and sends its bytes as base64.
#[tauri::command(rename_all = "snake_case")]
pub(crate) async fn attach_photo(
    app: App<'_>,
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

#[tauri::command(rename_all = "snake_case")]
pub(crate) async fn attachment(
    app: App<'_>,
    case: CaseId,
    sha256: String,
) -> Answer<AttachmentData> {
    Ok(app.attachment(&case, &sha256).await?)
}

#[tauri::command(rename_all = "snake_case")]
pub(crate) async fn sync_state(app: App<'_>) -> Answer<SyncState> {
    Ok(app.sync_state()?)
}

#[tauri::command(rename_all = "snake_case")]
pub(crate) async fn sync_now(app: App<'_>) -> Answer<SyncState> {
    Ok(app.sync_now().await?)
}
