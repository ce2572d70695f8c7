//! Weekly working hours, replaced as a whole.

use contracts::events::{DoctorChanged, types};
use jiff::Timestamp;
use jiff::civil::Weekday;
use platform::outbox;
use platform::time::to_millis;

use super::{DoctorStore, SOURCE, from_flag};
use crate::domain::schedule::{ClockTime, ScheduleUpdate, WeeklyHours, WorkingBlock};

impl DoctorStore {
    /// The stored working hours; `None` when the doctor has never had a schedule stored (or
    /// does not exist), meaning the default week applies.
    pub async fn working_hours(&self, doctor_id: i64) -> platform::Result<Option<WeeklyHours>> {
        let mut conn = self.db.pool().acquire().await?;
        let flag: Option<(i64,)> = sqlx::query_as("SELECT has_schedule FROM doctors WHERE id = $1")
            .bind(doctor_id)
            .fetch_optional(&mut *conn)
            .await?;
        if !flag.is_some_and(|(flag,)| from_flag(flag)) {
            return Ok(None);
        }
        let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
            "SELECT weekday, start_minute, end_minute FROM doctor_working_hours \
             WHERE doctor_id = $1 ORDER BY weekday, start_minute",
        )
        .bind(doctor_id)
        .fetch_all(&mut *conn)
        .await?;
        let blocks = rows.into_iter().filter_map(block_from_row).collect();
        Ok(Some(WeeklyHours::from_blocks(blocks)))
    }

    /// Replaces the doctor's working hours and slot length in one transaction, with a
    /// `DoctorUpdated` event; `None` when there is no such doctor.
    pub async fn replace_schedule(
        &self,
        doctor_id: i64,
        update: &ScheduleUpdate,
    ) -> platform::Result<Option<()>> {
        let mut tx = self.db.begin().await?;
        // Updating the doctor first also locks its row, so concurrent replacements queue.
        let changed = sqlx::query(
            "UPDATE doctors SET slot_minutes = $1, has_schedule = 1, updated_at = $2 \
             WHERE id = $3",
        )
        .bind(i64::from(update.slot_minutes))
        .bind(to_millis(Timestamp::now()))
        .bind(doctor_id)
        .execute(&mut *tx)
        .await?;
        if changed.rows_affected() == 0 {
            return Ok(None);
        }
        sqlx::query("DELETE FROM doctor_working_hours WHERE doctor_id = $1")
            .bind(doctor_id)
            .execute(&mut *tx)
            .await?;
        for block in update.hours.blocks() {
            sqlx::query(
                "INSERT INTO doctor_working_hours (doctor_id, weekday, start_minute, end_minute) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(doctor_id)
            .bind(i64::from(block.day.to_monday_one_offset()))
            .bind(i64::from(block.start.minutes()))
            .bind(i64::from(block.end.minutes()))
            .execute(&mut *tx)
            .await?;
        }
        // The profile is unchanged: no speciality, no profile version.
        let event = DoctorChanged {
            doctor_id,
            speciality: None,
            version: 0,
        };
        outbox::append(&mut tx, SOURCE, types::DOCTOR_UPDATED, doctor_id, &event).await?;
        outbox::commit(tx, SOURCE).await?;
        Ok(Some(()))
    }
}

/// A stored block; rows this service did not write are skipped rather than trusted.
pub(super) fn block_from_row((weekday, start, end): (i64, i64, i64)) -> Option<WorkingBlock> {
    let day = Weekday::from_monday_one_offset(i8::try_from(weekday).ok()?).ok()?;
    let (start, end) = (
        ClockTime::from_minutes(start)?,
        ClockTime::from_minutes(end)?,
    );
    (start < end).then_some(WorkingBlock { day, start, end })
}
