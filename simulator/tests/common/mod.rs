//! Test harness: a simulator on loopback, an independent HTTP client (reqwest), and an
//! independent TOTP implementation, so these tests check the simulator rather than agree with
//! it by construction. Every exchange is logged so the OpenAPI test can validate the bodies.
#![allow(dead_code)]

use std::sync::Mutex;
use std::time::Duration;

use base64::Engine as _;
use emnify_sim::{RunningSimulator, Seed, SimClock, SimConfig};
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use sha1::{Digest, Sha1};

pub const DEMO_USER: &str = "demo@example.com";
pub const DEMO_PASSWORD: &str = "demo-password";
pub const DEMO_USER_ID: u64 = 1001;
pub const DEMO_SECRET: &str = "EMNIFYDEMOSECRETKEYFORTOTPAPP234";
pub const DEMO_ORG: u64 = 5001;
pub const DEMO_WORKSPACE: u64 = 5002;
pub const NOMFA_USER: &str = "nomfa@example.com";
pub const NOMFA_PASSWORD: &str = "nomfa-password";
pub const NOMFA_USER_ID: u64 = 1002;
pub const APP_TOKEN: &str = "demo-application-token-5001";
pub const REVOKED_APP_TOKEN: &str = "demo-revoked-application-token";
/// Seeded trusted device 41, trusted 80 days ago.
pub const OLD_DEVICE_FP: &str = "demo-fingerprint-edge-windows";
/// Seeded trusted device 42, trusted 12 days ago.
pub const NEW_DEVICE_FP: &str = "demo-fingerprint-firefox-ubuntu";

pub const MINUTE: u64 = 60;
pub const DAY: u64 = 86_400;

/// Lowercase hex SHA-1, as clients send passwords.
pub fn sha1_hex(s: &str) -> String {
    hex::encode(Sha1::digest(s.as_bytes()))
}

/// RFC 6238 TOTP (SHA-1, 6 digits, 30 s), written independently of the simulator's.
pub fn totp(secret_b32: &str, unix_secs: u64) -> String {
    let key = data_encoding::BASE32_NOPAD
        .decode(secret_b32.trim_end_matches('=').as_bytes())
        .expect("base32 secret");
    let mut mac = Hmac::<Sha1>::new_from_slice(&key).expect("hmac key");
    mac.update(&(unix_secs / 30).to_be_bytes());
    let h = mac.finalize().into_bytes();
    let o = usize::from(h[19] & 0x0f);
    let v = u32::from_be_bytes([h[o] & 0x7f, h[o + 1], h[o + 2], h[o + 3]]) % 1_000_000;
    format!("{v:06}")
}

/// The claims of a JWT, decoded without checking anything.
pub fn jwt_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("three-part JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url payload");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

/// One request and its answer.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub method: String,
    pub path: String,
    pub status: u16,
    pub content_type: Option<String>,
    pub body: String,
}

/// An answer.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?} (status {})", self.text, self.status))
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("ASCII header").to_string())
    }

    /// `json()[key]` as a string.
    pub fn str(&self, key: &str) -> String {
        self.json()[key]
            .as_str()
            .unwrap_or_else(|| panic!("no string {key:?} in {}", self.text))
            .to_string()
    }
}

/// A running simulator plus a client.
pub struct Sim {
    pub sim: RunningSimulator,
    pub http: reqwest::Client,
    pub base: String,
    pub log: Mutex<Vec<Exchange>>,
}

/// The demo seed with the admin routes on.
pub async fn start() -> Sim {
    start_with(SimConfig::new().with_admin(true)).await
}

pub async fn start_with_seed(seed: Seed) -> Sim {
    start_with(SimConfig::new().with_admin(true).with_seed(seed)).await
}

pub async fn start_with(config: SimConfig) -> Sim {
    let sim = emnify_sim::serve(config).await.expect("simulator starts");
    let base = sim.url();
    Sim {
        sim,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .expect("client"),
        base,
        log: Mutex::new(Vec::new()),
    }
}

impl Sim {
    pub fn clock(&self) -> &SimClock {
        self.sim.clock()
    }

    pub fn advance(&self, secs: u64) {
        self.clock().advance(Duration::from_secs(secs));
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        self.try_request(method, path, token, body)
            .await
            .expect("HTTP request")
    }

    pub async fn try_request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> reqwest::Result<Resp> {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await?;
        self.log.lock().unwrap().push(Exchange {
            method: method.to_string(),
            path: path.split('?').next().unwrap_or(path).to_string(),
            status,
            content_type: headers
                .get(reqwest::header::CONTENT_TYPE)
                .map(|v| v.to_str().unwrap_or("").to_string()),
            body: text.clone(),
        });
        Ok(Resp {
            status,
            headers,
            text,
        })
    }

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.request(Method::GET, path, Some(token), None).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Resp {
        self.request(Method::DELETE, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.request(Method::POST, path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Resp {
        self.request(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    pub async fn authenticate(&self, body: Value) -> Resp {
        self.post("/api/v1/authenticate", None, body).await
    }

    pub async fn credentials(
        &self,
        username: &str,
        password: &str,
        fingerprint: Option<&str>,
    ) -> Resp {
        let mut body = json!({ "username": username, "password": sha1_hex(password) });
        if let Some(fp) = fingerprint {
            body["fingerprint"] = json!(fp);
        }
        self.authenticate(body).await
    }

    /// A code for the current simulator time. Moves the clock one step on first, because the
    /// simulator accepts each code only once.
    pub fn fresh_code(&self, secret_b32: &str) -> String {
        self.advance(30);
        totp(secret_b32, self.clock().unix_secs())
    }

    /// Full demo-user login (password, then TOTP); returns (auth_token, refresh_token).
    pub async fn login_demo(&self) -> (String, String) {
        self.login_demo_trusting(None).await
    }

    /// Full demo-user login, optionally registering a trusted device
    /// `(fingerprint, operating_system, browser)`.
    pub async fn login_demo_trusting(
        &self,
        device: Option<(&str, &str, &str)>,
    ) -> (String, String) {
        let first = self.credentials(DEMO_USER, DEMO_PASSWORD, None).await;
        assert_eq!(first.status, 200, "{}", first.text);
        let mfa_token = first.str("mfa_token");
        let mut body = json!({ "mfa_token": mfa_token, "code": self.fresh_code(DEMO_SECRET) });
        if let Some((fp, os, browser)) = device {
            body["trusted_device"] =
                json!({ "fingerprint": fp, "operating_system": os, "browser": browser });
        }
        let second = self.authenticate(body).await;
        assert_eq!(second.status, 200, "{}", second.text);
        (second.str("auth_token"), second.str("refresh_token"))
    }

    /// Login of the user without MFA; returns (auth_token, refresh_token).
    pub async fn login_nomfa(&self) -> (String, String) {
        let r = self.credentials(NOMFA_USER, NOMFA_PASSWORD, None).await;
        assert_eq!(r.status, 200, "{}", r.text);
        (r.str("auth_token"), r.str("refresh_token"))
    }

    /// Events of `path` (`/api/v1/event` or `/api/v1/user/my/event`) as a JSON array.
    pub async fn events(&self, path_and_query: &str, token: &str) -> Vec<Value> {
        let r = self.get(path_and_query, token).await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.json().as_array().expect("array").clone()
    }

    pub fn exchanges(&self) -> Vec<Exchange> {
        self.log.lock().unwrap().clone()
    }
}
