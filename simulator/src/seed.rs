//! Seed data: the organisations, users, keys, devices, application tokens and past events the
//! simulator starts with.
//!
//! # Format
//!
//! A seed is one JSON object; every list may be left out. Unknown fields are rejected so
//! typos do not pass silently. Times (`created`, `activation_date`, `at`, …) are either ISO 8601
//! (`"2026-01-31T12:00:00Z"`) or relative to the simulator clock at start-up: `"now"`,
//! `"now-80d"`, `"now-3h"`, `"now+15m"`, `"now-30s"`.
//!
//! ```json
//! {
//!   "organisations": [ { "id": 5001, "name": "Demo Org" }, { "id": 5002, "name": "Lab" } ],
//!   "users": [ {
//!     "id": 1001, "username": "demo@example.com", "name": "Demo User",
//!     "password": "demo-password",          // plain text; the simulator stores its SHA-1
//!     "organisation": 5001,                 // default workspace
//!     "workspaces": [5002],                 // further workspaces the user may switch to
//!     "created": "now-400d",                // optional
//!     "mfa_keys": [ { "id": 717, "secret_key": "BASE32SECRET", "status": "active",
//!                     "created": "now-25d", "activated": "now-25d" } ],
//!                   // status: "active" (default) or "activation_pending"
//!     "trusted_devices": [ { "id": 41, "fingerprint": "fp-1", "operating_system": "Windows 11",
//!                            "browser": "Microsoft Edge", "activation_date": "now-80d" } ]
//!   } ],
//!   "application_tokens": [ {
//!     "id": 31, "token": "the-token-string", "description": "CI token",
//!     "organisation": 5001, "user": 1002,
//!     "status": "active",                   // or "revoked"
//!     "expiry_date": "now+365d", "created": "now-10d"   // both optional
//!   } ],
//!   "events": [
//!     { "type": 13, "at": "now-2d", "user": 1001,
//!       "support_username": "max.mustermann@emnify.com",
//!       "support_organisation": { "id": 2, "name": "emnify GmbH" } },
//!     { "type": 6, "at": "now-6d", "user": 1001, "ip": "198.51.100.23",
//!       "reason": "Invalid password" },
//!     { "type": 7, "at": "now-9d", "user": 1002, "application_token": 32 },
//!     { "type": 14, "at": "now-25d", "user": 1001, "mfa_key": 717, "action": "activated" }
//!   ]
//! }
//! ```
//!
//! Event types 6 (User authentication failed), 7 (Application authentication failed),
//! 13 (Support Access) and 14 (Multi-factor Authentication) are supported. The `description`
//! (and for type 13 the `detail`) is written like the emnify documentation's examples unless
//! given; `organisation` defaults to the user's; `ip` defaults to `127.0.0.1`.
//! (The `//` comments above are for the reader only; JSON has no comments.)

use std::collections::HashSet;
use std::path::Path;

use serde::Deserialize;

use crate::time_fmt::parse_iso8601;
use crate::totp;

/// The demo seed shipped in `simulator/seeds/demo.json`.
pub const DEMO_SEED_JSON: &str = include_str!("../seeds/demo.json");

/// A seed that could not be read or does not hang together.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The file could not be read.
    #[error("cannot read seed file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Not valid JSON of the seed format.
    #[error("invalid seed JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// Valid JSON, but inconsistent (duplicate ids, dangling references, bad secrets, …).
    #[error("invalid seed: {0}")]
    Invalid(String),
}

/// An instant in a seed: absolute, or relative to the simulator clock at start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum SeedTime {
    /// Unix milliseconds.
    Absolute(i64),
    /// Milliseconds relative to "now" at start-up (negative = in the past).
    Relative(i64),
}

impl SeedTime {
    /// The instant in Unix milliseconds, given "now".
    pub fn resolve(self, now_ms: i64) -> i64 {
        match self {
            SeedTime::Absolute(ms) => ms,
            SeedTime::Relative(delta) => now_ms.saturating_add(delta),
        }
    }
}

