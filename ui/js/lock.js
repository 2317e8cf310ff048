// The app lock as the page sees it: the lock screen, the lock button and Ctrl+L, activity
// reports for the idle timer, and the "App lock" settings. The Rust side decides when to
// lock and refuses every code and token while locked; the page takes the codes it showed
// out of the DOM and asks for the password, which it sends once and does not keep.

import * as accounts from './accounts.js';
import { invoke, listen } from './api.js';
import { gateUp, showGate } from './gate.js';
import { announce } from './status.js';
import { $, sentence, setText, show } from './util.js';

const ACTIVITY_EVERY_MS = 15000; // the idle timer needs no finer news than this

const screen = $('#lock-screen');
const form = $('#lock-form');
const passwordInput = $('#lock-password');
const passwordField = $('#lock-password-field');
const errorEl = $('#lock-error');
const submitButton = $('#lock-submit');
const lockButton = $('#lock-button');

const settingsForm = $('#lock-settings');
const modeInput = $('#lock-mode');
const passwordFields = $('#lock-password-fields');
const newPassword = $('#lock-new-password');
const newPasswordAgain = $('#lock-new-password-again');
const idleInput = $('#lock-idle');
const screenLockInput = $('#lock-on-screen-lock');
const keyringHint = $('#lock-keyring-hint');
const settingsError = $('#lock-settings-error');

let locked = false;
let mode = 'off';
let storeKind = 'keyring';

/** Whether the lock screen is up. */
export const isLocked = () => locked;

const accountsShown = () => $('#tab-accounts').getAttribute('aria-selected') === 'true';

/** Takes note of the lock mode and the store (from store_status or lock_status). */
export function setMode(newMode, kind) {
  mode = newMode || 'off';
  if (kind) storeKind = kind;
  show(lockButton, mode !== 'off');
}

function setError(message) {
  setText(errorEl, message);
  show(errorEl, Boolean(message));
  if (message) passwordInput.setAttribute('aria-invalid', 'true');
  else passwordInput.removeAttribute('aria-invalid');
}

const HINTS = {
  password: 'Enter your lock password to see your codes.',
  vault_file: 'Enter the vault file’s password to see your codes.',
  keyring: 'Choose Unlock: your keyring then asks for its password in its own window.',
};

// With the keyring's own prompt the page asks for nothing.
const keyringMode = () => mode === 'keyring';

function setSubmitLabel(waiting) {
  if (!keyringMode()) setText(submitButton, 'Unlock');
  else setText(submitButton, waiting ? 'Waiting for the keyring…' : 'Unlock with the keyring');
}

/** Shows the lock screen and takes every code out of the page. */
export function showLockScreen() {
  locked = true;
  accounts.clearCodes();
  setText(
    $('#lock-password-label'),
    mode === 'vault_file' ? 'Vault file password' : 'Lock password',
  );
  setText($('#lock-hint'), HINTS[mode] || HINTS.password);
  show(passwordField, !keyringMode());
  setSubmitLabel(false);
  passwordInput.value = '';
  setError('');
  showGate(screen, true, keyringMode() ? submitButton : passwordInput);
}

function hideLockScreen() {
  if (!locked) return;
  locked = false;
  passwordInput.value = '';
  setError('');
  showGate(screen, false);
  if (accountsShown() && !gateUp()) accounts.start();
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const password = keyringMode() ? '' : passwordInput.value;
  if (!password && !keyringMode()) {
    setError('Enter the password first.');
    passwordInput.focus();
    return;
  }
  submitButton.disabled = true;
  setSubmitLabel(true);
  setError('');
  passwordInput.value = '';
  try {
    await invoke('unlock_app', { password });
    hideLockScreen();
    announce('Unlocked', 'success');
  } catch (err) {
    setError(sentence(err.message));
    (keyringMode() ? submitButton : passwordInput).focus();
  } finally {
    submitButton.disabled = false;
    setSubmitLabel(false);
  }
});

async function lockNow() {
  if (mode === 'off') {
    announce('The app lock is off: choose a lock password in Settings first.', 'error');
    return;
  }
  try {
    await invoke('lock_now');
    showLockScreen();
  } catch (err) {
    announce(sentence(err.message), 'error');
  }
}

