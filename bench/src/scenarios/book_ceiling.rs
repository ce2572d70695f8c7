//! The book ceiling: every SQL statement one booking makes the services run, in the same
//! order and transactions, sent by this program straight to the same databases through pools
//! opened the way the services open theirs, with as many bookings in flight as the HTTP run.
//! What is left out is everything that is not the database: HTTP, JSON, tokens, the gateway
//! and the calls between services. The statements mirror (and must follow) these stores:
//!
//! - patients: `PatientStore::exists` (no personal data, not audited). The appointment
//!   service asks only about patients it has not seen in the last 30 s, and so does this.
//! - doctors: `DoctorStore::calendar` (doctor, working hours and time off in one statement),
//!   concurrently with the patient check as the appointment service does.
//! - appointments: `AppointmentStore::insert_if_free`: one write transaction (`BEGIN
//!   IMMEDIATE` on SQLite; on PostgreSQL the per-patient advisory lock in the same round trip
//!   as `BEGIN`), the insert (returning the count of the patient's other active appointments),
//!   its outbox event and its audit row, run through `Db::write` as the store runs it.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use contracts::appointments::AppointmentStatus;
use contracts::events::types;
use jiff::Timestamp;
use platform::db::Db;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, FromRow, Row};

use super::Ctx;
use crate::calendar::{Booking, SLOT_MS};
use crate::load::{self, OpFuture, Stats};
use crate::seed::Databases;

/// The admin's user id (the first account of a fresh identity database), the audit actor.
pub(super) const ACTOR_ID: i64 = 1;

/// The columns of `appointments`, as `insert_if_free` returns them and `find` reads them.
pub(super) type AppointmentColumns = (
    i64,
    i64,
    i64,
    i64,
    i64,
    String,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    Option<i64>,
    i64,
    i64,
);

pub async fn run(ctx: &Ctx) -> anyhow::Result<Stats> {
    let dbs = Arc::new(Databases::open(&ctx.system).await?);
    let seen = Arc::new(Mutex::new(HashSet::new()));
    let allocator = ctx.allocator.clone();
    let op = {
        let dbs = dbs.clone();
        move |_| -> OpFuture {
            let (dbs, seen, booking) = (dbs.clone(), seen.clone(), allocator.next());
            Box::pin(async move { book_directly(&dbs, &seen, booking).await })
        }
    };
    let budget = ctx.budget;
    let stats = load::max_throughput(budget.concurrency, budget.warmup, budget.measure, op).await;
    dbs.close().await;
    stats
}

async fn book_directly(
    dbs: &Databases,
    seen: &Mutex<HashSet<i64>>,
    booking: Booking,
) -> anyhow::Result<()> {
    let request_id = uuid::Uuid::new_v4().to_string();
    let unseen = seen
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .insert(booking.patient_id);
    let patient = async {
        if unseen {
            patient_exists(&dbs.patients, booking.patient_id).await
        } else {
            Ok(())
        }
    };
    let window = (booking.start_ms, booking.start_ms + SLOT_MS);
    let doctor = availability(&dbs.doctors, booking.doctor_id, window);
    let (patient, doctor) = tokio::join!(patient, doctor);
    patient?;
    doctor?;
    let db = dbs.appointments.clone();
    let insert = async move { insert(&db, &booking, &request_id).await };
    dbs.appointments.write(insert).await
}

async fn patient_exists(db: &Db, id: i64) -> anyhow::Result<()> {
    let row: Option<(i64,)> =
        sqlx::query_as("SELECT id FROM patients WHERE id = $1 AND erased_at IS NULL")
            .bind(id)
            .fetch_optional(db.pool())
            .await?;
    row.context("no such patient")?;
    Ok(())
}

/// `DoctorStore::calendar` over `from..to` (epoch ms): the doctor, hours and time off in one query.
pub(super) async fn availability(db: &Db, id: i64, (from, to): (i64, i64)) -> anyhow::Result<()> {
    let window = contracts::doctors::Slot {
        start: Timestamp::from_millisecond(from)?,
        end: Timestamp::from_millisecond(to)?,
    };
    let calendar = doctors::DoctorStore::new(db.clone())
        .calendar(id, window)
        .await?;
    calendar.context("no such doctor")?;
    Ok(())
}

