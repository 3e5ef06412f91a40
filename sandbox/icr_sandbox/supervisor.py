"""Starting and stopping the sandbox's processes, each recorded by PID in ``<state>/run/pids.json``.

A record holds the PID and the process start time read from /proc, so ``down`` never
signals a process that merely reuses a recorded PID. Registries always start with a
scrubbed environment: ``REGISTRY_*`` variables (skopeo's ``REGISTRY_AUTH_FILE``) would
override their YAML (shared/reference/sandbox-auth.md §7).
"""

import contextlib
import fcntl
import hashlib
import http.client
import io
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time
import urllib.parse

from . import auth

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


# ---- registries -----------------------------------------------------------------------------------

def registry_config_path(state_dir, region_name):
    return os.path.join(state_dir, "registries", f"{region_name}.yml")


def registry_log_name(region_name):
    return f"registry-{region_name}.log"


def write_registry_config(config, region):
    """One docker-registry per region: own port, storage, ``service``; events posted to the service."""
    host, port = region.upstream.rsplit(":", 1)
    document = {
        "version": 0.1,
        "log": {"level": "info", "formatter": "text", "accesslog": {"disabled": True}},
        # No blobdescriptor cache: stale entries after deletes (sandbox-auth.md §7).
        "storage": {"filesystem": {"rootdirectory": region.storage_root}, "delete": {"enabled": True},
                    "maintenance": {"uploadpurging": {"enabled": False}}},
        # Behind a TLS front the registry only sees plain HTTP: absolute upload Locations
        # would say http://, so it answers relative ones.
        "http": {"addr": f"{host}:{port}", "secret": secrets.token_hex(16), "relativeurls": config.tls},
        "auth": {"token": {"realm": f"{config.service_url}/oauth/token", "service": region.service,
                           "issuer": config.issuer, "rootcertbundle": auth.bundle_path(config.state_dir)}},
        "notifications": {"endpoints": [{
            "name": "icr-sandbox", "url": f"http://{config.host}:{config.service_port}/_sandbox/events/{region.name}",
            "timeout": "2s", "threshold": 3, "backoff": "1s"}]},
    }
    path = registry_config_path(config.state_dir, region.name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    os.makedirs(region.storage_root, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=1)   # JSON is YAML


def scrubbed_env():
    return {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}


def registry_process_name(region_name):
    return f"registry-{region_name}"


def start_registry(config, region):
    """Starts the region's registry from its config file (same port, storage and secret as before)."""
    return spawn(config.state_dir, registry_process_name(region.name),
                 ["docker-registry", "serve", registry_config_path(config.state_dir, region.name)],
                 registry_log_name(region.name), env=scrubbed_env())


def registry_pid(state_dir, region_name):
    """PID of the region's registry while the process the sandbox recorded runs, else None."""
    entry = read_records(state_dir).get(registry_process_name(region_name))
    return entry["pid"] if entry and is_alive(entry) else None


def stop_registry(config, region):
    """Stops the region's registry, exactly the recorded process; its config and storage stay."""
    stop(config.state_dir, registry_process_name(region.name))


def wipe_registry(config, region):
    """Reset: stop the region's registry, empty its storage, start it again."""
    stop_registry(config, region)
    shutil.rmtree(region.storage_root, ignore_errors=True)
    os.makedirs(region.storage_root, exist_ok=True)
    start_registry(config, region)


# ---- the service -----------------------------------------------------------------------------------

def start_service(state_dir):
    env = dict(scrubbed_env(), PYTHONPATH=SANDBOX_ROOT, PYTHONUNBUFFERED="1")
    return spawn(state_dir, "service", [sys.executable, "-m", "icr_sandbox", "serve", "--state-dir", state_dir],
                 "service.log", env=env)


# ---- docker engine ----------------------------------------------------------------------------------

def engine_ping(docker_host, timeout=1.0):
    """True when a docker engine answers ``/_ping`` at ``unix://…`` or ``tcp://host:port``."""
    try:
        if docker_host.startswith("unix://"):
            connection = _UnixConnection(docker_host[len("unix://"):], timeout)
        elif docker_host.startswith("tcp://"):
            connection = http.client.HTTPConnection(docker_host[len("tcp://"):].rstrip("/"), timeout=timeout)
        else:
            return False
        connection.request("GET", "/_ping")
        ok = connection.getresponse().status == 200
        connection.close()
        return ok
    except OSError:
        return False


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._path)


UNIX_PATH_MAX = 107
LONGEST_EXEC_SOCKET = "/containerd/containerd.sock.ttrpc"


