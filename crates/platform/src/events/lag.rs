//! How far behind the events are, for the dashboards and alerts: what each service's outbox
//! still holds, how many events wait in each consumer's queue, and (in `inbox`) how long after
//! its commit each event was handled.

use std::collections::BTreeMap;
use std::time::Duration;

use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;
use tokio_util::sync::CancellationToken;

use super::AmqpBus;
use crate::db::Db;
use crate::outbox::Envelope;
use crate::time::to_millis;

/// How often the outbox and the broker's queues are looked at.
const SAMPLE_EVERY: Duration = Duration::from_secs(15);
/// Counting stops here: past it the number only says "far behind".
const COUNT_LIMIT: i64 = 100_000;

/// `events_published_total{source, type}`, e.g. `InvoiceCreated` from billing.
pub(crate) fn count_published(events: &[Envelope]) {
    let mut counts: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    for event in events {
        *counts
            .entry((event.source.as_str(), event.event_type.as_str()))
            .or_default() += 1;
    }
    for ((source, event_type), count) in counts {
        metrics::counter!("events_published_total",
            "source" => source.to_owned(), "type" => event_type.to_owned())
        .increment(count);
    }
}

/// Until `shutdown`, sets `outbox_pending_events{service}` and
/// `outbox_oldest_pending_age_seconds{service}` from `service`'s outbox.
pub(crate) async fn watch_outbox(service: &'static str, db: Db, shutdown: CancellationToken) {
    loop {
        match outbox_lag(&db).await {
            Ok((pending, oldest_age)) => {
                metrics::gauge!("outbox_pending_events", "service" => service).set(pending as f64);
                metrics::gauge!("outbox_oldest_pending_age_seconds", "service" => service)
                    .set(oldest_age.as_secs_f64());
            }
            Err(err) => {
                tracing::debug!(service, error = %format!("{err:#}"), "cannot sample the outbox")
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(SAMPLE_EVERY) => {}
        }
    }
}

/// Unpublished rows (up to [`COUNT_LIMIT`]) and the age of the oldest; both read through the
/// partial index of unpublished rows.
async fn outbox_lag(db: &Db) -> anyhow::Result<(i64, Duration)> {
    let (pending,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM \
         (SELECT id FROM outbox WHERE published_at IS NULL LIMIT $1) AS pending",
    )
    .bind(COUNT_LIMIT)
    .fetch_one(db.pool())
    .await?;
    let oldest: Option<(i64,)> = sqlx::query_as(
        "SELECT occurred_at FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT 1",
    )
    .fetch_optional(db.pool())
    .await?;
    let now = to_millis(jiff::Timestamp::now());
    let age_ms = oldest.map_or(0, |(at,)| (now - at).max(0));
    Ok((pending, Duration::from_millis(age_ms.unsigned_abs())))
}

/// Until `shutdown`, sets `events_queue_depth{queue}` to the messages ready in the broker's
/// `queue` (the in-process bus counts its own as it goes).
pub(crate) async fn watch_queue(bus: AmqpBus, queue: &'static str, shutdown: CancellationToken) {
    loop {
        match queue_depth(&bus, queue).await {
            Ok(depth) => {
                metrics::gauge!("events_queue_depth", "queue" => queue).set(f64::from(depth));
            }
            Err(err) => {
                tracing::debug!(queue, error = %format!("{err:#}"), "cannot sample the queue")
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(SAMPLE_EVERY) => {}
        }
    }
}

async fn queue_depth(bus: &AmqpBus, queue: &str) -> anyhow::Result<u32> {
    let channel = bus.connection().await?.create_channel().await?;
    let passive = QueueDeclareOptions {
        passive: true,
        ..QueueDeclareOptions::default()
    };
    let declared = channel
        .queue_declare(queue.into(), passive, FieldTable::default())
        .await?;
    let _ = channel.close(200, "sampled".into()).await;
    Ok(declared.message_count())
}
