//! The real desktop app, driven over WebDriver (tauri-driver + WebKitWebDriver) under Xvfb,
//! inside the private D-Bus session with gnome-keyring that scripts/with-keyring.sh starts,
//! against the real emnify-sim process. Every screen is saved under
//! target/e2e-screenshots/ and checked with axe-core.

use std::process::Command;
use std::time::Duration;

use emnify_auth_e2e::{App, Sim, oathtool_now_and_next, require_tool, serial};
use serde_json::json;

const DEMO_USER: &str = "demo@example.com";
const DEMO_PASSWORD: &str = "demo-password";
const DEMO_TOTP: &str = "EMNIFYDEMOSECRETKEYFORTOTPAPP234";

fn no_critical_violations(app: &App, screen: &str) {
    let violations = app.critical_accessibility_violations();
    assert!(violations.is_empty(), "{screen}: {violations:#?}");
}

fn add_uri(app: &App, uri: &str) {
    app.find("#add-button").click();
    app.find("#add-dialog");
    let input = app.find("#add-uri");
    input.clear();
    input.type_text(uri);
    app.find("#add-uri-submit").click();
}

/// Adds the simulator's demo TOTP key (from a link) and fills the new-profile form for the
/// demo user, linked to it; the caller saves the form.
fn fill_demo_profile(app: &App, sim: &Sim) {
    add_uri(
        app,
        &format!("otpauth://totp/emnify:{DEMO_USER}?secret={DEMO_TOTP}&issuer=emnify"),
    );
    app.wait_for("#add-preview li", Duration::from_secs(10));
    app.find("#add-confirm").click();
    let account_id = app
        .wait_for("li.account", Duration::from_secs(10))
        .attribute("data-id");
    app.find("#tab-logins").click();
    app.find("#profile-add-button").click();
    app.find("#profile-name").type_text("Demo");
    app.find("#profile-url").type_text(&sim.url);
    app.find("#profile-username").type_text(DEMO_USER);
    app.find("#profile-password").type_text(DEMO_PASSWORD);
    let select = app.find("#profile-otp");
    app.script(
        "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('change', {bubbles: true}));",
        json!([select.as_arg(), account_id]),
    );
}

/// Clicks "Log in" on the Demo profile and waits for the MFA step to be reported.
fn log_in_demo(app: &App) {
    let profile = app.wait_for("li.profile[data-name='Demo']", Duration::from_secs(10));
    profile.find(".login").click();
    app.wait_until("logged in", Duration::from_secs(20), || {
        app.texts("li.profile[data-name='Demo'] .login-steps li")
            .iter()
            .any(|step| step.contains("MFA"))
    });
}

