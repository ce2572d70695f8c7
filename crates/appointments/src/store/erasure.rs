//! An erased patient's appointments: the rows stay (times, statuses and ids are what
//! scheduling, billing and the audit trail rest on), their free text goes, and so do the
//! stored answers of retried bookings, which repeat it.

use contracts::appointments::Appointment;
use sqlx::AnyConnection;

use super::{AppointmentRow, AppointmentStore, COLUMNS};

/// Drops the free text of every appointment of `patient_id` and the idempotency replies of
/// their bookings, inside the erasure's transaction.
pub async fn erase_patient(conn: &mut AnyConnection, patient_id: i64) -> sqlx::Result<u64> {
    sqlx::query(
        "DELETE FROM idempotency_keys WHERE appointment_id IN \
         (SELECT id FROM appointments WHERE patient_id = $1)",
    )
    .bind(patient_id)
    .execute(&mut *conn)
    .await?;
    let done = sqlx::query(
        "UPDATE appointments SET description = '', cancellation_reason = NULL, \
         rejection_reason = NULL WHERE patient_id = $1",
    )
    .bind(patient_id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

impl AppointmentStore {
    /// Every appointment of the patient, oldest first: their part of the patient's export.
    pub async fn of_patient(&self, patient_id: i64) -> platform::Result<Vec<Appointment>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM appointments WHERE patient_id = $1 ORDER BY start_at, id"
        );
        let rows: Vec<AppointmentRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(patient_id)
            .fetch_all(self.db.pool())
            .await?;
        rows.into_iter().map(Appointment::try_from).collect()
    }
}
