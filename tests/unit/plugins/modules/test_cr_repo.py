# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
import json

import pytest

from ansible_collections.icr.registry.plugins.module_utils.icr_images import RepositoryDigests
from ansible_collections.icr.registry.plugins.module_utils.icr_module import IcrModule
from ansible_collections.icr.registry.plugins.modules import cr_repo
from fake_api import LIST_TYPE, dg
from module_runner import patch_exits, run

REPO = "us.icr.io/team/app"


def listing(fake):
    return RepositoryDigests.read(fake, REPO)


def test_absent_deletes_everything_in_one_bulk_call(api):
    for i, char in enumerate("abcdef"):
        api.add_image(REPO, dg(char), ["t%d" % i] if i % 2 else [], created=i + 1)
    api.add_image("us.icr.io/team/other", dg("9"), ["keep"])
    result = run(cr_repo, {"name": REPO, "state": "absent"}).result
    assert result["changed"] and len(result["deleted"]) == 6 and result["kept"] == 0
    assert [w[0] for w in api.writes] == ["bulk_delete_images"] and len(api.writes[0][1]) == 6
    assert api.repos["us.icr.io/team/other"]
    assert not run(cr_repo, {"name": REPO, "state": "absent"}).result["changed"]
    assert len(api.writes) == 1


def test_present_without_rules_leaves_the_repository_alone(api):
    api.add_image(REPO, dg("a"), [])
    result = run(cr_repo, {"name": REPO}).result
    assert not result["changed"] and api.writes == []


def test_prune_and_keep_latest(api):
    api.add_image(REPO, dg("1"), ["old"], created=100)
    api.add_image(REPO, dg("2"), [], created=200)
    api.add_image(REPO, dg("3"), ["mid"], created=300)
    api.add_image(REPO, dg("4"), ["new"], created=400)
    api.add_image(REPO, dg("5"), ["undated"], created=0)
    check = run(cr_repo, {"name": REPO, "keep_latest": 2}, check=True).result
    assert [e["digest"] for e in check["deleted"]] == [dg("2"), dg("1")] and api.writes == []
    pruned = run(cr_repo, {"name": REPO, "prune_untagged": True}).result
    assert [e["digest"] for e in pruned["deleted"]] == [dg("2")]
    kept = run(cr_repo, {"name": REPO, "keep_latest": 2}).result
    assert [e["digest"] for e in kept["deleted"]] == [dg("1")] and kept["kept"] == 3
    assert not run(cr_repo, {"name": REPO, "keep_latest": 2, "prune_untagged": True}).result["changed"]


def test_children_of_a_kept_list_are_never_pruned(api):
    api.add_image(REPO, dg("l"), ["multi"], created=0, manifest_type=LIST_TYPE,
                  manifest=json.dumps({"manifests": [{"digest": dg("c")}]}))
    api.add_image(REPO, dg("c"), [], created=10)
    api.add_image(REPO, dg("u"), [], created=20)
    assert cr_repo.doomed_digests(listing(api), {dg("c")}, prune_untagged=True) == {dg("u")}
    result = run(cr_repo, {"name": REPO, "prune_untagged": True, "keep_latest": 0}).result
    assert [e["digest"] for e in result["deleted"]] == [dg("u")]


def test_repo_name_must_not_carry_a_tag(api):
    outcome = run(cr_repo, {"name": REPO + ":1.0", "state": "absent"})
    assert outcome.failed and "without tag or digest" in outcome.result["msg"] and api.reads == []


@pytest.mark.parametrize("keep_latest", [-1, True])
def test_keep_latest_must_be_a_whole_number_before_any_request(monkeypatch, keep_latest):
    monkeypatch.setattr(IcrModule, "api", lambda self, region=None: pytest.fail("no API call expected"))
    patch_exits(monkeypatch)
    outcome = run(cr_repo, {"name": REPO, "keep_latest": keep_latest})
    assert outcome.failed and "keep_latest must be a whole number of at least 0" in outcome.result["msg"]
