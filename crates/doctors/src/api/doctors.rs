use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use contracts::doctors::{Doctor, DoctorFilter, DoctorInput};
use platform::Result;
use platform::auth::Principal;
use platform::docs::{BadQuery, BadRequest, Conflict, NotFound};
use platform::extract::Json;
use platform::page::{Page, PageParams};
use platform::validation::Violations;
use platform::values::search_term;

use super::doctor_not_found;
use crate::AppState;
use crate::domain::doctor::DoctorDetails;
use crate::policy;
use crate::store::DoctorQuery;

/// Register a doctor.
#[utoipa::path(post, path = "/api/doctors", tag = "doctors",
    request_body = DoctorInput,
    responses((status = 201, body = Doctor), BadRequest, Conflict))]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Json(input): Json<DoctorInput>,
) -> Result<(StatusCode, axum::Json<Doctor>)> {
    policy::may_create(&principal)?;
    let details = DoctorDetails::parse(input)?;
    let doctor = state.store.insert(&details).await?;
    tracing::info!(doctor_id = doctor.id, "doctor registered");
    Ok((StatusCode::CREATED, axum::Json(doctor)))
}

/// A doctor's profile.
#[utoipa::path(get, path = "/api/doctors/{id}", tag = "doctors",
    params(("id" = platform::schema::Id, Path, description = "Doctor id")),
    responses((status = 200, body = Doctor), BadQuery, NotFound))]
pub async fn get(
    State(state): State<AppState>,
    _caller: Principal,
    Path(id): Path<i64>,
) -> Result<axum::Json<Doctor>> {
    state
        .store
        .find(id)
        .await?
        .map(axum::Json)
        .ok_or_else(|| doctor_not_found(id))
}

/// Replace a doctor's editable fields; absent optional fields take their defaults.
#[utoipa::path(put, path = "/api/doctors/{id}", tag = "doctors",
    params(("id" = platform::schema::Id, Path, description = "Doctor id")),
    request_body = DoctorInput,
    responses((status = 200, body = Doctor), BadRequest, NotFound, Conflict))]
pub async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    Json(input): Json<DoctorInput>,
) -> Result<axum::Json<Doctor>> {
    policy::may_manage(&principal, id)?;
    let details = DoctorDetails::parse(input)?;
    let doctor = state
        .store
        .update(id, &details)
        .await?
        .ok_or_else(|| doctor_not_found(id))?;
    tracing::info!(doctor_id = id, "doctor updated");
    Ok(axum::Json(doctor))
}

/// Doctors, optionally by speciality, by whether they take bookings, or by a search term.
#[utoipa::path(get, path = "/api/doctors", tag = "doctors",
    params(DoctorFilter, PageParams),
    responses((status = 200, body = Page<Doctor>), BadQuery))]
pub async fn list(
    State(state): State<AppState>,
    _caller: Principal,
    Query(filter): Query<DoctorFilter>,
    Query(page): Query<PageParams>,
) -> Result<axum::Json<Page<Doctor>>> {
    let page = page.validate()?;
    let mut v = Violations::default();
    let speciality = v.check("speciality", search_term(filter.speciality.as_deref()));
    let q = v.check("q", search_term(filter.q.as_deref()));
    let (speciality, q) = v.finish(speciality.zip(q))?;
    let query = DoctorQuery {
        speciality,
        available: filter.available,
        q,
    };
    let (items, total) = state.store.list(&query, page).await?;
    Ok(axum::Json(Page::new(items, page, total)))
}
