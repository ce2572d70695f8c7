//! Data keys: `key id → 256-bit key`, the newest one seals, every one still opens.
//!
//! They come from `CAREBOOK_RECORDS_KEYS` (`id:base64,id:base64`, newest last) or from a key file
//! sealed under the master key (see [`crate::key_file`]) that `carebook up` creates in the data
//! directory and `carebook rotate-records-key` appends to. A file is re-read when it changes, so
//! a running service seals under a key added by rotation without a restart.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use anyhow::{Context, ensure};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use platform::master_key::MasterKey;

use crate::key_file;

/// A 256-bit data key.
#[derive(Clone)]
pub struct DataKey(pub(crate) [u8; 32]);

impl DataKey {
    /// The base64 of exactly 32 bytes; `id` names the key in the error.
    pub(crate) fn from_base64(id: &str, encoded: &str) -> anyhow::Result<Self> {
        STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .map(Self)
            .with_context(|| format!("records key {id} is not 32 bytes in base64"))
    }

    /// A fresh key from the operating system's random generator.
    pub(crate) fn generate() -> Self {
        Self(rand::random())
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(***)")
    }
}

/// Every known key and which one seals.
#[derive(Debug, Clone)]
pub struct KeyRing {
    keys: HashMap<String, DataKey>,
    newest: String,
}

impl KeyRing {
    /// Parses `(id, base64 key)` pairs, newest last.
    fn from_pairs<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> anyhow::Result<Self> {
        let keys = pairs
            .map(|(id, encoded)| {
                let id = checked_id(id)?;
                Ok((id.to_owned(), DataKey::from_base64(id, encoded)?))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Self::from_keys(keys)
    }

    /// The keys in order, newest last.
    pub(crate) fn from_keys(list: Vec<(String, DataKey)>) -> anyhow::Result<Self> {
        let newest = list
            .last()
            .map(|(id, _)| id.clone())
            .context("no records key configured")?;
        Ok(Self {
            keys: list.into_iter().collect(),
            newest,
        })
    }

    /// `id:base64,id:base64`, newest last.
    pub fn parse_list(list: &str) -> anyhow::Result<Self> {
        let pairs = list
            .split(',')
            .filter(|p| !p.trim().is_empty())
            .map(|p| p.split_once(':').unwrap_or((p, "")));
        Self::from_pairs(pairs)
    }

    /// The key that seals new data, with its id.
    pub fn newest(&self) -> (&str, &DataKey) {
        (&self.newest, &self.keys[&self.newest])
    }

    pub fn get(&self, id: &str) -> Option<&DataKey> {
        self.keys.get(id)
    }
}

/// `id`, trimmed, when it is 1-64 letters, digits, `-` or `_`.
pub(crate) fn checked_id(id: &str) -> anyhow::Result<&str> {
    let id = id.trim();
    let valid = (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ensure!(
        valid,
        "a records key id must be 1-64 letters, digits, - or _"
    );
    Ok(id)
}

/// Where the keys come from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// `CAREBOOK_RECORDS_KEYS`.
    List(String),
    /// A key file, re-read when it changes.
    File(PathBuf),
}

/// The service's keys, current with their source.
#[derive(Debug, Clone)]
pub struct Keys {
    source: KeySource,
    /// Opens the key file.
    master: Option<MasterKey>,
    loaded: Arc<RwLock<(Option<SystemTime>, Arc<KeyRing>)>>,
}

impl Keys {
    /// Reads the keys; a key file needs `master`, and one written before sealing is sealed in
    /// place first.
    pub fn load(source: KeySource, master: Option<MasterKey>) -> anyhow::Result<Self> {
        let (stamp, ring) = read(&source, master.as_ref())?;
        Ok(Self {
            source,
            master,
            loaded: Arc::new(RwLock::new((stamp, Arc::new(ring)))),
        })
    }

    /// The key ring, re-read first when the key file changed since the last look.
    pub fn ring(&self) -> anyhow::Result<Arc<KeyRing>> {
        let KeySource::File(path) = &self.source else {
            return Ok(self.cached());
        };
        let stamp = modified(path)?;
        if self.loaded.read().map_err(poisoned)?.0 == stamp {
            return Ok(self.cached());
        }
        let (stamp, ring) = read(&self.source, self.master.as_ref())?;
        let ring = Arc::new(ring);
        *self.loaded.write().map_err(poisoned)? = (stamp, ring.clone());
        Ok(ring)
    }

    fn cached(&self) -> Arc<KeyRing> {
        match self.loaded.read() {
            Ok(guard) => guard.1.clone(),
            Err(poisoned) => poisoned.into_inner().1.clone(),
        }
    }
}

fn poisoned<T>(_: T) -> anyhow::Error {
    anyhow::anyhow!("records key lock poisoned")
}

fn modified(path: &Path) -> anyhow::Result<Option<SystemTime>> {
    let meta = std::fs::metadata(path)
        .with_context(|| format!("cannot read the records key file {}", path.display()))?;
    Ok(meta.modified().ok())
}

fn read(
    source: &KeySource,
    master: Option<&MasterKey>,
) -> anyhow::Result<(Option<SystemTime>, KeyRing)> {
    match source {
        KeySource::List(list) => Ok((None, KeyRing::parse_list(list)?)),
        KeySource::File(path) => {
            let master = master.context(
                "the records key file is sealed under the master key: set CAREBOOK_MASTER_KEY \
                 (or keep master.key in the data directory)",
            )?;
            // Stamped before reading: a change while reading is read again next time.
            let stamp = modified(path)?;
            Ok((stamp, KeyRing::from_keys(key_file::read(path, master)?)?))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> String {
        STANDARD.encode([byte; 32])
    }

    #[test]
    fn the_last_listed_key_seals_and_every_key_opens() {
        let ring = KeyRing::parse_list(&format!("old:{},new:{}", key(1), key(2))).unwrap();
        assert_eq!(ring.newest().0, "new");
        assert_eq!(ring.get("old").unwrap().0, [1; 32]);
        assert!(ring.get("other").is_none());
    }

    #[test]
    fn refuses_short_keys_bad_ids_and_an_empty_list() {
        assert!(KeyRing::parse_list("a:AAAA").is_err());
        assert!(KeyRing::parse_list(&format!("a b:{}", key(1))).is_err());
        assert!(KeyRing::parse_list("").is_err());
        assert!(KeyRing::parse_list(&key(1)).is_err());
    }
}
