// The "Add account" dialog: a pasted link, a typed key, an image (picked, dropped or
// pasted), then a preview of what would be added, confirmed or dropped with confirm_import.

import { refresh, focusAccount, knownIds } from './accounts.js';
import { invoke } from './api.js';
import { openModal } from './dialogs.js';
import { gateUp } from './gate.js';
import { announce } from './status.js';
import { $, fromTemplate, modalOpen, plural, sentence, setText, show } from './util.js';

const MAX_IMAGE_BYTES = 25 * 1024 * 1024;

const dialog = $('#add-dialog');
const inputStep = $('#add-input-step');
const previewStep = $('#add-preview-step');
const uriForm = $('#add-uri-form');
const uriInput = $('#add-uri');
const secretForm = $('#add-secret-form');
const secretInput = $('#add-secret');
const issuerInput = $('#add-secret-issuer');
const labelInput = $('#add-secret-label');
const digitsInput = $('#add-secret-digits');
const periodInput = $('#add-secret-period');
const algorithmInput = $('#add-secret-algorithm');
const fileInput = $('#add-file');
const dropzone = $('#add-dropzone');
const errorEl = $('#add-error');
const busyEl = $('#add-busy');
const previewList = $('#add-preview');
const summaryEl = $('#add-preview-summary');
const missingEl = $('#add-missing');
const skippedEl = $('#add-skipped');
const confirmButton = $('#add-confirm');
const cancelButton = $('#add-cancel');
const backButton = $('#add-back');

let pendingId = null; // import_id of the preview on screen
let busy = false;
let onAdded = null; // a file import's report, shown once its preview is confirmed

// ---------------------------------------------------------------------------- open/close

/** Opens the dialog (Ctrl+N, the Add button, the empty state, a drop or paste). */
export function openAdd() {
  if (dialog.open) return;
  if (modalOpen()) return; // another dialog is in the way
  if (gateUp()) return; // locked, or the keys cannot be read yet
  reset();
  openModal(dialog, uriInput);
}

$('#add-button').addEventListener('click', openAdd);
$('#empty-add').addEventListener('click', openAdd);

/**
 * Opens the dialog on a preview made elsewhere (an export file of another app), so every
 * import ends in the same preview; `afterAdd(result)` runs once it is confirmed. Returns
 * false when another dialog is in the way.
 */
export function showPreviewOf(preview, afterAdd = null) {
  if (dialog.open || modalOpen() || gateUp()) return false;
  reset();
  openModal(dialog, cancelButton);
  showPreview(preview);
  onAdded = afterAdd;
  return true;
}

/** Closes the dialog, dropping a preview on screen. */
function closeAdd() {
  dropPending();
  reset();
  if (dialog.open) dialog.close();
}

$('#add-close').addEventListener('click', closeAdd);
cancelButton.addEventListener('click', closeAdd);
backButton.addEventListener('click', () => {
  dropPending();
  showStep('input');
  uriInput.focus();
});

// Escape (or any other close): the same clean-up, unless it was reopened meanwhile.
dialog.addEventListener('close', () => {
  if (dialog.open) return;
  dropPending();
  reset();
});

function dropPending() {
  if (pendingId === null) return;
  const importId = pendingId;
  pendingId = null;
  invoke('confirm_import', { importId, accept: false }).catch(() => {
    /* it expires on its own */
  });
}

function clearSecrets() {
  uriInput.value = '';
  secretInput.value = '';
  fileInput.value = '';
}

function reset() {
  onAdded = null;
  clearSecrets();
  issuerInput.value = '';
  labelInput.value = '';
  digitsInput.value = '6';
  periodInput.value = '30';
  algorithmInput.value = 'SHA1';
  $('details.advanced', dialog).open = false;
  setError(null);
  setBusy(false);
  showStep('input');
}

function showStep(step) {
  const preview = step === 'preview';
  show(inputStep, !preview);
  show(previewStep, preview);
  show(confirmButton, preview);
  show(backButton, preview);
  setText(cancelButton, 'Cancel');
  if (!preview) {
    previewList.replaceChildren();
    setText(summaryEl, '');
  }
}

function setError(err) {
  if (err && err.kind === 'missing_command') {
    err = 'This version cannot read a pasted image: save the screenshot and use “Choose image…”, or drop it here.';
  }
  const message = err ? sentence(err.message || err) : '';
  setText(errorEl, message);
  show(errorEl, Boolean(message));
  if (message) errorEl.scrollIntoView({ block: 'nearest' });
}

