//! The patient service's tables. Queries are portable SQL run on SQLite and PostgreSQL. Every
//! method takes the policy's proof for what it does, and a change writes its event and its
//! audit row in its own transaction: the three commit together or not at all.

mod row;
#[cfg(test)]
mod tests;

use contracts::events::{PatientChanged, PatientErased, types};
use contracts::patients::Patient;
use jiff::Timestamp;
use platform::ApiError;
use platform::audit::{Action, AuditContext, AuditLog};
use platform::db::{Backend, Db, contains_pattern, fetch_page, violated_constraint, where_all};
use platform::outbox;
use platform::page::PageRequest;
use platform::time::to_millis;
use sqlx::any::AnyArguments;
use sqlx::error::BoxDynError;
use sqlx::{Arguments, AssertSqlSafe};

use crate::domain::{PatientDetails, keep_login_email};
use crate::policy::{MayCheckExists, MayCreate, MayErase, MayList, MayRead, MayWrite};
use row::{COLUMNS, PatientRow, StoredPatient, decode};

const SOURCE: &str = "patients";
const EMAIL_UNIQUE: [&str; 2] = ["patients_email_unique", "patients.email"];

#[derive(Debug, Clone)]
pub struct PatientStore {
    db: Db,
    audit: AuditLog,
}

impl PatientStore {
    pub fn new(db: Db, audit: AuditLog) -> Self {
        Self { db, audit }
    }

    /// Inserts the patient, its `PatientRegistered` event and its audit row; 409 when the
    /// e-mail is taken.
    pub async fn insert(
        &self,
        access: MayCreate,
        details: &PatientDetails,
        ctx: &AuditContext,
    ) -> platform::Result<Patient> {
        let now = to_millis(Timestamp::now());
        let mut tx = self.db.begin().await?;
        let row: PatientRow = sqlx::query_as(AssertSqlSafe(format!(
            "INSERT INTO patients (name, email, phone, dob, address, medical_history, \
             registration_date, updated_at, has_account) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8) RETURNING {COLUMNS}"
        )))
        .bind(details.name.as_str())
        .bind(details.email.as_str())
        .bind(details.phone.as_str())
        .bind(details.dob.to_string())
        .bind(details.address.as_str())
        .bind(details.medical_history.as_ref().map(|h| h.as_str()))
        .bind(now)
        .bind(i64::from(access.with_account()))
        .fetch_one(&mut *tx)
        .await
        .map_err(email_taken)?;
        let patient = decode(row)?;
        let changed = PatientChanged {
            patient_id: patient.id,
        };
        let (id, resource) = (patient.id, format!("patient/{}", patient.id));
        outbox::append(&mut tx, SOURCE, types::PATIENT_REGISTERED, id, &changed).await?;
        self.audit
            .record_in(&mut tx, ctx, Some(id), Action::Create, &resource)
            .await?;
        outbox::commit(tx, SOURCE).await?;
        Ok(patient)
    }

