//! The HTTP side of the emnify API, as far as this app uses it: the four shapes of
//! `POST /api/v1/authenticate`, and authenticated JSON calls. Every failure becomes a
//! typed value or an [`ApiError`] that says what happened; no token ever appears in one.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::{Method, StatusCode, header};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

/// The production API.
pub const DEFAULT_API_URL: &str = "https://cdn.emnify.net";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a request to the emnify API failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The base URL does not parse.
    #[error("'{url}' is not a valid API address: use something like {DEFAULT_API_URL}")]
    BadUrl {
        /// The address as given.
        url: String,
    },
    /// Plain HTTP to a non-loopback host would expose passwords and tokens.
    #[error(
        "refusing to send credentials over plain http to {host}: use https (plain http is only allowed for loopback addresses such as 127.0.0.1)"
    )]
    Insecure {
        /// The host.
        host: String,
    },
    /// No connection, a time-out, or the connection dropped before a full answer.
    #[error(
        "cannot reach the emnify API at {url}: {detail}; check your network connection and try again"
    )]
    Network {
        /// The base URL.
        url: String,
        /// What failed (connect, time-out, connection closed).
        detail: String,
    },
    /// The body was not the JSON the API sends.
    #[error(
        "the emnify API at {url} answered {status} with {what} instead of JSON: is the API address right (a proxy or captive portal may be in the way)?"
    )]
    NotJson {
        /// The base URL.
        url: String,
        /// HTTP status.
        status: u16,
        /// "an HTML page", "an empty body", "invalid JSON", "JSON of an unexpected shape".
        what: &'static str,
    },
    /// The token was refused (expired, revoked, or invalid) on an authenticated call.
    #[error("the emnify API refused the token (401): log in again")]
    Unauthorized,
    /// Any other non-success status.
    #[error("the emnify API answered {status}{}", message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Status {
        /// HTTP status.
        status: u16,
        /// The API's `message`, when it sent one.
        message: Option<String>,
    },
    /// Too many requests.
    #[error("the emnify API is rate-limiting this address: try again in {retry_after} s")]
    RateLimited {
        /// Seconds to wait.
        retry_after: u64,
    },
}

/// The device description sent when asking the API to trust this installation.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TrustedDevice {
    /// Random per-installation id (not a secret the API could misuse, but still private).
    pub fingerprint: String,
    /// e.g. "Linux".
    pub operating_system: String,
    /// App name and version, e.g. "emnify Authenticator 0.1.0".
    pub browser: String,
}

/// One of the four request shapes of `POST /api/v1/authenticate`.
pub enum AuthRequest<'a> {
    /// User name and SHA-1 hex of the password, with this installation's fingerprint when
    /// it is trusted.
    Credentials {
        /// User name (e-mail).
        username: &'a str,
        /// Lower-case hex SHA-1 of the password.
        password_sha1: &'a SecretString,
        /// Trusted-device fingerprint.
        fingerprint: Option<&'a str>,
    },
    /// The MFA step.
    Mfa {
        /// From the credentials step.
        mfa_token: &'a SecretString,
        /// The TOTP code.
        code: &'a str,
        /// Ask to trust this installation for 90 days.
        trusted_device: Option<&'a TrustedDevice>,
    },
    /// A refresh token (single use).
    Refresh {
        /// The refresh token.
        refresh_token: &'a SecretString,
    },
    /// An application token.
    ApplicationToken {
        /// The application token.
        token: &'a SecretString,
    },
}

impl fmt::Debug for AuthRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shape = match self {
            AuthRequest::Credentials { .. } => "Credentials",
            AuthRequest::Mfa { .. } => "Mfa",
            AuthRequest::Refresh { .. } => "Refresh",
            AuthRequest::ApplicationToken { .. } => "ApplicationToken",
        };
        write!(f, "AuthRequest::{shape}(<redacted>)")
    }
}

