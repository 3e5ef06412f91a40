# -*- coding: utf-8 -*-
# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The ICR management API (``/api/v1``) through IBM's SDK, and the IAM session behind it.

``IamSession`` owns the one ``IAMAuthenticator`` of a run (IAM is global: every region's
client shares it). ``IcrApi`` is one region's ``ContainerRegistryV1``. Every SDK call goes
through ``_call``: the one retry policy (429/5xx/connection errors, Retry-After) and the
mapping of every failure to ``IcrError``. To add an operation, add a three-line method that
calls ``self._call("<what is being done>", "<sdk method>", **kwargs)``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import time

from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError, MissingLibrary, one_line
from ansible_collections.icr.registry.plugins.module_utils.retry import (
    RETRYABLE_STATUS, parse_retry_after, retry_call)

try:
    import requests
    from ibm_cloud_sdk_core import ApiException
    from ibm_cloud_sdk_core.authenticators import IAMAuthenticator
    from ibm_container_registry.container_registry_v1 import ContainerRegistryV1
    SDK_IMPORT_ERROR = None
except ImportError as exc:  # reported by the module base as a missing requirement
    SDK_IMPORT_ERROR = exc
    ApiException = IAMAuthenticator = ContainerRegistryV1 = requests = None

SDK_REQUIREMENTS = "ibm-container-registry>=1.1.5 and ibm-cloud-sdk-core>=3.16"


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
    if ApiException is not None and isinstance(exc, ApiException):
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


def is_retryable(exc):
    """``should_retry`` for ``retry_call``: 429/5xx and connection errors, with Retry-After."""
    if ApiException is not None and isinstance(exc, ApiException):
        if exc.status_code in RETRYABLE_STATUS:
            headers = exc.http_response.headers if exc.http_response is not None else {}
            return True, parse_retry_after(headers.get("Retry-After"))
        return False, None
    if requests is not None and isinstance(exc, (requests.exceptions.ConnectionError,
                                                 requests.exceptions.Timeout)):
        return True, None
    return False, None


class RetryPolicy:
    """How hard to try: ``retries`` more tries, none started after ``timeout`` seconds."""

    def __init__(self, retries=5, timeout=60, sleep=time.sleep, clock=time.monotonic):
        self.retries = retries
        self.timeout = timeout
        self.sleep = sleep
        self.clock = clock

    def run(self, what, func):
        try:
            return retry_call(func, retries=self.retries, should_retry=is_retryable,
                              deadline=self.clock() + self.timeout, sleep=self.sleep, clock=self.clock)
        except Exception as exc:  # noqa: B902 - to_icr_error re-raises what it does not know
            raise to_icr_error(what, exc)


def _http_config(timeout, validate_certs, ca_path):
    # requests' verify: a CA bundle path, or a bool.
    return {"timeout": timeout, "verify": ca_path if (validate_certs and ca_path) else bool(validate_certs)}


# Operations whose answer carries no JSON document (the API documents "none"); their
# result is never read, so whatever body they get is ignored.
NO_JSON_BODY = frozenset({"tag_image", "restore_image", "delete_namespace", "set_retention_policy",
                          "update_quota", "update_auth", "update_settings"})


class IamSession:
    """The run's IAM identity: one authenticator, its cached token, the account it belongs to."""

    def __init__(self, api_key, iam_url, account_id=None, validate_certs=True, ca_path=None,
                 timeout=60, policy=None):
        if SDK_IMPORT_ERROR is not None:
            raise MissingLibrary(SDK_REQUIREMENTS, SDK_IMPORT_ERROR)
        if not api_key:
            raise IcrError("No API key: set api_key or the IC_API_KEY / IBMCLOUD_API_KEY environment variable")
        self.iam_url = iam_url
        self.http_config = _http_config(timeout, validate_certs, ca_path)
        self.validate_certs = validate_certs
        self.policy = policy or RetryPolicy(timeout=timeout)
        self.authenticator = IAMAuthenticator(api_key, url=iam_url,
                                              disable_ssl_verification=not validate_certs)
        self.authenticator.token_manager.http_config = self.http_config
        self._account_id = account_id

    def token(self):
        """A valid IAM access token (the SDK caches and refreshes it)."""
        return self.policy.run("Getting an IAM token from %s" % self.iam_url, self._fetch_token)

    def _fetch_token(self):
        manager = self.authenticator.token_manager
        try:
            return manager.get_token()
        except Exception:
            # The SDK marks a fetch as in flight for 60 s and keeps the mark when the fetch
            # fails, so the next try would sleep a minute before asking IAM again.
            manager.request_time = 0
            raise

    @property
    def account_id(self):
        if not self._account_id:
            self._account_id = account_from_token(self.token())
        return self._account_id


