use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The `iss` of every carebook token.
pub const ISSUER: &str = "carebook";
/// The `aud` of every carebook access token.
pub const AUDIENCE: &str = "carebook-api";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    Admin,
    Doctor,
    Patient,
    /// A carebook service acting on its own behalf (e.g. identity creating a profile).
    Service,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "ADMIN",
            Self::Doctor => "DOCTOR",
            Self::Patient => "PATIENT",
            Self::Service => "SERVICE",
        }
    }
}

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Claims {
    /// The user id (`0` for service tokens).
    pub sub: String,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patient_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doctor_id: Option<i64>,
    pub exp: i64,
    pub iat: i64,
    pub nbf: i64,
    pub iss: String,
    pub aud: String,
    pub jti: String,
}
