"""cr_image_sync against the sandbox: what the registries keep of signatures and OCI referrers
(as ICR does: manifests with ``subject`` stored as they are, no referrers API), a sync cut off
half-way that a rerun completes, and the warm contract counted from the request log."""

import json
import os
import subprocess
import sys

import pytest

from conftest import endpoints_path
from module_process import collection_path, run_module
from test_reliability_errors import push_image
from test_reliability_interrupt import served_digest

sys.path.insert(0, str(collection_path()))

# pylint: disable=wrong-import-position
from ansible_collections.icr.registry.plugins.module_utils.oci_registry import (  # noqa: E402
    RegistryClient, repository_scope)


@pytest.fixture(scope="module")
def env(endpoints):
    return {"IC_API_KEY": endpoints["api_key"], "ICR_ENDPOINTS": endpoints_path()}


@pytest.fixture(scope="module")
def namespaces(env):
    names = ["syn" + os.urandom(4).hex() for _ in range(2)]
    assert run_module("cr_namespace", {"name": names[0], "region": "us-south"}, env)["changed"] is True
    yield names
    for region, name in (("us-south", names[0]), ("eu-de", names[1])):
        run_module("cr_namespace", {"name": name, "region": region, "state": "absent", "force": True}, env)


def skopeo(*args):
    done = subprocess.run(["skopeo", *args], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_registry_keeps_signatures_and_referrers_and_has_no_referrers_api(endpoints, namespaces):
    registry = endpoints["regions"]["us-south"]["registry"]
    repo = "%s/signed" % namespaces[0]
    digest = push_image(registry, repo, "1", endpoints["api_key"], seed=repo, sign=True)
    creds = "--creds=iamapikey:%s" % endpoints["api_key"]
    stem = "sha256-" + digest.split(":")[1]
    tags = json.loads(skopeo("list-tags", "--tls-verify=false", creds, "docker://%s/%s" % (registry, repo)))["Tags"]
    assert sorted(tags) == sorted(["1", stem, stem + ".sig"])
    index = json.loads(skopeo("inspect", "--raw", "--tls-verify=false", creds, "docker://%s/%s:%s" % (registry, repo, stem)))
    referrer = index["manifests"][0]
    raw = skopeo("inspect", "--raw", "--tls-verify=false", creds, "docker://%s/%s@%s" % (registry, repo, referrer["digest"]))
    artifact = json.loads(raw)
    # Stored as pushed: subject and artifactType kept, so the digest still names these bytes.
    assert artifact["subject"]["digest"] == digest and artifact["artifactType"] == referrer["artifactType"]
    # No referrers API (none is documented for ICR): clients fall back to the tag schema above.
    client = RegistryClient(registry, username="iamapikey", password=endpoints["api_key"])
    answer = client.request("GET", "/v2/%s/referrers/%s" % (repo, digest), [repository_scope(repo, ["pull"])],
                            ok=(404,))
    answer.close()
    assert client.referrers(repo, digest) is None


def test_a_sync_cut_off_half_way_leaves_whole_images_and_a_rerun_completes_then_reads_only(
        endpoints, control, env, namespaces, no_faults):
    src_ns, dest_ns = namespaces
    registry = endpoints["regions"]["us-south"]["registry"]
    digests = {}
    for repo, tag in (("a", "1.0"), ("a", "1.1"), ("b", "1.0"), ("b", "2.0")):
        digests[(repo, tag)] = push_image(registry, "%s/%s" % (src_ns, repo), tag, endpoints["api_key"],
                                          seed="%s-%s-%s" % (src_ns, repo, tag), sign=(repo, tag) == ("a", "1.1"))
    args = {"src": "us.icr.io/%s" % src_ns, "dest": "de.icr.io/%s" % dest_ns, "create_namespace": True,
            "parallel": 2, "retries": 0}
    # The destination takes repository a and refuses every manifest write to b.
    control.set_faults([{"kind": "v2", "region": "eu-de", "method": "PUT", "path_regex": "/b/manifests/",
                         "status": 503}])
    cut = run_module("cr_image_sync", args, env)
    control.clear_faults()
    assert cut.get("failed") and "\n" not in cut["msg"]
    for (repo, tag), digest in digests.items():
        assert served_digest(endpoints, "eu-de", "de.icr.io/%s/%s:%s" % (dest_ns, repo, tag)) in (None, digest)
        assert repo == "a" or served_digest(endpoints, "eu-de", "de.icr.io/%s/%s:%s" % (dest_ns, repo, tag)) is None

    done = run_module("cr_image_sync", dict(args, retries=3), env)
    assert not done.get("failed"), done.get("msg")
    assert done["changed"] and done["counts"]["copied"] >= 1
    for (repo, tag), digest in digests.items():
        assert served_digest(endpoints, "eu-de", "de.icr.io/%s/%s:%s" % (dest_ns, repo, tag)) == digest

    control.clear_requests()
    warm = run_module("cr_image_sync", args, env)
    log = control.requests()["requests"]
    # Beside a and b the namespace holds the signed image of the test above (3 tags).
    assert not warm["changed"] and warm["counts"] == {"copied": 0, "skipped": 9, "pruned": 0}
    assert [r for r in log if r["mutating"]] == []
    v2 = [r for r in log if r["kind"] == "v2" and r["path"] != "/v2/"]
    repos, selected_tags, sides = 3, 9, 2
    assert len([r for r in v2 if r["path"].endswith("/tags/list")]) <= repos * sides
    assert len([r for r in v2 if "/manifests/" in r["path"]]) <= selected_tags * sides
    assert [r for r in v2 if "/blobs/" in r["path"]] == []
