#!/usr/bin/env bash
# Start-up time and memory of the desktop app (release build) beside OTPClient, a GTK 3
# authenticator from Debian, measured the same way in the same run.
#
#   bench/desktop_vs_otpclient.sh [--runs N] [--check] [--idle S] [--accounts K]
#                                 [--no-build] [--verbose] [--ours-env K=V] [--smaps DIR]
#
#   --runs N      measured launches of each app (default 5; one unmeasured warm-up each
#                 comes first); medians are reported
#   --check       exit status 1 when a goal is missed
#   --idle S      seconds of idle after "ready" before memory is read (default 5)
#   --accounts K  accounts in both vaults (default 3)
#   --no-build    use target/release as it is (default: cargo build it first)
#   --verbose     per-run memory of every process
#   --ours-env K=V  extra environment for our app only (repeatable), to try a setting,
#                 e.g. --ours-env WEBKIT_DISABLE_DMABUF_RENDERER=1
#   --smaps DIR   keep /proc/PID/smaps of every measured process in DIR (DIR/ours-run1/...)
#
# Both apps run on a private Xvfb display, inside scripts/with-keyring.sh (a private D-Bus
# session with an unlocked gnome-keyring), with throwaway HOME/XDG folders: nothing of the
# machine's own configuration, keyring or caches is read or written.
#
# ours      launch -> "first-code-painted" on stderr (EMNIFY_AUTH_STARTUP_MARK=1: the UI
#           has painted its first codes), then PSS of the whole process tree (main process,
#           WebKitWebProcess, WebKitNetworkProcess, ...) after S s idle.
# OTPClient launch -> its main window (the account list) is mapped, then the same PSS sum.
#           Its database is written beforehand by bench/otpclient_db.py and its password is
#           put in the keyring, with use_secret_service=true in its config, so it opens
#           straight into the account list without a password dialog.
# Goals: first code no later than OTPClient's window (ratio <= 1.0); memory <= 2x
# OTPClient's (ratio <= 2.0).
set -euo pipefail
bench="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$bench/.." && pwd)"

runs=5 check=0 idle=5 accounts=3 build=1 verbose=0
ours_extra=() smaps_dir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="${2:?--runs needs a number}"; shift 2 ;;
    --check) check=1; shift ;;
    --idle) idle="${2:?--idle needs seconds}"; shift 2 ;;
    --accounts) accounts="${2:?--accounts needs a number}"; shift 2 ;;
    --no-build) build=0; shift ;;
    --verbose|-v) verbose=1; shift ;;
    --smaps) smaps_dir="${2:?--smaps needs a folder}"; mkdir -p "$smaps_dir"; smaps_dir="$(cd "$smaps_dir" && pwd)"; shift 2 ;;
    --ours-env)
      case "${2:-}" in *=*) ours_extra+=("$2") ;; *) echo "--ours-env takes K=V" >&2; exit 2 ;; esac
      shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$runs$accounts" in *[!0-9]*) echo "--runs and --accounts take whole numbers" >&2; exit 2 ;; esac
[ "$runs" -ge 1 ] && [ "$accounts" -ge 1 ] && [ "$accounts" -le 20 ] \
  || { echo "--runs must be >= 1 and --accounts 1..20" >&2; exit 2; }
case "$idle" in ''|*[!0-9.]*) echo "--idle takes seconds" >&2; exit 2 ;; esac

target="${CARGO_TARGET_DIR:-$root/target}"
app="$target/release/emnify-authenticator"
cli="$target/release/emnify-auth"

