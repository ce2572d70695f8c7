//! The patient service's tables. Queries are portable SQL run on SQLite and PostgreSQL.

use contracts::events::{PatientChanged, types};
use contracts::patients::Patient;
use jiff::Timestamp;
use platform::ApiError;
use platform::db::{Db, contains_pattern, violated_constraint};
use platform::outbox;
use platform::page::PageRequest;
use platform::time::{from_millis, to_millis};

use crate::domain::PatientDetails;

const SOURCE: &str = "patients";
const EMAIL_UNIQUE: [&str; 2] = ["patients_email_unique", "patients.email"];

#[derive(Debug, Clone)]
pub struct PatientStore {
    db: Db,
}

#[derive(sqlx::FromRow)]
struct PatientRow {
    id: i64,
    name: String,
    email: String,
    phone: String,
    dob: String,
    address: String,
    medical_history: Option<String>,
    registration_date: i64,
}

impl PatientRow {
    fn into_patient(self) -> Patient {
        Patient {
            id: self.id,
            name: self.name,
            email: self.email,
            phone: self.phone,
            dob: self.dob.parse().unwrap_or_default(),
            address: self.address,
            registration_date: from_millis(self.registration_date),
            medical_history: self.medical_history,
        }
    }
}

impl PatientStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Inserts the patient and its `PatientRegistered` event; 409 when the e-mail is taken.
    pub async fn insert(&self, details: &PatientDetails) -> platform::Result<Patient> {
        let now = to_millis(Timestamp::now());
        let mut tx = self.db.begin().await?;
        let row: PatientRow = sqlx::query_as(
            "INSERT INTO patients (name, email, phone, dob, address, medical_history, \
             registration_date, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
             RETURNING id, name, email, phone, dob, address, medical_history, registration_date",
        )
        .bind(details.name.as_str())
        .bind(details.email.as_str())
        .bind(details.phone.as_str())
        .bind(details.dob.to_string())
        .bind(details.address.as_str())
        .bind(details.medical_history.as_ref().map(|h| h.as_str()))
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(email_taken)?;
        let changed = PatientChanged { patient_id: row.id };
        outbox::append(&mut tx, SOURCE, types::PATIENT_REGISTERED, row.id, &changed).await?;
        tx.commit().await?;
        Ok(row.into_patient())
    }

    /// Replaces the editable fields; `None` when there is no such patient.
    pub async fn update(
        &self,
        id: i64,
        details: &PatientDetails,
    ) -> platform::Result<Option<Patient>> {
        let mut tx = self.db.begin().await?;
        let row: Option<PatientRow> = sqlx::query_as(
            "UPDATE patients SET name = $1, email = $2, phone = $3, dob = $4, address = $5, \
             medical_history = $6, updated_at = $7 WHERE id = $8 \
             RETURNING id, name, email, phone, dob, address, medical_history, registration_date",
        )
        .bind(details.name.as_str())
        .bind(details.email.as_str())
        .bind(details.phone.as_str())
        .bind(details.dob.to_string())
        .bind(details.address.as_str())
        .bind(details.medical_history.as_ref().map(|h| h.as_str()))
        .bind(to_millis(Timestamp::now()))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(email_taken)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let changed = PatientChanged { patient_id: id };
        outbox::append(&mut tx, SOURCE, types::PATIENT_UPDATED, id, &changed).await?;
        tx.commit().await?;
        Ok(Some(row.into_patient()))
    }

    pub async fn find(&self, id: i64) -> platform::Result<Option<Patient>> {
        let row: Option<PatientRow> = sqlx::query_as(
            "SELECT id, name, email, phone, dob, address, medical_history, registration_date \
                 FROM patients WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.db.pool())
        .await?;
        Ok(row.map(PatientRow::into_patient))
    }

    /// A page of patients, optionally those whose name or e-mail contains `q`.
    pub async fn list(
        &self,
        q: Option<&str>,
        page: PageRequest,
    ) -> platform::Result<(Vec<Patient>, i64)> {
        let pattern = q.map(contains_pattern).unwrap_or_else(|| "%".to_owned());
        let (total,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM patients \
             WHERE lower(name) LIKE $1 ESCAPE '\\' OR email LIKE $1 ESCAPE '\\'",
        )
        .bind(&pattern)
        .fetch_one(self.db.pool())
        .await?;
        let rows: Vec<PatientRow> = sqlx::query_as(
            "SELECT id, name, email, phone, dob, address, medical_history, registration_date \
             FROM patients WHERE lower(name) LIKE $1 ESCAPE '\\' OR email LIKE $1 ESCAPE '\\' \
             ORDER BY id LIMIT $2 OFFSET $3",
        )
        .bind(&pattern)
        .bind(page.limit())
        .bind(page.offset())
        .fetch_all(self.db.pool())
        .await?;
        Ok((
            rows.into_iter().map(PatientRow::into_patient).collect(),
            total,
        ))
    }
}

fn email_taken(err: sqlx::Error) -> ApiError {
    if violated_constraint(&err, &EMAIL_UNIQUE).is_some() {
        ApiError::Conflict("A patient with this e-mail address already exists.".to_owned())
    } else {
        err.into()
    }
}
