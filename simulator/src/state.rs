//! The simulator's data: organisations, users with their MFA keys and trusted devices,
//! application tokens, events, live refresh/MFA tokens and the rate-limit windows.
//!
//! Kept behind one `std::sync::Mutex` in [`crate::server`]; nothing here does I/O or waits.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;

use serde_json::{Value, json};
use sha1::{Digest, Sha1};

use crate::seed::{Seed, SeedEvent, SeedMfaStatus, SeedTokenStatus};
use crate::time_fmt::iso8601_millis;
use crate::totp;

/// Minutes an `auth_token` lives.
pub const AUTH_TOKEN_MINUTES: u64 = 240;
/// Minutes a `refresh_token` lives.
pub const REFRESH_TOKEN_MINUTES: u64 = 350;
/// Minutes an `mfa_token` lives (the docs give e-mail codes 20 minutes; we use the same).
pub const MFA_TOKEN_MINUTES: u64 = 20;
/// Days a trusted device skips MFA.
pub const TRUSTED_DEVICE_DAYS: i64 = 90;
/// Consecutive failures that lock an account.
pub const LOCK_AFTER_FAILURES: u32 = 3;
/// How long a lockout lasts.
pub const LOCKOUT_MS: i64 = 5 * 60 * 1000;
/// `POST /api/v1/authenticate` requests allowed per IP and window.
pub const RATE_LIMIT_REQUESTS: u32 = 100;
/// Length of the rate-limit window.
pub const RATE_LIMIT_WINDOW_MS: i64 = 5 * 60 * 1000;
/// emnify keeps events for 30 days; older ones are not listed.
pub const EVENT_RETENTION_MS: i64 = 30 * 86_400_000;
/// TOTP steps accepted either side of the current one.
pub const TOTP_WINDOW_STEPS: u64 = 1;

const DAY_MS: i64 = 86_400_000;
/// Name of the TOTP key type, as in emnify's event texts.
pub const TOTP_TYPE_NAME: &str = "Time-Based One-Time Password";

/// Lowercase hex SHA-1, the form in which clients send passwords.
pub fn sha1_hex(s: &str) -> String {
    hex::encode(Sha1::digest(s.as_bytes()))
}

/// An organisation (workspace).
#[derive(Debug, Clone)]
pub struct Organisation {
    pub name: String,
}

/// Status of an MFA key. Ids: 0 activation pending, 1 active (`PATCH` with status id 1
/// activates, per the spec).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    ActivationPending,
    Active,
}

impl KeyStatus {
    pub const ALL: [KeyStatus; 2] = [KeyStatus::ActivationPending, KeyStatus::Active];

    pub fn id(self) -> u64 {
        match self {
            KeyStatus::ActivationPending => 0,
            KeyStatus::Active => 1,
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            KeyStatus::ActivationPending => "Activation pending",
            KeyStatus::Active => "Active",
        }
    }
}

/// A TOTP key.
#[derive(Debug, Clone)]
pub struct MfaKey {
    pub id: u64,
    pub secret: Vec<u8>,
    pub status: KeyStatus,
    pub created_ms: i64,
    pub activated_ms: Option<i64>,
    /// The last TOTP step accepted for this key; codes of that step or earlier are refused
    /// (RFC 6238 section 5.2: a code may be used once).
    pub last_used_step: Option<u64>,
}

/// A device that skips MFA until 90 days after `activated_ms`.
#[derive(Debug, Clone)]
pub struct TrustedDevice {
    pub id: u64,
    pub fingerprint: String,
    pub operating_system: String,
    pub browser: String,
    pub activated_ms: i64,
}

impl TrustedDevice {
    pub fn is_valid_at(&self, now_ms: i64) -> bool {
        now_ms < self.activated_ms + TRUSTED_DEVICE_DAYS * DAY_MS
    }
}

/// A user account.
#[derive(Debug, Clone)]
pub struct User {
    pub id: u64,
    pub username: String,
    pub name: String,
    pub password_sha1: String,
    pub created_ms: i64,
    pub organisation: u64,
    pub workspaces: Vec<u64>,
    pub mfa_keys: Vec<MfaKey>,
    pub trusted_devices: Vec<TrustedDevice>,
    pub consecutive_failures: u32,
    pub locked_until_ms: Option<i64>,
}

impl User {
    /// MFA is on when the user has an active TOTP key.
    pub fn mfa_enabled(&self) -> bool {
        self.mfa_keys.iter().any(|k| k.status == KeyStatus::Active)
    }

    pub fn is_locked(&self, now_ms: i64) -> bool {
        self.locked_until_ms.is_some_and(|until| now_ms < until)
    }

