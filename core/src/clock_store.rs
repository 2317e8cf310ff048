//! The last clock-drift measurement in the vault file (`clock_offset` section) and the
//! user's `clock_correction` setting, read together as a [`ClockStatus`].

use crate::clock_drift::{ClockOffset, ClockStatus, should_record};
use crate::metadata::MetadataError;
use crate::secret_store::SecretStore;
use crate::vault::Vault;

impl<S: SecretStore> Vault<S> {
    /// The last measured offset and whether codes are corrected for it (one read).
    pub fn clock_status(&self) -> Result<ClockStatus, MetadataError> {
        let doc = self.metadata().read()?;
        Ok(ClockStatus {
            offset: doc.clock_offset,
            correction: doc.settings.clock_correction(),
        })
    }

    /// Stores `offset` as the last measurement when it differs from the stored one or
    /// that one is getting old ([`should_record`]); returns whether the file was written.
    pub fn record_clock_offset(&self, offset: &ClockOffset) -> Result<bool, MetadataError> {
        let lock = self.metadata().lock_exclusive()?;
        let mut doc = lock.read()?;
        if !should_record(doc.clock_offset.as_ref(), offset) {
            return Ok(false);
        }
        doc.clock_offset = Some(offset.clone());
        lock.write(&doc)?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::secret_store::MemoryStore;

    fn measurement(seconds: i64, at: u64) -> ClockOffset {
        ClockOffset {
            offset_seconds: seconds,
            measured_at: at,
            source: "127.0.0.1".into(),
        }
    }

    #[test]
    fn the_last_measurement_and_the_setting_are_kept_in_the_vault_file() {
        let dir = tempfile::tempdir().unwrap();
        let vault = Vault::open(dir.path(), Arc::new(MemoryStore::new()));
        assert_eq!(vault.clock_status().unwrap(), ClockStatus::default());

        assert!(vault.record_clock_offset(&measurement(90, 1000)).unwrap());
        // The same offset a moment later is not written again.
        assert!(!vault.record_clock_offset(&measurement(90, 1010)).unwrap());
        assert!(vault.record_clock_offset(&measurement(-4, 1020)).unwrap());
        vault.set_clock_correction(true).unwrap();

        let status = vault.clock_status().unwrap();
        assert_eq!(status.offset, Some(measurement(-4, 1020)));
        assert!(status.correction);
        let text = std::fs::read_to_string(vault.metadata().path()).unwrap();
        assert!(text.contains("\"clock_offset\"") && text.contains("\"clock_correction\": true"));
        assert!(text.contains("\"schema_version\": 1"), "{text}");
    }

    #[test]
    fn files_without_a_measurement_still_load() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("vault.json"),
            r#"{"schema_version": 1, "accounts": [], "settings": {"theme": "dark"}}"#,
        )
        .unwrap();
        let vault = Vault::open(dir.path(), Arc::new(MemoryStore::new()));
        assert_eq!(vault.clock_status().unwrap(), ClockStatus::default());
    }
}
