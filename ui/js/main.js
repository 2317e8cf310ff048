// Entry point. The accounts are asked for first thing, so the first code paints fast;
// everything else (app info, settings, profiles) follows.

import * as accounts from './accounts.js';
import { openAdd } from './add.js';
import { invoke, listen } from './api.js';
import { showEvents, startBadge } from './events.js';
import { loadProfiles } from './logins.js';
import { loadSettings, showAbout } from './settings.js';
import { announce } from './status.js';
import { loadStoreSettings, startGate } from './store.js';
import { gateUp } from './gate.js';
import './backup.js';
import { $, isTyping, modalOpen, show } from './util.js';

// The vault file's unlock screen, the keyring screen or the lock screen may come first.
startGate(() => accounts.start());

// ---------------------------------------------------------------------------- tabs

const tabs = Array.from(document.querySelectorAll('.app-header [role="tab"]'));
const onShow = {
  'panel-accounts': () => {
    if (!gateUp()) accounts.start();
  },
  'panel-logins': () => loadProfiles(),
  'panel-events': () => showEvents(),
  'panel-settings': () => {
    loadSettings();
    loadStoreSettings();
  },
};

function selectTab(tab, focus = false) {
  for (const other of tabs) {
    const selected = other === tab;
    other.setAttribute('aria-selected', selected ? 'true' : 'false');
    other.tabIndex = selected ? 0 : -1;
    show(document.getElementById(other.getAttribute('aria-controls')), selected);
  }
  const panelId = tab.getAttribute('aria-controls');
  if (panelId !== 'panel-accounts') accounts.stop();
  onShow[panelId]();
  if (focus) tab.focus();
}

const currentTab = () => tabs.find((t) => t.getAttribute('aria-selected') === 'true');

for (const tab of tabs) {
  tab.addEventListener('click', () => selectTab(tab));
}

$('.app-header [role="tablist"]').addEventListener('keydown', (event) => {
  const index = tabs.indexOf(event.target);
  if (index < 0) return;
  let next = null;
  if (event.key === 'ArrowRight') next = tabs[(index + 1) % tabs.length];
  else if (event.key === 'ArrowLeft') next = tabs[(index - 1 + tabs.length) % tabs.length];
  else if (event.key === 'Home') next = tabs[0];
  else if (event.key === 'End') next = tabs[tabs.length - 1];
  if (!next) return;
  event.preventDefault();
  selectTab(next, true);
});

function showAccounts() {
  if (currentTab() !== tabs[0]) selectTab(tabs[0]);
}

// ---------------------------------------------------------------------------- shortcuts

document.addEventListener('keydown', (event) => {
  if (gateUp()) return; // a lock or unlock screen is in front: no shortcut reaches past it
  const ctrl = event.ctrlKey || event.metaKey;
  const key = event.key.toLowerCase();
  if (ctrl && !event.altKey && !event.shiftKey && key === 'n') {
    event.preventDefault();
    if (modalOpen()) return;
    showAccounts();
    openAdd();
    return;
  }
  if (modalOpen()) return;
  if (ctrl && !event.altKey && key === 'f') {
    event.preventDefault();
    showAccounts();
    accounts.focusSearch();
    return;
  }
  if (event.altKey && !ctrl && ['1', '2', '3', '4'].includes(event.key)) {
    event.preventDefault();
    selectTab(tabs[Number(event.key) - 1], true);
    return;
  }
  if (event.key === '/' && !ctrl && !event.altKey && !isTyping(event.target)) {
    event.preventDefault();
    showAccounts();
    accounts.focusSearch();
  }
});

// Codes only matter while they can be seen: pause the 1 s poll when the window is hidden.
document.addEventListener('visibilitychange', () => {
  if (document.hidden) accounts.stop();
  else if (currentTab() === tabs[0] && !gateUp()) accounts.start();
});

// ---------------------------------------------------------------------------- the rest

invoke('app_info')
  .then((info) => {
    show($('#demo-banner'), Boolean(info.demo));
    document.body.classList.toggle('demo', Boolean(info.demo));
    showAbout(info);
  })
  .catch((err) => {
    if (err.kind === 'no_backend') announce(err.message, 'error');
  });

loadSettings();

// The Events tab's unread badge: only once the first codes are on screen (it reads the
// keyring and may ask the emnify API), or after a while when there are none to paint.
let badgeStarted = false;
function beginBadge() {
  if (badgeStarted) return;
  badgeStarted = true;
  startBadge();
}
document.addEventListener('accounts:painted', () => setTimeout(beginBadge, 250), { once: true });
setTimeout(beginBadge, 4000);

// With the window's native file drop on, the page gets no HTML5 drop event: the file
// never reaches us. Say what to do instead of silently ignoring the drop.
listen('tauri://drag-drop', () => {
  document.body.classList.remove('dragging');
  if (!modalOpen()) openAdd();
  announce('This build cannot read dropped files: use “Choose image…” or paste the screenshot.', 'error');
});
