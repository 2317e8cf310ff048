// Settings: clipboard clear time, device warning days, theme (applied at once).

import { invoke } from './api.js';
import { announce } from './status.js';
import { applyTheme } from './theme.js';
import { $, sentence, setText, show } from './util.js';

const DEFAULTS = { clipboard_clear_seconds: 30, device_warning_days: 7, theme: 'system' };

const form = $('#settings-form');
const clipboardInput = $('#settings-clipboard');
const warnInput = $('#settings-warn-days');
const themeInput = $('#settings-theme');
const errorEl = $('#settings-error');

// What get_settings returned, unknown keys included (saved back untouched).
let stored = {};
let effective = { ...DEFAULTS };

/** The effective settings (defaults filled in). */
export const currentSettings = () => effective;

function fill() {
  clipboardInput.value = String(effective.clipboard_clear_seconds);
  warnInput.value = String(effective.device_warning_days);
  themeInput.value = effective.theme;
}

function merge(settings) {
  stored = settings && typeof settings === 'object' ? settings : {};
  const pick = (key) => (stored[key] === undefined || stored[key] === null ? DEFAULTS[key] : stored[key]);
  effective = {
    clipboard_clear_seconds: Number(pick('clipboard_clear_seconds')),
    device_warning_days: Number(pick('device_warning_days')),
    theme: ['system', 'light', 'dark'].includes(pick('theme')) ? pick('theme') : 'system',
  };
}

/** Reads the settings and applies the theme. */
export async function loadSettings() {
  try {
    merge(await invoke('get_settings'));
    applyTheme(effective.theme);
    if (!form.contains(document.activeElement)) fill();
  } catch (err) {
    if (err.kind !== 'no_backend') {
      setText(errorEl, sentence(err.message));
      show(errorEl, true);
    }
    fill();
  }
  return effective;
}

function fail(message, input) {
  setText(errorEl, message);
  show(errorEl, true);
  input.setAttribute('aria-invalid', 'true');
  input.focus();
}

function wholeNumber(input, min, max) {
  const text = input.value.trim();
  if (!/^\d+$/.test(text)) return null;
  const value = Number(text);
  return value >= min && value <= max ? value : null;
}

themeInput.addEventListener('change', () => applyTheme(themeInput.value));

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  show(errorEl, false);
  clipboardInput.removeAttribute('aria-invalid');
  warnInput.removeAttribute('aria-invalid');
  const clipboard = wholeNumber(clipboardInput, 0, 3600);
  if (clipboard === null) {
    fail('Clear the clipboard after 0 to 3600 seconds (0 keeps what you copied).', clipboardInput);
    return;
  }
  const warn = wholeNumber(warnInput, 0, 90);
  if (warn === null) {
    fail('Give the warning period as 0 to 90 days.', warnInput);
    return;
  }
  const settings = {
    ...stored,
    clipboard_clear_seconds: clipboard,
    device_warning_days: warn,
    theme: themeInput.value,
  };
  const button = $('#settings-save');
  button.disabled = true;
  try {
    await invoke('save_settings', { settings });
    merge(settings);
    applyTheme(effective.theme);
    announce('Settings saved', 'success');
  } catch (err) {
    setText(errorEl, sentence(err.message));
    show(errorEl, true);
  } finally {
    button.disabled = false;
  }
});

/** Shows the version and data folder. */
export function showAbout(info) {
  setText($('#about-version'), info.version || '—');
  setText($('#about-data-dir'), info.data_dir || '—');
}
