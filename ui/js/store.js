// Where the keys are kept, as the page sees it. At start-up: the unlock screen when the
// keys are in the encrypted vault file, the keyring screen when the keyring cannot be
// reached (with "Try again" and "Use an encrypted vault file instead"; the file is never
// chosen silently), the lock screen when the app lock is on. In Settings: where the keys
// are, and moving them to the other store. Passwords are sent once and not kept.

import * as accounts from './accounts.js';
import { invoke } from './api.js';
import { confirm } from './dialogs.js';
import { showGate } from './gate.js';
import { loadLockSettings, setMode, showLockScreen } from './lock.js';
import { announce } from './status.js';
import { $, plural, sentence, setText, show } from './util.js';

const FILE_PASSWORD_MIN = 8;

const accountsShown = () => $('#tab-accounts').getAttribute('aria-selected') === 'true';

function resume() {
  if (accountsShown()) accounts.start();
}

/** Checks two new-password fields; returns the password, or null after saying why not. */
function newPassword(first, second, fail) {
  for (const input of [first, second]) input.removeAttribute('aria-invalid');
  const password = first.value;
  if (password.length < FILE_PASSWORD_MIN) {
    first.setAttribute('aria-invalid', 'true');
    fail(`Choose a password of at least ${FILE_PASSWORD_MIN} characters for the vault file.`);
    first.focus();
    return null;
  }
  if (password !== second.value) {
    second.setAttribute('aria-invalid', 'true');
    fail('The two passwords differ: type the same password twice.');
    second.focus();
    return null;
  }
  return password;
}

function inlineError(el) {
  return (message) => {
    setText(el, message);
    show(el, Boolean(message));
  };
}

// ---------------------------------------------------------------------------- unlock screen

const unlockScreen = $('#unlock-screen');
const unlockInput = $('#unlock-password');
const unlockError = inlineError($('#unlock-error'));

$('#unlock-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const password = unlockInput.value;
  unlockInput.value = '';
  if (!password) {
    unlockError('Enter the vault file’s password first.');
    unlockInput.focus();
    return;
  }
  const button = $('#unlock-submit');
  button.disabled = true;
  try {
    await invoke('unlock_store', { password });
    unlockError('');
    unlockInput.removeAttribute('aria-invalid');
    showGate(unlockScreen, false);
    announce('Vault file unlocked', 'success');
    resume();
  } catch (err) {
    unlockInput.setAttribute('aria-invalid', 'true');
    unlockError(sentence(err.message));
    unlockInput.focus();
  } finally {
    button.disabled = false;
  }
});

// ---------------------------------------------------------------------------- keyring screen

const keyringScreen = $('#keyring-screen');
const useFileButton = $('#use-file');
const useFileForm = $('#use-file-form');
const filePassword = $('#file-password');
const filePasswordAgain = $('#file-password-again');
const useFileError = inlineError($('#use-file-error'));

function showKeyringScreen(err) {
  accounts.stop();
  setText($('#keyring-error'), sentence(err.message));
  showGate(keyringScreen, true, $('#keyring-retry'));
}

async function checkKeyring() {
  try {
    await invoke('check_keyring');
    return true;
  } catch (err) {
    if (err.kind === 'no_backend' || err.kind === 'missing_command') return true;
    showKeyringScreen(err);
    return false;
  }
}

$('#keyring-retry').addEventListener('click', async () => {
  const button = $('#keyring-retry');
  button.disabled = true;
  try {
    if (await checkKeyring()) {
      showGate(keyringScreen, false);
      announce('The keyring answers again', 'success');
      resume();
    } else {
      announce('The keyring still cannot be reached.', 'error');
    }
  } finally {
    button.disabled = false;
  }
});

useFileButton.addEventListener('click', () => {
  const open = useFileForm.hidden;
  show(useFileForm, open);
  useFileButton.setAttribute('aria-expanded', open ? 'true' : 'false');
  if (open) filePassword.focus();
});

useFileForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  useFileError('');
  const password = newPassword(filePassword, filePasswordAgain, useFileError);
  if (password === null) return;
  filePassword.value = '';
  filePasswordAgain.value = '';
  const button = $('#use-file-submit');
  button.disabled = true;
  try {
    const moved = await invoke('use_file_store', { password });
    showGate(keyringScreen, false);
    show(useFileForm, false);
    useFileButton.setAttribute('aria-expanded', 'false');
    setMode(moved.status.lock_mode, moved.status.kind);
    announce(
      moved.moved
        ? `${plural(moved.moved, 'key', 'keys')} moved to the encrypted vault file`
        : 'Your keys are now kept in the encrypted vault file',
      'success',
    );
    resume();
  } catch (err) {
    useFileError(sentence(err.message));
    filePassword.focus();
  } finally {
    button.disabled = false;
  }
});

