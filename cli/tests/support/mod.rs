//! Shared harness of the CLI integration tests: a data folder and keyring namespace per
//! test, the real `emnify-auth` binary, and private D-Bus sessions for the keyring-less
//! and locked-keyring cases.
#![allow(dead_code, unused_imports)] // each test binary uses a different part of this module

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use assert_cmd::cargo::CommandCargoExt;

pub use emnify_auth_e2e::{oathtool, require_tool, sim};

/// Fails clearly when the tests are not inside the keyring session that
/// scripts/with-keyring.sh (and CI) provides.
pub fn require_keyring_session() {
    require_tool("secret-tool");
    let owned = Command::new("dbus-send")
        .args([
            "--session",
            "--print-reply",
            "--dest=org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.NameHasOwner",
            "string:org.freedesktop.secrets",
        ])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("boolean true"))
        .unwrap_or(false);
    assert!(
        owned,
        "no unlocked Secret Service on the session bus: run the tests with scripts/with-keyring.sh (see README)"
    );
}

/// The longest a single CLI command may take in a test (logins wait for a fresh code step
/// at most about 30 s; everything else takes well under a second).
const COMMAND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(90);

/// One test's world: its own data folder and keyring service name, so tests running in
/// parallel share the keyring daemon but never each other's entries.
pub struct TestVault {
    pub dir: tempfile::TempDir,
    pub service: String,
    pub extra_env: Vec<(String, String)>,
    /// Seconds the CLI's clock runs ahead (under `faketime`); see [`TestVault::set_clock_offset`].
    pub clock_offset: std::cell::Cell<u64>,
}

impl TestVault {
    /// A vault in the ambient (scripts/with-keyring.sh) keyring session.
    pub fn new(test: &str) -> Self {
        require_keyring_session();
        Self::detached(test)
    }

    /// A vault whose environment the test sets itself (e.g. another D-Bus session).
    pub fn detached(test: &str) -> Self {
        let service = format!(
            "emnify-authenticator-test-{test}-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        );
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
            service,
            extra_env: Vec::new(),
            clock_offset: std::cell::Cell::new(0),
        }
    }

    /// Runs the CLI from now on with its clock `seconds` ahead of the real one (under
    /// `faketime`): move the simulator's clock by the same amount so codes still match.
    pub fn set_clock_offset(&self, seconds: u64) {
        require_tool("faketime");
        self.clock_offset.set(seconds);
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The simulator's demo user: its TOTP key in the vault as "emnify: demo@example.com"
    /// and a login profile `name` linked to it; `extra` adds `profile add` flags (e.g.
    /// `--trust-device`).
    pub fn add_demo_profile(&self, sim: &sim::Sim, name: &str, extra: &[&str]) {
        use sim::{DEMO_PASSWORD, DEMO_TOTP, DEMO_USER};
        self.ok(
            &[
                "add", "--secret", DEMO_TOTP, "--label", DEMO_USER, "--issuer", "emnify",
            ],
            None,
        );
        let mut args = vec![
            "profile",
            "add",
            name,
            "--api-url",
            &sim.url,
            "--username",
            DEMO_USER,
            "--password-stdin",
            "--otp",
            "emnify",
        ];
        args.extend_from_slice(extra);
        self.ok(&args, Some(DEMO_PASSWORD));
    }

    /// A login profile `name` with the simulator's demo application token.
    pub fn add_app_token_profile(&self, sim: &sim::Sim, name: &str) {
        self.ok(
            &[
                "profile",
                "add",
                name,
                "--api-url",
                &sim.url,
                "--app-token-stdin",
            ],
            Some(sim::APP_TOKEN),
        );
    }

    /// `emnify-auth` with this vault's environment.
    pub fn cli(&self) -> Command {
        let mut cmd = Command::cargo_bin("emnify-auth").expect("emnify-auth binary");
        if self.clock_offset.get() > 0 {
            let binary = cmd.get_program().to_owned();
            cmd = Command::new("faketime");
            // Only the wall clock moves. A faked monotonic clock hangs the CLI now and then:
            // std's timed waits hand the kernel a futex deadline computed from it, days
            // ahead of the real one (a login waiting for the next code step sat there).
            cmd.args(["--exclude-monotonic", "-f"])
                .arg(format!("+{}", self.clock_offset.get()))
                .arg(binary);
        }
        cmd.env("EMNIFY_AUTH_DATA_DIR", self.data_dir())
            .env("EMNIFY_AUTH_KEYRING_SERVICE", &self.service)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null());
        for (key, value) in &self.extra_env {
            cmd.env(key, value);
        }
        cmd
    }

