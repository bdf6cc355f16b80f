//! Helpers shared by the whole-system tests: building and running the workspace's binaries, and
//! simulated devices (a real store in a temporary directory and the real sync client).

use anyhow::{bail, Context};
use app_core::client::{Progress, SyncClient};
use app_core::store::Store;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

pub mod window;

/// The directory cargo puts binaries in (`target/debug`), found from the running executable (a
/// test in `target/debug/deps`, or a benchmark binary in `target/release`).
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("own executable");
    let dir = exe.parent().expect("executable's directory");
    if dir.ends_with("deps") {
        dir.parent().expect("profile directory").to_path_buf()
    } else {
        dir.to_path_buf()
    }
}

/// The sync-server binary with the demo (`--features demo`), built once per test run (cargo
/// does not build other packages' binaries for a test target).
pub fn server_bin() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
            let profile_release = bin_dir().ends_with("release");
            let mut cmd = Command::new(cargo);
            cmd.args([
                "build",
                "-q",
                "-p",
                "sync-server",
                "--features",
                "demo",
                "--bin",
                "sync-server",
            ]);
            if profile_release {
                cmd.arg("--release");
            }
            let status = cmd.status().expect("run cargo build");
            assert!(status.success(), "building sync-server failed");
            bin_dir().join("sync-server")
        })
        .clone()
}

/// Runs an admin subcommand of sync-server on a data directory; its standard output, or an
/// error carrying its standard error.
pub fn admin(data_dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    admin_with(data_dir, &[], args)
}

