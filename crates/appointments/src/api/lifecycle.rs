use axum::extract::{Path, Query, State};
use contracts::appointments::{Appointment, CancelQuery, DecisionBody};
use jiff::Timestamp;
use platform::audit::{Action, AuditContext};
use platform::docs::{BadRequest, Conflict, NotFound};
use platform::extract::Json;
use platform::values::NonBlank;
use platform::{ApiError, Result};

use crate::AppState;
use crate::domain::lifecycle::{Transition, is_late_cancellation};
use crate::policy;

/// Cancel an appointment (its patient, its doctor, ADMIN); it stays, `CANCELLED`.
///
/// A patient's cancellation within the clinic's cancellation window is marked
/// `lateCancellation`.
#[utoipa::path(delete, path = "/api/appointments/{id}", tag = "appointments",
    params(("id" = platform::schema::Id, Path, description = "Appointment id"), CancelQuery),
    responses((status = 200, body = Appointment), BadRequest, NotFound, Conflict))]
pub async fn cancel(
    State(state): State<AppState>,
    ctx: AuditContext,
    Path(id): Path<i64>,
    Query(query): Query<CancelQuery>,
) -> Result<axum::Json<Appointment>> {
    let reason = reason(query.reason)?;
    apply(&state, &ctx, id, Transition::Cancel, reason.as_deref()).await
}

/// Approve a requested appointment (its doctor, ADMIN).
#[utoipa::path(post, path = "/api/appointments/{id}/approve", tag = "appointments",
    params(("id" = platform::schema::Id, Path, description = "Appointment id")),
    responses((status = 200, body = Appointment), BadRequest, NotFound, Conflict))]
pub async fn approve(
    State(state): State<AppState>,
    ctx: AuditContext,
    Path(id): Path<i64>,
) -> Result<axum::Json<Appointment>> {
    apply(&state, &ctx, id, Transition::Approve, None).await
}

/// Reject a requested appointment (its doctor, ADMIN), with an optional reason.
#[utoipa::path(post, path = "/api/appointments/{id}/reject", tag = "appointments",
    params(("id" = platform::schema::Id, Path, description = "Appointment id")),
    request_body = DecisionBody,
    responses((status = 200, body = Appointment), BadRequest, NotFound, Conflict))]
pub async fn reject(
    State(state): State<AppState>,
    ctx: AuditContext,
    Path(id): Path<i64>,
    Json(body): Json<DecisionBody>,
) -> Result<axum::Json<Appointment>> {
    let reason = reason(body.reason)?;
    apply(&state, &ctx, id, Transition::Reject, reason.as_deref()).await
}

/// Mark an approved appointment as completed (its doctor, ADMIN).
#[utoipa::path(post, path = "/api/appointments/{id}/complete", tag = "appointments",
    params(("id" = platform::schema::Id, Path, description = "Appointment id")),
    responses((status = 200, body = Appointment), BadRequest, NotFound, Conflict))]
pub async fn complete(
    State(state): State<AppState>,
    ctx: AuditContext,
    Path(id): Path<i64>,
) -> Result<axum::Json<Appointment>> {
    apply(&state, &ctx, id, Transition::Complete, None).await
}

/// Mark an approved appointment as a no-show (its doctor, ADMIN).
#[utoipa::path(post, path = "/api/appointments/{id}/no-show", tag = "appointments",
    params(("id" = platform::schema::Id, Path, description = "Appointment id")),
    responses((status = 200, body = Appointment), BadRequest, NotFound, Conflict))]
pub async fn no_show(
    State(state): State<AppState>,
    ctx: AuditContext,
    Path(id): Path<i64>,
) -> Result<axum::Json<Appointment>> {
    apply(&state, &ctx, id, Transition::NoShow, None).await
}

/// Applies `transition` if the policy allows it for this caller; the kind of act (a change or
/// the doctor's decision) is the transition's own. The success is audited in its transaction.
async fn apply(
    state: &AppState,
    ctx: &AuditContext,
    id: i64,
    transition: Transition,
    reason: Option<&str>,
) -> Result<axum::Json<Appointment>> {
    let sealed = state.find(id).await?;
    let patient_id = sealed.patient_id();
    let result = async {
        let may = policy::may_apply(&ctx.principal, sealed, transition)?;
        // Only the patient's own cancellation can be late (and carry a fee).
        let late = (transition == Transition::Cancel).then(|| {
            may.by_patient()
                && is_late_cancellation(
                    Timestamp::now(),
                    may.appointment().appointment_date,
                    state.clinic.cancellation_window,
                )
        });
        state.store.apply(&may, reason, late, ctx).await
    }
    .await;
    let resource = format!("appointment/{id}");
    let appointment = state
        .failure_audited(ctx, patient_id, Action::Update, &resource, result)
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
        .map(|r| NonBlank::reason(&r).map(NonBlank::into_string))
        .transpose()
        .map_err(|message| ApiError::invalid("reason", message))
}
