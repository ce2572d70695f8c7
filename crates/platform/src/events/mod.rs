//! Events between services: the outbox relay publishes what each service committed, and
//! consumers handle each event exactly once per service (an inbox table remembers event ids).
//! In the embedded mode the bus is in-process; with `CAREBOOK_AMQP_URL` it is RabbitMQ. The
//! outbox, the relay and the consumers are the same code either way.

mod amqp;
mod bus;
mod handler;
mod inbox;
mod lag;
mod local;
mod relay;
pub(crate) mod wake;

pub use amqp::{AmqpBus, EXCHANGE};
pub use bus::EventBus;
pub use handler::{Batch, Handler, Subscription};
pub use inbox::{Delivered, deliver, deliver_batch};
pub use local::LocalBus;
pub use relay::relay_once;

#[cfg(test)]
mod tests;

/// How long to wait after the `attempt`-th failure in a row: 100 ms, 200 ms, 400 ms, … capped
/// at 10 s (retried deliveries, the relay, the broker and listener connections).
pub(crate) fn backoff(attempt: u32) -> std::time::Duration {
    let millis = 100u64.saturating_mul(1 << attempt.min(7).saturating_sub(1));
    std::time::Duration::from_millis(millis).min(std::time::Duration::from_secs(10))
}
