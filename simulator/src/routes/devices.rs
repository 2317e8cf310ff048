//! Trusted devices of the logged-in user: list and delete, at
//! `/api/v1/user/{user_id}/mfa/trusted_device` (`user_id` = `my` or one's own id) and at
//! `/api/v1/user/mfa/trusted_device`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{bearer, own_user_id};
use crate::error::ApiError;
use crate::server::App;
use crate::time_fmt::iso8601_millis;

fn list_for(app: &App, headers: &HeaderMap, user_id: &str) -> Response {
    let claims = match bearer(app, headers) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let uid = match own_user_id(&claims, user_id) {
        Ok(id) => id,
        Err(e) => return e.into_response(),
    };
    let now_ms = app.clock.unix_millis();
    let st = app.state();
    let Some(user) = st.users.get(&uid) else {
        return ApiError::Unauthorized.into_response();
    };
    // Lapsed devices (older than 90 days) no longer skip MFA and are not listed. The
    // fingerprint is a credential and is never shown.
    let mut devices: Vec<_> = user
        .trusted_devices
        .iter()
        .filter(|d| d.is_valid_at(now_ms))
        .collect();
    devices.sort_by_key(|d| d.id);
    let body: Vec<_> = devices
        .into_iter()
        .map(|d| {
            json!({
                "id": d.id,
                "operating_system": d.operating_system,
                "browser": d.browser,
                "activation_date": iso8601_millis(d.activated_ms),
            })
        })
        .collect();
    Json(body).into_response()
}

fn delete_for(app: &App, headers: &HeaderMap, user_id: &str, device_id: &str) -> Response {
    let claims = match bearer(app, headers) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let uid = match own_user_id(&claims, user_id) {
        Ok(id) => id,
        Err(e) => return e.into_response(),
    };
    let now_ms = app.clock.unix_millis();
    let mut st = app.state();
    let Some(user) = st.users.get_mut(&uid) else {
        return ApiError::Unauthorized.into_response();
    };
    let pos = device_id.parse::<u64>().ok().and_then(|id| {
        user.trusted_devices
            .iter()
            .position(|d| d.id == id && d.is_valid_at(now_ms))
    });
    match pos {
        Some(pos) => {
            user.trusted_devices.remove(pos);
            StatusCode::NO_CONTENT.into_response()
        }
        None => ApiError::not_found(
            "TrustedDeviceNotFound",
            format!("trusted device {device_id} not found"),
        )
        .into_response(),
    }
}

/// `GET /api/v1/user/{user_id}/mfa/trusted_device`.
pub(crate) async fn list(
    State(app): State<Arc<App>>,
    Path(user_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    list_for(&app, &headers, &user_id)
}

/// `GET /api/v1/user/mfa/trusted_device`.
pub(crate) async fn list_own(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    list_for(&app, &headers, "my")
}

/// `DELETE /api/v1/user/{user_id}/mfa/trusted_device/{device_id}`.
pub(crate) async fn delete(
    State(app): State<Arc<App>>,
    Path((user_id, device_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    delete_for(&app, &headers, &user_id, &device_id)
}

/// `DELETE /api/v1/user/mfa/trusted_device/{device_id}`.
pub(crate) async fn delete_own(
    State(app): State<Arc<App>>,
    Path(device_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    delete_for(&app, &headers, "my", &device_id)
}
