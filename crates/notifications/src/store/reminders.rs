//! Reminders: one row per appointment and offset, `SCHEDULED` until its due time, then `SENT`
//! (its notifications stored), or `CANCELLED` / `EXPIRED`.

use contracts::events::AppointmentChanged;
use contracts::notifications::{Channel, NotificationKind};
use jiff::{SignedDuration, Timestamp};
use platform::db::Backend;
use platform::time::{from_millis, to_millis};
use sqlx::{AnyConnection, AssertSqlSafe};

use super::{NotificationStore, insert_notification};
use crate::domain::{Facts, NewNotificationRow, Recipient};

#[cfg(test)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReminderStatus {
    Scheduled,
    Sent,
    Cancelled,
    Expired,
}

#[cfg(test)]
impl ReminderStatus {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "SCHEDULED" => Some(Self::Scheduled),
            "SENT" => Some(Self::Sent),
            "CANCELLED" => Some(Self::Cancelled),
            "EXPIRED" => Some(Self::Expired),
            _ => None,
        }
    }
}

/// How many due reminders one pass handled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReminderPass {
    pub sent: usize,
    pub expired: usize,
}

fn due_at(start: Timestamp, offset_minutes: u32) -> Timestamp {
    start
        .checked_sub(SignedDuration::from_mins(i64::from(offset_minutes)))
        .unwrap_or(Timestamp::MIN)
}

