//! `sync-server`: serve a centre, and administer it (enrol and revoke devices, import the
//! directory, show figures, load the demo). Every subcommand works on the same data directory.
//! This file only reads the arguments and the configuration, and calls the library.

use app_core::ids::{PersonId, UnitId};
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use sync_server::config::Config;
use sync_server::http;

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
    /// Serve devices over HTTP (HTTPS with `tls` configured). The served unit must be in the
    /// directory: import it, or load the demo first.
    Serve {
        /// The address to listen on, e.g. 0.0.0.0:8737.
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
    /// Create the database, empty (then import units and people).
    Init {
        /// Accepted for older scripts: `init` always creates an empty database now.
        #[arg(long, hide = true)]
        empty: bool,
    },
    /// Load the demo county (台山市, realistic cases, households and visits) into an empty data
    /// directory, and print enrolment codes for a grid worker and a centre staff member of the
    /// served unit. A directory already set up is left as it is. Only in a build with the
    /// `demo` feature (`cargo build -p sync-server --features demo`).
    Demo {
        /// Demo cases of the served unit (default: the configuration's `demo_cases`).
        #[arg(long)]
        cases: Option<usize>,
    },
    /// Import units from a CSV file: id,name,tier,parent,centre (header line first).
    ImportUnits { csv: PathBuf },
    /// Import people from a CSV file: id,name,unit,roles,specialties,phone (roles and
    /// specialties separated by `;`).
    ImportPeople { csv: PathBuf },
    /// Set a unit's early-warning rules (风险预警规则) from a TOML file, or print the rules in
    /// force for it when no file is given. A file with an error is refused, its line named,
    /// and the rules in force stay.
    WarningRules {
        #[arg(long)]
        unit: String,
        file: Option<PathBuf>,
    },
    /// Print the early-warning alerts (风险预警) the unit's rules raise over the cases this
    /// server holds, as its centre's desks compute them.
    Alerts {
        #[arg(long)]
        unit: Option<String>,
    },
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
    /// Copy this data directory's centre (its SQLite file; refused while a server serves from
    /// it) into a PostgreSQL database, then verify the copy: a replica built from the database
    /// alone must hold every document with the same heads, every device, cursor and forwarding
    /// state, and every row. Then set `database` (and `county`) in the configuration and start
    /// the processes (docs/scaling.md).
    Migrate {
        /// The database, postgres://user:password@host:port/database.
        #[arg(long)]
        to: String,
        /// The county the centre belongs to (default: the configuration's `county`).
        #[arg(long)]
        county: Option<String>,
    },
    /// List enrolled devices.
    Devices,
    /// Issue a credential for another system (the 12345 platform, police linkage) to dispatch
    /// work orders (docs/intake.md). The person must hold the role `intake`. Prints the bearer
    /// token once; revoke it with `revoke --device`.
    IntegratorAdd {
        #[arg(long)]
        person: String,
        /// The units it may dispatch to, comma-separated (within the person's unit).
        #[arg(long, value_delimiter = ',')]
        units: Vec<String>,
        /// Where its orders come from: hotline_12345 or police.
        #[arg(long, default_value = "hotline_12345")]
        source: String,
    },
    /// List the integrator credentials.
    Integrators,
    /// Write a unit's ledger (台账) for a period as an XLSX workbook: every case reported in
    /// it, the figures by category, village and month, the overdue cases. Logged as the
    /// operator's export.
    Ledger {
        /// The unit (the server's own by default).
        #[arg(long)]
        unit: Option<String>,
        /// The first day, YYYY-MM-DD (by default the first of --to's month).
        #[arg(long)]
        from: Option<String>,
        /// The last day, YYYY-MM-DD, included (by default today).
        #[arg(long)]
        to: Option<String>,
        /// Where to write the workbook.
        #[arg(long)]
        out: std::path::PathBuf,
        /// Show parties' ID numbers whole (masked by default).
        #[arg(long)]
        full_ids: bool,
    },
    /// Print a resolved case's mediation agreement (人民调解协议书), or with --application the
    /// parties' application for its judicial confirmation (司法确认申请书), as PDF. Logged as
    /// the operator's export.
    Agreement {
        /// The case's id.
        #[arg(long)]
        case: String,
        /// Where to write the PDF.
        #[arg(long)]
        out: std::path::PathBuf,
        /// The application for judicial confirmation instead of the agreement.
        #[arg(long)]
        application: bool,
        /// Show parties' ID numbers whole (masked by default).
        #[arg(long)]
        full_ids: bool,
    },
    /// Write a periodic report (每周研判、每月通报、每季总结) of the week, month or quarter
    /// holding --date, as XLSX or PDF (by --out's extension). Logged as the operator's export.
    Report {
        /// weekly, monthly or quarterly.
        #[arg(long)]
        kind: String,
        /// The unit (the server's own by default).
        #[arg(long)]
        unit: Option<String>,
        /// A day of the week, month or quarter, YYYY-MM-DD (by default today).
        #[arg(long)]
        date: Option<String>,
        /// Where to write the report: a .xlsx or .pdf file.
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// List the exports of ledgers and reports: who, what, when.
    Exports {
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
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
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            runtime.block_on(sync_server::run(config, sync_server::server::signal()))?;
        }
        Command::Migrate { to, county } => {
            let county = county
                .or(config.county.clone())
                .ok_or_else(|| sync_server::Error::BadArgument(
                    "name the county the centre belongs to: --county <code> (or `county` in the configuration)".to_owned(),
                ))?;
            let _alone = sync_server::server::DirLock::alone(&config.data_dir)?;
            let pg = sync_server::pg::Postgres::connect(&to)?;
            let source = config.data_dir.join("server.sqlite3");
            let replica = config.data_dir.join("replica.sqlite3");
            let m =
                sync_server::migrate::to_postgres(&source, &pg, &county, &config.unit, &replica)?;
            std::fs::write(
                config.data_dir.join("replica-of"),
                format!("{county}/{}\n", config.unit),
            )?;
            println!(
                "copied {} rows of {} tables into {} entries of {}'s log",
                m.tables.values().sum::<usize>(),
                m.tables.len(),
                m.entries,
                config.unit
            );
            println!(
                "verified from the database alone: {} documents with the same heads, {} devices, \
                 cursors up to {}, {} rows of forwarding state, every row of every table",
                m.documents, m.devices, m.cursor, m.forwarding
            );
            println!(
                "now set database and county = \"{county}\" in the configuration (FENGQIAO_DATABASE, FENGQIAO_COUNTY); \
                 {} is no longer read",
                source.display()
            );
        }
        Command::Init { empty: _ } => {
            sync_server::open(&config)?;
            println!("database ready at {}", config.store_path().display());
        }
        Command::Demo { cases } => {
            let mut db = sync_server::open(&config)?;
            let unit = UnitId::new(config.unit.clone());
            let cases = cases.unwrap_or(config.demo_cases);
            match sync_server::demo::seed(&mut db, &unit, cases, http::now_ms())? {
                Some(seeded) => {
                    tracing::info!(documents = seeded.documents, unit = %unit, "demo data loaded");
                    for (person, code) in seeded.codes {
                        println!("enrolment code for {person}: {code} (valid 72 hours, once)");
                    }
                    println!(
                        "the 12345 hotline's bearer token (POST /v1/intake/work-orders, docs/intake.md): {}",
                        seeded.hotline_token
                    );
                }
                None => println!("the directory is set up already: no demo loaded"),
            }
            println!("database ready at {}", config.store_path().display());
        }
        Command::ImportUnits { csv } => {
            let n = sync_server::admin::import_units(sync_server::open(&config)?, &csv)?;
            println!("imported {n} units");
        }
        Command::ImportPeople { csv } => {
            let n = sync_server::admin::import_people(sync_server::open(&config)?, &csv)?;
            println!("imported {n} people");
        }
        Command::Alerts { unit } => {
            let db = sync_server::open(&config)?;
            let unit = UnitId::new(unit.unwrap_or(config.unit.clone()));
            print!(
                "{}",
                sync_server::admin::alerts(&db, &unit, http::now_ms())?
            );
        }
        Command::WarningRules { unit, file } => {
            let unit = UnitId::new(unit);
            match file {
                Some(file) => {
                    let n = sync_server::admin::set_warning_rules(
                        sync_server::open(&config)?,
                        &unit,
                        &file,
                    )?;
                    println!("{n} warning rules in force for {unit}");
                }
                None => print!(
                    "{}",
                    sync_server::admin::warning_rules(&sync_server::open(&config)?, &unit)?
                ),
            }
        }
        Command::Enrol {
            person,
            server,
            hours,
        } => {
            let mut db = sync_server::open(&config)?;
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
        }
        Command::Revoke { device } => {
            sync_server::open(&config)?.revoke(&device, http::now_ms())?;
            println!("device {device} revoked");
        }
        Command::Link { parent, code } => {
            let mut db = sync_server::open(&config)?;
            let name = format!("{} 服务器", config.unit);
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let p = runtime.block_on(sync_server::forward::link(&mut db, &parent, &code, &name))?;
            println!("linked to the parent server of {} at {}", p.unit, p.url);
        }
        Command::Devices => {
            use sync_server::terminal::escape;
            // Names are the devices' own words: escaped, so that one row stays one line.
            for d in sync_server::open(&config)?.devices()? {
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
        }
        Command::IntegratorAdd {
            person,
            units,
            source,
        } => {
            let source = app_core::model::Source::from_code(&source)
                .filter(|s| s.is_intake())
                .ok_or_else(|| {
                    anyhow::anyhow!("--source must be hotline_12345 or police; got {source}")
                })?;
            let units: Vec<UnitId> = units
                .iter()
                .map(|u| u.trim())
                .filter(|u| !u.is_empty())
                .map(UnitId::new)
                .collect();
            let mut db = sync_server::open(&config)?;
            let (device, token) = db.add_integrator(
                &PersonId::new(person.clone()),
                &units,
                source,
                http::now_ms(),
            )?;
            println!("integrator {device} for {person}; its bearer token (shown once):");
            println!("{token}");
        }
        Command::Integrators => {
            use sync_server::terminal::escape;
            for i in sync_server::open(&config)?.integrators()? {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    escape(&i.device),
                    escape(&i.person),
                    escape(&i.source),
                    escape(&i.units),
                    if i.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "active"
                    }
                );
            }
        }
        Command::Ledger {
            unit,
            from,
            to,
            out,
            full_ids,
        } => {
            let mut db = sync_server::open(&config)?;
            let unit = UnitId::new(unit.unwrap_or(config.unit.clone()));
            let now = http::now_ms();
            let req = sync_server::paperwork::operator_request(
                db.store.directory(),
                unit,
                from.as_deref(),
                to.as_deref(),
                full_ids,
                now,
            )?;
            let file = sync_server::paperwork::write(
                db.store.path(),
                db.store.directory_shared(),
                db.store.taxonomy(),
                &req,
                now,
            )?;
            std::fs::write(&out, &file.bytes)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", out.display()))?;
            sync_server::paperwork::log(&mut db, &req, &file, now)?;
            println!(
                "{}: the ledger of {} for {} to {}: {} cases, {} overdue now, {} bytes{}",
                out.display(),
                req.unit,
                req.period.first,
                req.period.last,
                file.cases,
                file.overdue,
                file.bytes.len(),
                if full_ids { " (ID numbers whole)" } else { "" }
            );
        }
        Command::Agreement {
            case,
            out,
            application,
            full_ids,
        } => {
            use sync_server::paperwork::{self as paper, CaseDocumentKind};
            let mut db = sync_server::open(&config)?;
            let kind = if application {
                CaseDocumentKind::JudicialApplication
            } else {
                CaseDocumentKind::Agreement
            };
            let disclosure = if full_ids {
                app_core::paperwork::IdDisclosure::Full
            } else {
                app_core::paperwork::IdDisclosure::Masked
            };
            let doc = paper::print_case_document(&db, &case, kind, disclosure)?;
            std::fs::write(&out, &doc.bytes)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", out.display()))?;
            paper::log_document(&mut db, paper::OPERATOR, None, &doc, http::now_ms())?;
            println!(
                "{}: {} of case {case} ({}), {} bytes",
                out.display(),
                kind.zh(),
                doc.file_name,
                doc.bytes.len()
            );
        }
        Command::Report {
            kind,
            unit,
            date,
            out,
        } => {
            use sync_server::paperwork as paper;
            let mut db = sync_server::open(&config)?;
            let unit = UnitId::new(unit.unwrap_or(config.unit.clone()));
            let now = http::now_ms();
            let file = format!(
                "{kind}.{}",
                out.extension().and_then(|e| e.to_str()).unwrap_or("")
            );
            let (kind, format) = paper::report_file(&file)?;
            let mut req =
                paper::operator_request(db.store.directory(), unit, None, None, false, now)?;
            req.period =
                paper::report_period(db.store.directory(), &req.unit, kind, date.as_deref(), now)?;
            let (bytes, cases) = paper::write_report(
                db.store.path(),
                db.store.directory_shared(),
                db.store.taxonomy(),
                &req,
                kind,
                format,
                now,
            )?;
            std::fs::write(&out, &bytes)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", out.display()))?;
            paper::log_report(&mut db, &req, kind, cases, now)?;
            println!(
                "{}: {} of {} for {} to {}: {} cases, {} bytes",
                out.display(),
                kind.zh(),
                req.unit,
                req.period.first,
                req.period.last,
                cases,
                bytes.len()
            );
        }
        Command::Exports { limit } => {
            let db = sync_server::open(&config)?;
            let local = db
                .store
                .directory()
                .policy(&UnitId::new(config.unit.clone()))
                .local();
            for e in sync_server::paperwork::exports(&db, limit)? {
                println!(
                    "{}  {:<24} {:<8} {:<10} {} to {}  {} cases  ids {}{}",
                    local.datetime(e.at).format("%Y-%m-%d %H:%M:%S"),
                    e.person,
                    e.kind,
                    e.unit,
                    e.first_day,
                    e.last_day,
                    e.cases,
                    e.ids,
                    e.subject.map(|c| format!("  case {c}")).unwrap_or_default()
                        + &e.device
                            .map(|d| format!("  device {d}"))
                            .unwrap_or_default()
                );
            }
        }
        Command::Figures { unit, days, json } => {
            if !(1..=36_500).contains(&days) {
                anyhow::bail!("--days must be 1 to 36500; got {days}");
            }
            let db = sync_server::open(&config)?;
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
        }
    }
    Ok(())
}
