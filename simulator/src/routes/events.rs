//! Events: `GET /api/v1/event` (the workspace's events), `GET /api/v1/user/{user_id}/event`
//! (one user's; `my` for oneself) and `GET /api/v1/event/type`, with emnify's paging
//! (`page`, `per_page` and the `Link`/`X-*` headers) and `q` filters.

use std::cmp::Ordering;
use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::bearer;
use crate::error::ApiError;
use crate::server::App;
use crate::state::{EVENT_RETENTION_MS, EVENT_TYPES, Event};
use crate::time_fmt::parse_iso8601;

/// Page size when `per_page` is missing or below 1.
pub const DEFAULT_PER_PAGE: u64 = 50;
/// Largest page size; bigger requests are cut to it.
pub const MAX_PER_PAGE: u64 = 1000;
/// Values a multi-value filter (`type:6|7|…`) may have.
const MAX_FILTER_VALUES: usize = 6;
/// Filters the spec lists that concern endpoints and SIMs; the simulator has none of those,
/// so such a filter matches no event.
const DEVICE_FILTERS: [&str; 10] = [
    "endpoint",
    "tags",
    "ip_address",
    "imei",
    "iccid",
    "imsi",
    "iccid_with_luhn",
    "network",
    "rat",
    "country",
];
const DAY_MS: i64 = 86_400_000;

type Params = Vec<(String, String)>;

/// The `q` filter.
#[derive(Debug, Default)]
struct Filter {
    types: Option<Vec<u64>>,
    source: Option<u64>,
    severity: Option<u64>,
    alert: Option<bool>,
    from: Option<i64>,
    until: Option<i64>,
    day: Option<i64>,
    description: Option<String>,
    organisation: Option<String>,
    user: Option<String>,
    match_nothing: bool,
}

fn bad_query(message: impl Into<String>) -> ApiError {
    ApiError::unprocessable("InvalidQuery", message)
}

impl Filter {
    fn parse(q: &str) -> Result<Self, ApiError> {
        let mut f = Filter::default();
        for part in q.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (field, value) = part
                .split_once(':')
                .ok_or_else(|| bad_query(format!("filter {part:?} is not <filter>:<value>")))?;
            let value = value.trim();
            let number = |v: &str| {
                v.trim()
                    .parse::<u64>()
                    .map_err(|_| bad_query(format!("{field} needs a number, not {v:?}")))
            };
            let date = |v: &str| {
                parse_iso8601(v).ok_or_else(|| {
                    bad_query(format!(
                        "{field} needs a date YYYY-MM-DDTHH:mm:ssZ, not {v:?}"
                    ))
                })
            };
            match field.trim() {
                "type" => {
                    let values: Vec<&str> = value.split('|').collect();
                    if values.len() > MAX_FILTER_VALUES {
                        return Err(bad_query(format!(
                            "type accepts at most {MAX_FILTER_VALUES} values"
                        )));
                    }
                    f.types = Some(values.into_iter().map(number).collect::<Result<_, _>>()?);
                }
                "source" => f.source = Some(number(value)?),
                "severity" => f.severity = Some(number(value)?),
                "alert" => {
                    f.alert = Some(match value {
                        "true" => true,
                        "false" => false,
                        _ => {
                            return Err(bad_query(format!(
                                "alert needs true or false, not {value:?}"
                            )));
                        }
                    });
                }
                "from" => f.from = Some(date(value)?),
                "until" => f.until = Some(date(value)?),
                "timestamp" => f.day = Some(date(value)?.div_euclid(DAY_MS) * DAY_MS),
                "description" => f.description = Some(value.to_lowercase()),
                "organisation" => f.organisation = Some(value.to_lowercase()),
                "user" => f.user = Some(value.to_lowercase()),
                other if DEVICE_FILTERS.contains(&other) => f.match_nothing = true,
                other => return Err(bad_query(format!("unknown filter {other:?}"))),
            }
        }
        // The spec: `from` and `until` are "only valid with" each other.
        match (f.from, f.until) {
            (Some(_), None) => return Err(bad_query("from is only valid together with until")),
            (None, Some(_)) => return Err(bad_query("until is only valid together with from")),
            (Some(from), Some(until)) if from > until => {
                return Err(bad_query("from is after until"));
            }
            _ => {}
        }
        Ok(f)
    }

    fn matches(&self, e: &Event) -> bool {
        !self.match_nothing
            && self
                .types
                .as_ref()
                .is_none_or(|t| t.contains(&e.event_type))
            && self
                .source
                .is_none_or(|s| s == crate::state::EVENT_SOURCE_API)
            && self.severity.is_none_or(|s| s == e.severity)
            && self.alert.is_none_or(|a| !a)
            && self.from.is_none_or(|from| e.timestamp_ms >= from)
            && self.until.is_none_or(|until| e.timestamp_ms <= until)
            && self
                .day
                .is_none_or(|day| (day..day + DAY_MS).contains(&e.timestamp_ms))
            && self
                .description
                .as_ref()
                .is_none_or(|d| e.description.to_lowercase().contains(d))
            && self
                .organisation
                .as_ref()
                .is_none_or(|o| e.org_name.to_lowercase().contains(o))
            && self.user.as_ref().is_none_or(|u| {
                e.user_name.to_lowercase().contains(u) || e.username.to_lowercase().contains(u)
            })
    }
}

