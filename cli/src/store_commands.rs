//! Where secrets live: opening the chosen store (keyring or encrypted vault file), and the
//! `store` commands that show the choice and move every secret from one store to the
//! other.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use emnify_auth_core::file_store;
use emnify_auth_core::store_choice::{
    self, PasswordSource, StoreKind, VaultStore, migrate_to_file, migrate_to_keyring,
};
use emnify_auth_core::{KeyringStore, Vault, paths};
use secrecy::SecretString;
use serde_json::json;

use crate::prompt;

/// `store`: where the secrets are, and moving them.
#[derive(Debug, Args)]
pub struct StoreArgs {
    #[command(subcommand)]
    pub command: Option<StoreCommand>,
    /// Machine-readable output (for `store` alone).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Move every secret from the keyring into an encrypted vault file (Aegis format) in
    /// the data folder; asks for a new password twice.
    UseFile(UseFileArgs),
    /// Move every secret from the encrypted vault file back into the keyring.
    UseKeyring,
    /// Finish an interrupted move and remove keys no account uses any more.
    Check,
}

#[derive(Debug, Args)]
pub struct UseFileArgs {
    /// Read the new password from stdin (once) instead of asking twice on the terminal.
    #[arg(long)]
    pub password_stdin: bool,
}

/// Opens the vault with the store its data folder uses. The vault file's password is
/// asked for only when a secret is first needed: from stdin's first line with
/// `--vault-password-stdin`, else on the terminal.
pub fn open_vault(data_dir: &Path, password_stdin: bool) -> Result<Vault<VaultStore>> {
    let file_path = file_store::path_in(data_dir);
    // With --vault-password-stdin the password is the first line, read now, before a
    // command reads its own input (a key, another password) from the following lines.
    let uses_file = store_choice::read_choice(data_dir)?.kind == StoreKind::File;
    let piped = if password_stdin && uses_file {
        let line = prompt::read_stdin_line("vault file password")?;
        Some(SecretString::from(line.as_str().to_owned()))
    } else {
        None
    };
    let ask: PasswordSource = Box::new(move || {
        if password_stdin {
            return piped.clone();
        }
        if !std::io::stdin().is_terminal() {
            return None;
        }
        rpassword::prompt_password(format!(
            "Password of the encrypted vault file {}: ",
            file_path.display()
        ))
        .ok()
        .map(SecretString::from)
    });
    let opened = store_choice::open(data_dir, &paths::keyring_service(), Some(ask))?;
    if let Some(pending) = opened.recovered {
        let how = if pending.committed {
            "finished"
        } else {
            "rolled back"
        };
        eprintln!(
            "note: an interrupted move of the secrets to {} was {how}; they are in {}",
            pending.to,
            opened.store.kind()
        );
    }
    if let Some(pending) = opened.still_pending {
        eprintln!(
            "warning: an interrupted move of the secrets to {} still needs clean-up (the keyring is not reachable); your keys are safe in {}. Run `emnify-auth store check` once the keyring runs.",
            pending.to,
            opened.store.kind()
        );
    }
    Ok(Vault::open(data_dir, opened.store))
}

fn ask_new_password(password_stdin: bool) -> Result<SecretString> {
    if password_stdin {
        let line = prompt::read_stdin_line("new password")?;
        return Ok(SecretString::from(line.as_str().to_owned()));
    }
    if !std::io::stdin().is_terminal() {
        bail!("a new password is needed, but there is no terminal to ask: add --password-stdin");
    }
    let first = zeroize::Zeroizing::new(
        rpassword::prompt_password("New password (8 characters or more): ")
            .context("cannot read the password")?,
    );
    let second = zeroize::Zeroizing::new(
        rpassword::prompt_password("The same password again: ")
            .context("cannot read the password")?,
    );
    if *first != *second {
        bail!("the two passwords differ; nothing was changed, try again");
    }
    Ok(SecretString::from(first.as_str().to_owned()))
}

/// Runs a `store` command.
pub fn run(vault: &Vault<VaultStore>, data_dir: &Path, args: StoreArgs) -> Result<()> {
    match args.command {
        None => status(vault, data_dir, args.json),
        Some(StoreCommand::UseFile(flags)) => {
            if vault.secrets().kind() == StoreKind::File {
                bail!("the secrets are already in the encrypted vault file");
            }
            let password = ask_new_password(flags.password_stdin)?;
            let keyring = KeyringStore::new(&paths::keyring_service());
            let report = migrate_to_file(data_dir, &keyring, &password)?;
            println!(
                "moved {} secret(s) into the encrypted vault file {}; the keyring holds none of them now. Commands will ask for its password (scripts: --vault-password-stdin).",
                report.moved,
                file_store::path_in(data_dir).display()
            );
            Ok(())
        }
        Some(StoreCommand::UseKeyring) => {
            let Some(file) = vault.secrets().file() else {
                bail!("the secrets are already in the keyring");
            };
            let keyring = KeyringStore::new(&paths::keyring_service());
            // Unlocks the file first (asks for its password) so a wrong one changes nothing.
            use emnify_auth_core::SecretStore;
            file.ensure_available()?;
            let report = migrate_to_keyring(data_dir, &keyring, file)?;
            println!(
                "moved {} secret(s) into the keyring; the encrypted vault file was removed",
                report.moved
            );
            Ok(())
        }
        Some(StoreCommand::Check) => {
            let removed = store_choice::remove_leftovers(
                data_dir,
                vault.secrets(),
                std::time::SystemTime::now(),
            )?;
            println!(
                "secrets are in {}; removed {} key(s) of no account and {} temporary file(s) of interrupted writes",
                vault.secrets().kind(),
                removed.keys,
                removed.temporary_files
            );
            Ok(())
        }
    }
}

fn status(vault: &Vault<VaultStore>, data_dir: &Path, json: bool) -> Result<()> {
    let kind = vault.secrets().kind();
    let file = file_store::path_in(data_dir);
    let accounts = vault.accounts()?.len();
    if json {
        crate::vault_commands::print_json(&json!({
            "store": match kind { StoreKind::Keyring => "keyring", StoreKind::File => "file" },
            "keyring_service": paths::keyring_service(),
            "file": (kind == StoreKind::File).then(|| file.display().to_string()),
            "accounts": accounts,
        }));
        return Ok(());
    }
    match kind {
        StoreKind::Keyring => println!(
            "secrets are in the keyring (service {}); {accounts} account(s). Without a keyring: `emnify-auth store use-file`",
            paths::keyring_service()
        ),
        StoreKind::File => println!(
            "secrets are in the encrypted vault file {}; {accounts} account(s). Back to the keyring: `emnify-auth store use-keyring`",
            file.display()
        ),
    }
    Ok(())
}
