//! Trusted devices: this installation's 90-day trust per login profile (kept in the
//! profile as [`DeviceTrust`]) and the devices the API lists as trusted from elsewhere
//! (kept in the metadata document's `devices` section), with their states, the sync
//! with the API's list, and the devices about to lapse.
//!
//! Everything here except the [`Vault`] methods is pure: the time comes in as an
//! argument. The HTTP side (fetch, revoke) is [`crate::login::devices`].

use serde::{Deserialize, Serialize};

use crate::login::profile::{
    DeviceTrust, LoginMethod, LoginProfile, ProfileError, ProfileId, TRUST_SECONDS,
};
use crate::metadata::{MetadataError, VaultDocument};
use crate::secret_store::SecretStore;
use crate::settings::Settings;
use crate::vault::Vault;

const DAY: u64 = 24 * 60 * 60;

/// How far the API's activation date of our own device may be from the time this
/// installation recorded the trust and still count as ours. A successful MFA login
/// means the clocks agreed to within a TOTP step or two, so ten minutes leaves room for
/// a slow answer and a typed code without mistaking another machine's device for ours.
pub const OWN_MATCH_TOLERANCE_SECONDS: u64 = 10 * 60;

/// A device the API no longer lists within this long of its computed expiry has lapsed
/// (clocks differ a little); further from it, it was revoked.
pub const LAPSE_SLACK_SECONDS: u64 = 60 * 60;

/// Devices from elsewhere that are revoked or expired stay listed this long, then a sync
/// forgets them.
pub const KEEP_ENDED_SECONDS: u64 = 90 * DAY;

/// Where a trust stands at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrustState {
    /// Trusted, with more than the warning period left.
    Active,
    /// Trusted, with the warning period or less left.
    Expiring,
    /// The 90 days are over: the next login asks for MFA again.
    Expired,
    /// Revoked (here, in the Portal, or by another client): the next login asks for MFA.
    Revoked,
}

impl TrustState {
    /// `active`, `expiring`, `expired`, `revoked`.
    pub fn as_str(self) -> &'static str {
        match self {
            TrustState::Active => "active",
            TrustState::Expiring => "expiring",
            TrustState::Expired => "expired",
            TrustState::Revoked => "revoked",
        }
    }

    /// Whether the device still skips MFA.
    pub fn is_trusted(self) -> bool {
        matches!(self, TrustState::Active | TrustState::Expiring)
    }
}

impl std::fmt::Display for TrustState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Seconds from `now` until `expires_at` (negative once it has passed).
pub fn seconds_left(expires_at: u64, now: u64) -> i64 {
    let signed = |t: u64| i64::try_from(t).unwrap_or(i64::MAX);
    signed(expires_at).saturating_sub(signed(now))
}

/// Whole days left, rounded up: a trust granted just now has 90 days left; one with a
/// second left has 1; an expired one has 0 or less (-1 from a full day after the expiry on).
pub fn days_left(expires_at: u64, now: u64) -> i64 {
    let seconds = seconds_left(expires_at, now);
    let day = DAY as i64;
    // Ceiling division that is also right for negative numbers.
    -((-seconds).div_euclid(day))
}

/// The state of a trust that lapses at `expires_at` (pure): revoked if `revoked_at` is
/// set; expired from `expires_at` on; expiring when `warn_days` days or less are left;
/// active before. `warn_days = 0` never warns.
pub fn trust_state(
    expires_at: u64,
    revoked_at: Option<u64>,
    now: u64,
    warn_days: u32,
) -> TrustState {
    if revoked_at.is_some() {
        return TrustState::Revoked;
    }
    let left = seconds_left(expires_at, now);
    if left <= 0 {
        TrustState::Expired
    } else if left <= i64::from(warn_days) * DAY as i64 {
        TrustState::Expiring
    } else {
        TrustState::Active
    }
}

/// One device of the API's trusted-device list
/// (`GET /api/v1/user/my/mfa/trusted_device`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerDevice {
    /// The API's id of the device.
    pub id: u64,
    /// The `operating_system` the device sent.
    #[serde(default)]
    pub operating_system: Option<String>,
    /// The `browser` the device sent.
    #[serde(default)]
    pub browser: Option<String>,
    /// When the API started trusting it, as the API writes it
    /// (e.g. `2026-01-31T12:00:00.000Z`).
    #[serde(default)]
    pub activation_date: Option<String>,
}

/// A device trusted from elsewhere (another browser or machine), as last seen in the
/// API's list; read-only here apart from revoking it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteDevice {
    /// The API's id of the device.
    pub id: u64,
    /// Operating system, as the device described itself.
    pub operating_system: String,
    /// Browser or app, as the device described itself.
    pub browser: String,
    /// Activation date at the API (Unix seconds).
    pub trusted_at: u64,
    /// `trusted_at` + 90 days.
    pub expires_at: u64,
    /// First sync that listed it (Unix seconds).
    pub first_seen_at: u64,
    /// Last sync that listed it (Unix seconds).
    pub last_seen_at: u64,
    /// When it was revoked here, or found missing from the API's list before its expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<u64>,
}

/// What is known of one profile's trusted devices beyond this installation's own trust.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileDevices {
    /// The profile.
    pub profile: ProfileId,
    /// When the API's list was last fetched (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync: Option<u64>,
    /// Devices trusted from elsewhere.
    #[serde(default)]
    pub elsewhere: Vec<RemoteDevice>,
}

impl ProfileDevices {
    /// An entry for `profile` that was never synced.
    pub fn new(profile: ProfileId) -> Self {
        Self {
            profile,
            last_sync: None,
            elsewhere: Vec::new(),
        }
    }
}

