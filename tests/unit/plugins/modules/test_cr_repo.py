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


def test_untagged_images_being_pruned_do_not_count_toward_keep_latest(api):
    # The documented example: keep the five newest images and no untagged digest.
    for i in range(1, 8):
        api.add_image(REPO, dg(str(i)), ["v%d" % i], created=i * 10)
    for char, created in (("a", 100), ("b", 200), ("c", 5)):
        api.add_image(REPO, dg(char), [], created=created)  # two untagged images newer than every tagged one
    assert cr_repo.doomed_digests(listing(api), set(), prune_untagged=True, keep_latest=5) == {
        dg("a"), dg("b"), dg("c"), dg("1"), dg("2")}
    result = run(cr_repo, {"name": REPO, "keep_latest": 5, "prune_untagged": True}).result
    assert result["kept"] == 5 and sorted(api.repos[REPO]) == [dg(str(i)) for i in range(3, 8)]
    assert not run(cr_repo, {"name": REPO, "keep_latest": 5, "prune_untagged": True}).result["changed"]


def test_keep_latest_alone_still_counts_untagged_images(api):
    api.add_image(REPO, dg("1"), ["old"], created=10)
    api.add_image(REPO, dg("a"), [], created=20)
    assert cr_repo.doomed_digests(listing(api), set(), keep_latest=1) == {dg("1")}


def test_diff_lists_the_victims_with_their_tags_and_check_mode_changes_nothing(api):
    api.add_image(REPO, dg("1"), ["1.0", "stable"], created=10)
    api.add_image(REPO, dg("2"), [], created=20)
    for state_args in ({"state": "absent"}, {"prune_untagged": True}):
        result = run(cr_repo, dict({"name": REPO}, **state_args), check=True, diff=True).result
        assert result["changed"] and api.writes == []
        assert result["diff"]["before"] == {"images": {REPO + "@" + dg("1"): ["1.0", "stable"],
                                                       REPO + "@" + dg("2"): []}}
    assert result["diff"]["after"] == {"images": {REPO + "@" + dg("1"): ["1.0", "stable"]}}
    gone = run(cr_repo, {"name": REPO, "state": "absent"}, diff=True).result
    assert gone["diff"]["after"] == {"images": {}} and len(gone["deleted"]) == 2
    assert "diff" not in run(cr_repo, {"name": REPO, "state": "absent"}).result
