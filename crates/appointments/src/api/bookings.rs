use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use contracts::appointments::{Appointment, AppointmentChange, NewAppointment};
use platform::audit::{Action, AuditContext};
use platform::client::{Forwarded, IDEMPOTENCY_KEY};
use platform::docs::{BadRequest, Conflict, NotFound, Unprocessable};
use platform::extract::Json;
use platform::{ApiError, Result};

use crate::AppState;
use crate::booking::{self, Booked};
use crate::policy;

/// Book an appointment (the patient for themselves; ADMIN).
///
/// `409` when the time is outside the doctor's hours, the doctor is unavailable, the length or
/// start is not what the doctor offers (slot length and multiples, on the slot grid), the
/// patient already holds the clinic's limit of active future appointments, or the interval
/// overlaps an active appointment of the doctor or the patient. ADMIN overrides the clinic's
/// rules (length, grid, limit); each override is audited.
#[utoipa::path(post, path = "/api/appointments", tag = "appointments",
    request_body = NewAppointment,
    params(("Idempotency-Key" = Option<platform::schema::IdempotencyKey>, Header, description = "Replays the first result of a retried request (for 24 hours)")),
    responses((status = 201, body = Appointment), BadRequest, Conflict, Unprocessable))]
pub async fn create(
    State(state): State<AppState>,
    ctx: AuditContext,
    forwarded: Forwarded,
    headers: HeaderMap,
    Json(input): Json<NewAppointment>,
) -> Result<(StatusCode, axum::Json<Appointment>)> {
    let patient_id = input.patient_id;
    let result = async {
        let may = policy::may_book(&ctx.principal, patient_id)?;
        let key = idempotency_key(&headers)?;
        booking::book(&state, may, input, key, (&ctx, &forwarded)).await
    }
    .await;
    count_booking(&result);
    // A booking's audit row committed with it; a replay or a refusal is recorded here.
    let resource = match &result {
        Ok(Booked::Created(_)) => None,
        Ok(Booked::Replayed(a)) => Some(format!("appointment/{}", a.id)),
        Err(_) => Some("appointment".to_owned()),
    };
    let booked = match resource {
        Some(resource) => {
            let audit = state.store.audit();
            let patient = Some(patient_id);
            audit
                .outcome(&ctx, patient, Action::Create, &resource, result)
                .await?
        }
        None => result?,
    };
    let (Booked::Created(appointment) | Booked::Replayed(appointment)) = booked;
    tracing::info!(
        appointment_id = appointment.id,
        status = appointment.status.as_str(),
        "booked"
    );
    Ok((StatusCode::CREATED, axum::Json(appointment)))
}

/// Reschedule or modify an active appointment (its patient, its doctor, ADMIN).
///
/// A patient's new time or length of an `APPROVED` appointment puts it back to `REQUESTED`
/// (the doctor is asked again); a doctor's or ADMIN's change keeps `APPROVED`.
#[utoipa::path(put, path = "/api/appointments/{id}", tag = "appointments",
    params(("id" = platform::schema::Id, Path, description = "Appointment id")),
    request_body = AppointmentChange,
    responses((status = 200, body = Appointment), BadRequest, NotFound, Conflict))]
pub async fn update(
    State(state): State<AppState>,
    ctx: AuditContext,
    Path(id): Path<i64>,
    forwarded: Forwarded,
    Json(input): Json<AppointmentChange>,
) -> Result<axum::Json<Appointment>> {
    let sealed = state.find(id).await?;
    let patient_id = sealed.patient_id();
    let result = async {
        let may = policy::may_change(&ctx.principal, sealed)?;
        booking::change(&state, &may, input, (&ctx, &forwarded)).await
    }
    .await;
    let resource = format!("appointment/{id}");
    let appointment = state
        .failure_audited(&ctx, patient_id, Action::Update, &resource, result)
        .await?;
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

/// `bookings_total{outcome}`: what became of each booking request.
fn count_booking(result: &Result<Booked>) {
    let outcome = match result {
        Ok(Booked::Created(_)) => "booked",
        Ok(Booked::Replayed(_)) => "replayed",
        Err(ApiError::Conflict(_)) => "conflict",
        Err(ApiError::Forbidden | ApiError::Unauthorized(_)) => "forbidden",
        Err(ApiError::Unavailable(_)) => "unavailable",
        Err(ApiError::Internal(_)) => "error",
        // A patient's or doctor's service refused: the booking's problem, or theirs.
        Err(ApiError::Upstream(problem)) => match problem.status {
            409 => "conflict",
            status if status >= 500 => "unavailable",
            _ => "invalid",
        },
        Err(_) => "invalid",
    };
    metrics::counter!("bookings_total", "outcome" => outcome).increment(1);
}
