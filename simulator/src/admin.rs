//! Test-only admin routes under `/_sim/`, mounted only when enabled (`--admin`,
//! [`crate::SimConfig::admin`]); otherwise they answer 404 like any unknown path.
//!
//! - `GET /_sim/clock` → `{"unix", "unix_ms", "iso", "offset_secs"}`
//! - `POST /_sim/clock` with `{"advance_secs": N}` or `{"set_unix": N}` → the same
//! - `GET /_sim/stats` → `{"total": N, "requests": {"POST /api/v1/authenticate": N, …}}`
//! - `POST /_sim/stats/reset` → the zeroed stats
//! - `POST /_sim/fault` with `{"path", "kind", "times"?, "method"?}` → `{"pending": [...]}`
//!   (`kind`: `html`, `empty`, `invalid_json`, `drop`, `status500`)
//! - `GET /_sim/fault` → `{"pending": [...]}`; `DELETE /_sim/fault` → 204, all cleared

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::faults::Fault;
use crate::routes::parse_json;
use crate::server::App;
use crate::time_fmt::iso8601_millis;

pub(crate) fn admin_router() -> Router<Arc<App>> {
    Router::new()
        .route("/_sim/clock", get(get_clock).post(set_clock))
        .route("/_sim/stats", get(get_stats))
        .route("/_sim/stats/reset", post(reset_stats))
        .route(
            "/_sim/fault",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
}

fn clock_json(app: &App) -> Value {
    let ms = app.clock.unix_millis();
    json!({
        "unix": ms.div_euclid(1000),
        "unix_ms": ms,
        "iso": iso8601_millis(ms),
        "offset_secs": app.clock.offset_millis() / 1000,
    })
}

async fn get_clock(State(app): State<Arc<App>>) -> Json<Value> {
    Json(clock_json(&app))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockChange {
    advance_secs: Option<u64>,
    set_unix: Option<u64>,
}

async fn set_clock(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let change: ClockChange = match parse_json(&body, ApiError::bad_request) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    match (change.advance_secs, change.set_unix) {
        (Some(secs), None) => app.clock.advance(Duration::from_secs(secs)),
        (None, Some(unix)) => app.clock.set(unix),
        _ => {
            return ApiError::bad_request("give exactly one of advance_secs and set_unix")
                .into_response();
        }
    }
    Json(clock_json(&app)).into_response()
}

async fn get_stats(State(app): State<Arc<App>>) -> Response {
    Json(app.stats().snapshot()).into_response()
}

async fn reset_stats(State(app): State<Arc<App>>) -> Response {
    let mut stats = app.stats();
    stats.reset();
    Json(stats.snapshot()).into_response()
}

async fn add_fault(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let fault: Fault = match parse_json(&body, ApiError::bad_request) {
        Ok(f) => f,
        Err(e) => return e.into_response(),
    };
    let mut faults = app.faults();
    faults.add(fault);
    Json(json!({ "pending": faults.list() })).into_response()
}

async fn list_faults(State(app): State<Arc<App>>) -> Response {
    Json(json!({ "pending": app.faults().list() })).into_response()
}

async fn clear_faults(State(app): State<Arc<App>>) -> StatusCode {
    app.faults().clear();
    StatusCode::NO_CONTENT
}
