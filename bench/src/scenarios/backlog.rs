//! The notification consumer's drain rate: how many events a second it handles when a backlog
//! waits for it. The bench writes a backlog of `AppointmentRequested` events into the
//! appointment service's outbox in one transaction — copies of the latest real one, each with
//! its own event id, so each is handled (a notification to the doctor) and none is a
//! duplicate — and times their handling by the inbox rows the consumer wrote for them: the
//! count over the span from the first `handled_at` to the last. The relay publishes far faster
//! than the consumer handles, so the span is the consumer's.

use std::time::{Duration, Instant};

use contracts::events::{queues, types};
use platform::config::Service;
use platform::db::Db;
use platform::outbox::Envelope;

use crate::system::System;

/// What draining the pre-loaded backlog found.
#[derive(Debug, Clone, Copy)]
pub struct Backlog {
    /// Events written.
    pub events: usize,
    /// Handled per second, from the inbox timestamps (0 if not all were handled in time).
    pub rate: f64,
}

/// Writes `count` events and waits (at most `limit`) until the consumer has handled them.
pub async fn drain_rate(system: &System, count: usize, limit: Duration) -> anyhow::Result<Backlog> {
    let appointments = Db::connect(&system.database_urls[&Service::Appointments]).await?;
    let notifications = Db::connect(&system.database_urls[&Service::Notifications]).await?;
    let result = async {
        let ids = preload(&appointments, count).await?;
        let began = Instant::now();
        loop {
            let (handled, first, last) = handled(&notifications, &ids).await?;
            if handled == ids.len() {
                let seconds = ((last - first) as f64 / 1000.0).max(1e-3);
                return anyhow::Ok(Backlog {
                    events: ids.len(),
                    rate: handled as f64 / seconds,
                });
            }
            if began.elapsed() >= limit {
                eprintln!("  the consumer handled {handled} of {count} events in time");
                return Ok(Backlog {
                    events: ids.len(),
                    rate: 0.0,
                });
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    .await;
    appointments.close().await;
    notifications.close().await;
    result
}

/// Copies of the latest `AppointmentRequested` event with fresh ids, committed at once.
async fn preload(db: &Db, count: usize) -> anyhow::Result<Vec<String>> {
    let (aggregate_id, payload): (i64, String) = sqlx::query_as(
        "SELECT aggregate_id, payload FROM outbox WHERE event_type = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(types::APPOINTMENT_REQUESTED)
    .fetch_optional(db.pool())
    .await?
    .ok_or_else(|| anyhow::anyhow!("no appointment was booked to copy events from"))?;
    let template: Envelope = serde_json::from_str(&payload)?;
    let mut ids = Vec::with_capacity(count);
    let mut tx = db.begin().await?;
    for _ in 0..count {
        let event = Envelope {
            id: uuid::Uuid::now_v7(),
            occurred_at: jiff::Timestamp::now(),
            ..template.clone()
        };
        sqlx::query(
            "INSERT INTO outbox (event_id, event_type, aggregate_id, payload, occurred_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(event.id.to_string())
        .bind(&event.event_type)
        .bind(aggregate_id)
        .bind(serde_json::to_string(&event)?)
        .bind(event.occurred_at.as_millisecond())
        .execute(&mut *tx)
        .await?;
        ids.push(event.id.to_string());
    }
    tx.commit().await?;
    Ok(ids)
}

/// How many of `ids` the notification consumer handled, and its first and last `handled_at`.
async fn handled(db: &Db, ids: &[String]) -> anyhow::Result<(usize, i64, i64)> {
    let (mut handled, mut first, mut last) = (0, i64::MAX, i64::MIN);
    for chunk in ids.chunks(500) {
        let placeholders: Vec<String> = (2..chunk.len() + 2).map(|n| format!("${n}")).collect();
        let sql = format!(
            "SELECT COUNT(*), MIN(handled_at), MAX(handled_at) FROM inbox \
             WHERE consumer = $1 AND event_id IN ({})",
            placeholders.join(", ")
        );
        let mut query =
            sqlx::query_as::<_, (i64, Option<i64>, Option<i64>)>(sqlx::AssertSqlSafe(sql))
                .bind(queues::NOTIFICATIONS);
        for id in chunk {
            query = query.bind(id);
        }
        let (n, min, max) = query.fetch_one(db.pool()).await?;
        handled += n as usize;
        first = first.min(min.unwrap_or(i64::MAX));
        last = last.max(max.unwrap_or(i64::MIN));
    }
    Ok((handled, first, last))
}
