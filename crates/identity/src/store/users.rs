use contracts::identity::{Account, AccountRole};
use jiff::Timestamp;
use platform::ApiError;
use platform::db::violated_constraint;
use platform::time::{from_millis, to_millis};
use platform::values::Email;

use super::{IdentityStore, from_flag, to_flag};

const EMAIL_UNIQUE: [&str; 2] = ["users_email_unique", "users.email"];

/// An account as stored. `Debug` leaves the password hash out.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub password_hash: String,
    pub role: AccountRole,
    pub patient_id: Option<i64>,
    pub doctor_id: Option<i64>,
    /// `false` while registration is still creating the profile.
    pub active: bool,
    pub created_at: Timestamp,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("role", &self.role)
            .field("patient_id", &self.patient_id)
            .field("doctor_id", &self.doctor_id)
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

impl User {
    pub fn account(&self) -> Account {
        Account {
            id: self.id,
            email: self.email.clone(),
            role: self.role,
            patient_id: self.patient_id,
            doctor_id: self.doctor_id,
            created_at: self.created_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    email: String,
    password_hash: String,
    role: String,
    patient_id: Option<i64>,
    doctor_id: Option<i64>,
    active: i64,
    created_at: i64,
}

impl UserRow {
    fn into_user(self) -> platform::Result<User> {
        let role = AccountRole::parse(&self.role).ok_or_else(|| {
            ApiError::Internal(anyhow::anyhow!("user {} has an unknown role", self.id))
        })?;
        Ok(User {
            id: self.id,
            email: self.email,
            password_hash: self.password_hash,
            role,
            patient_id: self.patient_id,
            doctor_id: self.doctor_id,
            active: from_flag(self.active),
            created_at: from_millis(self.created_at),
        })
    }
}

impl IdentityStore {
    /// Adds an account and returns its id; 409 when the e-mail address is taken.
    pub async fn insert_user(
        &self,
        email: &Email,
        password_hash: &str,
        role: AccountRole,
        active: bool,
        now: Timestamp,
    ) -> platform::Result<i64> {
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO users (email, password_hash, role, active, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
        )
        .bind(email.as_str())
        .bind(password_hash)
        .bind(role.as_str())
        .bind(to_flag(active))
        .bind(to_millis(now))
        .fetch_one(self.db.pool())
        .await
        .map_err(email_taken)?;
        Ok(id)
    }

    /// Links the account to its profile and lets it log in.
    pub async fn activate_user(
        &self,
        id: i64,
        patient_id: Option<i64>,
        doctor_id: Option<i64>,
        now: Timestamp,
    ) -> platform::Result<()> {
        let write = sqlx::query(
            "UPDATE users SET patient_id = $1, doctor_id = $2, active = 1, updated_at = $3 \
             WHERE id = $4",
        )
        .bind(patient_id)
        .bind(doctor_id)
        .bind(to_millis(now))
        .bind(id);
        self.db.execute_write(write).await?;
        Ok(())
    }

    pub async fn delete_user(&self, id: i64) -> platform::Result<()> {
        let write = sqlx::query("DELETE FROM users WHERE id = $1").bind(id);
        self.db.execute_write(write).await?;
        Ok(())
    }

    /// Removes an account with this e-mail whose registration never finished (its process died
    /// between creating the account and the profile) when it started before `before`.
    pub async fn discard_unfinished_registration(
        &self,
        email: &Email,
        before: Timestamp,
    ) -> platform::Result<()> {
        let write =
            sqlx::query("DELETE FROM users WHERE email = $1 AND active = 0 AND created_at < $2")
                .bind(email.as_str())
                .bind(to_millis(before));
        self.db.execute_write(write).await?;
        Ok(())
    }

    /// The accounts of a patient (one, or none for a profile without an account).
    pub async fn users_of_patient(&self, patient_id: i64) -> platform::Result<Vec<User>> {
        let rows: Vec<UserRow> = sqlx::query_as(
            "SELECT id, email, password_hash, role, patient_id, doctor_id, active, created_at              FROM users WHERE patient_id = $1 ORDER BY id",
        )
        .bind(patient_id)
        .fetch_all(self.db.pool())
        .await?;
        rows.into_iter().map(UserRow::into_user).collect()
    }

    pub async fn user(&self, id: i64) -> platform::Result<Option<User>> {
        let row: Option<UserRow> = sqlx::query_as(
            "SELECT id, email, password_hash, role, patient_id, doctor_id, active, created_at \
             FROM users WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.db.pool())
        .await?;
        row.map(UserRow::into_user).transpose()
    }

    /// The account with this (normalized) e-mail address.
    pub async fn user_by_email(&self, email: &str) -> platform::Result<Option<User>> {
        let row: Option<UserRow> = sqlx::query_as(
            "SELECT id, email, password_hash, role, patient_id, doctor_id, active, created_at \
             FROM users WHERE email = $1",
        )
        .bind(email)
        .fetch_optional(self.db.pool())
        .await?;
        row.map(UserRow::into_user).transpose()
    }

    pub async fn set_password_hash(
        &self,
        id: i64,
        password_hash: &str,
        now: Timestamp,
    ) -> platform::Result<()> {
        let write =
            sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
                .bind(password_hash)
                .bind(to_millis(now))
                .bind(id);
        self.db.execute_write(write).await?;
        Ok(())
    }
}

fn email_taken(err: sqlx::Error) -> ApiError {
    if violated_constraint(&err, &EMAIL_UNIQUE).is_some() {
        ApiError::Conflict("An account with this e-mail address already exists.".to_owned())
    } else {
        err.into()
    }
}
