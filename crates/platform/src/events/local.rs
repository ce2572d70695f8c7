//! The in-process bus of the embedded mode: every service runs in one process, so a queue is a
//! channel. Publishing waits until each subscribed consumer has committed (or dead-lettered)
//! the event, which makes "marked published in the outbox" mean "handled": a crash in between
//! only repeats a delivery, and the inbox absorbs the repeat.

use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use tokio::sync::{Mutex, broadcast, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::inbox::{MAX_BATCH, Outcome, deliver_all_with_retries, record_dead_letter};
use super::{Handler, Subscription};
use crate::db::Db;
use crate::outbox::Envelope;

/// How long a publish waits for the consumers before the relay tries the batch again.
const ACK_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Clone)]
pub struct LocalBus(Arc<Inner>);

struct Inner {
    queues: Vec<Queue>,
    listeners: broadcast::Sender<Arc<Envelope>>,
}

/// A durable subscription's queue; several consumers may compete for its deliveries.
struct Queue {
    subscription: &'static Subscription,
    sender: mpsc::UnboundedSender<Delivery>,
    receiver: Mutex<mpsc::UnboundedReceiver<Delivery>>,
}

struct Delivery {
    event: Arc<Envelope>,
    done: oneshot::Sender<()>,
}

impl Queue {
    /// `events_queue_depth{queue}`: events sent and not yet taken by a consumer.
    fn depth(&self) -> metrics::Gauge {
        metrics::gauge!("events_queue_depth", "queue" => self.subscription.queue)
    }
}

impl std::fmt::Debug for LocalBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let queues: Vec<_> = self.0.queues.iter().map(|q| q.subscription.queue).collect();
        f.debug_struct("LocalBus").field("queues", &queues).finish()
    }
}

impl LocalBus {
    /// A queue for every subscription of the deployment, so events wait for a consumer that
    /// has not started yet instead of being lost.
    pub fn new(topology: &'static [Subscription]) -> Self {
        let queues = topology
            .iter()
            .map(|subscription| {
                let (sender, receiver) = mpsc::unbounded_channel();
                Queue {
                    subscription,
                    sender,
                    receiver: Mutex::new(receiver),
                }
            })
            .collect();
        Self(Arc::new(Inner {
            queues,
            listeners: broadcast::channel(1024).0,
        }))
    }

    /// Completes when every subscribed consumer is done with every event of the batch.
    pub(crate) async fn publish(&self, batch: &[Envelope]) -> anyhow::Result<()> {
        let mut acks = Vec::new();
        for event in batch {
            let event = Arc::new(event.clone());
            // Listeners are best effort (cache invalidation); nobody listening is fine.
            let _ = self.0.listeners.send(event.clone());
            for queue in self.0.queues.iter() {
                if queue.subscription.wants(&event.event_type) {
                    let (done, ack) = oneshot::channel();
                    let delivery = Delivery {
                        event: event.clone(),
                        done,
                    };
                    queue
                        .sender
                        .send(delivery)
                        .map_err(|_| anyhow::anyhow!("the in-process bus is closed"))?;
                    queue.depth().increment(1.0);
                    acks.push(ack);
                }
            }
        }
        let acked = tokio::time::timeout(ACK_TIMEOUT, join_all(acks))
            .await
            .map_err(|_| anyhow::anyhow!("consumers did not acknowledge in time"))?;
        anyhow::ensure!(
            acked.iter().all(Result::is_ok),
            "a consumer stopped before acknowledging"
        );
        Ok(())
    }

    pub(crate) async fn consume(
        &self,
        queue_name: &'static str,
        db: Db,
        handler: Arc<dyn Handler>,
        shutdown: CancellationToken,
    ) {
        let Some(queue) = self
            .0
            .queues
            .iter()
            .find(|q| q.subscription.queue == queue_name)
        else {
            tracing::error!(queue = queue_name, "no such queue in the event topology");
            return;
        };
        loop {
            // Whatever is queued, up to a batch, is handled in one transaction.
            let next = async {
                let mut receiver = queue.receiver.lock().await;
                let mut batch = vec![receiver.recv().await?];
                while batch.len() < MAX_BATCH {
                    match receiver.try_recv() {
                        Ok(delivery) => batch.push(delivery),
                        Err(_) => break,
                    }
                }
                Some(batch)
            };
            let batch = tokio::select! {
                () = shutdown.cancelled() => return,
                next = next => match next {
                    Some(batch) => batch,
                    None => return,
                },
            };
            queue.depth().decrement(batch.len() as f64);
            let events: Vec<&Envelope> = batch.iter().map(|d| d.event.as_ref()).collect();
            let outcomes =
                deliver_all_with_retries(&db, queue_name, handler.as_ref(), &events, &shutdown)
                    .await;
            for (delivery, outcome) in batch.into_iter().zip(outcomes) {
                let event = &delivery.event;
                match outcome {
                    Outcome::Done => {}
                    Outcome::DeadLetter(error) => {
                        if let Err(err) = record_dead_letter(&db, queue_name, event, &error).await {
                            tracing::error!(event_id = %event.id, error = %err, "cannot record dead letter");
                            continue;
                        }
                    }
                    Outcome::Abandoned => return,
                }
                let _ = delivery.done.send(());
            }
        }
    }

    pub(crate) fn listen(&self) -> broadcast::Receiver<Arc<Envelope>> {
        self.0.listeners.subscribe()
    }
}
