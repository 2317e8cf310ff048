//! MFA enrollment and key removal through the real `emnify-auth` binary against the real
//! `emnify-sim` process, with the vault in the real keyring.

mod support;

use std::process::{Command, Output, Stdio};

use serde_json::Value;
use support::TestVault;
use support::sim::{NOMFA_PASSWORD, NOMFA_USER, Sim};

const AUTH: &str = "POST /api/v1/authenticate";
/// The simulator numbers new MFA keys from 1000 (the demo seed's key is 717).
const FIRST_NEW_KEY: u64 = 1000;

fn nomfa_profile(vault: &TestVault, sim: &Sim) {
    vault.ok(
        &[
            "profile",
            "add",
            "plain",
            "--api-url",
            &sim.url,
            "--username",
            NOMFA_USER,
            "--password-stdin",
        ],
        Some(NOMFA_PASSWORD),
    );
}

/// `emnify-auth ARGS` under `faketime -f OFFSET`, with the vault's environment.
fn faketime(vault: &TestVault, offset: &str, args: &[&str]) -> Output {
    support::require_tool("faketime");
    let base = vault.cli();
    let mut cmd = Command::new("faketime");
    // Only the wall clock moves (see `TestVault::cli` for why not the monotonic one).
    cmd.args(["--exclude-monotonic", "-f", offset])
        .arg(base.get_program())
        .args(args);
    for (key, value) in base.get_envs() {
        match value {
            Some(value) => cmd.env(key, value),
            None => cmd.env_remove(key),
        };
    }
    cmd.stdin(Stdio::null()).output().expect("run faketime")
}

fn json_of(vault: &TestVault, args: &[&str]) -> Value {
    serde_json::from_str(&vault.ok(args, None)).unwrap()
}

fn mfa_keys(vault: &TestVault, profile: &str) -> Vec<Value> {
    json_of(vault, &["whoami", profile, "--json"])["mfa"]
        .as_array()
        .unwrap()
        .clone()
}

fn linked_account(vault: &TestVault, profile: &str) -> Value {
    let profiles = json_of(vault, &["profile", "list", "--json"]);
    profiles
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == profile)
        .unwrap()["otp_account"]
        .clone()
}

/// The keyring holds nothing but the profile's own entries (no account key).
fn assert_no_account_keys(vault: &TestVault) {
    for line in vault.keyring_snapshot() {
        if let Some(user) = line.strip_prefix("attribute.username = ") {
            assert!(
                user.starts_with("profile:") || user.starts_with("installation:"),
                "unexpected keyring entry {user}"
            );
        }
    }
}

#[test]
fn enrolling_activates_the_key_and_the_next_login_answers_mfa_from_the_vault() {
    let sim = Sim::start();
    let vault = TestVault::new("enroll");
    nomfa_profile(&vault, &sim);
    assert_eq!(mfa_keys(&vault, "plain"), Vec::<Value>::new());

    let enroll = vault.run(&["mfa", "enroll", "plain"], None);
    let enroll_out = String::from_utf8(enroll.stdout).unwrap();
    let enroll_err = String::from_utf8(enroll.stderr).unwrap();
    assert!(enroll.status.success(), "{enroll_err}");
    assert!(
        enroll_out.contains(&format!("enrolled MFA key {FIRST_NEW_KEY}")),
        "{enroll_out}"
    );

    // The simulator's key is active.
    let keys = mfa_keys(&vault, "plain");
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["id"], FIRST_NEW_KEY);
    assert_eq!(keys[0]["status"]["id"], 1);
    // The vault holds it as "emnify: nomfa@example.com", linked to the profile.
    let accounts = json_of(&vault, &["list", "--json"]);
    let accounts = accounts.as_array().unwrap();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0]["issuer"], "emnify");
    assert_eq!(accounts[0]["label"], NOMFA_USER);
    assert_eq!(
        linked_account(&vault, "plain"),
        format!("emnify: {NOMFA_USER}")
    );

    // The secret is in the keyring and nowhere else.
    let id = accounts[0]["id"].as_str().unwrap();
    let secret = vault.keyring_lookup(id).expect("the key is in the keyring");
    assert!(secret.len() >= 16, "a Base32 key");
    assert!(!enroll_out.contains(&secret) && !enroll_err.contains(&secret));
    for (path, bytes) in vault.files_snapshot() {
        assert!(
            !String::from_utf8_lossy(&bytes).contains(&secret),
            "{} holds the secret",
            path.display()
        );
    }

    // The next login needs MFA and answers it from the vault. The activation used this
    // 30 s step's code, which the server takes only once: move both clocks on a step.
    sim.advance(30);
    let before = sim.count(AUTH);
    let login = faketime(&vault, "+30s", &["login", "plain"]);
    let login_out = String::from_utf8(login.stdout).unwrap();
    let login_err = String::from_utf8(login.stderr).unwrap();
    assert!(login.status.success(), "{login_err}");
    assert!(
        login_out.contains("MFA code") && login_out.contains("2 requests"),
        "{login_out}"
    );
    assert_eq!(sim.count(AUTH), before + 2);
    assert!(!login_out.contains(&secret) && !login_err.contains(&secret));

    // A second enrollment is refused while the key is active.
    let line = vault.fails(&["mfa", "enroll", "plain"], None);
    assert!(line.contains("already has an active MFA key"), "{line}");
    let listed = vault.ok(&["mfa", "list", "plain"], None);
    assert!(
        listed.contains(&format!("{FIRST_NEW_KEY}  Active")),
        "{listed}"
    );
}