#[derive(Debug, Clone, Copy)]
enum SortField {
    Id,
    Timestamp,
    Type,
    Severity,
    User,
    Organisation,
}

fn parse_sort(sort: Option<&str>) -> Result<Vec<(SortField, bool)>, ApiError> {
    let mut keys = Vec::new();
    for part in sort
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let descending = part.starts_with('-');
        let field = match part.trim_start_matches(['-', '+']) {
            "id" => Some(SortField::Id),
            "timestamp" => Some(SortField::Timestamp),
            "type" => Some(SortField::Type),
            "severity" => Some(SortField::Severity),
            "user" => Some(SortField::User),
            "organisation" => Some(SortField::Organisation),
            // Valid in the spec, but every simulated event has the same value for these.
            "source" | "alert" | "endpoint" | "tags" | "ip_address" | "iccid" | "imsi" => None,
            other => return Err(ApiError::bad_request(format!("cannot sort by {other:?}"))),
        };
        keys.extend(field.map(|f| (f, descending)));
    }
    if keys.is_empty() {
        // Newest first.
        keys.push((SortField::Timestamp, true));
    }
    keys.push((SortField::Id, true));
    Ok(keys)
}

fn compare(a: &Event, b: &Event, keys: &[(SortField, bool)]) -> Ordering {
    for &(field, descending) in keys {
        let ord = match field {
            SortField::Id => a.id.cmp(&b.id),
            SortField::Timestamp => a.timestamp_ms.cmp(&b.timestamp_ms),
            SortField::Type => a.event_type.cmp(&b.event_type),
            SortField::Severity => a.severity.cmp(&b.severity),
            SortField::User => a.user_id.cmp(&b.user_id),
            SortField::Organisation => a.org_name.cmp(&b.org_name),
        };
        let ord = if descending { ord.reverse() } else { ord };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

fn param<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn page_number(params: &Params, name: &str) -> Result<Option<i64>, ApiError> {
    param(params, name)
        .map(|v| {
            v.trim()
                .parse::<i64>()
                .map_err(|_| ApiError::bad_request(format!("{name} must be a number")))
        })
        .transpose()
}

/// Lists the events `visible` lets through, paged and filtered per `params`.
fn list(
    app: &App,
    params: Result<Query<Params>, QueryRejection>,
    headers: &HeaderMap,
    path: &str,
    visible: impl Fn(&Event) -> bool,
) -> Result<Response, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let per_page = match page_number(&params, "per_page")? {
        Some(n) if n >= 1 => u64::try_from(n).unwrap_or(MAX_PER_PAGE).min(MAX_PER_PAGE),
        _ => DEFAULT_PER_PAGE,
    };
    let requested_page = page_number(&params, "page")?.unwrap_or(1);
    let q = param(&params, "q");
    let filter = Filter::parse(q.unwrap_or(""))?;
    let sort = param(&params, "sort");
    let sort_keys = parse_sort(sort)?;

    let now_ms = app.clock.unix_millis();
    let st = app.state();
    let mut events: Vec<&Event> = st
        .events
        .iter()
        .filter(|e| e.timestamp_ms >= now_ms - EVENT_RETENTION_MS)
        .filter(|e| visible(e))
        .filter(|e| filter.matches(e))
        .collect();
    events.sort_by(|a, b| compare(a, b, &sort_keys));

    let total = events.len() as u64;
    let total_pages = total.div_ceil(per_page).max(1);
    // As documented: below 1 gives the first page, past the end the last.
    let page = u64::try_from(requested_page.max(1))
        .unwrap_or(1)
        .min(total_pages);
    let start = usize::try_from((page - 1) * per_page).unwrap_or(usize::MAX);
    let body: Vec<_> = events
        .iter()
        .skip(start)
        .take(usize::try_from(per_page).unwrap_or(usize::MAX))
        .map(|e| e.to_json())
        .collect();
    drop(st);

    let link = link_header(headers, path, page, per_page, total_pages, q, sort);
    let mut resp = Json(body).into_response();
    let h = resp.headers_mut();
    for (name, value) in [
        ("x-count-per-page", per_page.to_string()),
        ("x-current-page", page.to_string()),
        ("x-total-count", total.to_string()),
        ("x-total-pages", total_pages.to_string()),
        ("link", link),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
    Ok(resp)
}

/// `Link: <…?page=1&per_page=…>;rel="first", …` with the filter and sort carried along.
fn link_header(
    headers: &HeaderMap,
    path: &str,
    page: u64,
    per_page: u64,
    total_pages: u64,
    q: Option<&str>,
    sort: Option<&str>,
) -> String {
    let base = match headers.get(header::HOST).and_then(|h| h.to_str().ok()) {
        Some(host) => format!("http://{host}{path}"),
        None => path.to_string(),
    };
    let mut extra = String::new();
    if let Some(q) = q {
        extra.push_str(&format!("&q={}", encode(q)));
    }
    if let Some(sort) = sort {
        extra.push_str(&format!("&sort={}", encode(sort)));
    }
    let url = |p: u64| format!("<{base}?page={p}&per_page={per_page}{extra}>");
    let mut links = vec![format!("{};rel=\"first\"", url(1))];
    if page > 1 {
        links.push(format!("{};rel=\"prev\"", url(page - 1)));
    }
    if page < total_pages {
        links.push(format!("{};rel=\"next\"", url(page + 1)));
    }
    links.push(format!("{};rel=\"last\"", url(total_pages)));
    links.join(", ")
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// `GET /api/v1/event`: the events of the workspace the token acts in.
pub(crate) async fn list_events(
    State(app): State<Arc<App>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    params: Result<Query<Params>, QueryRejection>,
) -> Response {
    let claims = match bearer(&app, &headers) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    list(&app, params, &headers, uri.path(), |e| {
        e.org_id == claims.org
    })
    .unwrap_or_else(IntoResponse::into_response)
}

/// `GET /api/v1/user/{user_id}/event`: one user's events. As the spec warns, a numeric id of
/// a user one cannot see gives `200 []`, not an error.
pub(crate) async fn list_user_events(
    State(app): State<Arc<App>>,
    Path(user_id): Path<String>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    params: Result<Query<Params>, QueryRejection>,
) -> Response {
    let claims = match bearer(&app, &headers) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let target = if user_id == "my" {
        claims.user
    } else {
        match user_id.parse::<u64>() {
            Ok(id) => id,
            Err(_) => {
                return ApiError::bad_request(format!("invalid user id {user_id:?}"))
                    .into_response();
            }
        }
    };
    let own = target == claims.user;
    let visible = {
        let st = app.state();
        own || st
            .users
            .get(&target)
            .is_some_and(|u| u.may_use_org(claims.org))
    };
    list(&app, params, &headers, uri.path(), |e| {
        visible && e.user_id == target && (own || e.org_id == claims.org)
    })
    .unwrap_or_else(IntoResponse::into_response)
}

/// `GET /api/v1/event/type`: the event types the simulator produces.
pub(crate) async fn list_event_types(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    if let Err(e) = bearer(&app, &headers) {
        return e.into_response();
    }
    let types: Vec<_> = EVENT_TYPES
        .iter()
        .map(|(id, description, _)| json!({ "id": id, "description": description }))
        .collect();
    Json(types).into_response()
}
