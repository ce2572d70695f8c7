use std::time::Duration;

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use contracts::identity::{ServiceToken, ServiceTokenRequest};
use jiff::Timestamp;
use platform::docs::{BadRequest, NotFound};
use platform::extract::Json;
use platform::{ApiError, Problem};
use sha2::{Digest, Sha256};

use super::Refusal;
use crate::AppState;
use crate::tokens::access::Subject;

/// Long enough for a service to reuse it across many calls, short enough to be worthless soon.
const TTL: Duration = Duration::from_secs(5 * 60);

/// A `SERVICE` token for a carebook service holding the deployment's shared secret
/// (`CAREBOOK_SERVICE_SECRET`). 404 when no secret is configured. Services call this on the
/// identity service itself: the gateway does not route it.
///
/// Wrong secrets are counted per calling address (the connection's peer, not a forwarded
/// header, which a direct caller could vary at will) like failed logins: after
/// `CAREBOOK_LOGIN_MAX_FAILURES` of them, 429 with `Retry-After`.
#[utoipa::path(post, path = "/api/auth/service-token", tag = "identity",
    request_body = ServiceTokenRequest,
    responses(
        (status = 200, body = ServiceToken),
        (status = 401, description = "Wrong secret", body = Problem,
            content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong secrets from this address", body = Problem,
            content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        BadRequest, NotFound))]
pub async fn issue(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(request): Json<ServiceTokenRequest>,
) -> Result<axum::Json<ServiceToken>, Refusal> {
    let Some(expected) = &state.service_secret else {
        return Err(ApiError::NotFound("Service tokens are not enabled.".to_owned()).into());
    };
    let now = Timestamp::now();
    let caller = state.lockout.service_caller(peer.ip());
    // One scope here; the store's lock query takes two (a login's account and client).
    if let Some(wait) = state.store.login_lock([&caller, &caller], now).await? {
        return Err(Refusal::Locked(wait));
    }
    // Compares digests, so the time taken says nothing about the secret's bytes.
    if Sha256::digest(request.secret.as_bytes()) != Sha256::digest(expected.as_bytes()) {
        let window = state.lockout.window;
        state
            .store
            .record_login_failure(&caller, now, window)
            .await?;
        tracing::warn!("service token refused: wrong secret");
        return Err(ApiError::Unauthorized("Wrong service secret.".to_owned()).into());
    }
    state.store.clear_login_failures(&caller).await?;
    let access_token = state.sign(&Subject::SERVICE, TTL).await?;
    Ok(axum::Json(ServiceToken {
        access_token,
        expires_in: TTL.as_secs(),
    }))
}
