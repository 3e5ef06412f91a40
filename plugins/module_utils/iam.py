# -*- coding: utf-8 -*-
# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Signing in to IBM Cloud: how the run signs in, its IAM session and what its token says.

``sign_in_method`` picks the way of signing in from the shared options (``auth_type``, or
inferred from what is given; an ambiguous combination fails before any request).
``IamSession`` owns the one SDK authenticator of a run (IAM is global: every region's and
every service's client shares it), built in ``_authenticator`` and nowhere else, its cached
token and the account it belongs to.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import os
import time

from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError
from ansible_collections.icr.registry.plugins.module_utils.retry import RetryPolicy
from ansible_collections.icr.registry.plugins.module_utils.sdk_client import require_sdk, run_sdk_call, sdk_import

# The ways to sign in (option auth_type).
API_KEY, IAM_TOKEN, TRUSTED_PROFILE, CR_TOKEN, VPC = "api_key", "iam_token", "trusted_profile", "cr_token", "vpc"
AUTH_TYPES = (API_KEY, IAM_TOKEN, TRUSTED_PROFILE, CR_TOKEN, VPC)
PROFILE_OPTIONS = ("trusted_profile_id", "trusted_profile_name", "trusted_profile_crn")
# ContainerTokenManager's defaults, tried in this order when cr_token_file is not set.
DEFAULT_CR_TOKEN_FILES = ("/var/run/secrets/tokens/vault-token", "/var/run/secrets/tokens/sa-token",
                          "/var/run/secrets/codeengine.cloud.ibm.com/compute-resource-token/token")
DEFAULT_VPC_METADATA_URL = "http://169.254.169.254"
# What sets each input besides the task option (named in the messages).
ENV_NAMES = {
    "api_key": "IC_API_KEY / IBMCLOUD_API_KEY",
    "iam_token": "IC_IAM_TOKEN / IBMCLOUD_IAM_TOKEN",
    "trusted_profile_id": "IC_IAM_PROFILE_ID / IBMCLOUD_IAM_PROFILE_ID",
    "trusted_profile_name": "IC_IAM_PROFILE_NAME / IBMCLOUD_IAM_PROFILE_NAME",
    "trusted_profile_crn": "IC_IAM_PROFILE_CRN / IBMCLOUD_IAM_PROFILE_CRN",
    "cr_token_file": "IC_CR_TOKEN_FILENAME / IBMCLOUD_CR_TOKEN_FILENAME",
    "vpc_metadata_url": "IC_VPC_METADATA_URL / IBMCLOUD_VPC_METADATA_URL",
}


def _named(option):
    return "%s (%s)" % (option, ENV_NAMES[option]) if option in ENV_NAMES else option


def jwt_claims(token):
    """The payload of a JWT, decoded without verifying it (we only read our own token)."""
    try:
        payload = token.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        return json.loads(base64.urlsafe_b64decode(payload.encode("ascii")).decode("utf-8"))
    except (AttributeError, IndexError, ValueError, UnicodeError):
        raise IcrError("The IAM access token is not a readable JWT")


def account_from_token(token):
    """The account id of an IAM access token (claim ``account.bss``)."""
    account = (jwt_claims(token).get("account") or {}).get("bss")
    if not account:
        raise IcrError("The IAM access token carries no account (claim account.bss): set account_id")
    return account


def bare_token(text):
    """An IAM access token as ``ibmcloud iam oauth-tokens`` prints it, without ``Bearer ``."""
    text = (text or "").strip()
    return text[7:].strip() if text[:7].lower() == "bearer " else text


def token_expiry(token):
    """The ``exp`` claim (epoch seconds) of a JWT, or None."""
    try:
        exp = jwt_claims(token).get("exp")
    except IcrError:
        return None
    return exp if isinstance(exp, (int, float)) and not isinstance(exp, bool) else None


def check_not_expired(token, now=None):
    """IcrError in one line when the given IAM token is not a JWT or has expired."""
    jwt_claims(token)  # "not a readable JWT"
    exp = token_expiry(token)
    now = time.time() if now is None else now
    if exp is not None and exp <= now:
        raise IcrError("iam_token expired %s (at %s UTC): get a new one (ibmcloud iam oauth-tokens) or sign in "
                       "another way" % (_ago(now - exp), time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(exp))))


