//! The vault through the real `emnify-auth` binary, against the real gnome-keyring of the
//! private D-Bus session that scripts/with-keyring.sh (and CI) starts.

mod support;

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use support::{PrivateBus, TestVault, require_tool};

const KEY: &str = "JBSWY3DPEHPK3PXP";
const KEY2: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY";

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn oathtool(key: &str, time: u64) -> String {
    support::oathtool(key, Some(time))
}

/// Asserts that no file under the data folder contains the key in any usual encoding.
fn assert_secret_nowhere_on_disk(vault: &TestVault, base32: &str) {
    let hits = support::files_holding_key(&[&vault.data_dir()], base32);
    assert!(hits.is_empty(), "the key is on disk: {hits:?}");
}

#[test]
fn secret_from_stdin_goes_to_the_keyring_only() {
    let vault = TestVault::new("stdin");
    let out = json(&vault.ok(
        &[
            "add",
            "--secret",
            "-",
            "--label",
            "ops@example.com",
            "--issuer",
            "emnify",
            "--json",
        ],
        Some(&format!("{KEY}\n")),
    ));
    let id = out["added"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(vault.keyring_lookup(&id).as_deref(), Some(KEY));
    assert_secret_nowhere_on_disk(&vault, KEY);
    assert!(vault.data_dir().join("vault.json").exists());

    let listed = json(&vault.ok(&["list", "--json"], None));
    assert_eq!(listed[0]["issuer"], "emnify");
    assert_eq!(listed[0]["label"], "ops@example.com");
    assert!(!vault.ok(&["list"], None).contains(KEY));
}

#[test]
fn codes_match_oathtool() {
    let vault = TestVault::new("codes");
    vault.ok(
        &[
            "add",
            "--uri",
            &format!("otpauth://totp/ACME:jo@example.com?secret={KEY}&issuer=ACME"),
        ],
        None,
    );
    let info = json(&vault.ok(&["code", "acme", "--json"], None));
    let time = info["time"].as_u64().unwrap();
    assert_eq!(info["code"], oathtool(KEY, time));
    assert_eq!(info["next"], oathtool(KEY, time + 30));
    let remaining = info["remaining"].as_u64().unwrap();
    assert_eq!(remaining, 30 - time % 30);
    // The plain form prints only the code, for `$(emnify-auth code acme)`.
    let plain = vault.ok(&["code", "ACME"], None);
    assert_eq!(plain.trim().len(), 6);
    assert!(plain.trim().chars().all(|c| c.is_ascii_digit()));
}

#[test]
fn names_are_case_insensitive_and_ambiguity_lists_matches() {
    let vault = TestVault::new("names");
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
            "dev@example.com",
            "--issuer",
            "emnify",
        ],
        None,
    );
    let line = vault.fails(&["code", "EMNIFY"], None);
    assert!(
        line.contains("ops@example.com") && line.contains("dev@example.com"),
        "{line}"
    );
    assert!(line.contains("matches several"), "{line}");
    vault.ok(&["code", "Emnify:Dev@Example.com"], None);
    let line = vault.fails(&["code", "nobody"], None);
    assert!(line.contains("no account matches 'nobody'"), "{line}");
}

#[test]
fn duplicate_keys_are_reported_not_added() {
    let vault = TestVault::new("dup");
    vault.ok(&["add", "--secret", KEY, "--label", "first"], None);
    let out = json(&vault.ok(
        &[
            "add",
            "--uri",
            &format!("otpauth://totp/Other:second?secret={}", KEY.to_lowercase()),
            "--json",
        ],
        None,
    ));
    assert_eq!(out["added"].as_array().unwrap().len(), 0);
    assert_eq!(out["duplicates"][0]["existing"]["label"], "first");
    assert_eq!(
        json(&vault.ok(&["list", "--json"], None))
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        vault
            .keyring_snapshot()
            .iter()
            .filter(|l| l.starts_with("secret"))
            .count(),
        1
    );
}

