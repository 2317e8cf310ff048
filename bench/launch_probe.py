#!/usr/bin/env python3
"""One measured launch of a desktop app, for bench/desktop_vs_otpclient.sh.

Spawns CMD (in its own session), and times from the spawn to
  * the first map of a top-level X window whose title matches --window (MapNotify on the
    root window, seen through Xlib; no polling), and
  * optionally a line on the app's stderr (--mark, e.g. "first-code-painted").
The "ready" moment is the mark when --mark is given, else the window. After --idle
seconds more, it sums the PSS (/proc/PID/smaps_rollup) of the app's whole process tree
(--smaps DIR also copies each process's full smaps there, for a closer look), then ends
that tree (SIGTERM, then SIGKILL) and prints one JSON object on stdout:

  {"ok": true, "window_ms": 431.2, "mark_ms": 812.9, "ready_ms": 812.9,
   "pss_kib": 145612, "uss_kib": 120000,
   "processes": [{"pid": 1, "comm": "...", "pss_kib": 1, "uss_kib": 1, "rss_kib": 1,
                  "started_ms": 0}, ...]}
(started_ms: when the process started, after the spawn; USS = private clean + dirty.)

Standard library only (Xlib through ctypes; libX11 comes with GTK).

    launch_probe.py --window REGEX [--mark LINE] [--idle S] [--timeout S]
                    [--env K=V ...] [--log FILE] [--pidfile FILE] [--smaps DIR]
                    -- CMD [ARG ...]
"""

import argparse
import ctypes
import ctypes.util
import json
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time

MAP_NOTIFY = 19
SUBSTRUCTURE_NOTIFY_MASK = 1 << 19


class XMapEvent(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("serial", ctypes.c_ulong),
                ("send_event", ctypes.c_int), ("display", ctypes.c_void_p),
                ("event", ctypes.c_ulong), ("window", ctypes.c_ulong),
                ("override_redirect", ctypes.c_int)]


class XEvent(ctypes.Union):
    _fields_ = [("type", ctypes.c_int), ("xmap", XMapEvent), ("pad", ctypes.c_long * 24)]


class MapWatcher:
    """Reports top-level windows as they are mapped on $DISPLAY."""

    def __init__(self):
        x = ctypes.CDLL(ctypes.util.find_library("X11") or "libX11.so.6")
        x.XOpenDisplay.restype = ctypes.c_void_p
        x.XOpenDisplay.argtypes = [ctypes.c_char_p]
        x.XDefaultRootWindow.restype = ctypes.c_ulong
        x.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
        x.XSelectInput.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_long]
        x.XConnectionNumber.argtypes = [ctypes.c_void_p]
        x.XPending.argtypes = [ctypes.c_void_p]
        x.XNextEvent.argtypes = [ctypes.c_void_p, ctypes.POINTER(XEvent)]
        x.XFlush.argtypes = [ctypes.c_void_p]
        x.XFetchName.argtypes = [ctypes.c_void_p, ctypes.c_ulong,
                                 ctypes.POINTER(ctypes.c_char_p)]
        x.XFree.argtypes = [ctypes.c_void_p]
        self.x = x
        self.dpy = x.XOpenDisplay(None)
        if not self.dpy:
            raise SystemExit("launch_probe: cannot open the X display (DISPLAY is not set?)")
        x.XSelectInput(self.dpy, x.XDefaultRootWindow(self.dpy), SUBSTRUCTURE_NOTIFY_MASK)
        x.XFlush(self.dpy)
        self.fd = x.XConnectionNumber(self.dpy)

    def name(self, window):
        out = ctypes.c_char_p()
        if self.x.XFetchName(self.dpy, window, ctypes.byref(out)) and out.value is not None:
            value = out.value.decode("utf-8", "replace")
            self.x.XFree(out)
            return value
        return ""

    def mapped(self, timeout):
        """Windows mapped within timeout seconds: [(monotonic time, window, title)]."""
        found = []
        ready, _, _ = select.select([self.fd], [], [], timeout)
        now = time.monotonic()
        if not ready and not self.x.XPending(self.dpy):
            return found
        event = XEvent()
        while self.x.XPending(self.dpy):
            self.x.XNextEvent(self.dpy, ctypes.byref(event))
            if event.type == MAP_NOTIFY and not event.xmap.override_redirect:
                found.append((now, event.xmap.window, self.name(event.xmap.window)))
        return found


def process_tree(root):
    """PIDs of root and all its descendants (from /proc/*/stat)."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode("utf-8", "replace")
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def memory_kib(pid):
    """PSS, USS (private clean + dirty) and RSS of pid from /proc/PID/smaps_rollup, or None."""
    fields = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in ("Rss", "Pss", "Private_Clean", "Private_Dirty"):
                    fields[key] = int(rest.split()[0])
    except (OSError, ValueError):
        return None
    if "Pss" not in fields:
        return None
    uss = fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)
    return fields["Pss"], uss, fields.get("Rss", 0)


def comm(pid):
    """The program's name: basename of argv[0] (comm is cut at 15 characters)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv0 = f.read().split(b"\0")[0].decode("utf-8", "replace")
        if argv0:
            return os.path.basename(argv0)
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return "?"


