//! Errors as the web UI sees them: `{kind, message}`, so it can react to the kind (e.g.
//! offer to unlock the keyring) and show the message as it is.

use emnify_auth_core::import::ImportError;
use emnify_auth_core::login::flow::LoginError;
use emnify_auth_core::login::profile::ProfileError;
use emnify_auth_core::secret_store::StoreError;
use emnify_auth_core::vault::VaultError;
use serde::Serialize;

/// A failed command. The message never contains a secret: it comes from the core's
/// errors, which are written that way.
#[derive(Debug, Serialize)]
pub struct CommandError {
    /// Machine-readable kind.
    pub kind: &'static str,
    /// One sentence for the user: what happened and what to do.
    pub message: String,
}

impl CommandError {
    /// An error of `kind` with `message`.
    pub fn new(kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

/// Command result.
pub type CommandResult<T> = Result<T, CommandError>;

fn store_kind(err: &StoreError) -> &'static str {
    match err {
        StoreError::Unavailable { .. } => "keyring_unavailable",
        StoreError::Locked { .. } => "keyring_locked",
        StoreError::VaultFileFailed { .. } => "vault_file",
        _ => "keyring",
    }
}

/// The app lock and a locked vault file surface as store errors deep inside the core;
/// they get kinds (and messages) of their own so the UI shows its lock screens.
fn lock_refusal(err: &StoreError) -> Option<CommandError> {
    match err {
        StoreError::AppLocked => Some(CommandError::new("locked", crate::store::LOCKED_MESSAGE)),
        StoreError::VaultFileLocked { .. } => Some(CommandError::new(
            "store_locked",
            crate::store::FILE_LOCKED_MESSAGE,
        )),
        _ => None,
    }
}

impl From<VaultError> for CommandError {
    fn from(err: VaultError) -> Self {
        if let VaultError::Store(store) = &err
            && let Some(refusal) = lock_refusal(store)
        {
            return refusal;
        }
        let kind = match &err {
            VaultError::Store(store) => store_kind(store),
            VaultError::Metadata(_) => "metadata",
            VaultError::NotFound { .. } | VaultError::UnknownId(_) => "not_found",
            VaultError::Ambiguous { .. } => "ambiguous",
            VaultError::EmptyLabel => "invalid_input",
            _ => "vault",
        };
        Self::new(kind, err.to_string())
    }
}

impl From<ImportError> for CommandError {
    fn from(err: ImportError) -> Self {
        Self::new("invalid_input", err.to_string())
    }
}

impl From<ProfileError> for CommandError {
    fn from(err: ProfileError) -> Self {
        match err {
            ProfileError::Vault(vault) => vault.into(),
            ProfileError::NotFound(_) => Self::new("not_found", err.to_string()),
            ProfileError::Exists(_) | ProfileError::Empty(_) | ProfileError::Url(_) => {
                Self::new("invalid_input", err.to_string())
            }
            other => Self::new("profile", other.to_string()),
        }
    }
}

impl From<LoginError> for CommandError {
    fn from(err: LoginError) -> Self {
        match err {
            LoginError::Profile(profile) => profile.into(),
            LoginError::Api(_) => Self::new("network", err.to_string()),
            LoginError::NeedsUser { .. } => Self::new("needs_login", err.to_string()),
            other => Self::new("login", other.to_string()),
        }
    }
}

impl From<StoreError> for CommandError {
    fn from(err: StoreError) -> Self {
        if let Some(refusal) = lock_refusal(&err) {
            return refusal;
        }
        Self::new(store_kind(&err), err.to_string())
    }
}
