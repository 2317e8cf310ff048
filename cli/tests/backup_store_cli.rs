//! Backups, imports from other apps and the keyring-less vault file, through the real
//! `emnify-auth` binary: a backup decrypted by an independent Python implementation, the
//! Aegis project's own export files, a run with no keyring daemon that must never write a
//! key in plain text, and processes killed at random points that must lose nothing.

mod support;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use support::{PrivateBus, TestVault};

const KEY: &str = "JBSWY3DPEHPK3PXP";
const KEY2: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
const BACKUP_PASSWORD: &str = "backup password 1";
const VAULT_PASSWORD: &str = "vault file password";

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../core/tests/fixtures/other-apps")
        .join(name)
}

/// A Python 3 that has the `cryptography` package (scripts/setup.sh installs it).
fn python_with_cryptography() -> &'static str {
    for python in ["python3", "/usr/bin/python3"] {
        let ok = Command::new(python)
            .args(["-c", "import cryptography"])
            .output()
            .is_ok_and(|out| out.status.success());
        if ok {
            return python;
        }
    }
    panic!("no python3 with the `cryptography` package: run scripts/setup.sh --tests");
}

fn oathtool_code(key: &str) -> String {
    support::oathtool(key, None)
}

#[test]
fn an_exported_backup_is_decrypted_by_an_independent_implementation() {
    let vault = TestVault::new("backup-python");
    vault.ok(
        &[
            "add",
            "--secret",
            KEY,
            "--label",
            "ops@example.com",
            "--issuer",
            "emnify",
        ],
        None,
    );
    vault.ok(
        &[
            "add",
            "--secret",
            KEY2,
            "--label",
            "lab",
            "--algorithm",
            "SHA256",
            "--digits",
            "8",
            "--period",
            "60",
        ],
        None,
    );
    let file = vault.dir.path().join("backup.json");
    let file_arg = file.to_str().unwrap();
    let out = vault.ok(
        &["backup", "export", file_arg, "--password-stdin"],
        Some(BACKUP_PASSWORD),
    );
    assert!(out.contains("wrote 2 account(s)"), "{out}");
    let raw = std::fs::read_to_string(&file).unwrap();
    assert!(
        !raw.contains(KEY) && !raw.contains(KEY2),
        "keys in the encrypted file"
    );
    let slot = &serde_json::from_str::<Value>(&raw).unwrap()["header"]["slots"][0];
    assert_eq!(
        (slot["n"].as_u64(), slot["r"].as_u64(), slot["p"].as_u64()),
        (Some(32768), Some(8), Some(1))
    );

    // The same file again is refused, not overwritten.
    let line = vault.fails(
        &["backup", "export", file_arg, "--password-stdin"],
        Some(BACKUP_PASSWORD),
    );
    assert!(line.contains("already exists"), "{line}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), raw);

    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/aegis_decrypt.py");
    let run = |password: &str| {
        use std::io::Write;
        let mut child = Command::new(python_with_cryptography())
            .arg(&script)
            .arg(&file)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
        child.wait_with_output().unwrap()
    };
    assert!(!run("not the password").status.success());
    let out = run(BACKUP_PASSWORD);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let content: Value = serde_json::from_slice(&out.stdout).unwrap();
    let entries = content["entries"].as_array().unwrap();
    let listed: Value = serde_json::from_str(&vault.ok(&["list", "--json"], None)).unwrap();
    let summary: BTreeSet<String> = entries
        .iter()
        .map(|e| {
            format!(
                "{}|{}|{}|{}|{}|{}|{}",
                e["type"],
                e["uuid"].as_str().unwrap(),
                e["issuer"],
                e["name"],
                e["info"]["algo"],
                e["info"]["digits"],
                e["info"]["period"]
            ) + "|"
                + e["info"]["secret"].as_str().unwrap()
        })
        .collect();
    let expected: BTreeSet<String> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let key = if a["label"] == "lab" { KEY2 } else { KEY };
            format!(
                "\"totp\"|{}|{}|{}|{}|{}|{}|{key}",
                a["id"].as_str().unwrap(),
                a["issuer"],
                a["label"],
                a["algorithm"],
                a["digits"],
                a["period"]
            )
        })
        .collect();
    assert_eq!(summary, expected);

    // And it imports back into an empty vault with the same codes.
    let other = TestVault::new("backup-python-restore");
    let out = other.ok(
        &["backup", "import", file_arg, "--password-stdin"],
        Some(BACKUP_PASSWORD),
    );
    assert!(out.contains("imported 2 account(s)"), "{out}");
    assert_eq!(
        other.ok(&["code", "ops@example.com"], None).trim(),
        oathtool_code(KEY)
    );
}

