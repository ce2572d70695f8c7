use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use contracts::patients::{Patient, PatientFilter, PatientInput};
use platform::docs::{BadQuery, BadRequest, Conflict, NotFound};
use platform::extract::Json;
use platform::page::{Page, PageParams};
use platform::{ApiError, Result};

use crate::AppState;
use crate::domain::PatientDetails;

/// Register a patient.
#[utoipa::path(post, path = "/api/patients", tag = "patients",
    request_body = PatientInput,
    responses((status = 201, body = Patient), BadRequest, Conflict))]
pub async fn create(
    State(state): State<AppState>,
    Json(input): Json<PatientInput>,
) -> Result<(StatusCode, axum::Json<Patient>)> {
    let details = PatientDetails::parse(input, state.today())?;
    let patient = state.store.insert(&details).await?;
    tracing::info!(patient_id = patient.id, "patient registered");
    Ok((StatusCode::CREATED, axum::Json(patient)))
}

/// A patient's profile.
#[utoipa::path(get, path = "/api/patients/{id}", tag = "patients",
    params(("id" = i64, Path, description = "Patient id")),
    responses((status = 200, body = Patient), BadQuery, NotFound))]
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<axum::Json<Patient>> {
    state
        .store
        .find(id)
        .await?
        .map(axum::Json)
        .ok_or_else(|| not_found(id))
}

/// Replace a patient's editable fields.
#[utoipa::path(put, path = "/api/patients/{id}", tag = "patients",
    params(("id" = i64, Path, description = "Patient id")),
    request_body = PatientInput,
    responses((status = 200, body = Patient), BadRequest, NotFound, Conflict))]
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(input): Json<PatientInput>,
) -> Result<axum::Json<Patient>> {
    let details = PatientDetails::parse(input, state.today())?;
    state
        .store
        .update(id, &details)
        .await?
        .map(axum::Json)
        .ok_or_else(|| not_found(id))
}

/// Patients, optionally searched by name or e-mail.
#[utoipa::path(get, path = "/api/patients", tag = "patients",
    params(PatientFilter, PageParams),
    responses((status = 200, body = Page<Patient>), BadQuery))]
pub async fn list(
    State(state): State<AppState>,
    Query(filter): Query<PatientFilter>,
    Query(page): Query<PageParams>,
) -> Result<axum::Json<Page<Patient>>> {
    let page = page.validate()?;
    let q = filter.q.as_deref().filter(|q| !q.trim().is_empty());
    if q.is_some_and(|q| q.len() > 200) {
        return Err(ApiError::invalid("q", "must be at most 200 characters"));
    }
    let (items, total) = state.store.list(q, page).await?;
    Ok(axum::Json(Page::new(items, page, total)))
}

fn not_found(id: i64) -> ApiError {
    ApiError::NotFound(format!("Patient {id} does not exist."))
}
