use futures::future::BoxFuture;
use sqlx::AnyConnection;
use tracing::Instrument;

use crate::outbox::Envelope;
use crate::telemetry::traces;

/// What a consuming service does with the events it subscribes to. A handler implements
/// [`Handler::handle`] (one event at a time), [`Handler::handle_batch`] (a batch's rows in
/// fewer statements), or both. Each one's default calls the other, so a handler must
/// implement at least one of them.
///
/// Both run inside the consumer's database transaction. The framework records the event ids
/// in the service's inbox in that same transaction and commits, and only then acknowledges the
/// messages, so a crash at any point means a redelivery that the inbox turns into a no-op. An
/// `Err` rolls everything back; the events are retried with backoff and dead-lettered after
/// repeated failures.
pub trait Handler: Send + Sync + 'static {
    /// Runs on one event. The default hands it to [`Handler::handle_batch`] alone, in the
    /// current span.
    fn handle<'a>(
        &'a self,
        conn: &'a mut AnyConnection,
        event: &'a Envelope,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let events = [event];
            self.handle_batch(conn, Batch::current(&events)).await
        })
    }

    /// Runs on the events of `batch`, in their order, inside one transaction: the events the
    /// consumer had not handled yet, whose inbox rows that transaction writes. The default calls
    /// [`Handler::handle`] on each, in the span of its own event's trace. An `Err` rolls the
    /// whole batch back.
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

    /// The source whose outbox this handler appends events to, if it does: its relay is woken
    /// once the batch commits ([`crate::outbox::commit`]).
    fn outbox(&self) -> Option<&'static str> {
        None
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
    /// The consuming queue, whose span each event is handled in; none: the current span.
    consumer: Option<&'a str>,
    events: &'a [&'a Envelope],
}

impl<'a> Batch<'a> {
    /// Deliveries from `consumer`'s queue.
    pub fn new(consumer: &'a str, events: &'a [&'a Envelope]) -> Self {
        Self {
            consumer: Some(consumer),
            events,
        }
    }

    /// Events handled in the current span (a replay, a test).
    pub fn current(events: &'a [&'a Envelope]) -> Self {
        Self {
            consumer: None,
            events,
        }
    }

    pub fn events(&self) -> &'a [&'a Envelope] {
        self.events
    }

    /// The span of the consumer's handling of `event`, in the trace of the request that
    /// committed it.
    pub fn span(&self, event: &Envelope) -> tracing::Span {
        let Some(consumer) = self.consumer else {
            return tracing::Span::current();
        };
        traces::consumer_span(
            consumer,
            &event.event_type,
            &event.id.to_string(),
            event.traceparent.as_deref(),
        )
    }
}
