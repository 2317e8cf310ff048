//! `backup export` (an Aegis vault file, encrypted unless a plain file is explicitly
//! chosen) and `backup import` (Aegis, 2FAS and otpauth:// list files, previewed with
//! `--dry-run`).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use emnify_auth_core::Vault;
use emnify_auth_core::backup::{BackupProtection, export_backup, write_backup};
use emnify_auth_core::importers::{self, MAX_FILE_BYTES};
use emnify_auth_core::store_choice::VaultStore;
use secrecy::SecretString;
use serde_json::json;

use crate::prompt;
use crate::vault_commands::print_json;

/// `backup export FILE` / `backup import FILE`.
#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Write every account to an encrypted backup (Aegis vault format: opens in Aegis,
    /// GNOME Authenticator and OTPClient); asks for a password twice.
    Export(ExportBackupArgs),
    /// Add the accounts of a backup or export file: Aegis (.json, plain or encrypted), 2FAS
    /// (.2fas, plain or encrypted) or a text file of otpauth:// links.
    Import(ImportBackupArgs),
}

#[derive(Debug, Args)]
pub struct ExportBackupArgs {
    /// The backup file to write (never overwritten unless --force).
    pub file: PathBuf,
    /// Read the password from stdin (once) instead of asking twice on the terminal.
    #[arg(long, conflicts_with = "plain")]
    pub password_stdin: bool,
    /// Write the keys unencrypted: anyone who gets the file can read every key.
    #[arg(long)]
    pub plain: bool,
    /// Confirm --plain without a question (scripts).
    #[arg(long, requires = "plain")]
    pub yes: bool,
    /// Replace FILE if it exists.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct ImportBackupArgs {
    /// The file to read.
    pub file: PathBuf,
    /// Read the file's password from stdin (once) when it is encrypted.
    #[arg(long)]
    pub password_stdin: bool,
    /// Only show what would be imported, skipped and why.
    #[arg(long)]
    pub dry_run: bool,
    /// Machine-readable report.
    #[arg(long)]
    pub json: bool,
}

/// Runs a `backup` command.
pub fn run(vault: &Vault<VaultStore>, command: BackupCommand) -> Result<()> {
    match command {
        BackupCommand::Export(args) => export(vault, args),
        BackupCommand::Import(args) => import(vault, args),
    }
}

fn read_password(password_stdin: bool, question: &str) -> Result<SecretString> {
    if password_stdin {
        let line = prompt::read_stdin_line("password")?;
        return Ok(SecretString::from(line.as_str().to_owned()));
    }
    if !std::io::stdin().is_terminal() {
        bail!("a password is needed, but there is no terminal to ask: add --password-stdin");
    }
    let answer = rpassword::prompt_password(question).context("cannot read the password")?;
    Ok(SecretString::from(answer))
}

fn export(vault: &Vault<VaultStore>, args: ExportBackupArgs) -> Result<()> {
    let backup = if args.plain {
        eprintln!(
            "warning: a plain backup holds every key unencrypted; anyone who gets {} can make your codes",
            args.file.display()
        );
        if !args.yes && !prompt::confirm("Write the keys in plain text?", "--yes")? {
            bail!("nothing was written");
        }
        export_backup(vault, BackupProtection::PlainText)?
    } else {
        let password = if args.password_stdin {
            read_password(true, "")?
        } else {
            let first = read_password(false, "Backup password (8 characters or more): ")?;
            let second = read_password(false, "The same password again: ")?;
            use secrecy::ExposeSecret;
            if first.expose_secret() != second.expose_secret() {
                bail!("the two passwords differ; nothing was written, try again");
            }
            first
        };
        export_backup(vault, BackupProtection::Password(&password))?
    };
    write_backup(&args.file, &backup, args.force)?;
    println!(
        "wrote {} account(s) to {}{}",
        backup.accounts,
        args.file.display(),
        if args.plain { " (not encrypted)" } else { "" }
    );
    Ok(())
}

fn import(vault: &Vault<VaultStore>, args: ImportBackupArgs) -> Result<()> {
    let size = std::fs::metadata(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?
        .len();
    if size > MAX_FILE_BYTES as u64 {
        bail!(
            "{} is {size} bytes, too large for an authenticator export: choose the export file itself",
            args.file.display()
        );
    }
    let bytes = zeroize::Zeroizing::new(
        std::fs::read(&args.file)
            .with_context(|| format!("cannot read {}", args.file.display()))?,
    );
    let password = if importers::needs_password(&bytes) {
        Some(read_password(
            args.password_stdin,
            &format!("Password of {}: ", args.file.display()),
        )?)
    } else {
        None
    };
    let found = importers::import_file(&bytes, password.as_ref())
        .with_context(|| format!("{}", args.file.display()))?;
    let skipped: Vec<_> = found
        .set
        .skipped
        .iter()
        .map(|s| json!({"name": s.name, "reason": s.reason}))
        .collect();
    if args.dry_run {
        let holders = vault.holders_of(&found.set.accounts)?;
        let entries: Vec<_> = found
            .set
            .accounts
            .iter()
            .zip(&holders)
            .map(|(candidate, holder)| {
                json!({
                    "name": candidate.display_name(),
                    "already_in_vault_as": holder.as_ref().map(|a| a.display_name()),
                })
            })
            .collect();
        if args.json {
            print_json(&json!({"format": found.format, "accounts": entries, "skipped": skipped}));
        } else {
            println!("{} file with {} account(s):", found.format, entries.len());
            for (candidate, holder) in found.set.accounts.iter().zip(&holders) {
                match holder {
                    Some(existing) => println!(
                        "  {} (already in the vault as {}: would be skipped)",
                        candidate.display_name(),
                        existing.display_name()
                    ),
                    None => println!("  {}", candidate.display_name()),
                }
            }
            for entry in &found.set.skipped {
                println!("  skipped {}: {}", entry.name, entry.reason);
            }
        }
        return Ok(());
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let report = vault.add_all(found.set.accounts, now)?;
    if args.json {
        print_json(&json!({
            "format": found.format,
            "imported": report.added.iter().map(|a| a.display_name()).collect::<Vec<_>>(),
            "duplicates": report.duplicates.iter().map(|d| json!({
                "name": d.candidate, "existing": d.existing.display_name(),
            })).collect::<Vec<_>>(),
            "skipped": skipped,
        }));
        return Ok(());
    }
    println!(
        "imported {} account(s) from the {} file; {} already in the vault (skipped); {} skipped as unusable",
        report.added.len(),
        found.format,
        report.duplicates.len(),
        found.set.skipped.len()
    );
    for account in &report.added {
        println!("  imported {}", account.display_name());
    }
    for duplicate in &report.duplicates {
        println!(
            "  skipped {}: already in the vault as {}",
            duplicate.candidate,
            duplicate.existing.display_name()
        );
    }
    for entry in &found.set.skipped {
        println!("  skipped {}: {}", entry.name, entry.reason);
    }
    Ok(())
}
