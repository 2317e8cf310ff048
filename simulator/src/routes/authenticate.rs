//! `POST /api/v1/authenticate` in its four request shapes, and
//! `POST /api/v1/authenticate/workspace`.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{bearer, parse_json};
use crate::error::ApiError;
use crate::jwt::{Claims, TokenKind};
use crate::server::App;
use crate::state::{
    self, EventDraft, KeyStatus, LOCK_AFTER_FAILURES, LOCKOUT_MS, State as SimState, TrustedDevice,
    failed_auth_description,
};
use crate::totp;

#[derive(Debug, Deserialize)]
struct AuthenticateRequest {
    application_token: Option<String>,
    username: Option<String>,
    password: Option<String>,
    fingerprint: Option<String>,
    refresh_token: Option<String>,
    mfa_token: Option<String>,
    code: Option<String>,
    trusted_device: Option<TrustedDeviceRequest>,
}

#[derive(Debug, Deserialize)]
struct TrustedDeviceRequest {
    fingerprint: String,
    #[serde(default)]
    operating_system: String,
    #[serde(default)]
    browser: String,
}

pub(crate) async fn authenticate(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Bytes,
) -> Response {
    let now_ms = app.clock.unix_millis();
    let ip = peer.ip();
    let mut st = app.state();
    // Every request counts against the limit, well-formed or not, as at a real gateway.
    if let Err(retry_after_secs) = st.check_rate_limit(ip, now_ms) {
        return ApiError::RateLimited { retry_after_secs }.into_response();
    }
    let req: AuthenticateRequest = match parse_json(&body, ApiError::bad_request) {
        Ok(req) => req,
        Err(e) => return e.into_response(),
    };
    let login = Login {
        app: &app,
        st: &mut st,
        ip,
        now_ms,
    };
    let result = if let Some(token) = &req.application_token {
        login.with_application_token(token)
    } else if let Some(token) = &req.refresh_token {
        login.with_refresh_token(token)
    } else if let Some(token) = &req.mfa_token {
        match &req.code {
            Some(code) => login.with_mfa_code(token, code, req.trusted_device.as_ref()),
            None => Err(ApiError::bad_request("mfa_token needs a code")),
        }
    } else if let (Some(username), Some(password)) = (&req.username, &req.password) {
        login.with_credentials(username, password, req.fingerprint.as_deref())
    } else {
        Err(ApiError::bad_request(
            "expected username and password, mfa_token and code, refresh_token, or application_token",
        ))
    };
    match result {
        Ok(body) => Json(body).into_response(),
        Err(e) => e.into_response(),
    }
}

/// One authenticate request, with the state locked.
struct Login<'a> {
    app: &'a App,
    st: &'a mut SimState,
    ip: IpAddr,
    now_ms: i64,
}