if [ -z "${EMNIFY_BENCH_INSIDE:-}" ]; then
  # --- outside the private session: prerequisites and the release build -------------
  missing=()
  need() { command -v "$1" >/dev/null 2>&1 || missing+=("$2"); }
  need Xvfb xvfb
  need dbus-run-session dbus
  need dbus-send dbus
  need dbus-update-activation-environment dbus
  need gnome-keyring-daemon gnome-keyring
  need secret-tool libsecret-tools
  need otpclient otpclient
  need python3 python3
  if [ "${#missing[@]}" -gt 0 ]; then
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
    if [ "$(id -u)" -eq 0 ]; then
      echo "installing: ${missing[*]}" >&2
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
      echo "missing packages: ${missing[*]}" >&2
      echo "install them with: sudo apt-get install ${missing[*]}" >&2
      echo "(and scripts/setup.sh for the build dependencies of the app)" >&2
      exit 1
    fi
  fi
  if [ "$build" -eq 1 ]; then
    echo "building the release app and CLI (cargo build --release --features custom-protocol)..." >&2
    (cd "$root" && cargo build --release --quiet --features custom-protocol \
      -p emnify-authenticator -p emnify-auth-cli)
  fi
  for bin in "$app" "$cli"; do
    [ -x "$bin" ] || { echo "missing $bin: run without --no-build" >&2; exit 1; }
  done
  export EMNIFY_BENCH_INSIDE=1
  inner=(--runs "$runs" --idle "$idle" --accounts "$accounts" --no-build)
  [ "$check" -eq 0 ] || inner+=(--check)
  [ "$verbose" -eq 0 ] || inner+=(--verbose)
  for kv in "${ours_extra[@]}"; do inner+=(--ours-env "$kv"); done
  [ -z "$smaps_dir" ] || inner+=(--smaps "$smaps_dir")
  exec "$root/scripts/with-keyring.sh" "$0" "${inner[@]}"
fi

