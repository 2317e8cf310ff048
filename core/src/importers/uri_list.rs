//! Plain text with one `otpauth://` link per line, as many apps export (andOTP, Bitwarden,
//! Aegis's "plain text" export, `zbarimg` output).

use secrecy::SecretString;

use super::{FileImportError, Importer};
use crate::import::{ImportSet, from_text};
use crate::migration::SkippedEntry;

/// Reads lists of `otpauth://` (and `otpauth-migration://`) links.
#[derive(Debug)]
pub struct UriListImporter;

fn links(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
}

impl Importer for UriListImporter {
    fn name(&self) -> &'static str {
        "otpauth:// list"
    }

    fn recognises(&self, bytes: &[u8]) -> bool {
        let Ok(text) = std::str::from_utf8(bytes) else {
            return false;
        };
        let mut lines = links(text).peekable();
        lines.peek().is_some()
            && lines.all(|(_, line)| {
                let lower = line.get(..8).unwrap_or(line).to_ascii_lowercase();
                lower.starts_with("otpauth")
            })
    }

    fn is_encrypted(&self, _bytes: &[u8]) -> bool {
        false
    }

    fn parse(
        &self,
        bytes: &[u8],
        _password: Option<&SecretString>,
    ) -> Result<ImportSet, FileImportError> {
        let text = String::from_utf8_lossy(bytes);
        let mut set = ImportSet::default();
        for (number, line) in links(&text) {
            match from_text(line) {
                Ok(found) => set.merge(found),
                // One bad line must not hide the good ones: it is reported by number
                // (never its content, which may hold a key).
                Err(err) => set.skipped.push(SkippedEntry {
                    name: format!("line {number}"),
                    reason: err.to_string(),
                }),
            }
        }
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_lines_are_skipped_by_number_and_good_ones_kept() {
        let text = b"otpauth://totp/A:a?secret=JBSWY3DPEHPK3PXP&issuer=A\n\n\
            otpauth://hotp/B:b?secret=JBSWY3DPEHPK3PXP&counter=1\n\
            otpauth://totp/C:c?secret=NOT*BASE32\n";
        let set = UriListImporter.parse(text, None).unwrap();
        assert_eq!(set.accounts.len(), 1);
        assert_eq!(set.skipped.len(), 2);
        assert_eq!(set.skipped[0].name, "line 3");
        assert_eq!(set.skipped[1].name, "line 4");
        assert!(!set.skipped[1].reason.contains("NOT*BASE32"));
    }
}
