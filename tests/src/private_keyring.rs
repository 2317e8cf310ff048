//! A D-Bus session of its own with an unlocked gnome-keyring, whose password prompts
//! (gcr-prompter) open on the test display: for tests that lock the keyring, which must
//! never lock the one every other test shares.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::{KillOnDrop, display, require_tool, start_dbus_daemon};

/// The keyring's default collection (gnome-keyring resolves the alias path).
const DEFAULT_COLLECTION: &str = "/org/freedesktop/secrets/aliases/default";

/// The private session; dropping it ends the bus, and gnome-keyring with it.
#[derive(Debug)]
pub struct PrivateKeyring {
    /// `DBUS_SESSION_BUS_ADDRESS` of the private bus.
    pub address: String,
    _bus: KillOnDrop,
    _dirs: tempfile::TempDir,
}

impl PrivateKeyring {
    /// Starts the bus and a keyring unlocked with `password`.
    pub fn start(password: &str) -> Self {
        require_tool("dbus-send");
        require_tool("gnome-keyring-daemon");
        let dirs = tempfile::tempdir().unwrap();
        let runtime = dirs.path().join("runtime");
        let data = dirs.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::create_dir(&runtime).unwrap();
        std::fs::set_permissions(
            &runtime,
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();
        // Services the bus starts (gcr-prompter) inherit its environment: the test display
        // and these folders (a keyring's control socket must not meet the shared one's).
        let environment: [(&str, &std::ffi::OsStr); 4] = [
            ("DISPLAY", display().as_ref()),
            ("XDG_RUNTIME_DIR", runtime.as_os_str()),
            ("XDG_DATA_HOME", data.as_os_str()),
            ("NO_AT_BRIDGE", "1".as_ref()),
        ];
        let mut command = Command::new("dbus-daemon");
        command
            .arg("--session")
            .envs(environment)
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .process_group(0);
        let (bus, address) = start_dbus_daemon(command);
        let bus = KillOnDrop(bus);

        let mut keyring = Command::new("gnome-keyring-daemon")
            .args(["--unlock", "--components=secrets", "--daemonize"])
            .envs(environment)
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start gnome-keyring-daemon");
        keyring
            .stdin
            .take()
            .unwrap()
            .write_all(password.as_bytes())
            .unwrap();
        assert!(keyring.wait().unwrap().success(), "gnome-keyring-daemon");

        let private = Self {
            address,
            _bus: bus,
            _dirs: dirs,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !private
            .send(&[
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner",
                "string:org.freedesktop.secrets",
            ])
            .contains("boolean true")
        {
            assert!(
                Instant::now() < deadline,
                "the private keyring did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        private
    }

    /// `dbus-send --print-reply` on the private bus; its output.
    fn send(&self, args: &[&str]) -> String {
        let out = Command::new("dbus-send")
            .arg(format!("--bus={}", self.address))
            .arg("--print-reply")
            .args(args)
            .output()
            .expect("dbus-send");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Whether the default collection (where the app keeps its keys) is locked.
    pub fn locked(&self) -> bool {
        let reply = self.send(&[
            "--dest=org.freedesktop.secrets",
            DEFAULT_COLLECTION,
            "org.freedesktop.DBus.Properties.Get",
            "string:org.freedesktop.Secret.Collection",
            "string:Locked",
        ]);
        assert!(reply.contains("boolean"), "no Locked property: {reply}");
        reply.contains("boolean true")
    }

    /// Locks the default collection from outside the app (as Seahorse's lock button does).
    pub fn lock(&self) {
        let reply = self.send(&[
            "--dest=org.freedesktop.secrets",
            "/org/freedesktop/secrets",
            "org.freedesktop.Secret.Service.Lock",
            &format!("array:objpath:{DEFAULT_COLLECTION}"),
        ]);
        assert!(reply.contains("object path"), "Lock: {reply}");
    }

    /// Waits for the keyring's password prompt on the test display and answers it:
    /// `Some(password)` types it and presses Enter, `None` presses Escape.
    pub fn answer_prompt(&self, password: Option<&str>) {
        require_tool("xdotool");
        let found = Command::new("timeout")
            .args(["20", "xdotool", "search", "--sync", "--onlyvisible"])
            .args(["--class", "gcr-prompter"])
            .env("DISPLAY", display())
            .output()
            .expect("xdotool search");
        let window = String::from_utf8_lossy(&found.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned();
        assert!(!window.is_empty(), "the keyring's prompt did not open");
        // The prompt grabs the keyboard once it is mapped; typed keys then reach it.
        std::thread::sleep(Duration::from_millis(500));
        let xdotool = |args: &[&str]| {
            let status = Command::new("xdotool")
                .args(args)
                .env("DISPLAY", display())
                .status()
                .expect("xdotool");
            assert!(status.success(), "xdotool {args:?}");
        };
        match password {
            Some(password) => {
                xdotool(&["type", "--delay", "20", password]);
                xdotool(&["key", "Return"]);
            }
            None => xdotool(&["key", "Escape"]),
        }
    }

    /// A command that talks to the private bus (e.g. the CLI adding an account).
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        command.env("DBUS_SESSION_BUS_ADDRESS", &self.address);
        command
    }
}
