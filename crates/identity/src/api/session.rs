use axum::extract::State;
use axum::http::StatusCode;
use contracts::identity::{LogoutRequest, RefreshRequest, TokenPair};
use jiff::Timestamp;
use platform::auth::Principal;
use platform::docs::BadRequest;
use platform::extract::Json;
use platform::{ApiError, Problem};

use super::{NO_STORE, Refusal, TokenAnswer, token_pair};
use crate::AppState;
use crate::store::Rotation;
use crate::tokens::refresh::{NewRefreshToken, hash_refresh_token};

/// Longer than any token we hand out; longer ones are not looked up at all.
const MAX_TOKEN_CHARS: usize = 256;

/// Exchange a refresh token for a new pair.
///
/// The presented token stops working (rotation). Presenting an already used or revoked token
/// means a copy exists somewhere: the whole session is revoked and the answer is 401.
#[utoipa::path(post, path = "/api/auth/refresh", tag = "identity",
    request_body = RefreshRequest,
    responses(
        (status = 200, body = TokenPair),
        BadRequest,
        (status = 401, description = "Unknown, expired, used or revoked refresh token",
            body = Problem, content_type = "application/problem+json")))]
pub async fn refresh(
    State(state): State<AppState>,
    Json(request): Json<RefreshRequest>,
) -> Result<TokenAnswer, Refusal> {
    if request.refresh_token.len() > MAX_TOKEN_CHARS {
        return Err(invalid_refresh_token().into());
    }
    let now = Timestamp::now();
    let next = NewRefreshToken::generate();
    let rotation = state
        .store
        .rotate_refresh_token(
            &hash_refresh_token(&request.refresh_token),
            &next.hash,
            state.refresh_expiry(now),
            now,
        )
        .await?;
    let (user_id, family_id) = match rotation {
        Rotation::Rotated { user_id, family_id } => (user_id, family_id),
        Rotation::Reused { user_id } => {
            tracing::warn!(
                user_id,
                "a used refresh token was presented again; session revoked"
            );
            return Err(invalid_refresh_token().into());
        }
        Rotation::Expired | Rotation::Unknown => return Err(invalid_refresh_token().into()),
    };
    let Some(user) = state.store.user(user_id).await?.filter(|u| u.active) else {
        state.store.revoke_refresh_family(&family_id, now).await?;
        return Err(invalid_refresh_token().into());
    };
    let pair = token_pair(&state, &user, next.token).await?;
    tracing::info!(user_id, "tokens refreshed");
    Ok((NO_STORE, axum::Json(pair)))
}

/// End the session a refresh token belongs to (every token of it stops working).
///
/// Answers 204 whether or not the token was the caller's, so it reveals nothing about others.
#[utoipa::path(post, path = "/api/auth/logout", tag = "identity",
    request_body = LogoutRequest,
    responses((status = 204, description = "Logged out"), BadRequest))]
pub async fn logout(
    State(state): State<AppState>,
    principal: Principal,
    Json(request): Json<LogoutRequest>,
) -> platform::Result<StatusCode> {
    if request.refresh_token.len() <= MAX_TOKEN_CHARS {
        let hash = hash_refresh_token(&request.refresh_token);
        let revoked = state
            .store
            .revoke_family_of(&hash, principal.user_id, Timestamp::now())
            .await?;
        if revoked {
            tracing::info!(user_id = principal.user_id, "logged out");
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

fn invalid_refresh_token() -> ApiError {
    ApiError::Unauthorized("The refresh token is invalid or expired; log in again.".to_owned())
}
