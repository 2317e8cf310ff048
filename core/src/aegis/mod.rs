//! The Aegis vault format (Aegis's `docs/vault.md`), used for encrypted backups, for the
//! keyring-less vault file and to import Aegis exports: a random 256-bit master key,
//! AES-256-GCM over the content JSON, and password slots that wrap the master key with a
//! key derived by scrypt. A backup written here opens in Aegis, GNOME Authenticator and
//! OTPClient.
//!
//! [`crypto`] is pure (randomness and passwords are passed in); [`file`] is the JSON shape
//! of the outer file; [`content`] maps Aegis entries to and from accounts.

pub mod content;
pub mod crypto;
pub mod file;

pub use content::{AegisContent, AegisEntry, BackupAccount, entries_to_import};
pub use crypto::{KdfParams, MasterKey, SealRandomness, UnlockedVault};
pub use file::VaultFile;

/// Why an Aegis file could not be read or written. Messages never contain a password, a
/// key or file content.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AegisError {
    /// Not JSON, or JSON of another shape.
    #[error(
        "this is not an Aegis vault file ({detail}): choose the .json file that Aegis (or this app) exported"
    )]
    NotAegis {
        /// What was wrong, without content.
        detail: String,
    },
    /// The vault is encrypted and no password was given.
    #[error("this backup is encrypted: enter its password")]
    PasswordNeeded,
    /// No password slot opened with the password.
    #[error("wrong password for this backup: check it and try again (nothing was imported)")]
    WrongPassword,
    /// The vault has only slots we cannot use (biometric, raw).
    #[error(
        "this vault can only be unlocked on the phone that made it (it has no password slot): in Aegis, set a password and export again"
    )]
    NoPasswordSlot,
    /// Key derivation parameters outside what Aegis writes (and what is safe to compute).
    #[error(
        "this vault asks for unusual key derivation settings (scrypt N={n}, r={r}, p={p}) that are refused to protect your memory and time: export it again from Aegis"
    )]
    UnsafeKdf {
        /// scrypt cost.
        n: u64,
        /// scrypt block size.
        r: u64,
        /// scrypt parallelism.
        p: u64,
    },
    /// The password was right but the content did not decrypt: the file was changed.
    #[error(
        "the backup is damaged (its content does not match its checksum): use another copy of the backup"
    )]
    Damaged,
    /// The decrypted content is not the JSON Aegis writes.
    #[error("the backup's content is not readable ({detail}): use another copy of the backup")]
    BadContent {
        /// What was wrong, without content.
        detail: String,
    },
    /// A newer vault format.
    #[error(
        "this Aegis vault has format version {0}, newer than this app reads: update emnify Authenticator"
    )]
    UnsupportedVersion(u64),
}
