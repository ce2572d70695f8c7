//! The outbox relay: publishes what a service committed to its outbox, oldest first, and marks
//! exactly the rows it published.
//!
//! It never keeps a high-water mark: every pass reads all unpublished rows, so a transaction
//! that committed late with a lower id is picked up by the next pass instead of being skipped.
//! Events of one aggregate keep their order because the transactions that wrote them were
//! serialized by the aggregate's row lock, so their ids follow their commit order. On
//! PostgreSQL one relay per database publishes at a time (an advisory lock held on a dedicated
//! connection); the others stand by and take over when its connection goes away.
//!
//! An idle relay wakes when a commit wrote to its outbox ([`Wakeups`]): one in this process, or
//! on PostgreSQL one another instance notified; the poll is only the safety net
//! (`CAREBOOK_RELAY_POLL_MS`).

use std::time::{Duration, Instant};

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, Arguments, AssertSqlSafe, Connection, Executor};
use tokio_util::sync::CancellationToken;

use super::EventBus;
use super::backoff;
use super::wake::Wakeups;
use crate::db::{Backend, Db};
use crate::outbox::Envelope;
use crate::time::to_millis;

const BATCH: i64 = 256;
/// How often an idle relay looks for new rows even though no commit woke it.
pub(crate) const DEFAULT_POLL: Duration = Duration::from_secs(1);
/// How often a standby relay tries to take over.
const STANDBY_POLL: Duration = Duration::from_secs(2);
/// Inbox entries are kept this long, then deleted.
const RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(600);
/// `pg_try_advisory_lock` key of the relay (each service has its own database).
pub(super) const RELAY_LOCK: i64 = 0x6361_7265_626f_6f6b;

/// Publishes one batch of unpublished rows; the number published. On SQLite the rows are
/// marked in turn with the service's writes (`Db::execute_write`).
pub async fn relay_once(db: &Db, bus: &EventBus) -> anyhow::Result<usize> {
    let rows = unpublished(db.pool()).await?;
    if !rows.is_empty() {
        publish(bus, &rows).await?;
        db.execute_write(mark_published(&rows)?).await?;
    }
    Ok(rows.len())
}

/// [`relay_once`] on `conn`: the leader's own connection, so that a relay pass never waits
/// for the pool behind the service's requests.
async fn relay_on(conn: &mut AnyConnection, bus: &EventBus) -> anyhow::Result<usize> {
    let rows = unpublished(&mut *conn).await?;
    if !rows.is_empty() {
        publish(bus, &rows).await?;
        mark_published(&rows)?.execute(conn).await?;
    }
    Ok(rows.len())
}

/// The oldest unpublished rows, at most one batch: id and payload.
async fn unpublished<'c>(
    conn: impl Executor<'c, Database = Any>,
) -> sqlx::Result<Vec<(i64, String)>> {
    sqlx::query_as("SELECT id, payload FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1")
        .bind(BATCH)
        .fetch_all(conn)
        .await
}

async fn publish(bus: &EventBus, rows: &[(i64, String)]) -> anyhow::Result<()> {
    let events = rows
        .iter()
        .map(|(_, payload)| serde_json::from_str(payload))
        .collect::<Result<Vec<Envelope>, _>>()?;
    bus.publish(&events).await?;
    super::lag::count_published(&events);
    Ok(())
}

/// The statement marking exactly the rows that were published.
fn mark_published(rows: &[(i64, String)]) -> anyhow::Result<Query<'static, Any, AnyArguments>> {
    let mut args = AnyArguments::default();
    args.add(to_millis(jiff::Timestamp::now()))
        .map_err(anyhow::Error::from_boxed)?;
    for (id, _) in rows {
        args.add(*id).map_err(anyhow::Error::from_boxed)?;
    }
    let placeholders: Vec<String> = (2..=rows.len() + 1).map(|n| format!("${n}")).collect();
    let sql = format!(
        "UPDATE outbox SET published_at = $1 WHERE id IN ({})",
        placeholders.join(", ")
    );
    Ok(sqlx::query_with(AssertSqlSafe(sql), args))
}

