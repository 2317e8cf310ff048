//! The keyring-less secret store: one encrypted file in the Aegis vault format (scrypt +
//! AES-256-GCM), unlocked with a password once per session. Used only when the user
//! chooses it (see [`crate::store_choice`]); the keyring stays the default.
//!
//! Every change re-reads the file under a lock, applies the change and writes the whole
//! file again with a fresh nonce (atomically), so concurrent processes lose no update and a
//! crash leaves the old file or the new one.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::aegis::crypto::{self, KdfParams, SealRandomness, UnlockedVault};
use crate::aegis::{AegisContent, AegisError, VaultFile};
use crate::private_file;
use crate::secret_store::{SecretStore, StoreError};

/// File name of the encrypted vault inside the data folder.
pub const FILE_NAME: &str = "secrets.aegis.json";
const LOCK_NAME: &str = "secrets.lock";
/// Where this app keeps its entries inside the Aegis content (Aegis ignores the field).
const SECTION: &str = "emnify_authenticator_secrets";

/// Why the vault file could not be created or opened. Never holds a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileStoreError {
    /// No vault file yet.
    #[error(
        "there is no encrypted vault file at {0}: create one with `emnify-auth store use-file`"
    )]
    Missing(PathBuf),
    /// Creating over an existing file was refused.
    #[error(
        "an encrypted vault file already exists at {0}: unlock it with its password, or move it away first"
    )]
    Exists(PathBuf),
    /// The password did not open the file.
    #[error("wrong password for the encrypted vault file: try again")]
    WrongPassword,
    /// A password that is too weak to protect a file anyone with the disk can copy.
    #[error("choose a password of at least {0} characters for the vault file")]
    WeakPassword(usize),
    /// The file is damaged or not one of ours.
    #[error("the encrypted vault file {path} cannot be read: {source}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: AegisError,
    },
    /// Reading or writing failed.
    #[error("cannot {action} {path}: {source}; check that the folder is writable")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

/// The shortest vault-file password accepted.
pub const MIN_PASSWORD_CHARS: usize = 8;

#[derive(Default, Serialize, Deserialize)]
struct Entries(BTreeMap<String, StoredSecret>);

#[derive(Serialize, Deserialize)]
struct StoredSecret {
    label: String,
    secret: Zeroizing<String>,
}

/// An unlocked encrypted vault file.
pub struct FileStore {
    path: PathBuf,
    lock_path: PathBuf,
    unlocked: UnlockedVault,
}

impl fmt::Debug for FileStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// The vault file's path inside a data folder.
pub fn path_in(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE_NAME)
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> FileStoreError {
    let path = path.to_owned();
    move |source| FileStoreError::Io {
        action,
        path,
        source,
    }
}

fn content_of(entries: &Entries) -> Zeroizing<Vec<u8>> {
    let mut content = AegisContent {
        version: crate::aegis::content::CONTENT_VERSION,
        ..AegisContent::default()
    };
    content.other.insert(
        SECTION.into(),
        serde_json::to_value(entries).expect("entries serialise"),
    );
    let json = content.to_json();
    // The JSON value tree held copies of the secrets; it is gone, `json` is zeroed on drop.
    drop(content);
    json
}

impl FileStore {
    /// Creates a new, empty vault file protected by `password` (refuses to overwrite).
    pub fn create(data_dir: &Path, password: &SecretString) -> Result<Self, FileStoreError> {
        use secrecy::ExposeSecret;
        if password.expose_secret().chars().count() < MIN_PASSWORD_CHARS {
            return Err(FileStoreError::WeakPassword(MIN_PASSWORD_CHARS));
        }
        let path = path_in(data_dir);
        if path.exists() {
            return Err(FileStoreError::Exists(path));
        }
        let (file, unlocked) = crypto::create(
            &content_of(&Entries::default()),
            password,
            KdfParams::AEGIS,
            &SealRandomness::generate(),
        )
        .map_err(|source| FileStoreError::Unreadable {
            path: path.clone(),
            source,
        })?;
        private_file::create_new(&path, file.to_json().as_bytes()).map_err(|err| {
            if err.kind() == io::ErrorKind::AlreadyExists {
                FileStoreError::Exists(path.clone())
            } else {
                io_error("write", &path)(err)
            }
        })?;
        Ok(Self {
            lock_path: data_dir.join(LOCK_NAME),
            path,
            unlocked,
        })
    }

    /// Opens the vault file of `data_dir` with `password` (derives the key once).
    pub fn unlock(data_dir: &Path, password: &SecretString) -> Result<Self, FileStoreError> {
        let path = path_in(data_dir);
        let file = read_file(&path)?;
        let unlocked = crypto::unlock(&file, password).map_err(|err| match err {
            AegisError::WrongPassword => FileStoreError::WrongPassword,
            source => FileStoreError::Unreadable {
                path: path.clone(),
                source,
            },
        })?;
        let store = Self {
            lock_path: data_dir.join(LOCK_NAME),
            path,
            unlocked,
        };
        store.read_entries()?;
        Ok(store)
    }

