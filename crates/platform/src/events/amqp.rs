//! RabbitMQ: a durable topic exchange `carebook.events` (routing key = event type), one durable
//! quorum queue per consuming service with a dead-letter queue beside it, persistent messages
//! and publisher confirms. Every process declares the whole topology when it connects, so a
//! queue exists (and collects its events) before its consumer first starts.

use std::sync::Arc;
use std::time::Duration;

use futures::{FutureExt, StreamExt};
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::uri::AMQPUri;
use lapin::{
    BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, ExchangeKind,
};
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use super::inbox::{MAX_BATCH, Outcome, deliver_all_with_retries};
use super::{Handler, Subscription};
use crate::db::Db;
use crate::outbox::Envelope;

pub const EXCHANGE: &str = "carebook.events";
const DEAD_LETTER_EXCHANGE: &str = "carebook.dead-letter";
const TRACEPARENT: &str = "traceparent";
/// Unacknowledged deliveries a consumer holds at once: the batch it is handling and the next
/// one, already here when the first commits (with one batch only, the next would trickle in
/// after the acknowledgement and be handled a few events a transaction).
const PREFETCH: u16 = 2 * MAX_BATCH as u16;
/// A publish whose confirms take longer than this is retried (the inbox absorbs repeats).
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest frame asked of the broker unless the URL names one (`?frame_max=`). The client
/// keeps a send and a receive buffer of 32 frames each: at RabbitMQ's default of 128 KiB that
/// is 8 MiB per process. An event is a few hundred bytes; a larger one is split into frames.
const FRAME_MAX: u32 = 16 * 1024;

#[derive(Clone)]
pub struct AmqpBus(Arc<Inner>);

struct Inner {
    url: String,
    topology: &'static [Subscription],
    connection: Mutex<Option<Arc<Connection>>>,
    /// The relay's channel, in confirm mode.
    publisher: Mutex<Option<Channel>>,
}

/// The broker's URL with [`FRAME_MAX`] unless it names a frame size of its own.
fn with_frame_max(url: &str) -> anyhow::Result<AMQPUri> {
    let mut uri: AMQPUri = url
        .parse()
        .map_err(|err: String| anyhow::anyhow!("the message broker's URL: {err}"))?;
    uri.query.frame_max.get_or_insert(FRAME_MAX);
    Ok(uri)
}

impl std::fmt::Debug for AmqpBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry credentials.
        f.debug_struct("AmqpBus").finish_non_exhaustive()
    }
}

impl AmqpBus {
    /// Connects lazily, on first use, and again whenever the connection is lost.
    pub fn new(url: &str, topology: &'static [Subscription]) -> Self {
        Self(Arc::new(Inner {
            url: url.to_owned(),
            topology,
            connection: Mutex::default(),
            publisher: Mutex::default(),
        }))
    }

    /// The live connection, (re)connecting and declaring the topology when there is none.
    pub(crate) async fn connection(&self) -> anyhow::Result<Arc<Connection>> {
        let mut current = self.0.connection.lock().await;
        if let Some(connection) = current.as_ref().filter(|c| c.status().connected()) {
            return Ok(connection.clone());
        }
        let connection = Connection::connect_uri(
            with_frame_max(&self.0.url)?,
            ConnectionProperties::default(),
        )
        .await?;
        let connection = Arc::new(connection);
        declare_topology(&connection.create_channel().await?, self.0.topology).await?;
        tracing::info!("connected to the message broker");
        *current = Some(connection.clone());
        Ok(connection)
    }

    pub(crate) async fn publish(&self, batch: &[Envelope]) -> anyhow::Result<()> {
        let mut publisher = self.0.publisher.lock().await;
        let channel = match publisher.as_ref().filter(|c| c.status().connected()) {
            Some(channel) => channel.clone(),
            None => {
                let channel = self.connection().await?.create_channel().await?;
                channel
                    .confirm_select(ConfirmSelectOptions::default())
                    .await?;
                *publisher = Some(channel.clone());
                channel
            }
        };
        // The whole batch is in flight at once: the window is bounded by the batch size.
        let mut confirms = Vec::with_capacity(batch.len());
        for event in batch {
            let properties = BasicProperties::default()
                .with_delivery_mode(2)
                .with_content_type("application/json".into())
                .with_message_id(event.id.to_string().as_str().into())
                .with_type(event.event_type.as_str().into())
                .with_headers(trace_headers(event));
            let confirm = channel
                .basic_publish(
                    EXCHANGE.into(),
                    event.event_type.as_str().into(),
                    BasicPublishOptions::default(),
                    &serde_json::to_vec(event)?,
                    properties,
                )
                .await?;
            confirms.push(confirm);
        }
        let confirmed = tokio::time::timeout(CONFIRM_TIMEOUT, futures::future::join_all(confirms))
            .await
            .map_err(|_| anyhow::anyhow!("the broker did not confirm in time"))?;
        for confirmation in confirmed {
            anyhow::ensure!(
                matches!(confirmation?, Confirmation::Ack(_)),
                "the broker refused an event"
            );
        }
        Ok(())
    }

