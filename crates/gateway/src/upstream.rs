//! The instances of one backend service and how the gateway picks one per request.
//!
//! - **Which instances**: the URLs configured, where an entry `dns+http://name:port` stands for
//!   every address the name resolves to (a headless Kubernetes Service), resolved again every
//!   [`Balancing::dns_refresh`].
//! - **Which one**: power of two choices. Two instances are drawn at random among the available
//!   ones and the one with fewer requests outstanding gets the request: nearly as good as
//!   asking every instance, without the herd that "always the least loaded" causes.
//! - **Available**: its `/health/ready` answered 200 at the last active check (every
//!   [`Balancing::health_check_interval`]; an instance shutting down fails it first), and it
//!   is not ejected. A refused connection ejects at once, [`EJECT_AFTER`] failed exchanges in a
//!   row (5xx, broken connections) too; each ejection lasts twice the one before, from
//!   [`FIRST_EJECTION`] up to [`MAX_EJECTION`], and a success resets that.
//! - When no instance is available, every instance is a candidate: better to try than to
//!   refuse outright when the checks are wrong.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use axum::http::Uri;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use platform::config::{DNS_PREFIX, Service};
use platform::server::ShutdownPlan;
use tokio::sync::OnceCell;

use crate::budget::RetryBudget;
use crate::client::HttpClient;

/// Failed exchanges in a row that eject an instance.
pub(crate) const EJECT_AFTER: u32 = 5;
/// The first ejection's length; each further one in a row doubles it.
pub(crate) const FIRST_EJECTION: Duration = Duration::from_secs(1);
pub(crate) const MAX_EJECTION: Duration = Duration::from_secs(30);
/// A ready instance answers its probe at once; one that does not is not ready.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// How the gateway balances over instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Balancing {
    /// How often every instance's `/health/ready` is asked.
    pub health_check_interval: Duration,
    /// How often `dns+` names are resolved again.
    pub dns_refresh: Duration,
    /// Retries may add this percentage of requests (plus [`RetryBudget::MIN_PER_SECOND`]).
    pub retry_budget_percent: u32,
    /// How long an idle pooled connection to an instance is kept: shorter than the instances'
    /// drain ([`platform::server::ShutdownPlan::idle_connection_timeout`]).
    pub idle_connection_timeout: Duration,
}

impl Default for Balancing {
    fn default() -> Self {
        Self {
            health_check_interval: Duration::from_secs(2),
            dns_refresh: Duration::from_secs(5),
            retry_budget_percent: 20,
            idle_connection_timeout: ShutdownPlan::DEFAULT.idle_connection_timeout(),
        }
    }
}

/// Where instances come from: one configured URL.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    /// One instance at this base URL.
    Fixed(String),
    /// Every address `host` resolves to, as `http://{address}:{port}{path}`.
    Dns {
        host: String,
        port: u16,
        path: String,
    },
}

impl Source {
    /// `url` was checked at start (`config::check_urls`): `[dns+]http://host[:port][/path]`.
    fn parse(url: &str) -> Self {
        let url = url.trim_end_matches('/');
        let Some(plain) = url.strip_prefix(DNS_PREFIX) else {
            return Self::Fixed(url.to_owned());
        };
        match plain.parse::<Uri>() {
            Ok(uri) => Self::Dns {
                host: uri.host().unwrap_or_default().to_owned(),
                port: uri.port_u16().unwrap_or(80),
                path: uri.path().trim_end_matches('/').to_owned(),
            },
            Err(_) => Self::Fixed(plain.to_owned()),
        }
    }
}

/// One backend service as the gateway sees it.
#[derive(Debug)]
pub(crate) struct Upstream {
    service: Service,
    sources: Vec<Source>,
    instances: RwLock<Arc<[Arc<Instance>]>>,
    /// Per source, the bases it gave at its last successful resolution.
    resolved: Mutex<Vec<Vec<String>>>,
    pub(crate) budget: RetryBudget,
    balancing: Balancing,
    client: HttpClient,
    /// Set once the first resolution is done and the checks run.
    started: OnceCell<()>,
}

/// One address of a service, e.g. `http://10.0.0.7:8081`.
#[derive(Debug)]
pub(crate) struct Instance {
    base: String,
    outstanding: AtomicUsize,
    health: Mutex<Health>,
}

