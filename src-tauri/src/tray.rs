//! The tray icon: show or hide the window, copy the codes of pinned accounts, quit.

use tauri::image::Image;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager, Runtime};

use crate::commands::copy_and_schedule_clear;
use crate::state::AppState;

const TRAY_ID: &str = "main";
const COPY_PREFIX: &str = "copy:";

/// Shows the main window if hidden (and focuses it), hides it otherwise.
pub fn toggle_window<R: Runtime>(app: &AppHandle<R>) {
    if let Some(window) = app.get_webview_window("main") {
        if window.is_visible().unwrap_or(false) && window.is_focused().unwrap_or(false) {
            let _ = window.hide();
        } else {
            show_window(app);
        }
    }
}

/// Shows and focuses the main window.
pub fn show_window<R: Runtime>(app: &AppHandle<R>) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.show();
        let _ = window.unminimize();
        let _ = window.set_focus();
    }
}

fn menu(app: &AppHandle) -> tauri::Result<Menu<tauri::Wry>> {
    let menu = Menu::new(app)?;
    menu.append(&MenuItem::with_id(
        app,
        "toggle",
        "Show / hide",
        true,
        None::<&str>,
    )?)?;
    let state = app.state::<AppState>();
    let pinned: Vec<_> = state
        .vault
        .accounts()
        .unwrap_or_default()
        .into_iter()
        .filter(|a| a.pinned)
        .collect();
    if !pinned.is_empty() {
        menu.append(&PredefinedMenuItem::separator(app)?)?;
        for account in pinned {
            let id = format!("{COPY_PREFIX}{}", account.id);
            let text = format!("Copy code: {}", account.display_name());
            menu.append(&MenuItem::with_id(app, id, text, true, None::<&str>)?)?;
        }
    }
    menu.append(&PredefinedMenuItem::separator(app)?)?;
    menu.append(&MenuItem::with_id(app, "quit", "Quit", true, None::<&str>)?)?;
    Ok(menu)
}

fn copy_pinned(app: &AppHandle, id: &str) {
    let state = app.state::<AppState>();
    if crate::lock::codes_hidden(&state) {
        // Locked: no code leaves the app; show the window, which asks for the password.
        show_window(app);
        return;
    }
    let Ok(id) = id.parse() else { return };
    let Ok(account) = state.vault.account(id) else {
        return;
    };
    if let Ok(secret) = state.secret(&account) {
        let now = crate::clock::code_time(&state);
        let code = emnify_auth_core::otp::code_at(&secret, &account.params, now);
        let _ = copy_and_schedule_clear(app, code);
    }
}

/// Creates the tray icon once, after the first codes are painted (or a moment after
/// start-up when there are none): building it blocks the main thread for 100–500 ms,
/// which would otherwise delay the window's first paint.
pub fn ensure(app: &AppHandle) {
    static BUILT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if BUILT.swap(true, std::sync::atomic::Ordering::SeqCst) {
        return;
    }
    let handle = app.clone();
    let _ = app.run_on_main_thread(move || {
        if let Err(err) = build(&handle) {
            // No tray on this desktop: the window still works.
            tracing::warn!(error = %err, "no tray icon");
        }
    });
}

fn build(app: &AppHandle) -> tauri::Result<()> {
    let icon = Image::from_bytes(include_bytes!("../../icons/tray.png"))?;
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(icon)
        .tooltip("emnify Authenticator")
        .menu(&menu(app)?)
        .show_menu_on_left_click(false)
        .on_menu_event(|app, event| match event.id().as_ref() {
            "toggle" => toggle_window(app),
            "quit" => app.exit(0),
            other => {
                if let Some(id) = other.strip_prefix(COPY_PREFIX) {
                    copy_pinned(app, id);
                }
            }
        })
        .on_tray_icon_event(|tray, event| {
            if let TrayIconEvent::Click {
                button: MouseButton::Left,
                button_state: MouseButtonState::Up,
                ..
            } = event
            {
                toggle_window(tray.app_handle());
            }
        })
        .build(app)?;
    Ok(())
}

/// Rebuilds the menu after accounts or pins changed.
pub fn refresh(app: &AppHandle) {
    if let (Some(tray), Ok(menu)) = (app.tray_by_id(TRAY_ID), menu(app)) {
        let _ = tray.set_menu(Some(menu));
    }
}
