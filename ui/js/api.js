// The only door to the Rust side. Every failure becomes {kind, message}, so callers can
// show `message` as it is and react to `kind`.

const tauri = window.__TAURI__;

/** Whether an error says the command does not exist in this build (or is not allowed). */
export function isMissingCommand(err) {
  return Boolean(err && err.kind === 'missing_command');
}

function normalise(raw) {
  if (raw && typeof raw === 'object' && typeof raw.kind === 'string') {
    return { kind: raw.kind, message: String(raw.message || 'Something went wrong.') };
  }
  const text = typeof raw === 'string' ? raw : (raw && raw.message) || String(raw);
  // Tauri's own refusals are plain strings: "Command x not found", "x not allowed…".
  if (/command .* not found|not allowed|unknown command/i.test(text)) {
    return { kind: 'missing_command', message: text };
  }
  return { kind: 'unknown', message: text };
}

/** Calls a Tauri command; rejects with {kind, message}. */
export async function invoke(command, args) {
  if (!tauri || !tauri.core) {
    throw { kind: 'no_backend', message: 'This page only works inside emnify Authenticator.' };
  }
  try {
    return await tauri.core.invoke(command, args);
  } catch (raw) {
    throw normalise(raw);
  }
}

/** Listens to a Tauri event when the event API is there; resolves to an unlisten function. */
export async function listen(event, handler) {
  if (!tauri || !tauri.event || typeof tauri.event.listen !== 'function') return () => {};
  try {
    return await tauri.event.listen(event, handler);
  } catch {
    return () => {};
  }
}