    /// The workspaces this user may act in: the default one first.
    pub fn may_use_org(&self, org: u64) -> bool {
        self.organisation == org || self.workspaces.contains(&org)
    }

    pub fn trusted_device_matching(
        &self,
        fingerprint: &str,
        now_ms: i64,
    ) -> Option<&TrustedDevice> {
        self.trusted_devices
            .iter()
            .find(|d| d.fingerprint == fingerprint && d.is_valid_at(now_ms))
    }
}

/// An application token.
#[derive(Debug, Clone)]
pub struct AppToken {
    pub id: u64,
    pub token: String,
    pub description: String,
    pub organisation: u64,
    pub user: u64,
    pub revoked: bool,
    pub expiry_ms: Option<i64>,
}

/// An event, with the names it shows captured when it happened.
#[derive(Debug, Clone)]
pub struct Event {
    pub id: u64,
    pub timestamp_ms: i64,
    pub event_type: u64,
    pub severity: u64,
    pub description: String,
    pub org_id: u64,
    pub org_name: String,
    pub user_id: u64,
    pub user_name: String,
    pub username: String,
    pub detail: Option<Value>,
}

/// The event types the simulator knows: id, description, severity id.
pub const EVENT_TYPES: [(u64, &str, u64); 4] = [
    (6, "User authentication failed", 1),
    (7, "Application authentication failed", 1),
    (13, "Support Access", 1),
    (14, "Multi-factor Authentication", 0),
];

/// Event source 2 is "API"; every event the simulator makes comes from the API.
pub const EVENT_SOURCE_API: u64 = 2;

pub fn event_type_description(id: u64) -> &'static str {
    EVENT_TYPES
        .iter()
        .find(|(t, _, _)| *t == id)
        .map_or("Generic", |(_, d, _)| d)
}

pub fn severity_description(id: u64) -> &'static str {
    match id {
        0 => "Info",
        1 => "Warn",
        _ => "Critical",
    }
}

pub fn source_description(id: u64) -> &'static str {
    match id {
        0 => "Network",
        1 => "Policy Control",
        _ => "API",
    }
}

impl Event {
    /// The event object as the API returns it.
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "id": self.id,
            "timestamp": iso8601_millis(self.timestamp_ms),
            "alert": false,
            "description": self.description,
            "event_type": { "id": self.event_type, "description": event_type_description(self.event_type) },
            "event_source": { "id": EVENT_SOURCE_API, "description": source_description(EVENT_SOURCE_API) },
            "event_severity": { "id": self.severity, "description": severity_description(self.severity) },
            "organisation": { "id": self.org_id, "name": self.org_name },
            "user": { "id": self.user_id, "name": self.user_name, "username": self.username },
        });
        if let Some(detail) = &self.detail {
            v["detail"] = detail.clone();
        }
        v
    }
}

/// A fixed window of the authenticate rate limit for one IP.
#[derive(Debug, Clone, Copy)]
pub struct RateWindow {
    pub start_ms: i64,
    pub count: u32,
}

/// Everything the simulator knows.
#[derive(Debug, Default)]
pub struct State {
    pub orgs: BTreeMap<u64, Organisation>,
    pub users: BTreeMap<u64, User>,
    pub app_tokens: Vec<AppToken>,
    pub events: Vec<Event>,
    /// Live refresh tokens: `jti` → user id. A refresh token is valid only while listed here.
    pub refresh_tokens: HashMap<String, u64>,
    /// Live MFA tokens by `jti`; removed once used successfully.
    pub mfa_tokens: HashSet<String>,
    pub rate_windows: HashMap<IpAddr, RateWindow>,
    next_event_id: u64,
    next_key_id: u64,
    next_device_id: u64,
}

