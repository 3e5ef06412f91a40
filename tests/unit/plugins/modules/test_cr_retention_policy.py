# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
import pytest

from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError
from ansible_collections.icr.registry.plugins.module_utils.icr_module import IcrModule
from ansible_collections.icr.registry.plugins.modules import cr_retention_policy as mod
from fake_api import dg
from module_runner import patch_exits, run


@pytest.fixture
def api(api):
    """conftest's fake with the namespace team-a: three images in app (created 1 to 3), one in empty."""
    for created in (1, 2, 3):
        api.add_image("us.icr.io/team-a/app", dg(str(created)), ["v%d" % created], created=created)
    api.add_image("us.icr.io/team-a/empty", dg("e"), ["only"], created=1)
    return api


@pytest.mark.parametrize("value, expected", [
    (None, None), ("all", -1), ("All", -1), (-1, -1), ("-1", -1), (0, 0), (5, 5), ("12", 12), (" 7 ", 7)])
def test_parse_images_per_repo(value, expected):
    assert mod.parse_images_per_repo(value) == expected


@pytest.mark.parametrize("value", ["some", -2, "-2", True, 2.5, "", [3], "--3", "1.5", 2 ** 63])
def test_parse_images_per_repo_refuses(value):
    with pytest.raises(IcrError, match="images_per_repo"):
        mod.parse_images_per_repo(value)


def test_normalize_policy_defaults_to_keep_all():
    assert mod.normalize_policy("ns1", None) == {"namespace": "ns1", "images_per_repo": -1, "retain_untagged": False}
    assert mod.normalize_policy("ns1", {"images_per_repo": 4}) == {
        "namespace": "ns1", "images_per_repo": 4, "retain_untagged": False}


def test_desired_policy_keeps_what_is_not_given():
    current = {"namespace": "ns1", "images_per_repo": 5, "retain_untagged": True}
    assert mod.desired_policy(current, "present", images_per_repo=3)["retain_untagged"] is True
    assert mod.desired_policy(current, "present", retain_untagged=False)["images_per_repo"] == 5


def test_absent_switches_off_and_ignores_retain_untagged_of_an_off_policy():
    on = {"namespace": "ns1", "images_per_repo": 5, "retain_untagged": True}
    assert mod.desired_policy(on, "absent") == {"namespace": "ns1", "images_per_repo": -1, "retain_untagged": False}
    off = {"namespace": "ns1", "images_per_repo": -1, "retain_untagged": True}
    assert mod.desired_policy(off, "absent") == off


def test_shape_analysis_sorts_and_drops_empty_repositories():
    assert mod.shape_analysis({"b": ["y", "x"], "a": [], "c": ["z"]}) == {"b": ["x", "y"], "c": ["z"]}
    assert mod.shape_analysis(None) == {}


def test_check_mode_returns_analysis_and_sets_nothing(api):
    out = run(mod, {"namespace": "team-a", "images_per_repo": 1}, check=True, diff=True)
    assert not out.failed and out.result["changed"]
    assert api.writes == [] and api.calls_to("analyze_retention_policy") == [("team-a", 1, False)]
    assert out.result["deleted_count"] == 2 and list(out.result["analysis"]) == ["us.icr.io/team-a/app"]
    assert out.result["diff"]["before"]["images_per_repo"] == -1
    assert out.result["diff"]["after"]["images_per_repo"] == 1


def test_set_then_idempotent(api):
    first = run(mod, {"namespace": "team-a", "images_per_repo": "2", "retain_untagged": True})
    assert first.result["changed"] and api.writes == [("set_retention_policy", "team-a", 2, True)]
    assert first.result["policy"] == {"namespace": "team-a", "images_per_repo": 2, "retain_untagged": True,
                                      "enabled": True}
    second = run(mod, {"namespace": "team-a", "images_per_repo": 2, "retain_untagged": True})
    assert not second.result["changed"] and len(api.writes) == 1 and len(api.calls_to("analyze_retention_policy")) == 1
    assert second.result["analysis"] == {} and second.result["deleted_count"] == 0


def test_absent_sets_keep_all_without_analysis(api):
    api.policies["team-a"] = {"images_per_repo": 4, "retain_untagged": True}
    out = run(mod, {"namespace": "team-a", "state": "absent"})
    assert out.result["changed"] and api.writes == [("set_retention_policy", "team-a", -1, False)]
    assert api.calls_to("analyze_retention_policy") == []
    assert out.result["policy"]["enabled"] is False
    assert not run(mod, {"namespace": "team-a", "state": "absent"}).result["changed"]


def test_a_404_reads_as_no_policy(api):
    api.fail("get_retention_policy", IcrError("not found", status=404))
    out = run(mod, {"namespace": "team-a", "state": "absent"})
    assert not out.failed and not out.result["changed"]


@pytest.mark.parametrize("args, message", [
    ({"namespace": "team-a"}, "needs images_per_repo or retain_untagged"),
    ({"namespace": "team-a", "state": "absent", "images_per_repo": 3}, "state=present only"),
    ({"namespace": "Team_A!", "images_per_repo": 3}, "namespace"),
    ({"namespace": "team-a", "images_per_repo": "many"}, "images_per_repo"),
])
def test_bad_arguments_fail_in_one_line(api, args, message):
    out = run(mod, args)
    assert out.failed and message in out.result["msg"] and "\n" not in out.result["msg"]
    assert api.writes == []


@pytest.mark.parametrize("args, message", [
    ({"images_per_repo": -3}, "images_per_repo must be a whole number of at least 0, or -1 ('all': keep all images)"),
    ({"images_per_repo": "--3"}, "got '--3'"),
    ({"state": "present"}, "state=present needs images_per_repo or retain_untagged"),
    ({"namespace": "ab"}, "4 to 30"),
])
def test_bad_options_fail_before_any_request(monkeypatch, args, message):
    monkeypatch.setattr(IcrModule, "api", lambda self, region=None: pytest.fail("no API call expected"))
    patch_exits(monkeypatch)
    out = run(mod, dict({"namespace": "team-a"}, **args))
    assert out.failed and message in out.result["msg"]


@pytest.mark.parametrize("zero", [0, "0", " 0 "])
def test_zero_images_per_repo_is_refused_before_any_request_unless_allowed(monkeypatch, zero):
    monkeypatch.setattr(IcrModule, "api", lambda self, region=None: pytest.fail("no API call expected"))
    patch_exits(monkeypatch)
    out = run(mod, {"namespace": "team-a", "images_per_repo": zero}, check=True)
    assert out.failed and out.result["msg"] == (
        "images_per_repo 0 keeps no image: it would move every image of namespace team-a to the trash, now and "
        "daily; set allow_delete_all: true if that is what you want")


def test_zero_with_allow_delete_all_trashes_every_dated_image(api):
    preview = run(mod, {"namespace": "team-a", "images_per_repo": 0, "allow_delete_all": True}, check=True).result
    assert preview["changed"] and preview["deleted_count"] == 4 and api.writes == []
    out = run(mod, {"namespace": "team-a", "images_per_repo": 0, "allow_delete_all": True}).result
    assert out["changed"] and api.writes == [("set_retention_policy", "team-a", 0, False)]
    assert not api.repos["us.icr.io/team-a/app"] and len(api.trash) == 4
