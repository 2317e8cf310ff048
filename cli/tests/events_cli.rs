//! Security events through the real `emnify-auth` binary against the real `emnify-sim`
//! process: failed logins with their IP, lockouts, deleted MFA keys and support access,
//! marked new once; IDaaS payload imports.

mod support;

use serde_json::{Value, json};
use support::TestVault;
use support::sim::{DEMO_USER, Sim};

/// Not the demo password's SHA-1.
const WRONG_SHA1: &str = "0000000000000000000000000000000000000000";

fn events_json(vault: &TestVault, args: &[&str]) -> Value {
    let mut all = vec!["events", "prod", "--json"];
    all.extend_from_slice(args);
    serde_json::from_str(&vault.ok(&all, None)).unwrap()
}

fn entries(listing: &Value) -> Vec<Value> {
    listing["events"].as_array().unwrap().clone()
}

fn of_type(entries: &[Value], event_type: u64) -> Vec<Value> {
    entries
        .iter()
        .filter(|e| e["event_type"] == event_type)
        .cloned()
        .collect()
}

#[test]
fn failed_logins_a_deleted_key_and_support_access_are_listed_and_new_only_once() {
    let sim = Sim::start();
    let vault = TestVault::new("events");
    vault.add_demo_profile(&sim, "prod", &[]);
    // A token first: the third wrong password locks the user for 5 minutes, and the
    // listing below must not need a login.
    vault.ok(&["login", "prod"], None);
    let wrong = json!({"username": DEMO_USER, "password": WRONG_SHA1});
    for _ in 0..3 {
        let (status, _) = sim.request("POST", "/api/v1/authenticate", Some(&wrong));
        assert_eq!(status, 401);
    }
    let removed = vault.ok(&["mfa", "remove", "prod", "717", "--yes"], None);
    assert!(removed.contains("deleted MFA key 717"), "{removed}");
    assert!(removed.contains("most likely held"), "{removed}");
    assert!(removed.contains("kept the account"), "{removed}");

    let text = vault.ok(&["events", "prod", "--new"], None);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines.iter().filter(|l| l.trim() == "IP 127.0.0.1").count() == 3,
        "{text}"
    );
    assert!(
        text.contains("failed login from an IP address not seen before: 127.0.0.1"),
        "{text}"
    );
    assert!(text.contains("too many failed attempts"), "{text}");
    assert!(text.contains("MFA key 717 was deleted"), "{text}");
    assert!(
        text.contains("emnify support (max.mustermann@emnify.com)"),
        "{text}"
    );
    assert!(text.contains("with the workspace's events"), "{text}");
    assert!(
        lines.iter().filter(|l| l.starts_with("NEW ")).count() >= 9,
        "{text}"
    );

    // Shown once: nothing is new any more.
    let again = events_json(&vault, &["--new"]);
    assert_eq!(entries(&again), Vec::<Value>::new());
    assert_eq!(again["unread"]["new"], 0);
    let text = vault.ok(&["events", "prod", "--new"], None);
    assert!(text.contains("no new events"), "{text}");

    // The full listing still has everything, none new, highlighted the same way.
    let all = entries(&events_json(&vault, &[]));
    assert!(all.iter().all(|e| e["is_new"] == false));
    let timestamps: Vec<u64> = all
        .iter()
        .map(|e| e["timestamp"].as_u64().unwrap())
        .collect();
    assert!(timestamps.windows(2).all(|w| w[0] >= w[1]), "newest first");
    let ours: Vec<Value> = of_type(&all, 6)
        .into_iter()
        .filter(|e| e["ips"] == json!(["127.0.0.1"]))
        .collect();
    assert_eq!(ours.len(), 3, "{all:#?}");
    assert_eq!(ours[0]["highlight"]["kind"], "too_many_failed_attempts");
    assert_eq!(ours[1]["highlight"], Value::Null);
    assert_eq!(ours[2]["highlight"]["kind"], "failed_login_from_new_ip");
    assert_eq!(ours[2]["highlight"]["ip"], "127.0.0.1");
    // The seeded failures from 198.51.100.23: only the first is from a new address.
    let seeded: Vec<Value> = of_type(&all, 6)
        .into_iter()
        .filter(|e| e["ips"] == json!(["198.51.100.23"]))
        .collect();
    assert_eq!(seeded.len(), 2);
    assert_eq!(seeded[0]["highlight"], Value::Null);
    assert_eq!(seeded[1]["highlight"]["kind"], "failed_login_from_new_ip");

    let deleted: Vec<Value> = of_type(&all, 14)
        .into_iter()
        .filter(|e| e["highlight"]["kind"] == "mfa_key_deleted")
        .collect();
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0]["highlight"]["key_id"], 717);
    let support = of_type(&all, 13);
    assert_eq!(support.len(), 1);
    assert_eq!(support[0]["highlight"]["kind"], "support_access");
    let detail = &support[0]["event"]["emnify"]["event"]["detail"];
    assert_eq!(detail["support_username"], "max.mustermann@emnify.com");
    assert_eq!(detail["target_username"], DEMO_USER);
    // The workspace's events are in (the other user's revoked application token).
    let app = of_type(&all, 7);
    assert_eq!(app.len(), 1);
    assert_eq!(app[0]["event"]["emnify"]["scope"], "workspace");
    assert_eq!(app[0]["ips"], json!(["203.0.113.40"]));

    // Filters: type and time span (the seeded MFA events are 25 days old).
    let recent = entries(&events_json(&vault, &["--type", "14", "--since", "1h"]));
    assert_eq!(recent.len(), 1, "{recent:#?}");
    assert_eq!(recent[0]["highlight"]["kind"], "mfa_key_deleted");
    let week = entries(&events_json(&vault, &["--since", "7d", "--type", "6,13"]));
    assert_eq!(week.len(), 6, "{week:#?}");
}

