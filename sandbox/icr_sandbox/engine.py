"""The docker engine: a private ``dockerd``, its ping, and the offline base image.

Every request to an engine goes through ``engine_connection`` (unix or tcp ``DOCKER_HOST``).
"""

import hashlib
import http.client
import io
import os
import socket
import subprocess
import tarfile
import urllib.parse

from .processes import scrubbed_env, spawn


def engine_connection(docker_host, timeout):
    """An HTTP connection to the engine at ``unix://…`` or ``tcp://host:port``."""
    if docker_host.startswith("unix://"):
        return _UnixConnection(docker_host[len("unix://"):], timeout)
    if docker_host.startswith("tcp://"):
        return http.client.HTTPConnection(docker_host[len("tcp://"):].rstrip("/"), timeout=timeout)
    raise ValueError(f"unsupported DOCKER_HOST {docker_host!r}: use unix:// or tcp://")


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._path)


def engine_ping(docker_host, timeout=1.0):
    """True when a docker engine answers ``/_ping`` at ``docker_host``."""
    try:
        connection = engine_connection(docker_host, timeout)
        connection.request("GET", "/_ping")
        ok = connection.getresponse().status == 200
        connection.close()
        return ok
    except (OSError, ValueError):
        return False


# ---- a private engine ------------------------------------------------------------------------------

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


def ensure_base_image(docker_host):
    """Imports a busybox rootfs as BASE_IMAGE (so ``docker build`` with RUN works offline), once."""
    connection = engine_connection(docker_host, 60)
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