impl State {
    /// Builds the state from a (validated) seed, resolving relative times against `now_ms`.
    pub fn from_seed(seed: &Seed, now_ms: i64) -> Self {
        let mut state = State {
            next_event_id: 13_096_831_000,
            next_key_id: 1000,
            next_device_id: 100,
            ..State::default()
        };
        for o in &seed.organisations {
            state.orgs.insert(
                o.id,
                Organisation {
                    name: o.name.clone(),
                },
            );
        }
        for u in &seed.users {
            let mfa_keys = u
                .mfa_keys
                .iter()
                .map(|k| {
                    let created_ms = k.created.map_or(now_ms, |t| t.resolve(now_ms));
                    let status = match k.status {
                        SeedMfaStatus::Active => KeyStatus::Active,
                        SeedMfaStatus::ActivationPending => KeyStatus::ActivationPending,
                    };
                    MfaKey {
                        id: k.id,
                        // Validated by `Seed::validate`.
                        secret: totp::decode_secret(&k.secret_key).unwrap_or_default(),
                        status,
                        created_ms,
                        activated_ms: (status == KeyStatus::Active)
                            .then(|| k.activated.map_or(created_ms, |t| t.resolve(now_ms))),
                        last_used_step: None,
                    }
                })
                .collect::<Vec<_>>();
            let trusted_devices = u
                .trusted_devices
                .iter()
                .map(|d| TrustedDevice {
                    id: d.id,
                    fingerprint: d.fingerprint.clone(),
                    operating_system: d.operating_system.clone(),
                    browser: d.browser.clone(),
                    activated_ms: d.activation_date.resolve(now_ms),
                })
                .collect::<Vec<_>>();
            state.next_key_id = state
                .next_key_id
                .max(mfa_keys.iter().map(|k| k.id + 1).max().unwrap_or(0));
            state.next_device_id = state
                .next_device_id
                .max(trusted_devices.iter().map(|d| d.id + 1).max().unwrap_or(0));
            state.users.insert(
                u.id,
                User {
                    id: u.id,
                    username: u.username.clone(),
                    name: u.name.clone(),
                    password_sha1: sha1_hex(&u.password),
                    created_ms: u.created.map_or(now_ms, |t| t.resolve(now_ms)),
                    organisation: u.organisation,
                    workspaces: u.workspaces.clone(),
                    mfa_keys,
                    trusted_devices,
                    consecutive_failures: 0,
                    locked_until_ms: None,
                },
            );
        }
        for t in &seed.application_tokens {
            state.app_tokens.push(AppToken {
                id: t.id,
                token: t.token.clone(),
                description: t.description.clone(),
                organisation: t.organisation,
                user: t.user,
                revoked: t.status == SeedTokenStatus::Revoked,
                expiry_ms: t.expiry_date.map(|e| e.resolve(now_ms)),
            });
        }
        // Older events get smaller ids, as they would have in the real service.
        let mut events: Vec<&SeedEvent> = seed.events.iter().collect();
        events.sort_by_key(|e| e.at.resolve(now_ms));
        for e in events {
            state.push_seed_event(e, now_ms);
        }
        state
    }

    fn push_seed_event(&mut self, e: &SeedEvent, now_ms: i64) {
        let Some(user) = self.users.get(&e.user) else {
            return;
        };
        let org = e.organisation.unwrap_or(user.organisation);
        let org_name = self.org_name(org);
        let ip = e.ip.clone().unwrap_or_else(|| "127.0.0.1".into());
        let (description, detail) = match e.event_type {
            6 => (
                format!(
                    "Failed authentication request from '{}', Reason: {} from IP {ip}",
                    user.username,
                    e.reason.as_deref().unwrap_or("Invalid password")
                ),
                None,
            ),
            7 => {
                let name = e
                    .application_token
                    .and_then(|id| self.app_tokens.iter().find(|t| t.id == id))
                    .map_or("Application Token", |t| t.description.as_str());
                (
                    format!(
                        "Failed authentication request from '{name}', Reason: {} from IP {ip}",
                        e.reason.as_deref().unwrap_or("TokenStatus Revoked")
                    ),
                    None,
                )
            }
            13 => {
                let support_user = e
                    .support_username
                    .clone()
                    .unwrap_or_else(|| "support@emnify.com".into());
                let (s_id, s_name) = e
                    .support_organisation
                    .as_ref()
                    .map_or((2, "emnify GmbH".to_string()), |o| (o.id, o.name.clone()));
                (
                    support_access_description(&support_user, &s_name, &user.username, &org_name),
                    Some(json!({
                        "support_username": support_user,
                        "support_user_org": { "id": s_id, "name": s_name },
                        "target_username": user.username,
                    })),
                )
            }
            _ => (
                mfa_key_description(
                    e.mfa_key.unwrap_or(0),
                    e.action.as_deref().unwrap_or("deleted"),
                    &user.username,
                ),
                None,
            ),
        };
        let draft = EventDraft {
            event_type: e.event_type,
            user: e.user,
            org,
            description: e.description.clone().unwrap_or(description),
            detail: e.detail.clone().or(detail),
        };
        self.push_event(draft, e.at.resolve(now_ms));
    }

    pub fn org_name(&self, org: u64) -> String {
        self.orgs
            .get(&org)
            .map_or_else(|| format!("Organisation {org}"), |o| o.name.clone())
    }

    pub fn user_by_username(&self, username: &str) -> Option<&User> {
        self.users
            .values()
            .find(|u| u.username.eq_ignore_ascii_case(username))
    }

