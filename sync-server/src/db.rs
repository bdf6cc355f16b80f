//! The server's storage: the core's store (documents, summaries, directory) plus the server's
//! own tables in the same SQLite file, written in the same transactions.
//!
//! - `devices`, `device_actors`, `enrol_codes`: who may connect. Tokens and codes are stored
//!   as keyed hashes (HMAC-SHA256 with the server's key, see [`crate::credential`]); they are
//!   256-bit and 80-bit random values, so a slow hash would add nothing.
//! - `doc_seq`: every document's current sequence number. Each accepted write takes the next
//!   number of one global sequence, so "what changed after cursor N" is a range scan.
//! - `doc_versions`: a document's heads after each accepted write, so that the server can
//!   compute exactly the changes a device lacks from the cursor alone.
//! - `doc_scope`: a document's scope keys (see [`crate::scope`]) and when it gained each.
//!
//! These tables are the store's layer [`LAYER`]: created and upgraded once, at open, in the
//! transaction that migrates the core's tables, versioned in `schema_layers` (see
//! [`app_core::store::Layer`]). Their SQL is here, as functions over a connection or a
//! transaction that the rest of the server calls inside [`Store::read`] and [`Store::write`].
//!
//! `doc_versions` grows by one row per accepted write. It can be pruned safely: with `m` the
//! lowest cursor any device still syncing holds, keep for each document its latest version at
//! or before `m` and everything after. A device whose cursor is below what was kept finds no
//! version at or before its cursor and receives the whole document: correct, only larger.
//! (Not done yet: rows cost ~45 bytes per write.)

use crate::credential::{self, ServerKey};
use crate::error::{ApiError, Error, Result};
use app_core::ids::{DeviceId, PersonId};
use app_core::protocol::ErrorCode;
use app_core::store::{CachedExecute, Layer, Received, Store};
use automerge::ChangeHash;
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use std::collections::BTreeSet;
use std::path::Path;

/// The server's tables in the store's migration ladder. Never edit a step that has shipped; add
/// one.
pub const LAYER: Layer = Layer {
    name: "sync-server",
    steps: &[V1, V2, V3],
};

/// The tables as the server created them on every open before they were versioned: `IF NOT
/// EXISTS`, so that this first step adopts the files of those servers as they are.
const V1: &str = "
CREATE TABLE IF NOT EXISTS server_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS devices (
    id TEXT PRIMARY KEY,
    person TEXT NOT NULL,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    enrolled_at INTEGER NOT NULL,
    revoked_at INTEGER,
    last_seen_at INTEGER
);
CREATE TABLE IF NOT EXISTS device_actors (
    actor TEXT PRIMARY KEY,
    device TEXT NOT NULL REFERENCES devices(id)
);
CREATE TABLE IF NOT EXISTS enrol_codes (
    code_hash TEXT PRIMARY KEY,
    person TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);