    /// Runs the CLI with `args` and optional stdin text.
    pub fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        use std::io::{Read, Write};
        let mut cmd = self.cli();
        cmd.args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn emnify-auth");
        if let Some(text) = stdin {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
        }
        // Read both pipes on their own threads, so a chatty child cannot block on a full pipe.
        let mut stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let out_reader = std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = stdout.read_to_end(&mut bytes);
            bytes
        });
        let err_reader = std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = stderr.read_to_end(&mut bytes);
            bytes
        });
        // A hung command fails its test instead of stalling the whole run.
        let deadline = std::time::Instant::now() + COMMAND_TIMEOUT;
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait emnify-auth") {
                break status;
            }
            if std::time::Instant::now() > deadline {
                let where_stuck = threads_of(child.id());
                let _ = child.kill();
                let _ = child.wait();
                let stderr = err_reader.join().unwrap_or_default();
                panic!(
                    "emnify-auth {args:?} did not finish within {COMMAND_TIMEOUT:?}\nits threads then:\n{where_stuck}\nstderr: {}",
                    String::from_utf8_lossy(&stderr)
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        Output {
            status,
            stdout: out_reader.join().unwrap(),
            stderr: err_reader.join().unwrap(),
        }
    }

    /// Runs the CLI and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.run(args, stdin);
        assert!(
            out.status.success(),
            "emnify-auth {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs the CLI and asserts failure with exactly one stderr line; returns that line.
    pub fn fails(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.run(args, stdin);
        assert!(
            !out.status.success(),
            "emnify-auth {args:?} should have failed; stdout: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert_eq!(out.status.code(), Some(1), "exit code");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
        stderr.trim_end().to_owned()
    }

    /// The secrets this vault's service has in the keyring, as `secret-tool search` shows
    /// them (sorted lines), for before/after comparisons.
    pub fn keyring_snapshot(&self) -> Vec<String> {
        let mut cmd = Command::new("secret-tool");
        cmd.args(["search", "--all", "--unlock", "service", &self.service]);
        for (key, value) in &self.extra_env {
            cmd.env(key, value);
        }
        let out = cmd.output().expect("secret-tool search");
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        let mut lines: Vec<String> = text
            .lines()
            .filter(|l| l.starts_with("secret") || l.starts_with("attribute.username"))
            .map(str::to_owned)
            .collect();
        lines.sort();
        lines
    }

    /// `secret-tool lookup service … username ID`.
    pub fn keyring_lookup(&self, id: &str) -> Option<String> {
        let out = Command::new("secret-tool")
            .args(["lookup", "service", &self.service, "username", id])
            .output()
            .expect("secret-tool lookup");
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    /// Bytes of every file under the data folder (path → bytes), to prove nothing changed.
    pub fn files_snapshot(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let mut files = Vec::new();
        collect_files(&self.data_dir(), &mut files);
        files.sort();
        files
    }
}

pub fn collect_files(dir: &Path, into: &mut Vec<(PathBuf, Vec<u8>)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_files(&path, into);
        } else if let Ok(bytes) = std::fs::read(&path) {
            into.push((path, bytes));
        }
    }
}

/// A private D-Bus session bus of our own, without service activation (so nothing can be
/// started behind our back), optionally with a gnome-keyring daemon on it.
pub struct PrivateBus {
    dir: tempfile::TempDir,
    bus: Child,
    pub address: String,
    keyring_pid: Option<u32>,
}

impl PrivateBus {
    /// A bus with no Secret Service at all.
    pub fn without_keyring() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("bus.conf");
        std::fs::write(
            &config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
                dir.path().display()
            ),
        )
        .unwrap();
        let mut command = Command::new("dbus-daemon");
        command.arg(format!("--config-file={}", config.display()));
        let (bus, address) = emnify_auth_e2e::start_dbus_daemon(command);
        Self {
            dir,
            bus,
            address,
            keyring_pid: None,
        }
    }

    /// A bus with an unlocked gnome-keyring of its own.
    pub fn with_keyring() -> Self {
        require_tool("gnome-keyring-daemon");
        let mut bus = Self::without_keyring();
        for sub in ["runtime", "data", "config"] {
            std::fs::create_dir_all(bus.dir.path().join(sub)).unwrap();
        }
        let mut child = Command::new("gnome-keyring-daemon")
            .args(["--unlock", "--components=secrets", "--daemonize"])
            .envs(bus.env())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start gnome-keyring-daemon");
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().unwrap();
            stdin.write_all(b"private-bus-password").unwrap();
        }
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "gnome-keyring-daemon failed to start");
        for _ in 0..100 {
            if bus.name_has_owner("org.freedesktop.secrets") {
                // --daemonize does not always print GNOME_KEYRING_PID; ask the bus.
                bus.keyring_pid = bus.owner_pid("org.freedesktop.secrets");
                return bus;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("gnome-keyring did not register on the private bus");
    }

    /// Environment that points a process at this bus.
    pub fn env(&self) -> Vec<(String, String)> {
        let dir = self.dir.path();
        vec![
            ("DBUS_SESSION_BUS_ADDRESS".into(), self.address.clone()),
            (
                "XDG_RUNTIME_DIR".into(),
                dir.join("runtime").display().to_string(),
            ),
            (
                "XDG_DATA_HOME".into(),
                dir.join("data").display().to_string(),
            ),
            (
                "XDG_CONFIG_HOME".into(),
                dir.join("config").display().to_string(),
            ),
            ("DISPLAY".into(), String::new()),
        ]
    }

    pub fn name_has_owner(&self, name: &str) -> bool {
        Command::new("dbus-send")
            .envs(self.env())
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner",
                &format!("string:{name}"),
            ])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).contains("boolean true"))
            .unwrap_or(false)
    }

    /// Process id of the owner of a bus name.
    pub fn owner_pid(&self, name: &str) -> Option<u32> {
        let out = Command::new("dbus-send")
            .envs(self.env())
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.GetConnectionUnixProcessID",
                &format!("string:{name}"),
            ])
            .output()
            .ok()?;
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .last()?
            .parse()
            .ok()
    }

    /// Locks the keyring's login collection, as a screen lock or a timeout would.
    pub fn lock_keyring(&self) {
        let out = Command::new("dbus-send")
            .envs(self.env())
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.secrets",
                "/org/freedesktop/secrets",
                "org.freedesktop.Secret.Service.Lock",
                "array:objpath:/org/freedesktop/secrets/collection/login",
            ])
            .output()
            .expect("dbus-send Lock");
        assert!(
            out.status.success(),
            "locking failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        if let Some(pid) = self.keyring_pid {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
        let _ = self.bus.kill();
        let _ = self.bus.wait();
    }
}

