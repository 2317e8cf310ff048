//! Trusted devices through the real `emnify-auth` binary against the real `emnify-sim`
//! process, with both clocks moved: the simulator's through its admin route, the CLI's
//! by running it under `faketime` with the same offset (so TOTP codes still match).

mod support;

use serde_json::{Value, json};
use support::TestVault;
use support::sim::{DEMO_PASSWORD, DEMO_TOTP, DEMO_USER, NOMFA_PASSWORD, NOMFA_USER, Sim};

const AUTH: &str = "POST /api/v1/authenticate";
const DAY: u64 = 24 * 60 * 60;
const LIST: &str = "/api/v1/user/my/mfa/trusted_device";

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Moves the simulator's and the CLI's clocks forward together.
struct Clocks<'a> {
    sim: &'a Sim,
    vault: &'a TestVault,
    offset: u64,
}

impl<'a> Clocks<'a> {
    fn new(sim: &'a Sim, vault: &'a TestVault) -> Self {
        Self {
            sim,
            vault,
            offset: 0,
        }
    }

    fn advance(&mut self, seconds: u64) {
        self.sim.advance(seconds);
        self.offset += seconds;
        self.vault.set_clock_offset(self.offset);
    }

    /// The simulator's (and the CLI's) time now.
    fn now(&self) -> u64 {
        now() + self.offset
    }
}

fn devices(vault: &TestVault, args: &[&str]) -> Value {
    let mut all = vec!["devices"];
    all.extend_from_slice(args);
    all.push("--json");
    json(&vault.ok(&all, None))
}

