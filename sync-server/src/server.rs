//! Running a centre's server. [`run`] is what `sync-server serve` does: it opens the data
//! directory the configuration names, starts forwarding to the parent if the server is linked,
//! and serves until `shutdown` completes. [`serve`] and [`serve_tls`] serve the
//! [`router`](crate::http::router) of a state on a listener until `shutdown` completes, letting
//! requests in flight finish; tests call them on `127.0.0.1:0`.

use crate::config::Config;
use crate::db::ServerDb;
use crate::error::{Error, Result};
use crate::http::{router, AppState};
use app_core::ids::UnitId;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// How long requests in flight may take to finish once a TLS server is told to stop.
const TLS_GRACE: Duration = Duration::from_secs(30);

/// Opens (or creates) the database in the configuration's data directory.
pub fn open(config: &Config) -> Result<ServerDb> {
    std::fs::create_dir_all(&config.data_dir).map_err(|error| Error::File {
        action: "create",
        path: config.data_dir.clone(),
        error,
    })?;
    match config.engine()? {
        crate::config::Engine::Sqlite => ServerDb::open(&config.store_path()),
        crate::config::Engine::Postgres { url, county } => {
            let (county, centre) = replica_of(config, &county)?;
            let pg = crate::pg::Postgres::connect(&url)?;
            ServerDb::open_shared(&config.store_path(), &pg, &county, &centre)
        }
    }
}

/// The file in a data directory that a serving process holds a shared lock on, and that
/// `migrate` locks alone: it copies the file as it is, and a write made meanwhile would be lost.
const SERVING: &str = "serving.lock";

/// A lock on a data directory's [`SERVING`] file, held as long as this value lives (the
/// system releases it when the process ends, however it ends).
#[derive(Debug)]
pub struct DirLock(#[allow(dead_code)] std::fs::File);

impl DirLock {
    fn file(dir: &std::path::Path) -> Result<std::fs::File> {
        std::fs::create_dir_all(dir).map_err(|error| Error::File {
            action: "create",
            path: dir.to_owned(),
            error,
        })?;
        let path = dir.join(SERVING);
        std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|error| Error::File {
                action: "open",
                path,
                error,
            })
    }

    /// Taken by a serving process: several may serve from one data directory, but not while
    /// a migration copies it.
    pub fn serving(dir: &std::path::Path) -> Result<DirLock> {
        DirLock::take(dir, true, || {
            format!(
                "{} is being migrated (`sync-server migrate` is running on it); serve once it \
                 has finished, with `database` set",
                dir.display()
            )
        })
    }

    /// Taken by `migrate`: refused while a server serves from the directory.
    pub fn alone(dir: &std::path::Path) -> Result<DirLock> {
        DirLock::take(dir, false, || {
            format!(
                "a server is serving from {}: stop it first (the migration copies the file as \
                 it is, and what devices sent meanwhile would be lost); nothing was copied",
                dir.display()
            )
        })
    }

    fn take(dir: &std::path::Path, shared: bool, busy: impl FnOnce() -> String) -> Result<DirLock> {
        let file = DirLock::file(dir)?;
        let taken = if shared {
            file.try_lock_shared()
        } else {
            file.try_lock()
        };
        match taken {
            Ok(()) => Ok(DirLock(file)),
            Err(std::fs::TryLockError::WouldBlock) => Err(Error::BadArgument(busy())),
            Err(std::fs::TryLockError::Error(error)) => Err(Error::File {
                action: "lock",
                path: dir.join(SERVING),
                error,
            }),
        }
    }
}

/// The file in a data directory that names the centre its replica follows.
const REPLICA_OF: &str = "replica-of";

/// The county and centre the replica in the data directory follows: as recorded there (so
/// that an admin command run on the data directory reaches the centre its server serves,
/// whatever `unit` says), or the configuration's, recorded now. A data directory follows one
/// centre for good.
fn replica_of(config: &Config, county: &str) -> Result<(String, String)> {
    let path = config.data_dir.join(REPLICA_OF);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let (c, u) = text.trim().split_once('/').ok_or_else(|| {
                Error::BadArgument(format!(
                    "{} should hold <county>/<centre>; delete the data directory's replica \
                     (replica.sqlite3 and {REPLICA_OF}) to follow the configuration's",
                    path.display()
                ))
            })?;
            if c != county {
                return Err(Error::BadArgument(format!(
                    "this data directory's replica follows {u} of county {c}, not county {county}; \
                     use another data directory for another county"
                )));
            }
            Ok((c.to_owned(), u.to_owned()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::write(&path, format!("{county}/{}\n", config.unit)).map_err(|error| {
                Error::File {
                    action: "write",
                    path: path.clone(),
                    error,
                }
            })?;
            Ok((county.to_owned(), config.unit.clone()))
        }
        Err(error) => Err(Error::File {
            action: "read",
            path,
            error,
        }),
    }
}

/// Serves `state` over HTTP on `listener` until `shutdown` completes, then lets the requests
/// in flight finish. Handlers see each client's address (enrolment's per-address limit).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(Error::Serve)
}

