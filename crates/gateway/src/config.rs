//! What the gateway needs to know: where each backend's instances are, how patient to be, and
//! how it guards the edge (rate limits, CORS, TLS).

use std::fmt;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, ensure};
use axum::Router;
use axum::http::{HeaderValue, Uri};
use platform::config::{Service, parse_var, var, without_dns_prefix};
use platform::server::{ShutdownPlan, StartGate};

use crate::limit::{RateLimits, RedisSettings, TrustedProxies};
use crate::tls::TlsConfig;
use crate::upstream::Balancing;

/// The gateway's settings; `from_env` reads them, tests build them with `new` and adjust.
#[derive(Clone)]
pub struct GatewayConfig {
    /// Instances of each backend service, e.g. Service::Patients => ["http://127.0.0.1:8081"].
    pub upstreams: Vec<(Service, Vec<String>)>,
    /// Largest request body accepted (413 problem above it). Default 1 MiB.
    pub max_body_bytes: usize,
    /// Largest upload streamed through to the records service: `CAREBOOK_MAX_UPLOAD_MB`
    /// (default 20) plus 1 MiB for the form around the file.
    pub max_upload_bytes: usize,
    /// How long to wait for an upstream answer (504 problem after it). Default 10 s.
    pub upstream_timeout: Duration,
    /// Health checks, re-resolution and the retry budget.
    pub balancing: Balancing,
    /// The merged OpenAPI document of every service (JSON), served at /api/openapi.json.
    pub openapi: &'static str,
    /// Requests per minute per client IP, per user, and per IP on the credential endpoints.
    pub rate_limits: RateLimits,
    /// Proxies whose `X-Forwarded-For` names the client the rate limits count (the web app):
    /// `CAREBOOK_TRUSTED_PROXIES`, none by default.
    pub trusted_proxies: TrustedProxies,
    /// Where the rate limits are shared with other gateway instances; `None` = this process.
    pub redis: Option<RedisSettings>,
    /// Browser origins allowed to call the API cross-origin; empty = CORS closed.
    pub cors_origins: Vec<HeaderValue>,
    /// Certificate and key when the gateway terminates TLS itself; `None` = plain HTTP.
    /// `router` does not use it: pass it to [`crate::serve`].
    pub tls: Option<TlsConfig>,
    /// Work this process finishes before `/health/ready` may answer 200 (`up` seeding the demo
    /// clinic); open by default.
    pub start_gate: StartGate,
    /// The routers of services running in this process (`carebook up`): their requests are
    /// handed over without a socket. Empty by default: every request goes to `upstreams`.
    pub in_process: Vec<(Service, Router)>,
}

impl GatewayConfig {
    pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
    pub const DEFAULT_UPSTREAM_TIMEOUT: Duration = Duration::from_secs(10);
    pub const DEFAULT_MAX_UPLOAD_BYTES: usize = 21 * 1024 * 1024;

    /// The defaults of everything but the backends and the document: in-memory rate limits of
    /// [`RateLimits::default`], no CORS, no TLS.
    pub fn new(upstreams: Vec<(Service, Vec<String>)>, openapi: &'static str) -> Self {
        Self {
            upstreams,
            max_body_bytes: Self::DEFAULT_MAX_BODY_BYTES,
            max_upload_bytes: Self::DEFAULT_MAX_UPLOAD_BYTES,
            upstream_timeout: Self::DEFAULT_UPSTREAM_TIMEOUT,
            balancing: Balancing::default(),
            openapi,
            rate_limits: RateLimits::default(),
            trusted_proxies: TrustedProxies::default(),
            redis: None,
            cors_origins: Vec::new(),
            tls: None,
            start_gate: StartGate::open(),
            in_process: Vec::new(),
        }
    }

