//! Doctor profiles.

use contracts::doctors::{Doctor, Gender};
use contracts::events::{DoctorChanged, types};
use jiff::Timestamp;
use platform::ApiError;
use platform::db::{contains_pattern, violated_constraint};
use platform::outbox;
use platform::page::PageRequest;
use platform::time::to_millis;

use super::{DoctorStore, SOURCE, from_flag, to_flag};
use crate::domain::doctor::DoctorDetails;

const EMAIL_UNIQUE: [&str; 2] = ["doctors_email_unique", "doctors.email"];

/// Which doctors a list shows; every filter is optional.
#[derive(Debug, Clone, Default)]
pub struct DoctorQuery<'a> {
    /// Exact speciality, any case.
    pub speciality: Option<&'a str>,
    pub available: Option<bool>,
    /// Contained in the name, e-mail or speciality, any case.
    pub q: Option<&'a str>,
}

#[derive(sqlx::FromRow)]
pub(super) struct DoctorRow {
    id: i64,
    name: String,
    email: String,
    phone: String,
    speciality: String,
    gender: Option<String>,
    available: i64,
    slot_minutes: i64,
    timezone: Option<String>,
    auto_approve: i64,
}

impl DoctorRow {
    pub(super) fn into_doctor(self) -> Doctor {
        Doctor {
            id: self.id,
            name: self.name,
            email: self.email,
            phone: self.phone,
            speciality: self.speciality,
            gender: self.gender.as_deref().and_then(gender_from_str),
            available: from_flag(self.available),
            slot_minutes: u32::try_from(self.slot_minutes).unwrap_or_default(),
            timezone: self.timezone,
            auto_approve: from_flag(self.auto_approve),
        }
    }
}

impl DoctorStore {
    /// Inserts the doctor and its `DoctorCreated` event; 409 when the e-mail is taken.
    pub async fn insert(&self, details: &DoctorDetails) -> platform::Result<Doctor> {
        let now = to_millis(Timestamp::now());
        let mut tx = self.db.begin().await?;
        let row: DoctorRow = sqlx::query_as(
            "INSERT INTO doctors (name, email, phone, speciality, gender, available, \
             slot_minutes, timezone, auto_approve, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) \
             RETURNING id, name, email, phone, speciality, gender, available, slot_minutes, \
             timezone, auto_approve",
        )
        .bind(details.name.as_str())
        .bind(details.email.as_str())
        .bind(details.phone.as_str())
        .bind(details.speciality.as_str())
        .bind(details.gender.map(gender_as_str))
        .bind(to_flag(details.available))
        .bind(i64::from(details.slot_minutes))
        .bind(details.timezone.as_deref())
        .bind(to_flag(details.auto_approve))
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(email_taken)?;
        let changed = DoctorChanged {
            doctor_id: row.id,
            speciality: Some(details.speciality.as_str().to_owned()),
            version: now,
        };
        outbox::append(&mut tx, SOURCE, types::DOCTOR_CREATED, row.id, &changed).await?;
        outbox::commit(tx, SOURCE).await?;
        Ok(row.into_doctor())
    }

    /// Replaces the editable fields; `None` when there is no such doctor.
    pub async fn update(
        &self,
        id: i64,
        details: &DoctorDetails,
    ) -> platform::Result<Option<Doctor>> {
        let now = to_millis(Timestamp::now());
        let mut tx = self.db.begin().await?;
        let row: Option<DoctorRow> = sqlx::query_as(
            "UPDATE doctors SET name = $1, email = $2, phone = $3, speciality = $4, gender = $5, \
             available = $6, slot_minutes = $7, timezone = $8, auto_approve = $9, \
             updated_at = $10 WHERE id = $11 \
             RETURNING id, name, email, phone, speciality, gender, available, slot_minutes, \
             timezone, auto_approve",
        )
        .bind(details.name.as_str())
        .bind(details.email.as_str())
        .bind(details.phone.as_str())
        .bind(details.speciality.as_str())
        .bind(details.gender.map(gender_as_str))
        .bind(to_flag(details.available))
        .bind(i64::from(details.slot_minutes))
        .bind(details.timezone.as_deref())
        .bind(to_flag(details.auto_approve))
        .bind(now)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(email_taken)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let changed = DoctorChanged {
            doctor_id: id,
            speciality: Some(details.speciality.as_str().to_owned()),
            version: now,
        };
        outbox::append(&mut tx, SOURCE, types::DOCTOR_UPDATED, id, &changed).await?;
        outbox::commit(tx, SOURCE).await?;
        Ok(Some(row.into_doctor()))
    }

    pub async fn find(&self, id: i64) -> platform::Result<Option<Doctor>> {
        let row: Option<DoctorRow> = sqlx::query_as(
            "SELECT id, name, email, phone, speciality, gender, available, slot_minutes, \
             timezone, auto_approve FROM doctors WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.db.pool())
        .await?;
        Ok(row.map(DoctorRow::into_doctor))
    }

    /// A page of the doctors matching `query`, and how many match in all.
    pub async fn list(
        &self,
        query: &DoctorQuery<'_>,
        page: PageRequest,
    ) -> platform::Result<(Vec<Doctor>, i64)> {
        // Absent filters are bound as values that match everything, so the SQL stays fixed.
        let speciality = query
            .speciality
            .map(|s| s.trim().to_lowercase())
            .unwrap_or_default();
        let available = query.available.map_or(-1, to_flag);
        let pattern = query.q.map_or_else(|| "%".to_owned(), contains_pattern);
        let (total,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM doctors \
             WHERE ($1 = '' OR lower(speciality) = $1) AND ($2 < 0 OR available = $2) \
             AND (lower(name) LIKE $3 ESCAPE '\\' OR email LIKE $3 ESCAPE '\\' \
             OR lower(speciality) LIKE $3 ESCAPE '\\')",
        )
        .bind(&speciality)
        .bind(available)
        .bind(&pattern)
        .fetch_one(self.db.pool())
        .await?;
        let rows: Vec<DoctorRow> = sqlx::query_as(
            "SELECT id, name, email, phone, speciality, gender, available, slot_minutes, \
             timezone, auto_approve FROM doctors \
             WHERE ($1 = '' OR lower(speciality) = $1) AND ($2 < 0 OR available = $2) \
             AND (lower(name) LIKE $3 ESCAPE '\\' OR email LIKE $3 ESCAPE '\\' \
             OR lower(speciality) LIKE $3 ESCAPE '\\') \
             ORDER BY id LIMIT $4 OFFSET $5",
        )
        .bind(&speciality)
        .bind(available)
        .bind(&pattern)
        .bind(page.limit())
        .bind(page.offset())
        .fetch_all(self.db.pool())
        .await?;
        Ok((
            rows.into_iter().map(DoctorRow::into_doctor).collect(),
            total,
        ))
    }
}

fn email_taken(err: sqlx::Error) -> ApiError {
    if violated_constraint(&err, &EMAIL_UNIQUE).is_some() {
        ApiError::Conflict("A doctor with this e-mail address already exists.".to_owned())
    } else {
        err.into()
    }
}

fn gender_as_str(gender: Gender) -> &'static str {
    match gender {
        Gender::Male => "MALE",
        Gender::Female => "FEMALE",
        Gender::Other => "OTHER",
        Gender::Undisclosed => "UNDISCLOSED",
    }
}

fn gender_from_str(raw: &str) -> Option<Gender> {
    [
        Gender::Male,
        Gender::Female,
        Gender::Other,
        Gender::Undisclosed,
    ]
    .into_iter()
    .find(|g| gender_as_str(*g) == raw)
}
