//! Which secret store a data folder uses (the OS keyring by default, or the encrypted
//! vault file the user chose), and moving every secret from one to the other.
//!
//! The choice lives in `secret-store.json`, written atomically; it is also the commit
//! point of a migration. A migration writes its intent, copies every secret to the target,
//! commits by switching the choice, then deletes the source copies. A process killed at
//! any point leaves a pending record; [`recover`] (run by every [`open`]) rolls an
//! uncommitted migration back and finishes a committed one, so afterwards each secret is
//! in exactly one store.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::file_store::{self, FileStore, FileStoreError};
use crate::metadata::{MetadataError, MetadataFile, VaultDocument};
use crate::private_file;
use crate::secret_store::{KeyringStore, SecretStore, StoreError};

/// File name of the choice inside the data folder.
pub const CHOICE_FILE: &str = "secret-store.json";

/// Where secrets live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// The OS keyring (Secret Service, Keychain, Credential Manager).
    #[default]
    Keyring,
    /// The encrypted vault file in the data folder.
    File,
}

impl fmt::Display for StoreKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StoreKind::Keyring => "the keyring",
            StoreKind::File => "the encrypted vault file",
        })
    }
}

/// A migration that was started and has not finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingMigration {
    /// Where the secrets are going.
    pub to: StoreKind,
    /// Whether the choice already points at the target (only clean-up remains).
    pub committed: bool,
}

/// The content of `secret-store.json`; absent means the keyring.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreChoice {
    /// The store in use.
    pub kind: StoreKind,
    /// An unfinished migration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migration: Option<PendingMigration>,
}

/// Why choosing, opening or migrating a store failed. Never carries a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreChoiceError {
    /// `secret-store.json` is damaged.
    #[error(
        "{path} is damaged ({detail}); it says which store holds your keys: restore it from a backup, or write {{\"kind\":\"keyring\"}} or {{\"kind\":\"file\"}} into it"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        detail: String,
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
    /// The store is already the one asked for.
    #[error("the secrets are already in {0}")]
    AlreadyThere(StoreKind),
    /// The keyring cannot be read, and accounts depend on it.
    #[error(
        "{accounts} account(s) and profile(s) keep their keys in the keyring, which cannot be reached ({source}); start the keyring so they can be moved, then run this again"
    )]
    KeyringNeeded {
        /// How many metadata records have keys in the keyring.
        accounts: usize,
        /// The keyring's error.
        #[source]
        source: StoreError,
    },
    /// A secret store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The vault file failed.
    #[error(transparent)]
    File(#[from] FileStoreError),
    /// The metadata failed.
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    /// A copied secret did not read back the same: nothing was switched.
    #[error(
        "the copy of a key in {0} did not read back correctly, so nothing was switched; try again"
    )]
    VerifyFailed(StoreKind),
}

fn choice_path(data_dir: &Path) -> PathBuf {
    data_dir.join(CHOICE_FILE)
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> StoreChoiceError {
    let path = path.to_owned();
    move |source| StoreChoiceError::Io {
        action,
        path,
        source,
    }
}

/// The store choice of `data_dir` (the keyring when nothing was chosen).
pub fn read_choice(data_dir: &Path) -> Result<StoreChoice, StoreChoiceError> {
    let path = choice_path(data_dir);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|err| StoreChoiceError::Corrupt {
            path,
            detail: err.to_string(),
        }),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(StoreChoice::default()),
        Err(err) => Err(io_error("read", &path)(err)),
    }
}

fn write_choice(data_dir: &Path, choice: &StoreChoice) -> Result<(), StoreChoiceError> {
    let path = choice_path(data_dir);
    let mut json = serde_json::to_vec_pretty(choice).expect("the choice serialises");
    json.push(b'\n');
    private_file::replace(&path, &json).map_err(io_error("write", &path))
}

/// Asks for the vault file's password when a secret is first needed (the CLI prompts;
/// `None` means no password could be had).
pub type PasswordSource = Box<dyn Fn() -> Option<SecretString> + Send + Sync>;

/// The encrypted vault file as a store: locked until a password unlocks it.
pub struct FileBackend {
    data_dir: PathBuf,
    unlocked: Mutex<Option<Arc<FileStore>>>,
    ask: Option<PasswordSource>,
}

impl fmt::Debug for FileBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileBackend")
            .field("data_dir", &self.data_dir)
            .field("unlocked", &self.is_unlocked())
            .finish_non_exhaustive()
    }
}

impl FileBackend {
    /// The vault file of `data_dir`; `ask` supplies the password on first use.
    pub fn new(data_dir: &Path, ask: Option<PasswordSource>) -> Self {
        Self {
            data_dir: data_dir.to_owned(),
            unlocked: Mutex::new(None),
            ask,
        }
    }