impl TryFrom<String> for SeedTime {
    type Error = String;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        let bad = || format!("invalid time {s:?}: use ISO 8601 or now[+-]N(s|m|h|d)");
        let Some(rest) = s.strip_prefix("now") else {
            return parse_iso8601(&s).map(SeedTime::Absolute).ok_or_else(bad);
        };
        if rest.is_empty() {
            return Ok(SeedTime::Relative(0));
        }
        let (sign, rest) = match rest.split_at(1) {
            ("-", r) => (-1, r),
            ("+", r) => (1, r),
            _ => return Err(bad()),
        };
        let unit_ms = match rest.chars().last() {
            Some('s') => 1_000,
            Some('m') => 60_000,
            Some('h') => 3_600_000,
            Some('d') => 86_400_000,
            _ => return Err(bad()),
        };
        let n: i64 = rest[..rest.len() - 1].parse().map_err(|_| bad())?;
        Ok(SeedTime::Relative(sign * n * unit_ms))
    }
}

/// An organisation (workspace).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedOrganisation {
    /// Organisation id.
    pub id: u64,
    /// Display name.
    pub name: String,
}

/// Status of a seeded MFA key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeedMfaStatus {
    /// Active: MFA is enforced at login.
    #[default]
    Active,
    /// Created but not yet activated with a code.
    ActivationPending,
}

/// A TOTP key of a user.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedMfaKey {
    /// Key id.
    pub id: u64,
    /// Base32 secret.
    pub secret_key: String,
    /// Status (default active).
    #[serde(default)]
    pub status: SeedMfaStatus,
    /// Creation time (default: start-up).
    #[serde(default)]
    pub created: Option<SeedTime>,
    /// Activation time (default: creation time, for active keys).
    #[serde(default)]
    pub activated: Option<SeedTime>,
}

/// A device trusted to skip MFA (for 90 days from `activation_date`).
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedTrustedDevice {
    /// Device id.
    pub id: u64,
    /// The fingerprint the client sends at login.
    pub fingerprint: String,
    /// Operating system, as shown in listings.
    pub operating_system: String,
    /// Browser, as shown in listings.
    pub browser: String,
    /// When the device was trusted.
    pub activation_date: SeedTime,
}

/// A user account.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedUser {
    /// User id.
    pub id: u64,
    /// Login name (an e-mail address).
    pub username: String,
    /// Display name.
    pub name: String,
    /// Password in plain text; the simulator keeps only its SHA-1, which clients send.
    pub password: String,
    /// Default organisation (workspace).
    pub organisation: u64,
    /// Other workspaces the user may switch to.
    #[serde(default)]
    pub workspaces: Vec<u64>,
    /// Account creation time (default: start-up).
    #[serde(default)]
    pub created: Option<SeedTime>,
    /// TOTP keys.
    #[serde(default)]
    pub mfa_keys: Vec<SeedMfaKey>,
    /// Trusted devices.
    #[serde(default)]
    pub trusted_devices: Vec<SeedTrustedDevice>,
}

/// Status of a seeded application token.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeedTokenStatus {
    /// Usable.
    #[default]
    Active,
    /// Refused at login (a type 7 event is recorded).
    Revoked,
}

/// An application token.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedApplicationToken {
    /// Token id.
    pub id: u64,
    /// The secret token string clients send as `application_token`.
    pub token: String,
    /// Description (also the name used in type 7 events).
    pub description: String,
    /// Organisation the token is scoped to.
    pub organisation: u64,
    /// User who created it (the `user` of its tokens and events).
    pub user: u64,
    /// Status (default active).
    #[serde(default)]
    pub status: SeedTokenStatus,
    /// After this the token is refused.
    #[serde(default)]
    pub expiry_date: Option<SeedTime>,
    /// Creation time (default: start-up).
    #[serde(default)]
    pub created: Option<SeedTime>,
}

