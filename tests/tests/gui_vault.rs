//! The app lock, the encrypted vault file, backups and imports from other apps, and the
//! clock offset, in the real desktop app over WebDriver (see gui.rs for the set-up).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use emnify_auth_e2e::sim::{DEMO_PASSWORD, DEMO_TOTP, DEMO_USER};
use emnify_auth_e2e::{
    App, PrivateKeyring, Sim, binary, oathtool_now_and_next, require_tool, serial,
};
use serde_json::{Value, json};

const LOCK_PASSWORD: &str = "open sesame";
const FILE_PASSWORD: &str = "vault file password";

fn demo_uri() -> String {
    format!("otpauth://totp/emnify:{DEMO_USER}?secret={DEMO_TOTP}&issuer=emnify")
}

/// Runs the CLI on the app's data folder and keyring namespace.
fn cli(dir: &Path, service: &str, args: &[&str], stdin: &str) {
    let mut child = Command::new(binary("emnify-auth"))
        .args(args)
        .env("EMNIFY_AUTH_DATA_DIR", dir)
        .env("EMNIFY_AUTH_KEYRING_SERVICE", service)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start emnify-auth");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "emnify-auth {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn no_critical_violations(app: &App, screen: &str) {
    let violations = app.critical_accessibility_violations();
    assert!(violations.is_empty(), "{screen}: {violations:#?}");
}

fn select(app: &App, css: &str, value: &str) {
    let element = app.find(css);
    app.script(
        "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('change', {bubbles: true}));",
        json!([element.as_arg(), value]),
    );
}

/// Calls a backend command from the page: `Ok(value)` or `Err({kind, message})`.
fn invoke(app: &App, command: &str, args: Value) -> Result<Value, Value> {
    let answer = app.script_async(
        "const done = arguments[arguments.length - 1];
         window.__TAURI__.core.invoke(arguments[0], arguments[1])
           .then(value => done({ok: value ?? null}), err => done({err}));",
        json!([command, args]),
    );
    match answer.get("err") {
        Some(err) => Err(err.clone()),
        None => Ok(answer["ok"].clone()),
    }
}

/// Waits until the account list shows a code, and returns it.
fn wait_for_code(app: &App) -> String {
    let mut code = String::new();
    app.wait_until("a code", Duration::from_secs(15), || {
        code = app
            .script(
                "const el = document.querySelector('li.account[data-code]');
                 return el ? el.dataset.code : '';",
                json!([]),
            )
            .as_str()
            .unwrap_or_default()
            .to_owned();
        code.len() == 6
    });
    code
}

/// Waits until `count` accounts show a code.
fn wait_for_codes(app: &App, count: usize) {
    app.wait_until("the codes", Duration::from_secs(15), || {
        app.script(
            "return [...document.querySelectorAll('li.account')]
               .filter(a => (a.dataset.code || '').length >= 6).length;",
            json!([]),
        ) == count
    });
}

/// Waits until the settings screen has read the lock settings (a form filled later would
/// undo what the test chose).
fn wait_for_lock_settings(app: &App) {
    app.wait_until("the lock settings", Duration::from_secs(10), || {
        app.script(
            "return document.getElementById('lock-idle').value;",
            json!([]),
        ) == "5"
    });
}

/// Whether any of `codes` is anywhere in the page's markup.
fn page_holds(app: &App, codes: &[String]) -> bool {
    let html = app
        .script("return document.documentElement.outerHTML;", json!([]))
        .as_str()
        .unwrap_or_default()
        .to_owned();
    codes.iter().any(|code| html.contains(code.as_str()))
}

fn assert_locked(app: &App, codes_then: &[String]) {
    app.wait_for("#lock-screen", Duration::from_secs(10));
    app.wait_until(
        "the codes gone from the page",
        Duration::from_secs(5),
        || app.find_all("li.account").is_empty(),
    );
    let mut codes = codes_then.to_vec();
    codes.extend(oathtool_now_and_next(DEMO_TOTP));
    assert!(!page_holds(app, &codes), "a code is still in the page");
    // The backend refuses codes, copies and tokens on its own, whatever the page does.
    let refused = invoke(app, "accounts", json!({})).unwrap_err();
    assert_eq!(refused["kind"], "locked", "{refused}");
}

fn unlock_with(app: &App, password: &str) {
    let input = app.find("#lock-password");
    input.clear();
    input.type_text(password);
    app.find("#lock-submit").click();
}

#[test]
fn app_lock_hides_codes_until_the_password_is_given() {
    let _serial = serial();
    let app = App::start_prepared("lock", &[], &[], |dir, service| {
        cli(dir, service, &["add", "--uri", &demo_uri()], "");
    });
    let code = wait_for_code(&app);
    let account_id = app.find("li.account").attribute("data-id").unwrap();

    // Turn the lock on with a password (typed twice); the lock button appears.
    app.find("#tab-settings").click();
    wait_for_lock_settings(&app);
    select(&app, "#lock-mode", "password");
    app.find("#lock-new-password").type_text(LOCK_PASSWORD);
    app.find("#lock-new-password-again")
        .type_text("not the same");
    app.find("#lock-save").click();
    let error = app.wait_for("#lock-settings-error", Duration::from_secs(5));
    assert!(error.text().contains("differ"), "{}", error.text());
    app.find("#lock-new-password").clear();
    app.find("#lock-new-password").type_text(LOCK_PASSWORD);
    app.find("#lock-new-password-again").clear();
    app.find("#lock-new-password-again")
        .type_text(LOCK_PASSWORD);
    app.find("#lock-save").click();
    app.wait_for("#lock-button", Duration::from_secs(10));
    app.screenshot("settings");
    no_critical_violations(&app, "settings with the app lock");
    // The dark palette (stated once, picked through data-scheme) passes the checks too.
    let background = || {
        app.script(
            "return getComputedStyle(document.body).backgroundColor;",
            json!([]),
        )
    };
    select(&app, "#settings-theme", "dark");
    app.wait_until("the dark palette", Duration::from_secs(5), || {
        background() == "rgb(14, 20, 23)"
    });
    app.screenshot("settings-dark");
    no_critical_violations(&app, "settings in the dark palette");
    select(&app, "#settings-theme", "light");
    app.wait_until("the light palette", Duration::from_secs(5), || {
        background() == "rgb(243, 246, 247)"
    });
    // The verifier is in the keyring, never in vault.json.
    let metadata = std::fs::read_to_string(app.data_dir.path().join("vault.json")).unwrap();
    assert!(metadata.contains("\"app_lock\"") && !metadata.contains("scrypt"));

    // The lock button: codes leave the page, the backend refuses them.
    app.find("#tab-accounts").click();
    wait_for_code(&app);
    app.find("#lock-button").click();
    assert_locked(&app, std::slice::from_ref(&code));
    let copy = invoke(&app, "copy_code", json!({"id": account_id})).unwrap_err();
    assert_eq!(copy["kind"], "locked", "{copy}");
    app.screenshot("locked");
    no_critical_violations(&app, "lock screen");

    // A wrong password is refused inline; the right one brings the codes back.
    unlock_with(&app, "open sesame!");
    let error = app.wait_for("#lock-error", Duration::from_secs(10));
    assert!(
        error.text().to_lowercase().contains("wrong password"),
        "{}",
        error.text()
    );
    assert!(app.find_all("li.account").is_empty());
    unlock_with(&app, LOCK_PASSWORD);
    let shown = wait_for_code(&app);
    assert!(oathtool_now_and_next(DEMO_TOTP).contains(&shown), "{shown}");
    assert!(!app.find_all("#lock-screen")[0].displayed());

    // Ctrl+L locks too.
    app.script(
        "document.activeElement.dispatchEvent(new KeyboardEvent('keydown',
           {key: 'l', ctrlKey: true, bubbles: true}));",
        json!([]),
    );
    assert_locked(&app, &[shown]);
    unlock_with(&app, LOCK_PASSWORD);
    let shown = wait_for_code(&app);

    // So does the screen saver's signal on the session bus.
    require_tool("dbus-send");
    let status = Command::new("dbus-send")
        .args([
            "--session",
            "--type=signal",
            "/org/gnome/ScreenSaver",
            "org.gnome.ScreenSaver.ActiveChanged",
            "boolean:true",
        ])
        .status()
        .unwrap();
    assert!(status.success());
    assert_locked(&app, &[shown]);
    unlock_with(&app, LOCK_PASSWORD);
    wait_for_code(&app);
}

