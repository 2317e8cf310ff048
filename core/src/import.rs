//! Turning what a user brings (a pasted link, an image, a typed key) into accounts to add.
//! Pure: bytes and text in, candidates out; nothing is stored here.

use crate::account::{NewAccount, OtpParams, ParamsError};
use crate::migration::{BatchPosition, MigrationError, SkippedEntry, parse_migration_uri};
use crate::otpauth::{UriError, parse_otpauth_uri};
use crate::qr_decode::{QrDecodeError, decode_qr_texts};
use crate::secret::{SecretError, TotpSecret};

/// Why an import found nothing to add. Messages never contain a key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// A malformed `otpauth://` link.
    #[error(transparent)]
    Uri(#[from] UriError),
    /// A malformed Google Authenticator export.
    #[error(transparent)]
    Migration(#[from] MigrationError),
    /// An image that could not be read, or had no QR code.
    #[error(transparent)]
    Image(#[from] QrDecodeError),
    /// A typed key that is not valid.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// Digits, period or algorithm out of range.
    #[error(transparent)]
    Params(#[from] ParamsError),
    /// Text (or a QR code) that is something else, e.g. a web link.
    #[error(
        "{what} is not an authenticator key: expected an otpauth:// or otpauth-migration:// link (the QR code a service shows when you set up two-factor authentication)"
    )]
    NotAKey {
        /// A short, secret-free description ("a web link to example.com").
        what: String,
    },
    /// A typed key without any name.
    #[error("give the account a name (--label)")]
    MissingLabel,
}

/// Everything found in one or more inputs, ready for [`crate::Vault::add_all`].
#[derive(Debug, Default)]
pub struct ImportSet {
    /// Accounts to add.
    pub accounts: Vec<NewAccount>,
    /// Entries that were recognised but cannot be added (HOTP, MD5, …), with the reason.
    pub skipped: Vec<SkippedEntry>,
    /// Google Authenticator batch positions seen, to tell the user about missing codes.
    pub batches: Vec<BatchPosition>,
}

impl ImportSet {
    /// Adds everything of `other` to this set.
    pub fn merge(&mut self, other: ImportSet) {
        self.accounts.extend(other.accounts);
        self.skipped.extend(other.skipped);
        self.batches.extend(other.batches);
    }

    /// Google Authenticator exports split large vaults over several QR codes; this lists
    /// the 1-based numbers of codes of a batch that were not among the inputs.
    pub fn missing_batch_codes(&self) -> Vec<u32> {
        let mut missing = Vec::new();
        for batch in &self.batches {
            if batch.size <= 1 {
                continue;
            }
            for index in 0..batch.size {
                let seen = self
                    .batches
                    .iter()
                    .any(|b| b.id == batch.id && b.index == index);
                if !seen && !missing.contains(&(index + 1)) {
                    missing.push(index + 1);
                }
            }
        }
        missing.sort_unstable();
        missing
    }
}

/// Describes text that is not a key without revealing it (a link's host at most).
fn describe(text: &str) -> String {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return "empty text".into();
    }
    match url::Url::parse(trimmed) {
        Ok(link) if matches!(link.scheme(), "http" | "https") => match link.host_str() {
            Some(host) => format!("a web link to {host}"),
            None => "a web link".into(),
        },
        Ok(link) => format!("a '{}:' link", link.scheme()),
        Err(_) => "this text".into(),
    }
}

fn scheme_of(text: &str) -> Option<String> {
    let (scheme, _) = text.split_once(':')?;
    Some(scheme.to_ascii_lowercase())
}

/// Parses a pasted `otpauth://` or `otpauth-migration://` link.
pub fn from_text(text: &str) -> Result<ImportSet, ImportError> {
    let text = text.trim();
    match scheme_of(text).as_deref() {
        Some("otpauth") => Ok(ImportSet {
            accounts: vec![parse_otpauth_uri(text)?],
            ..ImportSet::default()
        }),
        Some("otpauth-migration") => {
            let batch = parse_migration_uri(text)?;
            Ok(ImportSet {
                accounts: batch.accounts,
                skipped: batch.skipped,
                batches: vec![batch.batch],
            })
        }
        _ => Err(ImportError::NotAKey {
            what: describe(text),
        }),
    }
}

