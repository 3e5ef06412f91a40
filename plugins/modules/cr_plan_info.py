#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cr_plan_info
short_description: Read the IBM Cloud Container Registry service plan of the account in a region
version_added: 0.1.0
description:
  - Returns the account's plan (V(Free) or V(Standard)) in one region; each region has its own plan.
  - ICR assigns the free plan when the first namespace is created. Its quotas are fixed at 512 MB of storage and
    5 GB of pull traffic a month (see M(icr.registry.cr_quota)); the standard plan is billed by use.
  - Upgrading the plan is left to the IBM Cloud console or C(ibmcloud cr plan-upgrade), as it changes billing and
    cannot be undone.
author:
  - Contributors to the icr.registry project (!UNKNOWN)
extends_documentation_fragment:
  - icr.registry.icr
  - icr.registry.icr.attributes
  - icr.registry.icr.actiongroup
  - icr.registry.icr.info_module
notes:
  - Needs the Manager service role (ICR's C(plan get) action).
seealso:
  - module: icr.registry.cr_quota
  - module: icr.registry.cr_account_settings
"""

EXAMPLES = r"""
- name: Read the plan in us-south
  icr.registry.cr_plan_info:
    region: us-south
  register: plan

- name: Stop before pushing a big image on the free plan
  ansible.builtin.assert:
    that: plan.plan != 'Free'
    fail_msg: The free plan allows 512 MB of storage in {{ plan.region }}
"""

RETURN = r"""
plan:
  description: The plan, as ICR names it.
  returned: always
  type: str
  sample: Standard
region:
  description: The region the plan applies to.
  returned: always
  type: str
  sample: us-south
"""

from ansible_collections.icr.registry.plugins.module_utils.icr_module import IcrModule


class PlanReader:
    def __init__(self, module):
        self.module = module

    def __call__(self):
        return dict(changed=False, plan=self.module.api().get_plan(), region=self.module.region.name)


def main():
    module = IcrModule(argument_spec={}, supports_check_mode=True)
    module.run(PlanReader)


if __name__ == "__main__":
    main()
