# -*- coding: utf-8 -*-
# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""IcrContext: the shared options of every icr.registry plugin, turned into a region, its
endpoints, a way to sign in and the clients (management API, Vulnerability Advisor, /v2).

It knows nothing of ``AnsibleModule``: ``IcrModule`` (the module base) stands on it with the
module's params and ``no_log_values``, the ``image_digest`` lookup with its options and a set
of its own. So both reach a registry through one code path: one way to sign in
(``iam.sign_in_method``, ``IamSession``), one retry policy, one TLS rule, one registry-client
factory. Everything here raises ``IcrError``; each caller reports it its own way.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64

from ansible.module_utils.basic import env_fallback

from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError
from ansible_collections.icr.registry.plugins.module_utils.copy_engine import DEFAULT_PARALLEL, CopyEngine
from ansible_collections.icr.registry.plugins.module_utils.endpoints import (
    DEFAULT_REGION, Endpoints, get_region, registry_url, split_scheme)
from ansible_collections.icr.registry.plugins.module_utils.iam import AUTH_TYPES, ENV_NAMES, IamSession, sign_in_method
from ansible_collections.icr.registry.plugins.module_utils.icr_api import IcrApi
from ansible_collections.icr.registry.plugins.module_utils.interrupts import ensure_controller
from ansible_collections.icr.registry.plugins.module_utils.oci_registry import RegistryClient
from ansible_collections.icr.registry.plugins.module_utils.retry import RetryPolicy
from ansible_collections.icr.registry.plugins.module_utils.va_api import VaApi


def _env(option):
    """The env fallback of a sign-in option (names in iam.ENV_NAMES, shown in messages too)."""
    return (env_fallback, ENV_NAMES[option].split(" / "))


# The argspec twin of plugins/doc_fragments/icr.py (keep the two in step); the lookup plugins'
# fragment (icr.registry.icr.plugin_options) takes its environment variables from here.
ICR_COMMON_ARGS = dict(
    api_key=dict(type="str", no_log=True, fallback=_env("api_key")),
    auth_type=dict(type="str", choices=list(AUTH_TYPES), fallback=(env_fallback, ["IC_AUTH_TYPE"])),
    iam_token=dict(type="str", no_log=True, fallback=_env("iam_token")),
    trusted_profile_id=dict(type="str", fallback=_env("trusted_profile_id")),
    trusted_profile_name=dict(type="str", fallback=_env("trusted_profile_name")),
    trusted_profile_crn=dict(type="str", fallback=_env("trusted_profile_crn")),
    cr_token_file=dict(type="path", no_log=False, fallback=_env("cr_token_file")),
    vpc_metadata_url=dict(type="str", fallback=_env("vpc_metadata_url")),
    private_endpoints=dict(type="bool", fallback=(env_fallback, ["ICR_PRIVATE_ENDPOINTS"])),
    region=dict(type="str", default=DEFAULT_REGION, fallback=(env_fallback, ["IC_REGION", "IBMCLOUD_REGION"])),
    account_id=dict(type="str", fallback=(env_fallback, ["IC_ACCOUNT_ID"])),
    endpoints=dict(type="path", fallback=(env_fallback, ["ICR_ENDPOINTS"])),
    registry_host=dict(type="str", fallback=(env_fallback, ["ICR_REGISTRY_HOST"])),
    api_url=dict(type="str", fallback=(env_fallback, ["ICR_API_URL"])),
    iam_url=dict(type="str", fallback=(env_fallback, ["IC_IAM_URL"])),
    validate_certs=dict(type="bool", default=True),
    ca_path=dict(type="path", fallback=(env_fallback, ["ICR_CA_PATH"])),
    timeout=dict(type="int", default=60),
    retries=dict(type="int", default=5),
)

# The options that say how to sign in (iam.sign_in_method reads them).
SIGN_IN_INPUTS = ("api_key", "auth_type", "iam_token", "trusted_profile_id", "trusted_profile_name",
                  "trusted_profile_crn", "cr_token_file", "vpc_metadata_url")

# What the management API can store: it takes and reports numbers as int64.
INT64_MAX = 2 ** 63 - 1


