use contracts::appointments::{Appointment, AppointmentStatus};
use contracts::events::{AppointmentChanged, types};
use jiff::Timestamp;
use platform::ApiError;
use platform::db::violated_constraint;
use platform::outbox;
use platform::time::to_millis;
use sqlx::AnyConnection;

use super::idempotency::NewKey;
use super::{AppointmentRow, AppointmentStore, SOURCE};
use crate::domain::lifecycle::Transition;

const DOCTOR_OVERLAP: &str = "appointments_doctor_no_overlap";
const PATIENT_OVERLAP: &str = "appointments_patient_no_overlap";

/// An appointment about to be written, already admitted by the doctor's schedule.
#[derive(Debug, Clone)]
pub struct NewAppointmentRow {
    pub patient_id: i64,
    pub doctor_id: i64,
    pub start: Timestamp,
    pub end: Timestamp,
    pub description: String,
    pub service_type: Option<String>,
    pub status: AppointmentStatus,
}

impl AppointmentStore {
    /// Inserts the appointment unless it overlaps an active one of the same doctor or patient
    /// (409). Its event, and its idempotency key if any, commit in the same transaction.
    pub async fn insert_if_free(
        &self,
        new: &NewAppointmentRow,
        key: Option<NewKey<'_>>,
    ) -> platform::Result<Appointment> {
        let now = to_millis(Timestamp::now());
        let mut tx = self.db.begin().await?;
        let row: AppointmentRow = sqlx::query_as(
            "INSERT INTO appointments (patient_id, doctor_id, start_at, end_at, description, \
             service_type, status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
             RETURNING id, patient_id, doctor_id, start_at, end_at, description, service_type, \
             status, cancellation_reason, rejection_reason, late_cancellation, created_at, \
             updated_at",
        )
        .bind(new.patient_id)
        .bind(new.doctor_id)
        .bind(to_millis(new.start))
        .bind(to_millis(new.end))
        .bind(&new.description)
        .bind(new.service_type.as_deref())
        .bind(new.status.as_str())
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(overlap_conflict)?;
        let appointment = row.into_appointment();
        let event_type = match appointment.status {
            AppointmentStatus::Approved => types::APPOINTMENT_APPROVED,
            _ => types::APPOINTMENT_REQUESTED,
        };
        record(&mut tx, event_type, AppointmentChanged::of(&appointment)).await?;
        if let Some(key) = key {
            key.insert(&mut tx, &appointment).await?;
        }
        tx.commit().await?;
        Ok(appointment)
    }

    /// Applies `transition` if the appointment is in one of its starting states.
    /// `Ok(None)`: no such appointment; a state that does not allow it is a 409.
    pub async fn apply(
        &self,
        id: i64,
        transition: Transition,
        reason: Option<&str>,
        late_cancellation: Option<bool>,
    ) -> platform::Result<Option<Appointment>> {
        let from = transition.starting_states();
        let mut tx = self.db.begin().await?;
        // The starting states are in the WHERE clause, so two racing changes cannot both win.
        // `updated_at` is the version of the appointment's events: it grows strictly even when
        // the clock stands still or steps back.
        let row: Option<AppointmentRow> = sqlx::query_as(
            "UPDATE appointments SET status = $1, \
               cancellation_reason = CASE WHEN $1 = 'CANCELLED' THEN $2 ELSE cancellation_reason END, \
               rejection_reason = CASE WHEN $1 = 'REJECTED' THEN $2 ELSE rejection_reason END, \
               late_cancellation = $3, \
               updated_at = CASE WHEN updated_at < $4 THEN $4 ELSE updated_at + 1 END \
             WHERE id = $5 AND (status = $6 OR status = $7) \
             RETURNING id, patient_id, doctor_id, start_at, end_at, description, service_type, \
             status, cancellation_reason, rejection_reason, late_cancellation, created_at, \
             updated_at",
        )
        .bind(transition.target().as_str())
        .bind(reason)
        .bind(late_cancellation.map(i64::from))
        .bind(to_millis(Timestamp::now()))
        .bind(id)
        .bind(from[0].as_str())
        .bind(from[from.len() - 1].as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(overlap_conflict)?;
        let Some(row) = row else {
            drop(tx);
            return match self.find(id).await? {
                Some(current) => Err(ApiError::Conflict(transition.refusal(current.status))),
                None => Ok(None),
            };
        };
        let appointment = row.into_appointment();
        record(
            &mut tx,
            transition.event_type(),
            AppointmentChanged::of(&appointment),
        )
        .await?;
        tx.commit().await?;
        Ok(Some(appointment))
    }

    /// Moves or edits an active appointment, unless it changed since `current` was read (409)
    /// or the new time overlaps another active appointment (409).
    pub async fn reschedule(
        &self,
        current: &Appointment,
        start: Timestamp,
        end: Timestamp,
        description: &str,
    ) -> platform::Result<Appointment> {
        let mut tx = self.db.begin().await?;
        let row: Option<AppointmentRow> = sqlx::query_as(
            "UPDATE appointments SET start_at = $1, end_at = $2, description = $3, updated_at = $4 \
             WHERE id = $5 AND updated_at = $6 AND status IN ('REQUESTED', 'APPROVED') \
             RETURNING id, patient_id, doctor_id, start_at, end_at, description, service_type, \
             status, cancellation_reason, rejection_reason, late_cancellation, created_at, \
             updated_at",
        )
        .bind(to_millis(start))
        .bind(to_millis(end))
        .bind(description)
        // Strictly increasing: `updated_at` versions the appointment's events.
        .bind(to_millis(Timestamp::now()).max(to_millis(current.updated_at) + 1))
        .bind(current.id)
        .bind(to_millis(current.updated_at))
        .fetch_optional(&mut *tx)
        .await
        .map_err(overlap_conflict)?;
        let Some(row) = row else {
            return Err(ApiError::Conflict(
                "The appointment changed meanwhile; read it again and retry.".to_owned(),
            ));
        };
        let appointment = row.into_appointment();
        if appointment.appointment_date != current.appointment_date
            || appointment.end_date != current.end_date
        {
            let mut changed = AppointmentChanged::of(&appointment);
            changed.previous_start = Some(current.appointment_date);
            record(&mut tx, types::APPOINTMENT_RESCHEDULED, changed).await?;
        }
        tx.commit().await?;
        Ok(appointment)
    }
}

async fn record(
    conn: &mut AnyConnection,
    event_type: &str,
    changed: AppointmentChanged,
) -> platform::Result<()> {
    outbox::append(conn, SOURCE, event_type, changed.appointment_id, &changed).await?;
    Ok(())
}

/// The schema's overlap refusals become 409s naming whose time is taken.
fn overlap_conflict(err: sqlx::Error) -> ApiError {
    match violated_constraint(&err, &[DOCTOR_OVERLAP, PATIENT_OVERLAP]) {
        Some(DOCTOR_OVERLAP) => ApiError::Conflict(
            "The doctor already has an appointment overlapping this time.".to_owned(),
        ),
        Some(_) => ApiError::Conflict(
            "The patient already has an appointment overlapping this time.".to_owned(),
        ),
        None => err.into(),
    }
}
