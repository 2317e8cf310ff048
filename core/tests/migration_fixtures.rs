//! Google Authenticator exports published by other projects, with the accounts those
//! projects say they contain (see `fixtures/migration/README.md`). They check the
//! migration parser against data nobody here wrote, and check it against the `otpauth://`
//! parser where the projects also publish each account's link.

use std::path::PathBuf;

use emnify_auth_core::migration::{MigrationBatch, parse_migration_uri};
use emnify_auth_core::otpauth::parse_otpauth_uri;
use emnify_auth_core::{Algorithm, NewAccount};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Fixture {
    source: String,
    codes: Vec<Code>,
}

#[derive(Debug, Deserialize)]
struct Code {
    name: String,
    uri: String,
    /// The `MigrationError` variant expected instead of a batch.
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    batch: Option<Batch>,
    #[serde(default)]
    accounts: Vec<ExpectedAccount>,
    #[serde(default)]
    skipped: Vec<ExpectedSkip>,
}

#[derive(Debug, Deserialize)]
struct Batch {
    index: u32,
    size: u32,
}

#[derive(Debug, Deserialize)]
struct ExpectedAccount {
    issuer: String,
    label: String,
    algorithm: String,
    digits: u8,
    /// Base32 as published; `None` where the source publishes none.
    secret: Option<String>,
    /// The account's `otpauth://` link as the source publishes it.
    #[serde(default)]
    published_uri: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ExpectedSkip {
    name: String,
    reason_contains: String,
    #[serde(default)]
    published_uri: Option<String>,
    /// The `UriError` variant the published link must give.
    #[serde(default)]
    published_uri_error: Option<String>,
}

fn load(file: &str) -> Fixture {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests",
        "fixtures",
        "migration",
        file,
    ]
    .iter()
    .collect();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The name of an enum variant from its `Debug` form (`Secret(TooShort { .. })` → `Secret`).
fn variant(debug: &str) -> &str {
    debug
        .split(|c: char| !c.is_alphanumeric() && c != '_')
        .next()
        .unwrap_or(debug)
}

fn check_account(context: &str, got: &NewAccount, want: &ExpectedAccount) {
    assert_eq!(got.issuer, want.issuer, "{context}: issuer");
    assert_eq!(got.label, want.label, "{context}: label");
    let algorithm: Algorithm = want.algorithm.parse().unwrap();
    assert_eq!(got.params.algorithm, algorithm, "{context}: algorithm");
    assert_eq!(got.params.digits, want.digits, "{context}: digits");
    assert_eq!(got.params.period, 30, "{context}: period");
    if let Some(secret) = &want.secret {
        assert_eq!(
            got.secret.expose_base32().as_str(),
            secret.as_str(),
            "{context}: secret"
        );
    }
    if let Some(uri) = &want.published_uri {
        let from_link = parse_otpauth_uri(uri)
            .unwrap_or_else(|e| panic!("{context}: published link refused: {e}"));
        assert_eq!(from_link.issuer, got.issuer, "{context}: link issuer");
        assert_eq!(from_link.label, got.label, "{context}: link label");
        assert_eq!(from_link.params, got.params, "{context}: link params");
        assert!(
            from_link.secret.same_key_as(&got.secret),
            "{context}: link secret"
        );
    }
}

fn check_code(source: &str, code: &Code) -> Option<MigrationBatch> {
    let context = format!("{source} / {}", code.name);
    let result = parse_migration_uri(&code.uri);
    if let Some(error) = &code.error {
        let got = result.expect_err(&context);
        assert_eq!(variant(&format!("{got:?}")), error, "{context}");
        return None;
    }
    let batch = result.unwrap_or_else(|e| panic!("{context}: {e}"));
    assert_eq!(
        batch.accounts.len(),
        code.accounts.len(),
        "{context}: accounts {:?}",
        batch.accounts
    );
    for (index, (got, want)) in batch.accounts.iter().zip(&code.accounts).enumerate() {
        check_account(&format!("{context} #{}", index + 1), got, want);
    }
    assert_eq!(
        batch.skipped.len(),
        code.skipped.len(),
        "{context}: skipped {:?}",
        batch.skipped
    );
    for (got, want) in batch.skipped.iter().zip(&code.skipped) {
        assert_eq!(got.name, want.name, "{context}: skipped name");
        assert!(
            got.reason.contains(&want.reason_contains),
            "{context}: reason {:?}",
            got.reason
        );
        if let (Some(uri), Some(error)) = (&want.published_uri, &want.published_uri_error) {
            let got = parse_otpauth_uri(uri).expect_err(&context);
            assert_eq!(variant(&format!("{got:?}")), error, "{context}: link");
        }
    }
    if let Some(want) = &code.batch {
        assert_eq!(
            (batch.batch.index, batch.batch.size),
            (want.index, want.size),
            "{context}: batch"
        );
    }
    Some(batch)
}

/// Checks every code of a fixture file; returns the batches by code name.
fn check_file(file: &str) -> Vec<(String, Option<MigrationBatch>)> {
    let fixture = load(file);
    assert!(!fixture.codes.is_empty(), "{file} has no codes");
    fixture
        .codes
        .iter()
        .map(|code| (code.name.clone(), check_code(&fixture.source, code)))
        .collect()
}

#[test]
fn johncallahan_otpauth_migration_exports() {
    let batches = check_file("johncallahan_otpauth_migration.json");
    let total: usize = batches
        .iter()
        .filter_map(|(_, batch)| batch.as_ref())
        .map(|batch| batch.accounts.len())
        .sum();
    assert_eq!(total, 1 + 4 + 2 + 2 + 21 + 10 + 10 + 10 + 2);

    // The three codes of one export share its batch id, which the partly escaped copy of
    // code 1 decodes to as well.
    let id_of = |prefix: &str| {
        batches
            .iter()
            .find(|(name, _)| name.starts_with(prefix))
            .and_then(|(_, batch)| batch.as_ref())
            .map(|batch| batch.batch.id)
            .unwrap()
    };
    let id = id_of("string1Of3UrlEncoded");
    assert_eq!(id_of("string1Of3:"), id);
    assert_eq!(id_of("string2Of3UrlEncoded"), id);
    assert_eq!(id_of("string3Of3UrlEncoded"), id);
}

#[test]
fn dim13_otpauth_exports() {
    let batches = check_file("dim13_otpauth.json");
    assert_eq!(batches.len(), 2);
}

#[test]
fn no_fixture_batch_shows_a_key_in_debug() {
    for file in ["johncallahan_otpauth_migration.json", "dim13_otpauth.json"] {
        for code in load(file).codes {
            let Ok(batch) = parse_migration_uri(&code.uri) else {
                continue;
            };
            let shown = format!("{batch:?}");
            for account in &code.accounts {
                if let Some(secret) = &account.secret {
                    assert!(!shown.contains(&secret[..8]), "{}", code.name);
                }
            }
        }
    }
}
