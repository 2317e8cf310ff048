//! The real `emnify-sim` process, started per test on a free loopback port with its
//! test-only admin routes, and a tiny HTTP client for those routes.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

/// A running simulator; stopped on drop.
#[derive(Debug)]
pub struct Sim {
    child: Child,
    pub url: String,
    port: u16,
}

impl Sim {
    /// Starts `emnify-sim --port 0 --admin` with the demo seed.
    pub fn start() -> Self {
        let mut child = Command::new(crate::binary("emnify-sim"))
            .args(["--port", "0", "--admin"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start emnify-sim");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("emnify-sim listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line}"))
            .to_owned();
        let port = url.rsplit(':').next().unwrap().parse().unwrap();
        Self { child, url, port }
    }

    /// One HTTP/1.1 request; returns (status, body).
    pub fn request(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, String) {
        self.request_as(method, path, "", body)
    }

    /// One HTTP/1.1 request with `Authorization: Bearer <token>` (none when `token` is
    /// empty); returns (status, body).
    pub fn request_as(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> (u16, String) {
        let mut stream =
            TcpStream::connect(("127.0.0.1", self.port)).expect("connect to emnify-sim");
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let auth = if token.is_empty() {
            String::new()
        } else {
            format!("Authorization: Bearer {token}\r\n")
        };
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let status = response
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        (status, body)
    }

    fn admin(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let (status, text) = self.request(method, path, body);
        assert!(status < 300, "{method} {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// Moves the simulator's clock forward.
    pub fn advance(&self, seconds: u64) {
        self.admin(
            "POST",
            "/_sim/clock",
            Some(&serde_json::json!({"advance_secs": seconds})),
        );
    }

    /// How many `METHOD path` requests the simulator has seen.
    pub fn count(&self, method_path: &str) -> u64 {
        let stats = self.admin("GET", "/_sim/stats", None);
        stats["requests"][method_path].as_u64().unwrap_or(0)
    }

    /// All requests the simulator has seen (admin routes excluded).
    pub fn total(&self) -> u64 {
        self.admin("GET", "/_sim/stats", None)["total"]
            .as_u64()
            .unwrap()
    }

    /// Makes the next request to `path` misbehave (`html`, `empty`, `invalid_json`, `drop`).
    pub fn fault(&self, path: &str, kind: &str) {
        self.admin(
            "POST",
            "/_sim/fault",
            Some(&serde_json::json!({"path": path, "kind": kind, "times": 1})),
        );
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The demo seed's user with MFA, and its TOTP key (see simulator/seeds/demo.json).
pub const DEMO_USER: &str = "demo@example.com";
pub const DEMO_PASSWORD: &str = "demo-password";
pub const DEMO_TOTP: &str = "EMNIFYDEMOSECRETKEYFORTOTPAPP234";
pub const NOMFA_USER: &str = "nomfa@example.com";
pub const NOMFA_PASSWORD: &str = "nomfa-password";
pub const APP_TOKEN: &str = "demo-application-token-5001";
