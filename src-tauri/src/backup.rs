//! Backups and imports from other authenticators, in the app. Files are picked with the
//! native dialog here and read or written here, so that neither a backup nor an export
//! file (both hold every key) passes through the web page: the UI sees paths, counts and
//! names only. An import ends in the same preview as every other way of adding accounts.

use std::path::{Path, PathBuf};

use emnify_auth_core::backup::{self, BackupError, BackupProtection};
use emnify_auth_core::importers::{self, FileImportError, MAX_FILE_BYTES};
use secrecy::SecretString;
use serde::Serialize;
use tauri::{AppHandle, Manager, State};
use tauri_plugin_dialog::DialogExt;
use zeroize::Zeroizing;

use crate::commands::{Preview, preview};
use crate::error::{CommandError, CommandResult};
use crate::lock::ensure_unlocked;
use crate::state::AppState;

impl From<BackupError> for CommandError {
    fn from(err: BackupError) -> Self {
        match err {
            BackupError::Vault(vault) => vault.into(),
            BackupError::Exists(_) => Self::new("exists", err.to_string()),
            BackupError::WeakPassword(_) | BackupError::Empty => {
                Self::new("invalid_input", err.to_string())
            }
            other => Self::new("backup", other.to_string()),
        }
    }
}

fn import_error(err: FileImportError, had_password: bool) -> CommandError {
    if err.needs_password() {
        let kind = if had_password {
            "wrong_password"
        } else {
            "needs_password"
        };
        return CommandError::new(kind, err.to_string());
    }
    CommandError::new("invalid_input", err.to_string())
}

/// A path typed or picked by the user: absolute, `~/` meaning the home folder.
fn user_path(app: &AppHandle, text: &str) -> CommandResult<PathBuf> {
    let text = text.trim();
    if text.is_empty() {
        return Err(CommandError::new("invalid_input", "choose a file first"));
    }
    let path = match text.strip_prefix("~/") {
        Some(rest) => home(app)?.join(rest),
        None => PathBuf::from(text),
    };
    if !path.is_absolute() {
        return Err(CommandError::new(
            "invalid_input",
            "give the full path of the file (starting with / or ~/), or use “Choose…”",
        ));
    }
    Ok(path)
}

fn home(app: &AppHandle) -> CommandResult<PathBuf> {
    app.path().home_dir().map_err(|_| {
        CommandError::new(
            "invalid_input",
            "no home folder is known: give the full path of the file",
        )
    })
}

