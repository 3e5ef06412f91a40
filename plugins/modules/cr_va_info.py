#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cr_va_info
short_description: Read Vulnerability Advisor results of images in IBM Cloud Container Registry
version_added: 0.1.0
description:
  - Reads the Vulnerability Advisor (VA v4) status of named images - a tag or a digest - and, on request, their full
    reports. Without O(names), lists the status of every tagged image of the account in the region, or of one
    O(repository).
  - VA scans an image asynchronously, and only once it has a tag; until then it answers that the image has not been
    scanned (C(BXNVA0009E)). Such an image is reported with status V(UNSCANNED), or waited for with
    O(wait_for_scan=true). VA answers the same for an image that does not exist.
  - O(fail_on) turns chosen statuses into a failure, for a deployment gate.
  - Read-only; results are lists even for one item.
author:
  - Contributors to the icr.registry project (!UNKNOWN)
options:
  names:
    description:
      - Images to read, C(<domain>/<namespace>/<repository>[:<tag>]) or C(...@sha256:...); the tag defaults to
        V(latest). Each is read in the region of its domain.
    type: list
    elements: str
    default: []
  repository:
    description:
      - Without O(names), list only the images of this repository, C(<domain>/<namespace>/<repository>).
    type: str
  full_report:
    description:
      - Also return each image's full report (RV(images[].report)) - vulnerabilities, security notices, packages and
        their fixed versions.
    type: bool
    default: false
  wait_for_scan:
    description:
      - Poll, with growing pauses, while a named image has not been scanned yet, up to O(wait_timeout) seconds;
        fail when it is still not scanned then. With V(false) it is reported as V(UNSCANNED).
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds O(wait_for_scan) waits for each image, at most.
    type: int
    default: 300
  fail_on:
    description:
      - Fail when an image has one of these statuses. The message names the image, its status and its first active
        CVEs. For example V([FAIL, UNSUPPORTED]).
    type: list
    elements: str
    choices: [OK, WARN, FAIL, UNSUPPORTED, INCOMPLETE, UNSCANNED]
    default: []
extends_documentation_fragment:
  - icr.registry.icr
  - icr.registry.icr.attributes
  - icr.registry.icr.actiongroup
  - icr.registry.icr.info_module
notes:
  - VA statuses - V(OK) no active vulnerability; V(FAIL) active vulnerabilities; V(WARN) configuration issues only
    (VA v4 reports none); V(UNSUPPORTED) an operating system VA cannot scan; V(INCOMPLETE) the scan could not read
    everything; V(UNSCANNED) not scanned yet. Exempt vulnerabilities (M(icr.registry.cr_va_exemption)) do not fail
    an image.
seealso:
  - module: icr.registry.cr_va_exemption
  - module: icr.registry.cr_image_info
"""

EXAMPLES = r"""
- name: Gate a deployment on the image just pushed
  icr.registry.cr_va_info:
    names: [us.icr.io/team/app:1.0]
    wait_for_scan: true
    wait_timeout: 600
    fail_on: [FAIL, UNSUPPORTED, INCOMPLETE]

- name: Full report of an image by digest
  icr.registry.cr_va_info:
    names: [us.icr.io/team/app@sha256:2d1b5f3c0e6b7c7d0f7a3c1f2b4e9a8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a29]
    full_report: true
  register: app_va

- name: Status of every image of a repository
  icr.registry.cr_va_info:
    repository: us.icr.io/team/app
  register: repo_va

- name: Name the failing ones
  ansible.builtin.debug:
    msg: "{{ repo_va.images | selectattr('status', 'equalto', 'FAIL') | map(attribute='name') | list }}"
"""

RETURN = r"""
images:
  description: One entry per O(names) item in order, or per tagged image of the listing.
  returned: always
  type: list
  elements: dict
  sample:
    - name: us.icr.io/team/app:1.0
      status: FAIL
      vulnerability_count: 2
      exempt_vulnerability_count: 0
      issue_count: 2
      exempt_issue_count: 0
      scan_time: 1764185000
      active_cves: [CVE-2023-4911, CVE-2023-5363]
  contains:
    name: {description: The image (canonical domain)., type: str}
    status: {description: 'V(OK), V(WARN), V(FAIL), V(UNSUPPORTED), V(INCOMPLETE) or V(UNSCANNED).', type: str}
    vulnerability_count: {description: Vulnerabilities that are not exempt., type: int}
    exempt_vulnerability_count: {description: Exempt vulnerabilities., type: int}
    issue_count: {description: Issues (vulnerabilities and configuration issues) that are not exempt., type: int}
    exempt_issue_count: {description: Exempt issues., type: int}
    scan_time: {description: 'When VA last checked the image, in seconds since the epoch (0: not scanned).', type: int}
    active_cves:
      description: CVEs that are not exempt, when the report was read (O(full_report) or a O(fail_on) match).
      type: list
      elements: str
      returned: when the report was read
    report:
      description: VA's ScanReport (C(os_distribution), C(vulnerabilities), C(configuration_issues), ...).
      type: dict
      returned: with O(full_report=true), for scanned images
