# -*- coding: utf-8 -*-
# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The base of every client of an IBM Cloud service SDK (``ibm_cloud_sdk_core`` services).

``SdkClient`` builds one region's SDK service object (account header, the session's IAM
authenticator, service URL, TLS and timeout settings) and runs each SDK call through the one
retry policy, mapping every failure to ``IcrError`` and refusing answers that are not JSON.
A client for another IBM service is a subclass naming its SDK class and its operations:

    class VaApi(SdkClient):
        service_class = VulnerabilityAdvisorV4

        def image_report(self, name):
            return self._call("Reading the VA report of %s" % name, "image_report", name=name)[0]
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib
import sys

from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError, MissingLibrary, one_line
from ansible_collections.icr.registry.plugins.module_utils.retry import RETRYABLE_STATUS, parse_retry_after

try:
    import requests
except ImportError:  # IBM's SDK needs it too: require_sdk reports it
    requests = None

SDK_REQUIREMENTS = "ibm-container-registry>=1.1.5 and ibm-cloud-sdk-core>=3.16"


def sdk_import(name, attribute=None):
    """Module ``name`` of IBM's SDK (or its ``attribute``), imported on first use: a task that calls
    no IBM service (a push signed in with an API key) does not pay for loading the SDK (a third of
    a module's start-up). A missing SDK raises MissingLibrary (Ansible's missing_required_lib)."""
    try:
        module = importlib.import_module(name)
        return getattr(module, attribute) if attribute else module
    except ImportError as exc:
        raise MissingLibrary(SDK_REQUIREMENTS, exc)


def require_sdk():
    """Raise MissingLibrary when IBM's SDK core cannot be imported."""
    sdk_import("ibm_cloud_sdk_core")


def _is_api_exception(exc):
    """Whether ``exc`` is the SDK's ApiException (only possible once the SDK is loaded)."""
    core = sys.modules.get("ibm_cloud_sdk_core")
    return core is not None and isinstance(exc, core.ApiException)


def _error_code(response):
    """The ICR message id from an error body (``errors[0].code`` or ``code``), if any."""
    try:
        body = response.json()
    except (AttributeError, ValueError):
        return None
    if not isinstance(body, dict):
        return None
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return errors[0].get("code")
    # IAM answers {"errorCode": "BXNIM0415E", "errorMessage": ...}
    return body.get("code") or body.get("errorCode")


def to_icr_error(what, exc):
    """Map an SDK or transport exception raised while doing ``what`` to an IcrError."""
    if isinstance(exc, IcrError):
        return exc
    if _is_api_exception(exc):
        response = exc.http_response
        headers = response.headers if response is not None else {}
        return IcrError(
            "%s failed: %s" % (what, exc.message or "no message"),
            status=exc.status_code,
            code=_error_code(response) if response is not None else None,
            transaction_id=exc.global_transaction_id,
            retry_after=parse_retry_after(headers.get("Retry-After")),
        )
    if isinstance(exc, ValueError):  # the SDK's own argument checks
        return IcrError("%s failed: %s" % (what, one_line(exc)))
    if requests is not None and isinstance(exc, requests.exceptions.Timeout):
        return IcrError("%s failed: timed out (%s)" % (what, one_line(exc)))
    if requests is not None and isinstance(exc, requests.exceptions.RequestException):
        return IcrError("%s failed: cannot reach the server (%s)" % (what, one_line(exc)))
    raise exc


def sdk_failure_is_transient(exc):
    """``should_retry`` for SDK calls: HTTP 429/5xx (with Retry-After) and connection errors."""
    if _is_api_exception(exc):
        if exc.status_code in RETRYABLE_STATUS:
            headers = exc.http_response.headers if exc.http_response is not None else {}
            return True, parse_retry_after(headers.get("Retry-After"))
        return False, None
    if requests is not None and isinstance(exc, (requests.exceptions.ConnectionError,
                                                 requests.exceptions.Timeout)):
        return True, None
    return False, None


def run_sdk_call(policy, what, func):
    """``func()`` (an SDK call) under ``policy``; any failure comes out as an IcrError."""
    try:
        return policy.call(func, sdk_failure_is_transient)
    except Exception as exc:  # noqa: B902 - to_icr_error re-raises what it does not know
        raise to_icr_error(what, exc)


class SdkClient:
    """One region's client of an IBM Cloud service. Methods return plain dicts/lists;
    failures raise IcrError. Subclasses set ``service_class`` (``(SDK module, class name)``,
    imported when the first client is built) and list in ``no_json_body`` the operations whose
    answer carries no JSON document (their result is never read)."""

    service_class = None
    no_json_body = frozenset()
    # For a refusal's message: the service's name, the role each operation needs (else default_role).
    service_name = None
    roles = {}
    default_role = None

    def __init__(self, session, url, service=None):
        self.session = session
        self.url = url
        self.policy = session.policy
        if service is None:
            service_class = sdk_import(*self.service_class)
            service = service_class(session.account_id, authenticator=session.authenticator)
            service.set_service_url(url)
            service.set_http_config(dict(session.http_config))
            service.set_disable_ssl_verification(not session.validate_certs)
        self.service = service

    def _run(self, what, func, operation=None):
        try:
            return run_sdk_call(self.policy, what, func)
        except IcrError as err:
            raise self._explain_refusal(what, err, operation)

    def _explain_refusal(self, what, err, operation=None):
        """The one mapping of a 401/403: ICR answers a key of another account than the Account
        header with a bare "Authorization required" (CRG0014E), so say which accounts disagree;
        a refusal for want of a role ("not authorized") names the role the operation needs and
        who lacks it. Any other error comes back as it is."""
        if err.status not in (401, 403):
            return err
        mismatch = self.session.account_mismatch()
        if mismatch:
            return IcrError("%s failed: %s" % (what, mismatch), status=err.status, code=err.code,
                            transaction_id=err.transaction_id)
        role = self.roles.get(operation, self.default_role) if operation else None
        if role and (err.status == 403 or "not authorized" in err.message.lower()):
            said = err.message.split(" failed: ", 1)[-1]
            return IcrError("%s failed: %s lacks the %s service role %s that this needs (the service said: %s)"
                            % (what, self.session.sign_in.describe(), self.service_name, role, said),
                            status=err.status, code=err.code, transaction_id=err.transaction_id)
        return err

    def _call(self, what, operation, **kwargs):
        """Run SDK method ``operation`` with retries; return ``(result, http_status)``."""
        method = getattr(self.service, operation)
        response = self._run(what, lambda: method(**kwargs), operation)
        result = response.get_result()
        if result is not None and not isinstance(result, (dict, list)) and operation not in self.no_json_body:
            # The SDK hands a non-JSON body through as is; callers would crash on it.
            content_type = (response.get_headers() or {}).get("Content-Type") or "no content type"
            raise IcrError("%s failed: the server answered %s instead of JSON (HTTP %d); is %s an "
                           "endpoint of this service?" % (what, content_type, response.get_status_code(),
                                                          self.url),
                           status=response.get_status_code())
        return result, response.get_status_code()
