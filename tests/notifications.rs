//! Reminders (提醒) from the real app window reach the desktop's notification server: a session
//! bus and a real notification daemon (dunst, which prints what it is asked to show) run beside
//! the window under Xvfb; the desk enrols with a demo centre whose 12345 hotline dispatched an
//! order half an hour ago, and the window, having synced it, notifies that it waits to be signed
//! for (工单待签收). (Once a day per case is the session's rule, tested in `reminders.rs`.)

use crate::sync::STAFF;
use anyhow::{bail, Context};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use system_tests::window::AppWindow;
use system_tests::Server;

/// A private session bus with dunst serving `org.freedesktop.Notifications` on it.
struct Desktop {
    bus: Child,
    dunst: Child,
    address: String,
    /// What dunst printed: one block per notification it was asked to show.
    shown: Arc<Mutex<String>>,
    _dir: tempfile::TempDir,
}

impl Desktop {
    fn start() -> anyhow::Result<Desktop> {
        let dir = tempfile::tempdir()?;
        let address = format!("unix:path={}", dir.path().join("bus").display());
        let mut bus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--nopidfile", "--print-address=1"])
            .arg(format!("--address={address}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("start dbus-daemon (installed by .ci/setup)")?;
        // The bus prints its address once it listens: dunst must not come before (it gives up
        // at once when there is no bus to join).
        let mut listening = String::new();
        BufReader::new(bus.stdout.take().context("dbus-daemon's output")?)
            .read_line(&mut listening)?;
        if listening.trim().is_empty() {
            let _ = bus.kill();
            bail!("dbus-daemon did not start a session bus at {address}");
        }
        let errors = dir.path().join("dunst.err");
        let mut dunst = Command::new("dunst")
            .arg("-print")
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .stdout(Stdio::piped())
            .stderr(Stdio::from(std::fs::File::create(&errors)?))
            .spawn()
            .context("start dunst (installed by .ci/setup)")?;
        let shown = Arc::new(Mutex::new(String::new()));
        let out = dunst.stdout.take().context("dunst's output")?;
        let into = shown.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let mut s = into.lock().unwrap_or_else(|e| e.into_inner());
                s.push_str(&line);
                s.push('\n');
            }
        });
        let mut desktop = Desktop {
            bus,
            dunst,
            address,
            shown,
            _dir: dir,
        };
        // Ready once the notification service has its name on the bus.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let owned = Command::new("dbus-send")
                .args([
                    "--session",
                    "--print-reply",
                    "--dest=org.freedesktop.DBus",
                    "/org/freedesktop/DBus",
                    "org.freedesktop.DBus.NameHasOwner",
                    "string:org.freedesktop.Notifications",
                ])
                .env("DBUS_SESSION_BUS_ADDRESS", &desktop.address)
                .output();
            if owned.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("boolean true")) {
                return Ok(desktop);
            }
            let exited = desktop.dunst.try_wait()?;
            if exited.is_some() || Instant::now() > deadline {
                bail!(
                    "dunst did not take org.freedesktop.Notifications on the session bus ({}): {}",
                    exited.map_or("still running".to_owned(), |s| s.to_string()),
                    std::fs::read_to_string(&errors).unwrap_or_default().trim()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The summaries (titles) of the notifications shown so far.
    fn titles(&self) -> Vec<String> {
        self.shown
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .lines()
            .filter_map(|l| l.trim().strip_prefix("summary: '"))
            .map(|l| l.trim_end_matches('\'').to_owned())
            .collect()
    }
}

impl Drop for Desktop {
    fn drop(&mut self) {
        let _ = self.dunst.kill();
        let _ = self.dunst.wait();
        let _ = self.bus.kill();
        let _ = self.bus.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_e2e_the_windows_reminders_reach_the_desktops_notification_server() -> anyhow::Result<()>
{
    let desktop = Desktop::start()?;
    let server_dir = tempfile::tempdir()?;
    let server = Server::start(server_dir.path(), 30)?;
    // The desk enrols itself at start (as `.ci/start` runs it) and syncs every second.
    let desk = AppWindow::launch(
        "desk-reminders",
        &[
            ("DBUS_SESSION_BUS_ADDRESS", desktop.address.clone()),
            ("FENGQIAO_SERVER", server.url()),
            ("FENGQIAO_ENROL_CODE", server.code_for(STAFF)?),
            ("FENGQIAO_SYNC_SECS", "1".to_owned()),
        ],
    )
    .await?;
    desk.wait("#today").await?;
    // The hotline's order of half an hour ago, synced, is notified: its title names it.
    let deadline = Instant::now() + Duration::from_secs(90);
    let order = loop {
        let titles = desktop.titles();
        if let Some(t) = titles.iter().find(|t| t.starts_with("工单待签收：")) {
            break t.clone();
        }
        if Instant::now() > deadline {
            bail!("no notification of the hotline's order; shown: {titles:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // Today's 工单 section shows the same case.
    let title = order.trim_start_matches("工单待签收：");
    desk.wait_text("#today-orders", title).await?;
    desk.screenshot("today-orders").await?;
    desk.close().await?;
    Ok(())
}
