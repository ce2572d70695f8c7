//! The embedded mode's data directory holds every database and the key-encryption key: only
//! the user carebook runs as may read it. The directory is `0700` and every file in it `0600`,
//! whatever the process umask: files are created with that mode, a looser existing directory or
//! file is tightened (with a warning) at start, and `restrict_umask` covers files that other
//! code (SQLite) creates.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use anyhow::Context;

#[cfg(unix)]
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};

pub const DIR_MODE: u32 = 0o700;
pub const FILE_MODE: u32 = 0o600;

/// From now on this process creates files and directories for its own user only (umask 077).
pub fn restrict_umask() {
    #[cfg(unix)]
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
}

/// Creates `dir` (and its parents) as `0700`, or tightens an existing one, and tightens every
/// file directly inside it to `0600`.
pub fn private_dir(dir: &Path) -> anyhow::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    builder.mode(DIR_MODE);
    builder
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))?;
    tighten(dir, DIR_MODE)?;
    for entry in fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let path = entry?.path();
        if fs::symlink_metadata(&path)?.is_file() {
            tighten(&path, FILE_MODE)?;
        }
    }
    Ok(())
}

/// Creates `path` as a new `0600` file holding `contents`; fails if it exists.
pub fn create_private_file(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut file = private_options().create_new(true).open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// Creates an empty `0600` file at `path` unless one exists, so that a program that then opens
/// it (SQLite, which gives its `-wal` and `-shm` files the database file's mode) keeps it
/// private.
pub fn touch_private_file(path: &Path) -> io::Result<()> {
    match private_options().create_new(true).open(path) {
        Ok(_) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(err) => Err(err),
    }
}

fn private_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.write(true);
    #[cfg(unix)]
    options.mode(FILE_MODE);
    options
}

/// Removes every permission beyond `mode`, saying so when there were some.
fn tighten(path: &Path, mode: u32) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        let current = fs::metadata(path)?.permissions().mode() & 0o777;
        if current & !mode != 0 {
            tracing::warn!(path = %path.display(), from = format!("{current:o}"), to = format!("{:o}", current & mode), "tightening the permissions of a data file");
            fs::set_permissions(path, fs::Permissions::from_mode(current & mode))
                .with_context(|| format!("cannot restrict {}", path.display()))?;
        }
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).expect("metadata").permissions().mode() & 0o777
    }

    #[test]
    fn creates_a_private_directory_and_private_files() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/data");
        private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        let key = dir.join("key");
        create_private_file(&key, b"secret").unwrap();
        assert_eq!(mode(&key), 0o600);
        assert_eq!(fs::read(&key).unwrap(), b"secret");
        assert!(
            create_private_file(&key, b"other").is_err(),
            "never overwritten"
        );
        let db = dir.join("x.db");
        touch_private_file(&db).unwrap();
        touch_private_file(&db).unwrap();
        assert_eq!(mode(&db), 0o600);
    }

    #[test]
    fn tightens_an_existing_directory_and_its_files() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("data");
        fs::create_dir(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        let old = dir.join("identity.db");
        fs::write(&old, b"").unwrap();
        fs::set_permissions(&old, fs::Permissions::from_mode(0o644)).unwrap();
        private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&old), 0o600);
    }
}
