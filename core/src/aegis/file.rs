//! The outer JSON of an Aegis vault file: `{version, header: {slots, params}, db}`.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::AegisError;

/// The only outer format version Aegis has ever written.
pub const FILE_VERSION: u64 = 1;

/// An Aegis vault file as read from or written to disk. `db` is either the Base64
/// ciphertext (encrypted vault) or the content object itself (plain vault).
#[derive(Clone, Serialize, Deserialize)]
pub struct VaultFile {
    /// Outer format version (1).
    pub version: u64,
    /// Slots and cipher parameters; both null for a plain vault.
    pub header: Header,
    /// Base64 ciphertext, or the plain content object.
    pub db: serde_json::Value,
}

// `db` holds every key in clear for a plain vault: never print it.
impl fmt::Debug for VaultFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VaultFile")
            .field("version", &self.version)
            .field("encrypted", &self.is_encrypted())
            .finish_non_exhaustive()
    }
}

/// The vault header.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Header {
    /// Key slots (password, biometric, raw); kept as JSON so that slots this app does not
    /// use survive a re-save.
    pub slots: Option<Vec<serde_json::Value>>,
    /// Nonce and tag of the content encryption.
    pub params: Option<CipherParams>,
}

/// An AES-GCM nonce and tag, hex encoded.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CipherParams {
    /// 96-bit nonce, hex.
    pub nonce: String,
    /// 128-bit tag, hex.
    pub tag: String,
}

/// A password slot: the master key wrapped under a key derived from a password.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PasswordSlot {
    /// Slot type: 1 for password slots.
    #[serde(rename = "type")]
    pub kind: u8,
    /// Random UUID of the slot.
    pub uuid: String,
    /// The wrapped master key, hex (not secret without the password).
    pub key: String,
    /// Nonce and tag of the wrapping.
    pub key_params: CipherParams,
    /// scrypt cost.
    pub n: u64,
    /// scrypt block size.
    pub r: u64,
    /// scrypt parallelism.
    pub p: u64,
    /// scrypt salt, hex.
    pub salt: String,
    /// Aegis marks slots whose key was derived correctly from the password's UTF-8 bytes.
    #[serde(default)]
    pub repaired: bool,
    /// Aegis marks slots meant for backups only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_backup: Option<bool>,
}

/// Slot type of password slots.
pub const PASSWORD_SLOT: u8 = 1;

impl VaultFile {
    /// Parses the outer JSON (nothing is decrypted yet).
    pub fn parse(bytes: &[u8]) -> Result<Self, AegisError> {
        let file: VaultFile =
            serde_json::from_slice(bytes).map_err(|err| AegisError::NotAegis {
                // serde_json's messages quote no input, only positions and expectations.
                detail: err.to_string(),
            })?;
        if file.version > FILE_VERSION {
            return Err(AegisError::UnsupportedVersion(file.version));
        }
        match (&file.header.params, &file.db) {
            (Some(_), serde_json::Value::String(_)) | (None, serde_json::Value::Object(_)) => {
                Ok(file)
            }
            (Some(_), _) => Err(AegisError::NotAegis {
                detail: "the header says encrypted but the content is not Base64 text".into(),
            }),
            (None, _) => Err(AegisError::NotAegis {
                detail: "the header says not encrypted but the content is not an object".into(),
            }),
        }
    }

    /// Whether the content is encrypted (a password is needed).
    pub fn is_encrypted(&self) -> bool {
        self.header.params.is_some()
    }

    /// The password slots, in file order; slots of other types are skipped.
    pub fn password_slots(&self) -> Vec<PasswordSlot> {
        self.header
            .slots
            .iter()
            .flatten()
            .filter(|slot| slot.get("type").and_then(|t| t.as_u64()) == Some(PASSWORD_SLOT.into()))
            .filter_map(|slot| serde_json::from_value(slot.clone()).ok())
            .collect()
    }

    /// The file as pretty JSON, as Aegis writes it.
    pub fn to_json(&self) -> zeroize::Zeroizing<String> {
        zeroize::Zeroizing::new(
            serde_json::to_string_pretty(self).expect("a vault file always serialises"),
        )
    }
}
