//! `Idempotency-Key`: the first answer to a booking is kept with its key, and a retry with the
//! same key and the same request gets that answer again instead of a second booking. Keys
//! expire (`CAREBOOK_IDEMPOTENCY_TTL_HOURS`, default 24): an expired key replays nothing, and
//! every booking that stores a key deletes the expired ones, so the table does not grow forever.

use std::time::Duration;

use contracts::appointments::Appointment;
use jiff::Timestamp;
use platform::ApiError;
use platform::time::to_millis;
use sqlx::AnyConnection;

use super::AppointmentStore;
use crate::policy::MayBook;

/// A key to store with a new booking.
#[derive(Debug, Clone)]
pub struct NewKey {
    pub key: String,
    pub request_hash: String,
}

/// The answer first given for a key.
#[derive(Debug, Clone)]
pub struct StoredReply {
    pub request_hash: String,
    pub appointment: Appointment,
}

impl NewKey {
    pub(super) async fn insert(
        self,
        conn: &mut AnyConnection,
        may: MayBook,
        appointment: &Appointment,
        (now, ttl): (Timestamp, Duration),
    ) -> platform::Result<()> {
        sqlx::query("DELETE FROM idempotency_keys WHERE created_at <= $1")
            .bind(expiry_cutoff(now, ttl))
            .execute(&mut *conn)
            .await?;
        sqlx::query(
            "INSERT INTO idempotency_keys \
             (idempotency_key, request_hash, appointment_id, response, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(scoped(may, &self.key))
        .bind(self.request_hash)
        .bind(appointment.id)
        .bind(serde_json::to_string(appointment).map_err(anyhow::Error::from)?)
        .bind(to_millis(now))
        .execute(conn)
        .await?;
        Ok(())
    }
}

impl AppointmentStore {
    /// The first answer given to this caller for `key`, unless the key has expired.
    pub async fn stored_reply(
        &self,
        may: MayBook,
        key: &str,
    ) -> platform::Result<Option<StoredReply>> {
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT request_hash, response FROM idempotency_keys \
             WHERE idempotency_key = $1 AND created_at > $2",
        )
        .bind(scoped(may, key))
        .bind(expiry_cutoff(Timestamp::now(), self.idempotency_ttl))
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

/// Keys are scoped to the caller: one user's key never replays another user's booking.
fn scoped(may: MayBook, key: &str) -> String {
    format!("{}:{key}", may.caller_id())
}

/// Keys stored at or before this instant have expired.
fn expiry_cutoff(now: Timestamp, ttl: Duration) -> i64 {
    to_millis(now).saturating_sub(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX))
}
