//! Configuration read from `CAREBOOK_*` environment variables (see the README's table).

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::tz::TimeZone;

use crate::time::parse_zone;

/// Every process carebook can run, with its default port (API.md "Conventions").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    Gateway,
    Patients,
    Doctors,
    Appointments,
    Notifications,
    Identity,
    Billing,
    Records,
    Analytics,
    Web,
}

impl Service {
    pub const BACKENDS: [Service; 9] = [
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

    pub fn name(self) -> &'static str {
        match self {
            Self::Gateway => "gateway",
            Self::Patients => "patients",
            Self::Doctors => "doctors",
            Self::Appointments => "appointments",
            Self::Notifications => "notifications",
            Self::Identity => "identity",
            Self::Billing => "billing",
            Self::Records => "records",
            Self::Analytics => "analytics",
            Self::Web => "web",
        }
    }

    pub fn default_port(self) -> u16 {
        match self {
            Self::Gateway => 8080,
            Self::Patients => 8081,
            Self::Doctors => 8082,
            Self::Appointments => 8083,
            Self::Notifications => 8084,
            Self::Identity => 8085,
            Self::Billing => 8087,
            Self::Records => 8086,
            Self::Analytics => 8088,
            Self::Web => 8089,
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        std::iter::once(Self::Gateway)
            .chain(Self::BACKENDS)
            .find(|s| s.name() == name)
    }

    fn env_key(self, suffix: &str) -> String {
        format!("CAREBOOK_{}_{suffix}", self.name().to_uppercase())
    }

    /// `CAREBOOK_<SERVICE>_DATABASE_URL`, else a SQLite file in the data directory.
    pub fn database_url(self, data_dir: &Path) -> DatabaseUrl {
        DatabaseUrl(var(&self.env_key("DATABASE_URL")).unwrap_or_else(|| {
            let file = data_dir.join(format!("{}.db", self.name()));
            format!("sqlite://{}", file.display())
        }))
    }

    /// `CAREBOOK_<SERVICE>_URL` (comma-separated instances), else its default local port. An
    /// entry may be `dns+http://name:port`: every address the name resolves to is an instance,
    /// and the name is resolved again and again (see [`DNS_PREFIX`]).
    pub fn urls(self) -> Vec<String> {
        match var(&self.env_key("URL")) {
            Some(list) => list
                .split(',')
                .map(|u| u.trim().trim_end_matches('/').to_owned())
                .filter(|u| !u.is_empty())
                .collect(),
            None => vec![format!("http://127.0.0.1:{}", self.default_port())],
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Marks an instance URL whose host name stands for every address it resolves to (a headless
/// Kubernetes Service): the gateway re-resolves it periodically and balances over the addresses;
/// services calling each other resolve it at each new connection, trying every address.
pub const DNS_PREFIX: &str = "dns+";

/// The URL to connect to: `url` without the [`DNS_PREFIX`].
pub fn without_dns_prefix(url: &str) -> &str {
    url.strip_prefix(DNS_PREFIX).unwrap_or(url)
}

/// A database URL; its `Debug` hides credentials so configs can be logged.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<String> for DatabaseUrl {
    fn from(url: String) -> Self {
        Self(url)
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `scheme://user:password@host/db` → `scheme://***@host/db`
        match (self.0.split_once("://"), self.0.rsplit_once('@')) {
            (Some((scheme, _)), Some((_, rest))) => write!(f, "\"{scheme}://***@{rest}\""),
            _ => write!(f, "{:?}", self.0),
        }
    }
}

/// Settings every service reads the same way.
#[derive(Debug, Clone)]
pub struct ClinicConfig {
    /// `CAREBOOK_TIMEZONE`: how offset-less request instants are read.
    pub timezone: TimeZone,
    /// `CAREBOOK_CANCELLATION_WINDOW_HOURS`: a patient cancelling later is marked late.
    pub cancellation_window: Duration,
    /// `CAREBOOK_MAX_ACTIVE_PER_PATIENT`: active future appointments one patient may hold.
    pub max_active_per_patient: u32,
    /// `CAREBOOK_MAX_VISIT_MINUTES`: the longest visit doctors offer (multiples of their slot).
    pub max_visit_minutes: u32,
}

impl ClinicConfig {
    pub fn from_env() -> anyhow::Result<Self> {
        let timezone = match var("CAREBOOK_TIMEZONE") {
            Some(name) => parse_zone(&name).map_err(anyhow::Error::msg)?,
            None => TimeZone::UTC,
        };
        let hours: u64 = parse_var("CAREBOOK_CANCELLATION_WINDOW_HOURS")?.unwrap_or(24);
        let defaults = Self::default();
        let max_visit_minutes =
            parse_var("CAREBOOK_MAX_VISIT_MINUTES")?.unwrap_or(defaults.max_visit_minutes);
        crate::values::VisitMinutes::parse(max_visit_minutes)
            .map_err(|message| anyhow::anyhow!("CAREBOOK_MAX_VISIT_MINUTES {message}"))?;
        Ok(Self {
            timezone,
            cancellation_window: Duration::from_secs(hours * 3600),
            max_active_per_patient: parse_var("CAREBOOK_MAX_ACTIVE_PER_PATIENT")?
                .unwrap_or(defaults.max_active_per_patient),
            max_visit_minutes,
        })
    }
}

impl Default for ClinicConfig {
    fn default() -> Self {
        Self {
            timezone: TimeZone::UTC,
            cancellation_window: Duration::from_secs(24 * 3600),
            max_active_per_patient: 5,
            max_visit_minutes: crate::values::DEFAULT_OFFERED_MAX_MINUTES,
        }
    }
}

/// `CAREBOOK_DATA_DIR`, default `./carebook-data`.
pub fn data_dir() -> PathBuf {
    var("CAREBOOK_DATA_DIR").map_or_else(|| PathBuf::from("carebook-data"), PathBuf::from)
}

/// A non-empty environment variable.
pub fn var(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.trim().is_empty())
}

/// A variable that must parse when present.
pub fn parse_var<T: std::str::FromStr>(key: &str) -> anyhow::Result<Option<T>> {
    var(key)
        .map(|raw| {
            raw.trim()
                .parse()
                .map_err(|_| anyhow::anyhow!("{key} has an invalid value"))
        })
        .transpose()
}

/// Variables this build understands; others with our prefix are probably typos.
const KNOWN: &[&str] = &[
    "CAREBOOK_DATA_DIR",
    "CAREBOOK_LISTEN",
    "CAREBOOK_TIMEZONE",
    "CAREBOOK_CANCELLATION_WINDOW_HOURS",
    "CAREBOOK_MAX_ACTIVE_PER_PATIENT",
    "CAREBOOK_MAX_VISIT_MINUTES",
    "CAREBOOK_IDEMPOTENCY_TTL_HOURS",
    "CAREBOOK_DB_MAX_CONNECTIONS",
    "CAREBOOK_LOG_FORMAT",
    "CAREBOOK_MAX_BODY_BYTES",
    "CAREBOOK_UPSTREAM_TIMEOUT_SECS",
    "CAREBOOK_ADMIN_EMAIL",
    "CAREBOOK_ADMIN_PASSWORD",
    "CAREBOOK_LOGIN_MAX_FAILURES",
    "CAREBOOK_SERVICE_SECRET",
    "CAREBOOK_MASTER_KEY",
    "CAREBOOK_AMQP_URL",
    "CAREBOOK_WEBHOOKS_ALLOW_PRIVATE",
    "CAREBOOK_RATE_LIMIT_PER_MINUTE",
    "CAREBOOK_LOGIN_RATE_LIMIT_PER_MINUTE",
    "CAREBOOK_TRUSTED_PROXIES",
    "CAREBOOK_REDIS_URL",
    "CAREBOOK_REDIS_PREFIX",
    "CAREBOOK_CORS_ORIGINS",
    "CAREBOOK_TLS_CERT",
    "CAREBOOK_TLS_KEY",
    "CAREBOOK_REMINDER_HOURS",
    "CAREBOOK_SMTP_URL",
    "CAREBOOK_SMTP_FROM",
    "CAREBOOK_SMS_URL",
    "CAREBOOK_SMS_ACCOUNT_SID",
    "CAREBOOK_SMS_AUTH_TOKEN",
    "CAREBOOK_SMS_FROM",
    "CAREBOOK_SERVICE_PORTS",
    "CAREBOOK_BILLING_CURRENCY",
    "CAREBOOK_BILLING_DEFAULT_FEE",
    "CAREBOOK_BILLING_DOCTOR_FEES",
    "CAREBOOK_BILLING_SERVICE_FEES",
    "CAREBOOK_BILLING_LATE_FEE_PERCENT",
    "CAREBOOK_PAYMENTS_URL",
    "CAREBOOK_PAYMENTS_SECRET_KEY",
    "CAREBOOK_PAYMENTS_WEBHOOK_SECRET",
    "CAREBOOK_PAYMENTS_WEBHOOK_TOLERANCE_SECS",
    "CAREBOOK_MAX_UPLOAD_MB",
    "CAREBOOK_RECORDS_KEYS",
    "CAREBOOK_RECORDS_KEY_FILE",
    "CAREBOOK_RECORDS_BLOB_URL",
    "CAREBOOK_RETENTION_INVOICES_YEARS",
    "CAREBOOK_RETENTION_RECORDS_YEARS",
    "CAREBOOK_OUTBOX_RETENTION_DAYS",
    "CAREBOOK_SHUTDOWN_DRAIN_MS",
    "CAREBOOK_SHUTDOWN_GRACE_SECS",
    "CAREBOOK_HEALTH_CHECK_INTERVAL_MS",
    "CAREBOOK_DNS_REFRESH_SECS",
    "CAREBOOK_RETRY_BUDGET_PERCENT",
    "CAREBOOK_WEB_SESSION_IDLE_MINUTES",
];

/// Names of `CAREBOOK_*` variables that nothing reads, to warn about at start.
pub fn unknown_vars() -> Vec<String> {
    std::env::vars()
        .map(|(k, _)| k)
        .filter(|k| k.starts_with("CAREBOOK_"))
        .filter(|k| !KNOWN.contains(&k.as_str()))
        .filter(|k| {
            !Service::BACKENDS
                .iter()
                .chain([Service::Gateway].iter())
                .any(|s| *k == s.env_key("URL") || *k == s.env_key("DATABASE_URL"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::DatabaseUrl;

    #[test]
    fn database_url_debug_hides_credentials() {
        let url = DatabaseUrl::from("postgres://carebook:s3cret@db:5432/patients".to_owned());
        assert_eq!(format!("{url:?}"), "\"postgres://***@db:5432/patients\"");
        let file = DatabaseUrl::from("sqlite://data/patients.db".to_owned());
        assert_eq!(format!("{file:?}"), "\"sqlite://data/patients.db\"");
    }
}
