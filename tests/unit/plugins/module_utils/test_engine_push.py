# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
import json

import pytest

from ansible_collections.icr.registry.plugins.module_utils import engine_push
from ansible_collections.icr.registry.plugins.module_utils.engine_push import (
    COPY, ENGINE, choose_path, engine_record, is_refusal, layer_counts, push_scopes, record_push, refusal_error)
from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError
from ansible_collections.icr.registry.plugins.module_utils.image_archive import DigestMemo, archive_manifest


def dg(char):
    return "sha256:" + char * 64


IMAGE = dg("1")
LAYERS = [dg("a"), dg("b"), dg("c")]


@pytest.fixture
def records(tmp_path):
    path = str(tmp_path / "layer-digests.json")
    return DigestMemo(path), engine_record(path, "unix:///docker.sock", "us.icr.io")


def test_a_first_push_and_a_new_runner_go_through_the_copy_engine(records):
    memo, record = records
    assert choose_path(IMAGE, LAYERS, memo, record) == (COPY, None)
    memo.put(LAYERS[0], dg("e"), 10)  # one layer of three: a new image on a host that pushed little of it
    assert choose_path(IMAGE, LAYERS, memo, record) == (COPY, None)


def test_a_rebuild_goes_through_the_engine_whichever_path_pushed_its_layers(records):
    memo, record = records
    memo.put(LAYERS[0], dg("e"), 10)
    record.put(LAYERS[1], dg("f"), 20)
    assert choose_path(IMAGE, LAYERS, memo, record) == (ENGINE, None)  # two of three known, none of them to both


def test_an_image_pushed_before_goes_the_same_way_with_the_same_digest(records):
    memo, record = records
    for index, layer in enumerate(LAYERS):
        memo.put(layer, dg("efg"[index]), index + 1)
    memo.put(IMAGE, IMAGE, 5)
    expected = archive_manifest(IMAGE, 5, [(dg("e"), 1), (dg("f"), 2), (dg("g"), 3)])
    assert choose_path(IMAGE, LAYERS, memo, record) == (COPY, (expected.digest, expected.size))
    other = dg("2")
    record.put(other, dg("9"), 77)  # an image the engine pushed: the manifest it wrote
    assert choose_path(other, LAYERS, memo, record) == (ENGINE, (dg("9"), 77))


def test_a_remote_engine_always_pushes_itself(records):
    memo, record = records
    assert choose_path(IMAGE, LAYERS, memo, record, remote=True) == (ENGINE, None)
    memo.put(IMAGE, IMAGE, 5)
    for layer in LAYERS:
        memo.put(layer, dg("e"), 1)
    assert choose_path(IMAGE, LAYERS, memo, record, remote=True)[0] == ENGINE


def test_the_engine_record_shares_the_file_with_the_copy_engines_and_keeps_it(records, tmp_path):
    memo, record = records
    memo.put(LAYERS[0], dg("e"), 10)
    memo.save()
    manifest = archive_manifest(IMAGE, 5, [(dg("7"), 1), (dg("8"), 2), (dg("9"), 3)])
    record_push(record, IMAGE, LAYERS, manifest)
    memo.put(LAYERS[1], dg("f"), 11)
    memo.save()  # after the record's save: both survive
    data = json.load(open(memo.path))
    assert len(data) == 2
    again = engine_record(memo.path, "unix:///docker.sock", "us.icr.io")
    assert again.get(IMAGE) == (manifest.digest, manifest.size) and again.get(LAYERS[2]) == (dg("9"), 3)
    assert DigestMemo(memo.path).get(LAYERS[1]) == (dg("f"), 11)
    # Another engine, or another registry, is another record.
    assert engine_record(memo.path, "ssh://builder@host", "us.icr.io").get(IMAGE) is None
    assert engine_record(memo.path, "unix:///docker.sock", "de.icr.io").get(IMAGE) is None
    # A record of another gzip format is stale and dropped at the next save.
    data["gzip format 0, zlib 1.0 level 6"] = {LAYERS[0]: [dg("0"), 1]}
    json.dump(data, open(memo.path, "w"))
    memo.put(LAYERS[2], dg("g"), 12)
    memo.save()
    assert len(json.load(open(memo.path))) == 2


def test_a_manifest_that_does_not_match_the_layers_is_not_recorded(records):
    _memo, record = records
    record_push(record, IMAGE, LAYERS[:2], archive_manifest(IMAGE, 5, [(dg("7"), 1)]))
    assert record.get(IMAGE) is None and record.get(LAYERS[0]) is None


@pytest.mark.parametrize("message, refused", [
    ("denied: requested access to the resource is denied", True),
    # dockerd sends no token at all when a busy answer to its ping hid the Bearer challenge:
    ("unauthorized: authentication required", False),
    ("received unexpected HTTP status: 503 Service Unavailable", False),
    ("toomanyrequests: slow down", False),
    ("Put \"http://127.0.0.1:5000/v2/ns/app/manifests/1\": read: connection reset by peer", False),
    ("error pinging v2 registry: dial tcp: lookup us.icr.io: no such host", False)])
def test_only_a_refusal_is_not_worth_a_fallback(message, refused):
    assert is_refusal(IcrError("Pushing failed: " + message)) is refused


def test_a_refusal_becomes_the_status_the_registry_client_would_give():
    assert refusal_error(IcrError("x: denied: requested access to the resource is denied")).status == 403


def test_scopes_and_counts():
    assert push_scopes(["ns/b", "ns/a", "ns/b"]) == ["repository:ns/a:pull,push", "repository:ns/b:pull,push"]
    assert engine_push.engine_auth("tok") == {"registrytoken": "tok"}
    assert layer_counts({"a": "Pushed", "b": "Layer already exists", "c": "Mounted from ns/base",
                         "d": "Pushed"}) == (2, 1, 1)


def test_the_file_keeps_the_records_saved_last(records):
    memo, _record = records
    memo.put(LAYERS[0], dg("e"), 10)
    memo.save()
    for index in range(20):
        record = engine_record(memo.path, "unix:///docker-%d.sock" % index, "us.icr.io")
        record.put(LAYERS[0], dg("f"), index)
        record.save()
    data = json.load(open(memo.path))
    engines = [key for key in data if key.startswith("engine ")]
    assert len(engines) == 16 and engines[-1] == "engine unix:///docker-19.sock pushed to us.icr.io"
    assert DigestMemo(memo.path).get(LAYERS[0]) == (dg("e"), 10)  # the copy engine's record stays
