//! The book ceiling: every SQL statement one booking makes the services run, in the same
//! order and transactions, sent by this program straight to the same databases through pools
//! opened the way the services open theirs, with as many bookings in flight as the HTTP run.
//! What is left out is everything that is not the database: HTTP, JSON, tokens, the gateway
//! and the calls between services. The statements mirror (and must follow) these stores:
//!
//! - patients: `PatientStore::find` and the audit row of that read. The appointment service
//!   asks only about patients it has not seen in the last 30 s, and so does this ceiling.
//! - doctors: `DoctorStore::find`, `working_hours` (two queries on one connection) and
//!   `time_off_during`, concurrently with the patient check as the appointment service does.
//! - appointments: `AppointmentStore::insert_if_free` (insert and outbox event in one write
//!   transaction, `BEGIN IMMEDIATE` on SQLite), then the audit row of the booking.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use contracts::appointments::AppointmentStatus;
use contracts::events::types;
use jiff::Timestamp;
use platform::db::Db;

use super::Ctx;
use crate::calendar::{Booking, SLOT_MS};
use crate::load::{self, OpFuture, Stats};
use crate::seed::Databases;

/// The admin's user id (the first account of a fresh identity database), the audit actor.
pub(super) const ACTOR_ID: i64 = 1;

type Doctor = (
    i64,
    String,
    String,
    String,
    String,
    Option<String>,
    i64,
    i64,
    Option<String>,
    i64,
);
type Patient = (
    i64,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    i64,
);
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
            read_patient(&dbs.patients, booking.patient_id, &request_id).await
        } else {
            Ok(())
        }
    };
    let window = (booking.start_ms, booking.start_ms + SLOT_MS);
    let doctor = availability(&dbs.doctors, booking.doctor_id, window);
    let (patient, doctor) = tokio::join!(patient, doctor);
    patient?;
    doctor?;
    insert(&dbs.appointments, &booking, &request_id).await
}

async fn read_patient(db: &Db, id: i64, request_id: &str) -> anyhow::Result<()> {
    let patient: Option<Patient> = sqlx::query_as(
        "SELECT id, name, email, phone, dob, address, medical_history, registration_date \
         FROM patients WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    patient.context("no such patient")?;
    audit(
        db,
        "patients",
        Some(id),
        ("READ", &format!("patient/{id}")),
        ("GET /api/patients/{id}", request_id),
    )
    .await
}

/// `DoctorStore::find`, `working_hours` and `time_off_during` over `from..to` (epoch ms).
pub(super) async fn availability(db: &Db, id: i64, (from, to): (i64, i64)) -> anyhow::Result<()> {
    let doctor: Option<Doctor> = sqlx::query_as(
        "SELECT id, name, email, phone, speciality, gender, available, slot_minutes, \
         timezone, auto_approve FROM doctors WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    doctor.context("no such doctor")?;
    let mut conn = db.pool().acquire().await?;
    let flag: Option<(i64,)> = sqlx::query_as("SELECT has_schedule FROM doctors WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    if flag.is_some_and(|(flag,)| flag != 0) {
        let _hours: Vec<(i64, i64, i64)> = sqlx::query_as(
            "SELECT weekday, start_minute, end_minute FROM doctor_working_hours \
             WHERE doctor_id = $1 ORDER BY weekday, start_minute",
        )
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
    }
    drop(conn);
    let _time_off: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT starts_at, ends_at FROM doctor_time_off \
         WHERE doctor_id = $1 AND starts_at < $2 AND ends_at > $3 ORDER BY starts_at",
    )
    .bind(id)
    .bind(to)
    .bind(from)
    .fetch_all(db.pool())
    .await?;
    Ok(())
}

async fn insert(db: &Db, booking: &Booking, request_id: &str) -> anyhow::Result<()> {
    let now = Timestamp::now().as_millisecond();
    let mut tx = db.begin().await?;
    let row: AppointmentColumns = sqlx::query_as(
        "INSERT INTO appointments (patient_id, doctor_id, start_at, end_at, description, \
         service_type, status, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
         RETURNING id, patient_id, doctor_id, start_at, end_at, description, service_type, \
         status, cancellation_reason, rejection_reason, late_cancellation, created_at, \
         updated_at",
    )
    .bind(booking.patient_id)
    .bind(booking.doctor_id)
    .bind(booking.start_ms)
    .bind(booking.start_ms + SLOT_MS)
    .bind("benchmark visit")
    .bind(None::<String>)
    .bind(AppointmentStatus::Requested.as_str())
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
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
    platform::outbox::append(&mut tx, source, types::APPOINTMENT_REQUESTED, id, &changed).await?;
    tx.commit().await?;
    let resource = format!("appointment/{id}");
    audit(
        db,
        source,
        Some(booking.patient_id),
        ("CREATE", &resource),
        ("POST /api/appointments", request_id),
    )
    .await
}

/// `AuditLog::record`'s statement.
async fn audit(
    db: &Db,
    service: &str,
    patient_id: Option<i64>,
    (action, resource): (&str, &str),
    (endpoint, request_id): (&str, &str),
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (at, service, actor_id, actor_role, patient_id, action, \
         resource, outcome, endpoint, request_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(Timestamp::now().as_millisecond())
    .bind(service)
    .bind(ACTOR_ID)
    .bind("ADMIN")
    .bind(patient_id)
    .bind(action)
    .bind(resource)
    .bind("SUCCESS")
    .bind(endpoint)
    .bind(request_id)
    .execute(db.pool())
    .await?;
    Ok(())
}
