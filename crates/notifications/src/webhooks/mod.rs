//! Webhooks: integrators subscribe a URL to event types; each matching event is POSTed there,
//! signed, and retried until the receiver accepts it. Deliveries are recorded in the same
//! transaction that handles the event, so an event is neither lost nor delivered twice to one
//! subscription by this service (a receiver may still see a retry of a delivery it answered too
//! slowly: `x-carebook-delivery` names it).

mod api;
mod delivery;
mod rows;
mod store;
mod target;

use platform::db::Db;
use platform::time::Clock;
use tokio_util::sync::CancellationToken;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use delivery::{Sender, deliver_due};
use store::WebhookStore;
pub use store::enqueue;

/// What the webhook routes and worker share.
#[derive(Debug, Clone)]
pub struct Webhooks {
    store: WebhookStore,
    sender: Sender,
    clock: Clock,
    /// `CAREBOOK_WEBHOOKS_ALLOW_PRIVATE`: accept targets on loopback and private ranges.
    allow_private: bool,
}

#[derive(OpenApi)]
#[openapi(tags((name = "webhooks", description = "Signed event deliveries to integrators")))]
struct ApiDoc;

impl Webhooks {
    pub fn new(db: Db, clock: Clock, allow_private: bool) -> anyhow::Result<Self> {
        Ok(Self {
            store: WebhookStore::new(db),
            sender: Sender::new(allow_private)?,
            clock,
            allow_private,
        })
    }

    pub fn routes() -> OpenApiRouter<Webhooks> {
        OpenApiRouter::with_openapi(ApiDoc::openapi())
            .routes(routes!(api::create, api::list))
            .routes(routes!(api::delete))
            .routes(routes!(api::deliveries))
    }

    /// Sends due deliveries every `every` until `shutdown`.
    pub async fn run(self, every: std::time::Duration, shutdown: CancellationToken) {
        loop {
            match deliver_due(&self.store, &self.sender, &self.clock).await {
                Ok(sent) if sent > 0 => continue,
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %format!("{err:#}"), "webhook delivery failed"),
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(every) => {}
            }
        }
    }
}
