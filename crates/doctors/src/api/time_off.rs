use axum::extract::{Path, State};
use axum::http::StatusCode;
use contracts::doctors::{TimeOff, TimeOffInput};
use platform::Result;
use platform::auth::Principal;
use platform::docs::{BadQuery, BadRequest, NotFound};
use platform::extract::Json;

use super::doctor_not_found;
use crate::AppState;
use crate::domain::time_off::TimeOffPeriod;
use crate::policy;

/// Record time off `[from, to)`: no slots are offered and no bookings accepted during it.
/// Instants without an offset are clinic-local time.
#[utoipa::path(post, path = "/api/doctors/{id}/time-off", tag = "doctors",
    params(("id" = platform::schema::Id, Path, description = "Doctor id")),
    request_body = TimeOffInput,
    responses((status = 201, body = TimeOff), BadRequest, NotFound))]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    Json(input): Json<TimeOffInput>,
) -> Result<(StatusCode, axum::Json<TimeOff>)> {
    policy::may_manage(&principal, id)?;
    let off = TimeOffPeriod::parse(input, &state.clinic.timezone)?;
    let time_off = state
        .store
        .add_time_off(id, &off)
        .await?
        .ok_or_else(|| doctor_not_found(id))?;
    tracing::info!(
        doctor_id = id,
        time_off_id = time_off.id,
        "time off recorded"
    );
    Ok((StatusCode::CREATED, axum::Json(time_off)))
}

/// A doctor's time off, earliest first.
#[utoipa::path(get, path = "/api/doctors/{id}/time-off", tag = "doctors",
    params(("id" = platform::schema::Id, Path, description = "Doctor id")),
    responses((status = 200, body = Vec<TimeOff>), BadQuery, NotFound))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<axum::Json<Vec<TimeOff>>> {
    policy::may_manage(&principal, id)?;
    state
        .store
        .find(id)
        .await?
        .ok_or_else(|| doctor_not_found(id))?;
    Ok(axum::Json(state.store.time_off(id).await?))
}