    /// Whether `data_dir` has a vault file.
    pub fn exists(data_dir: &Path) -> bool {
        path_in(data_dir).exists()
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read_entries(&self) -> Result<Entries, FileStoreError> {
        let file = read_file(&self.path)?;
        let unreadable = |source| FileStoreError::Unreadable {
            path: self.path.clone(),
            source,
        };
        let json = crypto::decrypt_content(&file, &self.unlocked.master_key).map_err(unreadable)?;
        let mut content = AegisContent::parse(&json).map_err(unreadable)?;
        match content.other.remove(SECTION) {
            None => Ok(Entries::default()),
            Some(section) => serde_json::from_value(section).map_err(|err| {
                unreadable(AegisError::BadContent {
                    detail: err.to_string(),
                })
            }),
        }
    }

    /// Applies `change` to the entries under the lock and writes the file again.
    fn modify<T>(&self, change: impl FnOnce(&mut Entries) -> T) -> Result<T, FileStoreError> {
        let _lock =
            private_file::lock(&self.lock_path).map_err(io_error("lock", &self.lock_path))?;
        let mut entries = self.read_entries()?;
        let result = change(&mut entries);
        let sealed = crypto::seal(
            &content_of(&entries),
            &self.unlocked,
            crypto::random_nonce(),
        );
        private_file::replace(&self.path, sealed.to_json().as_bytes())
            .map_err(io_error("write", &self.path))?;
        Ok(result)
    }

    /// Stores many secrets with one write (a migration): all or none land.
    pub fn set_many<'a>(
        &self,
        secrets: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>,
    ) -> Result<(), FileStoreError> {
        self.modify(|entries| {
            for (key, label, secret) in secrets {
                entries.0.insert(
                    key.to_owned(),
                    StoredSecret {
                        label: label.to_owned(),
                        secret: Zeroizing::new(secret.to_owned()),
                    },
                );
            }
        })
    }
}

fn read_file(path: &Path) -> Result<VaultFile, FileStoreError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => Zeroizing::new(bytes),
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            return Err(FileStoreError::Missing(path.to_owned()));
        }
        Err(err) => return Err(io_error("read", path)(err)),
    };
    VaultFile::parse(&bytes).map_err(|source| FileStoreError::Unreadable {
        path: path.to_owned(),
        source,
    })
}

fn store_error(err: FileStoreError) -> StoreError {
    StoreError::VaultFileFailed {
        detail: err.to_string(),
    }
}

impl SecretStore for FileStore {
    fn set(&self, key: &str, label: &str, secret: &str) -> Result<(), StoreError> {
        self.set_many([(key, label, secret)]).map_err(store_error)
    }

    fn get(&self, key: &str) -> Result<Option<Zeroizing<String>>, StoreError> {
        let entries = self.read_entries().map_err(store_error)?;
        Ok(entries.0.get(key).map(|stored| stored.secret.clone()))
    }

    fn delete(&self, key: &str) -> Result<bool, StoreError> {
        self.modify(|entries| entries.0.remove(key).is_some())
            .map_err(store_error)
    }

    fn keys(&self) -> Result<Vec<String>, StoreError> {
        let entries = self.read_entries().map_err(store_error)?;
        Ok(entries.0.keys().cloned().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn password(text: &str) -> SecretString {
        SecretString::from(text.to_owned())
    }

    #[test]
    fn secrets_survive_reopening_and_never_appear_in_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::create(dir.path(), &password("correct horse")).unwrap();
        store
            .set("id-1", "emnify: ops", "JBSWY3DPEHPK3PXP")
            .unwrap();
        store.set("id-2", "other", "GEZDGNBVGY3TQOJQ").unwrap();
        assert!(store.delete("id-2").unwrap());
        let raw = std::fs::read_to_string(store.path()).unwrap();
        assert!(!raw.contains("JBSWY3DPEHPK3PXP") && !raw.contains("emnify: ops"));

        let again = FileStore::unlock(dir.path(), &password("correct horse")).unwrap();
        assert_eq!(
            again.get("id-1").unwrap().unwrap().as_str(),
            "JBSWY3DPEHPK3PXP"
        );
        assert_eq!(again.keys().unwrap(), ["id-1"]);
        assert!(matches!(
            FileStore::unlock(dir.path(), &password("wrong horse")),
            Err(FileStoreError::WrongPassword)
        ));
    }

    #[test]
    fn creating_refuses_weak_passwords_and_existing_files() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            FileStore::create(dir.path(), &password("short")),
            Err(FileStoreError::WeakPassword(_))
        ));
        FileStore::create(dir.path(), &password("long enough")).unwrap();
        let before = std::fs::read(path_in(dir.path())).unwrap();
        assert!(matches!(
            FileStore::create(dir.path(), &password("long enough")),
            Err(FileStoreError::Exists(_))
        ));
        assert_eq!(std::fs::read(path_in(dir.path())).unwrap(), before);
    }

    #[test]
    fn two_handles_lose_no_update() {
        let dir = tempfile::tempdir().unwrap();
        let one = FileStore::create(dir.path(), &password("long enough")).unwrap();
        let two = FileStore::unlock(dir.path(), &password("long enough")).unwrap();
        one.set("a", "", "AAAA").unwrap();
        two.set("b", "", "BBBB").unwrap();
        assert_eq!(one.keys().unwrap(), ["a", "b"]);
    }
}
