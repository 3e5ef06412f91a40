# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
import hashlib
import json

import pytest

from ansible_collections.icr.registry.plugins.module_utils import oci_manifest as om
from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError


def test_accept_list_has_the_four_current_types_and_no_schema1():
    accepted = [t.strip() for t in om.MANIFEST_ACCEPT.split(",")]
    assert sorted(accepted) == sorted([om.DOCKER_MANIFEST, om.DOCKER_MANIFEST_LIST,
                                       om.OCI_MANIFEST, om.OCI_INDEX])
    assert not set(accepted) & om.SCHEMA1_TYPES


def _image(media_type=om.DOCKER_MANIFEST, layers=2):
    doc = {"schemaVersion": 2, "mediaType": media_type,
           "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 7,
                      "digest": "sha256:" + "c" * 64},
           "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 10 + i,
                       "digest": "sha256:%064x" % i} for i in range(layers)]}
    return json.dumps(doc, indent=3).encode()


def test_manifest_keeps_bytes_and_digest_exactly():
    raw = _image()
    manifest = om.Manifest.from_bytes(raw, "application/vnd.docker.distribution.manifest.v2+json")
    assert manifest.raw is raw
    assert manifest.digest == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert manifest.media_type == om.DOCKER_MANIFEST
    expected = ["sha256:" + "c" * 64, "sha256:%064x" % 0, "sha256:%064x" % 1]
    assert [b["digest"] for b in manifest.blobs()] == expected
    assert not manifest.is_index and manifest.children() == []


def test_manifest_bytes_that_do_not_match_the_requested_digest_are_refused():
    with pytest.raises(IcrError, match="do not match"):
        om.Manifest.from_bytes(_image(), None, expected_digest="sha256:" + "0" * 64)


def test_media_type_from_content_type_or_shape_when_the_document_has_none():
    doc = json.loads(_image(om.OCI_MANIFEST))
    del doc["mediaType"]
    raw = json.dumps(doc).encode()
    assert om.Manifest.from_bytes(raw, om.OCI_MANIFEST + "; charset=utf-8").media_type == om.OCI_MANIFEST
    assert om.Manifest.from_bytes(raw, None).media_type == om.OCI_MANIFEST
    index = json.dumps({"schemaVersion": 2, "manifests": []}).encode()
    assert om.Manifest.from_bytes(index, None).is_index


def test_schema1_is_refused_with_a_clear_message():
    raw = json.dumps({"schemaVersion": 1, "name": "ns/app", "fsLayers": []}).encode()
    with pytest.raises(IcrError, match="schema 1"):
        om.Manifest.from_bytes(raw, "application/vnd.docker.distribution.manifest.v1+prettyjws")


def test_unknown_media_type_and_non_json_are_refused():
    with pytest.raises(IcrError, match="unsupported manifest media type"):
        om.Manifest.from_bytes(json.dumps({"schemaVersion": 2, "mediaType": "text/plain"}).encode())
    with pytest.raises(IcrError, match="not JSON"):
        om.Manifest.from_bytes(b"<html>")


def test_index_children():
    entries = [{"mediaType": om.DOCKER_MANIFEST, "digest": "sha256:" + "a" * 64, "size": 1,
                "platform": {"os": "linux", "architecture": "amd64"}}]
    raw = json.dumps({"schemaVersion": 2, "mediaType": om.DOCKER_MANIFEST_LIST, "manifests": entries}).encode()
    index = om.Manifest.from_bytes(raw)
    assert index.is_index
    assert index.children() == entries
    assert index.blobs() == []


def test_child_for_a_platform_and_size():
    index = om.Manifest.from_bytes(json.dumps({"schemaVersion": 2, "mediaType": om.OCI_INDEX, "manifests": [
        {"mediaType": om.OCI_MANIFEST, "size": 1, "digest": "sha256:" + "1" * 64,
         "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
        {"mediaType": om.OCI_MANIFEST, "size": 1, "digest": "sha256:" + "2" * 64,
         "platform": {"os": "linux", "architecture": "amd64"}}]}).encode())
    assert index.child_for("linux/amd64") == "sha256:" + "2" * 64
    assert index.child_for("linux/arm64/v8") == "sha256:" + "1" * 64
    assert index.child_for("linux/amd64/v3") == "sha256:" + "2" * 64  # an entry without variant: any variant
    assert index.child_for("linux/arm64/v7") is None
    assert index.child_for("linux/s390x") is None
    image = om.Manifest.from_bytes(json.dumps({"schemaVersion": 2, "mediaType": om.OCI_MANIFEST,
                                               "config": {"size": 2, "digest": "sha256:" + "3" * 64},
                                               "layers": [{"size": 3}, {"size": 4}]}).encode())
    assert image.size == 9
