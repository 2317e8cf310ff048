// The security events screen: a login profile's timeline (emnify events and imported IDaaS
// ones) with new and highlighted entries, "Mark all as read", the IDaaS import, and the
// unread badge on the Events tab. The badge is refreshed only for profiles that hold a
// valid token, so the app never logs in in the background.

import { invoke, isMissingCommand } from './api.js';
import { focusLogin, openProfileForm } from './logins.js';
import { announce } from './status.js';
import {
  $,
  formatDate,
  formatTime,
  fromTemplate,
  nowSeconds,
  plural,
  sentence,
  setAttr,
  setText,
  show,
  toDate,
  toggleClass,
} from './util.js';

// A token with less left than this is renewed before use (a request): the backend's margin.
const TOKEN_MARGIN_SECONDS = 120;
const BADGE_EVERY_MS = 5 * 60 * 1000;
const MAX_IMPORT_BYTES = 20 * 1024 * 1024;
/** What the badge counts: every security event of the last 30 days. */
const BADGE_QUERY = { types: [], sinceDays: 30 };

const TYPE_ICONS = { 6: 'i-login', 7: 'i-key', 13: 'i-support', 14: 'i-lock' };
const TYPE_NAMES = {
  6: 'failed user logins',
  7: 'failed application tokens',
  13: 'support access events',
  14: 'MFA key changes',
};
const PERIODS = { 1: 'the last 24 hours', 7: 'the last 7 days', 30: 'the last 30 days', 90: 'the last 90 days' };

const panel = $('#panel-events');
const badge = $('#events-badge');
const badgeText = $('#events-badge-text');
const profileSelect = $('#events-profile');
const typeSelect = $('#events-type');
const sinceSelect = $('#events-since');
const refreshButton = $('#events-refresh');
const markButton = $('#events-mark-read');
const importButton = $('#events-import-button');
const importInput = $('#events-import');
const listEl = $('#events-list');
const summaryEl = $('#events-summary');
const scopeEl = $('#events-scope');
const truncatedEl = $('#events-truncated');
const alertEl = $('#events-alert');
const errorEl = $('#events-error');
const openLoginsButton = $('#events-open-logins');
const loadingEl = $('#events-loading');
const emptyEl = $('#events-empty');
const emptyText = $('#events-empty-text');
const noProfilesEl = $('#events-no-profiles');
const filtersEl = $('#events-filters');
const barEl = $('.events-bar', panel);

/** profile name → {new, highlighted}: the badge's counts (BADGE_QUERY). */
const unread = new Map();
/** profile name → the promise of its last events call: one call per profile at a time. */
const queues = new Map();
/** Credential profiles, as `profiles` returned them. */
let profiles = [];
/** What the list shows: {name, query, view}. */
let shown = null;
let loadSeq = 0;
let loading = false;
let available = true;
let badgeRun = null;
let badgeLast = 0;

const panelVisible = () => !panel.hidden && !document.hidden;
const hasToken = (profile) =>
  Boolean(profile.token_expires_at) && profile.token_expires_at > nowSeconds() + TOKEN_MARGIN_SECONDS;
const sameQuery = (a, b) => a.sinceDays === b.sinceDays && a.types.join() === b.types.join();

function currentQuery() {
  return {
    types: typeSelect.value ? [Number(typeSelect.value)] : [],
    sinceDays: Number(sinceSelect.value) || 30,
  };
}

/** Runs `task` after the profile's earlier events calls (the backend keeps one timeline per profile). */
function queued(name, task) {
  const previous = queues.get(name) || Promise.resolve();
  const run = previous.catch(() => {}).then(task);
  queues.set(name, run);
  const done = () => {
    if (queues.get(name) === run) queues.delete(name);
  };
  run.then(done, done);
  return run;
}

/** Asks for a timeline; the counts of BADGE_QUERY timelines also feed the badge. */
function fetchEvents(name, query) {
  return queued(name, () => invoke('events', { name, types: query.types, sinceDays: query.sinceDays })).then(
    (view) => {
      if (sameQuery(query, BADGE_QUERY)) {
        unread.set(name, { new: Number(view.new) || 0, highlighted: Number(view.new_highlighted) || 0 });
        paintBadge();
      }
      return view;
    },
  );
}

// ---------------------------------------------------------------------------- badge

function paintBadge() {
  let total = 0;
  let highlighted = 0;
  for (const counts of unread.values()) {
    total += counts.new;
    highlighted += counts.highlighted;
  }
  setText(badge, total > 99 ? '99+' : String(total));
  show(badge, total > 0);
  toggleClass(badge, 'warn', highlighted > 0);
  // The tab's name says it in words ("Events, 3 unread security events"); the number
  // itself is hidden from screen readers.
  let words = '';
  if (total > 0) {
    words = plural(total, 'unread security event', 'unread security events');
    if (highlighted > 0) words += `, ${highlighted} to check`;
  }
  setText(badgeText, words ? `, ${words}` : '');
}

