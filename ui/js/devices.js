// Trusted devices of one login profile: a bar of the days left out of 90, a warning when
// trust is about to lapse, Sync with the server and Revoke. If this build has no device
// commands yet, the section says so quietly instead of failing.

import { invoke, isMissingCommand } from './api.js';
import { confirm } from './dialogs.js';
import { currentSettings } from './settings.js';
import { announce } from './status.js';
import { formatDate, fromTemplate, plural, sentence, setAttr, setText, show, toggleClass } from './util.js';

const TRUST_DAYS = 90;
const STATE_TEXT = {
  active: 'Active',
  expiring: 'Expiring',
  expired: 'Expired',
  revoked: 'Revoked',
};

/** Wires the devices section inside a profile card; returns {load, sync}. */
export function devicesSection(section, profileName) {
  const list = section.querySelector('.devices');
  const note = section.querySelector('.devices-note');
  const syncButton = section.querySelector('.sync-devices');
  const title = section.querySelector('.devices-title');
  let available = true;
  let busy = false;

  const titleId = `devices-title-${Math.random().toString(36).slice(2, 9)}`;
  title.id = titleId;
  section.setAttribute('aria-labelledby', titleId);
  list.setAttribute('aria-labelledby', titleId);
  setAttr(syncButton, 'aria-label', `Sync trusted devices of ${profileName} with the server`);
  setAttr(syncButton, 'title', 'Sync with the emnify API');

  function setNote(text, tone = 'quiet') {
    setText(note, text);
    note.dataset.tone = tone;
    show(note, Boolean(text));
  }

  function unavailable() {
    available = false;
    list.replaceChildren();
    syncButton.disabled = true;
    setNote('Trusted-device management is not available in this version.');
  }

  function render(devices) {
    const warnDays = currentSettings().device_warning_days;
    const rows = devices.map((device) => renderDevice(device, warnDays));
    list.replaceChildren(...rows);
    if (!devices.length) {
      setNote('No trusted devices yet. Log in with “Trust this device” to skip the MFA code for 90 days.');
    } else {
      setNote('');
    }
  }

  function renderDevice(device, warnDays) {
    const li = fromTemplate('tpl-device');
    li.dataset.id = String(device.id);
    const name = [device.operating_system, device.browser].filter(Boolean).join(' · ') || `Device ${device.id}`;
    const days = Math.max(0, Math.round(Number(device.days_left) || 0));
    const state = STATE_TEXT[device.state] ? device.state : 'active';
    const expiring =
      state === 'expiring' || (state === 'active' && warnDays > 0 && days <= warnDays);
    li.classList.add(`state-${state}`);
    toggleClass(li, 'warn', expiring);
    li.querySelector('.device-name').textContent = name;
    show(li.querySelector('.this-device'), Boolean(device.this_device));
    const stateEl = li.querySelector('.device-state');
    stateEl.textContent = STATE_TEXT[expiring && state === 'active' ? 'expiring' : state];

    const bar = li.querySelector('.device-bar');
    const live = state === 'active' || state === 'expiring';
    const shown = live ? Math.min(days, TRUST_DAYS) : 0;
    bar.setAttribute('aria-valuenow', String(shown));
    bar.setAttribute('aria-valuetext', live ? plural(days, 'day left', 'days left') : STATE_TEXT[state]);
    bar.setAttribute('aria-label', `Trust left for ${name}`);
    li.querySelector('.device-bar-fill').style.setProperty('--fill', `${(shown / TRUST_DAYS) * 100}%`);

    li.querySelector('.days-left').textContent = plural(live ? days : 0, 'day left', 'days left');
    const dates = [];
    if (expiring) {
      dates.push(`Expiring in ${plural(days, 'day', 'days')}: the next login after that asks for an MFA code`);
    } else {
      if (device.trusted_at) dates.push(`trusted ${formatDate(device.trusted_at)}`);
      if (device.expires_at && state !== 'revoked') {
        dates.push(`${live ? 'until' : 'ended'} ${formatDate(device.expires_at)}`);
      }
    }
    if (!device.from_server) dates.push('not confirmed by the server yet');
    li.querySelector('.device-dates').textContent = dates.join(' · ');

    const revoke = li.querySelector('.revoke');
    show(revoke, state !== 'revoked');
    revoke.setAttribute('aria-label', `Revoke trust of ${name}`);
    revoke.addEventListener('click', () => revokeDevice(device, name));
    return li;
  }

  async function run(command) {
    if (!available || busy) return null;
    busy = true;
    section.setAttribute('aria-busy', 'true');
    syncButton.disabled = true;
    try {
      const devices = await invoke(command, { name: profileName });
      render(Array.isArray(devices) ? devices : []);
      return devices;
    } catch (err) {
      if (isMissingCommand(err)) unavailable();
      else setNote(sentence(err.message), 'error');
      return null;
    } finally {
      busy = false;
      section.setAttribute('aria-busy', 'false');
      if (available) syncButton.disabled = false;
    }
  }

  async function revokeDevice(device, name) {
    const ok = await confirm({
      title: 'Revoke this device?',
      message: device.this_device
        ? `Revoke the trust of this computer (${name}) for “${profileName}”? The next login asks for an MFA code again.`
        : `Revoke the trust of ${name} for “${profileName}”? A login from it asks for an MFA code again.`,
      ok: 'Revoke',
      danger: true,
    });
    if (!ok) return;
    try {
      const result = await invoke('revoke_device', { name: profileName, id: device.id });
      announce(`Revoked ${name}`, 'success');
      if (Array.isArray(result)) render(result);
      else await run('devices');
    } catch (err) {
      if (isMissingCommand(err)) unavailable();
      else announce(sentence(err.message), 'error');
    }
  }

  syncButton.addEventListener('click', async () => {
    const devices = await run('sync_devices');
    if (devices) announce(`Trusted devices of ${profileName} synced`, 'success');
  });

  return {
    load: () => run('devices'),
    sync: () => run('sync_devices'),
  };
}
