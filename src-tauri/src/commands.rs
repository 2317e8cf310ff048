//! The commands the web UI may call: thin wrappers over `emnify_auth_core`. The UI never
//! receives a key, password or token: only names, codes and expiry times. Tokens and codes
//! go to the clipboard from here.

use std::time::Duration;

use base64::Engine;
use emnify_auth_core::import::{self, ImportSet};
use emnify_auth_core::login::flow::{
    Clock, LoggedIn, Login, LoginOptions, LoginOutcome, LoginPath, SystemClock,
};
use emnify_auth_core::login::jwt::read_claims;
use emnify_auth_core::login::password::password_sha1_hex;
use emnify_auth_core::login::profile::{LoginMethod, LoginProfile, NewProfile, ProfileSecret};
use emnify_auth_core::otp::code_info_at;
use emnify_auth_core::qr_encode::qr_png;
use emnify_auth_core::settings::Theme;
use emnify_auth_core::vault::VaultError;
use emnify_auth_core::{Account, AccountId, Algorithm, OtpParams};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use tauri::{AppHandle, Manager, State};
use tauri_plugin_clipboard_manager::ClipboardExt;

use crate::error::{CommandError, CommandResult};
use crate::state::AppState;
use crate::tray;

fn now() -> u64 {
    SystemClock.now()
}

fn parse_id(id: &str) -> CommandResult<AccountId> {
    id.parse()
        .map_err(|_| CommandError::new("invalid_input", "unknown account id"))
}

fn account(state: &AppState, id: &str) -> CommandResult<Account> {
    Ok(state.vault.account(parse_id(id)?)?)
}

/// The clock of every login (a static, so a `Login` can borrow it for as long as needed).
static CLOCK: SystemClock = SystemClock;

/// A login of the profile named `name`.
fn login_for<'a>(
    state: &'a AppState,
    name: &str,
) -> CommandResult<Login<'a, crate::store::AppStore>> {
    let profile = state.vault.profile(name)?;
    Ok(Login::new(&state.vault, profile, &CLOCK)?)
}

/// What the app shows about itself.
#[derive(Debug, Serialize)]
pub struct AppInfo {
    version: &'static str,
    demo: bool,
    data_dir: String,
}

/// Version, demo flag and data folder.
#[tauri::command]
pub fn app_info(state: State<'_, AppState>) -> AppInfo {
    AppInfo {
        version: env!("CARGO_PKG_VERSION"),
        demo: state.demo.is_some(),
        data_dir: state.data_dir.display().to_string(),
    }
}

/// The UI calls this once, after the first codes are painted. With
/// `EMNIFY_AUTH_STARTUP_MARK=1` it prints `first-code-painted` on stderr, which is how the
/// start-up benchmark times the app from outside.
#[tauri::command]
pub fn first_code_painted(app: AppHandle) {
    if std::env::var("EMNIFY_AUTH_STARTUP_MARK").is_ok_and(|v| v == "1") {
        eprintln!("first-code-painted");
    }
    tray::ensure(&app);
}

/// One account with its current code.
#[derive(Debug, Serialize)]
pub struct AccountView {
    id: String,
    issuer: String,
    label: String,
    name: String,
    digits: u8,
    period: u32,
    algorithm: Algorithm,
    pinned: bool,
    code: Option<String>,
    next: Option<String>,
    remaining: u32,
    error: Option<String>,
}

/// Every account with its code at this second, pinned ones first. Off the main thread:
/// the first call may wait for the keyring.
#[tauri::command(async)]
pub fn accounts(state: State<'_, AppState>) -> CommandResult<Vec<AccountView>> {
    crate::lock::ensure_unlocked(&state)?;
    let time = crate::clock::code_time(&state);
    let accounts = state.vault.accounts()?;
    Ok(accounts
        .into_iter()
        .map(|account| {
            let (code, next, remaining, error) = match state.secret(&account) {
                Ok(secret) => {
                    let info = code_info_at(&secret, &account.params, time);
                    (Some(info.code), Some(info.next), info.remaining, None)
                }
                Err(err) => (None, None, 0, Some(err.to_string())),
            };
            AccountView {
                id: account.id.to_string(),
                name: account.display_name(),
                issuer: account.issuer,
                label: account.label,
                digits: account.params.digits,
                period: account.params.period,
                algorithm: account.params.algorithm,
                pinned: account.pinned,
                code,
                next,
                remaining,
                error,
            }
        })
        .collect())
}

