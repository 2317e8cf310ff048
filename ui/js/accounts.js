// The accounts screen: the live list (polled once a second, updated in place), search,
// keyboard navigation, and the per-account actions (copy, pin, rename, remove, export).

import { invoke } from './api.js';
import { confirm, openModal } from './dialogs.js';
import { announce, copiedMessage } from './status.js';
import {
  $,
  fromTemplate,
  groupCode,
  plural,
  sentence,
  setAttr,
  setText,
  show,
  toggleClass,
} from './util.js';

const RING_LENGTH = 2 * Math.PI * 15; // r = 15 in a 36×36 viewBox
const WARN_SECONDS = 5;
const reducedMotion = window.matchMedia('(prefers-reduced-motion: reduce)');

const listEl = $('#accounts');
const searchEl = $('#search');
const emptyEl = $('#accounts-empty');
const nomatchEl = $('#accounts-nomatch');
const loadingEl = $('#accounts-loading');
const alertEl = $('#accounts-alert');
const alertText = $('#accounts-alert-text');

/** id → item ({el, parts, data, search}) */
const items = new Map();
let latest = [];
let loaded = false;
let running = false;
let blocked = false; // keyring locked/unavailable: wait for "Try again"
let timer = 0;
let inflight = null;
let active = null; // the item that holds tabindex=0 (roving tabindex)

/** The last account list (names and ids; codes too, but only for display). */
export const currentAccounts = () => latest;

// ---------------------------------------------------------------------------- polling

/**
 * Fetches the accounts now (one request at a time) and renders them. After a change
 * (pin, rename, add…) pass fresh: a request already under way may predate the change.
 */
export function refresh({ fresh = false } = {}) {
  if (inflight && fresh) return inflight.catch(() => {}).then(() => refresh());
  if (inflight) return inflight;
  inflight = invoke('accounts')
    .then((list) => {
      blocked = false;
      show(alertEl, false);
      render(list);
      reportFirstCode(list);
      return list;
    })
    .catch((err) => {
      showAlert(err);
      throw err;
    })
    .finally(() => {
      inflight = null;
    });
  return inflight;
}

let firstCodeReported = false;

// Tells the Rust side once, after the first codes are on screen, so start-up can be
// measured from outside (bench/desktop_vs_otpclient.sh); it costs one call per run.
// The page hears "accounts:painted" once the first list is on screen (codes, or none to
// show), so other start-up work can wait for it instead of slowing the first paint.
let paintedTold = false;
function reportFirstCode(list) {
  if (!paintedTold && (!list.length || list.some((a) => a.code))) {
    paintedTold = true;
    requestAnimationFrame(() => requestAnimationFrame(() => {
      document.dispatchEvent(new CustomEvent('accounts:painted'));
    }));
  }
  if (firstCodeReported || !list.some((a) => a.code)) return;
  firstCodeReported = true;
  requestAnimationFrame(() => requestAnimationFrame(() => {
    invoke('first_code_painted').catch(() => {});
  }));
}

function schedule() {
  clearTimeout(timer);
  if (!running || blocked) return;
  // Just after the next full second, when codes and countdowns change.
  const delay = 1000 - (Date.now() % 1000) + 25;
  timer = setTimeout(tick, delay);
}

function tick() {
  refresh()
    .catch(() => {})
    .finally(schedule);
}

/** Starts polling (immediately fetches). */
export function start() {
  if (running) return;
  running = true;
  tick();
}

/** Stops polling (window hidden or another screen shown). */
export function stop() {
  running = false;
  clearTimeout(timer);
}

/**
 * The app locked: stops polling and takes every code out of the page (the list is
 * rebuilt from the backend once unlocked).
 */
export function clearCodes() {
  stop();
  for (const item of items.values()) item.el.remove();
  items.clear();
  active = null;
  latest = [];
}

function showAlert(err) {
  if (!loaded) show(loadingEl, false);
  if (err.kind === 'keyring_locked' || err.kind === 'keyring_unavailable') {
    // Asking again every second could pop an unlock prompt every second: wait for the user.
    blocked = true;
  }
  setText(alertText, sentence(err.message));
  show(alertEl, true);
}

$('#accounts-retry').addEventListener('click', () => {
  blocked = false;
  refresh()
    .then(() => announce('Accounts loaded'))
    .catch(() => {})
    .finally(schedule);
});

// ---------------------------------------------------------------------------- rendering