    /// Consumes `queue` until `shutdown`, reconnecting after failures.
    pub(crate) async fn consume(
        &self,
        queue: &'static str,
        db: Db,
        handler: Arc<dyn Handler>,
        shutdown: CancellationToken,
    ) {
        let mut failures = 0;
        loop {
            match self
                .consume_once(queue, &db, handler.as_ref(), &shutdown)
                .await
            {
                Ok(()) => return,
                Err(err) => {
                    failures += 1;
                    tracing::warn!(queue, failures, error = %format!("{err:#}"), "event consumer lost its channel");
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(super::backoff(failures + 2)) => {}
            }
        }
    }

    async fn consume_once(
        &self,
        queue: &'static str,
        db: &Db,
        handler: &dyn Handler,
        shutdown: &CancellationToken,
    ) -> anyhow::Result<()> {
        let channel = self.connection().await?.create_channel().await?;
        channel
            .basic_qos(PREFETCH, BasicQosOptions::default())
            .await?;
        let mut deliveries = channel
            .basic_consume(
                queue.into(),
                "".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        'consume: loop {
            let next = tokio::select! {
                () = shutdown.cancelled() => break,
                next = deliveries.next() => next,
            };
            let first =
                next.ok_or_else(|| anyhow::anyhow!("the broker cancelled the consumer"))??;
            // What else has arrived, up to the prefetch, is handled in the same transaction.
            let mut batch = vec![first];
            let mut failed = None;
            while batch.len() < MAX_BATCH {
                match deliveries.next().now_or_never() {
                    Some(Some(Ok(delivery))) => batch.push(delivery),
                    Some(Some(Err(err))) => {
                        failed = Some(err);
                        break;
                    }
                    Some(None) | None => break,
                }
            }
            let mut readable = Vec::with_capacity(batch.len());
            for delivery in batch {
                match serde_json::from_slice::<Envelope>(&delivery.data) {
                    Ok(mut event) => {
                        if event.traceparent.is_none() {
                            event.traceparent = traceparent_header(&delivery.properties);
                        }
                        readable.push((delivery, event));
                    }
                    Err(_) => {
                        tracing::error!(queue, "unreadable message dead-lettered");
                        delivery.acker.nack(dead_letter()).await?;
                    }
                }
            }
            let events: Vec<&Envelope> = readable.iter().map(|(_, event)| event).collect();
            let outcomes = deliver_all_with_retries(db, queue, handler, &events, shutdown).await;
            if let Some((last, _)) = readable
                .last()
                .filter(|_| outcomes.iter().all(|o| matches!(o, Outcome::Done)))
            {
                // Everything before it is settled already: one acknowledgement for all.
                let all = BasicAckOptions { multiple: true };
                last.acker.ack(all).await?;
            } else {
                for ((delivery, _), outcome) in readable.iter().zip(outcomes) {
                    match outcome {
                        Outcome::Done => delivery.acker.ack(BasicAckOptions::default()).await?,
                        Outcome::DeadLetter(_) => delivery.acker.nack(dead_letter()).await?,
                        Outcome::Abandoned => break 'consume,
                    };
                }
            }
            if let Some(err) = failed {
                return Err(err.into());
            }
        }
        let _ = channel.close(200, "shutting down".into()).await;
        Ok(())
    }

    /// Calls `on_event` for every event of `event_types` that reaches this process, through a
    /// queue of its own that disappears with the connection. Best effort: for caches.
    pub(crate) async fn listen(
        &self,
        event_types: &'static [&'static str],
        on_event: Arc<dyn Fn(&Envelope) + Send + Sync>,
        shutdown: CancellationToken,
    ) {
        let mut failures = 0;
        loop {
            match self
                .listen_once(event_types, on_event.as_ref(), &shutdown)
                .await
            {
                Ok(()) => return,
                Err(err) => {
                    failures += 1;
                    tracing::warn!(failures, error = %format!("{err:#}"), "event listener lost its channel");
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(super::backoff(failures + 2)) => {}
            }
        }
    }

    async fn listen_once(
        &self,
        event_types: &[&str],
        on_event: &(dyn Fn(&Envelope) + Send + Sync),
        shutdown: &CancellationToken,
    ) -> anyhow::Result<()> {
        let channel = self.connection().await?.create_channel().await?;
        let options = QueueDeclareOptions {
            exclusive: true,
            auto_delete: true,
            ..QueueDeclareOptions::default()
        };
        let queue = channel
            .queue_declare("".into(), options, FieldTable::default())
            .await?;
        for event_type in event_types {
            channel
                .queue_bind(
                    queue.name().clone(),
                    EXCHANGE.into(),
                    (*event_type).into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await?;
        }
        let no_ack = BasicConsumeOptions {
            no_ack: true,
            ..BasicConsumeOptions::default()
        };
        let mut deliveries = channel
            .basic_consume(
                queue.name().clone(),
                "".into(),
                no_ack,
                FieldTable::default(),
            )
            .await?;
        loop {
            let next = tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                next = deliveries.next() => next,
            };
            let delivery =
                next.ok_or_else(|| anyhow::anyhow!("the broker cancelled the listener"))??;
            if let Ok(event) = serde_json::from_slice::<Envelope>(&delivery.data) {
                on_event(&event);
            }
        }
    }
}

/// The event's trace context as the W3C `traceparent` message header, for tools that follow
/// traces through the broker.
fn trace_headers(event: &Envelope) -> FieldTable {
    let mut headers = FieldTable::default();
    if let Some(traceparent) = &event.traceparent {
        headers.insert(
            TRACEPARENT.into(),
            AMQPValue::LongString(traceparent.as_str().into()),
        );
    }
    headers
}

/// The `traceparent` header of a message another publisher sent without it in the envelope.
fn traceparent_header(properties: &BasicProperties) -> Option<String> {
    match properties.headers().as_ref()?.inner().get(TRACEPARENT)? {
        AMQPValue::LongString(value) => String::from_utf8(value.as_bytes().to_vec()).ok(),
        _ => None,
    }
}

fn dead_letter() -> BasicNackOptions {
    BasicNackOptions {
        multiple: false,
        requeue: false,
    }
}

/// The exchanges, and for each subscription its quorum queue, bindings and dead-letter queue.
/// Arguments must be identical wherever a queue is declared, so they are made only here.
async fn declare_topology(channel: &Channel, topology: &[Subscription]) -> anyhow::Result<()> {
    let durable = ExchangeDeclareOptions {
        durable: true,
        ..ExchangeDeclareOptions::default()
    };
    channel
        .exchange_declare(
            EXCHANGE.into(),
            ExchangeKind::Topic,
            durable,
            FieldTable::default(),
        )
        .await?;
    channel
        .exchange_declare(
            DEAD_LETTER_EXCHANGE.into(),
            ExchangeKind::Direct,
            durable,
            FieldTable::default(),
        )
        .await?;
    let queue_options = QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    };
    for subscription in topology {
        let queue = subscription.queue;
        let dead = format!("{queue}.dead-letter");
        let mut arguments = quorum();
        arguments.insert(
            "x-dead-letter-exchange".into(),
            AMQPValue::LongString(DEAD_LETTER_EXCHANGE.into()),
        );
        arguments.insert(
            "x-dead-letter-routing-key".into(),
            AMQPValue::LongString(queue.into()),
        );
        channel
            .queue_declare(queue.into(), queue_options, arguments)
            .await?;
        channel
            .queue_declare(dead.as_str().into(), queue_options, quorum())
            .await?;
        channel
            .queue_bind(
                dead.as_str().into(),
                DEAD_LETTER_EXCHANGE.into(),
                queue.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
        for event_type in subscription.event_types {
            channel
                .queue_bind(
                    queue.into(),
                    EXCHANGE.into(),
                    (*event_type).into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await?;
        }
    }
    let _ = channel.close(200, "topology declared".into()).await;
    Ok(())
}

fn quorum() -> FieldTable {
    let mut arguments = FieldTable::default();
    arguments.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    arguments
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asks_for_small_frames_unless_the_url_names_a_size() {
        let plain = with_frame_max("amqp://guest:guest@127.0.0.1:5672/%2f").expect("a URL");
        assert_eq!(plain.query.frame_max, Some(FRAME_MAX));
        let named = with_frame_max("amqp://127.0.0.1:5672/%2f?frame_max=131072").expect("a URL");
        assert_eq!(named.query.frame_max, Some(131_072));
    }
}
