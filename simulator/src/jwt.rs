//! HS256 JSON Web Tokens, hand-rolled with `hmac` + `sha2` + base64url.
//!
//! The simulator signs with a random key made per process, so tokens from one run never work
//! against another; clients must treat tokens as opaque, as they must with the real API.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// What a token may be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// `auth_token`: sent as `Authorization: Bearer` to every other endpoint.
    Auth,
    /// `refresh_token`: trades for a new `auth_token`, once.
    Refresh,
    /// `mfa_token`: the second step of an MFA login.
    Mfa,
}

/// The claims the simulator puts in its tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer: always `emnify-sim`.
    pub iss: String,
    /// Subject: the user id as a string.
    pub sub: String,
    /// Issued at (Unix seconds, simulator clock).
    pub iat: u64,
    /// Expires at (Unix seconds, simulator clock).
    pub exp: u64,
    /// Unique token id, used to make refresh and MFA tokens single-use.
    pub jti: String,
    /// What the token is for.
    #[serde(rename = "esc.kind")]
    pub kind: TokenKind,
    /// The user id.
    #[serde(rename = "esc.user")]
    pub user: u64,
    /// The organisation (workspace) the token acts in.
    #[serde(rename = "esc.org")]
    pub org: u64,
    /// Set when the token came from an application token (such tokens may not switch
    /// workspaces).
    #[serde(
        rename = "esc.appToken",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub app_token: Option<u64>,
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// Not three base64url parts of JSON, or not HS256.
    #[error("malformed token")]
    Malformed,
    /// The signature does not match.
    #[error("bad token signature")]
    BadSignature,
    /// `exp` has passed on the simulator clock.
    #[error("token expired")]
    Expired,
}

/// Signs and verifies tokens with one secret key.
pub struct JwtKeys {
    key: [u8; 32],
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key.
        f.write_str("JwtKeys(..)")
    }
}

impl JwtKeys {
    /// A fresh random key.
    pub fn random() -> Self {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        Self { key }
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC accepts keys of any length, so this cannot fail.
        HmacSha256::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!())
    }

    /// The compact serialisation of `claims`, signed.
    pub fn sign(&self, claims: &Claims) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let payload =
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_else(|_| unreachable!()));
        let signing_input = format!("{header}.{payload}");
        let mut mac = self.mac();
        mac.update(signing_input.as_bytes());
        let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{signing_input}.{sig}")
    }

    /// Checks the signature and expiry (against `now_secs`) and returns the claims.
    pub fn verify(&self, token: &str, now_secs: u64) -> Result<Claims, JwtError> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(sig), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwtError::Malformed);
        };
        let header: serde_json::Value = URL_SAFE_NO_PAD
            .decode(header)
            .ok()
            .and_then(|h| serde_json::from_slice(&h).ok())
            .ok_or(JwtError::Malformed)?;
        if header.get("alg").and_then(|a| a.as_str()) != Some("HS256") {
            return Err(JwtError::Malformed);
        }
        let sig = URL_SAFE_NO_PAD
            .decode(sig)
            .map_err(|_| JwtError::Malformed)?;
        let mut mac = self.mac();
        mac.update(&token.as_bytes()[..header_payload_len(token)]);
        mac.verify_slice(&sig).map_err(|_| JwtError::BadSignature)?;
        let claims: Claims = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|p| serde_json::from_slice(&p).ok())
            .ok_or(JwtError::Malformed)?;
        if now_secs >= claims.exp {
            return Err(JwtError::Expired);
        }
        Ok(claims)
    }
}

/// Length of `header.payload` in a token already known to have three parts.
fn header_payload_len(token: &str) -> usize {
    token.rfind('.').unwrap_or(token.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: u64) -> Claims {
        Claims {
            iss: "emnify-sim".into(),
            sub: "1".into(),
            iat: 100,
            exp,
            jti: "j".into(),
            kind: TokenKind::Auth,
            user: 1,
            org: 2,
            app_token: None,
        }
    }

    #[test]
    fn round_trip_expiry_and_tampering() {
        let keys = JwtKeys::random();
        let token = keys.sign(&claims(200));
        assert_eq!(keys.verify(&token, 199), Ok(claims(200)));
        assert_eq!(keys.verify(&token, 200), Err(JwtError::Expired));
        assert_eq!(
            JwtKeys::random().verify(&token, 150),
            Err(JwtError::BadSignature)
        );
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims(9999)).unwrap());
        parts[1] = &forged;
        assert_eq!(
            keys.verify(&parts.join("."), 150),
            Err(JwtError::BadSignature)
        );
        assert_eq!(keys.verify("not-a-token", 150), Err(JwtError::Malformed));
        assert_eq!(keys.verify("a.b.c", 150), Err(JwtError::Malformed));
    }
}
