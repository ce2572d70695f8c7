//! `Idempotency-Key`: the first answer to a booking is kept with its key, and a retry with the
//! same key and the same request gets that answer again instead of a second booking.

use contracts::appointments::Appointment;
use jiff::Timestamp;
use platform::ApiError;
use platform::time::to_millis;
use sqlx::AnyConnection;

use super::AppointmentStore;

/// A key to store with a new booking.
#[derive(Debug, Clone, Copy)]
pub struct NewKey<'a> {
    pub key: &'a str,
    pub request_hash: &'a str,
}

/// The answer first given for a key.
#[derive(Debug, Clone)]
pub struct StoredReply {
    pub request_hash: String,
    pub appointment: Appointment,
}

impl NewKey<'_> {
    pub(super) async fn insert(
        self,
        conn: &mut AnyConnection,
        appointment: &Appointment,
    ) -> platform::Result<()> {
        sqlx::query(
            "INSERT INTO idempotency_keys \
             (idempotency_key, request_hash, appointment_id, response, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(self.key)
        .bind(self.request_hash)
        .bind(appointment.id)
        .bind(serde_json::to_string(appointment).map_err(anyhow::Error::from)?)
        .bind(to_millis(Timestamp::now()))
        .execute(conn)
        .await?;
        Ok(())
    }
}

impl AppointmentStore {
    pub async fn stored_reply(&self, key: &str) -> platform::Result<Option<StoredReply>> {
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT request_hash, response FROM idempotency_keys WHERE idempotency_key = $1",
        )
        .bind(key)
        .fetch_optional(self.db.pool())
        .await?;
        row.map(|(request_hash, response)| {
            let appointment =
                serde_json::from_str(&response).map_err(|err| ApiError::Internal(err.into()))?;
            Ok(StoredReply {
                request_hash,
                appointment,
            })
        })
        .transpose()
    }
}
