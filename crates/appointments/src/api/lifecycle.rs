use axum::extract::{Path, Query, State};
use contracts::appointments::{Appointment, CancelQuery, DecisionBody};
use jiff::Timestamp;
use platform::docs::{BadRequest, Conflict, NotFound};
use platform::extract::Json;
use platform::values::NonBlank;
use platform::{ApiError, Result};

use crate::AppState;
use crate::domain::lifecycle::{Transition, is_late_cancellation};

/// Cancel an appointment (it stays, `CANCELLED`).
///
/// A cancellation within the clinic's cancellation window is marked `lateCancellation`.
#[utoipa::path(delete, path = "/api/appointments/{id}", tag = "appointments",
    params(("id" = i64, Path, description = "Appointment id"), CancelQuery),
    responses((status = 200, body = Appointment), BadRequest, NotFound, Conflict))]
pub async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(query): Query<CancelQuery>,
) -> Result<axum::Json<Appointment>> {
    let reason = reason(query.reason)?;
    let current = state.find(id).await?;
    let late = is_late_cancellation(
        Timestamp::now(),
        current.appointment_date,
        state.clinic.cancellation_window,
    );
    apply(
        &state,
        id,
        Transition::Cancel,
        reason.as_deref(),
        Some(late),
    )
    .await
}

/// Approve a requested appointment (the doctor's decision).
#[utoipa::path(post, path = "/api/appointments/{id}/approve", tag = "appointments",
    params(("id" = i64, Path, description = "Appointment id")),
    request_body(content = Option<DecisionBody>),
    responses((status = 200, body = Appointment), BadRequest, NotFound, Conflict))]
pub async fn approve(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<axum::Json<Appointment>> {
    apply(&state, id, Transition::Approve, None, None).await
}

/// Reject a requested appointment (the doctor's decision), with an optional reason.
#[utoipa::path(post, path = "/api/appointments/{id}/reject", tag = "appointments",
    params(("id" = i64, Path, description = "Appointment id")),
    request_body = DecisionBody,
    responses((status = 200, body = Appointment), BadRequest, NotFound, Conflict))]
pub async fn reject(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(body): Json<DecisionBody>,
) -> Result<axum::Json<Appointment>> {
    let reason = reason(body.reason)?;
    apply(&state, id, Transition::Reject, reason.as_deref(), None).await
}

/// Mark an approved appointment as completed.
#[utoipa::path(post, path = "/api/appointments/{id}/complete", tag = "appointments",
    params(("id" = i64, Path, description = "Appointment id")),
    responses((status = 200, body = Appointment), BadRequest, NotFound, Conflict))]
pub async fn complete(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<axum::Json<Appointment>> {
    apply(&state, id, Transition::Complete, None, None).await
}

/// Mark an approved appointment as a no-show.
#[utoipa::path(post, path = "/api/appointments/{id}/no-show", tag = "appointments",
    params(("id" = i64, Path, description = "Appointment id")),
    responses((status = 200, body = Appointment), BadRequest, NotFound, Conflict))]
pub async fn no_show(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<axum::Json<Appointment>> {
    apply(&state, id, Transition::NoShow, None, None).await
}

async fn apply(
    state: &AppState,
    id: i64,
    transition: Transition,
    reason: Option<&str>,
    late: Option<bool>,
) -> Result<axum::Json<Appointment>> {
    let appointment = state
        .store
        .apply(id, transition, reason, late)
        .await?
        .ok_or_else(|| crate::not_found(id))?;
    tracing::info!(
        appointment_id = id,
        status = appointment.status.as_str(),
        "status changed"
    );
    Ok(axum::Json(appointment))
}

fn reason(raw: Option<String>) -> Result<Option<String>> {
    raw.filter(|r| !r.trim().is_empty())
        .map(|r| NonBlank::parse(&r, 500).map(NonBlank::into_string))
        .transpose()
        .map_err(|message| ApiError::invalid("reason", message))
}