#[derive(Debug)]
struct Health {
    /// The last active check's verdict; an instance is trusted until its first check.
    ready: bool,
    failures_in_a_row: u32,
    ejections_in_a_row: u32,
    ejected_until: Option<Instant>,
}

/// How one exchange with an instance went, for the passive checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// An answer that says nothing bad about the instance (2xx–4xx, or a 5xx of its own).
    Answered,
    /// 502, 503 or 504, or a connection broken mid-exchange.
    Failed,
    /// The connection was refused or timed out: nothing was sent.
    Unreachable,
}

impl Upstream {
    pub(crate) fn new(
        service: Service,
        urls: Vec<String>,
        balancing: Balancing,
        client: HttpClient,
    ) -> Self {
        let sources: Vec<Source> = urls.iter().map(|url| Source::parse(url)).collect();
        let fixed: Vec<Arc<Instance>> = sources
            .iter()
            .filter_map(|source| match source {
                Source::Fixed(base) => Some(Arc::new(Instance::new(base.clone()))),
                Source::Dns { .. } => None,
            })
            .collect();
        Self {
            service,
            resolved: Mutex::new(vec![Vec::new(); sources.len()]),
            sources,
            instances: RwLock::new(fixed.into()),
            budget: RetryBudget::new(balancing.retry_budget_percent),
            balancing,
            client,
            started: OnceCell::new(),
        }
    }

    pub(crate) fn service(&self) -> Service {
        self.service
    }

    /// The instances known now.
    pub(crate) fn instances(&self) -> Arc<[Arc<Instance>]> {
        self.instances
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Resolves the `dns+` names once and starts the active checks, the first time it is
    /// called; they run while the upstream exists.
    pub(crate) async fn start(self: &Arc<Self>) {
        self.started
            .get_or_init(|| async {
                self.resolve().await;
                tokio::spawn(watch(Arc::downgrade(self)));
            })
            .await;
    }

    /// The instance for the next attempt, never one of `tried`: power of two choices among
    /// the available instances, or among all when none is.
    pub(crate) fn pick(&self, tried: &[Arc<Instance>], now: Instant) -> Option<Arc<Instance>> {
        let candidates: Vec<Arc<Instance>> = self
            .instances()
            .iter()
            .filter(|instance| !tried.iter().any(|t| Arc::ptr_eq(t, instance)))
            .cloned()
            .collect();
        let available: Vec<&Arc<Instance>> = candidates
            .iter()
            .filter(|instance| instance.is_available(now))
            .collect();
        let pool: Vec<&Arc<Instance>> = if available.is_empty() {
            candidates.iter().collect()
        } else {
            available
        };
        match pool.len() {
            0 => None,
            1 => Some(pool[0].clone()),
            count => {
                let first = rand::random_range(0..count);
                let second = (first + rand::random_range(1..count)) % count;
                let (a, b) = (pool[first], pool[second]);
                Some(
                    if b.outstanding() < a.outstanding() {
                        b
                    } else {
                        a
                    }
                    .clone(),
                )
            }
        }
    }

    /// Resolves every `dns+` name and keeps the instances (and their state) whose address
    /// is still there. A name that does not resolve keeps its last addresses.
    async fn resolve(&self) {
        let mut bases = Vec::new();
        for (index, source) in self.sources.iter().enumerate() {
            match source {
                Source::Fixed(base) => bases.push(base.clone()),
                Source::Dns { host, port, path } => {
                    match tokio::net::lookup_host((host.as_str(), *port)).await {
                        Ok(addresses) => {
                            let mut found: Vec<String> = addresses
                                .map(|address| format!("http://{address}{path}"))
                                .collect();
                            found.sort();
                            found.dedup();
                            self.lock_resolved()[index] = found;
                        }
                        Err(error) => {
                            tracing::warn!(service = %self.service, host, %error, "cannot resolve instances; keeping the last ones");
                        }
                    }
                    bases.extend(self.lock_resolved()[index].iter().cloned());
                }
            }
        }
        let known = self.instances();
        let mut next: Vec<Arc<Instance>> = Vec::with_capacity(bases.len());
        for base in bases {
            if next.iter().any(|instance| instance.base == base) {
                continue;
            }
            next.push(
                known
                    .iter()
                    .find(|instance| instance.base == base)
                    .cloned()
                    .unwrap_or_else(|| Arc::new(Instance::new(base))),
            );
        }
        let changed = next.len() != known.len()
            || next
                .iter()
                .zip(known.iter())
                .any(|(a, b)| !Arc::ptr_eq(a, b));
        if changed {
            tracing::info!(service = %self.service, instances = next.len(), "instances changed");
        }
        *self.instances.write().unwrap_or_else(|e| e.into_inner()) = next.into();
    }

    fn lock_resolved(&self) -> std::sync::MutexGuard<'_, Vec<Vec<String>>> {
        self.resolved.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Asks every instance's `/health/ready` at once.
    async fn check_all(&self) {
        let instances = self.instances();
        futures::future::join_all(instances.iter().map(|instance| async {
            let ready = probe(&self.client, &instance.base).await;
            instance.set_ready(ready, self.service);
        }))
        .await;
    }
}

/// The active checks and the re-resolution, until the upstream is dropped.
async fn watch(upstream: Weak<Upstream>) {
    let mut last_resolved = Instant::now();
    loop {
        let Some(current) = upstream.upgrade() else {
            return;
        };
        let interval = current.balancing.health_check_interval;
        if last_resolved.elapsed() >= current.balancing.dns_refresh {
            current.resolve().await;
            last_resolved = Instant::now();
        }
        current.check_all().await;
        drop(current);
        // The interval between checks is the point here, not a wait for an event.
        tokio::time::sleep(interval).await;
    }
}

async fn probe(client: &HttpClient, base: &str) -> bool {
    let body = Full::new(Bytes::new())
        .map_err(|never| match never {})
        .boxed_unsync();
    let Ok(request) = hyper::Request::get(format!("{base}/health/ready")).body(body) else {
        return false;
    };
    matches!(
        tokio::time::timeout(PROBE_TIMEOUT, client.request(request)).await,
        Ok(Ok(response)) if response.status().is_success()
    )
}

impl Instance {
    fn new(base: String) -> Self {
        Self {
            base,
            outstanding: AtomicUsize::new(0),
            health: Mutex::new(Health {
                ready: true,
                failures_in_a_row: 0,
                ejections_in_a_row: 0,
                ejected_until: None,
            }),
        }
    }

