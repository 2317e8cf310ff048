//! The claims reader for emnify API tokens, `login::jwt::read_claims`. Chosen by the
//! first byte:
//!
//! - even: the rest is the token itself (as text), for the shape and Base64url checks;
//! - odd: the rest is the claims JSON, wrapped as `header.<Base64url>.signature`, so that
//!   the JSON reader gets arbitrary bytes (a fuzzer rarely writes valid Base64 of JSON).
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use emnify_auth_core::login::jwt::read_claims;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let token = if mode & 1 == 0 {
        String::from_utf8_lossy(rest).into_owned()
    } else {
        format!(
            "eyJhbGciOiJIUzUxMiJ9.{}.c2lnbmF0dXJl",
            URL_SAFE_NO_PAD.encode(rest)
        )
    };
    let _ = read_claims(&token);
});
