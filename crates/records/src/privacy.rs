//! The record service's part of a patient's export: every record with its content, its
//! attachment's metadata and where to download the file, and the audit trail here.

use axum::extract::{Path, State};
use contracts::privacy::{ExportPart, ExportedRecord};
use platform::auth::Principal;

use crate::AppState;
use crate::policy::Policy;
use crate::view;

/// For the patient service assembling an export (`SERVICE` only).
pub async fn export_part(
    State(state): State<AppState>,
    principal: Principal,
    Path(patient_id): Path<i64>,
) -> platform::Result<axum::Json<ExportPart<ExportedRecord>>> {
    let access = Policy::may_export(&principal, patient_id)?;
    let ring = state.keys.ring()?;
    let mut items = Vec::new();
    for stored in state.store.all(access).await? {
        let file_url = stored
            .file
            .as_ref()
            .map(|_| format!("/api/records/{patient_id}/{}/file", stored.id));
        let record = view::open(&ring, stored)?;
        items.push(ExportedRecord { record, file_url });
    }
    Ok(axum::Json(ExportPart {
        items,
        audit: state.audit.about_patient(patient_id).await?,
    }))
}