/**
 * Counts the new events of the credential profiles that hold a valid token (no login);
 * `only` limits it to one profile (after a login). The profile the Events screen shows is
 * reloaded as shown instead, so "Mark all as read" marks what is on screen.
 */
export function refreshBadge({ only = null } = {}) {
  if (!available) return Promise.resolve();
  if (badgeRun) return badgeRun.then(() => (only ? refreshBadge({ only }) : undefined));
  badgeRun = (async () => {
    badgeLast = Date.now();
    let list;
    try {
      list = await invoke('profiles');
    } catch {
      return;
    }
    setProfiles(list);
    for (const profile of profiles) {
      if (only && profile.name !== only) continue;
      if (!hasToken(profile)) continue;
      if (panelVisible() && profileSelect.value === profile.name) {
        await load({ quiet: true });
        continue;
      }
      try {
        await fetchEvents(profile.name, BADGE_QUERY);
      } catch (err) {
        if (isMissingCommand(err)) {
          unavailable();
          return;
        }
        // Offline or refused: keep the last count; the next round tries again.
      }
    }
  })().finally(() => {
    badgeRun = null;
  });
  return badgeRun;
}

/** Starts the badge: now, then every 5 minutes (caught up when the window shows again). */
export function startBadge() {
  refreshBadge();
  setInterval(() => {
    if (!document.hidden) refreshBadge();
  }, BADGE_EVERY_MS);
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && Date.now() - badgeLast >= BADGE_EVERY_MS) refreshBadge();
  });
}

// A login on the Logins screen: that profile's count can be read now (no login of ours).
document.addEventListener('emnify:logged-in', (event) => {
  const name = event.detail && event.detail.name;
  if (name) refreshBadge({ only: name });
});

// ---------------------------------------------------------------------------- profiles

function optionText(profile) {
  return hasToken(profile) ? profile.name : `${profile.name} (not logged in)`;
}

/** Keeps the credential profiles and the profile picker; forgets counts of removed ones. */
function setProfiles(list) {
  profiles = (Array.isArray(list) ? list : []).filter((p) => p.method !== 'application_token');
  const names = new Set(profiles.map((p) => p.name));
  for (const name of unread.keys()) if (!names.has(name)) unread.delete(name);
  paintBadge();

  const current = profileSelect.value;
  const wanted = profiles.map((p) => [p.name, optionText(p)]);
  const have = Array.from(profileSelect.options, (o) => [o.value, o.text]);
  if (JSON.stringify(wanted) !== JSON.stringify(have)) {
    profileSelect.replaceChildren(...wanted.map(([value, text]) => new Option(text, value)));
  }
  if (names.has(current)) {
    profileSelect.value = current;
  } else if (profiles.length) {
    // First the profile that is logged in (no login needed), else the first one.
    profileSelect.value = (profiles.find(hasToken) || profiles[0]).name;
  }
  profileSelect.disabled = profiles.length === 0;
}

// ---------------------------------------------------------------------------- panel

/** Shows the Events screen: reads the profiles, then the selected profile's timeline. */
export async function showEvents() {
  try {
    setProfiles(await invoke('profiles'));
  } catch (err) {
    setError(err);
    return;
  }
  show(filtersEl, profiles.length > 0);
  show(barEl, profiles.length > 0);
  if (!profiles.length) {
    shown = null;
    listEl.replaceChildren();
    setSummary(null);
    show(noProfilesEl, true);
    show(emptyEl, false);
    show(alertEl, false);
    show(loadingEl, false);
    show(scopeEl, false);
    show(truncatedEl, false);
    refreshButton.disabled = true;
    markButton.disabled = true;
    return;
  }
  show(noProfilesEl, false);
  refreshButton.disabled = false;
  await load({ quiet: Boolean(shown && shown.name === profileSelect.value) });
}

function setLoading(on, { keepList }) {
  loading = on;
  setAttr(listEl, 'aria-busy', on ? 'true' : 'false');
  toggleClass(listEl, 'stale', on && keepList);
  // Refresh stays enabled (a disabled button would drop the keyboard focus): another
  // click simply starts a newer load.
  toggleClass(refreshButton, 'spinning', on);
  setAttr(refreshButton, 'aria-busy', on ? 'true' : null);
  if (on && document.activeElement !== markButton) markButton.disabled = true;
  show(loadingEl, on && !keepList);
  if (on && !keepList) {
    show(emptyEl, false);
    setSummary(null);
  }
}

