//! The service's tables, in portable SQL. Writes made while handling an event take the
//! consumer's connection, so they commit together with its inbox row.

mod delivery;
mod erasure;
mod notifications;
mod reminders;

use anyhow::anyhow;
use contracts::notifications::{Channel, NotificationKind, NotificationStatus, RecipientType};
use jiff::Timestamp;
use platform::audit::AuditLog;
use platform::db::Db;

use crate::domain::{Recipient, StoredNotification};

pub use delivery::{Claimed, Outcome};
pub use erasure::erase_patient;
pub use notifications::{ListFilter, insert_notification, insert_notifications};
#[cfg(test)]
pub use reminders::ReminderStatus;
pub use reminders::{
    Freshness, ReminderPass, arm_reminders, cancel_reminders, record_appointment_state,
};

/// Every column of `notifications` a [`NotificationRow`] reads.
const COLUMNS: &str = "id, recipient_type, recipient_id, channel, kind, appointment_id, facts, \
    subject, message, status, attempts, created_at, sent_at, next_attempt_at, last_error";

#[derive(Debug, Clone)]
pub struct NotificationStore {
    db: Db,
    audit: AuditLog,
}

impl NotificationStore {
    pub fn new(db: Db, audit: AuditLog) -> Self {
        Self { db, audit }
    }
}

#[derive(sqlx::FromRow)]
struct NotificationRow {
    id: i64,
    recipient_type: String,
    recipient_id: i64,
    channel: String,
    kind: String,
    appointment_id: Option<i64>,
    facts: String,
    subject: Option<String>,
    message: Option<String>,
    status: String,
    attempts: i64,
    created_at: i64,
    sent_at: Option<i64>,
    next_attempt_at: i64,
    last_error: Option<String>,
}

/// Stored data this service did not write (an unknown name, a bad number) is an error, never
/// a plausible default. Messages name the row and column, never the stored text.
impl TryFrom<NotificationRow> for StoredNotification {
    type Error = anyhow::Error;

    fn try_from(row: NotificationRow) -> anyhow::Result<Self> {
        let id = row.id;
        let bad = |column: &str| anyhow!("notification {id}: stored {column} is not valid");
        Ok(Self {
            id,
            recipient: Recipient {
                kind: RecipientType::parse(&row.recipient_type)
                    .ok_or_else(|| bad("recipient_type"))?,
                id: row.recipient_id,
            },
            channel: Channel::parse(&row.channel).ok_or_else(|| bad("channel"))?,
            kind: NotificationKind::parse(&row.kind).ok_or_else(|| bad("kind"))?,
            appointment_id: row.appointment_id,
            facts: serde_json::from_str(&row.facts).map_err(|_| bad("facts"))?,
            subject: row.subject,
            message: row.message,
            status: NotificationStatus::parse(&row.status).ok_or_else(|| bad("status"))?,
            attempts: u32::try_from(row.attempts).map_err(|_| bad("attempts"))?,
            created_at: instant(row.created_at).ok_or_else(|| bad("created_at"))?,
            sent_at: row
                .sent_at
                .map(|ms| instant(ms).ok_or_else(|| bad("sent_at")))
                .transpose()?,
            next_attempt_at: instant(row.next_attempt_at).ok_or_else(|| bad("next_attempt_at"))?,
            last_error: row.last_error,
        })
    }
}

/// A stored instant, or `None` when it is out of range (the caller names the column).
pub(crate) fn instant(ms: i64) -> Option<Timestamp> {
    Timestamp::from_millisecond(ms).ok()
}

/// Decodes rows read inside a transaction of the event consumer, which tells a lost connection
/// (`sqlx::Error::Io`, retried) from everything else by the error's kind.
fn decode(row: NotificationRow) -> sqlx::Result<StoredNotification> {
    StoredNotification::try_from(row).map_err(|err| sqlx::Error::Decode(err.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> NotificationRow {
        NotificationRow {
            id: 9,
            recipient_type: "PATIENT".into(),
            recipient_id: 6,
            channel: "IN_APP".into(),
            kind: "MESSAGE".into(),
            appointment_id: None,
            facts: "{}".into(),
            subject: None,
            message: Some("hello".into()),
            status: "SENT".into(),
            attempts: 1,
            created_at: 1_700_000_000_000,
            sent_at: Some(1_700_000_000_000),
            next_attempt_at: 1_700_000_000_000,
            last_error: None,
        }
    }

    #[test]
    fn a_stored_row_decodes_strictly() {
        let stored = StoredNotification::try_from(row()).unwrap();
        assert_eq!(stored.status, NotificationStatus::Sent);
        let corrupt: [fn(&mut NotificationRow); 6] = [
            |r| r.status = "DELIVERED".into(),
            |r| r.recipient_type = "NURSE".into(),
            |r| r.channel = "FAX".into(),
            |r| r.kind = "GREETING".into(),
            |r| r.facts = "not json".into(),
            |r| r.attempts = -1,
        ];
        for change in corrupt {
            let mut bad = row();
            change(&mut bad);
            let err = StoredNotification::try_from(bad).unwrap_err().to_string();
            assert!(err.starts_with("notification 9: stored"), "{err}");
        }
    }
}
