//! emnify login profiles: what to log in to and how. The metadata file holds the profile;
//! the keyring holds its secrets (password hash, application token, auth and refresh
//! tokens) and this installation's trusted-device fingerprint.

use std::fmt;
use std::str::FromStr;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::account::AccountId;
use crate::login::api::check_api_url;
use crate::secret_store::SecretStore;
use crate::vault::{Vault, VaultError};

/// Stable identity of a profile; part of its keyring entries' names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProfileId(Uuid);

impl fmt::Display for ProfileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for ProfileId {
    type Err = uuid::Error;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(text).map(Self)
    }
}

/// How a profile logs in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LoginMethod {
    /// User name and password (hash in the keyring), MFA answered from a vault account.
    Credentials {
        /// The emnify user name (e-mail).
        username: String,
        /// The vault account whose codes answer MFA; without one the code is asked for.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        otp_account: Option<AccountId>,
        /// Ask the API to trust this installation for 90 days after an MFA login.
        #[serde(default)]
        trust_device: bool,
    },
    /// An application token (in the keyring); no MFA, one workspace.
    ApplicationToken,
}

/// What the client remembers of failed attempts, so that it never sends a rejected code
/// twice nor makes the attempt that would lock the user without being asked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptGuard {
    /// Failed password/code attempts in a row, as far as this installation knows.
    #[serde(default)]
    pub consecutive_failures: u32,
    /// The TOTP step whose code the server rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected_code_step: Option<u64>,
    /// The server locked the user until then (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked_until: Option<u64>,
}

/// This installation's trust at the API for a profile (its fingerprint is in the keyring).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceTrust {
    /// When the API accepted the trust (Unix seconds).
    pub trusted_at: u64,
    /// When it lapses: 90 days later.
    pub expires_at: u64,
    /// The `operating_system` string sent.
    pub operating_system: String,
    /// The `browser` string sent (app name and version).
    pub browser: String,
    /// The keyring entry (user name) of the fingerprint that was sent; the fingerprint
    /// itself never leaves the keyring.
    #[serde(default = "default_fingerprint_key")]
    pub fingerprint_key: String,
    /// The API's id of this device, once a sync has found it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<u64>,
    /// When the trust was revoked (here, or found missing at the API before its
    /// expiry); a revoked trust is not sent as a fingerprint any more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<u64>,
}

fn default_fingerprint_key() -> String {
    FINGERPRINT_KEY.to_owned()
}

/// How long the API trusts a device.
pub const TRUST_SECONDS: u64 = 90 * 24 * 60 * 60;

/// One emnify login profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginProfile {
    /// Stable id.
    pub id: ProfileId,
    /// The user's name for it ("prod", "staging").
    pub name: String,
    /// API base URL, `https://cdn.emnify.net` by default.
    pub api_url: String,
    /// How it logs in.
    pub method: LoginMethod,
    /// When it was added (Unix seconds).
    pub created_at: u64,
    /// Failed-attempt bookkeeping.
    #[serde(default)]
    pub guard: AttemptGuard,
    /// This installation's trust, when the API granted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust: Option<DeviceTrust>,
}

impl LoginProfile {
    /// Whether this installation's trust is still valid at `now` (not expired, not
    /// revoked).
    pub fn trusted_at(&self, now: u64) -> bool {
        self.trust
            .as_ref()
            .is_some_and(|t| now < t.expires_at && t.revoked_at.is_none())
    }
}

/// The kinds of secret a profile keeps in the keyring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileSecret {
    /// SHA-1 hex of the password.
    PasswordHash,
    /// Application token.
    ApplicationToken,
    /// The current auth token (JWT).
    AuthToken,
    /// The current refresh token.
    RefreshToken,
}

impl ProfileSecret {
    const ALL: [ProfileSecret; 4] = [
        ProfileSecret::PasswordHash,
        ProfileSecret::ApplicationToken,
        ProfileSecret::AuthToken,
        ProfileSecret::RefreshToken,
    ];

