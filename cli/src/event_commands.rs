//! `events NAME …` (a profile's security timeline) and `events import-idaas FILE`.
//!
//! Grammar: `events` takes either a profile name or the subcommand `import-idaas`; clap
//! dispatches on the first word, so `import-idaas` cannot be used as a profile name here.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use emnify_auth_core::Vault;
use emnify_auth_core::events::idaas::parse_idaas;
use emnify_auth_core::events::time::{format_iso8601, parse_since};
use emnify_auth_core::events::timeline::{Scope, SourceEvent};
use emnify_auth_core::events::{
    EventQuery, EventsReport, TimelineEntry, WorkspaceAccess, load_timeline,
};
use emnify_auth_core::login::flow::{Clock, Login, LoginOptions, SystemClock, format_utc};
use emnify_auth_core::store_choice::VaultStore;
use serde_json::json;

type CliVault = Vault<VaultStore>;

/// Largest IDaaS payload file read.
const MAX_IDAAS_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// `events NAME [--since 24h] [--type 6,14] [--new] [--json]`, or `events import-idaas FILE`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct EventsArgs {
    #[command(subcommand)]
    pub command: Option<EventsCommand>,
    /// Profile name.
    #[arg(required = true)]
    pub name: Option<String>,
    /// Only events of the last SPAN: 30m, 24h, 7d (emnify keeps events for 30 days).
    #[arg(long, value_name = "SPAN")]
    pub since: Option<String>,
    /// Only these emnify event types, comma-separated: 6 user authentication failed, 7
    /// application authentication failed, 13 support access, 14 MFA (leaves IDaaS events out).
    #[arg(long = "type", value_name = "TYPES", value_delimiter = ',')]
    pub types: Vec<u64>,
    /// Show only events not shown before.
    #[arg(long)]
    pub new: bool,
    /// Only the user's own events, not the workspace's.
    #[arg(long)]
    pub own: bool,
    /// Do not mark the listed events as seen.
    #[arg(long)]
    pub keep_unread: bool,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Import IDaaS webhook payloads (authentication.succeeded/failed) from a JSON file
    /// (one object or an array) or a JSON-lines file; tokens in them are never stored.
    ImportIdaas(ImportIdaasArgs),
}

#[derive(Debug, Args)]
pub struct ImportIdaasArgs {
    /// The payload file.
    pub file: PathBuf,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// `events …`
pub fn run(vault: &CliVault, args: EventsArgs) -> Result<()> {
    match args.command {
        Some(EventsCommand::ImportIdaas(import)) => import_idaas(vault, import),
        None => list(vault, args),
    }
}

fn list(vault: &CliVault, args: EventsArgs) -> Result<()> {
    let name = args.name.as_deref().unwrap_or_default();
    let since = args.since.as_deref().map(parse_since).transpose()?;
    let query = EventQuery {
        types: (!args.types.is_empty()).then(|| args.types.clone()),
        since,
        own_only: args.own,
    };
    emnify_auth_core::events::check_query(&query)?;
    let profile = vault.profile(name)?;
    let clock = SystemClock;
    let now = clock.now();
    let report = runtime()?.block_on(async {
        let mut login = Login::new(vault, profile.clone(), &clock)?;
        load_timeline(vault, &mut login, &query, now, &LoginOptions::default()).await
    })?;
    let shown: Vec<&TimelineEntry> = report
        .entries
        .iter()
        .filter(|e| !args.new || e.is_new)
        .collect();
    if args.json {
        print_json(&profile.name, &report, &shown);
    } else {
        print_text(
            &profile.name,
            &report,
            &shown,
            args.new,
            args.since.as_deref(),
        );
    }
    if !args.keep_unread {
        vault.remember_events(profile.id, &report.entries, now)?;
    }
    Ok(())
}

fn workspace_note(access: WorkspaceAccess) -> &'static str {
    match access {
        WorkspaceAccess::Included => "with the workspace's events",
        WorkspaceAccess::NotAllowed => {
            "your own events only (this user may not see the workspace's)"
        }
        WorkspaceAccess::NotRequested => "your own events only",
    }
}

fn print_text(
    profile: &str,
    report: &EventsReport,
    shown: &[&TimelineEntry],
    only_new: bool,
    since: Option<&str>,
) {
    let unread = report.unread;
    let span = since
        .map(|s| format!(" of the last {s}"))
        .unwrap_or_default();
    println!(
        "security events{span} for '{profile}', {}: {} listed, {} new ({} highlighted)",
        workspace_note(report.workspace),
        unread.total,
        unread.new,
        unread.new_highlighted
    );
    if shown.is_empty() {
        println!(
            "{}",
            if only_new {
                "no new events since the last look"
            } else {
                "no events"
            }
        );
    }
    for entry in shown {
        print_entry(entry);
    }
    if report.unreadable > 0 {
        eprintln!(
            "note: {} event(s) in the API's answer could not be read and were skipped",
            report.unreadable
        );
    }
    if report.truncated {
        eprintln!(
            "note: there are more events than were fetched: narrow the listing with --since or --type"
        );
    }
}

