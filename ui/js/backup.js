// "Export backup…" and "Import from another app…" (Settings). Files are chosen with the
// native dialog or typed as a path, and read or written by the Rust side: no backup or
// export file passes through this page. An import ends in the Add dialog's preview, then
// a report of what was added and what was skipped, and why.

import { showPreviewOf } from './add.js';
import { invoke } from './api.js';
import { confirm, openModal } from './dialogs.js';
import { announce } from './status.js';
import { $, plural, sentence, setText, show } from './util.js';

const BACKUP_PASSWORD_MIN = 8;

function inlineError(el) {
  return (message) => {
    setText(el, message);
    show(el, Boolean(message));
    if (message) el.scrollIntoView({ block: 'nearest' });
  };
}

// ---------------------------------------------------------------------------- export

const backupDialog = $('#backup-dialog');
const backupForm = $('#backup-form');
const pathInput = $('#backup-path');
const passwordInput = $('#backup-password');
const passwordAgain = $('#backup-password-again');
const plainInput = $('#backup-plain');
const backupError = inlineError($('#backup-error'));
const backupSubmit = $('#backup-submit');

function clearPasswords() {
  passwordInput.value = '';
  passwordAgain.value = '';
}

function showPlain() {
  const plain = plainInput.checked;
  show($('#backup-password-fields'), !plain);
  show($('#backup-plain-warning'), plain);
  setText(backupSubmit, plain ? 'Export without encryption' : 'Export');
  backupSubmit.classList.toggle('danger-btn', plain);
  backupSubmit.classList.toggle('primary', !plain);
  if (plain) clearPasswords();
}

plainInput.addEventListener('change', showPlain);

$('#backup-export-button').addEventListener('click', async () => {
  clearPasswords();
  plainInput.checked = false;
  showPlain();
  backupError('');
  openModal(backupDialog, passwordInput);
  if (!pathInput.value) {
    try {
      const suggested = await invoke('backup_default_path');
      if (!pathInput.value) pathInput.value = suggested; // unless the user typed meanwhile
    } catch {
      /* the user types one */
    }
  }
});

backupDialog.addEventListener('close', clearPasswords);
$('#backup-cancel').addEventListener('click', () => backupDialog.close());

$('#backup-choose').addEventListener('click', async () => {
  try {
    const chosen = await invoke('choose_backup_path', { current: pathInput.value });
    if (chosen) pathInput.value = chosen;
  } catch (err) {
    backupError(sentence(err.message));
  }
});

async function writeBackup(path, plain, overwrite) {
  // Read from the fields at the moment of sending: nothing keeps the password.
  const password = plain ? null : passwordInput.value;
  return invoke('export_backup', { path, password, plain, overwrite });
}

backupForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  backupError('');
  for (const input of [pathInput, passwordInput, passwordAgain]) input.removeAttribute('aria-invalid');
  const path = pathInput.value.trim();
  const plain = plainInput.checked;
  if (!path) {
    pathInput.setAttribute('aria-invalid', 'true');
    backupError('Choose where to save the backup.');
    pathInput.focus();
    return;
  }
  if (!plain) {
    if (passwordInput.value.length < BACKUP_PASSWORD_MIN) {
      passwordInput.setAttribute('aria-invalid', 'true');
      backupError(`Choose a backup password of at least ${BACKUP_PASSWORD_MIN} characters.`);
      passwordInput.focus();
      return;
    }
    if (passwordInput.value !== passwordAgain.value) {
      passwordAgain.setAttribute('aria-invalid', 'true');
      backupError('The two passwords differ: type the same password twice.');
      passwordAgain.focus();
      return;
    }
  }
  backupSubmit.disabled = true;
  try {
    let result;
    try {
      result = await writeBackup(path, plain, false);
    } catch (err) {
      if (err.kind !== 'exists') throw err;
      const replace = await confirm({
        title: 'Replace the file?',
        message: `${path} already exists. Replace it with the new backup?`,
        ok: 'Replace',
        danger: true,
      });
      if (!replace) {
        backupError('Nothing was saved: choose another file name.');
        pathInput.focus();
        return;
      }
      result = await writeBackup(path, plain, true);
    }
    clearPasswords();
    backupDialog.close();
    const what = `${plural(result.accounts, 'account', 'accounts')} saved to ${result.path}`;
    const message = result.encrypted
      ? `Encrypted backup of ${what}.`
      : `Backup without encryption of ${what}: anyone with the file can read every key.`;
    setText($('#backup-result'), message);
    announce(result.encrypted ? 'Backup saved' : 'Backup saved without encryption', 'success');
  } catch (err) {
    backupError(sentence(err.message));
  } finally {
    backupSubmit.disabled = false;
  }
});