#[test]
fn rename_and_remove_keep_keyring_and_file_in_step() {
    let vault = TestVault::new("remove");
    let out = json(&vault.ok(&["add", "--secret", KEY, "--label", "old", "--json"], None));
    let id = out["added"][0]["id"].as_str().unwrap().to_owned();
    vault.ok(&["rename", "old", "new", "--issuer", "emnify"], None);
    assert_eq!(
        json(&vault.ok(&["list", "--json"], None))[0]["label"],
        "new"
    );

    // Without a terminal and without --yes, nothing is removed.
    let line = vault.fails(&["remove", "new"], None);
    assert!(line.contains("--yes"), "{line}");
    assert!(vault.keyring_lookup(&id).is_some());

    vault.ok(&["remove", "new", "--yes"], None);
    assert!(vault.keyring_lookup(&id).is_none());
    assert_eq!(
        json(&vault.ok(&["list", "--json"], None)),
        serde_json::json!([])
    );
}

#[test]
fn exported_qr_decodes_with_zbarimg_to_the_exported_uri() {
    require_tool("zbarimg");
    let vault = TestVault::new("export");
    vault.ok(
        &["add", "--uri", &format!("otpauth://totp/ACME%20Co:jo%40example.com?secret={KEY}&issuer=ACME%20Co&digits=8&period=60&algorithm=SHA256")],
        None,
    );
    let uri = vault
        .ok(&["export", "acme", "--uri"], None)
        .trim()
        .to_owned();
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    let png = vault.dir.path().join("export.png");
    vault.ok(&["export", "acme", "--qr", png.to_str().unwrap()], None);
    let out = Command::new("zbarimg")
        .args(["--raw", "-q"])
        .arg(&png)
        .output()
        .unwrap();
    assert!(out.status.success(), "zbarimg found no code");
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), uri);
    // The exported link imports back to the same account parameters.
    let other = TestVault::new("export-back");
    let back = json(&other.ok(&["add", "--uri", &uri, "--json"], None));
    assert_eq!(back["added"][0]["issuer"], "ACME Co");
    assert_eq!(back["added"][0]["label"], "jo@example.com");
    assert_eq!(back["added"][0]["digits"], 8);
    assert_eq!(back["added"][0]["period"], 60);
    assert_eq!(back["added"][0]["algorithm"], "SHA256");
    // An existing file is never overwritten.
    let line = vault.fails(&["export", "acme", "--qr", png.to_str().unwrap()], None);
    assert!(line.contains("never overwritten"), "{line}");
    let terminal = vault.ok(&["export", "acme", "--terminal"], None);
    assert!(terminal.contains('█') || terminal.contains('▀') || terminal.contains('▄'));
}

