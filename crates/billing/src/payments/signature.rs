//! The provider's webhook signature, Stripe's scheme: the header
//! `Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>` (more
//! than one `v1` while the provider rolls its secret). The MAC is checked over the raw bytes in
//! constant time, then the timestamp against our clock, so a payload captured once cannot be
//! replayed later.

use std::time::Duration;

use hmac::{Hmac, Mac};
use jiff::Timestamp;
use sha2::Sha256;

/// The header the provider signs with.
pub const HEADER: &str = "stripe-signature";

/// Why a webhook was refused; each is a 400 and changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No `Stripe-Signature` header.
    Missing,
    /// A header without a timestamp or a `v1` signature.
    Malformed,
    /// No `v1` signature matches the body under our secret.
    Mismatch,
    /// Signed correctly, but too long ago (or ahead): a replay, or a clock far off.
    Stale,
}

impl Refusal {
    pub fn detail(self) -> &'static str {
        match self {
            Self::Missing => "The webhook signature is missing: send the Stripe-Signature header.",
            Self::Malformed => {
                "The webhook signature is malformed: expected `t=<unix time>,v1=<hex HMAC-SHA256>`."
            }
            Self::Mismatch => "The webhook signature does not match its body.",
            Self::Stale => {
                "The webhook signature's timestamp is outside the tolerance: replays are refused."
            }
        }
    }
}

/// Proof that a webhook body was signed by the provider, recently: only
/// [`WebhookVerifier::verify`] makes one, and only a signed event can mark an invoice paid.
#[derive(Debug, PartialEq, Eq)]
pub struct Signed(());

/// Checks webhook signatures made with the shared secret. `Debug` does not show it.
#[derive(Clone)]
pub struct WebhookVerifier {
    secret: Vec<u8>,
    tolerance: Duration,
}

impl std::fmt::Debug for WebhookVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookVerifier")
            .field("tolerance", &self.tolerance)
            .finish_non_exhaustive()
    }
}

impl WebhookVerifier {
    pub fn new(secret: &[u8], tolerance: Duration) -> Self {
        Self {
            secret: secret.to_vec(),
            tolerance,
        }
    }

    /// Ok when `header` signs `body` with our secret at a time within the tolerance of `now`.
    pub fn verify(
        &self,
        header: Option<&str>,
        body: &[u8],
        now: Timestamp,
    ) -> Result<Signed, Refusal> {
        let header = header.ok_or(Refusal::Missing)?;
        let (timestamp, signatures) = parse(header)?;
        let mut mac = self.mac(timestamp);
        mac.update(body);
        // `verify_slice` compares in constant time.
        let matches = signatures
            .iter()
            .any(|signature| mac.clone().verify_slice(signature).is_ok());
        if !matches {
            return Err(Refusal::Mismatch);
        }
        let age = now.as_second().abs_diff(timestamp);
        if age > self.tolerance.as_secs() {
            return Err(Refusal::Stale);
        }
        Ok(Signed(()))
    }

    /// The header value signing `body` at `timestamp` (what the provider sends).
    pub fn sign(&self, body: &[u8], timestamp: i64) -> String {
        let mut mac = self.mac(timestamp);
        mac.update(body);
        let signature = hex::encode(mac.finalize().into_bytes());
        format!("t={timestamp},v1={signature}")
    }

    fn mac(&self, timestamp: i64) -> Hmac<Sha256> {
        // HMAC takes a key of any length: this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.secret)
            .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac
    }
}

/// The timestamp and every `v1` signature; other schemes (`v0`) are ignored.
fn parse(header: &str) -> Result<(i64, Vec<Vec<u8>>), Refusal> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let Some((key, value)) = part.trim().split_once('=') else {
            return Err(Refusal::Malformed);
        };
        match key {
            "t" => timestamp = Some(value.parse::<i64>().map_err(|_| Refusal::Malformed)?),
            "v1" => signatures.push(hex::decode(value).map_err(|_| Refusal::Malformed)?),
            _ => {}
        }
    }
    match timestamp {
        Some(t) if !signatures.is_empty() => Ok((t, signatures)),
        _ => Err(Refusal::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOLERANCE: Duration = Duration::from_secs(300);

    fn verifier() -> WebhookVerifier {
        WebhookVerifier::new(b"whsec_test", TOLERANCE)
    }

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(seconds).unwrap()
    }

    #[test]
    fn the_signature_is_hmac_sha256_over_timestamp_dot_body() {
        // printf '1700000000.{"id":"evt_1"}' | openssl dgst -sha256 -hmac whsec_test
        let header = verifier().sign(br#"{"id":"evt_1"}"#, 1_700_000_000);
        assert_eq!(
            header,
            "t=1700000000,v1=c89214b5b5da833daed6f0b8c5bb6bd58cea9022bd80ccc78230f3942d632925"
        );
    }

    #[test]
    fn accepts_a_fresh_genuine_signature_and_refuses_the_rest() {
        let v = verifier();
        let body = br#"{"id":"evt_1","type":"payment_intent.succeeded"}"#;
        let now = 1_700_000_000;
        let header = v.sign(body, now);
        assert!(v.verify(Some(&header), body, at(now + 299)).is_ok());
        assert!(v.verify(Some(&header), body, at(now - 299)).is_ok());
        assert_eq!(
            v.verify(Some(&header), body, at(now + 301)),
            Err(Refusal::Stale)
        );
        assert_eq!(v.verify(None, body, at(now)), Err(Refusal::Missing));
        let tampered = br#"{"id":"evt_1","type":"payment_intent.succeeded" }"#;
        assert_eq!(
            v.verify(Some(&header), tampered, at(now)),
            Err(Refusal::Mismatch)
        );
        let other = WebhookVerifier::new(b"whsec_other", TOLERANCE).sign(body, now);
        assert_eq!(
            v.verify(Some(&other), body, at(now)),
            Err(Refusal::Mismatch)
        );
        // The timestamp is signed too: moving it breaks the signature.
        let moved = header.replace(&now.to_string(), &(now + 1).to_string());
        assert_eq!(
            v.verify(Some(&moved), body, at(now)),
            Err(Refusal::Mismatch)
        );
    }

    #[test]
    fn any_v1_may_match_and_bad_headers_are_malformed() {
        let v = verifier();
        let body = b"{}";
        let genuine = v.sign(body, 1_700_000_000);
        let signature = genuine.split(",v1=").nth(1).unwrap();
        let rolled = format!("t=1700000000,v1={},v0=ab,v1={signature}", "00".repeat(32));
        assert!(v.verify(Some(&rolled), body, at(1_700_000_000)).is_ok());
        for header in [
            "",
            "t=1700000000",
            "v1=00",
            "t=soon,v1=00",
            "t=1700000000,v1=zz",
            "garbage",
        ] {
            assert_eq!(
                v.verify(Some(header), body, at(1_700_000_000)),
                Err(Refusal::Malformed),
                "{header}"
            );
        }
    }
}
