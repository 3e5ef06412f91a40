"""One region's docker-registry as the management API sees it.

Writes go through the registry's own /v2 with admin tokens (PUT/DELETE manifests, blob
mounts), so the registry keeps its storage consistent. Reads come straight from the
registry's filesystem layout: /v2 cannot list untagged manifests, and reading storage
costs no token and no HTTP per tag. The two writes 2.8.2 cannot do over /v2 (untag,
delete repositories) are storage operations too (docs/sandbox-auth.md, "Registry configuration").
"""

import json
import os
import re
import shutil
import time
from calendar import timegm
from dataclasses import dataclass, field

import requests

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_SCHEMA1 = ("application/vnd.docker.distribution.manifest.v1+json",
                  "application/vnd.docker.distribution.manifest.v1+prettyjws")
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST_TYPES = (DOCKER_MANIFEST, DOCKER_LIST, OCI_MANIFEST, OCI_INDEX)
LIST_TYPES = (DOCKER_LIST, OCI_INDEX)

MANIFEST_TYPE_NAMES = {
    DOCKER_MANIFEST: "Docker Image Manifest V2, Schema 2",
    OCI_MANIFEST: "OCI Image Manifest v1",
    DOCKER_LIST: "Docker Manifest List V2, Schema 2",
    OCI_INDEX: "OCI Image Index v1",
}

TIMEOUT = 30
LINK_RETRIES = 10
LINK_RETRY_SECONDS = 0.003
_RFC3339 = re.compile(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.\d+)?(Z|[+-]\d\d:\d\d)$")


def _v2_root(storage_root):
    return os.path.join(storage_root, "docker", "registry", "v2")


def _blob_path(storage_root, digest):
    algorithm, hexdigest = digest.split(":", 1)
    return os.path.join(_v2_root(storage_root), "blobs", algorithm, hexdigest[:2], hexdigest, "data")


def _read_link(path):
    """The digest a link file holds, or None when there is no link.

    docker-registry rewrites a link in place, truncate then write, so a reader can find it
    empty while the same manifest is PUT again: an empty link is read again a few times
    (at most about LINK_RETRIES * LINK_RETRY_SECONDS) before it counts as absent.
    """
    for attempt in range(LINK_RETRIES):
        if attempt:
            time.sleep(LINK_RETRY_SECONDS)
        try:
            with open(path, encoding="utf-8") as handle:
                digest = handle.read().strip()
        except (FileNotFoundError, NotADirectoryError):
            return None
        if digest:
            return digest
    return None


def media_type_of(manifest_bytes):
    """The media type the registry serves a stored manifest with (mediaType field, else OCI)."""
    document = json.loads(manifest_bytes)
    if document.get("schemaVersion") == 1:
        return DOCKER_SCHEMA1[1]
    if document.get("mediaType"):
        return document["mediaType"]
    return OCI_INDEX if "manifests" in document else OCI_MANIFEST


class Storage:
    """Read-only view of a registry's filesystem storage."""

    def __init__(self, storage_root):
        self.root = storage_root
        self._repositories = os.path.join(_v2_root(storage_root), "repositories")

    def repositories(self, namespace):
        """Repository names ("ns/repo", nested paths too) under a namespace."""
        found = []
        base = os.path.join(self._repositories, namespace)
        for directory, subdirectories, _ in os.walk(base):
            if "_manifests" in subdirectories:
                found.append(os.path.relpath(directory, self._repositories))
            subdirectories[:] = [d for d in subdirectories if not d.startswith("_")]
        return sorted(found)

    def repository_path(self, repository):
        return os.path.join(self._repositories, repository)

    def tags(self, repository):
        """{tag: digest} of the repository's live tags."""
        tags_dir = os.path.join(self.repository_path(repository), "_manifests", "tags")
        result = {}
        for tag in _listdir(tags_dir):
            digest = _read_link(os.path.join(tags_dir, tag, "current", "link"))
            if digest:
                result[tag] = digest
        return result

    def manifest_digests(self, repository):
        """Digests of every live manifest in the repository, tagged or not."""
        revisions = os.path.join(self.repository_path(repository), "_manifests", "revisions")
        digests = []
        for algorithm in _listdir(revisions):
            for hexdigest in _listdir(os.path.join(revisions, algorithm)):
                if _read_link(os.path.join(revisions, algorithm, hexdigest, "link")):
                    digests.append(f"{algorithm}:{hexdigest}")
        return digests

    def blob(self, digest):
        try:
            with open(_blob_path(self.root, digest), "rb") as handle:
                return handle.read()
        except FileNotFoundError:
            return None


def _listdir(path):
    try:
        return sorted(os.listdir(path))
    except (FileNotFoundError, NotADirectoryError):
        return []


def parse_created(text):
    """Unix seconds of an image config's RFC 3339 ``created`` (nanoseconds allowed), or None."""
    match = _RFC3339.match(text or "")
    if not match:
        return None
    seconds = timegm(tuple(int(g) for g in match.groups()[:6]))
    zone = match.group(7)
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        seconds -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return seconds


