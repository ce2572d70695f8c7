//! The patient service: patient profiles, and the patient's way to request an appointment.

mod api;
mod domain;
mod export;
mod policy;
mod store;

use std::path::Path;
use std::time::Duration;

use axum::Router;
use contracts::clients::{AppointmentsClient, ExportPartClient};
use jiff::Timestamp;
use jiff::civil::Date;
use platform::audit::AuditLog;
use platform::auth::{Authenticator, ServiceTokens};
use platform::client::ServiceClient;
use platform::config::{ClinicConfig, DatabaseUrl, Service, var};
use platform::db::{Db, Migrations};
use platform::events::EventBus;
use platform::server::{Readiness, service_app};
use tokio_util::sync::CancellationToken;

use crate::export::ExportSources;
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
    pub notifications_urls: Vec<String>,
    pub records_urls: Vec<String>,
    pub billing_urls: Vec<String>,
    pub clinic: ClinicConfig,
    pub call_timeout: Duration,
    /// `CAREBOOK_SERVICE_SECRET`, traded for the `SERVICE` token that exports ask every
    /// service's part with; without it exports answer 503.
    pub service_secret: Option<String>,
    /// How long an export waits for every service's part together.
    pub export_deadline: Duration,
}

impl Config {
    pub fn from_env(data_dir: &Path) -> anyhow::Result<Self> {
        Ok(Self {
            database_url: Service::Patients.database_url(data_dir),
            appointments_urls: Service::Appointments.urls(),
            identity_urls: Service::Identity.urls(),
            notifications_urls: Service::Notifications.urls(),
            records_urls: Service::Records.urls(),
            billing_urls: Service::Billing.urls(),
            clinic: ClinicConfig::from_env()?,
            call_timeout: Duration::from_secs(5),
            service_secret: var("CAREBOOK_SERVICE_SECRET"),
            export_deadline: Duration::from_secs(8),
        })
    }
}

#[derive(Debug, Clone)]
pub struct AppState {
    store: PatientStore,
    policy: Policy,
    audit: AuditLog,
    appointments: AppointmentsClient,
    exports: ExportSources,
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
    let exports = export_sources(&config)?;
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
        exports,
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

fn export_sources(config: &Config) -> anyhow::Result<ExportSources> {
    // A service the deployment runs without (no URL) makes exports answer 503, not the
    // patient service fail to start.
    let part = |service: Service, urls: &[String]| -> anyhow::Result<Option<ExportPartClient>> {
        if urls.is_empty() {
            return Ok(None);
        }
        let client = ServiceClient::new(service.name(), urls.to_vec(), config.export_deadline)?;
        Ok(Some(ExportPartClient(client)))
    };
    let tokens = match &config.service_secret {
        Some(secret) => Some(std::sync::Arc::new(ServiceTokens::new(
            &config.identity_urls,
            secret.clone(),
        )?)),
        None => None,
    };
    Ok(ExportSources {
        tokens,
        identity: part(Service::Identity, &config.identity_urls)?,
        appointments: part(Service::Appointments, &config.appointments_urls)?,
        notifications: part(Service::Notifications, &config.notifications_urls)?,
        records: part(Service::Records, &config.records_urls)?,
        billing: part(Service::Billing, &config.billing_urls)?,
        deadline: config.export_deadline,
    })
}

/// The service's OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api::routes().into_openapi()
}