fn assert_nothing_half_enrolled(vault: &TestVault, sim: &Sim) {
    assert_eq!(
        mfa_keys(vault, "plain"),
        Vec::<Value>::new(),
        "no pending key"
    );
    assert_eq!(
        json_of(vault, &["list", "--json"]),
        Value::Array(Vec::new()),
        "no account"
    );
    assert_eq!(linked_account(vault, "plain"), Value::Null);
    assert_no_account_keys(vault);
    assert_eq!(
        sim.count(&format!("DELETE /api/v1/user/my/mfa/{FIRST_NEW_KEY}")),
        1
    );
    // MFA stays off: a login is one request.
    let out = vault.ok(&["login", "plain"], None);
    assert!(out.contains("1 request"), "{out}");
}

#[test]
fn a_wrong_activation_code_leaves_no_key_and_no_account() {
    let sim = Sim::start();
    let vault = TestVault::new("enrollclock");
    nomfa_profile(&vault, &sim);
    // Ten minutes off: the activation code is outside the server's window.
    let out = faketime(&vault, "-600s", &["mfa", "enroll", "plain"]);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&format!("activating MFA key {FIRST_NEW_KEY} failed"))
            && stderr.contains("nothing changed")
            && stderr.contains("clock"),
        "{stderr}"
    );
    assert_nothing_half_enrolled(&vault, &sim);
}

#[test]
fn a_server_error_on_activation_leaves_no_key_and_no_account() {
    let sim = Sim::start();
    let vault = TestVault::new("enroll500");
    nomfa_profile(&vault, &sim);
    let fault = serde_json::json!({
        "path": format!("/api/v1/user/mfa/{FIRST_NEW_KEY}"), "kind": "status500", "method": "PATCH"
    });
    let (status, _) = sim.request("POST", "/_sim/fault", Some(&fault));
    assert_eq!(status, 200);
    let line = vault.fails(&["mfa", "enroll", "plain"], None);
    assert!(
        line.contains(&format!("activating MFA key {FIRST_NEW_KEY} failed"))
            && line.contains("500"),
        "{line}"
    );
    assert_nothing_half_enrolled(&vault, &sim);
}

#[test]
fn removing_an_enrolled_key_can_remove_its_account_too() {
    let sim = Sim::start();
    let vault = TestVault::new("mfaremove");
    nomfa_profile(&vault, &sim);
    vault.ok(&["mfa", "enroll", "plain"], None);
    let key = FIRST_NEW_KEY.to_string();
    // No terminal to ask: refused without --yes.
    let line = vault.fails(&["mfa", "remove", "plain", &key], None);
    assert!(line.contains("--yes"), "{line}");
    assert_eq!(mfa_keys(&vault, "plain").len(), 1);

    let out = vault.ok(
        &["mfa", "remove", "plain", &key, "--yes", "--remove-account"],
        None,
    );
    assert!(out.contains(&format!("deleted MFA key {key}")), "{out}");
    assert!(out.contains("held this key's secret"), "{out}");
    assert!(out.contains("removed the account"), "{out}");
    assert_eq!(mfa_keys(&vault, "plain"), Vec::<Value>::new());
    assert_eq!(
        json_of(&vault, &["list", "--json"]),
        Value::Array(Vec::new())
    );
    assert_eq!(linked_account(&vault, "plain"), Value::Null);
    assert_no_account_keys(&vault);

    let line = vault.fails(&["mfa", "remove", "plain", &key, "--yes"], None);
    assert!(line.contains(&format!("has no MFA key {key}")), "{line}");
}

#[test]
fn the_demo_key_is_removed_and_its_likely_account_kept() {
    let sim = Sim::start();
    let vault = TestVault::new("mfademo");
    vault.add_demo_profile(&sim, "prod", &[]);
    let line = vault.fails(&["mfa", "enroll", "prod"], None);
    assert!(line.contains("already has an active MFA key"), "{line}");
    let out = vault.ok(
        &["mfa", "remove", "prod", "717", "--yes", "--keep-account"],
        None,
    );
    assert!(out.contains("most likely held"), "{out}");
    assert!(out.contains("kept the account"), "{out}");
    assert_eq!(
        json_of(&vault, &["list", "--json"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn application_token_profiles_have_no_mfa_keys() {
    let sim = Sim::start();
    let vault = TestVault::new("mfaapp");
    vault.add_app_token_profile(&sim, "ci");
    let before = sim.total();
    let line = vault.fails(&["mfa", "enroll", "ci"], None);
    assert!(line.contains("application token"), "{line}");
    assert_eq!(sim.total(), before);
}
