//! `sync-server`: serve a centre, and administer it (enrol and revoke devices, import the
//! directory, show figures). Every subcommand works on the same data directory.

use anyhow::Context;
use app_core::ids::{PersonId, UnitId};
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use sync_server::config::Config;
use sync_server::db::ServerDb;
use sync_server::http::{self, AppState};

#[derive(Parser, Debug)]
#[command(
    name = "sync-server",
    version,
    about = "The sync server of a comprehensive-governance centre"
)]
struct Cli {
    /// A TOML configuration file (defaults are embedded).
    #[arg(long, global = true, env = "FENGQIAO_CONFIG")]
    config: Option<PathBuf>,
    /// The data directory (overrides the configuration).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve devices over HTTP. On an empty data directory, loads the demo township and prints
    /// enrolment codes for two of its people (only then: a centre's own directory gets codes
    /// from `enrol`).
    Serve {
        /// The address to listen on, e.g. 0.0.0.0:8737.
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
    /// Create the database (with demo data and two demo enrolment codes, unless --empty).
    Init {
        #[arg(long)]
        empty: bool,
    },
    /// Import units from a CSV file: id,name,tier,parent,centre (header line first).
    ImportUnits { csv: PathBuf },
    /// Import people from a CSV file: id,name,unit,roles,specialties,phone (roles and
    /// specialties separated by `;`).
    ImportPeople { csv: PathBuf },
    /// Issue a one-time enrolment code for a person's device, or (--server UNIT) for the server
    /// of a lower tier that will forward its escalations here (valid for --hours).
    Enrol {
        #[arg(long, required_unless_present = "server", conflicts_with = "server")]
        person: Option<String>,
        #[arg(long)]
        server: Option<String>,
        #[arg(long, default_value_t = 72)]
        hours: i64,
    },
    /// Revoke a device: it can no longer sync.
    Revoke {
        #[arg(long)]
        device: String,
    },
    /// Link this server to its parent (the next tier's server), with a code the parent issued
    /// (`sync-server enrol --server <this unit>` on the parent). Escalations are then forwarded.
    Link {
        /// The parent's address, e.g. https://county.example:8737
        #[arg(long)]
        parent: String,
        #[arg(long)]
        code: String,
    },
    /// List enrolled devices.
    Devices,
    /// Print a unit's figures (the ledger) for the last --days days.
    Figures {
        #[arg(long)]
        unit: Option<String>,
        #[arg(long, default_value_t = 30)]
        days: i64,
        /// Print the figures as JSON instead of the ledger.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .with_writer(std::io::stderr)
        // Colours only on a terminal: a log file gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let mut config = Config::load(cli.config.as_deref())?;
    if let Some(d) = cli.data_dir {
        config.data_dir = d;
    }
    match cli.command {
        Command::Serve { listen } => {
            if let Some(l) = listen {
                config.listen = l;
            }
            serve(config)
        }
        Command::Init { empty } => {
            let mut db = open(&config)?;
            if !empty {
                first_start(&mut db, &config)?;
            }
            println!("database ready at {}", config.database().display());
            Ok(())
        }
        Command::ImportUnits { csv } => {
            let db = open(&config)?;
            let n = sync_server::admin::import_units(db, &csv)?;
            println!("imported {n} units");
            Ok(())
        }
        Command::ImportPeople { csv } => {
            let db = open(&config)?;
            let n = sync_server::admin::import_people(db, &csv)?;
            println!("imported {n} people");
            Ok(())
        }
        Command::Enrol {
            person,
            server,
            hours,
        } => {
            let mut db = open(&config)?;
            let principal = match (person, server) {
                (Some(p), _) => p,
                (None, Some(unit)) => format!("{}{unit}", sync_server::db::SERVER_PREFIX),
                (None, None) => anyhow::bail!("name --person or --server"),
            };
            let code = db.issue_code(
                &PersonId::new(principal.clone()),
                http::now_ms(),
                hours * 3_600_000,
            )?;
            println!("enrolment code for {principal}: {code} (valid {hours} hours, once)");
            Ok(())
        }
        Command::Revoke { device } => {
            let mut db = open(&config)?;
            db.revoke(&device, http::now_ms())?;
            println!("device {device} revoked");
            Ok(())
        }
        Command::Link { parent, code } => {
            let mut db = open(&config)?;
            let name = format!("{} 服务器", config.unit);
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let p = runtime.block_on(sync_server::forward::link(&mut db, &parent, &code, &name))?;
            println!("linked to the parent server of {} at {}", p.unit, p.url);
            Ok(())
        }
        Command::Devices => {
            use sync_server::terminal::escape;
            let db = open(&config)?;
            // Names are the devices' own words: escaped, so that one row stays one line.
            for d in db.devices()? {
                println!(
                    "{}\t{}\t{}\t{}",
                    escape(&d.id),
                    escape(&d.person),
                    escape(&d.name),
                    if d.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "active"
                    }
                );
            }
            Ok(())
        }
        Command::Figures { unit, days, json } => {
            if !(1..=36_500).contains(&days) {
                anyhow::bail!("--days must be 1 to 36500; got {days}");
            }
            let db = open(&config)?;
            let unit = UnitId::new(unit.unwrap_or(config.unit.clone()));
            let now = http::now_ms();
            if json {
                let report = db.store.figures(&unit, now - days * 86_400_000, now, now)?;
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!(
                    "{}",
                    app_core::ledger::render(&db.store, &unit, now, 10, days)?
                );
            }
            Ok(())
        }
    }
}

fn open(config: &Config) -> anyhow::Result<ServerDb> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create {}", config.data_dir.display()))?;
    ServerDb::open(&config.database())
}

