//! Files exported by other authenticators: one importer per format behind [`Importer`],
//! chosen by looking at the file's content (never its name). Pure: bytes and an optional
//! password in, an [`ImportSet`] out.

mod aegis_vault;
mod twofas;
mod uri_list;

use secrecy::SecretString;

pub use aegis_vault::AegisImporter;
pub use twofas::{TwoFasError, TwoFasImporter};
pub use uri_list::UriListImporter;

use crate::aegis::AegisError;
use crate::import::ImportSet;

/// The largest file read: real exports are a few hundred KiB even with icons.
pub const MAX_FILE_BYTES: usize = 16 << 20;

/// Why an export file could not be read. Messages never contain a key or a password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileImportError {
    /// The file matches no known format.
    #[error(
        "this file is not a backup this app can read: use an Aegis export (.json), a 2FAS backup (.2fas), a text file of otpauth:// links, or a QR image"
    )]
    UnknownFormat,
    /// The file is larger than any real export.
    #[error(
        "this file is {0} bytes, too large for an authenticator export: choose the export file itself"
    )]
    TooLarge(usize),
    /// An Aegis vault that could not be read.
    #[error(transparent)]
    Aegis(#[from] AegisError),
    /// A 2FAS backup that could not be read.
    #[error(transparent)]
    TwoFas(#[from] TwoFasError),
}

impl FileImportError {
    /// Whether asking for a (different) password could help.
    pub fn needs_password(&self) -> bool {
        matches!(
            self,
            FileImportError::Aegis(AegisError::PasswordNeeded | AegisError::WrongPassword)
                | FileImportError::TwoFas(TwoFasError::PasswordNeeded | TwoFasError::WrongPassword)
        )
    }
}

/// One export format.
pub trait Importer: Sync {
    /// The format's name for reports ("Aegis", "2FAS", "otpauth:// list").
    fn name(&self) -> &'static str;
    /// Whether `bytes` look like this format (cheap; no password needed).
    fn recognises(&self, bytes: &[u8]) -> bool;
    /// Whether reading `bytes` needs a password.
    fn is_encrypted(&self, bytes: &[u8]) -> bool;
    /// The accounts in the file, and the entries skipped with their reasons.
    fn parse(
        &self,
        bytes: &[u8],
        password: Option<&SecretString>,
    ) -> Result<ImportSet, FileImportError>;
}

/// Every importer, most specific first.
pub const IMPORTERS: &[&dyn Importer] = &[&AegisImporter, &TwoFasImporter, &UriListImporter];

/// The importer for `bytes`, if any recognises them.
pub fn detect(bytes: &[u8]) -> Option<&'static dyn Importer> {
    IMPORTERS
        .iter()
        .copied()
        .find(|importer| importer.recognises(bytes))
}

/// What an export file held.
#[derive(Debug)]
pub struct FileImport {
    /// The format's name.
    pub format: &'static str,
    /// Accounts found and entries skipped.
    pub set: ImportSet,
}

/// Reads an export file of any known format.
pub fn import_file(
    bytes: &[u8],
    password: Option<&SecretString>,
) -> Result<FileImport, FileImportError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(FileImportError::TooLarge(bytes.len()));
    }
    let importer = detect(bytes).ok_or(FileImportError::UnknownFormat)?;
    Ok(FileImport {
        format: importer.name(),
        set: importer.parse(bytes, password)?,
    })
}

/// Whether `bytes` are an export file that needs a password (so a UI can ask before
/// trying).
pub fn needs_password(bytes: &[u8]) -> bool {
    detect(bytes).is_some_and(|importer| importer.is_encrypted(bytes))
}

/// Parses JSON only when it is an object with all `keys` (format detection).
fn json_object_with(
    bytes: &[u8],
    keys: &[&str],
) -> Option<serde_json::Map<String, serde_json::Value>> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace())?;
    if *first != b'{' {
        return None;
    }
    match serde_json::from_slice::<serde_json::Value>(bytes).ok()? {
        serde_json::Value::Object(map) if keys.iter().all(|key| map.contains_key(*key)) => {
            Some(map)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_told_apart_by_content() {
        assert_eq!(
            detect(br#"{"version":1,"header":{"slots":null,"params":null},"db":{"version":1,"entries":[]}}"#)
                .map(|i| i.name()),
            Some("Aegis")
        );
        assert_eq!(
            detect(br#"{"services":[],"schemaVersion":4}"#).map(|i| i.name()),
            Some("2FAS")
        );
        assert_eq!(
            detect(b"\n# mine\notpauth://totp/a?secret=JBSWY3DPEHPK3PXP\n").map(|i| i.name()),
            Some("otpauth:// list")
        );
        assert!(detect(b"\x89PNG\r\n").is_none());
        assert!(detect(br#"{"hello":1}"#).is_none());
        assert!(matches!(
            import_file(b"hello", None),
            Err(FileImportError::UnknownFormat)
        ));
    }
}
