#!/usr/bin/env bash
# Sets up a Debian/Ubuntu machine and runs every check: formatting, clippy with warnings as
# errors, and all tests inside a private D-Bus session with a real, unlocked gnome-keyring.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh --tests
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# The GUI and CLI tests start the app and simulator binaries, which `cargo test` alone
# builds only for packages that have tests of their own.
cargo build --workspace --bins --locked
scripts/with-keyring.sh cargo test --workspace --locked
# A short fuzz run of every parser (15 s each); long runs are in fuzz/README.md.
scripts/fuzz.sh 15
