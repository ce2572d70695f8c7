use contracts::appointments::{Appointment, AppointmentStatus};
use contracts::doctors::Slot;
use jiff::Timestamp;
use platform::db::{fetch_page, where_all};
use platform::page::PageRequest;
use platform::time::{to_millis, try_from_millis};
use platform::values::MAX_VISIT_MINUTES;
use sqlx::Arguments;
use sqlx::any::AnyArguments;
use sqlx::error::BoxDynError;

use super::{AppointmentRow, AppointmentStore, COLUMNS};
use crate::policy::{MayListPatientsOf, Scoped, Sealed};

/// Longest visit: lets overlap queries scan a bounded range of the start index.
const MAX_DURATION_MS: i64 = MAX_VISIT_MINUTES as i64 * 60_000;

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
    /// The appointment, sealed until the policy says who may see it.
    pub async fn find(&self, id: i64) -> platform::Result<Option<Sealed>> {
        let sql = format!("SELECT {COLUMNS} FROM appointments WHERE id = $1");
        let row: Option<AppointmentRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?;
        row.map(|row| Appointment::try_from(row).map(Sealed::new))
            .transpose()
    }

    /// A page of the appointments the caller may see, in start order, with the total count.
    pub async fn list(
        &self,
        scoped: &Scoped,
        page: PageRequest,
    ) -> platform::Result<(Vec<Appointment>, i64)> {
        let filter = scoped.filter();
        let (rows, total): (Vec<AppointmentRow>, i64) = fetch_page(
            &self.db,
            ("appointments", COLUMNS, "start_at, id"),
            &|args| filter.where_clause(args),
            page,
        )
        .await?;
        let items = rows
            .into_iter()
            .map(Appointment::try_from)
            .collect::<platform::Result<_>>()?;
        Ok((items, total))
    }

    /// The patients the doctor has a care relationship with (API.md): an appointment together
    /// that is `APPROVED` or `COMPLETED`. `only` narrows the answer to one patient.
    pub async fn patient_ids_of_doctor(
        &self,
        doctor: MayListPatientsOf,
        only: Option<i64>,
    ) -> platform::Result<Vec<i64>> {
        let rows: Vec<(i64,)> = sqlx::query_as(
            "SELECT DISTINCT patient_id FROM appointments \
             WHERE doctor_id = $1 AND status IN ('APPROVED', 'COMPLETED') \
               AND ($2 IS NULL OR patient_id = $2) \
             ORDER BY patient_id",
        )
        .bind(doctor.doctor_id())
        .bind(only)
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
        let instant = |ms| {
            try_from_millis(ms).map_err(|e| platform::ApiError::Internal(anyhow::Error::msg(e)))
        };
        rows.into_iter()
            .map(|(start, end)| {
                Ok(Slot {
                    start: instant(start)?,
                    end: instant(end)?,
                })
            })
            .collect()
    }
}
