//! The app lock: codes hidden behind a password after a while without use, on demand, or
//! when the screen locks. What is pure here (when to lock, how long to wait after wrong
//! passwords, what a password verifier says) takes its inputs as arguments; the settings
//! live in the metadata document's `app_lock` section (never a secret) and the password
//! verifier in the secret store under [`VERIFIER_KEY`] (never in `vault.json`: a
//! password hash is as good as the password to anyone who can guess it offline).

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD as BASE64;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::metadata::{MetadataError, VaultDocument};
use crate::secret_store::{SecretStore, StoreError};
use crate::vault::Vault;

/// The secret store key of the lock password's verifier.
pub const VERIFIER_KEY: &str = "app-lock:verifier";
/// The metadata document's section for the lock settings.
pub const SECTION: &str = "app_lock";
/// Minutes without use after which the app locks, by default.
pub const DEFAULT_IDLE_MINUTES: u32 = 5;
/// The longest idle time accepted (a day).
pub const MAX_IDLE_MINUTES: u32 = 24 * 60;
/// The shortest lock password accepted. Shorter than the vault file's: the verifier sits
/// inside the secret store next to the keys it guards, so guessing it offline needs what
/// would already give away the keys; the lock only keeps out someone at the screen.
pub const MIN_PASSWORD_CHARS: usize = 4;

/// How the app unlocks again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LockMode {
    /// No app lock.
    #[default]
    Off,
    /// A lock password of its own (verifier in the secret store).
    Password,
    /// The encrypted vault file's password: locking forgets the file's key.
    VaultFile,
    /// The keyring's own unlock: locking also locks the keyring collection that holds the
    /// keys, and unlocking asks for its password in the keyring's own prompt. The whole
    /// collection (normally the login keyring) is locked, so other apps using it ask too.
    Keyring,
}

/// The `app_lock` section of the metadata document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LockSettings {
    /// How the app unlocks; off by default.
    #[serde(default)]
    pub mode: LockMode,
    /// Lock after this many minutes without use (0: never on idle).
    #[serde(default = "default_idle_minutes")]
    pub idle_minutes: u32,
    /// Lock when the screen locks (screen saver signal on the session bus).
    #[serde(default = "yes")]
    pub lock_on_screen_lock: bool,
    /// Fields this build does not know: kept as they are.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

fn default_idle_minutes() -> u32 {
    DEFAULT_IDLE_MINUTES
}

fn yes() -> bool {
    true
}

impl Default for LockSettings {
    fn default() -> Self {
        Self {
            mode: LockMode::Off,
            idle_minutes: DEFAULT_IDLE_MINUTES,
            lock_on_screen_lock: true,
            other: serde_json::Map::new(),
        }
    }
}

impl LockSettings {
    /// The idle time after which to lock, `None` when the app never locks on idle.
    pub fn idle_timeout(&self) -> Option<Duration> {
        (self.mode != LockMode::Off && self.idle_minutes > 0)
            .then(|| Duration::from_secs(u64::from(self.idle_minutes) * 60))
    }
}

/// Why the app lock could not be read, set or checked. Never carries a password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppLockError {
    /// The metadata file failed; nothing was changed.
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    /// The secret store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The `app_lock` section cannot be read.
    #[error(
        "the app lock settings in vault.json cannot be read ({0}): choose the lock settings again in Settings"
    )]
    BadSettings(String),
    /// An idle time out of range.
    #[error(
        "{0} minutes is out of range: lock after 0 (never) to {MAX_IDLE_MINUTES} minutes without use"
    )]
    IdleOutOfRange(u32),
    /// A lock password that is too short.
    #[error("choose a lock password of at least {MIN_PASSWORD_CHARS} characters")]
    WeakPassword,
    /// No lock password is set.
    #[error("no lock password is set: choose one in Settings")]
    NoPassword,
    /// The stored verifier is damaged.
    #[error(
        "the stored lock password cannot be read: turn the app lock off and on again in Settings"
    )]
    BadVerifier,
}

/// The lock settings in `doc` (the defaults when there are none).
pub fn settings_in(doc: &VaultDocument) -> Result<LockSettings, AppLockError> {
    match doc.other.get(SECTION) {
        None => Ok(LockSettings::default()),
        Some(value) => serde_json::from_value(value.clone())
            .map_err(|err| AppLockError::BadSettings(err.to_string())),
    }
}

