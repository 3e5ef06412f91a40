#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cr_image_info
short_description: List and inspect images in IBM Cloud Container Registry
version_added: 0.1.0
description:
  - Lists the images of the account in one region, optionally limited to a namespace or a repository, and inspects
    named images (digest, tags, configuration, layers, size, build date), optionally with their raw manifest.
  - Named images are read on their own - the digests of their repositories, then each image - not the whole
    region. A named image that does not exist is reported in RV(missing) rather than failing the task, unless
    O(fail_on_missing=true).
  - Read-only; results are lists even for one item.
author:
  - Contributors to the icr.registry project (!UNKNOWN)
options:
  namespace:
    description:
      - List only the images of this namespace.
    type: str
  repository:
    description:
      - List only the images of this repository, C(<domain>/<namespace>/<repository>).
    type: str
  include_untagged:
    description:
      - List untagged digests too (C(ibmcloud cr image-digests) instead of C(image-list)).
    type: bool
    default: false
  include_manifest_lists:
    description:
      - List manifest lists and OCI indexes too.
    type: bool
    default: false
  list_images:
    description:
      - Whether to list images (RV(images)) besides inspecting O(names).
      - Default V(true) without O(names) and V(false) with O(names), so that inspecting named images does not read
        every image of the region.
    type: bool
  names:
    description:
      - Images to inspect, C(<domain>/<namespace>/<repository>[:<tag>]) or C(...@sha256:...); the tag defaults to
        V(latest).
    type: list
    elements: str
    default: []
  fail_on_missing:
    description:
      - Fail when an image of O(names) does not exist. With V(false) it is listed in RV(missing) and the others are
        inspected.
    type: bool
    default: false
  manifest:
    description:
      - Also return the raw manifest of each image in O(names), with its media type.
    type: bool
    default: false
extends_documentation_fragment:
  - icr.registry.icr
  - icr.registry.icr.attributes
  - icr.registry.icr.actiongroup
  - icr.registry.icr.info_module
seealso:
  - module: icr.registry.cr_image
"""

EXAMPLES = r"""
- name: Images of one repository, untagged digests included
  icr.registry.cr_image_info:
    repository: us.icr.io/team/app
    include_untagged: true
  register: app_images

- name: Inspect an image and read its manifest
  icr.registry.cr_image_info:
    names: [us.icr.io/team/app:1.0]
    manifest: true
  register: app_inspection

- name: Pin the tags that exist to their digests, and name those that do not
  icr.registry.cr_image_info:
    names:
      - us.icr.io/team/app:1.0
      - us.icr.io/team/app:2.0
  register: release_images

- name: Report them
  ansible.builtin.debug:
    msg: >-
      {{ release_images.inspections | map(attribute='repo_digest') | list }},
      missing {{ release_images.missing }}

- name: Fail unless every named image exists
  icr.registry.cr_image_info:
    names: [us.icr.io/team/app:1.0]
    fail_on_missing: true
"""

RETURN = r"""
images:
  description: The listed images, one per digest and repository, sorted by repository then newest first.
  returned: when O(list_images=true)
  type: list
  elements: dict
  sample:
    - repository: us.icr.io/team/app
      digest: sha256:2d1b5f3c0e6b7c7d0f7a3c1f2b4e9a8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a29
      repo_digest: us.icr.io/team/app@sha256:2d1b5f3c0e6b7c7d0f7a3c1f2b4e9a8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a29
      tags: ["1.0", latest]
      created: 1764185000
      size: 1066496
      manifest_type: Docker Image Manifest V2, Schema 2
  contains:
    repository: {description: The repository with its domain., type: str}
    digest: {description: Manifest digest., type: str}
    repo_digest: {description: The repository pinned to the digest., type: str}
    tags: {description: Tags of the digest in the repository (none for an untagged digest)., type: list}
    created: {description: Build date in seconds since the epoch (UTC); 0 when unknown (manifest lists)., type: int}
    size: {description: Bytes., type: int}
    manifest_type: {description: Manifest type as ICR names it., type: str}
