// Settings: clipboard clear time, device warning days, theme (applied at once), and the
// clock against emnify's with the choice to correct codes for it (saved at once).

import { invoke } from './api.js';
import { announce, showClockWarning } from './status.js';
import { applyTheme } from './theme.js';
import { $, formatTime, sentence, setText, show } from './util.js';

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
  loadClock();
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

// ---------------------------------------------------------------------------- clock

// The offset is measured on every emnify response (logins, token refreshes…); it is
// read again every 30 s so the warning line follows a login made meanwhile.
const CLOCK_POLL_MS = 30000;

/** The Clock card (built here, so the page markup stays as it is), after the form. */
function buildClockCard() {
  const card = document.createElement('section');
  card.className = 'card form';
  card.id = 'clock-card';
  card.setAttribute('aria-labelledby', 'clock-title');
  const title = document.createElement('h2');
  title.id = 'clock-title';
  title.textContent = 'Clock';
  const offset = document.createElement('p');
  offset.id = 'clock-offset';
  offset.textContent = 'Clock: not measured yet';
  const label = document.createElement('label');
  label.className = 'check';
  label.htmlFor = 'settings-clock-correction';
  const box = document.createElement('input');
  box.type = 'checkbox';
  box.id = 'settings-clock-correction';
  box.setAttribute('aria-describedby', 'clock-hint');
  const text = document.createElement('span');
  text.textContent = 'Correct codes for emnify’s clock';
  label.append(box, text);
  const hint = document.createElement('p');
  hint.id = 'clock-hint';
  hint.className = 'hint';
  hint.textContent =
    'The offset is measured on every answer from emnify. When this computer’s clock is off, ' +
    'emnify refuses its codes: correct them here (saved at once), or fix the system clock (e.g. enable NTP).';
  const error = document.createElement('p');
  error.id = 'clock-error';
  error.className = 'error-text';
  error.setAttribute('role', 'alert');
  error.hidden = true;
  card.append(title, offset, label, hint, error);
  form.after(card);
  return { offset, box, error };
}

const clock = buildClockCard();

/** "90 s behind emnify", "12 s ahead of emnify", "in sync with emnify". */
function relation(seconds) {
  if (seconds > 0) return `${seconds} s behind emnify`;
  if (seconds < 0) return `${-seconds} s ahead of emnify`;
  return 'in sync with emnify';
}

function renderClock(view) {
  const measured = view.offset_seconds !== null && view.offset_seconds !== undefined;
  if (measured) {
    const seconds = Number(view.offset_seconds);
    setText(
      clock.offset,
      `Clock: ${relation(seconds)} (measured ${formatTime(view.measured_at)} against ${view.source})`,
    );
    clock.offset.dataset.offsetSeconds = String(seconds);
  } else {
    setText(clock.offset, 'Clock: not measured yet (it is measured at the next emnify login)');
    delete clock.offset.dataset.offsetSeconds;
  }
  clock.box.checked = Boolean(view.correction);
  showClockWarning(
    view.warning
      ? `This computer’s clock is ${relation(Number(view.offset_seconds))}’s: emnify may refuse its codes. ` +
          'Turn on “Correct codes for emnify’s clock” in Settings, or fix the system clock (e.g. enable NTP).'
      : null,
  );
}

/** Reads the clock offset and correction setting; updates the card and the warning line. */
export async function loadClock() {
  try {
    renderClock(await invoke('clock_status'));
  } catch (err) {
    if (err.kind !== 'no_backend') setText(clock.offset, 'Clock: unknown');
  }
}

clock.box.addEventListener('change', async () => {
  const enabled = clock.box.checked;
  show(clock.error, false);
  clock.box.disabled = true;
  try {
    renderClock(await invoke('set_clock_correction', { enabled }));
    announce(
      enabled ? 'Codes now follow emnify’s clock' : 'Codes now follow this computer’s clock',
      'success',
    );
  } catch (err) {
    clock.box.checked = !enabled;
    setText(clock.error, sentence(err.message));
    show(clock.error, true);
  } finally {
    clock.box.disabled = false;
  }
});

setInterval(() => {
  if (!document.hidden) loadClock();
}, CLOCK_POLL_MS);
