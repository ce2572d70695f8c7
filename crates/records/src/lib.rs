//! The medical records service: prescriptions, lab reports, diagnoses, notes and imaging, with
//! an optional file each. Text and files are sealed with AES-256-GCM at rest, files live in an
//! object store, every access is audited, and only the patient, ADMIN and the doctors caring
//! for the patient (learned from appointment events) may see them.

mod api;
mod blobs;
pub mod config;
mod directory;
mod domain;
mod files;
mod handler;
pub mod key_file;
pub mod keys;
mod policy;
mod privacy;
mod retention;
mod rotate;
mod seal;
mod store;
mod view;

use std::sync::Arc;

use axum::Router;
use contracts::clients::{DoctorsClient, PatientsClient};
use contracts::events::queues;
use platform::audit::AuditLog;
use platform::auth::Authenticator;
use platform::client::ServiceClient;
use platform::config::Service;
use platform::db::{Db, Migrations};
use platform::events::EventBus;
use platform::server::{Readiness, service_app};
use tokio_util::sync::CancellationToken;

pub use crate::config::{Config, key_file, max_upload_bytes};
pub use crate::handler::CareHandler;
pub use crate::retention::Retention;
pub use crate::rotate::{Rotation, rotate_key};

use crate::blobs::Blobs;
use crate::directory::Directory;
use crate::keys::Keys;
use crate::policy::Policy;
use crate::store::RecordStore;

pub static MIGRATIONS: Migrations = Migrations {
    sqlite: &sqlx::migrate!("./migrations/sqlite"),
    postgres: &sqlx::migrate!("./migrations/postgres"),
};

#[derive(Debug, Clone)]
pub struct AppState {
    store: RecordStore,
    policy: Policy,
    audit: AuditLog,
    keys: Keys,
    blobs: Blobs,
    max_upload_bytes: u64,
}

/// Connects, migrates, starts the outbox relay and the care-relationship consumer (both
/// stopping on `shutdown`), and returns the service's whole HTTP app.
pub async fn app(
    config: Config,
    bus: &EventBus,
    shutdown: &CancellationToken,
) -> anyhow::Result<Router> {
    let keys = Keys::load(config.keys.clone(), config.master_key.clone())?;
    let blobs = Blobs::open(&config.blob_location)?;
    let db = Db::open(config.database_url.as_str(), &MIGRATIONS).await?;
    bus.spawn_relay(Service::Records.name(), db.clone(), shutdown.clone());
    bus.spawn_consumer(
        queues::RECORDS,
        db.clone(),
        Arc::new(CareHandler),
        shutdown.clone(),
    );
    let client = |service: Service, urls: Vec<String>| {
        ServiceClient::new(service.name(), urls, config.call_timeout)
    };
    let directory = Directory::new(
        PatientsClient(client(Service::Patients, config.patients_urls.clone())?),
        DoctorsClient(client(Service::Doctors, config.doctors_urls.clone())?),
    );
    let store = RecordStore::new(db.clone());
    let retention = Retention::new(store.clone(), blobs.clone(), config.retention_years);
    tokio::spawn(platform::retention::run(
        "medical records",
        config.clock.clone(),
        platform::retention::SWEEP_INTERVAL,
        shutdown.clone(),
        move |now| {
            let retention = retention.clone();
            async move { retention.sweep(now).await }
        },
    ));
    let audit = AuditLog::new(db.clone(), Service::Records.name());
    let state = AppState {
        policy: Policy::new(store.clone(), directory),
        store,
        audit: audit.clone(),
        keys,
        blobs,
        max_upload_bytes: config.max_upload_bytes,
    };
    let (api, _) = api::routes(config.max_upload_bytes).split_for_parts();
    Ok(service_app(
        Service::Records.name(),
        api.route(
            contracts::privacy::EXPORT_ROUTE,
            axum::routing::get(privacy::export_part),
        )
        .with_state(state)
        .merge(platform::audit::api::router(audit)),
        Readiness::database_and_bus(db, bus.clone()),
        Authenticator::for_identity(&config.identity_urls),
    ))
}

/// The service's OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api::routes(0).into_openapi()
}
