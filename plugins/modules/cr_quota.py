#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cr_quota
short_description: Read and set the storage and pull-traffic quotas of IBM Cloud Container Registry
version_added: 0.1.0
description:
  - Reads the account's quota limits and usage in one region (each region has its own quotas), and sets the limits.
  - With neither O(storage_megabytes) nor O(traffic_megabytes) the module only reads; there is no separate
    C(cr_quota_info) module.
  - ICR reports quotas in bytes but sets them in megabytes of 1,048,576 bytes (setting V(500) reads back as
    524288000 bytes); the module compares in bytes and reports both, plus a human-readable size.
  - ICR checks the storage quota after a push completes (the push that crosses it succeeds, later pushes are
    refused) and the traffic quota after a pull; traffic counts per month. Trashed images do not count.
author:
  - Contributors to the icr.registry project (!UNKNOWN)
options:
  storage_megabytes:
    description:
      - Storage limit in megabytes (1 MB = 1,048,576 bytes); V(-1) for unlimited.
      - At most 8796093022207 (ICR stores the limit in bytes as a 64-bit integer); other negative numbers are refused.
      - On the free plan the limit cannot be raised above the plan's 512 MB.
      - If not set, the current limit is kept.
    type: int
  traffic_megabytes:
    description:
      - Monthly pull-traffic limit in megabytes (1 MB = 1,048,576 bytes); V(-1) for unlimited.
      - At most 8796093022207 (ICR stores the limit in bytes as a 64-bit integer); other negative numbers are refused.
      - On the free plan the limit cannot be raised above the plan's 5120 MB.
      - If not set, the current limit is kept.
    type: int
extends_documentation_fragment:
  - icr.registry.icr
  - icr.registry.icr.attributes
  - icr.registry.icr.actiongroup
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
notes:
  - Reading needs the Reader service role; setting needs Manager.
seealso:
  - module: icr.registry.cr_plan_info
"""

EXAMPLES = r"""
- name: Read the quotas and usage of region eu-de
  icr.registry.cr_quota:
    region: eu-de
  register: quota

- name: Warn when storage is over 80 percent
  ansible.builtin.debug:
    msg: "Storage at {{ quota.quota.storage.usage_human }} of {{ quota.quota.storage.limit_human }}"
  when:
    - quota.quota.storage.limit_bytes != -1
    - quota.quota.storage.usage_bytes > 0.8 * quota.quota.storage.limit_bytes

- name: Cap storage at 2 GB and leave traffic unlimited
  icr.registry.cr_quota:
    storage_megabytes: 2048
    traffic_megabytes: -1
"""

RETURN = r"""
quota:
  description:
    - Limits and usage after the task (in check mode, the limits the task would set).
    - A limit of -1 means unlimited.
  returned: always
  type: dict
  contains:
    storage:
      description: Storage limit and usage (tagged and untagged images, each layer counted once).
      type: dict
      sample: {"limit_bytes": 536870912, "limit_megabytes": 512, "limit_human": "512.00 MB",
               "usage_bytes": 1048576, "usage_human": "1.00 MB"}
    traffic:
      description: Pull-traffic limit and usage for the current month.
      type: dict
      sample: {"limit_bytes": -1, "limit_megabytes": -1, "limit_human": "unlimited",
               "usage_bytes": 0, "usage_human": "0.00 Bytes"}
diff:
  description: The limits in megabytes before and after, when run with C(--diff).
  returned: when diff mode is on
  type: dict
  sample: {"before": {"storage_megabytes": -1, "traffic_megabytes": -1},
           "after": {"storage_megabytes": 2048, "traffic_megabytes": -1}}
"""

from ansible.module_utils.common.text.formatters import bytes_to_human

from ansible_collections.icr.registry.plugins.module_utils.icr_context import INT64_MAX
from ansible_collections.icr.registry.plugins.module_utils.icr_module import IcrModule

MEGABYTE = 1024 * 1024
UNLIMITED = -1
RESOURCES = ("storage", "traffic")
# ICR takes megabytes but stores and reports bytes, as int64.
MAX_MEGABYTES = INT64_MAX // MEGABYTE


def megabytes_to_bytes(megabytes):
    return UNLIMITED if megabytes == UNLIMITED else megabytes * MEGABYTE


def bytes_to_megabytes(size):
    """Whole megabytes when exact (what ICR sets), else a float."""
    if size == UNLIMITED:
        return UNLIMITED
    whole, rest = divmod(size, MEGABYTE)
    return whole if rest == 0 else size / float(MEGABYTE)


def human_size(size):
    return "unlimited" if size == UNLIMITED else bytes_to_human(size)


def limits_in_bytes(quota):
    """``{storage: bytes, traffic: bytes}`` of ICR's Quota (a missing limit is unlimited)."""
    limit = (quota or {}).get("limit") or {}
    return {name: limit.get(name + "_bytes", UNLIMITED) for name in RESOURCES}


def limit_changes(current, wanted):
    """The ``update_quota`` arguments (megabytes) for limits in ``wanted`` that differ from ``current``.

    ``current`` is in bytes (``limits_in_bytes``); ``wanted`` maps resource -> megabytes or None (keep).
    """
    return {name + "_megabytes": megabytes
            for name, megabytes in sorted(wanted.items())
            if megabytes is not None and megabytes_to_bytes(megabytes) != current[name]}


def describe(quota, limits=None):
    """ICR's Quota as ``{storage: {...}, traffic: {...}}`` in bytes, megabytes and human-readable text."""
    limits = limits_in_bytes(quota) if limits is None else limits
    usage = (quota or {}).get("usage") or {}
    result = {}
    for name in RESOURCES:
        used = usage.get(name + "_bytes", 0)
        result[name] = {
            "limit_bytes": limits[name],
            "limit_megabytes": bytes_to_megabytes(limits[name]),
            "limit_human": human_size(limits[name]),
            "usage_bytes": used,
            "usage_human": human_size(used),
        }
    return result


def in_megabytes(limits):
    return {name + "_megabytes": bytes_to_megabytes(size) for name, size in sorted(limits.items())}


class QuotaWorker:
    def __init__(self, module):
        self.module = module
        self.wanted = {name: module.number(name + "_megabytes", maximum=MAX_MEGABYTES, also={UNLIMITED: "unlimited"},
                                           unit="megabytes")
                       for name in RESOURCES}
        self.api = module.api()

    def __call__(self):
        quota = self.api.get_quota()
        before = limits_in_bytes(quota)
        changes = limit_changes(before, self.wanted)
        after = dict(before)
        for option, megabytes in changes.items():
            after[option[:-len("_megabytes")]] = megabytes_to_bytes(megabytes)
        if changes and not self.module.check_mode:
            self.api.update_quota(**changes)
            quota = self.api.get_quota()
            after = limits_in_bytes(quota)
        return self.module.result(changes, before=in_megabytes(before), after=in_megabytes(after),
                                  quota=describe(quota, after))


def main():
    module = IcrModule(
        argument_spec=dict(
            storage_megabytes=dict(type="int"),
            traffic_megabytes=dict(type="int"),
        ),
        supports_check_mode=True,
    )
    module.run(QuotaWorker)


if __name__ == "__main__":
    main()
