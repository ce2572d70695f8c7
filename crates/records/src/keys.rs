//! Data keys: `key id → 256-bit key`, the newest one seals, every one still opens.
//!
//! They come from `CAREBOOK_RECORDS_KEYS` (`id:base64,id:base64`, newest last) or from a key file
//! (one `id base64` line per key, newest last) that `carebook up` creates in the data directory
//! and `carebook rotate-records-key` appends to. A file is re-read when it changes, so a running
//! service seals under a key added by rotation without a restart.

use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use anyhow::{Context, bail, ensure};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// A 256-bit data key.
#[derive(Clone)]
pub struct DataKey(pub(crate) [u8; 32]);

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
        let mut keys = HashMap::new();
        let mut newest = None;
        for (id, encoded) in pairs {
            let id = id.trim();
            ensure!(
                valid_id(id),
                "a records key id must be 1-64 letters, digits, - or _"
            );
            let bytes = STANDARD
                .decode(encoded.trim())
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .with_context(|| format!("records key {id} is not 32 bytes in base64"))?;
            keys.insert(id.to_owned(), DataKey(bytes));
            newest = Some(id.to_owned());
        }
        let newest = newest.context("no records key configured")?;
        Ok(Self { keys, newest })
    }

    /// `id:base64,id:base64`, newest last.
    pub fn parse_list(list: &str) -> anyhow::Result<Self> {
        let pairs = list
            .split(',')
            .filter(|p| !p.trim().is_empty())
            .map(|p| p.split_once(':').unwrap_or((p, "")));
        Self::from_pairs(pairs)
    }

    /// One `id base64` line per key, newest last.
    pub fn parse_file(text: &str) -> anyhow::Result<Self> {
        let pairs = text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .map(|l| l.trim().split_once(' ').unwrap_or((l, "")));
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

fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
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
    loaded: Arc<RwLock<(Option<SystemTime>, Arc<KeyRing>)>>,
}

impl Keys {
    pub fn load(source: KeySource) -> anyhow::Result<Self> {
        let (stamp, ring) = read(&source)?;
        Ok(Self {
            source,
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
        let (stamp, ring) = read(&self.source)?;
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

fn read(source: &KeySource) -> anyhow::Result<(Option<SystemTime>, KeyRing)> {
    match source {
        KeySource::List(list) => Ok((None, KeyRing::parse_list(list)?)),
        KeySource::File(path) => {
            let stamp = modified(path)?;
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the records key file {}", path.display()))?;
            Ok((stamp, KeyRing::parse_file(&text)?))
        }
    }
}

/// A fresh key id that sorts after older ones: `rk-<unix seconds>-<random>`.
fn new_key_id() -> String {
    let secs = jiff::Timestamp::now().as_second();
    format!("rk-{secs}-{:08x}", rand::random::<u32>())
}

/// Appends a new random key to the key file (creating it, mode 0600) and returns its id.
pub fn append_new_key(path: &Path) -> anyhow::Result<String> {
    let id = new_key_id();
    let key = STANDARD.encode(rand::random::<[u8; 32]>());
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot open the records key file {}", path.display()))?;
    writeln!(file, "{id} {key}")?;
    file.sync_all()?;
    Ok(id)
}

/// Creates the key file with one key unless it exists (what `carebook up` does on first start).
pub fn ensure_key_file(path: &Path) -> anyhow::Result<()> {
    if path.exists() {
        if std::fs::read_to_string(path)?.trim().is_empty() {
            bail!("the records key file {} is empty", path.display());
        }
        return Ok(());
    }
    append_new_key(path).map(|_| ())
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

    #[test]
    fn a_key_file_is_created_private_and_rereads_after_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("records.keys");
        ensure_key_file(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let keys = Keys::load(KeySource::File(path.clone())).unwrap();
        let first = keys.ring().unwrap().newest().0.to_owned();
        let second = append_new_key(&path).unwrap();
        // A different modification time even on coarse-grained file systems.
        let file = std::fs::File::options().append(true).open(&path).unwrap();
        file.set_modified(SystemTime::now() + std::time::Duration::from_secs(1))
            .unwrap();
        let ring = keys.ring().unwrap();
        assert_eq!(ring.newest().0, second);
        assert!(ring.get(&first).is_some());
    }
}
