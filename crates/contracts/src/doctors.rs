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
    #[schema(example = "Dr. Gregory House")]
    pub name: String,
    #[schema(example = "house@example.org")]
    pub email: String,
    #[schema(example = "+1 609 555 0142")]
    pub phone: String,
    /// Alias: `specialization`.
    #[serde(alias = "specialization")]
    #[schema(example = "Diagnostics")]
    pub speciality: String,
    #[serde(default)]
    pub gender: Option<Gender>,
    /// Default `true`.
    #[serde(default)]
    pub available: Option<bool>,
    /// Default 30; 5 to 240.
    #[serde(default)]
    pub slot_minutes: Option<u32>,
    #[serde(default)]
    #[schema(example = "Europe/Berlin")]
    pub timezone: Option<String>,
    /// Default `false`.
    #[serde(default)]
    pub auto_approve: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DoctorFilter {
    /// Exact speciality (case-insensitive).
    pub speciality: Option<String>,
    pub available: Option<bool>,
    /// Case-insensitive search in name, e-mail and speciality.
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
    #[schema(example = "09:00")]
    pub start: String,
    #[schema(example = "17:00")]
    pub end: String,
}

/// A doctor's weekly working hours.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Schedule {
    #[schema(example = 30)]
    pub slot_minutes: u32,
    pub weekly: Vec<WorkingHours>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TimeOffInput {
    #[schema(example = "2030-01-07T00:00:00Z")]
    pub from: String,
    #[schema(example = "2030-01-08T00:00:00Z")]
    pub to: String,
    #[serde(default)]
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
    /// First date, `YYYY-MM-DD`, in the doctor's zone.
    pub from: String,
    /// Last date (inclusive), at most 62 days after `from`.
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
    /// Start instant (RFC 3339; without an offset, clinic-local time).
    pub start: String,
    /// Length of the visit; default the doctor's slot length. 5 to 480.
    #[param(minimum = 5, maximum = 480)]
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

/// A doctor's answer to an appointment request.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DecisionRequest {
    pub appointment_id: i64,
    /// Must match the endpoint (`APPROVED` or `REJECTED`) when given.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}
