//! The vault: accounts whose metadata is in the [`MetadataFile`] and whose keys are in a
//! [`SecretStore`]. Every change keeps the two in step: nothing half-added, nothing
//! orphaned, nothing lost when either side fails.

use std::path::Path;

use zeroize::Zeroizing;

use crate::account::{Account, AccountId, NewAccount};
use crate::metadata::{MetadataError, MetadataFile, VaultDocument};
use crate::otp::{CodeInfo, code_info_at};
use crate::otpauth::otpauth_uri;
use crate::secret::TotpSecret;
use crate::secret_store::{SecretStore, StoreError};

/// Why a vault operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VaultError {
    /// The keyring failed; nothing was changed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The metadata file failed; nothing was changed.
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    /// No account matches a name.
    #[error("no account matches '{query}': run `emnify-auth list` to see the names")]
    NotFound {
        /// What the user typed.
        query: String,
    },
    /// Several accounts match a name.
    #[error("'{query}' matches several accounts: {}; use a longer name or the id", matches.join(", "))]
    Ambiguous {
        /// What the user typed.
        query: String,
        /// Display names (with short ids) of the matches.
        matches: Vec<String>,
    },
    /// The vault has no accounts yet.
    #[error("the vault is empty: add an account first with `emnify-auth add`")]
    Empty,
    /// The metadata names an account whose key is not in the keyring.
    #[error(
        "the key of '{name}' is missing from the keyring (was it deleted there?): remove the account and add it again"
    )]
    SecretMissing {
        /// Display name of the account.
        name: String,
    },
    /// An account id that is not in the vault (it was removed meanwhile).
    #[error("account {0} is not in the vault any more")]
    UnknownId(AccountId),
    /// A stored key no longer parses.
    #[error("the key of '{name}' in the keyring is damaged: remove the account and add it again")]
    SecretDamaged {
        /// Display name of the account.
        name: String,
    },
    /// A new name is empty.
    #[error("an account needs a non-empty name")]
    EmptyLabel,
}

/// An account that was not added because its key is already in the vault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    /// Display name of the candidate that was not added.
    pub candidate: String,
    /// The account that already holds this key (or, within one batch, was just added).
    pub existing: Account,
}

/// What an add did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddReport {
    /// Accounts now in the vault.
    pub added: Vec<Account>,
    /// Candidates skipped because their key was already there.
    pub duplicates: Vec<Duplicate>,
}

/// The vault of one data directory.
#[derive(Debug)]
pub struct Vault<S> {
    metadata: MetadataFile,
    secrets: S,
}

fn keyring_label(issuer: &str, label: &str) -> String {
    format!(
        "emnify Authenticator: {}",
        crate::account::display_name(issuer, label)
    )
}

impl<S: SecretStore> Vault<S> {
    /// The vault whose metadata lives in `data_dir` and whose keys live in `secrets`.
    pub fn open(data_dir: &Path, secrets: S) -> Self {
        Self {
            metadata: MetadataFile::in_dir(data_dir),
            secrets,
        }
    }

    /// The metadata file (for messages and tests).
    pub fn metadata(&self) -> &MetadataFile {
        &self.metadata
    }

    /// The secret store.
    pub fn secrets(&self) -> &S {
        &self.secrets
    }

    /// All accounts: pinned first, then in the order they were added.
    pub fn accounts(&self) -> Result<Vec<Account>, VaultError> {
        let mut accounts = self.metadata.read()?.accounts;
        accounts.sort_by_key(|a| !a.pinned);
        Ok(accounts)
    }

    /// Adds one account (see [`Vault::add_all`]).
    pub fn add(&self, candidate: NewAccount, now: u64) -> Result<AddReport, VaultError> {
        self.add_all(vec![candidate], now)
    }