fn default_file_name(unix_seconds: u64) -> String {
    let stamp = emnify_auth_core::login::flow::format_utc(unix_seconds);
    let date = stamp.split(' ').next().unwrap_or_default();
    format!("emnify-authenticator-backup-{date}.json")
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Where a backup goes unless the user says otherwise: today's file in the Documents
/// folder (else the home folder).
#[tauri::command]
pub fn backup_default_path(app: AppHandle) -> CommandResult<String> {
    let dir = app
        .path()
        .document_dir()
        .ok()
        .filter(|d| d.is_dir())
        .map_or_else(|| home(&app), Ok)?;
    Ok(dir.join(default_file_name(now())).display().to_string())
}

/// Asks where to save the backup (the native save dialog); `None` when cancelled.
#[tauri::command]
pub async fn choose_backup_path(app: AppHandle, current: String) -> CommandResult<Option<String>> {
    let current = user_path(&app, &current).ok();
    let mut dialog = app
        .dialog()
        .file()
        .set_title("Save the backup")
        .add_filter("Aegis backup", &["json"]);
    if let Some(current) = &current {
        if let Some(dir) = current.parent().filter(|d| d.is_dir()) {
            dialog = dialog.set_directory(dir);
        }
        if let Some(name) = current.file_name() {
            dialog = dialog.set_file_name(name.to_string_lossy());
        }
    }
    let (sender, receiver) = tokio::sync::oneshot::channel();
    dialog.save_file(move |path| {
        let _ = sender.send(path.and_then(|p| p.into_path().ok()));
    });
    Ok(chosen_path(receiver).await)
}

/// The path a native dialog answered with; `None` when it was cancelled.
async fn chosen_path(receiver: tokio::sync::oneshot::Receiver<Option<PathBuf>>) -> Option<String> {
    receiver
        .await
        .ok()
        .flatten()
        .map(|p| p.display().to_string())
}

/// What an export wrote.
#[derive(Debug, Serialize)]
pub struct Exported {
    accounts: usize,
    path: String,
    encrypted: bool,
}

/// Writes a backup of every account to `path`: encrypted with `password` (at least 8
/// characters, typed twice in the UI), or — only when `plain` is set — not encrypted at
/// all. An existing file is replaced only with `overwrite` (the UI asks first).
#[tauri::command(async)]
pub fn export_backup(
    app: AppHandle,
    state: State<'_, AppState>,
    path: String,
    password: Option<String>,
    plain: bool,
    overwrite: bool,
) -> CommandResult<Exported> {
    ensure_unlocked(&state)?;
    let password = password.filter(|p| !p.is_empty()).map(SecretString::from);
    let protection = match (&password, plain) {
        (Some(_), true) => {
            return Err(CommandError::new(
                "invalid_input",
                "a plain backup has no password: clear the password, or untick the plain backup",
            ));
        }
        (Some(password), false) => BackupProtection::Password(password),
        (None, true) => BackupProtection::PlainText,
        (None, false) => {
            return Err(CommandError::new(
                "invalid_input",
                format!(
                    "choose a backup password of at least {} characters",
                    backup::MIN_PASSWORD_CHARS
                ),
            ));
        }
    };
    let path = user_path(&app, &path)?;
    let made = backup::export_backup(&state.vault, protection)?;
    backup::write_backup(&path, &made, overwrite)?;
    Ok(Exported {
        accounts: made.accounts,
        path: path.display().to_string(),
        encrypted: !plain,
    })
}

/// Asks for an export file of another app (the native open dialog); `None` when
/// cancelled.
#[tauri::command]
pub async fn choose_import_file(app: AppHandle) -> CommandResult<Option<String>> {
    let (sender, receiver) = tokio::sync::oneshot::channel();
    app.dialog()
        .file()
        .set_title("Import from another app")
        .add_filter(
            "Authenticator exports (Aegis, 2FAS, otpauth:// lists)",
            &["json", "2fas", "txt"],
        )
        .pick_file(move |path| {
            let _ = sender.send(path.and_then(|p| p.into_path().ok()));
        });
    Ok(chosen_path(receiver).await)
}

fn read_export(path: &Path) -> CommandResult<Zeroizing<Vec<u8>>> {
    let cannot = |err: std::io::Error| {
        CommandError::new(
            "invalid_input",
            format!(
                "cannot read {}: {err}; check the path and that you may read the file",
                path.display()
            ),
        )
    };
    let size = std::fs::metadata(path).map_err(cannot)?.len();
    if size > MAX_FILE_BYTES as u64 {
        return Err(import_error(
            FileImportError::TooLarge(usize::try_from(size).unwrap_or(usize::MAX)),
            false,
        ));
    }
    std::fs::read(path).map(Zeroizing::new).map_err(cannot)
}

/// What an export file is, before reading its accounts.
#[derive(Debug, Serialize)]
pub struct ImportFileInfo {
    /// Whether reading it needs the password it was exported with.
    needs_password: bool,
    /// The format ("Aegis", "2FAS", "otpauth:// list"), when recognised.
    format: Option<&'static str>,
}

/// Looks at an export file: which format, and whether it needs a password.
#[tauri::command(async)]
pub fn inspect_import_file(app: AppHandle, path: String) -> CommandResult<ImportFileInfo> {
    let bytes = read_export(&user_path(&app, &path)?)?;
    let format = importers::detect(&bytes).map(|importer| importer.name());
    if format.is_none() {
        return Err(import_error(FileImportError::UnknownFormat, false));
    }
    Ok(ImportFileInfo {
        needs_password: importers::needs_password(&bytes),
        format,
    })
}

/// A preview of an export file's accounts.
#[derive(Debug, Serialize)]
pub struct FilePreview {
    /// The file's format.
    format: &'static str,
    /// The same preview as every other way of adding accounts.
    #[serde(flatten)]
    preview: Preview,
}

/// Reads the accounts of an export file (with its password, when it has one) into the
/// usual preview, which `confirm_import` then adds or drops.
#[tauri::command(async)]
pub fn preview_import_file(
    app: AppHandle,
    state: State<'_, AppState>,
    path: String,
    password: Option<String>,
) -> CommandResult<FilePreview> {
    ensure_unlocked(&state)?;
    let password = password.filter(|p| !p.is_empty()).map(SecretString::from);
    let bytes = read_export(&user_path(&app, &path)?)?;
    let import = importers::import_file(&bytes, password.as_ref())
        .map_err(|err| import_error(err, password.is_some()))?;
    Ok(FilePreview {
        format: import.format,
        preview: preview(&state, import.set)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_files_are_named_after_the_day() {
        assert_eq!(
            default_file_name(1_795_000_000),
            "emnify-authenticator-backup-2026-11-18.json"
        );
    }
}
