use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};

use super::claims::{AUDIENCE, Claims, ISSUER};
use super::principal::Principal;
use crate::error::ApiError;

/// An unknown `kid` refreshes the key set at most this often, so garbage tokens cannot make
/// every request fetch the JWKS.
const REFRESH_INTERVAL: Duration = Duration::from_secs(5);

/// Checks access tokens against the identity service's published keys (JWKS), cached by `kid`.
///
/// Only EdDSA is accepted: `none`, HMAC (with a public key as the secret) and every other
/// algorithm are refused before any key is looked at. `exp`, `nbf`, `iss` and `aud` are checked.
pub struct TokenVerifier {
    jwks_urls: Vec<String>,
    http: reqwest::Client,
    keys: RwLock<HashMap<String, DecodingKey>>,
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
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(3))
                .build()
                .unwrap_or_default(),
            keys: RwLock::default(),
            last_refresh: tokio::sync::Mutex::default(),
            validation,
        }
    }

    /// The caller behind `token`, or 401 (503 when the keys cannot be fetched at all).
    pub async fn verify(&self, token: &str) -> Result<Principal, ApiError> {
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
        Principal::from_claims(&data.claims).ok_or_else(invalid)
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
            match self.http.get(url).send().await {
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
