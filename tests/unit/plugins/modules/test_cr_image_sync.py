# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""cr_image_sync's module layer over in-memory registries and the fake ICR API (one fake for
every region here); the tag selection is tested in module_utils/test_sync_plan.py, the copy
engine in module_utils/test_copy_engine.py."""
import json

import pytest

from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError
from ansible_collections.icr.registry.plugins.module_utils.oci_manifest import OCI_INDEX, OCI_MANIFEST, Manifest
from ansible_collections.icr.registry.plugins.modules import cr_image_sync
from fake_registry import sha
from module_runner import run

SRC = "quay.io/org/app"


def publish(api, registry):
    """Make the fake API list what the fake us.icr.io registry holds (as ICR's API lists its registry)."""
    api.repos = {}
    for (repository, reference), manifest in registry.manifests.items():
        api.add_image("us.icr.io/" + repository, manifest.digest)
    for (repository, reference), manifest in registry.manifests.items():
        if not reference.startswith("sha256:"):
            api.repos["us.icr.io/" + repository][manifest.digest]["tags"].append(reference)


def signature_of(registry, repository, image, layer=b"signature"):
    """A cosign-style signature tag next to ``image``."""
    config = b"{}"
    registry.blobs[(repository, sha(config))] = config
    registry.blobs[(repository, sha(layer))] = layer
    raw = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                      "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": 2,
                                 "digest": sha(config)},
                      "layers": [{"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
                                  "size": len(layer), "digest": sha(layer)}]}).encode()
    manifest = Manifest.from_bytes(raw, OCI_MANIFEST)
    tag = "sha256-%s.sig" % image.digest.split(":")[1]
    registry.manifests[(repository, tag)] = registry.manifests[(repository, manifest.digest)] = manifest
    return tag, manifest


@pytest.fixture
def source(registries):
    quay = registries["quay.io"]
    images = {tag: quay.add_image("org/app", tag, layers=[b"base", ("layer " + tag).encode()])
              for tag in ("1.0.0", "1.2.0", "2.0.0", "latest")}
    signature_of(quay, "org/app", images["1.2.0"])
    return images


@pytest.mark.parametrize("args, message", [
    ({"tags": ["("]}, "tags: '(' is not a valid regular expression"),
    ({"exclude_tags": ["[a-"]}, "exclude_tags: '[a-' is not a valid regular expression"),
    ({"semver": "1.2 - 1.4"}, "hyphen ranges are not supported"),
    ({"semver": ">=banana"}, "is not a version or comparator"),
    ({"latest": 0}, "latest must be a whole number"),
    ({"parallel": 0}, "parallel must be a whole number"),
    ({"platforms": ["linux/amd64", "arm64"]}, "platforms: 'arm64' is not os/architecture[/variant]"),
    ({"src": "us.icr.io/team", "dest": ["us.icr.io/team"]}, "dest us.icr.io/team is the source us.icr.io/team itself"),
    ({"src": "us.icr.io/team/app", "dest": ["us.icr.io/team"]}, "is the source us.icr.io/team/app itself"),
    # The private endpoint serves the same namespace: a prune there would delete the source's tags.
    ({"src": "us.icr.io/team", "dest": ["private.us.icr.io/team"]}, "is the source us.icr.io/team itself"),
    ({"src": "private.us.icr.io/team/app", "dest": ["us.icr.io/team"]}, "is the source private.us.icr.io/team/app itself"),
    ({"src": "quay.io/org/app:1.0"}, "src quay.io/org/app:1.0 names an image"),
    ({"src": "us.icr.io"}, "src us.icr.io names a registry; name a namespace (us.icr.io/<namespace>)"),
    ({"dest": ["de.icr.io/team/app"]}, "dest de.icr.io/team/app names a repository"),
    ({"dest": ["quay.io/team"]}, "dest quay.io/team is not an ICR namespace"),
    ({"src": "us.icr.io/x"}, "Invalid namespace 'x'"),
    ({"dest": ["de.icr.io/team", "de.icr.io/team/"]}, "dest names the same namespace twice"),
    ({"dest": ["de.icr.io/team", "private.de.icr.io/team"]}, "dest names the same namespace twice"),
])
def test_bad_input_fails_in_one_line_before_any_request(api, registries, args, message):
    outcome = run(cr_image_sync, dict({"src": SRC, "dest": ["us.icr.io/team"]}, **args))
    assert outcome.failed and message in outcome.result["msg"] and "\n" not in outcome.result["msg"]
    assert registries.clients == [] and api.calls == []


