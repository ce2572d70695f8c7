use std::time::Duration;

use axum::extract::State;
use contracts::identity::{ServiceToken, ServiceTokenRequest};
use platform::docs::{BadRequest, NotFound};
use platform::extract::Json;
use platform::{ApiError, Problem};
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::tokens::access::Subject;

/// Long enough for a service to reuse it across many calls, short enough to be worthless soon.
const TTL: Duration = Duration::from_secs(5 * 60);

/// A `SERVICE` token for a carebook service holding the deployment's shared secret
/// (`CAREBOOK_SERVICE_SECRET`). 404 when no secret is configured.
#[utoipa::path(post, path = "/api/auth/service-token", tag = "identity",
    request_body = ServiceTokenRequest,
    responses(
        (status = 200, body = ServiceToken),
        (status = 401, description = "Wrong secret", body = Problem,
            content_type = "application/problem+json"),
        BadRequest, NotFound))]
pub async fn issue(
    State(state): State<AppState>,
    Json(request): Json<ServiceTokenRequest>,
) -> platform::Result<axum::Json<ServiceToken>> {
    let Some(expected) = &state.service_secret else {
        return Err(ApiError::NotFound(
            "Service tokens are not enabled.".to_owned(),
        ));
    };
    // Compares digests, so the time taken says nothing about the secret's bytes.
    if Sha256::digest(request.secret.as_bytes()) != Sha256::digest(expected.as_bytes()) {
        tracing::warn!("service token refused: wrong secret");
        return Err(ApiError::Unauthorized("Wrong service secret.".to_owned()));
    }
    let access_token = state.sign(&Subject::SERVICE, TTL).await?;
    Ok(axum::Json(ServiceToken {
        access_token,
        expires_in: TTL.as_secs(),
    }))
}