# --- inside the private D-Bus session with its unlocked keyring ----------------------
scratch="$(mktemp -d "${TMPDIR:-/tmp}/emnify-bench-desktop.XXXXXX")"
xvfb_pid=""
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  # A probe that is still running ends its app on SIGTERM; the app's process group is
  # ended here as well in case the probe itself was killed.
  if [ -n "${probe_pid:-}" ]; then kill "$probe_pid" 2>/dev/null || true; wait "$probe_pid" 2>/dev/null || true; fi
  for pidfile in "$scratch"/*.pid; do
    [ -f "$pidfile" ] || continue
    pgid="$(cat "$pidfile" 2>/dev/null || true)"
    [ -n "$pgid" ] && kill -KILL -- "-$pgid" 2>/dev/null || true
  done
  if [ -n "$xvfb_pid" ]; then kill "$xvfb_pid" 2>/dev/null || true; wait "$xvfb_pid" 2>/dev/null || true; fi
  rm -rf "$scratch"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A private X display.
Xvfb -displayfd 5 -screen 0 1920x1080x24 -nolisten tcp -noreset 5>"$scratch/display" \
  >"$scratch/xvfb.log" 2>&1 &
xvfb_pid=$!
for _ in $(seq 1 100); do
  grep -q '^[0-9]' "$scratch/display" 2>/dev/null && break
  kill -0 "$xvfb_pid" 2>/dev/null || { echo "Xvfb did not start:" >&2; cat "$scratch/xvfb.log" >&2; exit 1; }
  sleep 0.1
done
grep -q '^[0-9]' "$scratch/display" || { echo "Xvfb did not report a display within 10 s" >&2; exit 1; }
export DISPLAY=":$(head -n1 "$scratch/display")" GDK_BACKEND=x11
unset WAYLAND_DISPLAY

# Services that D-Bus starts on demand (the accessibility bus) get the private runtime
# folder and a throwaway HOME: otherwise at-spi puts its socket in ~/.cache/at-spi of the
# real HOME, where every other private session on the machine puts and removes its own,
# and apps then wait 25 s for an accessibility bus that is gone.
mkdir -p "$scratch/session-home"
dbus-update-activation-environment XDG_RUNTIME_DIR="$XDG_RUNTIME_DIR" \
  HOME="$scratch/session-home" XDG_CACHE_HOME="$scratch/session-home/.cache" \
  DISPLAY="$DISPLAY" >/dev/null 2>&1 \
  || { echo "dbus-update-activation-environment failed" >&2; exit 1; }
# As on a desktop, the accessibility bus is already up when an app starts (without this,
# the first GTK process of the session would wait for its activation).
dbus-send --session --print-reply --dest=org.a11y.Bus /org/a11y/bus org.a11y.Bus.GetAddress \
  >/dev/null 2>&1 || true

# The same accounts for both apps (RFC 4648 base32 keys, not secrets of anyone).
keys=(JBSWY3DPEHPK3PXP GEZDGNBVGY3TQOJQ MFRGGZDFMZTWQ2LK KRSXG5CTMVRXEZLU NBSWY3DPO5XXE3DE)
specs=()
for i in $(seq 1 "$accounts"); do
  specs+=("Bench $i:bench$i@example.com:${keys[$(( (i - 1) % ${#keys[@]} ))]}")
done

# Ours: a vault in a throwaway data folder, keys in the private keyring.
ours_home="$scratch/ours-home"
mkdir -p "$ours_home"/{config,cache,data,state} "$scratch/ours-vault"
export EMNIFY_AUTH_DATA_DIR="$scratch/ours-vault" EMNIFY_AUTH_KEYRING_SERVICE="emnify-bench-$$"
for spec in "${specs[@]}"; do
  IFS=: read -r issuer label key <<<"$spec"
  "$cli" add --secret "$key" --label "$label" --issuer "$issuer" >/dev/null
done

# OTPClient: its 3.x database, config and keyring entry (attribute string=main_pwd).
otp_home="$scratch/otpclient-home"
mkdir -p "$otp_home"/{config,cache,data,state}
otp_password="bench-$$-$RANDOM$RANDOM"
python3 "$bench/otpclient_db.py" "$otp_home/otpclient-db.enc" "$otp_password" "${specs[@]}"
printf '[config]\ndb_path=%s\nuse_secret_service=true\nshow_memlock_warning=false\n' \
  "$otp_home/otpclient-db.enc" >"$otp_home/config/otpclient.cfg"
printf '%s' "$otp_password" | secret-tool store --label='OTPClient bench database' \
  xdg:schema com.github.paolostivanin.OTPClient string main_pwd

home_env() {  # throwaway HOME and XDG folders for one app
  printf -- '--env\0HOME=%s\0--env\0XDG_CONFIG_HOME=%s/config\0--env\0XDG_CACHE_HOME=%s/cache\0--env\0XDG_DATA_HOME=%s/data\0--env\0XDG_STATE_HOME=%s/state\0' \
    "$1" "$1" "$1" "$1" "$1"
}
mapfile -d '' ours_env < <(home_env "$ours_home")
for kv in "${ours_extra[@]}"; do ours_env+=(--env "$kv"); done
mapfile -d '' otp_env < <(home_env "$otp_home")

probe_pid=""
measure() {  # measure NAME OUTFILE [RUN]: one launch, one JSON line appended to OUTFILE
  local name="$1" out="$2" run="${3:-}" args=()
  [ -z "$smaps_dir" ] || [ -z "$run" ] || args+=(--smaps "$smaps_dir/$name-run$run")
  if [ "$name" = ours ]; then
    args+=(--window '^emnify Authenticator$' --mark first-code-painted "${ours_env[@]}"
           --env EMNIFY_AUTH_STARTUP_MARK=1 -- "$app")
  else
    args+=(--window '^OTPClient$' "${otp_env[@]}" -- otpclient)
  fi
  python3 "$bench/launch_probe.py" --idle "$idle" --timeout 60 --log "$scratch/$name.log" \
    --pidfile "$scratch/$name.pid" "${args[@]}" >>"$out" &
  probe_pid=$!
  local status=0
  wait "$probe_pid" || status=$?
  probe_pid=""
  rm -f "$scratch/$name.pid"
  if [ "$status" -ne 0 ]; then
    echo "$name: measurement failed: $(tail -n1 "$out")" >&2
    echo "--- last lines of the $name log:" >&2
    tail -n 20 "$scratch/$name.log" >&2
    exit 1
  fi
  sleep 1  # let the session settle (D-Bus names released, caches written)
}

[ "${#ours_extra[@]}" -eq 0 ] || echo "our app runs with: ${ours_extra[*]}" >&2
# One unmeasured launch of each first, as on a desktop where apps have run before: the
# page cache holds the libraries, Mesa's shader cache is filled, and the first GTK 3 app
# on a display has cached its GL visual on the root window (else the first one to start
# loads GLX/Mesa itself: +14 MiB and slower for OTPClient).
echo "warm-up launches (not measured)..." >&2
measure ours "$scratch/warmup.jsonl"
measure otpclient "$scratch/warmup.jsonl"
for i in $(seq 1 "$runs"); do
  # Alternate the order so that neither app always runs right after the other.
  if [ $((i % 2)) -eq 1 ]; then order=(ours otpclient); else order=(otpclient ours); fi
  for name in "${order[@]}"; do
    measure "$name" "$scratch/$name.jsonl" "$i"
  done
  python3 - "$scratch/ours.jsonl" "$scratch/otpclient.jsonl" "$i" "$runs" "$verbose" <<'EOF' >&2
import json, sys
ours, otp = (json.loads(open(p).read().splitlines()[-1]) for p in sys.argv[1:3])
i, runs, verbose = sys.argv[3], sys.argv[4], sys.argv[5] == "1"
mib = lambda kib: kib / 1024
count = lambda r: f"{len(r['processes'])} process" + ("" if len(r["processes"]) == 1 else "es")
print(f"run {i}/{runs}: ours window {ours['window_ms']:.0f} ms, first code {ours['mark_ms']:.0f} ms, "
      f"{mib(ours['pss_kib']):.1f} MiB ({count(ours)}); "
      f"OTPClient window {otp['window_ms']:.0f} ms, {mib(otp['pss_kib']):.1f} MiB ({count(otp)})")
if verbose:
    for who, r in (("ours", ours), ("OTPClient", otp)):
        print(f"  {who}: " + ", ".join(
            f"{p['comm']} PSS {mib(p['pss_kib']):.1f} MiB USS {mib(p['uss_kib']):.1f} MiB"
            f" (started at {p['started_ms']} ms)" for p in r["processes"]))
EOF
done

status=0
python3 - "$scratch/ours.jsonl" "$scratch/otpclient.jsonl" "$check" "$idle" <<'EOF' || status=$?
import json, statistics, sys
ours = [json.loads(l) for l in open(sys.argv[1]).read().splitlines()]
otp = [json.loads(l) for l in open(sys.argv[2]).read().splitlines()]
check, idle = sys.argv[3] == "1", float(sys.argv[4])
med = lambda rows, key: statistics.median(r[key] for r in rows)
mib = lambda kib: kib / 1024

def median_run(rows):  # the run whose memory is the (lower) median: whose processes we show
    rows = sorted(rows, key=lambda r: r["pss_kib"])
    return rows[(len(rows) - 1) // 2]

def processes(rows):
    n = len(median_run(rows)["processes"])
    return f"{n} process" + ("" if n == 1 else "es")

def started(rows, name):  # median start of the named child process, when every run had one
    times = [p["started_ms"] for r in rows for p in r["processes"] if p["comm"] == name]
    return f", {name} started {statistics.median(times):.0f} ms" if len(times) == len(rows) else ""

first, window = med(ours, "mark_ms"), med(otp, "window_ms")
ours_mem, otp_mem = mib(med(ours, "pss_kib")), mib(med(otp, "pss_kib"))
time_ratio, mem_ratio = first / window, ours_mem / otp_mem
print(f"first code painted: ours {first:.0f} ms, OTPClient window {window:.0f} ms, "
      f"ratio {time_ratio:.2f} (goal <= 1.0)")
print(f"memory (PSS, {idle:g} s idle): ours {ours_mem:.1f} MiB ({processes(ours)}), "
      f"OTPClient {otp_mem:.1f} MiB ({processes(otp)}), ratio {mem_ratio:.2f} (goal <= 2.0)")
print(f"  medians of {len(ours)} runs. ours: window mapped {med(ours, 'window_ms'):.0f} ms"
      f"{started(ours, 'WebKitNetworkProcess')}{started(ours, 'WebKitWebProcess')}, "
      f"first code {first:.0f} ms after launch")
print("  ours by process (PSS): " + ", ".join(
    f"{p['comm']} {mib(p['pss_kib']):.1f} MiB" for p in median_run(ours)["processes"]))
print(f"  USS (private memory, what closing the app frees): ours {mib(med(ours, 'uss_kib')):.1f} MiB, "
      f"OTPClient {mib(med(otp, 'uss_kib')):.1f} MiB")
print("  OTPClient's window is its account list (OTPClient 3.x shows a code when a row is "
      "clicked), opened without a password dialog")
missed = [what for what, bad in (("start-up", time_ratio > 1.0), ("memory", mem_ratio > 2.0)) if bad]
if missed:
    print("goal missed: " + ", ".join(missed))
sys.exit(1 if check and missed else 0)
EOF
exit "$status"