function createItem(account) {
  const el = fromTemplate('tpl-account');
  el.dataset.id = account.id;
  const q = (selector) => el.querySelector(selector);
  const item = {
    id: account.id,
    el,
    issuer: q('.issuer-text'),
    label: q('.label'),
    code: q('.code'),
    next: q('.next'),
    ring: q('.ring-progress'),
    seconds: q('.ring-seconds'),
    sr: q('.remaining-sr'),
    error: q('.account-error'),
    buttons: {
      copy: q('.copy'),
      pin: q('.pin'),
      rename: q('.rename'),
      export: q('.export'),
      remove: q('.remove'),
    },
    data: null,
    search: '',
    remaining: null,
  };
  item.ring.style.setProperty('stroke-dasharray', `${RING_LENGTH}`);
  setRovable(item, false);
  return item;
}

function setRovable(item, on) {
  const value = on ? '0' : '-1';
  setAttr(item.el, 'tabindex', value);
  for (const button of Object.values(item.buttons)) setAttr(button, 'tabindex', value);
}

function label(button, text) {
  setAttr(button, 'aria-label', text);
  setAttr(button, 'title', text);
}

function updateNames(item, account) {
  const { el, buttons } = item;
  el.dataset.name = account.name;
  setText(item.issuer, account.issuer || account.label);
  setText(item.label, account.issuer ? account.label : '');
  toggleClass(el, 'pinned', account.pinned);
  toggleClass(el, 'no-label', !account.issuer || !account.label);
  setAttr(buttons.pin, 'aria-pressed', account.pinned ? 'true' : 'false');
  label(buttons.copy, `Copy code of ${account.name}`);
  label(buttons.pin, `${account.pinned ? 'Unpin' : 'Pin'} ${account.name}`);
  label(buttons.rename, `Rename ${account.name}`);
  label(buttons.export, `Show QR code of ${account.name}`);
  label(buttons.remove, `Remove ${account.name}`);
  item.search = `${account.issuer}\n${account.label}\n${account.name}`.toLowerCase();
}

function updateRing(item, remaining, period) {
  const ring = item.ring;
  const fraction = (r) => Math.max(0, Math.min(1, r / period));
  const offset = (r) => `${RING_LENGTH * (1 - fraction(r))}`;
  if (reducedMotion.matches) {
    ring.style.setProperty('stroke-dashoffset', offset(remaining));
  } else {
    // Show where the countdown is now, then glide to where it will be at the next tick.
    const restarted = item.remaining === null || remaining > item.remaining;
    if (restarted) {
      ring.classList.add('no-transition');
      ring.style.setProperty('stroke-dashoffset', offset(remaining));
      void ring.getBoundingClientRect(); // commit before re-enabling the transition
      ring.classList.remove('no-transition');
    }
    ring.style.setProperty('stroke-dashoffset', offset(remaining - 1));
  }
  item.remaining = remaining;
}

function update(item, account) {
  const prev = item.data;
  item.data = account;
  const { el } = item;
  if (
    !prev ||
    prev.name !== account.name ||
    prev.issuer !== account.issuer ||
    prev.label !== account.label ||
    prev.pinned !== account.pinned
  ) {
    updateNames(item, account);
  }
  const code = account.code || '';
  setAttr(el, 'data-code', code);
  setText(item.code, code ? groupCode(code) : '– – –');
  setText(item.next, groupCode(account.next || ''));
  setAttr(el, 'data-remaining', account.remaining);
  setText(item.seconds, code ? account.remaining : '');
  setText(item.sr, code ? `, changes in ${plural(account.remaining, 'second', 'seconds')}` : '');
  toggleClass(el, 'warn', Boolean(code) && account.remaining <= WARN_SECONDS);
  toggleClass(el, 'failed', !code);
  if (code) updateRing(item, account.remaining, account.period || 30);
  show(item.error, Boolean(account.error));
  setText(item.error, account.error ? sentence(account.error) : '');
}

