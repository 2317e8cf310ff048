//! TOTP key material: parsed from Base32, held in zeroed memory, never printed.

use std::fmt;

use data_encoding::{BitOrder, Encoding, Specification};
use zeroize::Zeroizing;

/// The shortest key we accept: 80 bits. RFC 4226 asks for 128, but real services
/// (and the Key Uri Format's own example) issue 80-bit keys.
pub const MIN_SECRET_BYTES: usize = 10;
/// A generous upper bound; anything longer is a paste accident, not a key.
pub const MAX_SECRET_BYTES: usize = 256;

/// Why a typed or imported key was refused. Messages never contain the key.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecretError {
    /// The text was empty after removing spaces, dashes and padding.
    #[error("the secret key is empty: paste the Base32 key the service showed you")]
    Empty,
    /// A character outside the Base32 alphabet (A–Z, 2–7).
    #[error(
        "the secret key is not valid Base32: character {position} ('{character}') is not one of A–Z or 2–7; check for typos such as 0/O or 1/I"
    )]
    InvalidCharacter {
        /// 1-based position in the text as typed.
        position: usize,
        /// The offending character (a single non-Base32 character reveals nothing of the key).
        character: char,
    },
    /// The Base32 text has a length no encoder produces.
    #[error(
        "the secret key is not valid Base32: its length ({length} characters) is impossible; a character may be missing"
    )]
    InvalidLength {
        /// Characters left after cleaning.
        length: usize,
    },
    /// Fewer than 80 bits.
    #[error(
        "the secret key is too short ({bits} bits); keys must have at least 80 bits (16 Base32 characters)"
    )]
    TooShort {
        /// Bits in the decoded key.
        bits: usize,
    },
    /// Longer than any real key.
    #[error("the secret key is too long ({bytes} bytes); at most {MAX_SECRET_BYTES} are accepted")]
    TooLong {
        /// Bytes in the decoded key.
        bytes: usize,
    },
}

/// Base32 (RFC 4648) without padding and without the trailing-bit check: keys typed by
/// people or produced by some services have non-zero unused bits, and they still work.
fn lenient_base32() -> Encoding {
    let mut spec = Specification::new();
    spec.symbols.push_str("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");
    spec.bit_order = BitOrder::MostSignificantFirst;
    spec.check_trailing_bits = false;
    spec.encoding()
        .expect("static Base32 specification is valid")
}

/// The raw bytes of a TOTP key. Zeroed on drop; `Debug` prints nothing of it; there is no
/// `Display`, so it can only leave through the explicit `expose_*` methods.
#[derive(Clone)]
pub struct TotpSecret(Zeroizing<Vec<u8>>);

impl TotpSecret {
    /// Wraps raw key bytes, checking the length limits.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, SecretError> {
        let bytes = Zeroizing::new(bytes);
        if bytes.is_empty() {
            return Err(SecretError::Empty);
        }
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(SecretError::TooShort {
                bits: bytes.len() * 8,
            });
        }
        if bytes.len() > MAX_SECRET_BYTES {
            return Err(SecretError::TooLong { bytes: bytes.len() });
        }
        Ok(Self(bytes))
    }

    /// Parses Base32 as people and services write it: any case, spaces, dashes and
    /// `=` padding allowed.
    pub fn from_base32(text: &str) -> Result<Self, SecretError> {
        let mut cleaned = Zeroizing::new(String::with_capacity(text.len()));
        for (index, character) in text.chars().enumerate() {
            match character {
                ' ' | '\t' | '\n' | '\r' | '-' | '=' => {}
                'a'..='z' | 'A'..='Z' | '2'..='7' => cleaned.push(character.to_ascii_uppercase()),
                _ => {
                    return Err(SecretError::InvalidCharacter {
                        position: index + 1,
                        character,
                    });
                }
            }
        }
        if cleaned.is_empty() {
            return Err(SecretError::Empty);
        }
        let decoded = lenient_base32().decode(cleaned.as_bytes()).map_err(|_| {
            SecretError::InvalidLength {
                length: cleaned.len(),
            }
        })?;
        Self::from_bytes(decoded)
    }

    /// The key bytes, for computing codes or storing in the keyring.
    pub fn expose_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The key as canonical upper-case Base32 without padding (the form the keyring and
    /// `otpauth://` URIs hold). The returned string is zeroed on drop.
    pub fn expose_base32(&self) -> Zeroizing<String> {
        Zeroizing::new(lenient_base32().encode(&self.0))
    }

    /// Constant-time comparison, used to find a key that is already in the vault.
    pub fn same_key_as(&self, other: &TotpSecret) -> bool {
        let (a, b) = (self.expose_bytes(), other.expose_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_lower_case_spaces_dashes_and_padding() {
        let canonical = TotpSecret::from_base32("JBSWY3DPEHPK3PXP").unwrap();
        for variant in [
            "jbswy3dpehpk3pxp",
            "JBSW Y3DP EHPK 3PXP",
            "jbsw-y3dp-ehpk-3pxp",
            "JBSWY3DPEHPK3PXP====",
        ] {
            let parsed = TotpSecret::from_base32(variant).unwrap();
            assert!(parsed.same_key_as(&canonical), "{variant}");
        }
        assert_eq!(canonical.expose_bytes(), b"Hello!\xde\xad\xbe\xef");
    }

    #[test]
    fn eighty_bit_keys_are_accepted_and_shorter_ones_refused() {
        assert_eq!(
            TotpSecret::from_base32("JBSWY3DPEHPK3PXP")
                .unwrap()
                .expose_bytes()
                .len(),
            10
        );
        assert_eq!(
            TotpSecret::from_base32("JBSWY3DPEHPK").unwrap_err(),
            SecretError::TooShort { bits: 56 }
        );
    }

    #[test]
    fn non_canonical_trailing_bits_are_tolerated() {
        // 26 characters carry 130 bits for a 128-bit key; people type any last letter.
        let a = TotpSecret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY").unwrap();
        let b = TotpSecret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVG7").unwrap();
        assert_eq!(a.expose_bytes().len(), 16);
        assert_eq!(b.expose_bytes().len(), 16);
    }

    #[test]
    fn errors_name_the_problem_without_the_key() {
        let err = TotpSecret::from_base32("JBSWY3DPEHPK3PX1").unwrap_err();
        assert_eq!(
            err,
            SecretError::InvalidCharacter {
                position: 16,
                character: '1'
            }
        );
        assert!(err.to_string().contains("not valid Base32"));
        assert_eq!(
            TotpSecret::from_base32("  - ").unwrap_err(),
            SecretError::Empty
        );
        assert!(matches!(
            TotpSecret::from_base32("JBSWY3DPEHPK3PXPA").unwrap_err(),
            SecretError::InvalidLength { length: 17 }
        ));
    }

    #[test]
    fn debug_never_shows_the_key() {
        let secret = TotpSecret::from_base32("JBSWY3DPEHPK3PXP").unwrap();
        let shown = format!("{secret:?}");
        assert!(!shown.contains("JBSW"));
        assert!(!shown.contains("72"));
        assert_eq!(secret.expose_base32().as_str(), "JBSWY3DPEHPK3PXP");
    }
}
