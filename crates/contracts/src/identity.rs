//! Bodies of the identity service: accounts, logins and token pairs.
//!
//! Types that carry a password or a token print `[redacted]` in place of it, so a stray `{:?}`
//! never puts a secret into a log.

use std::fmt;

use jiff::Timestamp;
use platform::auth::Role;
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{AllOfBuilder, AnyOfBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

use crate::doctors::Gender;

/// The role of a user account (service tokens have `SERVICE`, accounts never do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AccountRole {
    Admin,
    Doctor,
    Patient,
}

impl AccountRole {
    pub fn as_str(self) -> &'static str {
        Role::from(self).as_str()
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "ADMIN" => Some(Self::Admin),
            "DOCTOR" => Some(Self::Doctor),
            "PATIENT" => Some(Self::Patient),
            _ => None,
        }
    }
}

impl From<AccountRole> for Role {
    fn from(role: AccountRole) -> Self {
        match role {
            AccountRole::Admin => Role::Admin,
            AccountRole::Doctor => Role::Doctor,
            AccountRole::Patient => Role::Patient,
        }
    }
}

/// A new account. Without `role` (or with `PATIENT`) it is a patient and `name`, `phone`,
/// `dob` and `address` are required. Only an ADMIN may ask for `DOCTOR` (then `name`, `phone`
/// and `speciality` are required) or `ADMIN` (no profile; only `email` and `password`).
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegisterRequest {
    #[serde(default)]
    #[schema(value_type = Option<platform::schema::PersonName>, example = "Ada Lovelace")]
    pub name: Option<String>,
    #[schema(value_type = platform::schema::Email, example = "ada@example.org")]
    pub email: String,
    #[schema(value_type = platform::schema::Password, example = "plum-violin-harbour-47")]
    pub password: String,
    #[serde(default)]
    #[schema(value_type = Option<platform::schema::Phone>, example = "+44 20 7946 0958")]
    pub phone: Option<String>,
    /// A past date, within the last 150 years.
    #[serde(default)]
    #[schema(value_type = Option<platform::schema::Date>, example = "1985-12-10")]
    pub dob: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<platform::schema::Address>, example = "12 St James's Square, London")]
    pub address: Option<String>,
    /// Default `PATIENT`; `DOCTOR` and `ADMIN` need an ADMIN token.
    #[serde(default)]
    pub role: Option<AccountRole>,
    /// A doctor's speciality. Alias: `specialization`.
    #[serde(default, alias = "specialization")]
    #[schema(value_type = Option<platform::schema::Label>)]
    pub speciality: Option<String>,
    /// A doctor's gender.
    #[serde(default)]
    pub gender: Option<Gender>,
}

impl fmt::Debug for RegisterRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegisterRequest")
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// The document's `POST /api/auth/register` body: [`RegisterRequest`]'s fields, with the
/// fields each role requires.
pub struct Registration;

impl Registration {
    /// `role` is one of `roles` (absent counts as `PATIENT`), and `required` are present.
    fn variant(roles: &[Option<AccountRole>], required: &[&str]) -> ObjectBuilder {
        let role_given = !roles.contains(&None);
        let values = roles.iter().map(|role| role.map(AccountRole::as_str));
        let mut variant = ObjectBuilder::new()
            .schema_type(Type::Object)
            .property("role", ObjectBuilder::new().enum_values(Some(values)));
        for field in required.iter().chain(role_given.then_some(&"role")) {
            variant = variant.required(*field);
        }
        variant
    }
}

impl PartialSchema for Registration {
    fn schema() -> RefOr<Schema> {
        use AccountRole::{Admin, Doctor, Patient};
        let roles = AnyOfBuilder::new()
            .item(Self::variant(
                &[None, Some(Patient)],
                &["name", "phone", "dob", "address"],
            ))
            .item(Self::variant(
                &[Some(Doctor)],
                &["name", "phone", "speciality"],
            ))
            .item(Self::variant(&[Some(Admin)], &[]));
        AllOfBuilder::new()
            .item(Ref::from_schema_name(RegisterRequest::name()))
            .item(roles)
            .into()
    }
}

impl ToSchema for Registration {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((
            RegisterRequest::name().into_owned(),
            RegisterRequest::schema(),
        ));
        RegisterRequest::schemas(schemas);
    }
}

/// The account just created, with the profile created beside it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegisterResponse {
    pub user_id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patient_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doctor_id: Option<i64>,
    pub role: AccountRole,
}

#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginRequest {
    #[schema(example = "ada@example.org")]
    pub email: String,
    #[schema(example = "plum-violin-harbour-47")]
    pub password: String,
}

impl fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginRequest").finish_non_exhaustive()
    }
}

/// An access token (a JWT to send as `Authorization: Bearer …`) and the refresh token that
/// obtains the next pair.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenPair {
    pub access_token: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// Seconds until the access token expires.
    #[schema(example = 900)]
    pub expires_in: u64,
    /// Opaque; single use: each refresh answers a new one.
    pub refresh_token: String,
    pub role: AccountRole,
    pub user_id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patient_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doctor_id: Option<i64>,
}

impl fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenPair")
            .field("role", &self.role)
            .field("user_id", &self.user_id)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefreshRequest {
    pub refresh_token: String,
}

impl fmt::Debug for RefreshRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshRequest").finish_non_exhaustive()
    }
}

/// Ends the session the refresh token belongs to.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LogoutRequest {
    pub refresh_token: String,
}

impl fmt::Debug for LogoutRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogoutRequest").finish_non_exhaustive()
    }
}

/// The caller's own account (never the password hash).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub id: i64,
    pub email: String,
    pub role: AccountRole,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patient_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doctor_id: Option<i64>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

/// A carebook service asking for a token of its own (role `SERVICE`), proving it holds the
/// deployment's shared service secret.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceTokenRequest {
    pub secret: String,
}

impl std::fmt::Debug for ServiceTokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceTokenRequest")
            .finish_non_exhaustive()
    }
}

/// A short-lived `SERVICE` access token.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceToken {
    pub access_token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
}

impl std::fmt::Debug for ServiceToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceToken")
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}
