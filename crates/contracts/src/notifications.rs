//! Notifications (API.md "Notifications"): what the notification service stores and sends.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Who a notification is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RecipientType {
    Patient,
    Doctor,
}

/// How a notification reaches its recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Channel {
    Email,
    Sms,
    InApp,
}

/// What a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NotificationKind {
    ApprovalRequest,
    Confirmation,
    Rejection,
    Cancellation,
    Rescheduling,
    Reminder,
    /// Free text sent by an administrator.
    Message,
    /// A doctor added a medical record (never its content).
    NewRecord,
}

/// `PENDING` until delivered (`SENT`) or given up on (`FAILED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NotificationStatus {
    Pending,
    Sent,
    Failed,
}

impl RecipientType {
    pub const ALL: [Self; 2] = [Self::Patient, Self::Doctor];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Patient => "PATIENT",
            Self::Doctor => "DOCTOR",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|value| value.as_str() == raw)
    }
}

impl Channel {
    pub const ALL: [Self; 3] = [Self::Email, Self::Sms, Self::InApp];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "EMAIL",
            Self::Sms => "SMS",
            Self::InApp => "IN_APP",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|value| value.as_str() == raw)
    }
}

impl NotificationStatus {
    pub const ALL: [Self; 3] = [Self::Pending, Self::Sent, Self::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Sent => "SENT",
            Self::Failed => "FAILED",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|value| value.as_str() == raw)
    }
}

impl NotificationKind {
    pub const ALL: [Self; 8] = [
        Self::ApprovalRequest,
        Self::Confirmation,
        Self::Rejection,
        Self::Cancellation,
        Self::Rescheduling,
        Self::Reminder,
        Self::Message,
        Self::NewRecord,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ApprovalRequest => "APPROVAL_REQUEST",
            Self::Confirmation => "CONFIRMATION",
            Self::Rejection => "REJECTION",
            Self::Cancellation => "CANCELLATION",
            Self::Rescheduling => "RESCHEDULING",
            Self::Reminder => "REMINDER",
            Self::Message => "MESSAGE",
            Self::NewRecord => "NEW_RECORD",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|value| value.as_str() == raw)
    }
}

/// One notification to one recipient over one channel.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub id: i64,
    pub recipient_type: RecipientType,
    pub recipient_id: i64,
    pub channel: Channel,
    pub kind: NotificationKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appointment_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The rendered text once delivered; until then a plain title of its kind.
    pub message: String,
    pub status: NotificationStatus,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub sent_at: Option<Timestamp>,
    /// Delivery attempts so far.
    pub attempts: u32,
    /// Why the last attempt failed (short; never personal data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// A message from an administrator to one patient or doctor.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewNotification {
    #[schema(value_type = platform::schema::Id)]
    pub recipient_id: i64,
    /// Default `PATIENT`.
    #[serde(default)]
    pub recipient_type: Option<RecipientType>,
    #[schema(
        value_type = platform::schema::Message,
        example = "Our clinic is closed on Friday; your appointment is not affected."
    )]
    pub message: String,
    #[serde(default)]
    #[schema(value_type = Option<platform::schema::Subject>)]
    pub subject: Option<String>,
    /// Default `IN_APP`; `EMAIL` and `SMS` only where configured.
    #[serde(default)]
    pub channel: Option<Channel>,
}

/// `GET /api/notifications` filters. A patient or doctor always gets their own.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct NotificationFilter {
    pub recipient_id: Option<i64>,
    pub recipient_type: Option<RecipientType>,
    pub status: Option<NotificationStatus>,
}