impl Login<'_> {
    fn now_secs(&self) -> u64 {
        u64::try_from(self.now_ms.div_euclid(1000)).unwrap_or(0)
    }

    fn sign(
        &self,
        kind: TokenKind,
        user: u64,
        org: u64,
        app_token: Option<u64>,
        minutes: u64,
    ) -> (String, String) {
        let iat = self.now_secs();
        let jti = uuid::Uuid::new_v4().to_string();
        let token = self.app.keys.sign(&Claims {
            iss: "emnify-sim".into(),
            sub: user.to_string(),
            iat,
            exp: iat + minutes * 60,
            jti: jti.clone(),
            kind,
            user,
            org,
            app_token,
        });
        (token, jti)
    }

    /// Shape 1: `{username, password, fingerprint?}`.
    fn with_credentials(
        self,
        username: &str,
        password: &str,
        fingerprint: Option<&str>,
    ) -> Result<Value, ApiError> {
        // Unknown users get the same empty 401 as a wrong password, and no event: there is no
        // organisation to record it in.
        let user = self
            .st
            .user_by_username(username)
            .ok_or(ApiError::Unauthorized)?;
        let user_id = user.id;
        if user.is_locked(self.now_ms) {
            return Err(self.locked_out(user_id));
        }
        if user.password_sha1 != password {
            return Err(self.failure(user_id, "Invalid password"));
        }
        let trusted =
            fingerprint.is_some_and(|f| user.trusted_device_matching(f, self.now_ms).is_some());
        if user.mfa_enabled() && !trusted {
            let (token, jti) = self.sign(
                TokenKind::Mfa,
                user_id,
                user.organisation,
                None,
                state::MFA_TOKEN_MINUTES,
            );
            self.st.mfa_tokens.insert(jti);
            return Ok(json!({ "mfa_token": token }));
        }
        Ok(self.logged_in(user_id))
    }

    /// Shape 2: `{mfa_token, code, trusted_device?}`.
    fn with_mfa_code(
        mut self,
        mfa_token: &str,
        code: &str,
        device: Option<&TrustedDeviceRequest>,
    ) -> Result<Value, ApiError> {
        let claims = self
            .app
            .keys
            .verify(mfa_token, self.now_secs())
            .map_err(|_| ApiError::Unauthorized)?;
        if claims.kind != TokenKind::Mfa || !self.st.mfa_tokens.contains(&claims.jti) {
            return Err(ApiError::Unauthorized);
        }
        let now_secs = self.now_secs();
        let user = self
            .st
            .users
            .get_mut(&claims.user)
            .ok_or(ApiError::Unauthorized)?;
        if user.is_locked(self.now_ms) {
            return Err(self.locked_out(claims.user));
        }
        let accepted = user
            .mfa_keys
            .iter_mut()
            .filter(|k| k.status == KeyStatus::Active)
            .any(|key| {
                let step =
                    totp::matching_step(&key.secret, code, now_secs, state::TOTP_WINDOW_STEPS);
                match step {
                    // A code already used (or older than one used) is a replay.
                    Some(step) if key.last_used_step.is_none_or(|last| step > last) => {
                        key.last_used_step = Some(step);
                        true
                    }
                    _ => false,
                }
            });
        if !accepted {
            return Err(self.failure(claims.user, "Invalid MFA code"));
        }
        self.st.mfa_tokens.remove(&claims.jti);
        if let Some(device) = device {
            self.trust_device(claims.user, device);
        }
        Ok(self.logged_in(claims.user))
    }

    /// Shape 3: `{refresh_token}`; each refresh token works once.
    fn with_refresh_token(self, refresh_token: &str) -> Result<Value, ApiError> {
        let claims = self
            .app
            .keys
            .verify(refresh_token, self.now_secs())
            .map_err(|_| ApiError::Unauthorized)?;
        if claims.kind != TokenKind::Refresh || self.st.refresh_tokens.remove(&claims.jti).is_none()
        {
            return Err(ApiError::Unauthorized);
        }
        if !self.st.users.contains_key(&claims.user) {
            return Err(ApiError::Unauthorized);
        }
        let (auth, _) = self.sign(
            TokenKind::Auth,
            claims.user,
            claims.org,
            None,
            state::AUTH_TOKEN_MINUTES,
        );
        Ok(json!({ "auth_token": auth }))
    }

    /// Shape 4: `{application_token}`; no MFA, no refresh token.
    fn with_application_token(self, token: &str) -> Result<Value, ApiError> {
        let found = self
            .st
            .app_tokens
            .iter()
            .find(|t| t.token == token)
            .cloned();
        // An unknown token cannot be attributed to an organisation, so it leaves no event.
        let t = found.ok_or(ApiError::Unauthorized)?;
        let reason = if t.revoked {
            Some("TokenStatus Revoked")
        } else if t.expiry_ms.is_some_and(|e| self.now_ms >= e) {
            Some("TokenStatus Expired")
        } else {
            None
        };
        if let Some(reason) = reason {
            let draft = EventDraft {
                event_type: 7,
                user: t.user,
                org: t.organisation,
                description: failed_auth_description(&t.description, reason, self.ip),
                detail: None,
            };
            self.st.push_event(draft, self.now_ms);
            return Err(ApiError::Unauthorized);
        }
        let (auth, _) = self.sign(
            TokenKind::Auth,
            t.user,
            t.organisation,
            Some(t.id),
            state::AUTH_TOKEN_MINUTES,
        );
        Ok(json!({ "auth_token": auth }))
    }

    /// A completed user login: resets the failure count, revokes the user's earlier refresh
    /// tokens ("dies when the user logs in elsewhere") and issues a fresh pair.
    fn logged_in(self, user_id: u64) -> Value {
        let Some(user) = self.st.users.get_mut(&user_id) else {
            return json!({});
        };
        user.consecutive_failures = 0;
        user.locked_until_ms = None;
        let org = user.organisation;
        self.st.revoke_refresh_tokens(user_id);
        let (auth, _) = self.sign(
            TokenKind::Auth,
            user_id,
            org,
            None,
            state::AUTH_TOKEN_MINUTES,
        );
        let (refresh, jti) = self.sign(
            TokenKind::Refresh,
            user_id,
            org,
            None,
            state::REFRESH_TOKEN_MINUTES,
        );
        self.st.refresh_tokens.insert(jti, user_id);
        json!({ "auth_token": auth, "refresh_token": refresh })
    }

    /// Counts a wrong password or code; the third in a row locks the account.
    fn failure(self, user_id: u64, reason: &str) -> ApiError {
        let Some(user) = self.st.users.get_mut(&user_id) else {
            return ApiError::Unauthorized;
        };
        user.consecutive_failures += 1;
        let locks = user.consecutive_failures >= LOCK_AFTER_FAILURES;
        if locks {
            user.consecutive_failures = 0;
            user.locked_until_ms = Some(self.now_ms + LOCKOUT_MS);
        }
        let (username, org) = (user.username.clone(), user.organisation);
        let reason = if locks {
            format!("{reason}. Too many failed authentication requests")
        } else {
            reason.to_string()
        };
        let draft = EventDraft {
            event_type: 6,
            user: user_id,
            org,
            description: failed_auth_description(&username, &reason, self.ip),
            detail: None,
        };
        self.st.push_event(draft, self.now_ms);
        if locks {
            ApiError::too_many_failed_attempts()
        } else {
            ApiError::Unauthorized
        }
    }

    /// An attempt during a lockout: refused with `TooManyRequests`, and recorded.
    fn locked_out(self, user_id: u64) -> ApiError {
        if let Some(user) = self.st.users.get(&user_id) {
            let draft = EventDraft {
                event_type: 6,
                user: user_id,
                org: user.organisation,
                description: failed_auth_description(
                    &user.username,
                    "Too many failed authentication requests",
                    self.ip,
                ),
                detail: None,
            };
            self.st.push_event(draft, self.now_ms);
        }
        ApiError::too_many_failed_attempts()
    }

    /// Trusts a device for 90 days; the same fingerprint again renews it. An empty
    /// fingerprint is ignored: it would let any client without one skip MFA.
    fn trust_device(&mut self, user_id: u64, device: &TrustedDeviceRequest) {
        if device.fingerprint.trim().is_empty() {
            return;
        }
        let id = self.st.next_device_id();
        let Some(user) = self.st.users.get_mut(&user_id) else {
            return;
        };
        user.trusted_devices
            .retain(|d| d.fingerprint != device.fingerprint);
        user.trusted_devices.push(TrustedDevice {
            id,
            fingerprint: device.fingerprint.clone(),
            operating_system: device.operating_system.clone(),
            browser: device.browser.clone(),
            activated_ms: self.now_ms,
        });
    }
}

