//! Export files of other authenticators, published by the Aegis project (see
//! `fixtures/other-apps/README.md`): every encrypted file must yield exactly the entries of
//! its plain twin, and the accounts must be the ones the plain Aegis vault lists.

use std::path::PathBuf;

use emnify_auth_core::NewAccount;
use emnify_auth_core::aegis::AegisError;
use emnify_auth_core::importers::{FileImportError, TwoFasError, import_file, needs_password};
use secrecy::SecretString;

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/other-apps")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

fn password(text: &str) -> SecretString {
    SecretString::from(text.to_owned())
}

/// (issuer, label, algorithm, digits, period, Base32 key) of each account, comparable.
fn summary(accounts: &[NewAccount]) -> Vec<String> {
    accounts
        .iter()
        .map(|a| {
            format!(
                "{}|{}|{}|{}|{}|{}",
                a.issuer,
                a.label,
                a.params.algorithm,
                a.params.digits,
                a.params.period,
                a.secret.expose_base32().as_str()
            )
        })
        .collect()
}

const AEGIS_TOTP: [&str; 3] = [
    "Deno|Mason|SHA1|6|30|4SJHB4GSD43FZBAI7C2HLRJGPQ",
    "SPDX|James|SHA256|7|20|5OM4WOOGPLQEF6UGN3CPEOOLWU",
    "Airbnb|Elijah|SHA512|8|50|7ELGJSGXNCCTV3O6LKJWYFV2RA",
];

#[test]
fn aegis_plain_and_encrypted_give_the_same_accounts() {
    let plain = import_file(&fixture("aegis_plain.json"), None).unwrap();
    assert_eq!(plain.format, "Aegis");
    assert_eq!(summary(&plain.set.accounts), AEGIS_TOTP);
    let skipped: Vec<_> = plain.set.skipped.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        skipped,
        [
            "Issuu: James",
            "Air Canada: Benjamin",
            "WWE: Mason",
            "Boeing: Sophia"
        ]
    );
    assert!(plain.set.skipped[0].reason.contains("HOTP"));
    assert!(plain.set.skipped[3].reason.contains("Steam"));

    let encrypted = fixture("aegis_encrypted.json");
    assert!(needs_password(&encrypted));
    assert!(matches!(
        import_file(&encrypted, None),
        Err(FileImportError::Aegis(AegisError::PasswordNeeded))
    ));
    assert!(matches!(
        import_file(&encrypted, Some(&password("Test"))),
        Err(FileImportError::Aegis(AegisError::WrongPassword))
    ));
    let opened = import_file(&encrypted, Some(&password("test"))).unwrap();
    assert_eq!(summary(&opened.set.accounts), AEGIS_TOTP);
    assert_eq!(opened.set.skipped.len(), plain.set.skipped.len());
}

#[test]
fn the_uri_list_matches_the_aegis_vault() {
    let list = import_file(&fixture("plain.txt"), None).unwrap();
    assert_eq!(list.format, "otpauth:// list");
    assert_eq!(summary(&list.set.accounts), AEGIS_TOTP);
    // 3 HOTP and 1 Steam line, reported by line number.
    let skipped: Vec<_> = list.set.skipped.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(skipped, ["line 4", "line 5", "line 6", "line 7"]);
}

#[test]
fn twofas_encrypted_files_match_their_plain_twins() {
    for (plain, encrypted) in [
        (
            "2fas_authenticator_plain.2fas",
            "2fas_authenticator_encrypted.2fas",
        ),
        (
            "2fas_authenticator_plain_v4.2fas",
            "2fas_authenticator_encrypted_v4.2fas",
        ),
    ] {
        let plain = import_file(&fixture(plain), None).unwrap();
        assert_eq!(plain.format, "2FAS");
        let sealed = fixture(encrypted);
        assert!(needs_password(&sealed));
        assert!(matches!(
            import_file(&sealed, None),
            Err(FileImportError::TwoFas(TwoFasError::PasswordNeeded))
        ));
        assert!(matches!(
            import_file(&sealed, Some(&password("wrong"))),
            Err(FileImportError::TwoFas(TwoFasError::WrongPassword))
        ));
        let opened = import_file(&sealed, Some(&password("test"))).unwrap();
        assert_eq!(summary(&opened.set.accounts), summary(&plain.set.accounts));
        let names = |set: &emnify_auth_core::import::ImportSet| {
            set.skipped
                .iter()
                .map(|s| format!("{}: {}", s.name, s.reason))
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&opened.set), names(&plain.set));
        assert!(!plain.set.accounts.is_empty());
    }
    // Schema 4 states the types: 1 TOTP, 3 HOTP and 1 Steam entry.
    let v4 = import_file(&fixture("2fas_authenticator_plain_v4.2fas"), None).unwrap();
    assert_eq!(summary(&v4.set.accounts), [AEGIS_TOTP[0]]);
    assert_eq!(v4.set.skipped.len(), 4);
}