TICKS = os.sysconf("SC_CLK_TCK")


def started_ms(pid, spawn_boottime):
    """When pid started, in ms after the spawn (/proc/PID/stat starttime, 1/CLK_TCK s)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode("utf-8", "replace")
        ticks = int(stat[stat.rindex(")") + 2:].split()[19])
        return round((ticks / TICKS - spawn_boottime) * 1000)
    except (OSError, ValueError, IndexError):
        return None


def end_tree(proc):
    """SIGTERM to the whole tree, then SIGKILL to whatever is left after 3 s."""
    pids = process_tree(proc.pid)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            proc.poll()
            if all(not os.path.exists(f"/proc/{pid}") or zombie(pid) for pid in pids):
                break
            time.sleep(0.05)
        else:
            continue
        break
    try:
        proc.wait(timeout=2)
    except subprocess.TimeoutExpired:
        pass


def zombie(pid):
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode("utf-8", "replace")
        return stat[stat.rindex(")") + 2] in "ZX"
    except OSError:
        return True


def stop(signum, _frame):
    raise SystemExit(128 + signum)  # runs the finally that ends the app's tree


def main():
    signal.signal(signal.SIGTERM, stop)
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--window", required=True, help="regex for the window title")
    ap.add_argument("--mark", help="stderr line that means ready")
    ap.add_argument("--idle", type=float, default=5.0)
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--env", action="append", default=[], metavar="K=V")
    ap.add_argument("--log", help="file for the app's stdout and stderr")
    ap.add_argument("--pidfile", help="file to write the app's PID (= its process group) to")
    ap.add_argument("--smaps", metavar="DIR",
                    help="copy each process's /proc/PID/smaps to DIR before ending the app")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        ap.error("no command")
    env = dict(os.environ)
    for item in args.env:
        key, _, value = item.partition("=")
        env[key] = value
    title = re.compile(args.window)
    log = open(args.log, "ab") if args.log else open(os.devnull, "wb")

    watcher = MapWatcher()
    mark_at = []
    mark_seen = threading.Event()

    start = time.monotonic()
    start_boottime = time.clock_gettime(time.CLOCK_BOOTTIME)
    proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=log,
                            stderr=subprocess.PIPE, start_new_session=True)
    if args.pidfile:
        with open(args.pidfile, "w") as f:
            f.write(f"{proc.pid}\n")

    def read_stderr():
        for line in proc.stderr:
            now = time.monotonic()
            log.write(line)
            log.flush()
            if args.mark and not mark_at and line.decode("utf-8", "replace").strip() == args.mark:
                mark_at.append(now)
                mark_seen.set()
        mark_seen.set()  # stderr closed: the app is gone

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()

    result = {"ok": False}
    window_at = None
    try:
        deadline = start + args.timeout
        while time.monotonic() < deadline:
            if window_at is None:
                for at, _, name in watcher.mapped(0.05):
                    if window_at is None and title.search(name):
                        window_at = at
            else:
                mark_seen.wait(0.05)
            if proc.poll() is not None:
                result["error"] = f"the app exited early with status {proc.returncode}"
                break
            if window_at is not None and (not args.mark or mark_at):
                break
        else:
            result["error"] = ("timed out after %.0f s (window %s, mark %s)"
                               % (args.timeout, "seen" if window_at else "not seen",
                                  "seen" if mark_at else "not seen"))
        if "error" not in result:
            ready = mark_at[0] if args.mark else window_at
            result["window_ms"] = round((window_at - start) * 1000, 1)
            if args.mark:
                result["mark_ms"] = round((mark_at[0] - start) * 1000, 1)
            result["ready_ms"] = round((ready - start) * 1000, 1)
            time.sleep(max(0.0, ready + args.idle - time.monotonic()))
            if proc.poll() is not None:
                result["error"] = f"the app exited while idle with status {proc.returncode}"
            else:
                processes = []
                for pid in process_tree(proc.pid):
                    memory = memory_kib(pid)
                    if memory is not None:
                        processes.append({"pid": pid, "comm": comm(pid), "pss_kib": memory[0],
                                          "uss_kib": memory[1], "rss_kib": memory[2],
                                          "started_ms": started_ms(pid, start_boottime)})
                        if args.smaps:
                            os.makedirs(args.smaps, exist_ok=True)
                            try:
                                with open(f"/proc/{pid}/smaps") as src, open(
                                        os.path.join(args.smaps, f"{pid}-{comm(pid)}.smaps"), "w") as dst:
                                    dst.write(src.read())
                            except OSError:
                                pass
                result["pss_kib"] = sum(p["pss_kib"] for p in processes)
                result["uss_kib"] = sum(p["uss_kib"] for p in processes)
                result["processes"] = processes
                result["ok"] = True
    finally:
        end_tree(proc)
        log.close()
    print(json.dumps(result), flush=True)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