/// One candidate of an import, as the preview shows it.
#[derive(Debug, Serialize)]
pub struct PreviewItem {
    issuer: String,
    label: String,
    digits: u8,
    period: u32,
    algorithm: Algorithm,
    /// Name of the account that already holds this key.
    duplicate_of: Option<String>,
}

/// An import waiting for confirmation.
#[derive(Debug, Serialize)]
pub struct Preview {
    import_id: u64,
    items: Vec<PreviewItem>,
    skipped: Vec<String>,
    missing_batch_codes: Vec<u32>,
}

pub(crate) fn preview(state: &AppState, set: ImportSet) -> CommandResult<Preview> {
    if set.accounts.is_empty() {
        let reasons: Vec<String> = set
            .skipped
            .iter()
            .map(|s| format!("{}: {}", s.name, s.reason))
            .collect();
        return Err(CommandError::new(
            "invalid_input",
            format!("nothing to add: {}", reasons.join("; ")),
        ));
    }
    let existing: Vec<(Account, emnify_auth_core::TotpSecret)> = state
        .vault
        .accounts()?
        .into_iter()
        .filter_map(|a| state.secret(&a).ok().map(|s| (a, s)))
        .collect();
    let items = set
        .accounts
        .iter()
        .map(|candidate| PreviewItem {
            issuer: candidate.issuer.clone(),
            label: candidate.label.clone(),
            digits: candidate.params.digits,
            period: candidate.params.period,
            algorithm: candidate.params.algorithm,
            duplicate_of: existing
                .iter()
                .find(|(_, secret)| secret.same_key_as(&candidate.secret))
                .map(|(a, _)| a.display_name()),
        })
        .collect();
    let import_id = state.next_id();
    let missing_batch_codes = set.missing_batch_codes();
    let skipped = set
        .skipped
        .iter()
        .map(|s| format!("{}: {}", s.name, s.reason))
        .collect();
    state
        .pending_imports
        .lock()
        .expect("pending imports")
        .insert(import_id, set.accounts);
    Ok(Preview {
        import_id,
        items,
        skipped,
        missing_batch_codes,
    })
}

/// Parses a pasted `otpauth://` or `otpauth-migration://` link (several, one per line).
#[tauri::command]
pub fn preview_text(state: State<'_, AppState>, text: String) -> CommandResult<Preview> {
    let text = zeroize::Zeroizing::new(text);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let set = import::from_texts(if lines.is_empty() { vec![""] } else { lines })?;
    preview(&state, set)
}

/// Parses a typed Base32 key.
#[tauri::command]
pub fn preview_secret(
    state: State<'_, AppState>,
    secret: String,
    issuer: String,
    label: String,
    digits: u32,
    period: u64,
    algorithm: String,
) -> CommandResult<Preview> {
    let secret = zeroize::Zeroizing::new(secret);
    let algorithm: Algorithm =
        algorithm
            .parse()
            .map_err(|e: emnify_auth_core::account::ParamsError| {
                CommandError::new("invalid_input", e.to_string())
            })?;
    let params = OtpParams::new(algorithm, digits, period)
        .map_err(|e| CommandError::new("invalid_input", e.to_string()))?;
    let candidate = import::from_secret(&secret, &issuer, &label, params)?;
    preview(
        &state,
        ImportSet {
            accounts: vec![candidate],
            ..ImportSet::default()
        },
    )
}

/// Finds the QR codes in an image (the raw bytes are the request body). Runs off the
/// window's thread: decoding a large screenshot takes a moment.
#[tauri::command(async)]
pub fn preview_image(
    state: State<'_, AppState>,
    request: tauri::ipc::Request<'_>,
) -> CommandResult<Preview> {
    let tauri::ipc::InvokeBody::Raw(bytes) = request.body() else {
        return Err(CommandError::new(
            "invalid_input",
            "send the image as raw bytes",
        ));
    };
    let set = import::from_image(bytes)?;
    preview(&state, set)
}

