//! Where secrets live: the OS keyring behind a small trait, so that the vault logic can be
//! unit-tested with an in-memory store while integration tests use the real keyring.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use keyring_core::{CredentialStore, Entry};
use zeroize::Zeroizing;

/// The keyring service name all entries of this app are filed under.
pub const DEFAULT_SERVICE: &str = "emnify-authenticator";

/// Why the secret store failed. Never carries secret bytes (keyring-core's own error can:
/// its `BadEncoding` holds the raw secret, so it is mapped here and dropped).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No Secret Service / keychain / credential manager answers.
    #[error(
        "no keyring is available ({detail}): start your desktop's keyring (GNOME Keyring, KWallet or KeePassXC with Secret Service enabled) and try again, or keep the keys in an encrypted file instead (`emnify-auth store use-file`, or Settings in the app); nothing was changed"
    )]
    Unavailable {
        /// What the platform said (never secret).
        detail: String,
    },
    /// The keyring exists but is locked (or the unlock prompt was dismissed).
    #[error(
        "the keyring is locked ({detail}): unlock it (for example by logging in to the desktop, or in Passwords and Keys) and try again; nothing was changed"
    )]
    Locked {
        /// What the platform said (never secret).
        detail: String,
    },
    /// The encrypted vault file (the user's keyring-less store) has not been unlocked.
    #[error(
        "the encrypted vault file is locked ({detail}): give its password (on the terminal, with --vault-password-stdin, or in the app); nothing was changed"
    )]
    VaultFileLocked {
        /// Why (no password given, a wrong one); never the password.
        detail: String,
    },
    /// The encrypted vault file cannot be read or written (damaged, folder not writable).
    #[error("{detail}")]
    VaultFileFailed {
        /// What went wrong and what to do (the file store's own message; never a secret).
        detail: String,
    },
    /// The app lock is on: no secret is handed out until the user unlocks the app.
    #[error("emnify Authenticator is locked: unlock it to see codes and use your logins")]
    AppLocked,
    /// The stored value is not what this app writes.
    #[error(
        "the keyring entry for {key} is not in the expected format: remove the account and add it again"
    )]
    Malformed {
        /// The entry's user name (an account id).
        key: String,
    },
    /// Any other platform failure.
    #[error(
        "the keyring failed: {detail}; try again, and check that your keyring service is running (if it keeps failing, keep the keys in an encrypted file instead: `emnify-auth store use-file`, or Settings in the app)"
    )]
    Platform {
        /// What the platform said (never secret).
        detail: String,
    },
}

/// A place for secrets, keyed by a string (an account id). Values are text (Base32 keys,
/// tokens, hashes) so that `secret-tool` and keyring GUIs show them as people expect.
pub trait SecretStore: Send + Sync {
    /// Stores (or replaces) the secret under `key`. `label` is shown in keyring GUIs and
    /// must not contain the secret.
    fn set(&self, key: &str, label: &str, secret: &str) -> Result<(), StoreError>;
    /// The secret under `key`, or `None` when there is none.
    fn get(&self, key: &str) -> Result<Option<Zeroizing<String>>, StoreError>;
    /// Removes the secret under `key`; `Ok(false)` when there was none.
    fn delete(&self, key: &str) -> Result<bool, StoreError>;
    /// Fails early, before anything else is touched, when the store cannot be reached.
    fn ensure_available(&self) -> Result<(), StoreError> {
        Ok(())
    }
    /// Every key this app holds in the store (for migrations and clean-up).
    fn keys(&self) -> Result<Vec<String>, StoreError>;
}

/// The platform keyring: Secret Service on Linux, Keychain on macOS, Credential Manager on
/// Windows.
///
/// Connects on first use, so commands that need no secret (listing accounts) work even
/// when no keyring is running.
pub struct KeyringStore {
    store: Mutex<Option<Arc<CredentialStore>>>,
    service: String,
}

impl fmt::Debug for KeyringStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyringStore")
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

impl KeyringStore {
    /// The platform keyring; entries go under `service` (normally [`DEFAULT_SERVICE`];
    /// the demo mode uses its own).
    pub fn new(service: &str) -> Self {
        Self {
            store: Mutex::new(None),
            service: service.to_owned(),
        }
    }

    /// Connects now (if not yet connected), to report a missing keyring early.
    pub fn connect(&self) -> Result<Arc<CredentialStore>, StoreError> {
        let mut slot = self.store.lock().expect("keyring store lock");
        if let Some(store) = slot.as_ref() {
            return Ok(store.clone());
        }
        let store = platform_store()?;
        *slot = Some(store.clone());
        Ok(store)
    }

