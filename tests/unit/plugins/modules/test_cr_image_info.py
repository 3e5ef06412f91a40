# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
from ansible_collections.icr.registry.plugins.modules import cr_image_info
from fake_api import LIST_TYPE, dg

REPO = "us.icr.io/team/app"


def test_info_shapes_digest_listings():
    items = [{"id": dg("a"), "created": 5, "size": 7, "manifestType": "x",
              "repoTags": {REPO: {"1.0": {}}, "us.icr.io/other/app": {}}},
             {"id": dg("l"), "created": 9, "size": 1, "manifestType": LIST_TYPE, "repoTags": {REPO: {"multi": {}}}}]
    entries = cr_image_info.from_digests(items, namespace="team")
    assert [(e["repository"], e["digest"], e["tags"]) for e in entries] == [(REPO, dg("a"), ["1.0"])]
    assert len(cr_image_info.from_digests(items, include_manifest_lists=True)) == 3
    assert [e["repository"] for e in cr_image_info.from_digests(items, repository="us.icr.io/other/app")] == \
        ["us.icr.io/other/app"]


def test_info_shapes_image_listings():
    items = [{"Id": dg("c"), "Created": 5, "Size": 7, "ManifestType": "x",
              "RepoTags": [REPO + ":1.0", REPO + ":latest"], "RepoDigests": [REPO + "@" + dg("a")]}]
    assert cr_image_info.from_images(items) == [{
        "repository": REPO, "digest": dg("a"), "repo_digest": REPO + "@" + dg("a"), "tags": ["1.0", "latest"],
        "created": 5, "size": 7, "manifest_type": "x"}]
