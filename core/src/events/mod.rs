//! Security events of a login profile: failed logins (types 6 and 7), support access (13)
//! and MFA key changes (14) from the emnify API, plus imported IDaaS authentication events,
//! in one timeline with new entries marked and notable ones highlighted.
//!
//! - [`model`], [`analysis`], [`idaas`], [`time`] and [`timeline`] are pure: parsing,
//!   IP extraction, highlights, new-marking, `--since` spans.
//! - [`fetch`] talks to the API through a [`Login`]; [`store`] keeps what was seen and the
//!   imported IDaaS events in the metadata document (never a token).
//! - [`load_timeline`] puts them together; [`Vault::remember_events`] marks a shown
//!   timeline as seen (a UI calls it when the user has looked, so unread counts stay
//!   until then).

pub mod analysis;
pub mod fetch;
pub mod idaas;
pub mod model;
pub mod store;
pub mod time;
pub mod timeline;

pub use analysis::Highlight;
pub use fetch::{EventQuery, WorkspaceAccess};
pub use timeline::{Source, TimelineEntry, UnreadCounts, unread_counts};

use crate::login::flow::{Login, LoginError, LoginOptions};
use crate::metadata::MetadataError;
use crate::secret_store::SecretStore;
use crate::vault::Vault;

/// Why the timeline could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EventsError {
    /// Logging in or calling the API failed.
    #[error(transparent)]
    Login(#[from] LoginError),
    /// The metadata file failed.
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    /// A type filter outside the security event types.
    #[error(
        "event type {0} is not a security event type: use 6 (user authentication failed), 7 (application authentication failed), 13 (support access) or 14 (multi-factor authentication)"
    )]
    NotASecurityType(u64),
    /// More types than the API's filter takes.
    #[error("give at most 6 event types (the API's limit); there are only 4 security types")]
    TooManyTypes,
}

/// A profile's timeline, with what is needed to present it.
#[derive(Debug, Clone)]
pub struct EventsReport {
    /// Newest first.
    pub entries: Vec<TimelineEntry>,
    /// New and highlighted counts.
    pub unread: UnreadCounts,
    /// Whether the workspace's events are included.
    pub workspace: WorkspaceAccess,
    /// Items of the API's answers that were not readable events (skipped).
    pub unreadable: usize,
    /// More events exist than were fetched.
    pub truncated: bool,
}

/// Checks a query's type filter.
pub fn check_query(query: &EventQuery) -> Result<(), EventsError> {
    if let Some(types) = &query.types {
        if types.len() > 6 {
            return Err(EventsError::TooManyTypes);
        }
        if let Some(bad) = types
            .iter()
            .find(|t| !model::SECURITY_EVENT_TYPES.contains(t))
        {
            return Err(EventsError::NotASecurityType(*bad));
        }
    }
    Ok(())
}

/// Fetches the profile's events, adds the imported IDaaS events (unless the query names
/// emnify types) and marks them against what the profile's timeline showed before. Nothing
/// is marked as seen here: call [`Vault::remember_events`] once the entries were shown.
pub async fn load_timeline<S: SecretStore>(
    vault: &Vault<S>,
    login: &mut Login<'_, S>,
    query: &EventQuery,
    now: u64,
    options: &LoginOptions,
) -> Result<EventsReport, EventsError> {
    check_query(query)?;
    let fetched = fetch::fetch_emnify(login, query, now, options).await?;
    let idaas = if query.types.is_some() {
        Vec::new()
    } else {
        let from = query.from(now);
        vault
            .idaas_events()?
            .into_iter()
            .filter(|e| from.is_none_or(|from| e.event_time >= from))
            .collect()
    };
    let memory = vault.event_memory(login.profile().id)?;
    let entries = timeline::build_timeline(fetched.events, idaas, &memory);
    Ok(EventsReport {
        unread: unread_counts(&entries),
        entries,
        workspace: fetched.workspace,
        unreadable: fetched.unreadable,
        truncated: fetched.truncated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_filters_are_checked() {
        let mut query = EventQuery::default();
        assert!(check_query(&query).is_ok());
        query.types = Some(vec![6, 14]);
        assert!(check_query(&query).is_ok());
        query.types = Some(vec![6, 3]);
        let err = check_query(&query).unwrap_err();
        assert!(matches!(err, EventsError::NotASecurityType(3)));
        assert!(err.to_string().contains("use 6"));
        query.types = Some(vec![6; 7]);
        assert!(matches!(
            check_query(&query),
            Err(EventsError::TooManyTypes)
        ));
    }
}
