//! Bulk data, written straight into the services' databases through their real schema (the
//! API would take minutes for 100 k patients; the point here is the data, not its entry path).
//! The SQL is portable like the services' own: one statement per table, numbers from a
//! recursive CTE, so it runs unchanged on SQLite and PostgreSQL.

use std::time::{Duration, Instant};

use anyhow::Context;
use jiff::Timestamp;
use platform::config::Service;
use platform::db::{Backend, Db};
use sqlx::AssertSqlSafe;

use crate::calendar::{
    DAY_MS, DOCTORS, PATIENTS, SCALE_FIRST_WEEK, SCALE_SLOTS_PER_DOCTOR, SLOT_MS, WEEK_MS,
    week_start_ms,
};
use crate::system::System;

/// `n(i)` counts from `$1` to `$2`.
const NUMBERS: &str =
    "WITH RECURSIVE n(i) AS (SELECT CAST($1 AS BIGINT) UNION ALL SELECT i + 1 FROM n WHERE i < $2)";

/// Pools on the databases the booking path touches, opened like the services open theirs
/// (same pool sizes and SQLite pragmas).
pub struct Databases {
    pub patients: Db,
    pub doctors: Db,
    pub appointments: Db,
}

impl Databases {
    pub async fn open(system: &System) -> anyhow::Result<Self> {
        let open = |service: Service| Db::connect(&system.database_urls[&service]);
        Ok(Self {
            patients: open(Service::Patients).await?,
            doctors: open(Service::Doctors).await?,
            appointments: open(Service::Appointments).await?,
        })
    }

    pub async fn close(&self) {
        self.patients.close().await;
        self.doctors.close().await;
        self.appointments.close().await;
    }
}

/// Seeds `DOCTORS` doctors (each with a Monday–Friday 09:00–17:00 schedule) and `PATIENTS`
/// patients, with ids `1..=N`.
pub async fn directory(dbs: &Databases) -> anyhow::Result<Duration> {
    let began = Instant::now();
    let now = Timestamp::now().as_millisecond();
    let doctors = format!(
        "{NUMBERS} INSERT INTO doctors (name, email, phone, speciality, gender, available, \
         slot_minutes, timezone, auto_approve, has_schedule, created_at, updated_at) \
         SELECT 'Dr. Bench ' || i, 'doctor' || i || '@bench.carebook.example', '+442079460100', \
         CASE i % 3 WHEN 0 THEN 'General Practice' WHEN 1 THEN 'Cardiology' ELSE 'Dermatology' END, \
         NULL, 1, 30, NULL, 0, 1, $3, $3 FROM n"
    );
    sqlx::query(AssertSqlSafe(doctors))
        .bind(1_i64)
        .bind(DOCTORS as i64)
        .bind(now)
        .execute(dbs.doctors.pool())
        .await
        .context("seeding doctors")?;
    for weekday in 1..=5_i64 {
        sqlx::query(
            "INSERT INTO doctor_working_hours (doctor_id, weekday, start_minute, end_minute) \
             SELECT id, $1, 540, 1020 FROM doctors",
        )
        .bind(weekday)
        .execute(dbs.doctors.pool())
        .await
        .context("seeding working hours")?;
    }
    let patients = format!(
        "{NUMBERS} INSERT INTO patients (name, email, phone, dob, address, medical_history, \
         registration_date, updated_at) \
         SELECT 'Bench Patient ' || i, 'patient' || i || '@bench.carebook.example', \
         '+442079460200', '1980-01-15', '1 Bench Street, Sampletown', NULL, $3, $3 FROM n"
    );
    sqlx::query(AssertSqlSafe(patients))
        .bind(1_i64)
        .bind(PATIENTS as i64)
        .bind(now)
        .execute(dbs.patients.pool())
        .await
        .context("seeding patients")?;
    expect_ids(&dbs.doctors, "doctors", DOCTORS).await?;
    expect_ids(&dbs.patients, "patients", PATIENTS).await?;
    analyze(&dbs.doctors).await?;
    analyze(&dbs.patients).await?;
    Ok(began.elapsed())
}

/// The bookings address doctors and patients by id: they must be exactly `1..=count`.
async fn expect_ids(db: &Db, table: &str, count: u64) -> anyhow::Result<()> {
    let sql = format!("SELECT MIN(id), MAX(id), COUNT(*) FROM {table}");
    let (min, max, n): (i64, i64, i64) = sqlx::query_as(AssertSqlSafe(sql))
        .fetch_one(db.pool())
        .await?;
    anyhow::ensure!(
        (min, max, n) == (1, count as i64, count as i64),
        "{table} ids are {min}..={max} ({n} rows); the bench needs a fresh database"
    );
    Ok(())
}

/// PostgreSQL's autovacuum would gather statistics after a bulk load within a minute; do it
/// now so the plans do not depend on when it happens to run. SQLite has nothing that would.
pub async fn analyze(db: &Db) -> anyhow::Result<()> {
    if db.backend() == Backend::Postgres {
        sqlx::query("ANALYZE").execute(db.pool()).await?;
    }
    Ok(())
}

/// Adds the scale data's appointments number `from..to`. Appointment `i` is doctor
/// `i % DOCTORS`'s `k = i / DOCTORS`-th, in slot `k * 389 mod 2000` of the 25 scale weeks
/// (389 is prime to 2000, so one doctor's slots never repeat and every prefix of the data is
/// spread over all 25 weeks), with patient `i % PATIENTS`: appointments sharing a slot have
/// distinct patients. Past ones are completed (some no-shows), a tenth are cancelled, the
/// future ones requested or approved.
pub async fn scale_appointments(dbs: &Databases, from: u64, to: u64) -> anyhow::Result<()> {
    const CHUNK: u64 = 100_000;
    let region = week_start_ms(SCALE_FIRST_WEEK)?;
    let now = Timestamp::now().as_millisecond();
    // Only our own integer constants are formatted in; the rest are bound.
    let sql = format!(
        "{NUMBERS}, \
         a AS (SELECT i, i % {DOCTORS} AS d, (i / {DOCTORS}) * 389 % {SCALE_SLOTS_PER_DOCTOR} AS p FROM n), \
         t AS (SELECT i, d, $3 + (p / 80) * {WEEK_MS} + ((p % 80) / 16) * {DAY_MS} \
               + 32400000 + (p % 16) * {SLOT_MS} AS s FROM a) \
         INSERT INTO appointments (patient_id, doctor_id, start_at, end_at, description, \
         service_type, status, created_at, updated_at) \
         SELECT i % {PATIENTS} + 1, d + 1, s, s + {SLOT_MS}, 'bench visit', NULL, \
         CASE WHEN i % 10 = 0 THEN 'CANCELLED' \
              WHEN s < $4 THEN (CASE WHEN i % 10 = 1 THEN 'NO_SHOW' ELSE 'COMPLETED' END) \
              WHEN i % 10 < 5 THEN 'REQUESTED' ELSE 'APPROVED' END, \
         $4, $4 FROM t"
    );
    let mut start = from;
    while start < to {
        let end = (start + CHUNK).min(to);
        sqlx::query(AssertSqlSafe(sql.clone()))
            .bind(start as i64)
            .bind(end as i64 - 1)
            .bind(region)
            .bind(now)
            .execute(dbs.appointments.pool())
            .await
            .with_context(|| format!("inserting scale appointments {start}..{end}"))?;
        start = end;
    }
    analyze(&dbs.appointments).await
}
