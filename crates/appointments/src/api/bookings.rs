use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use contracts::appointments::{Appointment, AppointmentChange, NewAppointment};
use platform::client::{Forwarded, IDEMPOTENCY_KEY};
use platform::docs::{BadRequest, Conflict, NotFound, Unprocessable};
use platform::extract::Json;
use platform::{ApiError, Result};

use crate::AppState;
use crate::booking::{self, Booked};

/// Book an appointment.
///
/// `409` when the time is outside the doctor's hours, the doctor is unavailable, or the
/// interval overlaps an active appointment of the doctor or the patient.
#[utoipa::path(post, path = "/api/appointments", tag = "appointments",
    request_body = NewAppointment,
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first result of a retried request")),
    responses((status = 201, body = Appointment), BadRequest, Conflict, Unprocessable))]
pub async fn create(
    State(state): State<AppState>,
    forwarded: Forwarded,
    headers: HeaderMap,
    Json(input): Json<NewAppointment>,
) -> Result<(StatusCode, axum::Json<Appointment>)> {
    let key = idempotency_key(&headers)?;
    match booking::book(&state, input, key, &forwarded).await? {
        Booked::Created(appointment) => {
            tracing::info!(
                appointment_id = appointment.id,
                status = appointment.status.as_str(),
                "booked"
            );
            Ok((StatusCode::CREATED, axum::Json(appointment)))
        }
        Booked::Replayed(appointment) => Ok((StatusCode::CREATED, axum::Json(appointment))),
    }
}

/// Reschedule or modify an active appointment.
#[utoipa::path(put, path = "/api/appointments/{id}", tag = "appointments",
    params(("id" = i64, Path, description = "Appointment id")),
    request_body = AppointmentChange,
    responses((status = 200, body = Appointment), BadRequest, NotFound, Conflict))]
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    forwarded: Forwarded,
    Json(input): Json<AppointmentChange>,
) -> Result<axum::Json<Appointment>> {
    let current = state.find(id).await?;
    let appointment = booking::change(&state, current, input, &forwarded).await?;
    Ok(axum::Json(appointment))
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<&str>> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    match value.to_str() {
        Ok(key) if !key.trim().is_empty() && key.len() <= 255 => Ok(Some(key)),
        _ => Err(ApiError::invalid(
            "Idempotency-Key",
            "must be 1 to 255 visible ASCII characters",
        )),
    }
}
