// The logins screen: emnify login profiles with one-click login, the steps of the last
// login, token expiry, token actions, workspace switch, lockouts, "Enable app-based MFA",
// and the add form. A successful login is told to the page as the DOM event
// "emnify:logged-in" ({detail: {name}}), e.g. for the Events tab's unread badge.

import { currentAccounts, refresh as refreshAccounts } from './accounts.js';
import { invoke } from './api.js';
import { devicesSection } from './devices.js';
import { confirm } from './dialogs.js';
import { currentSettings } from './settings.js';
import { announce, copiedMessage } from './status.js';
import {
  $,
  formatDate,
  formatTime,
  formatWait,
  fromTemplate,
  nowSeconds,
  sentence,
  setAttr,
  setText,
  show,
  toggleClass,
} from './util.js';

const listEl = $('#profiles');
const emptyEl = $('#profiles-empty');
const listError = $('#profiles-error');

/** name → card */
const cards = new Map();
let uid = 0;

// Backend messages were written for the command line too: say the UI's words here.
function uiMessage(message) {
  return sentence(
    String(message || '')
      .replace(/,? ?then retry with --force/, ', then choose “Try anyway”')
      .replace(/retry with --force/, 'choose “Try anyway”')
      .replace(/check them with `emnify-auth profile add` again/, 'check them, then remove and add this profile again')
      .replace(
        /: see it with `emnify-auth mfa list [^`]*` and remove it with `emnify-auth mfa remove [^`]*` before enrolling a new one/,
        ': remove it in the emnify Portal before enabling app-based MFA here',
      )
      .replace(/run `emnify-auth mfa enroll` again/, 'choose “Enable app-based MFA” again'),
  );
}

const TONES = {
  logged_in: 'success',
  needs_code: 'info',
  needs_confirmation: 'warn',
  rate_limited: 'warn',
  locked: 'error',
  wrong_password: 'error',
  wrong_code: 'error',
  token_rejected: 'error',
};

// ---------------------------------------------------------------------------- list

/** Reads the profiles and renders them. */
export async function loadProfiles() {
  try {
    const profiles = await invoke('profiles');
    show(listError, false);
    render(profiles);
  } catch (err) {
    setText(listError, sentence(err.message));
    show(listError, true);
  }
}

function render(profiles) {
  const seen = new Set();
  for (const view of profiles) {
    let card = cards.get(view.name);
    const fresh = !card;
    if (!card) {
      card = createCard(view);
      cards.set(view.name, card);
    }
    updateView(card, view);
    seen.add(view.name);
    if (fresh && view.method !== 'application_token') card.devices.load();
  }
  for (const [name, card] of cards) {
    if (!seen.has(name)) {
      card.el.remove();
      cards.delete(name);
    }
  }
  const wanted = profiles.map((p) => cards.get(p.name).el);
  wanted.forEach((el, i) => {
    if (listEl.children[i] !== el) listEl.insertBefore(el, listEl.children[i] || null);
  });
  show(emptyEl, profiles.length === 0);
  tick();
}

function createCard(view) {
  const el = fromTemplate('tpl-profile');
  const id = `profile-${++uid}`;
  el.dataset.name = view.name;
  const q = (selector) => el.querySelector(selector);
  const card = {
    name: view.name,
    el,
    view,
    last: null,
    expiresAt: null,
    trustedUntil: null,
    lockedUntil: null,
    retryUntil: null,
    waitShown: false,
    busy: false,
    login: q('.login'),
    loginText: q('.login-text'),
    message: q('.login-message'),
    lockout: q('.lockout'),
    force: q('.login-force'),
    codeForm: q('.code-form'),
    codeInput: q('.code-input'),
    steps: q('.login-steps'),
    expiry: q('.token-expiry'),
    trust: q('.trust-info'),
    whoamiResult: q('.whoami-result'),
    workspaceForm: q('.workspace-form'),
    workspaceInput: q('.workspace-id'),
    mfaOffer: q('.mfa-offer'),
    enableMfa: q('.enable-mfa'),
    enableMfaText: q('.enable-mfa-text'),
    devices: null,
  };
  // Unique ids for the labels of this card's inputs.
  card.codeInput.id = `${id}-code`;
  q('.code-label').htmlFor = card.codeInput.id;
  card.workspaceInput.id = `${id}-workspace`;
  q('.workspace-label').htmlFor = card.workspaceInput.id;
  const nameEl = q('.profile-name');
  nameEl.id = `${id}-name`;
  el.setAttribute('aria-labelledby', nameEl.id);

  card.login.addEventListener('click', () => login(card, false));
  card.force.addEventListener('click', () => login(card, true));
  card.codeForm.addEventListener('submit', (event) => {
    event.preventDefault();
    submitCode(card);
  });
  q('.copy-token').addEventListener('click', () => copyToken(card));
  q('.refresh').addEventListener('click', () => refreshToken(card));
  q('.logout').addEventListener('click', () => logout(card));
  q('.whoami').addEventListener('click', () => whoami(card));
  q('.remove-profile').addEventListener('click', () => removeProfile(card));
  card.enableMfa.addEventListener('click', () => enableMfa(card));
  card.workspaceForm.addEventListener('submit', (event) => {
    event.preventDefault();
    switchWorkspace(card);
  });
  card.devices = devicesSection(q('.devices-section'), view.name);
  listEl.appendChild(el);
  return card;
}

