//! Where the app keeps its files, and which keyring namespace it uses.

use std::path::PathBuf;

use crate::secret_store::DEFAULT_SERVICE;

/// Environment variable that overrides the data directory (tests, portable installs).
pub const DATA_DIR_ENV: &str = "EMNIFY_AUTH_DATA_DIR";
/// Environment variable that overrides the keyring service name (demo mode, tests).
pub const KEYRING_SERVICE_ENV: &str = "EMNIFY_AUTH_KEYRING_SERVICE";

/// No data directory could be determined.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot find a data directory (no home directory is known): set {DATA_DIR_ENV} to a folder for emnify Authenticator's files"
)]
pub struct NoDataDir;

/// The data directory: `$EMNIFY_AUTH_DATA_DIR`, else the platform's (for example
/// `~/.local/share/emnify-authenticator` on Linux).
pub fn data_dir() -> Result<PathBuf, NoDataDir> {
    if let Some(dir) = std::env::var_os(DATA_DIR_ENV).filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("net", "emnify", "emnify-authenticator")
        .map(|dirs| dirs.data_dir().to_owned())
        .ok_or(NoDataDir)
}

/// The keyring service name: `$EMNIFY_AUTH_KEYRING_SERVICE`, else `emnify-authenticator`.
pub fn keyring_service() -> String {
    std::env::var(KEYRING_SERVICE_ENV)
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| DEFAULT_SERVICE.to_owned())
}
