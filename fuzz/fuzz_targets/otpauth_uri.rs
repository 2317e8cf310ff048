//! `otpauth://` links: `parse_otpauth_uri` on any text must return, never panic, and
//! every link it accepts must survive the export round trip (written back with
//! `otpauth_uri` and parsed again, it is the same account).
#![no_main]

use emnify_auth_core::otpauth::{otpauth_uri, parse_otpauth_uri};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Lossy rather than skipping invalid UTF-8: replacement characters exercise the
    // multi-byte paths of the escape decoder and the label splitting too.
    let text = String::from_utf8_lossy(data);
    let Ok(account) = parse_otpauth_uri(&text) else {
        return;
    };
    let link = otpauth_uri(
        &account.issuer,
        &account.label,
        &account.params,
        &account.secret,
    );
    let again = match parse_otpauth_uri(&link) {
        Ok(again) => again,
        Err(error) => panic!("an exported link does not parse again: {error}"),
    };
    assert_eq!(
        again.issuer, account.issuer,
        "issuer changed by the round trip"
    );
    assert_eq!(
        again.label, account.label,
        "label changed by the round trip"
    );
    assert_eq!(
        again.params, account.params,
        "parameters changed by the round trip"
    );
    assert!(
        again.secret.same_key_as(&account.secret),
        "key changed by the round trip"
    );
});
