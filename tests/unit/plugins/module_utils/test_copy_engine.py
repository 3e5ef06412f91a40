# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Pure logic of the copy engine: stream verification, slicing, platform selection."""
import hashlib
import json
import threading

import pytest

from ansible_collections.icr.registry.plugins.module_utils import copy_engine as ce
from ansible_collections.icr.registry.plugins.module_utils import oci_manifest as om
from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError

CHUNKS = [b"a" * 5, b"b" * 5, b"c" * 3]
DATA = b"".join(CHUNKS)
DIGEST = "sha256:" + hashlib.sha256(DATA).hexdigest()


def test_verified_stream_passes_every_byte_through():
    assert b"".join(ce.verified_chunks(iter(CHUNKS), DIGEST, len(DATA))) == DATA


def test_corrupted_stream_is_refused_before_its_last_chunk_is_released():
    corrupted = [b"a" * 5, b"X" * 5, b"c" * 3]
    received = []
    with pytest.raises(ce.DigestMismatch, match="refusing to commit"):
        for chunk in ce.verified_chunks(iter(corrupted), DIGEST, len(DATA)):
            received.append(chunk)
    # A consumer never holds the whole body: the upload it feeds is cut short.
    assert len(b"".join(received)) < len(DATA)


def test_short_and_long_streams_are_refused():
    with pytest.raises(ce.DigestMismatch):
        list(ce.verified_chunks(iter(CHUNKS[:2]), DIGEST, len(DATA)))
    with pytest.raises(ce.DigestMismatch, match="more than"):
        list(ce.verified_chunks(iter(CHUNKS + [b"d"]), DIGEST, len(DATA)))


def test_empty_blob_and_unsupported_algorithm():
    empty = "sha256:" + hashlib.sha256(b"").hexdigest()
    assert list(ce.verified_chunks(iter([]), empty, 0)) == []
    with pytest.raises(IcrError, match="sha256"):
        list(ce.verified_chunks(iter(CHUNKS), "sha512:" + "0" * 128, len(DATA)))


def test_abort_stops_a_stream_early():
    abort = threading.Event()
    stream = ce.verified_chunks(iter(CHUNKS), DIGEST, len(DATA), abort)
    next(stream)
    abort.set()
    with pytest.raises(ce.CopyAborted):
        list(stream)


@pytest.mark.parametrize("size", [1, 4, 5, 7, 13, 100])
def test_byte_slices_regroup_exactly(size):
    slices = [b"".join(piece) for piece in ce.byte_slices(iter(CHUNKS), size)]
    assert b"".join(slices) == DATA
    assert all(len(s) == size for s in slices[:-1])
    assert 0 < len(slices[-1]) <= size


def test_blob_retry_policy_never_retries_a_mismatch():
    assert ce.blob_failure_is_transient(ce.DigestMismatch("bad")) == (False, None)
    assert ce.blob_failure_is_transient(ce.CopyAborted("stop")) == (False, None)
    assert ce.blob_failure_is_transient(IcrError("busy", status=503))[0]


def _index(*platforms):
    entries = []
    for i, text in enumerate(platforms):
        parts = text.split("/")
        platform = {"os": parts[0], "architecture": parts[1]}
        if len(parts) > 2:
            platform["variant"] = parts[2]
        entries.append({"mediaType": om.OCI_MANIFEST, "size": 100, "digest": "sha256:%064x" % i,
                        "platform": platform})
    raw = json.dumps({"schemaVersion": 2, "mediaType": om.OCI_INDEX, "manifests": entries}).encode()
    return om.Manifest.from_bytes(raw)


def test_platform_matching():
    child = {"platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}}
    assert om.platform_string(child) == "linux/arm64/v8"
    assert om.platform_matches(child, "linux/arm64")
    assert om.platform_matches(child, "Linux/ARM64/v8")
    assert not om.platform_matches(child, "linux/arm64/v7")
    assert not om.platform_matches(child, "linux/amd64")


def test_all_platforms_keeps_the_index_bytes():
    index = _index("linux/amd64", "linux/arm64/v8")
    assert om.select_platforms(index, ["all"]) is index
    assert om.select_platforms(index, ["linux/amd64", "linux/arm64"]) is index


def test_a_platform_subset_makes_a_new_index():
    index = _index("linux/amd64", "linux/arm64/v8", "linux/s390x")
    subset = om.select_platforms(index, ["linux/arm64"])
    assert subset.digest != index.digest
    assert subset.media_type == om.OCI_INDEX
    assert [om.platform_string(c) for c in subset.children()] == ["linux/arm64/v8"]


def test_a_missing_platform_is_named():
    with pytest.raises(IcrError, match="linux/ppc64le.*linux/amd64"):
        om.select_platforms(_index("linux/amd64"), ["linux/ppc64le"])


class _Source:
    """Stands in for a RegistryClient that serves manifests from a dict (no network)."""

    def __init__(self, manifests):
        self.manifests = manifests

    def get_manifest(self, repository, digest):
        return self.manifests[digest]


def test_source_walk_puts_children_before_the_index():
    children = [om.Manifest.from_bytes(json.dumps(
        {"schemaVersion": 2, "mediaType": om.OCI_MANIFEST,
         "config": {"digest": "sha256:%064x" % (10 + i), "size": 2}, "layers": []}).encode())
        for i in range(2)]
    entries = [{"mediaType": om.OCI_MANIFEST, "digest": c.digest, "size": len(c.raw),
                "platform": {"os": "linux", "architecture": a}} for c, a in zip(children, ["amd64", "arm64"])]
    index = om.Manifest.from_bytes(json.dumps({"schemaVersion": 2, "mediaType": om.OCI_INDEX,
                                               "manifests": entries}).encode())
    source = ce.SourceImage(_Source({c.digest: c for c in children}), "ns/app", index)
    assert [m.digest for m in source.images()] == [children[0].digest, children[1].digest, index.digest]


class _Response:
    """The two shapes response_chunks reads: an http.client-like ``raw._fp`` or iter_content."""

    def __init__(self, data, with_fp=True):
        import io
        self.raw = type("Raw", (), {"_fp": io.BytesIO(data)})() if with_fp else None
        self._data = data

    def iter_content(self, size):
        return (self._data[i:i + size] for i in range(0, len(self._data), size))


@pytest.mark.parametrize("with_fp", [True, False])
def test_response_chunks_feed_verification_exactly(with_fp):
    data = bytes(range(256)) * 50
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    # Buffers are reused: consuming chunk by chunk (as an upload does) must see every byte once.
    out = bytearray()
    for chunk in ce.verified_chunks(ce.response_chunks(_Response(data, with_fp), chunk_size=1000), digest, len(data)):
        out += chunk
    assert bytes(out) == data


class _BrokenFile:
    def readinto(self, buffer):
        raise ConnectionResetError(104, "Connection reset by peer")


def test_a_source_reset_is_not_an_oserror_and_is_retried():
    response = _Response(b"")
    response.raw._fp = _BrokenFile()
    with pytest.raises(ce.SourceReadError) as caught:
        next(ce.response_chunks(response))
    # urllib3 swallows an ECONNRESET raised while sending a body (it blames the server).
    assert not isinstance(caught.value, OSError)
    assert ce.blob_failure_is_transient(caught.value)[0]
