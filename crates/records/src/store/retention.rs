//! Erased patients' records: kept for the retention period, then removed.

use sqlx::AnyConnection;

use super::RecordStore;

/// Notes the patient as erased and ends every care relationship with them (no doctor reads
/// the kept records any more; ADMIN still may), inside the erasure's transaction.
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
    sqlx::query("DELETE FROM care_relationships WHERE patient_id = $1")
        .bind(patient_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

impl RecordStore {
    /// Records of erased patients written before `cutoff_ms`: `(id, file object)`.
    pub async fn past_retention(
        &self,
        cutoff_ms: i64,
    ) -> platform::Result<Vec<(i64, Option<String>)>> {
        Ok(sqlx::query_as(
            "SELECT id, file_object FROM medical_records \
             WHERE created_at < $1 AND patient_id IN (SELECT patient_id FROM erased_patients) \
             ORDER BY id",
        )
        .bind(cutoff_ms)
        .fetch_all(self.db.pool())
        .await?)
    }

    pub async fn delete_record(&self, id: i64) -> platform::Result<()> {
        let write = sqlx::query("DELETE FROM medical_records WHERE id = $1").bind(id);
        self.db.execute_write(write).await?;
        Ok(())
    }

    pub fn db(&self) -> &platform::db::Db {
        &self.db
    }
}
