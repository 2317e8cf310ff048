//! Generates Tauri's context and one permission per app command, so the capability file
//! can allow exactly our commands.

const COMMANDS: &[&str] = &[
    "app_info",
    "accounts",
    "first_code_painted",
    "preview_text",
    "preview_secret",
    "preview_image",
    "preview_clipboard",
    "confirm_import",
    "rename_account",
    "remove_account",
    "set_pinned",
    "export_qr",
    "copy_code",
    "profiles",
    "add_profile",
    "remove_profile",
    "login",
    "submit_code",
    "copy_token",
    "refresh_token",
    "logout",
    "switch_workspace",
    "whoami",
    "get_settings",
    "save_settings",
    "devices",
    "sync_devices",
    "revoke_device",
    "events",
    "mark_events_read",
    "import_idaas",
    "enable_mfa",
    "clock_status",
    "set_clock_correction",
    "store_status",
    "check_keyring",
    "unlock_store",
    "use_file_store",
    "use_keyring_store",
    "lock_status",
    "lock_now",
    "lock_activity",
    "unlock_app",
    "save_lock_settings",
    "backup_default_path",
    "choose_backup_path",
    "export_backup",
    "choose_import_file",
    "inspect_import_file",
    "preview_import_file",
];

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("failed to run the Tauri build script");
}
