//! The Tauri 2 shell: one window running `app-ui`, one [`Session`] over the device's store, a
//! background task that syncs with the centre's server and pushes its state to the window, and
//! one that shows reminders (提醒) as the platform's notifications.
//!
//! Where things live:
//! - the store: `fengqiao.sqlite3` in the app's data directory (`FENGQIAO_APP_DATA` overrides
//!   the directory, so that tests and a desk can run several instances side by side);
//! - the sync interval: 30 s, or `FENGQIAO_SYNC_SECS`; every local write also wakes the sync;
//! - reminders: looked for at start, every minute ([`REMIND_EVERY`]) and after each sync (which
//!   may bring a supervision or a work order) in the local store, network or not ([`Session::due_reminders`]: due soon, overdue, newly supervised, once a day
//!   per case, grouped), and shown through the notification plugin unless the person turned them
//!   off on the sync screen or the platform does not allow notifications;
//! - the desk's exports: the interface asks where to save with the dialog plugin's save dialog,
//!   then the `export_paperwork` command writes the file from the local store;
//! - the window's size: `FENGQIAO_WINDOW` (`1366x768`) sets it at start (a desk's screen; the
//!   configuration's default is a phone's);
//! - first start on a prepared machine: with `FENGQIAO_SERVER` and `FENGQIAO_ENROL_CODE` set and
//!   the device not yet enrolled, the app enrols itself (the demo's run command uses this).

mod commands;

use app_core::session::Session;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tauri::{Emitter, Manager};
use tauri_plugin_notification::{NotificationExt, PermissionState};

/// The name the app shows.
pub const APP_NAME: &str = "枫桥调解";

/// The event that carries the sync state to the window (the bridge's `SYNC_EVENT`).
pub const SYNC_EVENT: &str = "sync-state";

/// How often the shell looks for reminders to show (and once at start).
pub const REMIND_EVERY: Duration = Duration::from_secs(60);

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// Shows the session's reminders as notifications, at start, every [`REMIND_EVERY`] and when
/// `synced` is notified. The platform is asked once for permission (phones); while it is not
/// granted nothing is taken from the session, so nothing is recorded as notified that was not
/// shown.
fn remind(handle: tauri::AppHandle, session: Arc<Session>, synced: Arc<tokio::sync::Notify>) {
    tauri::async_runtime::spawn(async move {
        let notification = handle.notification();
        if !matches!(
            notification.permission_state(),
            Ok(PermissionState::Granted)
        ) {
            let _ = notification.request_permission();
        }
        let mut tick = tokio::time::interval(REMIND_EVERY);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = synced.notified() => {}
            }
            if !matches!(
                notification.permission_state(),
                Ok(PermissionState::Granted)
            ) {
                continue;
            }
            match session.due_reminders(now_ms()) {
                Ok(reminders) => {
                    for r in reminders {
                        let shown = notification.builder().title(&r.title).body(&r.body).show();
                        if let Err(e) = shown {
                            eprintln!("{APP_NAME}: showing a reminder failed: {e}");
                        }
                    }
                }
                Err(e) => eprintln!("{APP_NAME}: reminders: {e}"),
            }
        }
    });
}

fn data_dir(app: &tauri::App) -> Result<PathBuf, Box<dyn std::error::Error>> {
    let dir = match std::env::var_os("FENGQIAO_APP_DATA") {
        Some(d) => PathBuf::from(d),
        None => app.path().app_data_dir()?,
    };
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// `FENGQIAO_WINDOW=1366x768`: the window's inner size in logical pixels.
fn window_size() -> Option<tauri::LogicalSize<f64>> {
    let s = std::env::var("FENGQIAO_WINDOW").ok()?;
    let (w, h) = s.trim().split_once('x')?;
    Some(tauri::LogicalSize::new(w.parse().ok()?, h.parse().ok()?))
}

fn setup(app: &mut tauri::App) -> Result<(), Box<dyn std::error::Error>> {
    if let (Some(size), Some(window)) = (window_size(), app.get_webview_window("main")) {
        window.set_size(size)?;
    }
    let path = data_dir(app)?.join("fengqiao.sqlite3");
    let session = Arc::new(Session::open(&path)?);
    app.manage(session.clone());
    let synced = Arc::new(tokio::sync::Notify::new());
    remind(app.handle().clone(), session.clone(), synced.clone());
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
                let done = !state.syncing;
                let _ = handle.emit(SYNC_EVENT, state);
                if done {
                    synced.notify_one();
                }
            })
            .await;
    });
    Ok(())
}

/// Runs the app (desktop `main`, and the entry point Android and iOS call).
#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    let builder = tauri::Builder::default()
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_dialog::init());
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
