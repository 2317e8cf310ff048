//! MFA keys of a profile's emnify user: enrolling a TOTP key straight into the vault, and
//! removing a key.
//!
//! Enrolling is all or nothing. The key is created (`POST /api/v1/user/mfa`, status
//! "activation pending"), its secret goes into the keyring as an account linked to the
//! profile, and only then is the key activated with a fresh code
//! (`PATCH /api/v1/user/mfa/{id}`), so MFA can never be on without the vault holding the
//! secret. If activation fails, the key is deleted on the server and the account and link
//! are undone. The secret (and the `otpauth` URI, which contains it) is never returned,
//! logged or written anywhere but the keyring.

use std::fmt;

use reqwest::Method;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use zeroize::Zeroize;

use crate::account::{Account, AccountId, NewAccount, OtpParams};
use crate::login::api::ApiError;
use crate::login::flow::{Clock, Login, LoginError, LoginOptions, plan_code};
use crate::login::profile::{LoginMethod, LoginProfile, ProfileError, ProfileId, ProfileSecret};
use crate::otp::code_at;
use crate::secret::TotpSecret;
use crate::secret_store::SecretStore;
use crate::vault::{Vault, VaultError};

/// MFA key type 1: Time-based One-Time Password.
pub const TOTP_KEY_TYPE: u64 = 1;
/// MFA key status 1: Active (what `PATCH` sets).
pub const ACTIVE_STATUS: u64 = 1;
/// The issuer of enrolled accounts.
pub const ISSUER: &str = "emnify";

/// A key this app enrolled: which vault account holds its secret (kept in the metadata
/// document's `mfa_enrollments`; no secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollmentRecord {
    /// The profile whose user owns the key.
    pub profile: ProfileId,
    /// The key's id at the API.
    pub key_id: u64,
    /// The vault account with its secret.
    pub account: AccountId,
    /// When it was enrolled (Unix seconds).
    pub enrolled_at: u64,
}

/// Why enrolling or removing a key failed. Never contains a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MfaError {
    /// Logging in or calling the API failed (nothing was created).
    #[error(transparent)]
    Login(#[from] LoginError),
    /// The vault failed.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// The profile could not be read or changed.
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// Application tokens have no MFA keys.
    #[error(
        "'{0}' logs in with an application token, which has no MFA keys: use a profile with user credentials"
    )]
    ApplicationToken(String),
    /// The user has an active key already (`409`).
    #[error(
        "the emnify user of '{profile}' already has an active MFA key: see it with `emnify-auth mfa list {profile}` and remove it with `emnify-auth mfa remove {profile} ID` before enrolling a new one"
    )]
    AlreadyActive {
        /// Profile name.
        profile: String,
    },
    /// The API refused to create a key (`422`: e.g. the stored password is outdated).
    #[error(
        "the emnify API refused to create an MFA key for '{profile}' ({status}{}): if the password changed, remove the profile and add it again",
        message.as_deref().map(|m| format!(": {m}")).unwrap_or_default()
    )]
    CreateRefused {
        /// Profile name.
        profile: String,
        /// HTTP status.
        status: u16,
        /// The API's message.
        message: Option<String>,
    },
    /// The key was created but could not be stored; it was deleted again (or left pending,
    /// which does no harm).
    #[error(
        "the new MFA key {key_id} could not be stored in the vault ({reason}); {} Nothing else changed: fix the problem and run `emnify-auth mfa enroll` again",
        if *deleted_on_server { "it was deleted on the server again." } else { "deleting it on the server failed too, but a key that was never activated does not turn MFA on, and the next enrollment replaces it." }
    )]
    NotStored {
        /// The key id.
        key_id: u64,
        /// What failed.
        reason: String,
        /// Whether the pending key is gone from the server.
        deleted_on_server: bool,
    },
    /// Activation failed; the key was deleted and the vault restored.
    #[error(
        "activating MFA key {key_id} failed ({reason}); the key was deleted on the server and the account taken out of the vault again, so nothing changed: check this computer's clock and try again"
    )]
    ActivationFailed {
        /// The key id.
        key_id: u64,
        /// What failed.
        reason: String,
    },
    /// Activation failed and the key could not be deleted: it may be active, so the
    /// account stays.
    #[error(
        "activating MFA key {key_id} failed ({reason}) and deleting it again failed too ({cleanup}); the account '{account}' stays in the vault, linked to '{profile}', in case the key did become active: check with `emnify-auth mfa list {profile}`, then remove the key with `emnify-auth mfa remove {profile} {key_id} --remove-account`"
    )]
    ActivationUnclear {
        /// The key id.
        key_id: u64,
        /// What failed.
        reason: String,
        /// Why the deletion failed.
        cleanup: String,
        /// The vault account's display name.
        account: String,
        /// Profile name.
        profile: String,
    },
    /// Activation failed and the key was deleted, but the vault could not be restored.
    #[error(
        "activating MFA key {key_id} failed ({reason}); the key was deleted on the server, but the account '{account}' could not be taken out of the vault ({cleanup}): remove it with `emnify-auth remove '{account}' --yes`"
    )]
    LocalCleanupFailed {
        /// The key id.
        key_id: u64,
        /// What failed.
        reason: String,
        /// Why the vault could not be restored.
        cleanup: String,
        /// The vault account's display name.
        account: String,
    },
    /// No such key (`404`).
    #[error(
        "the emnify user of '{profile}' has no MFA key {key_id}: `emnify-auth mfa list {profile}` shows the keys"
    )]
    NoSuchKey {
        /// Profile name.
        profile: String,
        /// The key id.
        key_id: u64,
    },
}

