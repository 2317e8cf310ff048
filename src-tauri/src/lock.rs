//! The app lock: hides every code (and refuses every secret) after a while without use,
//! on demand (lock button, Ctrl+L), and when the screen locks. The decisions are
//! `emnify_auth_core::app_lock`'s; this module keeps the time of the last activity, runs
//! the idle watcher and the screen-saver listener, and tells the window with the
//! `app-lock` event.
//!
//! Three ways to unlock: a lock password of the app's own, the vault file's password, or
//! the keyring's own prompt (see `keyring_lock`: that mode locks the whole keyring
//! collection with the app, which the settings screen says before it is chosen).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use emnify_auth_core::app_lock::{self, AppLockError, LockMode, LockSettings};
use emnify_auth_core::file_store::FileStoreError;
use emnify_auth_core::store_choice::StoreKind;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Emitter, Manager, State};

use crate::error::{CommandError, CommandResult};
use crate::keyring_lock::{self, Unlock};
use crate::state::AppState;
use crate::store::{FILE_LOCKED_MESSAGE, LOCKED_MESSAGE};
use crate::tray;

/// The event the window hears when the app locks or unlocks.
pub const EVENT: &str = "app-lock";

/// How often the idle watcher looks at the clock when nothing is due sooner.
const IDLE_POLL: Duration = Duration::from_secs(5);

/// What the lock knows while the app runs.
#[derive(Debug)]
pub struct LockState {
    origin: Instant,
    /// Milliseconds since `origin` of the last user activity.
    last_activity: AtomicU64,
    /// Wrong unlock passwords in a row.
    failures: AtomicU32,
    /// The keyring's password prompt is open (one at a time).
    prompting: AtomicBool,
    settings: Mutex<LockSettings>,
    /// Why the stored settings could not be read (until they are saved again).
    problem: Mutex<Option<String>>,
}

impl LockState {
    /// Reads the lock settings; with a lock password the app starts locked (it may have
    /// been started by the session, with nobody at the screen).
    pub fn load(state: &AppState) -> Self {
        let (settings, problem) = match state.vault.lock_settings() {
            Ok(settings) => (settings, None),
            // Written by a newer build, or damaged: the settings screen says so, and
            // saving the lock settings again repairs them.
            Err(err) => {
                tracing::warn!(error = %err, "app lock settings unreadable; the lock is off");
                (LockSettings::default(), Some(err.to_string()))
            }
        };
        let start_locked = match settings.mode {
            LockMode::Password => true,
            // Unlocked by the session's login already, or not: the keyring knows.
            LockMode::Keyring => keyring_lock::is_locked().unwrap_or(true),
            LockMode::Off | LockMode::VaultFile => false,
        };
        if start_locked {
            state.vault.secrets().set_app_locked(true);
        }
        Self {
            origin: Instant::now(),
            last_activity: AtomicU64::new(0),
            failures: AtomicU32::new(0),
            prompting: AtomicBool::new(false),
            settings: Mutex::new(settings),
            problem: Mutex::new(problem),
        }
    }

    fn now(&self) -> Duration {
        self.origin.elapsed()
    }

    /// Notes user activity now.
    pub fn touch(&self) {
        let now = u64::try_from(self.now().as_millis()).unwrap_or(u64::MAX);
        self.last_activity.store(now, Ordering::SeqCst);
    }

    fn last_activity(&self) -> Duration {
        Duration::from_millis(self.last_activity.load(Ordering::SeqCst))
    }

    /// The lock settings in force.
    pub fn settings(&self) -> LockSettings {
        self.settings.lock().expect("lock settings").clone()
    }

    /// Replaces the settings in force (after they were saved).
    pub fn set_settings(&self, settings: LockSettings) {
        *self.settings.lock().expect("lock settings") = settings;
        *self.problem.lock().expect("lock settings") = None;
    }
}

/// Turns a lock error into what the UI shows.
pub fn lock_error(err: AppLockError) -> CommandError {
    match err {
        AppLockError::Store(store) => store.into(),
        AppLockError::Metadata(_) => CommandError::new("metadata", err.to_string()),
        AppLockError::BadSettings(_) | AppLockError::BadVerifier => {
            CommandError::new("app_lock", err.to_string())
        }
        other => CommandError::new("invalid_input", other.to_string()),
    }
}

/// Whether codes must stay hidden: the app is locked, or the vault file is.
pub fn codes_hidden(state: &AppState) -> bool {
    let store = state.vault.secrets();
    store.app_locked() || store.file_locked()
}