/**
 * Loads the selected profile's timeline. quiet: keep the entries on screen while loading
 * (a refresh of what is shown) instead of the loading line.
 */
async function load({ quiet = false } = {}) {
  if (!available) return;
  const name = profileSelect.value;
  if (!name) return;
  const query = currentQuery();
  const seq = ++loadSeq;
  const keepList = Boolean(shown && shown.name === name && (quiet || listEl.children.length > 0));
  if (!keepList) {
    listEl.replaceChildren();
    show(scopeEl, false);
    show(truncatedEl, false);
  }
  show(alertEl, false);
  setLoading(true, { keepList });
  try {
    const hadToken = profiles.some((p) => p.name === name && hasToken(p));
    const view = await fetchEvents(name, query);
    if (seq !== loadSeq) return;
    shown = { name, query, view };
    render(view, query);
    // It logged in to read them: the picker no longer says "not logged in".
    if (!hadToken) invoke('profiles').then(setProfiles, () => {});
  } catch (err) {
    if (seq !== loadSeq) return;
    if (isMissingCommand(err)) {
      unavailable();
      return;
    }
    if (!keepList) shown = null;
    setError(err, name);
  } finally {
    if (seq === loadSeq) {
      setLoading(false, { keepList: true });
      markButton.disabled = !shown || !shown.view.new;
    }
  }
}

function setError(err, name = null) {
  setText(errorEl, sentence(err.message));
  const loginHelps = Boolean(name) && (err.kind === 'needs_login' || err.kind === 'login');
  show(openLoginsButton, loginHelps);
  openLoginsButton.dataset.name = loginHelps ? name : '';
  show(alertEl, true);
  if (!shown) {
    show(emptyEl, false);
    setSummary(null);
  }
}

function unavailable() {
  available = false;
  shown = null;
  unread.clear();
  paintBadge();
  listEl.replaceChildren();
  setLoading(false, { keepList: true });
  for (const control of [profileSelect, typeSelect, sinceSelect, refreshButton, markButton, importButton]) {
    control.disabled = true;
  }
  setText(errorEl, 'Security events are not available in this version.');
  show(openLoginsButton, false);
  show(alertEl, true);
}

function setSummary(view) {
  if (!view || !view.entries.length) {
    setText(summaryEl, '');
    return;
  }
  const parts = [plural(view.entries.length, 'event', 'events')];
  if (view.new) parts.push(`${view.new} new`);
  if (view.new_highlighted) parts.push(`${view.new_highlighted} to check`);
  setText(summaryEl, parts.join(' · '));
}

function render(view, query) {
  const entries = Array.isArray(view.entries) ? view.entries : [];
  listEl.replaceChildren(...entries.map(renderEntry));
  setSummary({ ...view, entries });
  show(scopeEl, !view.workspace);
  show(truncatedEl, Boolean(view.truncated));
  show(emptyEl, entries.length === 0);
  if (!entries.length) {
    const what = query.types.length ? TYPE_NAMES[query.types[0]] || 'events of this kind' : 'failed logins, support access or MFA key changes';
    setText(emptyText, `No ${what} in ${PERIODS[query.sinceDays] || 'this period'}.`);
  }
}

const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'medium' });

/** "Today, 14:03", "Yesterday, 09:12", "26 Nov 2025, 14:03". */
function whenText(date) {
  const day = (d) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  const today = day(new Date());
  const days = Math.round((today - day(date)) / 86400000);
  const time = formatTime(date.getTime() / 1000);
  if (days === 0) return `Today, ${time}`;
  if (days === 1) return `Yesterday, ${time}`;
  return `${formatDate(date.getTime() / 1000)}, ${time}`;
}

/** Backend texts are lower-case sentences; the brand stays lower-case. */
function capitalise(text) {
  const value = String(text || '').trim();
  if (!value || /^emnify\b/.test(value)) return value;
  return value.charAt(0).toUpperCase() + value.slice(1);
}

