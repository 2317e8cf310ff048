//! MFA keys of the logged-in user: create (`POST /api/v1/user/mfa`), activate
//! (`PATCH /api/v1/user/mfa/{key_id}`), delete (`DELETE /api/v1/user/{user_id}/mfa/{key_id}`),
//! and the status and type lookups.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{bearer, own_user_id, parse_json};
use crate::error::ApiError;
use crate::server::App;
use crate::state::{self, EventDraft, KeyStatus, MfaKey, TOTP_TYPE_NAME, mfa_key_description};
use crate::time_fmt::iso8601_millis;
use crate::totp;

/// The only key type the simulator offers (e-mail MFA is not simulated).
const TOTP_TYPE_ID: u64 = 1;

fn type_json() -> Value {
    json!({ "id": TOTP_TYPE_ID, "description": TOTP_TYPE_NAME })
}

fn status_json(status: KeyStatus) -> Value {
    json!({ "id": status.id(), "description": status.description() })
}

/// A key as listed in the user object (`mfa`): never with its secret.
pub(crate) fn key_json(key: &MfaKey) -> Value {
    let mut v = json!({
        "id": key.id,
        "status": status_json(key.status),
        "type": type_json(),
        "creation_date": iso8601_millis(key.created_ms),
    });
    if let Some(at) = key.activated_ms {
        v["activation_date"] = json!(iso8601_millis(at));
    }
    v
}

#[derive(Debug, Deserialize)]
struct IdRef {
    id: u64,
}

#[derive(Debug, Deserialize)]
struct CreateKeyRequest {
    #[serde(rename = "type")]
    key_type: IdRef,
    password: String,
}

/// A malformed body of `POST /api/v1/user/mfa` (its 422 has an `errors` list in the spec).
fn create_body_error(message: String) -> ApiError {
    ApiError::unprocessable_with_errors("UnprocessableEntity", message)
}

/// A malformed body of `PATCH /api/v1/user/mfa/{key_id}` (its 422 has no `errors` list).
fn activate_body_error(message: String) -> ApiError {
    ApiError::unprocessable("UnprocessableEntity", message)
}

/// `POST /api/v1/user/mfa`: a new key in status "Activation pending"; the only answer that
/// shows the secret.
pub(crate) async fn create_key(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let claims = match bearer(&app, &headers) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let req: CreateKeyRequest = match parse_json(&body, create_body_error) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    if req.key_type.id != TOTP_TYPE_ID {
        return ApiError::unprocessable_with_errors(
            "UnsupportedMfaType",
            format!("MFA key type {} is not supported", req.key_type.id),
        )
        .into_response();
    }
    let now_ms = app.clock.unix_millis();
    let mut st = app.state();
    let key_id = st.next_key_id();
    let Some(user) = st.users.get_mut(&claims.user) else {
        return ApiError::Unauthorized.into_response();
    };
    if user.password_sha1 != req.password {
        return ApiError::unprocessable_with_errors(
            "InvalidPassword",
            "the password is not correct",
        )
        .into_response();
    }
    if user.mfa_keys.iter().any(|k| k.status == KeyStatus::Active) {
        return ApiError::body(
            StatusCode::CONFLICT,
            "MfaKeyExists",
            "an active MFA key of this type already exists",
        )
        .into_response();
    }
    // A pending key that was never activated is replaced, so an abandoned setup can be retried.
    user.mfa_keys.retain(|k| k.status == KeyStatus::Active);
    let secret_b32 = totp::generate_secret();
    let key = MfaKey {
        id: key_id,
        secret: totp::decode_secret(&secret_b32).unwrap_or_default(),
        status: KeyStatus::ActivationPending,
        created_ms: now_ms,
        activated_ms: None,
        last_used_step: None,
    };
    let body = json!({
        "id": key.id,
        "status": status_json(key.status),
        "type": type_json(),
        "secret_key": secret_b32,
        "otpauth": totp::otpauth_uri(&secret_b32, "emnify", &user.username),
        "creation_date": iso8601_millis(now_ms),
    });
    user.mfa_keys.push(key);
    let draft = EventDraft {
        event_type: 14,
        user: user.id,
        org: claims.org,
        description: mfa_key_description(key_id, "created", &user.username),
        detail: None,
    };
    st.push_event(draft, now_ms);
    Json(body).into_response()
}