/// Refuses a command that would show or copy a code or token while the app (or the vault
/// file) is locked. Also drops decoded keys a request racing with the lock may have cached.
pub fn ensure_unlocked(state: &AppState) -> CommandResult<()> {
    let store = state.vault.secrets();
    if store.app_locked() {
        state.secrets.lock().expect("secret cache").clear();
        return Err(CommandError::new("locked", LOCKED_MESSAGE));
    }
    if store.file_locked() {
        return Err(CommandError::new("store_locked", FILE_LOCKED_MESSAGE));
    }
    Ok(())
}

#[derive(Debug, Clone, Serialize)]
struct LockEvent {
    locked: bool,
    /// "button", "idle", "screen", "keyring" or "unlock".
    reason: &'static str,
}

/// Locks the app now (no-op when the lock is off or already on). With the vault file's
/// password as the lock, the file's key is forgotten too.
pub fn lock_app(app: &AppHandle, reason: &'static str) -> bool {
    let state = app.state::<AppState>();
    let lock = app.state::<LockState>();
    let mode = lock.settings().mode;
    let store = state.vault.secrets();
    if mode == LockMode::Off || store.app_locked() {
        return false;
    }
    store.set_app_locked(true);
    if mode == LockMode::VaultFile
        && let Some(file) = store.current().file()
    {
        file.lock();
    }
    if mode == LockMode::Keyring
        && let Err(err) = keyring_lock::lock()
    {
        // The app is locked all the same, and unlocking locks the keyring first.
        tracing::warn!(error = %err, "cannot lock the keyring with the app");
    }
    // Decoded keys and parsed imports waiting for confirmation hold keys: drop them.
    state.secrets.lock().expect("secret cache").clear();
    state
        .pending_imports
        .lock()
        .expect("pending imports")
        .clear();
    let _ = app.emit(
        EVENT,
        LockEvent {
            locked: true,
            reason,
        },
    );
    tray::refresh(app);
    true
}

/// After a successful unlock (lock password or vault file password).
pub fn unlocked(app: &AppHandle) {
    let state = app.state::<AppState>();
    let lock = app.state::<LockState>();
    state.vault.secrets().set_app_locked(false);
    lock.failures.store(0, Ordering::SeqCst);
    lock.touch();
    let _ = app.emit(
        EVENT,
        LockEvent {
            locked: false,
            reason: "unlock",
        },
    );
    tray::refresh(app);
}

/// The lock as the settings screen and the lock screen show it.
#[derive(Debug, Serialize)]
pub struct LockView {
    mode: LockMode,
    idle_minutes: u32,
    lock_on_screen_lock: bool,
    locked: bool,
    /// Where the secrets are ("keyring" or "file"): the vault-file mode needs the file.
    store_kind: StoreKind,
    /// Why the stored lock settings could not be read, if they could not.
    problem: Option<String>,
}

fn view(state: &AppState, lock: &LockState) -> LockView {
    let settings = lock.settings();
    LockView {
        mode: settings.mode,
        idle_minutes: settings.idle_minutes,
        lock_on_screen_lock: settings.lock_on_screen_lock,
        locked: state.vault.secrets().app_locked(),
        store_kind: state.vault.secrets().kind(),
        problem: lock.problem.lock().expect("lock settings").clone(),
    }
}

/// The lock settings and whether the app is locked.
#[tauri::command]
pub fn lock_status(state: State<'_, AppState>, lock: State<'_, LockState>) -> LockView {
    view(&state, &lock)
}

/// Locks now (the lock button, Ctrl+L).
#[tauri::command]
pub fn lock_now(app: AppHandle) -> CommandResult<()> {
    let lock = app.state::<LockState>();
    if lock.settings().mode == LockMode::Off {
        return Err(CommandError::new(
            "invalid_input",
            "the app lock is off: choose a lock password in Settings first",
        ));
    }
    lock_app(&app, "button");
    Ok(())
}

/// The user did something in the window: the idle time starts again.
#[tauri::command]
pub fn lock_activity(lock: State<'_, LockState>) {
    lock.touch();
}

