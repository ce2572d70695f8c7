//! What an availability check reads, in one statement: the booking path asks it for every
//! appointment, so it costs one round trip instead of four.

use contracts::doctors::{Doctor, Slot};
use platform::time::{from_millis, to_millis};

use super::doctors::DoctorRow;
use super::schedule::block_from_row;
use super::{DoctorStore, from_flag};
use crate::domain::schedule::WeeklyHours;

/// A doctor with their stored working hours (`None`: the default week applies) and the time
/// off that overlaps the window asked about.
#[derive(Debug, Clone)]
pub struct DoctorCalendar {
    pub doctor: Doctor,
    pub hours: Option<WeeklyHours>,
    pub time_off: Vec<Slot>,
}

/// Hours and time off share the join's columns, told apart by `kind`.
const HOURS: i64 = 1;
const TIME_OFF: i64 = 2;

#[derive(sqlx::FromRow)]
struct CalendarRow {
    #[sqlx(flatten)]
    doctor: DoctorRow,
    has_schedule: i64,
    kind: Option<i64>,
    a: Option<i64>,
    b: Option<i64>,
    c: Option<i64>,
}

impl DoctorStore {
    /// The doctor, their working hours and their time off overlapping `window`, read in one
    /// statement (one snapshot); `None` when there is no such doctor.
    pub async fn calendar(
        &self,
        doctor_id: i64,
        window: Slot,
    ) -> platform::Result<Option<DoctorCalendar>> {
        let mut rows: Vec<CalendarRow> = sqlx::query_as(
            "SELECT d.id, d.name, d.email, d.phone, d.speciality, d.gender, d.available, \
               d.slot_minutes, d.timezone, d.auto_approve, d.has_schedule, \
               x.kind, x.a, x.b, x.c \
             FROM doctors d LEFT JOIN ( \
               SELECT CAST(1 AS BIGINT) AS kind, weekday AS a, start_minute AS b, \
                 end_minute AS c \
               FROM doctor_working_hours WHERE doctor_id = $1 \
               UNION ALL \
               SELECT CAST(2 AS BIGINT), CAST(0 AS BIGINT), starts_at, ends_at \
               FROM doctor_time_off WHERE doctor_id = $1 AND starts_at < $2 AND ends_at > $3 \
             ) x ON 1 = 1 \
             WHERE d.id = $1",
        )
        .bind(doctor_id)
        .bind(to_millis(window.end))
        .bind(to_millis(window.start))
        .fetch_all(self.db.pool())
        .await?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let has_schedule = from_flag(first.has_schedule);
        let mut blocks = Vec::new();
        let mut time_off = Vec::new();
        for row in &rows {
            match (row.kind, row.a, row.b, row.c) {
                (Some(HOURS), Some(day), Some(start), Some(end)) => {
                    blocks.extend(block_from_row((day, start, end)));
                }
                (Some(TIME_OFF), _, Some(start), Some(end)) => time_off.push(Slot {
                    start: from_millis(start),
                    end: from_millis(end),
                }),
                _ => {}
            }
        }
        let doctor = rows.swap_remove(0).doctor;
        time_off.sort_by_key(|off| off.start);
        Ok(Some(DoctorCalendar {
            doctor: doctor.into_doctor(),
            hours: has_schedule.then(|| WeeklyHours::from_blocks(blocks)),
            time_off,
        }))
    }
}
