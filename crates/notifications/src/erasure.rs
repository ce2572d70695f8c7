//! The patient's data rights in the notification service: the part of an export (the
//! patient's notifications and this service's audit trail about them).

use axum::extract::{Path, State};
use contracts::notifications::Notification;
use contracts::privacy::ExportPart;
use platform::auth::{Principal, Role};

use crate::AppState;

/// For the patient service assembling an export (`SERVICE` only).
pub async fn export_part(
    State(state): State<AppState>,
    principal: Principal,
    Path(patient_id): Path<i64>,
) -> platform::Result<axum::Json<ExportPart<Notification>>> {
    principal.require(&[Role::Service])?;
    let stored = state.store.of_patient(patient_id).await?;
    Ok(axum::Json(ExportPart {
        items: stored.iter().map(|n| n.to_wire(&state.templates)).collect(),
        audit: state.audit.about_patient(patient_id).await?,
    }))
}
