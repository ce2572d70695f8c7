//! The master key: a key-encryption key that seals the system's own keys at rest
//! (ChaCha20-Poly1305) — identity's token-signing keys in its database, the records service's
//! data keys in their key file — so a copy of a database or a key file alone opens nothing.
//!
//! The key-encryption key comes from `CAREBOOK_MASTER_KEY` (base64 of 32 random bytes, e.g.
//! `openssl rand -base64 32`) or, in the embedded mode (`carebook up`) when that is unset, from
//! the file `master.key` in the data directory, created `0600` on first start. `carebook serve
//! identity` refuses to start without `CAREBOOK_MASTER_KEY`: a service instance has no data
//! directory of its own to keep the key beside the database it protects, and several instances
//! must share one key.
//!
//! Each sealed secret is stored with the id of the key-encryption key and its own random nonce;
//! the associated data binds the ciphertext to what it is (`signing key <kid>`, `records key
//! <id>`), so a sealed secret copied to another row or line does not open.

use std::path::Path;

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use sha2::{Digest, Sha256};

/// The key-encryption key's file in the embedded mode's data directory.
pub const MASTER_KEY_FILE: &str = "master.key";
const KEY_BYTES: usize = 32;
const NONCE_BYTES: usize = 12;

/// The key-encryption key.
#[derive(Clone)]
pub struct MasterKey {
    key: [u8; KEY_BYTES],
    id: String,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// A secret as stored: under which key-encryption key, with which nonce, and the ciphertext
/// (nonce and ciphertext base64).
/// Ciphertext only, so `Debug` may show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub kek_id: String,
    pub nonce: String,
    pub ciphertext: String,
}

impl MasterKey {
    fn new(key: [u8; KEY_BYTES]) -> Self {
        // Names the key without revealing it, so a row says which key it needs.
        let digest = Sha256::digest([b"carebook key-encryption key ".as_slice(), &key].concat());
        let id = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        Self { key, id }
    }

    /// A fresh key from the operating system's random generator.
    pub fn generate() -> Self {
        Self::new(rand::random())
    }

    /// The base64 of exactly 32 bytes.
    pub fn from_base64(text: &str) -> anyhow::Result<Self> {
        let bytes = STANDARD
            .decode(text.trim())
            .ok()
            .and_then(|bytes| <[u8; KEY_BYTES]>::try_from(bytes).ok())
            .context("the key-encryption key must be the base64 of 32 bytes")?;
        Ok(Self::new(bytes))
    }

    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.key)
    }

    /// `CAREBOOK_MASTER_KEY`, when set.
    pub fn from_env() -> anyhow::Result<Option<Self>> {
        crate::config::var("CAREBOOK_MASTER_KEY")
            .map(|text| Self::from_base64(&text).context("CAREBOOK_MASTER_KEY"))
            .transpose()
    }

    /// The key in `data_dir`'s [`MASTER_KEY_FILE`], when there is one.
    pub fn load(data_dir: &Path) -> anyhow::Result<Option<Self>> {
        let path = data_dir.join(MASTER_KEY_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::from_base64(&text)
                .with_context(|| format!("{} is damaged", path.display()))
                .map(Some),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(err).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// The key in `data_dir`, made (as a `0600` file) on first start.
    pub fn load_or_create(data_dir: &Path) -> anyhow::Result<Self> {
        if let Some(key) = Self::load(data_dir)? {
            return Ok(key);
        }
        let key = Self::generate();
        let path = data_dir.join(MASTER_KEY_FILE);
        let line = format!("{}\n", key.to_base64());
        match crate::files::create_private_file(&path, line.as_bytes()) {
            Ok(()) => {
                tracing::info!(kek_id = %key.id, "generated the key-encryption key");
                Ok(key)
            }
            // Another process made it first: use theirs.
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                Self::load(data_dir)?.with_context(|| format!("{} vanished", path.display()))
            }
            Err(err) => Err(err).with_context(|| format!("cannot create {}", path.display())),
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Encrypts `secret`, bound to `what` it is (e.g. `signing key <kid>`).
    pub fn seal(&self, what: &str, secret: &[u8]) -> anyhow::Result<Sealed> {
        let nonce: [u8; NONCE_BYTES] = rand::random();
        let aad = associated_data(what, &self.id);
        let ciphertext = self
            .cipher()
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: secret,
                    aad: &aad,
                },
            )
            .map_err(|_| anyhow::anyhow!("cannot seal {what}"))?;
        Ok(Sealed {
            kek_id: self.id.clone(),
            nonce: STANDARD.encode(nonce),
            ciphertext: STANDARD.encode(ciphertext),
        })
    }

    /// Decrypts what [`Self::seal`] made for `what`; fails for another key-encryption key,
    /// another `what`, or altered bytes.
    pub fn open(&self, what: &str, sealed: &Sealed) -> anyhow::Result<Vec<u8>> {
        anyhow::ensure!(
            sealed.kek_id == self.id,
            "{what} is sealed under key-encryption key {}, but the configured one \
             is {} (CAREBOOK_MASTER_KEY or the data directory's {MASTER_KEY_FILE})",
            sealed.kek_id,
            self.id
        );
        let damaged = || format!("{what} is damaged");
        let nonce: [u8; NONCE_BYTES] = STANDARD
            .decode(&sealed.nonce)
            .ok()
            .and_then(|nonce| nonce.try_into().ok())
            .with_context(damaged)?;
        let ciphertext = STANDARD.decode(&sealed.ciphertext).with_context(damaged)?;
        let aad = associated_data(what, &self.id);
        self.cipher()
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: &ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| anyhow::anyhow!(damaged()))
    }

    fn cipher(&self) -> ChaCha20Poly1305 {
        ChaCha20Poly1305::new(&Key::from(self.key))
    }
}

