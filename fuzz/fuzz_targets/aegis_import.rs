//! Aegis vault files through `importers::import_file` (format detection, the outer JSON,
//! slots, decryption and the content's entries). The first byte picks the password: none
//! (plain vaults and the "encrypted" refusal) or "test". Key derivation is only attempted
//! for cheap scrypt parameters, so that the fuzzer spends its time on the parsers rather
//! than on scrypt (the cost limits themselves are unit-tested in core).
#![no_main]

use emnify_auth_core::aegis::VaultFile;
use emnify_auth_core::importers::import_file;
use libfuzzer_sys::fuzz_target;
use secrecy::SecretString;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let cheap = VaultFile::parse(rest).is_ok_and(|file| {
        file.password_slots()
            .iter()
            .all(|slot| slot.n.saturating_mul(slot.r).saturating_mul(slot.p) <= 1 << 10)
    });
    let password = SecretString::from("test".to_owned());
    let password = (mode & 1 == 1 && cheap).then_some(&password);
    let _ = import_file(rest, password);
});
