//! The vault commands: add, list, code, rename, remove, export.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use emnify_auth_core::import::{self, ImportSet};
use emnify_auth_core::paths;
use emnify_auth_core::qr_encode::{qr_png, qr_terminal};
use emnify_auth_core::store_choice::VaultStore;
use emnify_auth_core::vault::AddReport;
use emnify_auth_core::{Account, Algorithm, OtpParams, Vault};
use serde_json::json;

use crate::args::{AddArgs, Cli, CodeArgs, Command, ExportArgs, RemoveArgs, RenameArgs};
use crate::{clock_commands, login_commands, prompt};

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Runs one command.
pub fn run(cli: Cli) -> Result<()> {
    let data_dir = match cli.data_dir {
        Some(dir) => dir,
        None => paths::data_dir()?,
    };
    let vault = crate::store_commands::open_vault(&data_dir, cli.vault_password_stdin)?;
    match cli.command {
        Command::Add(args) => add(&vault, args),
        Command::List(flag) => list(&vault, flag.json),
        Command::Code(args) => code(&vault, args),
        Command::Rename(args) => rename(&vault, args),
        Command::Remove(args) => remove(&vault, args),
        Command::Export(args) => export(&vault, args),
        Command::Profile(command) => login_commands::profile(&vault, command),
        Command::Login(args) => login_commands::login(&vault, args),
        Command::Token(args) => login_commands::token(&vault, args),
        Command::Logout(args) => login_commands::logout(&vault, args),
        Command::Whoami(args) => login_commands::whoami(&vault, args),
        Command::Workspace(command) => login_commands::workspace(&vault, command),
        Command::Events(args) => crate::event_commands::run(&vault, args),
        Command::Mfa(command) => crate::mfa_commands::run(&vault, command),
        Command::Devices(args) => crate::device_commands::run(&vault, args),
        Command::Backup(command) => crate::backup_commands::run(&vault, command),
        Command::Store(args) => crate::store_commands::run(&vault, &data_dir, args),
        Command::Clock(args) => crate::clock_commands::run(&vault, args),
    }
}

fn account_json(account: &Account) -> serde_json::Value {
    json!({
        "id": account.id,
        "issuer": account.issuer,
        "label": account.label,
        "algorithm": account.params.algorithm,
        "digits": account.params.digits,
        "period": account.params.period,
        "created_at": account.created_at,
        "pinned": account.pinned,
    })
}

fn collect_imports(args: &AddArgs) -> Result<ImportSet> {
    if let Some(key) = &args.secret {
        let key = if key == "-" {
            prompt::read_stdin_line("secret key")?
        } else {
            zeroize::Zeroizing::new(key.clone())
        };
        let algorithm: Algorithm = args.algorithm.parse()?;
        let params = OtpParams::new(algorithm, args.digits, args.period)?;
        let label = args.label.as_deref().unwrap_or_default();
        let account = import::from_secret(&key, &args.issuer, label, params)?;
        return Ok(ImportSet {
            accounts: vec![account],
            ..ImportSet::default()
        });
    }
    let mut set = ImportSet::default();
    let mut texts = Vec::new();
    for uri in &args.uri {
        if uri == "-" {
            texts.extend(prompt::read_stdin_lines("links")?);
        } else {
            texts.push(zeroize::Zeroizing::new(uri.clone()));
        }
    }
    let from_links = import::from_texts(texts.iter().map(|t| t.as_str()))?;
    set.merge(from_links);
    for file in &args.qr {
        let bytes = read_image(file)?;
        let found = import::from_image(&bytes).with_context(|| format!("{}", file.display()))?;
        set.merge(found);
    }
    Ok(set)
}

fn read_image(file: &Path) -> Result<Vec<u8>> {
    let size = std::fs::metadata(file)
        .with_context(|| format!("cannot read {}", file.display()))?
        .len();
    if size > emnify_auth_core::qr_decode::MAX_IMAGE_BYTES as u64 {
        bail!(
            "{} is too large ({} MiB) to be a QR image: crop the screenshot to the QR code",
            file.display(),
            size / (1024 * 1024)
        );
    }
    std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))
}

fn add(vault: &Vault<VaultStore>, args: AddArgs) -> Result<()> {
    let set = collect_imports(&args)?;
    let missing = set.missing_batch_codes();
    if set.accounts.is_empty() {
        let reasons: Vec<String> = set
            .skipped
            .iter()
            .map(|s| format!("{}: {}", s.name, s.reason))
            .collect();
        bail!("nothing to add: {}", reasons.join("; "));
    }
    let report = vault.add_all(set.accounts, now())?;
    if args.json {
        print_json(&json!({
            "added": report.added.iter().map(account_json).collect::<Vec<_>>(),
            "duplicates": report.duplicates.iter().map(|d| json!({
                "candidate": d.candidate,
                "existing": account_json(&d.existing),
            })).collect::<Vec<_>>(),
            "skipped": set.skipped.iter().map(|s| json!({"name": s.name, "reason": s.reason})).collect::<Vec<_>>(),
            "missing_batch_codes": missing,
        }));
        return Ok(());
    }
    print_add_report(&report);
    for skipped in &set.skipped {
        eprintln!("skipped {}: {}", skipped.name, skipped.reason);
    }
    if !missing.is_empty() {
        let list: Vec<String> = missing.iter().map(u32::to_string).collect();
        eprintln!(
            "note: this Google Authenticator export has more QR codes; code(s) {} were not given. Add them too.",
            list.join(", ")
        );
    }
    Ok(())
}