    /// Scheme, authority and optional base path, without a trailing slash.
    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    pub(crate) fn outstanding(&self) -> usize {
        self.outstanding.load(Ordering::Relaxed)
    }

    /// Counts a request outstanding until the guard is dropped.
    pub(crate) fn begin(self: &Arc<Self>) -> InFlight {
        self.outstanding.fetch_add(1, Ordering::Relaxed);
        InFlight(self.clone())
    }

    pub(crate) fn is_available(&self, now: Instant) -> bool {
        let health = self.lock();
        health.ready && health.ejected_until.is_none_or(|until| now >= until)
    }

    /// The passive check: what one exchange says about the instance.
    pub(crate) fn record(&self, outcome: Outcome, now: Instant) {
        let mut health = self.lock();
        match outcome {
            Outcome::Answered => {
                health.failures_in_a_row = 0;
                if health.ejected_until.is_none_or(|until| now >= until) {
                    health.ejections_in_a_row = 0;
                    health.ejected_until = None;
                }
            }
            Outcome::Failed => {
                health.failures_in_a_row += 1;
                if health.failures_in_a_row >= EJECT_AFTER {
                    health.eject(now);
                }
            }
            Outcome::Unreachable => health.eject(now),
        }
    }

    fn set_ready(&self, ready: bool, service: Service) {
        let mut health = self.lock();
        if health.ready != ready {
            tracing::info!(%service, instance = self.base, ready, "instance readiness changed");
        }
        health.ready = ready;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Health> {
        // Plain flags and counters: a panic elsewhere cannot leave them half-written.
        self.health.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Health {
    fn eject(&mut self, now: Instant) {
        if self.ejected_until.is_some_and(|until| now < until) {
            return;
        }
        let length = FIRST_EJECTION
            .saturating_mul(1 << self.ejections_in_a_row.min(5))
            .min(MAX_EJECTION);
        self.ejected_until = Some(now + length);
        self.ejections_in_a_row += 1;
        self.failures_in_a_row = 0;
    }
}

/// A request outstanding at an instance.
#[derive(Debug)]
pub(crate) struct InFlight(Arc<Instance>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.outstanding.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests;