#[test]
fn accounts_add_copy_and_csp() {
    let _serial = serial();
    let app = App::start("accounts", &[]);
    app.screenshot("empty");
    no_critical_violations(&app, "empty accounts");

    // Add from a link; the code shown equals oathtool's.
    add_uri(
        &app,
        &format!("otpauth://totp/emnify:{DEMO_USER}?secret={DEMO_TOTP}&issuer=emnify"),
    );
    app.wait_for("#add-preview li", Duration::from_secs(10));
    app.screenshot("add-preview");
    no_critical_violations(&app, "add preview");
    app.find("#add-confirm").click();
    let item = app.wait_for("li.account", Duration::from_secs(10));
    app.wait_until("a code", Duration::from_secs(5), || {
        item.attribute("data-code").is_some_and(|c| c.len() == 6)
    });
    let shown = item.attribute("data-code").unwrap();
    let [now, next] = oathtool_now_and_next(DEMO_TOTP);
    assert!(
        shown == now || shown == next,
        "shown {shown}, oathtool {now}/{next}"
    );
    app.screenshot("accounts");
    no_critical_violations(&app, "accounts");

    // A bad link: inline error, nothing added.
    add_uri(&app, "otpauth://totp/broken?secret=NOT-BASE32!!");
    let error = app.wait_for("#add-error", Duration::from_secs(5));
    assert!(error.text().contains("Base32"), "{}", error.text());
    app.screenshot("add-error");
    app.find("#add-cancel").click();
    assert_eq!(app.find_all("li.account").len(), 1);

    // A QR image file.
    require_tool("qrencode");
    let png = app.data_dir.path().join("qr.png");
    let status = Command::new("qrencode")
        .args(["-o", png.to_str().unwrap(), "-s", "6"])
        .arg("otpauth://totp/GitHub:iot-ops?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=GitHub")
        .status()
        .unwrap();
    assert!(status.success());
    app.find("#add-button").click();
    app.find_all("#add-file")[0].type_text(png.to_str().unwrap());
    app.wait_for("#add-preview li", Duration::from_secs(10));
    app.find("#add-confirm").click();
    app.wait_until("two accounts", Duration::from_secs(10), || {
        app.find_all("li.account").len() == 2
    });

    // Copy, then the clipboard is cleared after the (short) timeout.
    app.find("#tab-settings").click();
    let clipboard = app.find("#settings-clipboard");
    clipboard.clear();
    clipboard.type_text("3");
    app.find("#settings-save").click();
    app.screenshot("settings");
    no_critical_violations(&app, "settings");
    app.find("#tab-accounts").click();
    let item = app.find("li.account[data-name^='emnify']");
    item.find(".copy").click();
    app.wait_until("the code on the clipboard", Duration::from_secs(5), || {
        !app.clipboard().trim().is_empty()
    });
    let on_clipboard = app.clipboard().trim().to_owned();
    let [now, next] = oathtool_now_and_next(DEMO_TOTP);
    let shown = item.attribute("data-code").unwrap();
    assert!(
        [now, next, shown].contains(&on_clipboard),
        "clipboard: {on_clipboard:?}"
    );
    app.wait_until("the clipboard cleared", Duration::from_secs(10), || {
        app.clipboard().trim().is_empty()
    });

    // The CSP blocks an injected inline script (and an inline event handler).
    let result = app.script(
        "window.__injected = 0;
         const s = document.createElement('script');
         s.textContent = 'window.__injected = 1';
         document.body.appendChild(s);
         const img = document.createElement('img');
         img.setAttribute('onerror', 'window.__injected = 2');
         img.src = 'data:,broken';
         document.body.appendChild(img);
         return new Promise(r => setTimeout(() => r(window.__injected), 300));",
        json!([]),
    );
    assert_eq!(result, 0, "injected inline script ran: {result}");
}

/// The release CSP (the one shipped) is at least as strict as the one the GUI tests run
/// under: debug builds use `devCsp`, which differs only by `'unsafe-eval'`, without which
/// WebDriver cannot run a script in the page at all.
#[test]
fn release_csp_is_strict() {
    let config: serde_json::Value =
        serde_json::from_str(include_str!("../../src-tauri/tauri.conf.json")).unwrap();
    let security = &config["app"]["security"];
    let csp = security["csp"].as_object().unwrap();
    for (directive, value) in csp {
        let value = value.as_str().unwrap();
        assert!(!value.contains("unsafe"), "{directive}: {value}");
        assert!(
            !value.contains("http:") || directive == "connect-src",
            "{directive}: {value}"
        );
        assert!(!value.contains("https:"), "{directive}: {value}");
    }
    assert_eq!(csp["script-src"], "'self'");
    assert_eq!(csp["default-src"], "'self'");
    let dev = security["devCsp"].as_object().unwrap();
    for (directive, value) in dev {
        if directive == "script-src" {
            assert_eq!(value, "'self' 'unsafe-eval'");
        } else {
            assert_eq!(Some(value), csp.get(directive), "{directive}");
        }
    }
    assert_eq!(dev.len(), csp.len());
}

