//! The PostgreSQL engine: several server processes serve one centre from one database.
//!
//! PostgreSQL holds the centre's log, `fq_log`: every write any process made, in order, as the
//! rows it changed (an SQLite changeset, see `app_core::store::SharedLog`). Each process keeps
//! its own replica of the centre in an SQLite file in its data directory (`replica.sqlite3`),
//! which it brings up to date from the log before it reads and before it writes; the replica is
//! derived, and can be deleted: it is rebuilt from the log. Every rule, list, figure and export
//! is therefore the same code on both engines.
//!
//! # Order and cursors
//! A writer takes the centre's row in `fq_centres` `FOR UPDATE`, applies what its replica
//! lacks, writes, appends its entry with the next number and commits, which releases the row.
//! A number is thus taken only by the holder of the lock and the lock is released only by the
//! commit: the log's numbers become visible in order, without gaps, and a reader that sees
//! entry 11 sees entry 10 (the trap of sequence numbers taken before commit, where a reader
//! moves its cursor past an entry still being committed and never receives it, cannot arise).
//! Per-document serialisation follows: two processes never commit against the same state.
//!
//! # Distribution
//! Every table's primary key starts with the county code, and the log is partitioned by it
//! (hash, 8 partitions): a distributed engine (Citus) can shard on `county` with nothing to
//! change, as every statement names one county and one centre.
//!
//! # Calls
//! The rest of the server is synchronous (it runs under a mutex on blocking threads), so the
//! engine runs tokio-postgres on a small runtime of its own and waits for each answer on a
//! channel: callable from any thread, including a runtime's.

use crate::error::{Error, Result};
use app_core::store::{LogEntry, SharedLog, CATCH_UP_BATCH};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use std::future::Future;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The versioned schema, in order. Never edit a step that has shipped; add one.
const MIGRATIONS: &[&str] = &[
    // 1: the centres served, each with the number of its log's last entry and the replica
    // schema its entries are written in; the log.
    "CREATE TABLE fq_centres (
         county text NOT NULL,
         centre text NOT NULL,
         seq bigint NOT NULL DEFAULT 0,
         schema text NOT NULL,
         created_at timestamptz NOT NULL DEFAULT now(),
         PRIMARY KEY (county, centre)
     );
     CREATE TABLE fq_log (
         county text NOT NULL,
         centre text NOT NULL,
         seq bigint NOT NULL,
         at timestamptz NOT NULL DEFAULT now(),
         writer text NOT NULL,
         schema text NOT NULL,
         changeset bytea NOT NULL,
         PRIMARY KEY (county, centre, seq)
     ) PARTITION BY HASH (county);
     CREATE TABLE fq_log_0 PARTITION OF fq_log FOR VALUES WITH (MODULUS 8, REMAINDER 0);
     CREATE TABLE fq_log_1 PARTITION OF fq_log FOR VALUES WITH (MODULUS 8, REMAINDER 1);
     CREATE TABLE fq_log_2 PARTITION OF fq_log FOR VALUES WITH (MODULUS 8, REMAINDER 2);
     CREATE TABLE fq_log_3 PARTITION OF fq_log FOR VALUES WITH (MODULUS 8, REMAINDER 3);
     CREATE TABLE fq_log_4 PARTITION OF fq_log FOR VALUES WITH (MODULUS 8, REMAINDER 4);
     CREATE TABLE fq_log_5 PARTITION OF fq_log FOR VALUES WITH (MODULUS 8, REMAINDER 5);
     CREATE TABLE fq_log_6 PARTITION OF fq_log FOR VALUES WITH (MODULUS 8, REMAINDER 6);
     CREATE TABLE fq_log_7 PARTITION OF fq_log FOR VALUES WITH (MODULUS 8, REMAINDER 7);",
    // 2: the processes serving each centre, each seen every few seconds, so that the limits
    // the centre sets for everyone together are shared among those alive.
    "CREATE TABLE fq_processes (
         county text NOT NULL,
         centre text NOT NULL,
         process text NOT NULL,
         started_at timestamptz NOT NULL DEFAULT now(),
         seen_at timestamptz NOT NULL DEFAULT now(),
         PRIMARY KEY (county, centre, process)
     );",
    // 3: entries compressed with lz4 rather than pglz: a sync's changeset is tens of kilobytes,
    // and pglz spent more of PostgreSQL's time on it than the rest of the write.
    "ALTER TABLE fq_log ALTER COLUMN changeset SET COMPRESSION lz4;",
];

