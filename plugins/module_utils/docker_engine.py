# -*- coding: utf-8 -*-
# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The collection's only client of a Docker engine: build, pull, tag, inspect, export.

``DockerEngine`` wraps the docker SDK's low-level API on one engine (``docker_host``: a
local ``unix://`` socket, ``tcp://`` with the usual ``DOCKER_TLS_VERIFY``/``DOCKER_CERT_PATH``
environment, or ``ssh://``). Credentials for a pull are handed to the engine in-process as
``auth_config`` (the ``X-Registry-Auth`` header): never on a command line, never in a file.
``push`` has the engine push an image it knows the layers of, signed in for that one push
with a short-lived registry token (``engine_push``); otherwise ``export`` streams its archive
of an image, which ``image_archive`` and the copy engine upload with the collection's own
retries.
Builds use the classic builder (the one every engine has). Streams are read to the end and
their ``error`` events become ``IcrError``.

``build_hash`` is pure: the identity of a build (context files, Dockerfile, options), which
the module records as a label so an unchanged build is never run again.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import importlib.util
import json
import os
import stat

from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError, MissingLibrary, one_line


# The SDK's in-process ssh:// transport needs paramiko; only its presence matters here.
HAS_PARAMIKO = importlib.util.find_spec("paramiko") is not None

try:
    import requests
    _TRANSPORT_ERRORS = (requests.exceptions.RequestException,)
except ImportError:
    _TRANSPORT_ERRORS = ()

DOCKER_REQUIREMENTS = "docker>=7.0.0 (the Python docker SDK)"
BUILD_HASH_LABEL = "icr.registry.build-hash"
_HASH_CHUNK = 1024 * 1024


def docker_sdk():
    """The docker SDK, imported on first use (a task that needs no engine, such as a delete, does
    not load it); missing, it raises MissingLibrary (Ansible's missing_required_lib)."""
    try:
        import docker
        import docker.errors
        import docker.utils
        import docker.utils.build
    except ImportError as exc:
        raise MissingLibrary(DOCKER_REQUIREMENTS, exc)
    return docker


# --------------------------------------------------------------------------- build identity

