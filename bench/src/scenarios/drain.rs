//! The notification consumer's backlog: every event the services wrote to their outboxes goes
//! to the `notifications` queue, and the consumer records each one it handled in its inbox.
//! The event-delay scenario starts only when the consumer has caught up with the earlier
//! scenarios' events, and the delivery worker with their notifications, so it measures the
//! delay at its own booking rate, not their leftovers.

use std::time::{Duration, Instant};

use platform::config::Service;
use platform::db::Db;

use crate::system::System;

/// What draining found.
#[derive(Debug, Clone, Copy)]
pub struct Drained {
    /// Events not yet handled when it started.
    pub backlog: i64,
    /// Notifications due but not yet delivered when it started: the delivery worker shares
    /// the consumer's database and CPU, so its backlog slows the consumer too.
    pub due: i64,
    /// Events and due notifications left when it stopped (0 unless it gave up).
    pub left: i64,
}

struct Databases {
    producers: Vec<Db>,
    notifications: Db,
}

impl Databases {
    async fn open(system: &System) -> anyhow::Result<Self> {
        let mut producers = Vec::new();
        for service in Service::BACKENDS {
            if service != Service::Notifications {
                producers.push(Db::connect(&system.database_urls[&service]).await?);
            }
        }
        let notifications = Db::connect(&system.database_urls[&Service::Notifications]).await?;
        Ok(Self {
            producers,
            notifications,
        })
    }

    /// Notifications due for delivery and not delivered yet (reminders wait for their time).
    async fn due(&self) -> anyhow::Result<i64> {
        let (due,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM notifications WHERE status = 'PENDING' AND next_attempt_at <= $1",
        )
        .bind(jiff::Timestamp::now().as_millisecond())
        .fetch_one(self.notifications.pool())
        .await?;
        Ok(due)
    }

    /// `(produced, handled)` events so far.
    async fn counts(&self) -> anyhow::Result<(i64, i64)> {
        let mut produced = 0;
        for db in &self.producers {
            let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM outbox")
                .fetch_one(db.pool())
                .await?;
            produced += n;
        }
        let (handled,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM inbox WHERE consumer = $1")
            .bind("notifications")
            .fetch_one(self.notifications.pool())
            .await?;
        Ok((produced, handled))
    }

    async fn close(&self) {
        for db in self.producers.iter().chain([&self.notifications]) {
            db.close().await;
        }
    }
}

/// Waits until the consumer has handled every event produced so far, at most `limit`.
pub async fn drain(system: &System, limit: Duration) -> anyhow::Result<Drained> {
    let dbs = Databases::open(system).await?;
    let began = Instant::now();
    let result = async {
        let (produced, handled) = dbs.counts().await?;
        let backlog = (produced - handled).max(0);
        let due = dbs.due().await?;
        let mut left = backlog + due;
        while left > 0 && began.elapsed() < limit {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let (produced, handled) = dbs.counts().await?;
            left = (produced - handled).max(0) + dbs.due().await?;
        }
        anyhow::Ok(Drained { backlog, due, left })
    }
    .await;
    dbs.close().await;
    result
}
