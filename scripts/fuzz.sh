#!/usr/bin/env bash
# Builds every cargo-fuzz target in fuzz/ and runs each for SECONDS_PER_TARGET seconds
# (default 20), printing per target the executions done. Fails on any crash, panic,
# timeout or out-of-memory, with the path of the failing input in the output.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]
#
# Works on the stable toolchain: cargo-fuzz's nightly-only flags are let through with
# RUSTC_BOOTSTRAP=1. Environment knobs (all optional):
#   FUZZ_TARGETS="a b"  only these targets (default: all that `cargo fuzz list` shows)
#   FUZZ_SANITIZER      none (default) or address, leak, ...; see fuzz/README.md for why
#   FUZZ_TIMEOUT        seconds one input may take before it counts as a hang (default 30)
#   FUZZ_NO_TRACE_COMPARES=1  build without comparison tracing: image_qr runs ~2.7x faster
#                       (its time goes to per-pixel loops); text targets lose guidance
#   CARGO_TARGET_DIR    the build goes to $CARGO_TARGET_DIR/fuzz (default: target/fuzz)
# Per target, fuzz/seeds/<target>/ and fuzz/regressions/<target>/ are read as inputs,
# fuzz/dicts/<target>.dict is used as the dictionary and fuzz/options/<target> may hold
# extra libFuzzer flags (one per line, e.g. -max_len=32768); all of them are optional.
set -euo pipefail

CARGO_FUZZ_VERSION=0.13.2

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FUZZ_DIR="$ROOT/fuzz"
SECONDS_PER_TARGET=${1:-20}
if ! [[ $SECONDS_PER_TARGET =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET]   (a whole number of seconds, at least 1)" >&2
    exit 2
fi
SANITIZER=${FUZZ_SANITIZER:-none}
TIMEOUT=${FUZZ_TIMEOUT:-30}

if ! command -v cargo >/dev/null && [[ -f "${CARGO_HOME:-$HOME/.cargo}/env" ]]; then
    # shellcheck disable=SC1091
    source "${CARGO_HOME:-$HOME/.cargo}/env"
fi

# cargo-fuzz passes -Z flags (sanitizer coverage passes, -Zsanitizer) to rustc; this lets
# the stable compiler take them, for this script's commands only.
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz $CARGO_FUZZ_VERSION"
    cargo install --locked cargo-fuzz --version "$CARGO_FUZZ_VERSION"
elif ! cargo fuzz --version | grep -qF "$CARGO_FUZZ_VERSION"; then
    echo "note: using $(cargo fuzz --version), not the pinned cargo-fuzz $CARGO_FUZZ_VERSION" >&2
fi

TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}/fuzz"
LOG_DIR="$TARGET_DIR/logs"
mkdir -p "$LOG_DIR"
# The same flags for build and run, so that `cargo fuzz run` finds nothing to rebuild.
FLAGS=(--fuzz-dir "$FUZZ_DIR" --target-dir "$TARGET_DIR" --sanitizer "$SANITIZER" --debug-assertions)
if [[ ${FUZZ_NO_TRACE_COMPARES:-} == 1 ]]; then
    FLAGS+=(--no-trace-compares)
fi

cd "$ROOT"
echo "== building the fuzz targets ($(rustc --version), sanitizer: $SANITIZER, into $TARGET_DIR)"
build_start=$(date +%s)
nice -n 10 cargo fuzz build "${FLAGS[@]}"
echo "== built in $(($(date +%s) - build_start)) s"

if [[ -n ${FUZZ_TARGETS:-} ]]; then
    read -r -a TARGETS <<<"$FUZZ_TARGETS"
else
    mapfile -t TARGETS < <(cargo fuzz list --fuzz-dir "$FUZZ_DIR")
fi
if [[ ${#TARGETS[@]} -eq 0 ]]; then
    echo "error: no fuzz targets found in $FUZZ_DIR" >&2
    exit 1
fi

failed=()
summary=()
for target in "${TARGETS[@]}"; do
    corpus="$FUZZ_DIR/corpus/$target"
    mkdir -p "$corpus" "$FUZZ_DIR/artifacts/$target"
    # New inputs go to the first (git-ignored) folder; seeds and regressions are only read.
    inputs=("$corpus")
    for extra in "$FUZZ_DIR/seeds/$target" "$FUZZ_DIR/regressions/$target"; do
        [[ -d $extra ]] && inputs+=("$extra")
    done
    args=(-max_total_time="$SECONDS_PER_TARGET" -timeout="$TIMEOUT" -print_final_stats=1)
    [[ -f "$FUZZ_DIR/dicts/$target.dict" ]] && args+=(-dict="$FUZZ_DIR/dicts/$target.dict")
    if [[ -f "$FUZZ_DIR/options/$target" ]]; then
        while read -r option; do
            [[ -z $option || $option == \#* ]] || args+=("$option")
        done <"$FUZZ_DIR/options/$target"
    fi

    log="$LOG_DIR/$target.log"
    echo "== fuzzing $target for ${SECONDS_PER_TARGET}s (log: $log)"
    status=0
    nice -n 10 cargo fuzz run "${FLAGS[@]}" "$target" "${inputs[@]}" -- "${args[@]}" >"$log" 2>&1 || status=$?

    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    line="$target: ${execs:-?} executions (${rate:-?}/s)"
    if [[ $status -ne 0 ]]; then
        failed+=("$target")
        line+=" FAILED (exit $status)"
        echo "---- $target failed; the whole output is in $log"
        # The panic message or libFuzzer's report, then where cargo-fuzz put the input (its
        # Debug dump of the input is left out: for an image it is one huge line).
        grep -E -A1 'panicked at|ERROR: libFuzzer|==[0-9]+== ?ERROR|ALARM|out-of-memory|deadly signal|^SUMMARY' "$log" |
            cut -c1-300 | head -n 30 || true
        grep -E -A2 '^(Failing input|Reproduce with):' "$log" | cut -c1-300 || tail -n 20 "$log"
        crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
        if [[ -n $crash ]]; then
            [[ $crash = /* ]] || crash="$ROOT/$crash"
            line+=", input: $crash"
        fi
        echo "----"
    fi
    echo "$line"
    summary+=("$line")
done

echo "== fuzzing summary (${SECONDS_PER_TARGET}s per target)"
printf '  %s\n' "${summary[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "error: fuzz target(s) failed: ${failed[*]} (reproduce: RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir fuzz --sanitizer $SANITIZER -a TARGET INPUT)" >&2
    exit 1
fi
