//! Trusted-device commands, and the desktop notification when this installation's trust
//! is about to lapse.

use emnify_auth_core::login::devices::{DeviceSession, DeviceTarget};
use emnify_auth_core::login::flow::{Clock, LoginOptions, SystemClock};
use emnify_auth_core::trusted_devices::{DeviceError, DeviceView};
use serde::Serialize;
use tauri::{AppHandle, Manager, State};
use tauri_plugin_notification::NotificationExt;

use crate::error::{CommandError, CommandResult};
use crate::state::AppState;

static CLOCK: SystemClock = SystemClock;

impl From<DeviceError> for CommandError {
    fn from(err: DeviceError) -> Self {
        match err {
            DeviceError::Profile(profile) => profile.into(),
            DeviceError::Login(login) => login.into(),
            other => CommandError::new("devices", other.to_string()),
        }
    }
}

/// A trusted device as the UI shows it.
#[derive(Debug, Serialize)]
pub struct DeviceItem {
    /// The API's id, or "this" for this installation before a sync found its id.
    id: String,
    operating_system: String,
    browser: String,
    trusted_at: u64,
    expires_at: u64,
    days_left: i64,
    /// "active", "expiring", "expired", "revoked".
    state: &'static str,
    this_device: bool,
    from_server: bool,
}

fn item(view: DeviceView) -> DeviceItem {
    DeviceItem {
        id: view
            .id
            .map(|id| id.to_string())
            .unwrap_or_else(|| "this".into()),
        from_server: view.id.is_some(),
        operating_system: view.operating_system,
        browser: view.browser,
        trusted_at: view.trusted_at,
        expires_at: view.expires_at,
        days_left: view.days_left.max(0),
        state: view.state.as_str(),
        this_device: view.this_installation,
    }
}

fn list(state: &AppState, name: &str) -> CommandResult<Vec<DeviceItem>> {
    Ok(state
        .vault
        .device_list(name, CLOCK.now(), None)?
        .devices
        .into_iter()
        .map(item)
        .collect())
}

/// The stored trusted devices of a profile (no request).
#[tauri::command]
pub fn devices(state: State<'_, AppState>, name: String) -> CommandResult<Vec<DeviceItem>> {
    list(&state, &name)
}

/// Fetches the API's list, merges it, and returns the devices.
#[tauri::command]
pub async fn sync_devices(
    state: State<'_, AppState>,
    name: String,
) -> CommandResult<Vec<DeviceItem>> {
    let profile = state.vault.profile(&name)?;
    let mut session = DeviceSession::new(&state.vault, profile, &CLOCK)?;
    session.sync(&LoginOptions::default()).await?;
    list(&state, &name)
}

/// Revokes a device ("this" or an API id) and returns the devices.
#[tauri::command]
pub async fn revoke_device(
    state: State<'_, AppState>,
    name: String,
    id: String,
) -> CommandResult<Vec<DeviceItem>> {
    let target: DeviceTarget = id
        .parse()
        .map_err(|e: String| CommandError::new("invalid_input", e))?;
    let profile = state.vault.profile(&name)?;
    let mut session = DeviceSession::new(&state.vault, profile, &CLOCK)?;
    let options = LoginOptions::default();
    let device = session.resolve(target, &options).await?;
    session.revoke(&device, &options).await?;
    list(&state, &name)
}

/// Notifies (once per start, then every six hours) when this installation's trust of a
/// profile is within the warning period.
pub fn watch_expiry(app: &AppHandle) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            notify_expiring(&app);
            tokio::time::sleep(std::time::Duration::from_secs(6 * 60 * 60)).await;
        }
    });
}

fn notify_expiring(app: &AppHandle) {
    let state = app.state::<AppState>();
    let Ok(expiring) = state.vault.expiring_devices(CLOCK.now(), None) else {
        return;
    };
    for device in expiring.into_iter().filter(|d| d.this_installation) {
        let days = device.days_left.max(0);
        let _ = app
            .notification()
            .builder()
            .title("Trusted device expiring")
            .body(format!(
                "This computer's trust for '{}' ends in {days} day{}: the next login will ask for an MFA code.",
                device.profile_name,
                if days == 1 { "" } else { "s" }
            ))
            .show();
    }
}