    fn suffix(self) -> &'static str {
        match self {
            ProfileSecret::PasswordHash => "password-sha1",
            ProfileSecret::ApplicationToken => "application-token",
            ProfileSecret::AuthToken => "auth-token",
            ProfileSecret::RefreshToken => "refresh-token",
        }
    }

    /// The keyring user name of this secret of `profile`.
    pub fn key(self, profile: ProfileId) -> String {
        format!("profile:{profile}:{}", self.suffix())
    }
}

/// Keyring user name of this installation's trusted-device fingerprint.
pub const FINGERPRINT_KEY: &str = "installation:fingerprint";

/// Why a profile could not be added or changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// Vault or keyring failure.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// A profile of that name exists.
    #[error("a login profile named '{0}' already exists: choose another name or remove it first")]
    Exists(String),
    /// No profile of that name.
    #[error("no login profile named '{0}': run `emnify-auth profile list`")]
    NotFound(String),
    /// Bad API address.
    #[error(transparent)]
    Url(#[from] crate::login::api::ApiError),
    /// Empty name or user name.
    #[error("{0} must not be empty")]
    Empty(&'static str),
}

impl From<crate::secret_store::StoreError> for ProfileError {
    fn from(err: crate::secret_store::StoreError) -> Self {
        ProfileError::Vault(err.into())
    }
}

impl From<crate::metadata::MetadataError> for ProfileError {
    fn from(err: crate::metadata::MetadataError) -> Self {
        ProfileError::Vault(err.into())
    }
}

/// A profile to add, with its one secret.
pub struct NewProfile {
    /// Name.
    pub name: String,
    /// API base URL.
    pub api_url: String,
    /// How it logs in.
    pub method: LoginMethod,
    /// The password's SHA-1 hex (credentials) or the application token.
    pub secret: SecretString,
}

impl fmt::Debug for NewProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewProfile")
            .field("name", &self.name)
            .field("api_url", &self.api_url)
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}

impl<S: SecretStore> Vault<S> {
    /// All login profiles.
    pub fn profiles(&self) -> Result<Vec<LoginProfile>, ProfileError> {
        Ok(self.metadata().read()?.profiles)
    }

    /// The profile named `name` (case-insensitive).
    pub fn profile(&self, name: &str) -> Result<LoginProfile, ProfileError> {
        self.profiles()?
            .into_iter()
            .find(|p| p.name.eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| ProfileError::NotFound(name.to_owned()))
    }

    /// Adds a profile: its secret to the keyring first, then the record; a failing
    /// record write takes the secret out again.
    pub fn add_profile(&self, new: NewProfile, now: u64) -> Result<LoginProfile, ProfileError> {
        let name = new.name.trim().to_owned();
        if name.is_empty() {
            return Err(ProfileError::Empty("the profile name"));
        }
        check_api_url(&new.api_url)?;
        if let LoginMethod::Credentials {
            username,
            otp_account,
            ..
        } = &new.method
        {
            if username.trim().is_empty() {
                return Err(ProfileError::Empty("the user name"));
            }
            if let Some(id) = otp_account {
                self.account_by_id(*id)?;
            }
        }
        let lock = self.metadata().lock_exclusive()?;
        let mut doc = lock.read()?;
        if doc
            .profiles
            .iter()
            .any(|p| p.name.eq_ignore_ascii_case(&name))
        {
            return Err(ProfileError::Exists(name));
        }
        let profile = LoginProfile {
            id: ProfileId(Uuid::new_v4()),
            name,
            api_url: new.api_url.trim().trim_end_matches('/').to_owned(),
            method: new.method,
            created_at: now,
            guard: AttemptGuard::default(),
            trust: None,
        };
        let kind = match profile.method {
            LoginMethod::Credentials { .. } => ProfileSecret::PasswordHash,
            LoginMethod::ApplicationToken => ProfileSecret::ApplicationToken,
        };
        let key = kind.key(profile.id);
        self.secrets().set(
            &key,
            &format!("emnify Authenticator: login profile {}", profile.name),
            new.secret.expose_secret(),
        )?;
        doc.profiles.push(profile.clone());
        if let Err(err) = lock.write(&doc) {
            let _ = self.secrets().delete(&key);
            return Err(err.into());
        }
        Ok(profile)
    }

