//! Sends due deliveries: the event's envelope as JSON, signed with HMAC-SHA256 over
//! `"{timestamp}.{body}"` so a receiver can check both origin and freshness, retried with
//! exponential backoff until the receiver answers 2xx.

use std::time::Duration;

use hmac::{Hmac, Mac};
use jiff::Timestamp;
use platform::time::Clock;
use sha2::Sha256;

use super::store::{Attempt, DueDelivery, WebhookStore};
use super::target::{GuardedResolver, is_public, parse_url};
use crate::policy;

/// Attempts before a delivery is given up (the last ones an hour apart: about a day in all).
const MAX_ATTEMPTS: i64 = 30;
const LEASE: Duration = Duration::from_secs(60);
const BATCH: i64 = 32;

/// The HTTP client of deliveries: short timeouts, no redirects, guarded name resolution.
#[derive(Debug, Clone)]
pub struct Sender {
    http: reqwest::Client,
    allow_private: bool,
}

impl Sender {
    pub fn new(allow_private: bool) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(GuardedResolver { allow_private })
            .build()?;
        Ok(Self {
            http,
            allow_private,
        })
    }

    /// Posts one delivery; the receiver's status, or why nothing was sent.
    async fn post(&self, delivery: &DueDelivery, now: Timestamp) -> Result<u16, String> {
        let url = parse_url(&delivery.url)?;
        // Addresses written as IP literals never reach the resolver: check them here.
        let literal = url
            .host_str()
            .map(|h| h.trim_start_matches('[').trim_end_matches(']'))
            .and_then(|h| h.parse().ok());
        if let Some(ip) = literal
            && !self.allow_private
            && !is_public(ip)
        {
            return Err("target refused: not a public address".to_owned());
        }
        let timestamp = now.as_second().to_string();
        let response = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("x-carebook-event", &delivery.event_type)
            .header("x-carebook-timestamp", &timestamp)
            .header(
                "x-carebook-signature",
                sign(&delivery.secret, &timestamp, &delivery.payload),
            )
            .header("x-carebook-delivery", delivery.id.to_string())
            .body(delivery.payload.clone())
            .send()
            .await
            .map_err(|err| {
                if err.is_timeout() {
                    "timed out".to_owned()
                } else {
                    "could not connect".to_owned()
                }
            })?;
        Ok(response.status().as_u16())
    }
}

/// `sha256=<hex HMAC-SHA256 of "timestamp.body">` with the subscription's secret.
pub fn sign(secret: &str, timestamp: &str, body: &str) -> String {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Sends every due delivery once; how many were attempted.
pub async fn deliver_due(
    store: &WebhookStore,
    sender: &Sender,
    clock: &Clock,
) -> anyhow::Result<usize> {
    let now = clock.now();
    let lease_until = now + jiff::SignedDuration::try_from(LEASE)?;
    let worker = policy::delivery_worker();
    let due = store.claim_due(worker, now, lease_until, BATCH).await?;
    for delivery in &due {
        let (status, outcome) = match sender.post(delivery, now).await {
            Ok(status) if (200..300).contains(&status) => (Some(status), Attempt::Delivered),
            Ok(status) => (
                Some(status),
                retry(delivery, now, format!("answered {status}")),
            ),
            Err(error) => (None, retry(delivery, now, error)),
        };
        store
            .record_attempt(worker, delivery.id, clock.now(), status, outcome)
            .await?;
    }
    Ok(due.len())
}

fn retry(delivery: &DueDelivery, now: Timestamp, error: String) -> Attempt {
    let attempts = delivery.attempts + 1;
    if attempts >= MAX_ATTEMPTS {
        return Attempt::GiveUp { error };
    }
    // 5 s, 10 s, 20 s, … capped at an hour.
    let wait = 5i64
        .saturating_mul(1 << attempts.clamp(1, 12).saturating_sub(1))
        .min(3600);
    Attempt::Retry {
        at: now + jiff::SignedDuration::from_secs(wait),
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_over_timestamp_dot_body() {
        // Computed independently: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac secret
        assert_eq!(
            sign("secret", "1700000000", r#"{"a":1}"#),
            "sha256=49f24e537407743fa4a0242bb63b94b9a47ee99cbbe071ccd8a22550ae411686"
        );
    }
}