    /// Adds accounts all together or not at all. Keys already in the vault (or repeated
    /// within `candidates`) are reported as duplicates, not added twice. Keys go to the
    /// keyring first; if anything fails afterwards, the entries written are removed again.
    pub fn add_all(&self, candidates: Vec<NewAccount>, now: u64) -> Result<AddReport, VaultError> {
        self.secrets.ensure_available()?;
        let lock = self.metadata.lock_exclusive()?;
        let mut doc = lock.read()?;
        let mut known: Vec<(TotpSecret, Account)> = Vec::with_capacity(doc.accounts.len());
        for account in &doc.accounts {
            if let Some(secret) = self.stored_secret(account)? {
                known.push((secret, account.clone()));
            }
        }

        let mut report = AddReport::default();
        let mut fresh: Vec<(TotpSecret, Account)> = Vec::new();
        for candidate in candidates {
            if candidate.label.trim().is_empty() && candidate.issuer.trim().is_empty() {
                return Err(VaultError::EmptyLabel);
            }
            let existing = known
                .iter()
                .chain(fresh.iter())
                .find(|(secret, _)| secret.same_key_as(&candidate.secret));
            if let Some((_, existing)) = existing {
                report.duplicates.push(Duplicate {
                    candidate: candidate.display_name(),
                    existing: existing.clone(),
                });
                continue;
            }
            let account = Account {
                id: AccountId::random(),
                issuer: candidate.issuer.trim().to_owned(),
                label: candidate.label.trim().to_owned(),
                params: candidate.params,
                created_at: now,
                icon: None,
                color: None,
                profile: None,
                pinned: false,
            };
            fresh.push((candidate.secret, account));
        }

        let mut written: Vec<AccountId> = Vec::with_capacity(fresh.len());
        let result = (|| {
            for (secret, account) in &fresh {
                self.secrets.set(
                    &account.id.to_string(),
                    &keyring_label(&account.issuer, &account.label),
                    &secret.expose_base32(),
                )?;
                written.push(account.id);
            }
            doc.accounts.extend(fresh.iter().map(|(_, a)| a.clone()));
            lock.write(&doc)?;
            Ok::<(), VaultError>(())
        })();
        if let Err(err) = result {
            self.forget_keys(&written);
            return Err(err);
        }
        report.added = fresh.into_iter().map(|(_, account)| account).collect();
        Ok(report)
    }

    /// Best-effort rollback of keyring entries this call wrote; the caller reports the
    /// original error, which matters more than a failure here.
    fn forget_keys(&self, ids: &[AccountId]) {
        for id in ids {
            if let Err(err) = self.secrets.delete(&id.to_string()) {
                tracing::warn!(account = %id, error = %err, "could not roll back a keyring entry");
            }
        }
    }

    fn stored_secret(&self, account: &Account) -> Result<Option<TotpSecret>, VaultError> {
        let Some(text) = self.secrets.get(&account.id.to_string())? else {
            return Ok(None);
        };
        TotpSecret::from_base32(&text)
            .map(Some)
            .map_err(|_| VaultError::SecretDamaged {
                name: account.display_name(),
            })
    }

    /// For each candidate, the account that already holds the same key (for previews: the
    /// import itself skips them too).
    pub fn holders_of(
        &self,
        candidates: &[NewAccount],
    ) -> Result<Vec<Option<Account>>, VaultError> {
        let mut known: Vec<(TotpSecret, Account)> = Vec::new();
        for account in self.accounts()? {
            if let Some(secret) = self.stored_secret(&account)? {
                known.push((secret, account));
            }
        }
        Ok(candidates
            .iter()
            .map(|candidate| {
                known
                    .iter()
                    .find(|(secret, _)| secret.same_key_as(&candidate.secret))
                    .map(|(_, account)| account.clone())
            })
            .collect())
    }

    /// The key of an account.
    pub fn secret(&self, account: &Account) -> Result<TotpSecret, VaultError> {
        self.stored_secret(account)?
            .ok_or_else(|| VaultError::SecretMissing {
                name: account.display_name(),
            })
    }