CREATE TABLE IF NOT EXISTS doc_seq (
    key TEXT PRIMARY KEY,
    seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS doc_seq_by_seq ON doc_seq(seq);
CREATE TABLE IF NOT EXISTS doc_versions (
    key TEXT NOT NULL,
    seq INTEGER NOT NULL,
    heads BLOB NOT NULL,
    writer TEXT,
    PRIMARY KEY (key, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS doc_scope (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    since INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS doc_scope_by_key ON doc_scope(key);
";

/// Intake from other systems (docs/intake.md): an integrator is a device credential whose
/// person holds the intake role, with the units it may dispatch to and the source its orders
/// come from; the orders taken in, unique by source and number; and each request's answer
/// under its idempotency key.
const V2: &str = "
CREATE TABLE integrators (
    device TEXT PRIMARY KEY REFERENCES devices(id),
    units TEXT NOT NULL,
    source TEXT NOT NULL
);
CREATE TABLE intake_orders (
    source TEXT NOT NULL,
    number TEXT NOT NULL,
    case_id TEXT NOT NULL,
    person TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (source, number)
) WITHOUT ROWID;
CREATE TABLE intake_requests (
    device TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (device, key)
) WITHOUT ROWID;
";

/// The export log (paperwork.rs): every ledger, report or document a person or the operator
/// took out of the system, what it covered (a unit and days; a case for a document) and whether
/// ID numbers were whole.
const V3: &str = "
CREATE TABLE exports (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    person TEXT NOT NULL,
    device TEXT,
    kind TEXT NOT NULL,
    unit TEXT NOT NULL,
    first_day TEXT NOT NULL,
    last_day TEXT NOT NULL,
    cases INTEGER NOT NULL,
    ids TEXT NOT NULL,
    subject TEXT
);
";

/// The credential of a child server (a lower tier's server forwarding its escalations) is
/// held by the principal `server:<unit>`, where `unit` is the unit the child serves.
pub const SERVER_PREFIX: &str = "server:";

/// The unit a `server:<unit>` principal serves (`None` for a person).
pub fn server_unit(principal: &PersonId) -> Option<app_core::ids::UnitId> {
    principal
        .as_str()
        .strip_prefix(SERVER_PREFIX)
        .map(app_core::ids::UnitId::new)
}

/// A device as the server knows it.
#[derive(Clone, Debug)]
pub struct Device {
    pub id: DeviceId,
    pub person: PersonId,
    pub name: String,
    pub actors: BTreeSet<String>,
}

impl Device {
    /// For a child server's credential, the unit it serves.
    pub fn server_unit(&self) -> Option<app_core::ids::UnitId> {
        server_unit(&self.person)
    }
}

/// A row of the device list.
#[derive(Clone, Debug, serde::Serialize)]
pub struct DeviceRow {
    pub id: String,
    pub person: String,
    pub name: String,
    pub enrolled_at: i64,
    pub revoked_at: Option<i64>,
    pub last_seen_at: Option<i64>,
}

/// What an integrator credential may do ([`ServerDb::integrator`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IntegratorScope {
    pub units: Vec<app_core::ids::UnitId>,
    pub source: app_core::model::Source,
}

/// A row of the integrator list.
#[derive(Clone, Debug, serde::Serialize)]
pub struct IntegratorRow {
    pub device: String,
    pub person: String,
    /// The units, comma-separated, and the source's code.
    pub units: String,
    pub source: String,
    pub enrolled_at: i64,
    pub revoked_at: Option<i64>,
    pub last_seen_at: Option<i64>,
}

/// What a write adds to the server's log: per document, its new heads and scope keys.
#[derive(Clone, Debug)]
pub struct Logged {
    pub key: String,
    /// The device whose upload made this version (`None` for imports and scope changes).
    pub writer: Option<String>,
    pub heads: Vec<ChangeHash>,
    pub scope: BTreeSet<String>,
}

/// The server's database.
#[derive(Debug)]
pub struct ServerDb {
    pub store: Store,
    /// The key codes and tokens are hashed with (`server.key` beside the database).
    key: ServerKey,
    /// With PostgreSQL: the database and the centre whose log this store replicates.
    pub shared: Option<Shared>,
    /// When this process last recorded each device as seen.
    touched: std::collections::HashMap<String, i64>,
}

/// The centre a replica follows, in its PostgreSQL database.
#[derive(Clone, Debug)]
pub struct Shared {
    pub pg: crate::pg::Postgres,
    pub county: String,
    pub centre: String,
}

/// The tables of a replica, as its log's entries name them: a process refuses entries written
/// by a build whose tables differ.
pub fn replica_schema() -> String {
    format!(
        "core {}, sync-server {}, forward {}",
        app_core::store::SCHEMA_VERSION,
        LAYER.steps.len(),
        crate::forward::LAYER.steps.len()
    )
}

/// Locks the database. A replica is as up to date as the request's arrival made it (the
/// router's `up_to_date` layer: every write committed before the request arrived, by any
/// process); a write brings it up to date again under the centre's writer lock.
pub fn lock(shared: &std::sync::Mutex<ServerDb>) -> std::sync::MutexGuard<'_, ServerDb> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

/// Locks the database and brings a replica up to date with the log as it is now (for work
/// that no request started: forwarding; and for a request that waited for another). If the
/// centre's log cannot be reached, the replica is used as it is (a read answers from what it
/// has; a write fails, naming the database).
pub fn lock_latest(shared: &std::sync::Mutex<ServerDb>) -> std::sync::MutexGuard<'_, ServerDb> {
    let mut db = lock(shared);
    if let Err(e) = db.catch_up() {
        tracing::warn!(error = %e, "the replica could not catch up with the centre's log");
    }
    db
}

pub fn heads_bytes(heads: &[ChangeHash]) -> Vec<u8> {
    heads.iter().flat_map(|h| h.0).collect()
}

pub fn heads_from_bytes(bytes: &[u8]) -> Vec<ChangeHash> {
    bytes
        .chunks_exact(32)
        .map(|c| {
            let mut h = [0u8; 32];
            h.copy_from_slice(c);
            ChangeHash(h)
        })
        .collect()
}

impl ServerDb {
    /// Opens (or creates) the database at `path`, and the server key beside it.
    pub fn open(path: &Path) -> Result<ServerDb> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let key = ServerKey::load_or_create(dir)?;
        let store = Store::open_with(path, &[LAYER, crate::forward::LAYER])?;
        Ok(ServerDb {
            store,
            key,
            shared: None,
            touched: Default::default(),
        })
    }

    /// Opens this process's replica at `path` of the centre `centre` of `county`, whose log
    /// is in PostgreSQL (see [`crate::pg`]), and brings it up to date. The server key beside it
    /// must be the centre's (every process of a centre hashes credentials alike): the first
    /// process to open the log records a check value of its key, and a process with another key
    /// is refused.
    pub fn open_shared(
        path: &Path,
        pg: &crate::pg::Postgres,
        county: &str,
        centre: &str,
    ) -> Result<ServerDb> {
        let mut db = ServerDb::open(path)?;
        let log = crate::pg::PgLog::open(pg, county, centre, &replica_schema())?;
        db.store.attach_log(Box::new(log))?;
        db.shared = Some(Shared {
            pg: pg.clone(),
            county: county.to_owned(),
            centre: centre.to_owned(),
        });
        let check = db.key.hash("fengqiao: the centre's server key");
        db.store.begin_write()?;
        match db.store.read(|c| server_meta(c, "key.check"))? {
            Some(stored) if stored == check => db.store.release_write()?,
            Some(_) => {
                db.store.release_write()?;
                return Err(Error::BadArgument(format!(
                    "the server key beside {} is not the one the centre's other processes use; \
                     copy server.key from the data directory of a process already serving {centre} \
                     (every process of a centre needs the same key)",
                    path.display()
                )));
            }
            None => db
                .store
                .write(|tx| set_server_meta(tx, "key.check", &check))?,
        }
        Ok(db)
    }

    /// What brings this replica up to date as requests arrive (`None` for the SQLite engine).
    pub fn feed(&self) -> Option<crate::pg::LogFeed> {
        let shared = self.shared.as_ref()?;
        Some(crate::pg::LogFeed::new(
            &shared.pg,
            &shared.county,
            &shared.centre,
            &replica_schema(),
            self.store.applied_counter()?,
        ))
    }

    /// Brings a replica up to date with the centre's log (nothing for the SQLite engine);
    /// returns how many entries it applied.
    pub fn catch_up(&mut self) -> app_core::Result<usize> {
        self.store.catch_up()
    }

    /// The last sequence number given out.
    pub fn current_seq(&self) -> rusqlite::Result<u64> {
        self.store.read(last_seq)
    }

    // ----- enrolment and devices -----

    /// Issues a one-time enrolment code for a person, valid for `valid_ms`.
    pub fn issue_code(&mut self, person: &PersonId, now_ms: i64, valid_ms: i64) -> Result<String> {
        match server_unit(person) {
            Some(unit) => {
                if self.store.directory().unit(&unit).is_none() {
                    return Err(Error::UnknownUnit(unit));
                }
            }
            None => {
                if self.store.directory().person(person).is_none() {
                    return Err(Error::UnknownPerson(person.clone()));
                }
            }
        }
        let code = credential::new_code();
        let hash = self.key.hash(&credential::normalise_code(&code));
        self.store.write(|tx| {
            tx.execute(
                "INSERT INTO enrol_codes(code_hash, person, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![hash, person.as_str(), now_ms, now_ms + valid_ms],
            )
        })?;
        Ok(code)
    }

    /// Exchanges a code for a device credential: (device id, token, person).
    pub fn enrol(
        &mut self,
        code: &str,
        device_name: &str,
        actor: &str,
        now_ms: i64,
    ) -> Result<(DeviceId, String, PersonId), ApiError> {
        if actor.len() < 2 || actor.len() > 64 || !actor.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ApiError::new(
                ErrorCode::BadEncoding,
                "actor must be the device's automerge actor id in hexadecimal",
            ));
        }
        let actor = actor.to_ascii_lowercase();
        let name = device_name.trim();
        if name.is_empty() || name.chars().count() > 60 {
            return Err(ApiError::new(
                ErrorCode::BadJson,
                "device_name must be 1 to 60 characters",
            ));
        }
        if name.chars().any(crate::terminal::is_unsafe) {
            return Err(ApiError::new(
                ErrorCode::BadJson,
                "device_name must not contain control characters (new lines, tabs, escape \
                 codes) or direction overrides",
            ));
        }
        // The code as stored now, or as a code issued before the key was (legacy).
        let keyed = self.key.hash(&credential::normalise_code(code));
        let legacy = credential::legacy_hash(&credential::legacy_normalise_code(code));
        let device = DeviceId::new(format!("dev-{}", random_hex(8)));
        let token = format!("{}.{}", device, random_hex(32));
        let token_hash = self.key.hash(&token);
        self.store.write(|tx| {
            let row: Option<(String, String, i64, Option<i64>)> = tx
                .query_row(
                    "SELECT code_hash, person, expires_at, used_at FROM enrol_codes
                     WHERE code_hash IN (?1, ?2)",
                    [&keyed, &legacy],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()?;
            let (hash, row) = match row {
                Some((hash, person, exp, used)) => (hash, Some((person, exp, used))),
                None => (keyed, None),
            };
            let person =
                match row {
                    None => return Err(ApiError::new(
                        ErrorCode::BadCode,
                        "this enrolment code is not known; check it or ask the centre for a new one",
                    )),
                    Some((_, _, Some(_))) => {
                        return Err(ApiError::new(
                            ErrorCode::BadCode,
                            "this enrolment code has been used already; ask the centre for a new one",
                        ))
                    }
                    Some((_, exp, None)) if exp <= now_ms => {
                        return Err(ApiError::new(
                            ErrorCode::BadCode,
                            "this enrolment code has expired; ask the centre for a new one",
                        ))
                    }
                    Some((p, _, None)) => PersonId::new(p),
                };
            let taken: Option<String> = tx
                .query_row(
                    "SELECT device FROM device_actors WHERE actor = ?1",
                    [&actor],
                    |r| r.get(0),
                )
                .optional()?;
            if taken.is_some() {
                return Err(ApiError::new(
                    ErrorCode::ForgedActor,
                    "this actor id belongs to another device; a device must use its own",
                ));
            }
            tx.execute(
                "INSERT INTO devices(id, person, name, token_hash, enrolled_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![device.as_str(), person.as_str(), name, token_hash, now_ms],
            )?;
            tx.execute(
                "INSERT INTO device_actors(actor, device) VALUES (?1, ?2)",
                params![actor, device.as_str()],
            )?;
            tx.execute(
                "UPDATE enrol_codes SET used_at = ?2 WHERE code_hash = ?1",
                params![hash, now_ms],
            )?;
            Ok((device, token, person))
        })
    }

    /// The device a bearer token belongs to. A token stored the old way (unkeyed SHA-256, by a
    /// server before [`crate::credential`]) is accepted and re-stored keyed.
    pub fn authenticate(&mut self, token: &str) -> Result<Device, ApiError> {
        let keyed = self.key.hash(token);
        let mut row = self.store.read(|c| device_by_token(c, &keyed))?;
        if row.is_none() {
            row = self
                .store
                .read(|c| device_by_token(c, &credential::legacy_hash(token)))?;
            if let Some((id, ..)) = &row {
                self.store.write(|tx| {
                    tx.execute(
                        "UPDATE devices SET token_hash = ?2 WHERE id = ?1",
                        params![id, keyed],
                    )
                })?;
                tracing::info!(device = %id, "device credential re-stored keyed");
            }
        }
        let Some((id, person, name, revoked)) = row else {
            return Err(ApiError::new(
                ErrorCode::Unauthenticated,
                "this device credential is not known here; enrol the device",
            ));
        };
        if revoked.is_some() {
            return Err(ApiError::new(
                ErrorCode::Revoked,
                "this device has been revoked by the centre; it can no longer sync",
            ));
        }
        let actors = self.store.read(|c| device_actors(c, &id))?;
        Ok(Device {
            id: DeviceId::new(id),
            person: PersonId::new(person),
            name,
            actors,
        })
    }

    pub fn revoke(&mut self, device: &str, now_ms: i64) -> Result<()> {
        let n = self.store.write(|tx| {
            tx.execute(
                "UPDATE devices SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                params![device, now_ms],
            )
        })?;
        if n == 0 {
            return Err(Error::NoActiveDevice(device.to_owned()));
        }
        Ok(())
    }

    pub fn devices(&self) -> Result<Vec<DeviceRow>> {
        Ok(self.store.read(device_rows)?)
    }

    /// Records when a device was last seen, at most once a minute per device and process (a
    /// write, and with PostgreSQL an entry of the log, per sync would cost more than the sync);
    /// a failure only loses that.
    pub fn touch(&mut self, device: &DeviceId, now_ms: i64) {
        const EVERY_MS: i64 = 60_000;
        if self
            .touched
            .get(device.as_str())
            .is_some_and(|at| now_ms - at < EVERY_MS)
        {
            return;
        }
        if self.touched.len() > 100_000 {
            self.touched.clear();
        }
        self.touched.insert(device.to_string(), now_ms);
        let _ = self.store.write(|tx| {
            tx.execute(
                "UPDATE devices SET last_seen_at = ?2 WHERE id = ?1",
                params![device.as_str(), now_ms],
            )
        });
    }

    // ----- integrators (intake from other systems) -----

    /// Issues an integrator credential (docs/intake.md): a device of `person`, who must hold the
    /// intake role, that may dispatch work orders from `source` to the places within `units`
    /// (each within the person's own unit). The server writes its orders under an automerge
    /// actor registered to this device, so that they are checked and attributed like any
    /// device's upload. Returns the device and its bearer token (shown once).
    pub fn add_integrator(
        &mut self,
        person: &PersonId,
        units: &[app_core::ids::UnitId],
        source: app_core::model::Source,
        now_ms: i64,
    ) -> Result<(DeviceId, String)> {
        let directory = self.store.directory();
        let p = directory
            .person(person)
            .ok_or_else(|| Error::UnknownPerson(person.clone()))?;
        if !p.roles.contains(&app_core::org::Role::Intake) {
            return Err(Error::BadArgument(format!(
                "{person} does not hold the intake role (系统对接); import them with the role `intake` first"
            )));
        }
        if !source.is_intake() {
            return Err(Error::BadArgument(format!(
                "source `{}` is not another system's; use hotline_12345 or police",
                source.code()
            )));
        }
        if units.is_empty() {
            return Err(Error::BadArgument(
                "name the units the system may dispatch to (--units)".to_owned(),
            ));
        }
        for u in units {
            if directory.unit(u).is_none() {
                return Err(Error::UnknownUnit(u.clone()));
            }
            if !directory.is_within(u, &p.unit) {
                return Err(Error::BadArgument(format!(
                    "unit {u} is outside {person}'s unit {}; an integrator dispatches only within its own",
                    p.unit
                )));
            }
        }
        let name = format!("系统对接 {}", p.name);
        let device = DeviceId::new(format!("dev-{}", random_hex(8)));
        let token = format!("{}.{}", device, random_hex(32));
        let token_hash = self.key.hash(&token);
        let actor = random_hex(16);
        let units: Vec<&str> = units.iter().map(|u| u.as_str()).collect();
        self.store.write(|tx| {
            tx.execute(
                "INSERT INTO devices(id, person, name, token_hash, enrolled_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![device.as_str(), person.as_str(), name, token_hash, now_ms],
            )?;
            tx.execute(
                "INSERT INTO device_actors(actor, device) VALUES (?1, ?2)",
                params![actor, device.as_str()],
            )?;
            tx.execute(
                "INSERT INTO integrators(device, units, source) VALUES (?1, ?2, ?3)",
                params![device.as_str(), units.join(","), source.code()],
            )
        })?;
        Ok((device, token))
    }

    /// What an integrator credential may do: the units it dispatches to and its orders'
    /// source; `None` for any other device.
    pub fn integrator(&self, device: &DeviceId) -> Result<Option<IntegratorScope>> {
        let row: Option<(String, String)> = self.store.read(|c| {
            c.prepare_cached("SELECT units, source FROM integrators WHERE device = ?1")?
                .query_row([device.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })?;
        Ok(row.map(|(units, source)| IntegratorScope {
            units: units
                .split(',')
                .filter(|u| !u.is_empty())
                .map(app_core::ids::UnitId::new)
                .collect(),
            source: app_core::model::Source::from_code(&source)
                .unwrap_or(app_core::model::Source::Other),
        }))
    }

    /// The integrator credentials, oldest first.
    pub fn integrators(&self) -> Result<Vec<IntegratorRow>> {
        Ok(self.store.read(|c| {
            c.prepare(
                "SELECT d.id, d.person, i.units, i.source, d.enrolled_at, d.revoked_at, d.last_seen_at
                 FROM integrators i JOIN devices d ON d.id = i.device ORDER BY d.enrolled_at, d.id",
            )?
            .query_map([], |r| {
                Ok(IntegratorRow {
                    device: r.get(0)?,
                    person: r.get(1)?,
                    units: r.get(2)?,
                    source: r.get(3)?,
                    enrolled_at: r.get(4)?,
                    revoked_at: r.get(5)?,
                    last_seen_at: r.get(6)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()
        })?)
    }

    // ----- the log -----

    /// Writes received documents and their log rows in one transaction.
    pub fn commit(
        &mut self,
        received: Vec<Received>,
        logged: Vec<Logged>,
        now_ms: i64,
    ) -> app_core::Result<()> {
        self.commit_with(received, logged, now_ms, |_| Ok(()))
    }

    /// Like [`ServerDb::commit`], with more writes of the caller's in the same transaction.
    pub fn commit_with(
        &mut self,
        received: Vec<Received>,
        logged: Vec<Logged>,
        now_ms: i64,
        extra: impl FnOnce(&Transaction<'_>) -> rusqlite::Result<()>,
    ) -> app_core::Result<()> {
        self.store.commit_received(received, now_ms, |tx, _| {
            write_log(tx, &logged)?;
            extra(tx)?;
            Ok(())
        })
    }

    /// Logs documents written outside a sync (imports, demo data).
    pub fn log_only(&mut self, logged: &[Logged]) -> app_core::Result<()> {
        self.store.write(|tx| write_log(tx, logged))
    }
}

// ----- devices -----

/// A device's row by the hash of its token: (id, person, name, revoked at).
type DeviceByToken = (String, String, String, Option<i64>);

fn device_by_token(conn: &Connection, hash: &str) -> rusqlite::Result<Option<DeviceByToken>> {
    conn.prepare_cached("SELECT id, person, name, revoked_at FROM devices WHERE token_hash = ?1")?
        .query_row([hash], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .optional()
}

fn device_actors(conn: &Connection, device: &str) -> rusqlite::Result<BTreeSet<String>> {
    conn.prepare_cached("SELECT actor FROM device_actors WHERE device = ?1")?
        .query_map([device], |r| r.get::<_, String>(0))?
        .collect()
}

fn device_rows(conn: &Connection) -> rusqlite::Result<Vec<DeviceRow>> {
    conn.prepare(
        "SELECT id, person, name, enrolled_at, revoked_at, last_seen_at FROM devices
         ORDER BY enrolled_at",
    )?
    .query_map([], |r| {
        Ok(DeviceRow {
            id: r.get(0)?,
            person: r.get(1)?,
            name: r.get(2)?,
            enrolled_at: r.get(3)?,
            revoked_at: r.get(4)?,
            last_seen_at: r.get(5)?,
        })
    })?
    .collect()
}

// ----- server_meta -----

/// A value the server keeps about itself (its link to a parent, forwarding cursors).
pub fn server_meta(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached("SELECT value FROM server_meta WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()
}

pub fn set_server_meta(tx: &Transaction<'_>, key: &str, value: &str) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO server_meta(key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = ?2",
        params![key, value],
    )?;
    Ok(())
}

// ----- the log: doc_seq, doc_versions, doc_scope -----

/// The last sequence number given out.
pub fn last_seq(conn: &Connection) -> rusqlite::Result<u64> {
    conn.prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM doc_seq")?
        .query_row([], |r| r.get::<_, i64>(0))
        .map(|n| n as u64)
}

fn write_log(tx: &Transaction<'_>, logged: &[Logged]) -> app_core::Result<()> {
    let mut seq = last_seq(tx)? as i64;
    for l in logged {
        seq += 1;
        tx.exec(
            "INSERT INTO doc_seq(key, seq) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET seq = ?2",
            params![l.key, seq],
        )?;
        tx.exec(
            "INSERT INTO doc_versions(key, seq, heads, writer) VALUES (?1, ?2, ?3, ?4)",
            params![l.key, seq, heads_bytes(&l.heads), l.writer],
        )?;
        for s in &l.scope {
            tx.exec(
                "INSERT OR IGNORE INTO doc_scope(scope, key, since) VALUES (?1, ?2, ?3)",
                params![s, l.key, seq],
            )?;
        }
    }
    Ok(())
}

/// Stored documents the log does not know (written by an import rather than a sync): (key,
/// kind), cases first.
pub fn unlogged(conn: &Connection) -> rusqlite::Result<Vec<(String, String)>> {
    conn.prepare(
        "SELECT key, kind FROM documents WHERE key NOT IN (SELECT key FROM doc_seq)
         ORDER BY CASE kind WHEN 'case' THEN 0 ELSE 1 END, key",
    )?
    .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
    .collect()
}

/// The scope keys a stored document has.
pub fn scope_of(conn: &Connection, key: &str) -> rusqlite::Result<BTreeSet<String>> {
    conn.prepare_cached("SELECT scope FROM doc_scope WHERE key = ?1")?
        .query_map([key], |r| r.get::<_, String>(0))?
        .collect()
}

/// Documents written after `cursor` that have a scope key among `principals`, and a version
/// after the cursor that `device` did not write itself: (key, seq, the sequence at which the
/// document first had one of the keys), in sequence order, at most `limit`.
pub fn changed_after(
    conn: &Connection,
    cursor: u64,
    device: &str,
    principals: &[String],
    limit: usize,
) -> rusqlite::Result<Vec<(String, i64, i64)>> {
    let placeholders = (0..principals.len())
        .map(|i| format!("?{}", i + 4))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT d.key, d.seq, MIN(s.since) FROM doc_seq d JOIN doc_scope s ON s.key = d.key
         WHERE d.seq > ?1 AND s.scope IN ({placeholders})
           AND EXISTS (SELECT 1 FROM doc_versions v WHERE v.key = d.key AND v.seq > ?1
                       AND (v.writer IS NULL OR v.writer != ?2))
         GROUP BY d.key ORDER BY d.seq LIMIT ?3"
    );
    // ?1 cursor, ?2 the device, ?3 the limit, then the principals.
    let mut args: Vec<rusqlite::types::Value> = vec![
        (cursor as i64).into(),
        device.to_owned().into(),
        (limit as i64).into(),
    ];
    args.extend(principals.iter().map(|p| p.clone().into()));
    conn.prepare_cached(&sql)?
        .query_map(rusqlite::params_from_iter(args), |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect()
}

/// A document's heads as logged at or before `seq` (`None` if it was not logged by then).
pub fn heads_at(
    conn: &Connection,
    key: &str,
    seq: u64,
) -> rusqlite::Result<Option<Vec<ChangeHash>>> {
    Ok(conn
        .query_row(
            "SELECT heads FROM doc_versions WHERE key = ?1 AND seq <= ?2 ORDER BY seq DESC LIMIT 1",
            params![key, seq as i64],
            |r| r.get::<_, Vec<u8>>(0),
        )
        .optional()?
        .map(|h| heads_from_bytes(&h)))
}

/// Documents logged after `cursor` that have the scope key `scope`: (key, seq), in sequence
/// order, at most `limit`.
pub fn in_scope_after(
    conn: &Connection,
    cursor: u64,
    scope: &str,
    limit: usize,
) -> rusqlite::Result<Vec<(String, i64)>> {
    conn.prepare_cached(
        "SELECT d.key, d.seq FROM doc_seq d
         WHERE d.seq > ?1 AND EXISTS
             (SELECT 1 FROM doc_scope s WHERE s.key = d.key AND s.scope = ?2)
         ORDER BY d.seq LIMIT ?3",
    )?
    .query_map(params![cursor as i64, scope, limit as i64], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?
    .collect()
}

/// The case keys (`case:<id>`) with a scope key among `principals`.
pub fn cases_in_scope(
    conn: &Connection,
    principals: &[String],
) -> rusqlite::Result<BTreeSet<String>> {
    if principals.is_empty() {
        return Ok(BTreeSet::new());
    }
    let placeholders = vec!["?"; principals.len()].join(", ");
    let sql = format!(
        "SELECT DISTINCT key FROM doc_scope WHERE key LIKE 'case:%' AND scope IN ({placeholders})"
    );
    conn.prepare_cached(&sql)?
        .query_map(rusqlite::params_from_iter(principals.iter()), |r| r.get(0))?
        .collect()
}

/// Whether a document has a scope key among `principals`.
pub fn in_scope(conn: &Connection, key: &str, principals: &[String]) -> rusqlite::Result<bool> {
    if principals.is_empty() {
        return Ok(false);
    }
    let placeholders = vec!["?"; principals.len()].join(", ");
    let sql = format!(
        "SELECT EXISTS (SELECT 1 FROM doc_scope WHERE key = ? AND scope IN ({placeholders}))"
    );
    let args = std::iter::once(key).chain(principals.iter().map(String::as_str));
    conn.prepare_cached(&sql)?
        .query_row(rusqlite::params_from_iter(args), |r| r.get(0))
}

pub fn random_hex(bytes: usize) -> String {
    use rand::RngCore;
    let mut b = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a server ran on every open before its tables were versioned (db's `SCHEMA` and
    /// forwarding's `TABLES`, as they were).
    const BEFORE_THE_LADDER: &str = "
        CREATE TABLE IF NOT EXISTS server_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS devices (
            id TEXT PRIMARY KEY,
            person TEXT NOT NULL,
            name TEXT NOT NULL,
            token_hash TEXT NOT NULL UNIQUE,
            enrolled_at INTEGER NOT NULL,
            revoked_at INTEGER,
            last_seen_at INTEGER
        );
        CREATE TABLE IF NOT EXISTS device_actors (
            actor TEXT PRIMARY KEY,
            device TEXT NOT NULL REFERENCES devices(id)
        );
        CREATE TABLE IF NOT EXISTS enrol_codes (
            code_hash TEXT PRIMARY KEY,
            person TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            used_at INTEGER
        );
        CREATE TABLE IF NOT EXISTS doc_seq (key TEXT PRIMARY KEY, seq INTEGER NOT NULL);
        CREATE INDEX IF NOT EXISTS doc_seq_by_seq ON doc_seq(seq);
        CREATE TABLE IF NOT EXISTS doc_versions (
            key TEXT NOT NULL,
            seq INTEGER NOT NULL,
            heads BLOB NOT NULL,
            writer TEXT,
            PRIMARY KEY (key, seq)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS doc_scope (
            scope TEXT NOT NULL,
            key TEXT NOT NULL,
            since INTEGER NOT NULL,
            PRIMARY KEY (scope, key)
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS doc_scope_by_key ON doc_scope(key);
        CREATE TABLE IF NOT EXISTS forward_state (
            key TEXT PRIMARY KEY,
            acked_heads BLOB NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS forward_blobs (
            parent TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            case_id TEXT NOT NULL,
            acked_at INTEGER,
            tries INTEGER NOT NULL DEFAULT 0,
            next_at INTEGER NOT NULL DEFAULT 0,
            failed TEXT,
            PRIMARY KEY (parent, sha256)
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS forward_blobs_open ON forward_blobs(parent, next_at)
            WHERE acked_at IS NULL;
    ";

    fn layers(db: &ServerDb) -> Vec<(String, i64)> {
        db.store
            .read(|c| {
                c.prepare("SELECT layer, version FROM schema_layers ORDER BY layer")?
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<_>>()
            })
            .unwrap()
    }

    fn count(db: &ServerDb, sql: &str) -> i64 {
        db.store
            .read(|c| c.query_row(sql, [], |r| r.get(0)))
            .unwrap()
    }

    fn current() -> Vec<(String, i64)> {
        vec![
            ("forward".to_owned(), crate::forward::LAYER.version()),
            ("sync-server".to_owned(), LAYER.version()),
        ]
    }

    #[test]
    fn a_fresh_database_records_the_server_layers() {
        let dir = tempfile::tempdir().unwrap();
        let db = ServerDb::open(&dir.path().join("server.sqlite3")).unwrap();
        assert_eq!(layers(&db), current());
        assert_eq!(db.current_seq().unwrap(), 0);
        assert_eq!(count(&db, "SELECT COUNT(*) FROM forward_blobs"), 0);
    }

    #[test]
    fn reopening_runs_no_step_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.sqlite3");
        drop(ServerDb::open(&path).unwrap());
        // Had the first step run again, its `IF NOT EXISTS` would bring these indexes back.
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute_batch("DROP INDEX doc_seq_by_seq; DROP INDEX forward_blobs_open;")
            .unwrap();
        let db = ServerDb::open(&path).unwrap();
        assert_eq!(layers(&db), current());
        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) FROM sqlite_master
                 WHERE name IN ('doc_seq_by_seq', 'forward_blobs_open')"
            ),
            0
        );
    }

    #[test]
    fn a_database_laid_out_before_the_ladder_is_adopted_with_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.sqlite3");
        {
            // The core's store as it was, and the server's tables as the old code made them.
            drop(Store::open(&path).unwrap());
            let conn = rusqlite::Connection::open(&path).unwrap();
            conn.execute_batch(BEFORE_THE_LADDER).unwrap();
            conn.execute_batch(
                "INSERT INTO devices(id, person, name, token_hash, enrolled_at)
                     VALUES ('dev-1', 'p1', 'phone', 'h1', 1);
                 INSERT INTO device_actors(actor, device) VALUES ('aa', 'dev-1');
                 INSERT INTO doc_seq(key, seq) VALUES ('case:c1', 7);
                 INSERT INTO doc_scope(scope, key, since) VALUES ('u:hy', 'case:c1', 7);
                 INSERT INTO server_meta(key, value) VALUES ('parent.cursor', '3');
                 INSERT INTO forward_state(key, acked_heads) VALUES ('case:c1', x'');",
            )
            .unwrap();
        }
        let db = ServerDb::open(&path).unwrap();
        assert_eq!(layers(&db), current());
        assert_eq!(db.devices().unwrap().len(), 1);
        assert_eq!(db.current_seq().unwrap(), 7);
        assert_eq!(
            db.store.read(|c| scope_of(c, "case:c1")).unwrap(),
            BTreeSet::from(["u:hy".to_owned()])
        );
        assert_eq!(
            db.store
                .read(|c| server_meta(c, "parent.cursor"))
                .unwrap()
                .as_deref(),
            Some("3")
        );
        assert_eq!(count(&db, "SELECT COUNT(*) FROM forward_state"), 1);
    }

    #[test]
    fn a_database_from_a_newer_server_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.sqlite3");
        drop(ServerDb::open(&path).unwrap());
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute(
                "UPDATE schema_layers SET version = version + 1 WHERE layer = 'sync-server'",
                [],
            )
            .unwrap();
        let err = ServerDb::open(&path).unwrap_err();
        assert!(
            matches!(&err, crate::error::Error::Core(app_core::Error::LayerTooNew { layer, .. }) if layer == "sync-server"),
            "{err:?}"
        );
        assert!(err.to_string().contains("newer version"), "{err}");
    }

    #[test]
    fn a_refused_write_stores_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = ServerDb::open(&dir.path().join("server.sqlite3")).unwrap();
        let refused = db.store.write(|tx| -> Result<(), ApiError> {
            set_server_meta(tx, "parent.url", "https://county.example")?;
            Err(ApiError::new(ErrorCode::BadCode, "refused after writing"))
        });
        assert_eq!(refused.unwrap_err().code, ErrorCode::BadCode);
        assert_eq!(
            db.store.read(|c| server_meta(c, "parent.url")).unwrap(),
            None
        );
        // Nor does a refused enrolment.
        assert!(db.enrol("NOT-A-CODE", "phone", "aa", 0).is_err());
        assert!(db.devices().unwrap().is_empty());
    }
}
