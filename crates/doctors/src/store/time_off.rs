//! Periods of time off.

use contracts::doctors::{Slot, TimeOff};
use jiff::Timestamp;
use platform::time::{from_millis, to_millis};

use super::DoctorStore;
use crate::domain::time_off::TimeOffPeriod;

#[derive(sqlx::FromRow)]
struct TimeOffRow {
    id: i64,
    doctor_id: i64,
    starts_at: i64,
    ends_at: i64,
    reason: Option<String>,
}

impl TimeOffRow {
    fn into_time_off(self) -> TimeOff {
        TimeOff {
            id: self.id,
            doctor_id: self.doctor_id,
            from: from_millis(self.starts_at),
            to: from_millis(self.ends_at),
            reason: self.reason,
        }
    }
}

impl DoctorStore {
    /// Records time off; `None` when there is no such doctor.
    pub async fn add_time_off(
        &self,
        doctor_id: i64,
        off: &TimeOffPeriod,
    ) -> platform::Result<Option<TimeOff>> {
        let mut tx = self.db.begin().await?;
        let doctor: Option<(i64,)> = sqlx::query_as("SELECT id FROM doctors WHERE id = $1")
            .bind(doctor_id)
            .fetch_optional(&mut *tx)
            .await?;
        if doctor.is_none() {
            return Ok(None);
        }
        let row: TimeOffRow = sqlx::query_as(
            "INSERT INTO doctor_time_off (doctor_id, starts_at, ends_at, reason, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id, doctor_id, starts_at, ends_at, reason",
        )
        .bind(doctor_id)
        .bind(to_millis(off.period.start))
        .bind(to_millis(off.period.end))
        .bind(off.reason.as_ref().map(|r| r.as_str()))
        .bind(to_millis(Timestamp::now()))
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(row.into_time_off()))
    }

    /// All of a doctor's time off, earliest first.
    pub async fn time_off(&self, doctor_id: i64) -> platform::Result<Vec<TimeOff>> {
        let rows: Vec<TimeOffRow> = sqlx::query_as(
            "SELECT id, doctor_id, starts_at, ends_at, reason FROM doctor_time_off \
             WHERE doctor_id = $1 ORDER BY starts_at, id",
        )
        .bind(doctor_id)
        .fetch_all(self.db.pool())
        .await?;
        Ok(rows.into_iter().map(TimeOffRow::into_time_off).collect())
    }

    /// The periods of time off that overlap `window`.
    pub async fn time_off_during(
        &self,
        doctor_id: i64,
        window: Slot,
    ) -> platform::Result<Vec<Slot>> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT starts_at, ends_at FROM doctor_time_off \
             WHERE doctor_id = $1 AND starts_at < $2 AND ends_at > $3 ORDER BY starts_at",
        )
        .bind(doctor_id)
        .bind(to_millis(window.end))
        .bind(to_millis(window.start))
        .fetch_all(self.db.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(start, end)| Slot {
                start: from_millis(start),
                end: from_millis(end),
            })
            .collect())
    }
}
