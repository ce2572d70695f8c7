//! Bulk read-model data for the benchmark: synthetic per-appointment rows written with SQL,
//! then every counter recounted from them, which is what the events would have built.

use jiff::ToSpan;
use jiff::civil::Date;
use platform::db::Db;
use sqlx::AssertSqlSafe;

/// Rows written per statement.
const CHUNK: i64 = 50_000;

/// Appointments `first..first + count`: spread over `days` days from `start` and over
/// `doctors` doctors, in every status (a share of the cancellations late).
pub async fn seed_appointments(
    db: &Db,
    first: i64,
    count: i64,
    (start, days): (Date, i64),
    doctors: i64,
) -> anyhow::Result<()> {
    // The days as a values list the insert joins on, so the SQL is the same on both backends.
    let mut values = Vec::new();
    for k in 0..days {
        let day = start.checked_add(k.days())?;
        values.push(format!("({k}, '{day}')"));
    }
    let sql = format!(
        "WITH RECURSIVE n(i) AS (SELECT CAST($1 AS BIGINT) UNION ALL \
         SELECT i + 1 FROM n WHERE i < $2), \
         days(k, day) AS (VALUES {}) \
         INSERT INTO appointment_facts (appointment_id, version, day, doctor_id, status, late) \
         SELECT i, 1, days.day, i % $3 + 1, \
           CASE i % 6 WHEN 0 THEN 'REQUESTED' WHEN 1 THEN 'APPROVED' WHEN 2 THEN 'REJECTED' \
             WHEN 3 THEN 'CANCELLED' WHEN 4 THEN 'COMPLETED' ELSE 'NO_SHOW' END, \
           CASE WHEN i % 6 = 3 AND i % 4 = 3 THEN 1 ELSE 0 END \
         FROM n JOIN days ON days.k = i % {days}",
        values.join(", ")
    );
    let mut from = first;
    while from < first + count {
        let to = (from + CHUNK).min(first + count) - 1;
        sqlx::query(AssertSqlSafe(sql.clone()))
            .bind(from)
            .bind(to)
            .bind(doctors)
            .execute(db.pool())
            .await?;
        from = to + 1;
    }
    recount(db).await
}

/// Every appointment counter recounted from the per-appointment rows.
pub async fn recount(db: &Db) -> anyhow::Result<()> {
    let mut tx = db.begin().await?;
    for sql in [
        "DELETE FROM appointment_counts",
        "DELETE FROM daily_appointment_counts",
        "INSERT INTO appointment_counts (day, doctor_id, status, late, n) \
         SELECT day, doctor_id, status, late, COUNT(*) FROM appointment_facts \
         GROUP BY day, doctor_id, status, late",
        "INSERT INTO daily_appointment_counts (day, status, late, n) \
         SELECT day, status, late, COUNT(*) FROM appointment_facts GROUP BY day, status, late",
    ] {
        sqlx::query(sql).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}
