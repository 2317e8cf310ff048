#!/usr/bin/env bash
# Installs what building and running emnify Authenticator needs on a fresh Debian or
# Ubuntu machine (Debian packages; Rust itself comes from rustup). With --tests, also what
# the tests need (a keyring daemon, the peer tools they compare with, the GUI test kit).
#   scripts/setup.sh [--tests]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"

packages=(
  build-essential pkg-config           # C toolchain for -sys crates
  libdbus-1-dev                        # Secret Service (OS keyring) over D-Bus
  libwebkit2gtk-4.1-dev libgtk-3-dev   # the Tauri desktop app (WebKitGTK)
  libayatana-appindicator3-dev librsvg2-dev libsoup-3.0-dev libxdo-dev
)
if [ "${1:-}" = "--tests" ]; then
  packages+=(
    dbus dbus-x11                      # a private session bus per test run
    gnome-keyring libsecret-tools      # a real Secret Service, and secret-tool to inspect it
    gcr                                # the keyring's own password prompt (gcr-prompter)
    oathtool                           # independent TOTP implementation the tests compare with
    faketime                           # moves the clock of a process under test (no test hooks in our code)
    qrencode zbar-tools                # independent QR encoder/decoder the tests compare with
    python3 python3-cryptography       # independent decryption of our Aegis-format backups
    webkit2gtk-driver xvfb xauth xclip # end-to-end GUI tests: WebDriver, virtual display, clipboard,
    xdotool imagemagick                # and screenshots of the app's window
  )
  command -v npm >/dev/null || packages+=(nodejs npm)  # fetches axe-core for the accessibility checks
fi

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null; then
  echo "Rust is not installed: install it with rustup (https://rustup.rs), then run this again" >&2
  exit 1
fi

if [ "${1:-}" = "--tests" ]; then
  rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt
  # tauri-driver bridges WebDriver to the app (WebKitWebDriver does the driving).
  command -v tauri-driver >/dev/null || cargo install --locked tauri-driver@2.0.6
  # axe-core, injected by the GUI tests (no lock file: the version is pinned here).
  if [ ! -f "$here/tests/node_modules/axe-core/axe.min.js" ]; then
    npm install --prefix "$here/tests" --no-save --no-package-lock --no-audit --no-fund axe-core@4.14.1 >/dev/null
  fi
fi
