// The full-window screens that stand in front of the app until the keys may be shown:
// the vault file's password (#unlock-screen), a keyring that cannot be reached
// (#keyring-screen) and the app lock (#lock-screen). While any is up, everything behind
// it is inert (no focus, no clicks, hidden from assistive technology) and no dialog stays
// open on top of it.

const behind = () =>
  ['.app-header', 'main.panels', '#demo-banner'].map((s) => document.querySelector(s)).filter(Boolean);

const up = new Set();

/** Shows or hides the screen `el`; focuses `focus` when it comes up. */
export function showGate(el, on, focus = null) {
  if (on) {
    for (const dialog of document.querySelectorAll('dialog[open]')) dialog.close();
    up.add(el);
  } else {
    up.delete(el);
  }
  el.hidden = !on;
  for (const part of behind()) part.inert = up.size > 0;
  if (on && focus) focus.focus();
}

/** Whether any screen stands in front of the app. */
export const gateUp = () => up.size > 0;
