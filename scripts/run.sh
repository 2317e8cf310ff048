#!/usr/bin/env bash
# Sets up a Debian/Ubuntu machine and runs the emnify Authenticator desktop app.
#   scripts/run.sh           your own vault (OS keyring, platform data folder)
#   scripts/run.sh --demo    demo mode: an embedded emnify API simulator and throwaway data
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
exec cargo run --quiet --release --features custom-protocol -p emnify-authenticator -- "$@"
