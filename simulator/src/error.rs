//! Errors of the simulator library and the HTTP error answers of the simulated API.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::seed::SeedError;

/// Errors of the simulator library (starting, binding, seeding).
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The seed could not be used.
    #[error(transparent)]
    Seed(#[from] SeedError),
    /// The simulator only listens on loopback addresses.
    #[error("refusing to bind {0}: the simulator only listens on loopback addresses")]
    NotLoopback(std::net::IpAddr),
    /// Binding or accepting failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The simulator thread could not start or stopped unexpectedly.
    #[error("simulator thread failed: {0}")]
    Thread(String),
}

/// An error answer of the simulated API.
///
/// emnify answers most authentication failures with an empty `401`; where it sends a body, the
/// body is `{"error_code", "error_token", "message"}` (plus `errors` for some `422`s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ApiError {
    /// `401` with an empty body: bad credentials, bad code, missing/expired/invalid token.
    Unauthorized,
    /// `429` from the rate limiter, with `Retry-After` seconds and an empty body.
    RateLimited { retry_after_secs: u64 },
    /// Any status with a JSON error body.
    Body {
        status: StatusCode,
        error_token: &'static str,
        message: String,
        /// Adds `"errors": []`, as the spec's 422 bodies have.
        with_errors: bool,
    },
}

impl ApiError {
    pub(crate) fn body(
        status: StatusCode,
        error_token: &'static str,
        message: impl Into<String>,
    ) -> Self {
        ApiError::Body {
            status,
            error_token,
            message: message.into(),
            with_errors: false,
        }
    }

    /// `422` with the plain error object.
    pub(crate) fn unprocessable(error_token: &'static str, message: impl Into<String>) -> Self {
        Self::body(StatusCode::UNPROCESSABLE_ENTITY, error_token, message)
    }

    /// `422` with an (empty) `errors` list, the shape the spec gives `POST /api/v1/user/mfa`.
    pub(crate) fn unprocessable_with_errors(
        error_token: &'static str,
        message: impl Into<String>,
    ) -> Self {
        ApiError::Body {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            error_token,
            message: message.into(),
            with_errors: true,
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::body(StatusCode::BAD_REQUEST, "BadRequest", message)
    }

    pub(crate) fn not_found(error_token: &'static str, message: impl Into<String>) -> Self {
        Self::body(StatusCode::NOT_FOUND, error_token, message)
    }

    /// The lockout answer after three failed attempts.
    pub(crate) fn too_many_failed_attempts() -> Self {
        Self::body(
            StatusCode::UNAUTHORIZED,
            "TooManyRequests",
            "Too many failed authentication requests, the account is locked for 5 minutes",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED.into_response(),
            ApiError::RateLimited { retry_after_secs } => {
                let mut resp = StatusCode::TOO_MANY_REQUESTS.into_response();
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
                resp
            }
            ApiError::Body {
                status,
                error_token,
                message,
                with_errors,
            } => {
                // The spec does not list emnify's numeric error codes; the HTTP status is the
                // most useful stand-in.
                let mut body = json!({
                    "error_code": status.as_u16(),
                    "error_token": error_token,
                    "message": message,
                });
                if with_errors {
                    body["errors"] = json!([]);
                }
                (status, axum::Json(body)).into_response()
            }
        }
    }
}
