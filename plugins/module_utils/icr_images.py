# -*- coding: utf-8 -*-
# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""What the image modules share: ICR references in their region, and the digests of a
repository as the management API lists them.

``locate_reference`` parses playbook text and finds the ICR region that serves it, if any;
``icr_reference`` insists on ICR and gives the canonical reference the management API
expects (``us.icr.io/ns/repo:tag``, whatever host serves the bytes) plus its region.
``RepositoryDigests`` reads ``POST /images/digests`` once and answers "which digest does this
tag point at" and "which tags does this digest carry" for one repository, so every module
decides ``changed`` from the same state.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import re
import time

from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError
from ansible_collections.icr.registry.plugins.module_utils.references import parse_reference

_RFC3339 = re.compile(r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.\d+)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$")


def locate_reference(module, text, default_tag="latest"):
    """``(ImageReference, Region or None)``: the region when an ICR domain or an endpoints-file
    registry host serves the reference, else None (another registry)."""
    ref = parse_reference(text, default_tag=default_tag)
    return ref, module.endpoints.region_for_host(ref.registry)


def icr_reference(module, text, default_tag="latest", what="name"):
    """``(ImageReference with the region's canonical domain, Region)``; IcrError if not ICR."""
    ref, region = locate_reference(module, text, default_tag)
    if region is None:
        raise IcrError("%s %s is not an ICR image: its registry %s serves no ICR region (expected "
                       "<region domain>/<namespace>/<repository>)" % (what, text, ref.registry))
    return ref.with_registry(region.domain), region


def epoch_seconds(value):
    """An image's ``created`` as the collection returns it everywhere: integer seconds since the
    epoch (UTC), 0 when unknown. ICR lists it as seconds already and inspects it as the image
    config's RFC 3339 text (``2024-03-01T00:00:00.123456789Z``), which is converted here."""
    if isinstance(value, bool) or value is None:
        return 0
    if isinstance(value, (int, float)):
        return int(value)
    match = _RFC3339.match(str(value).strip())
    if not match:
        return 0
    day, clock, _zulu, sign, hours, minutes = match.groups()
    seconds = calendar.timegm(time.strptime("%sT%s" % (day, clock), "%Y-%m-%dT%H:%M:%S"))
    if sign:
        offset = int(hours) * 3600 + int(minutes) * 60
        seconds -= offset if sign == "+" else -offset
    return max(0, seconds)


def is_list_type(manifest_type):
    """Whether an ICR ``manifestType`` names a manifest list or an OCI index
    (``Docker Manifest List V2, Schema 2``, ``OCI Image Index v1``)."""
    text = (manifest_type or "").lower()
    return "list" in text or "index" in text


def repository_name(ref):
    """``<domain>/<namespace>/<repository>`` of a reference."""
    return "%s/%s" % (ref.registry, ref.repository)


class RepositoryDigests:
    """The digests of one repository: ``{digest: {"tags": [...], "created": int, "size": int, "type": str}}``."""

    def __init__(self, repository, digests):
        self.repository = repository
        self.digests = {}
        for item in digests or []:
            tags = (item.get("repoTags") or {}).get(repository)
            if tags is None:
                continue
            self.digests[item["id"]] = {"tags": sorted(tags), "created": item.get("created") or 0,
                                        "size": item.get("size") or 0, "type": item.get("manifestType") or ""}

    @classmethod
    def read(cls, api, repository):
        return cls(repository, api.list_image_digests(repositories=[repository]))

    @classmethod
    def read_many(cls, api, repositories):
        """``{repository: RepositoryDigests}`` from one listing call."""
        repositories = sorted(set(repositories))
        digests = api.list_image_digests(repositories=repositories)
        return {repository: cls(repository, digests) for repository in repositories}

    @classmethod
    def read_namespace(cls, api, namespace):
        """``{repository: RepositoryDigests}`` of every repository of ``namespace`` that holds an
        image, tagged or untagged, from one listing call."""
        digests = api.list_image_digests()
        repositories = {repository for item in digests for repository in item.get("repoTags") or {}
                        if repository.split("/")[1:2] == [namespace]}
        return {repository: cls(repository, digests) for repository in sorted(repositories)}

    def digest_of(self, ref):
        """The digest a tag or digest reference stands for in this repository, or None."""
        if ref.digest:
            return ref.digest if ref.digest in self.digests else None
        for digest, item in self.digests.items():
            if ref.tag in item["tags"]:
                return digest
        return None

    def tags_by_reference(self):
        """``{"<repository>@<digest>": [tags]}`` of every digest: what a diff shows."""
        return {"%s@%s" % (self.repository, digest): list(item["tags"]) for digest, item in sorted(self.digests.items())}

    def entry(self, digest):
        """``{reference, digest, tags, created, size}`` of one digest (reference by digest)."""
        item = self.digests[digest]
        return {"reference": "%s@%s" % (self.repository, digest), "digest": digest, "tags": list(item["tags"]),
                "created": item["created"], "size": item["size"]}
