"""Vulnerability Advisor's scanner: what an image holds, and which advisories it matches.

Pure logic first (``image_files``, ``read_os``, ``read_packages``, ``load_advisories``,
``findings``), then ``Scanner``: the worker that scans each tagged push after
``va_scan_delay`` seconds and keeps the result in the state (``State.va_put_scan``).

A scan reads the image's layers from registry storage in order, keeping only the files
it needs (``/etc/os-release``, ``/usr/lib/os-release``, dpkg's status file, apk's
installed database); a later layer replaces an earlier file, and its whiteouts
(``.wh.<name>``, ``.wh..wh..opq``) remove earlier files. The distribution comes from
os-release (``ID``, ``ID_LIKE``, ``VERSION_ID``, ``VERSION_CODENAME``); packages from
dpkg (``install ok installed`` entries) or apk. A package is vulnerable when an advisory
of its distribution (and release, when the advisory names one) names it, by binary or
source name, and its installed version sorts below the advisory's fixed version.
"""

import io
import json
import logging
import os
import posixpath
import queue
import re
import tarfile
import threading
import time

from . import registry, versions

LOG = logging.getLogger(__name__)
DEFAULT_ADVISORIES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "advisories.json")
OS_RELEASE = ("etc/os-release", "usr/lib/os-release")
DPKG_STATUS = "var/lib/dpkg/status"
APK_INSTALLED = "lib/apk/db/installed"
WANTED = OS_RELEASE + (DPKG_STATUS, APK_INSTALLED)
WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
CVE_ID = re.compile(r"^CVE-\d{4}-\d{4,}$")
ADVISORY_FIELDS = ("cve_id", "notice_id", "summary", "distribution", "package", "fixed_version")
MAX_SYMLINKS = 8


# ---- image files ------------------------------------------------------------------------

def _normal(name):
    return posixpath.normpath("/" + name).lstrip("/")


def apply_layer(files, layer_bytes):
    """Applies one layer tar (gzip or plain) to ``files`` ({path: bytes or ("link", target)})."""
    with tarfile.open(fileobj=io.BytesIO(layer_bytes), mode="r:*") as archive:
        members = archive.getmembers()
        for member in members:                      # whiteouts hide lower layers only
            directory, base = posixpath.split(_normal(member.name))
            if base == OPAQUE:
                prefix = directory + "/" if directory else ""
                for path in [p for p in files if p.startswith(prefix)]:
                    del files[path]
            elif base.startswith(WHITEOUT):
                gone = posixpath.join(directory, base[len(WHITEOUT):])
                for path in [p for p in files if p == gone or p.startswith(gone + "/")]:
                    del files[path]
        for member in members:
            path = _normal(member.name)
            if posixpath.basename(path).startswith(WHITEOUT) or member.isdir():
                continue
            if path not in WANTED:
                continue
            if member.issym() or member.islnk():
                target = member.linkname if member.islnk() or member.linkname.startswith("/") \
                    else posixpath.join(posixpath.dirname(path), member.linkname)
                files[path] = ("link", _normal(target))
            elif member.isfile():
                files[path] = archive.extractfile(member).read()
            else:
                files.pop(path, None)
    return files


def read_file(files, path):
    """The bytes at ``path``, following symlinks among the kept files; None when absent."""
    for _ in range(MAX_SYMLINKS):
        value = files.get(_normal(path))
        if not isinstance(value, tuple):
            return value
        path = value[1]
    return None


def image_files(storage, manifest_bytes):
    """``(files, complete)``: the kept files of an image manifest's layers; ``complete`` is
    False when a layer could not be read (the scan is then INCOMPLETE)."""
    files, complete = {}, True
    for layer in json.loads(manifest_bytes).get("layers", []):
        data = storage.blob(layer["digest"])
        if data is None:
            complete = False
            continue
        try:
            apply_layer(files, data)
        except (tarfile.TarError, OSError, EOFError) as error:
            LOG.warning("layer %s unreadable: %s", layer["digest"], error)
            complete = False
    return files, complete


