//! Reminders: one row per appointment and offset, `SCHEDULED` until its due time, then `SENT`
//! (its notifications stored), or `CANCELLED` / `EXPIRED`. They follow the newest state of
//! their appointment (`appointment_states`), never the event that happens to arrive last.

use contracts::appointments::AppointmentStatus;
use contracts::events::AppointmentChanged;
use contracts::notifications::{Channel, NotificationKind};
use jiff::{SignedDuration, Timestamp};
use platform::db::Backend;
use platform::time::to_millis;
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
    /// Refused: the appointment's newest known state is not confirmed at the reminder's start.
    pub cancelled: usize,
}

fn due_at(start: Timestamp, offset_minutes: u32) -> Timestamp {
    start
        .checked_sub(SignedDuration::from_mins(i64::from(offset_minutes)))
        .unwrap_or(Timestamp::MIN)
}

/// Whether an event's state of its appointment is the newest this service has seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    Newest,
    /// A newer event was handled first: this one is history and must not touch reminders.
    Stale,
}

/// Records the event's state of its appointment unless a newer one is known. Portable upsert:
/// the row changes only for a higher version. Payloads without one (version 0, published
/// before versions existed) apply in arrival order as they always did, and never overwrite a
/// final status: an appointment that was cancelled, rejected, completed or missed stays so.
pub async fn record_appointment_state(
    conn: &mut AnyConnection,
    changed: &AppointmentChanged,
) -> sqlx::Result<Freshness> {
    let done = sqlx::query(
        "INSERT INTO appointment_states (appointment_id, version, status, start_at) \
         VALUES ($1, $2, $3, $4) \
         ON CONFLICT (appointment_id) DO UPDATE SET status = excluded.status, \
           start_at = excluded.start_at, \
           version = CASE WHEN excluded.version > appointment_states.version \
             THEN excluded.version ELSE appointment_states.version END \
         WHERE (appointment_states.version < excluded.version OR excluded.version = 0) \
           AND appointment_states.status IN ('REQUESTED', 'APPROVED')",
    )
    .bind(changed.appointment_id)
    .bind(changed.version)
    .bind(changed.status.as_str())
    .bind(to_millis(changed.start))
    .execute(conn)
    .await?;
    Ok(if done.rows_affected() > 0 {
        Freshness::Newest
    } else {
        Freshness::Stale
    })
}

/// Reminders for the confirmed appointment at its current start, one per offset whose due
/// time is still ahead. A reminder for another start (the appointment moved) is re-armed for
/// this one, whether it was sent, cancelled or expired; one already sent for this start stays
/// sent. Where the due time has passed, a reminder still waiting for an older start is dropped.
pub async fn arm_reminders(
    conn: &mut AnyConnection,
    changed: &AppointmentChanged,
    offsets_minutes: &[u32],
    now: Timestamp,
) -> sqlx::Result<()> {
    let start = to_millis(changed.start);
    for &offset in offsets_minutes {
        let due = due_at(changed.start, offset);
        if due <= now {
            sqlx::query(
                "UPDATE reminders SET status = 'CANCELLED' WHERE appointment_id = $1 \
                 AND offset_minutes = $2 AND status = 'SCHEDULED' AND start_at <> $3",
            )
            .bind(changed.appointment_id)
            .bind(i64::from(offset))
            .bind(start)
            .execute(&mut *conn)
            .await?;
            continue;
        }
        sqlx::query(
            "INSERT INTO reminders (appointment_id, offset_minutes, patient_id, doctor_id, \
             start_at, due_at, status) VALUES ($1, $2, $3, $4, $5, $6, 'SCHEDULED') \
             ON CONFLICT (appointment_id, offset_minutes) DO UPDATE \
             SET start_at = excluded.start_at, due_at = excluded.due_at, status = 'SCHEDULED' \
             WHERE reminders.start_at <> excluded.start_at OR reminders.status <> 'SENT'",
        )
        .bind(changed.appointment_id)
        .bind(i64::from(offset))
        .bind(changed.patient_id)
        .bind(changed.doctor_id)
        .bind(start)
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
    /// The newest known state of the appointment, if any event recorded one.
    appointment_status: Option<String>,
    appointment_start_at: Option<i64>,
}

impl DueReminder {
    /// The handler keeps reminders in step with the newest state; this is the second line of
    /// defence: a reminder goes out only while its appointment is known to be approved at the
    /// reminder's start (or no state was recorded, for reminders older than the state table).
    fn is_current(&self) -> bool {
        match (&self.appointment_status, self.appointment_start_at) {
            (Some(status), Some(start)) => {
                status == AppointmentStatus::Approved.as_str() && start == self.start_at
            }
            _ => true,
        }
    }
}

impl NotificationStore {
    /// Turns due reminders into REMINDER notifications for the patient, one per channel, in one
    /// transaction: claimed rows are locked (PostgreSQL skips rows another instance holds;
    /// SQLite has one writer), so concurrent passes never send one reminder twice, and a
    /// reminder stays `SCHEDULED` until the transaction that stored its notifications commits.
    /// Reminders of appointments that have already started expire instead, and those of
    /// appointments known to be no longer confirmed at that time are cancelled.
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
            "SELECT id, appointment_id, offset_minutes, patient_id, doctor_id, start_at, \
             (SELECT s.status FROM appointment_states s \
              WHERE s.appointment_id = reminders.appointment_id) AS appointment_status, \
             (SELECT s.start_at FROM appointment_states s \
              WHERE s.appointment_id = reminders.appointment_id) AS appointment_start_at \
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
            // A bad stored start fails the pass (and is logged) rather than remind of 1970.
            let start = Timestamp::from_millisecond(reminder.start_at).map_err(|_| {
                anyhow::anyhow!("reminder {}: stored start_at is not valid", reminder.id)
            })?;
            let status = if !reminder.is_current() {
                pass.cancelled += 1;
                "CANCELLED"
            } else if start <= now {
                pass.expired += 1;
                "EXPIRED"
            } else {
                for &channel in channels {
                    insert_notification(
                        &mut tx,
                        &reminder_notification(&reminder, start, channel),
                        now,
                    )
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
            let due = Timestamp::from_millisecond(due).ok()?;
            ReminderStatus::parse(&status).map(|status| (status, due))
        }))
    }
}

fn reminder_notification(
    reminder: &DueReminder,
    start: Timestamp,
    channel: Channel,
) -> NewNotificationRow {
    NewNotificationRow {
        recipient: Recipient::patient(reminder.patient_id),
        channel,
        kind: NotificationKind::Reminder,
        appointment_id: Some(reminder.appointment_id),
        facts: Facts {
            appointment_id: Some(reminder.appointment_id),
            start: Some(start),
            counterpart_id: Some(reminder.doctor_id),
            ..Facts::default()
        },
        subject: None,
        message: None,
        // The start is part of the key: a moved appointment is reminded of its new time once.
        dedupe_key: format!(
            "reminder:{}:{}:{}:{}",
            reminder.appointment_id,
            reminder.offset_minutes,
            reminder.start_at,
            channel.as_str()
        ),
    }
}
