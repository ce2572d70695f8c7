use axum::extract::State;
use contracts::identity::Account;
use platform::auth::Principal;
use platform::docs::NotFound;
use platform::{ApiError, Problem};

use crate::AppState;

/// The caller's own account.
#[utoipa::path(get, path = "/api/auth/me", tag = "identity",
    responses(
        (status = 200, body = Account),
        (status = 401, description = "Missing, invalid or expired access token", body = Problem,
            content_type = "application/problem+json"),
        NotFound))]
pub async fn me(
    State(state): State<AppState>,
    principal: Principal,
) -> platform::Result<axum::Json<Account>> {
    state
        .store
        .user(principal.user_id)
        .await?
        .filter(|user| user.active)
        .map(|user| axum::Json(user.account()))
        .ok_or_else(|| ApiError::NotFound("No account belongs to this token.".to_owned()))
}
