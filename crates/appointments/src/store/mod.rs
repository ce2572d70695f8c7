//! The appointment service's tables, in portable SQL. The no-overlap rule itself lives in the
//! schema (an exclusion constraint on PostgreSQL, triggers on SQLite); writes here only turn its
//! refusals into 409s.

pub mod idempotency;
mod read;
mod write;

use contracts::appointments::{Appointment, AppointmentStatus};
use platform::db::Db;
use platform::time::from_millis;

pub use read::ListFilter;
pub use write::NewAppointmentRow;

const SOURCE: &str = "appointments";

#[derive(Debug, Clone)]
pub struct AppointmentStore {
    db: Db,
}

impl AppointmentStore {
    pub fn new(db: Db) -> Self {
        Self { db }
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

impl AppointmentRow {
    fn into_appointment(self) -> Appointment {
        Appointment {
            id: self.id,
            patient_id: self.patient_id,
            doctor_id: self.doctor_id,
            appointment_date: from_millis(self.start_at),
            end_date: from_millis(self.end_at),
            duration_minutes: u32::try_from((self.end_at - self.start_at) / 60_000).unwrap_or(0),
            description: self.description,
            service_type: self.service_type,
            // The CHECK constraint admits only known statuses.
            status: AppointmentStatus::parse(&self.status).unwrap_or(AppointmentStatus::Cancelled),
            created_at: from_millis(self.created_at),
            updated_at: from_millis(self.updated_at),
            cancellation_reason: self.cancellation_reason,
            rejection_reason: self.rejection_reason,
            late_cancellation: self.late_cancellation.map(|flag| flag != 0),
        }
    }
}
