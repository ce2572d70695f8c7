//! The billing service: every approved appointment gets an invoice at the fee of the clinic's
//! price list; the invoice follows the appointment (voided on a timely cancellation or a
//! rejection, a fee on a late cancellation or a no-show) and is paid by its patient or ADMIN.
//! Invoice events go out through the outbox.

mod api;
mod config;
mod fees;
mod handler;
pub mod payments;
mod policy;
mod privacy;
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
use platform::time::Clock;
use tokio_util::sync::CancellationToken;

pub use crate::config::Config;
pub use crate::fees::PriceList;
pub use crate::handler::BillingHandler;
pub use crate::payments::{Payments, PaymentsConfig};
pub use crate::privacy::Retention;

use crate::store::InvoiceStore;

pub static MIGRATIONS: Migrations = Migrations {
    sqlite: &sqlx::migrate!("./migrations/sqlite"),
    postgres: &sqlx::migrate!("./migrations/postgres"),
};

#[derive(Debug, Clone)]
pub struct AppState {
    store: InvoiceStore,
    clock: Clock,
    /// Card payments through the provider; `None` when not configured.
    payments: Option<Arc<Payments>>,
}

/// Connects, migrates, starts the event consumer and the outbox relay (both stopping on
/// `shutdown`), and returns the service's whole HTTP app.
pub async fn app(
    config: Config,
    bus: &EventBus,
    shutdown: &CancellationToken,
) -> anyhow::Result<Router> {
    let db = Db::open(config.database_url.as_str(), &MIGRATIONS).await?;
    let handler = Arc::new(BillingHandler::new(config.prices, config.clock.clone()));
    bus.spawn_consumer(queues::BILLING, db.clone(), handler, shutdown.clone());
    bus.spawn_relay(Service::Billing.name(), db.clone(), shutdown.clone());
    let retention = Retention::new(db.clone(), config.retention_years);
    tokio::spawn(platform::retention::run(
        "invoices",
        config.clock,
        platform::retention::SWEEP_INTERVAL,
        shutdown.clone(),
        move |now| {
            let retention = retention.clone();
            async move { retention.sweep(now).await }
        },
    ));
    let payments = config.payments.map(Payments::new).transpose()?;
    Ok(router(
        db.clone(),
        &config.identity_urls,
        payments,
        Readiness::database_and_bus(db, bus.clone()),
    ))
}

/// The whole HTTP app: API, audit trail, health and metrics.
pub fn router(
    db: Db,
    identity_urls: &[String],
    payments: Option<Payments>,
    readiness: Readiness,
) -> Router {
    let store = InvoiceStore::new(db);
    let audit = store.audit().clone();
    let state = AppState {
        store,
        clock: Clock::system(),
        payments: payments.map(Arc::new),
    };
    let (api, _) = api::routes().split_for_parts();
    service_app(
        Service::Billing.name(),
        api.route(
            contracts::privacy::EXPORT_ROUTE,
            axum::routing::get(privacy::export_part),
        )
        .with_state(state)
        .merge(platform::audit::api::router(audit)),
        readiness,
        Authenticator::for_identity(identity_urls),
    )
}

/// The service's OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api::routes().into_openapi()
}
