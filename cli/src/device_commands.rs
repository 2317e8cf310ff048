//! `devices …`: this installation's and the other trusted devices of a login profile,
//! their expiry, the sync with the emnify API, and revoking one.

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use emnify_auth_core::Vault;
use emnify_auth_core::login::devices::{DeviceSession, DeviceTarget};
use emnify_auth_core::login::flow::{Clock, LoginError, LoginOptions, SystemClock, format_utc};
use emnify_auth_core::settings::{DEFAULT_DEVICE_WARNING_DAYS, MAX_DEVICE_WARNING_DAYS};
use emnify_auth_core::store_choice::VaultStore;
use emnify_auth_core::trusted_devices::{
    DeviceError, DeviceList, DeviceView, SyncReport, TrustState,
};
use serde_json::json;

use crate::prompt;

type CliVault = Vault<VaultStore>;

/// `devices NAME` or `devices list|sync|revoke|expiring|warn-days …`.
#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    flatten_help = true
)]
pub struct DevicesArgs {
    #[command(subcommand)]
    pub command: Option<DevicesCommand>,
    #[command(flatten)]
    pub list: ListArgs,
}

#[derive(Debug, Subcommand)]
pub enum DevicesCommand {
    /// The profile's trusted devices as last recorded (the same as `devices NAME`; use
    /// this form for a profile named like a subcommand).
    List(ListArgs),
    /// Fetch the API's trusted-device list: find this installation's id, record the
    /// devices trusted elsewhere, mark the ones gone as revoked.
    Sync(SyncArgs),
    /// Revoke a trusted device at the API (ID from `devices NAME`, or `this`).
    Revoke(RevokeArgs),
    /// Devices of all profiles that lapse within the warning period.
    Expiring(ExpiringArgs),
    /// Show or set how many days before a trust lapses it counts as expiring.
    WarnDays(WarnDaysArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Login profile.
    #[arg(required = true)]
    pub name: Option<String>,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
    /// Count devices as expiring this many days before they lapse (overrides the stored setting).
    #[arg(long, value_name = "DAYS", value_parser = warn_days_parser())]
    pub warn_days: Option<u32>,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Login profile.
    pub name: String,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
    /// Count devices as expiring this many days before they lapse (overrides the stored setting).
    #[arg(long, value_name = "DAYS", value_parser = warn_days_parser())]
    pub warn_days: Option<u32>,
    /// Log in even though a failure would lock the account.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// Login profile.
    pub name: String,
    /// The device's id (see `devices NAME`), or `this` for this installation.
    #[arg(value_name = "ID")]
    pub target: DeviceTarget,
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Log in even though a failure would lock the account.
    #[arg(long)]
    pub force: bool,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExpiringArgs {
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
    /// Count devices as expiring this many days before they lapse (overrides the stored setting).
    #[arg(long, value_name = "DAYS", value_parser = warn_days_parser())]
    pub warn_days: Option<u32>,
}

#[derive(Debug, Args)]
pub struct WarnDaysArgs {
    /// New warning period in days (0 to 90); shows the current one when omitted.
    #[arg(value_parser = warn_days_parser(), conflicts_with = "default")]
    pub days: Option<u32>,
    /// Go back to the default (7 days).
    #[arg(long)]
    pub default: bool,
}

fn warn_days_parser() -> clap::builder::RangedI64ValueParser<u32> {
    clap::value_parser!(u32).range(0..=i64::from(MAX_DEVICE_WARNING_DAYS))
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Runs a `devices` command.
pub fn run(vault: &CliVault, args: DevicesArgs) -> Result<()> {
    match args.command {
        None => list(vault, args.list),
        Some(DevicesCommand::List(list_args)) => list(vault, list_args),
        Some(DevicesCommand::Sync(sync_args)) => sync(vault, sync_args),
        Some(DevicesCommand::Revoke(revoke_args)) => revoke(vault, revoke_args),
        Some(DevicesCommand::Expiring(expiring_args)) => expiring(vault, expiring_args),
        Some(DevicesCommand::WarnDays(warn_args)) => warn_days(vault, warn_args),
    }
}

/// A login that needs the user becomes an error that says how to provide it.
fn explain(err: DeviceError, profile: &str) -> anyhow::Error {
    match err {
        DeviceError::Login(LoginError::NeedsUser { reason, .. }) => anyhow::anyhow!(
            "cannot reach the trusted devices of '{profile}' without logging in, and that needs you: {reason}. Run `emnify-auth login {profile}` first, then try again"
        ),
        other => other.into(),
    }
}

fn list(vault: &CliVault, args: ListArgs) -> Result<()> {
    let name = args.name.unwrap_or_default();
    let list = vault.device_list(&name, SystemClock.now(), args.warn_days)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&list)?);
    } else {
        print_table(&list);
    }
    Ok(())
}

fn describe(device: &DeviceView) -> String {
    if device.this_installation {
        format!("{} (this installation)", device.describe())
    } else {
        device.describe()
    }
}

fn date(unix: u64) -> String {
    format_utc(unix)[..10].to_owned()
}

