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
    /// The core refused, with its message (already in the user's terms).
    Refused(String),
    /// The answer was not what the command promises.
    Garbled(String),
}

impl std::fmt::Display for BridgeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BridgeError::NoShell => f.write_str("not running inside the app"),
            BridgeError::Refused(m) | BridgeError::Garbled(m) => f.write_str(m),
        }
    }
}

/// Calls a command with named arguments.
pub async fn invoke<A: Serialize, R: DeserializeOwned>(
    cmd: &str,
    args: &A,
) -> Result<R, BridgeError> {
    let args =
        serde_wasm_bindgen::to_value(args).map_err(|e| BridgeError::Garbled(e.to_string()))?;
    match tauri_invoke(cmd, args).await {
        Ok(v) => serde_wasm_bindgen::from_value(v).map_err(|e| BridgeError::Garbled(e.to_string())),
        Err(e) => Err(match e.as_string() {
            Some(m) => BridgeError::Refused(m),
            None if e.is_instance_of::<js_sys::TypeError>() => BridgeError::NoShell,
            None => BridgeError::Refused(format!("{e:?}")),
        }),
    }
}

/// What the sync line in the header shows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncState {
    pub enrolled: bool,
    pub last_synced_at: Option<i64>,
    pub waiting: usize,
    pub syncing: bool,
    pub error: Option<String>,
}

#[derive(Serialize)]
struct EnrolArgs<'a> {
    server: &'a str,
    code: &'a str,
    device_name: &'a str,
}

/// `enrol`: enrols this device with a centre's server.
pub async fn enrol(server: &str, code: &str, device_name: &str) -> Result<SyncState, BridgeError> {
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
struct ReportArgs<'a> {
    report: &'a app_core::model::NewCase,
}

/// `report_case`: records a dispute on this device; returns the new case's id.
pub async fn report_case(report: &app_core::model::NewCase) -> Result<String, BridgeError> {
    invoke("report_case", &ReportArgs { report }).await
}

/// `sync_state`: the header's sync line.
pub async fn sync_state() -> Result<SyncState, BridgeError> {
    invoke("sync_state", &()).await
}
