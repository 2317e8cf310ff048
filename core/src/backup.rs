//! Encrypted backups of the whole vault in the Aegis vault format, which Aegis, GNOME
//! Authenticator and OTPClient open. A plain (unencrypted) backup exists only as an
//! explicit choice. Reading backups back is [`crate::importers`]' job.

use std::io;
use std::path::{Path, PathBuf};

use secrecy::SecretString;
use zeroize::Zeroizing;

use crate::aegis::AegisError;
use crate::aegis::content::{AegisContent, AegisEntry, BackupAccount, CONTENT_VERSION};
use crate::aegis::crypto::{self, KdfParams, SealRandomness};
use crate::private_file;
use crate::secret_store::SecretStore;
use crate::vault::{Vault, VaultError};

/// How a backup is protected.
#[derive(Debug)]
pub enum BackupProtection<'a> {
    /// Encrypted with this password (scrypt N=2^15, r=8, p=1 as Aegis).
    Password(&'a SecretString),
    /// Not encrypted: every key readable by anyone who gets the file.
    PlainText,
}

/// The shortest backup password accepted: the file may end up anywhere.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// Why a backup could not be made. Never carries a key or the password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    /// Reading the vault failed.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// Encryption failed.
    #[error(transparent)]
    Aegis(#[from] AegisError),
    /// The password is too short.
    #[error("choose a backup password of at least {0} characters")]
    WeakPassword(usize),
    /// The vault is empty.
    #[error("the vault has no accounts to back up")]
    Empty,
    /// The target file exists (never overwritten silently).
    #[error("{0} already exists: choose another file name, or remove it first")]
    Exists(PathBuf),
    /// Writing failed.
    #[error("cannot write {path}: {source}; check that the folder exists and is writable")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

/// What a backup holds.
pub struct Backup {
    /// The file's text (an Aegis vault; holds keys when plain): zeroed on drop.
    pub text: Zeroizing<String>,
    /// How many accounts it holds.
    pub accounts: usize,
}

// A plain backup's text holds every key: never print it.
impl std::fmt::Debug for Backup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backup")
            .field("accounts", &self.accounts)
            .field("bytes", &self.text.len())
            .finish_non_exhaustive()
    }
}

/// A backup of every account of `vault`.
pub fn export_backup<S: SecretStore>(
    vault: &Vault<S>,
    protection: BackupProtection<'_>,
) -> Result<Backup, BackupError> {
    if let BackupProtection::Password(password) = &protection {
        use secrecy::ExposeSecret;
        if password.expose_secret().chars().count() < MIN_PASSWORD_CHARS {
            return Err(BackupError::WeakPassword(MIN_PASSWORD_CHARS));
        }
    }
    let accounts = vault.accounts()?;
    if accounts.is_empty() {
        return Err(BackupError::Empty);
    }
    let mut content = AegisContent {
        version: CONTENT_VERSION,
        ..AegisContent::default()
    };
    for account in &accounts {
        content.entries.push(AegisEntry::totp(&BackupAccount {
            id: account.id.to_string(),
            issuer: &account.issuer,
            label: &account.label,
            params: account.params,
            secret: vault.secret(account)?,
        }));
    }
    let text = match protection {
        BackupProtection::Password(password) => {
            let (file, _) = crypto::create(
                &content.to_json(),
                password,
                KdfParams::AEGIS,
                &SealRandomness::generate(),
            )?;
            file.to_json()
        }
        BackupProtection::PlainText => {
            let value = serde_json::to_value(&content).expect("content serialises");
            crypto::plain(value).to_json()
        }
    };
    Ok(Backup {
        text,
        accounts: accounts.len(),
    })
}

/// Writes a backup to `path` (mode 0600, atomically); refuses to replace an existing file
/// unless `overwrite`.
pub fn write_backup(path: &Path, backup: &Backup, overwrite: bool) -> Result<(), BackupError> {
    let result = if overwrite {
        private_file::replace(path, backup.text.as_bytes())
    } else {
        private_file::create_new(path, backup.text.as_bytes())
    };
    result.map_err(|source| {
        if source.kind() == io::ErrorKind::AlreadyExists {
            BackupError::Exists(path.to_owned())
        } else {
            BackupError::Io {
                path: path.to_owned(),
                source,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::{Algorithm, NewAccount, OtpParams};
    use crate::importers::import_file;
    use crate::secret::TotpSecret;
    use crate::secret_store::MemoryStore;

    fn vault_with_two() -> (tempfile::TempDir, Vault<MemoryStore>) {
        let dir = tempfile::tempdir().unwrap();
        let vault = Vault::open(dir.path(), MemoryStore::new());
        let accounts = vec![
            NewAccount {
                issuer: "emnify".into(),
                label: "ops@example.com".into(),
                params: OtpParams::default(),
                secret: TotpSecret::from_base32("JBSWY3DPEHPK3PXP").unwrap(),
            },
            NewAccount {
                issuer: String::new(),
                label: "lab".into(),
                params: OtpParams::new(Algorithm::Sha512, 8, 60).unwrap(),
                secret: TotpSecret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").unwrap(),
            },
        ];
        vault.add_all(accounts, 1).unwrap();
        (dir, vault)
    }

    #[test]
    fn an_encrypted_backup_imports_back_to_the_same_accounts() {
        let (_dir, vault) = vault_with_two();
        let password = SecretString::from("backup password".to_owned());
        let backup = export_backup(&vault, BackupProtection::Password(&password)).unwrap();
        assert_eq!(backup.accounts, 2);
        assert!(!backup.text.contains("JBSWY3DPEHPK3PXP"));
        let back = import_file(backup.text.as_bytes(), Some(&password)).unwrap();
        assert_eq!(back.format, "Aegis");
        let names: Vec<_> = back.set.accounts.iter().map(|a| a.display_name()).collect();
        assert_eq!(names, ["emnify: ops@example.com", "lab"]);
        assert_eq!(back.set.accounts[1].params.digits, 8);
        assert_eq!(
            back.set.accounts[0].secret.expose_base32().as_str(),
            "JBSWY3DPEHPK3PXP"
        );
    }

    #[test]
    fn weak_passwords_and_empty_vaults_are_refused() {
        let (_dir, vault) = vault_with_two();
        let short = SecretString::from("short".to_owned());
        assert!(matches!(
            export_backup(&vault, BackupProtection::Password(&short)),
            Err(BackupError::WeakPassword(8))
        ));
        let empty_dir = tempfile::tempdir().unwrap();
        let empty = Vault::open(empty_dir.path(), MemoryStore::new());
        assert!(matches!(
            export_backup(&empty, BackupProtection::PlainText),
            Err(BackupError::Empty)
        ));
    }

    #[test]
    fn existing_files_are_not_overwritten_unless_asked() {
        let (dir, vault) = vault_with_two();
        let backup = export_backup(&vault, BackupProtection::PlainText).unwrap();
        let path = dir.path().join("backup.json");
        std::fs::write(&path, "mine").unwrap();
        assert!(matches!(
            write_backup(&path, &backup, false),
            Err(BackupError::Exists(_))
        ));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "mine");
        assert!(!format!("{backup:?}").contains("JBSWY3DPEHPK3PXP"));
        write_backup(&path, &backup, true).unwrap();
        let plain = import_file(&std::fs::read(&path).unwrap(), None).unwrap();
        assert_eq!(plain.set.accounts.len(), 2);
    }
}
