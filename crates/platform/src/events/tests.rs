//! The relay, the in-process bus and the inbox on real SQLite and PostgreSQL databases.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

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

/// Records each event it handles in a `seen` table; fails the first `failures` calls, and
/// every call for the event `refused`.
struct Recorder {
    failures: AtomicU32,
    refused: Option<uuid::Uuid>,
}

impl Handler for Recorder {
    fn handle<'a>(
        &'a self,
        conn: &'a mut AnyConnection,
        event: &'a Envelope,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            if self.refused == Some(event.id) {
                anyhow::bail!("refusing this one on purpose");
            }
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
        refused: None,
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
            refused: None,
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

async fn dead_letters(db: &Db) -> Vec<String> {
    sqlx::query_as::<_, (String,)>("SELECT event_id FROM dead_letters")
        .fetch_all(db.pool())
        .await
        .unwrap()
        .into_iter()
        .map(|(id,)| id)
        .collect()
}

fn sorted_ids(events: &[&Envelope]) -> Vec<String> {
    let mut ids: Vec<String> = events.iter().map(|e| e.id.to_string()).collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn a_batch_handles_each_event_once_in_one_transaction_on_both_backends() {
    for postgres in [false, true] {
        let test = database(postgres).await;
        let mut conn = test.db.pool().acquire().await.unwrap();
        let (a, b, c) = (
            append(&mut conn, 1).await,
            append(&mut conn, 2).await,
            append(&mut conn, 3).await,
        );
        let recorder = Recorder {
            failures: AtomicU32::new(0),
            refused: None,
        };
        // `c` was handled before; `a` comes twice within the batch.
        deliver(&test.db, "test", &recorder, &c).await.unwrap();
        let delivered = deliver_batch(&test.db, "test", &recorder, &[&a, &b, &a, &c])
            .await
            .unwrap();
        use Delivered::{Duplicate, Handled};
        assert_eq!(delivered, vec![Handled, Handled, Duplicate, Duplicate]);
        assert_eq!(seen(&test.db).await, sorted_ids(&[&a, &b, &c]));
        let (inbox,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM inbox")
            .fetch_one(test.db.pool())
            .await
            .unwrap();
        assert_eq!(inbox, 3);
    }
}

#[tokio::test]
async fn a_failing_handler_rolls_its_whole_batch_back() {
    for postgres in [false, true] {
        let test = database(postgres).await;
        let mut conn = test.db.pool().acquire().await.unwrap();
        let (a, bad) = (append(&mut conn, 1).await, append(&mut conn, 2).await);
        let recorder = Recorder {
            failures: AtomicU32::new(0),
            refused: Some(bad.id),
        };
        let failed = deliver_batch(&test.db, "test", &recorder, &[&a, &bad]).await;
        assert!(failed.is_err());
        assert!(seen(&test.db).await.is_empty());
        // Nothing of the batch stayed, so `a` is not taken for a duplicate later.
        let again = deliver(&test.db, "test", &recorder, &a).await.unwrap();
        assert_eq!(again, Delivered::Handled);
    }
}

#[tokio::test]
async fn one_event_failing_in_a_batch_is_dead_lettered_and_the_others_commit_once() {
    for postgres in [false, true] {
        let source = database(false).await;
        let consumer = database(postgres).await;
        let bus = EventBus::new(None, TOPOLOGY);
        let mut conn = source.db.pool().acquire().await.unwrap();
        let (a, bad, c) = (
            append(&mut conn, 1).await,
            append(&mut conn, 2).await,
            append(&mut conn, 3).await,
        );
        let stop = CancellationToken::new();
        let recorder = Arc::new(Recorder {
            failures: AtomicU32::new(0),
            refused: Some(bad.id),
        });
        bus.spawn_consumer("test", consumer.db.clone(), recorder, stop.clone());
        // On the test's single-threaded runtime the relay queues all three before the
        // consumer runs, which then takes them as one batch.
        let relayed = relay_once(&source.db, &bus).await.unwrap();
        assert_eq!(relayed, 3);
        assert_eq!(seen(&consumer.db).await, sorted_ids(&[&a, &c]));
        assert_eq!(dead_letters(&consumer.db).await, vec![bad.id.to_string()]);
        // Redelivering the whole batch changes nothing for the two handled events.
        bus.publish(&[a.clone(), c.clone()]).await.unwrap();
        assert_eq!(seen(&consumer.db).await, sorted_ids(&[&a, &c]));
        stop.cancel();
    }
}

/// Polls until `db` has seen `count` events, failing after `limit`.
async fn until_seen(db: &Db, count: usize, limit: Duration) {
    let began = Instant::now();
    while seen(db).await.len() < count {
        assert!(began.elapsed() < limit, "{count} events not seen in time");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn the_relay_wakes_on_commit_without_waiting_for_its_poll() {
    for postgres in [false, true] {
        let source = database(postgres).await;
        let consumer = database(false).await;
        let bus = EventBus::new(None, TOPOLOGY);
        let stop = consume(&bus, &consumer.db, 0);
        let name = if postgres { "wakes-pg" } else { "wakes-sqlite" };
        // A poll that would never come within the test.
        let hour = Duration::from_secs(3600);
        tokio::spawn(relay::run(
            source.db.clone(),
            bus.clone(),
            name,
            hour,
            stop.clone(),
        ));
        for n in 1..=3 {
            let mut tx = source.db.begin().await.unwrap();
            outbox::append(&mut tx, name, "Happened", n, &serde_json::json!({}))
                .await
                .unwrap();
            outbox::commit(tx, name).await.unwrap();
            until_seen(&consumer.db, n as usize, Duration::from_secs(60)).await;
        }
        stop.cancel();
    }
}

/// On PostgreSQL, while another instance's relay is the leader, a commit here reaches it as a
/// `NOTIFY` sent after the commit (the transaction that wrote the event sends none).
#[tokio::test]
async fn a_commit_notifies_the_leader_when_it_is_another_instance() {
    let source = database(true).await;
    let name = "notifies-pg";
    // The leader is elsewhere: this connection holds the relays' lock.
    let mut leader = source.db.pool().acquire().await.unwrap().detach();
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(relay::RELAY_LOCK)
        .execute(&mut leader)
        .await
        .unwrap();
    let mut listener = sqlx::postgres::PgListener::connect(source.db.url())
        .await
        .unwrap();
    listener.listen(wake::CHANNEL).await.unwrap();
    let stop = CancellationToken::new();
    let bus = EventBus::new(None, TOPOLOGY);
    let hour = Duration::from_secs(3600);
    tokio::spawn(relay::run(source.db.clone(), bus, name, hour, stop.clone()));

    let mut tx = source.db.begin().await.unwrap();
    outbox::append(&mut tx, name, "Happened", 1, &serde_json::json!({}))
        .await
        .unwrap();
    outbox::commit(tx, name).await.unwrap();
    let notified = tokio::time::timeout(Duration::from_secs(30), listener.recv()).await;
    assert_eq!(notified.unwrap().unwrap().channel(), wake::CHANNEL);
    let (unpublished,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM outbox WHERE published_at IS NULL")
            .fetch_one(source.db.pool())
            .await
            .unwrap();
    assert_eq!(unpublished, 1, "a standby relay publishes nothing");
    stop.cancel();
    let _ = sqlx::Connection::close(leader).await;
}