/// How often a serving process says it is alive, and how long after its last word it counts
/// as gone.
pub const HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(2);
const ALIVE_FOR: &str = "10 seconds";

/// The advisory lock under which a process migrates the schema (any constant of ours).
const MIGRATION_LOCK: i64 = 0x6671_6d69_6772;

/// The engine's runtime, shut down without waiting when the last handle goes (which may be
/// in an asynchronous context, where waiting is not allowed).
struct OwnRuntime(Option<tokio::runtime::Runtime>);

impl OwnRuntime {
    fn handle(&self) -> &tokio::runtime::Handle {
        self.0.as_ref().expect("running until dropped").handle()
    }
}

impl Drop for OwnRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

/// A connection pool to the database, and the runtime its connections run on.
#[derive(Clone)]
pub struct Postgres {
    pool: Pool,
    config: tokio_postgres::Config,
    rt: Arc<OwnRuntime>,
    /// The address without its password, for messages.
    shown: String,
}

impl std::fmt::Debug for Postgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Postgres")
            .field("database", &self.shown)
            .finish_non_exhaustive()
    }
}

impl Postgres {
    /// Connects to `url` (`postgres://user:password@host:port/database`) and brings its schema
    /// to this build's version.
    pub fn connect(url: &str) -> Result<Postgres> {
        let mut config = tokio_postgres::Config::from_str(url)
            .map_err(|e| Error::Postgres(format!("`database` is not a PostgreSQL address: {e}")))?;
        // A writer waits at most 30 s for the centre's lock (another process stuck holding
        // it), and a session idle in a transaction for 60 s is ended, releasing the lock.
        let options = format!(
            "{} -c lock_timeout=30000 -c idle_in_transaction_session_timeout=60000",
            config.get_options().unwrap_or_default()
        );
        config.options(options.trim());
        let shown = shown(&config);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("fq-postgres")
            .enable_all()
            .build()
            .map_err(|e| Error::Postgres(format!("start the database's runtime: {e}")))?;
        let manager = Manager::from_config(
            config.clone(),
            tokio_postgres::NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(16)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| Error::Postgres(format!("database pool: {e}")))?;
        let pg = Postgres {
            pool,
            config,
            rt: Arc::new(OwnRuntime(Some(rt))),
            shown,
        };
        pg.migrate()?;
        Ok(pg)
    }

