//! Subscriptions and their delivery log.

use contracts::webhooks::{Webhook, WebhookDelivery};
use jiff::Timestamp;
use platform::db::{Backend, Db, fetch_page, insert_values};
use platform::outbox::Envelope;
use platform::page::PageRequest;
use platform::time::to_millis;
use sqlx::any::AnyArguments;
use sqlx::{AnyConnection, Arguments, AssertSqlSafe};

use super::rows::{DELIVERY_COLUMNS, DeliveryRow, WEBHOOK_COLUMNS, WebhookRow};
use crate::policy::{MayDeliver, MayManageWebhooks};

#[derive(Debug, Clone)]
pub struct WebhookStore {
    db: Db,
}

/// A delivery claimed by this instance, with what sending it needs.
#[derive(Debug, sqlx::FromRow)]
pub struct DueDelivery {
    pub id: i64,
    pub event_type: String,
    pub payload: String,
    pub attempts: i64,
    pub url: String,
    pub secret: String,
}

impl WebhookStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub async fn insert(
        &self,
        _: MayManageWebhooks,
        url: &str,
        events: &[String],
        secret: &str,
        now: Timestamp,
    ) -> platform::Result<Webhook> {
        let row: WebhookRow = sqlx::query_as(AssertSqlSafe(format!(
            "INSERT INTO webhooks (url, event_types, secret, created_at) VALUES ($1, $2, $3, $4) \
             RETURNING {WEBHOOK_COLUMNS}"
        )))
        .bind(url)
        .bind(format!(",{},", events.join(",")))
        .bind(secret)
        .bind(to_millis(now))
        .fetch_one(self.db.pool())
        .await?;
        Ok(Webhook::try_from(row)?)
    }

    pub async fn list(
        &self,
        _: MayManageWebhooks,
        page: PageRequest,
    ) -> platform::Result<(Vec<Webhook>, i64)> {
        let filter = |_: &mut AnyArguments| Ok("WHERE deleted_at IS NULL".to_owned());
        let table = ("webhooks", WEBHOOK_COLUMNS, "id");
        let (rows, total) = fetch_page::<WebhookRow>(&self.db, table, &filter, page).await?;
        let items = rows
            .into_iter()
            .map(Webhook::try_from)
            .collect::<Result<_, _>>()?;
        Ok((items, total))
    }

    /// Ends a subscription; its undelivered events are given up. `false` when there was none.
    pub async fn delete(
        &self,
        _: MayManageWebhooks,
        id: i64,
        now: Timestamp,
    ) -> platform::Result<bool> {
        let mut tx = self.db.begin().await?;
        let deleted =
            sqlx::query("UPDATE webhooks SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL")
                .bind(to_millis(now))
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        sqlx::query(
            "UPDATE webhook_deliveries SET status = 'FAILED', last_error = 'subscription deleted' \
             WHERE webhook_id = $1 AND status = 'PENDING'",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(deleted == 1)
    }

    pub async fn exists(&self, _: MayManageWebhooks, id: i64) -> platform::Result<bool> {
        let found: Option<(i64,)> = sqlx::query_as("SELECT id FROM webhooks WHERE id = $1")
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?;
        Ok(found.is_some())
    }

    pub async fn deliveries(
        &self,
        _: MayManageWebhooks,
        webhook_id: i64,
        page: PageRequest,
    ) -> platform::Result<(Vec<WebhookDelivery>, i64)> {
        let filter = move |args: &mut AnyArguments| {
            args.add(webhook_id)?;
            Ok(format!("WHERE webhook_id = ${}", args.len()))
        };
        let table = ("webhook_deliveries", DELIVERY_COLUMNS, "id");
        let (rows, total) = fetch_page::<DeliveryRow>(&self.db, table, &filter, page).await?;
        let items = rows
            .into_iter()
            .map(WebhookDelivery::try_from)
            .collect::<Result<_, _>>()?;
        Ok((items, total))
    }

    /// Leases up to `limit` due deliveries to this instance until `lease_until`.
    pub async fn claim_due(
        &self,
        _: MayDeliver,
        now: Timestamp,
        lease_until: Timestamp,
        limit: i64,
    ) -> anyhow::Result<Vec<DueDelivery>> {
        let lock = match self.db.backend() {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            // One writer at a time: the transaction below already excludes other claimers.
            Backend::Sqlite => "",
        };
        let mut tx = self.db.begin().await?;
        let ids: Vec<(i64,)> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT id FROM webhook_deliveries WHERE status = 'PENDING' AND next_attempt_at <= $1 \
             AND (lease_until IS NULL OR lease_until <= $1) ORDER BY id LIMIT $2 {lock}"
        )))
        .bind(to_millis(now))
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        let mut due = Vec::with_capacity(ids.len());
        for (id,) in ids {
            sqlx::query("UPDATE webhook_deliveries SET lease_until = $1 WHERE id = $2")
                .bind(to_millis(lease_until))
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let delivery: DueDelivery = sqlx::query_as(
                "SELECT d.id, d.event_type, d.payload, d.attempts, w.url, w.secret \
                 FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE d.id = $1",
            )
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
            due.push(delivery);
        }
        tx.commit().await?;
        Ok(due)
    }

    /// Records one attempt: delivered, to be retried at `retry_at`, or (no retry) failed.
    pub async fn record_attempt(
        &self,
        _: MayDeliver,
        id: i64,
        now: Timestamp,
        status: Option<u16>,
        outcome: Attempt,
    ) -> anyhow::Result<()> {
        let (state, next, error, delivered) = match outcome {
            Attempt::Delivered => ("DELIVERED", now, None, Some(to_millis(now))),
            Attempt::Retry { at, error } => ("PENDING", at, Some(error), None),
            Attempt::GiveUp { error } => ("FAILED", now, Some(error), None),
        };
        let write = sqlx::query(
            "UPDATE webhook_deliveries SET status = $1, attempts = attempts + 1, \
             next_attempt_at = $2, lease_until = NULL, last_status = $3, last_error = $4, \
             delivered_at = $5 WHERE id = $6",
        )
        .bind(state)
        .bind(to_millis(next))
        .bind(status.map(i64::from))
        .bind(error)
        .bind(delivered)
        .bind(id);
        self.db.execute_write(write).await?;
        Ok(())
    }
}