/// Checks the settings (idle time in range).
pub fn check_settings(settings: &LockSettings) -> Result<(), AppLockError> {
    if settings.idle_minutes > MAX_IDLE_MINUTES {
        return Err(AppLockError::IdleOutOfRange(settings.idle_minutes));
    }
    Ok(())
}

impl<S: SecretStore> Vault<S> {
    /// The app lock settings.
    pub fn lock_settings(&self) -> Result<LockSettings, AppLockError> {
        settings_in(&self.metadata().read()?)
    }

    /// Replaces the app lock settings (checked first).
    pub fn save_lock_settings(&self, settings: &LockSettings) -> Result<(), AppLockError> {
        check_settings(settings)?;
        let lock = self.metadata().lock_exclusive()?;
        let mut doc = lock.read()?;
        doc.other.insert(
            SECTION.into(),
            serde_json::to_value(settings).expect("lock settings serialise"),
        );
        lock.write(&doc)?;
        Ok(())
    }
}

/// Whether the app should lock now: `timeout` (none: never) has passed since the last
/// activity. Times are read from one monotonic clock; a `now` before `last_activity`
/// (which a monotonic clock never gives) counts as no time passed.
pub fn idle_lock_due(last_activity: Duration, now: Duration, timeout: Option<Duration>) -> bool {
    timeout.is_some_and(|timeout| now.saturating_sub(last_activity) >= timeout)
}

/// How long until the idle lock is due (zero when it is), `None` when it never is: lets a
/// watcher sleep exactly that long.
pub fn until_idle_lock(
    last_activity: Duration,
    now: Duration,
    timeout: Option<Duration>,
) -> Option<Duration> {
    timeout.map(|timeout| timeout.saturating_sub(now.saturating_sub(last_activity)))
}

/// How long to wait before checking an unlock password after `failures` wrong ones in a
/// row: nothing for the first three (typos), then doubling from 1 s up to 30 s, so that
/// guessing at the screen is slow while a user who mistyped is not punished.
pub fn unlock_delay(failures: u32) -> Duration {
    const FREE: u32 = 3;
    if failures < FREE {
        return Duration::ZERO;
    }
    let doubling = (failures - FREE).min(5);
    Duration::from_secs((1u64 << doubling).min(30))
}

const VERIFIER_TAG: &str = "scrypt-v1";
const SALT_LEN: usize = 16;
const HASH_LEN: usize = 32;

/// scrypt cost of a new verifier: N=2^15, r=8, p=1 (32 MiB, about 0.1 s optimised), as
/// the vault file and backups.
const LOG_N: u8 = 15;
const R: u32 = 8;
const P: u32 = 1;

/// A lock password's verifier: scrypt of the password with a random salt. Encoded as
/// `scrypt-v1$LOG_N$R$P$SALT$HASH` (Base64) for the secret store.
#[derive(Clone, PartialEq, Eq)]
pub struct Verifier {
    log_n: u8,
    r: u32,
    p: u32,
    salt: [u8; SALT_LEN],
    hash: Zeroizing<[u8; HASH_LEN]>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("log_n", &self.log_n)
            .finish_non_exhaustive()
    }
}

fn derive(
    password: &SecretString,
    salt: &[u8],
    log_n: u8,
    r: u32,
    p: u32,
) -> Result<Zeroizing<[u8; HASH_LEN]>, AppLockError> {
    let params =
        scrypt::Params::new(log_n, r, p, HASH_LEN).map_err(|_| AppLockError::BadVerifier)?;
    let mut hash = Zeroizing::new([0u8; HASH_LEN]);
    scrypt::scrypt(
        password.expose_secret().as_bytes(),
        salt,
        &params,
        hash.as_mut_slice(),
    )
    .map_err(|_| AppLockError::BadVerifier)?;
    Ok(hash)
}

impl Verifier {
    /// A verifier of `password` with a fresh random salt (refuses short passwords).
    pub fn create(password: &SecretString) -> Result<Self, AppLockError> {
        let mut salt = [0u8; SALT_LEN];
        rand::rng().fill_bytes(&mut salt);
        Self::with_cost(password, salt, LOG_N)
    }

    /// A verifier with a given salt and cost (tests use a low cost).
    pub fn with_cost(
        password: &SecretString,
        salt: [u8; SALT_LEN],
        log_n: u8,
    ) -> Result<Self, AppLockError> {
        if password.expose_secret().chars().count() < MIN_PASSWORD_CHARS {
            return Err(AppLockError::WeakPassword);
        }
        let hash = derive(password, &salt, log_n, R, P)?;
        Ok(Self {
            log_n,
            r: R,
            p: P,
            salt,
            hash,
        })
    }

