//! The security timeline of one profile: emnify events and imported IDaaS events in one
//! list, newest first, each marked new or seen and, where it stands out, highlighted. Pure:
//! what was seen before comes in as an [`EventMemory`], and [`EventMemory::remember`]
//! records what was shown.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::events::analysis::{Highlight, HighlightFacts, failed_auth_ips, highlight};
use crate::events::idaas::{IdaasEvent, IdaasOutcome};
use crate::events::model::{
    APPLICATION_AUTHENTICATION_FAILED, EmnifyEvent, USER_AUTHENTICATION_FAILED,
};
use crate::login::profile::ProfileId;

/// Where an event comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The emnify events API.
    Emnify,
    /// An imported IDaaS webhook payload.
    Idaas,
}

/// Which emnify listing an event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// The user's own events (`/api/v1/user/my/event`).
    Own,
    /// Another user's event in the workspace (`/api/v1/event`).
    Workspace,
}

/// The identity of an event across sources: `emnify:13096831909`, `idaas:019adb89-…`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventKey {
    /// An emnify event id.
    Emnify(u64),
    /// An IDaaS delivery id.
    Idaas(String),
}

impl fmt::Display for EventKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventKey::Emnify(id) => write!(f, "emnify:{id}"),
            EventKey::Idaas(id) => write!(f, "idaas:{id}"),
        }
    }
}

/// An event key that is not `emnify:N` or `idaas:…`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not an event key (emnify:N or idaas:ID)")]
pub struct BadEventKey(String);

impl FromStr for EventKey {
    type Err = BadEventKey;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.split_once(':') {
            Some(("emnify", id)) => id
                .parse()
                .map(EventKey::Emnify)
                .map_err(|_| BadEventKey(text.to_owned())),
            Some(("idaas", id)) if !id.is_empty() => Ok(EventKey::Idaas(id.to_owned())),
            _ => Err(BadEventKey(text.to_owned())),
        }
    }
}

impl Serialize for EventKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for EventKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The event behind a timeline entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceEvent {
    /// From the emnify API.
    Emnify {
        /// The event.
        event: EmnifyEvent,
        /// Whether it is the user's own or another workspace user's.
        scope: Scope,
    },
    /// From an IDaaS webhook payload.
    Idaas(IdaasEvent),
}

/// One line of the timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimelineEntry {
    /// Identity across sources.
    pub key: EventKey,
    /// emnify or IDaaS.
    pub source: Source,
    /// When, Unix seconds.
    pub timestamp: u64,
    /// The emnify event type (6, 7, 13, 14); `None` for IDaaS events.
    pub event_type: Option<u64>,
    /// The event type's name ("User authentication failed", "IDaaS authentication failed").
    pub title: String,
    /// The event text.
    pub description: String,
    /// The user concerned (user name), when known.
    pub user: Option<String>,
    /// Whether it is a failed authentication.
    pub failed_login: bool,
    /// IP addresses the event names (the client first).
    pub ips: Vec<IpAddr>,
    /// Not shown before (see [`EventMemory`]).
    pub is_new: bool,
    /// Why it stands out, if it does.
    pub highlight: Option<Highlight>,
    /// The event as read.
    pub event: SourceEvent,
}

/// When and by which event an IP address was first seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirstSeen {
    /// Unix seconds.
    pub at: u64,
    /// The event.
    pub event: EventKey,
}

/// What a profile's timeline has shown before: the events (to mark new ones) and the
/// first event of each IP address (so a new address is recognised the same way every
/// time). No secrets; kept in the metadata document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventMemory {
    /// The profile.
    pub profile: ProfileId,
    /// Events shown, with their time (for pruning).
    #[serde(default)]
    pub seen: BTreeMap<EventKey, u64>,
    /// The first event of each address shown.
    #[serde(default)]
    pub first_seen_ips: BTreeMap<IpAddr, FirstSeen>,
    /// When the timeline was last shown (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_look: Option<u64>,
}

/// Seen marks of emnify events older than this are forgotten (emnify keeps events 30 days).
pub const SEEN_RETENTION_SECONDS: u64 = 45 * 86_400;
/// At most this many addresses are remembered (the oldest go first).
pub const MAX_REMEMBERED_IPS: usize = 5_000;

impl EventMemory {
    /// Nothing seen yet.
    pub fn new(profile: ProfileId) -> Self {
        Self {
            profile,
            seen: BTreeMap::new(),
            first_seen_ips: BTreeMap::new(),
            last_look: None,
        }
    }