/// One reminder per offset whose due time is still ahead; existing ones stay as they are.
pub async fn schedule_reminders(
    conn: &mut AnyConnection,
    changed: &AppointmentChanged,
    offsets_minutes: &[u32],
    now: Timestamp,
) -> sqlx::Result<()> {
    for &offset in offsets_minutes {
        let due = due_at(changed.start, offset);
        if due <= now {
            continue;
        }
        sqlx::query(
            "INSERT INTO reminders (appointment_id, offset_minutes, patient_id, doctor_id, \
             start_at, due_at, status) VALUES ($1, $2, $3, $4, $5, $6, 'SCHEDULED') \
             ON CONFLICT (appointment_id, offset_minutes) DO NOTHING",
        )
        .bind(changed.appointment_id)
        .bind(i64::from(offset))
        .bind(changed.patient_id)
        .bind(changed.doctor_id)
        .bind(to_millis(changed.start))
        .bind(to_millis(due))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Scheduled reminders follow the appointment to its new start; offsets now due too soon are
/// cancelled, offsets that became possible are added. Sent ones are not sent again.
pub async fn move_reminders(
    conn: &mut AnyConnection,
    changed: &AppointmentChanged,
    offsets_minutes: &[u32],
    now: Timestamp,
) -> sqlx::Result<()> {
    for &offset in offsets_minutes {
        let due = due_at(changed.start, offset);
        if due <= now {
            sqlx::query(
                "UPDATE reminders SET status = 'CANCELLED' \
                 WHERE appointment_id = $1 AND offset_minutes = $2 AND status = 'SCHEDULED'",
            )
            .bind(changed.appointment_id)
            .bind(i64::from(offset))
            .execute(&mut *conn)
            .await?;
            continue;
        }
        sqlx::query(
            "INSERT INTO reminders (appointment_id, offset_minutes, patient_id, doctor_id, \
             start_at, due_at, status) VALUES ($1, $2, $3, $4, $5, $6, 'SCHEDULED') \
             ON CONFLICT (appointment_id, offset_minutes) DO UPDATE \
             SET start_at = excluded.start_at, due_at = excluded.due_at \
             WHERE reminders.status = 'SCHEDULED'",
        )
        .bind(changed.appointment_id)
        .bind(i64::from(offset))
        .bind(changed.patient_id)
        .bind(changed.doctor_id)
        .bind(to_millis(changed.start))
        .bind(to_millis(due))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The appointment will not take place as confirmed: its scheduled reminders are dropped.
pub async fn cancel_reminders(conn: &mut AnyConnection, appointment_id: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE reminders SET status = 'CANCELLED' WHERE appointment_id = $1 AND status = 'SCHEDULED'",
    )
    .bind(appointment_id)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct DueReminder {
    id: i64,
    appointment_id: i64,
    offset_minutes: i64,
    patient_id: i64,
    doctor_id: i64,
    start_at: i64,
}

impl NotificationStore {
    /// Turns due reminders into REMINDER notifications for the patient, one per channel, in one
    /// transaction: claimed rows are locked (PostgreSQL skips rows another instance holds;
    /// SQLite has one writer), so concurrent passes never send one reminder twice, and a
    /// reminder stays `SCHEDULED` until the transaction that stored its notifications commits.
    /// Reminders of appointments that have already started expire instead.
    pub async fn send_due_reminders(
        &self,
        now: Timestamp,
        channels: &[Channel],
        limit: i64,
    ) -> platform::Result<ReminderPass> {
        let lock = match self.db.backend() {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "SELECT id, appointment_id, offset_minutes, patient_id, doctor_id, start_at \
             FROM reminders WHERE status = 'SCHEDULED' AND due_at <= $1 \
             ORDER BY due_at, id LIMIT $2{lock}"
        );
        // A cheap read first: an idle pass takes no write lock (SQLite has only one).
        let any_due: Option<(i64,)> = sqlx::query_as(
            "SELECT id FROM reminders WHERE status = 'SCHEDULED' AND due_at <= $1 LIMIT 1",
        )
        .bind(to_millis(now))
        .fetch_optional(self.db.pool())
        .await?;
        if any_due.is_none() {
            return Ok(ReminderPass::default());
        }
        let mut tx = self.db.begin().await?;
        let due: Vec<DueReminder> = sqlx::query_as(AssertSqlSafe(sql))
            .bind(to_millis(now))
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?;
        let mut pass = ReminderPass::default();
        for reminder in due {
            let start = from_millis(reminder.start_at);
            let status = if start <= now {
                pass.expired += 1;
                "EXPIRED"
            } else {
                for &channel in channels {
                    insert_notification(&mut tx, &reminder_notification(&reminder, channel), now)
                        .await?;
                }
                pass.sent += 1;
                "SENT"
            };
            sqlx::query("UPDATE reminders SET status = $1 WHERE id = $2 AND status = 'SCHEDULED'")
                .bind(status)
                .bind(reminder.id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(pass)
    }

    #[cfg(test)]
    /// The status of an appointment's reminder at `offset_minutes`, if there is one.
    pub async fn reminder_status(
        &self,
        appointment_id: i64,
        offset_minutes: u32,
    ) -> platform::Result<Option<(ReminderStatus, Timestamp)>> {
        let row: Option<(String, i64)> = sqlx::query_as(
            "SELECT status, due_at FROM reminders WHERE appointment_id = $1 AND offset_minutes = $2",
        )
        .bind(appointment_id)
        .bind(i64::from(offset_minutes))
        .fetch_optional(self.db.pool())
        .await?;
        Ok(row.and_then(|(status, due)| {
            ReminderStatus::parse(&status).map(|status| (status, from_millis(due)))
        }))
    }
}

fn reminder_notification(reminder: &DueReminder, channel: Channel) -> NewNotificationRow {
    NewNotificationRow {
        recipient: Recipient::patient(reminder.patient_id),
        channel,
        kind: NotificationKind::Reminder,
        appointment_id: Some(reminder.appointment_id),
        facts: Facts {
            appointment_id: Some(reminder.appointment_id),
            start: Some(from_millis(reminder.start_at)),
            counterpart_id: Some(reminder.doctor_id),
            ..Facts::default()
        },
        subject: None,
        message: None,
        dedupe_key: format!(
            "reminder:{}:{}:{}",
            reminder.appointment_id,
            reminder.offset_minutes,
            channel.as_str()
        ),
    }
}
