//! The core of emnify Authenticator: the vault of TOTP accounts (secrets in the OS
//! keyring, metadata in a JSON file), code generation, every import path and the emnify
//! login logic. No UI code and no printing: the CLI and the desktop app are thin shells
//! over this crate.
//!
//! Pure logic ([`otp`], [`otpauth`], [`migration`], [`import`], [`clock_drift`],
//! [`vault::resolve`]) takes its inputs (bytes, text, the time) as arguments; IO lives in
//! [`secret_store`], [`metadata`] and [`vault`].

pub mod account;
pub mod aegis;
pub mod app_lock;
pub mod backup;
pub mod clock_drift;
pub mod clock_store;
pub mod events;
pub mod file_store;
pub mod import;
pub mod importers;
pub mod login;
pub mod metadata;
pub mod mfa_enroll;
pub mod migration;
pub mod otp;
pub mod otpauth;
pub mod paths;
pub mod private_file;
pub mod qr_decode;
pub mod qr_encode;
pub mod recovered_panic;
pub mod secret;
pub mod secret_store;
pub mod settings;
pub mod store_choice;
pub mod trusted_devices;
pub mod vault;

pub use account::{Account, AccountId, Algorithm, NewAccount, OtpParams};
pub use secret::TotpSecret;
pub use secret_store::{KeyringStore, MemoryStore, SecretStore};
pub use vault::Vault;
