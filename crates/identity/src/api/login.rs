use axum::extract::State;
use contracts::identity::{LoginRequest, TokenPair};
use jiff::Timestamp;
use platform::docs::BadRequest;
use platform::extract::Json;
use platform::values::Email;
use platform::{ApiError, Problem};

use super::client::ClientIp;
use super::{NO_STORE, Refusal, TokenAnswer, bad_credentials, token_pair};
use crate::AppState;
use crate::domain::password::MAX_CHARS;
use crate::tokens::refresh::NewRefreshToken;

/// Log in with e-mail and password.
///
/// Unknown e-mail and wrong password get the same answer in about the same time. After
/// repeated failures for one account (or from one client address) logins are refused with 429
/// and `Retry-After` for a while that grows with further failures.
#[utoipa::path(post, path = "/api/auth/login", tag = "identity",
    request_body = LoginRequest,
    responses(
        (status = 200, body = TokenPair),
        BadRequest,
        (status = 401, description = "Wrong e-mail address or password", body = Problem,
            content_type = "application/problem+json"),
        (status = 429, description = "Too many failed logins", body = Problem,
            content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait")))))]
pub async fn login(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    Json(request): Json<LoginRequest>,
) -> Result<TokenAnswer, Refusal> {
    let now = Timestamp::now();
    // Normalized like stored e-mails; an address that is not one matches no account but is
    // still counted and locked like any other.
    let email = Email::parse(&request.email)
        .map(|e| e.as_str().to_owned())
        .unwrap_or_else(|_| request.email.trim().to_lowercase());
    let account = state.lockout.account(&email);
    let from_client = state.lockout.client(client);
    if let Some(wait) = state
        .store
        .login_lock([&account, &from_client], now)
        .await?
    {
        return Err(Refusal::Locked(wait));
    }

    let user = state
        .store
        .user_by_email(&email)
        .await?
        .filter(|user| user.active);
    let plausible = request.password.chars().count() <= MAX_CHARS;
    let stored = user
        .as_ref()
        .filter(|_| plausible)
        .map(|u| u.password_hash.as_str());
    let matches = state.hasher.verify(&request.password, stored).await?;
    let Some(user) = user.filter(|_| matches) else {
        for scope in [&account, &from_client] {
            let window = state.lockout.window;
            state.store.record_login_failure(scope, now, window).await?;
        }
        tracing::info!("login refused: wrong e-mail address or password");
        return Err(bad_credentials().into());
    };

    state.store.clear_login_failures(&account).await?;
    if state.hasher.needs_rehash(&user.password_hash) {
        rehash(&state, user.id, &request.password).await;
    }
    let refresh = NewRefreshToken::generate();
    let family = uuid::Uuid::new_v4().to_string();
    state
        .store
        .insert_refresh_token(
            &family,
            user.id,
            &refresh.hash,
            state.refresh_expiry(now),
            now,
        )
        .await?;
    let pair = token_pair(&state, &user, refresh.token).await?;
    tracing::info!(user_id = user.id, "logged in");
    Ok((NO_STORE, axum::Json(pair)))
}

/// Stores the password again with today's hashing parameters; a failure only means it is
/// tried again next time.
async fn rehash(state: &AppState, user_id: i64, password: &str) {
    let Ok(password) = crate::domain::password::Password::parse(password, None) else {
        return;
    };
    let stored = match state.hasher.hash(&password).await {
        Ok(hash) => {
            state
                .store
                .set_password_hash(user_id, &hash, Timestamp::now())
                .await
        }
        Err(err) => Err(ApiError::Internal(err)),
    };
    if let Err(err) = stored {
        tracing::warn!(user_id, error = %err, "cannot upgrade a password hash");
    }
}