def _ago(seconds):
    seconds = int(seconds)
    if seconds < 120:
        return "%d seconds ago" % seconds
    if seconds < 7200:
        return "%d minutes ago" % (seconds // 60)
    return "%d hours ago" % (seconds // 3600)


class SignIn:
    """How the run signs in: ``auth_type`` and the inputs it uses (pure data, no request)."""

    def __init__(self, auth_type, api_key=None, iam_token=None, profile=None, cr_token_file=None,
                 vpc_metadata_url=None, account_id=None):
        self.auth_type = auth_type
        self.api_key = api_key
        self.iam_token = bare_token(iam_token) if iam_token else None
        self.profile = profile  # (option, value) or None
        self.cr_token_file = cr_token_file
        self.vpc_metadata_url = vpc_metadata_url
        self.account_id = account_id

    def secrets(self):
        return [s for s in (self.api_key, self.iam_token) if s]

    @property
    def uses_api_key(self):
        """The registry takes the API key itself (user ``iamapikey``) only when it is the identity."""
        return self.auth_type == API_KEY

    def describe(self):
        """Who signs in, for messages: ``trusted profile sandbox-reader (assumed with the API key)``."""
        profile = "trusted profile %s" % self.profile[1] if self.profile else None
        if self.auth_type == API_KEY:
            return "the API key"
        if self.auth_type == IAM_TOKEN:
            return "the IAM token"
        if self.auth_type == TRUSTED_PROFILE:
            return "%s (assumed with the API key)" % profile
        if self.auth_type == CR_TOKEN:
            return "%s (compute-resource token %s)" % (profile, self.cr_token_file or "default file")
        return "the VPC instance identity%s" % (" as %s" % profile if profile else "")


def _profile(params):
    given = [name for name in PROFILE_OPTIONS if params.get(name)]
    if len(given) > 1:
        raise IcrError("Sign-in is ambiguous: %s each name a trusted profile; set only one"
                       % " and ".join(_named(name) for name in given))
    return (given[0], params[given[0]]) if given else None


def _inferred(params, profile, exists):
    candidates = []
    if params.get("iam_token"):
        candidates.append((IAM_TOKEN, "iam_token"))
    if params.get("vpc_metadata_url"):
        candidates.append((VPC, "vpc_metadata_url"))
    if params.get("cr_token_file"):
        candidates.append((CR_TOKEN, "cr_token_file"))
    if params.get("api_key"):
        candidates.append((TRUSTED_PROFILE if profile else API_KEY, "api_key"))
    if len(candidates) > 1:
        raise IcrError("Sign-in is ambiguous: %s are all set; set auth_type (one of %s) or leave all but one out"
                       % (" and ".join(_named(option) for _type, option in candidates), ", ".join(AUTH_TYPES)))
    if candidates:
        return candidates[0][0]
    if profile and any(exists(path) for path in DEFAULT_CR_TOKEN_FILES):
        return CR_TOKEN
    if profile:
        raise IcrError("%s needs a way to sign in as it: api_key (to assume it), cr_token_file (a compute resource), "
                       "or auth_type: vpc" % _named(profile[0]))
    raise IcrError("No credentials: set api_key (IC_API_KEY / IBMCLOUD_API_KEY), iam_token, a trusted profile with "
                   "api_key or cr_token_file, or auth_type: vpc")


def sign_in_method(params, exists=os.path.exists):
    """The SignIn that ``params`` (the module's options) ask for; IcrError in one line, before any
    request, when they are ambiguous or incomplete. ``auth_type`` picks explicitly (the inputs of
    other ways are then ignored); without it the way is inferred from what is set."""
    profile = _profile(params)
    auth_type = params.get("auth_type") or _inferred(params, profile, exists)
    needs = {API_KEY: ("api_key",), TRUSTED_PROFILE: ("api_key",), IAM_TOKEN: ("iam_token",)}.get(auth_type, ())
    for option in needs:
        if not params.get(option):
            raise IcrError("auth_type %s needs %s" % (auth_type, _named(option)))
    if auth_type in (API_KEY, IAM_TOKEN):
        if profile and not params.get("auth_type"):
            raise IcrError("Sign-in is ambiguous: %s cannot be used with %s; set auth_type"
                           % (_named(profile[0]), _named("iam_token" if auth_type == IAM_TOKEN else "api_key")))
        profile = None
    elif auth_type in (TRUSTED_PROFILE, CR_TOKEN) and not profile:
        raise IcrError("auth_type %s needs a trusted profile: trusted_profile_id, trusted_profile_name or "
                       "trusted_profile_crn" % auth_type)
    if auth_type == CR_TOKEN and profile[0] == "trusted_profile_crn":
        raise IcrError("auth_type cr_token takes trusted_profile_id or trusted_profile_name, not trusted_profile_crn "
                       "(IAM's cr-token grant has no CRN field)")
    if auth_type == TRUSTED_PROFILE and profile[0] == "trusted_profile_name" and not params.get("account_id"):
        raise IcrError("trusted_profile_name needs account_id (IC_ACCOUNT_ID): the account of the profile")
    method = SignIn(auth_type, profile=profile, account_id=params.get("account_id"),
                    api_key=params.get("api_key") if auth_type in (API_KEY, TRUSTED_PROFILE) else None,
                    iam_token=params.get("iam_token") if auth_type == IAM_TOKEN else None,
                    cr_token_file=params.get("cr_token_file") if auth_type == CR_TOKEN else None,
                    vpc_metadata_url=(params.get("vpc_metadata_url") or DEFAULT_VPC_METADATA_URL)
                    if auth_type == VPC else None)
    if auth_type == IAM_TOKEN:
        check_not_expired(method.iam_token)
    return method


class IamSession:
    """The run's IAM identity: one authenticator, its cached token, the account it belongs to.

    ``verify`` is requests' TLS setting (True, False or a CA bundle path); every SDK client
    of the run takes it, with ``timeout``, from ``http_config``. ``sign_in`` (a SignIn) says how
    to sign in; without it, with ``api_key``.
    """

    def __init__(self, api_key, iam_url, account_id=None, verify=True, timeout=60, policy=None, sign_in=None):
        require_sdk()
        if sign_in is None:
            if not api_key:
                raise IcrError("No API key: set api_key or the IC_API_KEY / IBMCLOUD_API_KEY environment variable")
            sign_in = SignIn(API_KEY, api_key=api_key)
        self.sign_in = sign_in
        self.iam_url = iam_url
        self.http_config = {"timeout": timeout, "verify": verify}
        self.validate_certs = verify is not False
        self.policy = policy or RetryPolicy(timeout=timeout)
        self.authenticator = self._authenticator()
        self._account_id = account_id

    def _authenticator(self):
        """The one place that builds the SDK authenticator of a way to sign in."""
        authenticators = sdk_import("ibm_cloud_sdk_core.authenticators")  # loaded with the first session
        way, tls = self.sign_in, {"disable_ssl_verification": not self.validate_certs}
        profile = {"iam_profile_" + way.profile[0][len("trusted_profile_"):]: way.profile[1]} if way.profile else {}
        if way.auth_type == IAM_TOKEN:
            return authenticators.BearerTokenAuthenticator(way.iam_token)
        if way.auth_type == API_KEY:
            authenticator = authenticators.IAMAuthenticator(way.api_key, url=self.iam_url, **tls)
        elif way.auth_type == TRUSTED_PROFILE:
            account = {"iam_account_id": way.account_id} if "iam_profile_name" in profile else {}
            authenticator = authenticators.IAMAssumeAuthenticator(way.api_key, url=self.iam_url,
                                                                  **dict(tls, **dict(profile, **account)))
            authenticator.token_manager.iam_delegate.http_config = self.http_config
        elif way.auth_type == CR_TOKEN:
            authenticator = authenticators.ContainerAuthenticator(cr_token_filename=way.cr_token_file,
                                                                  url=self.iam_url, **dict(tls, **profile))
        else:
            authenticator = authenticators.VPCInstanceAuthenticator(url=way.vpc_metadata_url.rstrip("/"), **profile)
        authenticator.token_manager.http_config = self.http_config
        return authenticator

    @property
    def where(self):
        """Where tokens come from, for messages."""
        return self.sign_in.vpc_metadata_url if self.sign_in.auth_type == VPC else self.iam_url

    def token(self):
        """A valid IAM access token (the SDK caches and refreshes it)."""
        if self.sign_in.auth_type == IAM_TOKEN:
            check_not_expired(self.sign_in.iam_token)  # a long run may outlive it
            return self.sign_in.iam_token
        who = "" if self.sign_in.auth_type == API_KEY else " as %s" % self.sign_in.describe()
        return run_sdk_call(self.policy, "Getting an IAM token%s from %s" % (who, self.where), self._fetch_token)

    def _fetch_token(self):
        manager = self.authenticator.token_manager
        try:
            return manager.get_token()
        except Exception:
            # The SDK marks a fetch as in flight for 60 s and keeps the mark when the fetch
            # fails, so the next try would sleep a minute before asking IAM again.
            manager.request_time = 0
            delegate = getattr(manager, "iam_delegate", None)
            if delegate is not None:
                delegate.request_time = 0
            raise

    def token_expiry(self):
        """Epoch seconds at which the current token expires, or None."""
        return token_expiry(self.token())

    def account_mismatch(self):
        """Why ICR refuses this session when ``account_id`` is not the identity's account (a
        stale IC_ACCOUNT_ID, say); None when they agree or the token cannot tell."""
        if not self._account_id:
            return None  # read from the token itself
        try:
            key_account = account_from_token(self.token())
        except IcrError:
            return None
        if key_account == self._account_id:
            return None
        return ("%s belongs to account %s but account_id is %s (IC_ACCOUNT_ID?)"
                % (self.sign_in.describe(), key_account, self._account_id))

    @property
    def account_id(self):
        if not self._account_id:
            self._account_id = account_from_token(self.token())
        return self._account_id