    /// Unlocks with `password` (the key is derived once and kept until [`Self::lock`]).
    pub fn unlock(&self, password: &SecretString) -> Result<(), FileStoreError> {
        let store = FileStore::unlock(&self.data_dir, password)?;
        *self.unlocked.lock().expect("file backend lock") = Some(Arc::new(store));
        Ok(())
    }

    /// Forgets the key: secrets cannot be read until the password is given again.
    pub fn lock(&self) {
        *self.unlocked.lock().expect("file backend lock") = None;
    }

    /// Whether the password was given in this session.
    pub fn is_unlocked(&self) -> bool {
        self.unlocked.lock().expect("file backend lock").is_some()
    }

    fn store(&self) -> Result<Arc<FileStore>, StoreError> {
        let mut slot = self.unlocked.lock().expect("file backend lock");
        if let Some(store) = slot.as_ref() {
            return Ok(store.clone());
        }
        let locked = |detail: &str| StoreError::VaultFileLocked {
            detail: detail.to_owned(),
        };
        let Some(ask) = &self.ask else {
            return Err(locked("not unlocked yet"));
        };
        let password = ask().ok_or_else(|| locked("no password was given"))?;
        let store = Arc::new(FileStore::unlock(&self.data_dir, &password).map_err(
            |err| match err {
                FileStoreError::WrongPassword => locked("wrong password"),
                other => StoreError::VaultFileFailed {
                    detail: other.to_string(),
                },
            },
        )?);
        *slot = Some(store.clone());
        Ok(store)
    }
}

impl SecretStore for FileBackend {
    fn ensure_available(&self) -> Result<(), StoreError> {
        self.store().map(|_| ())
    }
    fn set(&self, key: &str, label: &str, secret: &str) -> Result<(), StoreError> {
        self.store()?.set(key, label, secret)
    }
    fn get(&self, key: &str) -> Result<Option<Zeroizing<String>>, StoreError> {
        self.store()?.get(key)
    }
    fn delete(&self, key: &str) -> Result<bool, StoreError> {
        self.store()?.delete(key)
    }
    fn keys(&self) -> Result<Vec<String>, StoreError> {
        self.store()?.keys()
    }
}

/// The secret store a data folder uses.
#[derive(Debug)]
pub enum VaultStore {
    /// The OS keyring.
    Keyring(KeyringStore),
    /// The encrypted vault file.
    File(FileBackend),
}

impl VaultStore {
    /// Which kind this is.
    pub fn kind(&self) -> StoreKind {
        match self {
            VaultStore::Keyring(_) => StoreKind::Keyring,
            VaultStore::File(_) => StoreKind::File,
        }
    }

    /// The vault file backend, when that is the store.
    pub fn file(&self) -> Option<&FileBackend> {
        match self {
            VaultStore::File(file) => Some(file),
            VaultStore::Keyring(_) => None,
        }
    }

    fn inner(&self) -> &dyn SecretStore {
        match self {
            VaultStore::Keyring(store) => store,
            VaultStore::File(store) => store,
        }
    }
}

impl SecretStore for VaultStore {
    fn ensure_available(&self) -> Result<(), StoreError> {
        self.inner().ensure_available()
    }
    fn set(&self, key: &str, label: &str, secret: &str) -> Result<(), StoreError> {
        self.inner().set(key, label, secret)
    }
    fn get(&self, key: &str) -> Result<Option<Zeroizing<String>>, StoreError> {
        self.inner().get(key)
    }
    fn delete(&self, key: &str) -> Result<bool, StoreError> {
        self.inner().delete(key)
    }
    fn keys(&self) -> Result<Vec<String>, StoreError> {
        self.inner().keys()
    }
}

/// What [`open`] found and did.
#[derive(Debug)]
pub struct OpenedStore {
    /// The store to use.
    pub store: VaultStore,
    /// A migration that was interrupted and was now rolled back or finished, if any.
    pub recovered: Option<PendingMigration>,
    /// A migration that is still pending (its clean-up needs a store that cannot be
    /// reached now); the secrets are safe in `store`.
    pub still_pending: Option<PendingMigration>,
}

/// Opens the store `data_dir` uses, first repairing an interrupted migration.
/// `keyring_service` names the keyring entries; `ask` supplies the vault file's password
/// when it is first needed.
pub fn open(
    data_dir: &Path,
    keyring_service: &str,
    ask: Option<PasswordSource>,
) -> Result<OpenedStore, StoreChoiceError> {
    let keyring = KeyringStore::new(keyring_service);
    let (choice, recovered) = recover(data_dir, &keyring)?;
    let store = match choice.kind {
        StoreKind::Keyring => VaultStore::Keyring(keyring),
        StoreKind::File => VaultStore::File(FileBackend::new(data_dir, ask)),
    };
    Ok(OpenedStore {
        store,
        recovered,
        still_pending: choice.migration,
    })
}

