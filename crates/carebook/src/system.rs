//! Starting services: all of them in one process for the embedded mode and tests, or one.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use platform::client::in_process;
use platform::config::{ClinicConfig, DatabaseUrl, Service};
use platform::events::EventBus;
use platform::server::{ShutdownPlan, StartGate};
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
    /// The bootstrap admin `(email, password)`, created on an empty identity database.
    pub admin: Option<(String, String)>,
    /// RabbitMQ (`CAREBOOK_AMQP_URL`); `None` runs the in-process event bus.
    pub amqp_url: Option<String>,
    /// Services that run elsewhere, at these URLs: not started here.
    pub external: HashMap<Service, Vec<String>>,
    /// Adjusts the notification service's configuration (tests point it at their SMTP server).
    pub notifications_hook: Option<NotificationsHook>,
    /// The billing service's price list instead of the one of `CAREBOOK_BILLING_*` (tests).
    pub billing_prices: Option<billing::PriceList>,
    /// Card payments through this provider instead of `CAREBOOK_PAYMENTS_*` (tests).
    pub billing_payments: Option<billing::PaymentsConfig>,
    /// The secret services exchange for their own tokens; `up` makes a random one per run
    /// when `CAREBOOK_SERVICE_SECRET` is unset (every service is in this process).
    pub service_secret: String,
    /// Held closed by `up` while it seeds the demo clinic: the gateway is not ready until then.
    pub start_gate: StartGate,
}

impl SystemConfig {
    /// The embedded defaults: API.md's ports on loopback (the gateway from `CAREBOOK_LISTEN`;
    /// the others free ones with `CAREBOOK_SERVICE_PORTS=any`).
    pub fn from_env(data_dir: PathBuf) -> anyhow::Result<Self> {
        let any_port = match platform::config::var("CAREBOOK_SERVICE_PORTS").as_deref() {
            None | Some("fixed") => false,
            Some("any") => true,
            Some(_) => anyhow::bail!("CAREBOOK_SERVICE_PORTS must be `fixed` or `any`"),
        };
        let mut addresses: HashMap<Service, SocketAddr> = ALL
            .iter()
            .map(|s| {
                let port = if any_port { 0 } else { s.default_port() };
                (*s, SocketAddr::from(([127, 0, 0, 1], port)))
            })
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
        let admin = match (
            platform::config::var("CAREBOOK_ADMIN_EMAIL"),
            platform::config::var("CAREBOOK_ADMIN_PASSWORD"),
        ) {
            (Some(email), Some(password)) => Some((email, password)),
            _ => None,
        };
        let service_secret = match platform::config::var("CAREBOOK_SERVICE_SECRET") {
            Some(secret) => {
                platform::auth::check_service_secret(&secret)?;
                secret
            }
            None => random_secret(),
        };
        Ok(Self {
            data_dir,
            database_urls,
            clinic: ClinicConfig::from_env()?,
            addresses,
            admin,
            amqp_url: platform::config::var("CAREBOOK_AMQP_URL"),
            external: HashMap::new(),
            notifications_hook: None,
            billing_prices: None,
            billing_payments: None,
            service_secret,
            start_gate: StartGate::open(),
        })
    }
}

/// A change to the notification service's configuration, applied last.
#[derive(Clone)]
pub struct NotificationsHook(pub Arc<dyn Fn(&mut notifications::Config) + Send + Sync>);

impl std::fmt::Debug for NotificationsHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NotificationsHook")
    }
}

const ALL: [Service; 10] = [
    Service::Gateway,
    Service::Patients,
    Service::Doctors,
    Service::Appointments,
    Service::Notifications,
    Service::Identity,
    Service::Billing,
    Service::Records,
    Service::Analytics,
    Service::Web,
];

/// A running set of services; dropping it does not stop them, `shutdown` does.
pub struct RunningSystem {
    pub addresses: HashMap<Service, SocketAddr>,
    /// The system's event bus (in-process, or its RabbitMQ connection).
    pub bus: EventBus,
    gateway_scheme: &'static str,
    shutdown: CancellationToken,
    tasks: JoinSet<std::io::Result<()>>,
}

