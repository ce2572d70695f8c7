//! The signing keys in use: which one signs, which ones the JWKS publishes, and rotation.
//!
//! # Key rotation
//!
//! 1. [`rotate_signing_key`] generates a new Ed25519 key and stores it. It is published in the
//!    JWKS at once, and becomes the signing key [`ACTIVATION_DELAY`] later (so every verifier
//!    can fetch it before it meets a token signed with it; every identity instance picks it up
//!    within [`KEY_CACHE_TTL`] more).
//! 2. The old key stays published, so tokens it signed keep verifying until they expire.
//! 3. Once the new key is older than [`retirement_age`] (activation delay + cache TTL + access
//!    token lifetime + verifier leeway), the old key is retired: it leaves the JWKS and can
//!    never sign again. Every identity instance does this hourly, and each rotation does it too.
//!
//! The private keys are sealed at rest under a key-encryption key (see [`platform::master_key`]).
//!
//! To replace a key that may have leaked, rotate and then retire the old key at once with
//! `UPDATE signing_keys SET retired_at = <now in epoch ms> WHERE kid = '<old kid>'`: tokens it
//! signed stop verifying (their holders log in again) once each verifier reloads the key set,
//! which it does when it first meets a token of the new key.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jiff::Timestamp;
use jsonwebtoken::EncodingKey;
use jsonwebtoken::jwk::JwkSet;
use platform::ApiError;

use super::keys::{
    ACTIVATION_DELAY, KEY_CACHE_TTL, SigningKeyRecord, retirement_age, signing_key_at,
};
use crate::store::IdentityStore;
use platform::master_key::MasterKey;

/// The key that signs tokens now.
pub struct ActiveKey {
    pub kid: String,
    pub key: EncodingKey,
}

/// The signing key and when it was looked up.
type CachedKey = Option<(Instant, Arc<ActiveKey>)>;

#[derive(Clone)]
pub struct KeyRing {
    store: IdentityStore,
    kek: MasterKey,
    current: Arc<RwLock<CachedKey>>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing").finish_non_exhaustive()
    }
}

impl KeyRing {
    pub fn new(store: IdentityStore, kek: MasterKey) -> Self {
        Self {
            store,
            kek,
            current: Arc::default(),
        }
    }

    /// Seals keys an older version stored in the clear, generates the first key when there is
    /// none (first start), and checks that the published keys open under this key-encryption
    /// key, so a wrong `CAREBOOK_MASTER_KEY` stops the start rather than every login. Several
    /// instances starting together may each add a first key; all are published and the newest
    /// signs.
    pub async fn ensure_key(&self) -> anyhow::Result<()> {
        seal_clear_keys(&self.store, &self.kek).await?;
        let published = self.store.published_signing_keys().await?;
        for key in &published {
            key.encoding_key(&self.kek)?;
        }
        if published.is_empty() {
            let key = SigningKeyRecord::generate(Timestamp::now(), &self.kek)?;
            self.store.insert_signing_key(&key).await?;
            tracing::info!(kid = %key.kid, "generated the first token signing key");
        }
        Ok(())
    }

    /// The signing key, looked up again at most every [`KEY_CACHE_TTL`].
    pub async fn signing_key(&self) -> platform::Result<Arc<ActiveKey>> {
        if let Some((at, key)) = self.read_cache()
            && at.elapsed() < KEY_CACHE_TTL
        {
            return Ok(key);
        }
        let published = self.store.published_signing_keys().await?;
        let record = signing_key_at(&published, Timestamp::now())
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("there is no token signing key")))?;
        let active = Arc::new(ActiveKey {
            kid: record.kid.clone(),
            key: record.encoding_key(&self.kek)?,
        });
        *self.current.write().unwrap_or_else(|e| e.into_inner()) =
            Some((Instant::now(), Arc::clone(&active)));
        Ok(active)
    }

    /// Every published key, always read from the database so a rotation made by any instance
    /// shows at once.
    pub async fn jwks(&self) -> platform::Result<JwkSet> {
        let keys = self.store.published_signing_keys().await?;
        Ok(JwkSet {
            keys: keys.iter().map(SigningKeyRecord::jwk).collect(),
        })
    }

    fn read_cache(&self) -> CachedKey {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// Seals every key stored in the clear (by versions before sealing); returns how many.
pub async fn seal_clear_keys(store: &IdentityStore, kek: &MasterKey) -> anyhow::Result<usize> {
    let mut sealed = 0;
    for (kid, private_key) in store.clear_signing_keys().await? {
        let der = STANDARD
            .decode(&private_key)
            .with_context(|| format!("signing key {kid} is damaged"))?;
        if store
            .seal_signing_key(
                &kid,
                &kek.seal(&super::keys::signing_key_binding(&kid), &der)?,
            )
            .await?
        {
            sealed += 1;
        }
    }
    if sealed > 0 {
        tracing::info!(sealed, kek_id = %kek.id(), "sealed signing keys stored in the clear");
    }
    Ok(sealed)
}

/// Starts a key rotation (see the module documentation) and returns the new key's `kid`.
/// `access_ttl` is the longest lifetime of an access token signed with the old key.
pub async fn rotate_signing_key(
    store: &IdentityStore,
    kek: &MasterKey,
    access_ttl: Duration,
) -> anyhow::Result<String> {
    seal_clear_keys(store, kek).await?;
    let now = Timestamp::now();
    let key = SigningKeyRecord::generate(now, kek)?;
    let retired = store
        .rotate_signing_key(&key, now, retirement_age(access_ttl))
        .await?;
    tracing::info!(kid = %key.kid, retired, activation_delay = ?ACTIVATION_DELAY, "rotated the token signing key");
    Ok(key.kid)
}
