//! Erased patients' invoices: kept for the retention period, then removed.

use sqlx::AnyConnection;

use super::InvoiceStore;

/// Notes the patient as erased, inside the erasure's transaction.
pub async fn record_erasure(
    conn: &mut AnyConnection,
    patient_id: i64,
    at_ms: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO erased_patients (patient_id, erased_at) VALUES ($1, $2) \
         ON CONFLICT (patient_id) DO NOTHING",
    )
    .bind(patient_id)
    .bind(at_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl InvoiceStore {
    /// Removes the invoices of erased patients created before `cutoff_ms`, with what billing
    /// remembers of their appointments; how many invoices went.
    pub async fn remove_past_retention(&self, cutoff_ms: i64) -> platform::Result<u64> {
        let mut tx = self.db.begin().await?;
        let due = "SELECT appointment_id FROM invoices WHERE created_at < $1 \
                   AND patient_id IN (SELECT patient_id FROM erased_patients)";
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM appointment_versions WHERE appointment_id IN ({due})"
        )))
        .bind(cutoff_ms)
        .execute(&mut *tx)
        .await?;
        let removed = sqlx::query(
            "DELETE FROM invoices WHERE created_at < $1 \
             AND patient_id IN (SELECT patient_id FROM erased_patients)",
        )
        .bind(cutoff_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        if removed > 0 {
            self.db.scrub_erased().await;
        }
        Ok(removed)
    }

    /// Every invoice of the patient, oldest first: their part of the patient's export.
    pub async fn of_patient(
        &self,
        patient_id: i64,
    ) -> platform::Result<Vec<contracts::billing::Invoice>> {
        let sql = format!(
            "SELECT {} FROM invoices WHERE patient_id = $1 ORDER BY id",
            super::COLUMNS
        );
        let rows: Vec<super::InvoiceRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(patient_id)
            .fetch_all(self.db.pool())
            .await?;
        rows.into_iter().map(super::decode).collect()
    }
}
