//! 2FAS backups through `importers::import_file`. The first byte picks the input:
//!
//! - 0–127: the rest is a whole file (detection, plain services, the encrypted part's
//!   shape), read without a password;
//! - 128–254: the rest is the `services` list of a plain backup, so the entry parser gets
//!   arbitrary JSON (the same parser reads decrypted services);
//! - 255: the rest is a whole file read with the password "test", which runs PBKDF2
//!   (10,000 rounds) when the encrypted part is well formed: rare on purpose, to keep the
//!   executions per second up.
#![no_main]

use emnify_auth_core::importers::import_file;
use libfuzzer_sys::fuzz_target;
use secrecy::SecretString;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode {
        0..=127 => {
            let _ = import_file(rest, None);
        }
        128..=254 => {
            let mut file = br#"{"schemaVersion":4,"services":"#.to_vec();
            file.extend_from_slice(rest);
            file.push(b'}');
            let _ = import_file(&file, None);
        }
        255 => {
            let _ = import_file(rest, Some(&SecretString::from("test".to_owned())));
        }
    }
});