function renderEntry(entry) {
  const li = fromTemplate('tpl-event');
  li.dataset.key = entry.key;
  li.dataset.source = entry.source;
  if (entry.event_type != null) li.dataset.type = String(entry.event_type);
  toggleClass(li, 'new', Boolean(entry.is_new));
  toggleClass(li, 'highlighted', Boolean(entry.highlight));
  const q = (selector) => li.querySelector(selector);

  const icon = entry.source === 'idaas' ? 'i-login' : TYPE_ICONS[entry.event_type] || 'i-shield';
  q('.event-icon use').setAttribute('href', `#${icon}`);

  const title = entry.title || 'Security event';
  q('.event-title').textContent = title;
  show(q('.event-new'), Boolean(entry.is_new));

  const time = q('.event-time');
  const date = toDate(Number(entry.timestamp));
  if (date) {
    time.dateTime = date.toISOString();
    time.textContent = whenText(date);
    time.title = fullFormat.format(date);
  }
  const user = q('.event-user');
  show(user, Boolean(entry.user));
  user.textContent = entry.user || '';
  q('.event-source').textContent = entry.source === 'idaas' ? 'IDaaS' : 'emnify';

  const description = q('.event-description');
  const text = String(entry.description || '').trim();
  description.textContent = text;
  show(description, Boolean(text) && text !== title);

  const ips = Array.isArray(entry.ips) ? entry.ips.filter(Boolean) : [];
  const ipsEl = q('.event-ips');
  show(ipsEl, ips.length > 0);
  if (ips.length) {
    const label = document.createElement('span');
    label.className = 'event-ips-label';
    label.textContent = ips.length === 1 ? 'IP address ' : 'IP addresses ';
    const list = document.createElement('span');
    list.className = 'mono';
    list.textContent = ips.join(', ');
    ipsEl.replaceChildren(label, list);
  }

  const highlight = q('.event-highlight');
  show(highlight, Boolean(entry.highlight));
  q('.event-highlight-text').textContent = capitalise(entry.highlight);
  return li;
}

// ---------------------------------------------------------------------------- actions

async function markRead() {
  // While a load is under way, the backend's timeline may already hold entries not on screen.
  if (!shown || markButton.disabled || loading) return;
  const { name, query, view } = shown;
  const count = Number(view.new) || 0;
  const hadFocus = document.activeElement === markButton;
  markButton.disabled = true;
  try {
    await queued(name, () => invoke('mark_events_read', { name }));
    // The badge counts every kind of event: recount when the list showed fewer.
    if (!sameQuery(query, BADGE_QUERY)) await fetchEvents(name, BADGE_QUERY).catch(() => {});
    await load({ quiet: true });
    announce(count ? `${plural(count, 'event', 'events')} marked as read` : 'Marked as read', 'success');
  } catch (err) {
    announce(sentence(err.message), 'error');
    markButton.disabled = false;
  } finally {
    if (hadFocus && markButton.disabled) refreshButton.focus();
  }
}

function importMessage(report) {
  const added = Number(report.added) || 0;
  const known = Number(report.already_known) || 0;
  const bad = Array.isArray(report.bad) ? report.bad : [];
  const parts = [`${plural(added, 'event', 'events')} imported`];
  if (known) parts.push(`${known} already known`);
  let message = parts.join(', ');
  if (bad.length) {
    const first = String(bad[0]).replace(/^(line \d+):\s*/, '$1 skipped: ');
    message += `; ${first}`;
    if (bad.length > 1) message += ` (and ${plural(bad.length - 1, 'more line', 'more lines')} skipped)`;
  }
  return message;
}

let importing = false;

async function importFile(file) {
  if (file.size > MAX_IMPORT_BYTES) {
    announce('This file is too large for IDaaS webhook payloads (over 20 MB).', 'error');
    return;
  }
  importing = true;
  setAttr(importButton, 'aria-busy', 'true');
  try {
    const text = await file.text();
    const report = await invoke('import_idaas', { text });
    const added = Number(report.added) || 0;
    const bad = Array.isArray(report.bad) ? report.bad.length : 0;
    let message = importMessage(report);
    if (added && typeSelect.value) message += ' — shown with “All security events”';
    announce(message, bad && !added ? 'error' : 'success');
    if (profileSelect.value && available) await load({ quiet: true });
  } catch (err) {
    if (isMissingCommand(err)) unavailable();
    else announce(sentence(err.message), 'error');
  } finally {
    importing = false;
    setAttr(importButton, 'aria-busy', null);
  }
}

importButton.addEventListener('click', () => {
  if (!importing) importInput.click();
});
importInput.addEventListener('change', () => {
  const file = importInput.files && importInput.files[0];
  importInput.value = '';
  if (file) importFile(file);
});

profileSelect.addEventListener('change', () => load());
typeSelect.addEventListener('change', () => load({ quiet: true }));
sinceSelect.addEventListener('change', () => load({ quiet: true }));
refreshButton.addEventListener('click', () => load({ quiet: true }));
markButton.addEventListener('click', markRead);
$('#events-filters').addEventListener('submit', (event) => {
  event.preventDefault();
  load({ quiet: true });
});

openLoginsButton.addEventListener('click', async () => {
  const name = openLoginsButton.dataset.name;
  $('#tab-logins').click();
  if (name) await focusLogin(name);
});

$('#events-add-profile').addEventListener('click', () => {
  $('#tab-logins').click();
  openProfileForm();
});
