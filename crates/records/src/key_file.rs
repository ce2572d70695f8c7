//! The records key file: one data key per line, newest last, each sealed under the master key
//! (`CAREBOOK_MASTER_KEY`, or `master.key` in the data directory; see
//! [`platform::master_key`]):
//!
//! ```text
//! <key id> <master key id> <nonce> <sealed key>
//! ```
//!
//! so a copy of the file (or of a backup holding it and the data) opens nothing without the
//! master key. Versions before sealing wrote `<key id> <base64 key>` lines; a file with such
//! lines is sealed in place the first time it is read with the master key.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use platform::master_key::{MasterKey, Sealed};

use crate::keys::{DataKey, checked_id};

const HEADER: &str = "# carebook records data keys, newest last, sealed under the master key";

/// What a sealed data key is bound to: its id, so a line copied under another id does not open.
pub fn binding(id: &str) -> String {
    format!("records key {id}")
}

/// Every key in the file, newest last; lines still in the clear are sealed in place first.
pub fn read(path: &Path, master: &MasterKey) -> anyhow::Result<Vec<(String, DataKey)>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the records key file {}", path.display()))?;
    let mut keys = Vec::new();
    let mut clear = 0;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let key = match fields[..] {
            [id, encoded] => {
                clear += 1;
                let id = checked_id(id)?;
                (id.to_owned(), DataKey::from_base64(id, encoded)?)
            }
            [id, kek_id, nonce, ciphertext] => {
                let id = checked_id(id)?;
                let sealed = Sealed {
                    kek_id: kek_id.to_owned(),
                    nonce: nonce.to_owned(),
                    ciphertext: ciphertext.to_owned(),
                };
                let bytes = master.open(&binding(id), &sealed)?;
                let key = <[u8; 32]>::try_from(bytes)
                    .map_err(|_| anyhow::anyhow!("records key {id} is not 32 bytes"))?;
                (id.to_owned(), DataKey(key))
            }
            _ => bail!(
                "line {} of the records key file {} is malformed",
                n + 1,
                path.display()
            ),
        };
        keys.push(key);
    }
    if keys.is_empty() {
        bail!("the records key file {} holds no key", path.display());
    }
    if clear > 0 {
        rewrite_sealed(path, master, &keys)?;
        tracing::info!(
            keys = keys.len(),
            kek_id = master.id(),
            "sealed the records key file under the master key"
        );
    }
    Ok(keys)
}

/// A key's line: its id and the key sealed under `master`.
fn sealed_line(master: &MasterKey, id: &str, key: &DataKey) -> anyhow::Result<String> {
    let sealed = master.seal(&binding(id), &key.0)?;
    Ok(format!(
        "{id} {} {} {}\n",
        sealed.kek_id, sealed.nonce, sealed.ciphertext
    ))
}

/// Replaces the file by one with every key sealed: written beside it (`0600`) and renamed
/// over it, so a crash leaves the old file or the new one, never half of either.
fn rewrite_sealed(
    path: &Path,
    master: &MasterKey,
    keys: &[(String, DataKey)],
) -> anyhow::Result<()> {
    let mut text = format!("{HEADER}\n");
    for (id, key) in keys {
        text.push_str(&sealed_line(master, id, key)?);
    }
    let mut staged = PathBuf::from(path);
    staged.as_mut_os_string().push(".sealing");
    match std::fs::remove_file(&staged) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(err)?,
        _ => {}
    }
    platform::files::create_private_file(&staged, text.as_bytes())
        .with_context(|| format!("cannot write {}", staged.display()))?;
    std::fs::rename(&staged, path)
        .with_context(|| format!("cannot replace the records key file {}", path.display()))?;
    Ok(())
}

/// A fresh key id that sorts after older ones: `rk-<unix seconds>-<random>`.
fn new_key_id() -> String {
    let secs = jiff::Timestamp::now().as_second();
    format!("rk-{secs}-{:08x}", rand::random::<u32>())
}

/// Appends a new random key, sealed under `master`, to the key file (creating it, mode 0600)
/// and returns its id.
pub fn append_new_key(path: &Path, master: &MasterKey) -> anyhow::Result<String> {
    let id = new_key_id();
    let line = sealed_line(master, &id, &DataKey::generate())?;
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot open the records key file {}", path.display()))?;
    if file.metadata()?.len() == 0 {
        writeln!(file, "{HEADER}")?;
    }
    file.write_all(line.as_bytes())?;
    file.sync_all()?;
    Ok(id)
}

/// Creates the key file with one key unless it exists, and seals an existing one written before
/// sealing (what `carebook up` does on every start).
pub fn ensure_key_file(path: &Path, master: &MasterKey) -> anyhow::Result<()> {
    if path.exists() {
        return read(path, master).map(|_| ());
    }
    append_new_key(path, master).map(|_| ())
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    use super::*;
    use crate::keys::{KeySource, Keys};

    fn contains(text: &str, key: &DataKey) -> bool {
        text.contains(&STANDARD.encode(key.0))
            || text
                .as_bytes()
                .windows(32)
                .any(|window| window == key.0.as_slice())
    }

    #[test]
    fn a_key_file_is_created_private_sealed_and_rereads_after_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("records.keys");
        let master = MasterKey::generate();
        ensure_key_file(&path, &master).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let keys = Keys::load(KeySource::File(path.clone()), Some(master.clone())).unwrap();
        let ring = keys.ring().unwrap();
        let (first, first_key) = ring.newest();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(first) && !contains(&text, first_key));

        let second = append_new_key(&path, &master).unwrap();
        // A different modification time even on coarse-grained file systems.
        let file = std::fs::File::options().append(true).open(&path).unwrap();
        file.set_modified(SystemTime::now() + std::time::Duration::from_secs(1))
            .unwrap();
        let ring = keys.ring().unwrap();
        assert_eq!(ring.newest().0, second);
        assert!(ring.get(first).is_some());

        // Without the master key, or with another one, the file opens nothing.
        assert!(Keys::load(KeySource::File(path.clone()), None).is_err());
        let other = Some(MasterKey::generate());
        assert!(Keys::load(KeySource::File(path), other).is_err());
    }

    #[test]
    fn a_file_written_before_sealing_is_sealed_in_place_with_the_same_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("records.keys");
        let old = [("rk-1", DataKey([1; 32])), ("rk-2", DataKey([2; 32]))];
        let clear: String = old
            .iter()
            .map(|(id, key)| format!("{id} {}\n", STANDARD.encode(key.0)))
            .collect();
        std::fs::write(&path, clear).unwrap();
        let master = MasterKey::generate();

        let keys = read(&path, &master).unwrap();
        let ids: Vec<&str> = keys.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["rk-1", "rk-2"]);
        assert_eq!(keys[1].1.0, [2; 32]);
        let text = std::fs::read_to_string(&path).unwrap();
        for (_, key) in &old {
            assert!(!contains(&text, key), "a key left in the clear:\n{text}");
        }
        assert!(!dir.path().join("records.keys.sealing").exists());
        let again = read(&path, &master).unwrap();
        assert_eq!(again[0].1.0, [1; 32]);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text, "sealed once");

        // A sealed line moved to another id does not open.
        let swapped = text.replacen("rk-2 ", "rk-3 ", 1);
        std::fs::write(&path, swapped).unwrap();
        assert!(read(&path, &master).is_err());
    }
}