/// Finds the QR codes in the image on the clipboard (a pasted screenshot: WebKitGTK does
/// not hand pasted images to the page).
#[tauri::command(async)]
pub fn preview_clipboard(app: AppHandle, state: State<'_, AppState>) -> CommandResult<Preview> {
    let image = app.clipboard().read_image().map_err(|_| {
        CommandError::new(
            "invalid_input",
            "the clipboard holds no image: copy a screenshot that shows the QR code, then paste again",
        )
    })?;
    let set = import::from_rgba(image.width(), image.height(), image.rgba().to_vec())?;
    preview(&state, set)
}

/// The result of a confirmed import.
#[derive(Debug, Serialize)]
pub struct ImportResult {
    added: Vec<String>,
    duplicates: Vec<String>,
}

/// Adds a previewed import; `false` drops it.
#[tauri::command]
pub fn confirm_import(
    app: AppHandle,
    state: State<'_, AppState>,
    import_id: u64,
    accept: bool,
) -> CommandResult<ImportResult> {
    let candidates = state
        .pending_imports
        .lock()
        .expect("pending imports")
        .remove(&import_id)
        .ok_or_else(|| CommandError::new("not_found", "this preview has expired: add again"))?;
    if !accept {
        return Ok(ImportResult {
            added: vec![],
            duplicates: vec![],
        });
    }
    let report = state.vault.add_all(candidates, now())?;
    tray::refresh(&app);
    Ok(ImportResult {
        added: report.added.iter().map(Account::display_name).collect(),
        duplicates: report
            .duplicates
            .iter()
            .map(|d| {
                format!(
                    "{} (already there as {})",
                    d.candidate,
                    d.existing.display_name()
                )
            })
            .collect(),
    })
}

/// Renames an account.
#[tauri::command]
pub fn rename_account(
    app: AppHandle,
    state: State<'_, AppState>,
    id: String,
    issuer: String,
    label: String,
) -> CommandResult<()> {
    state
        .vault
        .rename(parse_id(&id)?, Some(issuer), Some(label))?;
    tray::refresh(&app);
    Ok(())
}

/// Removes an account and its key (the UI asks first).
#[tauri::command]
pub fn remove_account(app: AppHandle, state: State<'_, AppState>, id: String) -> CommandResult<()> {
    let id = parse_id(&id)?;
    state.vault.remove(id)?;
    state.forget_secret(id);
    tray::refresh(&app);
    Ok(())
}

/// Pins or unpins an account.
#[tauri::command]
pub fn set_pinned(
    app: AppHandle,
    state: State<'_, AppState>,
    id: String,
    pinned: bool,
) -> CommandResult<()> {
    state.vault.set_pinned(parse_id(&id)?, pinned)?;
    tray::refresh(&app);
    Ok(())
}

/// The account's QR code as a PNG data URL (it holds the key: the UI shows it only after
/// the user confirmed).
#[tauri::command]
pub fn export_qr(state: State<'_, AppState>, id: String) -> CommandResult<String> {
    crate::lock::ensure_unlocked(&state)?;
    let account = account(&state, &id)?;
    let uri = state.vault.export_uri(&account)?;
    let png = qr_png(&uri).map_err(|e| CommandError::new("export", e.to_string()))?;
    Ok(format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(&*png)
    ))
}

/// What a copy did.
#[derive(Debug, Serialize)]
pub struct Copied {
    /// Seconds until the clipboard is cleared (0: never).
    clear_after: u32,
}

/// Puts `text` on the clipboard and clears it after the configured time, unless
/// something else was copied meanwhile.
pub fn copy_and_schedule_clear(app: &AppHandle, text: String) -> CommandResult<Copied> {
    let state = app.state::<AppState>();
    let settings = state.vault.settings().unwrap_or_default();
    app.clipboard()
        .write_text(text.clone())
        .map_err(|e| CommandError::new("clipboard", format!("cannot use the clipboard: {e}")))?;
    let generation = state
        .clipboard_generation
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        + 1;
    let clear_after = settings.clipboard_clear_seconds();
    if clear_after > 0 {
        let app = app.clone();
        let text = zeroize::Zeroizing::new(text);
        tauri::async_runtime::spawn(async move {
            tokio::time::sleep(Duration::from_secs(u64::from(clear_after))).await;
            let state = app.state::<AppState>();
            let latest = state
                .clipboard_generation
                .load(std::sync::atomic::Ordering::SeqCst);
            let unchanged = app
                .clipboard()
                .read_text()
                .map(|current| current == *text)
                .unwrap_or(false);
            if latest == generation && unchanged {
                let _ = app.clipboard().write_text(String::new());
            }
        });
    }
    Ok(Copied { clear_after })
}

