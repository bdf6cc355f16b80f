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
    ServerDb::open(&config.database())
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
    let db = open(&config)?;
    let unit = UnitId::new(config.unit.clone());
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
            Some(tokio::spawn(crate::forward::run(
                state.clone(),
                parent,
                wake,
                Duration::from_millis(config.parent_poll_ms),
                Duration::from_millis(config.figures_every_ms),
            )))
        }
        _ => None,
    };
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
    tracing::info!("stopped");
    served
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