/// Rolls back an uncommitted migration or finishes a committed one. Needs no password:
/// the vault file is deleted as a whole, and keyring entries are found by their service.
/// Leaves the record pending (and the secrets safe in the current store) when the
/// keyring cannot be reached. Takes the metadata lock, which a running migration holds,
/// so a migration in progress in another process is never mistaken for an interrupted one.
pub fn recover(
    data_dir: &Path,
    keyring: &KeyringStore,
) -> Result<(StoreChoice, Option<PendingMigration>), StoreChoiceError> {
    let choice = read_choice(data_dir)?;
    if choice.migration.is_none() {
        return Ok((choice, None));
    }
    let metadata = MetadataFile::in_dir(data_dir);
    let _lock = metadata.lock_exclusive()?;
    recover_locked(data_dir, keyring)
}

/// [`recover`] for a caller that holds the metadata lock.
fn recover_locked(
    data_dir: &Path,
    keyring: &KeyringStore,
) -> Result<(StoreChoice, Option<PendingMigration>), StoreChoiceError> {
    let choice = read_choice(data_dir)?;
    let Some(pending) = choice.migration else {
        return Ok((choice, None));
    };
    // Whichever way it went, the copies to drop are those of the store not chosen.
    let dropped = match choice.kind {
        StoreKind::Keyring => remove_vault_file(data_dir),
        StoreKind::File => clear_keyring(keyring),
    };
    match dropped {
        Ok(()) => {
            let done = StoreChoice {
                kind: choice.kind,
                migration: None,
            };
            write_choice(data_dir, &done)?;
            Ok((done, Some(pending)))
        }
        Err(err) => {
            tracing::warn!(error = %err, "an interrupted migration cannot be cleaned up yet");
            Ok((choice, None))
        }
    }
}

fn remove_vault_file(data_dir: &Path) -> Result<(), StoreChoiceError> {
    let path = file_store::path_in(data_dir);
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(io_error("remove", &path)(err)),
    }
}

fn clear_keyring(keyring: &KeyringStore) -> Result<(), StoreChoiceError> {
    for key in keyring.keys()? {
        keyring.delete(&key)?;
    }
    Ok(())
}

/// Keys the metadata knows must have a secret (accounts).
fn account_keys(doc: &VaultDocument) -> Vec<String> {
    doc.accounts.iter().map(|a| a.id.to_string()).collect()
}

fn label_for(doc: &VaultDocument, key: &str) -> String {
    doc.accounts
        .iter()
        .find(|a| a.id.to_string() == key)
        .map(|a| {
            format!(
                "emnify Authenticator: {}",
                crate::account::display_name(&a.issuer, &a.label)
            )
        })
        .unwrap_or_else(|| format!("emnify Authenticator: {key}"))
}

/// What a migration moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    /// Where the secrets are now.
    pub to: StoreKind,
    /// How many secrets were moved.
    pub moved: usize,
}

/// Moves every secret from the keyring into a new encrypted vault file protected by
/// `password`, then deletes them from the keyring. Holds the metadata lock throughout, so
/// no account is added meanwhile.
pub fn migrate_to_file(
    data_dir: &Path,
    keyring: &KeyringStore,
    password: &SecretString,
) -> Result<MigrationReport, StoreChoiceError> {
    let metadata = MetadataFile::in_dir(data_dir);
    let lock = metadata.lock_exclusive()?;
    let doc = lock.read()?;
    let (choice, _) = recover_locked(data_dir, keyring)?;
    if choice.kind == StoreKind::File {
        return Err(StoreChoiceError::AlreadyThere(StoreKind::File));
    }
    let needed = account_keys(&doc).len() + doc.profiles.len();
    let mut keyring_reachable = true;
    let keys = match keyring.keys() {
        Ok(keys) => keys,
        // Nothing depends on the keyring yet: the file can start empty.
        Err(_) if needed == 0 => {
            keyring_reachable = false;
            Vec::new()
        }
        Err(source) => {
            return Err(StoreChoiceError::KeyringNeeded {
                accounts: needed,
                source,
            });
        }
    };
    let mut secrets: Vec<(String, String, Zeroizing<String>)> = Vec::with_capacity(keys.len());
    for key in keys {
        if let Some(secret) = keyring.get(&key)? {
            let label = label_for(&doc, &key);
            secrets.push((key, label, secret));
        }
    }
    // A vault file left by an earlier, rolled-back attempt is not ours to keep.
    if FileStore::exists(data_dir) && choice.migration.is_none() {
        remove_vault_file(data_dir)?;
    }
    write_choice(
        data_dir,
        &StoreChoice {
            kind: StoreKind::Keyring,
            migration: Some(PendingMigration {
                to: StoreKind::File,
                committed: false,
            }),
        },
    )?;
    let file = FileStore::create(data_dir, password)?;
    file.set_many(
        secrets
            .iter()
            .map(|(key, label, secret)| (key.as_str(), label.as_str(), secret.as_str())),
    )?;
    for (key, _, secret) in &secrets {
        if file.get(key)?.as_deref().map(String::as_str) != Some(secret.as_str()) {
            return Err(StoreChoiceError::VerifyFailed(StoreKind::File));
        }
    }
    let committed = StoreChoice {
        kind: StoreKind::File,
        // An unreachable keyring held nothing of ours: there is nothing to clean up.
        migration: keyring_reachable.then_some(PendingMigration {
            to: StoreKind::File,
            committed: true,
        }),
    };
    write_choice(data_dir, &committed)?;
    recover_locked(data_dir, keyring)?;
    drop(lock);
    Ok(MigrationReport {
        to: StoreKind::File,
        moved: secrets.len(),
    })
}

