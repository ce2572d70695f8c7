use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AppointmentStatus {
    Requested,
    Approved,
    Rejected,
    Cancelled,
    Completed,
    NoShow,
}

impl AppointmentStatus {
    pub const ALL: [Self; 6] = [
        Self::Requested,
        Self::Approved,
        Self::Rejected,
        Self::Cancelled,
        Self::Completed,
        Self::NoShow,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "REQUESTED",
            Self::Approved => "APPROVED",
            Self::Rejected => "REJECTED",
            Self::Cancelled => "CANCELLED",
            Self::Completed => "COMPLETED",
            Self::NoShow => "NO_SHOW",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// Active appointments hold their time: no other active one may overlap them.
    pub fn is_active(self) -> bool {
        matches!(self, Self::Requested | Self::Approved)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Appointment {
    pub id: i64,
    pub patient_id: i64,
    pub doctor_id: i64,
    #[schema(value_type = String, format = DateTime)]
    pub appointment_date: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub end_date: Timestamp,
    pub duration_minutes: u32,
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_type: Option<String>,
    pub status: AppointmentStatus,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancellation_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late_cancellation: Option<bool>,
}

/// A booking request.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewAppointment {
    #[schema(value_type = platform::schema::Id)]
    pub patient_id: i64,
    #[schema(value_type = platform::schema::Id)]
    pub doctor_id: i64,
    /// Start instant, in the future; without an offset it is clinic-local time. Alias: `date`.
    #[serde(alias = "date")]
    #[schema(value_type = platform::schema::Instant, example = "2030-01-07T09:00:00Z")]
    pub appointment_date: String,
    /// Default: the doctor's slot length. 5 to 480 is a length; the doctor offers their slot
    /// length and its multiples up to the clinic's maximum (`CAREBOOK_MAX_VISIT_MINUTES`).
    #[serde(default)]
    #[schema(value_type = Option<platform::schema::VisitMinutes>)]
    pub duration_minutes: Option<u32>,
    #[serde(default)]
    #[schema(value_type = Option<platform::schema::Description>)]
    pub description: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<platform::schema::Label>)]
    pub service_type: Option<String>,
}

/// Reschedule or modify; absent fields stay as they are.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppointmentChange {
    /// New start instant, in the future. Alias: `date`.
    #[serde(default, alias = "date")]
    #[schema(value_type = Option<platform::schema::Instant>)]
    pub appointment_date: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<platform::schema::VisitMinutes>)]
    pub duration_minutes: Option<u32>,
    #[serde(default)]
    #[schema(value_type = Option<platform::schema::Description>)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct AppointmentFilter {
    pub patient_id: Option<i64>,
    pub doctor_id: Option<i64>,
    pub status: Option<AppointmentStatus>,
    /// Appointments starting at or after this instant.
    #[param(value_type = Option<platform::schema::Instant>)]
    pub from: Option<String>,
    /// Appointments starting before this instant.
    #[param(value_type = Option<platform::schema::Instant>)]
    pub to: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CancelQuery {
    #[param(value_type = Option<platform::schema::OptionalReason>)]
    pub reason: Option<String>,
}

/// A doctor's decision applied by the appointment service; `reason` is kept for rejections.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DecisionBody {
    #[serde(default)]
    #[schema(value_type = Option<platform::schema::OptionalReason>)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct BusyQuery {
    pub doctor_id: i64,
    #[param(value_type = platform::schema::Instant)]
    pub from: String,
    /// After `from`, at most 400 days later.
    #[param(value_type = platform::schema::Instant)]
    pub to: String,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct PatientIdsQuery {
    /// The doctor (ADMIN only; a doctor always gets their own).
    pub doctor_id: Option<i64>,
    /// Only this patient: answers whether the doctor cares for them (`[id]` or `[]`).
    pub patient_id: Option<i64>,
}