fn associated_data(what: &str, kek_id: &str) -> Vec<u8> {
    format!("carebook {what} under {kek_id}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_what_it_sealed_and_nothing_else() {
        let kek = MasterKey::generate();
        let sealed = kek.seal("kid-1", b"private bytes").unwrap();
        assert_eq!(kek.open("kid-1", &sealed).unwrap(), b"private bytes");
        assert_ne!(
            STANDARD.decode(&sealed.ciphertext).unwrap(),
            b"private bytes"
        );
        assert_ne!(
            kek.seal("kid-1", b"private bytes").unwrap().nonce,
            sealed.nonce
        );

        assert!(kek.open("kid-2", &sealed).is_err(), "bound to what it is");
        let other = MasterKey::generate();
        let refused = other.open("kid-1", &sealed).unwrap_err().to_string();
        assert!(
            refused.contains(kek.id()) && refused.contains(other.id()),
            "{refused}"
        );
        let forged_id = Sealed {
            kek_id: other.id().to_owned(),
            ..sealed.clone()
        };
        assert!(other.open("kid-1", &forged_id).is_err());
        let mut bytes = STANDARD.decode(&sealed.ciphertext).unwrap();
        bytes[0] ^= 1;
        let altered = Sealed {
            ciphertext: STANDARD.encode(bytes),
            ..sealed
        };
        assert!(kek.open("kid-1", &altered).is_err());
    }

    #[test]
    fn reads_the_key_as_base64_of_32_bytes() {
        let kek = MasterKey::generate();
        let again = MasterKey::from_base64(&format!(" {}\n", kek.to_base64())).unwrap();
        assert_eq!(again.id(), kek.id());
        for bad in [
            "",
            "not base64!",
            &STANDARD.encode([0u8; 31]),
            &STANDARD.encode([0u8; 33]),
        ] {
            assert!(MasterKey::from_base64(bad).is_err(), "{bad}");
        }
        assert!(!format!("{kek:?}").contains(&kek.to_base64()));
    }

    #[cfg(unix)]
    #[test]
    fn the_embedded_key_file_is_made_once_and_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        assert!(MasterKey::load(dir.path()).unwrap().is_none());
        let made = MasterKey::load_or_create(dir.path()).unwrap();
        let file = std::fs::metadata(dir.path().join(MASTER_KEY_FILE)).unwrap();
        assert_eq!(file.permissions().mode() & 0o777, 0o600);
        assert_eq!(
            MasterKey::load_or_create(dir.path()).unwrap().id(),
            made.id()
        );
    }
}
