//! The appointment service: bookings, and the lifecycle
//! `REQUESTED → APPROVED | REJECTED | CANCELLED`, `APPROVED → CANCELLED | COMPLETED | NO_SHOW`.
//! Two active appointments of one doctor or one patient never overlap: the database refuses it.

mod api;
mod booking;
mod directory;
mod domain;
mod erasure;
mod policy;
mod store;

use std::path::Path;
use std::time::Duration;

use axum::Router;
use contracts::clients::{DoctorsClient, PatientsClient};
use contracts::events::types;
use platform::ApiError;
use platform::audit::{Action, AuditContext};
use platform::auth::Authenticator;
use platform::client::ServiceClient;
use platform::config::{ClinicConfig, DatabaseUrl, Service};
use platform::db::{Db, Migrations};
use platform::events::EventBus;
use platform::server::{Readiness, service_app};
use tokio_util::sync::CancellationToken;

use crate::directory::Directory;
use crate::policy::Sealed;
use crate::store::AppointmentStore;

pub static MIGRATIONS: Migrations = Migrations {
    sqlite: &sqlx::migrate!("./migrations/sqlite"),
    postgres: &sqlx::migrate!("./migrations/postgres"),
};

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: DatabaseUrl,
    pub patients_urls: Vec<String>,
    pub doctors_urls: Vec<String>,
    pub identity_urls: Vec<String>,
    pub clinic: ClinicConfig,
    pub call_timeout: Duration,
    /// `CAREBOOK_IDEMPOTENCY_TTL_HOURS` (default 24): how long a key replays its answer.
    pub idempotency_ttl: Duration,
}

impl Config {
    pub fn from_env(data_dir: &Path) -> anyhow::Result<Self> {
        Ok(Self {
            database_url: Service::Appointments.database_url(data_dir),
            patients_urls: Service::Patients.urls(),
            doctors_urls: Service::Doctors.urls(),
            identity_urls: Service::Identity.urls(),
            clinic: ClinicConfig::from_env()?,
            call_timeout: Duration::from_secs(3),
            idempotency_ttl: Duration::from_secs(
                3600 * platform::config::parse_var::<u64>("CAREBOOK_IDEMPOTENCY_TTL_HOURS")?
                    .unwrap_or(24),
            ),
        })
    }
}

#[derive(Debug, Clone)]
pub struct AppState {
    store: AppointmentStore,
    directory: Directory,
    clinic: ClinicConfig,
}

impl AppState {
    /// The appointment, sealed until the policy opens it; 404 when there is none.
    async fn find(&self, id: i64) -> platform::Result<Sealed> {
        self.store.find(id).await?.ok_or_else(|| not_found(id))
    }

    /// A change's success was audited in its own transaction; a refusal or failure is recorded
    /// here, on its own.
    async fn failure_audited<T>(
        &self,
        ctx: &AuditContext,
        patient_id: i64,
        action: Action,
        resource: &str,
        result: platform::Result<T>,
    ) -> platform::Result<T> {
        if result.is_ok() {
            return result;
        }
        let audit = self.store.audit();
        audit
            .outcome(ctx, Some(patient_id), action, resource, result)
            .await
    }
}

fn not_found(id: i64) -> ApiError {
    ApiError::NotFound(format!("Appointment {id} does not exist."))
}

/// Connects, migrates, starts the outbox relay, and returns the service's whole HTTP app.
pub async fn app(
    config: Config,
    bus: &EventBus,
    shutdown: &CancellationToken,
) -> anyhow::Result<Router> {
    let db = Db::open(config.database_url.as_str(), &MIGRATIONS).await?;
    bus.spawn_relay(Service::Appointments.name(), db.clone(), shutdown.clone());
    let auth = Authenticator::for_identity(&config.identity_urls);
    let patients = ServiceClient::new(
        Service::Patients.name(),
        config.patients_urls,
        config.call_timeout,
    )?;
    let doctors = ServiceClient::new(
        Service::Doctors.name(),
        config.doctors_urls,
        config.call_timeout,
    )?;
    let store = AppointmentStore::new(db.clone(), config.idempotency_ttl);
    let audit = store.audit().clone();
    let directory = Directory::new(PatientsClient(patients), DoctorsClient(doctors));
    let cached = directory.clone();
    bus.spawn_consumer(
        contracts::events::queues::APPOINTMENTS,
        db.clone(),
        std::sync::Arc::new(erasure::ErasureHandler),
        shutdown.clone(),
    );
    bus.spawn_listener(
        &[types::PATIENT_UPDATED, types::PATIENT_ERASED],
        move |event| {
            if let Some(id) = event.data.get("patientId").and_then(|v| v.as_i64()) {
                cached.forget_patient(id);
            }
        },
        shutdown.clone(),
    );
    let state = AppState {
        store,
        directory,
        clinic: config.clinic,
    };
    let (api, _) = api::routes().split_for_parts();
    Ok(service_app(
        Service::Appointments.name(),
        api.route(
            contracts::privacy::EXPORT_ROUTE,
            axum::routing::get(erasure::export_part),
        )
        .with_state(state)
        .merge(platform::audit::api::router(audit)),
        Readiness::database_and_bus(db, bus.clone()),
        auth,
    ))
}

/// The service's OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api::routes().into_openapi()
}
