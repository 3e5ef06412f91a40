#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cr_account_settings
short_description: Read and set the account options of IBM Cloud Container Registry in a region
version_added: 0.1.0
description:
  - The account switches that C(ibmcloud cr private-only), C(ibmcloud cr iam-policies-enable) and
    C(ibmcloud cr platform-metrics) manage, in one module. Each region has its own settings.
  - Every option defaults to leaving the setting as it is; with none given the module only reads.
author:
  - Contributors to the icr.registry project (!UNKNOWN)
options:
  private_only:
    description:
      - Allow pushes and pulls over private connections only (C(private.<domain>)); public-network requests fail.
      - Do not enable it from a machine that reaches the registry over the public network.
    type: bool
  iam_authz:
    description:
      - Enforce IAM service-role authorization (Reader, Writer, Manager) for registry access.
    type: bool
  platform_metrics:
    description:
      - Send registry metrics (storage and traffic) to IBM Cloud Monitoring.
    type: bool
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
  - Reading and setting O(private_only) and O(iam_authz) needs the Manager service role.
seealso:
  - module: icr.registry.cr_plan_info
  - module: icr.registry.cr_quota
"""

EXAMPLES = r"""
- name: Read the account settings of us-south
  icr.registry.cr_account_settings:
  register: account

- name: Turn platform metrics on, leave everything else as it is
  icr.registry.cr_account_settings:
    platform_metrics: true

- name: Private endpoints only, in eu-de
  icr.registry.cr_account_settings:
    region: eu-de
    private_only: true
"""

RETURN = r"""
settings:
  description: The settings after the task (in check mode, the settings the task would make).
  returned: always
  type: dict
  contains:
    private_only:
      description: Whether only private connections may push and pull.
      type: bool
      sample: false
    iam_authz:
      description: Whether IAM service-role authorization is enforced.
      type: bool
      sample: true
    platform_metrics:
      description: Whether registry metrics go to IBM Cloud Monitoring.
      type: bool
      sample: false
diff:
  description: The settings before and after, when run with C(--diff).
  returned: when diff mode is on
  type: dict
  sample: {"before": {"private_only": false, "iam_authz": true, "platform_metrics": false},
           "after": {"private_only": false, "iam_authz": true, "platform_metrics": true}}
"""

from ansible_collections.icr.registry.plugins.module_utils.icr_module import IcrModule

# Which ICR resource holds each option: /auth (AuthOptions) or /settings (AccountSettings).
AUTH_OPTIONS = ("iam_authz", "private_only")
SETTINGS_OPTIONS = ("platform_metrics",)


def current_settings(auth, settings):
    """One flat dict from ICR's AuthOptions and AccountSettings (missing switches are off)."""
    merged = {name: bool((auth or {}).get(name, False)) for name in AUTH_OPTIONS}
    merged.update((name, bool((settings or {}).get(name, False))) for name in SETTINGS_OPTIONS)
    return merged


def changes_for(current, wanted, names):
    """The options among ``names`` whose wanted value (None = leave as is) differs from ``current``."""
    return {name: wanted[name] for name in names if wanted.get(name) is not None and wanted[name] != current[name]}


class AccountSettingsWorker:
    def __init__(self, module):
        self.module = module
        self.api = module.api()

    def __call__(self):
        wanted = {name: self.module.params[name] for name in AUTH_OPTIONS + SETTINGS_OPTIONS}
        before = current_settings(self.api.get_auth_options(), self.api.get_settings())
        auth_changes = changes_for(before, wanted, AUTH_OPTIONS)
        settings_changes = changes_for(before, wanted, SETTINGS_OPTIONS)
        after = dict(before, **auth_changes)
        after.update(settings_changes)
        if not self.module.check_mode:
            if auth_changes:
                self.api.update_auth_options(**auth_changes)
            if settings_changes:
                self.api.update_settings(**settings_changes)
        return self.module.result(after != before, before=before, after=after, settings=after)


def main():
    module = IcrModule(
        argument_spec=dict(
            private_only=dict(type="bool"),
            iam_authz=dict(type="bool"),
            platform_metrics=dict(type="bool"),
        ),
        supports_check_mode=True,
    )
    module.run(AccountSettingsWorker)


if __name__ == "__main__":
    main()
