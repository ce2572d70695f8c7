use axum::extract::{Path, Query, State};
use contracts::doctors::{Availability, AvailabilityQuery};
use platform::Result;
use platform::auth::Principal;
use platform::docs::{BadQuery, NotFound};

use super::doctor_not_found;
use crate::AppState;
use crate::domain::availability::{VisitRequest, assess};
use crate::store::DoctorCalendar;

/// Whether a doctor can be booked from `start` for `durationMinutes` (default: the doctor's
/// slot length): within one block of working hours, not on time off, taking bookings at all.
/// Existing appointments are not considered; the appointment service checks those.
#[utoipa::path(get, path = "/api/doctors/{id}/availability", tag = "doctors",
    params(("id" = platform::schema::Id, Path, description = "Doctor id"), AvailabilityQuery),
    responses((status = 200, body = Availability), BadQuery, NotFound))]
pub async fn get(
    State(state): State<AppState>,
    _caller: Principal,
    Path(id): Path<i64>,
    Query(query): Query<AvailabilityQuery>,
) -> Result<axum::Json<Availability>> {
    let visit = VisitRequest::parse(&query, &state.clinic.timezone)?;
    // One read for the doctor, their hours and their time off: the booking path's question.
    let DoctorCalendar {
        doctor,
        hours,
        time_off,
    } = state
        .store
        .calendar(id, visit.widest())
        .await?
        .ok_or_else(|| doctor_not_found(id))?;
    let interval = visit.interval(doctor.slot_minutes);
    Ok(axum::Json(assess(
        &doctor,
        &state.calendar_with(&doctor, hours),
        interval,
        &time_off,
        state.clinic.max_visit_minutes,
    )))
}
