//! The one-click login as a state machine: each call returns where the login stands
//! ([`LoginOutcome`]) instead of a chain of errors. Errors are kept for faults (network,
//! a broken answer, the keyring), never for "the server said no".

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use reqwest::Method;
use secrecy::SecretString;
use serde::de::DeserializeOwned;

use crate::clock_drift::{
    ClockOffset, code_sure_to_be_rejected, corrected_time, describe_offset, measure_offset,
};
use crate::login::api::{ApiClient, ApiError, AuthReply, AuthRequest, TrustedDevice};
use crate::login::jwt::{JwtError, read_claims};
use crate::login::profile::{
    DeviceTrust, LoginMethod, LoginProfile, ProfileError, ProfileSecret, TRUST_SECONDS,
};
use crate::otp::code_at;
use crate::secret_store::SecretStore;
use crate::vault::Vault;

/// Fewer seconds than this left in the current step: wait for the next code, so it
/// cannot expire on the way to the server.
pub const MIN_CODE_SECONDS_LEFT: u64 = 3;
/// A cached token with less than this left is renewed first.
pub const TOKEN_MARGIN_SECONDS: u64 = 120;
/// How long the API locks a user after three failures.
pub const LOCKOUT_SECONDS: u64 = 5 * 60;
/// Failures in a row after which the next attempt needs the user's go-ahead (the third
/// would lock the account).
pub const RISKY_AFTER_FAILURES: u32 = 2;

/// The time, and waiting: passed in so that tests control both.
pub trait Clock: Send + Sync {
    /// Unix seconds now.
    fn now(&self) -> u64;
    /// Unix milliseconds now (for measuring the clock offset against the API); by
    /// default [`Clock::now`] in milliseconds.
    fn now_millis(&self) -> u64 {
        self.now().saturating_mul(1000)
    }
    /// Waits `seconds`.
    fn sleep(&self, seconds: u64) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }

    fn now_millis(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0)
    }

    fn sleep(&self, seconds: u64) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(tokio::time::sleep(std::time::Duration::from_secs(seconds)))
    }
}

/// Faults on the way to a login or token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoginError {
    /// The API could not be reached or answered nonsense.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// Profile, vault or keyring failure.
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// The server's token is not a JWT.
    #[error(transparent)]
    Jwt(#[from] JwtError),
    /// A secret the profile needs is not in the keyring.
    #[error(
        "the {what} of profile '{profile}' is missing from the keyring: remove the profile and add it again"
    )]
    MissingSecret {
        /// Profile name.
        profile: String,
        /// "password", "application token".
        what: &'static str,
    },
    /// A valid token needs the user (a code to type, a confirmation, a lockout to wait).
    #[error("cannot get a token for '{profile}' without you: {reason}")]
    NeedsUser {
        /// Profile name.
        profile: String,
        /// What is needed.
        reason: String,
    },
    /// An operation that needs user credentials on an application-token profile.
    #[error(
        "'{0}' logs in with an application token, which cannot {1}; use a profile with user credentials"
    )]
    NotForApplicationTokens(String, &'static str),
}

impl From<crate::vault::VaultError> for LoginError {
    fn from(err: crate::vault::VaultError) -> Self {
        LoginError::Profile(err.into())
    }
}

impl From<crate::secret_store::StoreError> for LoginError {
    fn from(err: crate::secret_store::StoreError) -> Self {
        LoginError::Profile(err.into())
    }
}

/// How a login got its token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LoginPath {
    /// A still-valid cached token; no request.
    Cached,
    /// The refresh token.
    Refresh,
    /// Password only (MFA off for the user).
    Password,
    /// Password with this installation's trusted fingerprint (MFA skipped).
    TrustedDevice,
    /// Password, then a TOTP code.
    Mfa,
    /// An application token.
    ApplicationToken,
}

/// A finished login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedIn {
    /// Expiry of the auth token (Unix seconds).
    pub expires_at: u64,
    /// HTTP requests this login made.
    pub requests: u32,
    /// How.
    pub path: LoginPath,
    /// Until when this installation is now trusted, if the login asked for trust.
    pub trusted_until: Option<u64>,
}

/// A password accepted by the server, waiting for a TOTP code typed by the user.
pub struct PendingMfa {
    mfa_token: SecretString,
    /// Requests made so far.
    pub requests: u32,
}

impl fmt::Debug for PendingMfa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingMfa")
            .field("requests", &self.requests)
            .finish_non_exhaustive()
    }
}

