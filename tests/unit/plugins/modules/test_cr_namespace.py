# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
import pytest

from ansible_collections.icr.registry.plugins.module_utils.icr_module import IcrModule
from ansible_collections.icr.registry.plugins.modules import cr_namespace
from fake_api import dg
from module_runner import patch_exits, run


def test_create_then_idempotent(api):
    first = run(cr_namespace, {"name": "team-apps", "resource_group_id": "rg1"})
    assert not first.failed and first.result["changed"]
    assert first.result["namespace"]["resource_group"] == "rg1"
    assert api.writes == [("create_namespace", "team-apps", "rg1")]
    second = run(cr_namespace, {"name": "team-apps", "resource_group_id": "rg1"})
    assert not second.result["changed"] and second.result["actions"] == []
    assert len(api.writes) == 1


def test_check_mode_predicts_without_writing(api):
    result = run(cr_namespace, {"name": "team-apps", "resource_group_id": "rg1"}, check=True, diff=True).result
    assert result["changed"] and api.writes == []
    assert result["diff"] == {"before": {}, "after": {"name": "team-apps", "resource_group": "rg1"}}


def test_diff_on_delete(api):
    api.add_namespace("team-apps", resource_group="rg1")
    result = run(cr_namespace, {"name": "team-apps", "state": "absent"}, diff=True).result
    assert result["changed"] and result["diff"] == {"before": {"name": "team-apps", "resource_group": "rg1"},
                                                    "after": {}}
    again = run(cr_namespace, {"name": "team-apps", "state": "absent"}).result
    assert not again["changed"] and api.writes == [("delete_namespace", "team-apps")]


def test_assigns_unassigned_namespace_once(api):
    api.add_namespace("legacy-ns", resource_group="")
    first = run(cr_namespace, {"name": "legacy-ns", "resource_group_id": "rg2"}).result
    assert first["changed"] and api.writes == [("assign_namespace", "legacy-ns", "rg2")]
    assert not run(cr_namespace, {"name": "legacy-ns", "resource_group_id": "rg2"}).result["changed"]


def test_other_group_is_an_error_not_a_move(api):
    api.add_namespace("team-apps", resource_group="rg1")
    outcome = run(cr_namespace, {"name": "team-apps", "resource_group_id": "rg2"})
    assert outcome.failed and "is in resource group rg1, not rg2" in outcome.result["msg"]
    assert api.writes == []


def test_existing_namespace_without_group_option_is_left_alone(api):
    api.add_namespace("team-apps", resource_group="rg1")
    assert not run(cr_namespace, {"name": "team-apps"}).result["changed"]


@pytest.mark.parametrize("name,rule", [("abc", "4 to 30"), ("Team", "only lowercase"), ("-abcd", "start and end")])
def test_invalid_name_fails_before_any_call(monkeypatch, name, rule):
    def no_network(self, region=None):
        raise AssertionError("no API call expected")
    monkeypatch.setattr(IcrModule, "api", no_network)
    patch_exits(monkeypatch)
    outcome = run(cr_namespace, {"name": name})
    assert outcome.failed and rule in outcome.result["msg"]


def seed_images(api):
    api.add_namespace("team-apps", resource_group="rg1")
    api.add_image("us.icr.io/team-apps/app", dg("1"), ["1.0"], created=10)
    api.add_image("us.icr.io/team-apps/app", dg("2"), [], created=20)
    api.add_image("us.icr.io/team-apps/web", dg("3"), ["latest", "2.0"], created=30)
    api.add_image("us.icr.io/team/other", dg("9"), ["keep"], created=5)


def test_absent_refuses_a_namespace_that_holds_images_without_force(api):
    seed_images(api)
    for check in (False, True):
        outcome = run(cr_namespace, {"name": "team-apps", "state": "absent"}, check=check)
        assert outcome.failed and outcome.result["msg"] == (
            "Namespace team-apps holds 3 images in 2 repositories (us.icr.io/team-apps/app, us.icr.io/team-apps/web); "
            "deleting it deletes them for good (they do not go to the trash): set force: true to delete it anyway")
    assert api.writes == [] and "team-apps" in api.namespaces
    assert ("list_image_digests", None, False) in api.reads  # tagged and untagged


def test_check_and_diff_mode_list_the_images_that_would_go(api):
    seed_images(api)
    result = run(cr_namespace, {"name": "team-apps", "state": "absent", "force": True}, check=True, diff=True).result
    assert result["changed"] and api.writes == []
    assert [e["reference"] for e in result["deleted"]] == [
        "us.icr.io/team-apps/app@" + dg("2"), "us.icr.io/team-apps/app@" + dg("1"), "us.icr.io/team-apps/web@" + dg("3")]
    assert result["diff"] == {"before": {"name": "team-apps", "resource_group": "rg1", "images": {
        "us.icr.io/team-apps/app@" + dg("1"): ["1.0"], "us.icr.io/team-apps/app@" + dg("2"): [],
        "us.icr.io/team-apps/web@" + dg("3"): ["2.0", "latest"]}}, "after": {}}


def test_force_deletes_the_namespace_with_its_images(api):
    seed_images(api)
    result = run(cr_namespace, {"name": "team-apps", "state": "absent", "force": True}).result
    assert result["changed"] and len(result["deleted"]) == 3
    assert api.writes == [("delete_namespace", "team-apps")] and "us.icr.io/team/other" in api.repos
    again = run(cr_namespace, {"name": "team-apps", "state": "absent", "force": True}).result
    assert not again["changed"] and again["deleted"] == []


def test_many_repositories_are_named_up_to_ten(api):
    api.add_namespace("team-apps")
    for i in range(12):
        api.add_image("us.icr.io/team-apps/r%02d" % i, dg("a"), ["t"])
    msg = run(cr_namespace, {"name": "team-apps", "state": "absent"}).result["msg"]
    assert "holds 12 images in 12 repositories (us.icr.io/team-apps/r00, " in msg
    assert "us.icr.io/team-apps/r09, ...)" in msg and "r10" not in msg