/// [`admin`] with extra environment (a server's configuration overrides).
pub fn admin_with(
    data_dir: &Path,
    env: &[(String, String)],
    args: &[&str],
) -> anyhow::Result<String> {
    let out = Command::new(server_bin())
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .envs(engine_env(data_dir))
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("RUST_LOG", "warn")
        .output()?;
    if !out.status.success() {
        bail!(
            "sync-server {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The engine the servers of this test run use: `FENGQIAO_TEST_ENGINE=postgres` runs every
/// server on PostgreSQL (a throwaway cluster this process starts, one database per data
/// directory), anything else on its SQLite file.
pub fn postgres_engine() -> bool {
    std::env::var("FENGQIAO_TEST_ENGINE").is_ok_and(|e| e == "postgres")
}

/// A throwaway PostgreSQL cluster for this test process, started on first use with
/// `pg_virtualenv` (which works as root, where plain `initdb` refuses) and dropped when the
/// process ends, however it ends: the cluster lives while `pg_virtualenv`'s command reads this
/// process's pipe.
#[derive(Debug)]
pub struct PgCluster {
    _child: Mutex<Child>,
    _stdin: Mutex<std::process::ChildStdin>,
    /// `PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD` as `pg_virtualenv` set them.
    pub env: BTreeMap<String, String>,
    created: Mutex<std::collections::BTreeSet<String>>,
}

/// The test process's PostgreSQL cluster.
pub fn pg_cluster() -> &'static PgCluster {
    static CLUSTER: OnceLock<PgCluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        // The cluster's settings go to a file: the process's own output is not read, so that
        // nothing it prints while it drops the cluster can meet a closed pipe.
        let dir = std::env::temp_dir().join(format!("fengqiao-pg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a directory for the cluster's settings");
        let settings = dir.join("env");
        let _ = std::fs::remove_file(&settings);
        let mut child = Command::new("pg_virtualenv")
            .arg("-t")
            .args([
                "sh",
                "-c",
                "env > \"$0.part\" && mv \"$0.part\" \"$0\" && exec cat",
            ])
            .arg(&settings)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start pg_virtualenv (apt-get install postgresql)");
        let stdin = child.stdin.take().expect("cluster's stdin");
        let deadline = Instant::now() + Duration::from_secs(120);
        let text = loop {
            if let Ok(text) = std::fs::read_to_string(&settings) {
                break text;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("pg_virtualenv stopped ({status}) before its cluster was ready");
            }
            assert!(
                Instant::now() < deadline,
                "pg_virtualenv's cluster was not ready within 2 minutes"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let env: BTreeMap<String, String> = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .filter(|(k, _)| ["PGHOST", "PGPORT", "PGUSER", "PGPASSWORD"].contains(k))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        assert_eq!(env.len(), 4, "pg_virtualenv gave no cluster: {env:?}");
        PgCluster {
            _child: Mutex::new(child),
            _stdin: Mutex::new(stdin),
            env,
            created: Mutex::new(Default::default()),
        }
    })
}

impl PgCluster {
    /// The address of `database` in the cluster, created if new.
    pub fn database(&self, database: &str) -> String {
        let mut created = self.created.lock().unwrap_or_else(|e| e.into_inner());
        if created.insert(database.to_owned()) {
            let out = Command::new("psql")
                .args(["-v", "ON_ERROR_STOP=1", "-d", "postgres", "-c"])
                .arg(format!("CREATE DATABASE \"{database}\""))
                .envs(&self.env)
                .output()
                .expect("run psql");
            assert!(
                out.status.success(),
                "create database {database}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        format!(
            "postgres://{}:{}@{}:{}/{database}",
            self.env["PGUSER"], self.env["PGPASSWORD"], self.env["PGHOST"], self.env["PGPORT"]
        )
    }
}

/// The environment that puts a server's data directory on the test run's engine: nothing for
/// SQLite; for PostgreSQL, a database of its own in the cluster (named after the directory)
/// and the demo's county.
pub fn engine_env(data_dir: &Path) -> Vec<(String, String)> {
    if !postgres_engine() {
        return Vec::new();
    }
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    data_dir.hash(&mut h);
    shared_engine_env(&format!("centre_{:016x}", h.finish()))
}

/// The environment of a server process on `database` of the test run's cluster: processes
/// given the same database serve one centre together.
pub fn shared_engine_env(database: &str) -> Vec<(String, String)> {
    vec![
        (
            "FENGQIAO_DATABASE".to_owned(),
            pg_cluster().database(database),
        ),
        ("FENGQIAO_COUNTY".to_owned(), "taishan".to_owned()),
    ]
}

/// A free loopback port (bound and released; good enough for tests on one machine).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A sync-server process on loopback with its own data directory.
#[derive(Debug)]
pub struct Server {
    child: Option<Child>,
    pub data_dir: PathBuf,
    pub port: u16,
    pub demo_cases: usize,
    /// Enrolment codes printed at start, by person.
    pub codes: BTreeMap<String, String>,
    /// The demo's 12345 hotline bearer token, printed when the demo is loaded.
    pub hotline_token: Option<String>,
    /// Extra environment for the process (configuration overrides).
    pub env: Vec<(String, String)>,
    /// `http` or `https`.
    pub scheme: String,
    /// Where the process's standard error (its log) goes; inherited when `None`.
    pub log: Option<PathBuf>,
}

impl Server {
    /// Starts a server for the demo township with `demo_cases` demo cases (loaded by
    /// `sync-server demo` into an empty data directory; none when 0).
    pub fn start(data_dir: &Path, demo_cases: usize) -> anyhow::Result<Server> {
        Self::start_with(data_dir, demo_cases, Vec::new())
    }

    /// Starts a server with extra environment (e.g. `FENGQIAO_TLS_CERT`).
    pub fn start_with(
        data_dir: &Path,
        demo_cases: usize,
        env: Vec<(String, String)>,
    ) -> anyhow::Result<Server> {
        let mut s = Self::unstarted(data_dir, demo_cases, env);
        s.spawn()?;
        Ok(s)
    }

    /// Starts a server whose log (at `RUST_LOG=warn`) is appended to `log`.
    pub fn start_logging(
        data_dir: &Path,
        demo_cases: usize,
        env: Vec<(String, String)>,
        log: &Path,
    ) -> anyhow::Result<Server> {
        let mut s = Self::unstarted(data_dir, demo_cases, env);
        s.log = Some(log.to_path_buf());
        s.spawn()?;
        Ok(s)
    }

    fn unstarted(data_dir: &Path, demo_cases: usize, env: Vec<(String, String)>) -> Server {
        Server {
            child: None,
            data_dir: data_dir.to_path_buf(),
            port: free_port(),
            demo_cases,
            codes: BTreeMap::new(),
            hotline_token: None,
            env,
            scheme: "http".to_owned(),
            log: None,
        }
    }

    fn spawn(&mut self) -> anyhow::Result<()> {
        if self.demo_cases > 0 {
            self.load_demo()?;
        }
        let stderr = match &self.log {
            Some(path) => Stdio::from(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .with_context(|| format!("open {}", path.display()))?,
            ),
            None => Stdio::inherit(),
        };
        let mut child = Command::new(server_bin())
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(["serve", "--listen", &format!("127.0.0.1:{}", self.port)])
            .env("FENGQIAO_DEMO_CASES", self.demo_cases.to_string())
            .envs(engine_env(&self.data_dir))
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .context("start sync-server")?;
        let stdout = child.stdout.take().context("server stdout")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Loading the demo runs every case through the real workflow: allow for its size.
        let patience =
            Duration::from_secs(120) + Duration::from_millis(40 * self.demo_cases as u64);
        let deadline = Instant::now() + patience;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match rx.recv_timeout(left) {
                Ok(l) => l,
                Err(_) => {
                    let _ = child.kill();
                    bail!("the server did not start within {patience:?}");
                }
            };
            if let Some(rest) = line.strip_prefix("enrolment code for ") {
                if let Some((person, code)) = rest.split_once(": ") {
                    let code = code.split_whitespace().next().unwrap_or_default();
                    self.codes.insert(person.to_owned(), code.to_owned());
                }
            }
            if line.starts_with("serving ") {
                if line.contains("https://") {
                    self.scheme = "https".to_owned();
                }
                break;
            }
        }
        self.child = Some(child);
        Ok(())
    }

    /// `sync-server demo` on the data directory (which leaves a directory set up already as it
    /// is): the codes it prints are kept.
    fn load_demo(&mut self) -> anyhow::Result<()> {
        let out = Command::new(server_bin())
            .arg("--data-dir")
            .arg(&self.data_dir)
            .arg("demo")
            .env("FENGQIAO_DEMO_CASES", self.demo_cases.to_string())
            .envs(engine_env(&self.data_dir))
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("RUST_LOG", "warn")
            .output()
            .context("run sync-server demo")?;
        if !out.status.success() {
            bail!(
                "sync-server demo failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            if let Some(rest) = line.strip_prefix("enrolment code for ") {
                if let Some((person, code)) = rest.split_once(": ") {
                    let code = code.split_whitespace().next().unwrap_or_default();
                    self.codes.insert(person.to_owned(), code.to_owned());
                }
            }
            if line.starts_with("the 12345 hotline's bearer token") {
                self.hotline_token = line.rsplit_once(": ").map(|(_, t)| t.trim().to_owned());
            }
        }
        Ok(())
    }

    pub fn url(&self) -> String {
        format!("{}://127.0.0.1:{}", self.scheme, self.port)
    }

    /// Runs an admin subcommand on this server's data directory; returns its standard output.
    pub fn admin(&self, args: &[&str]) -> anyhow::Result<String> {
        admin_with(&self.data_dir, &self.env, args)
    }

    /// A fresh one-time enrolment code for a person.
    pub fn code_for(&self, person: &str) -> anyhow::Result<String> {
        let out = self.admin(&["enrol", "--person", person])?;
        out.split(": ")
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .map(str::to_owned)
            .context("no code printed")
    }

    /// The process id of the running server.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Kills the process at once (SIGKILL), as a power cut would.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the process again on the same port and data directory.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.kill();
        self.spawn()
    }

    /// The server's SQLite file: its database, or on PostgreSQL its process's replica (as up
    /// to date as the server's last request made it).
    pub fn db_file(&self) -> PathBuf {
        let replica = self.data_dir.join("replica.sqlite3");
        if replica.exists() {
            replica
        } else {
            self.data_dir.join("server.sqlite3")
        }
    }

    /// A read-only look at the server's database (the server may be running: WAL).
    pub fn open_db(&self) -> anyhow::Result<rusqlite::Connection> {
        let conn = rusqlite::Connection::open_with_flags(
            self.db_file(),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )?;
        conn.busy_timeout(Duration::from_secs(5))?;
        Ok(conn)
    }

    /// The server's store, opened from its file (stop the server first to write).
    pub fn store(&self) -> anyhow::Result<Store> {
        Ok(Store::open(self.db_file())?)
    }

    pub fn count(&self, sql: &str) -> anyhow::Result<i64> {
        Ok(self.open_db()?.query_row(sql, [], |r| r.get(0))?)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A simulated phone or desk: its own store file and the real sync client.
#[derive(Debug)]
pub struct Device {
    pub dir: tempfile::TempDir,
    pub store: Mutex<Store>,
    pub client: SyncClient,
    pub person: String,
}

impl Device {
    /// A new device, enrolled for `person` with a fresh code.
    pub async fn enrol(server: &Server, person: &str) -> anyhow::Result<Device> {
        let code = server.code_for(person)?;
        Self::enrol_with(server, person, &code).await
    }

    pub async fn enrol_with(server: &Server, person: &str, code: &str) -> anyhow::Result<Device> {
        let dir = tempfile::tempdir()?;
        let store = Mutex::new(Store::open(dir.path().join("device.sqlite3"))?);
        let client = SyncClient::enrol(&server.url(), code, &format!("{person}的手机"), &store)
            .await
            .with_context(|| format!("enrol {person}"))?;
        Ok(Device {
            dir,
            store,
            client,
            person: person.to_owned(),
        })
    }

    pub async fn sync(&self) -> anyhow::Result<Progress> {
        Ok(self.client.sync(&self.store, |_| {}).await?)
    }

    pub fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The ids of the cases this device holds.
    pub fn case_ids(&self) -> anyhow::Result<Vec<String>> {
        let ids = self.store().read(|c| {
            c.prepare("SELECT substr(key, 6) FROM documents WHERE kind = 'case' ORDER BY key")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()
        })?;
        Ok(ids)
    }
}

/// Milliseconds since the epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}
