//! The system under test. It runs in child processes of this binary, which call the same
//! library code as the `carebook` binary: `carebook::system::start` (what `carebook up` runs)
//! or `carebook::system::serve_one` (what `carebook serve <service>` runs). Child processes keep
//! the load generator's memory and threads out of the figures, and give each distributed
//! service its own RSS.
//!
//! - embedded: one process, SQLite files in a temporary directory, the in-process event bus.
//! - distributed: one process per service and the gateway, fresh PostgreSQL databases, a fresh
//!   RabbitMQ vhost, gateway rate limits in Redis under a fresh key prefix.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use platform::config::Service;

use crate::http::Http;
use crate::infra::Infra;
use crate::process::{Proc, Spec};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    Embedded,
    Distributed,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Self::Embedded => "embedded",
            Self::Distributed => "distributed",
        }
    }
}

pub const ADMIN_EMAIL: &str = "bench-admin@carebook.example";
pub const ADMIN_PASSWORD: &str = "bench-admin-password-7319";

const STARTUP_LIMIT: Duration = Duration::from_secs(90);
/// How long the notification service may lag behind the others before it counts as missing.
const NOTIFICATIONS_GRACE: Duration = Duration::from_secs(5);

/// A running system; dropping it kills its processes and removes its databases.
pub struct System {
    /// Base URL of the gateway and of each service.
    pub urls: HashMap<Service, String>,
    pub database_urls: HashMap<Service, String>,
    /// Whether the notification service runs (the event-delay scenario needs it).
    pub has_notifications: bool,
    procs: Vec<Proc>,
    // Dropped after the processes: first stop them, then remove what they used.
    _infra: Option<Infra>,
    pub dir: tempfile::TempDir,
}

impl System {
    /// Starts the system and waits until it is ready; also returns how long that took.
    pub async fn start(mode: Mode) -> anyhow::Result<(Self, Duration)> {
        let run = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
        let mut dir = tempfile::Builder::new()
            .prefix("carebook-bench-")
            .tempdir()?;
        // For profiling and post-mortems: the services' logs (every request with its latency).
        if std::env::var_os("CAREBOOK_BENCH_KEEP_LOGS").is_some() {
            dir.disable_cleanup(true);
        }
        let data_dir = dir.path().join("data");
        std::fs::create_dir_all(&data_dir)?;
        let ports = free_ports()?;
        let urls: HashMap<Service, String> = ports
            .iter()
            .map(|(s, port)| (*s, format!("http://127.0.0.1:{port}")))
            .collect();
        let mut env = vec![
            ("CAREBOOK_ADMIN_EMAIL".to_owned(), ADMIN_EMAIL.to_owned()),
            (
                "CAREBOOK_ADMIN_PASSWORD".to_owned(),
                ADMIN_PASSWORD.to_owned(),
            ),
            (
                "CAREBOOK_SERVICE_SECRET".to_owned(),
                carebook::system::random_secret(),
            ),
            // `serve identity` seals its signing keys under this and refuses to start without.
            (
                "CAREBOOK_MASTER_KEY".to_owned(),
                identity::MasterKey::generate().to_base64(),
            ),
            // The limits stay on (their cost is part of the figures) but out of reach.
            (
                "CAREBOOK_RATE_LIMIT_PER_MINUTE".to_owned(),
                "1000000000".to_owned(),
            ),
            (
                "CAREBOOK_LOGIN_RATE_LIMIT_PER_MINUTE".to_owned(),
                "1000000".to_owned(),
            ),
            (
                "CAREBOOK_DATA_DIR".to_owned(),
                data_dir.display().to_string(),
            ),
            // The documented default, stated so a RUST_LOG of the caller does not leak in.
            ("RUST_LOG".to_owned(), "info,sqlx=warn".to_owned()),
        ];
        for (service, url) in &urls {
            env.push((format!("CAREBOOK_{}_URL", upper(*service)), url.clone()));
        }
        let (infra, database_urls, specs) = match mode {
            Mode::Embedded => {
                let database_urls = Service::BACKENDS
                    .iter()
                    .map(|s| (*s, s.database_url(&data_dir).as_str().to_owned()))
                    .collect();
                let ports_arg = ports
                    .iter()
                    .map(|(s, p)| format!("{}={p}", s.name()))
                    .collect::<Vec<_>>()
                    .join(",");
                let spec = Spec {
                    label: "carebook".to_owned(),
                    args: ["__child", "embedded", "--ports", &ports_arg]
                        .map(str::to_owned)
                        .to_vec(),
                    env,
                    log: dir.path().join("carebook.log"),
                };
                (None, database_urls, vec![spec])
            }
            Mode::Distributed => {
                let infra = Infra::create(&run).await?;
                for (service, url) in &infra.database_urls {
                    env.push((
                        format!("CAREBOOK_{}_DATABASE_URL", upper(*service)),
                        url.clone(),
                    ));
                }
                env.push(("CAREBOOK_AMQP_URL".to_owned(), infra.amqp_url.clone()));
                // Like the master key, a deployment's records data key is configuration every
                // instance shares (`up` keeps a key file in its data directory instead).
                env.push((
                    "CAREBOOK_RECORDS_KEYS".to_owned(),
                    format!("bench:{}", STANDARD.encode(rand::random::<[u8; 32]>())),
                ));
                env.push((
                    "CAREBOOK_REDIS_URL".to_owned(),
                    infra.redis_url().to_owned(),
                ));
                env.push((
                    "CAREBOOK_REDIS_PREFIX".to_owned(),
                    infra.redis_prefix.clone(),
                ));
                let specs = ports
                    .iter()
                    .map(|(service, port)| {
                        let mut env = env.clone();
                        env.push(("CAREBOOK_LISTEN".to_owned(), format!("127.0.0.1:{port}")));
                        Spec {
                            label: service.name().to_owned(),
                            args: vec!["__child".into(), "serve".into(), service.name().into()],
                            env,
                            log: dir.path().join(format!("{}.log", service.name())),
                        }
                    })
                    .collect();
                let urls = infra.database_urls.clone();
                (Some(infra), urls, specs)
            }
        };
        let mut system = Self {
            urls,
            database_urls,
            has_notifications: true,
            procs: Vec::new(),
            _infra: infra,
            dir,
        };
        let began = Instant::now();
        for spec in &specs {
            system.procs.push(Proc::spawn(spec)?);
        }
        system.wait_ready(true).await?;
        Ok((system, began.elapsed()))
    }