    /// The code of an account at `unix_time`.
    pub fn code(&self, account: &Account, unix_time: u64) -> Result<CodeInfo, VaultError> {
        let secret = self.secret(account)?;
        Ok(code_info_at(&secret, &account.params, unix_time))
    }

    /// The account's `otpauth://` URI (it contains the key: show only on request).
    pub fn export_uri(&self, account: &Account) -> Result<Zeroizing<String>, VaultError> {
        let secret = self.secret(account)?;
        Ok(otpauth_uri(
            &account.issuer,
            &account.label,
            &account.params,
            &secret,
        ))
    }

    /// The one account `query` names (see [`resolve`]).
    pub fn find(&self, query: &str) -> Result<Account, VaultError> {
        resolve(&self.accounts()?, query).cloned()
    }

    /// Removes an account: its key from the keyring and its record from the file. If the
    /// file cannot be written, the key is put back, so the account is never half gone.
    pub fn remove(&self, id: AccountId) -> Result<Account, VaultError> {
        let lock = self.metadata.lock_exclusive()?;
        let mut doc = lock.read()?;
        let index = position(&doc, id)?;
        let account = doc.accounts.remove(index);
        let key = id.to_string();
        let held = self.secrets.get(&key)?;
        self.secrets.delete(&key)?;
        if let Err(err) = lock.write(&doc) {
            if let Some(secret) = held {
                let label = keyring_label(&account.issuer, &account.label);
                if let Err(restore) = self.secrets.set(&key, &label, &secret) {
                    tracing::error!(account = %id, error = %restore, "could not restore a keyring entry");
                }
            }
            return Err(err.into());
        }
        Ok(account)
    }

    /// Changes an account's issuer and/or label.
    pub fn rename(
        &self,
        id: AccountId,
        issuer: Option<String>,
        label: Option<String>,
    ) -> Result<Account, VaultError> {
        self.modify(id, |account| {
            if let Some(label) = label {
                if label.trim().is_empty() {
                    return Err(VaultError::EmptyLabel);
                }
                account.label = label.trim().to_owned();
            }
            if let Some(issuer) = issuer {
                account.issuer = issuer.trim().to_owned();
            }
            Ok(())
        })
    }

    /// Pins or unpins an account.
    pub fn set_pinned(&self, id: AccountId, pinned: bool) -> Result<Account, VaultError> {
        self.modify(id, |account| {
            account.pinned = pinned;
            Ok(())
        })
    }

    fn modify(
        &self,
        id: AccountId,
        change: impl FnOnce(&mut Account) -> Result<(), VaultError>,
    ) -> Result<Account, VaultError> {
        let lock = self.metadata.lock_exclusive()?;
        let mut doc = lock.read()?;
        let index = position(&doc, id)?;
        change(&mut doc.accounts[index])?;
        lock.write(&doc)?;
        Ok(doc.accounts[index].clone())
    }
}

fn position(doc: &VaultDocument, id: AccountId) -> Result<usize, VaultError> {
    doc.accounts
        .iter()
        .position(|a| a.id == id)
        .ok_or(VaultError::UnknownId(id))
}

