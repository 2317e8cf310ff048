//! 2FAS backups (`.2fas`), plain and encrypted. Encrypted backups keep the service list in
//! `servicesEncrypted` as `Base64(ciphertext+tag):Base64(salt):Base64(iv)`, AES-256-GCM
//! under a key derived with PBKDF2-HMAC-SHA256 (10,000 rounds).

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::{FileImportError, Importer, json_object_with};
use crate::account::{Algorithm, NewAccount, OtpParams};
use crate::import::ImportSet;
use crate::migration::SkippedEntry;
use crate::secret::TotpSecret;

const PBKDF2_ROUNDS: u32 = 10_000;

/// Why a 2FAS backup could not be read. Never carries a key or the password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TwoFasError {
    /// Encrypted, and no password was given.
    #[error("this 2FAS backup is encrypted: enter the password it was exported with")]
    PasswordNeeded,
    /// The password did not decrypt the services.
    #[error("wrong password for this 2FAS backup: check it and try again (nothing was imported)")]
    WrongPassword,
    /// Not the shape 2FAS writes.
    #[error("this 2FAS backup is damaged or of an unknown kind ({0}): export it again from 2FAS")]
    Malformed(String),
}

/// Reads 2FAS backups.
#[derive(Debug)]
pub struct TwoFasImporter;

#[derive(Deserialize)]
struct Backup {
    #[serde(default)]
    services: Vec<Service>,
    #[serde(default, rename = "servicesEncrypted")]
    services_encrypted: Option<String>,
}

#[derive(Deserialize)]
struct Service {
    #[serde(default)]
    name: String,
    secret: Zeroizing<String>,
    #[serde(default)]
    otp: Otp,
}

#[derive(Deserialize, Default)]
struct Otp {
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    issuer: Option<String>,
    #[serde(default)]
    digits: Option<u32>,
    #[serde(default)]
    period: Option<u64>,
    #[serde(default)]
    algorithm: Option<String>,
    #[serde(default, rename = "tokenType")]
    token_type: Option<String>,
}

impl Service {
    fn issuer(&self) -> String {
        self.otp
            .issuer
            .as_deref()
            .filter(|issuer| !issuer.trim().is_empty())
            .unwrap_or(&self.name)
            .trim()
            .to_owned()
    }

    fn label(&self, issuer: &str) -> String {
        let label = self
            .otp
            .account
            .as_deref()
            .or(self.otp.label.as_deref())
            .unwrap_or_default()
            .trim();
        // Older backups write "Issuer:account" as the label.
        label
            .strip_prefix(issuer)
            .and_then(|rest| rest.strip_prefix(':'))
            .unwrap_or(label)
            .trim()
            .to_owned()
    }

    fn to_account(&self) -> Result<NewAccount, String> {
        match self
            .otp
            .token_type
            .as_deref()
            .unwrap_or("TOTP")
            .to_ascii_uppercase()
            .as_str()
        {
            "TOTP" => {}
            "HOTP" => {
                return Err(
                    "counter-based (HOTP) codes are not supported; this app makes time-based codes only"
                        .into(),
                );
            }
            "STEAM" => return Err("Steam Guard codes are not supported".into()),
            other => return Err(format!("'{other}' codes are not supported")),
        }
        let algorithm: Algorithm = self
            .otp
            .algorithm
            .as_deref()
            .unwrap_or("SHA1")
            .parse()
            .map_err(|err| format!("{err}"))?;
        let params = OtpParams::new(
            algorithm,
            self.otp.digits.unwrap_or(6),
            self.otp.period.unwrap_or(30),
        )
        .map_err(|err| err.to_string())?;
        let secret = TotpSecret::from_base32(&self.secret).map_err(|err| err.to_string())?;
        let issuer = self.issuer();
        let mut label = self.label(&issuer);
        if label.is_empty() {
            label.clone_from(&issuer);
        }
        Ok(NewAccount {
            issuer,
            label,
            params,
            secret,
        })
    }
}

