//! The notification service: appointment events become notifications to patients and doctors
//! (stored `IN_APP`, and sent by e-mail and SMS where configured) and reminders before
//! confirmed appointments. A worker delivers them with retries; contact data is asked of the
//! patient and doctor services at delivery time, never copied from events.

mod api;
mod channels;
mod config;
mod directory;
mod domain;
mod erasure;
mod handler;
mod policy;
mod rules;
mod store;
mod templates;
#[cfg(test)]
mod tests;
mod webhooks;
mod worker;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use contracts::clients::{DoctorsClient, PatientsClient};
use contracts::events::queues;
use jiff::tz::TimeZone;
use platform::audit::AuditLog;
use platform::auth::{Authenticator, ServiceTokens};
use platform::client::ServiceClient;
use platform::config::Service;
use platform::db::{Db, Migrations};
use platform::events::EventBus;
use platform::outbox::Envelope;
use platform::server::{Readiness, service_app};
use platform::time::Clock;
use tokio_util::sync::CancellationToken;

pub use crate::channels::{SmsConfig, SmtpConfig};
pub use crate::config::{Config, parse_reminder_hours};
pub use crate::directory::{Directory, PROFILE_EVENTS};
pub use crate::handler::NotificationHandler;
pub use crate::store::ReminderPass;
pub use crate::webhooks::Webhooks;
pub use crate::worker::{DeliveryPass, MAX_ATTEMPTS, Worker};

use crate::channels::{Channels, Mailer, SmsSender};
use crate::store::NotificationStore;
use crate::templates::Templates;

/// Connections of the delivery worker's own pool: it claims and records one pass at a time.
const WORKER_POOL: u32 = 1;

pub static MIGRATIONS: Migrations = Migrations {
    sqlite: &sqlx::migrate!("./migrations/sqlite"),
    postgres: &sqlx::migrate!("./migrations/postgres"),
};

#[derive(Debug, Clone)]
pub struct AppState {
    store: NotificationStore,
    audit: AuditLog,
    directory: Directory,
    channels: Channels,
    templates: Arc<Templates>,
    clock: Clock,
}

/// The service assembled but not yet running: its routes, event handler and worker.
#[derive(Debug)]
pub struct NotificationService {
    db: Db,
    state: AppState,
    handler: Arc<NotificationHandler>,
    worker: Worker,
    webhooks: Webhooks,
    auth: Authenticator,
    poll_interval: Duration,
}