#[test]
fn exports_of_other_apps_import_with_a_report() {
    let vault = TestVault::new("other-apps");
    let path = |name: &str| fixture(name).to_str().unwrap().to_owned();

    // Preview first: nothing is stored.
    let preview = vault.ok(
        &["backup", "import", &path("aegis_plain.json"), "--dry-run"],
        None,
    );
    assert!(
        preview.contains("Aegis file with 3 account(s)"),
        "{preview}"
    );
    assert!(preview.contains("skipped Issuu: James"), "{preview}");
    assert!(vault.ok(&["list", "--json"], None).trim() == "[]");

    let files = vault.files_snapshot();
    let line = vault.fails(
        &[
            "backup",
            "import",
            &path("aegis_encrypted.json"),
            "--password-stdin",
        ],
        Some("wrong"),
    );
    assert!(line.contains("wrong password"), "{line}");
    assert_eq!(
        vault.files_snapshot(),
        files,
        "a wrong password changes nothing"
    );

    let report: Value = serde_json::from_str(&vault.ok(
        &[
            "backup",
            "import",
            &path("aegis_encrypted.json"),
            "--password-stdin",
            "--json",
        ],
        Some("test"),
    ))
    .unwrap();
    assert_eq!(report["format"], "Aegis");
    assert_eq!(report["imported"].as_array().unwrap().len(), 3);
    assert_eq!(report["skipped"].as_array().unwrap().len(), 4);

    // The same accounts from 2FAS and a link list are duplicates, counted and skipped.
    let report: Value = serde_json::from_str(&vault.ok(
        &[
            "backup",
            "import",
            &path("2fas_authenticator_encrypted_v4.2fas"),
            "--password-stdin",
            "--json",
        ],
        Some("test"),
    ))
    .unwrap();
    assert_eq!(report["format"], "2FAS");
    assert_eq!(report["imported"].as_array().unwrap().len(), 0);
    assert_eq!(report["duplicates"][0]["existing"], "Deno: Mason");
    assert_eq!(report["skipped"].as_array().unwrap().len(), 4);
    let out = vault.ok(&["backup", "import", &path("plain.txt")], None);
    assert!(
        out.contains("imported 0 account(s) from the otpauth:// list file; 3 already in the vault (skipped); 4 skipped as unusable"),
        "{out}"
    );
    let listed: Value = serde_json::from_str(&vault.ok(&["list", "--json"], None)).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 3);
    assert_eq!(
        vault.ok(&["code", "Deno"], None).trim(),
        oathtool_code("4SJHB4GSD43FZBAI7C2HLRJGPQ")
    );

    let junk = vault.dir.path().join("junk.json");
    std::fs::write(&junk, "{\"hello\": 1}").unwrap();
    let line = vault.fails(&["backup", "import", junk.to_str().unwrap()], None);
    assert!(line.contains("not a backup this app can read"), "{line}");
}

