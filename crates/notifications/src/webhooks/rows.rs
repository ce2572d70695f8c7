//! Rows of `webhooks` and `webhook_deliveries` as stored, and their strict decoding: stored data
//! this service did not write is an error (500), never a plausible default.

use anyhow::anyhow;
use contracts::webhooks::{DeliveryStatus, Webhook, WebhookDelivery};

use crate::store::instant;

/// Every column a [`WebhookRow`] reads.
pub const WEBHOOK_COLUMNS: &str = "id, url, event_types, created_at";
/// Every column a [`DeliveryRow`] reads.
pub const DELIVERY_COLUMNS: &str = "id, webhook_id, event_id, event_type, status, attempts, \
     last_status, last_error, created_at, delivered_at";

#[derive(sqlx::FromRow)]
pub struct WebhookRow {
    id: i64,
    url: String,
    event_types: String,
    created_at: i64,
}

impl TryFrom<WebhookRow> for Webhook {
    type Error = anyhow::Error;

    fn try_from(row: WebhookRow) -> anyhow::Result<Self> {
        let id = row.id;
        Ok(Self {
            id,
            url: row.url,
            events: row
                .event_types
                .split(',')
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect(),
            created_at: instant(row.created_at)
                .ok_or_else(|| anyhow!("webhook {id}: stored created_at is not valid"))?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct DeliveryRow {
    id: i64,
    webhook_id: i64,
    event_id: String,
    event_type: String,
    status: String,
    attempts: i64,
    last_status: Option<i64>,
    last_error: Option<String>,
    created_at: i64,
    delivered_at: Option<i64>,
}

impl TryFrom<DeliveryRow> for WebhookDelivery {
    type Error = anyhow::Error;

    fn try_from(row: DeliveryRow) -> anyhow::Result<Self> {
        let id = row.id;
        let bad = |column: &str| anyhow!("webhook delivery {id}: stored {column} is not valid");
        Ok(Self {
            id,
            webhook_id: row.webhook_id,
            event_id: row.event_id,
            event_type: row.event_type,
            status: match row.status.as_str() {
                "PENDING" => DeliveryStatus::Pending,
                "DELIVERED" => DeliveryStatus::Delivered,
                "FAILED" => DeliveryStatus::Failed,
                _ => return Err(bad("status")),
            },
            attempts: row.attempts,
            last_status: row.last_status,
            last_error: row.last_error,
            created_at: instant(row.created_at).ok_or_else(|| bad("created_at"))?,
            delivered_at: row
                .delivered_at
                .map(|ms| instant(ms).ok_or_else(|| bad("delivered_at")))
                .transpose()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(status: &str) -> DeliveryRow {
        DeliveryRow {
            id: 3,
            webhook_id: 1,
            event_id: "e".into(),
            event_type: "AppointmentApproved".into(),
            status: status.into(),
            attempts: 0,
            last_status: None,
            last_error: None,
            created_at: 1_700_000_000_000,
            delivered_at: None,
        }
    }

    #[test]
    fn an_unknown_stored_delivery_status_is_an_error_not_pending() {
        assert!(WebhookDelivery::try_from(delivery("DELIVERED")).is_ok());
        let err = WebhookDelivery::try_from(delivery("LOST")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "webhook delivery 3: stored status is not valid"
        );
    }
}
