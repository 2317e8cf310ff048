#!/usr/bin/env bash
# Runs a command inside a private D-Bus session with its own, unlocked gnome-keyring
# (Secret Service), so tests use a real keyring without touching the user's own.
#   scripts/with-keyring.sh cargo test --workspace
set -euo pipefail

if [ -z "${EMNIFY_PRIVATE_BUS:-}" ]; then
  command -v dbus-run-session >/dev/null || { echo "dbus-run-session is missing: run scripts/setup.sh --tests" >&2; exit 1; }
  command -v gnome-keyring-daemon >/dev/null || { echo "gnome-keyring-daemon is missing: run scripts/setup.sh --tests" >&2; exit 1; }
  # Private runtime, data and cache folders, set before the bus starts so that services it
  # starts on demand (the accessibility bus, the keyring) use them too and never share
  # /root/.cache or the user's folders with another session.
  scratch=$(mktemp -d "${TMPDIR:-/tmp}/emnify-keyring.XXXXXX")
  export EMNIFY_PRIVATE_BUS="$scratch"
  export XDG_RUNTIME_DIR="$scratch/runtime" XDG_DATA_HOME="$scratch/data" \
    XDG_CONFIG_HOME="$scratch/config" XDG_CACHE_HOME="$scratch/cache"
  mkdir -p -m 700 "$XDG_RUNTIME_DIR" "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME"
  exec dbus-run-session -- "$0" "$@"
fi

# Inside the private bus; the folders go when this run ends (the daemon exits with the bus).
trap 'rm -rf "$EMNIFY_PRIVATE_BUS"' EXIT

# --unlock reads the password on stdin and creates an unlocked "login" keyring with it.
printf '%s' 'emnify-test-keyring' | gnome-keyring-daemon --unlock --components=secrets --daemonize >/dev/null

# Wait until the daemon owns org.freedesktop.secrets before anything asks for it: an early
# request would make D-Bus activate a second daemon, which starts locked.
for _ in $(seq 1 100); do
  if dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
      org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q 'boolean true'; then
    set +e
    "$@"
    exit $?
  fi
  sleep 0.1
done
echo "gnome-keyring did not register org.freedesktop.secrets on the private bus within 10 s" >&2
exit 1
