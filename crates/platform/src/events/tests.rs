//! The relay, the in-process bus and the inbox on real SQLite and PostgreSQL databases.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use futures::future::BoxFuture;
use sqlx::AnyConnection;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::db::{Db, Migrations};
use crate::outbox::{self, Envelope};
use crate::testing::TestDatabase;

static NO_MIGRATIONS: Migrations = Migrations {
    sqlite: &sqlx::migrate!("./tests/no-migrations"),
    postgres: &sqlx::migrate!("./tests/no-migrations"),
};

static TOPOLOGY: &[Subscription] = &[Subscription {
    queue: "test",
    event_types: &["Happened"],
}];

/// Records each event it handles in a `seen` table; fails the first `failures` calls.
struct Recorder {
    failures: AtomicU32,
}

impl Handler for Recorder {
    fn handle<'a>(
        &'a self,
        conn: &'a mut AnyConnection,
        event: &'a Envelope,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let left = self.failures.load(Ordering::SeqCst);
            if left > 0 {
                self.failures.store(left - 1, Ordering::SeqCst);
                anyhow::bail!("refusing on purpose");
            }
            sqlx::query("INSERT INTO seen (event_id) VALUES ($1)")
                .bind(event.id.to_string())
                .execute(conn)
                .await?;
            Ok(())
        })
    }
}

async fn database(postgres: bool) -> TestDatabase {
    let test = if postgres {
        TestDatabase::postgres(&NO_MIGRATIONS).await
    } else {
        TestDatabase::sqlite(&NO_MIGRATIONS).await
    };
    sqlx::query("CREATE TABLE seen (event_id TEXT NOT NULL)")
        .execute(test.db.pool())
        .await
        .unwrap();
    test
}

async fn seen(db: &Db) -> Vec<String> {
    sqlx::query_as::<_, (String,)>("SELECT event_id FROM seen ORDER BY event_id")
        .fetch_all(db.pool())
        .await
        .unwrap()
        .into_iter()
        .map(|(id,)| id)
        .collect()
}

async fn append(conn: &mut AnyConnection, aggregate: i64) -> Envelope {
    outbox::append(
        conn,
        "test",
        "Happened",
        aggregate,
        &serde_json::json!({"n": aggregate}),
    )
    .await
    .unwrap()
}

fn consume(bus: &EventBus, db: &Db, failures: u32) -> CancellationToken {
    let stop = CancellationToken::new();
    let recorder = Arc::new(Recorder {
        failures: AtomicU32::new(failures),
    });
    bus.spawn_consumer("test", db.clone(), recorder, stop.clone());
    stop
}

#[tokio::test]
async fn a_row_committed_after_a_later_id_is_published_not_skipped() {
    let source = database(true).await;
    let consumer = database(false).await;
    let bus = EventBus::new(None, TOPOLOGY);
    let stop = consume(&bus, &consumer.db, 0);

    // The first transaction takes the lower id but commits last.
    let mut slow = source.db.begin().await.unwrap();
    let first = append(&mut slow, 1).await;
    let mut fast = source.db.begin().await.unwrap();
    let second = append(&mut fast, 2).await;
    fast.commit().await.unwrap();

    assert_eq!(relay_once(&source.db, &bus).await.unwrap(), 1);
    assert_eq!(seen(&consumer.db).await, vec![second.id.to_string()]);
    slow.commit().await.unwrap();
    assert_eq!(relay_once(&source.db, &bus).await.unwrap(), 1);
    assert_eq!(relay_once(&source.db, &bus).await.unwrap(), 0);
    let mut both = vec![first.id.to_string(), second.id.to_string()];
    both.sort();
    assert_eq!(seen(&consumer.db).await, both);
    stop.cancel();
}

#[tokio::test]
async fn a_redelivered_event_is_handled_once_on_both_backends() {
    for postgres in [false, true] {
        let test = database(postgres).await;
        let mut conn = test.db.pool().acquire().await.unwrap();
        let event = append(&mut conn, 7).await;
        let recorder = Recorder {
            failures: AtomicU32::new(0),
        };
        let first = deliver(&test.db, "test", &recorder, &event).await.unwrap();
        let again = deliver(&test.db, "test", &recorder, &event).await.unwrap();
        assert_eq!((first, again), (Delivered::Handled, Delivered::Duplicate));
        assert_eq!(seen(&test.db).await.len(), 1);
    }
}

#[tokio::test]
async fn a_handler_that_fails_for_a_while_is_retried_until_it_succeeds() {
    let source = database(false).await;
    let consumer = database(false).await;
    let bus = EventBus::new(None, TOPOLOGY);
    let stop = consume(&bus, &consumer.db, 2);
    let mut conn = source.db.pool().acquire().await.unwrap();
    let event = append(&mut conn, 1).await;

    assert_eq!(relay_once(&source.db, &bus).await.unwrap(), 1);
    assert_eq!(seen(&consumer.db).await, vec![event.id.to_string()]);
    stop.cancel();
}

#[tokio::test]
async fn a_handler_that_keeps_failing_is_dead_lettered_and_the_relay_moves_on() {
    let source = database(false).await;
    let consumer = database(false).await;
    let bus = EventBus::new(None, TOPOLOGY);
    let stop = consume(&bus, &consumer.db, u32::MAX);
    let mut conn = source.db.pool().acquire().await.unwrap();
    let event = append(&mut conn, 1).await;

    assert_eq!(relay_once(&source.db, &bus).await.unwrap(), 1);
    assert!(seen(&consumer.db).await.is_empty());
    let (event_id, error): (String, String) =
        sqlx::query_as("SELECT event_id, error FROM dead_letters")
            .fetch_one(consumer.db.pool())
            .await
            .unwrap();
    assert_eq!(event_id, event.id.to_string());
    assert!(error.contains("refusing on purpose"));
    assert_eq!(relay_once(&source.db, &bus).await.unwrap(), 0);
    stop.cancel();
}
