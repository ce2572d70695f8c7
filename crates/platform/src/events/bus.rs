use std::sync::Arc;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{AmqpBus, Handler, LocalBus, Subscription, lag, relay};
use crate::db::Db;
use crate::outbox::Envelope;

/// Where events go: the in-process bus of the embedded mode, or RabbitMQ.
#[derive(Debug, Clone)]
pub enum EventBus {
    Local(LocalBus),
    Amqp(AmqpBus),
}

impl EventBus {
    /// RabbitMQ at `amqp_url` when given, else the in-process bus. `topology` lists every
    /// durable subscription of the deployment (`contracts::events::TOPOLOGY`).
    pub fn new(amqp_url: Option<&str>, topology: &'static [Subscription]) -> Self {
        match amqp_url {
            Some(url) => Self::Amqp(AmqpBus::new(url, topology)),
            None => Self::Local(LocalBus::new(topology)),
        }
    }

    /// From `CAREBOOK_AMQP_URL`.
    pub fn from_env(topology: &'static [Subscription]) -> Self {
        Self::new(crate::config::var("CAREBOOK_AMQP_URL").as_deref(), topology)
    }

    /// Publishes `source`'s outbox from `db` until `shutdown`, waking on commits and polling
    /// every `CAREBOOK_RELAY_POLL_MS` besides.
    pub fn spawn_relay(
        &self,
        source: &'static str,
        db: Db,
        shutdown: CancellationToken,
    ) -> JoinHandle<()> {
        let poll = relay::poll_interval().unwrap_or_else(|err| {
            tracing::error!(error = %err, "using the default relay poll interval");
            relay::DEFAULT_POLL
        });
        tokio::spawn(lag::watch_outbox(source, db.clone(), shutdown.clone()));
        tokio::spawn(relay::run(db, self.clone(), source, poll, shutdown))
    }

    /// Hands every event of the durable queue `queue` to `handler`, once per event id, until
    /// `shutdown`. Several consumers of one queue (instances of a service) share its events.
    pub fn spawn_consumer(
        &self,
        queue: &'static str,
        db: Db,
        handler: Arc<dyn Handler>,
        shutdown: CancellationToken,
    ) -> JoinHandle<()> {
        match self {
            Self::Local(bus) => {
                let bus = bus.clone();
                tokio::spawn(async move { bus.consume(queue, db, handler, shutdown).await })
            }
            Self::Amqp(bus) => {
                tokio::spawn(lag::watch_queue(bus.clone(), queue, shutdown.clone()));
                let bus = bus.clone();
                tokio::spawn(async move { bus.consume(queue, db, handler, shutdown).await })
            }
        }
    }

    /// Calls `on_event` in this process for every event of `event_types`, e.g. to drop cached
    /// copies of what changed. Best effort and not durable: for caches only.
    pub fn spawn_listener(
        &self,
        event_types: &'static [&'static str],
        on_event: impl Fn(&Envelope) + Send + Sync + 'static,
        shutdown: CancellationToken,
    ) -> JoinHandle<()> {
        match self {
            Self::Local(bus) => {
                let mut events = bus.listen();
                tokio::spawn(async move {
                    loop {
                        let event = tokio::select! {
                            () = shutdown.cancelled() => return,
                            event = events.recv() => event,
                        };
                        match event {
                            Ok(event) if event_types.contains(&event.event_type.as_str()) => {
                                on_event(&event);
                            }
                            Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                        }
                    }
                })
            }
            Self::Amqp(bus) => {
                let bus = bus.clone();
                let on_event = Arc::new(on_event);
                tokio::spawn(async move { bus.listen(event_types, on_event, shutdown).await })
            }
        }
    }

    /// For `/health/ready`: whether the broker can be reached.
    pub async fn check(&self) -> Result<(), String> {
        match self {
            Self::Local(_) => Ok(()),
            Self::Amqp(bus) => bus
                .connection()
                .await
                .map(|_| ())
                .map_err(|_| "message broker unreachable".to_owned()),
        }
    }

    /// Publishes a batch as the relay does; also how an operator (or a test) redelivers
    /// stored envelopes. Consumers are idempotent, so a repeat changes nothing.
    pub async fn publish(&self, batch: &[Envelope]) -> anyhow::Result<()> {
        match self {
            Self::Local(bus) => bus.publish(batch).await,
            Self::Amqp(bus) => bus.publish(batch).await,
        }
    }
}
