//! The real app window, driven like a person would: the Tauri app binary (with the interface
//! built by trunk) started by `tauri-driver` (which runs WebKitWebDriver), under the X display
//! the test command provides (Xvfb), and a WebDriver client (fantoccini) that taps, types and
//! reads what the screen shows. Each window gets its own data directory, so two apps (a grid
//! worker's phone and the township's desk) run side by side. Screenshots go to
//! `<target>/e2e-screenshots/` for a person to look at; they are not committed.

use crate::{bin_dir, free_port};
use anyhow::{bail, Context};
use fantoccini::{Client, ClientBuilder, Locator};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The workspace's root directory.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// The app binary, built once per test run: first the interface (trunk, release), which the
/// binary embeds, then the shell.
pub fn app_bin() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let ui = workspace_root().join("app-ui");
            let status = Command::new("trunk")
                .args(["build", "--release"])
                .current_dir(&ui)
                .stdout(Stdio::null())
                .status()
                .expect("run trunk (installed by .ci/setup)");
            assert!(status.success(), "building the interface with trunk failed");
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
            let mut cmd = Command::new(cargo);
            cmd.args(["build", "-q", "-p", "fengqiao-app"]);
            if bin_dir().ends_with("release") {
                cmd.arg("--release");
            }
            let status = cmd.status().expect("run cargo build");
            assert!(status.success(), "building the app failed");
            bin_dir().join("fengqiao-app")
        })
        .clone()
}