"""

import time

from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError
from ansible_collections.icr.registry.plugins.module_utils.icr_images import icr_reference, repository_name
from ansible_collections.icr.registry.plugins.module_utils.icr_module import IcrModule
from ansible_collections.icr.registry.plugins.module_utils.retry import backoff_delay
from ansible_collections.icr.registry.plugins.module_utils.va_api import STATUSES, is_not_scanned

COUNTS = ("vulnerability_count", "exempt_vulnerability_count", "issue_count", "exempt_issue_count")
CVES_IN_MESSAGE = 5
POLL_FIRST = 1.0
POLL_MAX = 15.0


def summary_entry(name, summary):
    entry = {"name": name, "status": summary.get("status") or "UNSCANNED", "scan_time": summary.get("scan_time") or 0}
    entry.update((count, summary.get(count) or 0) for count in COUNTS)
    return entry


def unscanned_entry(name):
    return summary_entry(name, {"status": "UNSCANNED"})


def active_cves(report):
    """IDs of the report's CVEs that are not (fully) exempt, in report order."""
    return [v.get("cve_id") for v in report.get("vulnerabilities") or [] if v.get("exempt_status") != "exempt"]


def failure_line(entry):
    cves = entry.get("active_cves") or []
    shown = ", ".join(cves[:CVES_IN_MESSAGE]) + (", ..." if len(cves) > CVES_IN_MESSAGE else "")
    return "%s is %s%s" % (entry["name"], entry["status"], " (%s)" % shown if shown else "")


class VaInfo:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.fail_on = set(self.params["fail_on"])      # the argspec's choices: STATUSES
        self.wait_timeout = module.number("wait_timeout", minimum=0, maximum=86400)
        self.names = [icr_reference(module, text) for text in self.params["names"]]
        self.repository = None
        if self.params["repository"]:
            if self.names:
                raise IcrError("repository and names are mutually exclusive: names are read one by one")
            ref, region = icr_reference(module, self.params["repository"], default_tag=None, what="repository")
            if ref.tag or ref.digest:
                raise IcrError("repository %s must not have a tag or digest" % self.params["repository"])
            self.repository = (repository_name(ref), region)

    def __call__(self):
        images = [self.read(ref, region) for ref, region in self.names] if self.names else self.listing()
        failing = [entry for entry in images if entry["status"] in self.fail_on]
        if failing:
            raise IcrError("Vulnerability Advisor: %s (fail_on: %s)" % (
                "; ".join(failure_line(entry) for entry in failing), ", ".join(self.params["fail_on"])))
        return dict(changed=False, images=images)

    def read(self, ref, region):
        va = self.module.va(region)
        name = str(ref)
        summary = self.status(va, name)
        if summary is None:
            return unscanned_entry(name)
        entry = summary_entry(name, summary)
        if self.params["full_report"] or entry["status"] in self.fail_on:
            report = va.image_report(name)
            entry["active_cves"] = active_cves(report)
            if self.params["full_report"]:
                entry["report"] = report
        return entry

    def status(self, va, name):
        """The image's summary; None when not scanned and not waited for."""
        deadline = time.monotonic() + self.wait_timeout
        attempt = 0
        while True:
            try:
                return va.image_status(name)
            except IcrError as err:
                if not is_not_scanned(err):
                    raise
                if not self.params["wait_for_scan"]:
                    return None
                left = deadline - time.monotonic()
                if left <= 0:
                    raise IcrError("%s has not been scanned by Vulnerability Advisor within %d s (VA scans tagged "
                                   "images only; does the image exist?)" % (name, self.wait_timeout),
                                   status=err.status, code=err.code, transaction_id=err.transaction_id)
                time.sleep(min(left, max(POLL_FIRST, backoff_delay(attempt, POLL_FIRST, POLL_MAX))))
                attempt += 1

    def listing(self):
        repository, region = self.repository or (None, None)
        va = self.module.va(region)
        images = [summary_entry(item.get("name"), item) for item in va.account_status(repository=repository)]
        if self.params["full_report"] or any(entry["status"] in self.fail_on for entry in images):
            reports = va.account_report(repository=repository)
            for entry in images:
                report = reports.get(entry["name"])
                if report is not None:
                    entry["active_cves"] = active_cves(report)
                    if self.params["full_report"]:
                        entry["report"] = report
        return sorted(images, key=lambda entry: entry["name"])


def main():
    module = IcrModule(
        argument_spec=dict(
            names=dict(type="list", elements="str", default=[]),
            repository=dict(type="str"),
            full_report=dict(type="bool", default=False),
            wait_for_scan=dict(type="bool", default=False),
            wait_timeout=dict(type="int", default=300),
            fail_on=dict(type="list", elements="str", default=[], choices=list(STATUSES)),
        ),
        supports_check_mode=True,
    )
    module.run(VaInfo)


if __name__ == "__main__":
    main()
