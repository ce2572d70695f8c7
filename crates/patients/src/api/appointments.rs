use axum::extract::State;
use axum::http::StatusCode;
use contracts::appointments::{Appointment, NewAppointment};
use contracts::patients::PatientAppointmentRequest;
use platform::client::Forwarded;
use platform::docs::{BadRequest, Conflict, Unprocessable};
use platform::extract::Json;
use platform::{ApiError, Result};

use crate::AppState;

/// Request an appointment for a patient; the appointment service books it.
#[utoipa::path(post, path = "/api/patients/appointments", tag = "patients",
    request_body = PatientAppointmentRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first result of a retried request")),
    responses((status = 201, body = Appointment), BadRequest, Conflict, Unprocessable))]
pub async fn request(
    State(state): State<AppState>,
    forwarded: Forwarded,
    Json(request): Json<PatientAppointmentRequest>,
) -> Result<(StatusCode, axum::Json<Appointment>)> {
    if state.store.find(request.patient_id).await?.is_none() {
        return Err(ApiError::unprocessable("patientId", "no such patient"));
    }
    let booking = NewAppointment {
        patient_id: request.patient_id,
        doctor_id: request.doctor_id,
        appointment_date: request.appointment_date,
        duration_minutes: request.duration_minutes,
        description: request.description,
        service_type: request.service_type,
    };
    let appointment = state.appointments.book(&booking, &forwarded).await?;
    Ok((StatusCode::CREATED, axum::Json(appointment)))
}
