use axum::extract::State;
use axum::http::StatusCode;
use contracts::appointments::{Appointment, NewAppointment};
use contracts::patients::PatientAppointmentRequest;
use platform::audit::{Action, AuditContext};
use platform::client::Forwarded;
use platform::docs::{BadRequest, Conflict, Unprocessable};
use platform::extract::Json;
use platform::{ApiError, Result};

use crate::AppState;
use crate::policy::Policy;

/// Request an appointment for a patient (the patient; ADMIN); the appointment service books it.
#[utoipa::path(post, path = "/api/patients/appointments", tag = "patients",
    request_body = PatientAppointmentRequest,
    params(("Idempotency-Key" = Option<platform::schema::IdempotencyKey>, Header)),
    responses((status = 201, body = Appointment), BadRequest, Conflict, Unprocessable))]
pub async fn request(
    State(state): State<AppState>,
    ctx: AuditContext,
    forwarded: Forwarded,
    Json(request): Json<PatientAppointmentRequest>,
) -> Result<(StatusCode, axum::Json<Appointment>)> {
    let patient_id = request.patient_id;
    let result = async {
        let access = Policy::may_book_for(&ctx.principal, patient_id)?;
        if state.store.find(access).await?.is_none() {
            return Err(ApiError::unprocessable("patientId", "no such patient"));
        }
        let booking = NewAppointment {
            patient_id,
            doctor_id: request.doctor_id,
            appointment_date: request.appointment_date,
            duration_minutes: request.duration_minutes,
            description: request.description,
            service_type: request.service_type,
        };
        state.appointments.book(&booking, &forwarded).await
    }
    .await;
    let resource = match &result {
        Ok(appointment) => format!("appointment/{}", appointment.id),
        Err(_) => "appointment".to_owned(),
    };
    let appointment = state
        .audit
        .outcome(&ctx, Some(patient_id), Action::Create, &resource, result)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(appointment)))
}
