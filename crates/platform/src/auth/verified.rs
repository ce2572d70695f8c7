//! Access tokens already verified, so a client reusing its token costs a hash lookup rather
//! than an Ed25519 signature check on every request, in the gateway and in each service.

use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::Expiry;
use moka::future::Cache;
use sha2::{Digest, Sha256};

use super::principal::Principal;

/// How many verified tokens a process remembers: a token a client keeps using stays, the
/// least used ones go first.
pub const CAPACITY: u64 = 10_000;

/// The SHA-256 of a token: the token itself is a credential and is never kept.
pub type TokenHash = [u8; 32];

pub fn hash(token: &str) -> TokenHash {
    Sha256::digest(token.as_bytes()).into()
}

/// What a successful verification established.
#[derive(Debug)]
pub struct Verified {
    pub principal: Principal,
    /// The key that verified the signature: when it is no longer published, neither is this.
    pub kid: String,
    /// The token's `exp`, in seconds since the epoch.
    pub exp: i64,
}

impl Verified {
    /// Valid strictly before `exp`; the full check's clock-skew leeway is not extended to a
    /// remembered token.
    fn valid_at(&self, now: i64) -> bool {
        now < self.exp
    }
}

/// A bounded map from token hash to what its verification established, each entry evicted
/// at its token's `exp`.
#[derive(Debug, Clone)]
pub struct VerifiedTokens {
    cache: Cache<TokenHash, Arc<Verified>>,
}

impl VerifiedTokens {
    pub fn new(capacity: u64) -> Self {
        Self {
            cache: Cache::builder()
                .max_capacity(capacity)
                .expire_after(UntilExp)
                .build(),
        }
    }

    /// The caller behind a remembered token still valid at `now` (epoch seconds) whose key is
    /// still published (`key_published`).
    pub async fn get(
        &self,
        token: &TokenHash,
        now: i64,
        key_published: impl Fn(&str) -> bool,
    ) -> Option<Principal> {
        let verified = self.cache.get(token).await?;
        if verified.valid_at(now) && key_published(&verified.kid) {
            return Some(verified.principal.clone());
        }
        self.cache.invalidate(token).await;
        None
    }

    /// Remembers a token that was just verified, unless it expires by `now`.
    pub async fn insert(&self, token: TokenHash, verified: Verified, now: i64) {
        if verified.valid_at(now) {
            self.cache.insert(token, Arc::new(verified)).await;
        }
    }

    #[cfg(test)]
    pub async fn len(&self) -> u64 {
        self.cache.run_pending_tasks().await;
        self.cache.entry_count()
    }
}

/// Evicts each entry at its token's `exp` (the wall clock may differ from the monotonic one,
/// so [`VerifiedTokens::get`] also checks `exp` itself).
struct UntilExp;

impl Expiry<TokenHash, Arc<Verified>> for UntilExp {
    fn expire_after_create(
        &self,
        _: &TokenHash,
        verified: &Arc<Verified>,
        _: Instant,
    ) -> Option<Duration> {
        let left = verified.exp - jiff::Timestamp::now().as_second();
        Some(Duration::from_secs(u64::try_from(left).unwrap_or(0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;

    fn verified(kid: &str, exp: i64) -> Verified {
        Verified {
            principal: Principal {
                user_id: 7,
                role: Role::Patient,
                patient_id: Some(3),
                doctor_id: None,
            },
            kid: kid.to_owned(),
            exp,
        }
    }

    #[tokio::test]
    async fn a_remembered_token_answers_its_principal_until_exp_and_not_at_it() {
        let tokens = VerifiedTokens::new(CAPACITY);
        let now = jiff::Timestamp::now().as_second();
        let exp = now + 60;
        tokens.insert(hash("a"), verified("k1", exp), now).await;
        let published = |kid: &str| kid == "k1";

        let hit = tokens.get(&hash("a"), exp - 1, published).await;
        assert_eq!(hit.map(|p| (p.user_id, p.patient_id)), Some((7, Some(3))));
        assert!(tokens.get(&hash("b"), now, published).await.is_none());
        assert!(tokens.get(&hash("a"), exp, published).await.is_none());
        // Once refused, it is gone: a clock set back does not revive it.
        assert!(tokens.get(&hash("a"), now, published).await.is_none());
    }

    #[tokio::test]
    async fn a_token_whose_key_is_no_longer_published_is_forgotten() {
        let tokens = VerifiedTokens::new(CAPACITY);
        let now = jiff::Timestamp::now().as_second();
        tokens
            .insert(hash("a"), verified("old", now + 60), now)
            .await;
        assert!(tokens.get(&hash("a"), now, |_| false).await.is_none());
        assert!(tokens.get(&hash("a"), now, |_| true).await.is_none());
    }

    #[tokio::test]
    async fn an_expired_token_is_not_remembered() {
        let tokens = VerifiedTokens::new(CAPACITY);
        let now = jiff::Timestamp::now().as_second();
        tokens.insert(hash("a"), verified("k1", now), now).await;
        assert!(tokens.get(&hash("a"), now - 1, |_| true).await.is_none());
        assert_eq!(tokens.len().await, 0);
    }

    #[tokio::test]
    async fn the_capacity_bounds_the_entries() {
        let tokens = VerifiedTokens::new(8);
        let now = jiff::Timestamp::now().as_second();
        for i in 0..200 {
            let token = format!("token-{i}");
            tokens
                .insert(hash(&token), verified("k1", now + 600), now)
                .await;
        }
        assert!(tokens.len().await <= 8, "{}", tokens.len().await);
    }
}
