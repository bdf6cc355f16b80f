//! The Tauri 2 shell: one window running `app-ui`, one [`Session`] over the device's store, and
//! a background task that syncs with the centre's server and pushes its state to the window.
//!
//! Where things live:
//! - the store: `fengqiao.sqlite3` in the app's data directory (`FENGQIAO_APP_DATA` overrides
//!   the directory, so that tests and a desk can run several instances side by side);
//! - the sync interval: 30 s, or `FENGQIAO_SYNC_SECS`; every local write also wakes the sync;
//! - first start on a prepared machine: with `FENGQIAO_SERVER` and `FENGQIAO_ENROL_CODE` set and
//!   the device not yet enrolled, the app enrols itself (the demo's run command uses this).

mod commands;

use app_core::session::Session;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tauri::{Emitter, Manager};

/// The name the app shows.
pub const APP_NAME: &str = "枫桥调解";

/// The event that carries the sync state to the window (the bridge's `SYNC_EVENT`).
pub const SYNC_EVENT: &str = "sync-state";

fn data_dir(app: &tauri::App) -> Result<PathBuf, Box<dyn std::error::Error>> {
    let dir = match std::env::var_os("FENGQIAO_APP_DATA") {
        Some(d) => PathBuf::from(d),
        None => app.path().app_data_dir()?,
    };
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn setup(app: &mut tauri::App) -> Result<(), Box<dyn std::error::Error>> {
    let path = data_dir(app)?.join("fengqiao.sqlite3");
    let session = Arc::new(Session::open(&path)?);
    app.manage(session.clone());
    let every = std::env::var("FENGQIAO_SYNC_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map(Duration::from_secs_f64)
        .unwrap_or(Duration::from_secs(30));
    let handle = app.handle().clone();
    tauri::async_runtime::spawn(async move {
        if let (Ok(server), Ok(code)) = (
            std::env::var("FENGQIAO_SERVER"),
            std::env::var("FENGQIAO_ENROL_CODE"),
        ) {
            if session.me().is_err() {
                let name =
                    std::env::var("FENGQIAO_DEVICE_NAME").unwrap_or_else(|_| APP_NAME.into());
                if let Err(e) = session.enrol(&server, &code, &name).await {
                    eprintln!("{APP_NAME}: enrolling with {server} failed: {e}");
                }
            }
        }
        session
            .run_sync(every, |state| {
                let _ = handle.emit(SYNC_EVENT, state);
            })
            .await;
    });
    Ok(())
}

/// Runs the app (desktop `main`, and the entry point Android and iOS call).
#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    let builder = tauri::Builder::default();
    #[cfg(mobile)]
    let builder = builder.plugin(tauri_plugin_geolocation::init());
    let result = builder
        .setup(setup)
        .invoke_handler(commands::invoke_handler())
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("{APP_NAME} could not start: {e}");
        std::process::exit(1);
    }
}
