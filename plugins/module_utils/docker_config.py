# -*- coding: utf-8 -*-
# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""A Docker client config file (``~/.docker/config.json``) and its credential helpers.

    docker = DockerConfig(path, check_mode=module.check_mode)
    with docker.locked():                         # read under the lock
        stored = docker.get(host)                 # Credentials or None
        changed = docker.store(host, "iamapikey", key, current=stored == wanted)
        # or: changed = docker.erase(host)

* Concurrency: the read-modify-write happens under an exclusive ``fcntl.flock`` on a
  sidecar file next to the config (``config.json.lock``), never on the config itself,
  which is replaced. Writers that use the same lock (every ``cr_login``) never lose
  each other's entries, and each decides ``changed`` from what it read under the lock.
* Atomic replace: the new config is written to a temporary file (mode 0600) in the
  config's folder, fsynced, and renamed over the old one; readers see the old or the new
  file, never half of one.
* Symlinks: a symlinked config is written through: the link's target (``realpath``) is
  the file that is locked and replaced, so the link stays a link.
* Credential helpers: when the config names one for the host (``credHelpers``) or for
  every host (``credsStore``), the credentials go to the program
  ``docker-credential-<name>`` (its ``store``/``get``/``erase`` commands, everything on
  stdin, never on its command line) and the config keeps ``auths: {host: {}}`` as
  ``docker login`` does. Without one they are stored in ``auths`` as base64 ``auth``.

In check mode nothing is locked, stored or written; helpers are asked with ``get`` only.
Every failure is one ``IcrError`` line. Callers mask the secrets they pass and receive.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import contextlib
import errno
import fcntl
import json
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections import namedtuple

from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError, one_line

HELPER_PREFIX = "docker-credential-"
# How often a writer waiting for the lock tries again.
_LOCK_POLL = 0.05

Credentials = namedtuple("Credentials", ["username", "secret"])


def default_config_path():
    """``$DOCKER_CONFIG/config.json``, else ``~/.docker/config.json``."""
    folder = os.environ.get("DOCKER_CONFIG")
    if not folder:
        home = os.environ.get("HOME") or pwd.getpwuid(os.getuid()).pw_dir
        folder = os.path.join(home, ".docker")
    return os.path.join(folder, "config.json")


def encode_auth(username, secret):
    """The ``auth`` value of an ``auths`` entry: base64 of ``username:secret``."""
    return base64.b64encode(("%s:%s" % (username, secret)).encode("utf-8")).decode("ascii")


def decode_auth(auth):
    """``Credentials`` from an ``auth`` value; None if it is unreadable."""
    try:
        username, secret = base64.b64decode(auth).decode("utf-8").split(":", 1)
    except (TypeError, ValueError, UnicodeError):
        return None
    return Credentials(username, secret)


class CredentialHelper:
    """The program ``docker-credential-<name>``, spoken to with the docker-credential-helpers
    protocol. The secret only ever travels on stdin and stdout."""

    def __init__(self, name, origin="", timeout=60):
        self.name = name
        self.program = HELPER_PREFIX + name
        self.origin = origin  # where the config names it, for the error messages
        self.timeout = timeout

    def _run(self, action, data):
        path = shutil.which(self.program)
        if not path:
            raise IcrError("Docker credential helper %s (%s) not found on PATH" % (self.program, self.origin))
        try:
            done = subprocess.run([path, action], input=data.encode("utf-8"), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, timeout=self.timeout, check=False)
        except subprocess.TimeoutExpired:
            raise IcrError("Docker credential helper %s %s did not answer within %s s"
                           % (self.program, action, self.timeout))
        except OSError as exc:
            raise IcrError("Cannot run Docker credential helper %s: %s" % (path, exc.strerror or exc))
        out = done.stdout.decode("utf-8", "replace")
        if done.returncode != 0:
            err = one_line(out + " " + done.stderr.decode("utf-8", "replace")) or "exit code %d" % done.returncode
            return False, err
        return True, out

    def get(self, server):
        """The helper's ``Credentials`` for ``server``, or None when it has none."""
        ok, out = self._run("get", server)
        if not ok:
            if "credentials not found" in out.lower():
                return None
            raise IcrError("Docker credential helper %s get %s failed: %s" % (self.program, server, out))
        try:
            answer = json.loads(out)
            return Credentials(answer["Username"], answer["Secret"])
        except (ValueError, KeyError, TypeError):
            raise IcrError("Docker credential helper %s get %s did not answer with JSON credentials"
                           % (self.program, server))

    def store(self, server, username, secret):
        payload = json.dumps({"ServerURL": server, "Username": username, "Secret": secret})
        ok, out = self._run("store", payload)
        if not ok:
            raise IcrError("Docker credential helper %s store %s failed: %s" % (self.program, server, out))

    def erase(self, server):
        ok, out = self._run("erase", server)
        if not ok and "credentials not found" not in out.lower():
            raise IcrError("Docker credential helper %s erase %s failed: %s" % (self.program, server, out))