fn print_entry(entry: &TimelineEntry) {
    let marker = if entry.is_new { "NEW" } else { "   " };
    let mut extra = Vec::new();
    let source = match &entry.event {
        SourceEvent::Emnify { event, scope } => {
            if let Some(severity) = &event.event_severity {
                extra.push(severity.description.clone());
            }
            if *scope == Scope::Workspace {
                extra.push("workspace".to_owned());
            }
            format!("emnify #{}", event.id)
        }
        SourceEvent::Idaas(_) => "IDaaS".to_owned(),
    };
    if let Some(user) = &entry.user {
        extra.push(user.clone());
    }
    let extra = if extra.is_empty() {
        String::new()
    } else {
        format!(" ({})", extra.join(", "))
    };
    println!(
        "{marker} {} UTC  [{source}] {}{extra}",
        format_utc(entry.timestamp),
        entry.title
    );
    println!("      {}", entry.description);
    if !entry.ips.is_empty() {
        let ips: Vec<String> = entry.ips.iter().map(ToString::to_string).collect();
        println!("      IP {}", ips.join(", "));
    }
    if let Some(highlight) = &entry.highlight {
        println!("  !!  {}", highlight.describe());
    }
}

fn print_json(profile: &str, report: &EventsReport, shown: &[&TimelineEntry]) {
    let events: Vec<serde_json::Value> = shown
        .iter()
        .map(|entry| {
            let mut value = serde_json::to_value(entry).expect("a timeline entry serialises");
            value["time"] = json!(format_iso8601(entry.timestamp));
            value
        })
        .collect();
    let out = json!({
        "profile": profile,
        "workspace": report.workspace,
        "unread": report.unread,
        "unreadable": report.unreadable,
        "truncated": report.truncated,
        "events": events,
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&out).expect("JSON output always serialises")
    );
}

fn import_idaas(vault: &CliVault, args: ImportIdaasArgs) -> Result<()> {
    let file = &args.file;
    let size = std::fs::metadata(file)
        .with_context(|| format!("cannot read {}", file.display()))?
        .len();
    if size > MAX_IDAAS_FILE_BYTES {
        bail!(
            "{} is too large ({} MiB) for a webhook payload file: split it",
            file.display(),
            size / (1024 * 1024)
        );
    }
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let Ok(text) = String::from_utf8(bytes) else {
        bail!(
            "{} is not a UTF-8 text file: give the JSON or JSON-lines file the webhook wrote",
            file.display()
        );
    };
    let parsed = parse_idaas(&text);
    if parsed.events.is_empty() {
        let problems: Vec<String> = parsed
            .bad
            .iter()
            .map(|b| format!("line {}: {}", b.line, b.reason))
            .collect();
        let detail = if problems.is_empty() {
            String::new()
        } else {
            format!(" ({})", problems.join("; "))
        };
        bail!(
            "no IDaaS authentication events in {}{detail}: expected authentication.succeeded or authentication.failed payloads as JSON or JSON lines",
            file.display()
        );
    }
    let found = parsed.events.len();
    let import = vault.import_idaas_events(parsed.events)?;
    if args.json {
        let out = json!({
            "file": file.display().to_string(),
            "found": found,
            "added": import.added,
            "already_imported": import.already_known,
            "dropped_oldest": import.dropped,
            "other_types": parsed.other_types,
            "bad": parsed.bad,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&out).expect("JSON output always serialises")
        );
    } else {
        println!(
            "imported {} IDaaS authentication event(s) from {} ({} already imported); they appear in `emnify-auth events NAME`",
            import.added,
            file.display(),
            import.already_known
        );
    }
    for bad in &parsed.bad {
        eprintln!(
            "skipped line {} of {}: {}",
            bad.line,
            file.display(),
            bad.reason
        );
    }
    if parsed.other_types > 0 {
        eprintln!(
            "note: {} payload(s) of other event types were skipped",
            parsed.other_types
        );
    }
    if import.dropped > 0 {
        eprintln!(
            "note: the {} oldest IDaaS event(s) were dropped to keep the vault file small",
            import.dropped
        );
    }
    Ok(())
}
