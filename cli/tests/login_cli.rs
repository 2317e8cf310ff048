//! The one-click login through the real `emnify-auth` binary against the real
//! `emnify-sim` process over HTTP, with the vault in the real keyring.

mod support;

use base64::Engine;
use serde_json::Value;
use support::TestVault;
use support::sim::{
    APP_TOKEN, DEMO_PASSWORD, DEMO_TOTP, DEMO_USER, NOMFA_PASSWORD, NOMFA_USER, Sim,
};

const AUTH: &str = "POST /api/v1/authenticate";

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn claims(jwt: &str) -> Value {
    let payload = jwt.trim().split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn nomfa_profile(vault: &TestVault, sim: &Sim, name: &str) {
    vault.ok(
        &[
            "profile",
            "add",
            name,
            "--api-url",
            &sim.url,
            "--username",
            NOMFA_USER,
            "--password-stdin",
        ],
        Some(NOMFA_PASSWORD),
    );
}

#[test]
fn login_without_mfa_is_one_request() {
    let sim = Sim::start();
    let vault = TestVault::new("nomfa");
    nomfa_profile(&vault, &sim, "plain");
    let out = vault.ok(&["login", "plain"], None);
    assert!(out.contains("1 request"), "{out}");
    assert_eq!(sim.count(AUTH), 1);
}

#[test]
fn login_with_mfa_from_the_vault_is_two_requests() {
    let sim = Sim::start();
    let vault = TestVault::new("mfa");
    vault.add_demo_profile(&sim, "prod", &[]);
    let out = vault.ok(&["login", "prod"], None);
    assert!(
        out.contains("MFA code") && out.contains("2 requests"),
        "{out}"
    );
    assert_eq!(sim.count(AUTH), 2);
    let user: Value = serde_json::from_str(&vault.ok(&["whoami", "prod", "--json"], None)).unwrap();
    assert_eq!(user["username"], DEMO_USER);
}

#[test]
fn a_trusted_installation_skips_mfa() {
    let sim = Sim::start();
    let vault = TestVault::new("trusted");
    vault.add_demo_profile(&sim, "prod", &["--trust-device"]);
    let out = vault.ok(&["login", "prod"], None);
    assert!(out.contains("trusted device until"), "{out}");
    assert_eq!(sim.count(AUTH), 2);
    vault.ok(&["logout", "prod"], None);
    let out = vault.ok(&["login", "prod"], None);
    assert!(
        out.contains("trusted device") && out.contains("1 request"),
        "{out}"
    );
    assert_eq!(sim.count(AUTH), 3);
    let devices = sim.request("GET", "/api/v1/user/my/mfa/trusted_device", None);
    // Without a token the device list is refused: the fingerprint alone grants nothing.
    assert_eq!(devices.0, 401);
}

#[test]
fn token_prints_a_fresh_jwt_and_the_second_call_makes_no_request() {
    let sim = Sim::start();
    let vault = TestVault::new("token");
    vault.add_demo_profile(&sim, "prod", &[]);
    let token = vault.ok(&["token", "prod"], None);
    assert_eq!(token.trim().lines().count(), 1);
    let exp = claims(&token)["exp"].as_u64().unwrap();
    assert!(exp > now() + 3600, "exp {exp}");
    let requests = sim.total();
    let again = vault.ok(&["token", "prod"], None);
    assert_eq!(again, token);
    assert_eq!(sim.total(), requests, "a cached token needs no request");
}

#[test]
fn an_expired_auth_token_is_refreshed_transparently() {
    let sim = Sim::start();
    let vault = TestVault::new("refresh");
    vault.add_demo_profile(&sim, "prod", &[]);
    vault.ok(&["login", "prod"], None);
    sim.advance(241 * 60);
    let before = sim.count(AUTH);
    vault.ok(&["whoami", "prod"], None);
    // GET refused (401) → one refresh → GET again: no new login.
    assert_eq!(sim.count(AUTH), before + 1);
    assert_eq!(sim.count("GET /api/v1/user/my"), 2);
}

#[test]
fn an_expired_refresh_token_falls_back_to_a_full_login() {
    let sim = Sim::start();
    let vault = TestVault::new("fulllogin");
    nomfa_profile(&vault, &sim, "plain");
    vault.ok(&["login", "plain"], None);
    sim.advance(351 * 60);
    let before = sim.count(AUTH);
    vault.ok(&["whoami", "plain"], None);
    // The refresh token is refused (expired at the server), then a full login follows.
    assert_eq!(sim.count(AUTH), before + 2);
    assert_eq!(sim.count("GET /api/v1/user/my"), 2);
}

#[test]
fn three_wrong_codes_lock_and_no_fourth_request_is_made() {
    let sim = Sim::start();
    let vault = TestVault::new("lockout");
    // The profile is linked to an account with the wrong key (a 5 s period keeps the
    // wait for a not-yet-rejected code step short).
    vault.ok(
        &[
            "add",
            "--secret",
            "JBSWY3DPEHPK3PXP",
            "--label",
            "wrong",
            "--period",
            "5",
        ],
        None,
    );
    vault.ok(
        &[
            "profile",
            "add",
            "prod",
            "--api-url",
            &sim.url,
            "--username",
            DEMO_USER,
            "--password-stdin",
            "--otp",
            "wrong",
        ],
        Some(DEMO_PASSWORD),
    );
    for failures in 1..=2 {
        let line = vault.fails(&["login", "prod"], None);
        assert!(line.contains("refused the MFA code"), "{line}");
        assert!(
            line.contains(&format!("{failures} failed attempt")),
            "{line}"
        );
    }
    // The third failure would lock the account: not without the user asking.
    let before = sim.total();
    let line = vault.fails(&["login", "prod"], None);
    assert!(line.contains("--force"), "{line}");
    assert_eq!(sim.total(), before, "no request without --force");

    let line = vault.fails(&["login", "prod", "--force"], None);
    assert!(line.contains("locked") && line.contains("UTC"), "{line}");
    // The end of the lockout is reported: five minutes from now.
    let expected = now() + 300;
    let stamps: Vec<String> = (expected - 5..=expected + 1)
        .map(support::format_utc_time)
        .collect();
    assert!(
        stamps.iter().any(|s| line.contains(s.as_str())),
        "{line}; expected one of {stamps:?}"
    );
    let before = sim.total();
    let line = vault.fails(&["login", "prod", "--force"], None);
    assert!(line.contains("locked"), "{line}");
    assert_eq!(sim.total(), before, "no request while locked");
}

#[test]
fn rate_limit_is_a_clear_message() {
    let sim = Sim::start();
    let vault = TestVault::new("ratelimit");
    nomfa_profile(&vault, &sim, "plain");
    let body = serde_json::json!({"application_token": APP_TOKEN});
    for _ in 0..100 {
        sim.request("POST", "/api/v1/authenticate", Some(&body));
    }
    let line = vault.fails(&["login", "plain"], None);
    assert!(
        line.contains("rate-limiting") && line.contains("try again in"),
        "{line}"
    );
}

#[test]
fn application_token_profiles_get_tokens() {
    let sim = Sim::start();
    let vault = TestVault::new("apptoken");
    vault.add_app_token_profile(&sim, "ci");
    let token = vault.ok(&["token", "ci"], None);
    assert!(claims(&token)["exp"].as_u64().unwrap() > now());
    let line = vault.fails(&["workspace", "switch", "ci", "5002"], None);
    assert!(line.contains("application token"), "{line}");
}

#[test]
fn workspace_switch_replaces_the_token() {
    let sim = Sim::start();
    let vault = TestVault::new("workspace");
    vault.add_demo_profile(&sim, "prod", &[]);
    let first = vault.ok(&["token", "prod"], None);
    let out = vault.ok(&["workspace", "switch", "prod", "5002"], None);
    assert!(out.contains("5002"), "{out}");
    let second = vault.ok(&["token", "prod"], None);
    assert_ne!(first, second);
    let text = claims(&second).to_string();
    assert!(text.contains("5002"), "claims of the new token: {text}");
}

#[test]
fn broken_answers_are_clear_errors() {
    let sim = Sim::start();
    let vault = TestVault::new("faults");
    nomfa_profile(&vault, &sim, "plain");
    for (kind, expect) in [
        ("html", "an HTML page"),
        ("empty", "an empty body"),
        ("invalid_json", "invalid JSON"),
        ("drop", "connection was closed"),
    ] {
        sim.fault("/api/v1/authenticate", kind);
        let line = vault.fails(&["login", "plain"], None);
        assert!(line.contains(expect), "{kind}: {line}");
    }
    // And the next attempt works again.
    vault.ok(&["login", "plain"], None);
    // An unreachable API.
    drop(sim);
    let line = vault.fails(&["login", "plain"], None);
    assert!(line.contains("cannot reach the emnify API"), "{line}");
}

#[test]
fn plain_http_to_a_remote_host_is_refused() {
    let vault = TestVault::new("insecure");
    let line = vault.fails(
        &[
            "profile",
            "add",
            "x",
            "--api-url",
            "http://cdn.emnify.net",
            "--username",
            "u",
            "--password-stdin",
        ],
        Some("pw"),
    );
    assert!(line.contains("use https"), "{line}");
}

/// Runs a whole session and greps every output and every file for every secret.
#[test]
fn no_secret_reaches_output_or_files() {
    let sim = Sim::start();
    let vault = TestVault::new("nosecret");
    let mut outputs = String::new();
    let mut run = |args: &[&str], stdin: Option<&str>| {
        let out = vault.run(args, stdin);
        outputs.push_str(&String::from_utf8_lossy(&out.stdout));
        outputs.push_str(&String::from_utf8_lossy(&out.stderr));
    };
    run(
        &[
            "add", "--secret", "-", "--label", DEMO_USER, "--issuer", "emnify",
        ],
        Some(DEMO_TOTP),
    );
    run(
        &[
            "profile",
            "add",
            "prod",
            "--api-url",
            &sim.url,
            "--username",
            DEMO_USER,
            "--password-stdin",
            "--otp",
            "emnify",
            "--trust-device",
        ],
        Some(DEMO_PASSWORD),
    );
    run(&["login", "prod"], None);
    run(&["whoami", "prod"], None);
    run(&["profile", "list", "--json"], None);
    run(&["list", "--json"], None);
    run(&["code", "--json"], None);
    run(&["logout", "prod"], None);
    run(&["login", "prod"], None);
    let token = vault.ok(&["token", "prod"], None);

    let profiles: Value =
        serde_json::from_str(&vault.ok(&["profile", "list", "--json"], None)).unwrap();
    let id = profiles[0]["id"].as_str().unwrap();
    let refresh = vault
        .keyring_lookup(&format!("profile:{id}:refresh-token"))
        .expect("refresh token in the keyring");
    let fingerprint = vault
        .keyring_lookup("installation:fingerprint")
        .expect("fingerprint");
    let hash = "3ce8d030d416d4d7d8c96b6ee19c8da70c15ee4e";
    assert_eq!(
        vault
            .keyring_lookup(&format!("profile:{id}:password-sha1"))
            .as_deref(),
        Some(hash)
    );

    let secrets = [
        DEMO_TOTP,
        DEMO_PASSWORD,
        hash,
        token.trim(),
        refresh.as_str(),
        fingerprint.as_str(),
    ];
    let files = vault.files_snapshot();
    assert!(!files.is_empty());
    for secret in secrets {
        assert!(
            !outputs.contains(secret),
            "an output holds a secret: {outputs}"
        );
        for (path, bytes) in &files {
            assert!(
                !String::from_utf8_lossy(bytes).contains(secret),
                "{} holds a secret",
                path.display()
            );
        }
    }
}

#[test]
fn without_a_linked_account_the_code_is_asked_for() {
    let sim = Sim::start();
    let vault = TestVault::new("typed");
    vault.ok(
        &[
            "profile",
            "add",
            "prod",
            "--api-url",
            &sim.url,
            "--username",
            DEMO_USER,
            "--password-stdin",
        ],
        Some(DEMO_PASSWORD),
    );
    // No terminal and no --code-stdin: a clear error after the password step.
    let line = vault.fails(&["login", "prod"], None);
    assert!(line.contains("--code-stdin"), "{line}");
    // The code as a person would type it, from an independent generator.
    let code = support::oathtool(DEMO_TOTP, None);
    let out = vault.ok(&["login", "prod", "--code-stdin"], Some(&code));
    assert!(out.contains("MFA code"), "{out}");
}