    /// Records an event at `at_ms` and returns its id.
    pub fn push_event(&mut self, draft: EventDraft, at_ms: i64) -> u64 {
        let id = self.next_event_id;
        self.next_event_id += 1;
        let (user_name, username) = self
            .users
            .get(&draft.user)
            .map(|u| (u.name.clone(), u.username.clone()))
            .unwrap_or_default();
        let severity = EVENT_TYPES
            .iter()
            .find(|(t, _, _)| *t == draft.event_type)
            .map_or(0, |(_, _, s)| *s);
        self.events.push(Event {
            id,
            timestamp_ms: at_ms,
            event_type: draft.event_type,
            severity,
            description: draft.description,
            org_id: draft.org,
            org_name: self.org_name(draft.org),
            user_id: draft.user,
            user_name,
            username,
            detail: draft.detail,
        });
        id
    }

    pub fn next_key_id(&mut self) -> u64 {
        let id = self.next_key_id;
        self.next_key_id += 1;
        id
    }

    pub fn next_device_id(&mut self) -> u64 {
        let id = self.next_device_id;
        self.next_device_id += 1;
        id
    }

    /// Counts one authenticate request from `ip`; `Err(retry_after_secs)` once the window is
    /// full.
    pub fn check_rate_limit(&mut self, ip: IpAddr, now_ms: i64) -> Result<(), u64> {
        let window = self.rate_windows.entry(ip).or_insert(RateWindow {
            start_ms: now_ms,
            count: 0,
        });
        // A window also restarts if the clock was set back before its start.
        if now_ms >= window.start_ms + RATE_LIMIT_WINDOW_MS || now_ms < window.start_ms {
            *window = RateWindow {
                start_ms: now_ms,
                count: 0,
            };
        }
        if window.count >= RATE_LIMIT_REQUESTS {
            let remaining_ms = window.start_ms + RATE_LIMIT_WINDOW_MS - now_ms;
            return Err(u64::try_from((remaining_ms + 999) / 1000)
                .unwrap_or(1)
                .max(1));
        }
        window.count += 1;
        Ok(())
    }

    /// Forgets every live refresh token of `user` (a new login revokes the old ones).
    pub fn revoke_refresh_tokens(&mut self, user: u64) {
        self.refresh_tokens.retain(|_, u| *u != user);
    }
}

/// An event before it gets its id and captured names.
#[derive(Debug, Clone)]
pub struct EventDraft {
    pub event_type: u64,
    pub user: u64,
    pub org: u64,
    pub description: String,
    pub detail: Option<Value>,
}

/// "Support user … generated a support token for user …", as in emnify's example.
pub fn support_access_description(
    support_user: &str,
    support_org: &str,
    user: &str,
    org: &str,
) -> String {
    format!(
        "Support user {support_user} of organisation {support_org} generated a support token for user {user} of organisation {org}"
    )
}

/// "MFA key with Id '717' of Type 'Time-Based One-Time Password' deleted for user '…'", as in
/// emnify's example; `action` is `created`, `activated` or `deleted`.
pub fn mfa_key_description(key_id: u64, action: &str, username: &str) -> String {
    format!("MFA key with Id '{key_id}' of Type '{TOTP_TYPE_NAME}' {action} for user '{username}'")
}

/// "Failed authentication request from 'user', Reason: … from IP …", as in emnify's example.
pub fn failed_auth_description(who: &str, reason: &str, ip: IpAddr) -> String {
    format!("Failed authentication request from '{who}', Reason: {reason} from IP {ip}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_matches_openssl() {
        // echo -n 'abc' | openssl sha1
        assert_eq!(sha1_hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
    }

    #[test]
    fn demo_seed_builds() {
        let state = State::from_seed(&Seed::demo(), 1_800_000_000_000);
        let demo = state.user_by_username("DEMO@example.com").unwrap();
        assert!(demo.mfa_enabled());
        assert_eq!(demo.trusted_devices.len(), 2);
        assert!(
            state
                .events
                .windows(2)
                .all(|w| w[0].timestamp_ms <= w[1].timestamp_ms)
        );
        let support = state.events.iter().find(|e| e.event_type == 13).unwrap();
        assert_eq!(
            support.detail.as_ref().unwrap()["target_username"],
            "demo@example.com"
        );
    }

    #[test]
    fn rate_limit_window() {
        let mut state = State::default();
        let ip: IpAddr = [127, 0, 0, 1].into();
        for _ in 0..RATE_LIMIT_REQUESTS {
            assert!(state.check_rate_limit(ip, 1_000).is_ok());
        }
        assert_eq!(state.check_rate_limit(ip, 61_000), Err(240));
        assert!(
            state
                .check_rate_limit(ip, 1_000 + RATE_LIMIT_WINDOW_MS)
                .is_ok()
        );
    }
}