let busyTimer = 0;

function setBusy(on, text = 'Reading…') {
  busy = on;
  dialog.setAttribute('aria-busy', on ? 'true' : 'false');
  setText(busyEl, text);
  // Only slow work (a large image) says so: a flash of "Reading…" would shake the layout.
  clearTimeout(busyTimer);
  if (on) busyTimer = setTimeout(() => show(busyEl, busy), 300);
  else show(busyEl, false);
  for (const button of dialog.querySelectorAll('button[type="submit"], #add-confirm')) {
    button.disabled = on;
  }
}

// ---------------------------------------------------------------------------- sources

async function runPreview(request) {
  if (busy) return;
  setError(null);
  setBusy(true);
  try {
    const preview = await request();
    // The keys now wait in the backend: keep none of them in the page.
    clearSecrets();
    showPreview(preview);
  } catch (err) {
    setError(err);
  } finally {
    setBusy(false);
  }
}

uriForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const text = uriInput.value.trim();
  if (!text) {
    setError('Paste an otpauth:// or otpauth-migration:// link first (one per line).');
    uriInput.focus();
    return;
  }
  runPreview(() => invoke('preview_text', { text }));
});

// Enter adds a line in the link box; Ctrl+Enter previews.
uriInput.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    uriForm.requestSubmit();
  }
});

secretForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const secret = secretInput.value.trim();
  const label = labelInput.value.trim();
  if (!secret) {
    setError('Type the setup key (letters A–Z and digits 2–7) first.');
    secretInput.focus();
    return;
  }
  if (!label) {
    setError('Give the account a name, e.g. your user name at that service.');
    labelInput.focus();
    return;
  }
  runPreview(() =>
    invoke('preview_secret', {
      secret,
      issuer: issuerInput.value.trim(),
      label,
      digits: Number(digitsInput.value) || 6,
      period: Number(periodInput.value) || 30,
      algorithm: algorithmInput.value,
    }),
  );
});

/** Reads an image file (picked, dropped or pasted) and previews the QR codes in it. */
export async function previewFile(file) {
  if (!dialog.open) openAdd();
  if (!dialog.open) return;
  if (file.type && !file.type.startsWith('image/')) {
    setError(`“${file.name}” is not an image: choose a PNG or JPEG screenshot of the QR code.`);
    return;
  }
  if (file.size > MAX_IMAGE_BYTES) {
    setError('That image is too large (over 25 MB): crop the screenshot to the QR code.');
    return;
  }
  await runPreview(async () => {
    const bytes = new Uint8Array(await file.arrayBuffer());
    return invoke('preview_image', bytes);
  });
}

fileInput.addEventListener('change', () => {
  const file = fileInput.files && fileInput.files[0];
  if (file) previewFile(file);
});

// Drag and drop onto the dialog or anywhere in the window.
let dragDepth = 0;
const hasFiles = (event) =>
  Boolean(event.dataTransfer) && Array.from(event.dataTransfer.types || []).includes('Files');

window.addEventListener('dragenter', (event) => {
  if (!hasFiles(event)) return;
  event.preventDefault();
  dragDepth++;
  document.body.classList.add('dragging');
});
window.addEventListener('dragover', (event) => {
  if (!hasFiles(event)) return;
  event.preventDefault();
  event.dataTransfer.dropEffect = 'copy';
});
window.addEventListener('dragleave', (event) => {
  if (!hasFiles(event)) return;
  dragDepth = Math.max(0, dragDepth - 1);
  if (dragDepth === 0) document.body.classList.remove('dragging');
});
window.addEventListener('drop', (event) => {
  if (!hasFiles(event)) return;
  event.preventDefault();
  dragDepth = 0;
  document.body.classList.remove('dragging');
  const file = Array.from(event.dataTransfer.files).find((f) => !f.type || f.type.startsWith('image/'));
  if (!file) {
    announce('Drop an image of the QR code (PNG or JPEG).', 'error');
    return;
  }
  if (modalOpen() && !dialog.open) return;
  previewFile(file);
});
dropzone.addEventListener('dragenter', () => dropzone.classList.add('over'));
dropzone.addEventListener('dragleave', () => dropzone.classList.remove('over'));
dropzone.addEventListener('drop', () => dropzone.classList.remove('over'));

