"""The sandbox's processes, each recorded by PID in ``<state>/run/pids.json``.

A record holds the PID and the process start time read from /proc, so ``down`` never
signals a process that merely reuses a recorded PID. Also here: the scrubbed environment
every child starts with, the service process, and picking free ports.
"""

import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time

PIDS_FILE = os.path.join("run", "pids.json")
SANDBOX_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))   # holds icr_sandbox/
STOP_TIMEOUT = 10.0


# ---- PID records --------------------------------------------------------------------------------

def _start_time(pid):
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[19]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


@contextlib.contextmanager
def _records(state_dir):
    """The PID records, locked for a read-modify-write (the service rewrites registries' on reset)."""
    path = os.path.join(state_dir, PIDS_FILE)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with open(path, encoding="utf-8") as handle:
                records = json.load(handle)
        except (FileNotFoundError, ValueError):
            records = {}
        yield records
        with open(path + ".tmp", "w", encoding="utf-8") as handle:
            json.dump(records, handle, indent=1)
        os.replace(path + ".tmp", path)


def read_records(state_dir):
    try:
        with open(os.path.join(state_dir, PIDS_FILE), encoding="utf-8") as handle:
            return json.load(handle)
    except (FileNotFoundError, ValueError):
        return {}


def record(state_dir, name, pid):
    with _records(state_dir) as records:
        records[name] = {"pid": pid, "start": _start_time(pid)}


def is_alive(entry):
    """True while the recorded process (same PID and start time) runs or still holds its files.

    A multi-threaded process shows its main thread as a zombie while other threads are
    still exiting and its sockets are still open: it only counts as gone once no thread is left.
    """
    pid = entry["pid"]
    start = _start_time(pid)
    if start is None or start != entry["start"]:
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            if handle.read().rsplit(")", 1)[1].split()[0] != "Z":
                return True
        return len(os.listdir(f"/proc/{pid}/task")) > 1
    except FileNotFoundError:
        return False


def stop(state_dir, name):
    """Stops one recorded process (TERM, then KILL after a grace period) and forgets it."""
    with _records(state_dir) as records:
        entry = records.pop(name, None)
    if entry and is_alive(entry):
        _terminate(entry)


def stop_all(state_dir):
    """Stops every recorded process (the service first, the engine last); returns their names."""
    rank = {"service": 0, "dockerd": 2}
    names = sorted(read_records(state_dir), key=lambda n: rank.get(n, 1))
    for name in names:
        stop(state_dir, name)
    return names


def _terminate(entry):
    pid = entry["pid"]
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline:
        _reap(pid)
        if not is_alive(entry):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    while is_alive(entry):
        _reap(pid)
        time.sleep(0.05)


def _reap(pid):
    """Collects the exit status when the process is our child (after a reset restart)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def spawn(state_dir, name, argv, log_name, env=None):
    """Starts a detached process (own session), logging to ``logs/<log_name>``, and records it."""
    logs = os.path.join(state_dir, "logs")
    os.makedirs(logs, exist_ok=True)
    with open(os.path.join(logs, log_name), "ab") as log:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                   env=env, cwd=state_dir, start_new_session=True, close_fds=True)
    record(state_dir, name, process.pid)
    return process.pid


def scrubbed_env():
    """The environment without ``REGISTRY_*`` variables, which docker-registry would take as
    overrides of its YAML configuration (skopeo's ``REGISTRY_AUTH_FILE`` among them)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}


# ---- the service process ---------------------------------------------------------------------------

def start_service(state_dir):
    env = dict(scrubbed_env(), PYTHONPATH=SANDBOX_ROOT, PYTHONUNBUFFERED="1")
    return spawn(state_dir, "service", [sys.executable, "-m", "icr_sandbox", "serve", "--state-dir", state_dir],
                 "service.log", env=env)


# ---- ports ---------------------------------------------------------------------------------------

def free_ports(host, count, base=None):
    """``count`` ports that nothing listens on: consecutive from ``base``, else kernel-chosen."""
    if base:
        ports = list(range(base, base + count))
        busy = [p for p in ports if port_in_use(host, p)]
        if busy:
            raise SystemExit(f"ports already in use on {host}: {busy}")
        return ports
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((host, 0))
            sockets.append(sock)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


def port_in_use(host, port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0
