//! A store kept as one replica of a shared, ordered log (feature `replication`).
//!
//! Several processes serve one centre from one database: each keeps this SQLite store as its
//! working copy, and every write any of them makes goes through a [`SharedLog`] (the sync
//! server's is PostgreSQL) before it commits here. A write:
//!
//! 1. takes the log's writer lock ([`SharedLog::begin`]), which also hands over every entry
//!    after the one this replica applied last; they are applied first, so the write reads and
//!    checks the latest state of the centre, whichever process wrote it;
//! 2. runs in one IMMEDIATE transaction with an SQLite session recording every row it changes
//!    (core tables and layers alike: the documents, the summaries, a server's own tables);
//! 3. appends that changeset to the log ([`SharedLog::append`], durable when it returns, and
//!    giving up the lock), then commits here with the entry's sequence number.
//!
//! Every entry is therefore written by a process that held the lock and had applied every entry
//! before it: the log is a total order, numbered without gaps in commit order, and applying it
//! to any replica gives the same rows. Nothing a device or a reader is told depends on an entry
//! that is not yet durable in the log, and no entry can become visible below a sequence number
//! a reader has already seen (the trap of numbers taken before commit cannot arise: a number
//! is taken under the lock and the lock is held until the commit).
//!
//! If this process dies between the log's commit and its own, the entry is simply applied at
//! the next catch-up. A changeset that does not apply cleanly (this replica diverged: a file
//! edited by hand, or restored from another time) is refused with [`Error::Replica`]; the
//! replica is then rebuilt from the log.
//!
//! What is device-local stays out of the log: `replica_state` (how far this file has applied
//! the log) and the automerge actor id in `meta` (written at open, never by a write), so each
//! process writes automerge changes as its own actor.

use super::Store;
use crate::error::{Error, Result};
use rusqlite::session::{ConflictAction, ConflictType, Session};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The table that records how far this file has applied the log (never logged itself).
const STATE_TABLE: &str = "replica_state";

/// One entry of the shared log: the rows one write changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// Its place in the log: 1, 2, 3… without gaps, in commit order.
    pub seq: u64,
    /// The write's SQLite changeset.
    pub changeset: Vec<u8>,
}

/// The ordered log several replicas of one store share (a PostgreSQL table for the sync
/// server). Calls come from one thread at a time (the store is `&mut`).
pub trait SharedLog: Send + std::fmt::Debug {
    /// Takes the writer lock (waiting for another writer to finish) and returns the entries
    /// after `applied`. Held until [`SharedLog::append`] or [`SharedLog::release`].
    fn begin(&mut self, applied: u64) -> std::result::Result<Vec<LogEntry>, String>;
    /// Appends a changeset under the lock and makes it durable; returns its sequence number
    /// (the last one handed over by `begin`, plus one) and gives up the lock.
    fn append(&mut self, changeset: Vec<u8>) -> std::result::Result<u64, String>;
    /// Gives up the lock without appending.
    fn release(&mut self) -> std::result::Result<(), String>;
    /// The entries after `applied`, at most `limit` of them, without the lock (a reader
    /// catching up).
    fn after(&mut self, applied: u64, limit: usize) -> std::result::Result<Vec<LogEntry>, String>;
    /// The last sequence number in the log.
    fn head(&mut self) -> std::result::Result<u64, String>;
}

/// The store's link to its log, and whether it holds the writer lock.
#[derive(Debug)]
pub(super) struct Replication {
    log: Box<dyn SharedLog>,
    holding: bool,
    /// The directory version the directory in memory was read at.
    directory_version: u64,
    /// How far this store has applied the log, for those who fetch entries for it without
    /// holding it (never ahead of the file; behind it only while another process sharing the
    /// file applies entries first).
    applied: Arc<AtomicU64>,
}

/// How many entries a catch-up fetches and applies per round trip (the store's own, and a
/// server's that fetches for it).
pub const CATCH_UP_BATCH: usize = 256;

