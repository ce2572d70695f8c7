//! Where an event's delay goes, from the databases' own timestamps: for every event the
//! appointment service committed since a given moment, the relay's part (`occurred_at` to
//! `published_at` in its outbox) and the broker's and consumer's part (`published_at` to the
//! notification consumer's `handled_at` in its inbox). All three are stamped by the services
//! on this machine's clock, in milliseconds.

use std::collections::HashMap;

use contracts::events::queues;
use hdrhistogram::Histogram;
use platform::config::Service;
use platform::db::Db;

use crate::report::round;
use crate::system::System;

/// p50 and p99 of each part, in milliseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stages {
    pub events: u64,
    pub relay_p50_ms: f64,
    pub relay_p99_ms: f64,
    pub consumer_p50_ms: f64,
    pub consumer_p99_ms: f64,
}

/// The parts of every appointment event that occurred at or after `since_ms` (epoch ms) and
/// has been handled.
pub async fn since(system: &System, since_ms: i64) -> anyhow::Result<Stages> {
    let appointments = Db::connect(&system.database_urls[&Service::Appointments]).await?;
    let notifications = Db::connect(&system.database_urls[&Service::Notifications]).await?;
    let result = async {
        let published: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT event_id, occurred_at, published_at FROM outbox \
             WHERE occurred_at >= $1 AND published_at IS NOT NULL",
        )
        .bind(since_ms)
        .fetch_all(appointments.pool())
        .await?;
        let handled: HashMap<String, i64> = sqlx::query_as::<_, (String, i64)>(
            "SELECT event_id, handled_at FROM inbox WHERE consumer = $1 AND handled_at >= $2",
        )
        .bind(queues::NOTIFICATIONS)
        .bind(since_ms)
        .fetch_all(notifications.pool())
        .await?
        .into_iter()
        .collect();
        let mut relay = Histogram::<u64>::new_with_bounds(1, 3_600_000, 3)?;
        let mut consumer = Histogram::<u64>::new_with_bounds(1, 3_600_000, 3)?;
        for (event_id, occurred, published) in &published {
            let Some(handled) = handled.get(event_id) else {
                continue;
            };
            relay.saturating_record((published - occurred).max(1) as u64);
            consumer.saturating_record((handled - published).max(1) as u64);
        }
        let ms = |h: &Histogram<u64>, q: f64| round(h.value_at_quantile(q) as f64);
        anyhow::Ok(Stages {
            events: relay.len(),
            relay_p50_ms: ms(&relay, 0.5),
            relay_p99_ms: ms(&relay, 0.99),
            consumer_p50_ms: ms(&consumer, 0.5),
            consumer_p99_ms: ms(&consumer, 0.99),
        })
    }
    .await;
    appointments.close().await;
    notifications.close().await;
    result
}
