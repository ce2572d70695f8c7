use contracts::events::{MedicalRecordAdded, types};
use contracts::records::RecordType;
use jiff::Timestamp;
use platform::audit::{Action, AuditContext, AuditLog};
use platform::db::fetch_page;
use platform::outbox;
use platform::page::PageRequest;
use platform::time::{from_millis, to_millis};
use sqlx::Arguments;

use super::RecordStore;
use crate::policy::{MayRead, MayWrite};

const SOURCE: &str = "records";
/// The one column list of `medical_records`, in [`RecordRow`]'s order.
pub(super) const COLUMNS: &str = "id, patient_id, doctor_id, record_type, created_at, key_id, nonce, sealed, \
     file_content_type, file_size, file_sha256, file_key_id, file_nonce, file_object";

/// A record as stored: ids and type in the clear, the text sealed.
#[derive(Debug, Clone)]
pub struct StoredRecord {
    pub id: i64,
    pub patient_id: i64,
    pub doctor_id: i64,
    pub record_type: RecordType,
    pub created_at: Timestamp,
    pub key_id: String,
    pub nonce: Vec<u8>,
    pub sealed: Vec<u8>,
    pub file: Option<StoredFile>,
}

/// Where a record's sealed attachment is and what it should turn out to be.
#[derive(Debug, Clone)]
pub struct StoredFile {
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub key_id: String,
    pub nonce_prefix: Vec<u8>,
    /// The object's path in the blob store.
    pub object: String,
}

/// What a new record row holds besides its ids.
#[derive(Debug, Clone)]
pub struct NewRow {
    pub id: i64,
    pub record_type: RecordType,
    pub key_id: String,
    pub nonce: Vec<u8>,
    pub sealed: Vec<u8>,
    pub file: Option<StoredFile>,
}

#[derive(sqlx::FromRow)]
pub(super) struct RecordRow {
    id: i64,
    patient_id: i64,
    doctor_id: i64,
    record_type: String,
    created_at: i64,
    key_id: String,
    nonce: Vec<u8>,
    sealed: Vec<u8>,
    file_content_type: Option<String>,
    file_size: Option<i64>,
    file_sha256: Option<String>,
    file_key_id: Option<String>,
    file_nonce: Option<Vec<u8>>,
    file_object: Option<String>,
}

impl TryFrom<RecordRow> for StoredRecord {
    type Error = anyhow::Error;

    fn try_from(row: RecordRow) -> anyhow::Result<Self> {
        let record_type = RecordType::parse(&row.record_type)
            .ok_or_else(|| anyhow::anyhow!("record {} has an unknown type", row.id))?;
        let file = match (
            row.file_content_type,
            row.file_size,
            row.file_sha256,
            row.file_key_id,
            row.file_nonce,
            row.file_object,
        ) {
            (None, None, None, None, None, None) => None,
            (
                Some(content_type),
                Some(size),
                Some(sha256),
                Some(key_id),
                Some(nonce),
                Some(object),
            ) => Some(StoredFile {
                content_type,
                size,
                sha256,
                key_id,
                nonce_prefix: nonce,
                object,
            }),
            _ => anyhow::bail!("record {} has an incomplete attachment", row.id),
        };
        Ok(Self {
            id: row.id,
            patient_id: row.patient_id,
            doctor_id: row.doctor_id,
            record_type,
            created_at: from_millis(row.created_at),
            key_id: row.key_id,
            nonce: row.nonce,
            sealed: row.sealed,
            file,
        })
    }
}

pub(super) fn decode(rows: Vec<RecordRow>) -> platform::Result<Vec<StoredRecord>> {
    rows.into_iter()
        .map(|row| StoredRecord::try_from(row).map_err(platform::ApiError::from))
        .collect()
}

