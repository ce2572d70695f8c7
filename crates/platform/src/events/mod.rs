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
pub use handler::{Handler, Subscription};
pub use inbox::{Delivered, deliver, deliver_batch};
pub use local::LocalBus;
pub use relay::relay_once;

#[cfg(test)]
mod tests;
