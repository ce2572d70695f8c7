//! The patient's data rights in the appointment service: `PatientErased` (through the
//! service's own inbox) drops the patient's free text, and the patient's appointments with
//! this service's audit trail about them are its part of an export.

use axum::extract::{Path, State};
use contracts::appointments::Appointment;
use contracts::events::{PatientErased, types};
use contracts::privacy::ExportPart;
use futures::future::BoxFuture;
use platform::auth::{Principal, Role};
use platform::events::Handler;
use platform::outbox::Envelope;
use sqlx::AnyConnection;

use crate::AppState;
use crate::store::erasure::erase_patient;

/// The `platform::events::Handler` of the appointment service's queue.
#[derive(Debug, Clone, Default)]
pub struct ErasureHandler;

impl ErasureHandler {
    async fn apply(&self, conn: &mut AnyConnection, event: &Envelope) -> anyhow::Result<()> {
        if event.event_type != types::PATIENT_ERASED {
            return Ok(());
        }
        let erased: PatientErased = serde_json::from_value(event.data.clone())?;
        let appointments = erase_patient(conn, erased.patient_id).await?;
        tracing::info!(
            patient_id = erased.patient_id,
            appointments,
            "erased patient's appointments scrubbed"
        );
        Ok(())
    }
}

impl Handler for ErasureHandler {
    fn handle<'a>(
        &'a self,
        conn: &'a mut AnyConnection,
        event: &'a Envelope,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(self.apply(conn, event))
    }

    fn erases(&self, event: &Envelope) -> bool {
        event.event_type == types::PATIENT_ERASED
    }
}

/// The patient's appointments and their audit trail here, for the patient service assembling
/// an export (`SERVICE` only).
pub async fn export_part(
    State(state): State<AppState>,
    principal: Principal,
    Path(patient_id): Path<i64>,
) -> platform::Result<axum::Json<ExportPart<Appointment>>> {
    principal.require(&[Role::Service])?;
    Ok(axum::Json(ExportPart {
        items: state.store.of_patient(patient_id).await?,
        audit: state.store.audit().about_patient(patient_id).await?,
    }))
}
