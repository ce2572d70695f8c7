//! Events into read models, inside the consumer's transaction. Every fact keeps its newest
//! applied version and what it contributes to the counters: a newer version moves the counts
//! (the old contribution out, the new one in), an older one is ignored, and the same state
//! applied twice adds nothing. So the figures do not depend on the order or the number of
//! deliveries, which also makes a replay of the whole history safe beside live consumers.

use contracts::appointments::AppointmentStatus;
use contracts::billing::PaymentStatus;
use contracts::events::{AppointmentChanged, DoctorChanged, InvoiceChanged};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use sqlx::AnyConnection;

use crate::store::locked;

/// The clinic-local day of an instant, as the tables store it.
pub fn day_of(at: Timestamp, zone: &TimeZone) -> String {
    at.to_zoned(zone.clone()).date().to_string()
}

/// Where one appointment counts: its day, doctor, status, and whether it was cancelled late.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Slot {
    day: String,
    doctor_id: i64,
    status: String,
    late: i64,
}

impl Slot {
    fn of(changed: &AppointmentChanged, zone: &TimeZone) -> Self {
        let late = changed.status == AppointmentStatus::Cancelled
            && changed.late_cancellation == Some(true);
        Self {
            day: day_of(changed.start, zone),
            doctor_id: changed.doctor_id,
            status: changed.status.as_str().to_owned(),
            late: i64::from(late),
        }
    }
}

/// Applies an appointment's state unless a newer one of it was applied already.
pub async fn apply_appointment(
    conn: &mut AnyConnection,
    changed: &AppointmentChanged,
    zone: &TimeZone,
) -> anyhow::Result<()> {
    let new = Slot::of(changed, zone);
    let inserted = sqlx::query(
        "INSERT INTO appointment_facts (appointment_id, version, day, doctor_id, status, late) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (appointment_id) DO NOTHING",
    )
    .bind(changed.appointment_id)
    .bind(changed.version)
    .bind(&new.day)
    .bind(new.doctor_id)
    .bind(&new.status)
    .bind(new.late)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 1 {
        return count_appointment(conn, &new, 1).await;
    }
    let sql = locked(
        conn,
        "SELECT version, day, doctor_id, status, late FROM appointment_facts \
         WHERE appointment_id = $1",
    );
    let (version, day, doctor_id, status, late): (i64, String, i64, String, i64) =
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(changed.appointment_id)
            .fetch_one(&mut *conn)
            .await?;
    let old = Slot {
        day,
        doctor_id,
        status,
        late,
    };
    if version > changed.version || old == new {
        return Ok(());
    }
    sqlx::query(
        "UPDATE appointment_facts SET version = $1, day = $2, doctor_id = $3, status = $4, \
         late = $5 WHERE appointment_id = $6",
    )
    .bind(changed.version)
    .bind(&new.day)
    .bind(new.doctor_id)
    .bind(&new.status)
    .bind(new.late)
    .bind(changed.appointment_id)
    .execute(&mut *conn)
    .await?;
    // Counter rows are always touched in one order, so two consumers cannot deadlock on them.
    let mut moves = [(old, -1), (new, 1)];
    moves.sort();
    for (slot, delta) in &moves {
        count_appointment(conn, slot, *delta).await?;
    }
    Ok(())
}

async fn count_appointment(
    conn: &mut AnyConnection,
    slot: &Slot,
    delta: i64,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO appointment_counts (day, doctor_id, status, late, n) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (day, doctor_id, status, late) \
         DO UPDATE SET n = appointment_counts.n + excluded.n",
    )
    .bind(&slot.day)
    .bind(slot.doctor_id)
    .bind(&slot.status)
    .bind(slot.late)
    .bind(delta)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO daily_appointment_counts (day, status, late, n) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (day, status, late) DO UPDATE SET n = daily_appointment_counts.n + excluded.n",
    )
    .bind(&slot.day)
    .bind(&slot.status)
    .bind(slot.late)
    .bind(delta)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// What one invoice adds to revenue: its amount on the day it was created unless void, and on
/// the day it was paid once paid.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Takings {
    invoiced_day: String,
    invoiced: i64,
    paid_day: Option<String>,
    paid: i64,
}

impl Takings {
    fn of(changed: &InvoiceChanged, occurred_at: Timestamp, zone: &TimeZone) -> Self {
        let invoiced = match changed.payment_status {
            PaymentStatus::Void => 0,
            PaymentStatus::Pending | PaymentStatus::Paid => changed.amount,
        };
        let paid_day = (changed.payment_status == PaymentStatus::Paid)
            .then(|| day_of(changed.paid_at.unwrap_or(occurred_at), zone));
        Self {
            invoiced_day: day_of(changed.created_at.unwrap_or(occurred_at), zone),
            invoiced,
            paid: if paid_day.is_some() {
                changed.amount
            } else {
                0
            },
            paid_day,
        }
    }