/// Finds the one account a person means by `query`, case-insensitively: an exact
/// "issuer:label", label, issuer or id (or id prefix of 4+ characters) first; failing
/// that, accounts whose "issuer label" contains the query. Several matches are an error
/// that lists them.
pub fn resolve<'a>(accounts: &'a [Account], query: &str) -> Result<&'a Account, VaultError> {
    if accounts.is_empty() {
        return Err(VaultError::Empty);
    }
    let wanted = query.trim().to_lowercase();
    let exact: Vec<&Account> = accounts
        .iter()
        .filter(|a| {
            let issuer = a.issuer.to_lowercase();
            let label = a.label.to_lowercase();
            let id = a.id.to_string();
            label == wanted
                || (!issuer.is_empty() && issuer == wanted)
                || format!("{issuer}:{label}") == wanted
                || a.display_name().to_lowercase() == wanted
                || id == wanted
                || (wanted.len() >= 4 && id.starts_with(&wanted))
        })
        .collect();
    let matches = if exact.is_empty() {
        accounts
            .iter()
            .filter(|a| {
                format!("{} {}", a.issuer, a.label)
                    .to_lowercase()
                    .contains(&wanted)
            })
            .collect()
    } else {
        exact
    };
    match matches.as_slice() {
        [] => Err(VaultError::NotFound {
            query: query.to_owned(),
        }),
        [one] => Ok(one),
        many => Err(VaultError::Ambiguous {
            query: query.to_owned(),
            matches: many
                .iter()
                .map(|a| format!("{} ({})", a.display_name(), &a.id.to_string()[..8]))
                .collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::Ordering;

    use super::*;
    use crate::account::OtpParams;
    use crate::secret_store::MemoryStore;

    fn candidate(issuer: &str, label: &str, key: &str) -> NewAccount {
        NewAccount {
            issuer: issuer.into(),
            label: label.into(),
            params: OtpParams::default(),
            secret: TotpSecret::from_base32(key).unwrap(),
        }
    }

    fn vault() -> (tempfile::TempDir, Vault<Arc<MemoryStore>>) {
        let dir = tempfile::tempdir().unwrap();
        let vault = Vault::open(dir.path(), Arc::new(MemoryStore::new()));
        (dir, vault)
    }

    #[test]
    fn add_list_code_remove() {
        let (_dir, vault) = vault();
        let report = vault
            .add(
                candidate("emnify", "ops@example.com", "JBSWY3DPEHPK3PXP"),
                100,
            )
            .unwrap();
        assert_eq!(report.added.len(), 1);
        let account = &report.added[0];
        assert_eq!(vault.accounts().unwrap(), vec![account.clone()]);
        assert_eq!(vault.secrets().len(), 1);
        assert_eq!(vault.code(account, 59).unwrap().code.len(), 6);
        let text = std::fs::read_to_string(vault.metadata().path()).unwrap();
        assert!(!text.contains("JBSWY3DPEHPK3PXP"));
        vault.remove(account.id).unwrap();
        assert!(vault.accounts().unwrap().is_empty());
        assert!(vault.secrets().is_empty());
    }

    #[test]
    fn duplicates_are_reported_not_added() {
        let (_dir, vault) = vault();
        vault
            .add(candidate("A", "a", "JBSWY3DPEHPK3PXP"), 1)
            .unwrap();
        let report = vault
            .add_all(
                vec![
                    candidate("A", "again", "jbsw y3dp ehpk 3pxp"),
                    candidate("B", "b", "GEZDGNBVGY3TQOJQGEZDGNBVGY"),
                    candidate("B", "b twice", "GEZDGNBVGY3TQOJQGEZDGNBVGY"),
                ],
                2,
            )
            .unwrap();
        assert_eq!(report.added.len(), 1);
        assert_eq!(report.duplicates.len(), 2);
        assert_eq!(report.duplicates[0].existing.label, "a");
        assert_eq!(report.duplicates[1].existing.label, "b");
        assert_eq!(vault.accounts().unwrap().len(), 2);
        assert_eq!(vault.secrets().len(), 2);
    }

    #[test]
    fn failed_metadata_write_rolls_back_the_keyring() {
        let (_dir, vault) = vault();
        vault
            .add(candidate("A", "a", "JBSWY3DPEHPK3PXP"), 1)
            .unwrap();
        let before = std::fs::read(vault.metadata().path()).unwrap();
        vault.metadata.fail_writes.store(true, Ordering::SeqCst);
        let err = vault
            .add_all(
                vec![
                    candidate("B", "b", "GEZDGNBVGY3TQOJQGEZDGNBVGY"),
                    candidate("C", "c", "MFRGGZDFMZTWQ2LKNNWG23TPOA"),
                ],
                2,
            )
            .unwrap_err();
        assert!(matches!(err, VaultError::Metadata(_)));
        assert_eq!(vault.secrets().len(), 1, "no orphaned keyring entries");
        assert_eq!(std::fs::read(vault.metadata().path()).unwrap(), before);
    }

    #[test]
    fn failed_keyring_write_changes_nothing() {
        let (_dir, vault) = vault();
        vault
            .add(candidate("A", "a", "JBSWY3DPEHPK3PXP"), 1)
            .unwrap();
        let before = std::fs::read(vault.metadata().path()).unwrap();
        vault.secrets().fail_writes(true);
        let err = vault
            .add(candidate("B", "b", "GEZDGNBVGY3TQOJQGEZDGNBVGY"), 2)
            .unwrap_err();
        assert!(matches!(err, VaultError::Store(StoreError::Locked { .. })));
        assert!(err.to_string().contains("unlock"));
        assert_eq!(std::fs::read(vault.metadata().path()).unwrap(), before);
        assert_eq!(vault.secrets().len(), 1);
    }

    #[test]
    fn failed_remove_puts_the_key_back() {
        let (_dir, vault) = vault();
        let added = vault
            .add(candidate("A", "a", "JBSWY3DPEHPK3PXP"), 1)
            .unwrap()
            .added
            .remove(0);
        vault.metadata.fail_writes.store(true, Ordering::SeqCst);
        assert!(vault.remove(added.id).is_err());
        vault.metadata.fail_writes.store(false, Ordering::SeqCst);
        assert_eq!(vault.accounts().unwrap(), vec![added.clone()]);
        assert!(vault.secret(&added).is_ok());
    }

    #[test]
    fn rename_and_pin() {
        let (_dir, vault) = vault();
        let a = vault
            .add(candidate("A", "a", "JBSWY3DPEHPK3PXP"), 1)
            .unwrap()
            .added
            .remove(0);
        let b = vault
            .add(candidate("B", "b", "GEZDGNBVGY3TQOJQGEZDGNBVGY"), 1)
            .unwrap()
            .added
            .remove(0);
        vault.rename(a.id, None, Some("renamed".into())).unwrap();
        vault.set_pinned(b.id, true).unwrap();
        let accounts = vault.accounts().unwrap();
        assert_eq!(accounts[0].id, b.id, "pinned first");
        assert_eq!(accounts[1].label, "renamed");
        assert!(matches!(
            vault.rename(a.id, None, Some("  ".into())),
            Err(VaultError::EmptyLabel)
        ));
    }

    #[test]
    fn resolve_prefers_exact_matches_and_lists_ambiguity() {
        let make = |issuer: &str, label: &str| Account {
            id: AccountId::random(),
            issuer: issuer.into(),
            label: label.into(),
            params: OtpParams::default(),
            created_at: 0,
            icon: None,
            color: None,
            profile: None,
            pinned: false,
        };
        let accounts = vec![
            make("emnify", "ops@example.com"),
            make("emnify", "dev@example.com"),
            make("GitHub", "ops"),
        ];
        assert_eq!(resolve(&accounts, "github").unwrap().label, "ops");
        assert_eq!(
            resolve(&accounts, "EMNIFY:dev@example.com").unwrap().label,
            "dev@example.com"
        );
        assert_eq!(resolve(&accounts, "dev@").unwrap().label, "dev@example.com");
        // "ops" is exactly GitHub's label, so it wins over the substring match.
        assert_eq!(resolve(&accounts, "ops").unwrap().issuer, "GitHub");
        match resolve(&accounts, "emnify") {
            Err(VaultError::Ambiguous { matches, .. }) => assert_eq!(matches.len(), 2),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            resolve(&accounts, "nothing"),
            Err(VaultError::NotFound { .. })
        ));
        assert!(matches!(resolve(&[], "x"), Err(VaultError::Empty)));
    }
}