    /// Runs `f` on the engine's runtime and waits for its answer.
    pub fn run<T, F, Fut>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(Pool) -> Fut + Send + 'static,
        Fut: Future<Output = std::result::Result<T, String>> + Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::channel();
        let pool = self.pool.clone();
        self.rt.handle().spawn(async move {
            let _ = tx.send(f(pool).await);
        });
        rx.recv()
            .map_err(|_| Error::Postgres("the database's runtime stopped".to_owned()))?
            .map_err(|e| Error::Postgres(format!("{}: {e}", self.shown)))
    }

    /// [`Postgres::run`] for asynchronous callers: runs `f` on the engine's runtime (where the
    /// pool's connections live) and awaits its answer without blocking a thread.
    pub async fn run_async<T, F, Fut>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(Pool) -> Fut + Send + 'static,
        Fut: Future<Output = std::result::Result<T, String>> + Send + 'static,
    {
        let pool = self.pool.clone();
        self.rt
            .handle()
            .spawn(async move { f(pool).await })
            .await
            .map_err(|_| Error::Postgres("the database's runtime stopped".to_owned()))?
            .map_err(|e| Error::Postgres(format!("{}: {e}", self.shown)))
    }

    fn migrate(&self) -> Result<()> {
        self.run(|pool| async move {
            let mut client = pool.get().await.map_err(|e| describe(&e))?;
            let tx = client.transaction().await.map_err(|e| describe(&e))?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
                .await
                .map_err(|e| describe(&e))?;
            tx.batch_execute(
                "CREATE TABLE IF NOT EXISTS fq_schema (
                     version integer PRIMARY KEY,
                     applied_at timestamptz NOT NULL DEFAULT now()
                 )",
            )
            .await
            .map_err(|e| describe(&e))?;
            let version: i32 = tx
                .query_one("SELECT COALESCE(MAX(version), 0) FROM fq_schema", &[])
                .await
                .map_err(|e| describe(&e))?
                .get(0);
            let known = MIGRATIONS.len() as i32;
            if version > known {
                return Err(format!(
                    "the database's schema is version {version}, newer than this build knows \
                     ({known}); update this program"
                ));
            }
            for (i, step) in MIGRATIONS.iter().enumerate().skip(version as usize) {
                tx.batch_execute(step)
                    .await
                    .map_err(|e| format!("migration {}: {}", i + 1, describe(&e)))?;
                tx.execute(
                    "INSERT INTO fq_schema(version) VALUES ($1)",
                    &[&(i as i32 + 1)],
                )
                .await
                .map_err(|e| describe(&e))?;
            }
            tx.commit().await.map_err(|e| describe(&e))
        })
    }

    /// A connection of its own, outside the pool, driven on the caller's runtime: a session
    /// whose advisory locks last exactly as long as it (forwarding's leadership).
    pub async fn dedicated(&self) -> Result<tokio_postgres::Client> {
        let (client, connection) = self
            .config
            .connect(tokio_postgres::NoTls)
            .await
            .map_err(|e| Error::Postgres(format!("{}: {}", self.shown, describe(&e))))?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(error = %describe(&e), "a database session ended");
            }
        });
        Ok(client)
    }

    /// Says that `process` serves the centre, and forgets processes silent for an hour;
    /// returns how many serve it now (seen within the last ten seconds, this one included).
    pub fn heartbeat(&self, county: &str, centre: &str, process: &str) -> Result<u32> {
        let (c, u, p) = (county.to_owned(), centre.to_owned(), process.to_owned());
        self.run(move |pool| async move {
            let client = pool.get().await.map_err(|e| describe(&e))?;
            client
                .execute(
                    "INSERT INTO fq_processes(county, centre, process) VALUES ($1, $2, $3)
                     ON CONFLICT (county, centre, process) DO UPDATE SET seen_at = now()",
                    &[&c, &u, &p],
                )
                .await
                .map_err(|e| describe(&e))?;
            client
                .execute(
                    "DELETE FROM fq_processes WHERE county = $1 AND centre = $2
                     AND seen_at < now() - interval '1 hour'",
                    &[&c, &u],
                )
                .await
                .map_err(|e| describe(&e))?;
            let n: i64 = client
                .query_one(
                    &format!(
                        "SELECT count(*) FROM fq_processes WHERE county = $1 AND centre = $2
                         AND seen_at > now() - interval '{ALIVE_FOR}'"
                    ),
                    &[&c, &u],
                )
                .await
                .map_err(|e| describe(&e))?
                .get(0);
            Ok(n.max(1) as u32)
        })
    }
}

/// This process, as the log and the list of serving processes name it: host and process id.
pub fn process_name() -> String {
    format!(
        "{}:{}",
        std::env::var("HOSTNAME").unwrap_or_else(|_| "host".to_owned()),
        std::process::id()
    )
}

/// An error with its causes (tokio-postgres says only "db error"; its source says which).
pub(crate) fn describe(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// `host:port/database` of a configuration, never its password.
fn shown(config: &tokio_postgres::Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(h) => h.clone(),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
        })
        .unwrap_or_default();
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "postgres://{host}:{port}/{}",
        config.get_dbname().unwrap_or_default()
    )
}