/// Parses several pasted links (one per input) into one set; the first bad one fails the
/// whole import so that nothing is added half.
pub fn from_texts<'a>(texts: impl IntoIterator<Item = &'a str>) -> Result<ImportSet, ImportError> {
    let mut set = ImportSet::default();
    for text in texts {
        set.merge(from_text(text)?);
    }
    Ok(set)
}

/// Finds every QR code in an image (PNG, JPEG, WebP, BMP, GIF; a screenshot is fine) and
/// parses the keys in it. QR codes that are not keys are skipped when at least one key is
/// found, and are the error otherwise.
pub fn from_image(bytes: &[u8]) -> Result<ImportSet, ImportError> {
    from_qr_texts(decode_qr_texts(bytes)?)
}

/// Like [`from_image`], for raw RGBA pixels (an image from the clipboard).
pub fn from_rgba(width: u32, height: u32, rgba: Vec<u8>) -> Result<ImportSet, ImportError> {
    from_qr_texts(crate::qr_decode::decode_qr_texts_rgba(width, height, rgba)?)
}

fn from_qr_texts(texts: Vec<String>) -> Result<ImportSet, ImportError> {
    let mut set = ImportSet::default();
    let mut first_error = None;
    for text in &texts {
        match from_text(text) {
            Ok(found) => set.merge(found),
            Err(ImportError::NotAKey { what }) => set.skipped.push(SkippedEntry {
                name: "QR code".into(),
                reason: format!("{what} is not an authenticator key"),
            }),
            Err(err) => {
                first_error.get_or_insert(err);
            }
        }
    }
    if let Some(err) = first_error {
        return Err(err);
    }
    if set.accounts.is_empty() && !texts.is_empty() && set.skipped.len() == texts.len() {
        return Err(ImportError::NotAKey {
            what: if texts.len() == 1 {
                format!("the QR code in the image ({})", describe(&texts[0]))
            } else {
                "none of the QR codes in the image".into()
            },
        });
    }
    Ok(set)
}

/// A key typed by hand (Base32, any case, spaces allowed) with its name and parameters.
pub fn from_secret(
    key: &str,
    issuer: &str,
    label: &str,
    params: OtpParams,
) -> Result<NewAccount, ImportError> {
    if label.trim().is_empty() {
        return Err(ImportError::MissingLabel);
    }
    Ok(NewAccount {
        issuer: issuer.trim().to_owned(),
        label: label.trim().to_owned(),
        params,
        secret: TotpSecret::from_base32(key)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_links_are_named_by_host_only() {
        let err = from_text("https://example.com/setup?token=abc").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("a web link to example.com"), "{text}");
        assert!(!text.contains("token=abc"));
    }

    #[test]
    fn otpauth_links_in_any_case_are_recognised() {
        let set =
            from_text("  OTPAUTH://TOTP/ACME:jo?secret=JBSWY3DPEHPK3PXP&issuer=ACME ").unwrap();
        assert_eq!(set.accounts.len(), 1);
        assert_eq!(set.accounts[0].issuer, "ACME");
    }

    #[test]
    fn typed_keys_need_a_label_and_valid_base32() {
        assert!(matches!(
            from_secret("JBSWY3DPEHPK3PXP", "", " ", OtpParams::default()),
            Err(ImportError::MissingLabel)
        ));
        assert!(matches!(
            from_secret("JBSWY3DPEHPK3PX!", "", "me", OtpParams::default()),
            Err(ImportError::Secret(_))
        ));
        let ok = from_secret(
            "jbsw y3dp ehpk 3pxp",
            " emnify ",
            "me",
            OtpParams::default(),
        )
        .unwrap();
        assert_eq!(ok.issuer, "emnify");
    }

    #[test]
    fn missing_batch_codes_are_listed() {
        let set = ImportSet {
            batches: vec![
                BatchPosition {
                    index: 0,
                    size: 3,
                    id: 7,
                },
                BatchPosition {
                    index: 2,
                    size: 3,
                    id: 7,
                },
            ],
            ..ImportSet::default()
        };
        assert_eq!(set.missing_batch_codes(), vec![2]);
    }
}
