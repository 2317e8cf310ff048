//! The decrypted content of an Aegis vault (`{version, entries}`) and its mapping to and
//! from this app's accounts.

use std::fmt;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::account::{Algorithm, NewAccount, OtpParams};
use crate::import::ImportSet;
use crate::migration::SkippedEntry;
use crate::secret::TotpSecret;

use super::AegisError;

/// The content version written: 2 is read by every Aegis release since 2020 and by GNOME
/// Authenticator and OTPClient (version 3 only adds groups, which this app has not).
pub const CONTENT_VERSION: u64 = 2;
/// The newest content version read (Aegis 3.x writes 3).
pub const NEWEST_CONTENT_VERSION: u64 = 3;

/// The content JSON of a vault.
#[derive(Default, Serialize, Deserialize)]
pub struct AegisContent {
    /// Content format version.
    pub version: u64,
    /// The accounts.
    #[serde(default)]
    pub entries: Vec<AegisEntry>,
    /// Fields this app does not use (groups, icons packs), kept on a re-save.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// One Aegis entry.
#[derive(Serialize, Deserialize)]
pub struct AegisEntry {
    /// "totp", "hotp", "steam", "yandex", "motp".
    #[serde(rename = "type")]
    pub kind: String,
    /// Random UUID.
    #[serde(default)]
    pub uuid: String,
    /// Account name.
    #[serde(default)]
    pub name: String,
    /// Service name.
    #[serde(default)]
    pub issuer: String,
    /// Icon (Base64 JPEG) or null.
    #[serde(default)]
    pub icon: Option<serde_json::Value>,
    /// Type-specific fields, the key among them.
    pub info: AegisInfo,
    /// Fields this app does not use (note, favorite, groups, …).
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// The OTP fields of an entry.
#[derive(Serialize, Deserialize)]
pub struct AegisInfo {
    /// Base32 key (zeroed on drop, never printed).
    pub secret: Zeroizing<String>,
    /// "SHA1", "SHA256", "SHA512".
    #[serde(default = "default_algo")]
    pub algo: String,
    /// Code length.
    #[serde(default = "default_digits")]
    pub digits: u64,
    /// Seconds per code (TOTP, Steam).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<u64>,
    /// Counter (HOTP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counter: Option<u64>,
    /// Other type-specific fields (a PIN for mOTP, …): dropped from `Debug`.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl fmt::Debug for AegisInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AegisInfo")
            .field("algo", &self.algo)
            .field("digits", &self.digits)
            .field("period", &self.period)
            .field("counter", &self.counter)
            .finish_non_exhaustive()
    }
}

// `other` may hold anything a writer put there (the vault file keeps its secrets in it):
// only its field names are printed.
impl fmt::Debug for AegisContent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AegisContent")
            .field("version", &self.version)
            .field("entries", &self.entries)
            .field("other", &self.other.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl fmt::Debug for AegisEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AegisEntry")
            .field("kind", &self.kind)
            .field("name", &self.name)
            .field("issuer", &self.issuer)
            .field("info", &self.info)
            .field("other", &self.other.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

fn default_algo() -> String {
    "SHA1".into()
}

fn default_digits() -> u64 {
    6
}

impl AegisContent {
    /// Parses decrypted content JSON.
    pub fn parse(json: &[u8]) -> Result<Self, AegisError> {
        let content: AegisContent =
            serde_json::from_slice(json).map_err(|err| AegisError::BadContent {
                // Position and expectation only; serde_json quotes no input values.
                detail: err.to_string(),
            })?;
        if content.version > NEWEST_CONTENT_VERSION {
            return Err(AegisError::UnsupportedVersion(content.version));
        }
        Ok(content)
    }

    /// The content JSON (holds keys: zeroed on drop).
    pub fn to_json(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(serde_json::to_vec(self).expect("content serialises"))
    }
}

/// An account on its way into a backup.
#[derive(Debug)]
pub struct BackupAccount<'a> {
    /// Stable id, written as the entry's UUID.
    pub id: String,
    /// Service name.
    pub issuer: &'a str,
    /// Account name.
    pub label: &'a str,
    /// Code parameters.
    pub params: OtpParams,
    /// The key.
    pub secret: TotpSecret,
}

impl AegisEntry {
    /// A TOTP entry for an account.
    pub fn totp(account: &BackupAccount<'_>) -> Self {
        Self {
            kind: "totp".into(),
            uuid: account.id.clone(),
            name: account.label.to_owned(),
            issuer: account.issuer.to_owned(),
            icon: None,
            info: AegisInfo {
                secret: Zeroizing::new(
                    account
                        .secret
                        .expose_base32()
                        .trim_end_matches('=')
                        .to_owned(),
                ),
                algo: account.params.algorithm.as_str().to_owned(),
                digits: account.params.digits.into(),
                period: Some(account.params.period.into()),
                counter: None,
                other: serde_json::Map::new(),
            },
            other: serde_json::Map::from_iter([
                ("note".to_owned(), serde_json::Value::String(String::new())),
                ("favorite".to_owned(), serde_json::Value::Bool(false)),
            ]),
        }
    }

    fn display_name(&self) -> String {
        crate::account::display_name(self.issuer.trim(), self.name.trim())
    }

    fn to_account(&self) -> Result<NewAccount, String> {
        match self.kind.to_ascii_lowercase().as_str() {
            "totp" => {}
            "hotp" => {
                return Err(
                    "counter-based (HOTP) codes are not supported; this app makes time-based codes only"
                        .into(),
                );
            }
            "steam" => return Err("Steam Guard codes are not supported".into()),
            other => return Err(format!("'{other}' codes are not supported")),
        }
        let algorithm: Algorithm = self.info.algo.parse().map_err(|err| format!("{err}"))?;
        let digits = u32::try_from(self.info.digits).unwrap_or(u32::MAX);
        let params = OtpParams::new(algorithm, digits, self.info.period.unwrap_or(30))
            .map_err(|err| err.to_string())?;
        let secret = TotpSecret::from_base32(&self.info.secret).map_err(|err| err.to_string())?;
        if self.name.trim().is_empty() && self.issuer.trim().is_empty() {
            return Err("the entry has no name".into());
        }
        Ok(NewAccount {
            issuer: self.issuer.trim().to_owned(),
            label: self.name.trim().to_owned(),
            params,
            secret,
        })
    }
}

/// The accounts of a vault's content, with entries this app cannot use listed as skipped
/// (with the reason) instead of failing the whole import.
pub fn entries_to_import(entries: &[AegisEntry]) -> ImportSet {
    let mut set = ImportSet::default();
    for entry in entries {
        match entry.to_account() {
            Ok(account) => set.accounts.push(account),
            Err(reason) => set.skipped.push(SkippedEntry {
                name: entry.display_name(),
                reason,
            }),
        }
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_map_to_accounts_and_unusable_ones_are_skipped() {
        let json = br#"{"version":1,"entries":[
            {"type":"totp","uuid":"u1","name":"Mason","issuer":"Deno","icon":null,
             "info":{"secret":"4SJHB4GSD43FZBAI7C2HLRJGPQ","algo":"SHA256","digits":7,"period":20}},
            {"type":"hotp","name":"James","issuer":"Issuu",
             "info":{"secret":"YOOMIXWS5GN6RTBPUFFWKTW5M4","algo":"SHA1","digits":6,"counter":1}},
            {"type":"totp","name":"Bad","issuer":"X","info":{"secret":"!!","digits":6}}]}"#;
        let content = AegisContent::parse(json).unwrap();
        let set = entries_to_import(&content.entries);
        assert_eq!(set.accounts.len(), 1);
        assert_eq!(set.accounts[0].params.digits, 7);
        assert_eq!(set.accounts[0].params.period, 20);
        assert_eq!(set.skipped.len(), 2);
        assert!(set.skipped[0].reason.contains("HOTP"));
        assert_eq!(set.skipped[1].name, "X: Bad");
    }

    #[test]
    fn debug_never_shows_a_key() {
        let json = br#"{"version":1,"entries":[{"type":"totp","name":"a",
            "info":{"secret":"4SJHB4GSD43FZBAI7C2HLRJGPQ"}}]}"#;
        let content = AegisContent::parse(json).unwrap();
        assert!(!format!("{content:?}").contains("4SJHB4"));
        let hidden = br#"{"version":2,"entries":[],"emnify_authenticator_secrets":{"k":{"label":"","secret":"4SJHB4GSD43FZBAI7C2HLRJGPQ"}}}"#;
        let content = AegisContent::parse(hidden).unwrap();
        let text = format!("{content:?}");
        assert!(
            !text.contains("4SJHB4") && text.contains("emnify_authenticator_secrets"),
            "{text}"
        );
    }

    #[test]
    fn newer_content_versions_are_refused_clearly() {
        assert!(matches!(
            AegisContent::parse(br#"{"version":9,"entries":[]}"#),
            Err(AegisError::UnsupportedVersion(9))
        ));
    }
}