@dataclass
class ManifestInfo:
    """What the API reports about one stored manifest (immutable, so cached by digest)."""

    digest: str
    raw: bytes
    media_type: str
    config_digest: str | None = None
    config: dict = field(default_factory=dict)
    children: list = field(default_factory=list)     # digests, for manifest lists / indexes
    platforms: dict = field(default_factory=dict)    # child digest -> "os/architecture"
    size: int = 0                                    # config + layers (0 for lists)

    @property
    def is_list(self):
        return self.media_type in LIST_TYPES

    @property
    def type_name(self):
        return MANIFEST_TYPE_NAMES.get(self.media_type, self.media_type)

    @property
    def created(self):
        return parse_created(self.config.get("created"))


def read_manifest_info(storage, digest):
    raw = storage.blob(digest)
    if raw is None:
        return None
    media_type = media_type_of(raw)
    info = ManifestInfo(digest=digest, raw=raw, media_type=media_type)
    document = json.loads(raw)
    if info.is_list:
        for child in document.get("manifests", []):
            info.children.append(child["digest"])
            platform = child.get("platform") or {}
            info.platforms[child["digest"]] = f"{platform.get('os', '')}/{platform.get('architecture', '')}"
    elif document.get("config"):
        info.config_digest = document["config"]["digest"]
        config_bytes = storage.blob(info.config_digest)
        info.config = json.loads(config_bytes) if config_bytes else {}
        info.size = sum(referenced_blobs(raw).values())
    return info


def referenced_blobs(manifest_bytes):
    """{digest: size} of the config and layers of an image manifest ({} for lists)."""
    document = json.loads(manifest_bytes)
    descriptors = list(document.get("layers", []))
    if document.get("config"):
        descriptors.append(document["config"])
    return {d["digest"]: d.get("size", 0) for d in descriptors}


def storage_usage(storage_root, namespaces):
    """Bytes held by the live manifests of these namespaces, each blob counted once."""
    storage = Storage(storage_root)
    sizes = {}
    for namespace in namespaces:
        for repository in storage.repositories(namespace):
            for digest in storage.manifest_digests(repository):
                manifest = storage.blob(digest)
                if manifest is None:
                    continue
                sizes[digest] = len(manifest)
                sizes.update(referenced_blobs(manifest))
    return sum(sizes.values())


class RegistryError(Exception):
    """The registry refused an admin request."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class RegistryAdmin:
    """Admin access to one region's registry: /v2 for writes, storage for the rest."""

    def __init__(self, region, tokens):
        self.region = region
        self.storage = Storage(region.storage_root)
        self._tokens = tokens
        self._base = f"http://{region.upstream}/v2"
        self._session = requests.Session()
        self._infos = {}

    def manifest_info(self, digest):
        """Parsed manifest + config of a stored digest, or None when storage lacks it."""
        if digest not in self._infos:
            info = read_manifest_info(self.storage, digest)
            if info is None:
                return None
            self._infos[digest] = info
        return self._infos[digest]

    # ---- /v2 -------------------------------------------------------------------------

    def _headers(self, repositories, actions=("pull", "push", "delete"), extra=None):
        access = [{"type": "repository", "name": r, "actions": list(actions)} for r in repositories]
        headers = dict(self._tokens.admin_headers(self.region, access))
        headers.update(extra or {})
        return headers

    def put_manifest(self, repository, reference, manifest_bytes, media_type):
        headers = self._headers([repository], extra={"Content-Type": media_type})
        response = self._session.put(f"{self._base}/{repository}/manifests/{reference}",
                                     data=manifest_bytes, headers=headers, timeout=TIMEOUT)
        self._check(response)

    def delete_manifest(self, repository, digest):
        """Removes the manifest and every tag of the repository that points to it."""
        response = self._session.delete(f"{self._base}/{repository}/manifests/{digest}",
                                        headers=self._headers([repository]), timeout=TIMEOUT)
        if response.status_code != 404:
            self._check(response)

    def mount_blob(self, target, digest, source):
        """Makes a blob of ``source`` part of ``target`` without copying bytes."""
        headers = self._headers([target, source], ("pull", "push"))
        response = self._session.post(f"{self._base}/{target}/blobs/uploads/",
                                      params={"mount": digest, "from": source},
                                      headers=headers, timeout=TIMEOUT)
        self._check(response)
        if response.status_code != 201:
            # 202 means the registry started an upload instead: the blob is not in storage.
            raise RegistryError(404, f"blob {digest} is not available in {source}")

    @staticmethod
    def _check(response):
        if response.status_code >= 400:
            raise RegistryError(response.status_code, f"registry answered {response.status_code}: {response.text[:300]}")

    # ---- storage operations /v2 cannot do --------------------------------------------------

    def untag(self, repository, tag):
        shutil.rmtree(os.path.join(self.storage.repository_path(repository), "_manifests", "tags", tag))

    def delete_namespace_storage(self, namespace):
        shutil.rmtree(self.storage.repository_path(namespace), ignore_errors=True)
