use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::claims::{Claims, Role};
use crate::error::ApiError;

/// The authenticated caller of a request, put there by the [`super::Authenticator`].
/// Extracting it from a request without one answers 401.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: i64,
    pub role: Role,
    pub patient_id: Option<i64>,
    pub doctor_id: Option<i64>,
}

impl Principal {
    pub fn from_claims(claims: &Claims) -> Option<Self> {
        Some(Self {
            user_id: claims.sub.parse().ok()?,
            role: claims.role,
            patient_id: claims.patient_id,
            doctor_id: claims.doctor_id,
        })
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// The patient `id` acting for themselves.
    pub fn is_patient(&self, id: i64) -> bool {
        self.role == Role::Patient && self.patient_id == Some(id)
    }

    /// The doctor `id` acting for themselves.
    pub fn is_doctor(&self, id: i64) -> bool {
        self.role == Role::Doctor && self.doctor_id == Some(id)
    }

    /// 403 unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden)
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or_else(|| ApiError::Unauthorized("Authentication is required.".to_owned()))
    }
}

impl<S: Send + Sync> axum::extract::OptionalFromRequestParts<S> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<Principal>().cloned())
    }
}