class IcrApi:
    """One region's ICR management API. Methods return plain dicts/lists; failures raise IcrError."""

    def __init__(self, session, api_url, service=None):
        self.session = session
        self.api_url = api_url
        self.policy = session.policy
        if service is None:
            service = ContainerRegistryV1(session.account_id, authenticator=session.authenticator)
            service.set_service_url(api_url)
            service.set_http_config(dict(session.http_config))
            service.set_disable_ssl_verification(not session.validate_certs)
        self.service = service

    def _call(self, what, operation, **kwargs):
        """Run SDK method ``operation`` with retries; return ``(result, http_status)``."""
        method = getattr(self.service, operation)
        response = self.policy.run(what, lambda: method(**kwargs))
        result = response.get_result()
        if result is not None and not isinstance(result, (dict, list)) and operation not in NO_JSON_BODY:
            # The SDK hands a non-JSON body through as is; callers would crash on it.
            content_type = (response.get_headers() or {}).get("Content-Type") or "no content type"
            raise IcrError("%s failed: the server answered %s instead of JSON (HTTP %d); is api_url an "
                           "ICR API endpoint?" % (what, content_type, response.get_status_code()),
                           status=response.get_status_code())
        return result, response.get_status_code()

    # ------------------------------------------------------------------ namespaces

    def list_namespaces(self):
        """Names of the account's namespaces in this region."""
        return self._call("Listing namespaces", "list_namespaces")[0] or []

    def list_namespace_details(self):
        """``[{name, resource_group, crn, account, created_date, updated_date, ...}]``."""
        return self._call("Listing namespace details", "list_namespace_details")[0] or []

    def get_namespace(self, name):
        """The details of namespace ``name``, or None when the account has no such namespace."""
        for details in self.list_namespace_details():
            if details.get("name") == name:
                return details
        return None

    def create_namespace(self, name, resource_group_id=None):
        return self._call("Creating namespace %s" % name, "create_namespace",
                          name=name, x_auth_resource_group=resource_group_id)[0]

    def assign_namespace(self, name, resource_group_id):
        return self._call("Assigning namespace %s to resource group %s" % (name, resource_group_id),
                          "assign_namespace", name=name, x_auth_resource_group=resource_group_id)[0]

    def delete_namespace(self, name):
        self._call("Deleting namespace %s" % name, "delete_namespace", name=name)

    # ------------------------------------------------------------------ digests

    def list_image_digests(self, repositories=None, exclude_tagged=False):
        """``[{id, created, manifestType, size, repoTags: {<domain>/<ns>/<repo>: {tag: VA}}}]``, tagged
        and untagged; ``repositories`` (with domain) narrows it. A read-only POST; no VA data."""
        return self._call("Listing image digests", "list_image_digests", repositories=repositories,
                          exclude_tagged=exclude_tagged, exclude_va=True)[0] or []

    # ------------------------------------------------------------------ images and tags
    # References are full ``<domain>/<ns>/<repo>:<tag>`` or ``...@sha256:...`` (canonical domain).

    def list_images(self, namespace=None, repository=None, include_manifest_lists=False):
        """Tagged images as RemoteAPIImage dicts (``Id``, ``RepoTags``, ``RepoDigests``, ``Size``...); no VA data."""
        return self._call("Listing images", "list_images", namespace=namespace, repository=repository,
                          include_manifest_lists=include_manifest_lists, vulnerabilities=False)[0] or []

    def inspect_image(self, reference):
        """ImageInspection of a tag or digest (``Id``, ``Config``, ``RootFS``, ``Size``, ``Created``...)."""
        return self._call("Inspecting image %s" % reference, "inspect_image", image=reference)[0] or {}

    def get_image_manifest(self, reference):
        """``(raw manifest text, media type)`` of a tag or digest, bytes as ICR serves them."""
        response = self.policy.run("Reading the manifest of %s" % reference,
                                   lambda: self.service.get_image_manifest(image=reference, stream=True))
        raw = response.get_result()
        media_type = (response.get_headers() or {}).get("Content-Type", "").split(";")[0].strip()
        return raw.content.decode("utf-8"), media_type

    def tag_image(self, source, target):
        """Point tag ``target`` at the image ``source`` (same region; another repository is allowed)."""
        self._call("Tagging %s as %s" % (source, target), "tag_image", fromimage=source, toimage=target)

    def delete_image(self, reference):
        """image-rm: the digest of ``reference`` and every tag on it in that repository go to the trash."""
        return self._call("Deleting image %s" % reference, "delete_image", image=reference)[0] or {}

    def untag_image(self, reference):
        """image-untag: remove tag ``reference`` only; the digest and its other tags stay."""
        return self._call("Removing tag %s" % reference, "delete_image_tag", image=reference)[0] or {}

    def bulk_delete_images(self, references):
        """Delete many digest references in one call: ``{success: [refs], error: {ref: {code, message}}}``."""
        return self._call("Deleting %d images" % len(references), "bulk_delete_images",
                          bulk_delete=list(references))[0] or {}

    # ------------------------------------------------------------------ retention policies

    def get_retention_policy(self, namespace):
        """``{namespace, images_per_repo, retain_untagged}``; ``images_per_repo`` -1 keeps all."""
        return self._call("Reading the retention policy of namespace %s" % namespace,
                          "get_retention_policy", namespace=namespace)[0] or {}

    def analyze_retention_policy(self, namespace, images_per_repo, retain_untagged):
        """``{repository: [image refs]}`` the policy would delete now (read-only)."""
        return self._call("Analyzing a retention policy for namespace %s" % namespace,
                          "analyze_retention_policy", namespace=namespace,
                          images_per_repo=images_per_repo, retain_untagged=retain_untagged)[0] or {}

    def set_retention_policy(self, namespace, images_per_repo, retain_untagged):
        """Set the policy; ICR runs it straight away (deleted images go to the trash)."""
        self._call("Setting the retention policy of namespace %s" % namespace,
                   "set_retention_policy", namespace=namespace,
                   images_per_repo=images_per_repo, retain_untagged=retain_untagged)

    # ------------------------------------------------------------------ trash

    def list_trash(self, namespace=None):
        """Trashed images sorted by reference, as :func:`trash_entry` dicts."""
        raw = self._call("Listing the trash", "list_deleted_images", namespace=namespace)[0] or {}
        return [trash_entry(reference, item) for reference, item in sorted(raw.items())]

    def restore_tag(self, reference):
        """Restore ``<domain>/<ns>/<repo>:<tag>``; 404 when not trashed, 409 CRT0500E when the tag is live."""
        self._call("Restoring %s from the trash" % reference, "restore_image", image=reference)

    def restore_digest(self, reference):
        """Restore ``<domain>/<ns>/<repo>@sha256:...`` and its tags: ``{successful, unsuccessful}`` tag lists."""
        return self._call("Restoring %s from the trash" % reference, "restore_tags", digest=reference)[0] or {}

    # ------------------------------------------------------------------ quota, plan, account options

    def get_quota(self):
        """``{limit: {storage_bytes, traffic_bytes}, usage: {...}}`` in bytes; -1 is unlimited."""
        return self._call("Reading the quotas", "get_quota")[0] or {}

    def update_quota(self, storage_megabytes=None, traffic_megabytes=None):
        """Set limits in megabytes of 1,048,576 bytes (ICR's unit for setting); None leaves one as is."""
        self._call("Setting the quotas", "update_quota",
                   storage_megabytes=storage_megabytes, traffic_megabytes=traffic_megabytes)

    def get_plan(self):
        """The plan name (``Free``, ``Standard``)."""
        return (self._call("Reading the plan", "get_plans")[0] or {}).get("plan")

    def get_auth_options(self):
        """``{iam_authz, private_only}``."""
        return self._call("Reading the authorization options", "get_auth")[0] or {}

    def update_auth_options(self, iam_authz=None, private_only=None):
        self._call("Updating the authorization options", "update_auth",
                   iam_authz=iam_authz, private_only=private_only)

    def get_settings(self):
        """``{platform_metrics}``."""
        return self._call("Reading the account settings", "get_settings")[0] or {}

    def update_settings(self, platform_metrics=None):
        self._call("Updating the account settings", "update_settings", platform_metrics=platform_metrics)


def _tag_name(tag):
    """A trash tag as a bare tag name, whether ICR gives ``1.0`` or ``us.icr.io/ns/repo:1.0``."""
    return tag.rsplit("/", 1)[-1].rsplit(":", 1)[-1]


def trash_entry(reference, item):
    """One ``GET /trash`` entry (``<domain>/<ns>/<repo>@sha256:...`` -> Trash) as a flat dict:
    ``{reference, repository, namespace, digest, tags (bare names, sorted), days_until_expiry}``."""
    item = item or {}
    repository, digest = reference.partition("@")[::2]
    path = repository.split("/")
    return {
        "reference": reference,
        "repository": repository,
        "namespace": path[1] if len(path) > 2 else path[0],
        "digest": digest,
        "tags": sorted(_tag_name(tag) for tag in item.get("tags") or []),
        "days_until_expiry": item.get("daysUntilExpiry"),
    }