#[test]
fn concurrent_processes_lose_no_update() {
    let vault = TestVault::new("concurrent");
    let keys: Vec<String> = (0..8)
        .map(|i| {
            let bytes: Vec<u8> = (0..20).map(|j| (i * 31 + j * 7 + 1) as u8).collect();
            data_encoding::BASE32_NOPAD.encode(&bytes)
        })
        .collect();
    let children: Vec<_> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| {
            vault
                .cli()
                .args(["add", "--secret", key, "--label", &format!("acct{i}")])
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let listed = json(&vault.ok(&["list", "--json"], None));
    assert_eq!(listed.as_array().unwrap().len(), 8);
    for account in listed.as_array().unwrap() {
        assert!(
            vault
                .keyring_lookup(account["id"].as_str().unwrap())
                .is_some()
        );
    }
}

/// Runs `args` expecting failure and proves vault file and keyring did not change.
fn fails_and_changes_nothing(vault: &TestVault, args: &[&str], expect: &str) -> String {
    let files = vault.files_snapshot();
    let keyring = vault.keyring_snapshot();
    let line = vault.fails(args, None);
    assert!(line.contains(expect), "expected '{expect}' in: {line}");
    assert_eq!(vault.files_snapshot(), files, "files changed after: {line}");
    assert_eq!(
        vault.keyring_snapshot(),
        keyring,
        "keyring changed after: {line}"
    );
    line
}

#[test]
fn bad_links_and_keys_change_nothing() {
    let vault = TestVault::new("badtext");
    vault.ok(&["add", "--secret", KEY, "--label", "existing"], None);
    fails_and_changes_nothing(
        &vault,
        &["add", "--uri", "otpauth://totp/x?secret=JBSWY3DP!!"],
        "Base32",
    );
    fails_and_changes_nothing(
        &vault,
        &["add", "--uri", "otpauth://totp/nosecret?issuer=x"],
        "secret",
    );
    fails_and_changes_nothing(
        &vault,
        &["add", "--uri", "https://example.com/login?x=1"],
        "web link to example.com",
    );
    fails_and_changes_nothing(
        &vault,
        &[
            "add",
            "--uri",
            "otpauth://hotp/x?secret=JBSWY3DPEHPK3PXP&counter=1",
        ],
        "HOTP",
    );
    fails_and_changes_nothing(
        &vault,
        &["add", "--secret", "JBSWY3DPEHPK3PX1", "--label", "x"],
        "not valid Base32",
    );
    fails_and_changes_nothing(
        &vault,
        &["add", "--secret", KEY2, "--label", "x", "--digits", "9"],
        "digits",
    );
    // A batch with one bad link adds none of them.
    fails_and_changes_nothing(
        &vault,
        &[
            "add",
            "--uri",
            &format!("otpauth://totp/ok?secret={KEY2}"),
            "--uri",
            "otpauth://totp/bad?secret=0",
        ],
        "Base32",
    );
}

fn qrencode_png(dir: &Path, text: &str, module_px: u32) -> image::RgbaImage {
    require_tool("qrencode");
    let file = dir.join(format!("qr-{}.png", rand::random::<u32>()));
    let status = Command::new("qrencode")
        .args([
            "-o",
            file.to_str().unwrap(),
            "-s",
            &module_px.to_string(),
            "-m",
            "4",
            text,
        ])
        .status()
        .unwrap();
    assert!(status.success());
    image::open(&file).unwrap().to_rgba8()
}

/// A 3840×2160 "desktop": gradient, window-like panels, the QR somewhere off-centre.
fn screenshot(qr: &image::RgbaImage, at: (u32, u32)) -> image::RgbaImage {
    let mut shot = image::RgbaImage::from_fn(3840, 2160, |x, y| {
        let v = 40 + ((x / 15 + y / 20) % 120) as u8;
        image::Rgba([v, v / 2 + 30, 90, 255])
    });
    for (i, (x, y, w, h)) in [
        (100u32, 80u32, 1200u32, 700u32),
        (1500, 300, 900, 1200),
        (2600, 1200, 1100, 800),
    ]
    .into_iter()
    .enumerate()
    {
        let shade = 200 + i as u8 * 20;
        for py in y..y + h {
            for px in x..x + w {
                shot.put_pixel(px, py, image::Rgba([shade, shade, shade, 255]));
            }
        }
    }
    image::imageops::overlay(&mut shot, qr, i64::from(at.0), i64::from(at.1));
    shot
}

#[test]
fn qr_from_a_4k_screenshot_and_its_inverted_twin() {
    let vault = TestVault::new("qrshot");
    let uri = format!("otpauth://totp/emnify:ops%40example.com?secret={KEY}&issuer=emnify");
    let qr = qrencode_png(vault.dir.path(), &uri, 4);
    let mut shot = screenshot(&qr, (2710, 1333));
    let file = vault.dir.path().join("shot.png");
    shot.save(&file).unwrap();
    let out = json(&vault.ok(&["add", "--qr", file.to_str().unwrap(), "--json"], None));
    assert_eq!(out["added"][0]["label"], "ops@example.com");

    image::imageops::invert(&mut shot);
    let inverted = vault.dir.path().join("inverted.png");
    shot.save(&inverted).unwrap();
    let other = TestVault::new("qrshot-inv");
    let out = json(&other.ok(&["add", "--qr", inverted.to_str().unwrap(), "--json"], None));
    assert_eq!(out["added"][0]["issuer"], "emnify");
}

#[test]
fn bad_images_change_nothing() {
    let vault = TestVault::new("badimg");
    vault.ok(&["add", "--secret", KEY, "--label", "existing"], None);
    let dir = vault.dir.path();

    let blank = dir.join("blank.png");
    image::RgbaImage::from_pixel(800, 600, image::Rgba([200, 200, 200, 255]))
        .save(&blank)
        .unwrap();
    fails_and_changes_nothing(
        &vault,
        &["add", "--qr", blank.to_str().unwrap()],
        "no QR code",
    );

    let web = dir.join("web.png");
    qrencode_png(dir, "https://example.com/promo", 6)
        .save(&web)
        .unwrap();
    fails_and_changes_nothing(
        &vault,
        &["add", "--qr", web.to_str().unwrap()],
        "web link to example.com",
    );

    let good = dir.join("good.png");
    qrencode_png(dir, &format!("otpauth://totp/x?secret={KEY2}"), 6)
        .save(&good)
        .unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let truncated = dir.join("truncated.png");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    fails_and_changes_nothing(
        &vault,
        &["add", "--qr", truncated.to_str().unwrap()],
        "damaged",
    );

    // A PNG the png crate panics on (found by fuzz/image_qr): one line saying it is
    // damaged, no panic message before it.
    let panicking = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../core/tests/fixtures/damaged/png-plte-length-not-multiple-of-3.png");
    fails_and_changes_nothing(
        &vault,
        &["add", "--qr", panicking.to_str().unwrap()],
        "damaged",
    );

    // A PNG whose header claims 20000×20000 pixels: refused before decoding.
    let huge = emnify_auth_e2e::png_claiming_size(&bytes, 20000, 20000);
    let huge_file = dir.join("huge.png");
    std::fs::write(&huge_file, &huge).unwrap();
    fails_and_changes_nothing(
        &vault,
        &["add", "--qr", huge_file.to_str().unwrap()],
        "20000",
    );

    let missing = dir.join("missing.png");
    fails_and_changes_nothing(
        &vault,
        &["add", "--qr", missing.to_str().unwrap()],
        "cannot read",
    );
}

#[test]
fn corrupt_metadata_is_reported_with_its_path_and_never_overwritten() {
    let vault = TestVault::new("corrupt");
    vault.ok(&["add", "--secret", KEY, "--label", "existing"], None);
    let file = vault.data_dir().join("vault.json");
    std::fs::write(&file, b"{\"schema_version\": 1, \"accounts\": [ {\"id\": ").unwrap();
    let line = fails_and_changes_nothing(
        &vault,
        &["add", "--secret", KEY2, "--label", "new"],
        "damaged",
    );
    assert!(line.contains(&file.display().to_string()), "{line}");
    fails_and_changes_nothing(&vault, &["list"], "damaged");
    fails_and_changes_nothing(&vault, &["remove", "existing", "--yes"], "damaged");
}

#[test]
fn no_keyring_daemon_is_a_clear_error_and_changes_nothing() {
    let bus = PrivateBus::without_keyring();
    let mut vault = TestVault::detached("nodaemon");
    vault.extra_env = bus.env();
    let files = vault.files_snapshot();
    let line = vault.fails(&["add", "--secret", KEY, "--label", "x"], None);
    assert!(line.contains("no keyring is available"), "{line}");
    assert!(line.contains("start"), "{line}");
    assert_eq!(vault.files_snapshot(), files);
    assert!(!vault.data_dir().join("vault.json").exists());
    // Listing needs no keyring.
    vault.ok(&["list"], None);
}

#[test]
fn locked_keyring_is_a_clear_error_and_changes_nothing() {
    let bus = PrivateBus::with_keyring();
    let mut vault = TestVault::detached("locked");
    vault.extra_env = bus.env();
    vault.ok(&["add", "--secret", KEY, "--label", "existing"], None);
    bus.lock_keyring();
    let files = vault.files_snapshot();
    let line = vault.fails(&["add", "--secret", KEY2, "--label", "new"], None);
    assert!(line.contains("locked"), "{line}");
    assert!(line.contains("unlock"), "{line}");
    assert_eq!(vault.files_snapshot(), files);
    let line = vault.fails(&["code", "existing"], None);
    assert!(line.contains("locked"), "{line}");
}

fn migration_fixture(name_prefix: &str) -> (String, Vec<Value>) {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../core/tests/fixtures/migration/johncallahan_otpauth_migration.json"
    ))
    .unwrap();
    let fixtures: Value = serde_json::from_str(&text).unwrap();
    let code = fixtures["codes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"].as_str().unwrap().starts_with(name_prefix))
        .unwrap();
    (
        code["uri"].as_str().unwrap().to_owned(),
        code["accounts"].as_array().unwrap().clone(),
    )
}

