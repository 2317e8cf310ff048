//! Accounts: what the vault knows about each TOTP key, apart from the key itself.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::secret::TotpSecret;

/// The HMAC hash of an account (RFC 6238 allows these three).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Algorithm {
    /// HMAC-SHA-1, what nearly every service (emnify included) uses.
    #[default]
    #[serde(rename = "SHA1")]
    Sha1,
    /// HMAC-SHA-256.
    #[serde(rename = "SHA256")]
    Sha256,
    /// HMAC-SHA-512.
    #[serde(rename = "SHA512")]
    Sha512,
}

impl Algorithm {
    /// The name used in `otpauth://` URIs.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
            Algorithm::Sha512 => "SHA512",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = ParamsError;

    /// Accepts `SHA1`, `sha-256`, `HmacSHA512` and the like.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let normal: String = text
            .trim()
            .to_ascii_uppercase()
            .trim_start_matches("HMAC")
            .chars()
            .filter(|c| *c != '-' && *c != '_')
            .collect();
        match normal.as_str() {
            "SHA1" => Ok(Algorithm::Sha1),
            "SHA256" => Ok(Algorithm::Sha256),
            "SHA512" => Ok(Algorithm::Sha512),
            _ => Err(ParamsError::UnknownAlgorithm(text.to_owned())),
        }
    }
}

/// Why code parameters were refused.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParamsError {
    /// Not SHA1, SHA256 or SHA512.
    #[error("unknown algorithm '{0}': use SHA1, SHA256 or SHA512")]
    UnknownAlgorithm(String),
    /// Digits outside 6–8.
    #[error("{0} digits is not supported: codes have 6, 7 or 8 digits")]
    Digits(u32),
    /// Period of zero or absurdly long.
    #[error(
        "a period of {0} seconds is not supported: use 1 to 3600 seconds (most services use 30)"
    )]
    Period(u64),
}

/// How codes are computed for an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OtpParams {
    /// HMAC hash.
    pub algorithm: Algorithm,
    /// Code length, 6–8.
    pub digits: u8,
    /// Seconds per code.
    pub period: u32,
}

impl Default for OtpParams {
    fn default() -> Self {
        Self {
            algorithm: Algorithm::Sha1,
            digits: 6,
            period: 30,
        }
    }
}

impl OtpParams {
    /// Builds checked parameters.
    pub fn new(algorithm: Algorithm, digits: u32, period: u64) -> Result<Self, ParamsError> {
        if !(6..=8).contains(&digits) {
            return Err(ParamsError::Digits(digits));
        }
        if !(1..=3600).contains(&period) {
            return Err(ParamsError::Period(period));
        }
        Ok(Self {
            algorithm,
            digits: digits as u8,
            period: period as u32,
        })
    }
}

/// The stable identity of an account; also the keyring entry's user name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AccountId(Uuid);

impl AccountId {
    /// A new random id.
    pub fn random() -> Self {
        Self(Uuid::new_v4())
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for AccountId {
    type Err = uuid::Error;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(text).map(Self)
    }
}

/// One account as stored in the metadata file. It never holds the secret: that lives in
/// the keyring under [`AccountId`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// Stable id, also the keyring user name.
    pub id: AccountId,
    /// Service name, e.g. "emnify". May be empty.
    #[serde(default)]
    pub issuer: String,
    /// Account name at the service, e.g. an e-mail address.
    pub label: String,
    /// Code parameters.
    #[serde(flatten)]
    pub params: OtpParams,
    /// When it was added, Unix seconds.
    pub created_at: u64,
    /// Optional icon name or data URI chosen by the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    /// Optional colour (CSS colour string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    /// Name of the emnify login profile whose MFA this account answers, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Shown first and offered in the tray.
    #[serde(default)]
    pub pinned: bool,
}

impl Account {
    /// "Issuer: label", or just the label when there is no issuer.
    pub fn display_name(&self) -> String {
        display_name(&self.issuer, &self.label)
    }
}

/// "Issuer: label", or just the label when there is no issuer.
pub fn display_name(issuer: &str, label: &str) -> String {
    if issuer.is_empty() {
        label.to_owned()
    } else {
        format!("{issuer}: {label}")
    }
}

/// An account about to be added: parsed from a URI, a QR code, a migration export or typed
/// in. Holds the secret until the vault puts it in the keyring.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// Service name; may be empty.
    pub issuer: String,
    /// Account name at the service.
    pub label: String,
    /// Code parameters.
    pub params: OtpParams,
    /// The key (redacted in `Debug`).
    pub secret: TotpSecret,
}

impl NewAccount {
    /// "Issuer: label", or just the label when there is no issuer.
    pub fn display_name(&self) -> String {
        display_name(&self.issuer, &self.label)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithm_names_parse_loosely() {
        for (text, want) in [
            ("SHA1", Algorithm::Sha1),
            ("sha1", Algorithm::Sha1),
            ("SHA-256", Algorithm::Sha256),
            ("HmacSHA512", Algorithm::Sha512),
        ] {
            assert_eq!(text.parse::<Algorithm>().unwrap(), want);
        }
        assert!("MD5".parse::<Algorithm>().is_err());
    }

    #[test]
    fn params_are_checked() {
        assert!(OtpParams::new(Algorithm::Sha1, 6, 30).is_ok());
        assert_eq!(
            OtpParams::new(Algorithm::Sha1, 9, 30),
            Err(ParamsError::Digits(9))
        );
        assert_eq!(
            OtpParams::new(Algorithm::Sha1, 6, 0),
            Err(ParamsError::Period(0))
        );
    }

    #[test]
    fn account_json_is_flat_and_has_no_secret_field() {
        let account = Account {
            id: AccountId::random(),
            issuer: "emnify".into(),
            label: "ops@example.com".into(),
            params: OtpParams::default(),
            created_at: 1,
            icon: None,
            color: None,
            profile: None,
            pinned: false,
        };
        let json = serde_json::to_value(&account).unwrap();
        assert_eq!(json["algorithm"], "SHA1");
        assert_eq!(json["digits"], 6);
        assert!(json.get("secret").is_none());
        let back: Account = serde_json::from_value(json).unwrap();
        assert_eq!(back, account);
    }
}
