# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""One layer retries each operation (issue #14): a busy registry costs retries + 1 tries of a
blob transfer or a token request, never (retries + 1) squared. Fake HTTP: only the retry
logic is under test; talking to a registry is tested against the sandbox."""
import json

import pytest
import requests

from ansible_collections.icr.registry.plugins.module_utils import oci_manifest as om
from ansible_collections.icr.registry.plugins.module_utils import oci_registry as oci
from ansible_collections.icr.registry.plugins.module_utils.copy_engine import CopyEngine, SourceImage
from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError
from ansible_collections.icr.registry.plugins.module_utils.retry import RetryPolicy

CONFIG = b"{}"
MANIFEST = om.Manifest.from_bytes(json.dumps({
    "schemaVersion": 2, "mediaType": om.DOCKER_MANIFEST,
    "config": {"mediaType": om.DOCKER_CONFIG, "size": len(CONFIG), "digest": om.sha256_digest(CONFIG)},
    "layers": []}).encode())


def answer(status, headers=None, body=b""):
    response = requests.Response()
    response.status_code = status
    response._content, response._content_consumed = body, True
    response.headers.update(headers or {})
    return response


class BusyRegistry:
    """No auth; every request matching ``busy`` (method, path prefix) is answered 503."""

    def __init__(self, busy):
        self.busy = busy
        self.requests = []

    def send(self, method, url, headers, **kwargs):
        path = url if url.startswith("/") else "/" + url.split("://", 1)[-1].partition("/")[2]
        self.requests.append((method, path))
        if (method, path) == ("GET", "/v2/"):
            return answer(200)
        if method == self.busy[0] and path.startswith(self.busy[1]):
            return answer(503)
        if method == "HEAD":
            return answer(404)
        if method == "GET":  # the source blob
            return answer(200, body=CONFIG)
        return answer(202, {"Location": "/v2/ns/app/blobs/uploads/1"})

    def count(self, method, prefix):
        return sum(1 for m, p in self.requests if m == method and p.startswith(prefix))


def client(registry, retries):
    policy = RetryPolicy(retries=retries, sleep=lambda s: None)
    result = oci.RegistryClient("127.0.0.1:5000", policy=policy)
    result._send = registry.send
    return result, policy


@pytest.mark.parametrize("busy", [("POST", "/v2/ns/app/blobs/uploads/"), ("PUT", "/v2/ns/app/blobs/uploads/1"),
                                  ("GET", "/v2/src/app/blobs/")])
def test_a_busy_blob_transfer_is_tried_retries_plus_one_times(busy):
    registry = BusyRegistry(busy)
    dest, policy = client(registry, retries=2)
    source = SourceImage(dest, "src/app", MANIFEST)
    with pytest.raises(IcrError) as info:
        CopyEngine(parallel=1, policy=policy).copy(source, dest, "ns/app", "1")
    assert info.value.status == 503
    # Each try of the transfer starts an upload; the busy step is reached once per try.
    assert registry.count(*busy) == 3
    assert registry.count("POST", "/v2/ns/app/blobs/uploads/") == 3
    assert registry.count("PUT", "/v2/ns/app/manifests/") == 0  # no tag on an incomplete image


def test_a_busy_token_service_is_retried_by_the_request_alone():
    calls = []

    def token_service(url, params=None, headers=None, **kwargs):
        calls.append(url)
        return answer(503)
    dest, _policy = client(BusyRegistry(("NONE", "/")), retries=3)
    dest._challenge = ("bearer", {"realm": "http://127.0.0.1:5001/oauth/token", "service": "us.icr.io"})
    dest.session.get = token_service
    with pytest.raises(IcrError) as info:
        dest.head_manifest("ns/app", "1")
    assert info.value.status == 503 and len(calls) == 4
