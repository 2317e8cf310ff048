//! The simulated emnify API routes, and the helpers they share.

mod authenticate;
mod devices;
mod events;
mod mfa;
mod users;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderMap, header};
use axum::routing::{delete, get, patch, post};
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::jwt::{Claims, TokenKind};
use crate::server::App;

/// Every API route the simulator serves.
pub(crate) fn api_router() -> Router<Arc<App>> {
    Router::new()
        .route("/api/v1/authenticate", post(authenticate::authenticate))
        .route(
            "/api/v1/authenticate/workspace",
            post(authenticate::switch_workspace),
        )
        .route("/api/v1/user/mfa", post(mfa::create_key))
        .route("/api/v1/user/mfa/status", get(mfa::list_statuses))
        .route("/api/v1/user/mfa/type", get(mfa::list_types))
        .route("/api/v1/user/mfa/{key_id}", patch(mfa::activate_key))
        .route(
            "/api/v1/user/{user_id}/mfa/{key_id}",
            delete(mfa::delete_key),
        )
        .route("/api/v1/user/mfa/trusted_device", get(devices::list_own))
        .route(
            "/api/v1/user/mfa/trusted_device/{device_id}",
            delete(devices::delete_own),
        )
        .route(
            "/api/v1/user/{user_id}/mfa/trusted_device",
            get(devices::list),
        )
        .route(
            "/api/v1/user/{user_id}/mfa/trusted_device/{device_id}",
            delete(devices::delete),
        )
        .route("/api/v1/user/{user_id}", get(users::get_user))
        .route(
            "/api/v1/user/{user_id}/event",
            get(events::list_user_events),
        )
        .route("/api/v1/event", get(events::list_events))
        .route("/api/v1/event/type", get(events::list_event_types))
}

/// Parses a JSON request body; `on_error` builds the answer for a malformed one (the spec
/// wants 400 on some paths and 422 on others).
pub(crate) fn parse_json<T: DeserializeOwned>(
    body: &[u8],
    on_error: fn(String) -> ApiError,
) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| on_error(format!("malformed request body: {e}")))
}

/// The claims of a valid `auth_token` from `Authorization: Bearer …`, or an empty `401`.
pub(crate) fn bearer(app: &App, headers: &HeaderMap) -> Result<Claims, ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(ApiError::Unauthorized)?;
    let (scheme, token) = value.trim().split_once(' ').ok_or(ApiError::Unauthorized)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::Unauthorized);
    }
    let claims = app
        .keys
        .verify(token.trim(), app.clock.unix_secs())
        .map_err(|_| ApiError::Unauthorized)?;
    if claims.kind != TokenKind::Auth || !app.state().users.contains_key(&claims.user) {
        return Err(ApiError::Unauthorized);
    }
    Ok(claims)
}

/// Resolves a `{user_id}` path segment that must name the caller: `my` or the caller's
/// numeric id. Anything else is "not found" (the simulator gives no admin rights over other
/// users).
pub(crate) fn own_user_id(claims: &Claims, raw: &str) -> Result<u64, ApiError> {
    let is_self = raw == "my" || raw.parse::<u64>().is_ok_and(|id| id == claims.user);
    if is_self {
        Ok(claims.user)
    } else {
        Err(ApiError::not_found(
            "UserNotFound",
            format!("user {raw} not found"),
        ))
    }
}

/// Paging limits of the event lists, re-exported in [`crate::limits`].
pub(crate) mod events_limits {
    pub use super::events::{DEFAULT_PER_PAGE, MAX_PER_PAGE};
}
