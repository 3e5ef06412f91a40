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
    named images (configuration, layers, size, build date), optionally with their raw manifest.
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
      - List images. Set V(false) to only inspect O(names).
    type: bool
    default: true
  names:
    description:
      - Images to inspect, C(<domain>/<namespace>/<repository>[:<tag>]) or C(...@sha256:...); the tag defaults to
        V(latest).
    type: list
    elements: str
    default: []
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
    list_images: false
    names: [us.icr.io/team/app:1.0]
    manifest: true
  register: app_inspection
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
inspections:
  description: One entry per O(names) item.
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: The reference as given (canonical domain)., type: str}
    id: {description: Image ID (config digest)., type: str}
    created: {description: Build date., type: str}
    size: {description: Bytes., type: int}
    architecture: {description: CPU architecture., type: str}
    os: {description: Operating system., type: str}
    config: {description: 'Image configuration: Cmd, Env, Labels and the other Docker config keys.', type: dict}
    layers: {description: Layer diff IDs., type: list}
    manifest_type: {description: Manifest type as ICR names it., type: str}
    manifest: {description: Raw manifest text (with O(manifest=true))., type: str}
    media_type: {description: Media type of the manifest (with O(manifest=true))., type: str}
    digest: {description: Digest of the raw manifest (with O(manifest=true))., type: str}
"""

import hashlib

from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError
from ansible_collections.icr.registry.plugins.module_utils.icr_images import (
    icr_reference, is_list_type, repository_name)
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
            "tags": tags, "created": created or 0, "size": size or 0, "manifest_type": manifest_type or ""}


def sort_images(images):
    return sorted(images, key=lambda e: (e["repository"], -e["created"], e["digest"]))


def inspection_entry(name, data):
    rootfs = data.get("RootFS") or {}
    return {"name": name, "id": data.get("Id"), "created": data.get("Created"), "size": data.get("Size"),
            "architecture": data.get("Architecture"), "os": data.get("Os"), "config": data.get("Config") or {},
            "layers": list(rootfs.get("Layers") or []), "manifest_type": data.get("ManifestType")}


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
        result = dict(changed=False, inspections=[self.inspect(ref, region) for ref, region in self.names])
        if self.params["list_images"]:
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

    def inspect(self, ref, region):
        api = self.module.api(region)
        entry = inspection_entry(str(ref), api.inspect_image(str(ref)))
        if self.params["manifest"]:
            raw, media_type = api.get_image_manifest(str(ref))
            entry.update(manifest=raw, media_type=media_type,
                         digest="sha256:" + hashlib.sha256(raw.encode("utf-8")).hexdigest())
        return entry


def main():
    module = IcrModule(
        argument_spec=dict(
            namespace=dict(type="str"),
            repository=dict(type="str"),
            include_untagged=dict(type="bool", default=False),
            include_manifest_lists=dict(type="bool", default=False),
            list_images=dict(type="bool", default=True),
            names=dict(type="list", elements="str", default=[]),
            manifest=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    module.run(ImageInfo)


if __name__ == "__main__":
    main()
