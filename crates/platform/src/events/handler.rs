use futures::future::BoxFuture;
use sqlx::AnyConnection;
use tracing::Instrument;

use crate::outbox::Envelope;
use crate::telemetry::traces;

/// What a consuming service does with the events it subscribes to.
///
/// `handle` runs inside the consumer's database transaction. The framework records the
/// event id in the service's inbox in that same transaction and commits, and only then
/// acknowledges the message, so a crash at any point means a redelivery that the inbox
/// turns into a no-op. An `Err` rolls everything back; the event is retried with backoff and
/// dead-lettered after repeated failures.
pub trait Handler: Send + Sync + 'static {
    fn handle<'a>(
        &'a self,
        conn: &'a mut AnyConnection,
        event: &'a Envelope,
    ) -> BoxFuture<'a, anyhow::Result<()>>;

    /// Runs on the events of `batch`, in their order, inside one transaction: the events the
    /// consumer had not handled yet, whose inbox rows that transaction writes. The default calls
    /// [`Handler::handle`] on each, in the span of its own event's trace; a handler overrides it
    /// to write a batch's rows in fewer statements. An `Err` rolls the whole batch back.
    fn handle_batch<'a>(
        &'a self,
        conn: &'a mut AnyConnection,
        batch: Batch<'a>,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            for event in batch.events() {
                self.handle(conn, event)
                    .instrument(batch.span(event))
                    .await?;
            }
            Ok(())
        })
    }

    /// Whether handling `event` erased personal data, so that the database's free space is
    /// scrubbed once it commits ([`crate::db::Db::scrub_erased`]).
    fn erases(&self, _event: &Envelope) -> bool {
        false
    }
}

/// A consuming service's queue and the event types it wants.
#[derive(Debug, Clone)]
pub struct Subscription {
    /// The queue's name, e.g. `notifications`; one durable queue per consuming service.
    pub queue: &'static str,
    /// Event types (routing keys), e.g. `AppointmentApproved`.
    pub event_types: &'static [&'static str],
}

impl Subscription {
    pub fn wants(&self, event_type: &str) -> bool {
        self.event_types.contains(&event_type)
    }
}

/// Events a consumer handles in one transaction, in delivery order.
#[derive(Debug, Clone, Copy)]
pub struct Batch<'a> {
    consumer: &'a str,
    events: &'a [&'a Envelope],
}

impl<'a> Batch<'a> {
    pub fn new(consumer: &'a str, events: &'a [&'a Envelope]) -> Self {
        Self { consumer, events }
    }

    pub fn events(&self) -> &'a [&'a Envelope] {
        self.events
    }

    /// The span of the consumer's handling of `event`, in the trace of the request that
    /// committed it.
    pub fn span(&self, event: &Envelope) -> tracing::Span {
        traces::consumer_span(
            self.consumer,
            &event.event_type,
            &event.id.to_string(),
            event.traceparent.as_deref(),
        )
    }
}
