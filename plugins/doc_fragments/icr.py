# -*- coding: utf-8 -*-
# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Shared documentation of the icr.registry modules.

``icr.registry.icr``: the shared options (argspec twin: ``ICR_COMMON_ARGS`` in
``plugins/module_utils/icr_module.py``). ``icr.registry.icr.attributes``: the attribute
descriptions (a module states each ``support``). ``icr.registry.icr.actiongroup``: membership
of the ``icr.registry.icr`` action group. ``icr.registry.icr.info_module``: attributes of a
read-only module.
``icr.registry.icr.plugin_options``: the same shared options for controller plugins (the
``image_digest`` lookup), built below from ``DOCUMENTATION``, with the environment variables that
``ICR_COMMON_ARGS`` falls back to declared as ``env:`` entries (Ansible's plugin configuration
reads them from there); the option list stays defined once.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import yaml

from ansible_collections.icr.registry.plugins.module_utils.icr_context import ICR_COMMON_ARGS, env_names


class ModuleDocFragment(object):

    DOCUMENTATION = r"""
options:
  api_key:
    description:
      - IBM Cloud API key (of a user or a service ID) used to get IAM tokens (management API) and, as user
        V(iamapikey), to log in to the registry. With a trusted profile option, the key assumes that profile instead.
      - If not set, the environment variable E(IC_API_KEY) is used, then E(IBMCLOUD_API_KEY).
    type: str
  auth_type:
    description:
      - How to sign in. V(api_key) - O(api_key); V(iam_token) - O(iam_token) as is; V(trusted_profile) - assume a
        trusted profile with O(api_key); V(cr_token) - a trusted profile from a compute-resource token
        (O(cr_token_file)); V(vpc) - the VPC instance identity (O(vpc_metadata_url)).
      - If not set, inferred from the options (or environment variables) that are set; a combination that could mean
        two ways (for example O(api_key) and O(iam_token)) fails before any request. When set, the inputs of the
        other ways are ignored.
      - If not set, E(IC_AUTH_TYPE) is used.
      - Every way but V(api_key) logs in to the registry as V(iambearer) with the IAM access token, renewed before it
        expires (except a given O(iam_token)).
    type: str
    choices: [api_key, iam_token, trusted_profile, cr_token, vpc]
  iam_token:
    description:
      - An IAM access token, used as is (for example from C(ibmcloud iam oauth-tokens); a C(Bearer ) prefix is
        dropped). It cannot be renewed; an expired token fails in one line, read from its C(exp) claim.
      - If not set, E(IC_IAM_TOKEN) is used, then E(IBMCLOUD_IAM_TOKEN).
    type: str
  trusted_profile_id:
    description:
      - Id of the trusted profile to sign in as (C(Profile-...)), assumed with O(api_key), from O(cr_token_file), or
        by the VPC instance.
      - If not set, E(IC_IAM_PROFILE_ID) is used, then E(IBMCLOUD_IAM_PROFILE_ID).
    type: str
  trusted_profile_name:
    description:
      - Name of the trusted profile to sign in as; assumed with O(api_key) it needs O(account_id), the profile's
        account.
      - If not set, E(IC_IAM_PROFILE_NAME) is used, then E(IBMCLOUD_IAM_PROFILE_NAME).
    type: str
  trusted_profile_crn:
    description:
      - CRN of the trusted profile to sign in as (with O(api_key) or the VPC instance; not with O(cr_token_file)).
      - If not set, E(IC_IAM_PROFILE_CRN) is used, then E(IBMCLOUD_IAM_PROFILE_CRN).
    type: str
  cr_token_file:
    description:
      - File holding the compute-resource token of the workload (Kubernetes, Code Engine), exchanged for an IAM token
        of O(trusted_profile_id) or O(trusted_profile_name).
      - If not set, E(IC_CR_TOKEN_FILENAME) is used, then E(IBMCLOUD_CR_TOKEN_FILENAME); a trusted profile given
        without O(api_key) then uses the first of C(/var/run/secrets/tokens/vault-token),
        C(/var/run/secrets/tokens/sa-token) and
        C(/var/run/secrets/codeengine.cloud.ibm.com/compute-resource-token/token) that exists.
    type: path
  vpc_metadata_url:
    description:
      - Base URL of the VPC instance metadata service; setting it signs in as the VPC instance (its default trusted
        profile, or the one a trusted profile option names). With O(auth_type=vpc) it defaults to
        V(http://169.254.169.254).
      - If not set, E(IC_VPC_METADATA_URL) is used, then E(IBMCLOUD_VPC_METADATA_URL).
    type: str
  private_endpoints:
    description:
      - Reach every region over its private endpoint (C(private.<domain>), or the C(private_registry) and
        C(private_api_url) of the O(endpoints) file), for example from a VPC or Kubernetes cluster with no public
        network access.
      - References to C(private.*.icr.io) always go to the private endpoint, whatever this option says.
      - If not set, E(ICR_PRIVATE_ENDPOINTS) is used; default V(false).
    type: bool
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
      - 'Its C(regions) object maps a region name to C({"registry": "<host[:port]>", "api_url": "<url>"}), optionally
        with C(private_registry) and C(private_api_url) for its private endpoint; an optional top-level C(iam_url)
        replaces the public IAM endpoint. Regions not listed use the public endpoints.'
      - Use it for private endpoints (C(private.<domain>)) or a local sandbox, and for plays that span regions.
      - If not set, E(ICR_ENDPOINTS) is used.
    type: path
  registry_host:
    description:
      - Registry host (C(host[:port])) for the module's O(region), overriding the endpoints file and the public domain.
      - It applies to the module's O(region) only; a task that needs another region with it set fails.
      - The scheme is https, except plain http for loopback hosts; an explicit V(http://) or V(https://) prefix wins.
      - If not set, E(ICR_REGISTRY_HOST) is used.
    type: str
  api_url:
    description:
      - Base URL of the management API for the module's O(region) (default V(https://<domain>)).
      - It applies to the module's O(region) only; a task that needs another region with it set fails.
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
  - Ways to sign in and their options are listed in one table in the collection README, section "Signing in", with
    the IAM service role each module needs.
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


def _plugin_options(module_documentation):
    """The shared options for a controller plugin: ``module_documentation`` (the module fragment)
    with each option's environment variables as ``env:`` entries, and notes for plugins."""
    doc = yaml.safe_load(module_documentation)
    for name, option in doc["options"].items():
        env = env_names(ICR_COMMON_ARGS[name])
        if env:
            # Ansible's configuration takes the last variable set, a module's env_fallback the first.
            option["env"] = [{"name": variable} for variable in reversed(env)]
    doc["notes"] = [
        "The shared options are the modules' options (doc fragment C(icr.registry.icr)) and read the same environment "
        "variables. C(module_defaults), also of the group C(icr.registry.icr), does not reach a lookup (lookups run on "
        "the controller, outside any module); pass the options to the lookup, or set the environment variables.",
        "Endpoint resolution, for O(region), from highest priority - the O(registry_host), O(api_url) and O(iam_url) "
        "options (and their environment variables); the O(endpoints) file; the public endpoints.",
        "Ways to sign in and their options are listed in one table in the collection README, section \"Signing in\".",
    ]
    return yaml.safe_dump(doc, default_flow_style=False, sort_keys=False, width=1000)


ModuleDocFragment.PLUGIN_OPTIONS = _plugin_options(ModuleDocFragment.DOCUMENTATION)
