# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
import pytest

from ansible_collections.icr.registry.plugins.module_utils.icr_api import trash_entry
from ansible_collections.icr.registry.plugins.modules import cr_image_restore as mod
from module_runner import run

REPO = "us.icr.io/team-a/app"
OLD, NEW, OTHER = ("sha256:" + c * 64 for c in "abc")


@pytest.fixture
def api(api):
    """conftest's fake with the namespace team-a; every digest listing the module makes is of REPO only."""
    api.add_namespace("team-a")
    yield api
    assert all(args == ([REPO], False) for args in api.calls_to("list_image_digests"))


def seed(api, live=None, trash=None):
    """``live``: {tag: digest} in REPO; ``trash``: {digest: [tags]} trashed from REPO."""
    for tag, digest in (live or {}).items():
        api.add_image(REPO, digest, [tag])
    for digest, tags in (trash or {}).items():
        api.add_trash(REPO, digest, tags)
    return api


def test_trash_entry_shapes_icr_map_entries():
    entry = trash_entry(REPO + "@" + OLD, {"daysUntilExpiry": 29, "tags": ["latest", REPO + ":1.0"]})
    assert entry == {"reference": REPO + "@" + OLD, "repository": REPO, "namespace": "team-a",
                     "digest": OLD, "tags": ["1.0", "latest"], "days_until_expiry": 29}


def test_live_state_reads_only_the_repository():
    digests = [{"id": OLD, "repoTags": {REPO: {"1.0": {}}, "us.icr.io/team-a/other": {"x": {}}}},
               {"id": NEW, "repoTags": {REPO: {}}},
               {"id": OTHER, "repoTags": {"us.icr.io/team-a/other": {"y": {}}}}]
    assert mod.live_state(digests, REPO) == ({"1.0": OLD}, {OLD, NEW})


@pytest.mark.parametrize("live, expected", [
    ({}, ("restore", NEW)),            # the most recently deleted holder of the tag
    ({"1.0": OLD}, ("live", OLD)),     # already back with a trashed image
    ({"1.0": OTHER}, ("conflict", NEW)),
])
def test_plan_tag_restore(live, expected):
    entries = [{"digest": OLD, "tags": ["1.0"], "days_until_expiry": 3},
               {"digest": NEW, "tags": ["1.0", "2.0"], "days_until_expiry": 29}]
    assert mod.plan_tag_restore(entries, live, "1.0") == expected


def test_plan_tag_restore_unknown_tag():
    assert mod.plan_tag_restore([], {}, "9.9") == (None, None)
    assert mod.plan_tag_restore([], {"9.9": OLD}, "9.9") == ("live", OLD)


def test_plan_digest_restore():
    entry = {"digest": OLD, "tags": ["a", "b", "c"]}
    assert mod.plan_digest_restore(entry, {"b": OLD, "c": OTHER}, {OLD, OTHER}, OLD) == (False, ["a"], ["c"])
    assert mod.plan_digest_restore(entry, {}, set(), OLD) == (True, ["a", "b", "c"], [])


def test_restore_tag_then_idempotent(api):
    seed(api, trash={OLD: ["1.0"]})
    first = run(mod, {"name": REPO + ":1.0"})
    assert not first.failed and first.result["changed"]
    assert first.result["restored_tags"] == ["1.0"] and first.result["digest"] == OLD
    assert first.result["digest_restored"] is True
    second = run(mod, {"name": REPO + ":1.0"})
    assert not second.result["changed"] and second.result["restored_tags"] == []
    assert api.writes == [("restore_tag", REPO + ":1.0")]


def test_live_tag_with_another_image_is_a_conflict_not_a_failure(api):
    seed(api, live={"1.0": OTHER}, trash={OLD: ["1.0"]})
    out = run(mod, {"name": REPO + ":1.0"})
    assert not out.failed and not out.result["changed"]
    assert out.result["conflicting_tags"] == ["1.0"] and api.writes == []
    assert len(api.warnings) == 1 and "untag it first" in api.warnings[0]


def test_a_409_from_icr_is_a_conflict_too(api, monkeypatch):
    seed(api, trash={OLD: ["1.0"]})
    monkeypatch.setattr(api, "list_image_digests", lambda **kw: [])  # the tag went live after we looked
    api.add_image(REPO, OTHER, ["1.0"])
    out = run(mod, {"name": REPO + ":1.0"})
    assert not out.failed and not out.result["changed"] and out.result["conflicting_tags"] == ["1.0"]


def test_restore_digest_with_tags_reports_conflicts_then_idempotent(api):
    seed(api, live={"b": OTHER}, trash={OLD: ["a", "b"]})
    first = run(mod, {"name": REPO + "@" + OLD})
    assert first.result["changed"] and first.result["digest_restored"]
    assert first.result["restored_tags"] == ["a"] and first.result["conflicting_tags"] == ["b"]
    second = run(mod, {"name": REPO + "@" + OLD})
    assert not second.result["changed"] and second.result["conflicting_tags"] == ["b"]
    assert api.writes == [("restore_digest", REPO + "@" + OLD)]


def test_check_mode_predicts_without_restoring(api):
    seed(api, trash={OLD: ["a", "b"]})
    out = run(mod, {"name": REPO + "@" + OLD}, check=True)
    assert out.result["changed"] and out.result["restored_tags"] == ["a", "b"] and api.writes == []


def test_neither_trashed_nor_live_fails(api):
    out = run(mod, {"name": REPO + ":nope"})
    assert out.failed and "neither in the trash nor live" in out.result["msg"]


def test_private_and_deprecated_domains_map_to_the_canonical_one(api):
    seed(api, live={"1.0": OLD})
    out = run(mod, {"name": "private.us.icr.io/team-a/app:1.0"})
    assert out.result["name"] == REPO + ":1.0"


def test_a_non_icr_registry_fails(api):
    out = run(mod, {"name": "quay.io/team-a/app:1.0"})
    assert out.failed and "not an ICR image" in out.result["msg"]


def test_the_former_option_name_image_still_names_the_image(api):
    seed(api, trash={OLD: ["1.0"]})
    out = run(mod, {"image": REPO + ":1.0"})
    assert out.result["changed"] and out.result["name"] == REPO + ":1.0" and out.result["restored_tags"] == ["1.0"]