/// Where a login stands.
#[derive(Debug)]
pub enum LoginOutcome {
    /// Done: a token is stored.
    LoggedIn(LoggedIn),
    /// The password was accepted; a code must be typed ([`submit_code`]).
    NeedsCode(PendingMfa),
    /// The server refused the password (or user name).
    WrongPassword {
        /// Failures in a row now.
        failures: u32,
    },
    /// The server refused the code.
    WrongCode {
        /// Failures in a row now.
        failures: u32,
    },
    /// The server refused the application token.
    TokenRejected,
    /// The user is locked out until then (Unix seconds); no request was or will be made.
    Locked {
        /// End of the lockout.
        until: u64,
    },
    /// Too many requests from this address.
    RateLimited {
        /// Seconds to wait.
        retry_after: u64,
    },
    /// Two attempts failed in a row; a third failure would lock the account, so the
    /// next attempt is made only when the user asks for it.
    NeedsConfirmation {
        /// Failures in a row.
        failures: u32,
    },
    /// The server asked for an MFA code, but this computer's clock is so far from the
    /// server's that the code is sure to be refused (and would count toward the lockout),
    /// and clock correction is off: no code was sent and no failure counted.
    ClockDrift {
        /// The server's clock minus this computer's, in seconds.
        offset_seconds: i64,
    },
}

impl LoginOutcome {
    /// A sentence for the user about an outcome that is not [`LoginOutcome::LoggedIn`].
    pub fn explain(&self, now: u64) -> String {
        match self {
            LoginOutcome::LoggedIn(_) => "logged in".into(),
            LoginOutcome::NeedsCode(_) => "the server asks for an MFA code and the profile has no linked authenticator account: type the code".into(),
            LoginOutcome::WrongPassword { failures } => format!(
                "the emnify API refused the user name or password ({failures} failed attempt(s) in a row; three lock the account for 5 minutes): check them, and add the profile again if the password changed"
            ),
            LoginOutcome::WrongCode { failures } => format!(
                "the emnify API refused the MFA code ({failures} failed attempt(s) in a row; three lock the account for 5 minutes): check the code (or that the linked account is the right one) and that this computer's clock is correct"
            ),
            LoginOutcome::TokenRejected => "the emnify API refused the application token: create a new one in the Portal and add the profile again".into(),
            LoginOutcome::Locked { until } => format!(
                "the emnify account is locked after three failed attempts; try again in {} (at {} UTC)",
                crate::login::flow::format_wait(until.saturating_sub(now)),
                format_utc(*until)
            ),
            LoginOutcome::RateLimited { retry_after } => format!(
                "the emnify API is rate-limiting this address (100 logins per 5 minutes); try again in {}",
                format_wait(*retry_after)
            ),
            LoginOutcome::NeedsConfirmation { failures } => format!(
                "{failures} attempts in a row failed and a third failure locks the account for 5 minutes: check the password and linked account, then confirm the next attempt"
            ),
            LoginOutcome::ClockDrift { offset_seconds } => format!(
                "{}, so the MFA code would be refused (none was sent, nothing counts toward the lockout): turn on clock correction (`emnify-auth clock correct on`, or in the app's Settings) or fix the system clock (e.g. enable NTP)",
                describe_offset(*offset_seconds)
            ),
        }
    }
}

/// "4 min 10 s" style.
pub fn format_wait(seconds: u64) -> String {
    match seconds {
        0..=59 => format!("{seconds} s"),
        _ => format!("{} min {} s", seconds / 60, seconds % 60),
    }
}

/// "2026-11-26 14:05:09" for a Unix time.
pub fn format_utc(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm), to avoid a date crate for one line.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// What the caller allows.
#[derive(Debug, Clone, Default)]
pub struct LoginOptions {
    /// Make an attempt even though a failure would lock the account.
    pub confirm_risky: bool,
}

/// When to compute the MFA code: now, or at the start of the next step when the current
/// code is about to expire or was already rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodePlan {
    /// Seconds to wait first.
    pub wait: u64,
    /// The time to compute the code for.
    pub at: u64,
}

/// Plans the code for `now` (pure).
pub fn plan_code(now: u64, period: u64, rejected_step: Option<u64>) -> CodePlan {
    let mut at = now;
    if period - at % period < MIN_CODE_SECONDS_LEFT {
        at = (at / period + 1) * period;
    }
    if rejected_step == Some(at / period) {
        at = (at / period + 1) * period;
    }
    CodePlan { wait: at - now, at }
}

/// What to do about an MFA code answered from the linked account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeDecision {
    /// Compute the code as planned (for the corrected time when correction is on).
    Send(CodePlan),
    /// Send nothing: with correction off the code is sure to be refused.
    ClockDrift {
        /// The server's clock minus this computer's, in seconds.
        offset_seconds: i64,
    },
}

/// Decides the MFA code at local time `local_now` (pure): with `correction` the code is
/// planned for the server's time (`local_now + offset_seconds`); without it, a code that
/// the offset makes sure to be refused is not planned at all.
pub fn decide_code(
    local_now: u64,
    period: u64,
    rejected_step: Option<u64>,
    offset_seconds: i64,
    correction: bool,
) -> CodeDecision {
    let plan = plan_code(
        corrected_time(local_now, offset_seconds, correction),
        period,
        rejected_step,
    );
    if !correction && code_sure_to_be_rejected(plan.at, offset_seconds, period) {
        CodeDecision::ClockDrift { offset_seconds }
    } else {
        CodeDecision::Send(plan)
    }
}