impl AuthRequest<'_> {
    fn body(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            AuthRequest::Credentials {
                username,
                password_sha1,
                fingerprint,
            } => {
                let mut body = json!({
                    "username": username,
                    "password": password_sha1.expose_secret(),
                });
                if let Some(fingerprint) = fingerprint {
                    body["fingerprint"] = json!(fingerprint);
                }
                body
            }
            AuthRequest::Mfa {
                mfa_token,
                code,
                trusted_device,
            } => {
                let mut body = json!({"mfa_token": mfa_token.expose_secret(), "code": code});
                if let Some(device) = trusted_device {
                    body["trusted_device"] = json!(device);
                }
                body
            }
            AuthRequest::Refresh { refresh_token } => {
                json!({"refresh_token": refresh_token.expose_secret()})
            }
            AuthRequest::ApplicationToken { token } => {
                json!({"application_token": token.expose_secret()})
            }
        }
    }
}

/// What `POST /api/v1/authenticate` answered, as data rather than errors: the login
/// state machine decides what each means.
#[derive(Debug)]
pub enum AuthReply {
    /// Logged in. `refresh_token` is absent for refresh and application-token logins.
    Tokens {
        /// The JWT for `Authorization: Bearer`.
        auth_token: SecretString,
        /// The single-use refresh token.
        refresh_token: Option<SecretString>,
    },
    /// Password accepted; a TOTP code is needed.
    MfaRequired {
        /// Token for the MFA step.
        mfa_token: SecretString,
    },
    /// 401 with an empty body: wrong password, wrong code, or an invalid token.
    Rejected,
    /// 401 `TooManyRequests`: the user is locked out for five minutes.
    Locked,
    /// 429: too many requests from this address.
    RateLimited {
        /// Seconds to wait (from `Retry-After`, else the API's 5-minute window).
        retry_after: u64,
    },
}

/// A response with the server's clock reading, which clock-drift correction uses.
#[derive(Debug)]
pub struct Answer<T> {
    /// The parsed body.
    pub value: T,
    /// The `Date` header, Unix seconds, when present.
    pub server_time: Option<u64>,
}

/// A client for one API base URL.
#[derive(Debug, Clone)]
pub struct ApiClient {
    base: Url,
    http: reqwest::Client,
    /// The `Date` of the last response, refused ones included (shared by clones).
    last_server_date: Arc<Mutex<Option<u64>>>,
}

fn is_loopback(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    }
}

/// Checks an API base URL: https anywhere, plain http only on loopback.
pub fn check_api_url(url: &str) -> Result<Url, ApiError> {
    let parsed = Url::parse(url.trim()).map_err(|_| ApiError::BadUrl {
        url: url.to_owned(),
    })?;
    let host = parsed.host().ok_or_else(|| ApiError::BadUrl {
        url: url.to_owned(),
    })?;
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if is_loopback(&host) => Ok(parsed),
        "http" => Err(ApiError::Insecure {
            host: host.to_string(),
        }),
        _ => Err(ApiError::BadUrl {
            url: url.to_owned(),
        }),
    }
}

fn describe_body(body: &[u8]) -> &'static str {
    let text = String::from_utf8_lossy(body);
    let start = text.trim_start().to_ascii_lowercase();
    if body.iter().all(u8::is_ascii_whitespace) {
        "an empty body"
    } else if start.starts_with("<!doctype") || start.starts_with("<html") || start.starts_with('<')
    {
        "an HTML page"
    } else {
        "invalid JSON"
    }
}

