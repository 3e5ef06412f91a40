# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Pure logic of the /v2 client; anything that talks to a registry is tested against the sandbox."""
import hashlib
import json

import pytest
import requests

from ansible_collections.icr.registry.plugins.module_utils import oci_registry as oci
from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError


def test_bearer_challenge_with_quoted_params():
    header = 'Bearer realm="http://127.0.0.1:5202/oauth/token",service="us.icr.io",scope="repository:ns/app:pull"'
    scheme, params = oci.parse_www_authenticate(header)
    assert scheme == "bearer"
    assert params == {"realm": "http://127.0.0.1:5202/oauth/token", "service": "us.icr.io",
                      "scope": "repository:ns/app:pull"}


def test_challenge_with_commas_inside_quotes_and_error_param():
    header = ('Bearer realm="https://auth.example/token",service="registry",'
              'scope="repository:a/b:pull,push repository:c/d:pull",error="insufficient_scope"')
    params = oci.parse_www_authenticate(header)[1]
    assert params["scope"] == "repository:a/b:pull,push repository:c/d:pull"
    assert params["error"] == "insufficient_scope"


def test_basic_challenge_and_unquoted_value():
    assert oci.parse_www_authenticate('Basic realm="Registry Realm"') == ("basic", {"realm": "Registry Realm"})
    assert oci.parse_www_authenticate("Bearer realm=https://a/t, service=s") == (
        "bearer", {"realm": "https://a/t", "service": "s"})
    assert oci.parse_www_authenticate(None) == (None, {})


def test_repository_scope():
    assert oci.repository_scope("ns/app", ["pull"]) == "repository:ns/app:pull"
    assert oci.repository_scope("ns/app", ["pull", "push"]) == "repository:ns/app:pull,push"


def test_accept_list_has_the_four_current_types_and_no_schema1():
    accepted = [t.strip() for t in oci.MANIFEST_ACCEPT.split(",")]
    assert sorted(accepted) == sorted([oci.DOCKER_MANIFEST, oci.DOCKER_MANIFEST_LIST,
                                       oci.OCI_MANIFEST, oci.OCI_INDEX])
    assert not set(accepted) & oci.SCHEMA1_TYPES


def _image(media_type=oci.DOCKER_MANIFEST, layers=2):
    doc = {"schemaVersion": 2, "mediaType": media_type,
           "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 7,
                      "digest": "sha256:" + "c" * 64},
           "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 10 + i,
                       "digest": "sha256:%064x" % i} for i in range(layers)]}
    return json.dumps(doc, indent=3).encode()


def test_manifest_keeps_bytes_and_digest_exactly():
    raw = _image()
    manifest = oci.Manifest.from_bytes(raw, "application/vnd.docker.distribution.manifest.v2+json")
    assert manifest.raw is raw
    assert manifest.digest == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert manifest.media_type == oci.DOCKER_MANIFEST
    expected = ["sha256:" + "c" * 64, "sha256:%064x" % 0, "sha256:%064x" % 1]
    assert [b["digest"] for b in manifest.blobs()] == expected
    assert not manifest.is_index and manifest.children() == []


def test_manifest_bytes_that_do_not_match_the_requested_digest_are_refused():
    with pytest.raises(IcrError, match="do not match"):
        oci.Manifest.from_bytes(_image(), None, expected_digest="sha256:" + "0" * 64)


def test_media_type_from_content_type_or_shape_when_the_document_has_none():
    doc = json.loads(_image(oci.OCI_MANIFEST))
    del doc["mediaType"]
    raw = json.dumps(doc).encode()
    assert oci.Manifest.from_bytes(raw, oci.OCI_MANIFEST + "; charset=utf-8").media_type == oci.OCI_MANIFEST
    assert oci.Manifest.from_bytes(raw, None).media_type == oci.OCI_MANIFEST
    index = json.dumps({"schemaVersion": 2, "manifests": []}).encode()
    assert oci.Manifest.from_bytes(index, None).is_index


def test_schema1_is_refused_with_a_clear_message():
    raw = json.dumps({"schemaVersion": 1, "name": "ns/app", "fsLayers": []}).encode()
    with pytest.raises(IcrError, match="schema 1"):
        oci.Manifest.from_bytes(raw, "application/vnd.docker.distribution.manifest.v1+prettyjws")


def test_unknown_media_type_and_non_json_are_refused():
    with pytest.raises(IcrError, match="unsupported manifest media type"):
        oci.Manifest.from_bytes(json.dumps({"schemaVersion": 2, "mediaType": "text/plain"}).encode())
    with pytest.raises(IcrError, match="not JSON"):
        oci.Manifest.from_bytes(b"<html>")


def test_index_children():
    entries = [{"mediaType": oci.DOCKER_MANIFEST, "digest": "sha256:" + "a" * 64, "size": 1,
                "platform": {"os": "linux", "architecture": "amd64"}}]
    raw = json.dumps({"schemaVersion": 2, "mediaType": oci.DOCKER_MANIFEST_LIST, "manifests": entries}).encode()
    index = oci.Manifest.from_bytes(raw)
    assert index.is_index
    assert index.children() == entries
    assert index.blobs() == []


def test_retryable_statuses_and_connection_errors():
    assert oci.is_retryable(IcrError("x", status=503, retry_after=2)) == (True, 2)
    assert oci.is_retryable(IcrError("x", status=429)) == (True, None)
    assert oci.is_retryable(IcrError("x", status=404)) == (False, None)
    assert oci.is_retryable(requests.ConnectionError("reset"))[0]
    assert oci.is_retryable(requests.exceptions.ChunkedEncodingError("cut"))[0]
    assert not oci.is_retryable(ValueError("bug"))[0]


def test_docker_hub_references_use_its_v2_host():
    client = oci.RegistryClient("docker.io")
    assert client.base_url == "https://registry-1.docker.io"
    assert oci.RegistryClient("127.0.0.1:5000").base_url == "http://127.0.0.1:5000"
    assert oci.RegistryClient("https://127.0.0.1:5000").base_url == "https://127.0.0.1:5000"


def test_sized_stream_sends_content_length_not_chunked():
    prepared = requests.Request("PUT", "http://127.0.0.1:1/x",
                                data=oci._SizedStream(iter([b"ab", b"cd"]), 4)).prepare()
    assert prepared.headers["Content-Length"] == "4"
    assert "Transfer-Encoding" not in prepared.headers
