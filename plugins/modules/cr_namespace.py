#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cr_namespace
short_description: Create, assign or delete an IBM Cloud Container Registry namespace
version_added: 0.1.0
description:
  - Makes sure a namespace exists (optionally in a resource group) or does not exist in one ICR region.
  - A namespace without a resource group (created before 29 July 2020) is assigned to O(resource_group_id) once.
    ICR cannot move a namespace between resource groups, so a namespace already in another group is an error.
author:
  - Contributors to the icr.registry project (!UNKNOWN)
options:
  name:
    description:
      - Namespace name. 4 to 30 characters; lowercase letters, digits, V(-) and V(_); starting and ending with a
        letter or digit. Names are unique across all accounts within a region.
    type: str
    required: true
  state:
    description:
      - V(present) creates the namespace (and assigns it to O(resource_group_id) if it has no group yet).
      - V(absent) deletes the namespace B(and every image in it), tagged or untagged. ICR deletes those images for
        good - they do not go to the trash and cannot be restored.
      - V(absent) refuses a namespace that still holds images unless O(force=true); run it in check mode with
        O(force=true) (and C(--diff)) to see which images would go.
    type: str
    choices: [present, absent]
    default: present
  force:
    description:
      - With O(state=absent), delete the namespace even if it still holds images (they are deleted for good, not
        moved to the trash).
    type: bool
    default: false
    version_added: 0.1.0
  resource_group_id:
    description:
      - Resource group to create the namespace in, or to assign an unassigned namespace to.
      - If not set, a new namespace goes to the account's default resource group and an existing one is left as is.
    type: str
extends_documentation_fragment:
  - icr.registry.icr
  - icr.registry.icr.attributes
  - icr.registry.icr.actiongroup
attributes:
  check_mode:
    support: full
    details:
      - Predicted from read calls only.
  diff_mode:
    support: full
  idempotent:
    support: full
seealso:
  - module: icr.registry.cr_namespace_info
"""

EXAMPLES = r"""
- name: Make sure the namespace exists in a resource group
  icr.registry.cr_namespace:
    name: team-apps
    region: eu-de
    resource_group_id: 0be5ad401ae913d8ff665d92680664ed

- name: Delete an empty namespace (refused while it holds images)
  icr.registry.cr_namespace:
    name: old-apps
    state: absent

- name: Preview which images deleting a namespace would destroy
  icr.registry.cr_namespace:
    name: old-apps
    state: absent
    force: true
  check_mode: true
  diff: true
  register: doomed

- name: Delete a namespace and every image in it, for good (no trash)
  icr.registry.cr_namespace:
    name: old-apps
    state: absent
    force: true

- name: Credentials and region for a whole block
  module_defaults:
    group/icr.registry.icr:
      api_key: "{{ vault_ibmcloud_api_key }}"
      region: us-south
  block:
    - name: Create the namespace
      icr.registry.cr_namespace:
        name: team-apps
"""

RETURN = r"""
namespace:
  description: The namespace as ICR reports it; empty when O(state=absent).
  returned: always
  type: dict
  sample:
    name: team-apps
    account: 1a2b3c4d5e6f
    resource_group: 0be5ad401ae913d8ff665d92680664ed
    crn: "crn:v1:bluemix:public:container-registry:us-south:a/1a2b3c4d5e6f::namespace:team-apps"
    created_date: "2026-11-26T19:20:00Z"
    updated_date: "2026-11-26T19:20:00Z"
    resource_created_date: "2026-11-26T19:20:00Z"
deleted:
  description:
    - With O(state=absent), the images deleted with the namespace (or that would be, in check mode), by repository
      and build date; ICR deletes them for good. Empty otherwise.
  returned: always
  type: list
  elements: dict
  sample:
    - reference: us.icr.io/old-apps/app@sha256:2d1b5f3c0e6b7c7d0f7a3c1f2b4e9a8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a29
      digest: sha256:2d1b5f3c0e6b7c7d0f7a3c1f2b4e9a8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a29
      tags: ["1.0"]
      created: 1764185000
      size: 1066496