/// The log of one centre, as one process's replica sees it.
pub struct PgLog {
    pg: Postgres,
    county: String,
    centre: String,
    /// The replica schema this process writes and reads entries in.
    schema: String,
    /// Who appends (host and process), recorded with each entry.
    writer: String,
    /// The connection holding the centre's row in an open transaction, with the last number
    /// it saw, while this process holds the writer lock.
    held: Option<(deadpool_postgres::Object, i64)>,
}

impl std::fmt::Debug for PgLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgLog")
            .field("county", &self.county)
            .field("centre", &self.centre)
            .field("holding", &self.held.is_some())
            .finish_non_exhaustive()
    }
}

impl PgLog {
    /// The log of `centre` in `county`, created if new. `schema` names the replica schema of
    /// this build; entries written in another are refused (one version per centre at a time).
    pub fn open(pg: &Postgres, county: &str, centre: &str, schema: &str) -> Result<PgLog> {
        let (c, u, s) = (county.to_owned(), centre.to_owned(), schema.to_owned());
        pg.run(move |pool| async move {
            let client = pool.get().await.map_err(|e| describe(&e))?;
            client
                .execute(
                    "INSERT INTO fq_centres(county, centre, schema) VALUES ($1, $2, $3)
                     ON CONFLICT (county, centre) DO NOTHING",
                    &[&c, &u, &s],
                )
                .await
                .map_err(|e| describe(&e))?;
            Ok(())
        })?;
        Ok(PgLog {
            pg: pg.clone(),
            county: county.to_owned(),
            centre: centre.to_owned(),
            schema: schema.to_owned(),
            writer: process_name(),
            held: None,
        })
    }

    fn other_schema(seq: i64, written: &str, schema: &str) -> String {
        format!(
            "entry {seq} of the centre's log was written by a build whose tables are \
             `{written}`, and this one's are `{schema}`: run one version of the server per \
             centre (stop them all, upgrade, start them)"
        )
    }

    fn entries(
        rows: Vec<tokio_postgres::Row>,
        schema: &str,
    ) -> std::result::Result<Vec<LogEntry>, String> {
        rows.into_iter()
            .map(|r| {
                let seq: i64 = r.get(0);
                let written: String = r.get(1);
                if written != schema {
                    return Err(PgLog::other_schema(seq, &written, schema));
                }
                Ok(LogEntry {
                    seq: seq as u64,
                    changeset: r.get(2),
                })
            })
            .collect()
    }
}

impl Drop for PgLog {
    /// A process that stops while it holds the lock (a request failed half way) gives it up,
    /// so that the pool never lends out a connection in an open transaction.
    fn drop(&mut self) {
        let _ = self.release();
    }
}

/// At most `limit` entries of a centre's log after `applied`, in order.
async fn fetch_after(
    pool: Pool,
    county: String,
    centre: String,
    schema: String,
    applied: u64,
    limit: usize,
) -> std::result::Result<Vec<LogEntry>, String> {
    let client = pool.get().await.map_err(|e| describe(&e))?;
    let stmt = client
        .prepare_cached(SELECT_AFTER)
        .await
        .map_err(|e| describe(&e))?;
    let rows = client
        .query(
            &stmt,
            &[&county, &centre, &(applied as i64), &(limit as i64)],
        )
        .await
        .map_err(|e| describe(&e))?;
    PgLog::entries(rows, &schema)
}

/// What brings a process's replica up to date as requests arrive, without holding it while
/// the database answers: every request sees every write committed, by any process, before it
/// arrived.
///
/// One catch-up at a time serves every request that arrived before it began: a request
/// arriving while one runs waits for the next, which serves all that waited (as the uploads'
/// group commit does for writes). The entries are fetched while other requests use the
/// replica; only applying them holds it.
#[derive(Clone, Debug)]
pub struct LogFeed {
    pg: Postgres,
    county: String,
    centre: String,
    schema: String,
    /// How far the replica has applied the log.
    applied: Arc<AtomicU64>,
    turns: Arc<FeedTurns>,
}