/// A past event.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedEvent {
    /// Event type id: 6, 7, 13 or 14.
    #[serde(rename = "type")]
    pub event_type: u64,
    /// When it happened.
    pub at: SeedTime,
    /// The user the event is about.
    pub user: u64,
    /// Organisation (default: the user's).
    #[serde(default)]
    pub organisation: Option<u64>,
    /// Description (default: written from the other fields, like emnify's).
    #[serde(default)]
    pub description: Option<String>,
    /// `detail` object (default: none, except type 13).
    #[serde(default)]
    pub detail: Option<serde_json::Value>,
    /// Source IP for types 6 and 7 (default 127.0.0.1).
    #[serde(default)]
    pub ip: Option<String>,
    /// Reason for types 6 and 7 (default `Invalid password` / `TokenStatus Revoked`).
    #[serde(default)]
    pub reason: Option<String>,
    /// Type 7: the application token that failed.
    #[serde(default)]
    pub application_token: Option<u64>,
    /// Type 13: the support user's username.
    #[serde(default)]
    pub support_username: Option<String>,
    /// Type 13: the support user's organisation (default `{2, "emnify GmbH"}`).
    #[serde(default)]
    pub support_organisation: Option<SeedOrganisation>,
    /// Type 14: the MFA key id.
    #[serde(default)]
    pub mfa_key: Option<u64>,
    /// Type 14: `created`, `activated` or `deleted` (default `deleted`).
    #[serde(default)]
    pub action: Option<String>,
}

/// The whole seed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    /// Organisations (workspaces).
    #[serde(default)]
    pub organisations: Vec<SeedOrganisation>,
    /// Users.
    #[serde(default)]
    pub users: Vec<SeedUser>,
    /// Application tokens.
    #[serde(default)]
    pub application_tokens: Vec<SeedApplicationToken>,
    /// Past events.
    #[serde(default)]
    pub events: Vec<SeedEvent>,
}

impl Seed {
    /// Parses and checks a seed.
    pub fn from_json(json: &str) -> Result<Self, SeedError> {
        let seed: Seed = serde_json::from_str(json)?;
        seed.validate()?;
        Ok(seed)
    }

    /// Reads, parses and checks a seed file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, SeedError> {
        let path = path.as_ref();
        let json = std::fs::read_to_string(path).map_err(|source| SeedError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_json(&json)
    }

    /// The demo seed (`simulator/seeds/demo.json`, built in).
    pub fn demo() -> Self {
        // The file is checked by a unit test, so this cannot fail at run time.
        Self::from_json(DEMO_SEED_JSON).unwrap_or_default()
    }

