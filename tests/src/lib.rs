//! Harness of the end-to-end tests (also used by the CLI's integration tests for the
//! simulator and tool checks): a virtual X display, the real app binary started by
//! `tauri-driver` (which drives WebKitWebDriver), a minimal W3C WebDriver client, the real
//! `emnify-sim` process, and screenshots of every screen under `target/e2e-screenshots/`.

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod private_keyring;
pub mod sim;

pub use private_keyring::PrivateKeyring;

pub use sim::Sim;

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// One GUI test at a time: they share the X display and the WebDriver port range.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `target/<profile>/`, where the app and simulator binaries are.
pub fn target_dir() -> PathBuf {
    let mut dir = std::env::current_exe().expect("test executable");
    dir.pop();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir
}

/// A binary of this workspace, next to the test executable.
pub fn binary(name: &str) -> PathBuf {
    let path = target_dir().join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace` first (scripts/test.sh does)",
        path.display()
    );
    path
}

/// Fails (never skips) when a tool the tests need is missing.
pub fn require_tool(name: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        found,
        "`{name}` is not installed: run scripts/setup.sh --tests (CI does)"
    );
}

/// The TOTP code of Base32 `key` at Unix time `at` (now when `None`), from `oathtool`, an
/// implementation nobody here wrote.
pub fn oathtool(key: &str, at: Option<u64>) -> String {
    require_tool("oathtool");
    let mut cmd = Command::new("oathtool");
    cmd.args(["--totp", "-b", key]);
    if let Some(at) = at {
        cmd.args(["--now", &format!("@{at}")]);
    }
    let out = cmd.output().expect("oathtool");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// `oathtool`'s codes of `key` for now and for the next 30 s step (a code shown by the app
/// may be either, when the step turns while the test reads it).
pub fn oathtool_now_and_next(key: &str) -> [String; 2] {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    [oathtool(key, Some(now)), oathtool(key, Some(now + 30))]
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A virtual X display for the whole test binary. Statics are never dropped, so Xvfb runs
/// under a small shell that kills it when our end of its stdin closes, i.e. when this test
/// process exits, however it exits.
pub fn display() -> &'static str {
    static DISPLAY: OnceLock<(String, Mutex<Option<std::process::ChildStdin>>)> = OnceLock::new();
    &DISPLAY
        .get_or_init(|| {
            if let Ok(existing) = std::env::var("E2E_DISPLAY") {
                return (existing, Mutex::new(None));
            }
            require_tool("Xvfb");
            // The shell outlives this process only until the stdin pipe closes; it is
            // never waited for on purpose (the process exits first).
            #[expect(clippy::zombie_processes, reason = "reaped by init when the tests end")]
            let mut child = Command::new("sh")
                .args([
                    "-c",
                    "Xvfb -displayfd 1 -screen 0 1280x900x24 -nolisten tcp 2>/dev/null & x=$!; read _; kill $x",
                ])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("start Xvfb");
            let mut line = String::new();
            BufReader::new(child.stdout.take().unwrap())
                .read_line(&mut line)
                .unwrap();
            (format!(":{}", line.trim()), Mutex::new(child.stdin.take()))
        })
        .0
}

/// Starts `dbus-daemon` (`command` holds its configuration and environment) without
/// forking, and returns it with the address of its bus.
pub fn start_dbus_daemon(mut command: Command) -> (Child, String) {
    require_tool("dbus-daemon");
    let mut bus = command
        .args(["--nofork", "--print-address=1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start dbus-daemon");
    let mut address = String::new();
    BufReader::new(bus.stdout.take().unwrap())
        .read_line(&mut address)
        .unwrap();
    let address = address.trim().to_owned();
    assert!(
        address.starts_with("unix:"),
        "dbus-daemon address: {address}"
    );
    (bus, address)
}

/// The app under test, started through tauri-driver with its own data folder and keyring
/// namespace.
#[derive(Debug)]
pub struct App {
    /// Killed after `Drop for App` has closed the session.
    _driver: KillOnDrop,
    base: String,
    session: String,
    /// The app's data folder.
    pub data_dir: tempfile::TempDir,
    /// Its keyring service name.
    pub service: String,
    screen: String,
}

impl App {
    /// Starts the app (extra `args`, e.g. `--demo`).
    pub fn start(test: &str, args: &[&str]) -> Self {
        Self::start_prepared(test, args, &[], |_, _| {})
    }

    /// Starts the app with extra environment variables, after `prepare(data_dir,
    /// keyring_service)` has set up its data folder (e.g. accounts added or the keys moved
    /// to the vault file with the CLI).
    pub fn start_prepared(
        test: &str,
        args: &[&str],
        env: &[(&str, &str)],
        prepare: impl FnOnce(&Path, &str),
    ) -> Self {
        require_tool("tauri-driver");
        require_tool("WebKitWebDriver");
        let display = display();
        // Resolved before tauri-driver starts, so a missing binary leaves no process behind.
        let application = binary("emnify-authenticator");
        let data_dir = tempfile::tempdir().unwrap();
        let service = format!("emnify-authenticator-e2e-{test}-{}", std::process::id());
        prepare(data_dir.path(), &service);
        let port = free_port();
        let native = free_port();
        let driver = KillOnDrop(
            Command::new("tauri-driver")
                .args([
                    "--port",
                    &port.to_string(),
                    "--native-port",
                    &native.to_string(),
                ])
                .env("DISPLAY", display)
                .env("EMNIFY_AUTH_DATA_DIR", data_dir.path())
                .env("EMNIFY_AUTH_KEYRING_SERVICE", &service)
                .env("GDK_BACKEND", "x11")
                .env("WEBKIT_DISABLE_COMPOSITING_MODE", "1")
                // The tests need no accessibility bus (axe reads the DOM); without it the app
                // cannot stall waiting for one.
                .env("NO_AT_BRIDGE", "1")
                .envs(env.iter().copied())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                // Its own process group, so that dropping it also ends the WebKitWebDriver
                // (and app) it started, which would otherwise outlive the test.
                .process_group(0)
                .spawn()
                .expect("start tauri-driver"),
        );
        let base = format!("http://127.0.0.1:{port}");
        // tauri-driver listens before its WebKitWebDriver does, and answers a session
        // request sent in between by dropping the connection: wait for both.
        let deadline = Instant::now() + Duration::from_secs(20);
        for (listener, what) in [(port, "tauri-driver"), (native, "WebKitWebDriver")] {
            while TcpStream::connect(("127.0.0.1", listener)).is_err() {
                assert!(Instant::now() < deadline, "{what} did not start");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        let capabilities = json!({
            "capabilities": {
                "alwaysMatch": {
                    "tauri:options": {
                        "application": application.display().to_string(),
                        "args": args,
                    }
                }
            }
        });
        let response = Self::new_session(&base, &capabilities);
        let session = response["value"]["sessionId"]
            .as_str()
            .expect("session id")
            .to_owned();
        let app = Self {
            _driver: driver,
            base,
            session,
            data_dir,
            service,
            screen: test.to_owned(),
        };
        app.wait_for("#tab-accounts", Duration::from_secs(20));
        app
    }

    /// Opens the WebDriver session. A dropped connection means the request never reached
    /// WebKitWebDriver (no app was started), so it is sent again, twice at most.
    fn new_session(base: &str, capabilities: &Value) -> Value {
        let mut attempts = 0;
        loop {
            match ureq::post(&format!("{base}/session"))
                .timeout(Duration::from_secs(60))
                .send_json(capabilities.clone())
            {
                Ok(response) => return response.into_json().expect("WebDriver session JSON"),
                Err(ureq::Error::Transport(err)) if attempts < 2 => {
                    attempts += 1;
                    eprintln!("POST /session: {err}; retrying");
                    std::thread::sleep(Duration::from_millis(500));
                }
                Err(err) => panic!("WebDriver session: {}", describe(err)),
            }
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/session/{}{path}", self.base, self.session)
    }

    /// tauri-driver now and then closes a connection without an answer; such a request
    /// never reached the app, so it is sent again (twice at most).
    fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let mut attempts = 0;
        loop {
            let request = ureq::request(method, &self.url(path)).timeout(Duration::from_secs(60));
            let result = match body {
                Some(body) => request.send_json(body.clone()),
                None => request.call(),
            };
            match result {
                Ok(response) => return response.into_json::<Value>().unwrap()["value"].take(),
                Err(ureq::Error::Transport(err)) if attempts < 2 => {
                    attempts += 1;
                    eprintln!("{method} {path}: {err}; retrying");
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(err) => panic!("{method} {path}: {}", describe(err)),
            }
        }
    }

    fn post(&self, path: &str, body: Value) -> Value {
        self.send("POST", path, Some(&body))
    }

    fn get(&self, path: &str) -> Value {
        self.send("GET", path, None)
    }

    /// All elements matching a CSS selector.
    pub fn find_all(&self, css: &str) -> Vec<Element<'_>> {
        let found = self.post("/elements", json!({"using": "css selector", "value": css}));
        found
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|e| Element {
                app: self,
                id: e[ELEMENT_KEY].as_str().unwrap().to_owned(),
            })
            .collect()
    }

    /// The first element matching `css`, waiting up to 10 s for it.
    pub fn find(&self, css: &str) -> Element<'_> {
        self.wait_for(css, Duration::from_secs(10))
    }

    /// Waits until `css` matches a displayed element.
    pub fn wait_for(&self, css: &str, timeout: Duration) -> Element<'_> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(element) = self.find_all(css).into_iter().find(|e| e.displayed()) {
                return element;
            }
            assert!(
                Instant::now() < deadline,
                "no visible element matches {css}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until `condition` holds (checked every 100 ms).
    pub fn wait_until(&self, what: &str, timeout: Duration, mut condition: impl FnMut() -> bool) {
        let deadline = Instant::now() + timeout;
        while !condition() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The text content of every element matching `css`, read in one step (no stale
    /// element references while the page re-renders).
    pub fn texts(&self, css: &str) -> Vec<String> {
        self.script(
            "return [...document.querySelectorAll(arguments[0])].map(e => e.textContent.trim());",
            json!([css]),
        )
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|v| v.as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
    }

    /// Runs JavaScript in the page and returns its value.
    pub fn script(&self, script: &str, args: Value) -> Value {
        self.post("/execute/sync", json!({"script": script, "args": args}))
    }

    /// Runs asynchronous JavaScript (the last argument is the callback).
    pub fn script_async(&self, script: &str, args: Value) -> Value {
        self.post("/execute/async", json!({"script": script, "args": args}))
    }

    /// Saves a screenshot of the app's window as `target/e2e-screenshots/<test>-<name>.png`.
    /// Taken from the X server (WebKitWebDriver's own screenshot hangs under Xvfb).
    pub fn screenshot(&self, name: &str) {
        require_tool("xdotool");
        require_tool("import");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let search = Command::new("xdotool")
            .args(["search", "--onlyvisible", "--name", "emnify Authenticator"])
            .env("DISPLAY", display())
            .output()
            .expect("xdotool");
        let window = String::from_utf8_lossy(&search.stdout)
            .lines()
            .last()
            .map(str::to_owned)
            .unwrap_or_else(|| "root".to_owned());
        // Let the page finish painting what the last action changed.
        std::thread::sleep(Duration::from_millis(300));
        let file = dir.join(format!("{}-{name}.png", self.screen));
        let status = Command::new("import")
            .args(["-window", &window, file.to_str().unwrap()])
            .env("DISPLAY", display())
            .status()
            .expect("import (ImageMagick)");
        assert!(status.success(), "screenshot {name} failed");
    }

    /// Sends key presses to the focused element (W3C key codes, e.g. "\u{E007}" = Enter).
    pub fn keys(&self, text: &str) {
        let mut actions = Vec::new();
        for ch in text.chars() {
            actions.push(json!({"type": "keyDown", "value": ch.to_string()}));
            actions.push(json!({"type": "keyUp", "value": ch.to_string()}));
        }
        self.post(
            "/actions",
            json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]}),
        );
    }

    /// Runs axe-core in the page; returns the critical violations (id: help).
    pub fn critical_accessibility_violations(&self) -> Vec<String> {
        let source = std::fs::read_to_string(axe_path()).expect("axe.min.js");
        self.script(
            "if (!window.axe) { (0, eval)(arguments[0]); } return true;",
            json!([source]),
        );
        let result = self.script_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, {resultTypes: ['violations']})
               .then(r => done(r.violations.filter(v => v.impact === 'critical')
                   .map(v => v.id + ': ' + v.help + ' (' + v.nodes.length + ' nodes)')))
               .catch(e => done(['axe failed: ' + e]));",
            json!([]),
        );
        result
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    }

    /// Reads the X clipboard with xclip.
    pub fn clipboard(&self) -> String {
        require_tool("xclip");
        let out = Command::new("xclip")
            .args(["-o", "-selection", "clipboard"])
            .env("DISPLAY", display())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// `tests/node_modules/axe-core/axe.min.js`, installed by scripts/setup.sh.
fn axe_path() -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("node_modules/axe-core/axe.min.js");
    assert!(
        path.exists(),
        "{} is missing: run scripts/setup.sh (it installs axe-core with npm)",
        path.display()
    );
    path
}