function render(list) {
  latest = list;
  const firstLoad = !loaded;
  loaded = true;
  show(loadingEl, false);
  const seen = new Set();
  for (const account of list) {
    let item = items.get(account.id);
    if (!item) {
      item = createItem(account);
      items.set(account.id, item);
    }
    update(item, account);
    seen.add(account.id);
  }
  // Removed accounts: hand focus to a neighbour first.
  for (const [id, item] of items) {
    if (seen.has(id)) continue;
    if (item.el.contains(document.activeElement)) {
      const neighbour = visibleNeighbour(item.el, 1) || visibleNeighbour(item.el, -1);
      if (neighbour) neighbour.focus({ preventScroll: false });
      else searchEl.focus();
    }
    if (active === item) active = null;
    item.el.remove();
    items.delete(id);
  }
  // Order (pinned first, as the backend sends it); touch the DOM only when it changed.
  const wanted = list.map((a) => items.get(a.id).el);
  const current = listEl.children;
  let same = current.length === wanted.length;
  for (let i = 0; same && i < wanted.length; i++) same = current[i] === wanted[i];
  if (!same) {
    const focused = document.activeElement;
    const scroll = listEl.closest('.panel').scrollTop;
    for (const el of wanted) listEl.appendChild(el);
    if (focused && listEl.contains(focused)) focused.focus({ preventScroll: true });
    listEl.closest('.panel').scrollTop = scroll;
  }
  applyFilter();
  if (firstLoad) document.body.classList.add('accounts-ready');
}

// ---------------------------------------------------------------------------- search

function applyFilter() {
  const query = searchEl.value.trim().toLowerCase();
  let visible = 0;
  for (const item of items.values()) {
    const match = !query || item.search.includes(query);
    show(item.el, match);
    if (match) visible++;
  }
  show(emptyEl, loaded && items.size === 0);
  show(nomatchEl, items.size > 0 && visible === 0);
  if (items.size > 0 && visible === 0) setText(nomatchEl, `No account matches “${searchEl.value.trim()}”.`);
  if (!active || active.el.hidden || !items.has(active.id)) {
    const first = visibleItems()[0];
    setActive(first ? itemOf(first) : null);
  }
}

searchEl.addEventListener('input', applyFilter);
searchEl.addEventListener('keydown', (event) => {
  const first = visibleItems()[0];
  if (event.key === 'ArrowDown' && first) {
    event.preventDefault();
    first.focus();
  } else if (event.key === 'Enter' && first) {
    event.preventDefault();
    copyCode(itemOf(first));
  } else if (event.key === 'Escape' && searchEl.value) {
    event.preventDefault();
    searchEl.value = '';
    applyFilter();
  }
});

/** Focuses the search field (the "/" shortcut). */
export function focusSearch() {
  searchEl.focus();
  searchEl.select();
}

// ---------------------------------------------------------------------------- keyboard

const visibleItems = () => Array.from(listEl.children).filter((el) => !el.hidden);
const itemOf = (el) => (el ? items.get(el.dataset.id) : null);

function visibleNeighbour(el, step) {
  const visible = visibleItems();
  const index = visible.indexOf(el);
  return visible[index + step] || null;
}

function setActive(item) {
  if (active === item) return;
  if (active && items.has(active.id)) setRovable(active, false);
  active = item;
  if (item) setRovable(item, true);
}

listEl.addEventListener('focusin', (event) => {
  const li = event.target.closest('li.account');
  if (li) setActive(itemOf(li));
});

listEl.addEventListener('keydown', (event) => {
  const li = event.target.closest('li.account');
  if (!li || event.altKey || event.metaKey) return;
  const onItem = event.target === li;
  const item = itemOf(li);
  const visible = visibleItems();
  let target = null;
  switch (event.key) {
    case 'ArrowDown':
      target = visibleNeighbour(li, 1);
      break;
    case 'ArrowUp':
      target = visibleNeighbour(li, -1);
      if (!target) {
        event.preventDefault();
        searchEl.focus();
        return;
      }
      break;
    case 'Home':
      target = visible[0];
      break;
    case 'End':
      target = visible[visible.length - 1];
      break;
    case 'Enter':
    case ' ':
      if (!onItem) return;
      event.preventDefault();
      copyCode(item);
      return;
    case 'c':
      if (!onItem || !event.ctrlKey) return;
      event.preventDefault();
      copyCode(item);
      return;
    case 'F2':
      event.preventDefault();
      rename(item);
      return;
    case 'Delete':
      event.preventDefault();
      remove(item);
      return;
    default:
      return;
  }
  event.preventDefault();
  if (target) {
    target.focus();
    target.scrollIntoView({ block: 'nearest' });
  }
});

// ---------------------------------------------------------------------------- actions

listEl.addEventListener('click', (event) => {
  const li = event.target.closest('li.account');
  if (!li) return;
  const item = itemOf(li);
  if (!item) return;
  const button = event.target.closest('button');
  if (!button) {
    // A click anywhere on the row copies, unless the user is selecting text.
    if (String(window.getSelection() || '')) return;
    copyCode(item);
    return;
  }
  const { classList } = button;
  if (classList.contains('copy')) copyCode(item);
  else if (classList.contains('pin')) togglePin(item);
  else if (classList.contains('rename')) rename(item);
  else if (classList.contains('export')) exportQr(item);
  else if (classList.contains('remove')) remove(item);
});