// ---------------------------------------------------------------------------- start-up

/**
 * Decides what the window shows first; `start` begins painting codes. Asks the backend
 * once (no keyring or file access), so the first code is not delayed.
 */
export async function startGate(start) {
  let status;
  try {
    status = await invoke('store_status');
  } catch {
    start(); // no backend (or an old one): the accounts screen says what is wrong
    return;
  }
  setMode(status.lock_mode, status.kind);
  if (status.kind === 'file' && status.file_locked) {
    setText($('#unlock-path'), status.file_path);
    showGate(unlockScreen, true, unlockInput);
    return;
  }
  if (status.app_locked) {
    showLockScreen(); // unlocking starts the codes
    return;
  }
  start();
  if (status.kind === 'keyring') checkKeyring();
}

// ---------------------------------------------------------------------------- settings

const whereEl = $('#store-where');
const hintEl = $('#store-hint');
const moveButton = $('#store-move');
const moveForm = $('#store-move-form');
const movePassword = $('#store-new-password');
const movePasswordAgain = $('#store-new-password-again');
const storeError = inlineError($('#store-error'));
let current = null;

function fillStore(status) {
  current = status;
  if (status.kind === 'file') {
    setText(whereEl, `Your keys are in an encrypted vault file: ${status.file_path}`);
    setText(hintEl, 'Its password is asked for when the app starts. Moving the keys to the keyring deletes the file.');
    setText(moveButton, 'Move the keys to the keyring…');
    moveButton.removeAttribute('aria-expanded');
    moveButton.removeAttribute('aria-controls');
  } else {
    setText(whereEl, 'Your keys are in the desktop keyring (Secret Service).');
    setText(hintEl, 'Without a keyring, or to keep the keys in one file, move them to an encrypted vault file protected by a password.');
    setText(moveButton, 'Move the keys to an encrypted file…');
    moveButton.setAttribute('aria-controls', 'store-move-form');
    moveButton.setAttribute('aria-expanded', moveForm.hidden ? 'false' : 'true');
  }
}

/** Reads where the keys are into the settings screen (and the lock settings). */
export async function loadStoreSettings() {
  try {
    fillStore(await invoke('store_status'));
  } catch (err) {
    if (err.kind !== 'no_backend') storeError(sentence(err.message));
  }
  loadLockSettings();
}

function closeMoveForm() {
  movePassword.value = '';
  movePasswordAgain.value = '';
  show(moveForm, false);
  if (current && current.kind === 'keyring') moveButton.setAttribute('aria-expanded', 'false');
}

async function moved(request, busyButton) {
  busyButton.disabled = true;
  storeError('');
  try {
    const result = await request();
    closeMoveForm();
    fillStore(result.status);
    setMode(result.status.lock_mode, result.status.kind);
    const where = result.status.kind === 'file' ? 'the encrypted vault file' : 'the keyring';
    announce(`${plural(result.moved, 'key', 'keys')} moved to ${where}`, 'success');
    if (result.note) storeError(result.note);
    loadLockSettings();
  } catch (err) {
    storeError(sentence(err.message));
  } finally {
    busyButton.disabled = false;
  }
}

moveButton.addEventListener('click', async () => {
  if (!current) return;
  if (current.kind === 'file') {
    const ok = await confirm({
      title: 'Move the keys to the keyring?',
      message: 'Every key goes into the desktop keyring and the encrypted vault file is deleted.',
      ok: 'Move the keys',
    });
    if (ok) await moved(() => invoke('use_keyring_store'), moveButton);
    return;
  }
  const open = moveForm.hidden;
  show(moveForm, open);
  moveButton.setAttribute('aria-expanded', open ? 'true' : 'false');
  if (open) movePassword.focus();
});

$('#store-move-cancel').addEventListener('click', () => {
  closeMoveForm();
  moveButton.focus();
});

moveForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  storeError('');
  const password = newPassword(movePassword, movePasswordAgain, storeError);
  if (password === null) return;
  movePassword.value = '';
  movePasswordAgain.value = '';
  await moved(() => invoke('use_file_store', { password }), $('#store-move-submit'));
});