impl ApiClient {
    /// A client for `base_url` (checked with [`check_api_url`]).
    pub fn new(base_url: &str) -> Result<Self, ApiError> {
        let base = check_api_url(base_url)?;
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("emnify-authenticator/", env!("CARGO_PKG_VERSION")))
            .https_only(false)
            .build()
            .map_err(|err| ApiError::Network {
                url: base_url.to_owned(),
                detail: err.to_string(),
            })?;
        Ok(Self {
            base,
            http,
            last_server_date: Arc::default(),
        })
    }

    /// The base URL.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// The `Date` header (Unix seconds) of the last response received since the last
    /// call of this method, whatever its status; `None` when there was none (no answer,
    /// or no readable header). Clock-drift measurement reads it after each request.
    pub fn take_server_date(&self) -> Option<u64> {
        self.last_server_date
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
    }

    /// The URL of `path`, which may carry a query (`/api/v1/event?page=2`); the query is
    /// taken as given (already percent-encoded).
    fn url(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        let base_path = url.path().trim_end_matches('/').to_owned();
        let (path, query) = match path.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (path, None),
        };
        url.set_path(&format!("{base_path}{path}"));
        url.set_query(query);
        url
    }

    fn network_error(&self, err: &reqwest::Error) -> ApiError {
        let detail = if err.is_timeout() {
            "the request timed out".to_owned()
        } else if err.is_connect() {
            "the connection was refused or could not be made".to_owned()
        } else {
            "the connection was closed before a complete answer arrived".to_owned()
        };
        ApiError::Network {
            url: self.base.to_string(),
            detail,
        }
    }

    async fn exchange(
        &self,
        method: Method,
        path: &str,
        token: Option<&SecretString>,
        body: Option<&serde_json::Value>,
    ) -> Result<(StatusCode, header::HeaderMap, Vec<u8>), ApiError> {
        let mut request = self
            .http
            .request(method, self.url(path))
            .header(header::ACCEPT, "application/json");
        if let Some(token) = token {
            request = request.bearer_auth(token.expose_secret());
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| self.network_error(&e))?;
        let status = response.status();
        let headers = response.headers().clone();
        *self
            .last_server_date
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = server_time(&headers);
        let bytes = response.bytes().await.map_err(|e| self.network_error(&e))?;
        Ok((status, headers, bytes.to_vec()))
    }

    fn parse<T: DeserializeOwned>(&self, status: StatusCode, body: &[u8]) -> Result<T, ApiError> {
        match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(value) => serde_json::from_value(value).map_err(|_| ApiError::NotJson {
                url: self.base.to_string(),
                status: status.as_u16(),
                what: "JSON of an unexpected shape",
            }),
            Err(_) => Err(ApiError::NotJson {
                url: self.base.to_string(),
                status: status.as_u16(),
                what: describe_body(body),
            }),
        }
    }

    /// Sends one authenticate request.
    pub async fn authenticate(
        &self,
        request: &AuthRequest<'_>,
    ) -> Result<Answer<AuthReply>, ApiError> {
        #[derive(serde::Deserialize)]
        struct Body {
            auth_token: Option<String>,
            refresh_token: Option<String>,
            mfa_token: Option<String>,
        }
        let (status, headers, body) = self
            .exchange(
                Method::POST,
                "/api/v1/authenticate",
                None,
                Some(&request.body()),
            )
            .await?;
        let server_time = server_time(&headers);
        let reply = match status {
            StatusCode::OK => {
                let parsed: Body = self.parse(status, &body)?;
                match (parsed.auth_token, parsed.mfa_token) {
                    (Some(auth), _) => AuthReply::Tokens {
                        auth_token: SecretString::from(auth),
                        refresh_token: parsed.refresh_token.map(SecretString::from),
                    },
                    (None, Some(mfa)) => AuthReply::MfaRequired {
                        mfa_token: SecretString::from(mfa),
                    },
                    (None, None) => {
                        return Err(ApiError::NotJson {
                            url: self.base.to_string(),
                            status: 200,
                            what: "JSON of an unexpected shape",
                        });
                    }
                }
            }
            StatusCode::UNAUTHORIZED => {
                if error_token(&body).as_deref() == Some("TooManyRequests") {
                    AuthReply::Locked
                } else {
                    AuthReply::Rejected
                }
            }
            StatusCode::TOO_MANY_REQUESTS => AuthReply::RateLimited {
                retry_after: retry_after(&headers),
            },
            other => return Err(self.status_error(other, &body)),
        };
        Ok(Answer {
            value: reply,
            server_time,
        })
    }

    fn status_error(&self, status: StatusCode, body: &[u8]) -> ApiError {
        if status == StatusCode::UNAUTHORIZED {
            return ApiError::Unauthorized;
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            return ApiError::RateLimited { retry_after: 300 };
        }
        let message = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned));
        ApiError::Status {
            status: status.as_u16(),
            message,
        }
    }

    /// An authenticated call whose answer is JSON (`T`) or empty (`T = ()` via
    /// [`ApiClient::call_empty`]).
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        token: &SecretString,
        body: Option<&serde_json::Value>,
    ) -> Result<Answer<T>, ApiError> {
        let (status, headers, bytes) = self.exchange(method, path, Some(token), body).await?;
        if !status.is_success() {
            return Err(self.status_error(status, &bytes));
        }
        Ok(Answer {
            value: self.parse(status, &bytes)?,
            server_time: server_time(&headers),
        })
    }

    /// An authenticated call whose success has no body (e.g. `204`).
    pub async fn call_empty(
        &self,
        method: Method,
        path: &str,
        token: &SecretString,
        body: Option<&serde_json::Value>,
    ) -> Result<Answer<()>, ApiError> {
        let (status, headers, bytes) = self.exchange(method, path, Some(token), body).await?;
        if !status.is_success() {
            return Err(self.status_error(status, &bytes));
        }
        Ok(Answer {
            value: (),
            server_time: server_time(&headers),
        })
    }
}

