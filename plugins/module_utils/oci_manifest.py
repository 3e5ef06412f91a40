# -*- coding: utf-8 -*-
# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""What an OCI or Docker image manifest is: media types, digests, platforms.

``Manifest`` keeps the bytes exactly as a registry served them (so digests survive a copy)
and answers what they reference. Pure logic: no network here.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import re

from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError

DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
SCHEMA1_TYPES = frozenset({
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
})
IMAGE_TYPES = frozenset({DOCKER_MANIFEST, OCI_MANIFEST})
INDEX_TYPES = frozenset({DOCKER_MANIFEST_LIST, OCI_INDEX})
# Schema 1 is deliberately absent: a registry then converts or refuses, never sends it unasked.
MANIFEST_ACCEPT = ", ".join((OCI_INDEX, DOCKER_MANIFEST_LIST, OCI_MANIFEST, DOCKER_MANIFEST))
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def sha256_digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def platform_string(descriptor):
    platform = descriptor.get("platform") or {}
    parts = [platform.get("os", "unknown"), platform.get("architecture", "unknown")]
    if platform.get("variant"):
        parts.append(platform["variant"])
    return "/".join(parts)


def platform_matches(descriptor, wanted):
    """``linux/arm64`` matches any variant; ``linux/arm64/v8`` only that variant."""
    have = platform_string(descriptor).split("/")
    want = wanted.strip().lower().split("/")
    return have[:len(want)] == want


_PLATFORM_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*/[a-z0-9][a-z0-9_.-]*(/[a-z0-9][a-z0-9_.-]*)?$")


def check_platforms(platforms):
    """Refuse, in one line, a ``platforms`` option that select_platforms could not honour: every
    entry ``os/architecture[/variant]``, or ``all`` alone."""
    wanted = [text.strip().lower() for text in platforms or []]
    if not wanted:
        raise IcrError("platforms: name at least one platform, or all")
    if "all" in wanted:
        if len(wanted) > 1:
            raise IcrError("platforms: all copies every platform; give it alone, or list the platforms")
        return
    for text in wanted:
        if not _PLATFORM_RE.match(text):
            raise IcrError("platforms: %r is not os/architecture[/variant] (for example linux/amd64, "
                           "linux/arm64/v8) or all" % text)


def select_platforms(index, platforms):
    """The index to copy: ``index`` itself for ``all``, otherwise a new index that keeps
    only the requested platforms (its bytes, hence its digest, differ from the source's)."""
    if not platforms or platforms == "all" or list(platforms) == ["all"]:
        return index
    children = index.children()
    kept = [child for child in children if any(platform_matches(child, want) for want in platforms)]
    missing = [want for want in platforms if not any(platform_matches(c, want) for c in children)]
    if missing:
        raise IcrError("platform(s) %s not in the source index (it has: %s)"
                       % (", ".join(missing), ", ".join(platform_string(c) for c in children)))
    if len(kept) == len(children):
        return index
    doc = dict(index.json)
    doc["manifests"] = kept
    raw = json.dumps(doc, indent=3).encode("utf-8")
    return Manifest.from_bytes(raw, index.media_type)


class Manifest:
    """A manifest exactly as the registry served it: ``raw`` bytes are what get PUT again."""

    def __init__(self, raw, media_type, digest):
        self.raw = raw
        self.media_type = media_type
        self.digest = digest
        self._json = None

    @property
    def json(self):
        if self._json is None:
            self._json = json.loads(self.raw.decode("utf-8"))
        return self._json

    @property
    def is_index(self):
        return self.media_type in INDEX_TYPES

    @property
    def size(self):
        """Bytes an image manifest references: its config and its (compressed) layers."""
        return sum(int(blob.get("size") or 0) for blob in self.blobs())

    def blobs(self):
        """Descriptors of every blob an image manifest references: config first, then layers."""
        if self.is_index:
            return []
        doc = self.json
        return [doc["config"]] + list(doc.get("layers") or [])

    def children(self):
        """Descriptors of the manifests an index references."""
        return list(self.json.get("manifests") or []) if self.is_index else []

    def child_for(self, platform):
        """The digest of this index's entry for ``platform`` (``os/arch[/variant]``), or None.
        An entry that names no variant stands for any variant of its architecture."""
        children = self.children()
        for child in children:
            if platform_matches(child, platform):
                return child.get("digest")
        bare = "/".join(platform.split("/")[:2])
        for child in children:
            if not (child.get("platform") or {}).get("variant") and platform_matches(child, bare):
                return child.get("digest")
        return None

    @classmethod
    def from_bytes(cls, raw, content_type=None, expected_digest=None):
        """Build from served bytes, checking the media type and, when known, the digest."""
        digest = sha256_digest(raw)
        if expected_digest and expected_digest.startswith("sha256:") and expected_digest != digest:
            raise IcrError("manifest bytes do not match digest %s (computed %s)" % (expected_digest, digest))
        try:
            doc = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise IcrError("the registry returned a manifest that is not JSON: %s" % exc)
        media_type = doc.get("mediaType") or (content_type or "").split(";")[0].strip()
        if doc.get("schemaVersion") == 1 or media_type in SCHEMA1_TYPES:
            raise IcrError("this is a Docker schema 1 manifest, which is deprecated and cannot be "
                           "copied with its digest; push the image again with a current Docker or "
                           "convert it (for example `skopeo copy --format v2s2`)")
        if not media_type and "manifests" in doc:
            media_type = OCI_INDEX
        elif not media_type and "layers" in doc:
            media_type = OCI_MANIFEST
        if media_type not in IMAGE_TYPES and media_type not in INDEX_TYPES:
            raise IcrError("unsupported manifest media type %r" % media_type)
        return cls(raw, media_type, digest)
