//! Clock-drift correction through the real `emnify-auth` binary against the real
//! `emnify-sim` process, whose clock (and so its `Date` header and the codes it accepts)
//! runs 90 s ahead of this computer's.

mod support;

use serde_json::Value;
use support::TestVault;
use support::sim::{DEMO_TOTP, Sim};

const AUTH: &str = "POST /api/v1/authenticate";

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The simulator's clock (admin route), Unix seconds.
fn sim_now(sim: &Sim) -> u64 {
    let (status, body) = sim.request("GET", "/_sim/clock", None);
    assert_eq!(status, 200, "{body}");
    serde_json::from_str::<Value>(&body).unwrap()["unix"]
        .as_u64()
        .unwrap()
}

/// The demo key's code at `epoch`, from an independent generator.
fn oathtool_at(epoch: u64) -> String {
    support::oathtool(DEMO_TOTP, Some(epoch))
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn assert_about_90(offset: &Value) {
    let seconds = offset.as_i64().unwrap_or_else(|| panic!("{offset}"));
    assert!((88..=92).contains(&seconds), "offset {seconds}");
}

#[test]
fn with_emnify_90_s_ahead_a_login_succeeds_after_drift_correction() {
    support::require_tool("oathtool");
    let sim = Sim::start();
    sim.advance(90);
    let ahead = sim_now(&sim) as i64 - now() as i64;
    assert!((89..=91).contains(&ahead), "simulator ahead by {ahead} s");
    let vault = TestVault::new("drift");
    vault.add_demo_profile(&sim, "demo", &[]);

    // Correction off (the default): the login stops after the password step and says
    // why and what to do; no code was sent, so no failure counts toward the lockout.
    let line = vault.fails(&["login", "demo"], None);
    assert!(
        line.contains("s behind emnify's")
            && line.contains("none was sent")
            && line.contains("emnify-auth clock correct on")
            && line.contains("NTP"),
        "{line}"
    );
    assert_eq!(sim.count(AUTH), 1, "only the password step reached the API");
    let profiles = json(&vault.ok(&["profile", "list", "--json"], None));
    assert_eq!(profiles[0]["consecutive_failures"], 0);

    // The offset was recorded from the simulator's Date header.
    let clock = json(&vault.ok(&["clock", "--json"], None));
    assert_about_90(&clock["offset_seconds"]);
    assert_eq!(clock["source"], "127.0.0.1");
    assert_eq!(clock["correction"], false);
    assert_eq!(clock["warning"], true);
    assert!(clock["measured_at"].as_u64().unwrap().abs_diff(now()) <= 5);
    let text = vault.ok(&["clock"], None);
    assert!(
        text.contains("offset: +9")
            && text.contains("behind emnify's")
            && text.contains("against 127.0.0.1")
            && text.contains("correction: off"),
        "{text}"
    );

    // Plain `code` warns on stderr (one line) and keeps stdout for the codes.
    let out = vault.run(&["code"], None);
    assert!(out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("warning: ") && stderr.contains("emnify-auth clock correct on"),
        "{stderr}"
    );
    // Uncorrected codes are for this computer's clock.
    let local = json(&vault.ok(&["code", "emnify", "--json"], None));
    assert_eq!(local["clock"]["corrected"], false);
    assert_about_90(&local["clock"]["offset_seconds"]);
    assert!(local["time"].as_u64().unwrap().abs_diff(now()) <= 2);

    // With correction on the login succeeds.
    let out = vault.ok(&["clock", "correct", "on"], None);
    assert!(out.contains("clock correction is on"), "{out}");
    let out = vault.ok(&["login", "demo"], None);
    assert!(
        out.contains("MFA code") && out.contains("2 requests"),
        "{out}"
    );
    assert_eq!(sim.count(AUTH), 3);
    // The simulator saw no wrong code from us at any point (the seed has older ones).
    let token = vault.ok(&["token", "demo"], None);
    let (status, events) = sim.request_as("GET", "/api/v1/user/my/event", token.trim(), None);
    assert_eq!(status, 200, "{events}");
    assert!(
        !events.contains("Invalid MFA code from IP 127.0.0.1"),
        "{events}"
    );

    // `code --json` reports the offset and gives the code of (now + 90 s), one account…
    let before = now();
    let one = json(&vault.ok(&["code", "emnify", "--json"], None));
    let time = one["time"].as_u64().unwrap();
    assert!(
        time >= before + 88 && time <= now() + 92,
        "time {time}, now {before}"
    );
    assert_eq!(one["clock"]["corrected"], true);
    assert_about_90(&one["clock"]["offset_seconds"]);
    assert!(one["clock"]["measured_at"].is_u64());
    assert_eq!(one["code"].as_str().unwrap(), oathtool_at(time));
    // …and all of them.
    let all = json(&vault.ok(&["code", "--json"], None));
    let first = &all.as_array().expect("an array")[0];
    assert_eq!(first["clock"]["corrected"], true);
    assert_eq!(
        first["code"].as_str().unwrap(),
        oathtool_at(first["time"].as_u64().unwrap())
    );
    // Corrected codes need no warning.
    let out = vault.run(&["code"], None);
    assert!(out.status.success() && out.stderr.is_empty(), "{out:?}");

    // Off again: codes are for this computer's clock.
    vault.ok(&["clock", "correct", "off"], None);
    let local = json(&vault.ok(&["code", "emnify", "--json"], None));
    assert_eq!(local["clock"]["corrected"], false);
    assert!(local["time"].as_u64().unwrap().abs_diff(now()) <= 2);
}

#[test]
fn a_clock_in_step_with_emnify_needs_no_correction() {
    let sim = Sim::start();
    let vault = TestVault::new("insync");
    vault.add_demo_profile(&sim, "demo", &[]);
    let clock = json(&vault.ok(&["clock", "--json"], None));
    assert_eq!(clock["measured_at"], Value::Null);
    assert!(
        vault.ok(&["clock"], None).contains("not measured yet"),
        "before any emnify response"
    );
    vault.ok(&["login", "demo"], None);
    let clock = json(&vault.ok(&["clock", "--json"], None));
    assert_eq!(clock["offset_seconds"], 0);
    assert_eq!(clock["warning"], false);
    assert!(vault.ok(&["clock"], None).contains("in sync"));
    let out = vault.run(&["code"], None);
    assert!(out.status.success() && out.stderr.is_empty(), "{out:?}");
}
