//! Analytics (API.md "Analytics"): clinic figures built from events.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Appointments starting in the range, by their current status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppointmentFigures {
    pub total: i64,
    /// Every status (`REQUESTED`, `APPROVED`, `REJECTED`, `CANCELLED`, `COMPLETED`,
    /// `NO_SHOW`), zero included.
    pub by_status: BTreeMap<String, i64>,
}

/// Money in integer minor units of the clinic's currency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Revenue {
    /// Amounts of invoices created in the range that are not void (fees included).
    pub invoiced: i64,
    /// Amounts of invoices paid in the range.
    pub paid: i64,
}

/// The clinic's figures over a range of days (clinic time zone, both ends included).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub appointments: AppointmentFigures,
    /// Cancelled appointments over all appointments of the range (0 when there are none).
    pub cancellation_rate: f64,
    /// No-shows over all appointments of the range.
    pub no_show_rate: f64,
    /// Cancellations marked late over all appointments of the range.
    pub late_cancellation_rate: f64,
    pub revenue: Revenue,
    /// Patients registered in the range.
    pub new_patients: i64,
    /// Medical records written in the range.
    pub medical_records: i64,
}

/// One bucket of `GET /api/analytics/appointments`: appointments starting in the range, by
/// current status. `approved` counts appointments that are `APPROVED` now (not yet completed
/// or missed); the other statuses have their own fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppointmentGroup {
    /// The day (`YYYY-MM-DD`), the doctor's id, or the speciality (`(unknown)` while the
    /// doctor's speciality has not been seen).
    pub key: String,
    pub total: i64,
    pub approved: i64,
    pub cancelled: i64,
    pub no_show: i64,
    pub requested: i64,
    pub rejected: i64,
    pub completed: i64,
    /// Of `cancelled`, those cancelled late.
    pub late_cancelled: i64,
}

/// How `GET /api/analytics/appointments` buckets appointments (documents `groupBy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum GroupKey {
    Day,
    Doctor,
    Speciality,
}

/// `GET /api/analytics/summary`. The fields are parsed by the service, which names every
/// missing or malformed one; the document states them required.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct SummaryParams {
    /// First day (`YYYY-MM-DD`, clinic time zone).
    #[param(value_type = platform::schema::Date)]
    pub from: Option<String>,
    /// Last day, included; less than 5 years after `from`.
    #[param(value_type = platform::schema::Date)]
    pub to: Option<String>,
}

/// `GET /api/analytics/appointments`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct GroupParams {
    /// `day`, `doctor` or `speciality`.
    #[param(value_type = GroupKey)]
    pub group_by: Option<String>,
    /// First day (`YYYY-MM-DD`, clinic time zone).
    #[param(value_type = platform::schema::Date)]
    pub from: Option<String>,
    /// Last day, included; less than 5 years after `from`.
    #[param(value_type = platform::schema::Date)]
    pub to: Option<String>,
}
