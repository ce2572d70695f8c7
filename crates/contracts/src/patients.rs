use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A patient's profile.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Patient {
    pub id: i64,
    pub name: String,
    pub email: String,
    /// E.164, e.g. `+14155552671`.
    pub phone: String,
    #[schema(value_type = String, format = Date)]
    pub dob: Date,
    pub address: String,
    #[schema(value_type = String, format = DateTime)]
    pub registration_date: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub medical_history: Option<String>,
}

/// The editable fields of a patient, for create and full update.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PatientInput {
    #[schema(value_type = platform::schema::PersonName, example = "Ada Lovelace")]
    pub name: String,
    /// For a patient with an account, the account's login e-mail: it changes through identity,
    /// and a different one here is refused (`400` naming `email`).
    #[schema(value_type = platform::schema::Email, example = "ada@example.org")]
    pub email: String,
    #[schema(value_type = platform::schema::Phone, example = "+44 20 7946 0958")]
    pub phone: String,
    /// A past date, within the last 150 years.
    #[schema(value_type = platform::schema::Date, example = "1985-12-10")]
    pub dob: String,
    #[schema(value_type = platform::schema::Address, example = "12 St James's Square, London")]
    pub address: String,
    /// Written by ADMIN (and doctors with a care relationship) only. A patient's update may
    /// leave it out or repeat the stored text, which is kept; a change is `403`.
    #[serde(default)]
    #[schema(value_type = Option<platform::schema::MedicalHistory>)]
    pub medical_history: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PatientFilter {
    /// Case-insensitive search in name and e-mail.
    #[param(value_type = Option<platform::schema::SearchTerm>)]
    pub q: Option<String>,
}

/// A patient's appointment request made through the patient service (the seed flow).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PatientAppointmentRequest {
    #[schema(value_type = platform::schema::Id)]
    pub patient_id: i64,
    #[schema(value_type = platform::schema::Id)]
    pub doctor_id: i64,
    /// Start instant, in the future; without an offset it is clinic-local time. Alias: `date`.
    #[serde(alias = "date")]
    #[schema(value_type = platform::schema::Instant, example = "2030-01-07T09:00:00Z")]
    pub appointment_date: String,
    /// Default: the doctor's slot length.
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