impl RecordStore {
    /// A fresh record id, before the record exists (its attachment is sealed under it).
    pub async fn allocate_id(&self) -> platform::Result<i64> {
        let mut tx = self.db.begin().await?;
        let (id,): (i64,) =
            sqlx::query_as("INSERT INTO record_ids (allocated_at) VALUES ($1) RETURNING id")
                .bind(to_millis(Timestamp::now()))
                .fetch_one(&mut *tx)
                .await?;
        // Neither backend reuses an id, so the allocation row need not stay.
        sqlx::query("DELETE FROM record_ids WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Inserts the record with its `MedicalRecordAdded` event and audit row, all or nothing.
    pub async fn insert(
        &self,
        access: MayWrite,
        row: NewRow,
        (audit, ctx): (&AuditLog, &AuditContext),
    ) -> platform::Result<StoredRecord> {
        let created_at = Timestamp::now();
        let file = row.file.as_ref();
        let mut tx = self.db.begin().await?;
        sqlx::query(
            "INSERT INTO medical_records (id, patient_id, doctor_id, record_type, created_at, \
             key_id, nonce, sealed, file_content_type, file_size, file_sha256, file_key_id, \
             file_nonce, file_object) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(row.id)
        .bind(access.patient_id())
        .bind(access.doctor_id())
        .bind(row.record_type.as_str())
        .bind(to_millis(created_at))
        .bind(&row.key_id)
        .bind(&row.nonce)
        .bind(&row.sealed)
        .bind(file.map(|f| f.content_type.clone()))
        .bind(file.map(|f| f.size))
        .bind(file.map(|f| f.sha256.clone()))
        .bind(file.map(|f| f.key_id.clone()))
        .bind(file.map(|f| f.nonce_prefix.clone()))
        .bind(file.map(|f| f.object.clone()))
        .execute(&mut *tx)
        .await?;
        let added = MedicalRecordAdded {
            record_id: row.id,
            patient_id: access.patient_id(),
            doctor_id: access.doctor_id(),
        };
        outbox::append(&mut tx, SOURCE, types::MEDICAL_RECORD_ADDED, row.id, &added).await?;
        let resource = format!("record/{}", row.id);
        audit
            .record_in(
                &mut tx,
                ctx,
                Some(access.patient_id()),
                Action::Create,
                &resource,
            )
            .await?;
        outbox::commit(tx, SOURCE).await?;
        Ok(StoredRecord {
            id: row.id,
            patient_id: access.patient_id(),
            doctor_id: access.doctor_id(),
            record_type: row.record_type,
            created_at,
            key_id: row.key_id,
            nonce: row.nonce,
            sealed: row.sealed,
            file: row.file,
        })
    }

    /// A page of the patient's records the caller may see, newest first.
    pub async fn list(
        &self,
        access: MayRead,
        page: PageRequest,
    ) -> platform::Result<(Vec<StoredRecord>, i64)> {
        let (rows, total): (Vec<RecordRow>, i64) = fetch_page(
            &self.db,
            ("medical_records", COLUMNS, "id DESC"),
            &|args| {
                args.add(access.patient_id())?;
                Ok(match access.only_author() {
                    Some(doctor_id) => {
                        args.add(doctor_id)?;
                        "WHERE patient_id = $1 AND doctor_id = $2".to_owned()
                    }
                    None => "WHERE patient_id = $1".to_owned(),
                })
            },
            page,
        )
        .await?;
        Ok((decode(rows)?, total))
    }

    /// Every record of the patient the caller may see, oldest first.
    pub async fn all(&self, access: MayRead) -> platform::Result<Vec<StoredRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM medical_records WHERE patient_id = $1 \
             AND ($2 = 0 OR doctor_id = $2) ORDER BY id"
        );
        let rows: Vec<RecordRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(access.patient_id())
            .bind(access.only_author().unwrap_or(0))
            .fetch_all(self.db.pool())
            .await?;
        decode(rows)
    }

    /// One of the patient's records, if the caller may see it.
    pub async fn find(
        &self,
        access: MayRead,
        record_id: i64,
    ) -> platform::Result<Option<StoredRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM medical_records WHERE id = $1 AND patient_id = $2 \
             AND ($3 = 0 OR doctor_id = $3)"
        );
        let row: Option<RecordRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(record_id)
            .bind(access.patient_id())
            .bind(access.only_author().unwrap_or(0))
            .fetch_optional(self.db.pool())
            .await?;
        Ok(decode(row.into_iter().collect())?.pop())
    }

    /// Whether the doctor wrote any record of the patient (authors keep reading what they wrote).
    pub async fn has_authored(&self, doctor_id: i64, patient_id: i64) -> platform::Result<bool> {
        let (count,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM medical_records WHERE patient_id = $1 AND doctor_id = $2",
        )
        .bind(patient_id)
        .bind(doctor_id)
        .fetch_one(self.db.pool())
        .await?;
        Ok(count > 0)
    }
}