diff:
  description:
    - The namespace before and after, when run with C(--diff); before a deletion, C(images) lists the images
      that go with it (digest reference -> tags).
  returned: when diff mode is on
  type: dict
  sample:
    before:
      name: old-apps
      images: {"us.icr.io/old-apps/app@sha256:2d1b5f3c0e6b7c7d0f7a3c1f2b4e9a8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a29": ["1.0"]}
    after: {}
actions:
  description: What was done (or would be done in check mode).
  returned: always
  type: list
  elements: str
  sample: ["created namespace team-apps in resource group 0be5ad401ae913d8ff665d92680664ed"]
"""

from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError
from ansible_collections.icr.registry.plugins.module_utils.icr_images import RepositoryDigests
from ansible_collections.icr.registry.plugins.module_utils.icr_module import IcrModule
from ansible_collections.icr.registry.plugins.module_utils.references import validate_namespace

# Repositories named in the refusal of a namespace that holds images (the rest: "...").
MAX_NAMED = 10


class NamespaceWorker:
    """Brings one namespace to the wanted state; predicts from reads in check mode."""

    def __init__(self, module):
        self.module = module
        self.name = validate_namespace(module.params["name"])
        self.group = module.params["resource_group_id"]
        self.api = module.api()
        self.actions = []

    def __call__(self):
        before = self.api.get_namespace(self.name)
        deleted = []
        if self.module.params["state"] == "present":
            after = self.present(before)
        else:
            deleted = self.images(before)
            after = self.absent(before, deleted)
        shown = dict(before, images={e["reference"]: e["tags"] for e in deleted}) if deleted else before
        return self.module.result(self.actions, before=shown or {}, after=after or {}, deleted=deleted,
                                  actions=self.actions, namespace=after or {})

    def _do(self, action, call):
        """Record ``action``; run ``call`` unless in check mode; return its result or None."""
        self.actions.append(action)
        return None if self.module.check_mode else call()

    def present(self, before):
        if before is None:
            where = " in resource group %s" % self.group if self.group else ""
            self._do("created namespace %s%s" % (self.name, where),
                     lambda: self.api.create_namespace(self.name, self.group))
            if self.module.check_mode:
                return dict(name=self.name, resource_group=self.group) if self.group else dict(name=self.name)
            return self.api.get_namespace(self.name)
        current = before.get("resource_group")
        if not self.group or current == self.group:
            return before
        if current:
            raise IcrError("Namespace %s is in resource group %s, not %s: ICR cannot move a namespace to another "
                           "resource group" % (self.name, current, self.group))
        self._do("assigned namespace %s to resource group %s" % (self.name, self.group),
                 lambda: self.api.assign_namespace(self.name, self.group))
        if self.module.check_mode:
            return dict(before, resource_group=self.group)
        return self.api.get_namespace(self.name)

    def images(self, namespace):
        """Every image (tagged or untagged) of an existing namespace, by repository, newest first."""
        if namespace is None:
            return []
        listings = RepositoryDigests.read_namespace(self.api, self.name)
        return [listing.entry(digest) for _repository, listing in sorted(listings.items())
                for digest in sorted(listing.digests, key=lambda d: (-listing.digests[d]["created"], d))]

    def absent(self, before, images):
        if before is None:
            return None
        if images and not self.module.params["force"]:
            repositories = sorted({entry["reference"].partition("@")[0] for entry in images})
            shown = ", ".join(repositories[:MAX_NAMED]) + (", ..." if len(repositories) > MAX_NAMED else "")
            raise IcrError("Namespace %s holds %d images in %d repositories (%s); deleting it deletes them for good "
                           "(they do not go to the trash): set force: true to delete it anyway"
                           % (self.name, len(images), len(repositories), shown))
        self._do("deleted namespace %s" % self.name, lambda: self.api.delete_namespace(self.name))
        return None


def main():
    module = IcrModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            resource_group_id=dict(type="str"),
            force=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    module.run(NamespaceWorker)


if __name__ == "__main__":
    main()