    pub fn url(&self, service: Service) -> &str {
        &self.urls[&service]
    }

    pub fn gateway(&self) -> &str {
        self.url(Service::Gateway)
    }

    /// `(label, pid)` of every running process.
    pub fn pids(&self) -> Vec<(String, u32)> {
        self.procs
            .iter()
            .filter_map(|p| Some((p.spec.label.clone(), p.pid()?)))
            .collect()
    }

    /// Stops every process gracefully and starts them again on the same data; returns the
    /// time from starting the processes until every one of them is ready (a cold start).
    pub async fn restart(&mut self) -> anyhow::Result<Duration> {
        for proc in &mut self.procs {
            proc.stop().await;
        }
        let specs: Vec<Spec> = self.procs.drain(..).map(|p| p.spec).collect();
        let began = Instant::now();
        for spec in &specs {
            self.procs.push(Proc::spawn(spec)?);
        }
        self.wait_ready(false).await?;
        Ok(began.elapsed())
    }

    /// Polls every service's `/health/ready` and then the gateway's, failing early when a
    /// process exits. On the first start a missing notification service is tolerated (it
    /// may not be built yet): the event-delay scenario is then skipped.
    async fn wait_ready(&mut self, first: bool) -> anyhow::Result<()> {
        let http = Http::default();
        let deadline = Instant::now() + STARTUP_LIMIT;
        let mut others_ready_at: Option<Instant> = None;
        loop {
            anyhow::ensure!(
                Instant::now() < deadline,
                "not ready after {STARTUP_LIMIT:?}"
            );
            self.check_processes(first)?;
            let mut waiting = Vec::new();
            for service in Service::BACKENDS {
                if service == Service::Notifications && !self.has_notifications {
                    continue;
                }
                if !probe(&http, &format!("{}/health/ready", self.url(service))).await {
                    waiting.push(service);
                }
            }
            if waiting == [Service::Notifications] && first {
                let since = *others_ready_at.get_or_insert_with(Instant::now);
                if since.elapsed() > NOTIFICATIONS_GRACE {
                    self.has_notifications = false;
                    waiting.clear();
                }
            }
            if waiting.is_empty() {
                // The gateway is ready only when every backend is live; without a
                // notification service, ask whether it is live itself.
                let path = if self.has_notifications {
                    "/health/ready"
                } else {
                    "/health/live"
                };
                if probe(&http, &format!("{}{path}", self.gateway())).await {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Fails when a process exited, unless it is the notification service on the first start.
    fn check_processes(&mut self, first: bool) -> anyhow::Result<()> {
        for proc in &mut self.procs {
            if let Some(reason) = proc.exited() {
                if first && proc.spec.label == Service::Notifications.name() {
                    self.has_notifications = false;
                    continue;
                }
                anyhow::bail!("{reason}; its log ends:\n{}", proc.log_tail());
            }
        }
        if !self.has_notifications {
            self.procs
                .retain(|p| p.spec.label != Service::Notifications.name());
        }
        Ok(())
    }

    /// The log files, to point at when something fails.
    pub fn log_dir(&self) -> String {
        self.dir.path().display().to_string()
    }
}

/// `true` when `url` answers 200 within a second (a bound port nobody serves never answers).
async fn probe(http: &Http, url: &str) -> bool {
    tokio::time::timeout(Duration::from_secs(1), http.is_ok(url))
        .await
        .unwrap_or(false)
}

fn upper(service: Service) -> String {
    service.name().to_uppercase()
}

/// A free loopback port for the gateway and each service (bound together, then released).
fn free_ports() -> anyhow::Result<Vec<(Service, u16)>> {
    let services = std::iter::once(Service::Gateway).chain(Service::BACKENDS);
    let mut held = Vec::new();
    for service in services {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").context("binding a port")?;
        held.push((service, listener));
    }
    held.into_iter()
        .map(|(s, l)| Ok((s, l.local_addr()?.port())))
        .collect()
}
