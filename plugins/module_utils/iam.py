# -*- coding: utf-8 -*-
# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Signing in to IBM Cloud: the run's IAM session and what its access token says.

``IamSession`` owns the one SDK authenticator of a run (IAM is global: every region's and
every service's client shares it), its cached token and the account it belongs to.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json

from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError
from ansible_collections.icr.registry.plugins.module_utils.retry import RetryPolicy
from ansible_collections.icr.registry.plugins.module_utils.sdk_client import require_sdk, run_sdk_call

try:
    from ibm_cloud_sdk_core.authenticators import IAMAuthenticator
except ImportError:  # require_sdk reports it
    IAMAuthenticator = None


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


class IamSession:
    """The run's IAM identity: one authenticator, its cached token, the account it belongs to.

    ``verify`` is requests' TLS setting (True, False or a CA bundle path); every SDK client
    of the run takes it, with ``timeout``, from ``http_config``.
    """

    def __init__(self, api_key, iam_url, account_id=None, verify=True, timeout=60, policy=None):
        require_sdk()
        if not api_key:
            raise IcrError("No API key: set api_key or the IC_API_KEY / IBMCLOUD_API_KEY environment variable")
        self.iam_url = iam_url
        self.http_config = {"timeout": timeout, "verify": verify}
        self.validate_certs = verify is not False
        self.policy = policy or RetryPolicy(timeout=timeout)
        self.authenticator = IAMAuthenticator(api_key, url=iam_url,
                                              disable_ssl_verification=not self.validate_certs)
        self.authenticator.token_manager.http_config = self.http_config
        self._account_id = account_id

    def token(self):
        """A valid IAM access token (the SDK caches and refreshes it)."""
        return run_sdk_call(self.policy, "Getting an IAM token from %s" % self.iam_url, self._fetch_token)

    def _fetch_token(self):
        manager = self.authenticator.token_manager
        try:
            return manager.get_token()
        except Exception:
            # The SDK marks a fetch as in flight for 60 s and keeps the mark when the fetch
            # fails, so the next try would sleep a minute before asking IAM again.
            manager.request_time = 0
            raise

    def account_mismatch(self):
        """Why ICR refuses this session when ``account_id`` is not the API key's account (a
        stale IC_ACCOUNT_ID, say); None when they agree or the token cannot tell."""
        if not self._account_id:
            return None  # read from the token itself
        try:
            key_account = account_from_token(self.token())
        except IcrError:
            return None
        if key_account == self._account_id:
            return None
        return ("the API key belongs to account %s but account_id is %s (IC_ACCOUNT_ID?)"
                % (key_account, self._account_id))

    @property
    def account_id(self):
        if not self._account_id:
            self._account_id = account_from_token(self.token())
        return self._account_id