    fn entry(&self, key: &str, label: Option<&str>) -> Result<Entry, StoreError> {
        let store = self.connect()?;
        let result = match label {
            Some(label) => {
                let modifiers = HashMap::from([("label", label)]);
                Entry::new_in_store_with_modifiers(&store, &self.service, key, &modifiers)
            }
            None => Entry::new_in_store(&store, &self.service, key),
        };
        result.map_err(|err| map_error(err, key))
    }
}

/// How long connecting to the Secret Service may take before we call it unavailable:
/// the D-Bus handshake has no time-out of its own, and a wedged bus or daemon would
/// otherwise hang the app or a script forever.
#[cfg(target_os = "linux")]
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

#[cfg(target_os = "linux")]
fn platform_store() -> Result<Arc<CredentialStore>, StoreError> {
    let (sender, receiver) = std::sync::mpsc::channel();
    // A thread we can stop waiting for; if the connection never completes it stays
    // blocked, which is harmless next to a clear error.
    std::thread::Builder::new()
        .name("secret-service-connect".into())
        .spawn(move || {
            let _ = sender.send(zbus_secret_service_keyring_store::Store::new());
        })
        .map_err(|err| StoreError::Platform {
            detail: format!("cannot start a thread: {err}"),
        })?;
    match receiver.recv_timeout(CONNECT_TIMEOUT) {
        Ok(result) => result
            .map(|store| store as Arc<CredentialStore>)
            .map_err(|err| match map_error(err, "") {
                // Connecting fails only when no Secret Service is on the bus.
                StoreError::Platform { detail } => StoreError::Unavailable { detail },
                other => other,
            }),
        Err(_) => Err(StoreError::Unavailable {
            detail: format!(
                "the Secret Service did not answer within {} s",
                CONNECT_TIMEOUT.as_secs()
            ),
        }),
    }
}

#[cfg(not(target_os = "linux"))]
fn platform_store() -> Result<Arc<CredentialStore>, StoreError> {
    Err(StoreError::Unavailable {
        detail: "this build has no keyring support for this operating system yet".into(),
    })
}

fn map_error(err: keyring_core::Error, key: &str) -> StoreError {
    use keyring_core::Error as E;
    match err {
        E::NoStorageAccess(inner) => {
            let detail = inner.to_string();
            if detail.to_ascii_lowercase().contains("lock") || detail.contains("prompt") {
                StoreError::Locked { detail }
            } else {
                StoreError::Unavailable { detail }
            }
        }
        // The payloads of these two variants are the secret itself: drop them.
        E::BadEncoding(_) | E::BadDataFormat(_, _) => StoreError::Malformed {
            key: key.to_owned(),
        },
        E::NoDefaultStore => StoreError::Unavailable {
            detail: "no credential store configured".into(),
        },
        E::PlatformFailure(inner) => {
            let detail = inner.to_string();
            let lower = detail.to_ascii_lowercase();
            if lower.contains("org.freedesktop.dbus.error.serviceunknown")
                || lower.contains("not provided by any .service files")
                || lower.contains("no such file or directory")
                || lower.contains("connection refused")
            {
                StoreError::Unavailable { detail }
            } else if lower.contains("locked") || lower.contains("prompt") {
                StoreError::Locked { detail }
            } else {
                StoreError::Platform { detail }
            }
        }
        other => StoreError::Platform {
            detail: other.to_string(),
        },
    }
}

impl SecretStore for KeyringStore {
    fn ensure_available(&self) -> Result<(), StoreError> {
        self.connect().map(|_| ())
    }

    fn set(&self, key: &str, label: &str, secret: &str) -> Result<(), StoreError> {
        self.entry(key, Some(label))?
            .set_password(secret)
            .map_err(|err| map_error(err, key))
    }

    fn get(&self, key: &str) -> Result<Option<Zeroizing<String>>, StoreError> {
        match self.entry(key, None)?.get_password() {
            Ok(secret) => Ok(Some(Zeroizing::new(secret))),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(err) => Err(map_error(err, key)),
        }
    }