/// Relays until `shutdown`, reconnecting and backing off by itself; an idle relay waits for
/// a commit to its outbox, or at most `poll`.
pub(crate) async fn run(
    db: Db,
    bus: EventBus,
    source: &'static str,
    poll: Duration,
    shutdown: CancellationToken,
) {
    let mut leader = Leadership::default();
    let mut wakeups = Wakeups::new(&db, source, &shutdown);
    let mut failures = 0;
    let mut housekept = Instant::now();
    loop {
        let pass = async {
            let leading = leader.ensure(&db).await?;
            wakeups.leading(leading);
            if !leading {
                return Ok(None);
            }
            wakeups.settle();
            if housekept.elapsed() >= HOUSEKEEPING_EVERY {
                housekeeping(&db).await?;
                housekept = Instant::now();
            }
            match leader.conn.as_mut() {
                Some(conn) => relay_on(conn, &bus).await,
                None => relay_once(&db, &bus).await,
            }
            .map(Some)
        };
        let pause = match pass.await {
            Ok(None) => STANDBY_POLL,
            Ok(Some(0)) => {
                failures = 0;
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = wakeups.wait(poll) => {}
                }
                continue;
            }
            Ok(Some(_)) => {
                failures = 0;
                Duration::ZERO
            }
            Err(err) => {
                failures += 1;
                // A broken leader connection may have lost the lock: elect again.
                leader.resign().await;
                wakeups.leading(false);
                tracing::warn!(source, failures, error = %format!("{err:#}"), "outbox relay failed");
                backoff(failures + 2)
            }
        };
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(pause) => {}
        }
    }
    leader.resign().await;
    wakeups.leading(false);
}

/// `CAREBOOK_RELAY_POLL_MS`: how often an idle relay looks without being woken.
pub(crate) fn poll_interval() -> anyhow::Result<Duration> {
    match crate::config::parse_var::<u64>("CAREBOOK_RELAY_POLL_MS")? {
        Some(0) => anyhow::bail!("CAREBOOK_RELAY_POLL_MS must be at least 1"),
        Some(ms) => Ok(Duration::from_millis(ms)),
        None => Ok(DEFAULT_POLL),
    }
}

/// Whether this relay may publish: always on SQLite (one process owns the file); on
/// PostgreSQL while it holds the advisory lock on its own connection, which its passes use.
#[derive(Default)]
struct Leadership {
    conn: Option<AnyConnection>,
    checked: Option<Instant>,
}

impl Leadership {
    async fn ensure(&mut self, db: &Db) -> anyhow::Result<bool> {
        if db.backend() == Backend::Sqlite {
            return Ok(true);
        }
        if let Some(conn) = self.conn.as_mut() {
            // Still connected means still holding the lock; checked every few seconds.
            if self.checked.is_none_or(|at| at.elapsed() >= STANDBY_POLL) {
                conn.ping().await?;
                self.checked = Some(Instant::now());
            }
            return Ok(true);
        }
        let mut conn = db.pool().acquire().await?.detach();
        let (acquired,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_lock($1)")
            .bind(RELAY_LOCK)
            .fetch_one(&mut conn)
            .await?;
        if acquired {
            self.conn = Some(conn);
            self.checked = Some(Instant::now());
        } else {
            let _ = conn.close().await;
        }
        Ok(acquired)
    }

    /// Gives the lock up (closing the connection releases it).
    async fn resign(&mut self) {
        if let Some(conn) = self.conn.take() {
            let _ = conn.close().await;
        }
    }
}

/// Deletes inbox entries past their retention, and published outbox rows only when
/// `CAREBOOK_OUTBOX_RETENTION_DAYS` says so: by default every published event stays, as the
/// history `carebook analytics-rebuild` replays.
async fn housekeeping(db: &Db) -> anyhow::Result<()> {
    let now = to_millis(jiff::Timestamp::now());
    if let Some(days) = outbox_retention_days()? {
        let cutoff = now - i64::from(days) * 24 * 3600 * 1000;
        let delete =
            sqlx::query("DELETE FROM outbox WHERE published_at IS NOT NULL AND published_at < $1");
        db.execute_write(delete.bind(cutoff)).await?;
    }
    let cutoff = now - RETENTION.as_millis() as i64;
    let delete = sqlx::query("DELETE FROM inbox WHERE handled_at < $1");
    db.execute_write(delete.bind(cutoff)).await?;
    Ok(())
}

/// `CAREBOOK_OUTBOX_RETENTION_DAYS`: how long published events are kept; unset keeps them.
fn outbox_retention_days() -> anyhow::Result<Option<u32>> {
    crate::config::var("CAREBOOK_OUTBOX_RETENTION_DAYS")
        .map(|raw| {
            raw.trim()
                .parse::<u32>()
                .ok()
                .filter(|days| *days > 0)
                .ok_or_else(|| {
                    anyhow::anyhow!("CAREBOOK_OUTBOX_RETENTION_DAYS must be a number of days")
                })
        })
        .transpose()
}
