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
//! `doc_versions` grows by one row per accepted write. It can be pruned safely: with `m` the
//! lowest cursor any device still syncing holds, keep for each document its latest version at
//! or before `m` and everything after. A device whose cursor is below what was kept finds no
//! version at or before its cursor and receives the whole document: correct, only larger.
//! (Not done yet: rows cost ~45 bytes per write.)

use crate::credential::{self, ServerKey};
use crate::error::{ApiError, Error, Result};
use app_core::ids::{DeviceId, PersonId};
use app_core::protocol::ErrorCode;
use app_core::store::{Received, Store};
use automerge::ChangeHash;
use rusqlite::{params, OptionalExtension, Transaction};
use std::collections::BTreeSet;
use std::path::Path;

const SCHEMA: &str = "
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
        let store = Store::open(path)?;
        store.connection().execute_batch(SCHEMA)?;
        Ok(ServerDb { store, key })
    }

    /// The last sequence number given out.
    pub fn current_seq(&self) -> rusqlite::Result<u64> {
        self.store
            .connection()
            .query_row("SELECT COALESCE(MAX(seq), 0) FROM doc_seq", [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n as u64)
    }

    // ----- enrolment and devices -----

    /// Issues a one-time enrolment code for a person, valid for `valid_ms`.
    pub fn issue_code(&self, person: &PersonId, now_ms: i64, valid_ms: i64) -> Result<String> {
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
        self.store.connection().execute(
            "INSERT INTO enrol_codes(code_hash, person, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
            params![
                self.key.hash(&credential::normalise_code(&code)),
                person.as_str(),
                now_ms,
                now_ms + valid_ms
            ],
        )?;
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
        let tx = self
            .store
            .connection_mut()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(ApiError::internal)?;
        // The code as stored now, or as a code issued before the key was (legacy).
        let keyed = self.key.hash(&credential::normalise_code(code));
        let legacy = credential::legacy_hash(&credential::legacy_normalise_code(code));
        let row: Option<(String, String, i64, Option<i64>)> = tx
            .query_row(
                "SELECT code_hash, person, expires_at, used_at FROM enrol_codes
                 WHERE code_hash IN (?1, ?2)",
                [&keyed, &legacy],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()
            .map_err(ApiError::internal)?;
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
            .optional()
            .map_err(ApiError::internal)?;
        if taken.is_some() {
            return Err(ApiError::new(
                ErrorCode::ForgedActor,
                "this actor id belongs to another device; a device must use its own",
            ));
        }
        let device = DeviceId::new(format!("dev-{}", random_hex(8)));
        let token = format!("{}.{}", device, random_hex(32));
        tx.execute(
            "INSERT INTO devices(id, person, name, token_hash, enrolled_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![device.as_str(), person.as_str(), name, self.key.hash(&token), now_ms],
        )
        .map_err(ApiError::internal)?;
        tx.execute(
            "INSERT INTO device_actors(actor, device) VALUES (?1, ?2)",
            params![actor, device.as_str()],
        )
        .map_err(ApiError::internal)?;
        tx.execute(
            "UPDATE enrol_codes SET used_at = ?2 WHERE code_hash = ?1",
            params![hash, now_ms],
        )
        .map_err(ApiError::internal)?;
        tx.commit().map_err(ApiError::internal)?;
        Ok((device, token, person))
    }

    /// The device a bearer token belongs to. A token stored the old way (unkeyed SHA-256, by a
    /// server before [`crate::credential`]) is accepted and re-stored keyed.
    pub fn authenticate(&self, token: &str) -> Result<Device, ApiError> {
        let conn = self.store.connection();
        let find = |hash: &str| {
            conn.prepare_cached(
                "SELECT id, person, name, revoked_at FROM devices WHERE token_hash = ?1",
            )?
            .query_row([hash], |r| {
                Ok::<(String, String, String, Option<i64>), _>((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                ))
            })
            .optional()
        };
        let keyed = self.key.hash(token);
        let mut row = find(&keyed).map_err(ApiError::internal)?;
        if row.is_none() {
            row = find(&credential::legacy_hash(token)).map_err(ApiError::internal)?;
            if let Some((id, ..)) = &row {
                conn.execute(
                    "UPDATE devices SET token_hash = ?2 WHERE id = ?1",
                    params![id, keyed],
                )
                .map_err(ApiError::internal)?;
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
        let mut stmt = conn
            .prepare_cached("SELECT actor FROM device_actors WHERE device = ?1")
            .map_err(ApiError::internal)?;
        let actors = stmt
            .query_map([&id], |r| r.get::<_, String>(0))
            .map_err(ApiError::internal)?
            .collect::<rusqlite::Result<BTreeSet<_>>>()
            .map_err(ApiError::internal)?;
        Ok(Device {
            id: DeviceId::new(id),
            person: PersonId::new(person),
            name,
            actors,
        })
    }

    pub fn revoke(&self, device: &str, now_ms: i64) -> Result<()> {
        let n = self.store.connection().execute(
            "UPDATE devices SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
            params![device, now_ms],
        )?;
        if n == 0 {
            return Err(Error::NoActiveDevice(device.to_owned()));
        }
        Ok(())
    }

    pub fn devices(&self) -> Result<Vec<DeviceRow>> {
        let conn = self.store.connection();
        let mut stmt = conn.prepare(
            "SELECT id, person, name, enrolled_at, revoked_at, last_seen_at FROM devices ORDER BY enrolled_at",
        )?;
        let rows = stmt
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
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    pub fn touch(&self, device: &DeviceId, now_ms: i64) {
        let _ = self.store.connection().execute(
            "UPDATE devices SET last_seen_at = ?2 WHERE id = ?1",
            params![device.as_str(), now_ms],
        );
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
        let tx = self
            .store
            .connection_mut()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        write_log(&tx, logged)?;
        tx.commit()?;
        Ok(())
    }
}

fn write_log(tx: &Transaction<'_>, logged: &[Logged]) -> app_core::Result<()> {
    let mut seq: i64 = tx.query_row("SELECT COALESCE(MAX(seq), 0) FROM doc_seq", [], |r| {
        r.get(0)
    })?;
    for l in logged {
        seq += 1;
        tx.execute(
            "INSERT INTO doc_seq(key, seq) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET seq = ?2",
            params![l.key, seq],
        )?;
        tx.execute(
            "INSERT INTO doc_versions(key, seq, heads, writer) VALUES (?1, ?2, ?3, ?4)",
            params![l.key, seq, heads_bytes(&l.heads), l.writer],
        )?;
        for s in &l.scope {
            tx.execute(
                "INSERT OR IGNORE INTO doc_scope(scope, key, since) VALUES (?1, ?2, ?3)",
                params![s, l.key, seq],
            )?;
        }
    }
    Ok(())
}

pub fn random_hex(bytes: usize) -> String {
    use rand::RngCore;
    let mut b = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}
