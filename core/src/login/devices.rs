//! Trusted devices over HTTP: fetching the API's list
//! (`GET /api/v1/user/my/mfa/trusted_device`), syncing it into the stored records, and
//! revoking a device (`DELETE /api/v1/user/my/mfa/trusted_device/{id}`). Every call goes
//! through [`Login::call`], so it logs in or refreshes the token first when needed.

use std::fmt;

use reqwest::Method;

use crate::login::api::ApiError;
use crate::login::flow::{Clock, Login, LoginError, LoginOptions};
use crate::login::profile::{LoginMethod, LoginProfile, ProfileId};
use crate::secret_store::SecretStore;
use crate::trusted_devices::{DeviceError, DeviceView, ServerDevice, SyncReport};
use crate::vault::Vault;

/// The API path of the logged-in user's trusted devices.
pub const TRUSTED_DEVICES_PATH: &str = "/api/v1/user/my/mfa/trusted_device";

/// Which device to revoke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceTarget {
    /// The device with this API id.
    Id(u64),
    /// This installation's trust.
    ThisInstallation,
}

impl std::str::FromStr for DeviceTarget {
    type Err = String;

    /// A device id, or `this` for this installation.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("this") {
            return Ok(DeviceTarget::ThisInstallation);
        }
        text.parse().map(DeviceTarget::Id).map_err(|_| {
            format!("'{text}' is not a device id: give the number shown by `emnify-auth devices NAME`, or `this`")
        })
    }
}

/// What a revocation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokeReport {
    /// The device as it was before.
    pub device: DeviceView,
    /// The API no longer had it (404): it is marked revoked here all the same.
    pub already_gone: bool,
}

/// Trusted-device operations for one profile.
pub struct DeviceSession<'a, S: SecretStore> {
    vault: &'a Vault<S>,
    clock: &'a dyn Clock,
    profile: ProfileId,
    name: String,
    login: Login<'a, S>,
}

impl<S: SecretStore> fmt::Debug for DeviceSession<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceSession")
            .field("profile", &self.name)
            .field("login", &self.login)
            .finish_non_exhaustive()
    }
}

impl<'a, S: SecretStore> DeviceSession<'a, S> {
    /// Prepares the operations for `profile`, which must log in with user credentials.
    pub fn new(
        vault: &'a Vault<S>,
        profile: LoginProfile,
        clock: &'a dyn Clock,
    ) -> Result<Self, DeviceError> {
        if matches!(profile.method, LoginMethod::ApplicationToken) {
            return Err(DeviceError::ApplicationToken(profile.name));
        }
        let id = profile.id;
        let name = profile.name.clone();
        let login = Login::new(vault, profile, clock)?;
        Ok(Self {
            vault,
            clock,
            profile: id,
            name,
            login,
        })
    }

    /// HTTP requests made so far (logins included).
    pub fn requests(&self) -> u32 {
        self.login.requests()
    }

    /// The API's current list of the user's trusted devices (lapsed ones are not in it).
    pub async fn fetch(
        &mut self,
        options: &LoginOptions,
    ) -> Result<Vec<ServerDevice>, DeviceError> {
        Ok(self
            .login
            .call(Method::GET, TRUSTED_DEVICES_PATH, None, options)
            .await?)
    }

    /// Fetches the list and merges it into the stored records
    /// ([`crate::trusted_devices::apply_sync`]).
    pub async fn sync(&mut self, options: &LoginOptions) -> Result<SyncReport, DeviceError> {
        let fetched_at = self.clock.now();
        let listed = self.fetch(options).await?;
        self.vault
            .record_device_sync(self.profile, &listed, fetched_at)
    }

    fn stored(&self) -> Result<Vec<DeviceView>, DeviceError> {
        Ok(self
            .vault
            .device_list_of(self.profile, self.clock.now())?
            .devices)
    }

    fn find(&self, target: DeviceTarget) -> Result<Option<DeviceView>, DeviceError> {
        Ok(self.stored()?.into_iter().find(|d| match target {
            DeviceTarget::Id(id) => d.id == Some(id),
            DeviceTarget::ThisInstallation => d.this_installation,
        }))
    }

    /// Finds the device to revoke. This installation is always looked up with a fresh
    /// sync (so its id is known and current); an id not stored yet triggers a sync too.
    /// A device that is already revoked or expired is an error: nothing to revoke.
    pub async fn resolve(
        &mut self,
        target: DeviceTarget,
        options: &LoginOptions,
    ) -> Result<DeviceView, DeviceError> {
        let mut found = match target {
            DeviceTarget::ThisInstallation => None,
            DeviceTarget::Id(_) => self.find(target)?.filter(|d| d.state.is_trusted()),
        };
        if found.is_none() {
            self.sync(options).await?;
            found = self.find(target)?;
        }
        let what = |device: &DeviceView| match device.id {
            Some(id) if !device.this_installation => format!("device {id}"),
            _ => "this installation".to_owned(),
        };
        match (found, target) {
            (Some(device), _) if device.state.is_trusted() && device.id.is_some() => Ok(device),
            (Some(device), _) if !device.state.is_trusted() => Err(DeviceError::NotTrusted {
                profile: self.name.clone(),
                what: what(&device),
                state: device.state,
            }),
            (_, DeviceTarget::Id(id)) => Err(DeviceError::UnknownDevice {
                profile: self.name.clone(),
                id,
            }),
            (_, DeviceTarget::ThisInstallation) => Err(DeviceError::NoTrust(self.name.clone())),
        }
    }

    /// Revokes `device` (from [`DeviceSession::resolve`]) at the API, then records it:
    /// revoking this installation clears its trust, so the next login asks for MFA. A
    /// device the API no longer has (404) is recorded as revoked as well.
    pub async fn revoke(
        &mut self,
        device: &DeviceView,
        options: &LoginOptions,
    ) -> Result<RevokeReport, DeviceError> {
        let Some(id) = device.id else {
            return Err(DeviceError::NoTrust(self.name.clone()));
        };
        let path = format!("{TRUSTED_DEVICES_PATH}/{id}");
        let already_gone = match self
            .login
            .call_empty(Method::DELETE, &path, None, options)
            .await
        {
            Ok(()) => false,
            Err(LoginError::Api(ApiError::Status { status: 404, .. })) => true,
            Err(err) => return Err(err.into()),
        };
        // Only the record with this id is marked: if this installation's trust was
        // renewed meanwhile (a new id), the new trust stays.
        self.vault
            .record_device_revoked(self.profile, id, self.clock.now())?;
        Ok(RevokeReport {
            device: device.clone(),
            already_gone,
        })
    }
}