/// Whether a token expiring at `exp` is still good to use at `now` (pure).
pub fn token_is_fresh(exp: u64, now: u64) -> bool {
    exp > now.saturating_add(TOKEN_MARGIN_SECONDS)
}

fn operating_system() -> String {
    match std::env::consts::OS {
        "linux" => "Linux".into(),
        "macos" => "macOS".into(),
        "windows" => "Windows".into(),
        other => other.into(),
    }
}

fn browser() -> String {
    format!("emnify Authenticator {}", env!("CARGO_PKG_VERSION"))
}

/// A login in progress for one profile.
pub struct Login<'a, S: SecretStore> {
    vault: &'a Vault<S>,
    clock: &'a dyn Clock,
    profile: LoginProfile,
    client: ApiClient,
    requests: u32,
    /// The clock offset measured from the last answer with a `Date` header.
    drift: Option<ClockOffset>,
}

impl<S: SecretStore> fmt::Debug for Login<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Login")
            .field("profile", &self.profile.name)
            .field("requests", &self.requests)
            .finish_non_exhaustive()
    }
}

impl<'a, S: SecretStore> Login<'a, S> {
    /// Prepares a login for `profile`.
    pub fn new(
        vault: &'a Vault<S>,
        profile: LoginProfile,
        clock: &'a dyn Clock,
    ) -> Result<Self, LoginError> {
        let client = ApiClient::new(&profile.api_url)?;
        Ok(Self {
            vault,
            clock,
            profile,
            client,
            requests: 0,
            drift: None,
        })
    }

    /// The profile as last stored.
    pub fn profile(&self) -> &LoginProfile {
        &self.profile
    }

    /// Requests made through this value so far.
    pub fn requests(&self) -> u32 {
        self.requests
    }

    /// The clock offset measured from the last answer of this login, if any.
    pub fn clock_drift(&self) -> Option<&ClockOffset> {
        self.drift.as_ref()
    }

    /// After every request sent at `before_ms` (local clock): measures the clock offset
    /// from the answer's `Date` header and records it in the vault. Recording is best
    /// effort: a vault file that cannot be written must not fail the request itself.
    fn observe(&mut self, before_ms: u64) {
        let after_ms = self.clock.now_millis();
        let Some(server_date) = self.client.take_server_date() else {
            return;
        };
        let offset = ClockOffset {
            offset_seconds: measure_offset(server_date, before_ms, after_ms),
            measured_at: after_ms / 1000,
            source: self
                .client
                .base_url()
                .host_str()
                .unwrap_or_default()
                .to_owned(),
        };
        if let Err(err) = self.vault.record_clock_offset(&offset) {
            tracing::warn!(error = %err, "could not record the clock offset");
        }
        self.drift = Some(offset);
    }

    /// The offset to time codes with: this login's measurement, else the stored one when
    /// it was measured against the same host.
    fn drift_seconds(&self) -> Result<i64, LoginError> {
        if let Some(drift) = &self.drift {
            return Ok(drift.offset_seconds);
        }
        let host = self.client.base_url().host_str().unwrap_or_default();
        let stored = self
            .vault
            .clock_status()
            .map_err(crate::vault::VaultError::from)?;
        Ok(stored
            .offset
            .filter(|o| o.source == host)
            .map_or(0, |o| o.offset_seconds))
    }

    /// The time to compute TOTP codes for this API now: the local clock, corrected by
    /// the measured offset when the user turned clock correction on.
    pub fn code_time(&self) -> Result<u64, LoginError> {
        let correction = self
            .vault
            .settings()
            .map_err(crate::vault::VaultError::from)?
            .clock_correction();
        Ok(corrected_time(
            self.clock.now(),
            self.drift_seconds()?,
            correction,
        ))
    }

    async fn authenticate(&mut self, request: &AuthRequest<'_>) -> Result<AuthReply, LoginError> {
        self.requests += 1;
        let before = self.clock.now_millis();
        let answer = self.client.authenticate(request).await;
        self.observe(before);
        Ok(answer?.value)
    }

    /// One authenticated JSON call with `token`, counted and observed.
    async fn send_json<T: DeserializeOwned>(
        &mut self,
        method: Method,
        path: &str,
        token: &SecretString,
        body: Option<&serde_json::Value>,
    ) -> Result<T, ApiError> {
        self.requests += 1;
        let before = self.clock.now_millis();
        let answer = self.client.call(method, path, token, body).await;
        self.observe(before);
        Ok(answer?.value)
    }

    /// One authenticated call without an answer body, counted and observed.
    async fn send_empty(
        &mut self,
        method: Method,
        path: &str,
        token: &SecretString,
        body: Option<&serde_json::Value>,
    ) -> Result<(), ApiError> {
        self.requests += 1;
        let before = self.clock.now_millis();
        let answer = self.client.call_empty(method, path, token, body).await;
        self.observe(before);
        answer.map(|_| ())
    }

