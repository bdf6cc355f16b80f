//! The one way the interface reaches the core: Tauri commands, typed. Every function here maps
//! to one command of `src-tauri` (same name), takes and returns serde types from `app-core`, and
//! turns a refusal into a [`BridgeError`] with the core's message.
//!
//! Outside the Tauri window (a plain browser) there is no `window.__TAURI__`; calls fail with
//! [`BridgeError::NoShell`] and the screens say so.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_namespace = ["window", "__TAURI__", "core"], js_name = invoke)]
    async fn tauri_invoke(cmd: &str, args: JsValue) -> Result<JsValue, JsValue>;
}

/// Why a command failed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum BridgeError {
    /// Not running inside the app's window.
    NoShell,
    /// The core refused, saying why in both languages (the screen shows the one it speaks).
    Refused { zh: String, en: String },
    /// The answer was not what the command promises.
    Garbled(String),
}

impl std::fmt::Display for BridgeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BridgeError::NoShell => f.write_str("not running inside the app"),
            BridgeError::Refused { en, .. } => f.write_str(en),
            BridgeError::Garbled(m) => f.write_str(m),
        }
    }
}

/// Whether the page runs inside the app's window (which provides `window.__TAURI__`). Calling
/// into a missing namespace would throw outside any promise and leave the call hanging.
pub fn has_shell() -> bool {
    web_sys::window()
        .and_then(|w| js_sys::Reflect::get(&w, &JsValue::from_str("__TAURI__")).ok())
        .is_some_and(|t| t.is_object())
}

/// What a rejected call says: the shell's `{zh, en}`, a plain message (a plugin's), or a script
/// error when the namespace is missing.
fn refusal(e: JsValue) -> BridgeError {
    #[derive(Deserialize)]
    struct Said {
        zh: String,
        en: String,
    }
    if let Ok(Said { zh, en }) = serde_wasm_bindgen::from_value::<Said>(e.clone()) {
        return BridgeError::Refused { zh, en };
    }
    match e.as_string() {
        Some(m) => BridgeError::Refused {
            zh: m.clone(),
            en: m,
        },
        None if e.is_instance_of::<js_sys::TypeError>() => BridgeError::NoShell,
        None => {
            let m = format!("{e:?}");
            BridgeError::Refused {
                zh: m.clone(),
                en: m,
            }
        }
    }
}

/// Calls a command with named arguments.
pub async fn invoke<A: Serialize, R: DeserializeOwned>(
    cmd: &str,
    args: &A,
) -> Result<R, BridgeError> {
    if !has_shell() {
        return Err(BridgeError::NoShell);
    }
    let args =
        serde_wasm_bindgen::to_value(args).map_err(|e| BridgeError::Garbled(e.to_string()))?;
    match tauri_invoke(cmd, args).await {
        Ok(v) => serde_wasm_bindgen::from_value(v).map_err(|e| BridgeError::Garbled(e.to_string())),
        Err(e) => Err(refusal(e)),
    }
}

use app_core::ids::{CaseId, HouseholdId};
use app_core::model::NewCase;
pub use app_core::screens::{
    ActInput, AttachmentData, CaseQuery, CaseRow, CaseScreen, FiguresScreen, FormOptions,
    HouseholdRow, HouseholdScreen, Me, Roster, SyncState, Today, VisitInput, VisitRecorded,
};

/// The name of the event the shell emits whenever the sync state changes (payload: [`SyncState`]).
pub const SYNC_EVENT: &str = "sync-state";

#[derive(Serialize)]
struct EnrolArgs<'a> {
    server: &'a str,
    code: &'a str,
    device_name: &'a str,
}

/// `enrol`: enrols this device with a centre's server using a one-time code.
pub async fn enrol(server: &str, code: &str, device_name: &str) -> Result<Me, BridgeError> {
    invoke(
        "enrol",
        &EnrolArgs {
            server,
            code,
            device_name,
        },
    )
    .await
}

#[derive(Serialize)]
struct NoArgs {}

/// `me`: the enrolled person (refused when the device is not enrolled).
pub async fn me() -> Result<Me, BridgeError> {
    invoke("me", &NoArgs {}).await
}

/// `today`: today's work.
pub async fn today() -> Result<Today, BridgeError> {
    invoke("today", &NoArgs {}).await
}

#[derive(Serialize)]
struct QueryArgs<'a> {
    query: &'a CaseQuery,
}

/// `cases`: the case list, filtered.
pub async fn cases(query: &CaseQuery) -> Result<Vec<CaseRow>, BridgeError> {
    invoke("cases", &QueryArgs { query }).await
}

#[derive(Serialize)]
struct CaseArgs<'a> {
    id: &'a CaseId,
}

/// `case`: one case, its timeline and the actions allowed now.
pub async fn case(id: &CaseId) -> Result<CaseScreen, BridgeError> {
    invoke("case", &CaseArgs { id }).await
}

#[derive(Serialize)]
struct ActArgs<'a> {
    input: &'a ActInput,
}

/// `act`: records a workflow step; answers with the case as it is now.
pub async fn act(input: &ActInput) -> Result<CaseScreen, BridgeError> {
    invoke("act", &ActArgs { input }).await
}

#[derive(Serialize)]
struct AttachPhotoArgs<'a> {
    case: &'a CaseId,
    name: &'a str,
    mime: &'a str,
    base64: &'a str,
}

