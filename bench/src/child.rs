//! What the child processes run: the system under test through the same library calls as the
//! `carebook` binary, and the read ceiling's minimal server.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use bytes::Bytes;
use carebook::system::{self, SystemConfig};
use platform::config::Service;
use platform::server::shutdown_signal;
use platform::telemetry::{LogFormat, init_logging};

#[derive(Debug, clap::Subcommand)]
pub enum Child {
    /// Every service and the gateway in one process, as `carebook up --no-demo-data`, but on
    /// the given loopback ports (`gateway=PORT,patients=PORT,…`).
    Embedded {
        #[arg(long)]
        ports: String,
    },
    /// One service or the gateway configured from the environment, as `carebook serve`.
    Serve { service: String },
    /// The read ceiling: `PATH=FILE` routes answering the file's bytes as JSON.
    Static {
        #[arg(long)]
        listen: String,
        #[arg(long = "route")]
        routes: Vec<String>,
    },
}

pub async fn run(child: Child) -> anyhow::Result<()> {
    match child {
        Child::Embedded { ports } => embedded(&ports).await,
        Child::Serve { service } => serve(&service).await,
        Child::Static { listen, routes } => serve_static(&listen, &routes).await,
    }
}

/// `carebook up`'s start-up, except that the ports are given.
async fn embedded(ports: &str) -> anyhow::Result<()> {
    init_logging(LogFormat::from_env(LogFormat::Pretty));
    let data_dir = platform::config::data_dir();
    let mut addresses = HashMap::new();
    for pair in ports.split(',') {
        let (name, port) = pair.split_once('=').context("ports are NAME=PORT")?;
        let service = Service::parse(name).context("unknown service in --ports")?;
        addresses.insert(service, SocketAddr::from(([127, 0, 0, 1], port.parse()?)));
    }
    // Exactly `carebook up`'s configuration, but for the addresses.
    let mut config = SystemConfig::from_env(data_dir)?;
    config.addresses = addresses;
    let running = system::start(config).await?;
    let token = running.shutdown_token();
    tokio::spawn(async move {
        shutdown_signal().await;
        token.cancel();
    });
    running.wait().await
}

/// `carebook serve <service>`.
async fn serve(name: &str) -> anyhow::Result<()> {
    init_logging(LogFormat::from_env(LogFormat::Json));
    let service = Service::parse(name).with_context(|| format!("unknown service {name}"))?;
    let listen = platform::config::var("CAREBOOK_LISTEN").context("CAREBOOK_LISTEN is unset")?;
    let data_dir: PathBuf = platform::config::data_dir();
    system::serve_one(service, data_dir, &listen, shutdown_signal()).await
}

/// The same server loop as every service (`platform::server::serve`: hyper through axum),
/// with none of their middleware, database or upstream calls.
async fn serve_static(listen: &str, routes: &[String]) -> anyhow::Result<()> {
    let mut router = Router::new().route("/health/live", get(|| async { "ok" }));
    for route in routes {
        let (path, file) = route.split_once('=').context("routes are PATH=FILE")?;
        let body = Bytes::from(std::fs::read(file)?);
        router = router.route(
            path,
            get(move || {
                let body = body.clone();
                async move { ([(CONTENT_TYPE, "application/json")], body) }
            }),
        );
    }
    let listener = tokio::net::TcpListener::bind(listen).await?;
    platform::server::serve(listener, router, shutdown_signal()).await?;
    Ok(())
}
