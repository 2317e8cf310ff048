//! The emnify API takes the lower-case hex SHA-1 of the password instead of the password.
//! That hash is as good as the password for this API, so it is treated as a secret.

use secrecy::SecretString;
use sha1::{Digest, Sha1};
use zeroize::Zeroize;

/// Lower-case hex SHA-1 of `password`, as `/api/v1/authenticate` expects it.
pub fn password_sha1_hex(password: &str) -> SecretString {
    let mut digest = Sha1::digest(password.as_bytes());
    let hex = hex::encode(digest);
    digest.as_mut_slice().zeroize();
    SecretString::from(hex)
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn matches_openssl_sha1() {
        // `printf %s 'pw' | openssl sha1`
        assert_eq!(
            password_sha1_hex("pw").expose_secret(),
            "1a91d62f7ca67399625a4368a6ab5d4a3baa6073"
        );
        assert_eq!(
            password_sha1_hex("").expose_secret(),
            "da39a3ee5e6b4b0d3255bfef95601890afd80709"
        );
    }
}
