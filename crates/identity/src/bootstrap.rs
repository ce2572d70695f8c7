//! Work at start (the bootstrap admin) and in the background (retiring keys, forgetting old
//! tokens and failure counters).

use std::time::Duration;

use anyhow::Context;
use contracts::identity::AccountRole;
use jiff::{SignedDuration, Timestamp};
use platform::ApiError;
use platform::values::Email;

use crate::domain::password::Password;
use crate::hashing::PasswordHasher;
use crate::store::IdentityStore;
use crate::tokens::keys::retirement_age;

const HOUSEKEEPING_INTERVAL: Duration = Duration::from_secs(3600);
/// Expired refresh tokens are kept this long, so a late reuse still revokes its family.
const EXPIRED_TOKEN_RETENTION: SignedDuration = SignedDuration::from_hours(24);

/// Creates the ADMIN `email` unless an account with that e-mail exists (so later starts, and
/// several instances starting together, change nothing). The password must pass the policy.
pub async fn ensure_admin(
    store: &IdentityStore,
    hasher: &PasswordHasher,
    email: &str,
    password: &str,
) -> anyhow::Result<()> {
    let email = Email::parse(email).map_err(|err| anyhow::anyhow!("CAREBOOK_ADMIN_EMAIL {err}"))?;
    let password = Password::parse(password, Some(email.as_str()))
        .map_err(|err| anyhow::anyhow!("CAREBOOK_ADMIN_PASSWORD {err}"))?;
    if store.user_by_email(email.as_str()).await?.is_some() {
        return Ok(());
    }
    let hash = hasher.hash(&password).await?;
    match store
        .insert_user(&email, &hash, AccountRole::Admin, true, Timestamp::now())
        .await
    {
        Ok(user_id) => {
            tracing::info!(user_id, "created the bootstrap admin account");
            Ok(())
        }
        // Another instance created it a moment ago.
        Err(ApiError::Conflict(_)) => Ok(()),
        Err(err) => Err(anyhow::anyhow!("{err}")).context("cannot create the bootstrap admin"),
    }
}

/// Runs [`tidy`] every hour, forever.
pub async fn housekeeping(store: IdentityStore, access_ttl: Duration, login_window: Duration) {
    let mut interval = tokio::time::interval(HOUSEKEEPING_INTERVAL);
    loop {
        interval.tick().await;
        if let Err(err) = tidy(&store, access_ttl, login_window, Timestamp::now()).await {
            tracing::warn!(error = %err, "identity housekeeping failed");
        }
    }
}

/// Retires superseded signing keys and deletes expired refresh tokens and stale failure counts.
pub async fn tidy(
    store: &IdentityStore,
    access_ttl: Duration,
    login_window: Duration,
    now: Timestamp,
) -> platform::Result<()> {
    let retired = store
        .retire_superseded_signing_keys(now, retirement_age(access_ttl))
        .await?;
    if retired > 0 {
        tracing::info!(retired, "retired superseded signing keys");
    }
    store
        .prune_refresh_tokens(now - EXPIRED_TOKEN_RETENTION)
        .await?;
    store.prune_login_failures(now, login_window).await?;
    Ok(())
}
