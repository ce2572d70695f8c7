use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};

use super::claims::{AUDIENCE, Claims, ISSUER};
use super::principal::Principal;
use super::verified::{self, Verified, VerifiedTokens};
use crate::error::ApiError;

/// How long fetching the identity service's published keys may take.
const JWKS_TIMEOUT: Duration = Duration::from_secs(3);

/// An unknown `kid` refreshes the key set at most this often, so garbage tokens cannot make
/// every request fetch the JWKS.
const REFRESH_INTERVAL: Duration = Duration::from_secs(5);

/// Checks access tokens against the identity service's published keys (JWKS), cached by `kid`.
///
/// Only EdDSA is accepted: `none`, HMAC (with a public key as the secret) and every other
/// algorithm are refused before any key is looked at. `exp`, `nbf`, `iss` and `aud` are checked.
/// A token that passed is remembered by its hash until its `exp` while its key stays published,
/// so the signature of a token in use is checked once per process, not once per request.
pub struct TokenVerifier {
    jwks_urls: Vec<String>,
    http: reqwest::Client,
    keys: RwLock<HashMap<String, DecodingKey>>,
    verified: VerifiedTokens,
    last_refresh: tokio::sync::Mutex<Option<Instant>>,
    validation: Validation,
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("jwks_urls", &self.jwks_urls)
            .finish_non_exhaustive()
    }
}

impl TokenVerifier {
    /// Verifies against `{identity}/.well-known/jwks.json` of the given identity instances.
    pub fn new(identity_urls: &[String]) -> Self {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_audience(&[AUDIENCE]);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 30;
        Self {
            jwks_urls: identity_urls
                .iter()
                .map(|url| {
                    let url = crate::config::without_dns_prefix(url);
                    format!("{url}/.well-known/jwks.json")
                })
                .collect(),
            http: crate::client::shared_http().unwrap_or_default(),
            keys: RwLock::default(),
            verified: VerifiedTokens::new(verified::CAPACITY),
            last_refresh: tokio::sync::Mutex::default(),
            validation,
        }
    }

    /// The caller behind `token`, or 401 (503 when the keys cannot be fetched at all).
    pub async fn verify(&self, token: &str) -> Result<Principal, ApiError> {
        let hash = verified::hash(token);
        let now = jiff::Timestamp::now().as_second();
        let published = |kid: &str| self.is_published(kid);
        if let Some(principal) = self.verified.get(&hash, now, published).await {
            return Ok(principal);
        }
        let verified = self.verify_signature(token).await?;
        let principal = verified.principal.clone();
        self.verified.insert(hash, verified, now).await;
        Ok(principal)
    }

    /// The full check: header, key, signature and claims.
    async fn verify_signature(&self, token: &str) -> Result<Verified, ApiError> {
        let invalid =
            || ApiError::Unauthorized("The access token is invalid or expired.".to_owned());
        let header = decode_header(token).map_err(|_| invalid())?;
        if header.alg != Algorithm::EdDSA {
            return Err(invalid());
        }
        let kid = header.kid.ok_or_else(invalid)?;
        let key = match self.cached(&kid) {
            Some(key) => key,
            None => {
                self.refresh().await?;
                self.cached(&kid).ok_or_else(invalid)?
            }
        };
        let data = decode::<Claims>(token, &key, &self.validation).map_err(|_| invalid())?;
        Ok(Verified {
            principal: Principal::from_claims(&data.claims).ok_or_else(invalid)?,
            kid,
            exp: data.claims.exp,
        })
    }

    fn is_published(&self, kid: &str) -> bool {
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
        keys.contains_key(kid)
    }

    fn cached(&self, kid: &str) -> Option<DecodingKey> {
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
        keys.get(kid).cloned()
    }

    async fn refresh(&self) -> Result<(), ApiError> {
        let mut last = self.last_refresh.lock().await;
        let have_keys = !self
            .keys
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty();
        if have_keys && last.is_some_and(|at| at.elapsed() < REFRESH_INTERVAL) {
            return Ok(());
        }
        let set = self.fetch().await.ok_or_else(|| {
            ApiError::Unavailable(
                "The identity service is unavailable; try again shortly.".to_owned(),
            )
        })?;
        let fresh: HashMap<String, DecodingKey> = set
            .keys
            .iter()
            .filter_map(|jwk| {
                let kid = jwk.common.key_id.clone()?;
                DecodingKey::from_jwk(jwk).ok().map(|key| (kid, key))
            })
            .collect();
        *self.keys.write().unwrap_or_else(|e| e.into_inner()) = fresh;
        *last = Some(Instant::now());
        Ok(())
    }

