//! RFC 6238 codes, computed for a time passed in so that nothing here reads a clock.

use serde::Serialize;
use totp_rs::Builder;

use crate::account::{Algorithm, OtpParams};
use crate::secret::TotpSecret;

/// The code of one account at one moment, with what a countdown needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CodeInfo {
    /// The current code, zero-padded to the account's digits.
    pub code: String,
    /// Seconds until `code` stops being current (1..=period).
    pub remaining: u32,
    /// The code of the next period.
    pub next: String,
    /// Seconds per code.
    pub period: u32,
    /// Unix time at which `code` became current.
    pub valid_from: u64,
}

fn totp_for(secret: &TotpSecret, params: &OtpParams) -> totp_rs::Totp {
    let algorithm = match params.algorithm {
        Algorithm::Sha1 => totp_rs::Algorithm::SHA1,
        Algorithm::Sha256 => totp_rs::Algorithm::SHA256,
        Algorithm::Sha512 => totp_rs::Algorithm::SHA512,
    };
    // `build_noncompliant`: totp-rs refuses keys under 128 bits, but 80-bit keys are
    // common in the wild; `TotpSecret` and `OtpParams` already enforce our own limits
    // (>= 80 bits, 6–8 digits, period >= 1), which keep the non-checked path safe.
    Builder::new()
        .with_algorithm(algorithm)
        .with_digits(params.digits)
        .with_step_duration(u64::from(params.period))
        .with_secret(secret.expose_bytes().to_vec())
        .build_noncompliant()
}

/// The code for `unix_time` (seconds).
pub fn code_at(secret: &TotpSecret, params: &OtpParams, unix_time: u64) -> String {
    totp_for(secret, params).generate(unix_time).to_string()
}

/// The current code, the seconds it has left and the next code, for `unix_time`.
pub fn code_info_at(secret: &TotpSecret, params: &OtpParams, unix_time: u64) -> CodeInfo {
    let totp = totp_for(secret, params);
    let period = u64::from(params.period);
    let valid_from = unix_time - unix_time % period;
    CodeInfo {
        code: totp.generate(unix_time).to_string(),
        remaining: (valid_from + period - unix_time) as u32,
        next: totp.generate(valid_from + period).to_string(),
        period: params.period,
        valid_from,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B: the seeds are the ASCII digits repeated to the hash size.
    fn rfc_secret(algorithm: Algorithm) -> TotpSecret {
        let seed = b"12345678901234567890";
        let bytes: Vec<u8> = match algorithm {
            Algorithm::Sha1 => seed.to_vec(),
            Algorithm::Sha256 => seed.iter().cycle().take(32).copied().collect(),
            Algorithm::Sha512 => seed.iter().cycle().take(64).copied().collect(),
        };
        TotpSecret::from_bytes(bytes).unwrap()
    }

    #[test]
    fn rfc6238_appendix_b_vectors() {
        let vectors: [(u64, &str, &str, &str); 6] = [
            (59, "94287082", "46119246", "90693936"),
            (1111111109, "07081804", "68084774", "25091201"),
            (1111111111, "14050471", "67062674", "99943326"),
            (1234567890, "89005924", "91819424", "93441116"),
            (2000000000, "69279037", "90698825", "38618901"),
            (20000000000, "65353130", "77737706", "47863826"),
        ];
        for (time, sha1, sha256, sha512) in vectors {
            for (algorithm, want) in [
                (Algorithm::Sha1, sha1),
                (Algorithm::Sha256, sha256),
                (Algorithm::Sha512, sha512),
            ] {
                let params = OtpParams::new(algorithm, 8, 30).unwrap();
                assert_eq!(
                    code_at(&rfc_secret(algorithm), &params, time),
                    want,
                    "{algorithm} at {time}"
                );
            }
        }
    }

    #[test]
    fn countdown_and_next_code() {
        let secret = rfc_secret(Algorithm::Sha1);
        let params = OtpParams::new(Algorithm::Sha1, 8, 30).unwrap();
        let info = code_info_at(&secret, &params, 1111111109);
        assert_eq!(info.code, "07081804");
        assert_eq!(info.remaining, 1);
        assert_eq!(info.next, "14050471");
        assert_eq!(info.valid_from, 1111111080);
        let start = code_info_at(&secret, &params, 1111111110);
        assert_eq!(start.remaining, 30);
        assert_eq!(start.code, "14050471");
    }

    #[test]
    fn six_digit_codes_keep_leading_zeros() {
        let secret = rfc_secret(Algorithm::Sha1);
        let params = OtpParams::new(Algorithm::Sha1, 6, 30).unwrap();
        // The 8-digit code at this time is 07081804; its 6-digit form is 081804.
        assert_eq!(code_at(&secret, &params, 1111111109), "081804");
    }
}