    /// `CAREBOOK_<SERVICE>_URL` for every backend, `CAREBOOK_MAX_BODY_BYTES`,
    /// `CAREBOOK_UPSTREAM_TIMEOUT_SECS`, the balancing (`CAREBOOK_HEALTH_CHECK_INTERVAL_MS`,
    /// `CAREBOOK_DNS_REFRESH_SECS`, `CAREBOOK_RETRY_BUDGET_PERCENT`), the rate limits (`CAREBOOK_RATE_LIMIT_PER_MINUTE`,
    /// `CAREBOOK_LOGIN_RATE_LIMIT_PER_MINUTE`, `CAREBOOK_TRUSTED_PROXIES`, `CAREBOOK_REDIS_URL`,
    /// `CAREBOOK_REDIS_PREFIX`),
    /// `CAREBOOK_CORS_ORIGINS` and `CAREBOOK_TLS_CERT`/`CAREBOOK_TLS_KEY`; a malformed value
    /// stops the start-up.
    pub fn from_env(openapi: &'static str) -> anyhow::Result<Self> {
        let upstreams = Service::BACKENDS
            .into_iter()
            .map(|service| {
                let urls = service.urls();
                check_urls(service, &urls)?;
                Ok((service, urls))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let max_body_bytes =
            parse_var("CAREBOOK_MAX_BODY_BYTES")?.unwrap_or(Self::DEFAULT_MAX_BODY_BYTES);
        let upstream_timeout = match parse_var::<u64>("CAREBOOK_UPSTREAM_TIMEOUT_SECS")? {
            Some(0) => anyhow::bail!("CAREBOOK_UPSTREAM_TIMEOUT_SECS must be at least 1"),
            Some(secs) => Duration::from_secs(secs),
            None => Self::DEFAULT_UPSTREAM_TIMEOUT,
        };
        let upload_mb = parse_var::<usize>("CAREBOOK_MAX_UPLOAD_MB")?.unwrap_or(20);
        ensure!(
            (1..=1024).contains(&upload_mb),
            "CAREBOOK_MAX_UPLOAD_MB must be 1 to 1024"
        );
        Ok(Self {
            upstreams,
            max_body_bytes,
            max_upload_bytes: (upload_mb + 1) * 1024 * 1024,
            upstream_timeout,
            balancing: balancing_from_env()?,
            openapi,
            rate_limits: rate_limits_from_env()?,
            trusted_proxies: var("CAREBOOK_TRUSTED_PROXIES")
                .map(|list| TrustedProxies::parse(&list))
                .transpose()?
                .unwrap_or_default(),
            redis: redis_from_env()?,
            cors_origins: var("CAREBOOK_CORS_ORIGINS")
                .map(|list| crate::cors::parse_origins(&list))
                .transpose()?
                .unwrap_or_default(),
            tls: tls_from_env()?,
            start_gate: StartGate::open(),
            in_process: Vec::new(),
        })
    }

    /// The router of `service` when it runs in this process.
    pub(crate) fn in_process(&self, service: Service) -> Option<Router> {
        self.in_process
            .iter()
            .find(|(s, _)| *s == service)
            .map(|(_, router)| router.clone())
    }

    /// Every instance configured for `service` (none when it is missing).
    pub(crate) fn instances(&self, service: Service) -> Vec<String> {
        self.upstreams
            .iter()
            .filter(|(s, _)| *s == service)
            .flat_map(|(_, urls)| urls.iter().cloned())
            .collect()
    }
}

// By hand: the OpenAPI document is long.
impl fmt::Debug for GatewayConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatewayConfig")
            .field("upstreams", &self.upstreams)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("max_upload_bytes", &self.max_upload_bytes)
            .field("upstream_timeout", &self.upstream_timeout)
            .field("balancing", &self.balancing)
            .field("rate_limits", &self.rate_limits)
            .field("redis", &self.redis)
            .field("cors_origins", &self.cors_origins)
            .field("tls", &self.tls.is_some())
            .field(
                "in_process",
                &self.in_process.iter().map(|(s, _)| s).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

fn balancing_from_env() -> anyhow::Result<Balancing> {
    let defaults = Balancing::default();
    let interval = parse_var::<u64>("CAREBOOK_HEALTH_CHECK_INTERVAL_MS")?;
    ensure!(
        interval.is_none_or(|ms| ms >= 10),
        "CAREBOOK_HEALTH_CHECK_INTERVAL_MS must be at least 10"
    );
    let refresh = parse_var::<u64>("CAREBOOK_DNS_REFRESH_SECS")?;
    ensure!(
        refresh.is_none_or(|secs| secs >= 1),
        "CAREBOOK_DNS_REFRESH_SECS must be at least 1"
    );
    let percent = parse_var::<u32>("CAREBOOK_RETRY_BUDGET_PERCENT")?;
    ensure!(
        percent.is_none_or(|p| p <= 100),
        "CAREBOOK_RETRY_BUDGET_PERCENT must be 0 to 100"
    );
    Ok(Balancing {
        health_check_interval: interval
            .map_or(defaults.health_check_interval, Duration::from_millis),
        dns_refresh: refresh.map_or(defaults.dns_refresh, Duration::from_secs),
        retry_budget_percent: percent.unwrap_or(defaults.retry_budget_percent),
        idle_connection_timeout: ShutdownPlan::from_env()?.idle_connection_timeout(),
    })
}

fn rate_limits_from_env() -> anyhow::Result<RateLimits> {
    let per_minute = |key: &str, default: NonZeroU32| -> anyhow::Result<NonZeroU32> {
        match parse_var::<u32>(key)? {
            Some(limit) => {
                NonZeroU32::new(limit).with_context(|| format!("{key} must be at least 1"))
            }
            None => Ok(default),
        }
    };
    Ok(RateLimits {
        per_minute: per_minute(
            "CAREBOOK_RATE_LIMIT_PER_MINUTE",
            RateLimits::DEFAULT_PER_MINUTE,
        )?,
        login_per_minute: per_minute(
            "CAREBOOK_LOGIN_RATE_LIMIT_PER_MINUTE",
            RateLimits::DEFAULT_LOGIN_PER_MINUTE,
        )?,
    })
}

fn redis_from_env() -> anyhow::Result<Option<RedisSettings>> {
    let prefix = var("CAREBOOK_REDIS_PREFIX");
    var("CAREBOOK_REDIS_URL")
        .map(|url| {
            let prefix = prefix.as_deref().unwrap_or(RedisSettings::DEFAULT_PREFIX);
            RedisSettings::new(url.trim(), prefix.trim())
        })
        .transpose()
}

fn tls_from_env() -> anyhow::Result<Option<TlsConfig>> {
    match (var("CAREBOOK_TLS_CERT"), var("CAREBOOK_TLS_KEY")) {
        (Some(cert), Some(key)) => {
            TlsConfig::from_pem_files(&PathBuf::from(cert), &PathBuf::from(key)).map(Some)
        }
        (None, None) => Ok(None),
        _ => anyhow::bail!("CAREBOOK_TLS_CERT and CAREBOOK_TLS_KEY must be set together"),
    }
}

/// Backends are reached over plain HTTP: TLS ends at the edge (the gateway or a proxy before it).
/// `dns+http://name:port` stands for every address of `name`.
fn check_urls(service: Service, urls: &[String]) -> anyhow::Result<()> {
    let key = format!("CAREBOOK_{}_URL", service.name().to_uppercase());
    ensure!(!urls.is_empty(), "{key} lists no instance");
    for url in urls {
        let uri: Uri = without_dns_prefix(url)
            .parse()
            .with_context(|| format!("{key}: {url} is not a URL"))?;
        ensure!(
            uri.scheme_str() == Some("http") && uri.authority().is_some(),
            "{key}: {url} is not an http://host:port URL"
        );
        ensure!(uri.query().is_none(), "{key}: {url} must not have a query");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(url: &str) -> anyhow::Result<()> {
        check_urls(Service::Patients, &[url.to_owned()])
    }

    #[test]
    fn accepts_http_urls_with_or_without_a_path() {
        assert!(check("http://127.0.0.1:8081").is_ok());
        assert!(check("http://patients.carebook.svc:8081/base").is_ok());
        assert!(check("dns+http://appointments-headless:8083").is_ok());
    }

    #[test]
    fn rejects_what_the_proxy_could_not_reach() {
        for bad in [
            "https://patients:8081",
            "patients:8081",
            "http://",
            "not a url",
            "http://p?x=1",
            "dns+https://p:1",
            "dns:http://p:1",
        ] {
            let err = check(bad).expect_err(bad);
            assert!(
                err.to_string().starts_with("CAREBOOK_PATIENTS_URL"),
                "{err}"
            );
        }
        assert!(check_urls(Service::Doctors, &[]).is_err());
    }

    #[test]
    fn gathers_every_list_given_for_a_service() {
        let config = GatewayConfig::new(
            vec![
                (Service::Patients, vec!["http://a".to_owned()]),
                (Service::Doctors, vec!["http://b".to_owned()]),
                (Service::Patients, vec!["http://c".to_owned()]),
            ],
            "{}",
        );
        assert_eq!(
            config.instances(Service::Patients),
            ["http://a", "http://c"]
        );
        assert!(config.instances(Service::Appointments).is_empty());
    }
}
