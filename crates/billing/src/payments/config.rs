//! `CAREBOOK_PAYMENTS_*`: where the provider is and the two secrets it shares with the clinic.

use std::time::Duration;

use platform::config::var;

/// How far a webhook's signed timestamp may be from our clock by default.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(5 * 60);

const REQUIRED: [&str; 3] = [
    "CAREBOOK_PAYMENTS_URL",
    "CAREBOOK_PAYMENTS_SECRET_KEY",
    "CAREBOOK_PAYMENTS_WEBHOOK_SECRET",
];
const TOLERANCE: &str = "CAREBOOK_PAYMENTS_WEBHOOK_TOLERANCE_SECS";

/// The provider's API base URL (what `https://api.stripe.com` is in production), the secret
/// API key, and the secret the provider signs webhooks with. `Debug` shows neither secret.
#[derive(Clone)]
pub struct PaymentsConfig {
    pub url: String,
    pub secret_key: String,
    pub webhook_secret: String,
    /// A webhook signed longer ago (or further ahead) than this is refused as a replay.
    pub tolerance: Duration,
}

impl std::fmt::Debug for PaymentsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PaymentsConfig")
            .field("url", &self.url)
            .field("tolerance", &self.tolerance)
            .finish_non_exhaustive()
    }
}

impl PaymentsConfig {
    /// `None` when none of the three is set (card payments off); an error when only some are,
    /// so a half-configured clinic does not start believing it takes cards.
    pub fn from_env() -> anyhow::Result<Option<Self>> {
        let values = REQUIRED.map(var);
        let missing: Vec<&str> = REQUIRED
            .iter()
            .zip(&values)
            .filter(|(_, value)| value.is_none())
            .map(|(key, _)| *key)
            .collect();
        if missing.len() == REQUIRED.len() {
            anyhow::ensure!(
                var(TOLERANCE).is_none(),
                "{TOLERANCE} is set but card payments are off (set {})",
                REQUIRED.join(", ")
            );
            return Ok(None);
        }
        anyhow::ensure!(
            missing.is_empty(),
            "card payments need {} too (or none of {})",
            missing.join(", "),
            REQUIRED.join(", ")
        );
        let tolerance = match var(TOLERANCE) {
            None => DEFAULT_TOLERANCE,
            Some(raw) => raw
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|secs| (1..=3600).contains(secs))
                .map(Duration::from_secs)
                .ok_or_else(|| anyhow::anyhow!("{TOLERANCE} must be 1 to 3600 seconds"))?,
        };
        let [url, secret_key, webhook_secret] = values.map(Option::unwrap_or_default);
        Self::new(url, secret_key, webhook_secret, tolerance).map(Some)
    }

    pub fn new(
        url: String,
        secret_key: String,
        webhook_secret: String,
        tolerance: Duration,
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(
            url.starts_with("http://") || url.starts_with("https://"),
            "CAREBOOK_PAYMENTS_URL must be an http(s) URL"
        );
        anyhow::ensure!(
            !secret_key.trim().is_empty() && !webhook_secret.trim().is_empty(),
            "the payment provider's secrets must not be blank"
        );
        Ok(Self {
            url: url.trim_end_matches('/').to_owned(),
            secret_key,
            webhook_secret,
            tolerance,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_both_secrets() {
        let config = PaymentsConfig::new(
            "http://127.0.0.1:9/".to_owned(),
            "sk_test_hidden".to_owned(),
            "whsec_hidden".to_owned(),
            DEFAULT_TOLERANCE,
        )
        .unwrap();
        let shown = format!("{config:?}");
        assert!(shown.contains("http://127.0.0.1:9"));
        assert!(!shown.contains("hidden"), "{shown}");
        assert_eq!(config.url, "http://127.0.0.1:9");
    }

    #[test]
    fn refuses_what_cannot_work() {
        let config = |url: &str, key: &str| {
            PaymentsConfig::new(
                url.to_owned(),
                key.to_owned(),
                "whsec".to_owned(),
                DEFAULT_TOLERANCE,
            )
        };
        assert!(config("ftp://provider", "sk").is_err());
        assert!(config("https://provider", " ").is_err());
        assert!(config("https://provider", "sk").is_ok());
    }
}
