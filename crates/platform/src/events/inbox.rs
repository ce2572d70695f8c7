//! Exactly-once handling on top of at-least-once delivery: the handler's writes and the inbox
//! row naming the event commit together, so a redelivered event finds its row and is skipped.
//! Consumers hand over what the queue has ready as one batch: one transaction, one commit.

use std::collections::HashSet;

use sqlx::any::AnyArguments;
use sqlx::{Arguments, AssertSqlSafe};
use tokio_util::sync::CancellationToken;

use super::{Batch, Handler};
use crate::db::{Db, values_rows};
use crate::outbox::Envelope;
use crate::time::to_millis;

/// Handler failures after which an event is dead-lettered.
pub(crate) const MAX_ATTEMPTS: u32 = 5;

/// What became of one delivered event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivered {
    Handled,
    /// The consumer had handled this event id before; nothing was done.
    Duplicate,
}

/// Deliveries handled in one transaction at most: the AMQP consumer's prefetch.
pub(crate) const MAX_BATCH: usize = 32;

/// Runs `handler` on `event` unless `consumer` already handled it, in one transaction with the
/// inbox row; in a span that continues the trace of the request that committed the event.
pub async fn deliver(
    db: &Db,
    consumer: &str,
    handler: &dyn Handler,
    event: &Envelope,
) -> anyhow::Result<Delivered> {
    let delivered = deliver_batch(db, consumer, handler, &[event]).await?;
    Ok(delivered[0])
}

/// Runs `handler` on the events of `events` that `consumer` has not handled yet, in their
/// order, in one transaction with their inbox rows: one commit, one disk flush, for the whole
/// batch. An `Err` of the handler rolls the whole batch back.
pub async fn deliver_batch(
    db: &Db,
    consumer: &str,
    handler: &dyn Handler,
    events: &[&Envelope],
) -> anyhow::Result<Vec<Delivered>> {
    let mut tx = db.begin().await?;
    let fresh = record_in_inbox(&mut tx, consumer, events).await?;
    let delivered = fresh
        .iter()
        .map(|&fresh| match fresh {
            true => Delivered::Handled,
            false => Delivered::Duplicate,
        })
        .collect();
    let new: Vec<&Envelope> = events
        .iter()
        .zip(&fresh)
        .filter_map(|(event, &fresh)| fresh.then_some(*event))
        .collect();
    if new.is_empty() {
        tx.rollback().await?;
        return Ok(delivered);
    }
    handler
        .handle_batch(&mut tx, Batch::new(consumer, &new))
        .await?;
    match handler.outbox() {
        Some(source) => crate::outbox::commit(tx, source).await?,
        None => tx.commit().await?,
    }
    if new.iter().any(|event| handler.erases(event)) {
        db.scrub_erased().await;
    }
    Ok(delivered)
}

/// Writes the inbox rows of `events` in one statement; for each event, whether it is new to
/// `consumer` (false when an earlier transaction, or an earlier copy in `events`, has its row).
async fn record_in_inbox(
    conn: &mut sqlx::AnyConnection,
    consumer: &str,
    events: &[&Envelope],
) -> anyhow::Result<Vec<bool>> {
    let ids: Vec<String> = events.iter().map(|event| event.id.to_string()).collect();
    let mut first_copies = HashSet::new();
    let firsts: Vec<bool> = ids.iter().map(|id| first_copies.insert(id)).collect();
    let now = to_millis(jiff::Timestamp::now());
    let mut args = AnyArguments::default();
    let unique = events
        .iter()
        .zip(&ids)
        .zip(&firsts)
        .filter(|(_, first)| **first);
    let values = values_rows(&mut args, unique, |args, ((event, id), _)| {
        args.add(consumer)?;
        args.add(id.as_str())?;
        args.add(event.event_type.as_str())?;
        args.add(now)
    })
    .map_err(anyhow::Error::from_boxed)?;
    let sql = format!(
        "INSERT INTO inbox (consumer, event_id, event_type, handled_at) VALUES {values} \
         ON CONFLICT (consumer, event_id) DO NOTHING RETURNING event_id"
    );
    let inserted: HashSet<String> = sqlx::query_scalar_with(AssertSqlSafe(sql), args)
        .fetch_all(conn)
        .await?
        .into_iter()
        .collect();
    Ok(ids
        .iter()
        .zip(firsts)
        .map(|(id, first)| first && inserted.contains(id))
        .collect())
}

/// The end of one delivery after retries.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    Done,
    /// The handler kept failing; the message belongs in the dead-letter queue.
    DeadLetter(String),
    /// Shutting down before the event was handled: leave it unacknowledged for redelivery.
    Abandoned,
}

