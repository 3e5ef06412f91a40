#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cr_image_restore
short_description: Restore a deleted image from the IBM Cloud Container Registry trash
version_added: 0.1.0
description:
  - Brings back an image deleted in the last 30 days (see M(icr.registry.cr_trash_info)).
  - With a tag (C(repo:tag)), only that tag comes back, pointing at the image it had when deleted.
  - With a digest (C(repo@sha256:...)), the image comes back together with those of its tags in the same
    repository that are not live.
  - A tag that is live with another image is not overwritten - ICR refuses that (C(CRT0500E)); the module
    reports it in RV(conflicting_tags) with a warning instead of failing. Untag it first to restore it.
  - Idempotent - a tag or digest that is already live with the trashed image needs no change.
author:
  - Contributors to the icr.registry project (!UNKNOWN)
options:
  name:
    description:
      - The image to restore, C(<domain>/<namespace>/<repository>) with C(:<tag>) or C(@sha256:<digest>).
      - The domain gives the region (for example V(us.icr.io) is V(us-south)); a registry host of the
        O(endpoints) file is mapped to its region the same way. O(region) is not used.
      - Without tag or digest, the tag V(latest) is meant.
    type: str
    required: true
    aliases: [image]
extends_documentation_fragment:
  - icr.registry.icr
  - icr.registry.icr.attributes
  - icr.registry.icr.actiongroup
attributes:
  check_mode:
    support: full
    details:
      - Reads the trash and the repository's live digests and predicts the outcome; nothing is restored.
  diff_mode:
    support: none
  idempotent:
    support: full
notes:
  - Needs the Writer service role on the namespace.
  - Fails when the image is neither in the trash nor live (never deleted, expired, or a wrong name).
seealso:
  - module: icr.registry.cr_trash_info
  - module: icr.registry.cr_retention_policy
"""

EXAMPLES = r"""
- name: Restore one tag
  icr.registry.cr_image_restore:
    name: us.icr.io/team-a/app:1.0
  register: restored

- name: Say what came back, and which image
  ansible.builtin.debug:
    msg: "{{ restored.name }}: tags {{ restored.restored_tags }} now point at {{ restored.digest }}"

- name: Restore an image with all its tags
  icr.registry.cr_image_restore:
    name: us.icr.io/team-a/app@sha256:4b1e4b0a8a3e0b8f3f6a0cf3a0ce4d1b7b2b9b0f7f55a0d0f7f0b3a0c2e1d0f9

- name: List the trash of namespace team-a
  icr.registry.cr_trash_info:
    namespace: team-a
  register: trash

- name: Restore every trashed image of repository team-a/app with its tags
  icr.registry.cr_image_restore:
    name: "{{ item.reference }}"
  loop: "{{ trash.images | selectattr('repository', 'equalto', 'us.icr.io/team-a/app') }}"
"""

RETURN = r"""
name:
  description: The image asked for (O(name)), with the region's canonical domain.
  returned: always
  type: str
  sample: us.icr.io/team-a/app:1.0
digest:
  description: The digest of the restored (or already live) image; null when unknown.
  returned: always
  type: str
  sample: sha256:4b1e4b0a8a3e0b8f3f6a0cf3a0ce4d1b7b2b9b0f7f55a0d0f7f0b3a0c2e1d0f9
restored_tags:
  description: Tags brought back (in check mode, that would be brought back).
  returned: always
  type: list
  elements: str
  sample: ["1.0"]
conflicting_tags:
  description: Tags not restored because they are live with another image.
  returned: always
  type: list
  elements: str
  sample: []
digest_restored:
  description: Whether the image itself came back (it was not live in the repository before).
  returned: always
  type: bool
  sample: true