/// Where screenshots are saved.
pub fn screenshot_dir() -> PathBuf {
    let dir = bin_dir()
        .parent()
        .map(|p| p.join("e2e-screenshots"))
        .unwrap_or_else(|| PathBuf::from("e2e-screenshots"));
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// One running app window.
#[derive(Debug)]
pub struct AppWindow {
    pub client: Client,
    driver: Child,
    /// The app's data directory (its SQLite store lives here).
    pub data: tempfile::TempDir,
    pub name: String,
}

/// How long a screen may take to show what the test waits for.
pub const PATIENCE: Duration = Duration::from_secs(30);

impl AppWindow {
    /// Starts the app in a fresh data directory with extra environment (`FENGQIAO_*`).
    pub async fn launch(name: &str, env: &[(&str, String)]) -> anyhow::Result<AppWindow> {
        Self::launch_in(name, tempfile::tempdir()?, env).await
    }

    /// Starts the app over an existing data directory (a store prepared beforehand).
    pub async fn launch_in(
        name: &str,
        data: tempfile::TempDir,
        env: &[(&str, String)],
    ) -> anyhow::Result<AppWindow> {
        if std::env::var_os("DISPLAY").is_none() {
            bail!(
                "the app window needs an X display: run the tests under xvfb-run (.ci/test does)"
            );
        }
        let app = app_bin();
        let port = free_port();
        let native = free_port();
        let mut driver = Command::new("tauri-driver")
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native.to_string(),
            ])
            .env("FENGQIAO_APP_DATA", data.path())
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("start tauri-driver (installed by .ci/setup)")?;
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                let _ = driver.kill();
                bail!("tauri-driver did not listen on {port}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Several TLS backends are linked here; the client needs one chosen (an error means one
        // already was).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), "wry".into());
        caps.insert(
            "tauri:options".into(),
            serde_json::json!({ "application": app }),
        );
        let client = match ClientBuilder::rustls()
            .context("WebDriver client")?
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => c,
            Err(e) => {
                let _ = driver.kill();
                bail!("the app window did not open: {e}");
            }
        };
        let w = AppWindow {
            client,
            driver,
            data,
            name: name.to_owned(),
        };
        Ok(w)
    }

    /// Waits until an element matching `css` is shown.
    pub async fn wait(&self, css: &str) -> anyhow::Result<fantoccini::elements::Element> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Ok(e) = self.client.find(Locator::Css(css)).await {
                if e.is_displayed().await.unwrap_or(false) {
                    return Ok(e);
                }
            }
            if Instant::now() > deadline {
                let _ = self.screenshot(&format!("timeout-{}", sanitise(css))).await;
                bail!("{}: `{css}` never appeared", self.name);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the element's text contains `needle`; returns the text.
    pub async fn wait_text(&self, css: &str, needle: &str) -> anyhow::Result<String> {
        let deadline = Instant::now() + PATIENCE;
        let mut last = String::new();
        loop {
            if let Ok(e) = self.client.find(Locator::Css(css)).await {
                last = e.text().await.unwrap_or_default();
                if last.contains(needle) {
                    return Ok(last);
                }
            }
            if Instant::now() > deadline {
                let _ = self.screenshot(&format!("timeout-{}", sanitise(css))).await;
                bail!(
                    "{}: `{css}` never said `{needle}` (last: `{last}`)",
                    self.name
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The text of the first element matching `css`, once it is shown.
    pub async fn text(&self, css: &str) -> anyhow::Result<String> {
        Ok(self.wait(css).await?.text().await?)
    }

    /// Taps an element.
    pub async fn tap(&self, css: &str) -> anyhow::Result<()> {
        // A screen that re-renders between finding and tapping leaves a stale element: find it
        // again, a few times.
        let mut tries = 0;
        loop {
            let e = self.reveal(css).await?;
            match e.click().await {
                Ok(()) => return Ok(()),
                Err(e) if tries < 5 => {
                    tries += 1;
                    eprintln!("{}: tap `{css}` failed ({e:?}); again", self.name);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => {
                    let _ = self
                        .screenshot(&format!("failed-tap-{}", sanitise(css)))
                        .await;
                    return Err(e).with_context(|| format!("{}: tap `{css}`", self.name));
                }
            }
        }
    }

    /// Waits for an element and scrolls it to the middle of the screen. The screen scrolls
    /// inside its own container, which WebKitWebDriver does not scroll by itself.
    pub async fn reveal(&self, css: &str) -> anyhow::Result<fantoccini::elements::Element> {
        let e = self.wait(css).await?;
        self.scroll_to(&e).await?;
        Ok(e)
    }

    /// Scrolls an element already found to the middle of the screen.
    pub async fn scroll_to(&self, e: &fantoccini::elements::Element) -> anyhow::Result<()> {
        let arg = serde_json::to_value(e)?;
        let _ = self
            .client
            .execute("arguments[0].scrollIntoView({block: 'center'});", vec![arg])
            .await;
        Ok(())
    }

    /// Draws one stroke on an element with the pointer, as a finger signs: presses at the
    /// first point, moves through the others, lifts. Points are offsets from the element's
    /// centre, in CSS pixels.
    pub async fn draw(&self, css: &str, points: &[(i64, i64)]) -> anyhow::Result<()> {
        use fantoccini::actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};
        let e = self.reveal(css).await?;
        let to = |&(x, y): &(i64, i64), ms: u64| PointerAction::MoveToElement {
            element: e.clone(),
            duration: Some(Duration::from_millis(ms)),
            x,
            y,
        };
        let Some(first) = points.first() else {
            return Ok(());
        };
        let mut stroke = MouseActions::new("finger".to_owned())
            .then(to(first, 0))
            .then(PointerAction::Down {
                button: MOUSE_BUTTON_LEFT,
            });
        for p in &points[1..] {
            stroke = stroke.then(to(p, 20));
        }
        stroke = stroke.then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
        self.client
            .perform_actions(stroke)
            .await
            .with_context(|| format!("{}: draw on `{css}`", self.name))?;
        Ok(())
    }

    /// Types into a field (after clearing it).
    pub async fn fill(&self, css: &str, text: &str) -> anyhow::Result<()> {
        let e = self.reveal(css).await?;
        e.clear()
            .await
            .with_context(|| format!("{}: clear `{css}`", self.name))?;
        e.send_keys(text)
            .await
            .with_context(|| format!("{}: type into `{css}`", self.name))?;
        Ok(())
    }

    /// Gives a file to a file input (what choosing a photo does).
    pub async fn upload(&self, css: &str, path: &Path) -> anyhow::Result<()> {
        let e = self.reveal(css).await?;
        e.send_keys(&path.to_string_lossy())
            .await
            .with_context(|| format!("{}: give `{}` to `{css}`", self.name, path.display()))?;
        Ok(())
    }

    /// Chooses an option of a select by its value.
    pub async fn choose(&self, css: &str, value: &str) -> anyhow::Result<()> {
        let e = self.reveal(css).await?;
        e.select_by_value(value)
            .await
            .with_context(|| format!("{}: choose `{value}` in `{css}`", self.name))?;
        Ok(())
    }

    /// Chooses the option at `index` of a select.
    pub async fn choose_index(&self, css: &str, index: usize) -> anyhow::Result<()> {
        let e = self.reveal(css).await?;
        e.select_by_index(index)
            .await
            .with_context(|| format!("{}: choose option {index} in `{css}`", self.name))?;
        Ok(())
    }

    /// Saves a screenshot of the window as `<name>-<what>.png`; returns its path.
    pub async fn screenshot(&self, what: &str) -> anyhow::Result<PathBuf> {
        let png = self.client.screenshot().await?;
        let path = screenshot_dir().join(format!("{}-{what}.png", self.name));
        std::fs::write(&path, png)?;
        Ok(path)
    }

    /// Closes the window and its driver, keeping the data directory.
    pub async fn into_data(mut self) -> anyhow::Result<tempfile::TempDir> {
        let data = std::mem::replace(&mut self.data, tempfile::tempdir()?);
        self.close().await?;
        Ok(data)
    }

    /// Closes the window and its driver.
    pub async fn close(mut self) -> anyhow::Result<()> {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        Ok(())
    }
}

impl Drop for AppWindow {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}

fn sanitise(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_alphanumeric() { c } else { '_' })
        .collect()
}
