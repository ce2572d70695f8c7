//! Stored records opened into what the API returns.

use contracts::records::{Attachment, MedicalRecord};
use platform::ApiError;

use crate::domain::SealedText;
use crate::keys::KeyRing;
use crate::seal::open_text;
use crate::store::StoredRecord;

/// Opens the record's text. A record that does not open is a server fault worth an alert.
pub fn open(ring: &KeyRing, record: StoredRecord) -> platform::Result<MedicalRecord> {
    let text = open_sealed(ring, &record)?;
    let attachment = record.file.map(|file| Attachment {
        file_name: text
            .file_name
            .clone()
            .unwrap_or_else(|| "attachment".to_owned()),
        content_type: file.content_type,
        size: file.size,
        sha256: file.sha256,
    });
    Ok(MedicalRecord {
        id: record.id,
        patient_id: record.patient_id,
        doctor_id: record.doctor_id,
        record_type: record.record_type,
        title: text.title,
        content: text.content,
        created_at: record.created_at,
        attachment,
    })
}

pub fn open_sealed(ring: &KeyRing, record: &StoredRecord) -> platform::Result<SealedText> {
    let key = ring.get(&record.key_id).ok_or_else(|| {
        tracing::error!(record_id = record.id, key_id = %record.key_id, "record sealed under an unknown key");
        ApiError::Internal(anyhow::anyhow!("unknown records key"))
    })?;
    let plain = open_text(key, record.id, &record.nonce, &record.sealed).map_err(|_| {
        tracing::error!(
            record_id = record.id,
            "INTEGRITY: record text does not open (tampered or moved)"
        );
        ApiError::Internal(anyhow::anyhow!("record text does not open"))
    })?;
    serde_json::from_slice(&plain).map_err(|e| ApiError::Internal(e.into()))
}