# ---- what the files say -----------------------------------------------------------------

def parse_os_release(text):
    values = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key and not key.startswith("#"):
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            values[key] = value
    return values


def read_os(files):
    """``{id, id_like, version_id, version_codename, format}``; ``format`` (``dpkg``/``apk``)
    is None when the distribution is not one the scanner knows."""
    raw = read_file(files, OS_RELEASE[0])
    if raw is None:
        raw = read_file(files, OS_RELEASE[1])
    if raw is None:
        return None
    values = parse_os_release(raw.decode("utf-8", "replace"))
    family = [values.get("ID", "").lower()] + values.get("ID_LIKE", "").lower().split()
    package_format = ("dpkg" if {"debian", "ubuntu"} & set(family) else "apk" if "alpine" in family else None)
    return {"id": family[0], "id_like": family[1:], "version_id": values.get("VERSION_ID", ""),
            "version_codename": values.get("VERSION_CODENAME", ""), "format": package_format}


def _stanzas(text):
    return [block for block in re.split(r"\n\s*\n", text) if block.strip()]


def parse_dpkg_status(text):
    """``[{name, version, source}]`` of the ``install ok installed`` entries."""
    packages = []
    for block in _stanzas(text):
        fields, key = {}, None
        for line in block.splitlines():
            if line[:1] in (" ", "\t") and key:
                continue                                   # continuation lines (descriptions)
            key, _, value = line.partition(":")
            fields[key.strip()] = value.strip()
        if fields.get("Status") != "install ok installed" or not fields.get("Package") or not fields.get("Version"):
            continue
        source = (fields.get("Source") or fields["Package"]).split(" ")[0]
        packages.append({"name": fields["Package"], "version": fields["Version"], "source": source})
    return packages


def parse_apk_installed(text):
    """``[{name, version, source}]`` of apk's installed database (``P:``, ``V:``, ``o:``)."""
    packages = []
    for block in _stanzas(text):
        fields = {}
        for line in block.splitlines():
            if len(line) > 2 and line[1] == ":":
                fields.setdefault(line[0], line[2:].strip())
        if fields.get("P") and fields.get("V"):
            packages.append({"name": fields["P"], "version": fields["V"], "source": fields.get("o") or fields["P"]})
    return packages


def read_packages(files, package_format):
    path, parse = (DPKG_STATUS, parse_dpkg_status) if package_format == "dpkg" else (APK_INSTALLED, parse_apk_installed)
    raw = read_file(files, path)
    return parse(raw.decode("utf-8", "replace")) if raw is not None else []


# ---- advisories -------------------------------------------------------------------------

class AdvisoryError(ValueError):
    """A malformed advisory file; the message is one line naming the entry."""


def load_advisories(path=None):
    """The advisory list of ``path`` (the shipped feed by default), checked entry by entry."""
    path = path or DEFAULT_ADVISORIES
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except (OSError, ValueError) as error:
        raise AdvisoryError(f"advisories {path}: {error}") from None
    if not isinstance(document, list):
        raise AdvisoryError(f"advisories {path}: expected a JSON list of advisories")
    for number, entry in enumerate(document):
        check_advisory(path, number, entry)
    return document


def check_advisory(path, number, entry):
    name = f"advisories {path}: entry {number}"
    if not isinstance(entry, dict):
        raise AdvisoryError(f"{name}: expected an object")
    name += f" ({entry.get('cve_id')})" if isinstance(entry.get("cve_id"), str) else ""
    for field in ADVISORY_FIELDS + (("release",) if "release" in entry else ()):
        if not isinstance(entry.get(field), str) or not entry[field].strip():
            raise AdvisoryError(f"{name}: '{field}' must be a non-empty string")
    unknown = set(entry) - set(ADVISORY_FIELDS) - {"release"}
    if unknown:
        raise AdvisoryError(f"{name}: unknown fields {sorted(unknown)}")
    if not CVE_ID.match(entry["cve_id"]):
        raise AdvisoryError(f"{name}: 'cve_id' must look like CVE-2023-12345")
    ordering = "apk" if entry["distribution"] == "alpine" else "dpkg"
    try:
        versions.check(ordering, entry["fixed_version"])
    except ValueError as error:
        raise AdvisoryError(f"{name}: 'fixed_version': {error}") from None


