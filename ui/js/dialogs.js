// Modal dialogs: native <dialog> with showModal() (focus trap, Escape, inert page),
// focus placed on open and given back to the opener on close.

import { $ } from './util.js';

/** Opens `dialog` modally, focuses `focus` (element or selector) and restores focus later. */
export function openModal(dialog, focus) {
  if (dialog.open) return;
  const opener = document.activeElement;
  dialog.addEventListener(
    'close',
    () => {
      if (opener && opener.isConnected && typeof opener.focus === 'function') {
        opener.focus({ preventScroll: true });
      }
    },
    { once: true },
  );
  dialog.showModal();
  const target = typeof focus === 'string' ? $(focus, dialog) : focus;
  if (target) target.focus();
}

const confirmDialog = document.getElementById('confirm-dialog');
const confirmTitle = document.getElementById('confirm-title');
const confirmMessage = document.getElementById('confirm-message');
const confirmOk = document.getElementById('confirm-ok');
const confirmCancel = document.getElementById('confirm-cancel');

let settle = null; // resolves the open question

function answer(value) {
  const resolve = settle;
  settle = null;
  if (confirmDialog.open) confirmDialog.close(value ? 'ok' : 'cancel');
  if (resolve) resolve(value);
}

confirmOk.addEventListener('click', () => answer(true));
confirmCancel.addEventListener('click', () => answer(false));
// Escape or any other way of closing means no.
confirmDialog.addEventListener('close', () => answer(false));

/**
 * Asks a yes/no question; resolves to true when confirmed.
 * danger: the OK button is styled as destructive and Cancel gets the focus.
 */
export function confirm({ title, message, ok = 'OK', danger = false }) {
  if (settle) answer(false);
  return new Promise((resolve) => {
    settle = resolve;
    confirmTitle.textContent = title;
    confirmMessage.textContent = message;
    confirmOk.textContent = ok;
    confirmOk.classList.toggle('danger-btn', danger);
    confirmOk.classList.toggle('primary', !danger);
    openModal(confirmDialog, danger ? confirmCancel : confirmOk);
  });
}
