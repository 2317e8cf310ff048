//! `GET /api/v1/user/{user_id}` (also `my`, or a username).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::bearer;
use crate::error::ApiError;
use crate::server::App;
use crate::time_fmt::iso8601_millis;

/// The user object of the usermanagement spec. Its `mfa` list shows the user's keys (without
/// secrets): the spec has no separate endpoint that lists keys.
pub(crate) async fn get_user(
    State(app): State<Arc<App>>,
    Path(user_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let claims = match bearer(&app, &headers) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let st = app.state();
    let user = if user_id == "my" {
        st.users.get(&claims.user)
    } else if let Ok(id) = user_id.parse::<u64>() {
        st.users.get(&id)
    } else {
        st.user_by_username(&user_id)
    };
    // Visible: oneself, and users who belong to the workspace the token acts in.
    let Some(user) = user.filter(|u| u.id == claims.user || u.may_use_org(claims.org)) else {
        return ApiError::not_found("UserNotFound", format!("user {user_id} not found"))
            .into_response();
    };
    // One's own user object shows the workspace the token acts in.
    let org = if user.id == claims.user {
        claims.org
    } else {
        user.organisation
    };
    let body = json!({
        "id": user.id,
        "username": user.username,
        "name": user.name,
        "created": iso8601_millis(user.created_ms),
        "status": { "id": 1, "description": "ACTIVE" },
        "organisation": { "id": org, "name": st.org_name(org) },
        "roles": [ { "id": 1, "name": "Administrator" } ],
        "mfa": user.mfa_keys.iter().map(super::mfa::key_json).collect::<Vec<_>>(),
    });
    Json(body).into_response()
}
