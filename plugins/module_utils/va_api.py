# -*- coding: utf-8 -*-
# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Vulnerability Advisor v4 through IBM's SDK: one region's ``VulnerabilityAdvisorV4``.

The service URL is the region's API address (``module.api_url(region)``), as for the
management API. Retries, error mapping and the SDK plumbing come from ``SdkClient``.
Images are named ``<domain>/<namespace>/<repository>:<tag>`` or ``...@sha256:...``;
exemption resources are ``<namespace>``, ``<namespace>/<repository>``, ``...:<tag>`` or
``...@sha256:...`` (None: the whole account).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError
from ansible_collections.icr.registry.plugins.module_utils.sdk_client import SdkClient

NOT_SCANNED = "BXNVA0009E"
STATUSES = ("OK", "WARN", "FAIL", "UNSUPPORTED", "INCOMPLETE", "UNSCANNED")


def is_not_scanned(err):
    """Whether an IcrError is VA's "has not been scanned. Try again later" (BXNVA0009E)."""
    return isinstance(err, IcrError) and (err.code == NOT_SCANNED or (err.status == 404 and NOT_SCANNED in str(err)))


class VaApi(SdkClient):
    """One region's Vulnerability Advisor. Methods return plain dicts/lists; failures raise IcrError."""

    service_class = ("ibm_container_registry.vulnerability_advisor_v4", "VulnerabilityAdvisorV4")
    no_json_body = frozenset({"delete_exemption_account", "delete_exemption_resource"})

    # ------------------------------------------------------------------ reports

    def image_status(self, name):
        """ScanreportSummary of an image: ``{status, vulnerability_count, exempt_vulnerability_count, scan_time, ...}``;
        404 ``BXNVA0009E`` until it is scanned."""
        return self._call("Reading the VA status of %s" % name, "image_status_query_path", name=name)[0] or {}

    def image_report(self, name):
        """ScanReport of an image: ``{status, os_distribution, vulnerabilities, configuration_issues, scan_time, id}``."""
        return self._call("Reading the VA report of %s" % name, "image_report_query_path", name=name)[0] or {}

    def account_status(self, repository=None):
        """ScanreportImageSummary dicts of the account's tagged images (one per tag, ``name`` included)."""
        return (self._call("Reading the VA status of the account's images", "account_status_query_path",
                           repository=repository)[0] or {}).get("images") or []

    def account_report(self, repository=None):
        """``{image name: ScanReport}`` of the account's tagged images."""
        return (self._call("Reading the VA reports of the account's images", "account_report_query_path",
                           repository=repository)[0] or {}).get("assessments") or {}

    # ------------------------------------------------------------------ exemptions

    def exemption_types(self):
        """``[{identifier, display_name, validation_regex, ...}]``."""
        return self._call("Listing the VA exemption types", "exempt_handler")[0] or []

    def get_exemption(self, issue_type, issue_id, resource=None):
        """The Exemption dict, or None when there is none in that scope."""
        what = "Reading the VA exemption %s %s of %s" % (issue_type, issue_id, resource or "the account")
        try:
            if resource:
                return self._call(what, "get_exemption_resource", resource=resource, issue_type=issue_type,
                                  issue_id=issue_id)[0]
            return self._call(what, "get_exemption_account", issue_type=issue_type, issue_id=issue_id)[0]
        except IcrError as err:
            if err.status == 404:
                return None
            raise

    def create_exemption(self, issue_type, issue_id, resource=None):
        what = "Exempting %s %s for %s" % (issue_type, issue_id, resource or "the account")
        if resource:
            return self._call(what, "create_exemption_resource", resource=resource, issue_type=issue_type,
                              issue_id=issue_id)[0] or {}
        return self._call(what, "create_exemption_account", issue_type=issue_type, issue_id=issue_id)[0] or {}

    def delete_exemption(self, issue_type, issue_id, resource=None):
        what = "Removing the exemption of %s %s for %s" % (issue_type, issue_id, resource or "the account")
        if resource:
            self._call(what, "delete_exemption_resource", resource=resource, issue_type=issue_type, issue_id=issue_id)
        else:
            self._call(what, "delete_exemption_account", issue_type=issue_type, issue_id=issue_id)

    def list_exemptions(self, resource=None):
        """Exemptions made for ``resource`` (None: the account-wide ones)."""
        if resource:
            return self._call("Listing the VA exemptions of %s" % resource, "list_exemption_resource",
                              resource=resource)[0] or []
        return self._call("Listing the account's VA exemptions", "list_exemption_account")[0] or []

    def image_exemptions(self, resource):
        """Exemptions that apply to an image (every scope), with their scope."""
        return self._call("Listing the VA exemptions that apply to %s" % resource, "list_image_exemptions",
                          resource=resource, include_scope=True)[0] or []