    /// Records `entries` as shown at `now`, and forgets seen marks of emnify events past
    /// the API's retention (IDaaS events stay marked while `keep` holds them).
    pub fn remember(&mut self, entries: &[TimelineEntry], now: u64, keep: &[EventKey]) {
        for entry in entries {
            self.seen.insert(entry.key.clone(), entry.timestamp);
            for ip in &entry.ips {
                let candidate = FirstSeen {
                    at: entry.timestamp,
                    event: entry.key.clone(),
                };
                match self.first_seen_ips.get(ip) {
                    Some(known) if (known.at, &known.event) <= (candidate.at, &candidate.event) => {
                    }
                    _ => {
                        self.first_seen_ips.insert(*ip, candidate);
                    }
                }
            }
        }
        let horizon = now.saturating_sub(SEEN_RETENTION_SECONDS);
        self.seen
            .retain(|key, at| *at >= horizon || keep.contains(key));
        if self.first_seen_ips.len() > MAX_REMEMBERED_IPS {
            let mut by_age: Vec<(u64, IpAddr)> = self
                .first_seen_ips
                .iter()
                .map(|(ip, seen)| (seen.at, *ip))
                .collect();
            by_age.sort();
            let excess = self.first_seen_ips.len() - MAX_REMEMBERED_IPS;
            for (_, ip) in by_age.into_iter().take(excess) {
                self.first_seen_ips.remove(&ip);
            }
        }
        self.last_look = Some(now);
    }
}

/// A timeline line before it is marked.
fn entry_of_emnify(event: EmnifyEvent, scope: Scope) -> TimelineEntry {
    let failed_login = matches!(
        event.event_type.id,
        USER_AUTHENTICATION_FAILED | APPLICATION_AUTHENTICATION_FAILED
    );
    let ips = failed_auth_ips(&event.description);
    let title = if event.event_type.description.is_empty() {
        format!("Event type {}", event.event_type.id)
    } else {
        event.event_type.description.clone()
    };
    TimelineEntry {
        key: EventKey::Emnify(event.id),
        source: Source::Emnify,
        timestamp: event.timestamp,
        event_type: Some(event.event_type.id),
        title,
        description: event.description.clone(),
        user: event
            .user
            .as_ref()
            .map(|u| u.username.clone())
            .filter(|u| !u.is_empty()),
        failed_login,
        ips,
        is_new: false,
        highlight: None,
        event: SourceEvent::Emnify { event, scope },
    }
}

fn entry_of_idaas(event: IdaasEvent) -> TimelineEntry {
    let failed_login = event.outcome == IdaasOutcome::Failed;
    TimelineEntry {
        key: EventKey::Idaas(event.id.clone()),
        source: Source::Idaas,
        timestamp: event.event_time,
        event_type: None,
        title: match event.outcome {
            IdaasOutcome::Succeeded => "IDaaS authentication succeeded".to_owned(),
            IdaasOutcome::Failed => "IDaaS authentication failed".to_owned(),
        },
        description: event.describe(),
        user: event.subject_name.clone(),
        failed_login,
        ips: event.ips(),
        is_new: false,
        highlight: None,
        event: SourceEvent::Idaas(event),
    }
}

