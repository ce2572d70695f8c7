use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Gender {
    Male,
    Female,
    Other,
    Undisclosed,
}

/// A doctor's profile.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Doctor {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub speciality: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<Gender>,
    /// Whether the doctor takes bookings at all.
    pub available: bool,
    pub slot_minutes: u32,
    /// IANA zone of the doctor's working hours; absent means the clinic's zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Bookings are created `APPROVED` instead of `REQUESTED`.
    pub auto_approve: bool,
}

/// The editable fields of a doctor, for create and full update.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DoctorInput {
    #[schema(value_type = platform::schema::PersonName, example = "Dr. Gregory House")]
    pub name: String,
    #[schema(value_type = platform::schema::Email, example = "house@example.org")]
    pub email: String,
    #[schema(value_type = platform::schema::Phone, example = "+1 609 555 0142")]
    pub phone: String,
    /// Alias: `specialization`.
    #[serde(alias = "specialization")]
    #[schema(value_type = platform::schema::Label, example = "Diagnostics")]
    pub speciality: String,
    #[serde(default)]
    pub gender: Option<Gender>,
    /// Default `true`.
    #[serde(default)]
    pub available: Option<bool>,
    /// Default 30.
    #[serde(default)]
    #[schema(value_type = Option<platform::schema::SlotMinutes>)]
    pub slot_minutes: Option<u32>,
    #[serde(default)]
    #[schema(value_type = Option<platform::schema::TimeZoneName>)]
    pub timezone: Option<String>,
    /// Default `false`.
    #[serde(default)]
    pub auto_approve: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DoctorFilter {
    /// Exact speciality (case-insensitive).
    #[param(value_type = Option<platform::schema::SearchTerm>)]
    pub speciality: Option<String>,
    pub available: Option<bool>,
    /// Case-insensitive search in name, e-mail and speciality.
    #[param(value_type = Option<platform::schema::SearchTerm>)]
    pub q: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

/// One block of working hours on a weekday, in the doctor's local time.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkingHours {
    pub day: Weekday,
    #[schema(value_type = platform::schema::ClockTime, example = "09:00")]
    pub start: String,
    /// After `start`; blocks of one day must not overlap.
    #[schema(value_type = platform::schema::ClockTime, example = "17:00")]
    pub end: String,
}

/// A doctor's weekly working hours.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Schedule {
    #[schema(value_type = platform::schema::SlotMinutes, example = 30)]
    pub slot_minutes: u32,
    #[schema(max_items = 50)]
    pub weekly: Vec<WorkingHours>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TimeOffInput {
    #[schema(value_type = platform::schema::Instant, example = "2030-01-07T00:00:00Z")]
    pub from: String,
    /// After `from`, at most 366 days later.
    #[schema(value_type = platform::schema::Instant, example = "2030-01-08T00:00:00Z")]
    pub to: String,
    #[serde(default)]
    #[schema(value_type = Option<platform::schema::Reason>)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TimeOff {
    pub id: i64,
    pub doctor_id: i64,
    #[schema(value_type = String, format = DateTime)]
    pub from: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub to: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SlotQuery {
    /// First date, in the doctor's zone.
    #[param(value_type = platform::schema::Date)]
    pub from: String,
    /// Last date (inclusive), not before `from` and at most 62 days after it.
    #[param(value_type = platform::schema::Date)]
    pub to: String,
}

/// A half-open interval `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Slot {
    #[schema(value_type = String, format = DateTime)]
    pub start: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub end: Timestamp,
}

#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct AvailabilityQuery {
    #[param(value_type = platform::schema::Instant)]
    pub start: String,
    /// Length of the visit; default the doctor's slot length.
    #[param(value_type = Option<platform::schema::VisitMinutes>)]
    pub duration_minutes: Option<u32>,
}

/// Whether a doctor can be booked for an interval (asked by the appointment service).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Availability {
    pub doctor_id: i64,
    #[schema(value_type = String, format = DateTime)]
    pub start: Timestamp,
    /// `start` plus the requested duration (or the doctor's slot length).
    #[schema(value_type = String, format = DateTime)]
    pub end: Timestamp,
    pub slot_minutes: u32,
    /// The doctor takes bookings at all.
    pub available: bool,
    /// `[start, end)` lies inside one block of working hours.
    pub within_hours: bool,
    /// `[start, end)` overlaps time off.
    pub on_time_off: bool,
    /// `start` is one of the doctor's slot starts.
    pub on_grid: bool,
    /// The visit lengths the doctor offers, in minutes: the slot length and its multiples up
    /// to the clinic's maximum.
    pub offered_minutes: Vec<u32>,
    pub auto_approve: bool,
}

/// A doctor's answer to an appointment request. The document describes it per endpoint
/// (`schema::ApprovalRequest`, `schema::RejectionRequest`), since `status` must name the
/// endpoint's verdict.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DecisionRequest {
    pub appointment_id: i64,
    /// Must match the endpoint (`APPROVED` or `REJECTED`) when given.
    #[serde(default)]
    pub status: Option<String>,
    /// Kept for a rejection; ignored for an approval.
    #[serde(default)]
    pub reason: Option<String>,
}
