//! Google Authenticator exports. The protobuf decoder is private to core, so it is reached
//! through the public `parse_migration_uri` in two ways, chosen by the first byte:
//!
//! - even: the rest is the link itself (as text), for the scheme, query and escape parsing;
//! - odd: the rest is the raw protobuf payload, wrapped into
//!   `otpauth-migration://offline?data=<Base64>` in one of the encodings seen in the wild
//!   (picked by bits 1–2: standard with `+/=` escaped, standard raw, URL-safe, unpadded),
//!   so that the protobuf decoder and the entry conversion get arbitrary bytes.
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE};
use emnify_auth_core::migration::parse_migration_uri;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let link = if mode & 1 == 0 {
        String::from_utf8_lossy(rest).into_owned()
    } else {
        let data = match (mode >> 1) & 3 {
            0 => STANDARD
                .encode(rest)
                .replace('+', "%2B")
                .replace('/', "%2F")
                .replace('=', "%3D"),
            1 => STANDARD.encode(rest),
            2 => URL_SAFE.encode(rest),
            _ => STANDARD_NO_PAD.encode(rest),
        };
        format!("otpauth-migration://offline?data={data}")
    };
    if let Ok(batch) = parse_migration_uri(&link) {
        // The strings that reach the UI must be printable without panicking.
        let _ = batch.batch.to_string();
        for account in &batch.accounts {
            let _ = account.display_name();
        }
    }
});