class DockerConfig:
    """One Docker config file, read and changed under its lock (see the module docstring)."""

    def __init__(self, path, check_mode=False, timeout=60):
        self.path = path
        self.real_path = os.path.realpath(path)  # a symlinked config is written through
        self.lock_path = self.real_path + ".lock"
        self.check_mode = check_mode
        self.timeout = timeout
        self.config = None
        self._asked = {}

    # ------------------------------------------------------------------ file

    @contextlib.contextmanager
    def locked(self):
        """Hold the config's lock (not in check mode) and read the config into ``self.config``."""
        if self.check_mode:
            self.config = self.read()
            yield self
            return
        self._make_folder()
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise IcrError("Cannot open the lock file %s: %s" % (self.lock_path, exc.strerror or exc))
        try:
            self._acquire(fd)
            self.config = self.read()
            yield self
        finally:
            os.close(fd)  # releases the lock

    def _acquire(self, fd):
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise IcrError("Cannot lock %s: %s" % (self.lock_path, exc.strerror or exc))
            if time.monotonic() >= deadline:
                raise IcrError("Another process held the lock %s for more than %s s"
                               % (self.lock_path, self.timeout))
            time.sleep(_LOCK_POLL)

    def _make_folder(self):
        folder = os.path.dirname(self.real_path)
        if not os.path.isdir(folder):
            try:
                os.makedirs(folder, 0o700)
            except OSError as exc:
                if not os.path.isdir(folder):
                    raise IcrError("Cannot create the Docker config folder %s: %s" % (folder, exc.strerror or exc))

    def read(self):
        """The config as a dict ({} when the file does not exist or is empty)."""
        try:
            with open(self.real_path, "r") as handle:
                text = handle.read()
        except (IOError, OSError) as exc:
            if exc.errno == errno.ENOENT:
                return {}
            raise IcrError("Cannot read Docker config %s: %s" % (self.path, exc.strerror or exc))
        if not text.strip():
            return {}
        try:
            config = json.loads(text)
        except ValueError as exc:
            raise IcrError("Docker config %s is not valid JSON: %s" % (self.path, exc))
        if not isinstance(config, dict):
            raise IcrError("Docker config %s must hold a JSON object" % self.path)
        return config

    def write(self):
        """Replace the (real) config file atomically with ``self.config``, mode 0600."""
        folder = os.path.dirname(self.real_path)
        handle, temp = tempfile.mkstemp(prefix="." + os.path.basename(self.real_path) + ".", dir=folder)
        try:
            os.fchmod(handle, 0o600)
            with os.fdopen(handle, "w") as stream:
                json.dump(self.config, stream, indent="\t")
                stream.write("\n")
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temp, self.real_path)
        except BaseException as exc:
            if os.path.exists(temp):
                os.remove(temp)
            if isinstance(exc, OSError):
                raise IcrError("Cannot write Docker config %s: %s" % (self.path, exc.strerror or exc))
            raise
        try:  # make the rename itself durable
            dir_fd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError:
            pass

    # ------------------------------------------------------------------ credentials

    def helper(self, host):
        """The ``CredentialHelper`` Docker uses for ``host`` (``credHelpers``, then ``credsStore``), or None."""
        name = (self.config.get("credHelpers") or {}).get(host)
        origin = "credHelpers of %s in %s" % (host, self.path)
        if not name:
            name, origin = self.config.get("credsStore"), "credsStore in %s" % self.path
        return CredentialHelper(name, origin, self.timeout) if name else None

    def _entry(self, host):
        return (self.config.get("auths") or {}).get(host)

    def get(self, host):
        """The stored ``Credentials`` for ``host`` (from its helper, else from ``auths``), or None."""
        helper = self.helper(host)
        if helper:
            if host not in self._asked:  # the helper is asked once
                self._asked[host] = helper.get(host)
            return self._asked[host]
        entry = self._entry(host)
        return decode_auth(entry["auth"]) if isinstance(entry, dict) and entry.get("auth") else None

    def store(self, host, username, secret, current=False):
        """Log ``host`` in as ``username``/``secret``; with ``current``, the stored credentials
        are kept as they are. True when that changes anything (changed only outside check mode)."""
        helper = self.helper(host)
        # With a helper the file keeps an empty entry (a plain-text auth left there goes).
        wanted = {} if helper else {"auth": encode_auth(username, secret)}
        to_helper = helper is not None and not current
        rewrite = self._entry(host) != wanted and (helper is not None or not current)
        if not (to_helper or rewrite):
            return False
        if not self.check_mode:
            if to_helper:
                helper.store(host, username, secret)
            if rewrite:
                if not isinstance(self.config.get("auths"), dict):
                    self.config["auths"] = {}
                self.config["auths"][host] = wanted
                self.write()
        return True

    def erase(self, host):
        """Log ``host`` out; True when something was stored (changed only outside check mode)."""
        helper = self.helper(host)
        in_helper = helper is not None and self.get(host) is not None
        in_file = self._entry(host) is not None
        if not self.check_mode:
            if in_helper:
                helper.erase(host)
            if in_file:
                del self.config["auths"][host]
                self.write()
        return in_helper or in_file