/// A finished enrollment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrollment {
    /// The key's id at the API (now active).
    pub key_id: u64,
    /// The vault account holding its secret, linked to the profile.
    pub account: Account,
    /// The account the profile was linked to before, if any (it stays in the vault).
    pub replaced_link: Option<AccountId>,
}

/// An MFA key as the user object lists it (no secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MfaKeyInfo {
    /// Key id.
    pub id: u64,
    /// Status id (0 activation pending, 1 active).
    pub status_id: Option<u64>,
    /// Status name.
    pub status: String,
    /// Type name ("Time-Based One-Time Password").
    pub key_type: String,
    /// When it was created (as the API wrote it).
    pub creation_date: Option<String>,
    /// When it was activated.
    pub activation_date: Option<String>,
}

impl MfaKeyInfo {
    /// Whether the key is active.
    pub fn is_active(&self) -> bool {
        self.status_id == Some(ACTIVE_STATUS)
    }
}

/// Reads the `mfa` list of a user object (`GET /api/v1/user/my`).
pub fn keys_of_user(user: &Value) -> Vec<MfaKeyInfo> {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    user.get("mfa")
        .and_then(Value::as_array)
        .map(|keys| {
            keys.iter()
                .filter_map(|key| {
                    Some(MfaKeyInfo {
                        id: key.get("id")?.as_u64()?,
                        status_id: key
                            .get("status")
                            .and_then(|s| s.get("id"))
                            .and_then(Value::as_u64),
                        status: text(key.get("status").and_then(|s| s.get("description")))
                            .unwrap_or_default(),
                        key_type: text(key.get("type").and_then(|t| t.get("description")))
                            .unwrap_or_default(),
                        creation_date: text(key.get("creation_date")),
                        activation_date: text(key.get("activation_date")),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The part of `POST /api/v1/user/mfa`'s answer we read: never the `otpauth` URI.
#[derive(Deserialize)]
struct CreatedKey {
    id: u64,
    #[serde(default)]
    secret_key: Option<String>,
}

impl Drop for CreatedKey {
    fn drop(&mut self) {
        if let Some(secret) = &mut self.secret_key {
            secret.zeroize();
        }
    }
}

impl fmt::Debug for CreatedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreatedKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

fn credentials(profile: &LoginProfile) -> Result<(String, Option<AccountId>), MfaError> {
    match &profile.method {
        LoginMethod::Credentials {
            username,
            otp_account,
            ..
        } => Ok((username.clone(), *otp_account)),
        LoginMethod::ApplicationToken => Err(MfaError::ApplicationToken(profile.name.clone())),
    }
}

fn key_path(key_id: u64) -> String {
    format!("/api/v1/user/my/mfa/{key_id}")
}

/// Deletes a key; an unknown key counts as deleted.
async fn delete_on_server<S: SecretStore>(
    login: &mut Login<'_, S>,
    key_id: u64,
    options: &LoginOptions,
) -> Result<(), LoginError> {
    match login
        .call_empty(Method::DELETE, &key_path(key_id), None, options)
        .await
    {
        Ok(()) | Err(LoginError::Api(ApiError::Status { status: 404, .. })) => Ok(()),
        Err(err) => Err(err),
    }
}

/// Links `account` to the profile and records the enrollment, in one write.
fn link<S: SecretStore>(
    vault: &Vault<S>,
    profile: &LoginProfile,
    record: EnrollmentRecord,
) -> Result<(), ProfileError> {
    let lock = vault.metadata().lock_exclusive()?;
    let mut doc = lock.read()?;
    let stored = doc
        .profiles
        .iter_mut()
        .find(|p| p.id == profile.id)
        .ok_or_else(|| ProfileError::NotFound(profile.name.clone()))?;
    if let LoginMethod::Credentials { otp_account, .. } = &mut stored.method {
        *otp_account = Some(record.account);
    }
    if let Some(account) = doc.accounts.iter_mut().find(|a| a.id == record.account) {
        account.profile = Some(profile.name.clone());
    }
    doc.mfa_enrollments
        .retain(|r| !(r.profile == record.profile && r.key_id == record.key_id));
    doc.mfa_enrollments.push(record);
    lock.write(&doc)?;
    Ok(())
}

/// Points the profile back at `restore` (if it still points at `from`) and drops the
/// records of `from`, in one write.
fn unlink<S: SecretStore>(
    vault: &Vault<S>,
    profile: ProfileId,
    from: AccountId,
    restore: Option<AccountId>,
) -> Result<(), ProfileError> {
    let lock = vault.metadata().lock_exclusive()?;
    let mut doc = lock.read()?;
    if let Some(stored) = doc.profiles.iter_mut().find(|p| p.id == profile)
        && let LoginMethod::Credentials { otp_account, .. } = &mut stored.method
        && *otp_account == Some(from)
    {
        *otp_account = restore;
    }
    doc.mfa_enrollments.retain(|r| r.account != from);
    lock.write(&doc)?;
    Ok(())
}

/// Takes an account out of the vault after unlinking it from `profile` (re-linked if the
/// removal fails).
pub fn forget_account<S: SecretStore>(
    vault: &Vault<S>,
    profile: ProfileId,
    account: AccountId,
) -> Result<Account, MfaError> {
    let linked = vault
        .profiles()?
        .into_iter()
        .find(|p| p.id == profile)
        .is_some_and(|p| {
            matches!(p.method, LoginMethod::Credentials { otp_account: Some(id), .. } if id == account)
        });
    unlink(vault, profile, account, None)?;
    match vault.remove(account) {
        Ok(removed) => Ok(removed),
        Err(err) => {
            if linked {
                let _ = vault.update_profile(profile, |p| {
                    if let LoginMethod::Credentials { otp_account, .. } = &mut p.method {
                        *otp_account = Some(account);
                    }
                });
            }
            Err(err.into())
        }
    }
}

/// Enrolls a TOTP key for the profile's user (see the module documentation). On success
/// the key is active, its secret is in the vault as "emnify: USERNAME", and the profile
/// answers MFA with it. The code used for activation is remembered as spent, so a login
/// right after waits for the next code instead of sending one the server refuses.
pub async fn enroll<S: SecretStore>(
    vault: &Vault<S>,
    login: &mut Login<'_, S>,
    clock: &dyn Clock,
    options: &LoginOptions,
) -> Result<Enrollment, MfaError> {
    let profile = login.profile().clone();
    let (username, previous) = credentials(&profile)?;
    let password = vault
        .profile_secret(profile.id, ProfileSecret::PasswordHash)?
        .ok_or_else(|| LoginError::MissingSecret {
            profile: profile.name.clone(),
            what: "password",
        })?;
    let body = json!({"type": {"id": TOTP_KEY_TYPE}, "password": password.expose_secret()});
    let created: CreatedKey = match login
        .call(Method::POST, "/api/v1/user/mfa", Some(&body), options)
        .await
    {
        Ok(created) => created,
        Err(LoginError::Api(ApiError::Status { status: 409, .. })) => {
            return Err(MfaError::AlreadyActive {
                profile: profile.name.clone(),
            });
        }
        Err(LoginError::Api(ApiError::Status {
            status: status @ (400 | 422),
            message,
        })) => {
            return Err(MfaError::CreateRefused {
                profile: profile.name.clone(),
                status,
                message,
            });
        }
        Err(err) => return Err(err.into()),
    };
    drop(body);
    let key_id = created.id;

    let params = OtpParams::default();
    let secret = created
        .secret_key
        .as_deref()
        .map(TotpSecret::from_base32)
        .and_then(Result::ok);
    drop(created);
    let stored = match secret {
        None => Err("the API's answer has no valid Base32 secret key".to_owned()),
        Some(secret) => vault
            .add(
                NewAccount {
                    issuer: ISSUER.to_owned(),
                    label: username.clone(),
                    params,
                    secret: secret.clone(),
                },
                clock.now(),
            )
            .map_err(|err| err.to_string())
            .and_then(|report| {
                report
                    .added
                    .into_iter()
                    .next()
                    .ok_or_else(|| "the vault already holds this key".to_owned())
            })
            .map(|account| (account, secret)),
    };
    let (account, secret) = match stored {
        Ok(stored) => stored,
        Err(reason) => {
            let deleted_on_server = delete_on_server(login, key_id, options).await.is_ok();
            return Err(MfaError::NotStored {
                key_id,
                reason,
                deleted_on_server,
            });
        }
    };
    let record = EnrollmentRecord {
        profile: profile.id,
        key_id,
        account: account.id,
        enrolled_at: clock.now(),
    };
    if let Err(err) = link(vault, &profile, record) {
        let _ = vault.remove(account.id);
        let deleted_on_server = delete_on_server(login, key_id, options).await.is_ok();
        return Err(MfaError::NotStored {
            key_id,
            reason: err.to_string(),
            deleted_on_server,
        });
    }

    let period = u64::from(params.period);
    // emnify's time when the user turned clock correction on (the key is new: a vault
    // that cannot be read now must not leave it half-enrolled, so fall back to our clock).
    let plan = plan_code(
        login.code_time().unwrap_or_else(|_| clock.now()),
        period,
        None,
    );
    if plan.wait > 0 {
        clock.sleep(plan.wait).await;
    }
    let code = code_at(&secret, &params, plan.at);
    let body = json!({"status": {"id": ACTIVE_STATUS}, "code": code});
    let activation = login
        .call_empty(
            Method::PATCH,
            &format!("/api/v1/user/mfa/{key_id}"),
            Some(&body),
            options,
        )
        .await;
    match activation {
        Ok(()) => {
            let step = plan.at / period;
            if let Err(err) =
                vault.update_profile(profile.id, |p| p.guard.rejected_code_step = Some(step))
            {
                // Only a hint for the next login's timing; the enrollment itself is complete.
                tracing::warn!(error = %err, "could not note the code step spent on activation");
            }
            Ok(Enrollment {
                key_id,
                account,
                replaced_link: previous,
            })
        }
        Err(err) => {
            let reason = err.to_string();
            if let Err(cleanup) = delete_on_server(login, key_id, options).await {
                return Err(MfaError::ActivationUnclear {
                    key_id,
                    reason,
                    cleanup: cleanup.to_string(),
                    account: account.display_name(),
                    profile: profile.name.clone(),
                });
            }
            let local = unlink(vault, profile.id, account.id, previous)
                .map_err(|e| e.to_string())
                .and_then(|()| vault.remove(account.id).map_err(|e| e.to_string()));
            match local {
                Ok(_) => Err(MfaError::ActivationFailed { key_id, reason }),
                Err(cleanup) => Err(MfaError::LocalCleanupFailed {
                    key_id,
                    reason,
                    cleanup,
                    account: account.display_name(),
                }),
            }
        }
    }
}

/// The MFA keys of the profile's user (from `GET /api/v1/user/my`).
pub async fn list_keys<S: SecretStore>(
    login: &mut Login<'_, S>,
    options: &LoginOptions,
) -> Result<Vec<MfaKeyInfo>, MfaError> {
    credentials(login.profile())?;
    let user = login.whoami(options).await?;
    Ok(keys_of_user(&user))
}

/// How sure we are that a vault account answered a deleted key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ownership {
    /// This app enrolled the key into that account.
    Enrolled,
    /// The profile's linked account, and no active key is left: its codes answered this
    /// key.
    Likely,
    /// The profile's linked account, but another key is still active: it probably
    /// answers that one.
    OtherKeyActive,
    /// The profile's linked account; the remaining keys could not be read.
    Unknown,
}

/// What deleting a key did, and the vault account that may have belonged to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRemoval {
    /// The deleted key.
    pub key_id: u64,
    /// The vault account that may have held its secret, and how sure that is.
    pub account: Option<(Account, Ownership)>,
}

/// Deletes MFA key `key_id` of the profile's user, and works out whether a vault account
/// held its secret (see [`Ownership`]). The account is left alone: remove it with
/// [`forget_account`] if the user wants.
pub async fn remove_key<S: SecretStore>(
    vault: &Vault<S>,
    login: &mut Login<'_, S>,
    key_id: u64,
    options: &LoginOptions,
) -> Result<KeyRemoval, MfaError> {
    let profile = login.profile().clone();
    let (_, linked) = credentials(&profile)?;
    match login
        .call_empty(Method::DELETE, &key_path(key_id), None, options)
        .await
    {
        Ok(()) => {}
        Err(LoginError::Api(ApiError::Status { status: 404, .. })) => {
            return Err(MfaError::NoSuchKey {
                profile: profile.name.clone(),
                key_id,
            });
        }
        Err(err) => return Err(err.into()),
    }
    let record = vault
        .metadata()
        .read()
        .map_err(VaultError::from)?
        .mfa_enrollments
        .into_iter()
        .find(|r| r.profile == profile.id && r.key_id == key_id);
    let enrolled = record.and_then(|r| vault.account(r.account).ok());
    let account = match (enrolled, linked.and_then(|id| vault.account(id).ok())) {
        (Some(account), _) => Some((account, Ownership::Enrolled)),
        (None, Some(account)) => {
            let ownership = match list_keys(login, options).await {
                Ok(keys) if keys.iter().any(MfaKeyInfo::is_active) => Ownership::OtherKeyActive,
                Ok(_) => Ownership::Likely,
                Err(_) => Ownership::Unknown,
            };
            Some((account, ownership))
        }
        (None, None) => None,
    };
    // The record's job is done once the key is gone.
    let lock = vault
        .metadata()
        .lock_exclusive()
        .map_err(VaultError::from)?;
    let mut doc = lock.read().map_err(VaultError::from)?;
    let before = doc.mfa_enrollments.len();
    doc.mfa_enrollments
        .retain(|r| !(r.profile == profile.id && r.key_id == key_id));
    if doc.mfa_enrollments.len() != before {
        lock.write(&doc).map_err(VaultError::from)?;
    }
    Ok(KeyRemoval { key_id, account })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use secrecy::SecretString;

    use super::*;
    use crate::login::profile::NewProfile;
    use crate::secret_store::MemoryStore;

    #[test]
    fn keys_are_read_from_the_user_object() {
        let user = json!({"id": 1, "mfa": [
            {"id": 717, "status": {"id": 1, "description": "Active"},
             "type": {"id": 1, "description": "Time-Based One-Time Password"},
             "creation_date": "2026-01-01T00:00:00.000Z", "activation_date": "2026-01-01T00:01:00.000Z"},
            {"id": 1000, "status": {"id": 0, "description": "Activation pending"}, "type": {"id": 1}},
            {"no": "id"}
        ]});
        let keys = keys_of_user(&user);
        assert_eq!(keys.len(), 2);
        assert!(keys[0].is_active());
        assert_eq!(keys[0].key_type, "Time-Based One-Time Password");
        assert!(!keys[1].is_active());
        assert_eq!(keys_of_user(&json!({"id": 1})), []);
    }

    #[test]
    fn the_created_key_never_shows_its_secret() {
        let created: CreatedKey = serde_json::from_value(json!({
            "id": 5, "secret_key": "JBSWY3DPEHPK3PXP", "otpauth": "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP",
            "status": {"id": 0}
        }))
        .unwrap();
        assert_eq!(format!("{created:?}"), "CreatedKey { id: 5, .. }");
    }

    #[test]
    fn link_unlink_and_forget_keep_profile_and_vault_in_step() {
        let dir = tempfile::tempdir().unwrap();
        let vault = Vault::open(dir.path(), Arc::new(MemoryStore::new()));
        let old = vault
            .add(
                NewAccount {
                    issuer: "emnify".into(),
                    label: "old".into(),
                    params: OtpParams::default(),
                    secret: TotpSecret::from_base32("JBSWY3DPEHPK3PXP").unwrap(),
                },
                1,
            )
            .unwrap()
            .added
            .remove(0);
        let profile = vault
            .add_profile(
                NewProfile {
                    name: "prod".into(),
                    api_url: "http://127.0.0.1:1".into(),
                    method: LoginMethod::Credentials {
                        username: "u@example.com".into(),
                        otp_account: Some(old.id),
                        trust_device: false,
                    },
                    secret: SecretString::from("hash".to_owned()),
                },
                1,
            )
            .unwrap();
        let new = vault
            .add(
                NewAccount {
                    issuer: ISSUER.into(),
                    label: "u@example.com".into(),
                    params: OtpParams::default(),
                    secret: TotpSecret::from_base32("EMNIFYDEMOSECRETKEYFORTOTPAPP234").unwrap(),
                },
                2,
            )
            .unwrap()
            .added
            .remove(0);
        link(
            &vault,
            &profile,
            EnrollmentRecord {
                profile: profile.id,
                key_id: 9,
                account: new.id,
                enrolled_at: 2,
            },
        )
        .unwrap();
        let doc = vault.metadata().read().unwrap();
        assert_eq!(doc.mfa_enrollments.len(), 1);
        assert_eq!(
            doc.accounts
                .iter()
                .find(|a| a.id == new.id)
                .unwrap()
                .profile
                .as_deref(),
            Some("prod")
        );
        assert!(matches!(
            vault.profile("prod").unwrap().method,
            LoginMethod::Credentials { otp_account: Some(id), .. } if id == new.id
        ));

        unlink(&vault, profile.id, new.id, Some(old.id)).unwrap();
        assert!(matches!(
            vault.profile("prod").unwrap().method,
            LoginMethod::Credentials { otp_account: Some(id), .. } if id == old.id
        ));
        assert!(vault.metadata().read().unwrap().mfa_enrollments.is_empty());

        let removed = forget_account(&vault, profile.id, old.id).unwrap();
        assert_eq!(removed.id, old.id);
        assert!(matches!(
            vault.profile("prod").unwrap().method,
            LoginMethod::Credentials {
                otp_account: None,
                ..
            }
        ));
        assert_eq!(vault.accounts().unwrap().len(), 1);
        assert_eq!(vault.secrets().len(), 2); // the new key and the password hash
    }
}
