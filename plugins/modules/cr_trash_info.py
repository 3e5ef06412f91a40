#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cr_trash_info
short_description: List the images in the IBM Cloud Container Registry trash
version_added: 0.1.0
description:
  - Lists deleted images that can still be restored with M(icr.registry.cr_image_restore).
  - ICR keeps a deleted image in the trash for 30 days; the trash cannot be emptied, and trashed images are
    neither billed nor counted against the quota.
  - Images deleted by a retention policy (M(icr.registry.cr_retention_policy)) land here too.
author:
  - Contributors to the icr.registry project (!UNKNOWN)
options:
  namespace:
    description:
      - Only list the trash of this namespace. If not set, the trash of every namespace of the account in the region.
    type: str
extends_documentation_fragment:
  - icr.registry.icr
  - icr.registry.icr.attributes
  - icr.registry.icr.actiongroup
  - icr.registry.icr.info_module
seealso:
  - module: icr.registry.cr_image_restore
  - module: icr.registry.cr_retention_policy
"""

EXAMPLES = r"""
- name: List the trash of namespace team-a
  icr.registry.cr_trash_info:
    namespace: team-a
  register: trash

- name: Show what expires within a week
  ansible.builtin.debug:
    msg: "{{ trash.images | selectattr('days_until_expiry', 'le', 7) | map(attribute='reference') | list }}"
"""

RETURN = r"""
images:
  description: The trashed images, sorted by reference.
  returned: always
  type: list
  elements: dict
  contains:
    reference:
      description: The digest reference, usable as O(icr.registry.cr_image_restore#module:name).
      type: str
      sample: us.icr.io/team-a/app@sha256:4b1e4b0a8a3e0b8f3f6a0cf3a0ce4d1b7b2b9b0f7f55a0d0f7f0b3a0c2e1d0f9
    repository:
      description: The repository, with the registry domain.
      type: str
      sample: us.icr.io/team-a/app
    namespace:
      description: The namespace.
      type: str
      sample: team-a
    digest:
      description: The manifest digest.
      type: str
      sample: sha256:4b1e4b0a8a3e0b8f3f6a0cf3a0ce4d1b7b2b9b0f7f55a0d0f7f0b3a0c2e1d0f9
    tags:
      description: The tags the image had in the repository when it was deleted (tag names only), sorted.
      type: list
      elements: str
      sample: ["1.0", "latest"]
    days_until_expiry:
      description: Days left before ICR deletes the image for good (rounded up).
      type: int
      sample: 29
"""

from ansible_collections.icr.registry.plugins.module_utils.icr_module import IcrModule
from ansible_collections.icr.registry.plugins.module_utils.references import validate_namespace


class TrashLister:
    def __init__(self, module):
        self.module = module
        self.namespace = module.params["namespace"]
        if self.namespace is not None:
            validate_namespace(self.namespace)

    def __call__(self):
        return dict(changed=False, images=self.module.api().list_trash(self.namespace))


def main():
    module = IcrModule(
        argument_spec=dict(namespace=dict(type="str")),
        supports_check_mode=True,
    )
    module.run(TrashLister)


if __name__ == "__main__":
    main()