// ---------------------------------------------------------------------------- import

const importDialog = $('#import-dialog');
const importForm = $('#import-form');
const importPath = $('#import-path');
const importPasswordField = $('#import-password-field');
const importPassword = $('#import-password');
const importError = inlineError($('#import-error'));
const importBusy = $('#import-busy');
const importNext = $('#import-next');

function resetImport() {
  importPassword.value = '';
  show(importPasswordField, false);
  importError('');
  show(importBusy, false);
  importNext.disabled = false;
}

$('#import-file-button').addEventListener('click', () => {
  resetImport();
  openModal(importDialog, importPath);
});

importDialog.addEventListener('close', () => {
  importPassword.value = '';
});
$('#import-cancel').addEventListener('click', () => importDialog.close());

// A new file: whatever password was typed was for the old one.
importPath.addEventListener('input', () => {
  importPassword.value = '';
  show(importPasswordField, false);
});

$('#import-choose').addEventListener('click', async () => {
  try {
    const chosen = await invoke('choose_import_file');
    if (chosen) {
      importPath.value = chosen;
      importPassword.value = '';
      show(importPasswordField, false);
      importForm.requestSubmit();
    }
  } catch (err) {
    importError(sentence(err.message));
  }
});

function askPassword(format, message) {
  show(importPasswordField, true);
  const what = format ? `This ${format} export` : 'This export';
  setText($('#import-password-hint'), `${what} is encrypted: enter the password it was exported with.`);
  if (message) {
    importPassword.setAttribute('aria-invalid', 'true');
    importError(message);
  }
  importPassword.focus();
}

importForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  importError('');
  importPassword.removeAttribute('aria-invalid');
  const path = importPath.value.trim();
  if (!path) {
    importError('Choose the export file first.');
    importPath.focus();
    return;
  }
  importNext.disabled = true;
  const busyTimer = setTimeout(() => show(importBusy, true), 300);
  try {
    const asking = !importPasswordField.hidden;
    if (!asking) {
      const info = await invoke('inspect_import_file', { path });
      if (info.needs_password) {
        askPassword(info.format, null);
        return;
      }
    } else if (!importPassword.value) {
      askPassword(null, 'Enter the export’s password first.');
      return;
    }
    const password = asking ? importPassword.value : null;
    importPassword.value = '';
    const preview = await invoke('preview_import_file', { path, password });
    importDialog.close();
    if (!showPreviewOf(preview, (result) => showReport(preview, result))) {
      importError('Close the other dialog first, then import again.');
    }
  } catch (err) {
    if (err.kind === 'needs_password' || err.kind === 'wrong_password') {
      askPassword(null, sentence(err.message));
    } else {
      importError(sentence(err.message));
    }
  } finally {
    clearTimeout(busyTimer);
    show(importBusy, false);
    importNext.disabled = false;
  }
});

// ---------------------------------------------------------------------------- report

const reportDialog = $('#import-report');

function fillList(sectionId, lines) {
  const section = $(sectionId);
  show(section, lines.length > 0);
  $('ul', section).replaceChildren(
    ...lines.map((text) => {
      const li = document.createElement('li');
      li.textContent = text;
      return li;
    }),
  );
}

function showReport(preview, result) {
  const added = result.added || [];
  const duplicates = result.duplicates || [];
  const skipped = preview.skipped || [];
  const parts = [`${plural(added.length, 'account', 'accounts')} imported`];
  if (duplicates.length) parts.push(`${duplicates.length} already in the vault`);
  if (skipped.length) parts.push(`${skipped.length} cannot be used here`);
  const from = preview.format ? ` from the ${preview.format} export` : '';
  setText($('#import-report-summary'), `${parts.join(' · ')}${from}.`);
  fillList('#import-report-added', added);
  fillList('#import-report-duplicates', duplicates);
  fillList('#import-report-skipped', skipped);
  openModal(reportDialog, '#import-report-close');
}

$('#import-report-close').addEventListener('click', () => reportDialog.close());