#[derive(Debug, Deserialize)]
struct ActivateKeyRequest {
    status: IdRef,
    code: String,
}

/// `PATCH /api/v1/user/mfa/{key_id}` with `{status: {id: 1}, code}`: activates a pending key.
pub(crate) async fn activate_key(
    State(app): State<Arc<App>>,
    Path(key_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let claims = match bearer(&app, &headers) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let not_found = || {
        ApiError::not_found("MfaKeyNotFound", format!("MFA key {key_id} not found")).into_response()
    };
    let Ok(id) = key_id.parse::<u64>() else {
        return not_found();
    };
    let now_ms = app.clock.unix_millis();
    let now_secs = app.clock.unix_secs();
    let mut st = app.state();
    let Some(user) = st.users.get_mut(&claims.user) else {
        return ApiError::Unauthorized.into_response();
    };
    let username = user.username.clone();
    let Some(key) = user.mfa_keys.iter_mut().find(|k| k.id == id) else {
        return not_found();
    };
    if key.status == KeyStatus::Active {
        return ApiError::body(
            StatusCode::CONFLICT,
            "MfaKeyAlreadyActive",
            format!("MFA key {id} is already active"),
        )
        .into_response();
    }
    let req: ActivateKeyRequest = match parse_json(&body, activate_body_error) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    if req.status.id != KeyStatus::Active.id() {
        return ApiError::unprocessable(
            "InvalidStatus",
            format!("status {} cannot be set", req.status.id),
        )
        .into_response();
    }
    let Some(step) =
        totp::matching_step(&key.secret, &req.code, now_secs, state::TOTP_WINDOW_STEPS)
    else {
        return ApiError::unprocessable("InvalidCode", "the code does not match").into_response();
    };
    key.status = KeyStatus::Active;
    key.activated_ms = Some(now_ms);
    key.last_used_step = Some(step);
    let draft = EventDraft {
        event_type: 14,
        user: claims.user,
        org: claims.org,
        description: mfa_key_description(id, "activated", &username),
        detail: None,
    };
    st.push_event(draft, now_ms);
    StatusCode::NO_CONTENT.into_response()
}

/// `DELETE /api/v1/user/{user_id}/mfa/{key_id}` (`user_id` = `my` or one's own id).
pub(crate) async fn delete_key(
    State(app): State<Arc<App>>,
    Path((user_id, key_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let claims = match bearer(&app, &headers) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let uid = match own_user_id(&claims, &user_id) {
        Ok(id) => id,
        Err(e) => return e.into_response(),
    };
    let now_ms = app.clock.unix_millis();
    let mut st = app.state();
    let Some(user) = st.users.get_mut(&uid) else {
        return ApiError::Unauthorized.into_response();
    };
    let Some(pos) = key_id
        .parse::<u64>()
        .ok()
        .and_then(|id| user.mfa_keys.iter().position(|k| k.id == id))
    else {
        return ApiError::not_found("MfaKeyNotFound", format!("MFA key {key_id} not found"))
            .into_response();
    };
    let key = user.mfa_keys.remove(pos);
    let draft = EventDraft {
        event_type: 14,
        user: uid,
        org: claims.org,
        description: mfa_key_description(key.id, "deleted", &user.username),
        detail: None,
    };
    st.push_event(draft, now_ms);
    StatusCode::NO_CONTENT.into_response()
}

/// `GET /api/v1/user/mfa/status`.
pub(crate) async fn list_statuses(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    if let Err(e) = bearer(&app, &headers) {
        return e.into_response();
    }
    Json(
        KeyStatus::ALL
            .iter()
            .map(|s| status_json(*s))
            .collect::<Vec<_>>(),
    )
    .into_response()
}

/// `GET /api/v1/user/mfa/type`.
pub(crate) async fn list_types(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    if let Err(e) = bearer(&app, &headers) {
        return e.into_response();
    }
    Json(vec![type_json()]).into_response()
}
