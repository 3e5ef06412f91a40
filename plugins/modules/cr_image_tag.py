#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cr_image_tag
short_description: Add, move or remove tags of an image in IBM Cloud Container Registry, server-side
version_added: 0.1.0
description:
  - Makes tags point at the image O(name) (C(ibmcloud cr image-tag)) or removes tags (C(ibmcloud cr image-untag)),
    without pulling or pushing anything.
  - A target may be in another repository or namespace of the same region. Copying to another region is a pull and a
    push; use M(icr.registry.cr_image_copy) for that.
  - Idempotent by digest - a target tag that already points at the digest of O(name) is left alone.
author:
  - Contributors to the icr.registry project (!UNKNOWN)
options:
  name:
    description:
      - The image to tag, C(<domain>/<namespace>/<repository>:<tag>) or C(...@sha256:...). The tag defaults to V(latest).
      - With O(state=absent) it only completes target tags given without a repository.
    type: str
    required: true
    aliases: [source]
  tags:
    description:
      - Target tags. A bare tag (V(stable)) means that tag in the repository of O(name); a full reference
        (V(us.icr.io/other-ns/app:1.0)) may name another repository or namespace of the same region.
      - A full reference without a tag takes the tag of O(name).
    type: list
    elements: str
    required: true
  state:
    description:
      - V(present) makes each target tag point at the digest of O(name).
      - V(absent) removes each target tag that exists; the digest and its other tags stay.
    type: str
    choices: [present, absent]
    default: present
  force:
    description:
      - With O(state=present), move a target tag that points at another digest. With V(false) such a tag is an error
        and nothing is changed.
    type: bool
    default: true
extends_documentation_fragment:
  - icr.registry.icr
  - icr.registry.icr.attributes
  - icr.registry.icr.actiongroup
attributes:
  check_mode:
    support: full
    details:
      - Predicted from one read of the repositories' digests.
  diff_mode:
    support: full
    details:
      - Each target tag with the digest it points at before and after (null when absent).
  idempotent:
    support: full
seealso:
  - module: icr.registry.cr_image
  - module: icr.registry.cr_image_copy
"""

EXAMPLES = r"""
- name: Promote a build to stable and to the release namespace
  icr.registry.cr_image_tag:
    name: us.icr.io/team/app:1.4.2
    tags:
      - stable
      - us.icr.io/release/app:1.4.2
  register: promoted

- name: Name the tags that moved from another image
  ansible.builtin.debug:
    msg: "{{ promoted.tags | selectattr('action', 'eq', 'moved') | map(attribute='name') | list }}"

- name: Refuse to move an existing tag
  icr.registry.cr_image_tag:
    name: us.icr.io/team/app@sha256:2d1b5f3c0e6b7c7d0f7a3c1f2b4e9a8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a29
    tags: [1.4.2]
    force: false

- name: Remove a tag, keep the image
  icr.registry.cr_image_tag:
    name: us.icr.io/team/app:1.4.2
    tags: [candidate]
    state: absent
"""

RETURN = r"""
digest:
  description: Digest of O(name); null when O(state=absent) and the image is gone.
  returned: always
  type: str
  sample: sha256:2d1b5f3c0e6b7c7d0f7a3c1f2b4e9a8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a29
tags:
  description: One entry per target tag, in the order of O(tags) (each full reference once).
  returned: always
  type: list
  elements: dict
  sample:
    - {name: us.icr.io/team/app:stable, action: moved, before: "sha256:1111...", after: "sha256:2d1b..."}
    - {name: us.icr.io/release/app:1.4.2, action: created, before: null, after: "sha256:2d1b..."}
  contains:
    name: {description: The target tag as a full reference (canonical domain)., type: str}
    action: {description: "V(created), V(moved), V(unchanged), V(removed) or V(absent).", type: str}
    before: {description: Digest the tag pointed at before (null when it did not exist)., type: str}
    after: {description: Digest the tag points at after (null when it does not exist)., type: str}
actions:
  description: What was done (or would be done in check mode).
  returned: always
  type: list
  elements: str
"""

from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError
from ansible_collections.icr.registry.plugins.module_utils.icr_images import (
    RepositoryDigests, icr_reference, repository_name)
from ansible_collections.icr.registry.plugins.module_utils.icr_module import IcrModule


def target_reference(module, text, source, source_region):
    """A target tag as a full reference in the source's region (IcrError before any call otherwise)."""
    if "/" not in text:
        return source.with_tag(text)
    ref, region = icr_reference(module, text, default_tag=None, what="tag")
    if region.name != source_region.name:
        raise IcrError("Tag %s is in region %s but the image %s is in %s: tagging works within one region. "
                       "Use icr.registry.cr_image_copy (or the copy role) to copy across regions"
                       % (text, region.name, source, source_region.name))
    if ref.digest:
        raise IcrError("Tag %s names a digest: a target must be a tag" % text)
    if ref.tag is None:
        if not source.tag:
            raise IcrError("Tag %s needs a tag: name gives the image by digest only" % text)
        ref = ref.with_tag(source.tag)
    return ref


class ImageTagger:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.source, self.region = icr_reference(module, self.params["name"], what="name")
        targets = [target_reference(module, text, self.source, self.region) for text in self.params["tags"]]
        self.targets = list({str(t): t for t in targets}.values())  # once each, in order
        self.api = module.api(self.region)

    def __call__(self):
        repositories = [repository_name(self.source)] + [repository_name(t) for t in self.targets]
        listings = RepositoryDigests.read_many(self.api, repositories)
        digest = listings[repository_name(self.source)].digest_of(self.source)
        before = {str(t): listings[repository_name(t)].digest_of(t) for t in self.targets}
        if self.params["state"] == "present":
            plan = self.plan_present(digest, before)
        else:
            plan = self.plan_absent(before)
        actions = []
        for target, action, after in plan:
            if action in ("created", "moved"):
                actions.append("%s %s -> %s" % ("tagged" if action == "created" else "moved", target, after))
                if not self.module.check_mode:
                    self.api.tag_image("%s@%s" % (repository_name(self.source), digest), str(target))
            elif action == "removed":
                actions.append("removed tag %s" % target)
                if not self.module.check_mode:
                    self.api.untag_image(str(target))
        tags = [{"name": str(t), "action": action, "before": before[str(t)], "after": after}
                for t, action, after in plan]
        return self.module.result(actions, before={item["name"]: item["before"] for item in tags},
                                  after={item["name"]: item["after"] for item in tags},
                                  actions=actions, digest=digest, tags=tags)

    def plan_present(self, digest, before):
        if digest is None:
            raise IcrError("Image %s does not exist" % self.source)
        plan, conflicts = [], []
        for target in self.targets:
            current = before[str(target)]
            if current == digest:
                plan.append((target, "unchanged", digest))
            elif current is None:
                plan.append((target, "created", digest))
            else:
                plan.append((target, "moved", digest))
                conflicts.append("%s (at %s)" % (target, current))
        if conflicts and not self.params["force"]:
            raise IcrError("force is false and these tags point at another digest than %s: %s"
                           % (digest, ", ".join(conflicts)))
        return plan

    def plan_absent(self, before):
        return [(t, "absent" if before[str(t)] is None else "removed", None) for t in self.targets]


def main():
    module = IcrModule(
        argument_spec=dict(
            name=dict(type="str", required=True, aliases=["source"]),
            tags=dict(type="list", elements="str", required=True),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            force=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    module.run(ImageTagger)


if __name__ == "__main__":
    main()
