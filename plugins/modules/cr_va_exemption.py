#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cr_va_exemption
short_description: Manage Vulnerability Advisor exemptions in IBM Cloud Container Registry
version_added: 0.1.0
description:
  - Exempts issues - CVEs, security notices or configuration issues - from Vulnerability Advisor (VA v4), for the
    whole account in a region or for one resource (a namespace, a repository, a tag or a digest), or removes such
    exemptions.
  - An exempt issue is still reported, marked exempt, and no longer makes an image's status V(FAIL).
  - Idempotent; each exemption is read before it is created or deleted.
author:
  - Contributors to the icr.registry project (!UNKNOWN)
options:
  scope:
    description:
      - V(account) for the whole account in the region (O(region)), or a resource
        C(<domain>/<namespace>), C(<domain>/<namespace>/<repository>), C(...:<tag>) or C(...@sha256:<digest>).
        The domain gives the region; without it, O(region) does.
      - A tag scope covers that tag only; a digest scope covers every tag of that digest.
    type: str
    default: account
  issue_type:
    description:
      - What is exempted - V(cve) (C(CVE-2023-4911)), V(sn) (a security notice such as C(DSA-5514-1)) or
        V(configuration) (C(application_configuration:<id>)).
    type: str
    required: true
    choices: [cve, sn, configuration]
  issue_id:
    description:
      - The issue or issues to exempt, one ID or a list.
    type: list
    elements: str
    required: true
  state:
    description:
      - V(present) creates the missing exemptions, V(absent) removes the existing ones.
    type: str
    choices: [present, absent]
    default: present
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
  - module: icr.registry.cr_va_info
"""

EXAMPLES = r"""
- name: Accept a CVE for one repository
  icr.registry.cr_va_exemption:
    scope: us.icr.io/team/app
    issue_type: cve
    issue_id: CVE-2023-4911

- name: Accept security notices everywhere in the account, in us-south
  icr.registry.cr_va_exemption:
    region: us-south
    issue_type: sn
    issue_id: [DSA-5514-1, DSA-5532-1]

- name: Withdraw an exemption of one image
  icr.registry.cr_va_exemption:
    scope: us.icr.io/team/app:1.0
    issue_type: cve
    issue_id: CVE-2023-5363
    state: absent
"""

RETURN = r"""
exemptions:
  description: The exemptions of O(issue_id) in the scope after the task (predicted in check mode), in order.
  returned: always
  type: list
  elements: dict
  sample:
    - issue_type: cve
      issue_id: CVE-2023-4911
      scope: us.icr.io/team/app
  contains:
    issue_type: {description: The issue type., type: str}
    issue_id: {description: The issue ID., type: str}
    scope: {description: V(account) or the resource with its domain., type: str}
created:
  description: Issue IDs whose exemption was created (or would be, in check mode).
  returned: always
  type: list
  elements: str
deleted:
  description: Issue IDs whose exemption was removed (or would be, in check mode).
  returned: always
  type: list
  elements: str
"""

import re

from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError
from ansible_collections.icr.registry.plugins.module_utils.icr_module import IcrModule
from ansible_collections.icr.registry.plugins.module_utils.references import parse_reference, validate_namespace

ACCOUNT = "account"
# VA's validation rules (GET /va/api/v4/exempt/types), checked before any request.
ISSUE_ID_PATTERNS = {
    "cve": re.compile(r"^CVE-[0-9]{4}-[0-9]{4,}$"),
    "sn": re.compile(r"^[A-Z][A-Z0-9]*-[A-Za-z0-9][A-Za-z0-9:._-]*$"),
    "configuration": re.compile(r"^application_configuration:[A-Za-z0-9_.-]+$"),
}


def parse_scope(module, text):
    """``(resource or None for the account, region, scope as shown)``; IcrError when malformed."""
    if text == ACCOUNT:
        return None, module.region, ACCOUNT
    first, slash, rest = text.partition("/")
    region = module.region
    if slash and ("." in first or ":" in first or first == "localhost"):
        region = module.endpoints.region_for_host(first)
        if region is None:
            raise IcrError("scope %s: %s serves no ICR region (expected account or "
                           "<domain>/<namespace>[/<repository>[:<tag>|@sha256:<digest>]])" % (text, first))
        text = rest
    if "/" not in text:
        validate_namespace(text)
        resource = text
    else:
        ref = parse_reference("%s/%s" % (region.domain, text), default_tag=None)
        resource = str(ref).partition("/")[2]
    return resource, region, "%s/%s" % (region.domain, resource)


class VaExemption:
    def __init__(self, module):
        self.module = module
        params = module.params
        self.issue_type = params["issue_type"]
        self.issue_ids = list(dict.fromkeys(params["issue_id"]))
        pattern = ISSUE_ID_PATTERNS[self.issue_type]
        bad = [issue for issue in self.issue_ids if not pattern.match(issue)]
        if not self.issue_ids:
            raise IcrError("issue_id: give at least one %s ID" % self.issue_type)
        if bad:
            raise IcrError("issue_id: %s %s not a valid %s ID (%s IDs match %s)" % (
                ", ".join(bad), "is" if len(bad) == 1 else "are", self.issue_type, self.issue_type, pattern.pattern))
        self.resource, self.region, self.scope = parse_scope(module, params["scope"])
        self.present = params["state"] == "present"

    def __call__(self):
        va = self.module.va(self.region)
        existing = [issue for issue in self.issue_ids
                    if va.get_exemption(self.issue_type, issue, resource=self.resource) is not None]
        if self.present:
            created, deleted = [i for i in self.issue_ids if i not in existing], []
        else:
            created, deleted = [], existing
        if not self.module.check_mode:
            for issue in created:
                va.create_exemption(self.issue_type, issue, resource=self.resource)
            for issue in deleted:
                va.delete_exemption(self.issue_type, issue, resource=self.resource)
        after = [i for i in self.issue_ids if i in existing or i in created] if self.present else []
        return self.module.result(created or deleted, before=self.view(existing), after=self.view(after),
                                  exemptions=self.view(after), created=created, deleted=deleted)

    def view(self, issues):
        return [{"issue_type": self.issue_type, "issue_id": issue, "scope": self.scope} for issue in issues]


def main():
    module = IcrModule(
        argument_spec=dict(
            scope=dict(type="str", default=ACCOUNT),
            issue_type=dict(type="str", required=True, choices=["cve", "sn", "configuration"]),
            issue_id=dict(type="list", elements="str", required=True),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        supports_check_mode=True,
    )
    module.run(VaExemption)


if __name__ == "__main__":
    main()
