//! The patient service: patient profiles, and the patient's way to request an appointment.

mod api;
mod domain;
mod policy;
mod store;

use std::path::Path;
use std::time::Duration;

use axum::Router;
use contracts::clients::AppointmentsClient;
use jiff::Timestamp;
use jiff::civil::Date;
use platform::audit::AuditLog;
use platform::auth::Authenticator;
use platform::client::ServiceClient;
use platform::config::{ClinicConfig, DatabaseUrl, Service};
use platform::db::{Db, Migrations};
use platform::events::EventBus;
use platform::server::{Readiness, service_app};
use tokio_util::sync::CancellationToken;

use crate::policy::Policy;
use crate::store::PatientStore;

pub static MIGRATIONS: Migrations = Migrations {
    sqlite: &sqlx::migrate!("./migrations/sqlite"),
    postgres: &sqlx::migrate!("./migrations/postgres"),
};

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: DatabaseUrl,
    pub appointments_urls: Vec<String>,
    pub identity_urls: Vec<String>,
    pub clinic: ClinicConfig,
    pub call_timeout: Duration,
}

impl Config {
    pub fn from_env(data_dir: &Path) -> anyhow::Result<Self> {
        Ok(Self {
            database_url: Service::Patients.database_url(data_dir),
            appointments_urls: Service::Appointments.urls(),
            identity_urls: Service::Identity.urls(),
            clinic: ClinicConfig::from_env()?,
            call_timeout: Duration::from_secs(5),
        })
    }
}

#[derive(Debug, Clone)]
pub struct AppState {
    store: PatientStore,
    policy: Policy,
    audit: AuditLog,
    appointments: AppointmentsClient,
    clinic: ClinicConfig,
}

impl AppState {
    /// Today's date in the clinic's zone (what "a past date of birth" is measured against).
    fn today(&self) -> Date {
        Timestamp::now()
            .to_zoned(self.clinic.timezone.clone())
            .date()
    }
}

/// Connects, migrates, starts the outbox relay, and returns the service's whole HTTP app.
pub async fn app(
    config: Config,
    bus: &EventBus,
    shutdown: &CancellationToken,
) -> anyhow::Result<Router> {
    let db = Db::open(config.database_url.as_str(), &MIGRATIONS).await?;
    bus.spawn_relay(Service::Patients.name(), db.clone(), shutdown.clone());
    let auth = Authenticator::for_identity(&config.identity_urls);
    let appointments = ServiceClient::new(
        Service::Appointments.name(),
        config.appointments_urls,
        config.call_timeout,
    )?;
    let appointments = AppointmentsClient(appointments);
    let audit = AuditLog::new(db.clone(), Service::Patients.name());
    let state = AppState {
        store: PatientStore::new(db.clone(), audit.clone()),
        policy: Policy::new(appointments.clone()),
        audit: audit.clone(),
        appointments,
        clinic: config.clinic,
    };
    let (api, _) = api::routes().split_for_parts();
    Ok(service_app(
        Service::Patients.name(),
        api.with_state(state)
            .merge(platform::audit::api::router(audit)),
        Readiness::database_and_bus(db, bus.clone()),
        auth,
    ))
}

/// The service's OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api::routes().into_openapi()
}