/// The metadata document's `devices` section. No secrets: fingerprints stay in the
/// keyring.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeviceBook {
    /// One entry per synced profile.
    #[serde(default)]
    pub profiles: Vec<ProfileDevices>,
    /// Fields this build does not know: kept as they are.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl DeviceBook {
    /// Whether there is nothing to store (the section is then left out of the file).
    pub fn is_empty(&self) -> bool {
        self.profiles.is_empty() && self.other.is_empty()
    }

    /// The entry of `profile`, if it was ever synced.
    pub fn get(&self, profile: ProfileId) -> Option<&ProfileDevices> {
        self.profiles.iter().find(|p| p.profile == profile)
    }

    /// The entry of `profile`, created when missing.
    pub fn entry(&mut self, profile: ProfileId) -> &mut ProfileDevices {
        match self.profiles.iter().position(|p| p.profile == profile) {
            Some(index) => &mut self.profiles[index],
            None => {
                self.profiles.push(ProfileDevices::new(profile));
                self.profiles.last_mut().expect("just pushed")
            }
        }
    }

    /// Forgets what is known of `profile` (when the profile is removed).
    pub fn remove_profile(&mut self, profile: ProfileId) {
        self.profiles.retain(|p| p.profile != profile);
    }
}

/// One row of a profile's trusted devices, with its state at the time it was computed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceView {
    /// The profile.
    pub profile: ProfileId,
    /// The profile's name.
    pub profile_name: String,
    /// The API's id; `None` for this installation until a sync has found it.
    pub id: Option<u64>,
    /// Whether this is this installation's trust.
    pub this_installation: bool,
    /// Operating system, as sent.
    pub operating_system: String,
    /// Browser or app, as sent.
    pub browser: String,
    /// Since when it is trusted (Unix seconds).
    pub trusted_at: u64,
    /// When the trust lapses (Unix seconds).
    pub expires_at: u64,
    /// When it was revoked, if it was.
    pub revoked_at: Option<u64>,
    /// Days left, rounded up ([`days_left`]); 0 or less once expired.
    pub days_left: i64,
    /// State at the time of the view.
    pub state: TrustState,
}

impl DeviceView {
    /// "Linux, emnify Authenticator 0.1.0".
    pub fn describe(&self) -> String {
        match (
            self.operating_system.trim().is_empty(),
            self.browser.trim().is_empty(),
        ) {
            (false, false) => format!("{}, {}", self.operating_system, self.browser),
            (false, true) => self.operating_system.clone(),
            (true, false) => self.browser.clone(),
            (true, true) => "unnamed device".to_owned(),
        }
    }
}

fn own_view(profile: &LoginProfile, trust: &DeviceTrust, now: u64, warn_days: u32) -> DeviceView {
    DeviceView {
        profile: profile.id,
        profile_name: profile.name.clone(),
        id: trust.device_id,
        this_installation: true,
        operating_system: trust.operating_system.clone(),
        browser: trust.browser.clone(),
        trusted_at: trust.trusted_at,
        expires_at: trust.expires_at,
        revoked_at: trust.revoked_at,
        days_left: days_left(trust.expires_at, now),
        state: trust_state(trust.expires_at, trust.revoked_at, now, warn_days),
    }
}

fn remote_view(
    profile: &LoginProfile,
    device: &RemoteDevice,
    now: u64,
    warn_days: u32,
) -> DeviceView {
    DeviceView {
        profile: profile.id,
        profile_name: profile.name.clone(),
        id: Some(device.id),
        this_installation: false,
        operating_system: device.operating_system.clone(),
        browser: device.browser.clone(),
        trusted_at: device.trusted_at,
        expires_at: device.expires_at,
        revoked_at: device.revoked_at,
        days_left: days_left(device.expires_at, now),
        state: trust_state(device.expires_at, device.revoked_at, now, warn_days),
    }
}

/// The trusted devices of `profile` at `now` (pure): this installation's trust first,
/// then the devices trusted from elsewhere by id.
pub fn device_views(
    book: &DeviceBook,
    profile: &LoginProfile,
    now: u64,
    warn_days: u32,
) -> Vec<DeviceView> {
    let mut views: Vec<DeviceView> = profile
        .trust
        .iter()
        .map(|trust| own_view(profile, trust, now, warn_days))
        .collect();
    if let Some(entry) = book.get(profile.id) {
        let mut remote: Vec<DeviceView> = entry
            .elsewhere
            .iter()
            .map(|device| remote_view(profile, device, now, warn_days))
            .collect();
        remote.sort_by_key(|v| v.id);
        views.extend(remote);
    }
    views
}

/// Every device of every profile that is [`TrustState::Expiring`] at `now` (pure), for
/// the desktop app's warnings; this installation's trusts first, soonest lapse first.
pub fn expiring_devices(doc: &VaultDocument, now: u64, warn_days: u32) -> Vec<DeviceView> {
    let mut found: Vec<DeviceView> = doc
        .profiles
        .iter()
        .flat_map(|profile| device_views(&doc.devices, profile, now, warn_days))
        .filter(|view| view.state == TrustState::Expiring)
        .collect();
    found.sort_by_key(|v| (!v.this_installation, v.expires_at));
    found
}

