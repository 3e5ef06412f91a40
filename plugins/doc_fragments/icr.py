# -*- coding: utf-8 -*-
# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Shared documentation of the icr.registry modules.

``icr.registry.icr``: the shared options (argspec twin: ``ICR_COMMON_ARGS`` in
``plugins/module_utils/icr_module.py``). ``icr.registry.icr.attributes``: the attribute
descriptions (a module states each ``support``). ``icr.registry.icr.actiongroup``: membership
of the ``icr.registry.icr`` action group. ``icr.registry.icr.info_module``: attributes of a
read-only module.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r"""
options:
  api_key:
    description:
      - IBM Cloud API key used to get IAM tokens (management API) and, as user V(iamapikey), to log in to the registry.
      - If not set, the environment variable E(IC_API_KEY) is used, then E(IBMCLOUD_API_KEY).
    type: str
  region:
    description:
      - ICR region to work in, for example V(us-south), V(eu-de), V(global).
      - Former names are accepted (V(uk-south), V(eu-central), V(ap-north), V(ap-south)).
      - If not set, E(IC_REGION) or E(IBMCLOUD_REGION) is used.
    type: str
    default: us-south
  account_id:
    description:
      - IBM Cloud account id sent with every management API call.
      - If not set, E(IC_ACCOUNT_ID) is used; otherwise it is read from the C(account.bss) claim of the IAM token.
    type: str
  endpoints:
    description:
      - Path of an endpoints file (JSON) mapping each region to the addresses that serve it.
      - 'Its C(regions) object maps a region name to C({"registry": "<host[:port]>", "api_url": "<url>"}); an optional
        top-level C(iam_url) replaces the public IAM endpoint. Regions not listed use the public endpoints.'
      - Use it for private endpoints (C(private.<domain>)) or a local sandbox, and for plays that span regions.
      - If not set, E(ICR_ENDPOINTS) is used.
    type: path
  registry_host:
    description:
      - Registry host (C(host[:port])) for the module's O(region), overriding the endpoints file and the public domain.
      - The scheme is https, except plain http for loopback hosts; an explicit V(http://) or V(https://) prefix wins.
      - If not set, E(ICR_REGISTRY_HOST) is used.
    type: str
  api_url:
    description:
      - Base URL of the management API for the module's O(region) (default V(https://<domain>)).
      - If not set, E(ICR_API_URL) is used.
    type: str
  iam_url:
    description:
      - Base URL of IAM; tokens are requested from C(<iam_url>/identity/token).
      - If not set, E(IC_IAM_URL) is used, then the endpoints file, then V(https://iam.cloud.ibm.com).
    type: str
  validate_certs:
    description:
      - Verify TLS certificates of IAM, the management API and the registry.
    type: bool
    default: true
  ca_path:
    description:
      - CA bundle used to verify TLS certificates.
      - If not set, E(ICR_CA_PATH) is used.
    type: path
  timeout:
    description:
      - Seconds to wait for each request; no retry starts later than this after the first try.
      - A blob transfer counts from the start of its last try, so a long upload that breaks late is still retried.
    type: int
    default: 60
  retries:
    description:
      - How many times to retry a request that failed with HTTP 429, a 5xx status or a connection error.
      - Waits honour C(Retry-After), otherwise grow exponentially with jitter.
    type: int
    default: 5
requirements:
  - ibm-container-registry >= 1.1.5
  - ibm-cloud-sdk-core >= 3.16
notes:
  - Endpoint resolution, for the module's region, from highest priority - the O(registry_host), O(api_url) and
    O(iam_url) options (and their environment variables); the O(endpoints) file; the public endpoints.
"""

    ATTRIBUTES = r"""
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
  idempotent:
    description:
      - When run twice in a row outside check mode, with the same arguments, the second invocation indicates no change.
"""

    ACTIONGROUP = r"""
attributes:
  action_group:
    description: Use C(group/icr.registry.icr) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - icr.registry.icr
"""

    INFO_MODULE = r"""
attributes:
  check_mode:
    support: full
    details:
      - This action does not modify state.
  diff_mode:
    support: N/A
    details:
      - This action does not modify state.
  idempotent:
    support: full
    details:
      - This action does not modify state.
"""