def dockerignore_patterns(context):
    """The ``.dockerignore`` patterns of ``context``, read the way the docker SDK reads them."""
    path = os.path.join(context, ".dockerignore")
    if not os.path.exists(path):
        return []
    with open(path, "r") as handle:
        lines = [line.strip() for line in handle.read().splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def _file_digest(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_HASH_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def context_entries(context, dockerfile=None):
    """``[(relative path, kind, mode, content)]`` for every path the engine would receive,
    sorted. ``kind`` is ``d``/``l``/``f``; ``content`` is a link target or a file's sha256."""
    entries = []
    for relative in sorted(docker_sdk().utils.build.exclude_paths(context, dockerignore_patterns(context), dockerfile=dockerfile)):
        full = os.path.join(context, relative)
        info = os.lstat(full)
        mode = stat.S_IMODE(info.st_mode)
        if stat.S_ISLNK(info.st_mode):
            entries.append((relative, "l", mode, os.readlink(full)))
        elif stat.S_ISDIR(info.st_mode):
            entries.append((relative, "d", mode, ""))
        elif stat.S_ISREG(info.st_mode):
            entries.append((relative, "f", mode, _file_digest(full)))
    return entries


def resolve_dockerfile(context, dockerfile=None):
    """``(absolute path, name relative to the context or None when outside it)``."""
    if not os.path.isdir(context):
        raise IcrError("The build context %s is not a directory" % context)
    dockerfile = dockerfile or "Dockerfile"
    path = dockerfile if os.path.isabs(dockerfile) else os.path.join(context, dockerfile)
    path = os.path.abspath(path)
    if not os.path.isfile(path):
        raise IcrError("The Dockerfile %s does not exist" % path)
    relative = os.path.relpath(path, os.path.abspath(context))
    return path, (None if relative.startswith(os.pardir) else relative)


def build_hash(context, dockerfile=None, options=None):
    """sha256 over the context the engine would receive, the Dockerfile and the build options
    that shape the image (``options``: build args, target, labels, platform...)."""
    path, relative = resolve_dockerfile(context, dockerfile)
    digest = hashlib.sha256()
    digest.update(json.dumps({"dockerfile": relative or os.path.basename(path),
                              "dockerfile_sha256": _file_digest(path),
                              "options": options or {}}, sort_keys=True).encode("utf-8"))
    for entry in context_entries(context, relative):
        digest.update(json.dumps(entry).encode("utf-8"))
        digest.update(b"\n")
    return "sha256:" + digest.hexdigest()


# --------------------------------------------------------------------------- stream reading

def stream_error(event):
    """The error text of one decoded engine stream event, or None."""
    if not isinstance(event, dict):
        return None
    detail = event.get("errorDetail")
    if event.get("error") or detail:
        message = event.get("error") or (detail or {}).get("message") or "unknown error"
        return one_line(message)
    return None


def read_stream(events, what, statuses=None):
    """Consume an engine progress stream; return its ``aux`` objects; raise on an ``error``.
    The last few ``stream`` lines are kept for the error message (build output). ``statuses``
    (a dict), when given, gets the last ``status`` of each ``id`` (a layer, in a push)."""
    aux, tail = [], []
    for event in events:
        error = stream_error(event)
        if error:
            context = (": " + " | ".join(tail[-3:])) if tail else ""
            raise IcrError("%s failed: %s%s" % (what, error, context))
        if isinstance(event, dict):
            if isinstance(event.get("aux"), dict):
                aux.append(event["aux"])
            if statuses is not None and event.get("id") and event.get("status"):
                statuses[event["id"]] = event["status"]
            text = (event.get("stream") or "").strip()
            if text:
                tail.append(one_line(text))
                del tail[:-10]
    return aux


def platform_of(image):
    """``os/architecture[/variant]`` of an engine image inspection."""
    parts = [image.get("Os") or "linux", image.get("Architecture") or ""]
    if image.get("Variant"):
        parts.append(image["Variant"])
    return "/".join(parts)


# --------------------------------------------------------------------------- the engine

def is_remote(base_url):
    """Whether the engine at ``base_url`` runs on another host (``ssh://``, or ``tcp://`` to a
    host that is not loopback): the bytes it pushes itself do not cross this host."""
    scheme, _sep, rest = (base_url or "").partition("://")
    if scheme == "ssh":
        return True
    if scheme not in ("tcp", "http", "https"):
        return False
    host = rest.rsplit("@", 1)[-1].split("/", 1)[0]
    host = host[1:].split("]", 1)[0] if host.startswith("[") else host.rsplit(":", 1)[0]
    return host not in ("localhost", "::1") and not host.startswith("127.")


def client_arguments(docker_host=None, timeout=60, environment=None):
    """Keyword arguments of ``docker.APIClient`` for ``docker_host`` (default ``DOCKER_HOST``)."""
    kwargs = docker_sdk().utils.kwargs_from_env(environment=environment)
    if docker_host:
        kwargs["base_url"] = docker_host
    kwargs.setdefault("base_url", "unix:///var/run/docker.sock")
    kwargs["version"] = "auto"
    kwargs["timeout"] = timeout
    if kwargs["base_url"].startswith("ssh://"):
        # paramiko keeps the connection in-process; without it the SDK runs the ssh client.
        kwargs["use_ssh_client"] = not HAS_PARAMIKO
    return kwargs


class DockerEngine:
    """One Docker engine. Every failure surfaces as ``IcrError`` naming what was being done."""

    def __init__(self, docker_host=None, timeout=60, api=None):
        if api is None:
            docker = docker_sdk()
            kwargs = client_arguments(docker_host, timeout)
            self.base_url = kwargs["base_url"]
            api = self._call("Connecting to the Docker engine at %s" % self.base_url,
                             lambda: docker.APIClient(**kwargs))
        else:
            self.base_url = docker_host
        self.api = api

    def _call(self, what, func):
        try:
            return func()
        except IcrError:
            raise
        except Exception as exc:  # noqa: B902 - every engine/transport failure is reported the same way
            if isinstance(exc, docker_sdk().errors.DockerException) or isinstance(exc, _TRANSPORT_ERRORS):
                explanation = getattr(exc, "explanation", None) or exc
                status = getattr(getattr(exc, "response", None), "status_code", None)
                raise IcrError("%s failed: %s" % (what, one_line(explanation)), status=status)
            raise

    def inspect(self, name):
        """The engine's inspection of image ``name`` (a reference or an ID), or None."""
        def inspect():
            try:
                return self.api.inspect_image(name)
            except docker_sdk().errors.NotFound:  # ImageNotFound too
                return None
        return self._call("Inspecting image %s" % name, inspect)

    def build(self, context, tag, dockerfile=None, build_args=None, target=None, labels=None,
              platform=None, pull=False, nocache=False):
        """Build with the classic builder and tag the result ``tag``; return the image ID."""
        what = "Building %s from %s" % (tag, context)

        def build():
            events = self.api.build(path=context, tag=tag, dockerfile=dockerfile, buildargs=build_args or None,
                                    target=target, labels=labels or None, platform=platform, pull=pull,
                                    nocache=nocache, rm=True, forcerm=True, decode=True)
            return read_stream(events, what)
        aux = self._call(what, build)
        ids = [item["ID"] for item in aux if item.get("ID")]
        if ids:
            return ids[-1]
        image = self.inspect(tag)  # engines that send no aux ID still tagged the result
        if image is None:
            raise IcrError("%s failed: the engine reported no image" % what)
        return image["Id"]

    def pull(self, reference, auth_config=None, platform=None):
        """Pull ``reference`` (``repo:tag`` or ``repo@digest``); return the local image ID."""
        what = "Pulling %s" % reference

        def pull():
            events = self.api.pull(reference, stream=True, decode=True, auth_config=auth_config, platform=platform)
            read_stream(events, what)
        self._call(what, pull)
        image = self.inspect(reference)
        if image is None:
            raise IcrError("%s failed: the engine has no such image afterwards" % what)
        return image["Id"]

    def tag(self, image, repository, tag):
        """Name ``image`` ``repository:tag`` in the engine (moving the name if it exists)."""
        self._call("Tagging %s as %s:%s" % (image, repository, tag),
                   lambda: self.api.tag(image, repository, tag=tag, force=True))

    def push(self, repository, tag, auth_config):
        """Have the engine push ``repository:tag``, signed in with ``auth_config`` (the
        ``X-Registry-Auth`` header of this one request; the engine keeps nothing). Returns
        ``(manifest digest, {layer: last status})``; the statuses say which layers the engine
        found (``Layer already exists``), mounted (``Mounted from ...``) or uploaded (``Pushed``)."""
        what = "Pushing %s:%s through the Docker engine" % (repository, tag)
        statuses = {}

        def push():
            events = self.api.push(repository, tag=tag, stream=True, decode=True, auth_config=auth_config)
            return read_stream(events, what, statuses)
        aux = self._call(what, push)
        digests = [item["Digest"] for item in aux if item.get("Digest")]
        if not digests:
            raise IcrError("%s failed: the engine reported no manifest digest" % what)
        return digests[-1], statuses

    def export(self, image_id, chunk_size=1024 * 1024):
        """The engine's archive of ``image_id`` (what ``docker save`` writes), as byte chunks."""
        what = "Exporting image %s from the engine" % image_id
        chunks = self._call(what, lambda: self.api.get_image(image_id, chunk_size=chunk_size))
        iterator = iter(chunks)
        while True:
            chunk = self._call(what, lambda: next(iterator, None))
            if chunk is None:
                return
            yield chunk
