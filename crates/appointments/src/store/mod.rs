//! The appointment service's tables, in portable SQL. The no-overlap rule itself lives in the
//! schema (an exclusion constraint on PostgreSQL, triggers on SQLite); writes here only turn its
//! refusals into 409s. Every change writes its audit row inside its own transaction.

pub mod erasure;
pub mod idempotency;
mod read;
mod write;

#[cfg(test)]
mod tests;

use std::time::Duration;

use contracts::appointments::{Appointment, AppointmentStatus};
use platform::ApiError;
use platform::audit::AuditLog;
use platform::config::Service;
use platform::db::Db;
use platform::time::try_from_millis;

pub use read::ListFilter;
pub use write::{Booking, Move};

const SOURCE: &str = "appointments";

/// The columns of `appointments`, in the order [`AppointmentRow`] reads them.
const COLUMNS: &str = "id, patient_id, doctor_id, start_at, end_at, description, service_type, \
     status, cancellation_reason, rejection_reason, late_cancellation, created_at, updated_at";

#[derive(Debug, Clone)]
pub struct AppointmentStore {
    db: Db,
    audit: AuditLog,
    /// How long an `Idempotency-Key` replays its first answer.
    idempotency_ttl: Duration,
}

impl AppointmentStore {
    pub fn new(db: Db, idempotency_ttl: Duration) -> Self {
        Self {
            audit: AuditLog::new(db.clone(), Service::Appointments.name()),
            db,
            idempotency_ttl,
        }
    }

    /// The service's audit trail (the same database): denied and failed requests go there.
    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }
}

#[derive(sqlx::FromRow)]
struct AppointmentRow {
    id: i64,
    patient_id: i64,
    doctor_id: i64,
    start_at: i64,
    end_at: i64,
    description: String,
    service_type: Option<String>,
    status: String,
    cancellation_reason: Option<String>,
    rejection_reason: Option<String>,
    late_cancellation: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

/// A stored row that cannot be an appointment is a data bug: a 500, never a plausible value.
impl TryFrom<AppointmentRow> for Appointment {
    type Error = ApiError;

    fn try_from(row: AppointmentRow) -> Result<Self, ApiError> {
        let id = row.id;
        let bad = |what: String| ApiError::Internal(anyhow::anyhow!("appointment {id}: {what}"));
        let status = AppointmentStatus::parse(&row.status)
            .ok_or_else(|| bad(format!("unknown stored status `{}`", row.status)))?;
        let length_ms = row.end_at - row.start_at;
        let duration_minutes = Some(length_ms)
            .filter(|ms| *ms > 0 && ms % 60_000 == 0)
            .and_then(|ms| u32::try_from(ms / 60_000).ok())
            .ok_or_else(|| {
                bad(format!(
                    "stored length of {length_ms} ms is not whole minutes"
                ))
            })?;
        let instant = |ms| try_from_millis(ms).map_err(bad);
        Ok(Appointment {
            id,
            patient_id: row.patient_id,
            doctor_id: row.doctor_id,
            appointment_date: instant(row.start_at)?,
            end_date: instant(row.end_at)?,
            duration_minutes,
            description: row.description,
            service_type: row.service_type,
            status,
            created_at: instant(row.created_at)?,
            updated_at: instant(row.updated_at)?,
            cancellation_reason: row.cancellation_reason,
            rejection_reason: row.rejection_reason,
            late_cancellation: row.late_cancellation.map(|flag| flag != 0),
        })
    }
}