/// Copies the current code of an account.
#[tauri::command]
pub fn copy_code(app: AppHandle, state: State<'_, AppState>, id: String) -> CommandResult<Copied> {
    crate::lock::ensure_unlocked(&state)?;
    let account = account(&state, &id)?;
    let secret = state.secret(&account)?;
    let code = code_info_at(&secret, &account.params, crate::clock::code_time(&state)).code;
    copy_and_schedule_clear(&app, code)
}

/// A login profile as the UI shows it.
#[derive(Debug, Serialize)]
pub struct ProfileView {
    id: String,
    name: String,
    api_url: String,
    method: &'static str,
    username: Option<String>,
    otp_account: Option<String>,
    otp_account_id: Option<String>,
    trust_device: bool,
    trusted_until: Option<u64>,
    token_expires_at: Option<u64>,
    locked_until: Option<u64>,
}

fn profile_view(state: &AppState, profile: &LoginProfile) -> ProfileView {
    let (method, username, otp_id, trust_device) = match &profile.method {
        LoginMethod::Credentials {
            username,
            otp_account,
            trust_device,
        } => (
            "credentials",
            Some(username.clone()),
            *otp_account,
            *trust_device,
        ),
        LoginMethod::ApplicationToken => ("application_token", None, None, false),
    };
    let token_expires_at = state
        .vault
        .profile_secret(profile.id, ProfileSecret::AuthToken)
        .ok()
        .flatten()
        .and_then(|t| read_claims(t.expose_secret()).ok())
        .map(|c| c.exp)
        .filter(|exp| *exp > now());
    ProfileView {
        id: profile.id.to_string(),
        name: profile.name.clone(),
        api_url: profile.api_url.clone(),
        method,
        username,
        otp_account: otp_id
            .and_then(|id| state.vault.account(id).ok())
            .map(|a| a.display_name()),
        otp_account_id: otp_id.map(|id| id.to_string()),
        trust_device,
        trusted_until: profile
            .trust
            .as_ref()
            .map(|t| t.expires_at)
            .filter(|t| *t > now()),
        token_expires_at,
        locked_until: profile.guard.locked_until.filter(|t| *t > now()),
    }
}

/// The login profiles.
#[tauri::command]
pub fn profiles(state: State<'_, AppState>) -> CommandResult<Vec<ProfileView>> {
    Ok(state
        .vault
        .profiles()?
        .iter()
        .map(|p| profile_view(&state, p))
        .collect())
}

/// Adds a profile with user credentials (password hashed here, kept in the keyring) or,
/// when `application_token` is given, an application-token profile.
#[tauri::command]
#[allow(clippy::too_many_arguments)]
pub fn add_profile(
    state: State<'_, AppState>,
    name: String,
    api_url: String,
    username: Option<String>,
    password: Option<String>,
    otp_account_id: Option<String>,
    trust_device: bool,
    application_token: Option<String>,
) -> CommandResult<ProfileView> {
    let password = password.map(zeroize::Zeroizing::new);
    let (method, secret) = match (application_token, username, password) {
        (Some(token), _, _) if !token.trim().is_empty() => (
            LoginMethod::ApplicationToken,
            SecretString::from(token.trim().to_owned()),
        ),
        (_, Some(username), Some(password)) if !password.is_empty() => {
            let otp_account = match otp_account_id.filter(|s| !s.is_empty()) {
                Some(id) => Some(parse_id(&id)?),
                None => None,
            };
            (
                LoginMethod::Credentials {
                    username,
                    otp_account,
                    trust_device,
                },
                password_sha1_hex(&password),
            )
        }
        _ => {
            return Err(CommandError::new(
                "invalid_input",
                "give a user name and password, or an application token",
            ));
        }
    };
    let api_url = if api_url.trim().is_empty() {
        emnify_auth_core::login::api::DEFAULT_API_URL.to_owned()
    } else {
        api_url
    };
    let profile = state.vault.add_profile(
        NewProfile {
            name,
            api_url,
            method,
            secret,
        },
        now(),
    )?;
    Ok(profile_view(&state, &profile))
}

