//! The doctor service: doctor profiles, weekly working hours, time off, the free slots that
//! follow from them, and the availability answer the appointment service books against.

mod api;
mod domain;
mod policy;
mod store;

/// The doctor store, for the benchmark's database ceilings (the same queries as the service).
pub use store::DoctorStore;

use std::path::Path;
use std::time::Duration;

use axum::Router;
use contracts::clients::AppointmentsClient;
use contracts::doctors::Doctor;
use jiff::tz::TimeZone;
use platform::auth::Authenticator;
use platform::client::ServiceClient;
use platform::config::{ClinicConfig, DatabaseUrl, Service};
use platform::db::{Db, Migrations};
use platform::events::EventBus;
use platform::server::{Readiness, service_app};
use platform::time::parse_zone;
use tokio_util::sync::CancellationToken;

use crate::domain::schedule::WeeklyHours;
use crate::domain::slots::WorkingCalendar;

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
            database_url: Service::Doctors.database_url(data_dir),
            appointments_urls: Service::Appointments.urls(),
            identity_urls: Service::Identity.urls(),
            clinic: ClinicConfig::from_env()?,
            call_timeout: Duration::from_secs(5),
        })
    }
}

#[derive(Debug, Clone)]
pub struct AppState {
    store: DoctorStore,
    appointments: AppointmentsClient,
    clinic: ClinicConfig,
}

impl AppState {
    /// The zone a doctor's working hours are in: their own, else the clinic's.
    fn zone_of(&self, doctor: &Doctor) -> TimeZone {
        doctor
            .timezone
            .as_deref()
            .and_then(|name| parse_zone(name).ok())
            .unwrap_or_else(|| self.clinic.timezone.clone())
    }

    /// The doctor's working week: the stored schedule, else the default one.
    async fn calendar_of(&self, doctor: &Doctor) -> platform::Result<WorkingCalendar> {
        let hours = self.store.working_hours(doctor.id).await?;
        Ok(self.calendar_with(doctor, hours))
    }

    /// The doctor's working week from hours already read (`None`: the default one).
    fn calendar_with(&self, doctor: &Doctor, hours: Option<WeeklyHours>) -> WorkingCalendar {
        WorkingCalendar::new(
            self.zone_of(doctor),
            hours.unwrap_or_else(WeeklyHours::standard),
            doctor.slot_minutes,
        )
    }
}

/// Connects, migrates, starts the outbox relay, and returns the service's whole HTTP app.
pub async fn app(
    config: Config,
    bus: &EventBus,
    shutdown: &CancellationToken,
) -> anyhow::Result<Router> {
    let db = Db::open(config.database_url.as_str(), &MIGRATIONS).await?;
    bus.spawn_relay(Service::Doctors.name(), db.clone(), shutdown.clone());
    let auth = Authenticator::for_identity(&config.identity_urls);
    let appointments = ServiceClient::new(
        Service::Appointments.name(),
        config.appointments_urls,
        config.call_timeout,
    )?;
    let state = AppState {
        store: DoctorStore::new(db.clone()),
        appointments: AppointmentsClient(appointments),
        clinic: config.clinic,
    };
    let (api, _) = api::routes().split_for_parts();
    Ok(service_app(
        Service::Doctors.name(),
        api.with_state(state),
        Readiness::database_and_bus(db, bus.clone()),
        auth,
    ))
}

/// The service's OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api::routes().into_openapi()
}
