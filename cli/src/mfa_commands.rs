//! `mfa enroll NAME`, `mfa list NAME`, `mfa remove NAME KEY_ID`: the MFA keys of a
//! profile's emnify user. The enrolled key's secret goes straight into the keyring; it is
//! never printed.

use std::io::IsTerminal;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use emnify_auth_core::Vault;
use emnify_auth_core::login::flow::{Login, LoginOptions, SystemClock};
use emnify_auth_core::login::profile::{LoginMethod, LoginProfile};
use emnify_auth_core::mfa_enroll::{self, KeyRemoval, Ownership};
use emnify_auth_core::store_choice::VaultStore;
use serde_json::json;

use crate::prompt;

type CliVault = Vault<VaultStore>;

#[derive(Debug, Subcommand)]
pub enum MfaCommand {
    /// Create a TOTP MFA key for the profile's user, store its secret in the vault as an
    /// account linked to the profile, and activate it (all or nothing).
    Enroll(MfaEnrollArgs),
    /// List the MFA keys of the profile's user (never their secrets).
    List(MfaListArgs),
    /// Delete an MFA key of the profile's user (MFA is off when no active key is left).
    Remove(MfaRemoveArgs),
}

#[derive(Debug, Args)]
pub struct MfaEnrollArgs {
    /// Profile name.
    pub name: String,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct MfaListArgs {
    /// Profile name.
    pub name: String,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct MfaRemoveArgs {
    /// Profile name.
    pub name: String,
    /// The key's id (see `mfa list NAME`).
    pub key_id: u64,
    /// Do not ask before deleting the key.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Also remove the vault account that held the key's secret (and unlink it).
    #[arg(long, conflicts_with = "keep_account")]
    pub remove_account: bool,
    /// Keep that vault account without asking.
    #[arg(long)]
    pub keep_account: bool,
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn username(profile: &LoginProfile) -> &str {
    match &profile.method {
        LoginMethod::Credentials { username, .. } => username,
        LoginMethod::ApplicationToken => "(application token)",
    }
}

/// `mfa …`
pub fn run(vault: &CliVault, command: MfaCommand) -> Result<()> {
    match command {
        MfaCommand::Enroll(args) => enroll(vault, args),
        MfaCommand::List(args) => list(vault, args),
        MfaCommand::Remove(args) => remove(vault, args),
    }
}

fn enroll(vault: &CliVault, args: MfaEnrollArgs) -> Result<()> {
    let profile = vault.profile(&args.name)?;
    let clock = SystemClock;
    let enrollment = runtime()?.block_on(async {
        let mut login = Login::new(vault, profile.clone(), &clock)?;
        mfa_enroll::enroll(vault, &mut login, &clock, &LoginOptions::default()).await
    })?;
    let replaced = enrollment
        .replaced_link
        .and_then(|id| vault.account(id).ok())
        .map(|a| a.display_name());
    if args.json {
        let out = json!({
            "profile": profile.name,
            "key_id": enrollment.key_id,
            "account": {
                "id": enrollment.account.id,
                "issuer": enrollment.account.issuer,
                "label": enrollment.account.label,
            },
            "replaced_link": replaced,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!(
        "enrolled MFA key {} for {} ('{}'): the key is active, its secret is in the vault as '{}', and that account now answers MFA for '{}'",
        enrollment.key_id,
        username(&profile),
        profile.name,
        enrollment.account.display_name(),
        profile.name
    );
    if let Some(previous) = replaced {
        println!(
            "'{}' was linked to '{previous}' before; that account stays in the vault",
            profile.name
        );
    }
    println!(
        "logins of '{}' now ask for the MFA code; the server accepts each code once, so a login in the next 30 s waits for a fresh one",
        profile.name
    );
    Ok(())
}

fn list(vault: &CliVault, args: MfaListArgs) -> Result<()> {
    let profile = vault.profile(&args.name)?;
    let clock = SystemClock;
    let keys = runtime()?.block_on(async {
        let mut login = Login::new(vault, profile.clone(), &clock)?;
        mfa_enroll::list_keys(&mut login, &LoginOptions::default()).await
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&keys)?);
        return Ok(());
    }
    if keys.is_empty() {
        println!(
            "{} has no MFA key: add one with `emnify-auth mfa enroll {}`",
            username(&profile),
            profile.name
        );
    }
    for key in &keys {
        println!(
            "{}  {}  {}  created {}{}",
            key.id,
            key.status,
            key.key_type,
            key.creation_date.as_deref().unwrap_or("?"),
            key.activation_date
                .as_deref()
                .map(|d| format!(", activated {d}"))
                .unwrap_or_default()
        );
    }
    Ok(())
}

fn remove(vault: &CliVault, args: MfaRemoveArgs) -> Result<()> {
    let profile = vault.profile(&args.name)?;
    let question = format!(
        "Delete MFA key {} of {} ('{}')? Without an active key, logins need no MFA code",
        args.key_id,
        username(&profile),
        profile.name
    );
    if !args.yes && !prompt::confirm(&question, "--yes")? {
        bail!("not deleted");
    }
    let clock = SystemClock;
    let removal = runtime()?.block_on(async {
        let mut login = Login::new(vault, profile.clone(), &clock)?;
        mfa_enroll::remove_key(vault, &mut login, args.key_id, &LoginOptions::default()).await
    })?;
    println!(
        "deleted MFA key {} of {} ('{}')",
        removal.key_id,
        username(&profile),
        profile.name
    );
    account_after_removal(vault, &profile, &removal, &args)
}

/// Says whether a vault account held the deleted key's secret, and removes it when asked
/// (`--remove-account`), when the person at the terminal agrees, or never (`--keep-account`).
fn account_after_removal(
    vault: &CliVault,
    profile: &LoginProfile,
    removal: &KeyRemoval,
    args: &MfaRemoveArgs,
) -> Result<()> {
    let Some((account, ownership)) = &removal.account else {
        return Ok(());
    };
    let name = account.display_name();
    let sentence = match ownership {
        Ownership::Enrolled => format!(
            "the vault account '{name}' held this key's secret (it was enrolled with `mfa enroll`); its codes are useless now"
        ),
        Ownership::Likely => format!(
            "the vault account '{name}', linked to '{}', most likely held this key's secret (no active MFA key is left); its codes are useless now",
            profile.name
        ),
        Ownership::Unknown => format!(
            "the vault account '{name}', linked to '{}', may have held this key's secret (the remaining keys could not be read)",
            profile.name
        ),
        Ownership::OtherKeyActive => {
            println!(
                "the vault account '{name}', linked to '{}', probably answers the user's other active MFA key: it was kept",
                profile.name
            );
            return Ok(());
        }
    };
    println!("{sentence}");
    let remove = if args.remove_account {
        true
    } else if args.keep_account {
        false
    } else if std::io::stdin().is_terminal() {
        prompt::confirm(
            &format!("Remove the account '{name}' and its key from the vault?"),
            "--remove-account",
        )?
    } else {
        false
    };
    if remove {
        mfa_enroll::forget_account(vault, profile.id, account.id)?;
        println!("removed the account '{name}' from the vault");
    } else {
        println!(
            "kept the account '{name}': remove it with `emnify-auth remove '{name}' --yes` (or pass --remove-account next time)"
        );
    }
    Ok(())
}
