//! Fetching the security events of a profile from the emnify API: the user's own
//! (`GET /api/v1/user/my/event`) and, where the user may see them, the workspace's
//! (`GET /api/v1/event`), page by page, filtered by type and time.

use std::collections::HashSet;

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::Method;
use secrecy::SecretString;
use serde::Serialize;
use serde_json::Value;

use crate::events::model::{EmnifyEvent, SECURITY_EVENT_TYPES};
use crate::events::time::format_iso8601;
use crate::events::timeline::Scope;
use crate::login::api::ApiError;
use crate::login::flow::{Login, LoginError, LoginOptions};
use crate::secret_store::SecretStore;

/// Events asked for per page.
pub const PER_PAGE: usize = 200;
/// Pages read per listing at most (so at most 5 000 events each).
pub const MAX_PAGES: u32 = 25;
/// `until` lies this far ahead of the local clock, so that events stamped by a server
/// whose clock runs ahead are not cut off (the API takes `from` only with `until`).
pub const UNTIL_SLACK_SECONDS: u64 = 86_400;

/// Which events to fetch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventQuery {
    /// emnify event types; `None`: all security types (6, 7, 13, 14) and the imported
    /// IDaaS events too.
    pub types: Option<Vec<u64>>,
    /// Only events of the last this many seconds.
    pub since: Option<u64>,
    /// Leave out the workspace's events (only the user's own).
    pub own_only: bool,
}

impl EventQuery {
    /// The emnify types asked for.
    pub fn emnify_types(&self) -> Vec<u64> {
        self.types
            .clone()
            .unwrap_or_else(|| SECURITY_EVENT_TYPES.to_vec())
    }

    /// The earliest time asked for, at `now`.
    pub fn from(&self, now: u64) -> Option<u64> {
        self.since.map(|since| now.saturating_sub(since))
    }

    /// The `q` filter: `type:6|7|13|14` and, with [`EventQuery::since`],
    /// `from:…,until:…` (the API accepts `from` only together with `until`).
    pub fn filter(&self, now: u64) -> String {
        let types: Vec<String> = self.emnify_types().iter().map(u64::to_string).collect();
        let mut q = format!("type:{}", types.join("|"));
        if let Some(from) = self.from(now) {
            q.push_str(&format!(
                ",from:{},until:{}",
                format_iso8601(from),
                format_iso8601(now + UNTIL_SLACK_SECONDS)
            ));
        }
        q
    }
}

/// Whether the workspace's events could be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkspaceAccess {
    /// Read and included.
    Included,
    /// The API refused (401/403): the user may not see them. Not an error.
    NotAllowed,
    /// Not asked for.
    NotRequested,
}

/// What the API returned.
#[derive(Debug, Clone)]
pub struct EmnifyFetch {
    /// The events, with the listing they came from (may repeat across listings).
    pub events: Vec<(EmnifyEvent, Scope)>,
    /// Whether the workspace's events are included.
    pub workspace: WorkspaceAccess,
    /// Items of the answers that were not readable events (skipped).
    pub unreadable: usize,
    /// More events exist than [`MAX_PAGES`] pages hold.
    pub truncated: bool,
}

#[derive(Clone, Copy)]
enum Via<'c> {
    /// Through the login: the token is renewed and the call retried after a `401`.
    Login,
    /// Straight to the API with a token just used successfully: a `401` is final.
    Direct { token: &'c SecretString },
}