#[test]
fn vault_file_unlock_import_and_backup() {
    let _serial = serial();
    // Keys moved to the encrypted vault file with the CLI, as a user would.
    let app = App::start_prepared("vault-file", &[], &[], |dir, service| {
        cli(dir, service, &["add", "--uri", &demo_uri()], "");
        cli(
            dir,
            service,
            &["store", "use-file", "--password-stdin"],
            &format!("{FILE_PASSWORD}\n"),
        );
    });

    // The unlock screen comes before any code.
    let input = app.wait_for("#unlock-password", Duration::from_secs(15));
    assert!(app.find_all("li.account[data-code]").is_empty());
    assert!(!page_holds(&app, &oathtool_now_and_next(DEMO_TOTP)));
    app.screenshot("unlock");
    no_critical_violations(&app, "unlock screen");
    input.type_text("not the password");
    app.find("#unlock-submit").click();
    let error = app.wait_for("#unlock-error", Duration::from_secs(10));
    assert!(
        error.text().to_lowercase().contains("wrong password"),
        "{}",
        error.text()
    );
    app.find("#unlock-password").type_text(FILE_PASSWORD);
    app.find("#unlock-submit").click();
    let shown = wait_for_code(&app);
    assert!(oathtool_now_and_next(DEMO_TOTP).contains(&shown), "{shown}");

    // Settings say where the keys are.
    app.find("#tab-settings").click();
    app.wait_until("the store described", Duration::from_secs(5), || {
        app.find("#store-where")
            .text()
            .contains("secrets.aegis.json")
    });

    // Import an encrypted Aegis export: asks its password, then the usual preview.
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../core/tests/fixtures/other-apps/aegis_encrypted.json");
    app.find("#import-file-button").click();
    app.find("#import-path")
        .type_text(fixture.to_str().unwrap());
    app.find("#import-next").click();
    let password = app.wait_for("#import-password", Duration::from_secs(10));
    password.type_text("Test");
    app.find("#import-next").click();
    let error = app.wait_for("#import-error", Duration::from_secs(15));
    assert!(
        error.text().to_lowercase().contains("password"),
        "{}",
        error.text()
    );
    app.find("#import-password").type_text("test");
    app.find("#import-next").click();
    app.wait_for("#add-preview li", Duration::from_secs(15));
    assert_eq!(app.find_all("#add-preview li").len(), 3);
    assert_eq!(app.find_all("#add-skipped-list li").len(), 4);
    app.screenshot("import-preview");
    app.find("#add-confirm").click();
    let summary = app.wait_for("#import-report-summary", Duration::from_secs(10));
    let text = summary.text();
    assert!(
        text.contains("3 accounts imported") && text.contains("4 cannot be used here"),
        "{text}"
    );
    let reasons = app.texts("#import-report-skipped li");
    assert!(reasons.iter().any(|r| r.contains("HOTP")), "{reasons:?}");
    app.screenshot("import-report");
    no_critical_violations(&app, "import report");
    app.find("#import-report-close").click();

    // An encrypted backup of all four accounts; the file holds no key in clear.
    let target = app.data_dir.path().join("backup.json");
    app.find("#backup-export-button").click();
    app.wait_until("a suggested file name", Duration::from_secs(10), || {
        app.script(
            "return document.getElementById('backup-path').value;",
            json!([]),
        )
        .as_str()
        .is_some_and(|v| v.ends_with(".json"))
    });
    let path = app.find("#backup-path");
    path.clear();
    path.type_text(target.to_str().unwrap());
    app.find("#backup-plain").click();
    app.wait_for("#backup-plain-warning", Duration::from_secs(5));
    app.find("#backup-plain").click();
    app.find("#backup-password").type_text("backup password");
    app.find("#backup-password-again")
        .type_text("backup password");
    app.screenshot("backup");
    no_critical_violations(&app, "backup dialog");
    app.find("#backup-submit").click();
    app.wait_until("the backup written", Duration::from_secs(15), || {
        app.find("#backup-result")
            .text()
            .contains("Encrypted backup of 4 accounts")
    });
    let written = std::fs::read_to_string(&target).unwrap();
    assert!(!written.contains(DEMO_TOTP) && written.contains("\"slots\""));

    // The vault file holds the imported keys too: four codes.
    app.find("#tab-accounts").click();
    wait_for_codes(&app, 4);

    // The vault file's own password as the app lock: locking forgets the file's key.
    app.find("#tab-settings").click();
    wait_for_lock_settings(&app);
    select(&app, "#lock-mode", "vault_file");
    app.find("#lock-save").click();
    app.wait_for("#lock-button", Duration::from_secs(10));
    app.find("#tab-accounts").click();
    let shown = wait_for_code(&app);
    app.find("#lock-button").click();
    assert_locked(&app, &[shown]);
    assert_eq!(
        app.find("#lock-password-label").text(),
        "Vault file password"
    );
    unlock_with(&app, "not the password");
    app.wait_for("#lock-error", Duration::from_secs(10));
    unlock_with(&app, FILE_PASSWORD);
    wait_for_codes(&app, 4);

    // Back to the keyring from Settings; the lock that used the file's password goes off.
    app.find("#tab-settings").click();
    app.wait_until("the store described", Duration::from_secs(5), || {
        app.find("#store-where")
            .text()
            .contains("secrets.aegis.json")
    });
    app.find("#store-move").click();
    app.find("#confirm-ok").click();
    app.wait_until("the keys in the keyring", Duration::from_secs(20), || {
        app.find("#store-where").text().contains("desktop keyring")
    });
    let note = app.find("#store-error").text();
    assert!(note.contains("app lock"), "{note}");
    assert!(!app.find_all("#lock-button")[0].displayed());
    let choice = std::fs::read_to_string(app.data_dir.path().join("secret-store.json")).unwrap();
    assert!(choice.contains("\"keyring\""), "{choice}");
    assert!(!app.data_dir.path().join("secrets.aegis.json").exists());
    app.find("#tab-accounts").click();
    wait_for_codes(&app, 4);
}

