//! Password hashing with argon2id. Hashing is deliberately slow and memory-hungry, so it runs on
//! the blocking pool behind a semaphore (about one hash per CPU at a time): a burst of logins
//! queues there instead of stalling the async runtime that serves everyone else.
//!
//! Each hash works in a memory block of its own ([`scratch`]) that goes back to the system as
//! soon as the hash is done, so an idle service does not keep the last login's 19 MiB.

use std::sync::Arc;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
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
            .blocking(move || verify_blocking(password.as_bytes(), &hash))
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

fn hash_blocking(params: &Params, password: &[u8]) -> anyhow::Result<String> {
    let (algorithm, version) = (Algorithm::Argon2id, Version::V0x13);
    hash_with_salt(algorithm, version, params, password, Salt::generate())
        .map(|hash| hash.to_string())
        .map_err(|err| anyhow::anyhow!("cannot hash a password: {err}"))
}

/// Whether `password` hashes to `stored` (a PHC string) with the algorithm, version and
/// parameters it names; the outputs are compared in constant time.
fn verify_blocking(password: &[u8], stored: &str) -> bool {
    let verify = || -> Option<bool> {
        let stored = PasswordHash::new(stored).ok()?;
        let algorithm = Algorithm::try_from(stored.algorithm.as_str()).ok()?;
        let version = stored.version.map_or(Ok(Version::V0x13), Version::try_from);
        let params = Params::try_from(&stored).ok()?;
        let computed =
            hash_with_salt(algorithm, version.ok()?, &params, password, stored.salt?).ok()?;
        Some(computed.hash.is_some() && computed.hash == stored.hash)
    };
    verify().unwrap_or(false)
}

/// What `argon2`'s own `hash_password_with_salt` makes, computed in [`scratch`] memory.
fn hash_with_salt(
    algorithm: Algorithm,
    version: Version,
    params: &Params,
    password: &[u8],
    salt: Salt,
) -> argon2::password_hash::Result<PasswordHash> {
    let argon2 = Argon2::new(algorithm, version, params.clone());
    let mut output = [0u8; Output::MAX_LENGTH];
    let output = &mut output[..params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN)];
    argon2.hash_password_into_with_memory(password, &salt, output, scratch(params))?;
    Ok(PasswordHash {
        algorithm: algorithm.ident(),
        version: Some(version.into()),
        params: ParamsString::try_from(params)?,
        salt: Some(salt),
        hash: Some(Output::new(output)?),
    })
}

/// Above this size glibc always maps an allocation with `mmap` and unmaps it when freed
/// (`DEFAULT_MMAP_THRESHOLD_MAX` on 64-bit). Below it, freeing a mapped block raises malloc's
/// threshold to that block's size, so the next 19 MiB hash lands in the heap and stays in the
/// process's memory after it is freed.
const ALWAYS_MAPPED_BYTES: usize = 32 * 1024 * 1024 + 1;

/// The hash's working memory: `params`' blocks, in an allocation large enough to be mapped on
/// its own and returned to the system when dropped. Only the blocks used are touched, so the
/// capacity beyond them costs address space, not memory.
fn scratch(params: &Params) -> Vec<Block> {
    let capacity = ALWAYS_MAPPED_BYTES.div_ceil(Block::SIZE);
    let mut blocks = Vec::with_capacity(capacity.max(params.block_count()));
    blocks.resize(params.block_count(), Block::default());
    blocks
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

    /// Hashes stored before the scratch memory (made by the argon2 crate's own hasher) still
    /// verify, and ours verify with the crate's verifier.
    #[tokio::test]
    async fn hashes_agree_with_the_argon2_crates_own() {
        use argon2::{PasswordHasher as _, PasswordVerifier as _};
        let crate_hasher = Argon2::new(Algorithm::Argon2id, Version::V0x13, cheap_params());
        let theirs = crate_hasher
            .hash_password(b"plum-violin-harbour")
            .unwrap()
            .to_string();
        let hasher = PasswordHasher::new(cheap_params(), 1).unwrap();
        assert!(
            hasher
                .verify("plum-violin-harbour", Some(&theirs))
                .await
                .unwrap()
        );
        assert!(!hasher.verify("plum-violin", Some(&theirs)).await.unwrap());
        let ours = hasher.hash(&password("plum-violin-harbour")).await.unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            crate_hasher
                .verify_password(b"plum-violin-harbour", &parsed)
                .is_ok()
        );
    }
}
