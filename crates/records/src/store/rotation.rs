//! What re-sealing under a new key needs: the records still under older keys, and updates that
//! only apply if nothing changed the row meanwhile.

use super::records::{COLUMNS, RecordRow, decode};
use super::{RecordStore, StoredRecord};

impl RecordStore {
    /// Up to `limit` records after `after` whose text or file is sealed under another key.
    pub async fn sealed_under_other_keys(
        &self,
        key_id: &str,
        after: i64,
        limit: i64,
    ) -> platform::Result<Vec<StoredRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM medical_records WHERE id > $1 \
             AND (key_id <> $2 OR (file_key_id IS NOT NULL AND file_key_id <> $2)) \
             ORDER BY id LIMIT $3"
        );
        let rows: Vec<RecordRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(after)
            .bind(key_id)
            .bind(limit)
            .fetch_all(self.db.pool())
            .await?;
        decode(rows)
    }

    /// Replaces the sealed text if it is still the one `old_nonce` names.
    pub async fn reseal_text(
        &self,
        id: i64,
        old_nonce: &[u8],
        (key_id, nonce, sealed): (&str, &[u8], &[u8]),
    ) -> platform::Result<bool> {
        let write = sqlx::query(
            "UPDATE medical_records SET key_id = $1, nonce = $2, sealed = $3 \
             WHERE id = $4 AND nonce = $5",
        )
        .bind(key_id)
        .bind(nonce)
        .bind(sealed)
        .bind(id)
        .bind(old_nonce);
        let done = self.db.execute_write(write).await?;
        Ok(done.rows_affected() == 1)
    }

    /// Points the record at its re-sealed file if it still points at `old_object`.
    pub async fn reseal_file(
        &self,
        id: i64,
        old_object: &str,
        (key_id, nonce_prefix, object): (&str, &[u8], &str),
    ) -> platform::Result<bool> {
        let write = sqlx::query(
            "UPDATE medical_records SET file_key_id = $1, file_nonce = $2, file_object = $3 \
             WHERE id = $4 AND file_object = $5",
        )
        .bind(key_id)
        .bind(nonce_prefix)
        .bind(object)
        .bind(id)
        .bind(old_object);
        let done = self.db.execute_write(write).await?;
        Ok(done.rows_affected() == 1)
    }
}