#[test]
fn clock_offset_is_shown_after_a_login() {
    let _serial = serial();
    let sim = Sim::start();
    sim.advance(90);
    let url = sim.url.clone();
    let app = App::start_prepared("clock", &[], &[], |dir, service| {
        cli(dir, service, &["add", "--uri", &demo_uri()], "");
        cli(
            dir,
            service,
            &[
                "profile",
                "add",
                "Demo",
                "--api-url",
                &url,
                "--username",
                DEMO_USER,
                "--password-stdin",
                "--otp",
                "emnify",
            ],
            DEMO_PASSWORD,
        );
    });
    wait_for_code(&app);
    app.find("#tab-settings").click();
    let correction = app.find("#settings-clock-correction");
    if !correction.selected() {
        correction.click();
    }
    app.wait_until("correction on", Duration::from_secs(5), || {
        app.find("#settings-clock-correction").selected()
    });

    app.find("#tab-logins").click();
    let profile = app.wait_for("li.profile[data-name='Demo']", Duration::from_secs(10));
    profile.find(".login").click();
    app.wait_until("a login answer", Duration::from_secs(30), || {
        !app.texts("li.profile[data-name='Demo'] .login-steps li")
            .is_empty()
    });

    app.find("#tab-settings").click();
    app.wait_until("the offset shown", Duration::from_secs(10), || {
        app.find("#clock-offset")
            .attribute("data-offset-seconds")
            .and_then(|s| s.parse::<i64>().ok())
            .is_some_and(|s| (85..=95).contains(&s))
    });
    let text = app.find("#clock-offset").text();
    assert!(text.contains("behind emnify"), "{text}");
    app.screenshot("clock");
    no_critical_violations(&app, "clock offset");
}

