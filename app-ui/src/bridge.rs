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

pub use app_core::screens::{
    ActInput, AttachmentData, CaseQuery, CaseRow, CaseScreen, DeskDocument, ExportDone,
    ExportFormat, ExportInput, FiguresScreen, FormOptions, HouseholdRow, HouseholdScreen,
    LedgerLine, LedgerScreen, Me, Roster, SyncState, Today, VisitInput, VisitRecorded,
};

/// The name of the event the shell emits whenever the sync state changes (payload: [`SyncState`]).
pub const SYNC_EVENT: &str = "sync-state";

/// Generates, for each command of the list, the function that invokes it with its arguments
/// named as the shell's command takes them.
macro_rules! bridge_functions {
    ($($(#[$doc:meta])* $name:ident($($arg:ident: $ty:ty),*) -> $answer:ty;)*) => {
        $(
            $(#[$doc])*
            pub async fn $name($($arg: &$ty),*) -> Result<$answer, BridgeError> {
                #[derive(Serialize)]
                struct Args<'a> {
                    $($arg: &'a $ty,)*
                    #[serde(skip)]
                    _of: std::marker::PhantomData<&'a ()>,
                }
                invoke(
                    stringify!($name),
                    &Args {
                        $($arg,)*
                        _of: std::marker::PhantomData,
                    },
                )
                .await
            }
        )*
    };
}

app_core::app_commands!(bridge_functions);

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_namespace = ["window", "__TAURI__", "event"], js_name = listen)]
    async fn tauri_listen(
        event: &str,
        handler: &Closure<dyn FnMut(JsValue)>,
    ) -> Result<JsValue, JsValue>;
}

/// Tells the shell whenever the platform says the network is back (the webview's `online`
/// event, which follows the OS's network changes on phones and desktops), for as long as the
/// page lives: the background sync then tries at once instead of waiting out its backoff.
pub fn on_network_back() {
    let Some(window) = web_sys::window() else {
        return;
    };
    if !has_shell() {
        return;
    }
    let handler = Closure::<dyn FnMut()>::new(|| {
        wasm_bindgen_futures::spawn_local(async {
            let _ = network_changed().await;
        });
    });
    if window
        .add_event_listener_with_callback("online", handler.as_ref().unchecked_ref())
        .is_ok()
    {
        handler.forget();
    }
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

#[derive(Serialize)]
struct DialogFilter<'a> {
    name: &'a str,
    extensions: [&'a str; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SaveOptions<'a> {
    title: &'a str,
    default_path: &'a str,
    filters: [DialogFilter<'a>; 1],
}

#[derive(Serialize)]
struct SaveArgs<'a> {
    options: SaveOptions<'a>,
}

/// Asks the person where to save a file, with the platform's own save dialog (the dialog
/// plugin's `save`, which the window's capability allows): the path chosen, or `None` when
/// the dialog was closed without one.
pub async fn save_dialog(
    title: &str,
    file_name: &str,
    filter: &str,
    extension: &str,
) -> Result<Option<String>, BridgeError> {
    invoke(
        "plugin:dialog|save",
        &SaveArgs {
            options: SaveOptions {
                title,
                default_path: file_name,
                filters: [DialogFilter {
                    name: filter,
                    extensions: [extension],
                }],
            },
        },
    )
    .await
}
