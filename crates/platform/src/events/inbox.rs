//! Exactly-once handling on top of at-least-once delivery: the handler's writes and the inbox
//! row naming the event commit together, so a redelivered event finds its row and is skipped.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::Handler;
use crate::db::Db;
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

/// Runs `handler` on `event` unless `consumer` already handled it, in one transaction with the
/// inbox row.
pub async fn deliver(
    db: &Db,
    consumer: &str,
    handler: &dyn Handler,
    event: &Envelope,
) -> anyhow::Result<Delivered> {
    let mut tx = db.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO inbox (consumer, event_id, event_type, handled_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (consumer, event_id) DO NOTHING",
    )
    .bind(consumer)
    .bind(event.id.to_string())
    .bind(&event.event_type)
    .bind(to_millis(jiff::Timestamp::now()))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        tx.rollback().await?;
        return Ok(Delivered::Duplicate);
    }
    handler.handle(&mut tx, event).await?;
    tx.commit().await?;
    if handler.erases(event) {
        db.scrub_erased().await;
    }
    Ok(Delivered::Handled)
}

/// The end of one delivery after retries.
#[derive(Debug)]
pub(crate) enum Outcome {
    Done,
    /// The handler kept failing; the message belongs in the dead-letter queue.
    DeadLetter(String),
    /// Shutting down before the event was handled: leave it unacknowledged for redelivery.
    Abandoned,
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
                metrics::counter!("events_consumed_total", "consumer" => consumer.to_owned(),
                    "outcome" => format!("{delivered:?}").to_lowercase())
                .increment(1);
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
            () = tokio::time::sleep(backoff(attempt)) => {}
        }
    }
}

/// 100 ms, 200 ms, 400 ms, … capped at 10 s.
pub(crate) fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(100u64.saturating_mul(1 << attempt.min(7).saturating_sub(1)))
        .min(Duration::from_secs(10))
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
    sqlx::query(
        "INSERT INTO dead_letters (consumer, event_id, event_type, payload, error, failed_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(consumer)
    .bind(event.id.to_string())
    .bind(&event.event_type)
    .bind(serde_json::to_string(event)?)
    .bind(error.chars().take(1000).collect::<String>())
    .bind(to_millis(jiff::Timestamp::now()))
    .execute(db.pool())
    .await?;
    Ok(())
}
