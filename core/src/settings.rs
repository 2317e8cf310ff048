//! User settings kept in the metadata document's `settings` section (never a secret).
//! Settings this build does not know are kept as they are, so an older build does not
//! drop what a newer one wrote.

use serde::{Deserialize, Serialize};

use crate::metadata::MetadataError;
use crate::secret_store::SecretStore;
use crate::vault::Vault;

/// Days before a trusted device lapses from which it counts as "expiring" by default.
pub const DEFAULT_DEVICE_WARNING_DAYS: u32 = 7;
/// The largest warning period accepted: a trust lasts 90 days.
pub const MAX_DEVICE_WARNING_DAYS: u32 = 90;

/// Seconds after which a copied code or token is cleared from the clipboard by default.
pub const DEFAULT_CLIPBOARD_CLEAR_SECONDS: u32 = 30;

/// Colour scheme of the desktop app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Theme {
    /// Follow the system.
    #[default]
    System,
    /// Always light.
    Light,
    /// Always dark.
    Dark,
}

/// The `settings` section of the metadata document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Warn this many days before a trusted device lapses; `None`: the default
    /// ([`DEFAULT_DEVICE_WARNING_DAYS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_warning_days: Option<u32>,
    /// Clear a copied code or token from the clipboard after this many seconds (unless
    /// something else was copied meanwhile); 0 never clears; `None`: the default
    /// ([`DEFAULT_CLIPBOARD_CLEAR_SECONDS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clipboard_clear_seconds: Option<u32>,
    /// Colour scheme of the desktop app; `None`: follow the system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theme: Option<Theme>,
    /// Compute codes for emnify's clock (the last measured offset, see
    /// [`crate::clock_drift`]) instead of this computer's; `None`: off. Only the user
    /// turns it on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_correction: Option<bool>,
    /// Settings this build does not know: kept as they are.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl Settings {
    /// Whether nothing is set (the section is then left out of the file).
    pub fn is_empty(&self) -> bool {
        self.device_warning_days.is_none()
            && self.clipboard_clear_seconds.is_none()
            && self.theme.is_none()
            && self.clock_correction.is_none()
            && self.other.is_empty()
    }

    /// The effective clipboard clearing time in seconds.
    pub fn clipboard_clear_seconds(&self) -> u32 {
        self.clipboard_clear_seconds
            .unwrap_or(DEFAULT_CLIPBOARD_CLEAR_SECONDS)
    }

    /// The effective theme.
    pub fn theme(&self) -> Theme {
        self.theme.unwrap_or_default()
    }

    /// The effective warning period in days.
    pub fn device_warning_days(&self) -> u32 {
        self.device_warning_days
            .unwrap_or(DEFAULT_DEVICE_WARNING_DAYS)
    }

    /// Whether codes are corrected for emnify's clock (off unless the user turned it on).
    pub fn clock_correction(&self) -> bool {
        self.clock_correction.unwrap_or(false)
    }
}

/// Why a setting could not be changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    /// The metadata file failed; nothing was changed.
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    /// A warning period outside 0..=90 days.
    #[error(
        "{0} warning days is out of range: give a number of days from 0 (no warning) to {MAX_DEVICE_WARNING_DAYS}"
    )]
    WarningDaysOutOfRange(u32),
}

/// Checks a warning period in days (0 to [`MAX_DEVICE_WARNING_DAYS`]).
pub fn check_warning_days(days: u32) -> Result<u32, SettingsError> {
    if days > MAX_DEVICE_WARNING_DAYS {
        return Err(SettingsError::WarningDaysOutOfRange(days));
    }
    Ok(days)
}

impl<S: SecretStore> Vault<S> {
    /// Replaces the settings (checked first), keeping settings this build does not know.
    pub fn save_settings(&self, settings: &Settings) -> Result<(), SettingsError> {
        if let Some(days) = settings.device_warning_days {
            check_warning_days(days)?;
        }
        let lock = self.metadata().lock_exclusive()?;
        let mut doc = lock.read()?;
        let other = std::mem::take(&mut doc.settings.other);
        doc.settings = settings.clone();
        for (key, value) in other {
            doc.settings.other.entry(key).or_insert(value);
        }
        lock.write(&doc)?;
        Ok(())
    }

    /// The stored settings.
    pub fn settings(&self) -> Result<Settings, MetadataError> {
        Ok(self.metadata().read()?.settings)
    }

    /// Stores the device warning period (`None`: back to the default) and returns the
    /// effective value.
    pub fn set_device_warning_days(&self, days: Option<u32>) -> Result<u32, SettingsError> {
        if let Some(days) = days {
            check_warning_days(days)?;
        }
        let lock = self.metadata().lock_exclusive()?;
        let mut doc = lock.read()?;
        doc.settings.device_warning_days = days;
        lock.write(&doc)?;
        Ok(doc.settings.device_warning_days())
    }

    /// Turns clock correction on or off (stored explicitly either way).
    pub fn set_clock_correction(&self, on: bool) -> Result<(), MetadataError> {
        let lock = self.metadata().lock_exclusive()?;
        let mut doc = lock.read()?;
        doc.settings.clock_correction = Some(on);
        lock.write(&doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_unknown_settings_survive() {
        let parsed: Settings =
            serde_json::from_str(r#"{"theme": "dark", "device_warning_days": 3}"#).unwrap();
        assert_eq!(parsed.device_warning_days(), 3);
        let text = serde_json::to_string(&parsed).unwrap();
        assert!(text.contains("\"theme\":\"dark\""), "{text}");
        assert_eq!(Settings::default().device_warning_days(), 7);
        assert!(Settings::default().is_empty());
        assert!(!Settings::default().clock_correction());
        let on: Settings = serde_json::from_str(r#"{"clock_correction": true}"#).unwrap();
        assert!(on.clock_correction() && !on.is_empty());
    }

    #[test]
    fn warning_days_are_bounded() {
        assert_eq!(check_warning_days(0).unwrap(), 0);
        assert_eq!(check_warning_days(90).unwrap(), 90);
        let err = check_warning_days(91).unwrap_err().to_string();
        assert!(err.contains("from 0") && err.contains("90"), "{err}");
    }
}
