# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Manifest PUT under docker-registry's link race: a refusal naming a blob, right after every
blob was committed, is retried a few times (issue #8). Fake HTTP: only the retry logic is under test."""
import json

import pytest
import requests

from ansible_collections.icr.registry.plugins.module_utils import oci_manifest as om
from ansible_collections.icr.registry.plugins.module_utils import oci_registry as oci
from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError
from ansible_collections.icr.registry.plugins.module_utils.retry import RetryPolicy

MANIFEST = om.Manifest.from_bytes(json.dumps({
    "schemaVersion": 2, "mediaType": om.DOCKER_MANIFEST,
    "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 2,
               "digest": "sha256:" + "c" * 64},
    "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 3,
                "digest": "sha256:" + "d" * 64}]}).encode())


def answer(status, code=None, message=None, digest=None):
    response = requests.Response()
    response.status_code = status
    response._content_consumed = True  # a body in memory: close() has no connection to release
    if code:
        response._content = json.dumps({"errors": [{"code": code, "message": message}]}).encode()
        response.headers["Content-Type"] = "application/json"
    else:
        response._content = b""
    if digest:
        response.headers["Docker-Content-Digest"] = digest
    return response


DIGEST_INVALID = ("DIGEST_INVALID", "provided digest did not match uploaded content")
BLOB_UNKNOWN = ("MANIFEST_BLOB_UNKNOWN", "blob unknown to registry")


class FakeRegistry:
    """Answers GET /v2/ with 200 (no auth) and each manifest PUT with the next scripted answer."""

    def __init__(self, put_answers):
        self.put_answers = list(put_answers)
        self.puts = 0

    def send(self, method, url, headers, **kwargs):
        if (method, url) == ("GET", "/v2/"):
            return answer(200)
        assert (method, url) == ("PUT", "/v2/ns/app/manifests/1")
        assert kwargs["data"] == MANIFEST.raw
        self.puts += 1
        refusal = self.put_answers.pop(0) if self.put_answers else None
        if refusal is None:
            return answer(201, digest=MANIFEST.digest)
        return answer(400, *refusal)


def client_for(registry, pauses):
    client = oci.RegistryClient("127.0.0.1:5000", policy=RetryPolicy(retries=0, sleep=pauses.append))
    client._send = registry.send
    return client


@pytest.mark.parametrize("refusals", [[DIGEST_INVALID], [DIGEST_INVALID, BLOB_UNKNOWN, DIGEST_INVALID],
                                      [BLOB_UNKNOWN]])
def test_a_refusal_naming_a_blob_is_retried_until_the_registry_takes_the_manifest(refusals):
    registry, pauses = FakeRegistry(refusals), []
    assert client_for(registry, pauses).put_manifest("ns/app", "1", MANIFEST) == MANIFEST.digest
    assert registry.puts == len(refusals) + 1
    assert len(pauses) == len(refusals)


def test_a_lasting_refusal_fails_after_a_few_tries_in_one_clear_line():
    registry, pauses = FakeRegistry([DIGEST_INVALID] * 10), []
    with pytest.raises(IcrError) as info:
        client_for(registry, pauses).put_manifest("ns/app", "1", MANIFEST)
    assert registry.puts == oci.LINK_RACE_RETRIES + 1
    assert (info.value.status, info.value.code) == (400, "DIGEST_INVALID")
    message = str(info.value)
    assert message.startswith("writing manifest ns/app:1: provided digest did not match uploaded content; "
                              "refused %d times in a row" % (oci.LINK_RACE_RETRIES + 1))
    assert "run the task again" in message and "\n" not in message


def test_other_refusals_are_not_retried_and_keep_their_message():
    registry, pauses = FakeRegistry([("MANIFEST_INVALID", "manifest invalid")]), []
    with pytest.raises(IcrError) as info:
        client_for(registry, pauses).put_manifest("ns/app", "1", MANIFEST)
    assert registry.puts == 1 and pauses == []
    assert str(info.value) == "writing manifest ns/app:1: manifest invalid (HTTP 400, code MANIFEST_INVALID)"
