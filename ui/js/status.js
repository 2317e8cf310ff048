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
