//! Files only the user can read, replaced atomically: a temporary file in the same folder
//! (mode 0600), flushed to disk, renamed over the old one, and the folder synced so that
//! the rename survives a crash. A reader sees the old file or the new one, never half.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

/// Creates `dir` (and parents) with mode 0700 when missing.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Replaces (or creates) `path` with `bytes`, atomically and readable by the owner only.
pub fn replace(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write(path, bytes, true)
}

/// Writes `bytes` to `path` only if nothing is there yet (never overwrites), atomically.
pub fn create_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write(path, bytes, false)
}

fn write(path: &Path, bytes: &[u8], overwrite: bool) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    create_private_dir(dir)?;
    let mut temp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .suffix(TEMP_SUFFIX)
        .tempfile_in(dir)?;
    set_private(temp.as_file())?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    let persisted = if overwrite {
        temp.persist(path)
    } else {
        temp.persist_noclobber(path)
    };
    persisted.map_err(|err| err.error)?;
    sync_dir(dir)
}

/// Prefix and suffix of the temporary files [`replace`] and [`create_new`] write.
const TEMP_PREFIX: &str = ".emnify-";
const TEMP_SUFFIX: &str = ".tmp";

/// Removes temporary files in `dir` that a killed process left behind (they hold what it
/// was writing: metadata, or an encrypted vault): those last modified before
/// `now - older_than`, so that a write in progress is never disturbed. Returns how many.
pub fn remove_stale_temporaries(
    dir: &Path,
    older_than: std::time::Duration,
    now: std::time::SystemTime,
) -> io::Result<usize> {
    let cutoff = now.checked_sub(older_than).unwrap_or(std::time::UNIX_EPOCH);
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(err) => return Err(err),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX)) {
            continue;
        }
        let modified = entry.metadata()?.modified()?;
        if modified < cutoff {
            fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// An exclusive lock on `path` (created if missing), held until the file is dropped.
pub fn lock(path: &Path) -> io::Result<File> {
    if let Some(dir) = path.parent() {
        create_private_dir(dir)?;
    }
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    file.lock()?;
    Ok(file)
}

#[cfg(unix)]
fn set_private(file: &File) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn set_private(_file: &File) -> io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_new_never_overwrites_and_replace_does() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/f.json");
        create_new(&path, b"one").unwrap();
        assert!(create_new(&path, b"two").is_err());
        assert_eq!(fs::read(&path).unwrap(), b"one");
        replace(&path, b"three").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"three");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let leftovers = fs::read_dir(path.parent().unwrap()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary files left behind");
    }

    #[test]
    fn only_old_temporaries_are_swept() {
        use std::time::{Duration, SystemTime};
        let dir = tempfile::tempdir().unwrap();
        let left = dir.path().join(".emnify-abc.tmp");
        fs::write(&left, "half").unwrap();
        fs::write(dir.path().join("vault.json"), "{}").unwrap();
        let minute = Duration::from_secs(60);
        // Just written: a write may be in progress.
        assert_eq!(
            remove_stale_temporaries(dir.path(), minute, SystemTime::now()).unwrap(),
            0
        );
        let later = SystemTime::now() + 2 * minute;
        assert_eq!(
            remove_stale_temporaries(dir.path(), minute, later).unwrap(),
            1
        );
        assert!(!left.exists());
        assert!(dir.path().join("vault.json").exists());
    }
}