function flash(item) {
  item.el.classList.remove('copied');
  void item.el.offsetWidth;
  item.el.classList.add('copied');
  setTimeout(() => item.el.classList.remove('copied'), 1200);
}

async function copyCode(item) {
  if (!item) return;
  if (item.data && !item.data.code) {
    announce(sentence(item.data.error || 'This account has no code right now.'), 'error');
    return;
  }
  try {
    const copied = await invoke('copy_code', { id: item.id });
    flash(item);
    announce(copiedMessage('Code', copied.clear_after), 'success');
  } catch (err) {
    announce(sentence(err.message), 'error');
  }
}

async function togglePin(item) {
  const pinned = !item.data.pinned;
  try {
    await invoke('set_pinned', { id: item.id, pinned });
    announce(`${pinned ? 'Pinned' : 'Unpinned'} ${item.data.name}`);
    await refresh({ fresh: true });
    if (item.el.isConnected && !item.el.contains(document.activeElement)) item.buttons.pin.focus();
  } catch (err) {
    announce(sentence(err.message), 'error');
  }
}

// Rename dialog
const renameDialog = $('#rename-dialog');
const renameForm = $('#rename-form');
const renameIssuer = $('#rename-issuer');
const renameLabel = $('#rename-label');
const renameError = $('#rename-error');
let renaming = null;

function rename(item) {
  renaming = item;
  renameIssuer.value = item.data.issuer;
  renameLabel.value = item.data.label;
  setText($('#rename-title'), `Rename ${item.data.name}`);
  show(renameError, false);
  openModal(renameDialog, renameLabel);
  renameLabel.select();
}

$('#rename-cancel').addEventListener('click', () => renameDialog.close());
renameForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const item = renaming;
  if (!item) return;
  const issuer = renameIssuer.value.trim();
  const label = renameLabel.value.trim();
  if (!label) {
    setText(renameError, 'Give the account a name (the label), e.g. your user name there.');
    show(renameError, true);
    renameLabel.focus();
    return;
  }
  try {
    await invoke('rename_account', { id: item.id, issuer, label });
    renameDialog.close();
    announce(`Renamed to ${issuer ? `${issuer}: ${label}` : label}`, 'success');
    await refresh({ fresh: true });
  } catch (err) {
    setText(renameError, sentence(err.message));
    show(renameError, true);
  }
});

async function remove(item) {
  const name = item.data.name;
  const ok = await confirm({
    title: 'Remove account?',
    message: `Remove “${name}”? Its key is deleted from this computer’s keyring, and you can no longer make codes for it here. Turn off two-factor login there first, or keep another copy.`,
    ok: 'Remove',
    danger: true,
  });
  if (!ok) return;
  try {
    await invoke('remove_account', { id: item.id });
    announce(`Removed ${name}`, 'success');
    await refresh({ fresh: true });
  } catch (err) {
    announce(sentence(err.message), 'error');
  }
}

// Export dialog
const exportDialog = $('#export-dialog');
const exportImage = $('#export-qr');
// The image holds the key: drop it as soon as the dialog closes.
function dropImage() {
  exportImage.removeAttribute('src');
  exportImage.alt = '';
}
$('#export-close').addEventListener('click', () => {
  dropImage();
  exportDialog.close();
});
exportDialog.addEventListener('close', () => {
  if (!exportDialog.open) dropImage();
});

async function exportQr(item) {
  const name = item.data.name;
  const ok = await confirm({
    title: 'Show the QR code?',
    message: `This QR code contains the secret key of “${name}”. Anyone who sees or photographs it can make your codes. Show it only to move the account to another authenticator, with nobody looking.`,
    ok: 'Show QR code',
  });
  if (!ok) return;
  try {
    const url = await invoke('export_qr', { id: item.id });
    setText($('#export-title'), `QR code of ${name}`);
    exportImage.alt = `QR code with the key of ${name}`;
    exportImage.src = url;
    openModal(exportDialog, '#export-close');
  } catch (err) {
    announce(sentence(err.message), 'error');
  }
}

/** Focuses the account with this id, if shown (e.g. after adding it). */
export function focusAccount(id) {
  const item = items.get(id);
  if (item && !item.el.hidden) {
    item.el.focus();
    item.el.scrollIntoView({ block: 'nearest' });
  }
}

/** The ids of the accounts known now. */
export const knownIds = () => new Set(items.keys());