/// "HH:MM:SS UTC" of a Unix time, as the CLI prints a lockout's end (computed here
/// independently of the CLI's own date code).
pub fn format_utc_time(unix: u64) -> String {
    let secs = unix % 86_400;
    format!(
        "{:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Files under `dirs` that hold the Base32 key `base32` in any usual encoding: Base32 (any
/// case), hex, Base64 or the raw bytes. Empty when the key is nowhere.
pub fn files_holding_key(dirs: &[&Path], base32: &str) -> Vec<String> {
    use base64::Engine;
    let raw = data_encoding::BASE32_NOPAD
        .decode(base32.trim_end_matches('=').as_bytes())
        .expect("a Base32 key");
    let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&raw);
    let b64 = b64.trim_end_matches('=');
    let mut files = Vec::new();
    for dir in dirs {
        collect_files(dir, &mut files);
    }
    files
        .into_iter()
        .filter(|(_, bytes)| {
            let text = String::from_utf8_lossy(bytes);
            let lower = text.to_lowercase();
            lower.contains(&base32.to_lowercase())
                || lower.contains(&hex)
                || text.contains(b64)
                || bytes.windows(raw.len()).any(|w| w == raw.as_slice())
        })
        .map(|(path, _)| path.display().to_string())
        .collect()
}

/// What each thread of a hung process waits in (name, kernel wait channel, system call
/// line) and what its file descriptors are, so a hang says whether it waited for the
/// network, the keyring's bus or a lock.
fn threads_of(pid: u32) -> String {
    let read = |path: String| {
        std::fs::read_to_string(path)
            .map(|text| text.trim().to_owned())
            .unwrap_or_default()
    };
    let mut report = String::new();
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.flatten() {
            let dir = task.path().display().to_string();
            report += &format!(
                "  {} wchan={} syscall={}\n",
                read(format!("{dir}/comm")),
                read(format!("{dir}/wchan")),
                read(format!("{dir}/syscall")),
            );
        }
    }
    if let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) {
        let targets: Vec<String> = fds
            .flatten()
            .filter_map(|fd| std::fs::read_link(fd.path()).ok())
            .map(|target| target.display().to_string())
            .collect();
        report += &format!("  fds: {}", targets.join(" "));
    }
    report
}