function hostOf(url) {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

function updateView(card, view) {
  card.view = view;
  const { el } = card;
  setText(el.querySelector('.profile-name'), view.name);
  const parts = [];
  if (view.method === 'application_token') {
    parts.push('Application token');
  } else {
    parts.push(view.username || 'user');
    parts.push(view.otp_account ? `codes from ${view.otp_account}` : 'asks for the code');
  }
  parts.push(hostOf(view.api_url));
  setText(el.querySelector('.profile-sub'), parts.join(' · '));
  const remove = el.querySelector('.remove-profile');
  setAttr(remove, 'aria-label', `Remove profile ${view.name}`);
  setAttr(remove, 'title', `Remove profile ${view.name}`);
  setAttr(card.login, 'aria-label', `Log in to ${view.name}`);
  show(el.querySelector('.devices-section'), view.method !== 'application_token');
  const offerMfa = view.method !== 'application_token' && !view.otp_account;
  show(card.mfaOffer, offerMfa);
  if (offerMfa) setAttr(card.enableMfa, 'aria-label', `Enable app-based MFA for ${view.name}`);
  toggleClass(el, 'app-token', view.method === 'application_token');
  if (view.token_expires_at) card.expiresAt = view.token_expires_at;
  else if (!card.last || card.last.state !== 'logged_in') card.expiresAt = null;
  card.trustedUntil = view.trusted_until || null;
  if (view.locked_until) card.lockedUntil = view.locked_until;
}

// ---------------------------------------------------------------------------- live countdowns

function tick() {
  const now = nowSeconds();
  for (const card of cards.values()) {
    // Token
    if (card.expiresAt && card.expiresAt > now) {
      setText(card.expiry, `Token valid for ${formatWait(card.expiresAt - now)} (until ${formatTime(card.expiresAt)})`);
      card.expiry.dataset.tone = card.expiresAt - now < 120 ? 'warn' : 'success';
    } else if (card.expiresAt) {
      setText(card.expiry, 'Token expired: log in again, or copy the token to renew it.');
      card.expiry.dataset.tone = 'warn';
    } else {
      setText(card.expiry, 'Not logged in.');
      card.expiry.dataset.tone = 'quiet';
    }
    show(card.trust, Boolean(card.trustedUntil && card.trustedUntil > now));
    if (card.trustedUntil && card.trustedUntil > now) {
      setText(card.trust, `This device is trusted until ${formatDate(card.trustedUntil)}.`);
    }
    // Lockout / rate limit
    let wait = '';
    if (card.lockedUntil && card.lockedUntil > now) {
      wait = `Locked after three failed attempts: try again in ${formatWait(card.lockedUntil - now)}.`;
    } else if (card.retryUntil && card.retryUntil > now) {
      wait = `Rate-limited by the emnify API: try again in ${formatWait(card.retryUntil - now)}.`;
    }
    if (!wait && card.waitShown) {
      card.lockedUntil = null;
      card.retryUntil = null;
      setText(card.message, 'You can try again now.');
      card.message.dataset.tone = 'info';
    }
    card.waitShown = Boolean(wait);
    setText(card.lockout, wait);
    show(card.lockout, Boolean(wait));
    card.login.disabled = card.busy || Boolean(wait);
    card.force.disabled = card.busy || Boolean(wait);
  }
}

setInterval(tick, 1000);

// ---------------------------------------------------------------------------- login states

function setBusy(card, on, text) {
  card.busy = on;
  card.el.setAttribute('aria-busy', on ? 'true' : 'false');
  for (const button of card.el.querySelectorAll('.token button, .code-form button, .login, .login-force, .enable-mfa')) {
    button.disabled = on;
  }
  setText(card.loginText, on && text ? text : 'Log in');
  toggleClass(card.login, 'loading', on && Boolean(text));
  if (!on) tick();
}

function setMessage(card, text, tone) {
  setText(card.message, text);
  card.message.dataset.tone = tone || 'info';
}

function renderSteps(card, steps) {
  card.steps.replaceChildren(
    ...steps.map((step) => {
      const li = document.createElement('li');
      li.className = 'step done';
      const icon = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
      icon.setAttribute('class', 'icon');
      icon.setAttribute('aria-hidden', 'true');
      const use = document.createElementNS('http://www.w3.org/2000/svg', 'use');
      use.setAttribute('href', '#i-check');
      icon.appendChild(use);
      const text = document.createElement('span');
      text.textContent = step;
      li.append(icon, text);
      return li;
    }),
  );
}

function apply(card, view) {
  card.last = view;
  const now = nowSeconds();
  renderSteps(card, view.steps || []);
  let message = uiMessage(view.message);
  if (view.state === 'logged_in') {
    message = 'Logged in.';
    card.expiresAt = view.expires_at || card.expiresAt;
    card.lockedUntil = null;
    card.retryUntil = null;
  }
  if (view.trusted_until) card.trustedUntil = view.trusted_until;
  if (view.state === 'locked') card.lockedUntil = view.locked_until || null;
  if (view.state === 'rate_limited') card.retryUntil = now + (Number(view.retry_after) || 0);
  // The countdown line says the time: keep the message short for these two.
  if (view.state === 'locked') message = 'The emnify account is locked after three failed attempts.';
  if (view.state === 'rate_limited') message = 'The emnify API is rate-limiting this address (100 logins per 5 minutes).';
  card.waitShown = false;
  setMessage(card, message, TONES[view.state] || 'info');

  const needsCode = view.state === 'needs_code';
  show(card.codeForm, needsCode);
  show(card.force, view.state === 'needs_confirmation');
  if (needsCode) {
    card.codeInput.value = '';
    setTimeout(() => card.codeInput.focus(), 0);
  }
  tick();
}

/** Tells the page that a profile logged in (the Events tab counts its new events then). */
function loggedIn(card) {
  document.dispatchEvent(new CustomEvent('emnify:logged-in', { detail: { name: card.name } }));
}

function failed(card, err) {
  setMessage(card, uiMessage(err.message), 'error');
  if (err.kind === 'needs_login') card.login.focus();
}

async function login(card, force) {
  if (card.busy) return;
  setBusy(card, true, 'Logging in…');
  show(card.whoamiResult, false);
  try {
    const view = await invoke('login', { name: card.name, force });
    setBusy(card, false);
    apply(card, view);
    if (view.state === 'logged_in') {
      announce(`Logged in to ${card.name}`, 'success');
      card.devices.load();
      loggedIn(card);
    } else if (view.state === 'needs_confirmation') {
      card.force.focus();
    }
  } catch (err) {
    setBusy(card, false);
    failed(card, err);
  }
}

async function submitCode(card) {
  const code = card.codeInput.value.replace(/\s+/g, '');
  if (!/^\d{6,8}$/.test(code)) {
    setMessage(card, 'Type the 6 to 8 digits of the MFA code.', 'error');
    card.codeInput.setAttribute('aria-invalid', 'true');
    card.codeInput.focus();
    return;
  }
  card.codeInput.removeAttribute('aria-invalid');
  setBusy(card, true, 'Checking code…');
  try {
    const view = await invoke('submit_code', { name: card.name, code });
    setBusy(card, false);
    apply(card, view);
    if (view.state === 'logged_in') {
      announce(`Logged in to ${card.name}`, 'success');
      card.devices.load();
      loggedIn(card);
    }
  } catch (err) {
    setBusy(card, false);
    show(card.codeForm, false);
    failed(card, err);
  }
}

async function copyToken(card) {
  setBusy(card, true);
  try {
    const view = await invoke('copy_token', { name: card.name });
    setBusy(card, false);
    apply(card, view);
    const seconds = currentSettings().clipboard_clear_seconds;
    setMessage(card, copiedMessage('Token', seconds) + '.', 'success');
    announce(copiedMessage('Token', seconds), 'success');
  } catch (err) {
    setBusy(card, false);
    failed(card, err);
  }
}

async function refreshToken(card) {
  setBusy(card, true);
  try {
    const view = await invoke('refresh_token', { name: card.name });
    setBusy(card, false);
    apply(card, view);
    setMessage(card, 'Token renewed.', 'success');
    announce(`Token of ${card.name} renewed`, 'success');
  } catch (err) {
    setBusy(card, false);
    failed(card, err);
  }
}

async function logout(card) {
  setBusy(card, true);
  try {
    await invoke('logout', { name: card.name });
    setBusy(card, false);
    card.expiresAt = null;
    card.last = null;
    renderSteps(card, []);
    show(card.codeForm, false);
    show(card.force, false);
    show(card.whoamiResult, false);
    setMessage(card, 'Logged out: the tokens are gone from the keyring.', 'info');
    announce(`Logged out of ${card.name}`);
    tick();
  } catch (err) {
    setBusy(card, false);
    failed(card, err);
  }
}

async function whoami(card) {
  setBusy(card, true);
  try {
    const user = await invoke('whoami', { name: card.name });
    setBusy(card, false);
    const who = [user.name, user.username && user.name !== user.username ? `<${user.username}>` : null]
      .filter(Boolean)
      .join(' ');
    const parts = [`Signed in as ${who || user.username || 'unknown user'}`];
    if (user.organisation) parts.push(`workspace “${user.organisation}”`);
    setText(card.whoamiResult, `${parts.join(', ')}.`);
    show(card.whoamiResult, true);
  } catch (err) {
    setBusy(card, false);
    failed(card, err);
  }
}

async function switchWorkspace(card) {
  const text = card.workspaceInput.value.trim();
  if (!/^\d+$/.test(text) || Number(text) < 1) {
    setMessage(card, 'Type the numeric ID of the workspace (organisation) to switch to.', 'error');
    card.workspaceInput.setAttribute('aria-invalid', 'true');
    card.workspaceInput.focus();
    return;
  }
  card.workspaceInput.removeAttribute('aria-invalid');
  setBusy(card, true);
  try {
    const view = await invoke('switch_workspace', { name: card.name, id: Number(text) });
    setBusy(card, false);
    apply(card, view);
    setMessage(card, `Switched to workspace ${text}.`, 'success');
    announce(`Switched ${card.name} to workspace ${text}`, 'success');
    if (!card.whoamiResult.hidden) whoami(card);
  } catch (err) {
    setBusy(card, false);
    failed(card, err);
  }
}

async function enableMfa(card) {
  if (card.busy) return;
  const user = card.view.username || card.name;
  const ok = await confirm({
    title: 'Enable app-based MFA?',
    message: `Creates an MFA key for ${user} at emnify and stores it here; from then on logins of this profile use codes from this app.`,
    ok: 'Enable MFA',
  });
  if (!ok) return;
  setBusy(card, true);
  setText(card.enableMfaText, 'Enabling MFA…');
  setAttr(card.enableMfa, 'aria-label', null); // named by its text while busy
  setAttr(card.enableMfa, 'aria-busy', 'true');
  const done = () => {
    setText(card.enableMfaText, 'Enable app-based MFA');
    setAttr(card.enableMfa, 'aria-label', `Enable app-based MFA for ${card.name}`);
    setAttr(card.enableMfa, 'aria-busy', null);
    setBusy(card, false);
  };
  let result;
  try {
    result = await invoke('enable_mfa', { name: card.name });
  } catch (err) {
    done();
    failed(card, err);
    if (err.kind !== 'needs_login' && !card.mfaOffer.hidden) card.enableMfa.focus();
    return;
  }
  done();
  const message = `MFA enabled — codes come from ${result.account}`;
  setMessage(card, `${message}.`, 'success');
  announce(message, 'success');
  // Enrolling logged in if it had to: the card shows the new account and token.
  await loadProfiles();
  refreshAccounts({ fresh: true }).catch(() => {});
  if (card.expiresAt && card.expiresAt > nowSeconds()) loggedIn(card);
  const focused = document.activeElement;
  if (!focused || focused === document.body || card.el.contains(focused)) card.login.focus();
}

/** Focuses the Log in button of a profile (after the profiles were read). */
export async function focusLogin(name) {
  await loadProfiles();
  const card = cards.get(name);
  if (card) {
    card.el.scrollIntoView({ block: 'nearest' });
    card.login.focus();
  }
}

async function removeProfile(card) {
  const ok = await confirm({
    title: 'Remove profile?',
    message: `Remove the login profile “${card.name}”? Its stored password hash and tokens are deleted from the keyring. Authenticator accounts stay.`,
    ok: 'Remove',
    danger: true,
  });
  if (!ok) return;
  try {
    await invoke('remove_profile', { name: card.name });
    announce(`Removed profile ${card.name}`, 'success');
    await loadProfiles();
    const first = listEl.querySelector('.login');
    (first || $('#profile-add-button')).focus();
  } catch (err) {
    announce(sentence(err.message), 'error');
  }
}

// ---------------------------------------------------------------------------- add form

const form = $('#profile-form');
const addButton = $('#profile-add-button');
const nameInput = $('#profile-name');
const urlInput = $('#profile-url');
const usernameInput = $('#profile-username');
const passwordInput = $('#profile-password');
const otpSelect = $('#profile-otp');
const trustInput = $('#profile-trust');
const tokenToggle = $('#profile-app-token-toggle');
const tokenInput = $('#profile-app-token');
const formError = $('#profile-error');
let otpTouched = false;

function fillAccounts(accounts) {
  const selected = otpSelect.value;
  const options = [new Option('None — ask for the code', '')];
  for (const account of accounts) options.push(new Option(account.name, account.id));
  otpSelect.replaceChildren(...options);
  otpSelect.value = accounts.some((a) => a.id === selected) ? selected : '';
}

function guessAccount() {
  if (otpTouched) return;
  const accounts = currentAccounts();
  const user = usernameInput.value.trim().toLowerCase();
  const match =
    (user && accounts.find((a) => a.label.toLowerCase() === user)) ||
    accounts.find((a) => /emnify/i.test(a.issuer) && (!user || a.label.toLowerCase() === user));
  otpSelect.value = match ? match.id : '';
}

function syncTokenMode() {
  const token = tokenToggle.checked;
  show($('#profile-credentials'), !token);
  show($('#profile-app-token-field'), token);
}

function clearForm() {
  form.reset();
  otpTouched = false;
  trustInput.checked = true;
  syncTokenMode();
  show(formError, false);
}

async function openForm() {
  clearForm();
  show(form, true);
  setAttr(addButton, 'aria-expanded', 'true');
  nameInput.focus();
  fillAccounts(currentAccounts());
  try {
    fillAccounts(await invoke('accounts'));
  } catch {
    /* the list from the accounts screen will do */
  }
  guessAccount();
}

function closeForm() {
  clearForm();
  show(form, false);
  setAttr(addButton, 'aria-expanded', 'false');
}

/** Opens the new-profile form (from elsewhere, e.g. the Events screen). */
export function openProfileForm() {
  if (form.hidden) openForm();
  else nameInput.focus();
}

addButton.addEventListener('click', () => (form.hidden ? openForm() : closeForm()));
$('#profile-cancel').addEventListener('click', () => {
  closeForm();
  addButton.focus();
});
form.addEventListener('keydown', (event) => {
  if (event.key === 'Escape') {
    event.preventDefault();
    closeForm();
    addButton.focus();
  }
});
tokenToggle.addEventListener('change', syncTokenMode);
otpSelect.addEventListener('change', () => {
  otpTouched = true;
});
usernameInput.addEventListener('input', guessAccount);

function formFail(message, input) {
  setText(formError, message);
  show(formError, true);
  if (input) input.focus();
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  show(formError, false);
  const name = nameInput.value.trim();
  const apiUrl = urlInput.value.trim();
  const useToken = tokenToggle.checked;
  if (!name) return formFail('Give the profile a name, e.g. “prod”.', nameInput);
  const args = {
    name,
    apiUrl,
    username: null,
    password: null,
    otpAccountId: null,
    trustDevice: false,
    applicationToken: null,
  };
  if (useToken) {
    if (!tokenInput.value.trim()) return formFail('Paste the application token.', tokenInput);
    args.applicationToken = tokenInput.value.trim();
  } else {
    if (!usernameInput.value.trim()) return formFail('Type the user name (e-mail) you log in with.', usernameInput);
    if (!passwordInput.value) return formFail('Type the password.', passwordInput);
    args.username = usernameInput.value.trim();
    args.password = passwordInput.value;
    args.otpAccountId = otpSelect.value || null;
    args.trustDevice = trustInput.checked;
  }
  const save = $('#profile-save');
  save.disabled = true;
  try {
    await invoke('add_profile', args);
    closeForm();
    announce(`Profile ${name} added`, 'success');
    await loadProfiles();
    const card = cards.get(name);
    if (card) card.login.focus();
  } catch (err) {
    formFail(sentence(err.message));
  } finally {
    save.disabled = false;
  }
});