/// Builds the timeline, newest first: each event once (an emnify event in both listings
/// counts as the user's own), marked new unless `memory` saw it, and highlighted per
/// [`highlight`]. A failed login is "from a new IP" when it is the earliest event, in
/// `memory` or in this list, that shows the address: the same event stays highlighted on
/// every later look.
pub fn build_timeline(
    emnify: Vec<(EmnifyEvent, Scope)>,
    idaas: Vec<IdaasEvent>,
    memory: &EventMemory,
) -> Vec<TimelineEntry> {
    let mut by_key: BTreeMap<EventKey, TimelineEntry> = BTreeMap::new();
    for (event, scope) in emnify {
        let entry = entry_of_emnify(event, scope);
        match by_key.get(&entry.key) {
            Some(existing)
                if matches!(
                    existing.event,
                    SourceEvent::Emnify {
                        scope: Scope::Own,
                        ..
                    }
                ) => {}
            _ => {
                by_key.insert(entry.key.clone(), entry);
            }
        }
    }
    for event in idaas {
        let entry = entry_of_idaas(event);
        by_key.entry(entry.key.clone()).or_insert(entry);
    }
    let mut entries: Vec<TimelineEntry> = by_key.into_values().collect();
    entries.sort_by(|a, b| (a.timestamp, &a.key).cmp(&(b.timestamp, &b.key)));

    let mut first: BTreeMap<IpAddr, (u64, EventKey)> = memory
        .first_seen_ips
        .iter()
        .map(|(ip, seen)| (*ip, (seen.at, seen.event.clone())))
        .collect();
    for entry in &entries {
        for ip in &entry.ips {
            let candidate = (entry.timestamp, entry.key.clone());
            match first.get(ip) {
                Some(known) if *known <= candidate => {}
                _ => {
                    first.insert(*ip, candidate);
                }
            }
        }
    }
    for entry in &mut entries {
        let new_ip = entry.ips.iter().copied().find(|ip| {
            first
                .get(ip)
                .is_some_and(|(at, key)| *at == entry.timestamp && *key == entry.key)
        });
        let support = match &entry.event {
            SourceEvent::Emnify { event, .. } => event.support_username(),
            SourceEvent::Idaas(_) => None,
        };
        entry.highlight = highlight(&HighlightFacts {
            event_type: entry.event_type,
            description: &entry.description,
            failed_login: entry.failed_login,
            new_ip,
            support_username: support.as_deref(),
        });
        entry.is_new = !memory.seen.contains_key(&entry.key);
    }
    entries.reverse();
    entries
}

/// Counts for a badge: how many entries are new, and how many of those stand out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct UnreadCounts {
    /// Entries in the timeline.
    pub total: usize,
    /// New entries.
    pub new: usize,
    /// New entries with a highlight.
    pub new_highlighted: usize,
    /// New emnify entries.
    pub new_emnify: usize,
    /// New IDaaS entries.
    pub new_idaas: usize,
}

