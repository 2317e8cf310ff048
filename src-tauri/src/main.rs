//! emnify Authenticator, the desktop app: a Tauri 2 window over `emnify_auth_core`.
//! `--demo` runs it against an embedded API simulator with throwaway data.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod backup;
mod clock;
mod commands;
mod demo;
mod devices;
mod error;
mod events;
mod keyring_lock;
mod lock;
mod state;
mod store;
mod tray;

use anyhow::Result;
use emnify_auth_core::{Vault, paths};
use tauri::{Manager, RunEvent};

use crate::state::AppState;
use crate::store::AppStore;

fn demo_requested() -> bool {
    std::env::args().skip(1).any(|arg| arg == "--demo")
        || std::env::var("EMNIFY_AUTH_DEMO").is_ok_and(|v| v == "1")
}

fn prepare() -> Result<AppState> {
    if demo_requested() {
        let demo = demo::Demo::start()?;
        let data_dir = demo.data_dir().to_owned();
        // The demo keeps its own keyring namespace; its folder may move to a vault file too.
        let store = AppStore::open(&data_dir, demo.keyring_service())?;
        let vault = Vault::open(&data_dir, store);
        demo.seed(&vault)?;
        return Ok(AppState::new(vault, data_dir, Some(demo)));
    }
    let data_dir = paths::data_dir()?;
    // The vault file stays locked until the window's unlock screen gets its password.
    let store = AppStore::open(&data_dir, &paths::keyring_service())?;
    let vault = Vault::open(&data_dir, store);
    Ok(AppState::new(vault, data_dir, None))
}

/// The D-Bus name stem of the single instance on `data_dir`: the app identifier plus a
/// digest of the folder, so that each data folder has its own instance.
fn instance_id(data_dir: &std::path::Path) -> String {
    use sha2::{Digest, Sha256};
    let folder = std::fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_owned());
    let digest = Sha256::digest(folder.as_os_str().as_encoded_bytes());
    format!(
        "net.emnify.authenticator.folder_{}",
        hex::encode(&digest[..8])
    )
}

fn main() {
    emnify_auth_core::recovered_panic::quiet_hook();
    let state = match prepare() {
        Ok(state) => state,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::exit(1);
        }
    };
    let demo = state.demo.is_some();
    let lock_state = lock::LockState::load(&state);
    let mut builder = tauri::Builder::default();
    if !demo {
        // A demo may run beside the real app; two real instances on one data folder may
        // not. Another folder (`EMNIFY_AUTH_DATA_DIR`) is another installation with its
        // own instance.
        builder = builder.plugin(
            tauri_plugin_single_instance::Builder::new()
                .callback(|app, _args, _cwd| tray::show_window(app))
                .dbus_id(instance_id(&state.data_dir))
                .build(),
        );
    }
    let app = builder
        .plugin(tauri_plugin_window_state::Builder::default().build())
        .plugin(tauri_plugin_clipboard_manager::init())
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_dialog::init())
        .manage(state)
        .manage(lock_state)
        .manage(events::ShownEvents::default())
        .invoke_handler(tauri::generate_handler![
            commands::app_info,
            commands::accounts,
            commands::first_code_painted,
            commands::preview_text,
            commands::preview_secret,
            commands::preview_image,
            commands::preview_clipboard,
            commands::confirm_import,
            commands::rename_account,
            commands::remove_account,
            commands::set_pinned,
            commands::export_qr,
            commands::copy_code,
            commands::profiles,
            commands::add_profile,
            commands::remove_profile,
            commands::login,
            commands::submit_code,
            commands::copy_token,
            commands::refresh_token,
            commands::logout,
            commands::switch_workspace,
            commands::whoami,
            commands::get_settings,
            commands::save_settings,
            devices::devices,
            devices::sync_devices,
            devices::revoke_device,
            events::events,
            events::mark_events_read,
            events::import_idaas,
            events::enable_mfa,
            clock::clock_status,
            clock::set_clock_correction,
            store::store_status,
            store::check_keyring,
            store::unlock_store,
            store::use_file_store,
            store::use_keyring_store,
            lock::lock_status,
            lock::lock_now,
            lock::lock_activity,
            lock::unlock_app,
            lock::save_lock_settings,
            backup::backup_default_path,
            backup::choose_backup_path,
            backup::export_backup,
            backup::choose_import_file,
            backup::inspect_import_file,
            backup::preview_import_file,
        ])
        .setup(|app| {
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
                tray::ensure(&handle);
            });
            devices::watch_expiry(app.handle());
            lock::start(app.handle());
            Ok(())
        })
        .build(tauri::generate_context!());
    let app = match app {
        Ok(app) => app,
        Err(err) => {
            eprintln!("error: cannot start the window: {err}");
            std::process::exit(1);
        }
    };
    app.run(|app, event| {
        if let RunEvent::Exit = event {
            let state = app.state::<AppState>();
            if let Some(demo) = &state.demo {
                // Quitting while locked must still clean the demo's keyring entries.
                state.vault.secrets().set_app_locked(false);
                demo.clean_keyring(&state.vault);
            }
        }
    });
}
