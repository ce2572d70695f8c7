use axum::extract::{Path, State};
use contracts::doctors::Schedule;
use platform::Result;
use platform::auth::Principal;
use platform::docs::{BadQuery, BadRequest, NotFound};
use platform::extract::Json;

use super::doctor_not_found;
use crate::AppState;
use crate::domain::schedule::{ScheduleUpdate, WeeklyHours};
use crate::policy;

/// A doctor's weekly working hours; Monday to Friday 09:00-17:00 until a schedule is stored.
#[utoipa::path(get, path = "/api/doctors/{id}/schedule", tag = "doctors",
    params(("id" = platform::schema::Id, Path, description = "Doctor id")),
    responses((status = 200, body = Schedule), BadQuery, NotFound))]
pub async fn get(
    State(state): State<AppState>,
    _caller: Principal,
    Path(id): Path<i64>,
) -> Result<axum::Json<Schedule>> {
    let doctor = state
        .store
        .find(id)
        .await?
        .ok_or_else(|| doctor_not_found(id))?;
    let hours = state
        .store
        .working_hours(id)
        .await?
        .unwrap_or_else(WeeklyHours::standard);
    Ok(axum::Json(Schedule {
        slot_minutes: doctor.slot_minutes,
        weekly: hours.to_wire(),
    }))
}

/// Replace a doctor's weekly working hours (in the doctor's zone) and slot length. Blocks of
/// one day must not overlap; an empty week means no working hours at all.
#[utoipa::path(put, path = "/api/doctors/{id}/schedule", tag = "doctors",
    params(("id" = platform::schema::Id, Path, description = "Doctor id")),
    request_body = Schedule,
    responses((status = 200, body = Schedule), BadRequest, NotFound))]
pub async fn replace(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    Json(input): Json<Schedule>,
) -> Result<axum::Json<Schedule>> {
    policy::may_manage(&principal, id)?;
    let update = ScheduleUpdate::parse(input)?;
    state
        .store
        .replace_schedule(id, &update)
        .await?
        .ok_or_else(|| doctor_not_found(id))?;
    tracing::info!(doctor_id = id, "schedule replaced");
    Ok(axum::Json(update.to_wire()))
}
