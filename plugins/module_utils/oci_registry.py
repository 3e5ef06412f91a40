# -*- coding: utf-8 -*-
# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The collection's only client of the OCI distribution API (``/v2``).

One ``RegistryClient`` per registry host. It answers the registry's auth challenge
(anonymous, Basic, or the Bearer token flow), caches one token per set of scopes,
retries idempotent requests through the one retry policy, and keeps manifest bytes exactly
as served so that digests survive a copy. Blob bodies are never read into memory: a
blob GET returns a streaming response and an upload takes any iterable of chunks.

Each request is retried by one layer only: by this client, or (``retry=False``) by a caller
that retries a larger unit, as the copy engine retries a whole blob transfer.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import re
import threading
import time

try:
    import requests
    from requests.adapters import HTTPAdapter
    REQUESTS_IMPORT_ERROR = None
except ImportError as exc:  # reported by the module base through missing_required_lib
    REQUESTS_IMPORT_ERROR = exc

from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError, MissingLibrary, one_line
from ansible_collections.icr.registry.plugins.module_utils.endpoints import registry_url
from ansible_collections.icr.registry.plugins.module_utils.oci_manifest import (
    DIGEST_RE, MANIFEST_ACCEPT, OCI_INDEX, Manifest)
from ansible_collections.icr.registry.plugins.module_utils.retry import (
    RETRYABLE_STATUS, RetryPolicy, backoff_delay, parse_retry_after)

# docker-registry 2.8 rewrites a repository's link to a blob in place (truncate, then write)
# whenever a client commits or mounts that blob again; a manifest PUT that reads the link in
# between is refused as if the blob were bad or missing. Concurrent copies of one image to one
# repository hit it, and ICR can answer the same. We PUT a manifest only after every blob it
# references is committed or seen, so such a refusal is the race: retried briefly, a few times.
LINK_RACE_CODES = frozenset({"DIGEST_INVALID", "MANIFEST_BLOB_UNKNOWN"})
LINK_RACE_RETRIES = 3
LINK_RACE_BASE_DELAY = 0.25  # seconds; the registry's window lasts milliseconds
TOKEN_REFRESH_MARGIN = 30  # seconds: never start a request with a token about to expire
DEFAULT_TOKEN_LIFETIME = 60  # the distribution spec's default when expires_in is absent
_CHALLENGE_PARAM_RE = re.compile(r'\s*([a-zA-Z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?')


def parse_www_authenticate(header):
    """``Bearer realm="…",service="…",scope="a b"`` → ``("bearer", {"realm": …, …})``."""
    if not header:
        return None, {}
    scheme, _sep, rest = header.strip().partition(" ")
    params = {}
    for match in _CHALLENGE_PARAM_RE.finditer(rest):
        value = match.group(2) if match.group(2) is not None else match.group(3)
        params[match.group(1).lower()] = re.sub(r"\\(.)", r"\1", value)
    return scheme.lower(), params


def repository_scope(repository, actions):
    """``repository:ns/app:pull,push`` — the token scope for ``actions`` on a repository."""
    return "repository:%s:%s" % (repository, ",".join(actions))


# Registries whose /v2 is served under another name than the one in references.
V2_HOSTS = {"docker.io": "registry-1.docker.io"}


def _next_page(link):
    """The path of the next page from a ``Link: </v2/...?n=..&last=..>; rel="next"`` header, or None."""
    match = re.match(r'\s*<([^>]+)>\s*;\s*rel="?next"?', link or "")
    return match.group(1) if match else None


def registry_error(response, what):
    """An IcrError from a /v2 error response (``{"errors": [{"code", "message"}]}``)."""
    code = message = None
    try:
        errors = response.json().get("errors") or []
        if errors:
            code = errors[0].get("code")
            message = errors[0].get("message")
    except ValueError:
        pass
    text = "%s: %s" % (what, message or response.reason or "HTTP error")
    return IcrError(text, status=response.status_code, code=code)