/// Delivers `events` (in their order) with one transaction when it can: the batch as a whole
/// first, and when that fails (a handler's error, a conflict, a lost connection) each event by
/// itself with [`deliver_with_retries`], so that one failing event neither holds back nor repeats
/// the others and is retried and dead-lettered as it would be alone. One outcome per event;
/// after an `Abandoned` the rest are abandoned too.
pub(crate) async fn deliver_all_with_retries(
    db: &Db,
    consumer: &str,
    handler: &dyn Handler,
    events: &[&Envelope],
    shutdown: &CancellationToken,
) -> Vec<Outcome> {
    if events.len() > 1 {
        match deliver_batch(db, consumer, handler, events).await {
            Ok(delivered) => {
                for (event, outcome) in events.iter().zip(delivered) {
                    count_consumed(consumer, outcome);
                    if outcome == Delivered::Handled {
                        record_delay(consumer, event);
                    }
                }
                metrics::histogram!("events_consumer_batch_size", "consumer" => consumer.to_owned())
                    .record(events.len() as f64);
                return vec![Outcome::Done; events.len()];
            }
            Err(err) => {
                tracing::debug!(consumer, events = events.len(), error = %format!("{err:#}"),
                    "batch failed; delivering its events one by one");
            }
        }
    }
    let mut outcomes = Vec::with_capacity(events.len());
    for event in events {
        let outcome = match outcomes.last() {
            Some(Outcome::Abandoned) => Outcome::Abandoned,
            _ => deliver_with_retries(db, consumer, handler, event, shutdown).await,
        };
        outcomes.push(outcome);
    }
    outcomes
}

fn count_consumed(consumer: &str, delivered: Delivered) {
    metrics::counter!("events_consumed_total", "consumer" => consumer.to_owned(),
        "outcome" => format!("{delivered:?}").to_lowercase())
    .increment(1);
}

/// Delivers with retries and exponential backoff. A failing handler is given up on after
/// [`MAX_ATTEMPTS`]; an unreachable database is waited out however long it takes, since
/// dead-lettering then would drop events that are perfectly fine.
pub(crate) async fn deliver_with_retries(
    db: &Db,
    consumer: &str,
    handler: &dyn Handler,
    event: &Envelope,
    shutdown: &CancellationToken,
) -> Outcome {
    let mut failures = 0;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let err = match deliver(db, consumer, handler, event).await {
            Ok(delivered) => {
                count_consumed(consumer, delivered);
                if delivered == Delivered::Handled {
                    record_delay(consumer, event);
                }
                return Outcome::Done;
            }
            Err(err) => err,
        };
        if !is_transient(&err) {
            failures += 1;
        }
        tracing::warn!(consumer, event_id = %event.id, event_type = %event.event_type,
            attempt, error = %format!("{err:#}"), "event handler failed");
        if failures >= MAX_ATTEMPTS {
            metrics::counter!("events_dead_lettered_total", "consumer" => consumer.to_owned())
                .increment(1);
            return Outcome::DeadLetter(format!("{err:#}"));
        }
        tokio::select! {
            () = shutdown.cancelled() => return Outcome::Abandoned,
            () = tokio::time::sleep(super::backoff(attempt)) => {}
        }
    }
}

/// How long after its commit `consumer` handled the event: the consumer lag as it is felt.
fn record_delay(consumer: &str, event: &Envelope) {
    let delay = jiff::Timestamp::now().duration_since(event.occurred_at);
    metrics::histogram!("events_delivery_delay_seconds", "consumer" => consumer.to_owned())
        .record(delay.as_secs_f64().max(0.0));
}

/// Failures of the database connection rather than of the handler's logic.
fn is_transient(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<sqlx::Error>()
            .is_some_and(|e| match e {
                sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::Protocol(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed => true,
                // Serialization failures, deadlocks, lost connections (PostgreSQL classes 40, 08,
                // 57) and a busy or locked SQLite database (5, 6) pass by themselves.
                sqlx::Error::Database(db) => db.code().is_some_and(|code| {
                    ["40", "08", "57"]
                        .iter()
                        .any(|class| code.starts_with(class))
                        || code == "5"
                        || code == "6"
                }),
                _ => false,
            })
    })
}

/// Keeps an event the in-process bus gave up on, for an operator to inspect.
pub(crate) async fn record_dead_letter(
    db: &Db,
    consumer: &str,
    event: &Envelope,
    error: &str,
) -> anyhow::Result<()> {
    let insert = sqlx::query(
        "INSERT INTO dead_letters (consumer, event_id, event_type, payload, error, failed_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(consumer)
    .bind(event.id.to_string())
    .bind(&event.event_type)
    .bind(serde_json::to_string(event)?)
    .bind(error.chars().take(1000).collect::<String>())
    .bind(to_millis(jiff::Timestamp::now()));
    db.execute_write(insert).await?;
    Ok(())
}