/// Removes a profile and its stored secrets.
#[tauri::command]
pub fn remove_profile(state: State<'_, AppState>, name: String) -> CommandResult<()> {
    state.vault.remove_profile(&name)?;
    Ok(())
}

/// Where a login stands, for the UI.
#[derive(Debug, Serialize, Default)]
pub struct LoginView {
    /// "logged_in", "needs_code", "wrong_password", "wrong_code", "token_rejected",
    /// "locked", "rate_limited", "needs_confirmation", "clock_drift".
    state: &'static str,
    message: String,
    steps: Vec<String>,
    requests: u32,
    expires_at: Option<u64>,
    trusted_until: Option<u64>,
    locked_until: Option<u64>,
    retry_after: Option<u64>,
    /// After a copy: seconds until the clipboard is cleared.
    clear_after: Option<u32>,
}

fn steps_of(done: &LoggedIn) -> Vec<String> {
    let mut steps = match done.path {
        LoginPath::Cached => vec!["Cached token still valid".to_owned()],
        LoginPath::Refresh => vec!["Token refreshed".to_owned()],
        LoginPath::Password => vec!["Credentials accepted".to_owned()],
        LoginPath::TrustedDevice => {
            vec!["Credentials accepted (trusted device, no MFA)".to_owned()]
        }
        LoginPath::Mfa => vec![
            "Credentials accepted".to_owned(),
            "MFA code accepted".to_owned(),
        ],
        LoginPath::ApplicationToken => vec!["Application token accepted".to_owned()],
    };
    if done.trusted_until.is_some() {
        steps.push("This device is now trusted for 90 days".to_owned());
    }
    steps
}

fn view_of(outcome: &LoginOutcome) -> LoginView {
    let message = outcome.explain(now());
    match outcome {
        LoginOutcome::LoggedIn(done) => LoginView {
            state: "logged_in",
            message,
            steps: steps_of(done),
            requests: done.requests,
            expires_at: Some(done.expires_at),
            trusted_until: done.trusted_until,
            ..LoginView::default()
        },
        LoginOutcome::NeedsCode(pending) => LoginView {
            state: "needs_code",
            message,
            steps: vec!["Credentials accepted".to_owned()],
            requests: pending.requests,
            ..LoginView::default()
        },
        LoginOutcome::WrongPassword { .. } => LoginView {
            state: "wrong_password",
            message,
            ..LoginView::default()
        },
        LoginOutcome::WrongCode { .. } => LoginView {
            state: "wrong_code",
            message,
            steps: vec!["Credentials accepted".to_owned()],
            ..LoginView::default()
        },
        LoginOutcome::TokenRejected => LoginView {
            state: "token_rejected",
            message,
            ..LoginView::default()
        },
        LoginOutcome::Locked { until } => LoginView {
            state: "locked",
            message,
            locked_until: Some(*until),
            ..LoginView::default()
        },
        LoginOutcome::RateLimited { retry_after } => LoginView {
            state: "rate_limited",
            message,
            retry_after: Some(*retry_after),
            ..LoginView::default()
        },
        LoginOutcome::NeedsConfirmation { .. } => LoginView {
            state: "needs_confirmation",
            message,
            ..LoginView::default()
        },
        LoginOutcome::ClockDrift { .. } => LoginView {
            state: "clock_drift",
            message,
            steps: vec!["Credentials accepted".to_owned()],
            ..LoginView::default()
        },
    }
}

/// One-click login. `force` makes an attempt that could lock the account.
#[tauri::command]
pub async fn login(
    state: State<'_, AppState>,
    name: String,
    force: bool,
) -> CommandResult<LoginView> {
    let mut login = login_for(&state, &name)?;
    let profile_id = login.profile().id;
    let outcome = login
        .login(&LoginOptions {
            confirm_risky: force,
        })
        .await?;
    let view = view_of(&outcome);
    if let LoginOutcome::NeedsCode(pending) = outcome {
        state.pending_mfa.lock().await.insert(profile_id, pending);
    }
    Ok(view)
}