#[test]
fn without_a_keyring_the_vault_file_is_offered_never_chosen_silently() {
    let _serial = serial();
    // No session bus, so no Secret Service: the app says so before anything else.
    let app = App::start_prepared(
        "no-keyring",
        &[],
        &[(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/emnify-test-bus",
        )],
        |_, _| {},
    );
    let error = app.wait_for("#keyring-error", Duration::from_secs(30));
    assert!(
        error
            .text()
            .to_lowercase()
            .contains("no keyring is available"),
        "{}",
        error.text()
    );
    let choice = app.data_dir.path().join("secret-store.json");
    assert!(!choice.exists(), "a store was chosen without asking");
    app.screenshot("keyring-screen");
    no_critical_violations(&app, "keyring screen");

    // "Try again" fails the same way, and still chooses nothing.
    app.find("#keyring-retry").click();
    std::thread::sleep(Duration::from_millis(500));
    assert!(app.find("#keyring-error").displayed() && !choice.exists());

    // The vault file instead: a new password, typed twice, at least 8 characters.
    app.find("#use-file").click();
    app.find("#file-password").type_text("short");
    app.find("#file-password-again").type_text("short");
    app.find("#use-file-submit").click();
    let error = app.wait_for("#use-file-error", Duration::from_secs(5));
    assert!(error.text().contains("at least 8"), "{}", error.text());
    for input in ["#file-password", "#file-password-again"] {
        let field = app.find(input);
        field.clear();
        field.type_text(FILE_PASSWORD);
    }
    app.find("#use-file-submit").click();
    app.wait_until("the keyring screen gone", Duration::from_secs(20), || {
        !app.find_all("#keyring-screen")[0].displayed()
    });
    let written = std::fs::read_to_string(&choice).unwrap();
    assert!(written.contains("\"file\""), "{written}");

    // Accounts now go into the file, and their codes show.
    app.find("#add-button").click();
    let input = app.find("#add-uri");
    input.type_text(&demo_uri());
    app.find("#add-uri-submit").click();
    app.wait_for("#add-preview li", Duration::from_secs(10));
    app.find("#add-confirm").click();
    let shown = wait_for_code(&app);
    assert!(oathtool_now_and_next(DEMO_TOTP).contains(&shown), "{shown}");
    let file = std::fs::read_to_string(app.data_dir.path().join("secrets.aegis.json")).unwrap();
    assert!(!file.contains(DEMO_TOTP));
}