lockButton.addEventListener('click', lockNow);

// Ctrl+L locks from anywhere, dialogs included (locking closes them).
document.addEventListener(
  'keydown',
  (event) => {
    const ctrl = event.ctrlKey || event.metaKey;
    if (!ctrl || event.altKey || event.shiftKey || event.key.toLowerCase() !== 'l') return;
    event.preventDefault();
    if (!locked) lockNow();
  },
  true,
);

// The backend locks on its own (idle, screen lock) and unlocks (vault file password).
listen('app-lock', (event) => {
  const payload = event.payload || {};
  if (payload.locked) {
    if (!locked) showLockScreen();
  } else {
    hideLockScreen();
  }
});

// User activity restarts the idle timer; told at most every 15 s.
let lastReport = 0;
function activity() {
  if (locked || mode === 'off') return;
  const now = Date.now();
  if (now - lastReport < ACTIVITY_EVERY_MS) return;
  lastReport = now;
  invoke('lock_activity').catch(() => {});
}
for (const type of ['pointerdown', 'pointermove', 'keydown', 'wheel']) {
  document.addEventListener(type, activity, { passive: true, capture: true });
}

// ---------------------------------------------------------------------------- settings

function showPasswordFields() {
  show(passwordFields, modeInput.value === 'password');
  show(keyringHint, modeInput.value === 'keyring');
}

modeInput.addEventListener('change', showPasswordFields);

function fill(view) {
  setMode(view.mode, view.store_kind);
  const fileOption = modeInput.querySelector('option[value="vault_file"]');
  fileOption.disabled = storeKind !== 'file';
  modeInput.querySelector('option[value="keyring"]').disabled = storeKind !== 'keyring';
  modeInput.value = view.mode;
  idleInput.value = String(view.idle_minutes);
  screenLockInput.checked = Boolean(view.lock_on_screen_lock);
  newPassword.value = '';
  newPasswordAgain.value = '';
  showPasswordFields();
  setText(settingsError, view.problem ? sentence(view.problem) : '');
  show(settingsError, Boolean(view.problem));
}

/** Reads the lock settings into the settings screen. */
export async function loadLockSettings() {
  try {
    const view = await invoke('lock_status');
    if (!settingsForm.contains(document.activeElement)) fill(view);
    else setMode(view.mode, view.store_kind);
  } catch (err) {
    if (err.kind !== 'no_backend') {
      setText(settingsError, sentence(err.message));
      show(settingsError, true);
    }
  }
}

function fail(message, input) {
  setText(settingsError, message);
  show(settingsError, true);
  if (input) {
    input.setAttribute('aria-invalid', 'true');
    input.focus();
  }
}

settingsForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  show(settingsError, false);
  for (const input of [newPassword, newPasswordAgain, idleInput]) input.removeAttribute('aria-invalid');
  const chosen = modeInput.value;
  const idleText = idleInput.value.trim();
  const idle = /^\d+$/.test(idleText) ? Number(idleText) : -1;
  if (idle < 0 || idle > 1440) {
    fail('Lock after 0 (never) to 1440 minutes without use.', idleInput);
    return;
  }
  let password = null;
  if (chosen === 'password') {
    const typed = newPassword.value;
    if (typed || newPasswordAgain.value || mode !== 'password') {
      if (typed.length < 4) {
        fail('Choose a lock password of at least 4 characters.', newPassword);
        return;
      }
      if (typed !== newPasswordAgain.value) {
        fail('The two passwords differ: type the same password twice.', newPasswordAgain);
        return;
      }
      password = typed;
    }
  }
  newPassword.value = '';
  newPasswordAgain.value = '';
  const button = $('#lock-save');
  button.disabled = true;
  try {
    const view = await invoke('save_lock_settings', {
      choice: {
        mode: chosen,
        password,
        idle_minutes: idle,
        lock_on_screen_lock: screenLockInput.checked,
      },
    });
    fill(view);
    announce(
      view.mode === 'off' ? 'App lock turned off' : 'App lock saved: Ctrl+L locks now',
      'success',
    );
  } catch (err) {
    fail(sentence(err.message), null);
  } finally {
    button.disabled = false;
  }
});
