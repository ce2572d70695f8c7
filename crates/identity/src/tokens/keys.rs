//! Ed25519 signing keys: made here, kept in the identity database, published as JWKs.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use jiff::{SignedDuration, Timestamp};
use jsonwebtoken::EncodingKey;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, Jwk, KeyAlgorithm,
    OctetKeyPairParameters, OctetKeyPairType, PublicKeyUse,
};
use rand::RngCore;

use platform::master_key::{MasterKey, Sealed};

/// A new key is published this long before it signs, so that every verifier that fetched the
/// key set just before the key existed may fetch it again (they do so at most every 5 s) before
/// it meets a token signed with it.
pub const ACTIVATION_DELAY: Duration = Duration::from_secs(10);
/// How long an identity instance keeps using the signing key it looked up.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(30);
/// Clock skew verifiers tolerate on `exp`.
pub const VERIFIER_LEEWAY: Duration = Duration::from_secs(30);

/// A signing key as stored: the private key (PKCS#8 DER) sealed under the key-encryption key,
/// the public key as the base64url bytes a JWK's `x` carries.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKeyRecord {
    pub kid: String,
    pub private_key: Sealed,
    pub public_key: String,
    pub created_at: Timestamp,
}

impl std::fmt::Debug for SigningKeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyRecord")
            .field("kid", &self.kid)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// What a sealed private key is bound to under the master key: its `kid`.
pub fn signing_key_binding(kid: &str) -> String {
    format!("signing key {kid}")
}

impl SigningKeyRecord {
    /// A fresh key from the operating system's random generator, sealed under `kek`.
    pub fn generate(now: Timestamp, kek: &MasterKey) -> anyhow::Result<Self> {
        let mut seed = [0u8; ed25519_dalek::SECRET_KEY_LENGTH];
        rand::rng().fill_bytes(&mut seed);
        let key = ed25519_dalek::SigningKey::from_bytes(&seed);
        let der = key
            .to_pkcs8_der()
            .map_err(|err| anyhow::anyhow!("cannot encode a signing key: {err}"))?;
        let kid = uuid::Uuid::now_v7().simple().to_string();
        Ok(Self {
            private_key: kek.seal(&signing_key_binding(&kid), der.as_bytes())?,
            kid,
            public_key: URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes()),
            created_at: now,
        })
    }

    /// The key to sign with; fails under another key-encryption key or when the stored private
    /// key is damaged.
    pub fn encoding_key(&self, kek: &MasterKey) -> anyhow::Result<EncodingKey> {
        let der = kek.open(&signing_key_binding(&self.kid), &self.private_key)?;
        ed25519_dalek::SigningKey::from_pkcs8_der(&der)
            .map_err(|err| anyhow::anyhow!("signing key {} is damaged: {err}", self.kid))?;
        Ok(EncodingKey::from_ed_der(&der))
    }

    /// The public half, as published in the JWKS.
    pub fn jwk(&self) -> Jwk {
        Jwk {
            common: CommonParameters {
                public_key_use: Some(PublicKeyUse::Signature),
                key_algorithm: Some(KeyAlgorithm::EdDSA),
                key_id: Some(self.kid.clone()),
                ..CommonParameters::default()
            },
            algorithm: AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
                key_type: OctetKeyPairType::OctetKeyPair,
                curve: EllipticCurve::Ed25519,
                x: self.public_key.clone(),
            }),
        }
    }
}

/// The key that signs now, of the published keys (newest first): the newest one published
/// for at least [`ACTIVATION_DELAY`], or, when none is that old (the very first key), the newest.
pub fn signing_key_at(published: &[SigningKeyRecord], now: Timestamp) -> Option<&SigningKeyRecord> {
    let ripe = now - signed(ACTIVATION_DELAY);
    published
        .iter()
        .find(|key| key.created_at <= ripe)
        .or_else(|| published.first())
}

/// How long after its successor was created a key may be retired: by then its successor has
/// signed for a while everywhere, and every token the old key signed has expired.
pub fn retirement_age(access_ttl: Duration) -> Duration {
    ACTIVATION_DELAY + KEY_CACHE_TTL + access_ttl + VERIFIER_LEEWAY
}

pub fn signed(duration: Duration) -> SignedDuration {
    SignedDuration::try_from(duration).unwrap_or(SignedDuration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_sign_and_publish_their_public_half() {
        let now = Timestamp::now();
        let kek = MasterKey::generate();
        let key = SigningKeyRecord::generate(now, &kek).unwrap();
        assert!(key.encoding_key(&kek).is_ok());
        assert_eq!(URL_SAFE_NO_PAD.decode(&key.public_key).unwrap().len(), 32);
        let jwk = serde_json::to_value(key.jwk()).unwrap();
        assert_eq!(jwk["kty"], "OKP");
        assert_eq!(jwk["crv"], "Ed25519");
        assert_eq!(jwk["alg"], "EdDSA");
        assert_eq!(jwk["use"], "sig");
        assert_eq!(jwk["kid"], key.kid.as_str());
        assert_ne!(SigningKeyRecord::generate(now, &kek).unwrap().kid, key.kid);
        assert!(!format!("{key:?}").contains(&key.private_key.ciphertext));
    }

    #[test]
    fn a_damaged_private_key_is_refused() {
        let kek = MasterKey::generate();
        let mut key = SigningKeyRecord::generate(Timestamp::now(), &kek).unwrap();
        key.private_key = kek
            .seal(&signing_key_binding(&key.kid), b"not a key")
            .unwrap();
        assert!(key.encoding_key(&kek).is_err());
    }

    #[test]
    fn the_stored_private_key_is_no_signing_key_without_the_kek() {
        use base64::engine::general_purpose::STANDARD;
        let kek = MasterKey::generate();
        let key = SigningKeyRecord::generate(Timestamp::now(), &kek).unwrap();
        let stored = STANDARD.decode(&key.private_key.ciphertext).unwrap();
        assert!(ed25519_dalek::SigningKey::from_pkcs8_der(&stored).is_err());
        assert!(key.encoding_key(&MasterKey::generate()).is_err());
    }

    #[test]
    fn a_new_key_signs_only_once_it_had_time_to_be_published() {
        let t0 = Timestamp::now();
        let at = |secs: i64| t0 + SignedDuration::from_secs(secs);
        let kek = MasterKey::generate();
        let old = SigningKeyRecord::generate(t0, &kek).unwrap();
        let new = SigningKeyRecord::generate(at(3600), &kek).unwrap();
        assert_eq!(
            signing_key_at(std::slice::from_ref(&old), t0).unwrap().kid,
            old.kid
        );
        let both = [new.clone(), old.clone()];
        assert_eq!(signing_key_at(&both, at(3601)).unwrap().kid, old.kid);
        assert_eq!(signing_key_at(&both, at(3610)).unwrap().kid, new.kid);
        assert!(signing_key_at(&[], t0).is_none());
    }
}