def test_a_missing_namespace_fails_before_anything_is_copied(api, registries, source):
    outcome = run(cr_image_sync, {"src": SRC, "dest": ["us.icr.io/team", "us.icr.io/nowhere"]})
    assert outcome.failed and "Namespace nowhere does not exist" in outcome.result["msg"]
    assert registries["us.icr.io"].manifest_puts == []
    api.add_namespace("src-ns")
    missing = run(cr_image_sync, {"src": "us.icr.io/absent", "dest": ["us.icr.io/team"]})
    assert missing.failed and missing.result["msg"] == "src namespace absent does not exist in us.icr.io"


def test_sync_filters_copies_signatures_after_their_image_then_skips(api, registries, source):
    args = {"src": SRC, "dest": ["us.icr.io/team"], "semver": "^1"}
    result = run(cr_image_sync, args).result
    sig = "sha256-%s.sig" % source["1.2.0"].digest.split(":")[1]
    assert [(i["dest"], i["action"]) for i in result["images"]] == [
        ("us.icr.io/team/app:1.0.0", "copied"), ("us.icr.io/team/app:1.2.0", "copied"),
        ("us.icr.io/team/app:" + sig, "copied")]
    assert result["changed"] and (result["counts"]["copied"], result["counts"]["skipped"], result["counts"]["pruned"]) == (3, 0, 0)
    assert "skipped" not in result  # Ansible would take the task for skipped
    assert result["images"][1]["src"] == "quay.io/org/app:1.2.0"
    assert result["images"][1]["digest"] == source["1.2.0"].digest
    dest = registries["us.icr.io"]
    tags = [ref for repo, ref in dest.manifest_puts if not ref.startswith("sha256:")]
    assert sorted(tags) == sorted(["1.0.0", "1.2.0", sig]) and tags.index("1.2.0") < tags.index(sig)
    assert dest.manifests[("team/app", "1.2.0")].digest == source["1.2.0"].digest
    publish(api, dest)
    puts = list(dest.manifest_puts)
    again = run(cr_image_sync, args).result
    assert dest.manifest_puts == puts
    assert not again["changed"] and {i["action"] for i in again["images"]} == {"skipped"} and again["counts"]["skipped"] == 3
    assert api.writes == []


def test_check_mode_returns_the_plan_and_writes_nothing(api, registries, source):
    args = {"src": SRC, "dest": ["us.icr.io/team"], "tags": ["^[0-9]"], "latest": 2}
    planned = run(cr_image_sync, args, check=True).result
    sig = "us.icr.io/team/app:sha256-%s.sig" % source["1.2.0"].digest.split(":")[1]
    assert [(i["dest"], i["action"]) for i in planned["images"]] == [
        ("us.icr.io/team/app:1.2.0", "copied"), (sig, "copied"), ("us.icr.io/team/app:2.0.0", "copied")]
    assert registries["us.icr.io"].manifest_puts == [] and registries["us.icr.io"].uploads == []
    done = run(cr_image_sync, args).result
    assert done["images"] == planned["images"]


