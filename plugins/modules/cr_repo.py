#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cr_repo
short_description: Delete or prune a whole repository in IBM Cloud Container Registry
version_added: 0.1.0
description:
  - V(absent) deletes every image of a repository (all digests, tagged or untagged) with one bulk call; run it with
    C(--check --diff) to see which images (digests and their tags) would go.
  - V(present) applies on-demand lifecycle rules to the repository; each rule is optional and, when not set, leaves
    the repository as it is.
  - Deleted images go to the trash, like C(ibmcloud cr image-rm) (restore them with M(icr.registry.cr_image_restore)).
  - Images that belong to a kept manifest list or index are never deleted, and manifest lists themselves are neither
    counted nor deleted by O(keep_latest) (as with ICR retention policies).
author:
  - Contributors to the icr.registry project (!UNKNOWN)
options:
  name:
    description:
      - The repository, C(<domain>/<namespace>/<repository>), for example V(us.icr.io/team/app).
    type: str
    required: true
  state:
    description:
      - V(absent) deletes all images of the repository; V(present) applies O(prune_untagged) and O(keep_latest).
    type: str
    choices: [present, absent]
    default: present
  prune_untagged:
    description:
      - Delete the digests that have no tag.
    type: bool
  keep_latest:
    description:
      - Keep the N newest images (by build date) and delete the others, tagged or not. Images without a build date
        are kept and not counted.
      - With O(prune_untagged=true), untagged images are deleted and do not count toward the N, so N tagged images
        stay even when untagged ones are newer.
    type: int
extends_documentation_fragment:
  - icr.registry.icr
  - icr.registry.icr.attributes
  - icr.registry.icr.actiongroup
attributes:
  check_mode:
    support: full
    details:
      - Reports what would be deleted, from read calls only.
  diff_mode:
    support: full
    details:
      - Lists the repository's images (digest references with their tags) before and after; the ones that go
        are the victims.
  idempotent:
    support: full
seealso:
  - module: icr.registry.cr_image
  - module: icr.registry.cr_retention_policy
"""

EXAMPLES = r"""
- name: Keep the five newest images and no untagged digest
  icr.registry.cr_repo:
    name: us.icr.io/team/app
    keep_latest: 5
    prune_untagged: true

- name: Delete a repository (every image, one call)
  icr.registry.cr_repo:
    name: us.icr.io/team/old-app
    state: absent
"""

RETURN = r"""
deleted:
  description: Images deleted (or that would be in check mode), newest first.
  returned: always
  type: list
  elements: dict
  sample:
    - reference: us.icr.io/team/app@sha256:2d1b5f3c0e6b7c7d0f7a3c1f2b4e9a8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a29
      digest: sha256:2d1b5f3c0e6b7c7d0f7a3c1f2b4e9a8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a29
      tags: [old]
      created: 1764185000
      size: 1066496
kept:
  description: How many images the repository holds afterwards (predicted in check mode).
  returned: always
  type: int
  sample: 5
diff:
  description: The repository's images (digest reference -> tags) before and after, when run with C(--diff).
  returned: when diff mode is on
  type: dict
  sample: {"before": {"images": {"us.icr.io/team/app@sha256:2d1b5f3c0e6b7c7d0f7a3c1f2b4e9a8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a29": ["old"],
                                 "us.icr.io/team/app@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08": ["1.0"]}},
           "after": {"images": {"us.icr.io/team/app@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08": ["1.0"]}}}
"""

import json

from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError
from ansible_collections.icr.registry.plugins.module_utils.icr_images import (
    RepositoryDigests, icr_reference, is_list_type, repository_name)
from ansible_collections.icr.registry.plugins.module_utils.icr_module import IcrModule


def doomed_digests(listing, children, prune_untagged=None, keep_latest=None):
    """The digests the lifecycle rules delete. ``children``: digests held by a kept list or index."""
    doomed = set()
    candidates = {d: item for d, item in listing.digests.items() if d not in children}
    if prune_untagged:
        doomed.update(d for d, item in candidates.items() if not item["tags"])
    if keep_latest is not None:
        # Untagged digests being pruned go anyway: they must not take the place of a kept image.
        images = [(item["created"], d) for d, item in candidates.items()
                  if item["created"] > 0 and not is_list_type(item["type"]) and d not in doomed]
        images.sort(reverse=True)  # newest first; the digest breaks ties the same way every run
        doomed.update(digest for _created, digest in images[keep_latest:])
    return doomed


class RepositoryWorker:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        module.number("keep_latest")
        ref, self.region = icr_reference(module, self.params["name"], default_tag=None)
        if ref.tag or ref.digest:
            raise IcrError("name %s must be a repository, without tag or digest" % self.params["name"])
        self.repository = repository_name(ref)
        self.api = module.api(self.region)

    def __call__(self):
        listing = RepositoryDigests.read(self.api, self.repository)
        if self.params["state"] == "absent":
            doomed = set(listing.digests)
        else:
            kept_lists = [d for d, item in listing.digests.items() if is_list_type(item["type"])]
            children = set()
            for digest in kept_lists:
                children.update(self.children(digest))
            doomed = doomed_digests(listing, children, self.params["prune_untagged"], self.params["keep_latest"])
        deleted = sorted((listing.entry(d) for d in doomed), key=lambda e: (-e["created"], e["digest"]))
        if deleted and not self.module.check_mode:
            self.bulk_delete([entry["reference"] for entry in deleted])
        before = listing.tags_by_reference()
        after = {reference: tags for reference, tags in before.items()
                 if reference.rpartition("@")[2] not in doomed}
        return self.module.result(deleted, before={"images": before}, after={"images": after}, deleted=deleted,
                                  kept=len(listing.digests) - len(deleted),
                                  actions=["deleted %s" % entry["reference"] for entry in deleted])

    def children(self, digest):
        raw = self.api.get_image_manifest("%s@%s" % (self.repository, digest))[0]
        return [entry.get("digest") for entry in json.loads(raw).get("manifests") or []]

    def bulk_delete(self, references):
        result = self.api.bulk_delete_images(references)
        errors = result.get("error") or {}
        if errors:
            details = "; ".join("%s: %s" % (ref, (item or {}).get("message") or (item or {}).get("code"))
                                for ref, item in sorted(errors.items()))
            raise IcrError("Deleting %d of %d images of %s failed: %s"
                           % (len(errors), len(references), self.repository, details))


def main():
    module = IcrModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            prune_untagged=dict(type="bool"),
            keep_latest=dict(type="int"),
        ),
        supports_check_mode=True,
    )
    module.run(RepositoryWorker)


if __name__ == "__main__":
    main()
