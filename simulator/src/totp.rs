//! TOTP (RFC 6238 over RFC 4226 HOTP): HMAC-SHA-1, 6 digits, 30-second steps.
//!
//! Written here on purpose, independently of the client's implementation, so that the
//! simulator checks the client instead of agreeing with it by construction.

use data_encoding::BASE32_NOPAD;
use hmac::{Hmac, Mac};
use rand::RngCore as _;
use sha1::Sha1;

/// Seconds per TOTP step.
pub const STEP_SECS: u64 = 30;
/// Digits per code.
pub const DIGITS: u32 = 6;

/// A Base32 secret that could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid Base32 TOTP secret")]
pub struct InvalidSecret;

/// Decodes a Base32 secret; case, spaces and `=` padding are forgiven, as authenticator
/// apps do.
pub fn decode_secret(b32: &str) -> Result<Vec<u8>, InvalidSecret> {
    let cleaned: String = b32
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '=')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let bytes = BASE32_NOPAD
        .decode(cleaned.as_bytes())
        .map_err(|_| InvalidSecret)?;
    if bytes.is_empty() {
        return Err(InvalidSecret);
    }
    Ok(bytes)
}

/// A new random 160-bit secret (the RFC 4226 recommended length), Base32 without padding.
pub fn generate_secret() -> String {
    let mut bytes = [0u8; 20];
    rand::rng().fill_bytes(&mut bytes);
    BASE32_NOPAD.encode(&bytes)
}

/// RFC 4226 HOTP value for `counter`.
pub fn hotp(secret: &[u8], counter: u64) -> u32 {
    // HMAC accepts keys of any length.
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let binary = (u32::from(digest[offset] & 0x7f) << 24)
        | (u32::from(digest[offset + 1]) << 16)
        | (u32::from(digest[offset + 2]) << 8)
        | u32::from(digest[offset + 3]);
    binary % 10u32.pow(DIGITS)
}

/// The TOTP step that contains `unix_secs`.
pub fn step_of(unix_secs: u64) -> u64 {
    unix_secs / STEP_SECS
}

/// The 6-digit code for `unix_secs`, zero-padded (the server only ever compares codes).
#[cfg(test)]
pub fn code_at(secret: &[u8], unix_secs: u64) -> String {
    format!("{:06}", hotp(secret, step_of(unix_secs)))
}

/// The step whose code equals `code`, searching `window` steps either side of `unix_secs`
/// (current step first). `None` if the code is not 6 digits or matches no step.
pub fn matching_step(secret: &[u8], code: &str, unix_secs: u64, window: u64) -> Option<u64> {
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let want: u32 = code.parse().ok()?;
    let now = step_of(unix_secs);
    let mut candidates = vec![now];
    for d in 1..=window {
        candidates.push(now.saturating_add(d));
        if let Some(earlier) = now.checked_sub(d) {
            candidates.push(earlier);
        }
    }
    candidates.into_iter().find(|&s| hotp(secret, s) == want)
}

/// The `otpauth://` URI authenticator apps read from a QR code.
pub fn otpauth_uri(secret_b32: &str, issuer: &str, account: &str) -> String {
    let issuer_enc = percent_encode(issuer);
    format!(
        "otpauth://totp/{issuer_enc}:{}?secret={secret_b32}&issuer={issuer_enc}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
        percent_encode(account)
    )
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 column (8-digit values; the last 6 digits are ours).
    #[test]
    fn rfc6238_vectors() {
        let secret = b"12345678901234567890";
        for (t, eight) in [
            (59u64, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(code_at(secret, t), eight[2..], "t={t}");
        }
    }

    #[test]
    fn window_and_secret_decoding() {
        let secret = decode_secret("gezd gnbv gy3t qojq gezd gnbv gy3t qojq").unwrap();
        assert_eq!(secret, b"12345678901234567890");
        let t = 1_234_567_890;
        let prev = code_at(&secret, t - 30);
        let next = code_at(&secret, t + 30);
        assert_eq!(matching_step(&secret, &prev, t, 1), Some(step_of(t) - 1));
        assert_eq!(matching_step(&secret, &next, t, 1), Some(step_of(t) + 1));
        assert_eq!(
            matching_step(&secret, &code_at(&secret, t - 90), t, 1),
            None
        );
        assert_eq!(matching_step(&secret, "12345", t, 1), None);
        assert!(decode_secret("not base32!").is_err());
        assert_eq!(decode_secret(&generate_secret()).unwrap().len(), 20);
    }

    #[test]
    fn otpauth_uri_is_encoded() {
        assert_eq!(
            otpauth_uri("ABC", "emnify", "demo@example.com"),
            "otpauth://totp/emnify:demo%40example.com?secret=ABC&issuer=emnify&algorithm=SHA1&digits=6&period=30"
        );
    }
}