/// Where screenshots go: `target/e2e-screenshots/` of the checkout.
pub fn screenshot_dir() -> PathBuf {
    // In the checkout, whatever CARGO_TARGET_DIR says, so people find them where the
    // README says.
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/e2e-screenshots")
}

fn describe(err: ureq::Error) -> String {
    match err {
        ureq::Error::Status(code, response) => {
            format!("{code}: {}", response.into_string().unwrap_or_default())
        }
        other => other.to_string(),
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = ureq::delete(&self.url("")).call();
    }
}

/// A copy of `png` whose IHDR claims `width`×`height` (CRC fixed), for proving that an
/// image's size is checked from its header before anything is decoded.
pub fn png_claiming_size(png: &[u8], width: u32, height: u32) -> Vec<u8> {
    assert_eq!(&png[12..16], b"IHDR", "not a PNG");
    let mut bytes = png.to_vec();
    bytes[16..20].copy_from_slice(&width.to_be_bytes());
    bytes[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = crc32(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    bytes
}

/// PNG's CRC-32 (ISO-HDLC), bitwise: too small a need for a dependency.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A child process that is killed when this goes out of scope, even when a test panics
/// half-way through starting it.
#[derive(Debug)]
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        // The whole group when the child leads one (tauri-driver); `kill` the command
        // because the tests use no unsafe code (no libc::kill).
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
        // The rest of the group (the app, WebKitWebDriver) dies asynchronously; the next
        // test starts only when it is gone, so no dying window still holds its names.
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline
            && Command::new("kill")
                .args(["-0", "--", &group])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|status| status.success())
        {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// An element of the page.
#[derive(Debug)]
pub struct Element<'a> {
    app: &'a App,
    id: String,
}

impl Element<'_> {
    /// The element as a script argument.
    pub fn as_arg(&self) -> Value {
        json!({ ELEMENT_KEY: self.id })
    }

    /// Clicks it.
    pub fn click(&self) {
        // WebKitWebDriver does not scroll inside the page's own scrolling panels, and
        // calls an element it cannot see "not interactable".
        self.app.script(
            "arguments[0].scrollIntoView({block: 'center'});",
            json!([self.as_arg()]),
        );
        self.app
            .post(&format!("/element/{}/click", self.id), json!({}));
    }

    /// Types `text` into it.
    pub fn type_text(&self, text: &str) {
        self.app.post(
            &format!("/element/{}/value", self.id),
            json!({"text": text}),
        );
    }

    /// Clears an input.
    pub fn clear(&self) {
        self.app
            .post(&format!("/element/{}/clear", self.id), json!({}));
    }

    /// Its visible text.
    pub fn text(&self) -> String {
        self.app
            .get(&format!("/element/{}/text", self.id))
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// An attribute.
    pub fn attribute(&self, name: &str) -> Option<String> {
        self.app
            .get(&format!("/element/{}/attribute/{name}", self.id))
            .as_str()
            .map(str::to_owned)
    }

    /// Whether a checkbox or option is selected.
    pub fn selected(&self) -> bool {
        self.app
            .get(&format!("/element/{}/selected", self.id))
            .as_bool()
            .unwrap_or(false)
    }

    /// Whether it is displayed.
    pub fn displayed(&self) -> bool {
        self.app
            .get(&format!("/element/{}/displayed", self.id))
            .as_bool()
            .unwrap_or(false)
    }

    /// Elements inside it matching `css`.
    pub fn find_all(&self, css: &str) -> Vec<Element<'_>> {
        let found = self.app.post(
            &format!("/element/{}/elements", self.id),
            json!({"using": "css selector", "value": css}),
        );
        found
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|e| Element {
                app: self.app,
                id: e[ELEMENT_KEY].as_str().unwrap().to_owned(),
            })
            .collect()
    }

    /// The first element inside it matching `css`.
    pub fn find(&self, css: &str) -> Element<'_> {
        self.find_all(css)
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no {css} inside the element"))
    }
}
