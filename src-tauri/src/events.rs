//! Security-event and MFA-enrollment commands: the events panel's timeline with new and
//! highlighted entries, marking them read, IDaaS imports, and "Enable app-based MFA".

use std::collections::HashMap;
use std::sync::Mutex;

use emnify_auth_core::events::idaas::parse_idaas;
use emnify_auth_core::events::{EventQuery, EventsError, Source, TimelineEntry, load_timeline};
use emnify_auth_core::login::flow::{Clock, Login, LoginOptions, SystemClock};
use emnify_auth_core::login::profile::ProfileId;
use emnify_auth_core::mfa_enroll::{MfaError, enroll};
use serde::Serialize;
use tauri::{AppHandle, State};

use crate::error::{CommandError, CommandResult};
use crate::state::AppState;
use crate::tray;

static CLOCK: SystemClock = SystemClock;

impl From<EventsError> for CommandError {
    fn from(err: EventsError) -> Self {
        match err {
            EventsError::Login(login) => login.into(),
            other => CommandError::new("events", other.to_string()),
        }
    }
}

impl From<MfaError> for CommandError {
    fn from(err: MfaError) -> Self {
        match err {
            MfaError::Login(login) => login.into(),
            MfaError::Vault(vault) => vault.into(),
            MfaError::Profile(profile) => profile.into(),
            other => CommandError::new("mfa", other.to_string()),
        }
    }
}

/// The timelines last shown, per profile, so "mark as read" marks exactly what was seen.
#[derive(Debug, Default)]
pub struct ShownEvents(Mutex<HashMap<ProfileId, Vec<TimelineEntry>>>);

/// One timeline entry as the panel shows it.
#[derive(Debug, Serialize)]
pub struct EventItem {
    key: String,
    source: &'static str,
    timestamp: u64,
    event_type: Option<u64>,
    title: String,
    description: String,
    user: Option<String>,
    ips: Vec<String>,
    is_new: bool,
    highlight: Option<String>,
}

/// A profile's timeline.
#[derive(Debug, Serialize)]
pub struct EventsView {
    entries: Vec<EventItem>,
    new: usize,
    new_highlighted: usize,
    /// Whether the workspace's events were readable (else only the user's own).
    workspace: bool,
    truncated: bool,
}

/// The timeline of a profile (`types`: emnify types to keep, empty for all; `since_days`:
/// how far back). Nothing is marked read here.
#[tauri::command]
pub async fn events(
    state: State<'_, AppState>,
    shown: State<'_, ShownEvents>,
    name: String,
    types: Vec<u64>,
    since_days: Option<u64>,
) -> CommandResult<EventsView> {
    let profile = state.vault.profile(&name)?;
    let id = profile.id;
    let mut login = Login::new(&state.vault, profile, &CLOCK)?;
    let query = EventQuery {
        types: (!types.is_empty()).then_some(types),
        since: since_days.map(|days| days * 24 * 60 * 60),
        own_only: false,
    };
    let report = load_timeline(
        &state.vault,
        &mut login,
        &query,
        CLOCK.now(),
        &LoginOptions::default(),
    )
    .await?;
    let entries = report
        .entries
        .iter()
        .map(|entry| EventItem {
            key: entry.key.to_string(),
            source: match entry.source {
                Source::Emnify => "emnify",
                Source::Idaas => "idaas",
            },
            timestamp: entry.timestamp,
            event_type: entry.event_type,
            title: entry.title.clone(),
            description: entry.description.clone(),
            user: entry.user.clone(),
            ips: entry.ips.iter().map(ToString::to_string).collect(),
            is_new: entry.is_new,
            highlight: entry.highlight.as_ref().map(|h| h.describe()),
        })
        .collect();
    shown
        .0
        .lock()
        .expect("shown events")
        .insert(id, report.entries);
    Ok(EventsView {
        entries,
        new: report.unread.new,
        new_highlighted: report.unread.new_highlighted,
        workspace: matches!(
            report.workspace,
            emnify_auth_core::events::WorkspaceAccess::Included
        ),
        truncated: report.truncated,
    })
}

/// Marks the timeline last shown for a profile as read.
#[tauri::command]
pub fn mark_events_read(
    state: State<'_, AppState>,
    shown: State<'_, ShownEvents>,
    name: String,
) -> CommandResult<()> {
    let profile = state.vault.profile(&name)?;
    let entries = shown
        .0
        .lock()
        .expect("shown events")
        .remove(&profile.id)
        .unwrap_or_default();
    state
        .vault
        .remember_events(profile.id, &entries, CLOCK.now())
        .map_err(emnify_auth_core::vault::VaultError::from)?;
    Ok(())
}

/// What an IDaaS import did.
#[derive(Debug, Serialize)]
pub struct IdaasReport {
    added: usize,
    already_known: usize,
    /// "line N: what is wrong" for payloads that were skipped.
    bad: Vec<String>,
}

/// Imports IDaaS webhook payloads (JSON or JSON lines, the file's text); their tokens are
/// never kept.
#[tauri::command]
pub fn import_idaas(state: State<'_, AppState>, text: String) -> CommandResult<IdaasReport> {
    let file = parse_idaas(&text);
    let bad = file
        .bad
        .iter()
        .map(|b| format!("line {}: {}", b.line, b.reason))
        .collect();
    let report = state
        .vault
        .import_idaas_events(file.events)
        .map_err(emnify_auth_core::vault::VaultError::from)?;
    Ok(IdaasReport {
        added: report.added,
        already_known: report.already_known,
        bad,
    })
}

/// What enabling MFA did.
#[derive(Debug, Serialize)]
pub struct EnrollView {
    key_id: u64,
    account: String,
}

/// Creates a TOTP MFA key for the profile's user, stores its secret straight in the vault
/// (linked to the profile) and activates it; the secret never reaches the UI.
#[tauri::command]
pub async fn enable_mfa(
    app: AppHandle,
    state: State<'_, AppState>,
    name: String,
) -> CommandResult<EnrollView> {
    let profile = state.vault.profile(&name)?;
    let mut login = Login::new(&state.vault, profile, &CLOCK)?;
    let enrollment = enroll(&state.vault, &mut login, &CLOCK, &LoginOptions::default()).await?;
    tray::refresh(&app);
    Ok(EnrollView {
        key_id: enrollment.key_id,
        account: enrollment.account.display_name(),
    })
}
