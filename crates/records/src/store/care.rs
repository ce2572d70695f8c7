//! Care relationships, learned from appointment events (no call to another service on the
//! read path, so records stay readable while the appointment service is down).

use contracts::appointments::AppointmentStatus;
use contracts::events::AppointmentChanged;
use platform::db::insert_values;
use sqlx::{AnyConnection, Arguments};

use super::RecordStore;

/// Statuses in which an appointment makes its doctor the patient's carer.
const CARING: [AppointmentStatus; 2] = [AppointmentStatus::Approved, AppointmentStatus::Completed];

impl RecordStore {
    /// Whether the doctor has an APPROVED or COMPLETED appointment with the patient.
    pub async fn cares_for(&self, doctor_id: i64, patient_id: i64) -> platform::Result<bool> {
        let (count,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM care_relationships \
             WHERE patient_id = $1 AND doctor_id = $2 AND status IN ($3, $4)",
        )
        .bind(patient_id)
        .bind(doctor_id)
        .bind(CARING[0].as_str())
        .bind(CARING[1].as_str())
        .fetch_one(self.db.pool())
        .await?;
        Ok(count > 0)
    }
}

/// Keeps the newest state of each appointment `changes` describe (one each, in a multi-row
/// upsert); an older state arriving late changes nothing.
pub async fn record_appointments(
    conn: &mut AnyConnection,
    changes: &[&AppointmentChanged],
) -> anyhow::Result<()> {
    insert_values(
        conn,
        (
            "INSERT INTO care_relationships (appointment_id, patient_id, doctor_id, status, \
             version)",
            "ON CONFLICT (appointment_id) DO UPDATE SET status = excluded.status, \
             version = excluded.version WHERE care_relationships.version <= excluded.version",
        ),
        changes,
        |args, changed| {
            args.add(changed.appointment_id)?;
            args.add(changed.patient_id)?;
            args.add(changed.doctor_id)?;
            args.add(changed.status.as_str())?;
            args.add(changed.version)
        },
    )
    .await?;
    Ok(())
}