def test_diff_mode_shows_each_destination_tag_before_and_after(api, registries, source):
    run(cr_image_sync, {"src": SRC, "dest": ["us.icr.io/team"], "tags": ["^1\\.0"]})
    publish(api, registries["us.icr.io"])
    moved = registries["quay.io"].add_image("org/app", "1.0.0", layers=[b"base", b"rebuilt"])
    args = {"src": SRC, "dest": ["us.icr.io/team"], "tags": ["^1\\.0", "^2"], "prune": True, "signatures": False}
    diff = run(cr_image_sync, args, check=True, diff=True).result["diff"]
    assert diff["before"] == {"us.icr.io/team/app:1.0.0": source["1.0.0"].digest}
    assert diff["after"] == {"us.icr.io/team/app:1.0.0": moved.digest, "us.icr.io/team/app:2.0.0": source["2.0.0"].digest}
    run(cr_image_sync, args)
    publish(api, registries["us.icr.io"])
    args["tags"] = ["^2"]
    pruned = run(cr_image_sync, args, check=True, diff=True).result["diff"]
    assert pruned == {"before": {"us.icr.io/team/app:1.0.0": moved.digest}, "after": {}}


def test_prune_removes_what_no_longer_matches(api, registries, source):
    run(cr_image_sync, {"src": SRC, "dest": ["us.icr.io/team"]})
    publish(api, registries["us.icr.io"])
    args = {"src": SRC, "dest": ["us.icr.io/team"], "tags": ["^2"], "prune": True}
    planned = run(cr_image_sync, args, check=True).result
    pruned = sorted(i["dest"].rsplit(":", 1)[1] for i in planned["images"] if i["action"] == "pruned")
    sig = "sha256-%s.sig" % source["1.2.0"].digest.split(":")[1]
    assert pruned == sorted(["1.0.0", "1.2.0", "latest", sig]) and planned["changed"]
    assert api.writes == []
    result = run(cr_image_sync, args).result
    assert result["counts"]["pruned"] == 4
    assert sorted(call[1] for call in api.writes) == sorted("us.icr.io/team/app:" + tag for tag in pruned)


def test_prune_without_signatures_keeps_the_signatures_of_kept_images(api, registries, source):
    run(cr_image_sync, {"src": SRC, "dest": ["us.icr.io/team"]})
    publish(api, registries["us.icr.io"])
    sig = "sha256-%s.sig" % source["1.2.0"].digest.split(":")[1]
    args = {"src": SRC, "dest": ["us.icr.io/team"], "tags": ["^1"], "prune": True, "signatures": False}
    kept = run(cr_image_sync, args, check=True).result
    assert [i["dest"] for i in kept["images"] if i["action"] == "pruned"] == [
        "us.icr.io/team/app:2.0.0", "us.icr.io/team/app:latest"]
    args["tags"] = ["^1\\.0"]  # 1.2.0 goes, and its signature with it
    gone = run(cr_image_sync, args, check=True).result
    assert sorted(i["dest"].rsplit(":", 1)[1] for i in gone["images"] if i["action"] == "pruned") == sorted(
        ["1.2.0", "2.0.0", "latest", sig])


def test_referrers_from_the_api_are_copied_and_indexed_where_the_destination_has_no_api(api, registries, source):
    quay = registries["quay.io"]
    image = source["2.0.0"]
    _tag, referrer = signature_of(quay, "org/app", image, layer=b"an sbom")
    del quay.manifests[("org/app", _tag)]  # reachable by digest only, as the referrers API lists it
    descriptor = {"mediaType": OCI_MANIFEST, "digest": referrer.digest, "size": len(referrer.raw),
                  "artifactType": "application/spdx+json"}
    quay.referrers_index = {("org/app", image.digest): [descriptor]}
    result = run(cr_image_sync, {"src": SRC, "dest": ["us.icr.io/team"], "tags": ["^2"]}).result
    dest = registries["us.icr.io"]
    assert ("team/app", referrer.digest) in dest.manifests
    index = dest.manifests[("team/app", "sha256-" + image.digest.split(":")[1])]
    assert index.media_type == OCI_INDEX and index.json["manifests"] == [descriptor]
    assert {"dest": "us.icr.io/team/app@" + referrer.digest, "action": "copied"}.items() <= result["images"][-1].items()
    # A destination with the referrers API needs no index.
    other = registries["us.icr.io"]
    other.referrers_index = {}
    del other.manifests[("team/app", "sha256-" + image.digest.split(":")[1])]
    run(cr_image_sync, {"src": SRC, "dest": ["us.icr.io/team"], "tags": ["^2"]})
    assert ("team/app", "sha256-" + image.digest.split(":")[1]) not in other.manifests