    fn update(&mut self, change: impl FnOnce(&mut LoginProfile)) -> Result<(), LoginError> {
        let (profile, ()) = self.vault.update_profile(self.profile.id, change)?;
        self.profile = profile;
        Ok(())
    }

    fn record_failure(&mut self, rejected_step: Option<u64>) -> Result<u32, LoginError> {
        self.update(|p| {
            p.guard.consecutive_failures += 1;
            if rejected_step.is_some() {
                p.guard.rejected_code_step = rejected_step;
            }
        })?;
        Ok(self.profile.guard.consecutive_failures)
    }

    fn record_lock(&mut self) -> Result<u64, LoginError> {
        let until = self.clock.now() + LOCKOUT_SECONDS;
        self.update(|p| p.guard.locked_until = Some(until))?;
        Ok(until)
    }

    fn secret(&self, kind: ProfileSecret, what: &'static str) -> Result<SecretString, LoginError> {
        self.vault
            .profile_secret(self.profile.id, kind)?
            .ok_or_else(|| LoginError::MissingSecret {
                profile: self.profile.name.clone(),
                what,
            })
    }

    fn store_tokens(
        &mut self,
        auth_token: &SecretString,
        refresh_token: Option<&SecretString>,
        keep_old_refresh: bool,
    ) -> Result<u64, LoginError> {
        use secrecy::ExposeSecret;
        let claims = read_claims(auth_token.expose_secret())?;
        self.vault
            .set_profile_secret(&self.profile, ProfileSecret::AuthToken, Some(auth_token))?;
        if refresh_token.is_some() || !keep_old_refresh {
            self.vault.set_profile_secret(
                &self.profile,
                ProfileSecret::RefreshToken,
                refresh_token,
            )?;
        }
        Ok(claims.exp)
    }

    fn succeed(
        &mut self,
        auth_token: &SecretString,
        refresh_token: Option<&SecretString>,
        path: LoginPath,
        trust: Option<DeviceTrust>,
    ) -> Result<LoginOutcome, LoginError> {
        let expires_at = self.store_tokens(auth_token, refresh_token, false)?;
        let trusted_until = trust.as_ref().map(|t| t.expires_at);
        self.update(|p| {
            p.guard = Default::default();
            if let Some(trust) = trust {
                p.trust = Some(trust);
            }
        })?;
        Ok(LoginOutcome::LoggedIn(LoggedIn {
            expires_at,
            requests: self.requests,
            path,
            trusted_until,
        }))
    }

    /// Checks the attempt guard; `Some` is the outcome to return without any request.
    fn guard(&mut self, options: &LoginOptions) -> Result<Option<LoginOutcome>, LoginError> {
        let now = self.clock.now();
        match self.profile.guard.locked_until {
            Some(until) if until > now => return Ok(Some(LoginOutcome::Locked { until })),
            Some(_) => self.update(|p| p.guard = Default::default())?,
            None => {}
        }
        let failures = self.profile.guard.consecutive_failures;
        if failures >= RISKY_AFTER_FAILURES && !options.confirm_risky {
            return Ok(Some(LoginOutcome::NeedsConfirmation { failures }));
        }
        Ok(None)
    }

    /// Logs in from scratch: credentials (with the trusted fingerprint when this
    /// installation is trusted), then the MFA code from the linked account when asked.
    pub async fn login(&mut self, options: &LoginOptions) -> Result<LoginOutcome, LoginError> {
        if let Some(outcome) = self.guard(options)? {
            return Ok(outcome);
        }
        let username = match &self.profile.method {
            LoginMethod::ApplicationToken => {
                let token = self.secret(ProfileSecret::ApplicationToken, "application token")?;
                return match self
                    .authenticate(&AuthRequest::ApplicationToken { token: &token })
                    .await?
                {
                    AuthReply::Tokens { auth_token, .. } => {
                        self.succeed(&auth_token, None, LoginPath::ApplicationToken, None)
                    }
                    AuthReply::RateLimited { retry_after } => {
                        Ok(LoginOutcome::RateLimited { retry_after })
                    }
                    AuthReply::MfaRequired { .. } | AuthReply::Rejected | AuthReply::Locked => {
                        Ok(LoginOutcome::TokenRejected)
                    }
                };
            }
            LoginMethod::Credentials { username, .. } => username.clone(),
        };
        let password = self.secret(ProfileSecret::PasswordHash, "password")?;
        let fingerprint = if self.profile.trusted_at(self.clock.now()) {
            Some(self.vault.installation_fingerprint()?)
        } else {
            None
        };
        let reply = self
            .authenticate(&AuthRequest::Credentials {
                username: &username,
                password_sha1: &password,
                fingerprint: fingerprint.as_deref(),
            })
            .await?;
        match reply {
            AuthReply::Tokens {
                auth_token,
                refresh_token,
            } => {
                let path = if fingerprint.is_some() {
                    LoginPath::TrustedDevice
                } else {
                    LoginPath::Password
                };
                self.succeed(&auth_token, refresh_token.as_ref(), path, None)
            }
            AuthReply::MfaRequired { mfa_token } => {
                let pending = PendingMfa {
                    mfa_token,
                    requests: self.requests,
                };
                if self.linked_account().is_some() {
                    self.answer_with_linked_account(pending).await
                } else {
                    Ok(LoginOutcome::NeedsCode(pending))
                }
            }
            AuthReply::Rejected => Ok(LoginOutcome::WrongPassword {
                failures: self.record_failure(None)?,
            }),
            AuthReply::Locked => Ok(LoginOutcome::Locked {
                until: self.record_lock()?,
            }),
            AuthReply::RateLimited { retry_after } => Ok(LoginOutcome::RateLimited { retry_after }),
        }
    }

