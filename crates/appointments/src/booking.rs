//! The booking use cases: validate, ask the other services, apply the clinic's rules, then let
//! the database decide.

use contracts::appointments::{Appointment, AppointmentChange, NewAppointment};
use contracts::doctors::Availability;
use jiff::Timestamp;
use platform::ApiError;
use platform::audit::AuditContext;
use platform::client::Forwarded;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::domain::booking::{BookingRequest, ChangeRequest, admit};
use crate::domain::lifecycle::status_after_move;
use crate::domain::rules::{Rule, enforce, offer_breaches};
use crate::policy::{MayBook, MayChange};
use crate::store::{Booking, Move, idempotency::NewKey};

/// The outcome of a booking: new, or the replay of an earlier request with the same key.
pub enum Booked {
    Created(Appointment),
    Replayed(Appointment),
}

pub async fn book(
    state: &AppState,
    may: MayBook,
    input: NewAppointment,
    idempotency_key: Option<&str>,
    (ctx, fwd): (&AuditContext, &Forwarded),
) -> platform::Result<Booked> {
    let request_hash = fingerprint(&input);
    if let Some(key) = idempotency_key
        && let Some(reply) = replay(state, may, key, &request_hash).await?
    {
        return Ok(Booked::Replayed(reply));
    }
    let booking = BookingRequest::parse(input, Timestamp::now(), &state.clinic.timezone)?;
    let availability = state
        .directory
        .check(
            may.patient_id(),
            booking.doctor_id,
            booking.start,
            booking.duration_minutes,
            fwd,
        )
        .await?;
    let status = admit(&availability)?;
    let overridden = offered(&availability, may.overrides_rules())?;
    let row = Booking {
        may,
        doctor_id: booking.doctor_id,
        start: availability.start,
        end: availability.end,
        description: booking.description,
        service_type: booking.service_type,
        status,
        overridden,
        max_active: state.clinic.max_active_per_patient,
        key: idempotency_key.map(|key| NewKey {
            key: key.to_owned(),
            request_hash: request_hash.clone(),
        }),
    };
    match state.store.insert_if_free(row, ctx).await {
        Ok(appointment) => Ok(Booked::Created(appointment)),
        // A concurrent retry with the same key may have won the race: answer as it did.
        Err(err) => match idempotency_key {
            Some(key) => match replay(state, may, key, &request_hash).await? {
                Some(reply) => Ok(Booked::Replayed(reply)),
                None => Err(err),
            },
            None => Err(err),
        },
    }
}

/// Reschedules or edits an active appointment with the same checks as a booking. A patient's
/// move of an approved visit puts it back to `REQUESTED`.
pub async fn change(
    state: &AppState,
    may: &MayChange,
    input: AppointmentChange,
    (ctx, fwd): (&AuditContext, &Forwarded),
) -> platform::Result<Appointment> {
    let current = may.appointment();
    let change = ChangeRequest::parse(input, Timestamp::now(), &state.clinic.timezone)?;
    if !current.status.is_active() {
        return Err(ApiError::Conflict(format!(
            "An appointment that is {} cannot be changed.",
            current.status.as_str()
        )));
    }
    let (start, end, status, overridden) = if change.moves_time() {
        let start = change.start.unwrap_or(current.appointment_date);
        if start <= Timestamp::now() {
            return Err(ApiError::invalid(
                "appointmentDate",
                "must be in the future",
            ));
        }
        let minutes = change.duration_minutes.unwrap_or(current.duration_minutes);
        let availability = state
            .directory
            .availability(current.doctor_id, start, Some(minutes), fwd)
            .await?;
        admit(&availability)?;
        let overridden = offered(&availability, may.overrides_rules())?;
        let status = status_after_move(current.status, may.by_patient());
        (availability.start, availability.end, status, overridden)
    } else {
        let (start, end) = (current.appointment_date, current.end_date);
        (start, end, current.status, Vec::new())
    };
    let description = change
        .description
        .unwrap_or_else(|| current.description.clone());
    let to = Move {
        may: may.clone(),
        start,
        end,
        description,
        status,
        overridden,
    };
    state.store.reschedule(to, ctx).await
}

/// The visit's length and start must be what the doctor offers, unless overridden.
fn offered(availability: &Availability, may_override: bool) -> platform::Result<Vec<Rule>> {
    let minutes = (availability.end.as_second() - availability.start.as_second()) / 60;
    let minutes = u32::try_from(minutes).unwrap_or(u32::MAX);
    enforce(offer_breaches(availability, minutes), may_override)
}

async fn replay(
    state: &AppState,
    may: MayBook,
    key: &str,
    request_hash: &str,
) -> platform::Result<Option<Appointment>> {
    match state.store.stored_reply(may, key).await? {
        Some(reply) if reply.request_hash == request_hash => Ok(Some(reply.appointment)),
        Some(_) => Err(ApiError::Conflict(
            "This Idempotency-Key was already used for a different request.".to_owned(),
        )),
        None => Ok(None),
    }
}

/// Identifies a request body, so a key reused for another request is caught.
fn fingerprint(input: &NewAppointment) -> String {
    let canonical = serde_json::to_vec(input).unwrap_or_default();
    format!("{:x}", Sha256::digest(canonical))
}
