//! The patient service's tables. Queries are portable SQL run on SQLite and PostgreSQL.

use contracts::events::{PatientChanged, types};
use contracts::patients::Patient;
use jiff::Timestamp;
use platform::ApiError;
use platform::db::{Db, contains_pattern, fetch_page, violated_constraint, where_all};
use platform::outbox;
use platform::page::PageRequest;
use platform::time::{from_millis, to_millis};
use sqlx::Arguments;
use sqlx::any::AnyArguments;
use sqlx::error::BoxDynError;

use crate::domain::PatientDetails;
use crate::policy::{ListScope, MayCheckExists, MayRead, MayWrite};

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
        access: MayWrite,
        details: &PatientDetails,
    ) -> platform::Result<Option<Patient>> {
        let id = access.patient_id();
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

    pub async fn find(&self, access: MayRead) -> platform::Result<Option<Patient>> {
        let row: Option<PatientRow> = sqlx::query_as(
            "SELECT id, name, email, phone, dob, address, medical_history, registration_date \
             FROM patients WHERE id = $1",
        )
        .bind(access.patient_id())
        .fetch_optional(self.db.pool())
        .await?;
        Ok(row.map(PatientRow::into_patient))
    }

    /// Whether the patient exists; reads no personal data.
    pub async fn exists(&self, access: MayCheckExists) -> platform::Result<bool> {
        let row: Option<(i64,)> = sqlx::query_as("SELECT id FROM patients WHERE id = $1")
            .bind(access.patient_id())
            .fetch_optional(self.db.pool())
            .await?;
        Ok(row.is_some())
    }

    /// A page of the patients in `scope`, optionally those whose name or e-mail contains `q`.
    pub async fn list(
        &self,
        q: Option<&str>,
        scope: &ListScope,
        page: PageRequest,
    ) -> platform::Result<(Vec<Patient>, i64)> {
        if matches!(scope, ListScope::Only(ids) if ids.is_empty()) {
            return Ok((Vec::new(), 0));
        }
        let (rows, total): (Vec<PatientRow>, i64) = fetch_page(
            &self.db,
            (
                "patients",
                "id, name, email, phone, dob, address, medical_history, registration_date",
                "id",
            ),
            &|args| list_filter(args, q, scope),
            page,
        )
        .await?;
        Ok((
            rows.into_iter().map(PatientRow::into_patient).collect(),
            total,
        ))
    }
}

/// `WHERE ...` from fixed fragments; the search term and ids go in as placeholders.
fn list_filter(
    args: &mut AnyArguments,
    q: Option<&str>,
    scope: &ListScope,
) -> Result<String, BoxDynError> {
    let mut conditions = Vec::new();
    if let Some(q) = q {
        args.add(contains_pattern(q))?;
        let n = args.len();
        conditions.push(format!(
            "(lower(name) LIKE ${n} ESCAPE '\\' OR email LIKE ${n} ESCAPE '\\')"
        ));
    }
    if let ListScope::Only(ids) = scope {
        let mut placeholders = Vec::with_capacity(ids.len());
        for id in ids {
            args.add(*id)?;
            placeholders.push(format!("${}", args.len()));
        }
        conditions.push(format!("id IN ({})", placeholders.join(", ")));
    }
    Ok(where_all(&conditions))
}

fn email_taken(err: sqlx::Error) -> ApiError {
    if violated_constraint(&err, &EMAIL_UNIQUE).is_some() {
        ApiError::Conflict("A patient with this e-mail address already exists.".to_owned())
    } else {
        err.into()
    }
}