    /// The text kept in the secret store.
    pub fn encode(&self) -> Zeroizing<String> {
        Zeroizing::new(format!(
            "{VERIFIER_TAG}${}${}${}${}${}",
            self.log_n,
            self.r,
            self.p,
            BASE64.encode(self.salt),
            BASE64.encode(self.hash.as_slice())
        ))
    }

    /// Reads a stored verifier; refuses costs that would exhaust the machine (whoever can
    /// write the store could otherwise make every unlock hang).
    pub fn decode(text: &str) -> Result<Self, AppLockError> {
        let bad = || AppLockError::BadVerifier;
        let mut parts = text.split('$');
        if parts.next() != Some(VERIFIER_TAG) {
            return Err(bad());
        }
        let mut number = || -> Result<u32, AppLockError> {
            parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)
        };
        let (log_n, r, p) = (number()?, number()?, number()?);
        if !(10..=20).contains(&log_n) || !(1..=16).contains(&r) || !(1..=4).contains(&p) {
            return Err(bad());
        }
        let mut bytes = |len: usize| -> Result<Vec<u8>, AppLockError> {
            parts
                .next()
                .and_then(|p| BASE64.decode(p).ok())
                .filter(|b| b.len() == len)
                .ok_or_else(bad)
        };
        let salt: [u8; SALT_LEN] = bytes(SALT_LEN)?.try_into().map_err(|_| bad())?;
        let hash_bytes = Zeroizing::new(bytes(HASH_LEN)?);
        if parts.next().is_some() {
            return Err(bad());
        }
        let mut hash = Zeroizing::new([0u8; HASH_LEN]);
        hash.copy_from_slice(&hash_bytes);
        Ok(Self {
            log_n: log_n as u8,
            r,
            p,
            salt,
            hash,
        })
    }

    /// Whether `password` is the one this verifier was made from (compared in constant
    /// time).
    pub fn matches(&self, password: &SecretString) -> Result<bool, AppLockError> {
        let hash = derive(password, &self.salt, self.log_n, self.r, self.p)?;
        let difference = hash
            .iter()
            .zip(self.hash.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        Ok(difference == 0)
    }
}

/// Sets (or replaces) the lock password.
pub fn set_password<S: SecretStore + ?Sized>(
    store: &S,
    password: &SecretString,
) -> Result<(), AppLockError> {
    let verifier = Verifier::create(password)?;
    store.set(
        VERIFIER_KEY,
        "emnify Authenticator: app lock",
        &verifier.encode(),
    )?;
    Ok(())
}

/// Whether a lock password is set.
pub fn has_password<S: SecretStore + ?Sized>(store: &S) -> Result<bool, AppLockError> {
    Ok(store.get(VERIFIER_KEY)?.is_some())
}

/// Whether `password` is the lock password.
pub fn check_password<S: SecretStore + ?Sized>(
    store: &S,
    password: &SecretString,
) -> Result<bool, AppLockError> {
    let stored = store.get(VERIFIER_KEY)?.ok_or(AppLockError::NoPassword)?;
    Verifier::decode(&stored)?.matches(password)
}

