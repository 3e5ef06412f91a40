# -*- coding: utf-8 -*-
# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Image references and ICR's naming rules.

Pure logic: nothing here touches the network, so invalid input fails before any call,
with a message naming the rule it broke.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from dataclasses import dataclass

from ansible_collections.icr.registry.plugins.module_utils.endpoints import region_for_host
from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError
from ansible_collections.icr.registry.plugins.module_utils.oci_manifest import DIGEST_RE

DOCKER_HUB = "docker.io"

# OCI distribution-spec grammar.
_PATH_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
_HOST = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]{1,5})?$")

# Length limits of the distribution spec and docker-registry (distribution/reference's
# NameTotalLengthMax): a repository name counts its path only (<namespace>/<repository>,
# not the host); a tag is at most 128 characters.
REPOSITORY_MAX = 255
TAG_MAX = 128

# ICR namespace rules (IBM docs; the Terraform provider uses the same).
NAMESPACE_MIN, NAMESPACE_MAX = 4, 30
_NAMESPACE_CHARS = re.compile(r"^[a-z0-9_-]+$")
_ALNUM = re.compile(r"^[a-z0-9]$")


# --------------------------------------------------------------------------- names

def validate_namespace(name):
    """Return ``name`` if it is a valid ICR namespace name; else IcrError naming the rule."""
    if not isinstance(name, str) or not name:
        raise IcrError("Invalid namespace %r: a namespace name is required" % (name,))
    if not NAMESPACE_MIN <= len(name) <= NAMESPACE_MAX:
        raise IcrError("Invalid namespace %r: must be %d to %d characters long (got %d)"
                       % (name, NAMESPACE_MIN, NAMESPACE_MAX, len(name)))
    if not _NAMESPACE_CHARS.match(name):
        raise IcrError("Invalid namespace %r: only lowercase letters, digits, '-' and '_' are allowed"
                       % (name,))
    if not (_ALNUM.match(name[0]) and _ALNUM.match(name[-1])):
        raise IcrError("Invalid namespace %r: must start and end with a lowercase letter or digit"
                       % (name,))
    return name


# --------------------------------------------------------------------------- references

@dataclass(frozen=True)
class ImageReference:
    registry: str
    repository: str
    tag: object = None      # str or None
    digest: object = None   # "sha256:<64 hex>" or None

    @property
    def namespace(self):
        return self.repository.split("/", 1)[0]

    @property
    def name(self):
        """``registry/repository`` without tag or digest."""
        return "%s/%s" % (self.registry, self.repository)

    def __str__(self):
        text = self.name
        if self.tag:
            text += ":" + self.tag
        if self.digest:
            text += "@" + self.digest
        return text

    def with_tag(self, tag):
        """The same repository at ``tag`` (any digest is dropped)."""
        _check_tag(tag, tag)
        return ImageReference(self.registry, self.repository, tag, None)

    def with_digest(self, digest):
        """The same repository pinned to ``digest`` (any tag is dropped)."""
        _check_digest(digest, digest)
        return ImageReference(self.registry, self.repository, None, digest)

    def with_registry(self, registry):
        return ImageReference(registry, self.repository, self.tag, self.digest)


def _check_tag(text, tag):
    if isinstance(tag, str) and len(tag) > TAG_MAX:
        raise IcrError("Invalid image reference %r: tag %r is %d characters long, at most %d are allowed (a tag must "
                       "match [A-Za-z0-9_][A-Za-z0-9._-]{0,127})" % (text, tag, len(tag), TAG_MAX))
    if not isinstance(tag, str) or not _TAG.match(tag):
        raise IcrError("Invalid image reference %r: tag %r must match [A-Za-z0-9_][A-Za-z0-9._-]{0,127}"
                       % (text, tag))


def _check_digest(text, digest):
    if not isinstance(digest, str) or not DIGEST_RE.match(digest):
        raise IcrError("Invalid image reference %r: digest %r must be sha256: followed by 64 lowercase hex digits"
                       % (text, digest))


def _looks_like_host(component):
    return "." in component or ":" in component or component == "localhost"


def parse_reference(text, default_tag="latest"):
    """Parse ``[registry/]repository[:tag][@sha256:…]``.

    Without a registry the reference is Docker Hub's (``busybox`` → ``docker.io/library/busybox``).
    Without tag and digest, ``default_tag`` is used (pass None to keep it empty). For ICR
    hosts the first path component must be a valid namespace and a repository must follow it.
    """
    if not isinstance(text, str) or not text.strip():
        raise IcrError("Invalid image reference %r: a reference is required" % (text,))
    if text != text.strip() or any(c.isspace() for c in text):
        raise IcrError("Invalid image reference %r: whitespace is not allowed" % (text,))
    rest, digest = text, None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        _check_digest(text, digest)
    tag = None
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1:]
        _check_tag(text, tag)
    parts = rest.split("/")
    if len(parts) > 1 and _looks_like_host(parts[0]):
        registry, path = parts[0], parts[1:]
        if not _HOST.match(registry):
            raise IcrError("Invalid image reference %r: registry host %r must be host[:port]" % (text, registry))
    else:
        registry, path = DOCKER_HUB, parts
        if len(path) == 1:
            path = ["library"] + path
    for component in path:
        if not _PATH_COMPONENT.match(component):
            raise IcrError("Invalid image reference %r: repository component %r must be lowercase "
                           "letters and digits, separated by '.', '_', '__' or '-'" % (text, component))
    if region_for_host(registry) is not None:
        if len(path) < 2:
            raise IcrError("Invalid image reference %r: an ICR reference needs <domain>/<namespace>/<repository>"
                           % (text,))
        validate_namespace(path[0])
    repository = "/".join(path)
    if len(repository) > REPOSITORY_MAX:
        raise IcrError("Invalid image reference %r: its repository name (<namespace>/<repository>, without the host) "
                       "is %d characters long, at most %d are allowed" % (text, len(repository), REPOSITORY_MAX))
    if tag is None and digest is None:
        tag = default_tag
    return ImageReference(registry.lower(), repository, tag, digest)
