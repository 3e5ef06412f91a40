# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError
from ansible_collections.icr.registry.plugins.module_utils.icr_images import epoch_seconds
from ansible_collections.icr.registry.plugins.modules import cr_image_info
from fake_api import IMAGE_MEDIA_TYPE, LIST_TYPE, config_id, dg
from module_runner import run

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


def test_names_read_only_their_repositories_and_report_what_is_missing(api):
    api.add_image(REPO, dg("a"), ["1.0", "latest"], created=1764185000, size=7)
    api.add_image("us.icr.io/team/other", dg("b"), ["x"], created=1764185001)
    api.add_image("us.icr.io/team/unrelated", dg("c"), ["y"])
    outcome = run(cr_image_info, {"names": [REPO + ":1.0", REPO + ":gone", "us.icr.io/team/other@" + dg("b"),
                                            "us.icr.io/ghost/app:1"]})
    result = outcome.result
    assert not outcome.failed and not result["changed"] and "images" not in result
    assert result["missing"] == [REPO + ":gone", "us.icr.io/ghost/app:1"]
    first, second = result["inspections"]
    assert (first["name"], first["digest"], first["repo_digest"], first["tags"]) == \
        (REPO + ":1.0", dg("a"), REPO + "@" + dg("a"), ["1.0", "latest"])
    assert first["id"] == config_id(dg("a")) and first["created"] == 1764185000 and first["size"] == 7
    assert (second["name"], second["digest"], second["created"]) == ("us.icr.io/team/other@" + dg("b"), dg("b"), 1764185001)
    # one digest listing of the named repositories, then each image that exists, by digest: never the whole region
    assert api.reads == [
        ("list_image_digests", ["us.icr.io/ghost/app", REPO, "us.icr.io/team/other"], False),
        ("inspect_image", REPO + "@" + dg("a")),
        ("inspect_image", "us.icr.io/team/other@" + dg("b"))]


def test_fail_on_missing_fails_and_names_the_missing_images(api):
    api.add_image(REPO, dg("a"), ["1.0"])
    outcome = run(cr_image_info, {"names": [REPO + ":1.0", REPO + ":gone"], "fail_on_missing": True})
    assert outcome.failed and outcome.result["msg"].startswith(REPO + ":gone not found")
    assert run(cr_image_info, {"names": [REPO + ":1.0"], "fail_on_missing": True}).result["missing"] == []


def test_an_image_that_goes_between_listing_and_inspection_is_missing(api):
    api.add_image(REPO, dg("a"), ["1.0"])
    api.fail("inspect_image", IcrError("image was not found", status=404))
    result = run(cr_image_info, {"names": [REPO + ":1.0"]}).result
    assert result["inspections"] == [] and result["missing"] == [REPO + ":1.0"]


def test_list_images_defaults_to_true_without_names_and_can_be_asked_for_with_names(api):
    api.add_image(REPO, dg("a"), ["1.0"], created=5)
    listed = run(cr_image_info, {}).result
    assert [(e["digest"], e["created"]) for e in listed["images"]] == [(dg("a"), 5)]
    assert listed["inspections"] == [] and listed["missing"] == []
    both = run(cr_image_info, {"names": [REPO + ":1.0"], "list_images": True, "manifest": True}).result
    assert [e["digest"] for e in both["images"]] == [dg("a")]
    assert both["inspections"][0]["digest"] == dg("a")
    assert both["inspections"][0]["media_type"] == IMAGE_MEDIA_TYPE and "layers" in both["inspections"][0]["manifest"]


def test_created_is_epoch_seconds_in_listings_and_inspections():
    assert epoch_seconds("2024-03-01T00:00:00.123456789Z") == 1709251200
    assert epoch_seconds("2024-03-01T01:00:00+01:00") == 1709251200
    assert epoch_seconds(1709251200) == 1709251200
    assert epoch_seconds("") == epoch_seconds(None) == epoch_seconds("yesterday") == 0
    assert cr_image_info.inspection_entry(REPO + ":1.0", {"digest": dg("a"), "reference": REPO + "@" + dg("a"),
                                                          "tags": ["1.0"], "created": 7},
                                          {"Created": "2024-03-01T00:00:00Z"})["created"] == 1709251200