/// Answers a login that needs a typed code.
#[tauri::command]
pub async fn submit_code(
    state: State<'_, AppState>,
    name: String,
    code: String,
) -> CommandResult<LoginView> {
    let mut login = login_for(&state, &name)?;
    let pending = state
        .pending_mfa
        .lock()
        .await
        .remove(&login.profile().id)
        .ok_or_else(|| {
            CommandError::new("not_found", "no login is waiting for a code: log in again")
        })?;
    let outcome = login.submit_code(pending, &code).await?;
    Ok(view_of(&outcome))
}

/// Copies a valid auth token (renewing it if needed) to the clipboard.
#[tauri::command]
pub async fn copy_token(
    app: AppHandle,
    state: State<'_, AppState>,
    name: String,
) -> CommandResult<LoginView> {
    crate::lock::ensure_unlocked(&state)?;
    let mut login = login_for(&state, &name)?;
    let (token, done) = login.token(&LoginOptions::default()).await?;
    let copied = copy_and_schedule_clear(&app, token.expose_secret().to_owned())?;
    let mut view = view_of(&LoginOutcome::LoggedIn(done));
    view.clear_after = Some(copied.clear_after);
    Ok(view)
}

/// Renews the token now (refresh token, else a full login).
#[tauri::command]
pub async fn refresh_token(state: State<'_, AppState>, name: String) -> CommandResult<LoginView> {
    let mut login = login_for(&state, &name)?;
    login.drop_auth_token()?;
    let (_, done) = login.token(&LoginOptions::default()).await?;
    Ok(view_of(&LoginOutcome::LoggedIn(done)))
}

/// Forgets the stored tokens.
#[tauri::command]
pub fn logout(state: State<'_, AppState>, name: String) -> CommandResult<()> {
    login_for(&state, &name)?.logout()?;
    Ok(())
}

/// Switches the profile's token to workspace `id`.
#[tauri::command]
pub async fn switch_workspace(
    state: State<'_, AppState>,
    name: String,
    id: u64,
) -> CommandResult<LoginView> {
    let mut login = login_for(&state, &name)?;
    let done = login.switch_workspace(id, &LoginOptions::default()).await?;
    let mut view = view_of(&LoginOutcome::LoggedIn(done));
    view.steps = vec![format!("Switched to workspace {id}")];
    Ok(view)
}

/// The user a profile logs in as (name, user name, workspace).
#[tauri::command]
pub async fn whoami(state: State<'_, AppState>, name: String) -> CommandResult<serde_json::Value> {
    let mut login = login_for(&state, &name)?;
    let user = login.whoami(&LoginOptions::default()).await?;
    Ok(serde_json::json!({
        "username": user.get("username"),
        "name": user.get("name"),
        "organisation": user.get("organisation").and_then(|o| o.get("name")),
    }))
}

/// The effective settings, as the settings screen edits them.
#[derive(Debug, Serialize, serde::Deserialize)]
pub struct SettingsView {
    clipboard_clear_seconds: u32,
    device_warning_days: u32,
    theme: Theme,
}

/// The settings.
#[tauri::command]
pub fn get_settings(state: State<'_, AppState>) -> CommandResult<SettingsView> {
    let settings = state.vault.settings().map_err(VaultError::from)?;
    Ok(SettingsView {
        clipboard_clear_seconds: settings.clipboard_clear_seconds(),
        device_warning_days: settings.device_warning_days(),
        theme: settings.theme(),
    })
}

/// Saves the settings.
#[tauri::command]
pub fn save_settings(state: State<'_, AppState>, settings: SettingsView) -> CommandResult<()> {
    let mut stored = state.vault.settings().map_err(VaultError::from)?;
    stored.clipboard_clear_seconds = Some(settings.clipboard_clear_seconds);
    stored.device_warning_days = Some(settings.device_warning_days);
    stored.theme = Some(settings.theme);
    state
        .vault
        .save_settings(&stored)
        .map_err(|e| CommandError::new("invalid_input", e.to_string()))
}