/// Counts new and highlighted entries.
pub fn unread_counts(entries: &[TimelineEntry]) -> UnreadCounts {
    let mut counts = UnreadCounts {
        total: entries.len(),
        ..UnreadCounts::default()
    };
    for entry in entries.iter().filter(|e| e.is_new) {
        counts.new += 1;
        if entry.highlight.is_some() {
            counts.new_highlighted += 1;
        }
        match entry.source {
            Source::Emnify => counts.new_emnify += 1,
            Source::Idaas => counts.new_idaas += 1,
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::model::Lookup;

    fn profile() -> ProfileId {
        "6f1c1f4e-52a4-4c64-9d87-2f43e6b9d2a1".parse().unwrap()
    }

    fn event(id: u64, at: u64, event_type: u64, description: &str) -> EmnifyEvent {
        EmnifyEvent {
            id,
            timestamp: at,
            alert: false,
            description: description.to_owned(),
            event_type: Lookup {
                id: event_type,
                description: format!("type {event_type}"),
            },
            event_source: None,
            event_severity: None,
            organisation: None,
            user: None,
            detail: None,
        }
    }

    fn failed(id: u64, at: u64, ip: &str) -> (EmnifyEvent, Scope) {
        (
            event(
                id,
                at,
                6,
                &format!(
                    "Failed authentication request from 'u', Reason: Invalid password from IP {ip}"
                ),
            ),
            Scope::Own,
        )
    }

    fn idaas(id: &str, at: u64, outcome: IdaasOutcome, ip: &str) -> IdaasEvent {
        IdaasEvent {
            id: id.to_owned(),
            outcome,
            event_time: at,
            subject: None,
            subject_name: Some("john".into()),
            resource_name: None,
            source_ip: Some(ip.to_owned()),
        }
    }

    fn keys(entries: &[TimelineEntry]) -> Vec<String> {
        entries.iter().map(|e| e.key.to_string()).collect()
    }

    #[test]
    fn newest_first_once_each_and_all_new_at_first() {
        let memory = EventMemory::new(profile());
        let mut workspace_copy = failed(1, 100, "10.0.0.1");
        workspace_copy.1 = Scope::Workspace;
        let entries = build_timeline(
            vec![
                failed(1, 100, "10.0.0.1"),
                workspace_copy,
                failed(3, 300, "10.0.0.1"),
                (event(2, 200, 14, "x"), Scope::Workspace),
            ],
            vec![idaas("a", 250, IdaasOutcome::Succeeded, "10.0.0.2")],
            &memory,
        );
        assert_eq!(
            keys(&entries),
            ["emnify:3", "idaas:a", "emnify:2", "emnify:1"]
        );
        assert!(entries.iter().all(|e| e.is_new));
        assert!(matches!(
            entries[3].event,
            SourceEvent::Emnify {
                scope: Scope::Own,
                ..
            }
        ));
        assert_eq!(entries[1].source, Source::Idaas);
        let counts = unread_counts(&entries);
        assert_eq!((counts.total, counts.new, counts.new_idaas), (4, 4, 1));
    }

    #[test]
    fn new_marks_follow_the_memory() {
        let mut memory = EventMemory::new(profile());
        let first = build_timeline(vec![failed(1, 100, "10.0.0.1")], vec![], &memory);
        memory.remember(&first, 1_000, &[]);
        let second = build_timeline(
            vec![failed(1, 100, "10.0.0.1"), failed(2, 200, "10.0.0.9")],
            vec![],
            &memory,
        );
        assert_eq!(keys(&second), ["emnify:2", "emnify:1"]);
        assert!(second[0].is_new);
        assert!(!second[1].is_new);
        assert_eq!(unread_counts(&second).new, 1);
        assert_eq!(memory.last_look, Some(1_000));
    }

    #[test]
    fn a_new_ip_is_highlighted_on_its_first_failure_only_and_stays_so() {
        let mut memory = EventMemory::new(profile());
        let list = vec![
            failed(1, 100, "10.0.0.1"),
            failed(2, 200, "10.0.0.1"),
            failed(3, 300, "10.0.0.7"),
        ];
        let entries = build_timeline(list.clone(), vec![], &memory);
        let highlighted: Vec<(String, bool)> = entries
            .iter()
            .map(|e| (e.key.to_string(), e.highlight.is_some()))
            .collect();
        assert_eq!(
            highlighted,
            [
                ("emnify:3".to_owned(), true),
                ("emnify:2".to_owned(), false),
                ("emnify:1".to_owned(), true)
            ]
        );
        memory.remember(&entries, 1_000, &[]);
        // Later looks agree, even when only part of the history is listed.
        let again = build_timeline(list[1..].to_vec(), vec![], &memory);
        assert!(again[0].highlight.is_some());
        assert!(again[1].highlight.is_none());
    }

    #[test]
    fn an_address_known_from_a_success_is_not_new() {
        let memory = EventMemory::new(profile());
        let entries = build_timeline(
            vec![failed(2, 200, "10.0.0.2")],
            vec![
                idaas("ok", 100, IdaasOutcome::Succeeded, "10.0.0.2"),
                idaas("bad", 150, IdaasOutcome::Failed, "10.0.0.3"),
            ],
            &memory,
        );
        let by_key: BTreeMap<String, Option<Highlight>> = entries
            .iter()
            .map(|e| (e.key.to_string(), e.highlight.clone()))
            .collect();
        assert_eq!(by_key["emnify:2"], None);
        assert_eq!(by_key["idaas:ok"], None);
        assert_eq!(
            by_key["idaas:bad"],
            Some(Highlight::FailedLoginFromNewIp {
                ip: "10.0.0.3".parse().unwrap()
            })
        );
    }

    #[test]
    fn memory_is_pruned_and_round_trips() {
        let mut memory = EventMemory::new(profile());
        let old = build_timeline(
            vec![failed(1, 100, "10.0.0.1")],
            vec![idaas("kept", 100, IdaasOutcome::Failed, "10.0.0.5")],
            &memory,
        );
        memory.remember(
            &old,
            100 + SEEN_RETENTION_SECONDS + 1,
            &[EventKey::Idaas("kept".into())],
        );
        assert_eq!(
            memory
                .seen
                .keys()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["idaas:kept"]
        );
        // Addresses are remembered longer than seen marks.
        assert_eq!(memory.first_seen_ips.len(), 2);
        let json = serde_json::to_string(&memory).unwrap();
        assert!(json.contains("\"idaas:kept\""), "{json}");
        let back: EventMemory = serde_json::from_str(&json).unwrap();
        assert_eq!(back, memory);
    }

    #[test]
    fn event_keys_parse_and_order() {
        assert_eq!("emnify:12".parse(), Ok(EventKey::Emnify(12)));
        assert_eq!("idaas:a:b".parse(), Ok(EventKey::Idaas("a:b".into())));
        assert!("emnify:x".parse::<EventKey>().is_err());
        assert!("other:1".parse::<EventKey>().is_err());
        assert!(EventKey::Emnify(9) < EventKey::Emnify(10));
    }
}
