//! An erased patient in the notification service: their notifications (rendered messages,
//! pending deliveries) and reminders go; doctors' notifications about them lose their rendered
//! text, which names the patient; webhook deliveries about them not yet sent are dropped.

use contracts::events::types;
use sqlx::{AnyConnection, AssertSqlSafe};

use super::{COLUMNS, NotificationRow, NotificationStore, decode};
use crate::domain::{Facts, StoredNotification};

/// How much one erasure removed or scrubbed.
#[derive(Debug, Default, Clone, Copy)]
pub struct Erased {
    pub notifications: u64,
    pub reminders: u64,
    pub doctors_notifications: u64,
    pub webhook_deliveries: u64,
}

/// Erases what the service holds about `patient_id`, inside the erasure's transaction.
pub async fn erase_patient(conn: &mut AnyConnection, patient_id: i64) -> sqlx::Result<Erased> {
    let notifications = sqlx::query(
        "DELETE FROM notifications WHERE recipient_type = 'PATIENT' AND recipient_id = $1",
    )
    .bind(patient_id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    let reminders = sqlx::query("DELETE FROM reminders WHERE patient_id = $1")
        .bind(patient_id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    let mut erased = Erased {
        notifications,
        reminders,
        ..Erased::default()
    };
    // Facts are JSON: the pattern narrows the rows, the parsed facts decide.
    let doctors: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, facts FROM notifications WHERE recipient_type = 'DOCTOR' AND facts LIKE $1",
    )
    .bind(format!("%\"counterpartId\":{patient_id}%"))
    .fetch_all(&mut *conn)
    .await?;
    for (id, facts) in doctors {
        let about = serde_json::from_str::<Facts>(&facts)
            .is_ok_and(|facts| facts.counterpart_id == Some(patient_id));
        if about {
            // Without its rendered text a notification shows the plain title of its kind.
            erased.doctors_notifications += sqlx::query(
                "UPDATE notifications SET subject = NULL, message = NULL, last_error = NULL \
                 WHERE id = $1",
            )
            .bind(id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
        }
    }
    let deliveries: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, payload FROM webhook_deliveries \
         WHERE status = 'PENDING' AND event_type <> $1 AND payload LIKE $2",
    )
    .bind(types::PATIENT_ERASED)
    .bind(format!("%\"patientId\":{patient_id}%"))
    .fetch_all(&mut *conn)
    .await?;
    for (id, payload) in deliveries {
        let about = serde_json::from_str::<serde_json::Value>(&payload)
            .is_ok_and(|p| p["data"]["patientId"].as_i64() == Some(patient_id));
        if about {
            erased.webhook_deliveries +=
                sqlx::query("DELETE FROM webhook_deliveries WHERE id = $1")
                    .bind(id)
                    .execute(&mut *conn)
                    .await?
                    .rows_affected();
        }
    }
    Ok(erased)
}

impl NotificationStore {
    /// Every notification to the patient, oldest first: their part of the patient's export.
    pub async fn of_patient(&self, patient_id: i64) -> platform::Result<Vec<StoredNotification>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM notifications \
             WHERE recipient_type = 'PATIENT' AND recipient_id = $1 ORDER BY id"
        );
        let rows: Vec<NotificationRow> = sqlx::query_as(AssertSqlSafe(sql))
            .bind(patient_id)
            .fetch_all(self.db.pool())
            .await?;
        Ok(rows.into_iter().map(decode).collect::<sqlx::Result<_>>()?)
    }
}