/// Parses the API's date-time text into Unix seconds (pure): `YYYY-MM-DD`, optionally
/// followed by `T` or a space and `HH:MM[:SS[.fraction]]`, optionally followed by `Z`
/// or an offset (`+02:00`, `+0200`, `+02`). Without an offset the time is UTC.
pub fn parse_api_time(text: &str) -> Option<u64> {
    let text = text.trim();
    let bytes = text.as_bytes();
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    if bytes.len() < 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let mut seconds = days_from_civil(year, month, day) * 86_400;
    let mut rest = &text[10..];
    if let Some(time) = rest.strip_prefix(['T', 't', ' ']) {
        let tb = time.as_bytes();
        if tb.len() < 5 || tb[2] != b':' {
            return None;
        }
        let hour = number(11..13)?;
        let minute = number(14..16)?;
        let mut used = 5;
        let mut second = 0;
        if tb.get(5) == Some(&b':') {
            second = number(17..19)?;
            used = 8;
            if tb.get(8) == Some(&b'.') || tb.get(8) == Some(&b',') {
                let digits = tb[9..].iter().take_while(|b| b.is_ascii_digit()).count();
                if digits == 0 {
                    return None;
                }
                used = 9 + digits;
            }
        }
        if hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        seconds += hour * 3600 + minute * 60 + second;
        rest = &time[used..];
    }
    let offset = match rest {
        "" | "Z" | "z" => 0,
        zone => {
            let sign = match zone.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let digits: String = zone[1..].chars().filter(|c| *c != ':').collect();
            if !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let (hours, minutes) = match digits.len() {
                2 => (digits.parse::<i64>().ok()?, 0),
                4 => (digits[..2].parse().ok()?, digits[2..].parse().ok()?),
                _ => return None,
            };
            sign * (hours * 3600 + minutes * 60)
        }
    };
    u64::try_from(seconds - offset).ok()
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// What a sync found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    /// When (Unix seconds).
    pub synced_at: u64,
    /// Devices the API listed.
    pub listed: usize,
    /// The API's id of this installation, when the list has it.
    pub this_installation: Option<u64>,
    /// This installation's trust was missing from the list before its expiry: it is now
    /// marked revoked, and the next login asks for MFA.
    pub this_installation_revoked: bool,
    /// Devices from elsewhere seen for the first time.
    pub new_elsewhere: Vec<u64>,
    /// Devices from elsewhere missing from the list before their expiry, now marked
    /// revoked.
    pub revoked_elsewhere: Vec<u64>,
}

/// A device of the API's list with its parsed activation time.
struct Listed<'a> {
    id: u64,
    operating_system: &'a str,
    browser: &'a str,
    trusted_at: u64,
}

fn lapsed(expires_at: u64, now: u64) -> bool {
    expires_at <= now.saturating_add(LAPSE_SLACK_SECONDS)
}

/// Merges the API's trusted-device list of one profile into what is stored (pure).
///
/// `fetched_at` is the time just before the list was requested. It is what makes a
/// late-applied (stale) list harmless when processes run at the same time: nothing
/// recorded after it (a new trust of this installation, a revocation, a device seen by
/// a newer sync) is undone by it. Within the same second, what was recorded counts as
/// older than the list (so one command after another behaves as expected), except a
/// revocation, which a list of the same second never undoes.
///
/// - This installation's device is the one with its known id, else the closest with the
///   same operating system and browser activated within [`OWN_MATCH_TOLERANCE_SECONDS`]
///   of our trusted-at; its id is recorded and the API's activation date decides the
///   expiry. Missing from the list before its expiry, the trust is marked revoked, so
///   the next login asks for MFA.
/// - The other devices are recorded as trusted from elsewhere, with expiry =
///   activation date + 90 days.
/// - Devices from elsewhere missing from the list before their expiry are marked
///   revoked (not dropped); those that ended more than [`KEEP_ENDED_SECONDS`] ago are
///   forgotten.
/// - The sync time is remembered.
pub fn apply_sync(
    trust: &mut Option<DeviceTrust>,
    entry: &mut ProfileDevices,
    server: &[ServerDevice],
    fetched_at: u64,
) -> Result<SyncReport, DeviceError> {
    let mut listed = Vec::with_capacity(server.len());
    for device in server {
        let text = device.activation_date.as_deref().unwrap_or_default();
        let trusted_at = parse_api_time(text).ok_or_else(|| DeviceError::BadDate {
            id: device.id,
            value: text.to_owned(),
        })?;
        listed.push(Listed {
            id: device.id,
            operating_system: device.operating_system.as_deref().unwrap_or_default(),
            browser: device.browser.as_deref().unwrap_or_default(),
            trusted_at,
        });
    }
    let mut report = SyncReport {
        synced_at: fetched_at,
        listed: listed.len(),
        ..SyncReport::default()
    };

    if let Some(own) = trust.as_mut().filter(|t| t.revoked_at.is_none()) {
        let found = match own.device_id {
            Some(id) => listed.iter().find(|d| d.id == id),
            None => listed
                .iter()
                .filter(|d| {
                    d.operating_system == own.operating_system
                        && d.browser == own.browser
                        && d.trusted_at.abs_diff(own.trusted_at) <= OWN_MATCH_TOLERANCE_SECONDS
                })
                .min_by_key(|d| (d.trusted_at.abs_diff(own.trusted_at), d.id)),
        };
        match found {
            Some(device) => {
                // The API's activation date decides when it stops skipping MFA.
                own.device_id = Some(device.id);
                own.expires_at = device.trusted_at + TRUST_SECONDS;
                report.this_installation = Some(device.id);
            }
            // Recorded after the list was asked for, or lapsed: nothing to conclude.
            None if own.trusted_at > fetched_at || lapsed(own.expires_at, fetched_at) => {}
            None => {
                own.revoked_at = Some(fetched_at);
                report.this_installation_revoked = true;
            }
        }
    }

    for device in listed
        .iter()
        .filter(|d| Some(d.id) != report.this_installation)
    {
        let expires_at = device.trusted_at + TRUST_SECONDS;
        match entry.elsewhere.iter_mut().find(|r| r.id == device.id) {
            Some(record) => {
                record.operating_system = device.operating_system.to_owned();
                record.browser = device.browser.to_owned();
                record.trusted_at = device.trusted_at;
                record.expires_at = expires_at;
                record.last_seen_at = record.last_seen_at.max(fetched_at);
                // Listed again by a list asked for after the revocation was recorded
                // (never by an older one, which may predate the revocation).
                if record.revoked_at.is_some_and(|at| at < fetched_at) {
                    record.revoked_at = None;
                }
            }
            None => {
                entry.elsewhere.push(RemoteDevice {
                    id: device.id,
                    operating_system: device.operating_system.to_owned(),
                    browser: device.browser.to_owned(),
                    trusted_at: device.trusted_at,
                    expires_at,
                    first_seen_at: fetched_at,
                    last_seen_at: fetched_at,
                    revoked_at: None,
                });
                report.new_elsewhere.push(device.id);
            }
        }
    }
    for record in &mut entry.elsewhere {
        let still_listed = listed.iter().any(|d| d.id == record.id);
        if !still_listed
            && record.revoked_at.is_none()
            && record.last_seen_at <= fetched_at
            && !lapsed(record.expires_at, fetched_at)
        {
            record.revoked_at = Some(fetched_at);
            report.revoked_elsewhere.push(record.id);
        }
    }
    entry.elsewhere.retain(|record| {
        let ended_at = record.revoked_at.unwrap_or(record.expires_at);
        Some(record.id) != report.this_installation
            && (ended_at > fetched_at || fetched_at - ended_at <= KEEP_ENDED_SECONDS)
    });
    entry.last_sync = entry.last_sync.max(Some(fetched_at));
    Ok(report)
}

