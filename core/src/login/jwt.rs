//! Reading the claims of an emnify JWT without checking its signature: the client only
//! needs `exp` to know when to refresh, and the server checks the signature anyway.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

/// The claims the client uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// Expiry, Unix seconds.
    pub exp: u64,
    /// Issued at, Unix seconds (0 when absent).
    pub iat: u64,
    /// Subject (the user or application), when present.
    pub sub: Option<String>,
}

/// A token that is not a readable JWT. Never contains the token.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum JwtError {
    /// Not three dot-separated parts.
    #[error("the server's token is not a JWT (expected three parts separated by dots)")]
    Shape,
    /// The payload is not Base64url.
    #[error("the server's token payload is not valid Base64url")]
    Base64,
    /// The payload is not JSON with a numeric `exp`.
    #[error("the server's token payload has no readable expiry (`exp`)")]
    Claims,
}

#[derive(Deserialize)]
struct RawClaims {
    exp: serde_json::Number,
    #[serde(default)]
    iat: Option<serde_json::Number>,
    #[serde(default)]
    sub: Option<serde_json::Value>,
}

fn seconds(number: &serde_json::Number) -> Option<u64> {
    number
        .as_u64()
        .or_else(|| number.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
}

/// The claims of `token` (a compact JWS), signature not checked.
pub fn read_claims(token: &str) -> Result<Claims, JwtError> {
    let mut parts = token.trim().split('.');
    let (Some(_header), Some(payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Shape);
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| JwtError::Base64)?;
    let raw: RawClaims = serde_json::from_slice(&bytes).map_err(|_| JwtError::Claims)?;
    Ok(Claims {
        exp: seconds(&raw.exp).ok_or(JwtError::Claims)?,
        iat: raw.iat.as_ref().and_then(seconds).unwrap_or(0),
        sub: raw.sub.map(|s| match s {
            serde_json::Value::String(text) => text,
            other => other.to_string(),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(payload: &str) -> String {
        format!(
            "{}.{}.sig",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#),
            URL_SAFE_NO_PAD.encode(payload)
        )
    }

    #[test]
    fn reads_exp_iat_and_sub() {
        let claims =
            read_claims(&token(r#"{"exp":1700014400,"iat":1700000000,"sub":"42"}"#)).unwrap();
        assert_eq!(
            claims,
            Claims {
                exp: 1700014400,
                iat: 1700000000,
                sub: Some("42".into())
            }
        );
        let numeric_sub = read_claims(&token(r#"{"exp":5,"sub":42}"#)).unwrap();
        assert_eq!(numeric_sub.sub.as_deref(), Some("42"));
    }

    #[test]
    fn malformed_tokens_are_refused_without_echoing_them() {
        assert_eq!(read_claims("abc").unwrap_err(), JwtError::Shape);
        assert_eq!(read_claims("a.b.c.d").unwrap_err(), JwtError::Shape);
        assert_eq!(read_claims("a.!!!.c").unwrap_err(), JwtError::Base64);
        assert_eq!(
            read_claims(&token(r#"{"iat":1}"#)).unwrap_err(),
            JwtError::Claims
        );
        let err = read_claims("secret-part.!!!.c").unwrap_err().to_string();
        assert!(!err.contains("secret-part"));
    }
}
