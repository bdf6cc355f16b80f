//! Configuration: embedded defaults, then a TOML file, then environment variables, then
//! command-line options (each overrides the one before).

use crate::error::{Error, Result};
use crate::http::HttpLimits;
use crate::sync::SyncLimits;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The server's configuration file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The unit this server serves (its centre), e.g. `haiyan`.
    pub unit: String,
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// The demo cases of `unit` that `sync-server demo` loads (with the demo county) into an
    /// empty data directory, unless `--cases` says otherwise. Only a build with the `demo`
    /// feature has demo data; `serve` and `init` never load it.
    pub demo_cases: usize,
    /// How often (ms) a linked server asks its parent for the parent's work on its cases, when
    /// nothing local prompts it sooner.
    pub parent_poll_ms: u64,
    /// How often (ms) at most a linked server sends its parent the figures of the days that
    /// changed (逐级汇总). Figures are for reports, not for the minute: sending them with every
    /// escalation would cost more than the escalations.
    pub figures_every_ms: u64,
    pub limits: Limits,
    /// The engine: absent, the centre's SQLite file in `data_dir` (one process); or a
    /// PostgreSQL address, `postgres://user:password@host:port/database`, which several server
    /// processes of the centre share (each keeps a replica in its own `data_dir`, and they
    /// must all have the same `server.key`). See docs/scaling.md.
    pub database: Option<String>,
    /// The county the centre belongs to (its code, e.g. `taishan`): with PostgreSQL, the key
    /// every row of the centre is stored under, shared by the centres of one county.
    pub county: Option<String>,
    /// Serve HTTPS with these PEM files; without it the server speaks plain HTTP (put it behind
    /// a TLS-terminating proxy, or use it on a trusted network only).
    pub tls: Option<Tls>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tls {
    /// The certificate chain, PEM.
    pub cert: PathBuf,
    /// The private key, PEM.
    pub key: PathBuf,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub rate_per_second: f64,
    pub burst: f64,
    pub max_bodies_in_flight: usize,
    pub body_wait_ms: u64,
    pub enrol_per_minute: f64,
    pub enrol_burst: f64,
    pub enrol_all_per_minute: f64,
    pub enrol_all_burst: f64,
    /// Work orders per integrator per second, and the burst (docs/intake.md).
    pub intake_per_second: f64,
    pub intake_burst: f64,
    pub max_upload_docs: usize,
    pub max_upload_changes: usize,
    pub max_answer_docs: usize,
    pub max_answer_bytes: usize,
    pub max_document_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        let h = HttpLimits::default();
        let s = SyncLimits::default();
        Limits {
            max_body_bytes: h.max_body_bytes,
            rate_per_second: h.rate_per_second,
            burst: h.burst,
            max_bodies_in_flight: h.max_bodies_in_flight,
            body_wait_ms: h.body_wait_ms,
            enrol_per_minute: h.enrol_per_minute,
            enrol_burst: h.enrol_burst,
            enrol_all_per_minute: h.enrol_all_per_minute,
            enrol_all_burst: h.enrol_all_burst,
            intake_per_second: h.intake_per_second,
            intake_burst: h.intake_burst,
            max_upload_docs: s.max_upload_docs,
            max_upload_changes: s.max_upload_changes,
            max_answer_docs: s.max_answer_docs,
            max_answer_bytes: s.max_answer_bytes,
            max_document_bytes: s.max_document_bytes,
        }
    }
}

impl Limits {
    pub fn http(&self) -> HttpLimits {
        HttpLimits {
            max_body_bytes: self.max_body_bytes,
            rate_per_second: self.rate_per_second,
            burst: self.burst,
            max_bodies_in_flight: self.max_bodies_in_flight,
            body_wait_ms: self.body_wait_ms,
            enrol_per_minute: self.enrol_per_minute,
            enrol_burst: self.enrol_burst,
            enrol_all_per_minute: self.enrol_all_per_minute,
            enrol_all_burst: self.enrol_all_burst,
            intake_per_second: self.intake_per_second,
            intake_burst: self.intake_burst,
        }
    }

    pub fn sync(&self) -> SyncLimits {
        SyncLimits {
            max_upload_docs: self.max_upload_docs,
            max_upload_changes: self.max_upload_changes,
            max_answer_docs: self.max_answer_docs,
            max_answer_bytes: self.max_answer_bytes,
            max_document_bytes: self.max_document_bytes,
            ..SyncLimits::default()
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            unit: "haiyan".to_owned(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8737)),
            data_dir: PathBuf::from("sync-data"),
            demo_cases: 300,
            parent_poll_ms: 2_000,
            figures_every_ms: 60_000,
            limits: Limits::default(),
            database: None,
            county: None,
            tls: None,
        }
    }
}