"""

from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError
from ansible_collections.icr.registry.plugins.module_utils.icr_images import icr_reference
from ansible_collections.icr.registry.plugins.module_utils.icr_module import IcrModule

CONFLICT = 409


def live_state(digests, repository):
    """From ``/images/digests``: ``({tag: digest}, {digest})`` live in ``repository`` (with domain)."""
    tags, present = {}, set()
    for image in digests or []:
        repo_tags = image.get("repoTags") or {}
        if repository in repo_tags:
            present.add(image.get("id"))
            for tag in repo_tags[repository] or {}:
                tags[tag] = image.get("id")
    return tags, present


def trashed(trash, repository):
    """Trash entries (``IcrApi.list_trash``) of one repository."""
    return [entry for entry in trash if entry["repository"] == repository]


def plan_tag_restore(entries, live_tags, tag):
    """What restoring ``tag`` does: ``(action, digest)``, action one of restore, live, conflict."""
    holders = [entry for entry in entries if tag in entry["tags"]]
    # The most recently deleted image that had the tag is the one ICR brings back.
    newest = max(holders, key=lambda entry: entry["days_until_expiry"] or 0)["digest"] if holders else None
    live_digest = live_tags.get(tag)
    if live_digest is None:
        return ("restore", newest) if holders else (None, None)
    if not holders or live_digest in {entry["digest"] for entry in holders}:
        return "live", live_digest
    return "conflict", newest


def plan_digest_restore(entry, live_tags, live_digests, digest):
    """What restoring ``digest`` does: ``(digest_restored, restorable_tags, conflicting_tags)``."""
    tags = entry["tags"] if entry else []
    restorable = sorted(tag for tag in tags if tag not in live_tags)
    conflicting = sorted(tag for tag in tags if live_tags.get(tag) not in (None, digest))
    return digest not in live_digests, restorable, conflicting


class RestoreWorker:
    def __init__(self, module):
        self.module = module
        self.reference, region = icr_reference(module, module.params["name"], what="name")
        self.api = module.api(region)

    def __call__(self):
        ref = self.reference
        entries = trashed(self.trash(), ref.name)
        live_tags, live_digests = live_state(self.api.list_image_digests(repositories=[ref.name]), ref.name)
        if ref.digest:
            return self.restore_digest(entries, live_tags, live_digests)
        return self.restore_tag(entries, live_tags, live_digests)

    def trash(self):
        return self.api.list_trash(self.reference.namespace)

    def result(self, changed, digest, restored=(), conflicting=(), digest_restored=False):
        for tag in conflicting:
            self.module.warn("%s:%s is live with another image and was not restored; untag it first to restore it"
                             % (self.reference.name, tag))
        return dict(changed=changed, name=str(self.reference), digest=digest, restored_tags=list(restored),
                    conflicting_tags=list(conflicting), digest_restored=digest_restored)

    def not_in_trash(self):
        return IcrError("%s is neither in the trash nor live (never pushed, or deleted more than 30 days ago)"
                        % self.reference, status=404)

    def restore_tag(self, entries, live_tags, live_digests):
        tag = self.reference.tag
        action, digest = plan_tag_restore(entries, live_tags, tag)
        if action is None:
            raise self.not_in_trash()
        if action == "live":
            return self.result(False, digest)
        if action == "conflict":
            return self.result(False, digest, conflicting=[tag])
        if not self.module.check_mode:
            try:
                self.api.restore_tag(str(self.reference))
            except IcrError as err:
                if err.status != CONFLICT:  # the tag went live since we looked
                    raise
                return self.result(False, digest, conflicting=[tag])
        return self.result(True, digest, restored=[tag], digest_restored=digest not in live_digests)

    def restore_digest(self, entries, live_tags, live_digests):
        digest = self.reference.digest
        entry = next((e for e in entries if e["digest"] == digest), None)
        if entry is None and digest not in live_digests:
            raise self.not_in_trash()
        digest_restored, restorable, conflicting = plan_digest_restore(entry, live_tags, live_digests, digest)
        if not (digest_restored or restorable):
            return self.result(False, digest, conflicting=conflicting)
        if not self.module.check_mode:
            outcome = self.api.restore_digest(str(self.reference)) or {}
            restorable = sorted(outcome.get("successful") or [])
            # ICR lists a tag already live with this very image as unsuccessful too: not a conflict.
            conflicting = sorted(tag for tag in outcome.get("unsuccessful") or []
                                 if live_tags.get(tag) != digest)
        return self.result(True, digest, restorable, conflicting, digest_restored)


def main():
    module = IcrModule(
        argument_spec=dict(name=dict(type="str", required=True, aliases=["image"])),
        supports_check_mode=True,
    )
    module.run(RestoreWorker)


if __name__ == "__main__":
    main()
