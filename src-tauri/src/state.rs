//! What the app keeps while it runs: the vault, a cache of decoded keys (so codes can be
//! painted every second without a keyring round trip), imports awaiting confirmation and
//! logins awaiting a typed code.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use emnify_auth_core::account::NewAccount;
use emnify_auth_core::login::flow::PendingMfa;
use emnify_auth_core::login::profile::ProfileId;
use emnify_auth_core::{AccountId, TotpSecret, Vault};

use crate::demo::Demo;
use crate::store::AppStore;

/// Shared state of the running app.
pub struct AppState {
    /// The vault (metadata file + the keyring or the encrypted vault file).
    pub vault: Vault<AppStore>,
    /// Its data folder.
    pub data_dir: PathBuf,
    /// The demo environment, when started with `--demo` (kept alive while the app runs).
    pub demo: Option<Demo>,
    /// Decoded keys by account; zeroed on drop.
    pub secrets: Mutex<HashMap<AccountId, TotpSecret>>,
    /// Parsed imports waiting for the user's confirmation.
    pub pending_imports: Mutex<HashMap<u64, Vec<NewAccount>>>,
    /// Logins waiting for a typed MFA code.
    pub pending_mfa: tokio::sync::Mutex<HashMap<ProfileId, PendingMfa>>,
    next_id: AtomicU64,
    /// Bumped on every copy, so a pending clear knows whether it is still the latest.
    pub clipboard_generation: AtomicU64,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("data_dir", &self.data_dir)
            .field("demo", &self.demo.is_some())
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// State over `vault` in `data_dir`.
    pub fn new(vault: Vault<AppStore>, data_dir: PathBuf, demo: Option<Demo>) -> Self {
        Self {
            vault,
            data_dir,
            demo,
            secrets: Mutex::new(HashMap::new()),
            pending_imports: Mutex::new(HashMap::new()),
            pending_mfa: tokio::sync::Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            clipboard_generation: AtomicU64::new(0),
        }
    }

    /// A fresh id for a pending import.
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// The key of `account`, from the cache or the keyring.
    pub fn secret(
        &self,
        account: &emnify_auth_core::Account,
    ) -> Result<TotpSecret, emnify_auth_core::vault::VaultError> {
        if let Some(secret) = self.secrets.lock().expect("secret cache").get(&account.id) {
            return Ok(secret.clone());
        }
        let secret = self.vault.secret(account)?;
        self.secrets
            .lock()
            .expect("secret cache")
            .insert(account.id, secret.clone());
        Ok(secret)
    }

    /// Forgets cached keys (after a removal, or when locking).
    pub fn forget_secret(&self, id: AccountId) {
        self.secrets.lock().expect("secret cache").remove(&id);
    }
}
