//! The clock offset against emnify (measured on every emnify response) and the user's
//! choice to correct codes for it: what the settings screen and the warning line show,
//! and the time every code in the app is computed for.

use emnify_auth_core::clock_drift::ClockStatus;
use emnify_auth_core::login::flow::{Clock, SystemClock};
use emnify_auth_core::vault::VaultError;
use serde::Serialize;
use tauri::State;

use crate::error::CommandResult;
use crate::state::AppState;

/// The time to compute codes for now: this computer's clock, moved by the measured offset
/// when the user turned correction on (the plain clock when the vault cannot be read).
pub fn code_time(state: &AppState) -> u64 {
    let now = SystemClock.now();
    state
        .vault
        .clock_status()
        .map(|status| status.code_time(now))
        .unwrap_or(now)
}

/// The clock as the UI shows it.
#[derive(Debug, Serialize)]
pub struct ClockView {
    /// emnify's clock minus this computer's, in seconds (positive: emnify is ahead);
    /// `None` before the first emnify response.
    offset_seconds: Option<i64>,
    /// When it was measured (Unix seconds).
    measured_at: Option<u64>,
    /// The API host it was measured against.
    source: Option<String>,
    /// The "Correct codes for emnify's clock" setting.
    correction: bool,
    /// Whether codes are computed for a corrected time right now.
    corrected: bool,
    /// The drift exceeds the warning threshold and codes are not corrected for it.
    warning: bool,
}

fn view(status: &ClockStatus) -> ClockView {
    ClockView {
        offset_seconds: status.offset.as_ref().map(|o| o.offset_seconds),
        measured_at: status.offset.as_ref().map(|o| o.measured_at),
        source: status.offset.as_ref().map(|o| o.source.clone()),
        correction: status.correction,
        corrected: status.corrected(),
        warning: status.needs_warning(),
    }
}

/// The last measured offset and the correction setting.
#[tauri::command]
pub fn clock_status(state: State<'_, AppState>) -> CommandResult<ClockView> {
    let status = state.vault.clock_status().map_err(VaultError::from)?;
    Ok(view(&status))
}

/// Turns clock correction on or off; returns the clock as it now stands.
#[tauri::command]
pub fn set_clock_correction(state: State<'_, AppState>, enabled: bool) -> CommandResult<ClockView> {
    state
        .vault
        .set_clock_correction(enabled)
        .map_err(VaultError::from)?;
    clock_status(state)
}