    /// Replaces the editable fields, within what `access` allows and keeping an account
    /// holder's login e-mail; `None` when there is no such patient.
    pub async fn update(
        &self,
        access: MayWrite,
        details: &PatientDetails,
        ctx: &AuditContext,
    ) -> platform::Result<Option<Patient>> {
        let id = access.patient_id();
        let mut tx = self.db.begin().await?;
        // Locked until the commit, so the checks below hold for the row the update replaces.
        let lock = match self.db.backend() {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        };
        let current: Option<PatientRow> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM patients WHERE id = $1 AND erased_at IS NULL{lock}"
        )))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(current) = current.map(StoredPatient::try_from).transpose()? else {
            return Ok(None);
        };
        keep_login_email(current.has_account, &current.patient.email, &details.email)?;
        let asked = details.medical_history.as_ref().map(|h| h.to_string());
        let history = access.medical_history(current.patient.medical_history, asked)?;
        let row: PatientRow = sqlx::query_as(AssertSqlSafe(format!(
            "UPDATE patients SET name = $1, email = $2, phone = $3, dob = $4, address = $5, \
             medical_history = $6, updated_at = $7 WHERE id = $8 RETURNING {COLUMNS}"
        )))
        .bind(details.name.as_str())
        .bind(details.email.as_str())
        .bind(details.phone.as_str())
        .bind(details.dob.to_string())
        .bind(details.address.as_str())
        .bind(history)
        .bind(to_millis(Timestamp::now()))
        .bind(id)
        .fetch_one(&mut *tx)
        .await
        .map_err(email_taken)?;
        let patient = decode(row)?;
        let changed = PatientChanged { patient_id: id };
        outbox::append(&mut tx, SOURCE, types::PATIENT_UPDATED, id, &changed).await?;
        let resource = format!("patient/{id}");
        self.audit
            .record_in(&mut tx, ctx, Some(id), Action::Update, &resource)
            .await?;
        outbox::commit(tx, SOURCE).await?;
        Ok(Some(patient))
    }

    /// Erases the patient: every personal field is overwritten with a pseudonym or nothing,
    /// and `PatientErased` goes out with the audit row in the same transaction. An erased
    /// patient is erased again without any change.
    pub async fn erase(&self, access: MayErase, ctx: &AuditContext) -> platform::Result<Erasure> {
        let id = access.patient_id();
        let mut tx = self.db.begin().await?;
        let lock = match self.db.backend() {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        };
        let current: Option<(Option<i64>,)> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT erased_at FROM patients WHERE id = $1{lock}"
        )))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        match current {
            None => return Ok(Erasure::NoSuchPatient),
            Some((Some(_),)) => return Ok(Erasure::AlreadyErased),
            Some((None,)) => {}
        }
        let now = to_millis(Timestamp::now());
        sqlx::query(
            "UPDATE patients SET name = $1, email = $2, phone = '', dob = $3, address = '',              medical_history = NULL, erased_at = $4, updated_at = $4 WHERE id = $5",
        )
        .bind(format!("Erased patient {id}"))
        // Unique like every e-mail, and in a domain that can never receive mail.
        .bind(format!("erased-{id}@erased.invalid"))
        .bind("1900-01-01")
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let erased = PatientErased { patient_id: id };
        outbox::append(&mut tx, SOURCE, types::PATIENT_ERASED, id, &erased).await?;
        let resource = format!("patient/{id}");
        self.audit
            .record_in(&mut tx, ctx, Some(id), Action::Delete, &resource)
            .await?;
        outbox::commit(tx, SOURCE).await?;
        self.db.scrub_erased().await;
        Ok(Erasure::Erased)
    }

    pub async fn find(&self, access: MayRead) -> platform::Result<Option<Patient>> {
        let row: Option<PatientRow> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM patients WHERE id = $1 AND erased_at IS NULL"
        )))
        .bind(access.patient_id())
        .fetch_optional(self.db.pool())
        .await?;
        row.map(decode).transpose()
    }

    /// Whether the patient exists; reads no personal data.
    pub async fn exists(&self, access: MayCheckExists) -> platform::Result<bool> {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT id FROM patients WHERE id = $1 AND erased_at IS NULL")
                .bind(access.patient_id())
                .fetch_optional(self.db.pool())
                .await?;
        Ok(row.is_some())
    }

    /// A page of the patients `access` allows, optionally those whose name or e-mail
    /// contains `q`.
    pub async fn list(
        &self,
        q: Option<&str>,
        access: &MayList,
        page: PageRequest,
    ) -> platform::Result<(Vec<Patient>, i64)> {
        if access.only().is_some_and(<[i64]>::is_empty) {
            return Ok((Vec::new(), 0));
        }
        let (rows, total): (Vec<PatientRow>, i64) = fetch_page(
            &self.db,
            ("patients", COLUMNS, "id"),
            &|args| list_filter(args, q, access.only()),
            page,
        )
        .await?;
        let patients = rows.into_iter().map(decode).collect::<Result<_, _>>()?;
        Ok((patients, total))
    }
}

/// What an erasure found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Erasure {
    Erased,
    /// Erased before: nothing changed.
    AlreadyErased,
    NoSuchPatient,
}

/// `WHERE ...` from fixed fragments; the search term and ids go in as placeholders.
fn list_filter(
    args: &mut AnyArguments,
    q: Option<&str>,
    only: Option<&[i64]>,
) -> Result<String, BoxDynError> {
    let mut conditions = vec!["erased_at IS NULL".to_owned()];
    if let Some(q) = q {
        args.add(contains_pattern(q))?;
        let n = args.len();
        conditions.push(format!(
            "(lower(name) LIKE ${n} ESCAPE '\\' OR email LIKE ${n} ESCAPE '\\')"
        ));
    }
    if let Some(ids) = only {
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