/// Why a trusted-device operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeviceError {
    /// Profile, vault or keyring failure.
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// Logging in or the API call failed.
    #[error(transparent)]
    Login(#[from] crate::login::flow::LoginError),
    /// Application tokens skip MFA and have no trusted devices.
    #[error(
        "'{0}' logs in with an application token, which has no MFA and no trusted devices; use a profile with user credentials"
    )]
    ApplicationToken(String),
    /// No device of that id is known for the profile, even after a sync.
    #[error(
        "profile '{profile}' has no trusted device {id}: run `emnify-auth devices {profile}` to see the ids"
    )]
    UnknownDevice {
        /// Profile name.
        profile: String,
        /// The id asked for.
        id: u64,
    },
    /// The device is already revoked or expired: nothing to revoke.
    #[error("{what} of profile '{profile}' is already {state}: there is nothing to revoke")]
    NotTrusted {
        /// Profile name.
        profile: String,
        /// "device 41", "this installation".
        what: String,
        /// Its state.
        state: TrustState,
    },
    /// This installation has no trust recorded for the profile.
    #[error(
        "this installation is not a trusted device of profile '{0}' (no MFA login with trust recorded): there is nothing to revoke"
    )]
    NoTrust(String),
    /// The API sent an activation date this version cannot read.
    #[error(
        "the emnify API sent the activation date '{value}' for trusted device {id}, which this version cannot read; nothing was changed. Please report this"
    )]
    BadDate {
        /// The device.
        id: u64,
        /// The text as sent (a date, not a secret).
        value: String,
    },
}

impl From<MetadataError> for DeviceError {
    fn from(err: MetadataError) -> Self {
        DeviceError::Profile(err.into())
    }
}

/// A profile's trusted devices as stored, with their states at the time asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceList {
    /// Profile name.
    pub profile: String,
    /// The time the states were computed for (Unix seconds).
    pub now: u64,
    /// The warning period used (days).
    pub warn_days: u32,
    /// When the API's list was last fetched, if ever.
    pub last_sync: Option<u64>,
    /// The devices: this installation first.
    pub devices: Vec<DeviceView>,
}

fn credentials_only(profile: &LoginProfile) -> Result<(), DeviceError> {
    match profile.method {
        LoginMethod::Credentials { .. } => Ok(()),
        LoginMethod::ApplicationToken => Err(DeviceError::ApplicationToken(profile.name.clone())),
    }
}

fn effective_warn_days(settings: &Settings, warn_days: Option<u32>) -> u32 {
    warn_days.unwrap_or_else(|| settings.device_warning_days())
}

fn list_of(
    doc: &VaultDocument,
    profile: &LoginProfile,
    now: u64,
    warn_days: Option<u32>,
) -> DeviceList {
    let warn_days = effective_warn_days(&doc.settings, warn_days);
    DeviceList {
        profile: profile.name.clone(),
        now,
        warn_days,
        last_sync: doc.devices.get(profile.id).and_then(|e| e.last_sync),
        devices: device_views(&doc.devices, profile, now, warn_days),
    }
}

/// What recording a revocation changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokedRecord {
    /// This installation's trust (the next login asks for MFA).
    ThisInstallation,
    /// A device trusted from elsewhere.
    Elsewhere,
    /// Nothing stored had that id (any more).
    NotStored,
}

