#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cr_namespace_info
short_description: List IBM Cloud Container Registry namespaces with their details
version_added: 0.1.0
description:
  - Lists the account's namespaces in one ICR region, with resource group, CRN and dates.
  - Never changes anything.
author:
  - Contributors to the icr.registry project (!UNKNOWN)
options:
  name:
    description:
      - Only return the namespace with this name (an empty list when it does not exist).
    type: str
extends_documentation_fragment:
  - icr.registry.icr
  - icr.registry.icr.attributes
  - icr.registry.icr.actiongroup
  - icr.registry.icr.info_module
seealso:
  - module: icr.registry.cr_namespace
"""

EXAMPLES = r"""
- name: List every namespace in eu-de
  icr.registry.cr_namespace_info:
    region: eu-de
  register: eu_namespaces

- name: Does team-apps exist?
  icr.registry.cr_namespace_info:
    name: team-apps
  register: team_apps

- name: Show its resource group
  ansible.builtin.debug:
    msg: "{{ team_apps.namespaces[0].resource_group | default('namespace missing') }}"
"""

RETURN = r"""
namespaces:
  description: The namespaces, sorted by name.
  returned: always
  type: list
  elements: dict
  sample:
    - name: team-apps
      account: 1a2b3c4d5e6f
      resource_group: 0be5ad401ae913d8ff665d92680664ed
      crn: "crn:v1:bluemix:public:container-registry:us-south:a/1a2b3c4d5e6f::namespace:team-apps"
      created_date: "2026-11-26T19:20:00Z"
      updated_date: "2026-11-26T19:20:00Z"
      resource_created_date: "2026-11-26T19:20:00Z"
region:
  description: The region that was listed (its current name).
  returned: always
  type: str
  sample: eu-de
"""

from ansible_collections.icr.registry.plugins.module_utils.icr_module import IcrModule
from ansible_collections.icr.registry.plugins.module_utils.references import validate_namespace


class NamespaceLister:
    def __init__(self, module):
        self.module = module
        self.name = module.params["name"]
        if self.name is not None:
            validate_namespace(self.name)

    def __call__(self):
        namespaces = [details for details in self.module.api().list_namespace_details()
                      if self.name is None or details.get("name") == self.name]
        namespaces.sort(key=lambda details: details.get("name") or "")
        return dict(changed=False, namespaces=namespaces, region=self.module.region.name)


def main():
    module = IcrModule(argument_spec=dict(name=dict(type="str")), supports_check_mode=True)
    module.run(NamespaceLister)


if __name__ == "__main__":
    main()