/// Unlocks with the lock password (or the vault file's, in that mode). After three wrong
/// passwords in a row each further try waits a little longer.
#[tauri::command]
pub async fn unlock_app(app: AppHandle, password: String) -> CommandResult<()> {
    let password = SecretString::from(password);
    let (locked, mode, failures) = {
        let state = app.state::<AppState>();
        let lock = app.state::<LockState>();
        (
            state.vault.secrets().app_locked(),
            lock.settings().mode,
            lock.failures.load(Ordering::SeqCst),
        )
    };
    if !locked {
        return Ok(());
    }
    if mode == LockMode::Keyring {
        return unlock_with_keyring(app).await;
    }
    tokio::time::sleep(app_lock::unlock_delay(failures)).await;
    let worker = app.clone();
    // scrypt (and a keyring round trip) block: off the async runtime's threads.
    let verdict = tauri::async_runtime::spawn_blocking(move || -> CommandResult<bool> {
        let state = worker.state::<AppState>();
        let current = state.vault.secrets().current();
        match mode {
            LockMode::Off | LockMode::Keyring => Ok(true),
            LockMode::Password => {
                app_lock::check_password(&*current, &password).map_err(lock_error)
            }
            LockMode::VaultFile => match current.file() {
                None => Ok(true),
                Some(file) => match file.unlock(&password) {
                    Ok(()) => Ok(true),
                    Err(FileStoreError::WrongPassword) => Ok(false),
                    Err(other) => Err(CommandError::new("store", other.to_string())),
                },
            },
        }
    })
    .await
    .map_err(|err| CommandError::new("app_lock", format!("cannot check the password: {err}")))??;
    if !verdict {
        let lock = app.state::<LockState>();
        lock.failures.fetch_add(1, Ordering::SeqCst);
        return Err(CommandError::new(
            "wrong_password",
            "wrong password: check it and try again",
        ));
    }
    unlocked(&app);
    Ok(())
}

/// Unlocks through the keyring's own password prompt (the typed password is not used).
async fn unlock_with_keyring(app: AppHandle) -> CommandResult<()> {
    let lock = app.state::<LockState>();
    if lock.prompting.swap(true, Ordering::SeqCst) {
        return Err(CommandError::new(
            "unlock_pending",
            "the keyring's password prompt is open already: answer it there",
        ));
    }
    let outcome = tauri::async_runtime::spawn_blocking(keyring_lock::unlock_with_prompt).await;
    lock.prompting.store(false, Ordering::SeqCst);
    let outcome = outcome
        .map_err(|err| CommandError::new("app_lock", format!("cannot ask the keyring: {err}")))?
        .map_err(|err| CommandError::new("keyring_lock", err.to_string()))?;
    match outcome {
        Unlock::Unlocked => {
            unlocked(&app);
            Ok(())
        }
        Unlock::Dismissed => Err(CommandError::new(
            "unlock_cancelled",
            "the keyring's password prompt was closed without unlocking: choose Unlock to try again",
        )),
    }
}

/// Lock settings as the settings screen sends them. `password` is a new lock password
/// (typed twice in the UI, sent once); `None` keeps the one set.
#[derive(Debug, Deserialize)]
pub struct LockChoice {
    mode: LockMode,
    password: Option<String>,
    idle_minutes: u32,
    lock_on_screen_lock: bool,
}

/// Saves the lock settings (and the lock password's verifier, in the secret store).
#[tauri::command(async)]
pub fn save_lock_settings(app: AppHandle, choice: LockChoice) -> CommandResult<LockView> {
    let state = app.state::<AppState>();
    let lock = app.state::<LockState>();
    ensure_unlocked(&state)?;
    let password = choice
        .password
        .filter(|p| !p.is_empty())
        .map(SecretString::from);
    let store = state.vault.secrets();
    match choice.mode {
        LockMode::Password => match &password {
            Some(password) => app_lock::set_password(store, password).map_err(lock_error)?,
            None if !app_lock::has_password(store).map_err(lock_error)? => {
                return Err(lock_error(AppLockError::NoPassword));
            }
            None => {}
        },
        LockMode::VaultFile if store.kind() != StoreKind::File => {
            return Err(CommandError::new(
                "invalid_input",
                "the keys are in the keyring, so there is no vault file password to lock with: choose a lock password instead",
            ));
        }
        LockMode::Keyring if store.kind() != StoreKind::Keyring => {
            return Err(CommandError::new(
                "invalid_input",
                "the keys are in the vault file, not in the keyring, so the keyring cannot lock the app: choose the vault file's password or a lock password instead",
            ));
        }
        LockMode::Keyring => {
            // Fails now, not at the first lock, when the keyring has no lock to use.
            keyring_lock::is_locked()
                .map_err(|err| CommandError::new("keyring_lock", err.to_string()))?;
            app_lock::clear_password(store).map_err(lock_error)?;
        }
        LockMode::VaultFile | LockMode::Off => {
            app_lock::clear_password(store).map_err(lock_error)?;
        }
    }
    let mut settings = lock.settings();
    settings.mode = choice.mode;
    settings.idle_minutes = choice.idle_minutes;
    settings.lock_on_screen_lock = choice.lock_on_screen_lock;
    state
        .vault
        .save_lock_settings(&settings)
        .map_err(lock_error)?;
    lock.set_settings(settings);
    lock.touch();
    Ok(view(&state, &lock))
}