#[test]
fn keyring_lock_asks_the_keyrings_own_password() {
    const KEYRING_PASSWORD: &str = "private keyring password";
    let _serial = serial();
    // Locking the keyring is what this mode does: a keyring of its own, never the one the
    // other tests share.
    let keyring = PrivateKeyring::start(KEYRING_PASSWORD);
    let app = App::start_prepared(
        "keyring-lock",
        &[],
        &[("DBUS_SESSION_BUS_ADDRESS", &keyring.address)],
        |dir, service| {
            let status = keyring
                .command(binary("emnify-auth"))
                .args(["add", "--uri", &demo_uri()])
                .env("EMNIFY_AUTH_DATA_DIR", dir)
                .env("EMNIFY_AUTH_KEYRING_SERVICE", service)
                .stdout(Stdio::null())
                .status()
                .unwrap();
            assert!(status.success(), "emnify-auth add");
        },
    );
    let code = wait_for_code(&app);

    // Choose the keyring's password as the lock: the settings say what that locks.
    app.find("#tab-settings").click();
    wait_for_lock_settings(&app);
    select(&app, "#lock-mode", "keyring");
    let hint = app.wait_for("#lock-keyring-hint", Duration::from_secs(5));
    assert!(hint.text().contains("other apps"), "{}", hint.text());
    app.find("#lock-save").click();
    app.wait_for("#lock-button", Duration::from_secs(10));
    app.find("#tab-accounts").click();
    wait_for_code(&app);

    // Locking the app locks the keyring; the lock screen asks for no password itself.
    assert!(!keyring.locked());
    app.find("#lock-button").click();
    assert_locked(&app, std::slice::from_ref(&code));
    assert!(keyring.locked(), "the keyring is locked with the app");
    assert!(!app.find_all("#lock-password")[0].displayed());
    app.screenshot("keyring-locked");
    no_critical_violations(&app, "lock screen in keyring mode");

    // Closing the keyring's prompt leaves everything locked.
    app.find("#lock-submit").click();
    keyring.answer_prompt(None);
    let error = app.wait_for("#lock-error", Duration::from_secs(20));
    assert!(
        error.text().contains("closed without unlocking"),
        "{}",
        error.text()
    );
    assert!(keyring.locked());
    assert!(app.find_all("li.account").is_empty());

    // The keyring's password in its own prompt unlocks both.
    app.find("#lock-submit").click();
    keyring.answer_prompt(Some(KEYRING_PASSWORD));
    let shown = wait_for_code(&app);
    assert!(oathtool_now_and_next(DEMO_TOTP).contains(&shown), "{shown}");
    assert!(!keyring.locked());
    assert!(!app.find_all("#lock-screen")[0].displayed());

    // Locking the keyring elsewhere locks the app with it.
    keyring.lock();
    assert_locked(&app, std::slice::from_ref(&shown));
    app.find("#lock-submit").click();
    keyring.answer_prompt(Some(KEYRING_PASSWORD));
    wait_for_code(&app);
    assert!(!keyring.locked());
}

#[test]
fn idle_lock_after_a_minute_without_use() {
    let _serial = serial();
    let app = App::start_prepared("idle-lock", &[], &[], |dir, service| {
        cli(dir, service, &["add", "--uri", &demo_uri()], "");
    });
    let code = wait_for_code(&app);
    app.find("#tab-settings").click();
    wait_for_lock_settings(&app);
    select(&app, "#lock-mode", "password");
    app.find("#lock-new-password").type_text(LOCK_PASSWORD);
    app.find("#lock-new-password-again")
        .type_text(LOCK_PASSWORD);
    let idle = app.find("#lock-idle");
    idle.clear();
    idle.type_text("1");
    app.find("#lock-save").click();
    app.wait_for("#lock-button", Duration::from_secs(10));
    app.find("#tab-accounts").click();
    wait_for_code(&app);

    // Nobody touches the window: within the minute (plus the watcher's 5 s poll) it locks.
    app.wait_until("the idle lock", Duration::from_secs(90), || {
        app.find_all("#lock-screen")
            .first()
            .is_some_and(|screen| screen.displayed())
    });
    assert_locked(&app, std::slice::from_ref(&code));
    unlock_with(&app, LOCK_PASSWORD);
    wait_for_code(&app);
}