def engine_paths(state_dir):
    """Where a private engine keeps its things. Its sockets must fit a unix socket path:
    with a deep state folder the exec root and socket move to a short folder in /tmp."""
    root = os.path.join(state_dir, "docker")
    paths = {"socket": os.path.join(root, "docker.sock"), "data": os.path.join(root, "data"),
             "exec": os.path.join(root, "exec"), "pidfile": os.path.join(root, "dockerd.pid")}
    if len(paths["exec"] + LONGEST_EXEC_SOCKET) > UNIX_PATH_MAX:
        short = short_runtime_dir(state_dir)
        paths.update(socket=os.path.join(short, "docker.sock"), exec=os.path.join(short, "exec"))
    return paths


def short_runtime_dir(state_dir):
    return f"/tmp/icr-sbx-{hashlib.sha256(state_dir.encode()).hexdigest()[:10]}"


def unmount_under(state_dir):
    """Unmounts what a crashed engine left mounted in the state folder (deepest first)."""
    prefix = state_dir.rstrip("/") + "/"
    with open("/proc/mounts", encoding="utf-8") as handle:
        points = [line.split()[1].encode().decode("unicode_escape") for line in handle]
    for point in sorted((p for p in points if p.startswith(prefix)), key=len, reverse=True):
        subprocess.run(["umount", point], capture_output=True, check=False)


def start_dockerd(state_dir):
    """A private engine needing no host networking: vfs storage, no bridge, no iptables."""
    paths = engine_paths(state_dir)
    for key in ("data", "exec"):
        os.makedirs(paths[key], exist_ok=True)
    argv = ["dockerd", "--data-root", paths["data"], "--exec-root", paths["exec"], "--pidfile", paths["pidfile"],
            "-H", f"unix://{paths['socket']}", "--storage-driver=vfs", "--iptables=false", "--ip6tables=false",
            "--bridge=none", "--config-file", _empty_daemon_json(state_dir)]
    spawn(state_dir, "dockerd", argv, "dockerd.log", env=scrubbed_env())
    return f"unix://{paths['socket']}"


def _empty_daemon_json(state_dir):
    """The host's /etc/docker/daemon.json is not ours to inherit."""
    path = os.path.join(state_dir, "docker", "daemon.json")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("{}\n")
    return path


# ---- base image -------------------------------------------------------------------------------------

BASE_IMAGE = "icr-sandbox/busybox:latest"
BUSYBOX = "/bin/busybox"     # busybox-static: no shared libraries needed inside the image
APPLETS = ("sh", "ash", "echo", "cat", "ls", "true", "false", "env", "sleep", "printf", "test", "[", "mkdir",
           "rm", "cp", "mv", "touch", "ln", "chmod", "grep", "sed", "head", "tail", "wc", "id", "uname", "date",
           "pwd", "find", "tar", "gzip", "which", "dd", "sha256sum", "tee", "hostname", "whoami", "stat")


def _engine_connection(docker_host, timeout):
    if docker_host.startswith("unix://"):
        return _UnixConnection(docker_host[len("unix://"):], timeout)
    return http.client.HTTPConnection(docker_host[len("tcp://"):].rstrip("/"), timeout=timeout)


def ensure_base_image(docker_host):
    """Imports a busybox rootfs as BASE_IMAGE (so ``docker build`` with RUN works offline), once."""
    connection = _engine_connection(docker_host, 60)
    connection.request("GET", f"/images/{BASE_IMAGE}/json")
    response = connection.getresponse()
    response.read()
    if response.status == 200:
        return False
    repository, tag = BASE_IMAGE.rsplit(":", 1)
    query = urllib.parse.urlencode([("fromSrc", "-"), ("repo", repository), ("tag", tag),
                                    ("changes", "ENV PATH=/bin"), ("changes", 'CMD ["sh"]')])
    connection.request("POST", f"/images/create?{query}", body=_busybox_rootfs(),
                       headers={"Content-Type": "application/x-tar"})
    response = connection.getresponse()
    output = response.read().decode("utf-8", "replace")
    connection.close()
    if response.status != 200 or '"error"' in output:
        raise RuntimeError(f"importing {BASE_IMAGE} failed: {response.status} {output[:300]}")
    return True


def _busybox_rootfs():
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for directory in ("bin", "tmp", "etc", "root"):
            info = tarfile.TarInfo(directory)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if directory == "tmp" else 0o755
            archive.addfile(info)
        archive.add(BUSYBOX, arcname="bin/busybox")
        for applet in APPLETS:
            info = tarfile.TarInfo(f"bin/{applet}")
            info.type, info.linkname, info.mode = tarfile.SYMTYPE, "busybox", 0o777
            archive.addfile(info)
        passwd = b"root:x:0:0:root:/root:/bin/sh\n"
        info = tarfile.TarInfo("etc/passwd")
        info.size, info.mode = len(passwd), 0o644
        archive.addfile(info, io.BytesIO(passwd))
    return buffer.getvalue()