def registry_failure_is_transient(exc):
    """``should_retry`` for registry requests: HTTP 429/5xx (with Retry-After) and broken
    connections."""
    if isinstance(exc, IcrError):
        return exc.status in RETRYABLE_STATUS, exc.retry_after
    if REQUESTS_IMPORT_ERROR is None and isinstance(exc, (requests.ConnectionError, requests.Timeout,
                                                          requests.exceptions.ChunkedEncodingError)):
        return True, None
    return False, None


def manifest_put_should_retry():
    """``should_retry`` for one manifest PUT: what is transient, and up to LINK_RACE_RETRIES
    refusals that are the link race (every blob was in place just before), after short waits."""
    races = []

    def should_retry(exc):
        if isinstance(exc, IcrError) and exc.code in LINK_RACE_CODES:
            races.append(exc)
            return len(races) <= LINK_RACE_RETRIES, backoff_delay(len(races) - 1, LINK_RACE_BASE_DELAY)
        return registry_failure_is_transient(exc)
    return should_retry


class RegistryClient:
    """A /v2 client for one registry.

    ``url``: the registry's base URL, or a bare ``host[:port]`` (https; plain http for
    loopback hosts, like docker). ``username``/``password`` are used for Basic auth or for the
    Bearer token request (ICR: ``iamapikey`` and the API key, or ``iambearer`` and a callable
    giving the current IAM access token, asked for each token request); without them the client is
    anonymous. ``policy`` (a RetryPolicy) gives the per-request timeout and the retries.
    Thread safe: one ``requests.Session`` whose pool holds ``pool_size`` connections.
    """

    def __init__(self, url, username=None, password=None, verify=True, policy=None,
                 pool_size=8, user_agent="icr.registry"):
        if REQUESTS_IMPORT_ERROR is not None:
            raise MissingLibrary("requests", REQUESTS_IMPORT_ERROR)
        self.base_url = registry_url(V2_HOSTS.get(url, url))
        self.host = self.base_url.split("://", 1)[1]
        self._username = username
        self._password = password
        self.policy = policy or RetryPolicy()
        self.timeout = self.policy.timeout
        self.session = requests.Session()
        self.session.verify = verify
        self.session.headers["User-Agent"] = user_agent
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max(pool_size, 4))
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self._lock = threading.Lock()
        self._challenge = None  # (scheme, params) learned from GET /v2/
        self._tokens = {}  # frozenset(scopes) -> (token, expires_at)

    # ----------------------------------------------------------------- auth
    def _ping(self):
        """GET /v2/ once to learn how this registry wants to be authenticated."""
        response = self._send("GET", "/v2/", headers={}, allow_redirects=True)
        if response.status_code == 401:
            self._challenge = parse_www_authenticate(response.headers.get("WWW-Authenticate"))
        elif response.status_code < 300:
            self._challenge = ("none", {})
        else:
            raise registry_error(response, "the registry at %s is not usable" % self.host)
        response.close()
        return self._challenge

    def _basic_header(self):
        # A callable password is asked once per use: an IAM token renewed as it nears expiry.
        password = self._password() if callable(self._password) else self._password
        raw = ("%s:%s" % (self._username, password)).encode("utf-8")
        return "Basic " + base64.b64encode(raw).decode("ascii")

    def _fetch_token(self, params, scopes):
        realm = params.get("realm")
        if not realm:
            raise IcrError("the registry at %s sent a Bearer challenge without a realm" % self.host)
        query = [("service", params["service"])] if params.get("service") else []
        query.extend(("scope", scope) for scope in sorted(scopes))
        headers = {}
        if self._username is not None:
            headers["Authorization"] = self._basic_header()

        # Not retried here: the request that needs the token is retried as a whole.
        response = self.session.get(realm, params=query, headers=headers, timeout=self.timeout,
                                    verify=self.session.verify)
        if response.status_code != 200:
            raise registry_error(response, "the token service of %s refused the credentials" % self.host)
        body = response.json()
        token = body.get("token") or body.get("access_token")
        if not token:
            raise IcrError("the token service of %s returned no token" % self.host)
        lifetime = int(body.get("expires_in") or DEFAULT_TOKEN_LIFETIME)
        return token, time.monotonic() + lifetime

    def _auth_header(self, scopes, refresh=False):
        """The Authorization header for a request that needs ``scopes`` (None: anonymous)."""
        with self._lock:
            challenge = self._challenge
        if challenge is None:
            challenge = self._ping()
        scheme, params = challenge
        if scheme == "basic":
            return self._basic_header() if self._username is not None else None
        if scheme != "bearer":
            return None
        key = frozenset(scopes or ())
        with self._lock:
            cached = self._tokens.get(key)
        if cached and not refresh and cached[1] - TOKEN_REFRESH_MARGIN > time.monotonic():
            return "Bearer " + cached[0]
        token, expires_at = self._fetch_token(params, key)
        with self._lock:
            self._tokens[key] = (token, expires_at)
        return "Bearer " + token

    def bearer_token(self, scopes):
        """A registry token for ``scopes`` (``repository_scope`` strings), fetched under the retry
        policy, or None when the registry does not use the Bearer token flow. For a client that
        cannot sign in itself: the Docker engine's push (``registrytoken``), for that push only."""
        def fetch():
            header = self._auth_header(scopes)
            return header[len("Bearer "):] if header and header.startswith("Bearer ") else None
        try:
            return self.policy.call(fetch, registry_failure_is_transient)
        except requests.RequestException as exc:
            raise IcrError("getting a registry token from %s failed: %s" % (self.host, one_line(exc)))

    # ------------------------------------------------------------- requests
    def _send(self, method, url, headers, **kwargs):
        if url.startswith("/"):
            url = self.base_url + url
        kwargs.setdefault("timeout", self.timeout)
        # Per request: requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE override session.verify.
        kwargs.setdefault("verify", self.session.verify)
        return self.session.request(method, url, headers=headers, **kwargs)

    def request(self, method, url, scopes, ok=(200,), what=None, retry=True, headers=None,
                should_retry=registry_failure_is_transient, retries=None, **kwargs):
        """One authenticated request; returns the response when its status is in ``ok``.

        A 401 refreshes the token once. Failures that ``should_retry`` accepts are retried
        under the policy when ``retry`` is true; callers pass False for bodies that cannot be
        replayed, and when they retry a larger unit themselves.
        """
        def attempt():
            auth = self._auth_header(scopes)
            for refreshed in (False, True):
                sent = dict(headers or {})
                if auth:
                    sent["Authorization"] = auth
                response = self._send(method, url, sent, **kwargs)
                replayable = not isinstance(kwargs.get("data"), _SizedStream)
                if response.status_code == 401 and not refreshed and replayable:
                    response.close()
                    auth = self._auth_header(scopes, refresh=True)
                    continue
                break
            if response.status_code in ok:
                return response
            error = registry_error(response, what or "%s %s" % (method, url))
            error.retry_after = parse_retry_after(response.headers.get("Retry-After"))
            response.close()
            raise error

        try:
            if not retry:
                return attempt()
            return self.policy.call(attempt, should_retry, retries=retries)
        except requests.RequestException as exc:
            # Retries spent (or none allowed): one line for the module, not a traceback.
            raise IcrError("%s failed: cannot reach %s (%s)"
                           % (what or "%s %s" % (method, url), self.host, one_line(exc)))

    # ------------------------------------------------------------ manifests
    def head_manifest(self, repository, reference):
        """``(digest, media_type)`` of a tag or digest, or None when it does not exist."""
        response = self.request("HEAD", "/v2/%s/manifests/%s" % (repository, reference),
                                [repository_scope(repository, ["pull"])], ok=(200, 404),
                                headers={"Accept": MANIFEST_ACCEPT},
                                what="reading manifest %s:%s" % (repository, reference))
        response.close()
        if response.status_code == 404:
            return None
        digest = response.headers.get("Docker-Content-Digest")
        return digest, response.headers.get("Content-Type", "").split(";")[0]

    def get_manifest(self, repository, reference, missing_ok=False):
        """The manifest (exact bytes) of a tag or digest; None if missing and ``missing_ok``."""
        response = self.request("GET", "/v2/%s/manifests/%s" % (repository, reference),
                                [repository_scope(repository, ["pull"])], ok=(200, 404),
                                headers={"Accept": MANIFEST_ACCEPT},
                                what="reading manifest %s:%s" % (repository, reference))
        if response.status_code == 404:
            if missing_ok:
                return None
            raise registry_error(response, "manifest %s:%s not found on %s"
                                 % (repository, reference, self.host))
        expected = reference if DIGEST_RE.match(reference) else None
        return Manifest.from_bytes(response.content, response.headers.get("Content-Type"), expected)

    def put_manifest(self, repository, reference, manifest):
        """PUT the exact bytes under a tag or digest; returns the digest the registry reports.

        Call it once every blob the manifest references is in the repository: a refusal that
        names a blob is then taken for the registry's link race and retried (LINK_RACE_CODES).
        """
        try:
            response = self.request("PUT", "/v2/%s/manifests/%s" % (repository, reference),
                                    [repository_scope(repository, ["pull", "push"])], ok=(201,),
                                    data=manifest.raw, headers={"Content-Type": manifest.media_type},
                                    what="writing manifest %s:%s" % (repository, reference),
                                    should_retry=manifest_put_should_retry(),
                                    retries=self.policy.retries + LINK_RACE_RETRIES)
        except IcrError as exc:
            if exc.code not in LINK_RACE_CODES:
                raise
            raise IcrError("%s; refused %d times in a row although every blob it references "
                           "was in the repository just before, which another client writing the "
                           "same repository at once can cause: run the task again"
                           % (exc.message, LINK_RACE_RETRIES + 1),
                           status=exc.status, code=exc.code, transaction_id=exc.transaction_id)
        response.close()
        digest = response.headers.get("Docker-Content-Digest") or manifest.digest
        if digest != manifest.digest:
            raise IcrError("the registry stored manifest %s:%s as %s instead of %s"
                           % (repository, reference, digest, manifest.digest))
        return digest

    # ----------------------------------------------------------- listings
    def list_tags(self, repository, page_size=1000):
        """Every tag of ``repository`` (``GET /v2/<name>/tags/list``, following ``Link`` pages);
        an empty list when the repository does not exist."""
        tags = []
        url = "/v2/%s/tags/list" % repository
        params = {"n": page_size}
        while url:
            response = self.request("GET", url, [repository_scope(repository, ["pull"])], ok=(200, 404),
                                    params=params, what="listing the tags of %s" % repository)
            if response.status_code == 404:
                response.close()
                return []
            tags.extend(response.json().get("tags") or [])
            url = _next_page(response.headers.get("Link"))
            params = None
            response.close()
        return tags

    def referrers(self, repository, digest):
        """The descriptors of what refers to ``digest`` (OCI 1.1 ``GET /v2/<name>/referrers/<digest>``),
        or None when this registry does not serve the referrers API (then the referrers tag schema,
        a tag ``sha256-<hex>`` holding an index, stands in for it)."""
        response = self.request("GET", "/v2/%s/referrers/%s" % (repository, digest),
                                [repository_scope(repository, ["pull"])], ok=(200, 404, 400, 405),
                                headers={"Accept": OCI_INDEX},
                                what="listing the referrers of %s@%s" % (repository, digest))
        try:
            if response.status_code != 200 or not response.headers.get("Content-Type", "").startswith(OCI_INDEX):
                return None
            try:
                return list(response.json().get("manifests") or [])
            except ValueError:
                return None
        finally:
            response.close()

    # ---------------------------------------------------------------- blobs
    def blob_exists(self, repository, digest):
        response = self.request("HEAD", "/v2/%s/blobs/%s" % (repository, digest),
                                [repository_scope(repository, ["pull", "push"])], ok=(200, 404),
                                what="checking blob %s in %s" % (digest, repository))
        response.close()
        return response.status_code == 200

    def get_blob(self, repository, digest, retry=True):
        """A streaming response for a blob (redirects to storage are followed)."""
        return self.request("GET", "/v2/%s/blobs/%s" % (repository, digest),
                            [repository_scope(repository, ["pull"])], ok=(200,), retry=retry,
                            stream=True, allow_redirects=True,
                            what="reading blob %s from %s" % (digest, repository))

    def start_upload(self, repository, mount_digest=None, mount_from=None, retry=True):
        """POST an upload session. Returns ``(True, None)`` when a mount succeeded,
        otherwise ``(False, upload_url)``."""
        scopes = [repository_scope(repository, ["pull", "push"])]
        params = None
        if mount_digest and mount_from:
            scopes.append(repository_scope(mount_from, ["pull"]))
            params = {"mount": mount_digest, "from": mount_from}
        response = self.request("POST", "/v2/%s/blobs/uploads/" % repository, scopes,
                                ok=(201, 202), params=params, retry=retry,
                                what="starting a blob upload to %s" % repository)
        response.close()
        if response.status_code == 201 and mount_digest:
            return True, None
        return False, self._absolute(response.headers.get("Location"))

    def _absolute(self, location):
        if not location:
            raise IcrError("the registry at %s started an upload without a Location" % self.host)
        if location.startswith("/"):
            return self.base_url + location
        return location

    def upload_scopes(self, repository):
        return [repository_scope(repository, ["pull", "push"])]

    def put_blob(self, upload_url, digest, body, size, repository):
        """Monolithic upload: one PUT ``?digest=`` with a streamed body of ``size`` bytes.

        ``body`` is an iterable of byte chunks (not replayable: no retry here; the caller
        restarts the whole blob). The registry verifies the digest before committing.
        """
        response = self.request("PUT", upload_url, self.upload_scopes(repository), ok=(201,),
                                retry=False, params={"digest": digest},
                                data=_SizedStream(body, size),
                                headers={"Content-Type": "application/octet-stream"},
                                what="uploading blob %s to %s" % (digest, repository))
        response.close()

    def patch_blob(self, upload_url, chunk_iter, start, length, repository):
        """One PATCH of ``length`` bytes at offset ``start``; returns the next upload URL."""
        response = self.request("PATCH", upload_url, self.upload_scopes(repository), ok=(202,),
                                retry=False, data=_SizedStream(chunk_iter, length),
                                headers={"Content-Type": "application/octet-stream",
                                         "Content-Range": "%d-%d" % (start, start + length - 1)},
                                what="uploading a chunk to %s" % repository)
        response.close()
        return self._absolute(response.headers.get("Location"))

    def commit_blob(self, upload_url, digest, repository):
        """Final empty PUT ``?digest=`` after chunked PATCHes."""
        response = self.request("PUT", upload_url, self.upload_scopes(repository), ok=(201,),
                                retry=False, params={"digest": digest}, data=b"",
                                what="committing blob %s to %s" % (digest, repository))
        response.close()

    def cancel_upload(self, upload_url, repository):
        """Best effort: drop an unfinished upload session."""
        try:
            response = self.request("DELETE", upload_url, self.upload_scopes(repository),
                                    ok=(204, 404), retry=False)
            response.close()
        except Exception:  # pylint: disable=broad-except
            pass  # the registry expires abandoned sessions anyway


class _SizedStream:
    """An iterable body with a known length, so requests sends Content-Length, not chunked."""

    def __init__(self, chunks, size):
        self._chunks = chunks
        self._size = size

    def __len__(self):
        return self._size

    def __iter__(self):
        return iter(self._chunks)
