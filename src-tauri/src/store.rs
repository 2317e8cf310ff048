//! Where the running app keeps secrets: the store its data folder chose (the keyring, or
//! the encrypted vault file), swappable while the app runs so that moving the keys needs
//! no restart, and shut while the app is locked. The commands here report which store is
//! in use, unlock the vault file, and move the keys between the two.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use emnify_auth_core::app_lock::{self, LockMode};
use emnify_auth_core::file_store::{self, FileStoreError};
use emnify_auth_core::secret_store::StoreError;
use emnify_auth_core::store_choice::{self, FileBackend, StoreChoiceError, StoreKind, VaultStore};
use emnify_auth_core::{KeyringStore, SecretStore};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use tauri::{AppHandle, Manager, State};
use zeroize::Zeroizing;

use crate::error::{CommandError, CommandResult};
use crate::lock::LockState;
use crate::state::AppState;
use crate::tray;

/// What the user reads when a command is refused because the app is locked.
pub const LOCKED_MESSAGE: &str =
    "the app is locked: enter your lock password to see codes and use your logins";
/// What the user reads when the vault file has not been unlocked yet.
pub const FILE_LOCKED_MESSAGE: &str =
    "the encrypted vault file is locked: enter its password to see your codes";

/// The secret store of the running app.
pub struct AppStore {
    current: RwLock<Arc<VaultStore>>,
    app_locked: AtomicBool,
    service: String,
}

impl std::fmt::Debug for AppStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppStore")
            .field("kind", &self.kind())
            .field("app_locked", &self.app_locked())
            .finish_non_exhaustive()
    }
}

impl AppStore {
    /// The store `data_dir` chose, after repairing an interrupted move. The vault file
    /// stays locked until the UI unlocks it (the app never asks on a terminal).
    pub fn open(data_dir: &Path, service: &str) -> Result<Self, StoreChoiceError> {
        let opened = store_choice::open(data_dir, service, None)?;
        if let Some(recovered) = opened.recovered {
            tracing::info!(?recovered, "finished an interrupted move of the keys");
        }
        if let Some(pending) = opened.still_pending {
            tracing::warn!(
                ?pending,
                "an interrupted move of the keys still needs the keyring to be cleaned up"
            );
        }
        Ok(Self {
            current: RwLock::new(Arc::new(opened.store)),
            app_locked: AtomicBool::new(false),
            service: service.to_owned(),
        })
    }

    /// The store in use, unguarded by the app lock: for unlocking (the lock password's
    /// verifier lives in it), moving keys, and clean-up.
    pub fn current(&self) -> Arc<VaultStore> {
        self.current.read().expect("store slot").clone()
    }

    fn replace(&self, store: VaultStore) {
        *self.current.write().expect("store slot") = Arc::new(store);
    }

    /// Which store is in use.
    pub fn kind(&self) -> StoreKind {
        self.current().kind()
    }

    /// Whether the app lock holds every secret back.
    pub fn app_locked(&self) -> bool {
        self.app_locked.load(Ordering::SeqCst)
    }

    /// Locks or unlocks the app.
    pub fn set_app_locked(&self, locked: bool) {
        self.app_locked.store(locked, Ordering::SeqCst);
    }

    /// Whether the store is the vault file and its password was not given yet.
    pub fn file_locked(&self) -> bool {
        self.current()
            .file()
            .is_some_and(|file| !file.is_unlocked())
    }

    /// The keyring of this app's service (for moves).
    pub fn keyring(&self) -> KeyringStore {
        KeyringStore::new(&self.service)
    }

    fn guard(&self) -> Result<Arc<VaultStore>, StoreError> {
        if self.app_locked() {
            return Err(StoreError::AppLocked);
        }
        Ok(self.current())
    }
}

impl SecretStore for AppStore {
    fn ensure_available(&self) -> Result<(), StoreError> {
        self.guard()?.ensure_available()
    }
    fn set(&self, key: &str, label: &str, secret: &str) -> Result<(), StoreError> {
        self.guard()?.set(key, label, secret)
    }
    fn get(&self, key: &str) -> Result<Option<Zeroizing<String>>, StoreError> {
        self.guard()?.get(key)
    }
    fn delete(&self, key: &str) -> Result<bool, StoreError> {
        self.guard()?.delete(key)
    }
    fn keys(&self) -> Result<Vec<String>, StoreError> {
        self.guard()?.keys()
    }
}

fn file_error(err: FileStoreError) -> CommandError {
    match err {
        FileStoreError::WrongPassword => CommandError::new("wrong_password", err.to_string()),
        FileStoreError::WeakPassword(_) => CommandError::new("invalid_input", err.to_string()),
        other => CommandError::new("store", other.to_string()),
    }
}

impl From<StoreChoiceError> for CommandError {
    fn from(err: StoreChoiceError) -> Self {
        match err {
            StoreChoiceError::Store(store) => store.into(),
            StoreChoiceError::File(file) => file_error(file),
            StoreChoiceError::KeyringNeeded { .. } => {
                Self::new("keyring_unavailable", err.to_string())
            }
            StoreChoiceError::AlreadyThere(_) => Self::new("invalid_input", err.to_string()),
            other => Self::new("store", other.to_string()),
        }
    }
}

/// Where the secrets are, as the UI shows it.
#[derive(Debug, Serialize)]
pub struct StoreStatus {
    /// "keyring" or "file".
    kind: StoreKind,
    /// The vault file's path (where it is, or would be).
    file_path: String,
    /// The store is the vault file and its password was not given yet.
    file_locked: bool,
    /// The app lock holds the codes back.
    app_locked: bool,
    /// How the app lock unlocks.
    lock_mode: LockMode,
}