impl<S: SecretStore> Vault<S> {
    /// The trusted devices of the profile named `name` at `now`; `warn_days` overrides
    /// the stored warning period.
    pub fn device_list(
        &self,
        name: &str,
        now: u64,
        warn_days: Option<u32>,
    ) -> Result<DeviceList, DeviceError> {
        let doc = self.metadata().read()?;
        let profile = doc
            .profiles
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| ProfileError::NotFound(name.to_owned()))?;
        credentials_only(profile)?;
        Ok(list_of(&doc, profile, now, warn_days))
    }

    /// The trusted devices of profile `id` at `now`, with the stored warning period.
    pub fn device_list_of(&self, id: ProfileId, now: u64) -> Result<DeviceList, DeviceError> {
        let doc = self.metadata().read()?;
        let profile = doc
            .profiles
            .iter()
            .find(|p| p.id == id)
            .ok_or_else(|| ProfileError::NotFound(id.to_string()))?;
        credentials_only(profile)?;
        Ok(list_of(&doc, profile, now, None))
    }

    /// Every device that is expiring at `now`, over all profiles ([`expiring_devices`]);
    /// `warn_days` overrides the stored warning period.
    pub fn expiring_devices(
        &self,
        now: u64,
        warn_days: Option<u32>,
    ) -> Result<Vec<DeviceView>, MetadataError> {
        let doc = self.metadata().read()?;
        let warn_days = effective_warn_days(&doc.settings, warn_days);
        Ok(expiring_devices(&doc, now, warn_days))
    }

    /// Merges a trusted-device list, requested at `fetched_at`, into profile `id`'s
    /// records under the metadata lock ([`apply_sync`]); nothing is written when the
    /// list cannot be read.
    pub fn record_device_sync(
        &self,
        id: ProfileId,
        server: &[ServerDevice],
        fetched_at: u64,
    ) -> Result<SyncReport, DeviceError> {
        let lock = self.metadata().lock_exclusive()?;
        let mut doc = lock.read()?;
        let VaultDocument {
            profiles, devices, ..
        } = &mut doc;
        let profile = profiles
            .iter_mut()
            .find(|p| p.id == id)
            .ok_or_else(|| ProfileError::NotFound(id.to_string()))?;
        let report = apply_sync(&mut profile.trust, devices.entry(id), server, fetched_at)?;
        lock.write(&doc)?;
        Ok(report)
    }

    /// Records that device `device_id` of profile `id` was revoked at `now`: this
    /// installation's trust is marked revoked (so the next login asks for MFA) when it
    /// has that id; a device from elsewhere is marked revoked.
    pub fn record_device_revoked(
        &self,
        id: ProfileId,
        device_id: u64,
        now: u64,
    ) -> Result<RevokedRecord, DeviceError> {
        let lock = self.metadata().lock_exclusive()?;
        let mut doc = lock.read()?;
        let VaultDocument {
            profiles, devices, ..
        } = &mut doc;
        let profile = profiles
            .iter_mut()
            .find(|p| p.id == id)
            .ok_or_else(|| ProfileError::NotFound(id.to_string()))?;
        let mut what = RevokedRecord::NotStored;
        if let Some(trust) = profile
            .trust
            .as_mut()
            .filter(|t| t.device_id == Some(device_id))
        {
            trust.revoked_at.get_or_insert(now);
            what = RevokedRecord::ThisInstallation;
        }
        if let Some(record) = devices
            .entry(id)
            .elsewhere
            .iter_mut()
            .find(|r| r.id == device_id)
        {
            record.revoked_at.get_or_insert(now);
            what = RevokedRecord::Elsewhere;
        }
        if what == RevokedRecord::NotStored {
            return Ok(what);
        }
        lock.write(&doc)?;
        Ok(what)
    }

    /// Marks this installation's trust of profile `id` revoked at `now`, whatever its
    /// device id (for a trust the API no longer has). `false`: there was no live trust.
    pub fn record_own_trust_revoked(&self, id: ProfileId, now: u64) -> Result<bool, DeviceError> {
        let (_, changed) = self.update_profile(id, |profile| {
            match profile.trust.as_mut().filter(|t| t.revoked_at.is_none()) {
                Some(trust) => {
                    trust.revoked_at = Some(now);
                    true
                }
                None => false,
            }
        })?;
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_790_000_000;

    fn trust_at(trusted_at: u64) -> DeviceTrust {
        serde_json::from_value(serde_json::json!({
            "trusted_at": trusted_at,
            "expires_at": trusted_at + TRUST_SECONDS,
            "operating_system": "Linux",
            "browser": "emnify Authenticator 0.1.0",
        }))
        .unwrap()
    }

    fn profile(trust: Option<DeviceTrust>) -> LoginProfile {
        serde_json::from_value(serde_json::json!({
            "id": "2f1c8f0e-4a57-4d34-9f57-0c5fb0a1c001",
            "name": "prod",
            "api_url": "https://cdn.emnify.net",
            "method": {"kind": "credentials", "username": "ops@example.com", "trust_device": true},
            "created_at": T0,
            "trust": trust,
        }))
        .unwrap()
    }

    fn iso(unix: u64) -> String {
        let (date, time) = crate::login::flow::format_utc(unix)
            .split_once(' ')
            .map(|(d, t)| (d.to_owned(), t.to_owned()))
            .unwrap();
        format!("{date}T{time}.000Z")
    }

    fn server(id: u64, os: &str, browser: &str, activated: u64) -> ServerDevice {
        ServerDevice {
            id,
            operating_system: Some(os.into()),
            browser: Some(browser.into()),
            activation_date: Some(iso(activated)),
        }
    }

    fn ours(id: u64, activated: u64) -> ServerDevice {
        server(id, "Linux", "emnify Authenticator 0.1.0", activated)
    }

    #[test]
    fn states_at_the_boundaries() {
        let expires = T0 + 90 * DAY;
        let at_left = |seconds: i64| (expires as i64 - seconds) as u64;
        // More than 7 days left: active; exactly 7 days: expiring.
        assert_eq!(
            trust_state(expires, None, at_left(7 * 86_400 + 1), 7),
            TrustState::Active
        );
        assert_eq!(
            trust_state(expires, None, at_left(7 * 86_400), 7),
            TrustState::Expiring
        );
        assert_eq!(days_left(expires, at_left(7 * 86_400)), 7);
        assert_eq!(days_left(expires, at_left(7 * 86_400 + 1)), 8);
        // One second left: expiring, 1 day left. Zero: expired, 0 days.
        assert_eq!(
            trust_state(expires, None, at_left(1), 7),
            TrustState::Expiring
        );
        assert_eq!(days_left(expires, at_left(1)), 1);
        assert_eq!(trust_state(expires, None, expires, 7), TrustState::Expired);
        assert_eq!(days_left(expires, expires), 0);
        // Negative: still expired; -1 once more than a day over.
        assert_eq!(
            trust_state(expires, None, at_left(-1), 7),
            TrustState::Expired
        );
        assert_eq!(days_left(expires, at_left(-1)), 0);
        assert_eq!(days_left(expires, at_left(-86_400)), -1);
        assert_eq!(days_left(expires, at_left(-86_401)), -1);
        assert_eq!(days_left(expires, at_left(-172_800)), -2);
        assert_eq!(
            trust_state(expires, None, expires + 400 * DAY, 7),
            TrustState::Expired
        );
        // A fresh trust: 90 days left.
        assert_eq!(days_left(expires, T0), 90);
        assert_eq!(days_left(expires, T0 + 5), 90);
        assert_eq!(trust_state(expires, None, T0, 7), TrustState::Active);
    }

    #[test]
    fn custom_warning_periods() {
        let expires = T0 + 90 * DAY;
        let at_days_left = |days: u64| expires - days * DAY;
        assert_eq!(
            trust_state(expires, None, at_days_left(10), 7),
            TrustState::Active
        );
        assert_eq!(
            trust_state(expires, None, at_days_left(10), 10),
            TrustState::Expiring
        );
        assert_eq!(
            trust_state(expires, None, at_days_left(10) - 1, 10),
            TrustState::Active
        );
        assert_eq!(
            trust_state(expires, None, at_days_left(30), 30),
            TrustState::Expiring
        );
        // 0: never warns, only expires.
        assert_eq!(
            trust_state(expires, None, expires - 1, 0),
            TrustState::Active
        );
        assert_eq!(trust_state(expires, None, expires, 0), TrustState::Expired);
        // 90: expiring from the start.
        assert_eq!(trust_state(expires, None, T0, 90), TrustState::Expiring);
        // Revoked wins over time.
        assert_eq!(trust_state(expires, Some(T0), T0, 7), TrustState::Revoked);
        assert!(!TrustState::Revoked.is_trusted() && TrustState::Expiring.is_trusted());
    }

    #[test]
    fn api_times_parse_in_the_usual_forms() {
        let base = 1_769_860_800; // 2026-01-31T12:00:00Z
        assert_eq!(parse_api_time("2026-01-31T12:00:00Z"), Some(base));
        assert_eq!(parse_api_time("2026-01-31T12:00:00.999Z"), Some(base));
        assert_eq!(parse_api_time("2026-01-31T12:00:00.000+0000"), Some(base));
        assert_eq!(parse_api_time("2026-01-31T14:00:00+02:00"), Some(base));
        assert_eq!(parse_api_time("2026-01-31T10:00:00-02"), Some(base));
        assert_eq!(parse_api_time("2026-01-31 12:00:00"), Some(base));
        assert_eq!(parse_api_time("2026-01-31T12:00"), Some(base));
        assert_eq!(parse_api_time("2026-01-31"), Some(base - 12 * 3600));
        assert_eq!(parse_api_time("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(iso(base), "2026-01-31T12:00:00.000Z");
        for bad in [
            "",
            "yesterday",
            "2026-13-01",
            "2026-01-31T25:00:00Z",
            "2026-01-31T12:00:00.Z",
            "2026-01-31T12:00:00 CET",
            "1969-12-31T23:59:59Z",
            "31.01.2026",
        ] {
            assert_eq!(parse_api_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn sync_finds_this_installation_by_closest_activation() {
        let mut trust = Some(trust_at(T0));
        let mut entry = ProfileDevices::new(profile(None).id);
        let list = [
            server(41, "Windows 11", "Microsoft Edge", T0 - 80 * DAY),
            // Another installation of this app, trusted 9 minutes later: not ours.
            ours(43, T0 + 540),
            ours(44, T0 - 2),
            // Same time, other browser: not ours.
            server(45, "Linux", "Mozilla Firefox", T0),
        ];
        let report = apply_sync(&mut trust, &mut entry, &list, T0 + 60).unwrap();
        assert_eq!(report.this_installation, Some(44));
        assert_eq!(report.new_elsewhere, [41, 43, 45]);
        assert_eq!(report.listed, 4);
        let own = trust.as_ref().unwrap();
        assert_eq!(own.device_id, Some(44));
        assert_eq!(own.trusted_at, T0);
        assert_eq!(
            own.expires_at,
            T0 - 2 + TRUST_SECONDS,
            "the API's activation date decides the expiry"
        );
        assert_eq!(entry.last_sync, Some(T0 + 60));
        let edge = entry.elsewhere.iter().find(|r| r.id == 41).unwrap();
        assert_eq!(edge.expires_at, T0 + 10 * DAY);
        assert_eq!(edge.first_seen_at, T0 + 60);

        // Nothing within the tolerance: our trust is gone at the server.
        let mut trust = Some(trust_at(T0));
        let mut entry = ProfileDevices::new(profile(None).id);
        let far = [ours(46, T0 + OWN_MATCH_TOLERANCE_SECONDS + 1)];
        let report = apply_sync(&mut trust, &mut entry, &far, T0 + 60).unwrap();
        assert!(report.this_installation_revoked);
        assert_eq!(trust.unwrap().revoked_at, Some(T0 + 60));
        assert_eq!(report.new_elsewhere, [46]);
    }

    #[test]
    fn sync_marks_missing_devices_revoked_but_lets_lapsed_ones_expire() {
        let mut trust = Some(trust_at(T0));
        let mut entry = ProfileDevices::new(profile(None).id);
        let first = [
            ours(44, T0),
            server(41, "Windows 11", "Microsoft Edge", T0 - 80 * DAY),
            server(42, "Ubuntu", "Firefox", T0 - 12 * DAY),
        ];
        apply_sync(&mut trust, &mut entry, &first, T0 + 10).unwrap();
        // 11 days later: 41 lapsed (not listed any more), 42 was revoked elsewhere.
        let now = T0 + 11 * DAY;
        let report = apply_sync(&mut trust, &mut entry, &[ours(44, T0)], now).unwrap();
        assert_eq!(report.revoked_elsewhere, [42]);
        assert!(!report.this_installation_revoked);
        let record = |id: u64| entry.elsewhere.iter().find(|r| r.id == id).unwrap();
        assert_eq!(record(41).revoked_at, None);
        assert_eq!(
            trust_state(record(41).expires_at, record(41).revoked_at, now, 7),
            TrustState::Expired
        );
        assert_eq!(record(42).revoked_at, Some(now));
        // Our own device disappears before its expiry: revoked, so no fingerprint is sent.
        let later = T0 + 20 * DAY;
        let report = apply_sync(&mut trust, &mut entry, &[], later).unwrap();
        assert!(report.this_installation_revoked);
        let mut p = profile(trust.clone());
        assert!(!p.trusted_at(later));
        // A revoked trust is left alone by later syncs.
        let report = apply_sync(&mut trust, &mut entry, &[], later + 1).unwrap();
        assert!(!report.this_installation_revoked);
        assert_eq!(trust.as_ref().unwrap().revoked_at, Some(later));
        // Once it lapses, our own expired trust is not revoked by a sync either.
        p.trust = Some(trust_at(T0));
        let after_expiry = T0 + 91 * DAY;
        let report = apply_sync(&mut p.trust, &mut entry, &[], after_expiry).unwrap();
        assert!(!report.this_installation_revoked);
        // Ended devices from elsewhere are forgotten 90 days after they ended: 41 lapsed
        // on day 10, 42 was revoked on day 11.
        let prune_at = T0 + 10 * DAY + KEEP_ENDED_SECONDS + 1;
        apply_sync(&mut p.trust, &mut entry, &[], prune_at).unwrap();
        assert!(entry.elsewhere.iter().all(|r| r.id != 41));
        assert!(entry.elsewhere.iter().any(|r| r.id == 42), "42 ended later");
    }

    #[test]
    fn a_stale_list_undoes_nothing_recorded_after_it_was_asked_for() {
        // A sync asked for the list at T0 + 100 but writes only after other processes
        // have: recorded a new trust of this installation (T0 + 105), revoked 42 (T0 +
        // 106), and applied a newer list (T0 + 110) that has a new device 47.
        let mut trust = Some(trust_at(T0 + 105));
        let mut entry = ProfileDevices::new(profile(None).id);
        let newer = [
            ours(44, T0 + 104),
            server(41, "Windows 11", "Microsoft Edge", T0 - DAY),
            server(47, "macOS", "Safari", T0 + 108),
        ];
        apply_sync(&mut trust, &mut entry, &newer, T0 + 110).unwrap();
        entry
            .elsewhere
            .push(remote(42, T0 - 2 * DAY, T0 + 90, Some(T0 + 106)));
        let mut fresh_trust = Some(trust_at(T0 + 105));
        let stale = [
            server(41, "Windows 11", "Microsoft Edge", T0 - DAY),
            server(42, "Ubuntu", "Firefox", T0 - 2 * DAY),
        ];
        let before = entry.clone();
        let report = apply_sync(&mut fresh_trust, &mut entry, &stale, T0 + 100).unwrap();
        assert!(
            !report.this_installation_revoked,
            "the trust is newer than the list"
        );
        assert_eq!(fresh_trust, Some(trust_at(T0 + 105)));
        assert!(
            report.revoked_elsewhere.is_empty(),
            "47 was seen by a newer list"
        );
        assert_eq!(entry.last_sync, Some(T0 + 110));
        assert_eq!(
            record(&entry, 42).revoked_at,
            Some(T0 + 106),
            "not resurrected"
        );
        assert_eq!(
            record(&entry, 47),
            before
                .elsewhere
                .iter()
                .find(|r| r.id == 47)
                .unwrap()
                .clone()
        );
        // A list asked for after the revocation that still has 42: it is back.
        apply_sync(&mut fresh_trust, &mut entry, &stale, T0 + 200).unwrap();
        assert_eq!(record(&entry, 42).revoked_at, None);
    }

    fn record(entry: &ProfileDevices, id: u64) -> RemoteDevice {
        entry.elsewhere.iter().find(|r| r.id == id).unwrap().clone()
    }

    fn remote(id: u64, trusted_at: u64, seen: u64, revoked_at: Option<u64>) -> RemoteDevice {
        RemoteDevice {
            id,
            operating_system: "Ubuntu".into(),
            browser: "Firefox".into(),
            trusted_at,
            expires_at: trusted_at + TRUST_SECONDS,
            first_seen_at: seen,
            last_seen_at: seen,
            revoked_at,
        }
    }

    #[test]
    fn a_known_id_is_followed_and_an_unreadable_date_changes_nothing() {
        let mut own = trust_at(T0);
        own.device_id = Some(44);
        let mut trust = Some(own);
        let mut entry = ProfileDevices::new(profile(None).id);
        // Listed under its id, even with a far-off date: still ours.
        let report = apply_sync(
            &mut trust,
            &mut entry,
            &[ours(44, T0 + 3 * DAY)],
            T0 + 4 * DAY,
        )
        .unwrap();
        assert_eq!(report.this_installation, Some(44));
        let before = (trust.clone(), entry.clone());
        let bad = ServerDevice {
            id: 50,
            operating_system: None,
            browser: None,
            activation_date: Some("last tuesday".into()),
        };
        let err = apply_sync(&mut trust, &mut entry, &[bad], T0 + 5 * DAY).unwrap_err();
        assert!(err.to_string().contains("'last tuesday'"), "{err}");
        assert_eq!((trust, entry), before);
    }

    #[test]
    fn views_and_expiring_devices() {
        let mut doc = VaultDocument::default();
        let mut p = profile(Some(trust_at(T0)));
        let id = p.id;
        doc.profiles.push(p.clone());
        let entry = doc.devices.entry(id);
        apply_sync(
            &mut p.trust,
            entry,
            &[
                ours(44, T0),
                server(41, "Windows 11", "Microsoft Edge", T0 - 80 * DAY),
            ],
            T0 + 1,
        )
        .unwrap();
        doc.profiles[0] = p;
        let views = device_views(&doc.devices, &doc.profiles[0], T0 + 1, 7);
        assert_eq!(views.len(), 2);
        assert!(views[0].this_installation);
        assert_eq!(views[0].id, Some(44));
        assert_eq!(views[0].days_left, 90);
        assert_eq!(views[1].describe(), "Windows 11, Microsoft Edge");
        assert_eq!(views[1].days_left, 10);
        // Day 4: 41 has 6 days left → expiring; ours is active.
        let soon = expiring_devices(&doc, T0 + 4 * DAY, 7);
        assert_eq!(soon.len(), 1);
        assert_eq!(soon[0].id, Some(41));
        // Day 84: both expiring, ours first.
        let soon = expiring_devices(&doc, T0 + 84 * DAY, 7);
        assert_eq!(soon.len(), 1, "41 expired on day 10");
        assert!(soon[0].this_installation);
        assert_eq!(soon[0].days_left, 6);
        assert!(expiring_devices(&doc, T0 + 84 * DAY, 5).is_empty());
    }

    #[test]
    fn old_files_without_the_new_fields_still_read() {
        let old = serde_json::json!({
            "schema_version": 1,
            "accounts": [],
            "profiles": [{
                "id": "2f1c8f0e-4a57-4d34-9f57-0c5fb0a1c001",
                "name": "prod",
                "api_url": "https://cdn.emnify.net",
                "method": {"kind": "credentials", "username": "ops@example.com", "trust_device": true},
                "created_at": T0,
                "trust": {"trusted_at": T0, "expires_at": T0 + TRUST_SECONDS,
                          "operating_system": "Linux", "browser": "emnify Authenticator 0.1.0"}
            }]
        });
        let doc: VaultDocument = serde_json::from_value(old).unwrap();
        let trust = doc.profiles[0].trust.as_ref().unwrap();
        assert_eq!(trust.device_id, None);
        assert_eq!(trust.revoked_at, None);
        assert!(doc.devices.is_empty());
        let views = device_views(&doc.devices, &doc.profiles[0], T0, 7);
        assert_eq!(views[0].state, TrustState::Active);
        // Nothing new is written for an untouched document.
        let text = serde_json::to_string(&doc).unwrap();
        assert!(!text.contains("\"devices\""), "{text}");
    }

    #[test]
    fn records_survive_and_a_failed_write_changes_nothing() {
        use std::sync::atomic::Ordering;
        let dir = tempfile::tempdir().unwrap();
        let vault = Vault::open(dir.path(), crate::secret_store::MemoryStore::new());
        let p = profile(Some(trust_at(T0)));
        let mut doc = VaultDocument::default();
        doc.profiles.push(p.clone());
        doc.other.insert("future".into(), serde_json::json!([1]));
        vault
            .metadata()
            .lock_exclusive()
            .unwrap()
            .write(&doc)
            .unwrap();
        let list = [ours(44, T0), server(41, "W", "E", T0 - DAY)];
        let report = vault.record_device_sync(p.id, &list, T0 + 5).unwrap();
        assert_eq!(report.this_installation, Some(44));
        let stored = vault.metadata().read().unwrap();
        assert_eq!(
            stored.profiles[0].trust.as_ref().unwrap().device_id,
            Some(44)
        );
        assert_eq!(stored.devices.get(p.id).unwrap().last_sync, Some(T0 + 5));
        assert_eq!(stored.other["future"], serde_json::json!([1]));

        vault.metadata().fail_writes.store(true, Ordering::SeqCst);
        let before = std::fs::read(vault.metadata().path()).unwrap();
        assert!(vault.record_device_revoked(p.id, 41, T0 + 6).is_err());
        assert!(vault.record_device_sync(p.id, &[], T0 + 7).is_err());
        assert!(vault.set_device_warning_days(Some(3)).is_err());
        assert_eq!(std::fs::read(vault.metadata().path()).unwrap(), before);
        vault.metadata().fail_writes.store(false, Ordering::SeqCst);

        assert_eq!(
            vault.record_device_revoked(p.id, 41, T0 + 8).unwrap(),
            RevokedRecord::Elsewhere
        );
        assert_eq!(
            vault.record_device_revoked(p.id, 44, T0 + 9).unwrap(),
            RevokedRecord::ThisInstallation
        );
        assert_eq!(
            vault.record_device_revoked(p.id, 99, T0 + 9).unwrap(),
            RevokedRecord::NotStored
        );
        let list = vault.device_list("PROD", T0 + 10, None).unwrap();
        assert_eq!(list.warn_days, 7);
        assert!(list.devices.iter().all(|d| d.state == TrustState::Revoked));
        let p = vault.profile("prod").unwrap();
        assert!(!p.trusted_at(T0 + 10), "a revoked trust skips MFA no more");
        assert_eq!(vault.set_device_warning_days(Some(12)).unwrap(), 12);
        assert_eq!(vault.device_list("prod", T0, None).unwrap().warn_days, 12);
        assert_eq!(vault.device_list("prod", T0, Some(3)).unwrap().warn_days, 3);
    }
}
