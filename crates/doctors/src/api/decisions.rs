use axum::extract::State;
use contracts::appointments::Appointment;
use contracts::doctors::DecisionRequest;
use platform::auth::Principal;
use platform::client::Forwarded;
use platform::docs::{BadRequest, Conflict, Unprocessable};
use platform::extract::Json;
use platform::{ApiError, Result};

use crate::AppState;
use crate::domain::decision::{Decision, Verdict};
use crate::policy;

/// Approve a requested appointment. `status`, when given, must be `APPROVED`.
#[utoipa::path(post, path = "/api/doctors/appointments/approve", tag = "doctors",
    request_body = platform::schema::ApprovalRequest,
    responses((status = 200, body = Appointment), BadRequest, Unprocessable, Conflict))]
pub async fn approve(
    State(state): State<AppState>,
    principal: Principal,
    forwarded: Forwarded,
    Json(request): Json<DecisionRequest>,
) -> Result<axum::Json<Appointment>> {
    policy::may_decide(&principal)?;
    decide(
        &state,
        &forwarded,
        Decision::parse(request, Verdict::Approve)?,
    )
    .await
}

/// Reject a requested appointment, optionally with a reason. `status`, when given, must be
/// `REJECTED`.
#[utoipa::path(post, path = "/api/doctors/appointments/reject", tag = "doctors",
    request_body = platform::schema::RejectionRequest,
    responses((status = 200, body = Appointment), BadRequest, Unprocessable, Conflict))]
pub async fn reject(
    State(state): State<AppState>,
    principal: Principal,
    forwarded: Forwarded,
    Json(request): Json<DecisionRequest>,
) -> Result<axum::Json<Appointment>> {
    policy::may_decide(&principal)?;
    decide(
        &state,
        &forwarded,
        Decision::parse(request, Verdict::Reject)?,
    )
    .await
}

/// The appointment service applies the decision. An unknown appointment is a bad reference in
/// the body (422); its other answers (409 for one no longer `REQUESTED`) are passed on.
async fn decide(
    state: &AppState,
    forwarded: &Forwarded,
    decision: Decision,
) -> Result<axum::Json<Appointment>> {
    let appointment = state
        .appointments
        .decide(
            decision.appointment_id,
            decision.verdict.verb(),
            &decision.body,
            forwarded,
        )
        .await
        .map_err(unknown_appointment)?;
    tracing::info!(
        appointment_id = appointment.id,
        doctor_id = appointment.doctor_id,
        status = appointment.status.as_str(),
        "decision applied"
    );
    Ok(axum::Json(appointment))
}

fn unknown_appointment(err: ApiError) -> ApiError {
    match err {
        ApiError::Upstream(problem) if problem.status == 404 => {
            ApiError::unprocessable("appointmentId", "no such appointment")
        }
        other => other,
    }
}