/// `attach_photo`: attaches a photo (or a PDF scan) to a case on this device; `base64` is the
/// file's bytes in standard base64. Answers with the case as it is now; the bytes go to the
/// server with the next sync.
pub async fn attach_photo(
    case: &CaseId,
    name: &str,
    mime: &str,
    base64: &str,
) -> Result<CaseScreen, BridgeError> {
    invoke(
        "attach_photo",
        &AttachPhotoArgs {
            case,
            name,
            mime,
            base64,
        },
    )
    .await
}

#[derive(Serialize)]
struct AttachmentArgs<'a> {
    case: &'a CaseId,
    sha256: &'a str,
}

/// `attachment`: an attachment's type and bytes (base64), from this device or else the server.
pub async fn attachment(case: &CaseId, sha256: &str) -> Result<AttachmentData, BridgeError> {
    invoke("attachment", &AttachmentArgs { case, sha256 }).await
}

/// `roster`: the mediators of my unit, their specialties and caseload.
pub async fn roster() -> Result<Roster, BridgeError> {
    invoke("roster", &NoArgs {}).await
}

/// `form_options`: categories and places for the report form.
pub async fn form_options() -> Result<FormOptions, BridgeError> {
    invoke("form_options", &NoArgs {}).await
}

#[derive(Serialize)]
struct ReportArgs<'a> {
    report: &'a NewCase,
}

/// `report_case`: records a dispute on this device; returns the new case's id.
pub async fn report_case(report: &NewCase) -> Result<CaseId, BridgeError> {
    invoke("report_case", &ReportArgs { report }).await
}

/// `households`: the households of my grid, least recently visited first.
pub async fn households() -> Result<Vec<HouseholdRow>, BridgeError> {
    invoke("households", &NoArgs {}).await
}

#[derive(Serialize)]
struct HouseholdArgs<'a> {
    id: &'a HouseholdId,
}

/// `household`: one household with its visits.
pub async fn household(id: &HouseholdId) -> Result<HouseholdScreen, BridgeError> {
    invoke("household", &HouseholdArgs { id }).await
}

#[derive(Serialize)]
struct VisitArgs<'a> {
    visit: &'a VisitInput,
}

/// `record_visit`: records a door-to-door visit (and the dispute found on it, if any).
pub async fn record_visit(visit: &VisitInput) -> Result<VisitRecorded, BridgeError> {
    invoke("record_visit", &VisitArgs { visit }).await
}

#[derive(Serialize)]
struct FiguresArgs {
    from: i64,
    to: i64,
}

/// `figures`: my unit's figures for cases reported in `[from, to)` (epoch milliseconds).
pub async fn figures(from: i64, to: i64) -> Result<FiguresScreen, BridgeError> {
    invoke("figures", &FiguresArgs { from, to }).await
}

/// `sync_state`: the header's sync line.
pub async fn sync_state() -> Result<SyncState, BridgeError> {
    invoke("sync_state", &NoArgs {}).await
}

/// `sync_now`: syncs at once; answers how it went.
pub async fn sync_now() -> Result<SyncState, BridgeError> {
    invoke("sync_now", &NoArgs {}).await
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_namespace = ["window", "__TAURI__", "event"], js_name = listen)]
    async fn tauri_listen(
        event: &str,
        handler: &Closure<dyn FnMut(JsValue)>,
    ) -> Result<JsValue, JsValue>;
}

/// Calls `on_change` with every sync state the shell pushes, for as long as the page lives.
pub fn on_sync_state(on_change: impl Fn(SyncState) + 'static) {
    let handler = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
        let payload =
            js_sys::Reflect::get(&event, &JsValue::from_str("payload")).unwrap_or(JsValue::NULL);
        if let Ok(state) = serde_wasm_bindgen::from_value::<SyncState>(payload) {
            on_change(state);
        }
    });
    if !has_shell() {
        return;
    }
    wasm_bindgen_futures::spawn_local(async move {
        // Outside the app there is nothing to listen to; the header then shows no sync line.
        let _ = tauri_listen(SYNC_EVENT, &handler).await;
        handler.forget();
    });
}

#[derive(Serialize)]
struct PositionOptions {
    #[serde(rename = "enableHighAccuracy")]
    enable_high_accuracy: bool,
    timeout: u32,
    #[serde(rename = "maximumAge")]
    maximum_age: u32,
}

#[derive(Serialize)]
struct PositionArgs {
    options: PositionOptions,
}

#[derive(Deserialize)]
struct Coordinates {
    latitude: f64,
    longitude: f64,
}

#[derive(Deserialize)]
struct Position {
    coords: Coordinates,
}

/// The device's position (latitude, longitude) from the platform's geolocation plugin, which
/// phones have; `None` where the platform has none (a desktop) or the person declined.
pub async fn location() -> Option<(f64, f64)> {
    let args = PositionArgs {
        options: PositionOptions {
            enable_high_accuracy: true,
            timeout: 15_000,
            maximum_age: 60_000,
        },
    };
    const GET: &str = "plugin:geolocation|get_current_position";
    let first = invoke::<_, Position>(GET, &args).await;
    let position = match first {
        Ok(p) => p,
        // Not yet allowed: ask the person once (a phone shows its own dialog), then try again.
        Err(BridgeError::Refused { .. }) => {
            #[derive(Serialize)]
            struct Ask {
                permissions: [&'static str; 1],
            }
            invoke::<_, serde_json::Value>(
                "plugin:geolocation|request_permissions",
                &Ask {
                    permissions: ["location"],
                },
            )
            .await
            .ok()?;
            invoke::<_, Position>(GET, &args).await.ok()?
        }
        Err(_) => return None,
    };
    Some((position.coords.latitude, position.coords.longitude))
}
