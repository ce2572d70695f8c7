//! Password hashing with argon2id. Hashing is deliberately slow and memory-hungry, so it runs on
//! the blocking pool behind a semaphore (about one hash per CPU at a time): a burst of logins
//! queues there instead of stalling the async runtime that serves everyone else.

use std::sync::Arc;

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::domain::password::Password;

/// OWASP Password Storage Cheat Sheet's argon2id setting: 19 MiB, 2 iterations, 1 lane.
pub const OWASP_MEMORY_KIB: u32 = 19_456;
pub const OWASP_ITERATIONS: u32 = 2;
pub const OWASP_LANES: u32 = 1;

#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    permits: Arc<Semaphore>,
    /// A hash of nothing anyone knows, verified against when the account does not exist, so
    /// that answer takes as long as a wrong password.
    dummy: Arc<str>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl PasswordHasher {
    /// argon2id with the OWASP parameters, one concurrent hash per CPU.
    pub fn owasp() -> anyhow::Result<Self> {
        let params = Params::new(OWASP_MEMORY_KIB, OWASP_ITERATIONS, OWASP_LANES, None)
            .map_err(|err| anyhow::anyhow!("argon2 parameters: {err}"))?;
        let cpus = std::thread::available_parallelism().map_or(2, usize::from);
        Self::new(params, cpus)
    }

    pub fn new(params: Params, concurrency: usize) -> anyhow::Result<Self> {
        let dummy = hash_blocking(&params, uuid::Uuid::new_v4().to_string().as_bytes())?;
        Ok(Self {
            params,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            dummy: dummy.into(),
        })
    }

    /// The PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`) to store.
    pub async fn hash(&self, password: &Password) -> anyhow::Result<String> {
        let params = self.params.clone();
        let password = password.expose().to_owned();
        self.blocking(move || hash_blocking(&params, password.as_bytes()))
            .await?
    }

    /// Whether `password` matches `stored`; with no stored hash (unknown account) the dummy is
    /// checked, which takes as long and always fails.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> anyhow::Result<bool> {
        let known = stored.is_some();
        let hash = stored.map_or_else(|| self.dummy.to_string(), str::to_owned);
        let password = password.to_owned();
        let matches = self
            .blocking(move || {
                argon2id(Params::default())
                    .verify_password(password.as_bytes(), hash.as_str())
                    .is_ok()
            })
            .await?;
        Ok(known && matches)
    }

    /// Whether `stored` was made with other parameters than today's (it is then rehashed at
    /// the next successful login).
    pub fn needs_rehash(&self, stored: &str) -> bool {
        let current = format!(
            "$argon2id$v=19$m={},t={},p={}$",
            self.params.m_cost(),
            self.params.t_cost(),
            self.params.p_cost()
        );
        !stored.starts_with(&current)
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let permit = Arc::clone(&self.permits).acquire_owned().await?;
        let outcome = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await?;
        Ok(outcome)
    }
}

fn argon2id(params: Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_blocking(params: &Params, password: &[u8]) -> anyhow::Result<String> {
    argon2id(params.clone())
        .hash_password(password)
        .map(|hash| hash.to_string())
        .map_err(|err| anyhow::anyhow!("cannot hash a password: {err}"))
}

#[cfg(test)]
pub(crate) fn cheap_params() -> Params {
    Params::new(64, 1, 1, None).expect("valid parameters")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn password(raw: &str) -> Password {
        Password::parse(raw, None).unwrap()
    }

    #[tokio::test]
    async fn round_trip_and_wrong_passwords() {
        let hasher = PasswordHasher::new(cheap_params(), 2).unwrap();
        let stored = hasher.hash(&password("plum-violin-harbour")).await.unwrap();
        assert!(
            stored.starts_with("$argon2id$v=19$m=64,t=1,p=1$"),
            "{stored}"
        );
        assert!(
            hasher
                .verify("plum-violin-harbour", Some(&stored))
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify("plum-violin-harbor", Some(&stored))
                .await
                .unwrap()
        );
        assert!(!hasher.verify("plum-violin-harbour", None).await.unwrap());
        assert!(!hasher.verify("x", Some("not a hash")).await.unwrap());
        let again = hasher.hash(&password("plum-violin-harbour")).await.unwrap();
        assert_ne!(stored, again, "every hash has its own salt");
    }

    #[tokio::test]
    async fn the_owasp_setting_is_what_gets_stored() {
        let hasher = PasswordHasher::owasp().unwrap();
        let stored = hasher.hash(&password("plum-violin-harbour")).await.unwrap();
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert!(!hasher.needs_rehash(&stored));
        let cheap = PasswordHasher::new(cheap_params(), 1).unwrap();
        let old = cheap.hash(&password("plum-violin-harbour")).await.unwrap();
        assert!(hasher.needs_rehash(&old));
        assert!(
            hasher
                .verify("plum-violin-harbour", Some(&old))
                .await
                .unwrap()
        );
    }
}