inspections:
  description: One entry per O(names) item that exists, in order.
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: The reference as given (canonical domain)., type: str}
    digest: {description: Manifest digest the name stands for (of the index for a multi-platform image)., type: str}
    repo_digest: {description: The repository pinned to the digest., type: str}
    tags: {description: Tags of the digest in its repository., type: list}
    id: {description: Image ID (config digest); of the engine's platform for an index., type: str}
    created: {description: Build date in seconds since the epoch (UTC); 0 when unknown., type: int}
    size: {description: Bytes., type: int}
    architecture: {description: CPU architecture., type: str}
    os: {description: Operating system., type: str}
    config: {description: 'Image configuration: Cmd, Env, Labels and the other Docker config keys.', type: dict}
    layers: {description: Layer diff IDs., type: list}
    manifest_type: {description: Manifest type as ICR names it., type: str}
    manifest: {description: Raw manifest text (with O(manifest=true))., type: str}
    media_type: {description: Media type of the manifest (with O(manifest=true))., type: str}
missing:
  description: The O(names) items that do not exist (canonical domain), in order.
  returned: always
  type: list
  elements: str
  sample: [us.icr.io/team/app:2.0]
"""

from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError
from ansible_collections.icr.registry.plugins.module_utils.icr_images import (
    RepositoryDigests, epoch_seconds, icr_reference, is_list_type, repository_name)
from ansible_collections.icr.registry.plugins.module_utils.icr_module import IcrModule
from ansible_collections.icr.registry.plugins.module_utils.references import validate_namespace


def from_digests(digests, namespace=None, repository=None, include_manifest_lists=False):
    """Image entries from ``POST /images/digests`` items (tagged and untagged)."""
    images = []
    for item in digests:
        if is_list_type(item.get("manifestType")) and not include_manifest_lists:
            continue
        for repo, tags in sorted((item.get("repoTags") or {}).items()):
            if repository and repo != repository:
                continue
            if namespace and repo.split("/")[1] != namespace:
                continue
            images.append(image_entry(repo, item["id"], sorted(tags or {}), item.get("created"),
                                      item.get("size"), item.get("manifestType")))
    return sort_images(images)


def from_images(images):
    """Image entries from ``GET /images`` items (tagged only)."""
    entries = []
    for item in images:
        for repo_digest in item.get("RepoDigests") or []:
            repo, digest = repo_digest.split("@", 1)
            tags = sorted(tag.rpartition(":")[2] for tag in (item.get("RepoTags") or [])
                          if tag.rpartition(":")[0] == repo)
            entries.append(image_entry(repo, digest, tags, item.get("Created"), item.get("Size"),
                                       item.get("ManifestType")))
    return sort_images(entries)


def image_entry(repository, digest, tags, created, size, manifest_type):
    return {"repository": repository, "digest": digest, "repo_digest": "%s@%s" % (repository, digest),
            "tags": tags, "created": epoch_seconds(created), "size": size or 0, "manifest_type": manifest_type or ""}


def sort_images(images):
    return sorted(images, key=lambda e: (e["repository"], -e["created"], e["digest"]))


def inspection_entry(ref, listed, data):
    """``ref`` as given, ``listed``: its RepositoryDigests.entry(), ``data``: its ImageInspection."""
    rootfs = data.get("RootFS") or {}
    return {"name": str(ref), "digest": listed["digest"], "repo_digest": listed["reference"], "tags": listed["tags"],
            "id": data.get("Id"), "created": epoch_seconds(data.get("Created")) or listed["created"],
            "size": data.get("Size"), "architecture": data.get("Architecture"), "os": data.get("Os"),
            "config": data.get("Config") or {}, "layers": list(rootfs.get("Layers") or []),
            "manifest_type": data.get("ManifestType")}


class ImageInfo:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        if self.params["namespace"]:
            validate_namespace(self.params["namespace"])
        self.repository = None
        if self.params["repository"]:
            ref = icr_reference(module, self.params["repository"], default_tag=None, what="repository")[0]
            if ref.tag or ref.digest:
                raise IcrError("repository %s must not have a tag or digest" % self.params["repository"])
            self.repository = repository_name(ref)
        self.names = [icr_reference(module, text) for text in self.params["names"]]

    def __call__(self):
        inspections, missing = self.inspect_all()
        if missing and self.params["fail_on_missing"]:
            raise IcrError("%s not found (fail_on_missing is true)" % ", ".join(missing), status=404)
        result = dict(changed=False, inspections=inspections, missing=missing)
        list_images = self.params["list_images"]
        if list_images or (list_images is None and not self.names):
            result["images"] = self.list()
        return result

    def list(self):
        api = self.module.api()
        params = self.params
        if params["include_untagged"]:
            digests = api.list_image_digests(repositories=[self.repository] if self.repository else None)
            return from_digests(digests, params["namespace"], self.repository, params["include_manifest_lists"])
        images = api.list_images(namespace=params["namespace"],
                                 repository=self.repository,
                                 include_manifest_lists=params["include_manifest_lists"])
        return [entry for entry in from_images(images) if not self.repository or entry["repository"] == self.repository]

    def inspect_all(self):
        """``(inspections, missing)`` of O(names): one digest listing of their repositories per region, then
        one inspection (and manifest read) of each image that exists, by digest."""
        listings = {}
        for ref, region in self.names:
            listings.setdefault(region.name, (region, set()))[1].add(repository_name(ref))
        digests = {name: RepositoryDigests.read_many(self.module.api(region), repositories)
                   for name, (region, repositories) in listings.items()}
        inspections, missing = [], []
        for ref, region in self.names:
            listing = digests[region.name][repository_name(ref)]
            digest = listing.digest_of(ref)
            entry = self.inspect(ref, region, listing.entry(digest)) if digest else None
            if entry is None:
                missing.append(str(ref))
            else:
                inspections.append(entry)
        return inspections, missing

    def inspect(self, ref, region, listed):
        """The inspection of one listed image, or None when it went away since it was listed."""
        api = self.module.api(region)
        try:
            entry = inspection_entry(ref, listed, api.inspect_image(listed["reference"]))
            if self.params["manifest"]:
                raw, media_type = api.get_image_manifest(listed["reference"])
                entry.update(manifest=raw, media_type=media_type)
        except IcrError as err:
            if err.status == 404:
                return None
            raise
        return entry


def main():
    module = IcrModule(
        argument_spec=dict(
            namespace=dict(type="str"),
            repository=dict(type="str"),
            include_untagged=dict(type="bool", default=False),
            include_manifest_lists=dict(type="bool", default=False),
            list_images=dict(type="bool"),
            names=dict(type="list", elements="str", default=[]),
            fail_on_missing=dict(type="bool", default=False),
            manifest=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    module.run(ImageInfo)


if __name__ == "__main__":
    main()