    fn linked_account(&self) -> Option<crate::account::AccountId> {
        match &self.profile.method {
            LoginMethod::Credentials { otp_account, .. } => *otp_account,
            LoginMethod::ApplicationToken => None,
        }
    }

    async fn answer_with_linked_account(
        &mut self,
        pending: PendingMfa,
    ) -> Result<LoginOutcome, LoginError> {
        let account_id = self.linked_account().expect("checked by the caller");
        let account = self.vault.account(account_id)?;
        let secret = self.vault.secret(&account)?;
        let period = u64::from(account.params.period);
        let correction = self
            .vault
            .settings()
            .map_err(crate::vault::VaultError::from)?
            .clock_correction();
        let plan = match decide_code(
            self.clock.now(),
            period,
            self.profile.guard.rejected_code_step,
            self.drift_seconds()?,
            correction,
        ) {
            CodeDecision::Send(plan) => plan,
            CodeDecision::ClockDrift { offset_seconds } => {
                return Ok(LoginOutcome::ClockDrift { offset_seconds });
            }
        };
        if plan.wait > 0 {
            self.clock.sleep(plan.wait).await;
        }
        let code = code_at(&secret, &account.params, plan.at);
        self.send_code(pending, &code, Some(plan.at / period)).await
    }

    /// Answers a [`LoginOutcome::NeedsCode`] with a code the user typed.
    pub async fn submit_code(
        &mut self,
        pending: PendingMfa,
        code: &str,
    ) -> Result<LoginOutcome, LoginError> {
        self.send_code(pending, code.trim(), None).await
    }

    async fn send_code(
        &mut self,
        pending: PendingMfa,
        code: &str,
        step: Option<u64>,
    ) -> Result<LoginOutcome, LoginError> {
        let trust_device = matches!(
            self.profile.method,
            LoginMethod::Credentials {
                trust_device: true,
                ..
            }
        );
        let device = if trust_device {
            Some(TrustedDevice {
                fingerprint: self.vault.installation_fingerprint()?,
                operating_system: operating_system(),
                browser: browser(),
            })
        } else {
            None
        };
        let reply = self
            .authenticate(&AuthRequest::Mfa {
                mfa_token: &pending.mfa_token,
                code,
                trusted_device: device.as_ref(),
            })
            .await?;
        match reply {
            AuthReply::Tokens {
                auth_token,
                refresh_token,
            } => {
                let now = self.clock.now();
                let trust = device.map(|d| DeviceTrust {
                    trusted_at: now,
                    expires_at: now + TRUST_SECONDS,
                    operating_system: d.operating_system,
                    browser: d.browser,
                    fingerprint_key: crate::login::profile::FINGERPRINT_KEY.to_owned(),
                    device_id: None,
                    revoked_at: None,
                });
                self.succeed(&auth_token, refresh_token.as_ref(), LoginPath::Mfa, trust)
            }
            AuthReply::Rejected | AuthReply::MfaRequired { .. } => Ok(LoginOutcome::WrongCode {
                failures: self.record_failure(step)?,
            }),
            AuthReply::Locked => Ok(LoginOutcome::Locked {
                until: self.record_lock()?,
            }),
            AuthReply::RateLimited { retry_after } => Ok(LoginOutcome::RateLimited { retry_after }),
        }
    }

    /// A valid auth token: the cached one while it has more than
    /// [`TOKEN_MARGIN_SECONDS`] left (no request), else one from the refresh token, else
    /// a full login. When only the user can help (a code to type, a lockout), the
    /// outcome comes back as the error [`LoginError::NeedsUser`].
    pub async fn token(
        &mut self,
        options: &LoginOptions,
    ) -> Result<(SecretString, LoggedIn), LoginError> {
        use secrecy::ExposeSecret;
        let now = self.clock.now();
        if let Some(token) = self
            .vault
            .profile_secret(self.profile.id, ProfileSecret::AuthToken)?
            && let Ok(claims) = read_claims(token.expose_secret())
            && token_is_fresh(claims.exp, now)
        {
            return Ok((
                token,
                LoggedIn {
                    expires_at: claims.exp,
                    requests: self.requests,
                    path: LoginPath::Cached,
                    trusted_until: None,
                },
            ));
        }
        if let Some(logged_in) = self.refresh().await? {
            return self.stored_token(logged_in);
        }
        match self.login(options).await? {
            LoginOutcome::LoggedIn(logged_in) => self.stored_token(logged_in),
            other => Err(LoginError::NeedsUser {
                profile: self.profile.name.clone(),
                reason: other.explain(self.clock.now()),
            }),
        }
    }

