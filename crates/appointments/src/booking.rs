//! The booking use cases: validate, ask the other services, then let the database decide.

use contracts::appointments::{Appointment, AppointmentChange, NewAppointment};
use jiff::Timestamp;
use platform::ApiError;
use platform::client::Forwarded;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::domain::booking::{BookingRequest, ChangeRequest, admit};
use crate::store::{NewAppointmentRow, idempotency::NewKey};

/// The outcome of a booking: new, or the replay of an earlier request with the same key.
pub enum Booked {
    Created(Appointment),
    Replayed(Appointment),
}

pub async fn book(
    state: &AppState,
    input: NewAppointment,
    idempotency_key: Option<&str>,
    fwd: &Forwarded,
) -> platform::Result<Booked> {
    let request_hash = fingerprint(&input);
    if let Some(key) = idempotency_key
        && let Some(reply) = replay(state, key, &request_hash).await?
    {
        return Ok(Booked::Replayed(reply));
    }
    let booking = BookingRequest::parse(input, Timestamp::now(), &state.clinic.timezone)?;
    let availability = state
        .directory
        .check(
            booking.patient_id,
            booking.doctor_id,
            booking.start,
            booking.duration_minutes,
            fwd,
        )
        .await?;
    let status = admit(&availability)?;
    let row = NewAppointmentRow {
        patient_id: booking.patient_id,
        doctor_id: booking.doctor_id,
        start: availability.start,
        end: availability.end,
        description: booking.description,
        service_type: booking.service_type,
        status,
    };
    let key = idempotency_key.map(|key| NewKey {
        key,
        request_hash: &request_hash,
    });
    match state.store.insert_if_free(&row, key).await {
        Ok(appointment) => Ok(Booked::Created(appointment)),
        // A concurrent retry with the same key may have won the race: answer as it did.
        Err(err) => match idempotency_key {
            Some(key) => match replay(state, key, &request_hash).await? {
                Some(reply) => Ok(Booked::Replayed(reply)),
                None => Err(err),
            },
            None => Err(err),
        },
    }
}

/// Reschedules or edits an active appointment with the same checks as a booking.
pub async fn change(
    state: &AppState,
    current: Appointment,
    input: AppointmentChange,
    fwd: &Forwarded,
) -> platform::Result<Appointment> {
    let change = ChangeRequest::parse(input, Timestamp::now(), &state.clinic.timezone)?;
    if !current.status.is_active() {
        return Err(ApiError::Conflict(format!(
            "An appointment that is {} cannot be changed.",
            current.status.as_str()
        )));
    }
    let (start, end) = if change.moves_time() {
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
        (availability.start, availability.end)
    } else {
        (current.appointment_date, current.end_date)
    };
    let description = change
        .description
        .unwrap_or_else(|| current.description.clone());
    state
        .store
        .reschedule(&current, start, end, &description)
        .await
}

async fn replay(
    state: &AppState,
    key: &str,
    request_hash: &str,
) -> platform::Result<Option<Appointment>> {
    match state.store.stored_reply(key).await? {
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
