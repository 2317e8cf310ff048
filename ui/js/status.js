// The status line (#status, role="status"): one calm message at a time.

const statusEl = document.getElementById('status');
let timer = 0;

/**
 * Shows a message in the status line. tone: "info" | "success" | "error".
 * Messages fade after a while; errors stay a little longer.
 */
export function announce(message, tone = 'info') {
  clearTimeout(timer);
  statusEl.dataset.tone = tone;
  if (statusEl.textContent === message) {
    // The same text again ("Code copied" twice): clear first so it is announced again.
    statusEl.textContent = '';
    setTimeout(() => {
      statusEl.textContent = message;
    }, 60);
  } else {
    statusEl.textContent = message;
  }
  timer = setTimeout(() => {
    statusEl.textContent = '';
  }, tone === 'error' ? 10000 : 6000);
}

/** The copy message for a {clear_after} answer. */
export function copiedMessage(what, clearAfter) {
  return clearAfter > 0
    ? `${what} copied — clipboard clears in ${clearAfter} s`
    : `${what} copied`;
}

let clockWarningEl = null;

/**
 * Shows (message) or hides (null) the clock-drift warning line under the demo banner,
 * above the tabs. It stays until the drift is corrected or gone.
 */
export function showClockWarning(message) {
  if (!clockWarningEl) {
    if (!message) return;
    clockWarningEl = document.createElement('div');
    clockWarningEl.id = 'clock-warning';
    clockWarningEl.className = 'demo-banner';
    clockWarningEl.setAttribute('role', 'note');
    const svgNs = 'http://www.w3.org/2000/svg';
    const icon = document.createElementNS(svgNs, 'svg');
    icon.setAttribute('class', 'icon');
    icon.setAttribute('aria-hidden', 'true');
    const use = document.createElementNS(svgNs, 'use');
    use.setAttribute('href', '#i-alert');
    icon.append(use);
    clockWarningEl.append(icon, document.createElement('span'));
    const header = document.querySelector('.app-header');
    header.parentNode.insertBefore(clockWarningEl, header);
  }
  const text = clockWarningEl.querySelector('span');
  if (message && text.textContent !== message) text.textContent = message;
  clockWarningEl.hidden = !message;
}