/// Serves `state` over HTTPS (rustls) on `listener` until `shutdown` completes; requests in
/// flight then have 30 seconds to finish.
pub async fn serve_tls(
    listener: std::net::TcpListener,
    tls: axum_server::tls_rustls::RustlsConfig,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    listener.set_nonblocking(true).map_err(Error::Serve)?;
    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        stopper.graceful_shutdown(Some(TLS_GRACE));
    });
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum_server::from_tcp_rustls(listener, tls)
        .handle(handle)
        .serve(app)
        .await
        .map_err(Error::Serve)
}

/// `sync-server serve`: the centre of `config.unit` (which must be in the directory), on
/// `config.listen` (HTTPS if `config.tls`), forwarding to the parent if linked, until
/// `shutdown` completes. Prints `serving <unit> on <url>` once it listens.
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let _serving = DirLock::serving(&config.data_dir)?;
    let db = open(&config)?;
    let unit = UnitId::new(config.unit.clone());
    let shared = db.shared.clone();
    if let Some(shared) = &shared {
        if shared.centre != config.unit {
            return Err(Error::BadArgument(format!(
                "this data directory's replica follows the centre {}, but `unit` is {}; use \
                 another data directory to serve {}",
                shared.centre, config.unit, config.unit
            )));
        }
    }
    if db.store.directory().unit(&unit).is_none() {
        return Err(Error::UnitNotServed(unit));
    }
    let parent = crate::forward::parent(&db)?;
    let wake = parent
        .as_ref()
        .map(|_| Arc::new(tokio::sync::Notify::new()));
    let state = Arc::new(AppState::build(
        db,
        unit.clone(),
        config.limits.sync(),
        config.limits.http(),
        wake.clone(),
    ));
    let forwarding = match (parent, wake) {
        (Some(parent), Some(wake)) => {
            println!(
                "forwarding escalations to {} at {}",
                parent.unit, parent.url
            );
            let poll = Duration::from_millis(config.parent_poll_ms);
            let figures_every = Duration::from_millis(config.figures_every_ms);
            Some(match shared.clone() {
                None => tokio::spawn(crate::forward::run(
                    state.clone(),
                    parent,
                    wake,
                    poll,
                    figures_every,
                )),
                Some(shared) => tokio::spawn(crate::forward::lead(
                    shared,
                    state.clone(),
                    parent,
                    wake,
                    poll,
                    figures_every,
                )),
            })
        }
        _ => None,
    };
    let heartbeat = shared.map(|shared| tokio::spawn(heartbeat(shared, state.clone())));
    let listen = config.listen;
    let cannot_listen = |error| Error::Listen {
        addr: listen,
        error,
    };
    let served = match &config.tls {
        None => {
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .map_err(cannot_listen)?;
            let addr = listener.local_addr().map_err(cannot_listen)?;
            println!("serving {unit} on http://{addr}");
            tracing::info!(%addr, "listening");
            serve(listener, state, shutdown).await
        }
        Some(tls) => {
            let _ = rustls::crypto::ring::default_provider().install_default();
            let rustls = axum_server::tls_rustls::RustlsConfig::from_pem_file(&tls.cert, &tls.key)
                .await
                .map_err(|error| Error::Tls {
                    cert: tls.cert.clone(),
                    key: tls.key.clone(),
                    error,
                })?;
            let listener = std::net::TcpListener::bind(listen).map_err(cannot_listen)?;
            let addr = listener.local_addr().map_err(cannot_listen)?;
            println!("serving {unit} on https://{addr}");
            tracing::info!(%addr, "listening (TLS)");
            serve_tls(listener, rustls, state, shutdown).await
        }
    };
    if let Some(forwarding) = forwarding {
        forwarding.abort();
    }
    if let Some(heartbeat) = heartbeat {
        heartbeat.abort();
    }
    tracing::info!("stopped");
    served
}

/// With several processes on PostgreSQL: says every [`crate::pg::HEARTBEAT`] that this
/// process serves the centre, and shares the centre-wide limits (enrolment attempts, from each
/// address and from everyone) among the processes alive. A device's own rate stays per
/// process: a balancer that keeps a client on one process keeps it exact.
async fn heartbeat(shared: crate::db::Shared, state: Arc<AppState>) {
    let process = format!("{}:{}", crate::pg::process_name(), crate::db::random_hex(4));
    loop {
        let (s, p) = (shared.clone(), process.clone());
        match tokio::task::spawn_blocking(move || s.pg.heartbeat(&s.county, &s.centre, &p)).await {
            Ok(Ok(n)) => {
                state
                    .processes
                    .store(n, std::sync::atomic::Ordering::Relaxed);
                state.enrol_all.share_among(n);
                state.enrol_by_client.share_among(n);
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "cannot tell the database this process serves")
            }
            Err(e) => tracing::warn!(error = %e, "heartbeat"),
        }
        tokio::time::sleep(crate::pg::HEARTBEAT).await;
    }
}

/// Completes on Ctrl-C or SIGTERM: the shutdown `sync-server serve` waits for.
pub async fn signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
