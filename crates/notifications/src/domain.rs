//! The service's own vocabulary: who a notification is for, what a template may know, and a
//! stored notification as the store hands it out.

use contracts::events::AppointmentChanged;
use contracts::notifications::{
    Channel, Notification, NotificationKind, NotificationStatus, RecipientType,
};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::templates::Templates;

/// One patient or one doctor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Recipient {
    pub kind: RecipientType,
    pub id: i64,
}

impl Recipient {
    pub fn patient(id: i64) -> Self {
        Self {
            kind: RecipientType::Patient,
            id,
        }
    }

    pub fn doctor(id: i64) -> Self {
        Self {
            kind: RecipientType::Doctor,
            id,
        }
    }
}

/// What a template needs about an appointment: ids and instants, never names or free text
/// (those are fetched from their owners when the notification is delivered).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Facts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appointment_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_start: Option<Timestamp>,
    /// The other party: the doctor of a patient's notification, the patient of a doctor's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counterpart_id: Option<i64>,
}

impl Facts {
    /// The facts of an appointment event as `recipient` sees them.
    pub fn of(changed: &AppointmentChanged, recipient: RecipientType) -> Self {
        Self {
            appointment_id: Some(changed.appointment_id),
            start: Some(changed.start),
            end: Some(changed.end),
            previous_start: changed.previous_start,
            counterpart_id: Some(match recipient {
                RecipientType::Patient => changed.doctor_id,
                RecipientType::Doctor => changed.patient_id,
            }),
        }
    }

    /// The counterpart as a recipient: a patient's counterpart is a doctor and vice versa.
    pub fn counterpart(&self, of: RecipientType) -> Option<Recipient> {
        let id = self.counterpart_id?;
        Some(match of {
            RecipientType::Patient => Recipient::doctor(id),
            RecipientType::Doctor => Recipient::patient(id),
        })
    }
}

/// A notification about to be stored.
#[derive(Clone)]
pub struct NewNotificationRow {
    pub recipient: Recipient,
    pub channel: Channel,
    pub kind: NotificationKind,
    pub appointment_id: Option<i64>,
    pub facts: Facts,
    /// Set for texts that need no rendering (an administrator's message).
    pub subject: Option<String>,
    pub message: Option<String>,
    /// Makes a repeated insert of the same notification a no-op.
    pub dedupe_key: String,
}

/// A stored notification.
#[derive(Clone)]
pub struct StoredNotification {
    pub id: i64,
    pub recipient: Recipient,
    pub channel: Channel,
    pub kind: NotificationKind,
    pub appointment_id: Option<i64>,
    pub facts: Facts,
    pub subject: Option<String>,
    pub message: Option<String>,
    pub status: NotificationStatus,
    pub attempts: u32,
    pub created_at: Timestamp,
    pub sent_at: Option<Timestamp>,
    /// When the worker tries next (read by tests; the worker's claim asks the database).
    #[cfg_attr(not(test), allow(dead_code))]
    pub next_attempt_at: Timestamp,
    pub last_error: Option<String>,
}

// Subjects and messages name people: their `Debug` shows ids and states only.
impl std::fmt::Debug for NewNotificationRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewNotificationRow")
            .field("recipient", &self.recipient)
            .field("channel", &self.channel)
            .field("kind", &self.kind)
            .field("dedupe_key", &self.dedupe_key)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for StoredNotification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredNotification")
            .field("id", &self.id)
            .field("recipient", &self.recipient)
            .field("channel", &self.channel)
            .field("kind", &self.kind)
            .field("status", &self.status)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

impl StoredNotification {
    /// The wire form; an unrendered notification shows its kind's title.
    pub fn to_wire(&self, templates: &Templates) -> Notification {
        Notification {
            id: self.id,
            recipient_type: self.recipient.kind,
            recipient_id: self.recipient.id,
            channel: self.channel,
            kind: self.kind,
            appointment_id: self.appointment_id,
            subject: self.subject.clone(),
            message: self
                .message
                .clone()
                .unwrap_or_else(|| templates.title(self.kind).to_owned()),
            status: self.status,
            created_at: self.created_at,
            sent_at: self.sent_at,
            attempts: self.attempts,
            last_error: self.last_error.clone(),
        }
    }
}
