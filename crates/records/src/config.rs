//! The record service's settings.

use std::path::{Path, PathBuf};
use std::time::Duration;

use platform::config::{DatabaseUrl, Service, parse_var, var};
use platform::master_key::MasterKey;
use platform::time::Clock;

use crate::keys::KeySource;

/// `CAREBOOK_MAX_UPLOAD_MB` when unset.
pub const DEFAULT_MAX_UPLOAD_MB: u64 = 20;

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: DatabaseUrl,
    pub identity_urls: Vec<String>,
    pub patients_urls: Vec<String>,
    pub doctors_urls: Vec<String>,
    /// `CAREBOOK_RECORDS_KEYS`, else the key file (`CAREBOOK_RECORDS_KEY_FILE`, default
    /// `<data dir>/records.keys`).
    pub keys: KeySource,
    /// Opens the key file: `CAREBOOK_MASTER_KEY`, else the data directory's `master.key` when
    /// there is one (`carebook up` makes it on the first start).
    pub master_key: Option<MasterKey>,
    /// `CAREBOOK_RECORDS_BLOB_URL`, default the directory `<data dir>/records-blobs`.
    pub blob_location: String,
    /// `CAREBOOK_MAX_UPLOAD_MB`, in bytes.
    pub max_upload_bytes: u64,
    pub call_timeout: Duration,
    /// `CAREBOOK_RETENTION_RECORDS_YEARS`: how long an erased patient's records are kept.
    pub retention_years: u32,
    /// What time it is for the retention job.
    pub clock: Clock,
}

impl Config {
    pub fn from_env(data_dir: &Path) -> anyhow::Result<Self> {
        let keys = match var("CAREBOOK_RECORDS_KEYS") {
            Some(list) => KeySource::List(list),
            None => KeySource::File(key_file(data_dir)),
        };
        let master_key = match MasterKey::from_env()? {
            Some(key) => Some(key),
            None if matches!(keys, KeySource::File(_)) => MasterKey::load(data_dir)?,
            None => None,
        };
        let blob_location = var("CAREBOOK_RECORDS_BLOB_URL")
            .unwrap_or_else(|| data_dir.join("records-blobs").display().to_string());
        Ok(Self {
            database_url: Service::Records.database_url(data_dir),
            identity_urls: Service::Identity.urls(),
            patients_urls: Service::Patients.urls(),
            doctors_urls: Service::Doctors.urls(),
            keys,
            master_key,
            blob_location,
            max_upload_bytes: max_upload_bytes()?,
            call_timeout: Duration::from_secs(5),
            retention_years: platform::retention::years_from_env(
                "CAREBOOK_RETENTION_RECORDS_YEARS",
                platform::retention::DEFAULT_RECORD_YEARS,
            )?,
            clock: Clock::system(),
        })
    }
}

/// Where the key file is: `CAREBOOK_RECORDS_KEY_FILE`, default `<data dir>/records.keys`.
pub fn key_file(data_dir: &Path) -> PathBuf {
    var("CAREBOOK_RECORDS_KEY_FILE").map_or_else(|| data_dir.join("records.keys"), PathBuf::from)
}

/// `CAREBOOK_MAX_UPLOAD_MB` (default 20) in bytes; the gateway lets this much through too.
pub fn max_upload_bytes() -> anyhow::Result<u64> {
    let mb = parse_var::<u64>("CAREBOOK_MAX_UPLOAD_MB")?.unwrap_or(DEFAULT_MAX_UPLOAD_MB);
    anyhow::ensure!(
        (1..=1024).contains(&mb),
        "CAREBOOK_MAX_UPLOAD_MB must be 1 to 1024"
    );
    Ok(mb * 1024 * 1024)
}
