//! What a valid record is, free of HTTP and SQL.

use contracts::records::{NewRecord, RecordType};
use platform::validation::Violations;
use platform::values::{NonBlank, limits};
use serde::{Deserialize, Serialize};

pub const FILE_NAME_MAX: usize = 255;

/// A new record's fields, every one validated. `doctor_id` is what the body named, if anything;
/// the policy decides the author.
#[derive(Debug, Clone)]
pub struct RecordDetails {
    pub patient_id: i64,
    pub doctor_id: Option<i64>,
    pub record_type: RecordType,
    pub title: NonBlank,
    pub content: NonBlank,
}

impl RecordDetails {
    /// Checks every field and reports all failures at once, under `prefix` (e.g. `record.`).
    pub fn parse(input: NewRecord, prefix: &str) -> platform::Result<Self> {
        let mut v = Violations::default();
        let field = |name: &str| format!("{prefix}{name}");
        let record_type = v.check(
            &field("recordType"),
            RecordType::parse(&input.record_type).ok_or_else(|| {
                "must be one of PRESCRIPTION, LAB_REPORT, DIAGNOSIS, NOTE, IMAGING".to_owned()
            }),
        );
        let title = v.check(
            &field("title"),
            NonBlank::parse(&input.title, limits::RECORD_TITLE),
        );
        let content = v.check(
            &field("content"),
            NonBlank::parse(&input.content, limits::RECORD_CONTENT),
        );
        let positive = |id: i64| {
            if id > 0 {
                Ok(id)
            } else {
                Err("must be a positive id".to_owned())
            }
        };
        let patient_id = v.check(&field("patientId"), positive(input.patient_id));
        if let Some(doctor_id) = input.doctor_id {
            v.check(&field("doctorId"), positive(doctor_id));
        }
        let details = match (patient_id, record_type, title, content) {
            (Some(patient_id), Some(record_type), Some(title), Some(content)) => Some(Self {
                patient_id,
                doctor_id: input.doctor_id,
                record_type,
                title,
                content,
            }),
            _ => None,
        };
        v.finish(details)
    }
}

/// The free text of a record: sealed as one message, never stored in the clear.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SealedText {
    pub title: String,
    pub content: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
}

/// A file name as given, reduced to its last path segment and stripped of control characters;
/// `None` when nothing is left.
pub fn clean_file_name(raw: &str) -> Option<String> {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control())
        .take(FILE_NAME_MAX)
        .collect();
    let cleaned = cleaned.trim();
    (!cleaned.is_empty() && cleaned != "." && cleaned != "..").then(|| cleaned.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> NewRecord {
        NewRecord {
            patient_id: 3,
            doctor_id: None,
            record_type: "LAB_REPORT".into(),
            title: "Blood count".into(),
            content: "Hb 13.5 g/dL".into(),
        }
    }

    #[test]
    fn accepts_a_valid_record() {
        let details = RecordDetails::parse(input(), "").unwrap();
        assert_eq!(details.record_type, RecordType::LabReport);
        assert_eq!(details.title.as_str(), "Blood count");
    }

    #[test]
    fn names_every_bad_field_with_its_prefix() {
        let bad = NewRecord {
            patient_id: 0,
            doctor_id: Some(-1),
            record_type: "XRAY".into(),
            title: " ".into(),
            content: "".into(),
        };
        let Err(platform::ApiError::Invalid(errors)) = RecordDetails::parse(bad, "record.") else {
            panic!("expected a validation error");
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "record.recordType",
                "record.title",
                "record.content",
                "record.patientId",
                "record.doctorId"
            ]
        );
    }

    #[test]
    fn file_names_lose_paths_and_control_characters() {
        assert_eq!(
            clean_file_name("../../etc/passwd").as_deref(),
            Some("passwd")
        );
        assert_eq!(
            clean_file_name("C:\\scans\\x-ray\u{7}.png").as_deref(),
            Some("x-ray.png")
        );
        assert_eq!(clean_file_name("dir/"), None);
        assert_eq!(clean_file_name(".."), None);
    }
}
