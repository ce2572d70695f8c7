use axum::extract::{FromRequestParts, MatchedPath};
use axum::http::request::Parts;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::server::REQUEST_ID;

/// Who is asking, through which endpoint, in which request: what every audit row needs.
/// Extracting it requires an authenticated caller (401 otherwise).
#[derive(Debug, Clone)]
pub struct AuditContext {
    pub principal: Principal,
    pub endpoint: String,
    pub request_id: String,
}

impl<S: Send + Sync> FromRequestParts<S> for AuditContext {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let principal = Principal::from_request_parts(parts, state).await?;
        let route = parts
            .extensions
            .get::<MatchedPath>()
            .map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned());
        let request_id = parts
            .headers
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        Ok(Self {
            principal,
            endpoint: format!("{} {route}", parts.method),
            request_id,
        })
    }
}