def _release_matches(advisory, os_info):
    release = advisory.get("release")
    if not release:
        return True
    version_id = os_info["version_id"]
    return release in (os_info["version_codename"], version_id) or version_id.startswith(release + ".")


def findings(os_info, packages, advisories):
    """``[{cve_id, notice_id, summary, package, installed_version, fixed_version}]``: each
    installed package an advisory of this distribution (and release) names, below the fix."""
    found = []
    for advisory in advisories:
        if advisory["distribution"] != os_info["id"] or not _release_matches(advisory, os_info):
            continue
        for package in packages:
            if advisory["package"] not in (package["name"], package["source"]):
                continue
            try:
                vulnerable = versions.compare(os_info["format"], package["version"], advisory["fixed_version"]) < 0
            except ValueError:
                continue                                 # a version the ordering cannot read
            if vulnerable:
                found.append({"cve_id": advisory["cve_id"], "notice_id": advisory["notice_id"],
                              "summary": advisory["summary"], "package": package["name"],
                              "installed_version": package["version"],
                              "fixed_version": advisory["fixed_version"]})
    return found


def scan_manifest(storage, manifest_bytes, advisories):
    """The scan of one image manifest: ``{os, findings, complete, scan_time}``; ``os`` is
    None (UNSUPPORTED) when no known distribution was found."""
    files, complete = image_files(storage, manifest_bytes)
    os_info = read_os(files)
    if os_info is None or os_info["format"] is None:
        return {"os": os_info, "supported": False, "findings": [], "complete": complete, "scan_time": int(time.time())}
    return {"os": os_info, "supported": True, "complete": complete, "scan_time": int(time.time()),
            "findings": findings(os_info, read_packages(files, os_info["format"]), advisories)}


def platform_manifest(storage, manifest_bytes):
    """The manifest a scan reads: itself, or for a list the linux/amd64 (else first) child."""
    document = json.loads(manifest_bytes)
    children = document.get("manifests")
    if not children:
        return manifest_bytes
    chosen = next((c for c in children if (c.get("platform") or {}).get("architecture") == "amd64"), children[0])
    return storage.blob(chosen["digest"])


# ---- the worker -------------------------------------------------------------------------

class Scanner:
    """Scans tagged pushes in the background, ``delay`` seconds after the registry's event."""

    def __init__(self, config, state, advisories, delay):
        self._config = config
        self._state = state
        self._advisories = advisories
        self._delay = delay
        self._queue = queue.Queue()
        threading.Thread(target=self._work, name="va-scanner", daemon=True).start()

    def on_events(self, region, events):
        """Queues each tagged manifest push of these registry events."""
        for event in events:
            target = event.get("target", {})
            if (event.get("action") == "push" and target.get("tag") and target.get("digest")
                    and target.get("mediaType") in registry.MANIFEST_TYPES):
                self._queue.put((time.monotonic() + self._delay, region, target["repository"], target["digest"]))

    def _work(self):
        while True:
            due, region, repository, digest = self._queue.get()
            time.sleep(max(0.0, due - time.monotonic()))
            try:
                self.scan(region, digest)
            except Exception:  # noqa: BLE001 - one bad image must not stop the scanner
                LOG.exception("scanning %s@%s failed", repository, digest)

    def scan(self, region, digest):
        if self._state.va_scan(region.name, digest) is not None:
            return                                       # same digest, same bytes, same result
        storage = registry.Storage(region.storage_root)
        manifest = storage.blob(digest)
        if manifest is None:
            return
        target = platform_manifest(storage, manifest)
        if target is None:
            result = {"os": None, "supported": False, "findings": [], "complete": False,
                      "scan_time": int(time.time())}
        else:
            result = scan_manifest(storage, target, self._advisories)
        self._state.va_put_scan(region.name, digest, result)