#[derive(Debug, Deserialize)]
struct WorkspaceRequest {
    target_organisation: TargetOrganisation,
}

#[derive(Debug, Deserialize)]
struct TargetOrganisation {
    id: u64,
}

/// `POST /api/v1/authenticate/workspace`: a token for another workspace of the same user.
///
/// The spec lists only `200` and `401` for this path, so a missing right to the target
/// workspace and an application token both get `401` (with an error body, which the spec
/// allows as "any type").
pub(crate) async fn switch_workspace(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let claims = match bearer(&app, &headers) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let req: WorkspaceRequest = match parse_json(&body, ApiError::bad_request) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    if claims.app_token.is_some() {
        return ApiError::body(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "switching workspaces requires user credentials, not an application token",
        )
        .into_response();
    }
    let target = req.target_organisation.id;
    let allowed = {
        let st = app.state();
        st.orgs.contains_key(&target)
            && st
                .users
                .get(&claims.user)
                .is_some_and(|u| u.may_use_org(target))
    };
    if !allowed {
        return ApiError::body(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            format!("no access to organisation {target}"),
        )
        .into_response();
    }
    let iat = app.clock.unix_secs();
    let token = app.keys.sign(&Claims {
        iss: "emnify-sim".into(),
        sub: claims.user.to_string(),
        iat,
        exp: iat + state::AUTH_TOKEN_MINUTES * 60,
        jti: uuid::Uuid::new_v4().to_string(),
        kind: TokenKind::Auth,
        user: claims.user,
        org: target,
        app_token: None,
    });
    Json(json!({ "auth_token": token })).into_response()
}
