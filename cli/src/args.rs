//! The command-line grammar.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// emnify Authenticator: TOTP codes from the OS keyring, and one-command emnify logins.
#[derive(Debug, Parser)]
#[command(name = "emnify-auth", version, about)]
pub struct Cli {
    /// Folder for the vault's metadata (never secrets); defaults to the platform's data folder.
    #[arg(long, global = true, env = "EMNIFY_AUTH_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// When the keys are in the encrypted vault file: read its password from the first
    /// line of stdin (scripts), instead of asking on the terminal.
    #[arg(long, global = true)]
    pub vault_password_stdin: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Add accounts from otpauth:// or otpauth-migration:// links, QR images or a typed key.
    Add(AddArgs),
    /// List the accounts (never their keys).
    List(JsonFlag),
    /// Show codes: of one account (just the code, for scripts) or of all.
    Code(CodeArgs),
    /// Rename an account.
    Rename(RenameArgs),
    /// Remove an account and its key from the keyring.
    Remove(RemoveArgs),
    /// Show an account's key as an otpauth:// link or QR code, to move it to a phone.
    Export(ExportArgs),
    /// Manage emnify login profiles.
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// Log in to emnify (MFA answered from the linked account).
    Login(LoginArgs),
    /// Print a valid emnify auth token (cached, refreshed or freshly logged in), for scripts.
    Token(LoginArgs),
    /// Forget the stored tokens of a profile.
    Logout(NameArgs),
    /// Show the emnify user a profile logs in as.
    Whoami(NameArgs),
    /// Switch a profile's token to another workspace.
    #[command(subcommand)]
    Workspace(WorkspaceCommand),
    /// Security events of a profile, newest first: `events NAME [--since 24h] [--type 6,14] [--new]`, or `events import-idaas FILE`.
    Events(crate::event_commands::EventsArgs),
    /// MFA keys of a profile's user: `mfa enroll NAME`, `mfa list NAME`, `mfa remove NAME KEY_ID`.
    #[command(subcommand)]
    Mfa(crate::mfa_commands::MfaCommand),
    /// Trusted devices of a profile: `devices NAME`, or `devices sync|revoke|list|expiring|warn-days …`.
    Devices(crate::device_commands::DevicesArgs),
    /// Encrypted backups (Aegis format) and imports from other apps: `backup export FILE`, `backup import FILE`.
    #[command(subcommand)]
    Backup(crate::backup_commands::BackupCommand),
    /// Where the keys are kept (keyring or encrypted vault file): `store`, `store use-file`, `store use-keyring`, `store check`.
    Store(crate::store_commands::StoreArgs),
    /// This computer's clock against emnify's (measured on every emnify response): `clock`, or `clock correct on|off`.
    Clock(ClockArgs),
}

#[derive(Debug, Args)]
pub struct ClockArgs {
    #[command(subcommand)]
    pub command: Option<ClockCommand>,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ClockCommand {
    /// Compute codes for emnify's clock (on) or this computer's (off, the default).
    Correct(CorrectArgs),
}

#[derive(Debug, Args)]
pub struct CorrectArgs {
    /// `on` or `off`.
    #[arg(value_enum)]
    pub state: OnOff,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    /// Turn it on.
    On,
    /// Turn it off.
    Off,
}

#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// Add a profile with user credentials (password hashed and kept in the keyring) or an application token.
    Add(ProfileAddArgs),
    /// List the profiles.
    List(JsonFlag),
    /// Remove a profile and its stored secrets.
    Remove(RemoveArgs),
}

#[derive(Debug, Args)]
pub struct ProfileAddArgs {
    /// A name for the profile ("prod").
    pub name: String,
    /// API base URL (default https://cdn.emnify.net; plain http only for loopback).
    #[arg(long, value_name = "URL")]
    pub api_url: Option<String>,
    /// emnify user name (e-mail).
    #[arg(long, conflicts_with = "app_token_stdin")]
    pub username: Option<String>,
    /// Read the password from stdin (else it is asked for on the terminal).
    #[arg(long, requires = "username")]
    pub password_stdin: bool,
    /// Vault account whose codes answer MFA.
    #[arg(long, value_name = "ACCOUNT", requires = "username")]
    pub otp: Option<String>,
    /// Register this installation as a trusted device (90 days without MFA).
    #[arg(long, requires = "username")]
    pub trust_device: bool,
    /// Read an application token from stdin instead of user credentials.
    #[arg(long)]
    pub app_token_stdin: bool,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Profile name.
    pub name: String,
    /// Make the attempt even though a failure would lock the account.
    #[arg(long)]
    pub force: bool,
    /// Read the MFA code from stdin when one must be typed.
    #[arg(long)]
    pub code_stdin: bool,
}

#[derive(Debug, Args)]
pub struct NameArgs {
    /// Profile name.
    pub name: String,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum WorkspaceCommand {
    /// Get a token for workspace ID.
    Switch(SwitchArgs),
}

#[derive(Debug, Args)]
pub struct SwitchArgs {
    /// Profile name.
    pub name: String,
    /// Target workspace (organisation) id.
    pub id: u64,
}

#[derive(Debug, Args)]
pub struct JsonFlag {
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).multiple(true).args(["uri", "qr", "secret"])))]
pub struct AddArgs {
    /// An otpauth:// or otpauth-migration:// link (repeatable; `-` reads one per line from stdin).
    #[arg(long, value_name = "URI")]
    pub uri: Vec<String>,
    /// An image (PNG, JPEG, WebP, BMP, GIF; screenshots work) with one or more QR codes (repeatable).
    #[arg(long, value_name = "FILE")]
    pub qr: Vec<PathBuf>,
    /// A Base32 key typed by hand; `-` reads it from stdin so it stays out of shell history.
    #[arg(long, value_name = "KEY", requires = "label", conflicts_with_all = ["uri", "qr"])]
    pub secret: Option<String>,
    /// Account name (with --secret).
    #[arg(long, requires = "secret")]
    pub label: Option<String>,
    /// Service name (with --secret).
    #[arg(long, requires = "secret", default_value = "")]
    pub issuer: String,
    /// Code length (with --secret).
    #[arg(long, requires = "secret", default_value_t = 6)]
    pub digits: u32,
    /// Seconds per code (with --secret).
    #[arg(long, requires = "secret", default_value_t = 30)]
    pub period: u64,
    /// SHA1, SHA256 or SHA512 (with --secret).
    #[arg(long, requires = "secret", default_value = "SHA1")]
    pub algorithm: String,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CodeArgs {
    /// Account (issuer and/or label, case-insensitive); all accounts when omitted.
    pub name: Option<String>,
    /// Machine-readable output: code, remaining seconds, next code, …
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RenameArgs {
    /// Account to rename.
    pub name: String,
    /// New label.
    pub new_label: String,
    /// New issuer as well.
    #[arg(long)]
    pub issuer: Option<String>,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// Account to remove.
    pub name: String,
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("format").required(true).args(["uri", "qr", "terminal"])))]
pub struct ExportArgs {
    /// Account to export.
    pub name: String,
    /// Print the otpauth:// link (it contains the key).
    #[arg(long)]
    pub uri: bool,
    /// Write a QR code PNG to FILE (created with mode 0600; an existing file is not overwritten).
    #[arg(long, value_name = "FILE")]
    pub qr: Option<PathBuf>,
    /// Draw the QR code in the terminal.
    #[arg(long)]
    pub terminal: bool,
}