fn error_token(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()?
        .get("error_token")?
        .as_str()
        .map(str::to_owned)
}

fn retry_after(headers: &header::HeaderMap) -> u64 {
    headers
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(300)
}

fn server_time(headers: &header::HeaderMap) -> Option<u64> {
    let text = headers.get(header::DATE)?.to_str().ok()?;
    httpdate::parse_http_date(text)
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .map(|d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_everywhere_http_only_on_loopback() {
        assert!(check_api_url("https://cdn.emnify.net").is_ok());
        assert!(check_api_url("http://127.0.0.1:8080").is_ok());
        assert!(check_api_url("http://[::1]:8080").is_ok());
        assert!(check_api_url("http://localhost:1").is_ok());
        assert!(matches!(
            check_api_url("http://cdn.emnify.net"),
            Err(ApiError::Insecure { .. })
        ));
        assert!(matches!(
            check_api_url("ftp://x"),
            Err(ApiError::BadUrl { .. })
        ));
        assert!(matches!(
            check_api_url("not a url"),
            Err(ApiError::BadUrl { .. })
        ));
    }

    #[test]
    fn paths_may_carry_a_query() {
        let client = ApiClient::new("http://127.0.0.1:9/base/").unwrap();
        assert_eq!(
            client.url("/api/v1/event?page=2&q=type%3A6").as_str(),
            "http://127.0.0.1:9/base/api/v1/event?page=2&q=type%3A6"
        );
        assert_eq!(
            client.url("/api/v1/user/my").as_str(),
            "http://127.0.0.1:9/base/api/v1/user/my"
        );
    }

    #[test]
    fn bodies_are_described_not_quoted() {
        assert_eq!(describe_body(b""), "an empty body");
        assert_eq!(describe_body(b"<!DOCTYPE html><p>login"), "an HTML page");
        assert_eq!(describe_body(b"{\"auth_token\": "), "invalid JSON");
    }

    #[test]
    fn request_debug_hides_everything() {
        let secret = SecretString::from("hash-value".to_owned());
        let request = AuthRequest::Credentials {
            username: "u",
            password_sha1: &secret,
            fingerprint: None,
        };
        assert_eq!(
            format!("{request:?}"),
            "AuthRequest::Credentials(<redacted>)"
        );
        assert_eq!(request.body()["password"], "hash-value");
    }
}