/// Moves every secret from the (unlocked) vault file into the keyring, then deletes the
/// file.
pub fn migrate_to_keyring(
    data_dir: &Path,
    keyring: &KeyringStore,
    file: &FileBackend,
) -> Result<MigrationReport, StoreChoiceError> {
    let metadata = MetadataFile::in_dir(data_dir);
    let lock = metadata.lock_exclusive()?;
    let doc = lock.read()?;
    let (choice, _) = recover_locked(data_dir, keyring)?;
    if choice.kind == StoreKind::Keyring {
        return Err(StoreChoiceError::AlreadyThere(StoreKind::Keyring));
    }
    keyring.ensure_available()?;
    let mut secrets: Vec<(String, Zeroizing<String>)> = Vec::new();
    for key in file.keys()? {
        if let Some(secret) = file.get(&key)? {
            secrets.push((key, secret));
        }
    }
    write_choice(
        data_dir,
        &StoreChoice {
            kind: StoreKind::File,
            migration: Some(PendingMigration {
                to: StoreKind::Keyring,
                committed: false,
            }),
        },
    )?;
    for (key, secret) in &secrets {
        keyring.set(key, &label_for(&doc, key), secret)?;
        if keyring.get(key)?.as_deref().map(String::as_str) != Some(secret.as_str()) {
            return Err(StoreChoiceError::VerifyFailed(StoreKind::Keyring));
        }
    }
    write_choice(
        data_dir,
        &StoreChoice {
            kind: StoreKind::Keyring,
            migration: Some(PendingMigration {
                to: StoreKind::Keyring,
                committed: true,
            }),
        },
    )?;
    recover_locked(data_dir, keyring)?;
    file.lock();
    drop(lock);
    Ok(MigrationReport {
        to: StoreKind::Keyring,
        moved: secrets.len(),
    })
}

/// What [`remove_leftovers`] removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Leftovers {
    /// Keys of no account.
    pub keys: usize,
    /// Temporary files of interrupted writes.
    pub temporary_files: usize,
}

/// How old a temporary file must be before it counts as left by a dead process.
const STALE_TEMPORARY: std::time::Duration = std::time::Duration::from_secs(600);

/// What a process killed mid-way leaves behind, removed: secrets of accounts that are not
/// in the metadata (killed between writing a key and writing the metadata; done under the
/// metadata lock so that no add in progress is mistaken for one), and temporary files
/// older than ten minutes.
pub fn remove_leftovers(
    data_dir: &Path,
    store: &dyn SecretStore,
    now: std::time::SystemTime,
) -> Result<Leftovers, StoreChoiceError> {
    let metadata = MetadataFile::in_dir(data_dir);
    let lock = metadata.lock_exclusive()?;
    let doc = lock.read()?;
    let known = account_keys(&doc);
    let mut keys = 0;
    for key in store.keys()? {
        let is_account_key = key.parse::<uuid::Uuid>().is_ok();
        if is_account_key && !known.contains(&key) && store.delete(&key)? {
            keys += 1;
        }
    }
    drop(lock);
    let temporary_files = private_file::remove_stale_temporaries(data_dir, STALE_TEMPORARY, now)
        .map_err(io_error("clean up", data_dir))?;
    Ok(Leftovers {
        keys,
        temporary_files,
    })
}