impl Config {
    /// Reads a configuration file (or the defaults), then `FENGQIAO_*` environment overrides.
    pub fn load(file: Option<&Path>) -> Result<Config> {
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|error| Error::File {
                    action: "read",
                    path: path.to_owned(),
                    error,
                })?;
                toml::from_str(&text).map_err(|error| Error::BadConfig {
                    path: path.to_owned(),
                    error,
                })?
            }
            None => Config::default(),
        };
        if let Ok(v) = std::env::var("FENGQIAO_UNIT") {
            config.unit = v;
        }
        if let Ok(v) = std::env::var("FENGQIAO_LISTEN") {
            config.listen = v
                .parse()
                .map_err(|e| bad("FENGQIAO_LISTEN", &v, "an address", e))?;
        }
        if let Ok(v) = std::env::var("FENGQIAO_DATABASE") {
            config.database = Some(v).filter(|v| !v.is_empty());
        }
        if let Ok(v) = std::env::var("FENGQIAO_COUNTY") {
            config.county = Some(v).filter(|v| !v.is_empty());
        }
        if let Ok(v) = std::env::var("FENGQIAO_DATA_DIR") {
            config.data_dir = PathBuf::from(v);
        }
        if let (Ok(cert), Ok(key)) = (
            std::env::var("FENGQIAO_TLS_CERT"),
            std::env::var("FENGQIAO_TLS_KEY"),
        ) {
            config.tls = Some(Tls {
                cert: PathBuf::from(cert),
                key: PathBuf::from(key),
            });
        }
        if let Ok(v) = std::env::var("FENGQIAO_PARENT_POLL_MS") {
            config.parent_poll_ms = v
                .parse()
                .map_err(|e| bad("FENGQIAO_PARENT_POLL_MS", &v, "a number", e))?;
        }
        if let Ok(v) = std::env::var("FENGQIAO_FIGURES_EVERY_MS") {
            config.figures_every_ms = v
                .parse()
                .map_err(|e| bad("FENGQIAO_FIGURES_EVERY_MS", &v, "a number", e))?;
        }
        if let Ok(v) = std::env::var("FENGQIAO_DEMO_CASES") {
            config.demo_cases = v
                .parse()
                .map_err(|e| bad("FENGQIAO_DEMO_CASES", &v, "a number", e))?;
        }
        Ok(config)
    }

    /// The SQLite file: the centre's database, or with PostgreSQL this process's replica.
    pub fn store_path(&self) -> PathBuf {
        match self.database {
            None => self.data_dir.join("server.sqlite3"),
            Some(_) => self.data_dir.join("replica.sqlite3"),
        }
    }

    /// The engine the configuration names, checked.
    pub fn engine(&self) -> Result<Engine> {
        let Some(url) = &self.database else {
            return Ok(Engine::Sqlite);
        };
        if !url.starts_with("postgres://") && !url.starts_with("postgresql://") {
            return Err(Error::BadArgument(format!(
                "database = \"{}\" is not a PostgreSQL address (postgres://user:password@host:port/database); \
                 leave it out for the SQLite file in the data directory",
                crate::terminal::escape(url.split('@').next_back().unwrap_or_default())
            )));
        }
        let county = self.county.clone().unwrap_or_default();
        if county.is_empty()
            || county.len() > 64
            || !county
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(Error::BadArgument(
                "with a PostgreSQL database, set `county` (FENGQIAO_COUNTY): the code of the county \
                 the centre belongs to, letters, digits, - and _ (for example taishan)"
                    .to_owned(),
            ));
        }
        Ok(Engine::Postgres {
            url: url.clone(),
            county,
        })
    }
}

/// Where the centre's data lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Engine {
    /// The SQLite file in the data directory.
    Sqlite,
    /// A PostgreSQL database several processes share, the centre's rows under `county`.
    Postgres { url: String, county: String },
}

fn bad(
    name: &'static str,
    value: &str,
    expected: &'static str,
    e: impl std::fmt::Display,
) -> Error {
    Error::BadSetting {
        name,
        value: value.to_owned(),
        expected,
        problem: e.to_string(),
    }
}