fn status(state: &AppState, lock: &LockState) -> StoreStatus {
    let store = state.vault.secrets();
    StoreStatus {
        kind: store.kind(),
        file_path: file_store::path_in(&state.data_dir).display().to_string(),
        file_locked: store.file_locked(),
        app_locked: store.app_locked(),
        lock_mode: lock.settings().mode,
    }
}

/// Which store holds the secrets and whether anything is locked. Touches neither the
/// keyring nor the file, so the UI can ask before painting anything.
#[tauri::command]
pub fn store_status(state: State<'_, AppState>, lock: State<'_, LockState>) -> StoreStatus {
    status(&state, &lock)
}

/// Connects to the keyring (when it is the store) and says why that fails. Off the main
/// thread: a wedged Secret Service takes up to 15 s to give up.
#[tauri::command(async)]
pub fn check_keyring(state: State<'_, AppState>) -> CommandResult<()> {
    let current = state.vault.secrets().current();
    if current.kind() == StoreKind::Keyring {
        current.ensure_available()?;
    }
    Ok(())
}

/// Unlocks the vault file with its password (at start-up, typed on the unlock screen).
/// The password is used once and dropped.
#[tauri::command(async)]
pub fn unlock_store(app: AppHandle, password: String) -> CommandResult<StoreStatus> {
    let password = SecretString::from(password);
    let state = app.state::<AppState>();
    let current = state.vault.secrets().current();
    let file = current.file().ok_or_else(|| {
        CommandError::new(
            "invalid_input",
            "the keys are in the keyring: there is no vault file to unlock",
        )
    })?;
    file.unlock(&password).map_err(file_error)?;
    // The vault file's password is at least as strong as a lock password: it opens both.
    crate::lock::unlocked(&app);
    let lock = app.state::<LockState>();
    Ok(status(&state, &lock))
}

/// What a move between stores did.
#[derive(Debug, Serialize)]
pub struct Moved {
    /// How many secrets were moved.
    moved: usize,
    /// Something the user should know (e.g. the app lock was turned off).
    note: Option<String>,
    /// Where the secrets are now.
    status: StoreStatus,
}

fn after_move(app: &AppHandle) {
    let state = app.state::<AppState>();
    state.secrets.lock().expect("secret cache").clear();
    tray::refresh(app);
}

/// Moves every secret from the keyring into a new encrypted vault file protected by
/// `password` (the UI asked for it twice), then keeps using the file, unlocked. Also the
/// way out when no keyring can be reached: with no account yet, the file starts empty. An
/// app lock that used the keyring's own prompt is turned off, which the answer says.
#[tauri::command(async)]
pub fn use_file_store(app: AppHandle, password: String) -> CommandResult<Moved> {
    let password = SecretString::from(password);
    let state = app.state::<AppState>();
    let store = state.vault.secrets();
    if store.app_locked() {
        return Err(CommandError::new("locked", LOCKED_MESSAGE));
    }
    if password.expose_secret().chars().count() < file_store::MIN_PASSWORD_CHARS {
        return Err(file_error(FileStoreError::WeakPassword(
            file_store::MIN_PASSWORD_CHARS,
        )));
    }
    let report = store_choice::migrate_to_file(&state.data_dir, &store.keyring(), &password)?;
    let backend = FileBackend::new(&state.data_dir, None);
    backend.unlock(&password).map_err(file_error)?;
    store.replace(VaultStore::File(backend));
    after_move(&app);
    let lock = app.state::<LockState>();
    let note = turn_off_lock_using(
        &state,
        &lock,
        LockMode::Keyring,
        "The app lock used the keyring, which no longer holds the keys, so it is off now: choose the vault file's password or a lock password in Settings to turn it on again.",
    )?;
    Ok(Moved {
        moved: report.moved,
        note,
        status: status(&state, &lock),
    })
}

/// Turns the app lock off when it unlocked with `mode`, which a move of the keys took away;
/// `note` (for the answer) says so.
fn turn_off_lock_using(
    state: &AppState,
    lock: &LockState,
    mode: LockMode,
    note: &str,
) -> CommandResult<Option<String>> {
    let mut settings = lock.settings();
    if settings.mode != mode {
        return Ok(None);
    }
    settings.mode = LockMode::Off;
    state
        .vault
        .save_lock_settings(&settings)
        .map_err(crate::lock::lock_error)?;
    lock.set_settings(settings);
    Ok(Some(note.to_owned()))
}

/// Moves every secret from the (unlocked) vault file back into the keyring and deletes
/// the file. An app lock that used the file's password is turned off (there is no file
/// password any more), which the answer says.
#[tauri::command(async)]
pub fn use_keyring_store(app: AppHandle) -> CommandResult<Moved> {
    let state = app.state::<AppState>();
    crate::lock::ensure_unlocked(&state)?;
    let store = state.vault.secrets();
    let current = store.current();
    let Some(file) = current.file() else {
        return Err(StoreChoiceError::AlreadyThere(StoreKind::Keyring).into());
    };
    let report = store_choice::migrate_to_keyring(&state.data_dir, &store.keyring(), file)?;
    store.replace(VaultStore::Keyring(store.keyring()));
    after_move(&app);
    let lock = app.state::<LockState>();
    let note = turn_off_lock_using(
        &state,
        &lock,
        LockMode::VaultFile,
        "The app lock used the vault file's password, so it is off now: choose a lock password in Settings to turn it on again.",
    )?;
    // A stale verifier would otherwise sit in the keyring unused.
    if lock.settings().mode != LockMode::Password {
        let _ = app_lock::clear_password(&*store.current());
    }
    Ok(Moved {
        moved: report.moved,
        note,
        status: status(&state, &lock),
    })
}