/// Removes the lock password; `false` when none was set.
pub fn clear_password<S: SecretStore + ?Sized>(store: &S) -> Result<bool, AppLockError> {
    Ok(store.delete(VERIFIER_KEY)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret_store::MemoryStore;

    fn pw(text: &str) -> SecretString {
        SecretString::from(text.to_owned())
    }

    #[test]
    fn idle_lock_is_due_only_after_the_timeout() {
        let five = Some(Duration::from_secs(300));
        let t = Duration::from_secs;
        assert!(!idle_lock_due(t(100), t(399), five));
        assert!(idle_lock_due(t(100), t(400), five));
        assert!(!idle_lock_due(t(100), t(10_000), None));
        // A clock that went backwards never locks early.
        assert!(!idle_lock_due(t(500), t(100), five));
        assert_eq!(until_idle_lock(t(100), t(250), five), Some(t(150)));
        assert_eq!(until_idle_lock(t(100), t(900), five), Some(t(0)));
        assert_eq!(until_idle_lock(t(100), t(900), None), None);
    }

    #[test]
    fn idle_timeout_follows_mode_and_minutes() {
        let mut settings = LockSettings::default();
        assert_eq!(settings.idle_timeout(), None, "off by default");
        settings.mode = LockMode::Password;
        assert_eq!(settings.idle_timeout(), Some(Duration::from_secs(300)));
        settings.idle_minutes = 0;
        assert_eq!(settings.idle_timeout(), None);
    }

    #[test]
    fn wrong_passwords_slow_down_after_three() {
        assert_eq!(unlock_delay(0), Duration::ZERO);
        assert_eq!(unlock_delay(2), Duration::ZERO);
        assert_eq!(unlock_delay(3), Duration::from_secs(1));
        assert_eq!(unlock_delay(4), Duration::from_secs(2));
        assert_eq!(unlock_delay(100), Duration::from_secs(30));
    }

    #[test]
    fn verifier_round_trips_and_tells_passwords_apart() {
        let verifier = Verifier::with_cost(&pw("correct horse"), [7; SALT_LEN], 10).unwrap();
        let text = verifier.encode();
        assert!(!text.contains("correct"));
        let back = Verifier::decode(&text).unwrap();
        assert_eq!(back, verifier);
        assert!(back.matches(&pw("correct horse")).unwrap());
        assert!(!back.matches(&pw("correct horsE")).unwrap());
        assert!(!format!("{back:?}").contains(&BASE64.encode(back.hash.as_slice())));
    }

    #[test]
    fn damaged_or_hostile_verifiers_are_refused() {
        let good = Verifier::with_cost(&pw("long enough"), [1; SALT_LEN], 10)
            .unwrap()
            .encode();
        for bad in [
            String::new(),
            "bcrypt$10$8$1$AAAA$AAAA".to_owned(),
            good.replace("scrypt-v1$10$", "scrypt-v1$30$"),
            good.replace("$8$1$", "$8$99$"),
            format!("{}$extra", good.as_str()),
            good[..good.len() - 4].to_owned(),
        ] {
            assert!(
                matches!(Verifier::decode(&bad), Err(AppLockError::BadVerifier)),
                "{bad}"
            );
        }
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(matches!(
            Verifier::with_cost(&pw("abc"), [0; SALT_LEN], 10),
            Err(AppLockError::WeakPassword)
        ));
    }

    #[test]
    fn the_password_lives_in_the_secret_store_and_settings_in_the_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let vault = Vault::open(dir.path(), MemoryStore::new());
        assert!(matches!(
            check_password(vault.secrets(), &pw("anything")),
            Err(AppLockError::NoPassword)
        ));
        set_password(vault.secrets(), &pw("lock me")).unwrap();
        assert!(has_password(vault.secrets()).unwrap());
        assert!(check_password(vault.secrets(), &pw("lock me")).unwrap());
        assert!(!check_password(vault.secrets(), &pw("lock you")).unwrap());

        assert_eq!(vault.lock_settings().unwrap(), LockSettings::default());
        let settings = LockSettings {
            mode: LockMode::Password,
            idle_minutes: 2,
            lock_on_screen_lock: false,
            ..LockSettings::default()
        };
        vault.save_lock_settings(&settings).unwrap();
        assert_eq!(vault.lock_settings().unwrap(), settings);
        let raw = std::fs::read_to_string(vault.metadata().path()).unwrap();
        assert!(raw.contains("\"app_lock\"") && !raw.contains("scrypt"));

        assert!(matches!(
            vault.save_lock_settings(&LockSettings {
                idle_minutes: MAX_IDLE_MINUTES + 1,
                ..settings
            }),
            Err(AppLockError::IdleOutOfRange(_))
        ));
        assert!(clear_password(vault.secrets()).unwrap());
        assert!(!has_password(vault.secrets()).unwrap());
    }

    #[test]
    fn unknown_lock_fields_are_kept() {
        let mut doc = VaultDocument::default();
        doc.other.insert(
            SECTION.into(),
            serde_json::json!({"mode": "password", "future": 1}),
        );
        let settings = settings_in(&doc).unwrap();
        assert_eq!(settings.mode, LockMode::Password);
        assert_eq!(settings.idle_minutes, DEFAULT_IDLE_MINUTES);
        assert_eq!(settings.other["future"], 1);
        for (text, mode) in [
            ("off", LockMode::Off),
            ("vault_file", LockMode::VaultFile),
            ("keyring", LockMode::Keyring),
        ] {
            doc.other
                .insert(SECTION.into(), serde_json::json!({ "mode": text }));
            assert_eq!(settings_in(&doc).unwrap().mode, mode, "{text}");
        }
        doc.other
            .insert(SECTION.into(), serde_json::json!({"mode": "retina-scan"}));
        assert!(matches!(
            settings_in(&doc),
            Err(AppLockError::BadSettings(_))
        ));
    }
}