/// Requests counted as they arrive, and how many of them a finished catch-up served.
#[derive(Debug, Default)]
struct FeedTurns {
    arrived: AtomicU64,
    served: AtomicU64,
    one_at_a_time: tokio::sync::Mutex<()>,
}

impl LogFeed {
    pub fn new(
        pg: &Postgres,
        county: &str,
        centre: &str,
        schema: &str,
        applied: Arc<AtomicU64>,
    ) -> LogFeed {
        LogFeed {
            pg: pg.clone(),
            county: county.to_owned(),
            centre: centre.to_owned(),
            schema: schema.to_owned(),
            applied,
            turns: Default::default(),
        }
    }

    /// Returns once the replica holds every entry committed before this call; `apply` applies
    /// fetched entries to it.
    pub async fn catch_up<A, Fut>(&self, apply: A) -> Result<()>
    where
        A: Fn(Vec<LogEntry>) -> Fut,
        Fut: Future<Output = Result<usize>>,
    {
        let ticket = self.turns.arrived.fetch_add(1, Ordering::SeqCst) + 1;
        let _turn = self.turns.one_at_a_time.lock().await;
        if self.turns.served.load(Ordering::SeqCst) >= ticket {
            // A catch-up that began after this request arrived has finished.
            return Ok(());
        }
        let covers = self.turns.arrived.load(Ordering::SeqCst);
        loop {
            let entries = self.fetch().await?;
            let more = entries.len() == CATCH_UP_BATCH;
            if !entries.is_empty() {
                apply(entries).await?;
            }
            if !more {
                break;
            }
        }
        self.turns.served.fetch_max(covers, Ordering::SeqCst);
        Ok(())
    }

    /// The entries after those the replica has applied, at most [`CATCH_UP_BATCH`] of them.
    async fn fetch(&self) -> Result<Vec<LogEntry>> {
        let applied = self.applied.load(Ordering::SeqCst);
        let (county, centre, schema) = (
            self.county.clone(),
            self.centre.clone(),
            self.schema.clone(),
        );
        self.pg
            .run_async(move |pool| {
                fetch_after(pool, county, centre, schema, applied, CATCH_UP_BATCH)
            })
            .await
    }
}

/// A log entry and the centre's new head, in one statement.
const APPEND: &str = "WITH entry AS (
         INSERT INTO fq_log(county, centre, seq, writer, schema, changeset)
         VALUES ($1, $2, $3, $4, $5, $6))
     UPDATE fq_centres SET seq = $3 WHERE county = $1 AND centre = $2";

const SELECT_AFTER: &str = "SELECT seq, schema, changeset FROM fq_log
     WHERE county = $1 AND centre = $2 AND seq > $3 ORDER BY seq LIMIT $4";

