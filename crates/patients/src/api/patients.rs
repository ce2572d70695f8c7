use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use contracts::patients::{Patient, PatientFilter, PatientInput};
use platform::audit::{Action, AuditContext};
use platform::client::Forwarded;
use platform::docs::{BadQuery, BadRequest, Conflict, NotFound};
use platform::extract::Json;
use platform::page::{Page, PageParams};
use platform::values::search_term;
use platform::{ApiError, Result};

use crate::AppState;
use crate::domain::PatientDetails;
use crate::policy::Policy;

/// Register a patient (ADMIN; the identity service for a new account).
#[utoipa::path(post, path = "/api/patients", tag = "patients",
    request_body = PatientInput,
    responses((status = 201, body = Patient), BadRequest, Conflict))]
pub async fn create(
    State(state): State<AppState>,
    ctx: AuditContext,
    Json(input): Json<PatientInput>,
) -> Result<(StatusCode, axum::Json<Patient>)> {
    let access = Policy::may_create(&ctx.principal)?;
    let details = PatientDetails::parse(input, state.today())?;
    let patient = state.store.insert(access, &details, &ctx).await?;
    tracing::info!(patient_id = patient.id, "patient registered");
    Ok((StatusCode::CREATED, axum::Json(patient)))
}

/// A patient's profile (ADMIN; the patient; a doctor who has an appointment with them).
#[utoipa::path(get, path = "/api/patients/{id}", tag = "patients",
    params(("id" = platform::schema::Id, Path, description = "Patient id")),
    responses((status = 200, body = Patient), BadQuery, NotFound))]
pub async fn get(
    State(state): State<AppState>,
    ctx: AuditContext,
    forwarded: Forwarded,
    Path(id): Path<i64>,
) -> Result<axum::Json<Patient>> {
    let result = async {
        let access = state
            .policy
            .may_read(&ctx.principal, id, &forwarded)
            .await?;
        state.store.find(access).await?.ok_or_else(|| not_found(id))
    }
    .await;
    let resource = format!("patient/{id}");
    let patient = state
        .audit
        .outcome(&ctx, Some(id), Action::Read, &resource, result)
        .await?;
    Ok(axum::Json(patient))
}

/// Replace a patient's editable fields (ADMIN; the patient).
///
/// `medicalHistory` is written by doctors with a care relationship and ADMIN only: a patient may
/// repeat or leave out the stored history (it is kept), and a change of it is `403` with
/// nothing changed. The e-mail of a patient with an account is the account's login e-mail; a
/// change of it here is `400` naming `email` (it changes through identity).
#[utoipa::path(put, path = "/api/patients/{id}", tag = "patients",
    params(("id" = platform::schema::Id, Path, description = "Patient id")),
    request_body = PatientInput,
    responses((status = 200, body = Patient), BadRequest, NotFound, Conflict))]
pub async fn update(
    State(state): State<AppState>,
    ctx: AuditContext,
    Path(id): Path<i64>,
    Json(input): Json<PatientInput>,
) -> Result<axum::Json<Patient>> {
    let result = async {
        let access = Policy::may_write(&ctx.principal, id)?;
        let details = PatientDetails::parse(input, state.today())?;
        state
            .store
            .update(access, &details, &ctx)
            .await?
            .ok_or_else(|| not_found(id))
    }
    .await;
    // A success was audited inside its transaction; a refusal or failure is audited here.
    let patient = match result {
        Ok(patient) => patient,
        Err(err) => {
            let resource = format!("patient/{id}");
            let failed = state
                .audit
                .outcome(&ctx, Some(id), Action::Update, &resource, Err(err));
            return failed.await;
        }
    };
    Ok(axum::Json(patient))
}

/// Patients, optionally searched by name or e-mail (ADMIN: all; DOCTOR: their patients).
#[utoipa::path(get, path = "/api/patients", tag = "patients",
    params(PatientFilter, PageParams),
    responses((status = 200, body = Page<Patient>), BadQuery))]
pub async fn list(
    State(state): State<AppState>,
    ctx: AuditContext,
    forwarded: Forwarded,
    Query(filter): Query<PatientFilter>,
    Query(page): Query<PageParams>,
) -> Result<axum::Json<Page<Patient>>> {
    let page = page.validate()?;
    let q = search_term(filter.q.as_deref()).map_err(|message| ApiError::invalid("q", message))?;
    let access = state.policy.may_list(&ctx.principal, &forwarded).await?;
    let (items, total) = state.store.list(q, &access, page).await?;
    // Every patient whose data left the service is on the trail.
    let listed = items
        .iter()
        .map(|p| (Some(p.id), format!("patient/{}", p.id)));
    state.audit.record_page(&ctx, listed).await?;
    Ok(axum::Json(Page::new(items, page, total)))
}

fn not_found(id: i64) -> ApiError {
    ApiError::NotFound(format!("Patient {id} does not exist."))
}