/// How one delivery attempt ended.
#[derive(Debug)]
pub enum Attempt {
    Delivered,
    Retry { at: Timestamp, error: String },
    GiveUp { error: String },
}

/// In the event consumer's transaction: one pending delivery of each of `events` per live
/// subscription to its type. One read of the subscriptions, and the deliveries in as few
/// statements as it takes; the unique (webhook, event) pair makes a repeated call a no-op.
pub async fn enqueue(
    conn: &mut AnyConnection,
    events: &[&Envelope],
    now: Timestamp,
) -> anyhow::Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let subscriptions: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, event_types FROM webhooks WHERE deleted_at IS NULL")
            .fetch_all(&mut *conn)
            .await?;
    let mut deliveries = Vec::new();
    for event in events {
        // `event_types` is stored as `,TypeA,TypeB,`.
        let listed = format!(",{},", event.event_type);
        let subscribed: Vec<i64> = subscriptions
            .iter()
            .filter(|(_, types)| types.contains(&listed))
            .map(|(id, _)| *id)
            .collect();
        if subscribed.is_empty() {
            continue;
        }
        let payload = event.to_public_json()?;
        deliveries.extend(
            subscribed
                .into_iter()
                .map(|id| (id, *event, payload.clone())),
        );
    }
    let now = to_millis(now);
    insert_values(
        conn,
        (
            "INSERT INTO webhook_deliveries \
             (webhook_id, event_id, event_type, payload, next_attempt_at, created_at)",
            "ON CONFLICT (webhook_id, event_id) DO NOTHING",
        ),
        &deliveries,
        |args, (webhook, event, payload)| {
            args.add(*webhook)?;
            args.add(event.id.to_string())?;
            args.add(event.event_type.as_str())?;
            args.add(payload.as_str())?;
            args.add(now)?;
            args.add(now)
        },
    )
    .await?;
    Ok(())
}