fn own(list: &Value) -> Value {
    list["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["this_installation"] == true)
        .cloned()
        .unwrap_or_else(|| panic!("no own device in {list}"))
}

fn by_id(list: &Value, id: u64) -> Option<Value> {
    list["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == id)
        .cloned()
}

/// The ids the simulator lists for the demo user, asked with the CLI's token.
fn server_ids(sim: &Sim, vault: &TestVault) -> Vec<u64> {
    let token = vault.ok(&["token", "prod"], None);
    let (status, body) = sim.request_as("GET", LIST, token.trim(), None);
    assert_eq!(status, 200, "{body}");
    json(&body)
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_u64().unwrap())
        .collect()
}

fn totp(at: u64) -> String {
    support::oathtool(DEMO_TOTP, Some(at))
}

/// Another client (a browser on a Mac) logs in with MFA and asks to be trusted.
fn trust_another_client(sim: &Sim, at: u64) {
    let sha1 = "3ce8d030d416d4d7d8c96b6ee19c8da70c15ee4e"; // of DEMO_PASSWORD
    let (status, body) = sim.request_as(
        "POST",
        "/api/v1/authenticate",
        "",
        Some(&json!({"username": DEMO_USER, "password": sha1})),
    );
    assert_eq!(status, 200, "{body}");
    let mfa_token = json(&body)["mfa_token"].as_str().unwrap().to_owned();
    let (status, body) = sim.request_as(
        "POST",
        "/api/v1/authenticate",
        "",
        Some(&json!({
            "mfa_token": mfa_token,
            "code": totp(at),
            "trusted_device": {"fingerprint": "another-client-fingerprint",
                               "operating_system": "macOS 15", "browser": "Safari 18"},
        })),
    );
    assert_eq!(status, 200, "{body}");
}

#[test]
fn a_trust_lives_ninety_days_warns_before_and_is_renewed_with_mfa_after() {
    let sim = Sim::start();
    let vault = TestVault::new("devlife");
    let mut clocks = Clocks::new(&sim, &vault);
    vault.add_demo_profile(&sim, "prod", &["--trust-device"]);

    // Day 0: an MFA login with trust.
    let out = vault.ok(&["login", "prod"], None);
    assert!(out.contains("trusted device until"), "{out}");
    assert_eq!(sim.count(AUTH), 2);
    let list = devices(&vault, &["prod"]);
    let mine = own(&list);
    assert_eq!(mine["days_left"], 90);
    assert_eq!(mine["state"], "active");
    assert_eq!(mine["id"], Value::Null, "not synced yet");
    assert_eq!(list["last_sync"], Value::Null);
    let table = vault.ok(&["devices", "prod"], None);
    assert!(
        table.contains("(this installation)") && table.contains("90") && table.contains("active"),
        "{table}"
    );
    assert!(table.contains("devices sync prod"), "{table}");

    // The sync finds our id and the two devices the seed trusted from elsewhere.
    let synced = devices(&vault, &["sync", "prod"]);
    let my_id = synced["sync"]["this_installation"]
        .as_u64()
        .expect("own id");
    assert_eq!(synced["sync"]["new_elsewhere"], json!([41, 42]));
    let list = &synced["list"];
    assert_eq!(own(list)["id"], my_id);
    assert!(list["last_sync"].as_u64().unwrap() >= clocks.now() - 5);
    for (id, days_ago, left) in [(41, 80, 10), (42, 12, 78)] {
        let device = by_id(list, id).unwrap();
        let trusted_at = device["trusted_at"].as_u64().unwrap();
        let expected = clocks.now() - days_ago * DAY;
        assert!(trusted_at.abs_diff(expected) <= 5, "{device}");
        assert_eq!(
            device["expires_at"].as_u64().unwrap(),
            trusted_at + 90 * DAY
        );
        assert_eq!(device["days_left"], left, "{device}");
        assert_eq!(device["state"], "active");
        assert_eq!(device["this_installation"], false);
    }
    let table = vault.ok(&["devices", "prod"], None);
    assert!(
        table.contains("Windows 11, Microsoft Edge") && table.contains("last synced"),
        "{table}"
    );

    // Day 84: six days left, so expiring; the login still skips MFA.
    clocks.advance(84 * DAY);
    let list = devices(&vault, &["prod"]);
    let mine = own(&list);
    assert_eq!(mine["state"], "expiring", "{mine}");
    assert_eq!(mine["days_left"], 6);
    // The seed's devices lapsed on days 10 and 78.
    assert_eq!(by_id(&list, 41).unwrap()["state"], "expired");
    assert_eq!(by_id(&list, 42).unwrap()["state"], "expired");
    // A shorter warning period, given on the command line or stored.
    assert_eq!(
        own(&devices(&vault, &["prod", "--warn-days", "5"]))["state"],
        "active"
    );
    vault.ok(&["devices", "warn-days", "5"], None);
    assert_eq!(own(&devices(&vault, &["list", "prod"]))["state"], "active");
    assert!(
        devices(&vault, &["expiring"])
            .as_array()
            .unwrap()
            .is_empty()
    );
    vault.ok(&["devices", "warn-days", "--default"], None);
    let soon = devices(&vault, &["expiring"]);
    assert_eq!(soon.as_array().unwrap().len(), 1, "{soon}");
    assert_eq!(soon[0]["this_installation"], true);
    assert_eq!(soon[0]["profile_name"], "prod");

    let before = sim.count(AUTH);
    let out = vault.ok(&["login", "prod"], None);
    assert!(
        out.contains("trusted device") && out.contains("1 request"),
        "{out}"
    );
    assert_eq!(sim.count(AUTH), before + 1);
    // 41 and 42 lapsed at the API: after a sync they are expired, not revoked.
    let synced = devices(&vault, &["sync", "prod"]);
    assert_eq!(synced["sync"]["listed"], 1, "{synced}");
    assert_eq!(synced["sync"]["revoked_elsewhere"], json!([]));
    assert_eq!(by_id(&synced["list"], 41).unwrap()["state"], "expired");
    assert_eq!(by_id(&synced["list"], 42).unwrap()["state"], "expired");
    assert_eq!(own(&synced["list"])["state"], "expiring");

    // Day 91: expired; the next login needs MFA again and records a fresh trust.
    clocks.advance(7 * DAY);
    let mine = own(&devices(&vault, &["prod"]));
    assert_eq!(mine["state"], "expired", "{mine}");
    assert_eq!(mine["days_left"], -1);
    let before = sim.count(AUTH);
    let out = vault.ok(&["login", "prod"], None);
    assert!(
        out.contains("MFA code") && out.contains("trusted device until"),
        "{out}"
    );
    assert_eq!(sim.count(AUTH), before + 2);
    let mine = own(&devices(&vault, &["prod"]));
    assert_eq!(mine["state"], "active");
    assert_eq!(mine["days_left"], 90);
    assert!(mine["trusted_at"].as_u64().unwrap() >= clocks.now() - 5);
    let synced = devices(&vault, &["sync", "prod"]);
    let new_id = synced["sync"]["this_installation"].as_u64().unwrap();
    assert_ne!(
        new_id, my_id,
        "the API trusts the renewed device under a new id"
    );
}

#[test]
fn devices_from_elsewhere_appear_after_a_sync_and_revoking_removes_them() {
    let sim = Sim::start();
    let vault = TestVault::new("devrevoke");
    let mut clocks = Clocks::new(&sim, &vault);
    vault.add_demo_profile(&sim, "prod", &["--trust-device"]);
    vault.ok(&["login", "prod"], None);
    devices(&vault, &["sync", "prod"]);

    // A browser on a Mac is trusted by another client (a code of a later step: the
    // simulator accepts each code once).
    clocks.advance(60);
    trust_another_client(&sim, clocks.now());
    let synced = devices(&vault, &["sync", "prod"]);
    let new: Vec<u64> = synced["sync"]["new_elsewhere"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(new.len(), 1, "{synced}");
    let mac = by_id(&synced["list"], new[0]).unwrap();
    assert_eq!(mac["operating_system"], "macOS 15");
    assert_eq!(mac["browser"], "Safari 18");
    assert_eq!(mac["days_left"], 90);
    assert!(
        mac["expires_at"]
            .as_u64()
            .unwrap()
            .abs_diff(clocks.now() + 90 * DAY)
            <= 5,
        "{mac}"
    );

    // Without a terminal and without --yes nothing is revoked.
    let line = vault.fails(&["devices", "revoke", "prod", &new[0].to_string()], None);
    assert!(line.contains("--yes"), "{line}");
    let delete = format!("DELETE {LIST}/{}", new[0]);
    assert_eq!(sim.count(&delete), 0);

    let out = vault.ok(
        &["devices", "revoke", "prod", &new[0].to_string(), "--yes"],
        None,
    );
    assert!(
        out.contains("revoked device") && out.contains("Safari"),
        "{out}"
    );
    assert!(!server_ids(&sim, &vault).contains(&new[0]));
    let list = devices(&vault, &["prod"]);
    assert_eq!(by_id(&list, new[0]).unwrap()["state"], "revoked");
    assert_eq!(own(&list)["state"], "active", "ours is untouched");
    // Revoked is final: nothing to revoke any more.
    let line = vault.fails(
        &["devices", "revoke", "prod", &new[0].to_string(), "--yes"],
        None,
    );
    assert!(line.contains("already revoked"), "{line}");

    // Revoked in the Portal (straight at the API): the next sync marks it revoked.
    let token = vault.ok(&["token", "prod"], None);
    let (status, _) = sim.request_as("DELETE", &format!("{LIST}/41"), token.trim(), None);
    assert_eq!(status, 204);
    let synced = devices(&vault, &["sync", "prod"]);
    assert_eq!(synced["sync"]["revoked_elsewhere"], json!([41]));
    assert_eq!(by_id(&synced["list"], 41).unwrap()["state"], "revoked");

    // An id the API never had.
    let line = vault.fails(&["devices", "revoke", "prod", "999", "--yes"], None);
    assert!(line.contains("no trusted device 999"), "{line}");
    // A seed device not stored yet is found by the sync that revoking does first.
    assert!(server_ids(&sim, &vault).contains(&42));
    let out = vault.ok(
        &["devices", "revoke", "prod", "42", "--yes", "--json"],
        None,
    );
    assert_eq!(json(&out)["already_gone"], false);
    assert!(!server_ids(&sim, &vault).contains(&42));
}

#[test]
fn revoking_this_installation_makes_the_next_login_ask_for_mfa() {
    let sim = Sim::start();
    let vault = TestVault::new("devthis");
    let mut clocks = Clocks::new(&sim, &vault);
    vault.add_demo_profile(&sim, "prod", &["--trust-device"]);
    vault.ok(&["login", "prod"], None);
    vault.ok(&["logout", "prod"], None);
    // Trusted: the fingerprint skips MFA.
    let before = sim.count(AUTH);
    vault.ok(&["login", "prod"], None);
    assert_eq!(sim.count(AUTH), before + 1);

    let out = vault.ok(&["devices", "revoke", "prod", "this", "--yes"], None);
    assert!(
        out.contains("revoked this installation") && out.contains("asks for an MFA code"),
        "{out}"
    );
    let list = devices(&vault, &["prod"]);
    let mine = own(&list);
    assert_eq!(mine["state"], "revoked");
    let my_id = mine["id"].as_u64().unwrap();
    assert!(!server_ids(&sim, &vault).contains(&my_id));
    let line = vault.fails(&["devices", "revoke", "prod", "this", "--yes"], None);
    assert!(line.contains("already revoked"), "{line}");

    // The next login goes through MFA (a later code step) and trusts the device anew.
    clocks.advance(60);
    let before = sim.count(AUTH);
    let out = vault.ok(&["login", "prod"], None);
    assert!(out.contains("MFA code"), "{out}");
    assert_eq!(sim.count(AUTH), before + 2);
    let mine = own(&devices(&vault, &["prod"]));
    assert_eq!(mine["state"], "active");
    assert_eq!(mine["days_left"], 90);

    // Revoked at the API by someone else: the sync notices, and the login asks for MFA.
    let synced = devices(&vault, &["sync", "prod"]);
    let my_id = synced["sync"]["this_installation"].as_u64().unwrap();
    let token = vault.ok(&["token", "prod"], None);
    let (status, _) = sim.request_as("DELETE", &format!("{LIST}/{my_id}"), token.trim(), None);
    assert_eq!(status, 204);
    let out = vault.ok(&["devices", "sync", "prod"], None);
    assert!(out.contains("no longer at the emnify API"), "{out}");
    assert_eq!(own(&devices(&vault, &["prod"]))["state"], "revoked");
    clocks.advance(60);
    let before = sim.count(AUTH);
    vault.ok(&["login", "prod"], None);
    assert_eq!(sim.count(AUTH), before + 2);
}

#[test]
fn application_token_profiles_have_no_devices() {
    let sim = Sim::start();
    let vault = TestVault::new("devapp");
    vault.add_app_token_profile(&sim, "ci");
    for args in [
        &["devices", "ci"][..],
        &["devices", "sync", "ci"],
        &["devices", "revoke", "ci", "41", "--yes"],
    ] {
        let line = vault.fails(args, None);
        assert!(line.contains("application token"), "{line}");
    }
    assert_eq!(sim.total(), 0);
}

/// Runs `args` expecting failure and proves that files, keyring and API saw nothing.
fn fails_and_changes_nothing(vault: &TestVault, sim: &Sim, args: &[&str], expect: &str) {
    let files = vault.files_snapshot();
    let keyring = vault.keyring_snapshot();
    let requests = sim.total();
    let line = vault.fails(args, None);
    assert!(line.contains(expect), "expected '{expect}' in: {line}");
    let path = vault.data_dir().join("vault.json");
    assert!(line.contains(&path.display().to_string()), "{line}");
    assert_eq!(vault.files_snapshot(), files, "files changed after: {line}");
    assert_eq!(vault.keyring_snapshot(), keyring, "keyring changed: {line}");
    assert_eq!(sim.total(), requests, "a request was made: {line}");
}

#[test]
fn damaged_device_records_are_reported_and_never_overwritten() {
    let sim = Sim::start();
    let vault = TestVault::new("devcorrupt");
    vault.add_demo_profile(&sim, "prod", &["--trust-device"]);
    vault.ok(&["login", "prod"], None);
    devices(&vault, &["sync", "prod"]);
    let file = vault.data_dir().join("vault.json");
    let good = std::fs::read_to_string(&file).unwrap();
    assert!(good.contains("\"devices\""), "{good}");

    // Cut off in the middle, and valid JSON with a device record of the wrong shape.
    let cut = &good[..good.find("\"elsewhere\"").unwrap() + 20];
    let mut shape: Value = json(&good);
    shape["devices"]["profiles"][0]["elsewhere"][0]["id"] = json!("forty-one");
    for damaged in [cut.to_owned(), shape.to_string()] {
        std::fs::write(&file, &damaged).unwrap();
        for args in [
            &["devices", "prod"][..],
            &["devices", "sync", "prod"],
            &["devices", "revoke", "prod", "41", "--yes"],
            &["devices", "revoke", "prod", "this", "--yes"],
            &["devices", "warn-days", "3"],
            &["devices", "expiring"],
            &["login", "prod"],
        ] {
            fails_and_changes_nothing(&vault, &sim, args, "damaged");
        }
        assert_eq!(std::fs::read_to_string(&file).unwrap(), damaged);
    }
}

#[test]
fn concurrent_device_writes_lose_no_update() {
    let sim = Sim::start();
    let vault = TestVault::new("devconcurrent");
    vault.add_demo_profile(&sim, "prod", &["--trust-device"]);
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
    vault.ok(&["login", "prod"], None);
    vault.ok(&["login", "plain"], None);

    let mut runs: Vec<Vec<String>> = vec![
        vec!["devices".into(), "sync".into(), "prod".into()],
        vec!["devices".into(), "sync".into(), "plain".into()],
        vec![
            "devices".into(),
            "revoke".into(),
            "prod".into(),
            "42".into(),
            "--yes".into(),
        ],
        vec!["devices".into(), "warn-days".into(), "12".into()],
        vec!["devices".into(), "sync".into(), "prod".into()],
    ];
    for i in 0..4u8 {
        let bytes: Vec<u8> = (0..20u8)
            .map(|j| {
                i.wrapping_mul(37)
                    .wrapping_add(j.wrapping_mul(11))
                    .wrapping_add(3)
            })
            .collect();
        runs.push(vec![
            "add".into(),
            "--secret".into(),
            data_encoding::BASE32_NOPAD.encode(&bytes),
            "--label".into(),
            format!("acct{i}"),
        ]);
    }
    let children: Vec<_> = runs
        .iter()
        .map(|args| {
            vault
                .cli()
                .args(args)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for (child, args) in children.into_iter().zip(&runs) {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let doc = json(&std::fs::read_to_string(vault.data_dir().join("vault.json")).unwrap());
    assert_eq!(doc["accounts"].as_array().unwrap().len(), 5, "{doc}");
    assert_eq!(doc["settings"]["device_warning_days"], 12);
    let list = devices(&vault, &["prod"]);
    assert_eq!(list["warn_days"], 12);
    assert!(list["last_sync"].is_u64());
    assert!(own(&list)["id"].is_u64(), "{list}");
    // 10 days left and the stored 12-day warning period: expiring.
    assert_eq!(by_id(&list, 41).unwrap()["state"], "expiring");
    assert_eq!(by_id(&list, 42).unwrap()["state"], "revoked", "{list}");
    assert!(!server_ids(&sim, &vault).contains(&42));
    let plain = devices(&vault, &["plain"]);
    assert!(plain["last_sync"].is_u64(), "{plain}");
    assert!(plain["devices"].as_array().unwrap().is_empty());
}

/// A whole device session; every output and file is searched for every secret.
#[test]
fn no_secret_reaches_device_output_or_files() {
    let sim = Sim::start();
    let vault = TestVault::new("devsecret");
    vault.add_demo_profile(&sim, "prod", &["--trust-device"]);
    let mut outputs = String::new();
    for args in [
        &["login", "prod"][..],
        &["devices", "prod"],
        &["devices", "prod", "--json"],
        &["devices", "sync", "prod"],
        &["devices", "sync", "prod", "--json"],
        &["devices", "expiring", "--json", "--warn-days", "90"],
        &["devices", "revoke", "prod", "41", "--yes", "--json"],
        &["devices", "revoke", "prod", "this", "--yes"],
        &["devices", "prod", "--json"],
    ] {
        let out = vault.run(args, None);
        assert!(out.status.success(), "{args:?}");
        outputs.push_str(&String::from_utf8_lossy(&out.stdout));
        outputs.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    let token = vault.ok(&["token", "prod"], None);
    let id = json(&vault.ok(&["profile", "list", "--json"], None))[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let refresh = vault
        .keyring_lookup(&format!("profile:{id}:refresh-token"))
        .expect("refresh token");
    let fingerprint = vault
        .keyring_lookup("installation:fingerprint")
        .expect("fingerprint");
    let files = vault.files_snapshot();
    let metadata = std::fs::read_to_string(vault.data_dir().join("vault.json")).unwrap();
    assert!(
        metadata.contains("\"fingerprint_key\": \"installation:fingerprint\""),
        "the record names the keyring entry: {metadata}"
    );
    for secret in [
        DEMO_TOTP,
        DEMO_PASSWORD,
        "3ce8d030d416d4d7d8c96b6ee19c8da70c15ee4e",
        token.trim(),
        refresh.as_str(),
        fingerprint.as_str(),
    ] {
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
