//! The web app's configuration, from `CAREBOOK_*` variables (see the README).

use std::path::Path;
use std::time::Duration;

use platform::config::{ClinicConfig, DatabaseUrl, Service};

#[derive(Debug, Clone)]
pub struct Config {
    /// Where the sessions live.
    pub database_url: DatabaseUrl,
    /// The public API the pages call with the user's tokens: the gateway.
    pub api_url: String,
    /// The web app serves no API; its health and metrics come with the platform's app, which
    /// names where tokens are verified.
    pub identity_urls: Vec<String>,
    /// `CAREBOOK_MAX_UPLOAD_MB`, as the records service reads it, with room for the form.
    pub max_upload_bytes: usize,
    /// A session nobody used for this long is over (shared clinic computers).
    pub idle_timeout: Duration,
    /// The clinic's zone (times are shown in it when the browser did not say its own) and
    /// cancellation window (the late-cancellation warning).
    pub clinic: ClinicConfig,
}

const DEFAULT_IDLE_MINUTES: u64 = 30;

impl Config {
    pub fn from_env(data_dir: &Path) -> anyhow::Result<Self> {
        let idle_minutes = match std::env::var("CAREBOOK_WEB_SESSION_IDLE_MINUTES") {
            Ok(raw) => raw.trim().parse::<u64>().ok().filter(|m| *m > 0).ok_or_else(|| {
                anyhow::anyhow!("CAREBOOK_WEB_SESSION_IDLE_MINUTES must be a whole number of minutes above 0")
            })?,
            Err(_) => DEFAULT_IDLE_MINUTES,
        };
        let api_url = Service::Gateway
            .urls()
            .into_iter()
            .next()
            .ok_or_else(|| anyhow::anyhow!("CAREBOOK_GATEWAY_URL names no address"))?;
        Ok(Self {
            database_url: Service::Web.database_url(data_dir),
            api_url: platform::config::without_dns_prefix(&api_url).to_owned(),
            identity_urls: Service::Identity.urls(),
            max_upload_bytes: upload_limit()?,
            idle_timeout: Duration::from_secs(idle_minutes * 60),
            clinic: ClinicConfig::from_env()?,
        })
    }
}

/// The upload limit of the records service (`CAREBOOK_MAX_UPLOAD_MB`, default 20) plus 64 KiB for
/// the form's other fields.
fn upload_limit() -> anyhow::Result<usize> {
    let megabytes = match std::env::var("CAREBOOK_MAX_UPLOAD_MB") {
        Ok(raw) => raw
            .trim()
            .parse::<usize>()
            .map_err(|_| anyhow::anyhow!("CAREBOOK_MAX_UPLOAD_MB must be a whole number"))?,
        Err(_) => 20,
    };
    Ok(megabytes * 1024 * 1024 + 64 * 1024)
}
