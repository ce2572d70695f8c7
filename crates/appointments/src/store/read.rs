use contracts::appointments::{Appointment, AppointmentStatus};
use contracts::doctors::Slot;
use jiff::Timestamp;
use platform::db::{fetch_page, where_all};
use platform::page::PageRequest;
use platform::time::{from_millis, to_millis};
use sqlx::Arguments;
use sqlx::any::AnyArguments;
use sqlx::error::BoxDynError;

use super::{AppointmentRow, AppointmentStore};

/// Longest visit (8 h): lets overlap queries scan a bounded range of the start index.
const MAX_DURATION_MS: i64 = 8 * 3600 * 1000;

/// Which appointments a list asks for; every field narrows the result.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub patient_id: Option<i64>,
    pub doctor_id: Option<i64>,
    pub status: Option<AppointmentStatus>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
}

impl ListFilter {
    /// `WHERE ...` built from fixed fragments only; the values go into `args` as placeholders.
    fn where_clause(&self, args: &mut AnyArguments) -> Result<String, BoxDynError> {
        let mut conditions = Vec::new();
        if let Some(id) = self.patient_id {
            args.add(id)?;
            conditions.push(format!("patient_id = ${}", args.len()));
        }
        if let Some(id) = self.doctor_id {
            args.add(id)?;
            conditions.push(format!("doctor_id = ${}", args.len()));
        }
        if let Some(status) = self.status {
            args.add(status.as_str())?;
            conditions.push(format!("status = ${}", args.len()));
        }
        if let Some(from) = self.from {
            args.add(to_millis(from))?;
            conditions.push(format!("start_at >= ${}", args.len()));
        }
        if let Some(to) = self.to {
            args.add(to_millis(to))?;
            conditions.push(format!("start_at < ${}", args.len()));
        }
        Ok(where_all(&conditions))
    }
}

impl AppointmentStore {
    pub async fn find(&self, id: i64) -> platform::Result<Option<Appointment>> {
        let row: Option<AppointmentRow> = sqlx::query_as(
            "SELECT id, patient_id, doctor_id, start_at, end_at, description, service_type, \
             status, cancellation_reason, rejection_reason, late_cancellation, created_at, \
             updated_at FROM appointments WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.db.pool())
        .await?;
        Ok(row.map(AppointmentRow::into_appointment))
    }

    /// A page of appointments in start order, with the total count of the filter.
    pub async fn list(
        &self,
        filter: &ListFilter,
        page: PageRequest,
    ) -> platform::Result<(Vec<Appointment>, i64)> {
        let (rows, total): (Vec<AppointmentRow>, i64) = fetch_page(
            &self.db,
            (
                "appointments",
                "id, patient_id, doctor_id, start_at, end_at, description, service_type, status, \
                 cancellation_reason, rejection_reason, late_cancellation, created_at, updated_at",
                "start_at, id",
            ),
            &|args| filter.where_clause(args),
            page,
        )
        .await?;
        Ok((
            rows.into_iter()
                .map(AppointmentRow::into_appointment)
                .collect(),
            total,
        ))
    }

    /// Every patient the doctor has an appointment with, in any status.
    pub async fn patient_ids_of_doctor(&self, doctor_id: i64) -> platform::Result<Vec<i64>> {
        let rows: Vec<(i64,)> = sqlx::query_as(
            "SELECT DISTINCT patient_id FROM appointments WHERE doctor_id = $1 ORDER BY patient_id",
        )
        .bind(doctor_id)
        .fetch_all(self.db.pool())
        .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// Intervals of the doctor's active appointments that overlap `[from, to)`.
    pub async fn busy(
        &self,
        doctor_id: i64,
        from: Timestamp,
        to: Timestamp,
    ) -> platform::Result<Vec<Slot>> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT start_at, end_at FROM appointments \
             WHERE doctor_id = $1 AND status IN ('REQUESTED', 'APPROVED') \
               AND start_at > $2 AND start_at < $3 AND end_at > $4 \
             ORDER BY start_at",
        )
        .bind(doctor_id)
        .bind(to_millis(from) - MAX_DURATION_MS)
        .bind(to_millis(to))
        .bind(to_millis(from))
        .fetch_all(self.db.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(start, end)| Slot {
                start: from_millis(start),
                end: from_millis(end),
            })
            .collect())
    }
}