    fn delete(&self, key: &str) -> Result<bool, StoreError> {
        match self.entry(key, None)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring_core::Error::NoEntry) => Ok(false),
            Err(err) => Err(map_error(err, key)),
        }
    }

    fn keys(&self) -> Result<Vec<String>, StoreError> {
        let store = self.connect()?;
        let spec = HashMap::from([("service", self.service.as_str())]);
        let entries = store.search(&spec).map_err(|err| map_error(err, ""))?;
        let mut keys: Vec<String> = entries
            .iter()
            .filter_map(|entry| entry.get_specifiers())
            .filter(|(service, _)| *service == self.service)
            .map(|(_, user)| user)
            .collect();
        keys.sort();
        keys.dedup();
        Ok(keys)
    }
}

/// An in-memory store for unit tests and throwaway sessions. Can be told to fail, so that
/// tests can prove that a failing keyring changes nothing.
#[derive(Default)]
pub struct MemoryStore {
    entries: Mutex<HashMap<String, Zeroizing<String>>>,
    fail_writes: Mutex<bool>,
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("entries", &self.len())
            .finish_non_exhaustive()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of entries held.
    pub fn len(&self) -> usize {
        self.entries.lock().expect("memory store lock").len()
    }

    /// Whether the store holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Makes every following `set` fail as a locked keyring would (or stop failing).
    pub fn fail_writes(&self, fail: bool) {
        *self.fail_writes.lock().expect("memory store lock") = fail;
    }
}

impl SecretStore for MemoryStore {
    fn set(&self, key: &str, _label: &str, secret: &str) -> Result<(), StoreError> {
        if *self.fail_writes.lock().expect("memory store lock") {
            return Err(StoreError::Locked {
                detail: "simulated lock".into(),
            });
        }
        self.entries
            .lock()
            .expect("memory store lock")
            .insert(key.to_owned(), Zeroizing::new(secret.to_owned()));
        Ok(())
    }

    fn get(&self, key: &str) -> Result<Option<Zeroizing<String>>, StoreError> {
        Ok(self
            .entries
            .lock()
            .expect("memory store lock")
            .get(key)
            .cloned())
    }

    fn delete(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self
            .entries
            .lock()
            .expect("memory store lock")
            .remove(key)
            .is_some())
    }

    fn keys(&self) -> Result<Vec<String>, StoreError> {
        let mut keys: Vec<String> = self
            .entries
            .lock()
            .expect("memory store lock")
            .keys()
            .cloned()
            .collect();
        keys.sort();
        Ok(keys)
    }
}

impl<T: SecretStore + ?Sized> SecretStore for Arc<T> {
    fn ensure_available(&self) -> Result<(), StoreError> {
        (**self).ensure_available()
    }
    fn set(&self, key: &str, label: &str, secret: &str) -> Result<(), StoreError> {
        (**self).set(key, label, secret)
    }
    fn get(&self, key: &str) -> Result<Option<Zeroizing<String>>, StoreError> {
        (**self).get(key)
    }
    fn delete(&self, key: &str) -> Result<bool, StoreError> {
        (**self).delete(key)
    }
    fn keys(&self) -> Result<Vec<String>, StoreError> {
        (**self).keys()
    }
}

impl<T: SecretStore + ?Sized> SecretStore for Box<T> {
    fn ensure_available(&self) -> Result<(), StoreError> {
        (**self).ensure_available()
    }
    fn set(&self, key: &str, label: &str, secret: &str) -> Result<(), StoreError> {
        (**self).set(key, label, secret)
    }
    fn get(&self, key: &str) -> Result<Option<Zeroizing<String>>, StoreError> {
        (**self).get(key)
    }
    fn delete(&self, key: &str) -> Result<bool, StoreError> {
        (**self).delete(key)
    }
    fn keys(&self) -> Result<Vec<String>, StoreError> {
        (**self).keys()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_store_round_trip_and_failure() {
        let store = MemoryStore::new();
        store.set("a", "label", "JBSWY3DPEHPK3PXP").unwrap();
        assert_eq!(
            store.get("a").unwrap().unwrap().as_str(),
            "JBSWY3DPEHPK3PXP"
        );
        store.fail_writes(true);
        assert!(matches!(
            store.set("b", "label", "x"),
            Err(StoreError::Locked { .. })
        ));
        assert!(store.get("b").unwrap().is_none());
        assert!(store.delete("a").unwrap());
        assert!(!store.delete("a").unwrap());
        assert!(!format!("{store:?}").contains("JBSW"));
    }

    #[test]
    fn keyring_errors_never_carry_the_secret() {
        let err = map_error(
            keyring_core::Error::BadEncoding(b"SECRETBYTES".to_vec()),
            "id-1",
        );
        let text = format!("{err} {err:?}");
        assert!(!text.contains("SECRETBYTES"));
        assert!(text.contains("id-1"));
    }
}