fn print_table(list: &DeviceList) {
    if list.devices.is_empty() {
        println!(
            "no trusted devices recorded for '{}': a login with --trust-device records this installation, and `emnify-auth devices sync {}` fetches the devices trusted elsewhere",
            list.profile, list.profile
        );
        return;
    }
    let rows: Vec<[String; 6]> = list
        .devices
        .iter()
        .map(|d| {
            [
                d.id.map_or_else(|| "-".to_owned(), |id| id.to_string()),
                describe(d),
                date(d.trusted_at),
                date(d.expires_at),
                if d.state == TrustState::Revoked {
                    "-".to_owned()
                } else {
                    d.days_left.max(0).to_string()
                },
                d.state.to_string(),
            ]
        })
        .collect();
    let header = [
        "ID",
        "DEVICE",
        "TRUSTED SINCE",
        "EXPIRES",
        "DAYS LEFT",
        "STATE",
    ];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 6]| {
        let text: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        println!("{}", text.join("  ").trim_end());
    };
    line(header);
    for row in &rows {
        line(row.each_ref().map(String::as_str));
    }
    match list.last_sync {
        Some(at) => println!(
            "last synced with the emnify API {} UTC; expiring = {} day(s) or less left",
            format_utc(at),
            list.warn_days
        ),
        None => println!(
            "not synced yet: `emnify-auth devices sync {}` finds this installation's id and the devices trusted elsewhere",
            list.profile
        ),
    }
}

fn sync(vault: &CliVault, args: SyncArgs) -> Result<()> {
    let profile = vault.profile(&args.name)?;
    let clock = SystemClock;
    let options = LoginOptions {
        confirm_risky: args.force,
    };
    let name = profile.name.clone();
    let report = runtime()?.block_on(async {
        let mut session = DeviceSession::new(vault, profile, &clock)?;
        session.sync(&options).await
    });
    let report = report.map_err(|err| explain(err, &name))?;
    let list = vault.device_list(&name, clock.now(), args.warn_days)?;
    if args.json {
        let value = json!({"sync": report, "list": list});
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    print_sync_report(&name, &report);
    print_table(&list);
    Ok(())
}

fn ids(list: &[u64]) -> String {
    let text: Vec<String> = list.iter().map(u64::to_string).collect();
    text.join(", ")
}

fn print_sync_report(name: &str, report: &SyncReport) {
    println!(
        "synced '{name}': the emnify API lists {} trusted device(s)",
        report.listed
    );
    if let Some(id) = report.this_installation {
        println!("this installation is device {id}");
    }
    if report.this_installation_revoked {
        println!(
            "this installation's trust is no longer at the emnify API (revoked elsewhere): the next login asks for an MFA code"
        );
    }
    if !report.new_elsewhere.is_empty() {
        println!("new, trusted elsewhere: {}", ids(&report.new_elsewhere));
    }
    if !report.revoked_elsewhere.is_empty() {
        println!(
            "gone from the emnify API, marked revoked: {}",
            ids(&report.revoked_elsewhere)
        );
    }
}

fn revoke(vault: &CliVault, args: RevokeArgs) -> Result<()> {
    let profile = vault.profile(&args.name)?;
    let clock = SystemClock;
    let options = LoginOptions {
        confirm_risky: args.force,
    };
    let name = profile.name.clone();
    let runtime = runtime()?;
    let mut session = DeviceSession::new(vault, profile, &clock)?;
    let device = runtime
        .block_on(session.resolve(args.target, &options))
        .map_err(|err| explain(err, &name))?;
    let id = device.id.unwrap_or_default();
    let question = if device.this_installation {
        format!(
            "Revoke this installation (device {id}, {}) as a trusted device of '{name}'? Its next login asks for an MFA code again.",
            device.describe()
        )
    } else {
        format!(
            "Revoke device {id} ({}) of '{name}'? It will have to answer MFA at its next login.",
            device.describe()
        )
    };
    if !args.yes && !prompt::confirm(&question, "--yes")? {
        bail!("not revoked");
    }
    let report = runtime
        .block_on(session.revoke(&device, &options))
        .map_err(|err| explain(err, &name))?;
    if args.json {
        let value = json!({
            "profile": name,
            "id": id,
            "this_installation": device.this_installation,
            "already_gone": report.already_gone,
            "device": report.device,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    let what = if device.this_installation {
        format!("this installation (device {id}, {})", device.describe())
    } else {
        format!("device {id} ({})", device.describe())
    };
    if report.already_gone {
        println!("{what} of '{name}' was already gone at the emnify API; marked revoked here");
    } else {
        println!("revoked {what} of '{name}' at the emnify API");
    }
    if device.this_installation {
        println!("the next login of '{name}' asks for an MFA code again");
    }
    Ok(())
}

fn expiring(vault: &CliVault, args: ExpiringArgs) -> Result<()> {
    let now = SystemClock.now();
    let devices = vault.expiring_devices(now, args.warn_days)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&devices)?);
        return Ok(());
    }
    if devices.is_empty() {
        println!("no trusted device lapses within the warning period");
    }
    for device in &devices {
        println!(
            "{}: {} lapses in {} day(s), on {} UTC",
            device.profile_name,
            describe(device),
            device.days_left,
            format_utc(device.expires_at)
        );
    }
    Ok(())
}

fn warn_days(vault: &CliVault, args: WarnDaysArgs) -> Result<()> {
    let days = if args.default || args.days.is_some() {
        vault.set_device_warning_days(args.days)?
    } else {
        vault.settings()?.device_warning_days()
    };
    let note = if days == DEFAULT_DEVICE_WARNING_DAYS {
        " (the default)"
    } else {
        ""
    };
    println!("trusted devices count as expiring {days} day(s) before they lapse{note}");
    Ok(())
}