async fn fetch_list<S: SecretStore>(
    login: &mut Login<'_, S>,
    via: Via<'_>,
    base: &str,
    q: &str,
    options: &LoginOptions,
) -> Result<(Vec<Value>, bool), LoginError> {
    let mut items = Vec::new();
    let mut ids = HashSet::new();
    for page in 1..=MAX_PAGES {
        let path = format!(
            "{base}?page={page}&per_page={PER_PAGE}&q={}",
            utf8_percent_encode(q, NON_ALPHANUMERIC)
        );
        let batch: Vec<Value> = match via {
            Via::Login => login.call(Method::GET, &path, None, options).await?,
            Via::Direct { token } => {
                login
                    .call_with_token(Method::GET, &path, token, None)
                    .await?
            }
        };
        let full = batch.len() >= PER_PAGE;
        let mut fresh = 0;
        for item in batch {
            if let Some(id) = item.get("id").and_then(Value::as_u64)
                && !ids.insert(id)
            {
                continue;
            }
            fresh += 1;
            items.push(item);
        }
        // A page past the end answers the last page again: nothing fresh means done.
        if !full || fresh == 0 {
            return Ok((items, false));
        }
    }
    Ok((items, true))
}

fn is_refusal(err: &LoginError) -> bool {
    matches!(
        err,
        LoginError::Api(ApiError::Unauthorized | ApiError::Status { status: 403, .. })
    )
}

/// Fetches the events `query` asks for: the user's own first (through the login, which
/// renews the token if needed), then the workspace's with the same token, where a
/// `401`/`403` only means the user may not see them.
pub async fn fetch_emnify<S: SecretStore>(
    login: &mut Login<'_, S>,
    query: &EventQuery,
    now: u64,
    options: &LoginOptions,
) -> Result<EmnifyFetch, LoginError> {
    let q = query.filter(now);
    let (own, mut truncated) =
        fetch_list(login, Via::Login, "/api/v1/user/my/event", &q, options).await?;
    let mut workspace = WorkspaceAccess::NotRequested;
    let mut others = Vec::new();
    if !query.own_only {
        let (token, _) = login.token(options).await?;
        let via = Via::Direct { token: &token };
        match fetch_list(login, via, "/api/v1/event", &q, options).await {
            Ok((items, more)) => {
                workspace = WorkspaceAccess::Included;
                truncated |= more;
                others = items;
            }
            Err(err) if is_refusal(&err) => workspace = WorkspaceAccess::NotAllowed,
            Err(err) => return Err(err),
        }
    }
    let from = query.from(now);
    let wanted = query.emnify_types();
    let mut unreadable = 0;
    let mut events = Vec::new();
    for (scope, items) in [(Scope::Own, own), (Scope::Workspace, others)] {
        for item in items {
            match EmnifyEvent::from_json(&item) {
                // The filter is applied here too, in case a server ignores part of `q`.
                Ok(event)
                    if wanted.contains(&event.event_type.id)
                        && from.is_none_or(|from| event.timestamp >= from) =>
                {
                    events.push((event, scope));
                }
                Ok(_) => {}
                Err(err) => {
                    unreadable += 1;
                    tracing::warn!(error = %err, "skipped an unreadable event");
                }
            }
        }
    }
    Ok(EmnifyFetch {
        events,
        workspace,
        unreadable,
        truncated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_follow_the_spec() {
        let all = EventQuery::default();
        assert_eq!(all.filter(0), "type:6|7|13|14");
        let recent = EventQuery {
            types: Some(vec![6, 14]),
            since: Some(86_400),
            own_only: false,
        };
        assert_eq!(
            recent.filter(1_636_026_430),
            "type:6|14,from:2021-11-03T11:47:10Z,until:2021-11-05T11:47:10Z"
        );
        assert_eq!(recent.from(100), Some(0));
    }

    #[test]
    fn refusals_are_401_and_403_only() {
        assert!(is_refusal(&LoginError::Api(ApiError::Unauthorized)));
        assert!(is_refusal(&LoginError::Api(ApiError::Status {
            status: 403,
            message: None
        })));
        assert!(!is_refusal(&LoginError::Api(ApiError::Status {
            status: 500,
            message: None
        })));
        assert!(!is_refusal(&LoginError::Api(ApiError::Network {
            url: "u".into(),
            detail: "d".into()
        })));
    }
}