fn print_add_report(report: &AddReport) {
    for account in &report.added {
        println!("added {} ({})", account.display_name(), account.id);
    }
    for duplicate in &report.duplicates {
        println!(
            "already in the vault: {} (as {}), not added again",
            duplicate.candidate,
            duplicate.existing.display_name()
        );
    }
}

fn list(vault: &Vault<VaultStore>, json: bool) -> Result<()> {
    let accounts = vault.accounts()?;
    if json {
        print_json(&accounts.iter().map(account_json).collect::<Vec<_>>());
        return Ok(());
    }
    if accounts.is_empty() {
        println!("no accounts yet: add one with `emnify-auth add --uri 'otpauth://…'`");
        return Ok(());
    }
    let width = accounts
        .iter()
        .map(|a| a.display_name().chars().count())
        .max()
        .unwrap_or(0);
    for account in &accounts {
        println!(
            "{:<width$}  {} {} digits/{}s{}  {}",
            account.display_name(),
            account.params.algorithm,
            account.params.digits,
            account.params.period,
            if account.pinned { "  pinned" } else { "" },
            &account.id.to_string()[..8],
        );
    }
    Ok(())
}

fn code(vault: &Vault<VaultStore>, args: CodeArgs) -> Result<()> {
    let clock = vault.clock_status()?;
    let time = clock.code_time(now());
    let accounts = match &args.name {
        Some(name) => vec![vault.find(name)?],
        None => {
            let all = vault.accounts()?;
            if all.is_empty() {
                bail!("the vault is empty: add an account first with `emnify-auth add`");
            }
            all
        }
    };
    let mut rows = Vec::with_capacity(accounts.len());
    for account in &accounts {
        rows.push((account, vault.code(account, time)?));
    }
    if args.json {
        let values: Vec<_> = rows
            .iter()
            .map(|(account, info)| {
                json!({
                    "id": account.id,
                    "issuer": account.issuer,
                    "label": account.label,
                    "code": info.code,
                    "remaining": info.remaining,
                    "next": info.next,
                    "period": info.period,
                    "valid_from": info.valid_from,
                    "time": time,
                    "clock": clock_commands::clock_json(&clock),
                })
            })
            .collect();
        match (args.name.is_some(), values.as_slice()) {
            (true, [one]) => print_json(one),
            _ => print_json(&values),
        }
        return Ok(());
    }
    if let Some(warning) = clock.warning() {
        eprintln!("warning: {warning}");
    }
    if args.name.is_some() {
        println!("{}", rows[0].1.code);
        return Ok(());
    }
    let width = accounts
        .iter()
        .map(|a| a.display_name().chars().count())
        .max()
        .unwrap_or(0);
    for (account, info) in rows {
        println!(
            "{:<width$}  {}  {:>2}s  next {}",
            account.display_name(),
            info.code,
            info.remaining,
            info.next
        );
    }
    Ok(())
}

fn rename(vault: &Vault<VaultStore>, args: RenameArgs) -> Result<()> {
    let account = vault.find(&args.name)?;
    let renamed = vault.rename(account.id, args.issuer, Some(args.new_label))?;
    if args.json {
        print_json(&account_json(&renamed));
    } else {
        println!(
            "renamed {} to {}",
            account.display_name(),
            renamed.display_name()
        );
    }
    Ok(())
}

fn remove(vault: &Vault<VaultStore>, args: RemoveArgs) -> Result<()> {
    let account = vault.find(&args.name)?;
    let question = format!(
        "Remove '{}'? Its key is deleted from the keyring and codes can no longer be generated here.",
        account.display_name()
    );
    if !args.yes && !prompt::confirm(&question, "--yes")? {
        bail!("not removed");
    }
    vault.remove(account.id)?;
    println!("removed {}", account.display_name());
    Ok(())
}

fn export(vault: &Vault<VaultStore>, args: ExportArgs) -> Result<()> {
    let account = vault.find(&args.name)?;
    let uri = vault.export_uri(&account)?;
    if args.uri {
        println!("{}", uri.as_str());
    } else if let Some(file) = &args.qr {
        let png = qr_png(&uri)?;
        write_new_private_file(file, &png)?;
        eprintln!(
            "wrote the QR code of {} to {} (it contains the key: delete it after scanning)",
            account.display_name(),
            file.display()
        );
    } else {
        print!("{}", qr_terminal(&uri)?.as_str());
        eprintln!(
            "scan this with your phone's authenticator app; it contains the key of {}",
            account.display_name()
        );
    }
    Ok(())
}

/// Creates `file` (mode 0600) and refuses to overwrite an existing one.
fn write_new_private_file(file: &Path, bytes: &[u8]) -> Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut handle = options.open(file).with_context(|| {
        format!(
            "cannot create {} (an existing file is never overwritten: choose another name)",
            file.display()
        )
    })?;
    handle
        .write_all(bytes)
        .and_then(|()| handle.sync_all())
        .with_context(|| format!("cannot write {}", file.display()))
}

pub(crate) fn print_json(value: &impl serde::Serialize) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("JSON output always serialises")
    );
}
