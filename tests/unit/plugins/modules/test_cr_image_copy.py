# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""cr_image_copy's module layer (ImageCopy) over in-memory registries and the fake ICR API;
the copy engine itself is tested in module_utils/test_copy_engine.py."""
import pytest

from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError
from ansible_collections.icr.registry.plugins.modules import cr_image_copy
from fake_api import dg
from module_runner import run

SRC = "quay.io/org/app:1.0"


@pytest.fixture
def source(registries):
    return registries["quay.io"].add_image("org/app", "1.0", layers=[b"base layer", b"app layer"])


@pytest.mark.parametrize("args, message", [
    ({"parallel": 0}, "parallel must be at least 1"),
    ({"chunk_size_mb": -1}, "chunk_size_mb zero or more"),
    ({"platforms": ["linux"]}, "platforms: 'linux' is not os/architecture[/variant]"),
    ({"platforms": ["all", "linux/amd64"]}, "platforms: all copies every platform; give it alone"),
    ({"platforms": []}, "platforms: name at least one platform"),
    ({"dest": ["quay.io/team/app:1.0"]}, "dest quay.io/team/app:1.0 is not an ICR image"),
    ({"src": "quay.io/org/app@" + dg("a"), "dest": ["us.icr.io/team/app"]},
     "dest us.icr.io/team/app needs a tag: the source is given by digest only"),
])
def test_bad_arguments_fail_in_one_line_before_any_request(api, registries, args, message):
    outcome = run(cr_image_copy, dict({"src": SRC, "dest": ["us.icr.io/team/app:1.0"]}, **args))
    assert outcome.failed and message in outcome.result["msg"] and "\n" not in outcome.result["msg"]
    assert registries.clients == [] and api.calls == []


def test_a_dest_digest_other_than_the_source_digest_fails_before_any_write(api, registries, source):
    dest = "us.icr.io/team/app@" + dg("f")
    outcome = run(cr_image_copy, {"src": SRC, "dest": [dest]})
    assert outcome.failed and "\n" not in outcome.result["msg"]
    assert outcome.result["msg"].startswith("dest %s names a digest other than the source's %s" % (dest, source.digest))
    assert registries.clients == [("quay.io", None)]  # only the source was read, anonymously
    assert api.calls == [] and registries["us.icr.io"].manifest_puts == []
    # A dest naming the source's own digest is fine.
    same = run(cr_image_copy, {"src": SRC, "dest": ["us.icr.io/team/app@" + source.digest]})
    assert not same.failed and same.result["digest"] == source.digest


def test_result_shape_then_idempotent(api, registries, source):
    args = {"src": SRC, "dest": ["de.icr.io/team/app:1.0", "us.icr.io/team/app"]}
    result = run(cr_image_copy, args).result
    sizes = sum(blob["size"] for blob in source.blobs())
    assert set(result) == {"changed", "digest", "media_type", "destinations", "namespaces_created"}
    assert result["changed"] and result["digest"] == source.digest and result["namespaces_created"] == []
    assert result["media_type"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert [d["name"] for d in result["destinations"]] == ["de.icr.io/team/app:1.0", "us.icr.io/team/app:1.0"]  # the source's tag
    for outcome in result["destinations"]:
        seconds = outcome.pop("seconds")
        assert isinstance(seconds, float) and seconds >= 0
        assert outcome == {"name": outcome["name"], "digest": source.digest, "changed": True, "namespace_created": False,
                           "blobs_copied": 3, "blobs_skipped": 0, "blobs_mounted": 0, "bytes_copied": sizes}
    for host in ("de.icr.io", "us.icr.io"):
        assert registries[host].manifests[("team/app", "1.0")].digest == source.digest
    assert ("https://de.icr.io", "iamapikey") in registries.clients
    again = run(cr_image_copy, args).result
    assert not again["changed"] and not any(d["changed"] for d in again["destinations"])
    assert len(registries["us.icr.io"].uploads) == 3 and api.writes == []


def test_create_namespace_in_check_mode_lists_it_and_creates_nothing(api, registries, source):
    args = {"src": SRC, "dest": ["us.icr.io/fresh/app:1.0"], "create_namespace": True}
    result = run(cr_image_copy, args, check=True).result
    assert result["changed"] and result["namespaces_created"] == ["us-south/fresh"]
    sizes = sum(blob["size"] for blob in source.blobs())
    (planned,) = result["destinations"]
    assert planned["name"] == "us.icr.io/fresh/app:1.0" and planned["changed"] and planned["namespace_created"]
    # every blob of the image would be copied: what the copy then does
    assert (planned["digest"], planned["blobs_copied"], planned["bytes_copied"]) == (source.digest, 3, sizes)
    assert api.writes == [] and "fresh" not in api.namespaces
    assert "us.icr.io" not in registries  # nothing asked of a namespace that does not exist yet
    done = run(cr_image_copy, args).result
    assert done["namespaces_created"] == ["us-south/fresh"] and api.writes == [("create_namespace", "fresh", None)]
    copied = done["destinations"][0]
    assert (copied["blobs_copied"], copied["bytes_copied"]) == (planned["blobs_copied"], planned["bytes_copied"])
    assert registries["us.icr.io"].manifests[("fresh/app", "1.0")].digest == source.digest
    assert run(cr_image_copy, args).result["namespaces_created"] == []


@pytest.mark.parametrize("status", [401, 403])
def test_a_refusal_into_a_missing_namespace_says_it_does_not_exist(api, registries, source, status):
    registries["us.icr.io"].error = IcrError("reading manifest ghost/app:1.0 failed: denied", status=status)
    outcome = run(cr_image_copy, {"src": SRC, "dest": ["us.icr.io/ghost/app:1.0"]})
    assert outcome.failed and outcome.result["msg"].startswith(
        "Namespace ghost does not exist in region us-south, so us.icr.io/ghost/app:1.0 cannot be written (reading "
        "manifest ghost/app:1.0 failed: denied). Create it with icr.registry.cr_namespace or set create_namespace: true")
    assert outcome.result["error"]["status"] == status and api.writes == []
    # Into a namespace that exists, the refusal is blamed on the API key, with the registry's words.
    other = run(cr_image_copy, {"src": SRC, "dest": ["us.icr.io/team/app:1.0"]})
    assert other.failed and "does not exist" not in other.result["msg"]
    assert other.result["msg"].startswith("The registry us.icr.io (region us-south) refused the API key for "
                                          "us.icr.io/team/app:1.0")
    assert "reading manifest ghost/app:1.0 failed: denied" in other.result["msg"]
