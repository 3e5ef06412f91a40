# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
import pytest

from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError
from ansible_collections.icr.registry.plugins.module_utils.sync_plan import (
    TagSelection, Version, VersionRange, dest_repository, fallback_tag, referrer_tag, referrer_tags_of)

HEX = "ab" * 32
DIGEST = "sha256:" + HEX


# ---------------------------------------------------------------- versions

@pytest.mark.parametrize("tag,release,pre", [
    ("1.2.3", (1, 2, 3), ()),
    ("v1.4", (1, 4, 0), ()),
    ("2", (2, 0, 0), ()),
    ("1.0.0-rc.1", (1, 0, 0), ("rc", 1)),
    ("V3.1.4-alpha-2", (3, 1, 4), ("alpha-2",)),
])
def test_version_parse(tag, release, pre):
    version = Version.parse(tag)
    assert (version.release, version.prerelease) == (release, pre)


@pytest.mark.parametrize("tag", ["latest", "1.2.3.4", "01.2", "1..2", "", "1.2.3-", "sha256-" + HEX, "v"])
def test_not_versions(tag):
    assert Version.parse(tag) is None


def test_version_order_follows_semver():
    ordered = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
               "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.2", "1.10.0", "2.0.0"]
    shuffled = sorted(ordered, key=lambda t: t[::-1])
    assert sorted(shuffled, key=lambda t: Version.parse(t).key()) == ordered


def _matching(text, tags):
    version_range = VersionRange(text)
    return [tag for tag in tags if version_range.matches(Version.parse(tag))]


TAGS = ["0.1.0", "0.1.5", "0.2.0", "0.0.3", "0.0.4", "1.0.0", "1.2.0", "1.2.9", "1.3.0", "1.4.0", "1.4.7",
        "1.5.0", "1.9.9", "2.0.0-rc.1", "2.0.0", "2.1.0", "3.0.0"]


@pytest.mark.parametrize("text,expected", [
    (">=1.2.0 <2", ["1.2.0", "1.2.9", "1.3.0", "1.4.0", "1.4.7", "1.5.0", "1.9.9"]),
    ("^1.2", ["1.2.0", "1.2.9", "1.3.0", "1.4.0", "1.4.7", "1.5.0", "1.9.9"]),
    ("^0.1", ["0.1.0", "0.1.5"]),
    ("^0.0.3", ["0.0.3"]),
    ("~1.4", ["1.4.0", "1.4.7"]),
    ("~1", ["1.0.0", "1.2.0", "1.2.9", "1.3.0", "1.4.0", "1.4.7", "1.5.0", "1.9.9"]),
    ("1.x", ["1.0.0", "1.2.0", "1.2.9", "1.3.0", "1.4.0", "1.4.7", "1.5.0", "1.9.9"]),
    ("1.4.*", ["1.4.0", "1.4.7"]),
    ("1.4.7", ["1.4.7"]),
    ("=2.0.0", ["2.0.0"]),
    (">1.4 <=1.9", ["1.5.0", "1.9.9"]),
    ("<=1.2", ["0.1.0", "0.1.5", "0.2.0", "0.0.3", "0.0.4", "1.0.0", "1.2.0", "1.2.9"]),
    (">2.0.0", ["2.1.0", "3.0.0"]),
    ("<0.1 || >=3", ["0.0.3", "0.0.4", "3.0.0"]),
    (">=2.0.0-rc.1 <3", ["2.0.0-rc.1", "2.0.0", "2.1.0"]),
    ("*", [t for t in TAGS if t != "2.0.0-rc.1"]),
])
def test_ranges(text, expected):
    assert _matching(text, TAGS) == expected


@pytest.mark.parametrize("text", ["", "   ", ">=1.2.0 <", "1.2 - 1.4", "latest", ">=>1", "1.x-rc.1", "||", "^^1",
                                  ">=1.2.3.4"])
