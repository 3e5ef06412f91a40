# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
import pytest

from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError
from ansible_collections.icr.registry.plugins.module_utils.icr_api import trash_entry
from ansible_collections.icr.registry.plugins.modules import cr_image_restore as mod
from ansible_collections.icr.registry.plugins.modules import cr_trash_info
from module_runner import install, run

REPO = "us.icr.io/team-a/app"
OLD, NEW, OTHER = ("sha256:" + c * 64 for c in "abc")


class FakeApi:
    """One repository's live tags and trash, restoring the way ICR does."""

    def __init__(self, live=None, trash=None):
        self.live = dict(live or {})            # tag -> digest
        self.untagged = set()                   # live digests without tags
        self.trash = {d: sorted(tags) for d, tags in (trash or {}).items()}  # digest -> tags
        self.writes, self.warnings = [], []

    def list_trash(self, namespace=None):
        return [trash_entry("%s@%s" % (REPO, d), {"daysUntilExpiry": 30 - i, "tags": tags})
                for i, (d, tags) in enumerate(sorted(self.trash.items()))]

    def list_image_digests(self, repositories=None, exclude_tagged=False):
        assert repositories == [REPO]
        digests = set(self.live.values()) | self.untagged
        return [{"id": d, "repoTags": {REPO: {t: {} for t, x in self.live.items() if x == d}}} for d in sorted(digests)]

    def restore_tag(self, reference):
        self.writes.append(("tag", reference))
        tag = reference.rsplit(":", 1)[1]
        if tag in self.live:
            raise IcrError("exists", status=409, code="CRT0500E")
        self.live[tag] = next(d for d, tags in sorted(self.trash.items(), reverse=True) if tag in tags)

    def restore_digest(self, reference):
        self.writes.append(("digest", reference))
        digest = reference.split("@")[1]
        self.untagged.add(digest)
        result = {"successful": [], "unsuccessful": []}
        for tag in self.trash[digest]:
            if tag in self.live:
                result["unsuccessful"].append(tag)
            else:
                self.live[tag] = digest
                result["successful"].append(tag)
        return result


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


def test_restore_tag_then_idempotent(monkeypatch):
    api = install(monkeypatch, FakeApi(trash={OLD: ["1.0"]}))
    first = run(mod, {"image": REPO + ":1.0"})
    assert not first.failed and first.result["changed"]
    assert first.result["restored_tags"] == ["1.0"] and first.result["digest"] == OLD
    assert first.result["digest_restored"] is True
    second = run(mod, {"image": REPO + ":1.0"})
    assert not second.result["changed"] and second.result["restored_tags"] == []
    assert api.writes == [("tag", REPO + ":1.0")]


def test_live_tag_with_another_image_is_a_conflict_not_a_failure(monkeypatch):
    api = install(monkeypatch, FakeApi(live={"1.0": OTHER}, trash={OLD: ["1.0"]}))
    out = run(mod, {"image": REPO + ":1.0"})
    assert not out.failed and not out.result["changed"]
    assert out.result["conflicting_tags"] == ["1.0"] and api.writes == []
    assert len(api.warnings) == 1 and "untag it first" in api.warnings[0]


def test_a_409_from_icr_is_a_conflict_too(monkeypatch):
    api = install(monkeypatch, FakeApi(trash={OLD: ["1.0"]}))
    monkeypatch.setattr(api, "list_image_digests", lambda **kw: [])  # the tag went live after we looked
    api.live["1.0"] = OTHER
    out = run(mod, {"image": REPO + ":1.0"})
    assert not out.failed and not out.result["changed"] and out.result["conflicting_tags"] == ["1.0"]


def test_restore_digest_with_tags_reports_conflicts_then_idempotent(monkeypatch):
    api = install(monkeypatch, FakeApi(live={"b": OTHER}, trash={OLD: ["a", "b"]}))
    first = run(mod, {"image": REPO + "@" + OLD})
    assert first.result["changed"] and first.result["digest_restored"]
    assert first.result["restored_tags"] == ["a"] and first.result["conflicting_tags"] == ["b"]
    second = run(mod, {"image": REPO + "@" + OLD})
    assert not second.result["changed"] and second.result["conflicting_tags"] == ["b"]
    assert api.writes == [("digest", REPO + "@" + OLD)]


def test_check_mode_predicts_without_restoring(monkeypatch):
    api = install(monkeypatch, FakeApi(trash={OLD: ["a", "b"]}))
    out = run(mod, {"image": REPO + "@" + OLD}, check=True)
    assert out.result["changed"] and out.result["restored_tags"] == ["a", "b"] and api.writes == []


def test_neither_trashed_nor_live_fails(monkeypatch):
    install(monkeypatch, FakeApi())
    out = run(mod, {"image": REPO + ":nope"})
    assert out.failed and "neither in the trash nor live" in out.result["msg"]


def test_private_and_deprecated_domains_map_to_the_canonical_one(monkeypatch):
    install(monkeypatch, FakeApi(live={"1.0": OLD}))
    out = run(mod, {"image": "private.us.icr.io/team-a/app:1.0"})
    assert out.result["image"] == REPO + ":1.0"


def test_a_non_icr_registry_fails(monkeypatch):
    install(monkeypatch, FakeApi())
    out = run(mod, {"image": "quay.io/team-a/app:1.0"})
    assert out.failed and "not an ICR image" in out.result["msg"]


def test_trash_info_lists_entries(monkeypatch):
    install(monkeypatch, FakeApi(trash={OLD: ["1.0"]}))
    out = run(cr_trash_info, {"namespace": "team-a"})
    assert out.result["changed"] is False and [e["digest"] for e in out.result["images"]] == [OLD]
