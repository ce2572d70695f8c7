//! A patient's copy of everything the clinic holds about them (GDPR access): the part each
//! service answers on its internal endpoint, and the document the patient service assembles.

use jiff::Timestamp;
use platform::audit::AuditEntry;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::appointments::Appointment;
use crate::billing::Invoice;
use crate::identity::Account;
use crate::notifications::Notification;
use crate::patients::Patient;
use crate::records::MedicalRecord;

/// Where each service answers its part of a patient's export, to `SERVICE` callers only. The
/// gateway routes no `/api/internal` path: only services reach it, on the service's own port.
pub fn export_path(patient_id: i64) -> String {
    format!("/api/internal/patients/{patient_id}/export")
}

/// The route template of [`export_path`].
pub const EXPORT_ROUTE: &str = "/api/internal/patients/{id}/export";

/// One service's part: what it holds about the patient, and its audit trail about them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportPart<T> {
    pub items: Vec<T>,
    #[serde(default)]
    pub audit: Vec<AuditEntry>,
}

/// A medical record with its content, and where to download its file.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportedRecord {
    #[serde(flatten)]
    pub record: MedicalRecord,
    /// `GET` this path (with the patient's or an ADMIN's token) for the attachment's bytes;
    /// absent when the record has no file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_url: Option<String>,
}

/// Everything carebook holds about one patient, gathered from every service at one moment.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PatientExport {
    pub patient_id: i64,
    #[schema(value_type = String, format = DateTime)]
    pub exported_at: Timestamp,
    /// The sign-in account (never its password); absent for a profile without an account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<Account>,
    pub profile: Patient,
    pub appointments: Vec<Appointment>,
    pub notifications: Vec<Notification>,
    pub records: Vec<ExportedRecord>,
    /// Invoices with their payments (`paymentStatus`, `paymentType`, `paidAt`).
    pub invoices: Vec<Invoice>,
    /// Who read or changed the patient's data, in every service, oldest first.
    pub audit: Vec<AuditEntry>,
}