def test_bad_ranges_are_one_line(text):
    with pytest.raises(IcrError) as caught:
        VersionRange(text)
    assert "\n" not in str(caught.value) and "semver" in str(caught.value)


# ---------------------------------------------------------------- selection

def test_selection_by_regex_and_exclusion():
    selection = TagSelection(include=["^v?1\\.", "^main$"], exclude=["-debug$"])
    tags = ["1.0", "v1.2-debug", "v1.3", "main", "mainline", "2.0", "sha256-%s.sig" % HEX]
    assert selection.select(tags) == ["1.0", "main", "v1.3"]


def test_selection_default_is_every_tag_but_referrer_tags():
    tags = ["a", "latest", "sha256-%s" % HEX, "sha256-%s.att" % HEX]
    assert TagSelection().select(tags) == ["a", "latest"]


def test_semver_leaves_out_non_versions():
    assert TagSelection(version_range=">=1").select(["latest", "1.0.0", "x1.0", "2"]) == ["1.0.0", "2"]


def test_latest_by_version_with_semver():
    tags = ["1.2.0", "1.10.0", "1.9.0", "2.0.0", "0.9.0", "latest"]
    assert TagSelection(version_range="<2", latest=2).select(tags) == ["1.10.0", "1.9.0"]


def test_latest_by_creation_time_without_semver():
    created = {"a": 30, "b": 10, "c": 20, "d": 30}
    assert TagSelection(latest=2).select(["a", "b", "c", "d"], created) == ["a", "d"]
    assert TagSelection(latest=1).select(["a", "b", "c"], created) == ["a"]
    # Equal creation times (reproducible builds): highest tag name first, as cr_image_sync documents.
    same = dict.fromkeys(["dev", "latest", "1.9", "1.10"], 0)
    assert TagSelection(latest=2).select(list(same), same) == ["dev", "latest"]
    assert TagSelection(latest=1).select(["1.9", "1.10"], same) == ["1.9"]
    assert TagSelection(latest=2).needs_created and not TagSelection(version_range="1.x", latest=2).needs_created


@pytest.mark.parametrize("kwargs,word", [
    (dict(include=["("]), "tags"),
    (dict(exclude=["[a-"]), "exclude_tags"),
    (dict(version_range="~>1"), "semver"),
    (dict(latest=0), "latest"),
])
def test_bad_selection_is_one_line(kwargs, word):
    with pytest.raises(IcrError) as caught:
        TagSelection(**kwargs)
    assert str(caught.value).startswith(word) and "\n" not in str(caught.value)


# ---------------------------------------------------------------- referrer tags and names

def test_referrer_tags():
    assert referrer_tag("sha256-%s.sig" % HEX) == (DIGEST, ".sig")
    assert referrer_tag("sha256-%s" % HEX) == (DIGEST, "")
    assert referrer_tag("sha256-%s.foo" % HEX) is None
    assert referrer_tag("sha256-abc.sig") is None
    assert fallback_tag(DIGEST) == "sha256-" + HEX
    other = "cd" * 32
    tags = ["sha256-%s" % HEX, "1.0", "sha256-%s.att" % HEX, "sha256-%s.sig" % HEX, "sha256-%s.sig" % other]
    assert referrer_tags_of(DIGEST, tags) == ["sha256-%s.sig" % HEX, "sha256-%s.att" % HEX, "sha256-%s" % HEX]


@pytest.mark.parametrize("repository,namespace,whole,expected", [
    ("team-a/app", "team-b", True, "team-b/app"),
    ("team-a/tools/app", "team-b", True, "team-b/tools/app"),
    ("library/busybox", "mirror", False, "mirror/busybox"),
    ("org/sub/app", "mirror", False, "mirror/sub/app"),
    ("app", "mirror", False, "mirror/app"),
])
def test_dest_repository(repository, namespace, whole, expected):
    assert dest_repository(repository, namespace, whole) == expected
