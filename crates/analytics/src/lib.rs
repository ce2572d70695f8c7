//! The analytics service: clinic figures (appointments by status, day, doctor and speciality;
//! cancellation, late-cancellation and no-show rates; revenue; new patients) kept as read
//! models built from every service's events, on its own queue and inbox. `rebuild` replays
//! the services' outbox history into fresh read models.

mod api;
mod config;
mod handler;
mod policy;
mod query;
mod rebuild;
mod store;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use axum::Router;
use contracts::events::queues;
use platform::auth::Authenticator;
use platform::config::Service;
use platform::db::{Db, Migrations};
use platform::events::EventBus;
use platform::server::{Readiness, service_app};
use tokio_util::sync::CancellationToken;

pub use crate::config::Config;
pub use crate::handler::AnalyticsHandler;
pub use crate::rebuild::{PUBLISHERS, Rebuilt, rebuild};
pub use crate::store::TABLES;
pub use crate::store::facts::day_of;

use crate::store::FiguresStore;

pub static MIGRATIONS: Migrations = Migrations {
    sqlite: &sqlx::migrate!("./migrations/sqlite"),
    postgres: &sqlx::migrate!("./migrations/postgres"),
};

#[derive(Debug, Clone)]
pub struct AppState {
    store: FiguresStore,
}

/// Connects, migrates, starts the event consumer (stopping on `shutdown`), and returns the
/// service's whole HTTP app. Analytics publishes nothing, so it runs no relay.
pub async fn app(
    config: Config,
    bus: &EventBus,
    shutdown: &CancellationToken,
) -> anyhow::Result<Router> {
    let db = Db::open(config.database_url.as_str(), &MIGRATIONS).await?;
    let handler = Arc::new(AnalyticsHandler::new(config.clinic.timezone.clone()));
    bus.spawn_consumer(queues::ANALYTICS, db.clone(), handler, shutdown.clone());
    Ok(router(
        db.clone(),
        &config.identity_urls,
        Readiness::database_and_bus(db, bus.clone()),
    ))
}

/// The whole HTTP app: API, health and metrics.
pub fn router(db: Db, identity_urls: &[String], readiness: Readiness) -> Router {
    let state = AppState {
        store: FiguresStore::new(db),
    };
    let (api, _) = api::routes().split_for_parts();
    service_app(
        Service::Analytics.name(),
        api.with_state(state),
        readiness,
        Authenticator::for_identity(identity_urls),
    )
}

/// The service's OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api::routes().into_openapi()
}

/// Bulk read-model data for the benchmark, through the store's own tables.
pub mod seeding {
    pub use crate::store::seeding::{recount, seed_appointments};
}