    fn stored_token(&self, logged_in: LoggedIn) -> Result<(SecretString, LoggedIn), LoginError> {
        let token = self.secret(ProfileSecret::AuthToken, "auth token")?;
        Ok((token, logged_in))
    }

    /// Uses the refresh token, if there is a usable one. `None`: no refresh was possible.
    async fn refresh(&mut self) -> Result<Option<LoggedIn>, LoginError> {
        use secrecy::ExposeSecret;
        let Some(refresh_token) = self
            .vault
            .profile_secret(self.profile.id, ProfileSecret::RefreshToken)?
        else {
            return Ok(None);
        };
        if let Ok(claims) = read_claims(refresh_token.expose_secret())
            && claims.exp <= self.clock.now()
        {
            self.vault
                .set_profile_secret(&self.profile, ProfileSecret::RefreshToken, None)?;
            return Ok(None);
        }
        // Single use: forget it before sending, so a lost answer cannot make us send it
        // twice.
        self.vault
            .set_profile_secret(&self.profile, ProfileSecret::RefreshToken, None)?;
        match self
            .authenticate(&AuthRequest::Refresh {
                refresh_token: &refresh_token,
            })
            .await?
        {
            AuthReply::Tokens {
                auth_token,
                refresh_token,
            } => {
                let expires_at = self.store_tokens(&auth_token, refresh_token.as_ref(), true)?;
                Ok(Some(LoggedIn {
                    expires_at,
                    requests: self.requests,
                    path: LoginPath::Refresh,
                    trusted_until: None,
                }))
            }
            _ => Ok(None),
        }
    }

    /// Forgets the cached auth token (after the API refused it).
    pub fn drop_auth_token(&self) -> Result<(), LoginError> {
        self.vault
            .set_profile_secret(&self.profile, ProfileSecret::AuthToken, None)?;
        Ok(())
    }

    /// Logs out locally: forgets the auth and refresh tokens.
    pub fn logout(&self) -> Result<(), LoginError> {
        self.drop_auth_token()?;
        self.vault
            .set_profile_secret(&self.profile, ProfileSecret::RefreshToken, None)?;
        Ok(())
    }

    /// An authenticated JSON call; after a `401` the token is renewed once and the call
    /// retried once.
    pub async fn call<T: DeserializeOwned>(
        &mut self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
        options: &LoginOptions,
    ) -> Result<T, LoginError> {
        let (token, _) = self.token(options).await?;
        match self.send_json(method.clone(), path, &token, body).await {
            Err(ApiError::Unauthorized) => {
                self.drop_auth_token()?;
                let (token, _) = self.token(options).await?;
                Ok(self.send_json(method, path, &token, body).await?)
            }
            other => Ok(other?),
        }
    }

    /// One authenticated JSON call with a token the caller already holds (from
    /// [`Login::token`]): no renewal, a `401` is final.
    pub async fn call_with_token<T: DeserializeOwned>(
        &mut self,
        method: Method,
        path: &str,
        token: &SecretString,
        body: Option<&serde_json::Value>,
    ) -> Result<T, LoginError> {
        Ok(self.send_json(method, path, token, body).await?)
    }

    /// Like [`Login::call`] for calls whose success has no body.
    pub async fn call_empty(
        &mut self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
        options: &LoginOptions,
    ) -> Result<(), LoginError> {
        let (token, _) = self.token(options).await?;
        match self.send_empty(method.clone(), path, &token, body).await {
            Err(ApiError::Unauthorized) => {
                self.drop_auth_token()?;
                let (token, _) = self.token(options).await?;
                self.send_empty(method, path, &token, body).await?;
                Ok(())
            }
            other => Ok(other?),
        }
    }

    /// The logged-in user (`GET /api/v1/user/my`).
    pub async fn whoami(
        &mut self,
        options: &LoginOptions,
    ) -> Result<serde_json::Value, LoginError> {
        self.call(Method::GET, "/api/v1/user/my", None, options)
            .await
    }