fn decrypt_services(
    sealed: &str,
    password: &SecretString,
) -> Result<Zeroizing<Vec<u8>>, TwoFasError> {
    let parts: Vec<&str> = sealed.split(':').collect();
    let [ciphertext, salt, iv] = parts.as_slice() else {
        return Err(TwoFasError::Malformed(
            "the encrypted part does not have three pieces".into(),
        ));
    };
    let decode = |text: &str, what: &str| {
        BASE64
            .decode(text.trim())
            .map_err(|_| TwoFasError::Malformed(format!("the {what} is not Base64")))
    };
    let ciphertext = decode(ciphertext, "ciphertext")?;
    let salt = decode(salt, "salt")?;
    let iv = decode(iv, "nonce")?;
    if iv.len() != 12 {
        return Err(TwoFasError::Malformed("the nonce is not 96 bits".into()));
    }
    let mut key = Zeroizing::new([0u8; 32]);
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(
        password.expose_secret().as_bytes(),
        &salt,
        PBKDF2_ROUNDS,
        key.as_mut_slice(),
    );
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key.as_slice()));
    cipher
        .decrypt(Nonce::from_slice(&iv), ciphertext.as_slice())
        .map(Zeroizing::new)
        .map_err(|_| TwoFasError::WrongPassword)
}

impl Importer for TwoFasImporter {
    fn name(&self) -> &'static str {
        "2FAS"
    }

    fn recognises(&self, bytes: &[u8]) -> bool {
        json_object_with(bytes, &["services", "schemaVersion"]).is_some()
    }

    fn is_encrypted(&self, bytes: &[u8]) -> bool {
        json_object_with(bytes, &["servicesEncrypted"])
            .is_some_and(|map| map["servicesEncrypted"].is_string())
    }

    fn parse(
        &self,
        bytes: &[u8],
        password: Option<&SecretString>,
    ) -> Result<ImportSet, FileImportError> {
        let backup: Backup =
            serde_json::from_slice(bytes).map_err(|err| TwoFasError::Malformed(err.to_string()))?;
        let services = match &backup.services_encrypted {
            Some(sealed) => {
                let password = password.ok_or(TwoFasError::PasswordNeeded)?;
                let json = decrypt_services(sealed, password)?;
                serde_json::from_slice::<Vec<Service>>(&json)
                    .map_err(|err| TwoFasError::Malformed(err.to_string()))?
            }
            None => backup.services,
        };
        let mut set = ImportSet::default();
        for service in &services {
            match service.to_account() {
                Ok(account) => set.accounts.push(account),
                Err(reason) => {
                    let issuer = service.issuer();
                    set.skipped.push(SkippedEntry {
                        name: crate::account::display_name(&issuer, &service.label(&issuer)),
                        reason,
                    });
                }
            }
        }
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_labels_lose_their_issuer_prefix_and_missing_types_mean_totp() {
        let json = br#"{"schemaVersion":2,"services":[{"name":"Deno","secret":"4SJHB4GSD43FZBAI7C2HLRJGPQ",
            "otp":{"label":"Deno:Mason","account":"Mason","issuer":"Deno","digits":6,"period":30,"algorithm":"SHA1"}},
            {"name":"Only","secret":"4SJHB4GSD43FZBAI7C2HLRJGPQ","otp":{"label":"Only:x"}}]}"#;
        let set = TwoFasImporter.parse(json, None).unwrap();
        assert_eq!(set.accounts.len(), 2);
        assert_eq!(set.accounts[0].label, "Mason");
        assert_eq!(set.accounts[1].issuer, "Only");
        assert_eq!(set.accounts[1].label, "x");
    }

    #[test]
    fn a_malformed_encrypted_part_is_reported_not_panicked() {
        for sealed in ["", "a:b", "!!:!!:!!", "AAAA:AAAA:AAAA"] {
            let json =
                format!(r#"{{"schemaVersion":4,"services":[],"servicesEncrypted":"{sealed}"}}"#);
            let pw = SecretString::from("x".to_owned());
            assert!(TwoFasImporter.parse(json.as_bytes(), Some(&pw)).is_err());
        }
    }
}
