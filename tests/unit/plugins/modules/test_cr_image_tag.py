# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
from ansible_collections.icr.registry.plugins.modules import cr_image_tag
from fake_api import dg
from module_runner import run

REPO = "us.icr.io/team/app"


def test_creates_moves_and_keeps_tags(api):
    api.add_image(REPO, dg("a"), ["1.0"])
    api.add_image(REPO, dg("b"), ["stable"])
    outcome = run(cr_image_tag, {"name": REPO + ":1.0", "tags": ["stable", "us.icr.io/team/other", "1.0"]},
                  diff=True)
    result = outcome.result
    assert not outcome.failed and result["changed"] and result["digest"] == dg("a")
    assert result["tags"] == [
        {"name": REPO + ":stable", "action": "moved", "before": dg("b"), "after": dg("a")},
        {"name": "us.icr.io/team/other:1.0", "action": "created", "before": None, "after": dg("a")},
        {"name": REPO + ":1.0", "action": "unchanged", "before": dg("a"), "after": dg("a")}]
    assert result["diff"]["before"][REPO + ":stable"] == dg("b")
    # the source is named by digest, so a moving source tag cannot change what is tagged
    assert api.writes == [("tag_image", REPO + "@" + dg("a"), REPO + ":stable"),
                          ("tag_image", REPO + "@" + dg("a"), "us.icr.io/team/other:1.0")]
    again = run(cr_image_tag, {"name": REPO + ":1.0", "tags": ["stable", "us.icr.io/team/other"]}).result
    assert not again["changed"] and len(api.writes) == 2


def test_force_false_refuses_a_move_and_changes_nothing(api):
    api.add_image(REPO, dg("a"), ["1.0"])
    api.add_image(REPO, dg("b"), ["stable"])
    outcome = run(cr_image_tag, {"name": REPO + ":1.0", "tags": ["new", "stable"], "force": False})
    assert outcome.failed and "force is false" in outcome.result["msg"] and dg("b") in outcome.result["msg"]
    assert api.writes == []


def test_cross_region_target_fails_before_any_call(api):
    outcome = run(cr_image_tag, {"name": REPO + ":1.0", "tags": ["de.icr.io/team/app:1.0"]})
    assert outcome.failed and "cr_image_copy" in outcome.result["msg"] and "eu-de" in outcome.result["msg"]
    assert api.reads == [] and api.writes == []


def test_absent_removes_only_named_existing_tags(api):
    api.add_image(REPO, dg("a"), ["1.0", "candidate", "keep"])
    result = run(cr_image_tag, {"name": REPO + ":1.0", "tags": ["candidate", "gone"], "state": "absent"}).result
    assert result["changed"] and api.writes == [("untag_image", REPO + ":candidate")]
    assert [(item["name"], item["action"]) for item in result["tags"]] == \
        [(REPO + ":candidate", "removed"), (REPO + ":gone", "absent")]
    assert api.repos[REPO][dg("a")]["tags"] == ["1.0", "keep"]


def test_check_mode_writes_nothing(api):
    api.add_image(REPO, dg("a"), ["1.0"])
    result = run(cr_image_tag, {"name": REPO + ":1.0", "tags": ["stable"]}, check=True).result
    assert result["changed"] and result["tags"][0]["action"] == "created" and api.writes == []


def test_missing_source_and_digest_target_are_errors(api):
    assert "does not exist" in run(cr_image_tag, {"name": REPO + ":nope", "tags": ["x"]}).result["msg"]
    outcome = run(cr_image_tag, {"name": REPO + ":1.0", "tags": [REPO + "@" + dg("c")]})
    assert outcome.failed and "must be a tag" in outcome.result["msg"]


def test_the_former_option_name_source_still_names_the_image(api):
    api.add_image(REPO, dg("a"), ["1.0"])
    result = run(cr_image_tag, {"source": REPO + ":1.0", "tags": ["stable"]}).result
    assert result["changed"] and result["digest"] == dg("a")
    assert api.writes == [("tag_image", REPO + "@" + dg("a"), REPO + ":stable")]