// Paste a screenshot (Ctrl+V) anywhere but in another dialog.
document.addEventListener('paste', (event) => {
  const data = event.clipboardData;
  if (!data) return;
  if (modalOpen() && !dialog.open) return;
  const imageItem = Array.from(data.items || []).find(
    (item) => item.kind === 'file' && item.type.startsWith('image/'),
  );
  const file = imageItem && imageItem.getAsFile();
  if (file) {
    event.preventDefault();
    previewFile(file);
    return;
  }
  // WebKitGTK does not hand pasted images to the page: the paste then carries nothing at
  // all. Ask the backend to read the clipboard image instead.
  if (Array.from(data.types || []).length === 0) {
    event.preventDefault();
    previewClipboard();
  }
});

async function previewClipboard() {
  if (!dialog.open) openAdd();
  if (!dialog.open) return;
  await runPreview(() => invoke('preview_clipboard'));
}

// ---------------------------------------------------------------------------- preview

function paramsText(item) {
  const parts = [];
  if (item.digits !== 6) parts.push(`${item.digits} digits`);
  if (item.period !== 30) parts.push(`${item.period} s`);
  if (item.algorithm && item.algorithm !== 'SHA1') parts.push(item.algorithm);
  return parts.length ? parts.join(' · ') : '6 digits · 30 s';
}

function showPreview(preview) {
  pendingId = preview.import_id;
  const rows = preview.items.map((item) => {
    const li = fromTemplate('tpl-preview-item');
    li.querySelector('.preview-issuer').textContent = item.issuer || item.label;
    li.querySelector('.preview-label').textContent = item.issuer ? item.label : '';
    li.querySelector('.preview-params').textContent = paramsText(item);
    if (item.duplicate_of) {
      li.classList.add('duplicate');
      const dup = li.querySelector('.preview-duplicate');
      dup.textContent = `Already in the vault as ${item.duplicate_of}`;
      dup.hidden = false;
    }
    return li;
  });
  previewList.replaceChildren(...rows);

  const total = preview.items.length;
  const duplicates = preview.items.filter((i) => i.duplicate_of).length;
  const fresh = total - duplicates;
  let summary = `${plural(total, 'account', 'accounts')} found`;
  if (duplicates === total) summary += total === 1 ? ' — it is already in the vault.' : ' — all already in the vault.';
  else if (duplicates) summary += ` — ${duplicates} already in the vault.`;
  else summary += '.';
  setText(summaryEl, summary);
  confirmButton.disabled = fresh === 0;
  setText(confirmButton, fresh === 0 ? 'Nothing new to add' : fresh === 1 ? 'Add account' : `Add ${fresh} accounts`);

  const missing = preview.missing_batch_codes || [];
  show(missingEl, missing.length > 0);
  if (missing.length) {
    const list = missing.join(', ');
    setText(
      $('#add-missing-text'),
      `This export is split over several QR codes and ${missing.length === 1 ? `code ${list} is` : `codes ${list} are`} missing. Add ${missing.length === 1 ? 'it' : 'them'} too to get every account.`,
    );
  }
  const skipped = preview.skipped || [];
  show(skippedEl, skipped.length > 0);
  $('#add-skipped-list').replaceChildren(
    ...skipped.map((text) => {
      const li = document.createElement('li');
      li.textContent = text;
      return li;
    }),
  );
  showStep('preview');
  (fresh ? confirmButton : cancelButton).focus();
}

confirmButton.addEventListener('click', async () => {
  if (pendingId === null || busy) return;
  const importId = pendingId;
  const before = knownIds();
  const report = onAdded;
  setBusy(true, 'Adding…');
  try {
    const result = await invoke('confirm_import', { importId, accept: true });
    pendingId = null;
    closeAdd();
    if (report) report(result);
    const added = result.added || [];
    const dups = result.duplicates || [];
    let message = added.length === 1 ? `Added ${added[0]}` : `Added ${plural(added.length, 'account', 'accounts')}`;
    if (dups.length) message += ` · ${dups.length === 1 ? '1 was' : `${dups.length} were`} already in the vault`;
    if (!added.length) message = 'Nothing added: already in the vault';
    announce(message, 'success');
    const list = await refresh({ fresh: true }).catch(() => null);
    const fresh = list && list.find((a) => !before.has(a.id));
    if (fresh) focusAccount(fresh.id);
  } catch (err) {
    setBusy(false);
    if (err.kind === 'not_found') {
      pendingId = null;
      showStep('input');
    }
    setError(err);
  }
});
