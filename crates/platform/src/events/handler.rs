use futures::future::BoxFuture;
use sqlx::AnyConnection;

use crate::outbox::Envelope;

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