impl SharedLog for PgLog {
    fn begin(&mut self, applied: u64) -> std::result::Result<Vec<LogEntry>, String> {
        if self.held.is_some() {
            return Err("the writer lock is held already".to_owned());
        }
        let (county, centre, schema) = (
            self.county.clone(),
            self.centre.clone(),
            self.schema.clone(),
        );
        let (client, head, entries) = self
            .pg
            .run(move |pool| async move {
                let client = pool.get().await.map_err(|e| describe(&e))?;
                let applied = applied as i64;
                let locked = async {
                    // BEGIN and the lock in one message (the simple protocol runs them in
                    // order), and what this replica lacks in the same round trip: pipelined,
                    // polled in this order (`biased`), and each sent when its future is first
                    // polled, so PostgreSQL reads the log only once it holds the lock, in a
                    // snapshot taken then (READ COMMITTED), which holds every entry before it.
                    let quote = |v: &str| format!("'{}'", v.replace('\'', "''"));
                    let lock = format!(
                        "BEGIN; SELECT seq FROM fq_centres WHERE county = {} AND centre = {}
                         FOR UPDATE",
                        quote(&county),
                        quote(&centre)
                    );
                    let after = client
                        .prepare_cached(SELECT_AFTER)
                        .await
                        .map_err(|e| describe(&e))?;
                    let everything = i64::MAX;
                    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 4] =
                        [&county, &centre, &applied, &everything];
                    let (messages, rows) = tokio::try_join!(
                        biased;
                        client.simple_query(&lock),
                        client.query(&after, &params),
                    )
                    .map_err(|e| describe(&e))?;
                    let head: i64 = messages
                        .iter()
                        .find_map(|m| match m {
                            tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0),
                            _ => None,
                        })
                        .ok_or_else(|| "the centre is not in the database".to_owned())?
                        .parse()
                        .map_err(|e| format!("the centre's head: {e}"))?;
                    let entries = PgLog::entries(rows, &schema)?;
                    if entries.last().map_or(applied, |e| e.seq as i64) != head {
                        return Err(format!(
                            "the log's head is {head} but its entries after {applied} end at {}",
                            entries.last().map_or(applied, |e| e.seq as i64)
                        ));
                    }
                    Ok::<_, String>((head, entries))
                }
                .await;
                match locked {
                    Ok((head, entries)) => Ok((client, head, entries)),
                    Err(e) => {
                        let _ = client.batch_execute("ROLLBACK").await;
                        Err(e)
                    }
                }
            })
            .map_err(|e| describe(&e))?;
        self.held = Some((client, head));
        Ok(entries)
    }

    fn append(&mut self, changeset: Vec<u8>) -> std::result::Result<u64, String> {
        let (client, head) = self
            .held
            .take()
            .ok_or_else(|| "append without the writer lock".to_owned())?;
        let seq = head + 1;
        let (county, centre, schema, writer) = (
            self.county.clone(),
            self.centre.clone(),
            self.schema.clone(),
            self.writer.clone(),
        );
        self.pg
            .run(move |_| async move {
                let written = async {
                    // The entry and the head in one statement, then the commit, in one round
                    // trip: polled in this order (`biased`), each sent when first polled, so
                    // the commit follows the entry (if the entry fails, the transaction is
                    // aborted and the COMMIT rolls it back).
                    let stmt = client.prepare_cached(APPEND).await?;
                    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 6] =
                        [&county, &centre, &seq, &writer, &schema, &changeset];
                    tokio::try_join!(
                        biased;
                        client.execute(&stmt, &params),
                        client.batch_execute("COMMIT"),
                    )
                    .map(|_| ())
                }
                .await;
                if let Err(e) = written {
                    let _ = client.batch_execute("ROLLBACK").await;
                    return Err(describe(&e));
                }
                Ok(())
            })
            .map_err(|e| describe(&e))?;
        Ok(seq as u64)
    }

    fn release(&mut self) -> std::result::Result<(), String> {
        let Some((client, _)) = self.held.take() else {
            return Ok(());
        };
        self.pg
            .run(move |_| async move {
                client
                    .batch_execute("ROLLBACK")
                    .await
                    .map_err(|e| describe(&e))
            })
            .map_err(|e| describe(&e))
    }

    fn after(&mut self, applied: u64, limit: usize) -> std::result::Result<Vec<LogEntry>, String> {
        let (county, centre, schema) = (
            self.county.clone(),
            self.centre.clone(),
            self.schema.clone(),
        );
        self.pg
            .run(move |pool| fetch_after(pool, county, centre, schema, applied, limit))
            .map_err(|e| describe(&e))
    }

    fn head(&mut self) -> std::result::Result<u64, String> {
        let (county, centre) = (self.county.clone(), self.centre.clone());
        self.pg
            .run(move |pool| async move {
                let client = pool.get().await.map_err(|e| describe(&e))?;
                let stmt = client
                    .prepare_cached("SELECT seq FROM fq_centres WHERE county = $1 AND centre = $2")
                    .await
                    .map_err(|e| describe(&e))?;
                let seq: i64 = client
                    .query_one(&stmt, &[&county, &centre])
                    .await
                    .map_err(|e| describe(&e))?
                    .get(0);
                Ok(seq as u64)
            })
            .map_err(|e| describe(&e))
    }
}
