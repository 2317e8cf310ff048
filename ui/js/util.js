// Small DOM and formatting helpers. Data is only ever written with textContent.

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

/** A fresh copy of a <template>'s first element. */
export function fromTemplate(id) {
  return document.getElementById(id).content.firstElementChild.cloneNode(true);
}

/** Sets text only when it changed (no needless layout work on the 1 s tick). */
export function setText(el, text) {
  const value = text == null ? '' : String(text);
  if (el.textContent !== value) el.textContent = value;
}

/** Sets or removes an attribute only when it changed. */
export function setAttr(el, name, value) {
  if (value == null || value === false) {
    if (el.hasAttribute(name)) el.removeAttribute(name);
    return;
  }
  const text = value === true ? '' : String(value);
  if (el.getAttribute(name) !== text) el.setAttribute(name, text);
}

export function show(el, visible) {
  if (el.hidden === visible) el.hidden = !visible;
}

export function toggleClass(el, name, on) {
  if (el.classList.contains(name) !== Boolean(on)) el.classList.toggle(name, Boolean(on));
}

/** Unix time in seconds. */
export const nowSeconds = () => Math.floor(Date.now() / 1000);

/** "123 456" (6), "123 4567" (7), "1234 5678" (8). */
export function groupCode(code) {
  if (!code) return '';
  const half = Math.floor(code.length / 2);
  return code.length >= 6 ? `${code.slice(0, half)} ${code.slice(half)}` : code;
}

/** "42 s", "4 min 10 s", "1 h 5 min", "3 d 4 h". */
export function formatWait(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

const dateFormat = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', year: 'numeric' });
const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

/** A Date from Unix seconds or an ISO 8601 string; null when unreadable. */
export function toDate(value) {
  if (value == null || value === '') return null;
  const date = typeof value === 'number' ? new Date(value * 1000) : new Date(String(value));
  return Number.isNaN(date.getTime()) ? null : date;
}

export function formatDate(value) {
  const date = toDate(value);
  return date ? dateFormat.format(date) : String(value);
}

export function formatTime(value) {
  const date = toDate(value);
  return date ? timeFormat.format(date) : String(value);
}

/** Backend messages are lower-case sentences: start them with a capital and end them. */
export function sentence(message) {
  const text = String(message || '').trim();
  if (!text) return '';
  const first = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?…)]$/.test(first) ? first : `${first}.`;
}

export const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

/** Whether a key event comes from a text field (shortcuts then stay out of the way). */
export function isTyping(target) {
  if (!target || !(target instanceof Element)) return false;
  if (target.isContentEditable) return true;
  if (target.tagName === 'TEXTAREA' || target.tagName === 'SELECT') return true;
  if (target.tagName !== 'INPUT') return false;
  return !['checkbox', 'radio', 'button', 'submit', 'reset', 'file', 'range', 'color'].includes(target.type);
}

/** Whether any modal dialog is open. */
export const modalOpen = () => Boolean(document.querySelector('dialog[open]'));