#[test]
fn without_a_keyring_daemon_the_encrypted_file_works_end_to_end() {
    let bus = PrivateBus::without_keyring();
    let mut vault = TestVault::detached("nodaemon-file");
    vault.extra_env = bus.env();
    let home = vault.dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    vault
        .extra_env
        .push(("HOME".into(), home.to_str().unwrap().into()));

    // The problem and the way out are named; nothing is chosen silently.
    let line = vault.fails(&["add", "--secret", KEY, "--label", "x"], None);
    assert!(line.contains("no keyring is available"), "{line}");
    assert!(line.contains("emnify-auth store use-file"), "{line}");
    assert!(!vault.data_dir().join("secrets.aegis.json").exists());

    let line = vault.fails(&["store", "use-file", "--password-stdin"], Some("short"));
    assert!(line.contains("at least 8 characters"), "{line}");
    let out = vault.ok(
        &["store", "use-file", "--password-stdin"],
        Some(VAULT_PASSWORD),
    );
    assert!(out.contains("moved 0 secret(s)"), "{out}");
    assert!(vault.ok(&["store"], None).contains("encrypted vault file"));

    let with_password = |rest: &str| format!("{VAULT_PASSWORD}\n{rest}");
    vault.ok(
        &[
            "add",
            "--vault-password-stdin",
            "--secret",
            "-",
            "--label",
            "ops@example.com",
            "--issuer",
            "emnify",
        ],
        Some(&with_password(KEY)),
    );
    vault.ok(
        &[
            "add",
            "--vault-password-stdin",
            "--uri",
            &format!("otpauth://totp/lab?secret={KEY2}"),
        ],
        Some(&with_password("")),
    );
    let code = vault.ok(
        &["code", "ops@example.com", "--vault-password-stdin"],
        Some(&with_password("")),
    );
    assert_eq!(code.trim(), oathtool_code(KEY));
    let line = vault.fails(
        &["code", "lab", "--vault-password-stdin"],
        Some("wrong password\n"),
    );
    assert!(line.contains("wrong password"), "{line}");
    // Listing needs no password.
    assert!(vault.ok(&["list"], None).contains("lab"));

    let backup = vault.dir.path().join("backup.json");
    vault.ok(
        &[
            "backup",
            "export",
            backup.to_str().unwrap(),
            "--vault-password-stdin",
            "--password-stdin",
        ],
        Some(&format!("{VAULT_PASSWORD}\n{BACKUP_PASSWORD}\n")),
    );

    // Not one file this run wrote holds a key in clear (hex, Base32, Base64 or raw bytes).
    for key in [KEY, KEY2] {
        let hits = support::files_holding_key(&[vault.dir.path()], key);
        assert!(hits.is_empty(), "{hits:?}");
    }
    // The vault file is a real Aegis vault: it opens with Python from the spec.
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/aegis_decrypt.py");
    let out = {
        use std::io::Write;
        let mut child = Command::new(python_with_cryptography())
            .arg(&script)
            .arg(vault.data_dir().join("secrets.aegis.json"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{VAULT_PASSWORD}").unwrap();
        child.wait_with_output().unwrap()
    };
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains(KEY2));
}

/// The store an account's key is in, checked from outside: `secret-tool` for the keyring,
/// the vault file's own decryption for the file.
fn keys_in_stores(vault: &TestVault) -> (BTreeSet<String>, BTreeSet<String>) {
    let keyring: BTreeSet<String> = vault
        .keyring_snapshot()
        .iter()
        .filter_map(|line| line.strip_prefix("attribute.username = "))
        .map(str::to_owned)
        .collect();
    let file_path = vault.data_dir().join("secrets.aegis.json");
    let file = if file_path.exists() {
        use emnify_auth_core::SecretStore;
        let store = emnify_auth_core::file_store::FileStore::unlock(
            &vault.data_dir(),
            &secrecy::SecretString::from(VAULT_PASSWORD.to_owned()),
        )
        .expect("the vault file opens");
        store.keys().unwrap().into_iter().collect()
    } else {
        BTreeSet::new()
    };
    (keyring, file)
}

#[test]
fn killed_at_random_points_during_100_operations_nothing_is_lost_or_doubled() {
    use rand::Rng;
    let vault = TestVault::new("kill9");
    let backups = vault.dir.path().join("backups");
    std::fs::create_dir_all(&backups).unwrap();
    let mut rng = rand::rng();
    let mut completed_adds = BTreeSet::new();
    let mut killed = 0;
    for step in 0..100 {
        let key = data_encoding::BASE32_NOPAD.encode(&rand::random::<[u8; 20]>());
        let label = format!("account-{step}");
        let backup = backups.join(format!("b{step}.json"));
        let (args, stdin): (Vec<String>, String) = match rng.random_range(0..4) {
            0 | 1 => (
                vec![
                    "add".into(),
                    "--uri".into(),
                    format!("otpauth://totp/{label}?secret={key}"),
                ],
                format!("{VAULT_PASSWORD}\n"),
            ),
            2 => (
                vec![
                    "backup".into(),
                    "export".into(),
                    backup.to_str().unwrap().into(),
                    "--password-stdin".into(),
                ],
                format!("{VAULT_PASSWORD}\n{BACKUP_PASSWORD}\n"),
            ),
            _ => {
                let file = vault.data_dir().join("secret-store.json");
                let in_file = std::fs::read_to_string(&file).is_ok_and(|t| t.contains("\"file\""));
                let target = if in_file { "use-keyring" } else { "use-file" };
                (
                    vec!["store".into(), target.into(), "--password-stdin".into()],
                    format!("{VAULT_PASSWORD}\n"),
                )
            }
        };
        // `use-keyring` takes no --password-stdin of its own: the vault file password is
        // the global one.
        let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
        if args[..2] == ["store", "use-keyring"] {
            args.truncate(2);
        }
        args.push("--vault-password-stdin");
        let mut child = vault
            .cli()
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        {
            use std::io::Write;
            let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
        }
        std::thread::sleep(Duration::from_millis(rng.random_range(0..400)));
        let finished = child.try_wait().unwrap();
        match finished {
            Some(status) => {
                if args[0] == "add" && status.success() {
                    completed_adds.insert(label);
                }
            }
            None => {
                child.kill().unwrap(); // SIGKILL
                child.wait().unwrap();
                killed += 1;
            }
        }
    }
    assert!(
        killed >= 10,
        "only {killed} of 100 operations were interrupted"
    );

    // The next command repairs whatever was interrupted; temporary files of killed writes
    // go once they are ten minutes old (the CLI's clock is moved on for that).
    let temporaries = |vault: &TestVault| {
        std::fs::read_dir(vault.data_dir())
            .unwrap()
            .filter(|e| {
                let name = e.as_ref().unwrap().file_name();
                let name = name.to_string_lossy();
                name.starts_with(".emnify-") && name.ends_with(".tmp")
            })
            .count()
    };
    let left_behind = temporaries(&vault);
    vault.set_clock_offset(11 * 60);
    vault.ok(
        &["store", "check", "--vault-password-stdin"],
        Some(&format!("{VAULT_PASSWORD}\n")),
    );
    vault.set_clock_offset(0);
    assert_eq!(
        temporaries(&vault),
        0,
        "{left_behind} temporary files were left"
    );
    let status = vault.ok(
        &["store", "check", "--vault-password-stdin"],
        Some(&format!("{VAULT_PASSWORD}\n")),
    );
    let listed: Value = serde_json::from_str(&vault.ok(&["list", "--json"], None)).unwrap();
    let accounts = listed.as_array().unwrap();
    let ids: BTreeSet<String> = accounts
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect();
    let labels: Vec<String> = accounts
        .iter()
        .map(|a| a["label"].as_str().unwrap().to_owned())
        .collect();
    let unique_labels: BTreeSet<&String> = labels.iter().collect();
    assert_eq!(
        unique_labels.len(),
        labels.len(),
        "an account was added twice"
    );
    for label in &completed_adds {
        assert!(labels.contains(label), "{label} was added and then lost");
    }

    let (keyring, file) = keys_in_stores(&vault);
    let in_file = status.contains("encrypted vault file");
    let (active, other) = if in_file {
        (&file, &keyring)
    } else {
        (&keyring, &file)
    };
    assert_eq!(
        active, &ids,
        "the active store holds exactly the accounts' keys ({status})"
    );
    assert!(other.is_empty(), "the other store still holds {other:?}");
    if !in_file {
        assert!(!vault.data_dir().join("secrets.aegis.json").exists());
    }
    // Every account's code can be made.
    let codes: Value = serde_json::from_str(&vault.ok(
        &["code", "--json", "--vault-password-stdin"],
        Some(&format!("{VAULT_PASSWORD}\n")),
    ))
    .unwrap();
    let made = codes
        .as_array()
        .or_else(|| codes["accounts"].as_array())
        .expect("code --json lists accounts");
    assert_eq!(made.len(), ids.len());
    eprintln!(
        "kill -9: {killed} of 100 operations interrupted; {left_behind} temporary files swept; {} accounts, {} completed adds; secrets in {}",
        ids.len(),
        completed_adds.len(),
        if in_file { "the file" } else { "the keyring" }
    );
}