impl RunningSystem {
    pub fn url(&self, service: Service) -> String {
        let scheme = match service {
            Service::Gateway => self.gateway_scheme,
            _ => "http",
        };
        format!("{scheme}://{}", self.addresses[&service])
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
/// builds and serves each service that does not run elsewhere.
pub async fn start(config: SystemConfig) -> anyhow::Result<RunningSystem> {
    platform::files::private_dir(&config.data_dir)?;
    let mut listeners = HashMap::new();
    let mut addresses = HashMap::new();
    for service in ALL.into_iter().filter(|s| !config.external.contains_key(s)) {
        let addr = config.addresses[&service];
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr} for the {service} service"))?;
        addresses.insert(service, listener.local_addr()?);
        listeners.insert(service, listener);
    }
    let urls = |s: Service| match config.external.get(&s) {
        Some(urls) => urls.clone(),
        None => vec![format!("http://{}", addresses[&s])],
    };
    let shutdown = CancellationToken::new();
    let bus = EventBus::new(config.amqp_url.as_deref(), contracts::events::TOPOLOGY);
    let mut gateway = gateway::GatewayConfig::from_env(crate::OPENAPI_JSON)?;
    gateway.upstreams = Service::BACKENDS.iter().map(|s| (*s, urls(*s))).collect();
    gateway.start_gate = config.start_gate.clone();
    // The web app in this process calls the API over loopback for its users: their own
    // addresses, which it forwards, are what the rate limits count.
    gateway
        .trusted_proxies
        .extend(gateway::TrustedProxies::loopback());
    let tls = gateway.tls.clone();
    let mut apps = Vec::new();
    for service in Service::BACKENDS {
        if listeners.contains_key(&service) {
            apps.push((
                service,
                app(service, &config, &urls, &bus, &shutdown).await?,
            ));
        }
    }
    // The services of this process take the gateway's and each other's requests without a
    // loopback socket (registered below, with their listeners); they still listen for the web
    // app and anyone calling them directly.
    gateway.in_process = apps.clone();
    apps.push((Service::Gateway, gateway::router(gateway)));
    let mut tasks = JoinSet::new();
    let gateway_scheme = if tls.is_some() { "https" } else { "http" };
    for (service, app) in apps {
        let listener = listeners.remove(&service).context("listener bound above")?;
        let stop = shutdown.clone().cancelled_owned();
        match service {
            Service::Gateway => {
                let plan = ShutdownPlan::IMMEDIATE;
                tasks.spawn(gateway::serve(listener, app, tls.clone(), stop, plan))
            }
            _ => {
                // Answered in-process for exactly as long as the listener is served.
                let base = format!("http://{}", addresses[&service]);
                let registration = in_process::register(base, app.clone());
                tasks.spawn(async move {
                    let _registration = registration;
                    platform::server::serve(listener, app, stop).await
                })
            }
        };
    }
    Ok(RunningSystem {
        bus,
        gateway_scheme,
        addresses,
        shutdown,
        tasks,
    })
}

/// One backend service of `up`, configured from the environment and then pointed at the
/// addresses, databases and secret of this system.
async fn app(
    service: Service,
    config: &SystemConfig,
    urls: &dyn Fn(Service) -> Vec<String>,
    bus: &EventBus,
    shutdown: &CancellationToken,
) -> anyhow::Result<Router> {
    let dir = &config.data_dir;
    let db = match config.database_urls.get(&service) {
        Some(url) => DatabaseUrl::from(url.clone()),
        None => service.database_url(dir),
    };
    let secret = Some(config.service_secret.clone());
    match service {
        Service::Identity => {
            let mut c = identity::Config::from_env(dir)?;
            c.database_url = db;
            c.patients_urls = urls(Service::Patients);
            c.doctors_urls = urls(Service::Doctors);
            c.identity_urls = urls(Service::Identity);
            c.bootstrap_admin = config.admin.clone();
            c.service_secret = secret;
            // The embedded mode keeps its key-encryption key beside, not in, the database.
            if c.master_key.is_none() {
                c.master_key = Some(identity::MasterKey::load_or_create(dir)?);
            }
            identity::app(c, bus, shutdown).await
        }
        Service::Patients => {
            let mut c = patients::Config::from_env(dir)?;
            c.database_url = db;
            c.appointments_urls = urls(Service::Appointments);
            c.identity_urls = urls(Service::Identity);
            c.notifications_urls = urls(Service::Notifications);
            c.records_urls = urls(Service::Records);
            c.billing_urls = urls(Service::Billing);
            c.clinic = config.clinic.clone();
            c.service_secret = secret;
            patients::app(c, bus, shutdown).await
        }
        Service::Doctors => {
            let mut c = doctors::Config::from_env(dir)?;
            c.database_url = db;
            c.appointments_urls = urls(Service::Appointments);
            c.identity_urls = urls(Service::Identity);
            c.clinic = config.clinic.clone();
            doctors::app(c, bus, shutdown).await
        }
        Service::Appointments => {
            let mut c = appointments::Config::from_env(dir)?;
            c.database_url = db;
            c.patients_urls = urls(Service::Patients);
            c.doctors_urls = urls(Service::Doctors);
            c.identity_urls = urls(Service::Identity);
            c.clinic = config.clinic.clone();
            appointments::app(c, bus, shutdown).await
        }
        Service::Notifications => {
            let mut c = notifications::Config::from_env(dir)?;
            c.database_url = db;
            c.identity_urls = urls(Service::Identity);
            c.patients_urls = urls(Service::Patients);
            c.doctors_urls = urls(Service::Doctors);
            c.clinic = config.clinic.clone();
            c.service_secret = secret;
            if let Some(hook) = &config.notifications_hook {
                (hook.0)(&mut c);
            }
            notifications::app(c, bus, shutdown).await
        }
        Service::Billing => {
            let mut c = billing::Config::from_env(dir)?;
            c.database_url = db;
            c.identity_urls = urls(Service::Identity);
            if let Some(prices) = &config.billing_prices {
                c.prices = prices.clone();
            }
            if let Some(payments) = &config.billing_payments {
                c.payments = Some(payments.clone());
            }
            billing::app(c, bus, shutdown).await
        }
        Service::Records => {
            let mut c = records::Config::from_env(dir)?;
            c.database_url = db;
            c.identity_urls = urls(Service::Identity);
            c.patients_urls = urls(Service::Patients);
            c.doctors_urls = urls(Service::Doctors);
            // The embedded mode keeps its own data key, made on the first start and sealed
            // under the key-encryption key beside it.
            if let records::keys::KeySource::File(path) = &c.keys {
                let master = match c.master_key.clone() {
                    Some(key) => key,
                    None => platform::master_key::MasterKey::load_or_create(dir)?,
                };
                records::key_file::ensure_key_file(path, &master)?;
                c.master_key = Some(master);
            }
            records::app(c, bus, shutdown).await
        }
        Service::Analytics => {
            let mut c = analytics::Config::from_env(dir)?;
            c.database_url = db;
            c.identity_urls = urls(Service::Identity);
            c.clinic = config.clinic.clone();
            analytics::app(c, bus, shutdown).await
        }
        Service::Web => {
            let mut c = web::Config::from_env(dir)?;
            c.database_url = db;
            // The pages call the public API where this system serves it.
            c.api_url = urls(Service::Gateway)
                .into_iter()
                .next()
                .context("the gateway's address")?;
            c.identity_urls = urls(Service::Identity);
            c.clinic = config.clinic.clone();
            web::app(c).await
        }
        Service::Gateway => anyhow::bail!("the gateway is not a backend service"),
    }
}

/// Runs one service (or the gateway) configured from the environment until `shutdown`, for
/// `carebook serve`. It listens on `listen` only once it is built (migrations run, keys
/// loaded): a caller connecting earlier is refused and tries another instance, rather than
/// waiting in the accept queue of one that cannot answer yet.
pub async fn serve_one(
    service: Service,
    data_dir: PathBuf,
    listen: &str,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let plan = ShutdownPlan::from_env()?;
    // Background work (event consumers, the relay, workers) stops once the server has
    // drained and finished its requests: until then the instance does all it did.
    let background = CancellationToken::new();
    let bus = EventBus::from_env(contracts::events::TOPOLOGY);
    let app = match service {
        Service::Gateway => {
            let config = gateway::GatewayConfig::from_env(crate::OPENAPI_JSON)?;
            let tls = config.tls.clone();
            let router = gateway::router(config);
            let listener = bind(service, listen).await?;
            gateway::serve(listener, router, tls, shutdown, plan).await?;
            return Ok(());
        }
        Service::Patients => {
            patients::app(patients::Config::from_env(&data_dir)?, &bus, &background).await?
        }
        Service::Doctors => {
            doctors::app(doctors::Config::from_env(&data_dir)?, &bus, &background).await?
        }
        Service::Appointments => {
            let config = appointments::Config::from_env(&data_dir)?;
            appointments::app(config, &bus, &background).await?
        }
        Service::Identity => {
            identity::app(identity::Config::from_env(&data_dir)?, &bus, &background).await?
        }
        Service::Notifications => {
            let config = notifications::Config::from_env(&data_dir)?;
            notifications::app(config, &bus, &background).await?
        }
        Service::Billing => {
            billing::app(billing::Config::from_env(&data_dir)?, &bus, &background).await?
        }
        Service::Records => {
            records::app(records::Config::from_env(&data_dir)?, &bus, &background).await?
        }
        Service::Analytics => {
            analytics::app(analytics::Config::from_env(&data_dir)?, &bus, &background).await?
        }
        Service::Web => web::app(web::Config::from_env(&data_dir)?).await?,
    };
    let listener = bind(service, listen).await?;
    platform::server::serve_with_plan(listener, app, shutdown, plan).await?;
    background.cancel();
    tracing::info!(%service, "stopped");
    Ok(())
}

async fn bind(service: Service, listen: &str) -> anyhow::Result<TcpListener> {
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    tracing::info!(%service, address = %listener.local_addr()?, "serving");
    Ok(listener)
}

/// Brings every service's database schema up to date, for `carebook migrate`.
pub async fn migrate(data_dir: PathBuf) -> anyhow::Result<()> {
    platform::files::private_dir(&data_dir)?;
    for (service, migrations) in [
        (Service::Patients, &patients::MIGRATIONS),
        (Service::Doctors, &doctors::MIGRATIONS),
        (Service::Appointments, &appointments::MIGRATIONS),
        (Service::Notifications, &notifications::MIGRATIONS),
        (Service::Identity, &identity::MIGRATIONS),
        (Service::Billing, &billing::MIGRATIONS),
        (Service::Records, &records::MIGRATIONS),
        (Service::Analytics, &analytics::MIGRATIONS),
        (Service::Web, &web::MIGRATIONS),
    ] {
        let db = platform::db::Db::open(service.database_url(&data_dir).as_str(), migrations)
            .await
            .with_context(|| format!("migrating the {service} database"))?;
        db.close().await;
        tracing::info!(%service, "schema up to date");
    }
    Ok(())
}

/// Builds the analytics read models again from every publishing service's outbox, for
/// `carebook analytics-rebuild`, with the databases of the environment (or `up`'s files).
pub async fn rebuild_analytics(data_dir: PathBuf) -> anyhow::Result<analytics::Rebuilt> {
    let config = analytics::Config::from_env(&data_dir)?;
    let db = platform::db::Db::open(config.database_url.as_str(), &analytics::MIGRATIONS)
        .await
        .context("opening the analytics database")?;
    let sources: Vec<(Service, String)> = analytics::PUBLISHERS
        .iter()
        .map(|s| (*s, s.database_url(&data_dir).as_str().to_owned()))
        .collect();
    let rebuilt = analytics::rebuild(&db, &sources, &config.clinic.timezone).await;
    db.close().await;
    rebuilt
}

/// 256 random bits, hex.
pub fn random_secret() -> String {
    rand::random::<[u8; 32]>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