def whole_number(name, value, minimum=0, maximum=INT64_MAX, also=None, unit=None):
    """``value`` if it is None or a whole number (of ``unit``) from ``minimum`` to ``maximum``, or a
    key of ``also`` (``{value: meaning}``, e.g. ``{-1: "unlimited"}``); else IcrError in one line."""
    also = also or {}
    integer = isinstance(value, int) and not isinstance(value, bool)  # YAML's true is no count
    if value is None or (integer and (minimum <= value <= maximum or value in also)):
        return value
    what = "a whole number of %s" % unit if unit else "a whole number"
    if maximum == INT64_MAX and not (integer and value > maximum):
        bounds = (", at least %d" if unit else " of at least %d") % minimum
    else:
        bounds = " from %d to %d" % (minimum, maximum)
    extra = "".join(", or %d (%s)" % item for item in sorted(also.items()))
    raise IcrError("%s must be %s%s%s; got %r" % (name, what, bounds, extra, value))


def env_names(spec):
    """The environment variables an option of ICR_COMMON_ARGS falls back to, in order."""
    fallback = spec.get("fallback")
    return list(fallback[1]) if fallback and fallback[0] is env_fallback else []


class IcrContext:
    """Options to clients, for a module (``IcrModule``) or a lookup.

    ``params``: every option of ``ICR_COMMON_ARGS``, already typed and defaulted (env included);
    ``no_log_values``: a set that receives every secret the run handles, for the caller to mask
    its output with. The constructor checks the options and raises IcrError, before any request.
    """

    def __init__(self, params, no_log_values):
        self.params = params
        self.no_log_values = no_log_values
        self._session = None
        self._sign_in = None
        self._apis = {}
        self._vas = {}
        self._registries = {}
        self.region = get_region(self.params["region"])
        if self.params["private_endpoints"]:
            self.region.as_private()  # a region without one fails here
        self.endpoints = Endpoints.load(self.params["endpoints"])
        self.number("timeout", minimum=1)
        self.number("retries")
        self._check_secrets()
        if any(self.params[option] for option in SIGN_IN_INPUTS):
            self._sign_in = sign_in_method(self.params)  # ambiguity fails here, before any request
            self.no_log(*self._sign_in.secrets())  # a token without its "Bearer " prefix too

    def number(self, option, minimum=0, maximum=INT64_MAX, also=None, unit=None):
        """The integer option ``option`` checked by ``whole_number`` (None when not set); call it
        before any request, so a bad number fails alone."""
        return whole_number(option, self.params[option], minimum, maximum, also, unit)

    def _check_secrets(self):
        for option, what in (("api_key", "an IBM Cloud API key"), ("iam_token", "an IAM access token")):
            value = self.params[option]
            if value is not None and not value.strip():
                # Not a secret, and Ansible would mask every space of every message with it.
                self.no_log_values.discard(value)
                raise IcrError("%s is blank: set it (or %s) to %s" % (option, ENV_NAMES[option], what))

    def no_log(self, *secrets):
        """Mask these values wherever they would appear in output."""
        for secret in secrets:
            if secret:
                self.no_log_values.add(secret)

    # -------------------------------------------------------------- endpoints

    def _region(self, region):
        """A Region from None (the module's), a Region or a region name; reached privately when
        ``private_endpoints`` is on or the Region came from a ``private.*`` reference."""
        if region is None:
            region = self.region
        elif not hasattr(region, "key"):
            region = get_region(region)
        return region.as_private() if self.params["private_endpoints"] else region

    def _override(self, option, region):
        """An explicit endpoint option applies to the module's own region only: asked for
        another region, it fails instead of being silently ignored."""
        region = self._region(region)
        explicit = self.params[option]
        if explicit and region.name != self.region.name:
            raise IcrError("%s %s applies to region %s (the region option) only, but region %s is needed too: set "
                           "region: %s, or map each region in an endpoints file (ICR_ENDPOINTS) instead"
                           % (option, explicit, self.region.name, region.name, region.name))
        return region, explicit

    def registry_host(self, region=None):
        """``host[:port]`` serving the region's /v2 (docker login key, auth scopes)."""
        region, explicit = self._override("registry_host", region)
        return split_scheme(explicit)[1] if explicit else self.endpoints.registry_host(region.name, region.private)

    def registry_url(self, region=None):
        """Base URL of the region's /v2 (http for loopback hosts unless a scheme is given)."""
        region, explicit = self._override("registry_host", region)
        return registry_url(explicit) if explicit else self.endpoints.registry_url(region.name, region.private)

    def api_url(self, region=None):
        region, explicit = self._override("api_url", region)
        return explicit.rstrip("/") if explicit else self.endpoints.api_url(region.name, region.private)

    @property
    def iam_url(self):
        return (self.params["iam_url"] or self.endpoints.iam_url).rstrip("/")

    # -------------------------------------------------------------- credentials and clients

    @property
    def sign_in(self):
        """How the run signs in (iam.SignIn), from the options; its secrets are masked."""
        if self._sign_in is None:
            self._sign_in = sign_in_method(self.params)
        self.no_log(*self._sign_in.secrets())
        return self._sign_in

    @property
    def api_key(self):
        """The API key, when the run signs in with one."""
        key = self.params["api_key"]
        if not key:
            raise IcrError("No API key: set api_key or the IC_API_KEY / IBMCLOUD_API_KEY environment variable")
        return key

    @property
    def retry_policy(self):
        """The one RetryPolicy of every client: ``retries`` and ``timeout`` from the options."""
        return RetryPolicy(retries=self.params["retries"], timeout=self.params["timeout"])

    @property
    def verify(self):
        """requests' TLS setting for every client: False, the ``ca_path`` bundle, or True."""
        if not self.params["validate_certs"]:
            return False
        return self.params["ca_path"] or True

    @property
    def session(self):
        """The run's IamSession (one IAM authenticator for every region), signing in the way
        ``sign_in`` says."""
        if self._session is None:
            self._session = IamSession(
                None, self.iam_url, account_id=self.params["account_id"], verify=self.verify,
                timeout=self.params["timeout"], policy=self.retry_policy, sign_in=self.sign_in)
        return self._session

    def iam_token(self):
        """A valid IAM access token, masked in all output."""
        token = self.session.token()
        self.no_log(token)
        return token

    def registry_credentials(self):
        """``(username, password)`` for ICR's /v2 and docker: ``iamapikey`` and the API key when
        the run signs in with one, else ``iambearer`` and a callable giving the current IAM token
        (renewed by the SDK before it expires, so a long copy keeps a valid one)."""
        if self.sign_in.uses_api_key:
            return "iamapikey", self.sign_in.api_key
        self.iam_token()  # an IAM failure is reported as one, before any registry request
        return "iambearer", self.iam_token

    @property
    def account_id(self):
        """``account_id`` option, else the ``account.bss`` claim of the IAM token."""
        if not self.params["account_id"]:
            self.iam_token()  # fetched through the masking path before the claim is read
        return self.session.account_id

    def _authenticate(self):
        # Get the token here, not inside the first SDK call: it is masked, and an IAM
        # failure is reported as one (not as a failure of whatever call came first).
        self.iam_token()
        return self.account_id

    def _service_client(self, clients, client_class, region):
        """One ``client_class`` (an SdkClient) per region and run, at the region's API address."""
        region = self._region(region)
        if region.key not in clients:
            url = self.api_url(region)  # a misplaced override fails before any request
            self._authenticate()
            clients[region.key] = client_class(self.session, url)
        return clients[region.key]

    def api(self, region=None):
        """The ICR management API client for ``region`` (default: the module's)."""
        return self._service_client(self._apis, IcrApi, region)

    def va(self, region=None):
        """The Vulnerability Advisor v4 client for ``region`` (default: the module's); its
        service URL is the region's API address."""
        return self._service_client(self._vas, VaApi, region)

    def registry(self, region=None, pool_size=8):
        """The /v2 client of ``region``'s registry (default: the module's), signed in as the run
        is (``registry_credentials``); one per region and run."""
        username, password = self.registry_credentials()
        return self.registry_client(self.registry_url(region), username, password, pool_size)

    def registry_client(self, url, username=None, password=None, pool_size=8):
        """A /v2 client for any registry, one per URL and user, with the module's TLS and retry
        settings; ``password`` (a string, or a callable that gives one per token request) is
        masked in all output."""
        key = (url, username)
        if key not in self._registries:
            if not callable(password):
                self.no_log(password)
            self._registries[key] = RegistryClient(url, username=username, password=password, verify=self.verify,
                                                   policy=self.retry_policy, pool_size=pool_size)
        return self._registries[key]

    def copy_engine(self, parallel=DEFAULT_PARALLEL, chunk_size=None, abort=None):
        """The copy engine, under the module's retry policy; it checks that the controller is
        still there before it writes a tag. ``abort``: an Event shared by copies run side by side."""
        return CopyEngine(parallel=parallel, chunk_size=chunk_size, policy=self.retry_policy,
                          before_tag=ensure_controller, abort=abort)

    def docker_auth(self, username=None, secret=None):
        """The Docker ``auths`` value for ``username:secret`` (default: ``registry_credentials``), masked."""
        if secret is None:
            username, secret = self.registry_credentials()
        secret = secret() if callable(secret) else secret
        auth = base64.b64encode(("%s:%s" % (username, secret)).encode("utf-8")).decode("ascii")
        self.no_log(auth)
        return auth