    /// Removes a profile and every secret it kept in the keyring.
    pub fn remove_profile(&self, name: &str) -> Result<LoginProfile, ProfileError> {
        let lock = self.metadata().lock_exclusive()?;
        let mut doc = lock.read()?;
        let index = doc
            .profiles
            .iter()
            .position(|p| p.name.eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| ProfileError::NotFound(name.to_owned()))?;
        let profile = doc.profiles.remove(index);
        doc.devices.remove_profile(profile.id);
        // Record first: a profile whose secrets linger is harmless and cleaned on retry;
        // a profile without its secrets would fail confusingly.
        lock.write(&doc)?;
        for kind in ProfileSecret::ALL {
            self.secrets().delete(&kind.key(profile.id))?;
        }
        Ok(profile)
    }

    /// Applies `change` to the stored profile `id` under the metadata lock.
    pub fn update_profile<T>(
        &self,
        id: ProfileId,
        change: impl FnOnce(&mut LoginProfile) -> T,
    ) -> Result<(LoginProfile, T), ProfileError> {
        let lock = self.metadata().lock_exclusive()?;
        let mut doc = lock.read()?;
        let profile = doc
            .profiles
            .iter_mut()
            .find(|p| p.id == id)
            .ok_or_else(|| ProfileError::NotFound(id.to_string()))?;
        let result = change(profile);
        let updated = profile.clone();
        lock.write(&doc)?;
        Ok((updated, result))
    }

    /// A secret of a profile, if stored.
    pub fn profile_secret(
        &self,
        profile: ProfileId,
        kind: ProfileSecret,
    ) -> Result<Option<SecretString>, ProfileError> {
        Ok(self
            .secrets()
            .get(&kind.key(profile))?
            .map(|s| SecretString::from(s.as_str().to_owned())))
    }

    /// Stores (or, with `None`, deletes) a secret of a profile.
    pub fn set_profile_secret(
        &self,
        profile: &LoginProfile,
        kind: ProfileSecret,
        value: Option<&SecretString>,
    ) -> Result<(), ProfileError> {
        let key = kind.key(profile.id);
        match value {
            Some(value) => self.secrets().set(
                &key,
                &format!(
                    "emnify Authenticator: {} of {}",
                    kind.suffix(),
                    profile.name
                ),
                value.expose_secret(),
            )?,
            None => {
                self.secrets().delete(&key)?;
            }
        }
        Ok(())
    }

    /// This installation's trusted-device fingerprint, created on first use: 128 random
    /// bits, no hardware identifiers.
    pub fn installation_fingerprint(&self) -> Result<String, ProfileError> {
        if let Some(existing) = self.secrets().get(FINGERPRINT_KEY)? {
            return Ok(existing.as_str().to_owned());
        }
        let fingerprint = Uuid::new_v4().simple().to_string();
        self.secrets().set(
            FINGERPRINT_KEY,
            "emnify Authenticator: trusted-device fingerprint of this installation",
            &fingerprint,
        )?;
        Ok(fingerprint)
    }

    fn account_by_id(&self, id: AccountId) -> Result<crate::account::Account, VaultError> {
        self.accounts()?
            .into_iter()
            .find(|a| a.id == id)
            .ok_or(VaultError::UnknownId(id))
    }

    /// The vault account with id `id`.
    pub fn account(&self, id: AccountId) -> Result<crate::account::Account, VaultError> {
        self.account_by_id(id)
    }
}