impl NotificationService {
    /// Connects, migrates and assembles the service.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        config.validate()?;
        let db = Db::open(config.database_url.as_str(), &MIGRATIONS).await?;
        // The delivery worker's bookkeeping does not queue behind requests and the consumer.
        let worker_db = db.with_own_pool(WORKER_POOL).await?;
        Self::assemble(config, db, worker_db)
    }

    /// Assembles the service on an open, migrated database (the worker shares its pool).
    pub fn with_db(config: Config, db: Db) -> anyhow::Result<Self> {
        Self::assemble(config, db.clone(), db)
    }

    fn assemble(config: Config, db: Db, worker_db: Db) -> anyhow::Result<Self> {
        config.validate()?;
        let secret = config.service_secret.clone().unwrap_or_default();
        let tokens = ServiceTokens::new(&config.identity_urls, secret)?;
        let client = |service: Service, urls: Vec<String>| {
            ServiceClient::new(service.name(), urls, config.call_timeout)
        };
        let patients = PatientsClient(client(Service::Patients, config.patients_urls.clone())?);
        let doctors = DoctorsClient(client(Service::Doctors, config.doctors_urls.clone())?);
        let directory = Directory::new(patients, doctors, tokens);
        let channels = Channels {
            email: config.smtp.as_ref().map(Mailer::new).transpose()?,
            sms: config.sms.clone().map(SmsSender::new).transpose()?,
        };
        let templates = Arc::new(Templates::load()?);
        let audit = AuditLog::new(db.clone(), Service::Notifications.name());
        let store = NotificationStore::new(db.clone(), audit.clone());
        let handler = NotificationHandler::new(
            channels.enabled(),
            config.reminder_offsets_minutes.clone(),
            config.clock.clone(),
        );
        let worker = Worker {
            store: NotificationStore::new(worker_db, audit.clone()),
            directory: directory.clone(),
            channels: channels.clone(),
            templates: templates.clone(),
            clinic_zone: config.clinic.timezone.clone(),
            clock: config.clock.clone(),
            lease: config::delivery_lease()?,
        };
        let webhooks = Webhooks::new(
            db.clone(),
            config.clock.clone(),
            config.allow_private_webhooks,
        )?;
        let state = AppState {
            store,
            audit,
            directory,
            channels,
            templates,
            clock: config.clock,
        };
        Ok(Self {
            db,
            state,
            handler: Arc::new(handler),
            worker,
            webhooks,
            auth: Authenticator::for_identity(&config.identity_urls),
            poll_interval: config.poll_interval,
        })
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The handler of the `notifications` queue.
    pub fn handler(&self) -> Arc<NotificationHandler> {
        self.handler.clone()
    }

    /// The delivery worker, to step in tests or to [`Worker::run`].
    pub fn worker(&self) -> Worker {
        self.worker.clone()
    }

    /// Webhook subscriptions and their delivery worker.
    pub fn webhooks(&self) -> Webhooks {
        self.webhooks.clone()
    }

    /// Recipients' contact data, cached; `invalidate_patient` / `invalidate_doctor` drop entries.
    pub fn directory(&self) -> &Directory {
        &self.state.directory
    }

    /// For `EventBus::spawn_listener(PROFILE_EVENTS, …)`: drops cached contact data of the
    /// patient or doctor a `PatientRegistered/Updated` or `DoctorCreated/Updated` names.
    pub fn cache_invalidator(&self) -> impl Fn(&Envelope) + Send + Sync + 'static {
        self.state.directory.invalidator()
    }

    /// The clinic's zone, in which patients see times.
    pub fn clinic_zone(&self) -> &TimeZone {
        &self.worker.clinic_zone
    }

    /// The whole HTTP app: API, audit trail, health and metrics.
    pub fn router(&self, readiness: Readiness) -> Router {
        let (api, _) = api::routes().split_for_parts();
        let (hooks, _) = Webhooks::routes().split_for_parts();
        service_app(
            Service::Notifications.name(),
            api.route(
                contracts::privacy::EXPORT_ROUTE,
                axum::routing::get(erasure::export_part),
            )
            .with_state(self.state.clone())
            .merge(hooks.with_state(self.webhooks.clone()))
            .merge(platform::audit::api::router(self.state.audit.clone())),
            readiness,
            self.auth.clone(),
        )
    }
}

/// Connects, migrates, starts the event consumer, the cache listener and the delivery worker
/// (all stopping on `shutdown`), and returns the service's whole HTTP app.
pub async fn app(
    config: Config,
    bus: &EventBus,
    shutdown: &CancellationToken,
) -> anyhow::Result<Router> {
    let service = NotificationService::build(config).await?;
    let db = service.db().clone();
    bus.spawn_consumer(
        queues::NOTIFICATIONS,
        db.clone(),
        service.handler(),
        shutdown.clone(),
    );
    bus.spawn_listener(
        PROFILE_EVENTS,
        service.cache_invalidator(),
        shutdown.clone(),
    );
    tokio::spawn(
        service
            .worker()
            .run(service.poll_interval, shutdown.clone()),
    );
    tokio::spawn(
        service
            .webhooks()
            .run(service.poll_interval, shutdown.clone()),
    );
    Ok(service.router(Readiness::database_and_bus(db, bus.clone())))
}

/// The service's OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = api::routes().into_openapi();
    doc.merge(Webhooks::routes().into_openapi());
    doc
}