/// On an empty database: the demo county, demo cases, and codes to enrol with (printed for a
/// grid worker of the township and one of its centre staff). Only here: a server whose
/// directory was imported, or that has loaded the demo before, mints no code of its own.
fn first_start(db: &mut ServerDb, config: &Config) -> anyhow::Result<()> {
    if db.store.directory().units().next().is_some() || config.demo_cases == 0 {
        return Ok(());
    }
    let unit = UnitId::new(config.unit.clone());
    let n = sync_server::load_demo(db, &unit, config.demo_cases, 2026, http::now_ms())?;
    tracing::info!(documents = n, unit = %unit, "demo data loaded");
    for person in sync_server::admin::demo_people(db, &unit) {
        let code = db.issue_code(&person, http::now_ms(), 72 * 3_600_000)?;
        println!("enrolment code for {person}: {code} (valid 72 hours, once)");
    }
    Ok(())
}

fn serve(config: Config) -> anyhow::Result<()> {
    let mut db = open(&config)?;
    first_start(&mut db, &config)?;
    let unit = UnitId::new(config.unit.clone());
    if db.store.directory().unit(&unit).is_none() {
        anyhow::bail!(
            "the unit {unit} is not in this server's directory; import units and people first, or set `unit`"
        );
    }
    let parent = sync_server::forward::parent(&db)?;
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
    let app = http::router(state.clone());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        if let (Some(parent), Some(wake)) = (parent, wake) {
            println!(
                "forwarding escalations to {} at {}",
                parent.unit, parent.url
            );
            tokio::spawn(sync_server::forward::run(
                state.clone(),
                parent,
                wake,
                std::time::Duration::from_millis(config.parent_poll_ms),
            ));
        }
        match &config.tls {
            None => {
                let listener = tokio::net::TcpListener::bind(config.listen)
                    .await
                    .with_context(|| format!("cannot listen on {}", config.listen))?;
                let addr = listener.local_addr()?;
                println!("serving {unit} on http://{addr}");
                tracing::info!(%addr, "listening");
                // The client's address, for enrolment's per-address limit.
                axum::serve(
                    listener,
                    app.into_make_service_with_connect_info::<SocketAddr>(),
                )
                .with_graceful_shutdown(shutdown())
                .await?;
            }
            Some(tls) => {
                let _ = rustls::crypto::ring::default_provider().install_default();
                let rustls =
                    axum_server::tls_rustls::RustlsConfig::from_pem_file(&tls.cert, &tls.key)
                        .await
                        .with_context(|| {
                            format!(
                                "cannot read the TLS certificate {} or key {}",
                                tls.cert.display(),
                                tls.key.display()
                            )
                        })?;
                let listener = std::net::TcpListener::bind(config.listen)
                    .with_context(|| format!("cannot listen on {}", config.listen))?;
                listener.set_nonblocking(true)?;
                let addr = listener.local_addr()?;
                let handle = axum_server::Handle::new();
                let stopper = handle.clone();
                tokio::spawn(async move {
                    shutdown().await;
                    stopper.graceful_shutdown(Some(std::time::Duration::from_secs(30)));
                });
                println!("serving {unit} on https://{addr}");
                tracing::info!(%addr, "listening (TLS)");
                axum_server::from_tcp_rustls(listener, rustls)
                    .handle(handle)
                    .serve(app.into_make_service_with_connect_info::<SocketAddr>())
                    .await?;
            }
        }
        tracing::info!("stopped");
        anyhow::Ok(())
    })
}

async fn shutdown() {
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