#[test]
fn google_authenticator_exports_import_every_account() {
    let vault = TestVault::new("migration");
    // A published export (johncallahan/otpauth_migration) with 21 accounts in one code.
    let (uri, expected) = migration_fixture("string6:");
    let out = json(&vault.ok(&["add", "--uri", &uri, "--json"], None));
    assert_eq!(out["added"].as_array().unwrap().len(), expected.len());
    for (added, want) in out["added"].as_array().unwrap().iter().zip(&expected) {
        assert_eq!(added["label"], want["label"]);
        assert_eq!(added["issuer"], want["issuer"]);
        let secret = vault.keyring_lookup(added["id"].as_str().unwrap());
        assert_eq!(secret.as_deref(), want["secret"].as_str());
    }
    // Codes 1 and 2 of a 3-code batch: all their accounts, and a note about code 3.
    let other = TestVault::new("migration-batch");
    let (first, one) = migration_fixture("string1Of3UrlEncoded");
    let (second, two) = migration_fixture("string2Of3UrlEncoded");
    let out = json(&other.ok(&["add", "--uri", &first, "--uri", &second, "--json"], None));
    assert_eq!(
        out["added"].as_array().unwrap().len() + out["duplicates"].as_array().unwrap().len(),
        one.len() + two.len()
    );
    assert_eq!(out["missing_batch_codes"], serde_json::json!([3]));
}