/// Starts the idle watcher and the screen-saver listener.
pub fn start(app: &AppHandle) {
    app.state::<LockState>().touch();
    let handle = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            let wait = {
                let lock = handle.state::<LockState>();
                let state = handle.state::<AppState>();
                let settings = lock.settings();
                let due = app_lock::until_idle_lock(
                    lock.last_activity(),
                    lock.now(),
                    settings.idle_timeout(),
                );
                match due {
                    Some(left) if left.is_zero() => {
                        if !state.vault.secrets().app_locked() {
                            lock_app(&handle, "idle");
                        }
                        IDLE_POLL
                    }
                    Some(left) => left.min(IDLE_POLL),
                    None => IDLE_POLL,
                }
            };
            tokio::time::sleep(wait).await;
        }
    });
    session_signals::watch(app);
    session_signals::watch_keyring(app);
}

fn on_screen_locked(app: &AppHandle) {
    let lock = app.state::<LockState>();
    if lock.settings().lock_on_screen_lock {
        lock_app(app, "screen");
    }
}

/// A keyring collection changed (locked or unlocked by anyone). In the keyring mode the
/// app follows its keyring: locked with it, so it never shows a page whose every code
/// request would fail.
fn on_keyring_changed(app: &AppHandle) {
    let lock = app.state::<LockState>();
    let state = app.state::<AppState>();
    if lock.settings().mode != LockMode::Keyring
        || state.vault.secrets().app_locked()
        || lock.prompting.load(Ordering::SeqCst)
    {
        return;
    }
    if keyring_lock::is_locked().unwrap_or(false) {
        lock_app(app, "keyring");
    }
}

#[cfg(target_os = "linux")]
mod session_signals {
    //! Session-bus signals the lock follows. The screen savers of GNOME
    //! (`org.gnome.ScreenSaver`) and of KDE, Xfce and others (`org.freedesktop.ScreenSaver`)
    //! announce `ActiveChanged(true)` when the screen locks; the Secret Service announces
    //! `CollectionChanged` when a keyring collection locks or unlocks.

    use tauri::AppHandle;

    const INTERFACES: [&str; 2] = ["org.gnome.ScreenSaver", "org.freedesktop.ScreenSaver"];

    /// Listens on its own thread; without a session bus there is simply no screen lock
    /// to follow (the idle lock still works).
    pub fn watch(app: &AppHandle) {
        spawn_listener(app, "screen-lock-watch", "the screen lock", listen);
    }

    /// Follows the keyring's `CollectionChanged` signal (sent when a collection locks),
    /// on its own thread.
    pub fn watch_keyring(app: &AppHandle) {
        spawn_listener(app, "keyring-watch", "the keyring's lock", listen_keyring);
    }

    /// Runs `listen` on a thread named `name`; `what` names what it follows in the log.
    fn spawn_listener(
        app: &AppHandle,
        name: &str,
        what: &'static str,
        listen: fn(&AppHandle) -> zbus::Result<()>,
    ) {
        let app = app.clone();
        let spawned = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                if let Err(err) = listen(&app) {
                    tracing::info!(error = %err, "not following {what}");
                }
            });
        if let Err(err) = spawned {
            tracing::warn!(error = %err, "cannot start the watcher of {what}");
        }
    }

    fn listen_keyring(app: &AppHandle) -> zbus::Result<()> {
        let connection = zbus::blocking::Connection::session()?;
        let rule = zbus::MatchRule::builder()
            .msg_type(zbus::message::Type::Signal)
            .interface("org.freedesktop.Secret.Service")?
            .member("CollectionChanged")?
            .build();
        let messages = zbus::blocking::MessageIterator::for_match_rule(rule, &connection, None)?;
        for message in messages {
            if message.is_ok() {
                super::on_keyring_changed(app);
            }
        }
        Ok(())
    }

    fn listen(app: &AppHandle) -> zbus::Result<()> {
        let connection = zbus::blocking::Connection::session()?;
        let rule = zbus::MatchRule::builder()
            .msg_type(zbus::message::Type::Signal)
            .member("ActiveChanged")?
            .build();
        let messages = zbus::blocking::MessageIterator::for_match_rule(rule, &connection, None)?;
        for message in messages {
            let Ok(message) = message else { continue };
            let header = message.header();
            let ours = header
                .interface()
                .is_some_and(|interface| INTERFACES.contains(&interface.as_str()));
            if ours && message.body().deserialize::<bool>().unwrap_or(false) {
                super::on_screen_locked(app);
            }
        }
        Ok(())
    }
}

#[cfg(not(target_os = "linux"))]
mod session_signals {
    /// Other platforms: only the idle lock and the lock button.
    pub fn watch(_app: &tauri::AppHandle) {
        let _ = super::on_screen_locked;
    }

    /// Other platforms have no keyring mode.
    pub fn watch_keyring(_app: &tauri::AppHandle) {
        let _ = super::on_keyring_changed;
    }
}