def test_a_failed_image_leaves_no_tag_and_stops_the_others(api, registries, source):
    registries["us.icr.io"].blob_failures = [IcrError("refused", status=400)]
    outcome = run(cr_image_sync, {"src": SRC, "dest": ["us.icr.io/team"], "parallel": 1})
    assert outcome.failed and "refused" in outcome.result["msg"]
    dest = registries["us.icr.io"]
    assert [ref for _repo, ref in dest.manifest_puts if not ref.startswith("sha256:")] == []
    # The rerun completes.
    done = run(cr_image_sync, {"src": SRC, "dest": ["us.icr.io/team"]}).result
    assert done["counts"]["copied"] == 5 and dest.manifests[("team/app", "latest")].digest == source["latest"].digest


def add_index(registry, repository, tag, children):
    """An OCI index of ``children`` ({platform: Manifest} already in ``repository``) under ``tag``."""
    entries = [{"mediaType": child.media_type, "size": len(child.raw), "digest": child.digest,
                "platform": dict(zip(("os", "architecture"), platform.split("/")))}
               for platform, child in children.items()]
    raw = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}).encode()
    index = Manifest.from_bytes(raw, OCI_INDEX)
    registry.manifests[(repository, tag)] = registry.manifests[(repository, index.digest)] = index
    return index


def test_platforms_copy_a_new_index_without_the_source_signatures(api, registries):
    quay = registries["quay.io"]
    children = {platform: quay.add_image("org/multi", "build-" + platform.replace("/", "-"),
                                         layers=[platform.encode()])
                for platform in ("linux/amd64", "linux/arm64")}
    for tag in list(quay.manifests):
        if tag[1].startswith("build-"):
            del quay.manifests[tag]
    index = add_index(quay, "org/multi", "1.0", children)
    signature_of(quay, "org/multi", index)
    args = {"src": "quay.io/org/multi", "dest": ["us.icr.io/team"], "platforms": ["linux/arm64"]}
    result = run(cr_image_sync, args).result
    copied = registries["us.icr.io"].manifests[("team/multi", "1.0")]
    assert copied.digest != index.digest and [c["digest"] for c in copied.children()] == [children["linux/arm64"].digest]
    assert [(i["dest"], i["digest"]) for i in result["images"]] == [("us.icr.io/team/multi:1.0", copied.digest)]
    assert ("team/multi", children["linux/amd64"].digest) not in registries["us.icr.io"].manifests
    # Every platform: the index as it is, with its signature.
    whole = run(cr_image_sync, dict(args, platforms=["all"])).result
    assert [i["digest"] for i in whole["images"]] == [index.digest, quay.manifests[
        ("org/multi", "sha256-%s.sig" % index.digest.split(":")[1])].digest]


def test_what_the_listing_and_earlier_copies_tell_is_not_asked_again(api, registries, source):
    dest = registries["us.icr.io"]
    asked = {"head_manifest": [], "blob_exists": []}
    for name in asked:
        def counting(repository, reference, _name=name, _real=getattr(dest, name)):
            asked[_name].append(reference)
            return _real(repository, reference)
        setattr(dest, name, counting)
    result = run(cr_image_sync, {"src": SRC, "dest": ["us.icr.io/team"], "parallel": 1}).result
    assert result["counts"]["copied"] == 5
    # The destination listing said which tags are missing: no manifest HEAD; each blob asked once
    # (the base layer that all four images share, too).
    assert asked["head_manifest"] == []
    assert sorted(asked["blob_exists"]) == sorted(set(asked["blob_exists"]))
    assert sha(b"base") in asked["blob_exists"]