impl Store {
    /// Makes this store a replica of `log`: from now on every write goes through it (see the
    /// module's documentation), and the entries already in it are applied now.
    ///
    /// The file then commits without waiting for the disk (`synchronous = NORMAL`, still safe
    /// from corruption): what a replica loses in a power cut is in the log, durable before the
    /// replica committed, and applied again at the next catch-up.
    pub fn attach_log(&mut self, log: Box<dyn SharedLog>) -> Result<()> {
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        self.conn.execute_batch(&format!(
            "CREATE TABLE IF NOT EXISTS {STATE_TABLE} (id INTEGER PRIMARY KEY CHECK (id = 1),
                 seq INTEGER NOT NULL);
             INSERT OR IGNORE INTO {STATE_TABLE}(id, seq) VALUES (1, 0);"
        ))?;
        self.replication = Some(Replication {
            log,
            holding: false,
            directory_version: self.directory_version()?,
            applied: Arc::new(AtomicU64::new(applied_in(&self.conn)?)),
        });
        self.catch_up()?;
        Ok(())
    }

    /// Whether this store is a replica of a shared log.
    pub fn is_replica(&self) -> bool {
        self.replication.is_some()
    }

    /// How far this file has applied the shared log (0 for a store that is no replica).
    pub fn applied(&self) -> Result<u64> {
        if self.replication.is_none() {
            return Ok(0);
        }
        applied_in(&self.conn)
    }

    /// How far this store has applied the log, readable without the store: a server fetches
    /// the entries after it while other requests use the store, then applies them with
    /// [`Store::apply_log`]. `None` for a store that is no replica.
    pub fn applied_counter(&self) -> Option<Arc<AtomicU64>> {
        self.replication.as_ref().map(|r| r.applied.clone())
    }

    /// Applies entries fetched from the log (in order, from at most one after what this store
    /// applied; those it has applied already are skipped); returns how many were new.
    pub fn apply_log(&mut self, entries: &[LogEntry]) -> Result<usize> {
        if self.replication.is_none() {
            return Err(Error::Replica(
                "this store is no replica of a log".to_owned(),
            ));
        }
        self.apply_entries(entries)
    }

    /// Applies the log's entries this replica lacks (without taking the writer lock); returns
    /// how many. A store that is no replica has nothing to catch up.
    pub fn catch_up(&mut self) -> Result<usize> {
        let mut total = 0;
        loop {
            let applied = self.applied()?;
            let Some(r) = self.replication.as_mut() else {
                return Ok(0);
            };
            let entries = r.log.after(applied, CATCH_UP_BATCH).map_err(Error::Log)?;
            let n = entries.len();
            total += self.apply_entries(&entries)?;
            if n < CATCH_UP_BATCH {
                return Ok(total);
            }
        }
    }

    /// The log's last sequence number (0 for a store that is no replica).
    pub fn log_head(&mut self) -> Result<u64> {
        match self.replication.as_mut() {
            Some(r) => r.log.head().map_err(Error::Log),
            None => Ok(0),
        }
    }

    /// Takes the log's writer lock and applies what this replica lacks, so that what is read
    /// next is the centre's latest state and stays so until the next write, which uses this
    /// lock (or [`Store::release_write`]). Does nothing for a store that is no replica, or if
    /// the lock is held already.
    pub fn begin_write(&mut self) -> Result<()> {
        let applied = self.applied()?;
        let Some(r) = self.replication.as_mut() else {
            return Ok(());
        };
        if r.holding {
            return Ok(());
        }
        let entries = r.log.begin(applied).map_err(Error::Log)?;
        r.holding = true;
        if let Err(e) = self.apply_entries(&entries) {
            self.release_write()?;
            return Err(e);
        }
        Ok(())
    }

    /// Gives up the writer lock taken by [`Store::begin_write`] without writing.
    pub fn release_write(&mut self) -> Result<()> {
        if let Some(r) = self.replication.as_mut() {
            if r.holding {
                r.holding = false;
                r.log.release().map_err(Error::Log)?;
            }
        }
        Ok(())
    }

    /// Applies entries in order, all in one transaction; each must be the next after what this
    /// file applied (an entry applied already, by another process sharing the file, is
    /// skipped). If one does not apply, none is.
    ///
    /// The directory in memory is read again if the file's changed, by these entries or by
    /// another process sharing the file (an admin command run on the data directory).
    fn apply_entries(&mut self, entries: &[LogEntry]) -> Result<usize> {
        let n = if entries.is_empty() {
            0
        } else {
            apply_batch(&mut self.conn, entries)?
        };
        let version = self.directory_version()?;
        let applied = applied_in(&self.conn)?;
        if let Some(r) = self.replication.as_mut() {
            r.applied.fetch_max(applied, Ordering::SeqCst);
            if r.directory_version != version {
                r.directory_version = version;
                self.directory = std::sync::Arc::new(Self::read_directory(&self.conn)?);
            }
        }
        Ok(n)
    }

    /// [`Store::write`] on a replica: under the log's writer lock, recorded, appended, then
    /// committed here.
    pub(super) fn write_replicated<T, E>(
        &mut self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E>
    where
        E: From<rusqlite::Error>,
    {
        self.begin_write().map_err(|e| E::from(as_sqlite(e)))?;
        let outcome = self.write_held(f);
        // A failure anywhere leaves the lock with nothing appended: give it up.
        if self.replication.as_ref().is_some_and(|r| r.holding) {
            let _ = self.release_write();
        }
        outcome
    }

    fn write_held<T, E>(
        &mut self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E>
    where
        E: From<rusqlite::Error>,
    {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut changeset = Vec::new();
        let out = {
            let mut session = Session::new(&tx)?;
            session.table_filter(Some(|table: &str| table != STATE_TABLE));
            session.attach(None::<&str>)?;
            let out = f(&tx)?;
            session.changeset_strm(&mut changeset)?;
            out
        };
        if changeset.is_empty() {
            tx.commit()?;
            return Ok(out);
        }
        let r = self
            .replication
            .as_mut()
            .expect("a replicated write has its log");
        let seq = r
            .log
            .append(changeset)
            .map_err(|e| as_sqlite(Error::Log(e)))?;
        r.holding = false;
        // Durable in the log: if this commit fails, the next catch-up applies the entry.
        tx.execute(
            &format!("UPDATE {STATE_TABLE} SET seq = ?1 WHERE id = 1"),
            [seq as i64],
        )?;
        tx.commit()?;
        r.applied.fetch_max(seq, Ordering::SeqCst);
        Ok(out)
    }
}

/// An error of the log in the SQLite error a write's caller handles (its type is the caller's,
/// built from SQLite's); the core's message is kept.
fn as_sqlite(e: Error) -> rusqlite::Error {
    match e {
        Error::Storage(e) => e,
        other => rusqlite::Error::ToSqlConversionFailure(Box::new(other)),
    }
}

fn applied_in(conn: &Connection) -> Result<u64> {
    Ok(conn
        .prepare_cached(&format!("SELECT seq FROM {STATE_TABLE} WHERE id = 1"))?
        .query_row([], |r| r.get::<_, i64>(0))
        .optional()?
        .unwrap_or(0) as u64)
}

/// Applies entries in one transaction, with this file's place in the log; returns how many
/// were new to the file. Foreign keys are off meanwhile: a changeset holds every row the
/// writer's cascades changed, so applying them again would find those rows gone.
fn apply_batch(conn: &mut Connection, entries: &[LogEntry]) -> Result<usize> {
    conn.pragma_update(None, "foreign_keys", false)?;
    let result = (|| -> Result<usize> {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut applied = applied_in(&tx)?;
        let mut n = 0;
        for e in entries {
            if e.seq <= applied {
                continue;
            }
            if e.seq != applied + 1 {
                return Err(Error::Replica(format!(
                    "the log's entry {} follows {}, but this replica has applied up to {applied}",
                    e.seq,
                    e.seq - 1
                )));
            }
            apply_changeset(&tx, e)?;
            applied = e.seq;
            n += 1;
        }
        if n > 0 {
            tx.execute(
                &format!("UPDATE {STATE_TABLE} SET seq = ?1 WHERE id = 1"),
                [applied as i64],
            )?;
            tx.commit()?;
        }
        Ok(n)
    })();
    conn.pragma_update(None, "foreign_keys", true)?;
    result
}

/// Applies one entry's changeset inside `tx`; any conflict refuses it.
fn apply_changeset(tx: &rusqlite::Transaction<'_>, e: &LogEntry) -> Result<()> {
    let conflicts = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = conflicts.clone();
    let applied_ok = tx.apply_strm(
        &mut &e.changeset[..],
        None::<fn(&str) -> bool>,
        move |kind: ConflictType, item| {
            let table = item
                .op()
                .map(|op| op.table_name().to_owned())
                .unwrap_or_default();
            if let Ok(mut c) = seen.lock() {
                c.push(format!("{kind:?} in {table}"));
            }
            ConflictAction::SQLITE_CHANGESET_ABORT
        },
    );
    let conflicts = conflicts.lock().map(|c| c.clone()).unwrap_or_default();
    if applied_ok.is_err() || !conflicts.is_empty() {
        return Err(Error::Replica(format!(
            "the log's entry {} does not apply to this replica ({}); it has diverged from the \
             log and must be rebuilt from it",
            e.seq,
            if conflicts.is_empty() {
                applied_ok.err().map(|e| e.to_string()).unwrap_or_default()
            } else {
                conflicts.join(", ")
            }
        )));
    }
    Ok(())
}