    /// `(day, invoiced, paid)` rows to add, times `sign`.
    fn rows(&self, sign: i64) -> Vec<(String, i64, i64)> {
        let mut rows = vec![(self.invoiced_day.clone(), sign * self.invoiced, 0)];
        if let Some(day) = &self.paid_day {
            rows.push((day.clone(), 0, sign * self.paid));
        }
        rows
    }
}

/// Applies an invoice's state unless a newer one of it was applied already.
pub async fn apply_invoice(
    conn: &mut AnyConnection,
    changed: &InvoiceChanged,
    occurred_at: Timestamp,
    zone: &TimeZone,
) -> anyhow::Result<()> {
    let new = Takings::of(changed, occurred_at, zone);
    let inserted = sqlx::query(
        "INSERT INTO invoice_facts (invoice_id, version, invoiced_day, invoiced, paid_day, paid) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (invoice_id) DO NOTHING",
    )
    .bind(changed.invoice_id)
    .bind(changed.version)
    .bind(&new.invoiced_day)
    .bind(new.invoiced)
    .bind(new.paid_day.as_deref())
    .bind(new.paid)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    let mut moves = new.rows(1);
    if inserted == 0 {
        let sql = locked(
            conn,
            "SELECT version, invoiced_day, invoiced, paid_day, paid FROM invoice_facts \
             WHERE invoice_id = $1",
        );
        let (version, invoiced_day, invoiced, paid_day, paid): (
            i64,
            String,
            i64,
            Option<String>,
            i64,
        ) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(changed.invoice_id)
            .fetch_one(&mut *conn)
            .await?;
        let old = Takings {
            invoiced_day,
            invoiced,
            paid_day,
            paid,
        };
        if version > changed.version || old == new {
            return Ok(());
        }
        sqlx::query(
            "UPDATE invoice_facts SET version = $1, invoiced_day = $2, invoiced = $3, \
             paid_day = $4, paid = $5 WHERE invoice_id = $6",
        )
        .bind(changed.version)
        .bind(&new.invoiced_day)
        .bind(new.invoiced)
        .bind(new.paid_day.as_deref())
        .bind(new.paid)
        .bind(changed.invoice_id)
        .execute(&mut *conn)
        .await?;
        moves.extend(old.rows(-1));
    }
    moves.sort();
    for (day, invoiced, paid) in moves {
        sqlx::query(
            "INSERT INTO daily_revenue (day, invoiced, paid) VALUES ($1, $2, $3) \
             ON CONFLICT (day) DO UPDATE SET invoiced = daily_revenue.invoiced + excluded.invoiced, \
             paid = daily_revenue.paid + excluded.paid",
        )
        .bind(day)
        .bind(invoiced)
        .bind(paid)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Keeps the doctor's speciality from the newest event that carries one.
pub async fn apply_doctor(conn: &mut AnyConnection, changed: &DoctorChanged) -> anyhow::Result<()> {
    let Some(speciality) = changed.speciality.as_deref() else {
        return Ok(());
    };
    sqlx::query(
        "INSERT INTO doctor_specialities (doctor_id, speciality, version) VALUES ($1, $2, $3) \
         ON CONFLICT (doctor_id) DO UPDATE SET speciality = excluded.speciality, \
         version = excluded.version WHERE doctor_specialities.version <= excluded.version",
    )
    .bind(changed.doctor_id)
    .bind(speciality.trim())
    .bind(changed.version)
    .execute(conn)
    .await?;
    Ok(())
}

/// What is counted once per entity, on the day it happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Once {
    PatientRegistered,
    RecordAdded,
}

impl Once {
    pub fn kind(self) -> &'static str {
        match self {
            Self::PatientRegistered => "patient",
            Self::RecordAdded => "record",
        }
    }
}

/// Counts `entity_id` of `once` on `day` unless it was counted already.
pub async fn count_once(
    conn: &mut AnyConnection,
    once: Once,
    entity_id: i64,
    day: &str,
) -> anyhow::Result<()> {
    let inserted = sqlx::query(
        "INSERT INTO counted_once (kind, entity_id, day) VALUES ($1, $2, $3) \
         ON CONFLICT (kind, entity_id) DO NOTHING",
    )
    .bind(once.kind())
    .bind(entity_id)
    .bind(day)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 1 {
        sqlx::query(
            "INSERT INTO daily_counts (day, kind, n) VALUES ($1, $2, 1) \
             ON CONFLICT (day, kind) DO UPDATE SET n = daily_counts.n + 1",
        )
        .bind(day)
        .bind(once.kind())
        .execute(conn)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_the_clinics() {
        let late_evening: Timestamp = "2026-12-15T03:30:00Z".parse().unwrap();
        let new_york = jiff::tz::TimeZone::get("America/New_York").unwrap();
        assert_eq!(day_of(late_evening, &new_york), "2026-12-14");
        assert_eq!(day_of(late_evening, &TimeZone::UTC), "2026-12-15");
    }
}