    /// Switches to workspace `organisation_id`: the new auth token replaces the cached one.
    pub async fn switch_workspace(
        &mut self,
        organisation_id: u64,
        options: &LoginOptions,
    ) -> Result<LoggedIn, LoginError> {
        if matches!(self.profile.method, LoginMethod::ApplicationToken) {
            return Err(LoginError::NotForApplicationTokens(
                self.profile.name.clone(),
                "switch workspaces",
            ));
        }
        #[derive(serde::Deserialize)]
        struct Reply {
            auth_token: String,
        }
        let body = serde_json::json!({"target_organisation": {"id": organisation_id}});
        let reply: Reply = self
            .call(
                Method::POST,
                "/api/v1/authenticate/workspace",
                Some(&body),
                options,
            )
            .await?;
        let token = SecretString::from(reply.auth_token);
        let expires_at = self.store_tokens(&token, None, true)?;
        Ok(LoggedIn {
            expires_at,
            requests: self.requests,
            path: LoginPath::Password,
            trusted_until: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_wait_for_the_next_step_near_its_end_or_after_a_rejection() {
        const T: u64 = 33_333 * 30; // a step boundary
        assert_eq!(
            plan_code(T + 20, 30, None),
            CodePlan {
                wait: 0,
                at: T + 20
            }
        );
        assert_eq!(
            plan_code(T + 28, 30, None),
            CodePlan {
                wait: 2,
                at: T + 30
            }
        );
        assert_eq!(
            plan_code(T + 27, 30, None),
            CodePlan {
                wait: 0,
                at: T + 27
            }
        );
        let step = T / 30;
        assert_eq!(
            plan_code(T + 20, 30, Some(step)),
            CodePlan {
                wait: 10,
                at: T + 30
            }
        );
        // Near the end and the next step already rejected: skip both.
        assert_eq!(
            plan_code(T + 29, 30, Some(step + 1)),
            CodePlan {
                wait: 31,
                at: T + 60
            }
        );
    }

    #[test]
    fn tokens_are_renewed_before_the_margin() {
        assert!(token_is_fresh(1000 + TOKEN_MARGIN_SECONDS + 1, 1000));
        assert!(!token_is_fresh(1000 + TOKEN_MARGIN_SECONDS, 1000));
        assert!(!token_is_fresh(10, 1000));
    }

    #[test]
    fn utc_formatting() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00");
        assert_eq!(format_utc(1_795_654_890), "2026-11-26 01:01:30");
        assert_eq!(format_wait(250), "4 min 10 s");
    }

    #[test]
    fn explanations_say_what_to_do() {
        let locked = LoginOutcome::Locked { until: 1300 }.explain(1000);
        assert!(locked.contains("5 min 0 s"), "{locked}");
        let risky = LoginOutcome::NeedsConfirmation { failures: 2 }.explain(0);
        assert!(risky.contains("confirm the next attempt"));
        let behind = LoginOutcome::ClockDrift { offset_seconds: 90 }.explain(0);
        assert!(
            behind.contains("90 s behind emnify's")
                && behind.contains("emnify-auth clock correct on")
                && behind.contains("Settings")
                && behind.contains("NTP")
                && behind.contains("none was sent"),
            "{behind}"
        );
        let ahead = LoginOutcome::ClockDrift {
            offset_seconds: -120,
        }
        .explain(0);
        assert!(ahead.contains("120 s ahead of emnify's"), "{ahead}");
    }

    #[test]
    fn codes_follow_the_servers_clock_only_when_correction_is_on() {
        const T: u64 = 33_333 * 30 + 10; // 10 s into a step
        // In sync: the usual plan either way.
        for correction in [false, true] {
            assert_eq!(
                decide_code(T, 30, None, 0, correction),
                CodeDecision::Send(CodePlan { wait: 0, at: T })
            );
        }
        // 90 s behind the server, correction off: the code is sure to be refused.
        assert_eq!(
            decide_code(T, 30, None, 90, false),
            CodeDecision::ClockDrift { offset_seconds: 90 }
        );
        assert_eq!(
            decide_code(T, 30, None, -90, false),
            CodeDecision::ClockDrift {
                offset_seconds: -90
            }
        );
        // Correction on: the code is for the server's time.
        assert_eq!(
            decide_code(T, 30, None, 90, true),
            CodeDecision::Send(CodePlan {
                wait: 0,
                at: T + 90
            })
        );
        // The waiting rules apply to the server's time: 28 s into its step → next step.
        assert_eq!(
            decide_code(T, 30, None, 18, true),
            CodeDecision::Send(CodePlan {
                wait: 2,
                at: T + 20
            })
        );
        // A small drift the server tolerates is sent as it is.
        assert_eq!(
            decide_code(T, 30, None, 20, false),
            CodeDecision::Send(CodePlan { wait: 0, at: T })
        );
    }

    mod against_a_fake_api {
        use std::sync::Arc;

        use secrecy::SecretString;

        use super::super::*;
        use crate::account::{NewAccount, OtpParams};
        use crate::clock_drift::ClockOffset;
        use crate::login::fake_api::{Canned, FakeApi};
        use crate::login::profile::NewProfile;
        use crate::secret::TotpSecret;
        use crate::secret_store::MemoryStore;

        /// Local time: 10.5 s into a code step.
        const LOCAL_MS: u64 = (33_333 * 30 + 10) * 1000 + 500;
        const KEY: &str = "JBSWY3DPEHPK3PXP";

        /// A clock that stands still (and does not wait).
        struct FixedClock;

        impl Clock for FixedClock {
            fn now(&self) -> u64 {
                LOCAL_MS / 1000
            }

            fn now_millis(&self) -> u64 {
                LOCAL_MS
            }

            fn sleep(&self, _seconds: u64) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
                Box::pin(std::future::ready(()))
            }
        }

        fn jwt(exp: u64) -> String {
            use base64::Engine;
            let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(format!("{{\"exp\":{exp}}}"));
            format!("e30.{payload}.c2ln")
        }

        /// The server's clock is `offset` s ahead: it asks for MFA, then (if a code
        /// comes) hands out tokens.
        fn answers(offset: i64) -> Vec<Canned> {
            let server = (LOCAL_MS / 1000).saturating_add_signed(offset);
            vec![
                Canned {
                    status: 200,
                    body: r#"{"mfa_token": "mfa"}"#.into(),
                    date: Some(server),
                },
                Canned {
                    status: 200,
                    body: format!(
                        r#"{{"auth_token": "{}", "refresh_token": "{}"}}"#,
                        jwt(server + 3600),
                        jwt(server + 7200)
                    ),
                    date: Some(server),
                },
            ]
        }

        fn vault_with_profile(
            dir: &std::path::Path,
            api_url: &str,
        ) -> (Vault<Arc<MemoryStore>>, LoginProfile) {
            let vault = Vault::open(dir, Arc::new(MemoryStore::new()));
            let account = vault
                .add(
                    NewAccount {
                        issuer: "emnify".into(),
                        label: "demo".into(),
                        params: OtpParams::default(),
                        secret: TotpSecret::from_base32(KEY).unwrap(),
                    },
                    1,
                )
                .unwrap()
                .added
                .remove(0);
            let profile = vault
                .add_profile(
                    NewProfile {
                        name: "prod".into(),
                        api_url: api_url.into(),
                        method: LoginMethod::Credentials {
                            username: "demo@example.com".into(),
                            otp_account: Some(account.id),
                            trust_device: false,
                        },
                        secret: SecretString::from("hash".to_owned()),
                    },
                    1,
                )
                .unwrap();
            (vault, profile)
        }

        #[tokio::test]
        async fn a_drifted_clock_ends_the_login_before_a_code_is_sent() {
            let api = FakeApi::start(answers(90)).await;
            let dir = tempfile::tempdir().unwrap();
            let (vault, profile) = vault_with_profile(dir.path(), &api.url);
            let mut login = Login::new(&vault, profile, &FixedClock).unwrap();
            let outcome = login.login(&LoginOptions::default()).await.unwrap();
            assert!(
                matches!(outcome, LoginOutcome::ClockDrift { offset_seconds: 90 }),
                "{outcome:?}"
            );
            assert_eq!(api.count(), 1, "only the password was sent");
            assert_eq!(login.requests(), 1);
            let stored = vault.profile("prod").unwrap();
            assert_eq!(stored.guard.consecutive_failures, 0, "no failure counted");
            assert_eq!(stored.guard.rejected_code_step, None);
            let status = vault.clock_status().unwrap();
            assert_eq!(
                status.offset,
                Some(ClockOffset {
                    offset_seconds: 90,
                    measured_at: LOCAL_MS / 1000,
                    source: "127.0.0.1".into(),
                })
            );
            assert!(!status.correction);
        }

        #[tokio::test]
        async fn with_correction_on_the_code_is_for_the_servers_time() {
            let api = FakeApi::start(answers(90)).await;
            let dir = tempfile::tempdir().unwrap();
            let (vault, profile) = vault_with_profile(dir.path(), &api.url);
            vault.set_clock_correction(true).unwrap();
            let mut login = Login::new(&vault, profile, &FixedClock).unwrap();
            let outcome = login.login(&LoginOptions::default()).await.unwrap();
            assert!(
                matches!(
                    outcome,
                    LoginOutcome::LoggedIn(LoggedIn {
                        path: LoginPath::Mfa,
                        ..
                    })
                ),
                "{outcome:?}"
            );
            let secret = TotpSecret::from_base32(KEY).unwrap();
            let server_now = LOCAL_MS / 1000 + 90;
            let sent = api.requests.lock().unwrap()[1]["code"].clone();
            assert_eq!(sent, code_at(&secret, &OtpParams::default(), server_now));
            assert_ne!(
                sent,
                code_at(&secret, &OtpParams::default(), LOCAL_MS / 1000)
            );
            assert_eq!(login.code_time().unwrap(), server_now);
        }

        #[tokio::test]
        async fn a_clock_in_step_with_the_server_logs_in_as_before() {
            let api = FakeApi::start(answers(1)).await;
            let dir = tempfile::tempdir().unwrap();
            let (vault, profile) = vault_with_profile(dir.path(), &api.url);
            let mut login = Login::new(&vault, profile, &FixedClock).unwrap();
            let outcome = login.login(&LoginOptions::default()).await.unwrap();
            assert!(matches!(outcome, LoginOutcome::LoggedIn(_)), "{outcome:?}");
            assert_eq!(login.clock_drift().unwrap().offset_seconds, 0);
        }
    }
}
