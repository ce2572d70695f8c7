//! The analytics service's configuration, from `CAREBOOK_*` variables (see the README).

use std::path::Path;

use platform::config::{ClinicConfig, DatabaseUrl, Service};

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: DatabaseUrl,
    pub identity_urls: Vec<String>,
    /// The clinic's time zone decides which day an event belongs to.
    pub clinic: ClinicConfig,
}

impl Config {
    pub fn from_env(data_dir: &Path) -> anyhow::Result<Self> {
        Ok(Self {
            database_url: Service::Analytics.database_url(data_dir),
            identity_urls: Service::Identity.urls(),
            clinic: ClinicConfig::from_env()?,
        })
    }
}
