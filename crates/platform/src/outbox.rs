//! The transactional outbox: an event is written in the same transaction as the state change it
//! describes, so either both happen or neither does. A relay publishes the rows later.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;
use uuid::Uuid;

use crate::time::to_millis;

/// The envelope every event travels in (API.md "Events").
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub event_type: String,
    pub occurred_at: Timestamp,
    pub source: String,
    pub data: serde_json::Value,
    /// The W3C trace context of the request that committed the event, so that its consumers'
    /// spans continue that request's trace; absent when there was none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
}

impl Envelope {
    /// The envelope as API.md documents it, for parties outside carebook (webhooks): without
    /// the internal trace context.
    pub fn to_public_json(&self) -> serde_json::Result<String> {
        serde_json::to_string(&Envelope {
            traceparent: None,
            ..self.clone()
        })
    }
}

/// Writes an event of `event_type` about `aggregate_id` into the outbox of the transaction's
/// database; the transaction then commits through [`commit`].
pub async fn append(
    conn: &mut AnyConnection,
    source: &str,
    event_type: &str,
    aggregate_id: i64,
    data: &impl Serialize,
) -> anyhow::Result<Envelope> {
    let envelope = Envelope {
        id: Uuid::now_v7(),
        event_type: event_type.to_owned(),
        occurred_at: Timestamp::now(),
        source: source.to_owned(),
        data: serde_json::to_value(data)?,
        traceparent: crate::telemetry::traces::traceparent(&tracing::Span::current()),
    };
    sqlx::query(
        "INSERT INTO outbox (event_id, event_type, aggregate_id, payload, occurred_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(envelope.id.to_string())
    .bind(event_type)
    .bind(aggregate_id)
    .bind(serde_json::to_string(&envelope)?)
    .bind(to_millis(envelope.occurred_at))
    .execute(conn)
    .await?;
    Ok(envelope)
}

/// Commits `tx`, in which events of `source` were appended, then wakes the relay that publishes
/// them (`events::wake`). A transaction that appended events commits through this: committed
/// any other way, its events wait for the relay's next poll.
pub async fn commit(tx: crate::db::Tx, source: &str) -> sqlx::Result<()> {
    tx.commit().await?;
    crate::events::wake::committed(source);
    Ok(())
}

/// Unpublished events in commit order, oldest first (for the relay and for tests).
pub async fn pending(pool: &sqlx::AnyPool, limit: i64) -> anyhow::Result<Vec<Envelope>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT payload FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|(payload,)| Ok(serde_json::from_str(&payload)?))
        .collect()
}
