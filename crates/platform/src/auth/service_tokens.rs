use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::Mutex;

use crate::client::{Forwarded, ServiceClient};
use crate::error::ApiError;

/// `CAREBOOK_SERVICE_SECRET` buys the most privileged token there is: it must be at least this
/// long (e.g. `openssl rand -hex 32` gives 64 characters).
pub const MIN_SECRET_BYTES: usize = 32;

/// Refuses a service secret too short to withstand guessing; every process that holds one
/// checks it at start.
pub fn check_secret(secret: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        secret.len() >= MIN_SECRET_BYTES,
        "CAREBOOK_SERVICE_SECRET is too short: it must be at least {MIN_SECRET_BYTES} bytes \
         (e.g. `openssl rand -hex 32`)"
    );
    Ok(())
}

/// Renew this long before expiry, so a token never runs out in the middle of a call.
const MARGIN: Duration = Duration::from_secs(30);

/// A service's own `SERVICE` tokens, obtained from the identity service with the deployment's
/// shared secret (`CAREBOOK_SERVICE_SECRET`) and cached until shortly before they expire.
/// Used for work no user asked for: consuming events, sending reminders.
pub struct ServiceTokens {
    identity: ServiceClient,
    secret: String,
    cached: Mutex<Option<(String, Instant)>>,
}

impl std::fmt::Debug for ServiceTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceTokens").finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Issued {
    access_token: String,
    expires_in: u64,
}

impl ServiceTokens {
    /// Fails when `secret` is too short (see [`check_secret`]).
    pub fn new(identity_urls: &[String], secret: String) -> anyhow::Result<Self> {
        check_secret(&secret)?;
        Ok(Self {
            identity: ServiceClient::new(
                "identity",
                identity_urls.to_vec(),
                Duration::from_secs(5),
            )?,
            secret,
            cached: Mutex::default(),
        })
    }

    /// A valid token, fetched anew only when the cached one is about to expire.
    pub async fn token(&self) -> Result<String, ApiError> {
        let mut cached = self.cached.lock().await;
        if let Some((token, until)) = cached.as_ref()
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let body = serde_json::json!({"secret": self.secret});
        let issued: Issued = self
            .identity
            .send_json(
                reqwest::Method::POST,
                "/api/auth/service-token",
                Some(&body),
                &Forwarded::default(),
            )
            .await?;
        let until = Instant::now() + Duration::from_secs(issued.expires_in).saturating_sub(MARGIN);
        *cached = Some((issued.access_token.clone(), until));
        Ok(issued.access_token)
    }

    /// What to send with a call made on the service's own behalf.
    pub async fn forwarded(&self) -> Result<Forwarded, ApiError> {
        Ok(Forwarded::service(&self.token().await?, None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_under_32_bytes_is_refused() {
        let urls = ["http://127.0.0.1:1".to_owned()];
        let short = "s".repeat(MIN_SECRET_BYTES - 1);
        let refused = ServiceTokens::new(&urls, short.clone()).expect_err("too short");
        assert!(
            refused.to_string().contains("at least 32 bytes"),
            "{refused}"
        );
        assert!(!refused.to_string().contains(&short));
        assert!(ServiceTokens::new(&urls, "s".repeat(MIN_SECRET_BYTES)).is_ok());
    }
}