    /// Checks ids are unique and references resolve.
    pub fn validate(&self) -> Result<(), SeedError> {
        let invalid = |msg: String| Err(SeedError::Invalid(msg));
        let mut orgs = HashSet::new();
        for o in &self.organisations {
            if !orgs.insert(o.id) {
                return invalid(format!("duplicate organisation id {}", o.id));
            }
        }
        let (mut users, mut names, mut keys, mut devices) = (
            HashSet::new(),
            HashSet::new(),
            HashSet::new(),
            HashSet::new(),
        );
        for u in &self.users {
            if !users.insert(u.id) {
                return invalid(format!("duplicate user id {}", u.id));
            }
            if !names.insert(u.username.to_lowercase()) {
                return invalid(format!("duplicate username {}", u.username));
            }
            for org in std::iter::once(&u.organisation).chain(&u.workspaces) {
                if !orgs.contains(org) {
                    return invalid(format!(
                        "user {} refers to unknown organisation {org}",
                        u.id
                    ));
                }
            }
            for k in &u.mfa_keys {
                if !keys.insert(k.id) {
                    return invalid(format!("duplicate MFA key id {}", k.id));
                }
                if totp::decode_secret(&k.secret_key).is_err() {
                    return invalid(format!("MFA key {} has an invalid Base32 secret", k.id));
                }
            }
            for d in &u.trusted_devices {
                if !devices.insert(d.id) {
                    return invalid(format!("duplicate trusted device id {}", d.id));
                }
                if d.fingerprint.trim().is_empty() {
                    return invalid(format!("trusted device {} has an empty fingerprint", d.id));
                }
            }
        }
        let mut tokens = HashSet::new();
        for t in &self.application_tokens {
            if !tokens.insert(t.id) {
                return invalid(format!("duplicate application token id {}", t.id));
            }
            if !orgs.contains(&t.organisation) || !users.contains(&t.user) {
                return invalid(format!(
                    "application token {} refers to an unknown organisation or user",
                    t.id
                ));
            }
        }
        for (i, e) in self.events.iter().enumerate() {
            if !users.contains(&e.user) {
                return invalid(format!("event #{i} refers to unknown user {}", e.user));
            }
            if let Some(org) = e.organisation
                && !orgs.contains(&org)
            {
                return invalid(format!("event #{i} refers to unknown organisation {org}"));
            }
            match e.event_type {
                6 | 13 | 14 => {}
                7 => match e.application_token {
                    Some(t) if tokens.contains(&t) => {}
                    _ if e.description.is_some() => {}
                    _ => {
                        return invalid(format!(
                            "event #{i} (type 7) needs an application_token or a description"
                        ));
                    }
                },
                other => {
                    return invalid(format!(
                        "event #{i} has unsupported type {other} (use 6, 7, 13 or 14)"
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Debug output of seed parts that hold secrets shows everything but the secret, so a
/// printed config never leaks a password, TOTP secret, fingerprint or token.
const REDACTED: &str = "<redacted>";

impl std::fmt::Debug for SeedMfaKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeedMfaKey")
            .field("id", &self.id)
            .field("secret_key", &REDACTED)
            .field("status", &self.status)
            .field("created", &self.created)
            .field("activated", &self.activated)
            .finish()
    }
}

impl std::fmt::Debug for SeedTrustedDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeedTrustedDevice")
            .field("id", &self.id)
            .field("fingerprint", &REDACTED)
            .field("operating_system", &self.operating_system)
            .field("browser", &self.browser)
            .field("activation_date", &self.activation_date)
            .finish()
    }
}

impl std::fmt::Debug for SeedUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeedUser")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("name", &self.name)
            .field("password", &REDACTED)
            .field("organisation", &self.organisation)
            .field("workspaces", &self.workspaces)
            .field("created", &self.created)
            .field("mfa_keys", &self.mfa_keys)
            .field("trusted_devices", &self.trusted_devices)
            .finish()
    }
}

impl std::fmt::Debug for SeedApplicationToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeedApplicationToken")
            .field("id", &self.id)
            .field("token", &REDACTED)
            .field("description", &self.description)
            .field("organisation", &self.organisation)
            .field("user", &self.user)
            .field("status", &self.status)
            .field("expiry_date", &self.expiry_date)
            .field("created", &self.created)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_seed_is_valid() {
        let seed = Seed::from_json(DEMO_SEED_JSON).expect("demo seed");
        assert!(seed.users.iter().any(|u| u.username == "demo@example.com"));
    }

    #[test]
    fn debug_output_hides_secrets() {
        let printed = format!("{:?}", Seed::demo());
        for secret in [
            "demo-password",
            "EMNIFYDEMOSECRETKEYFORTOTPAPP234",
            "demo-application-token-5001",
            "demo-fingerprint-edge-windows",
        ] {
            assert!(!printed.contains(secret), "{secret} printed");
        }
        assert!(printed.contains("demo@example.com"));
    }

    #[test]
    fn times_parse() {
        let t = |s: &str| SeedTime::try_from(s.to_string());
        assert_eq!(t("now"), Ok(SeedTime::Relative(0)));
        assert_eq!(t("now-80d"), Ok(SeedTime::Relative(-80 * 86_400_000)));
        assert_eq!(t("now+15m"), Ok(SeedTime::Relative(15 * 60_000)));
        assert_eq!(t("1970-01-01T00:00:01Z"), Ok(SeedTime::Absolute(1000)));
        assert!(t("now-8x").is_err());
        assert!(t("tomorrow").is_err());
    }

    #[test]
    fn rejects_dangling_references_and_unknown_fields() {
        let bad = r#"{"organisations":[{"id":1,"name":"A"}],
            "users":[{"id":1,"username":"a","name":"A","password":"p","organisation":2}]}"#;
        assert!(matches!(Seed::from_json(bad), Err(SeedError::Invalid(_))));
        assert!(matches!(
            Seed::from_json(r#"{"userz":[]}"#),
            Err(SeedError::Json(_))
        ));
    }
}