#[test]
fn one_click_login_and_trusted_device() {
    let _serial = serial();
    let sim = Sim::start();
    let app = App::start("logins", &[]);
    fill_demo_profile(&app, &sim);
    app.screenshot("profile-form");
    no_critical_violations(&app, "profile form");
    let trust = app.find("#profile-trust");
    if !trust.selected() {
        trust.click();
    }
    app.find("#profile-save").click();
    log_in_demo(&app);
    let profile = app.find("li.profile[data-name='Demo']");
    assert_eq!(sim.count("POST /api/v1/authenticate"), 2);
    assert!(profile.find(".token-expiry").text().len() > 3);
    app.screenshot("logged-in");
    no_critical_violations(&app, "logins");

    // The trusted device appears with 90 days left after a sync; revoke it.
    profile.find(".sync-devices").click();
    app.wait_until("our device", Duration::from_secs(10), || {
        app.texts("li.device .days-left")
            .iter()
            .any(|t| t == "90 days left")
    });
    app.screenshot("devices");
    no_critical_violations(&app, "devices");
    let ours = app
        .find_all("li.device")
        .into_iter()
        .find(|d| d.text().contains("90 days"))
        .unwrap();
    let id = ours.attribute("data-id").unwrap();
    ours.find(".revoke").click();
    app.find("#confirm-ok").click();
    // Revoked devices stay listed (marked) so the user sees what happened.
    app.wait_until("the device revoked", Duration::from_secs(10), || {
        app.texts(&format!("li.device[data-id='{id}'] .device-state")) == ["Revoked"]
    });
    app.screenshot("revoked");
    assert_eq!(
        sim.count(&format!("DELETE /api/v1/user/my/mfa/trusted_device/{id}")),
        1,
        "revoked on the server"
    );
}

#[test]
fn events_panel_shows_unread_security_events() {
    let _serial = serial();
    let sim = Sim::start();
    let app = App::start("events", &[]);
    fill_demo_profile(&app, &sim);
    app.find("#profile-save").click();
    log_in_demo(&app);

    // The seed holds failed logins and a support access: the badge counts them unread.
    app.wait_until("the unread badge", Duration::from_secs(20), || {
        app.texts("#events-badge")
            .first()
            .and_then(|t| t.parse::<u32>().ok())
            .is_some_and(|n| n > 0)
    });
    app.find("#tab-events").click();
    app.wait_for("#events-list li.event", Duration::from_secs(20));
    let highlights = app.texts("#events-list li.event.highlighted .event-highlight");
    assert!(
        highlights
            .iter()
            .any(|h| h.to_lowercase().contains("support")),
        "highlights: {highlights:?}"
    );
    assert!(!app.find_all("#events-list li.event.new").is_empty());
    app.screenshot("events");
    no_critical_violations(&app, "events");

    app.find("#events-mark-read").click();
    app.wait_until("the badge cleared", Duration::from_secs(20), || {
        app.find_all("#events-list li.event.new").is_empty()
            && !app
                .find("#tab-events")
                .text()
                .chars()
                .any(|c| c.is_ascii_digit())
    });
}

#[test]
fn one_instance_per_data_folder() {
    let _serial = serial();
    // Two data folders are two installations: both windows open side by side.
    let first = App::start("instance-first", &[]);
    let second = App::start("instance-second", &[]);
    add_uri(
        &second,
        &format!("otpauth://totp/emnify:{DEMO_USER}?secret={DEMO_TOTP}&issuer=emnify"),
    );
    second.wait_for("#add-preview li", Duration::from_secs(10));
    second.find("#add-confirm").click();
    second.wait_for("li.account", Duration::from_secs(10));

    // A second start on the first folder hands over to the running window and exits.
    let mut again = Command::new(emnify_auth_e2e::binary("emnify-authenticator"))
        .env("DISPLAY", emnify_auth_e2e::display())
        .env("EMNIFY_AUTH_DATA_DIR", first.data_dir.path())
        .env("EMNIFY_AUTH_KEYRING_SERVICE", &first.service)
        .env("GDK_BACKEND", "x11")
        .env("NO_AT_BRIDGE", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start a second instance");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = again.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = again.kill();
            let _ = again.wait();
            panic!("a second instance on the same data folder kept running");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "the second instance exited with {status}");
    // Both windows still answer; the first is untouched by the second's account.
    first.wait_for("#tab-accounts", Duration::from_secs(10));
    assert!(first.find_all("li.account").is_empty());
    assert_eq!(second.find_all("li.account").len(), 1);
}
