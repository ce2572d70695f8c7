use axum::extract::{Path, Query, State};
use contracts::appointments::{Appointment, CancelQuery, DecisionBody};
use jiff::Timestamp;
use platform::audit::{Action, AuditContext};
use platform::auth::Role;
use platform::docs::{BadRequest, Conflict, NotFound};
use platform::extract::Json;
use platform::values::NonBlank;
use platform::{ApiError, Result};

use crate::AppState;
use crate::domain::lifecycle::{Transition, is_late_cancellation};
use crate::policy::{self, Intent};

/// Cancel an appointment (its patient, its doctor, ADMIN); it stays, `CANCELLED`.
///
/// A patient's cancellation within the clinic's cancellation window is marked
/// `lateCancellation`.
#[utoipa::path(delete, path = "/api/appointments/{id}", tag = "appointments",
    params(("id" = i64, Path, description = "Appointment id"), CancelQuery),
    responses((status = 200, body = Appointment), BadRequest, NotFound, Conflict))]
pub async fn cancel(
    State(state): State<AppState>,
    ctx: AuditContext,
    Path(id): Path<i64>,
    Query(query): Query<CancelQuery>,
) -> Result<axum::Json<Appointment>> {
    let reason = reason(query.reason)?;
    let current = state.find(id).await?;
    let late = ctx.principal.role == Role::Patient
        && is_late_cancellation(
            Timestamp::now(),
            current.appointment_date,
            state.clinic.cancellation_window,
        );
    let change = Change {
        intent: Intent::Change,
        transition: Transition::Cancel,
        reason: reason.as_deref(),
        late: Some(late),
    };
    apply(&state, &ctx, &current, change).await
}

/// Approve a requested appointment (its doctor, ADMIN).
#[utoipa::path(post, path = "/api/appointments/{id}/approve", tag = "appointments",
    params(("id" = i64, Path, description = "Appointment id")),
    request_body(content = Option<DecisionBody>),
    responses((status = 200, body = Appointment), BadRequest, NotFound, Conflict))]
pub async fn approve(
    State(state): State<AppState>,
    ctx: AuditContext,
    Path(id): Path<i64>,
) -> Result<axum::Json<Appointment>> {
    decide(&state, &ctx, id, Transition::Approve, None).await
}

/// Reject a requested appointment (its doctor, ADMIN), with an optional reason.
#[utoipa::path(post, path = "/api/appointments/{id}/reject", tag = "appointments",
    params(("id" = i64, Path, description = "Appointment id")),
    request_body = DecisionBody,
    responses((status = 200, body = Appointment), BadRequest, NotFound, Conflict))]
pub async fn reject(
    State(state): State<AppState>,
    ctx: AuditContext,
    Path(id): Path<i64>,
    Json(body): Json<DecisionBody>,
) -> Result<axum::Json<Appointment>> {
    let reason = reason(body.reason)?;
    decide(&state, &ctx, id, Transition::Reject, reason.as_deref()).await
}

/// Mark an approved appointment as completed (its doctor, ADMIN).
#[utoipa::path(post, path = "/api/appointments/{id}/complete", tag = "appointments",
    params(("id" = i64, Path, description = "Appointment id")),
    responses((status = 200, body = Appointment), BadRequest, NotFound, Conflict))]
pub async fn complete(
    State(state): State<AppState>,
    ctx: AuditContext,
    Path(id): Path<i64>,
) -> Result<axum::Json<Appointment>> {
    decide(&state, &ctx, id, Transition::Complete, None).await
}

/// Mark an approved appointment as a no-show (its doctor, ADMIN).
#[utoipa::path(post, path = "/api/appointments/{id}/no-show", tag = "appointments",
    params(("id" = i64, Path, description = "Appointment id")),
    responses((status = 200, body = Appointment), BadRequest, NotFound, Conflict))]
pub async fn no_show(
    State(state): State<AppState>,
    ctx: AuditContext,
    Path(id): Path<i64>,
) -> Result<axum::Json<Appointment>> {
    decide(&state, &ctx, id, Transition::NoShow, None).await
}

struct Change<'a> {
    intent: Intent,
    transition: Transition,
    reason: Option<&'a str>,
    late: Option<bool>,
}

async fn decide(
    state: &AppState,
    ctx: &AuditContext,
    id: i64,
    transition: Transition,
    reason: Option<&str>,
) -> Result<axum::Json<Appointment>> {
    let current = state.find(id).await?;
    let change = Change {
        intent: Intent::Decide,
        transition,
        reason,
        late: None,
    };
    apply(state, ctx, &current, change).await
}

async fn apply(
    state: &AppState,
    ctx: &AuditContext,
    current: &Appointment,
    change: Change<'_>,
) -> Result<axum::Json<Appointment>> {
    let id = current.id;
    let result = async {
        policy::check(&ctx.principal, current, change.intent)?;
        state
            .store
            .apply(id, change.transition, change.reason, change.late)
            .await?
            .ok_or_else(|| crate::not_found(id))
    }
    .await;
    let resource = format!("appointment/{id}");
    let appointment = state
        .audit
        .outcome(
            ctx,
            Some(current.patient_id),
            Action::Update,
            &resource,
            result,
        )
        .await?;
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
