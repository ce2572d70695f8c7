//! The service's tables, in portable SQL. Writes made while handling an event take the
//! consumer's connection, so they commit together with its inbox row.

mod delivery;
mod notifications;
mod reminders;

use contracts::notifications::{Channel, NotificationKind, NotificationStatus, RecipientType};
use platform::db::Db;
use platform::time::from_millis;

use crate::domain::{Recipient, StoredNotification};

pub use delivery::{Claimed, Outcome};
pub use notifications::{ListFilter, insert_notification};
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
}

impl NotificationStore {
    pub fn new(db: Db) -> Self {
        Self { db }
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

impl NotificationRow {
    /// CHECK constraints admit only known names, so the fallbacks never apply to real rows.
    fn into_domain(self) -> StoredNotification {
        StoredNotification {
            id: self.id,
            recipient: Recipient {
                kind: RecipientType::parse(&self.recipient_type).unwrap_or(RecipientType::Patient),
                id: self.recipient_id,
            },
            channel: Channel::parse(&self.channel).unwrap_or(Channel::InApp),
            kind: NotificationKind::parse(&self.kind).unwrap_or(NotificationKind::Message),
            appointment_id: self.appointment_id,
            facts: serde_json::from_str(&self.facts).unwrap_or_default(),
            subject: self.subject,
            message: self.message,
            status: NotificationStatus::parse(&self.status).unwrap_or(NotificationStatus::Failed),
            attempts: u32::try_from(self.attempts).unwrap_or(u32::MAX),
            created_at: from_millis(self.created_at),
            sent_at: self.sent_at.map(from_millis),
            next_attempt_at: from_millis(self.next_attempt_at),
            last_error: self.last_error,
        }
    }
}
