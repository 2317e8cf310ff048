//! Aegis exports, plain and encrypted (the format of [`crate::aegis`]).

use secrecy::SecretString;

use super::{FileImportError, Importer, json_object_with};
use crate::aegis::{AegisContent, VaultFile, crypto, entries_to_import};
use crate::import::ImportSet;

/// Reads Aegis vault files.
#[derive(Debug)]
pub struct AegisImporter;

impl Importer for AegisImporter {
    fn name(&self) -> &'static str {
        "Aegis"
    }

    fn recognises(&self, bytes: &[u8]) -> bool {
        json_object_with(bytes, &["version", "header", "db"]).is_some()
    }

    fn is_encrypted(&self, bytes: &[u8]) -> bool {
        VaultFile::parse(bytes).is_ok_and(|file| file.is_encrypted())
    }

    fn parse(
        &self,
        bytes: &[u8],
        password: Option<&SecretString>,
    ) -> Result<ImportSet, FileImportError> {
        let file = VaultFile::parse(bytes)?;
        let json = crypto::open(&file, password)?;
        let content = AegisContent::parse(&json)?;
        Ok(entries_to_import(&content.entries))
    }
}