#[test]
fn bad_filters_are_one_line_errors() {
    let sim = Sim::start();
    let vault = TestVault::new("eventfilters");
    vault.add_demo_profile(&sim, "prod", &[]);
    let before = sim.total();
    let line = vault.fails(&["events", "prod", "--since", "5x"], None);
    assert!(line.contains("30m, 24h or 7d"), "{line}");
    let line = vault.fails(&["events", "prod", "--type", "6,3"], None);
    assert!(line.contains("event type 3"), "{line}");
    let line = vault.fails(&["events", "nosuch"], None);
    assert!(line.contains("no login profile named 'nosuch'"), "{line}");
    assert_eq!(sim.total(), before, "no request for a bad filter");
}

#[test]
fn idaas_payloads_are_imported_without_tokens_and_show_in_the_timeline() {
    let sim = Sim::start();
    let vault = TestVault::new("idaas");
    vault.add_demo_profile(&sim, "prod", &[]);
    let file = vault.dir.path().join("idaas.jsonl");
    let failed = json!({
        "id": "019adb89-0000-750e-90a3-e860c924aa30", "type": "authentication.failed",
        "accountId": "c8485a88-4fd0-4248-8dcd-fb4ac0749fb7", "eventTime": "2025-12-01T20:11:00Z",
        "data": {"subject": "f7475916", "subjectName": "john.smith", "subjectType": "USER",
                 "resourceName": "User Portal", "sourceIp": "203.0.113.9",
                 "token": "idaas-token-SECRET-one"}
    });
    let succeeded = json!({
        "id": "019adb89-60dd-750e-90a3-e860c924aa29", "type": "authentication.succeeded",
        "eventTime": "2025-12-01T20:10:04Z",
        "data": {"subjectName": "john.smith", "resourceName": "Administration Portal",
                 "sourceIp": "198.51.100.7", "token": "idaas-token-SECRET-two"}
    });
    let text = format!(
        "{failed}\n{{\"id\": \"broken\", \"type\": \"authentication.failed\", \"data\": {{\"token\": \"idaas-token-SECRET-three\"\n{succeeded}\n"
    );
    std::fs::write(&file, text).unwrap();
    let path = file.to_str().unwrap();

    let out = vault.run(&["events", "import-idaas", path], None);
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stdout.contains("imported 2 IDaaS"), "{stdout}");
    assert!(stderr.contains("skipped line 2"), "{stderr}");
    assert!(!format!("{stdout}{stderr}").contains("SECRET"));
    for (path, bytes) in vault.files_snapshot() {
        assert!(
            !String::from_utf8_lossy(&bytes).contains("SECRET"),
            "{} holds a token",
            path.display()
        );
    }
    let again = vault.ok(&["events", "import-idaas", path], None);
    assert!(
        again.contains("imported 0") && again.contains("2 already"),
        "{again}"
    );

    let all = entries(&events_json(&vault, &[]));
    let idaas: Vec<&Value> = all.iter().filter(|e| e["source"] == "idaas").collect();
    assert_eq!(idaas.len(), 2, "{all:#?}");
    assert!(idaas.iter().all(|e| e["is_new"] == true));
    // Newest first: the failure came after the success.
    assert_eq!(idaas[0]["title"], "IDaaS authentication failed");
    assert_eq!(idaas[0]["highlight"]["kind"], "failed_login_from_new_ip");
    assert_eq!(idaas[0]["user"], "john.smith");
    assert_eq!(idaas[1]["highlight"], Value::Null);
    let text = vault.ok(&["events", "prod"], None);
    assert!(
        text.contains("[IDaaS] IDaaS authentication failed"),
        "{text}"
    );
    assert!(!text.contains("SECRET"));
    // Type filters are about emnify types: IDaaS events are left out.
    let typed = entries(&events_json(&vault, &["--type", "6"]));
    assert!(typed.iter().all(|e| e["source"] == "emnify"));

    // A file with nothing usable is a one-line error naming the problem.
    let bad = vault.dir.path().join("bad.json");
    std::fs::write(&bad, "{\"id\": 1, \"type\": \"authentication.failed\"}\n").unwrap();
    let line = vault.fails(&["events", "import-idaas", bad.to_str().unwrap()], None);
    assert!(
        line.contains("line 1") && line.contains("eventTime"),
        "{line}"
    );
}
