//! `carebook`: run every service in one process (`up`, the default), one service (`serve`),
//! the migrations (`migrate`), seed the demo clinic (`demo-data`), or check a process's
//! health (`health`).

use std::path::PathBuf;

use anyhow::Context;
use carebook::system::{self, SystemConfig};
use clap::{Parser, Subcommand};
use platform::config::Service;
use platform::server::{StartGate, shutdown_signal};
use platform::telemetry::{self, LogFormat, SpanExport};

#[derive(Debug, Parser)]
#[command(version, about = "carebook: healthcare appointment scheduling")]
struct Cli {
    /// Where the embedded mode keeps its SQLite files.
    #[arg(
        long,
        global = true,
        env = "CAREBOOK_DATA_DIR",
        default_value = "carebook-data"
    )]
    data_dir: PathBuf,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Every service and the gateway in one process, each on its own port (the default).
    Up {
        /// Do not seed the demo clinic into an empty system.
        #[arg(long)]
        no_demo_data: bool,
    },
    /// One service (identity, patients, doctors, appointments, notifications, billing, records, analytics) or the gateway, configured from the environment.
    Serve { service: String },
    /// Bring every service's database schema up to date, then exit.
    Migrate,
    /// Add a new token-signing key to the identity database (see the README's key rotation).
    RotateSigningKey,
    /// Add a new records data key and re-seal every record and file under it (see the README's
    /// key management); the records service may keep running.
    RotateRecordsKey,
    /// Exit 0 if URL (default: this process's own `/health/ready`, at `CAREBOOK_LISTEN`)
    /// answers 2xx: the container health check.
    Health { url: Option<String> },
    /// Build the analytics read models again from every service's outbox history (the
    /// analytics service may keep running).
    AnalyticsRebuild,
    /// Seed the demo clinic through a running gateway (skipped when doctors exist).
    DemoData {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        gateway: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Databases and keys are for this user's eyes only, whoever creates them.
    platform::files::restrict_umask();
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Up {
        no_demo_data: false,
    });
    let (default_format, service_name) = match &command {
        Command::Serve { service } => (LogFormat::Json, service.as_str()),
        _ => (LogFormat::Pretty, "carebook"),
    };
    let _telemetry = telemetry::init(
        LogFormat::from_env(default_format),
        SpanExport::FromEnv,
        service_name,
    );
    for name in platform::config::unknown_vars() {
        tracing::warn!(variable = %name, "unknown CAREBOOK_ variable ignored");
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    match command {
        Command::Up { no_demo_data } => up(cli.data_dir, !no_demo_data).await,
        Command::Serve { service } => serve(&service, cli.data_dir).await,
        Command::Migrate => system::migrate(cli.data_dir).await,
        Command::RotateSigningKey => {
            let mut config = identity::Config::from_env(&cli.data_dir)?;
            if config.master_key.is_none() {
                config.master_key = identity::MasterKey::load(&cli.data_dir)?;
            }
            let kid = identity::rotate_signing_key(&config).await?;
            println!("new signing key {kid}: published now, signing within a minute");
            Ok(())
        }
        Command::RotateRecordsKey => {
            let config = records::Config::from_env(&cli.data_dir)?;
            let done = records::rotate_key(&config).await?;
            println!(
                "records key {}: {} texts and {} files re-sealed",
                done.key_id, done.texts, done.files
            );
            Ok(())
        }
        Command::Health { url } => carebook::health::check(url).await,
        Command::AnalyticsRebuild => {
            let rebuilt = system::rebuild_analytics(cli.data_dir).await?;
            for (service, events) in &rebuilt.events {
                println!("{service}: {events} events replayed");
            }
            println!("analytics read models rebuilt");
            Ok(())
        }
        Command::DemoData { gateway } => {
            let zone = platform::config::ClinicConfig::from_env()?.timezone;
            let admin = SystemConfig::from_env(cli.data_dir)?.admin.context(
                "set CAREBOOK_ADMIN_EMAIL and CAREBOOK_ADMIN_PASSWORD to seed as that admin",
            )?;
            let accounts = carebook::demo::seed(&gateway, &zone, (&admin.0, &admin.1)).await?;
            print_demo_accounts(&accounts, "(CAREBOOK_ADMIN_PASSWORD)");
            Ok(())
        }
    }
}

async fn up(data_dir: PathBuf, demo_data: bool) -> anyhow::Result<()> {
    let mut config = SystemConfig::from_env(data_dir)?;
    let zone = config.clinic.timezone.clone();
    if demo_data && config.admin.is_none() {
        let (email, password) = carebook::demo::DEMO_ADMIN;
        config.admin = Some((email.to_owned(), password.to_owned()));
    }
    let admin = config.admin.clone();
    // Seeding goes through the gateway, so it serves before it is ready: a script waiting for
    // readiness must see the demo clinic's ids.
    if demo_data {
        config.start_gate = StartGate::closed("The demo clinic is being seeded.");
    }
    let seeded = config.start_gate.clone();
    let running = system::start(config).await?;
    let gateway = running.url(Service::Gateway);
    if let (true, Some((email, password))) = (demo_data, &admin) {
        let accounts = carebook::demo::seed(&gateway, &zone, (email, password)).await?;
        seeded.release();
        let shown = if (email.as_str(), password.as_str()) == carebook::demo::DEMO_ADMIN {
            password.as_str()
        } else {
            "(CAREBOOK_ADMIN_PASSWORD)"
        };
        print_demo_accounts(&accounts, shown);
    }
    tracing::info!(%gateway, docs = %format!("{gateway}/docs"), "carebook is up");
    let token = running.shutdown_token();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down");
        token.cancel();
    });
    running.wait().await
}

async fn serve(name: &str, data_dir: PathBuf) -> anyhow::Result<()> {
    let service = Service::parse(name).with_context(|| {
        format!("unknown service `{name}` (expected gateway, identity, patients, doctors, appointments, notifications, billing, records or analytics)")
    })?;
    let listen = platform::config::var("CAREBOOK_LISTEN")
        .unwrap_or_else(|| format!("0.0.0.0:{}", service.default_port()));
    system::serve_one(service, data_dir, &listen, shutdown_signal()).await
}

/// Demo credentials go to standard output for whoever started the demo; never to the logs.
fn print_demo_accounts(accounts: &[carebook::demo::DemoAccount], admin_password: &str) {
    if accounts.is_empty() {
        return;
    }
    println!("\nDemo clinic seeded. Sign in with POST /api/auth/login:");
    for account in accounts {
        let password = if account.role == "ADMIN" {
            admin_password
        } else {
            account.password
        };
        println!("  {:<8} {:<36} {}", account.role, account.email, password);
    }
    println!();
}