async fn insert(db: &Db, booking: &Booking, request_id: &str) -> anyhow::Result<()> {
    let mut tx = db.begin_serialised(booking.patient_id).await?;
    let row = insert_row(&mut tx, booking, Counting::Yes).await?;
    let _active: i64 = row.try_get(13)?;
    event_and_audit(&mut tx, booking, &row, request_id).await?;
    tx.commit().await?;
    Ok(())
}

/// Whether the insert also returns the count of the patient's other active future
/// appointments, as the store's does for the active limit.
#[derive(Clone, Copy)]
enum Counting {
    Yes,
    No,
}

/// The rows of one booking inside its transaction: the appointment, its `AppointmentRequested`
/// event and its audit row (`AuditLog::record_in`).
pub(super) async fn write_rows(
    conn: &mut AnyConnection,
    booking: &Booking,
    request_id: &str,
) -> anyhow::Result<()> {
    let row = insert_row(conn, booking, Counting::No).await?;
    event_and_audit(conn, booking, &row, request_id).await
}

/// The appointment's insert, returning its columns as `insert_if_free` decodes them.
async fn insert_row(
    conn: &mut AnyConnection,
    booking: &Booking,
    counting: Counting,
) -> anyhow::Result<AnyRow> {
    let active = match counting {
        Counting::Yes => {
            ", (SELECT COUNT(*) FROM appointments AS other \
             WHERE other.patient_id = appointments.patient_id AND other.id <> appointments.id \
             AND other.status IN ('REQUESTED', 'APPROVED') \
             AND other.start_at > appointments.created_at) AS active_before"
        }
        Counting::No => "",
    };
    let sql = format!(
        "INSERT INTO appointments (patient_id, doctor_id, start_at, end_at, description, \
         service_type, status, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
         RETURNING id, patient_id, doctor_id, start_at, end_at, description, service_type, \
         status, cancellation_reason, rejection_reason, late_cancellation, created_at, \
         updated_at{active}"
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(booking.patient_id)
        .bind(booking.doctor_id)
        .bind(booking.start_ms)
        .bind(booking.start_ms + SLOT_MS)
        .bind("benchmark visit")
        .bind(None::<String>)
        .bind(AppointmentStatus::Requested.as_str())
        .bind(Timestamp::now().as_millisecond())
        .fetch_one(&mut *conn)
        .await?;
    Ok(row)
}

/// The booking's `AppointmentRequested` event and audit row.
async fn event_and_audit(
    conn: &mut AnyConnection,
    booking: &Booking,
    row: &AnyRow,
    request_id: &str,
) -> anyhow::Result<()> {
    let row = AppointmentColumns::from_row(row)?;
    let id = row.0;
    // `AppointmentChanged::of` the new row, field for field.
    let changed = serde_json::json!({
        "appointmentId": id,
        "patientId": booking.patient_id,
        "doctorId": booking.doctor_id,
        "start": Timestamp::from_millisecond(row.3)?,
        "end": Timestamp::from_millisecond(row.4)?,
        "status": AppointmentStatus::Requested,
        "version": row.12,
    });
    let source = platform::config::Service::Appointments.name();
    platform::outbox::append(conn, source, types::APPOINTMENT_REQUESTED, id, &changed).await?;
    sqlx::query(
        "INSERT INTO audit_log (at, service, actor_id, actor_role, patient_id, action, \
         resource, outcome, endpoint, request_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(Timestamp::now().as_millisecond())
    .bind(source)
    .bind(ACTOR_ID)
    .bind("ADMIN")
    .bind(booking.patient_id)
    .bind("CREATE")
    .bind(format!("appointment/{id}"))
    .bind("SUCCESS")
    .bind("POST /api/appointments")
    .bind(request_id)
    .execute(conn)
    .await?;
    Ok(())
}