/// Without an override the keyring entries go under the service `emnify-authenticator`,
/// exactly where `secret-tool` (and the issue) look for them. The tests' keyring is the
/// private one of scripts/with-keyring.sh, so this touches no real vault.
#[test]
fn default_keyring_service_is_emnify_authenticator() {
    let vault = TestVault::new("default-service");
    let mut add = vault.cli();
    add.env_remove("EMNIFY_AUTH_KEYRING_SERVICE").args([
        "add",
        "--secret",
        KEY2,
        "--label",
        "default-service",
        "--json",
    ]);
    let out = add.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = json(&String::from_utf8(out.stdout).unwrap())["added"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let lookup = Command::new("secret-tool")
        .args(["lookup", "service", "emnify-authenticator", "username", &id])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(lookup.stdout).unwrap().trim(), KEY2);
    assert_secret_nowhere_on_disk(&vault, KEY2);
    let mut remove = vault.cli();
    remove
        .env_remove("EMNIFY_AUTH_KEYRING_SERVICE")
        .args(["remove", "default-service", "--yes"]);
    assert!(remove.output().unwrap().status.success());
    let lookup = Command::new("secret-tool")
        .args(["lookup", "service", "emnify-authenticator", "username", &id])
        .output()
        .unwrap();
    assert!(lookup.stdout.is_empty(), "the entry is gone after remove");
}

/// A session bus that accepts connections and never answers (a wedged daemon): the CLI
/// gives up after its connect time-out with a clear error instead of hanging.
#[test]
fn a_keyring_that_never_answers_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("bus");
    let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream); // accept, keep open, never reply
        }
    });
    let mut vault = TestVault::detached("wedged");
    vault.extra_env = vec![(
        "DBUS_SESSION_BUS_ADDRESS".into(),
        format!("unix:path={}", socket.display()),
    )];
    let started = std::time::Instant::now();
    let line = vault.fails(&["add", "--secret", KEY, "--label", "x"], None);
    assert!(line.contains("did not answer"), "{line}");
    assert!(line.contains("no keyring is available"), "{line}");
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
    assert!(!vault.data_dir().join("vault.json").exists());
}
