//! Starting services: all of them in one process for the embedded mode and tests, or one.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use platform::config::{ClinicConfig, DatabaseUrl, Service};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// What `up` needs to know; everything else has embedded-mode defaults.
#[derive(Debug, Clone)]
pub struct SystemConfig {
    pub data_dir: PathBuf,
    /// Per-service database URL; a service without one gets a SQLite file in `data_dir`.
    pub database_urls: HashMap<Service, String>,
    pub clinic: ClinicConfig,
    /// Address of each listener; port 0 picks a free one.
    pub addresses: HashMap<Service, SocketAddr>,
}

impl SystemConfig {
    /// The embedded defaults: API.md's ports on loopback (the gateway from `CAREBOOK_LISTEN`).
    pub fn from_env(data_dir: PathBuf) -> anyhow::Result<Self> {
        let mut addresses: HashMap<Service, SocketAddr> = ALL
            .iter()
            .map(|s| (*s, SocketAddr::from(([127, 0, 0, 1], s.default_port()))))
            .collect();
        if let Some(listen) = platform::config::var("CAREBOOK_LISTEN") {
            let addr = listen
                .parse()
                .context("CAREBOOK_LISTEN is not an address")?;
            addresses.insert(Service::Gateway, addr);
        }
        let database_urls = Service::BACKENDS
            .iter()
            .map(|s| (*s, s.database_url(&data_dir).as_str().to_owned()))
            .collect();
        Ok(Self {
            data_dir,
            database_urls,
            clinic: ClinicConfig::from_env()?,
            addresses,
        })
    }
}

const ALL: [Service; 4] = [
    Service::Gateway,
    Service::Patients,
    Service::Doctors,
    Service::Appointments,
];

/// A running set of services; dropping it does not stop them, `shutdown` does.
pub struct RunningSystem {
    pub addresses: HashMap<Service, SocketAddr>,
    shutdown: CancellationToken,
    tasks: JoinSet<std::io::Result<()>>,
}

impl RunningSystem {
    pub fn url(&self, service: Service) -> String {
        format!("http://{}", self.addresses[&service])
    }

    /// Completes when every server stopped (after `shutdown`) or one failed.
    pub async fn wait(mut self) -> anyhow::Result<()> {
        while let Some(joined) = self.tasks.join_next().await {
            joined
                .context("server task panicked")?
                .context("server failed")?;
        }
        Ok(())
    }

    pub fn shutdown(&self) {
        self.shutdown.cancel();
    }

    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }
}

/// Binds every listener first (so each service knows where the others really are), then
/// builds and serves each service.
pub async fn start(config: SystemConfig) -> anyhow::Result<RunningSystem> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create {}", config.data_dir.display()))?;
    let mut listeners = HashMap::new();
    let mut addresses = HashMap::new();
    for service in ALL {
        let addr = config.addresses[&service];
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr} for the {service} service"))?;
        addresses.insert(service, listener.local_addr()?);
        listeners.insert(service, listener);
    }
    let url = |s: Service| vec![format!("http://{}", addresses[&s])];
    let db = |s: Service| match config.database_urls.get(&s) {
        Some(url) => DatabaseUrl::from(url.clone()),
        None => s.database_url(&config.data_dir),
    };
    let timeout = Duration::from_secs(5);
    let apps: [(Service, Router); 4] = [
        (
            Service::Patients,
            patients::app(patients::Config {
                database_url: db(Service::Patients),
                appointments_urls: url(Service::Appointments),
                clinic: config.clinic.clone(),
                call_timeout: timeout,
            })
            .await?,
        ),
        (
            Service::Doctors,
            doctors::app(doctors::Config {
                database_url: db(Service::Doctors),
                appointments_urls: url(Service::Appointments),
                clinic: config.clinic.clone(),
                call_timeout: timeout,
            })
            .await?,
        ),
        (
            Service::Appointments,
            appointments::app(appointments::Config {
                database_url: db(Service::Appointments),
                patients_urls: url(Service::Patients),
                doctors_urls: url(Service::Doctors),
                clinic: config.clinic.clone(),
                call_timeout: timeout,
            })
            .await?,
        ),
        (
            Service::Gateway,
            gateway::router(gateway::GatewayConfig {
                upstreams: Service::BACKENDS.iter().map(|s| (*s, url(*s))).collect(),
                max_body_bytes: 1024 * 1024,
                upstream_timeout: Duration::from_secs(10),
                openapi: crate::openapi(),
            }),
        ),
    ];
    let shutdown = CancellationToken::new();
    let mut tasks = JoinSet::new();
    for (service, app) in apps {
        let listener = listeners.remove(&service).context("listener bound above")?;
        tasks.spawn(platform::server::serve(
            listener,
            app,
            shutdown.clone().cancelled_owned(),
        ));
    }
    Ok(RunningSystem {
        addresses,
        shutdown,
        tasks,
    })
}

/// Builds one service (or the gateway) from the environment, for `carebook serve`.
pub async fn service_app(service: Service, data_dir: PathBuf) -> anyhow::Result<Router> {
    Ok(match service {
        Service::Patients => patients::app(patients::Config::from_env(&data_dir)?).await?,
        Service::Doctors => doctors::app(doctors::Config::from_env(&data_dir)?).await?,
        Service::Appointments => {
            appointments::app(appointments::Config::from_env(&data_dir)?).await?
        }
        Service::Gateway => gateway::router(gateway::GatewayConfig::from_env(crate::openapi())?),
    })
}

/// Brings every service's database schema up to date, for `carebook migrate`.
pub async fn migrate(data_dir: PathBuf) -> anyhow::Result<()> {
    std::fs::create_dir_all(&data_dir)?;
    for (service, migrations) in [
        (Service::Patients, &patients::MIGRATIONS),
        (Service::Doctors, &doctors::MIGRATIONS),
        (Service::Appointments, &appointments::MIGRATIONS),
    ] {
        let db = platform::db::Db::open(service.database_url(&data_dir).as_str(), migrations)
            .await
            .with_context(|| format!("migrating the {service} database"))?;
        db.close().await;
        tracing::info!(%service, "schema up to date");
    }
    Ok(())
}