    async fn fetch(&self) -> Option<JwkSet> {
        for url in &self.jwks_urls {
            match self.http.get(url).timeout(JWKS_TIMEOUT).send().await {
                Ok(response) if response.status().is_success() => {
                    if let Ok(set) = response.json::<JwkSet>().await {
                        return Some(set);
                    }
                }
                _ => tracing::warn!("cannot fetch the identity service's signing keys"),
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;
    use ed25519_dalek::pkcs8::EncodePrivateKey;
    use jsonwebtoken::{EncodingKey, Header, encode};

    use super::*;
    use crate::auth::Role;

    /// A verifier holding one published key (`kid`), as after a refresh, that will not fetch
    /// again for a while; and the key's signer.
    fn verifier_with_key(kid: &str) -> (TokenVerifier, EncodingKey) {
        let signing = SigningKey::from_bytes(&[7; 32]);
        let der = signing.to_pkcs8_der().unwrap();
        let public = DecodingKey::from_ed_der(signing.verifying_key().as_bytes());
        let verifier = TokenVerifier::new(&["http://127.0.0.1:1".to_owned()]);
        publish(&verifier, &[(kid, public)]);
        (verifier, EncodingKey::from_ed_der(der.as_bytes()))
    }

    /// What a refresh that found exactly `keys` leaves behind.
    fn publish(verifier: &TokenVerifier, keys: &[(&str, DecodingKey)]) {
        let keys = keys.iter().map(|(k, v)| ((*k).to_owned(), v.clone()));
        *verifier.keys.write().unwrap() = keys.collect();
        *verifier.last_refresh.try_lock().unwrap() = Some(Instant::now());
    }

    fn token(kid: &str, key: &EncodingKey, exp_in: i64) -> String {
        let now = jiff::Timestamp::now().as_second();
        let claims = Claims {
            sub: "7".to_owned(),
            role: Role::Patient,
            patient_id: Some(3),
            doctor_id: None,
            exp: now + exp_in,
            iat: now,
            nbf: now,
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            jti: uuid::Uuid::new_v4().to_string(),
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid.to_owned());
        encode(&header, &claims, key).unwrap()
    }

    #[tokio::test]
    async fn a_verified_token_is_answered_from_memory_without_its_signature_check() {
        let (verifier, signer) = verifier_with_key("k1");
        let token = token("k1", &signer, 900);
        let principal = verifier.verify(&token).await.unwrap();
        assert_eq!((principal.user_id, principal.patient_id), (7, Some(3)));

        // Under another key with the same kid the signature no longer verifies: only the
        // remembered verification can still answer.
        let other = SigningKey::from_bytes(&[9; 32]);
        let other = DecodingKey::from_ed_der(other.verifying_key().as_bytes());
        publish(&verifier, &[("k1", other)]);
        assert_eq!(verifier.verify(&token).await.unwrap(), principal);
        let fresh = self::token("k1", &signer, 900);
        assert!(verifier.verify(&fresh).await.is_err());
    }

    #[tokio::test]
    async fn a_token_of_a_key_no_longer_published_is_refused_though_remembered() {
        let (verifier, signer) = verifier_with_key("old");
        let token = token("old", &signer, 900);
        verifier.verify(&token).await.unwrap();

        let new = SigningKey::from_bytes(&[9; 32]);
        publish(
            &verifier,
            &[(
                "new",
                DecodingKey::from_ed_der(new.verifying_key().as_bytes()),
            )],
        );
        let refused = verifier.verify(&token).await.unwrap_err();
        assert!(matches!(refused, ApiError::Unauthorized(_)), "{refused:?}");
    }

    #[tokio::test]
    async fn a_tampered_token_is_checked_in_full_and_refused() {
        let (verifier, signer) = verifier_with_key("k1");
        let token = token("k1", &signer, 900);
        verifier.verify(&token).await.unwrap();
        let mut tampered = token.clone();
        tampered.insert(tampered.len() - 3, 'x');
        assert!(verifier.verify(&tampered).await.is_err());
    }
}
