//! The patient's data rights: a copy of everything held about them, and erasure.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use contracts::privacy::PatientExport;
use platform::audit::{Action, AuditContext};
use platform::docs::{BadQuery, NotFound};
use platform::{ApiError, Result};

use crate::AppState;
use crate::policy::Policy;
use crate::store::Erasure;

/// Everything carebook holds about a patient, from every service (the patient; ADMIN).
///
/// The account, profile, appointments, notifications, medical records (content, attachment
/// metadata and a link to each file), invoices with their payments, and who read or changed
/// the patient's data. Gathered from every service under one deadline: when one does not
/// answer, the export is `503`, never a partial document. Every export is audited.
#[utoipa::path(get, path = "/api/patients/{id}/export", tag = "patients",
    params(("id" = platform::schema::Id, Path, description = "Patient id")),
    responses((status = 200, body = PatientExport), BadQuery, NotFound))]
pub async fn export(
    State(state): State<AppState>,
    ctx: AuditContext,
    Path(id): Path<i64>,
) -> Result<axum::Json<PatientExport>> {
    let result = async {
        let access = Policy::may_export(&ctx.principal, id)?;
        let profile = state
            .store
            .find(access.profile())
            .await?
            .ok_or_else(|| not_found(id))?;
        let audit = state.audit.about_patient(access.patient_id()).await?;
        state.exports.gather(profile, audit).await
    }
    .await;
    let resource = format!("patient/{id}/export");
    let export = state
        .audit
        .outcome(&ctx, Some(id), Action::Read, &resource, result)
        .await?;
    tracing::info!(patient_id = id, "patient data exported");
    Ok(axum::Json(export))
}

/// Erase a patient (ADMIN): GDPR erasure across every service.
///
/// The profile is pseudonymized at once and `PatientErased` goes out; every service then
/// removes or pseudonymizes what it holds about the patient, keeping invoices and medical
/// records only as the retention policy requires (README "Data protection"). Erasing an
/// erased patient is `204` and changes nothing.
#[utoipa::path(delete, path = "/api/patients/{id}", tag = "patients",
    params(("id" = platform::schema::Id, Path, description = "Patient id")),
    responses((status = 204, description = "The patient is erased"), BadQuery, NotFound))]
pub async fn erase(
    State(state): State<AppState>,
    ctx: AuditContext,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    let result = async {
        let access = Policy::may_erase(&ctx.principal, id)?;
        match state.store.erase(access, &ctx).await? {
            Erasure::NoSuchPatient => Err(not_found(id)),
            Erasure::Erased => {
                tracing::info!(patient_id = id, "patient erased");
                Ok(())
            }
            Erasure::AlreadyErased => Ok(()),
        }
    };
    match result.await {
        // A success was audited inside its transaction.
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(err) => {
            let resource = format!("patient/{id}");
            state
                .audit
                .outcome(&ctx, Some(id), Action::Delete, &resource, Err(err))
                .await
        }
    }
}

fn not_found(id: i64) -> ApiError {
    ApiError::NotFound(format!("Patient {id} does not exist."))
}
