//! Medical records: what `/api/records` takes and returns.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RecordType {
    Prescription,
    LabReport,
    Diagnosis,
    Note,
    Imaging,
}

impl RecordType {
    pub const ALL: [Self; 5] = [
        Self::Prescription,
        Self::LabReport,
        Self::Diagnosis,
        Self::Note,
        Self::Imaging,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Prescription => "PRESCRIPTION",
            Self::LabReport => "LAB_REPORT",
            Self::Diagnosis => "DIAGNOSIS",
            Self::Note => "NOTE",
            Self::Imaging => "IMAGING",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == raw)
    }
}

/// A record's attached file, as the service recognised it from its bytes.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    pub file_name: String,
    /// `application/pdf`, `image/png`, `image/jpeg` or `text/plain`.
    pub content_type: String,
    /// In bytes.
    pub size: i64,
    /// SHA-256 of the file's bytes, lowercase hex.
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MedicalRecord {
    pub id: i64,
    pub patient_id: i64,
    pub doctor_id: i64,
    pub record_type: RecordType,
    pub title: String,
    pub content: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<Attachment>,
}

/// A new record: the JSON body, or the `record` part of a `multipart/form-data` upload.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewRecord {
    #[schema(value_type = platform::schema::Id)]
    pub patient_id: i64,
    /// The author; a doctor writes as themselves (may be left out), ADMIN names the doctor.
    #[serde(default)]
    #[schema(value_type = Option<platform::schema::Id>)]
    pub doctor_id: Option<i64>,
    /// `PRESCRIPTION`, `LAB_REPORT`, `DIAGNOSIS`, `NOTE` or `IMAGING`.
    #[schema(value_type = RecordType)]
    pub record_type: String,
    #[schema(value_type = platform::schema::RecordTitle)]
    pub title: String,
    #[schema(value_type = platform::schema::RecordContent)]
    pub content: String,
}

/// The `multipart/form-data` form of a new record with a file (the `record` part first).
#[derive(Debug, Clone, ToSchema)]
pub struct RecordUpload {
    /// JSON of a [`NewRecord`].
    #[schema(value_type = NewRecord)]
    pub record: String,
    /// PDF, PNG, JPEG or plain text, recognised from its bytes.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}
