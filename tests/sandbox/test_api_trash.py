"""Trash semantics (as IBM documents it): what image-rm keeps, restore by tag, restore by digest."""

from sdk_helpers import REGION, api_error, client, image_ref, namespace, pusher  # noqa: F401


def _ref(endpoints, repository, tag=None, digest=None):
    return image_ref(endpoints, REGION, repository, tag, digest)


def test_trash_lists_deleted_digests_with_their_tags(client, pusher, namespace, endpoints):
    repository = f"{namespace}/app"
    digest = pusher.push_image(repository, "1", "trash me")
    client.tag_image(_ref(endpoints, repository, "1"), _ref(endpoints, repository, "2"))
    client.delete_image(_ref(endpoints, repository, "1"))
    assert client.list_deleted_images(namespace=namespace).get_result() == {
        _ref(endpoints, repository, digest=digest): {"daysUntilExpiry": 30, "tags": ["1", "2"]}}
    everything = client.list_deleted_images().get_result()
    assert _ref(endpoints, repository, digest=digest) in everything


def test_restore_by_tag_brings_back_only_that_tag(client, pusher, namespace, endpoints):
    repository = f"{namespace}/app"
    digest = pusher.push_image(repository, "1", "restore me")
    client.tag_image(_ref(endpoints, repository, "1"), _ref(endpoints, repository, "2"))
    client.delete_image(_ref(endpoints, repository, "1"))
    assert pusher.tags(repository) == []

    assert client.restore_image(_ref(endpoints, repository, "2")).get_status_code() == 200
    assert pusher.tags(repository) == ["2"]
    assert client.inspect_image(_ref(endpoints, repository, "2")).get_result()["Config"]["Cmd"] == ["/hello.txt"]
    assert client.list_images(namespace=namespace).get_result()[0]["RepoDigests"] == [_ref(endpoints, repository, digest=digest)]


def test_restore_by_tag_conflicts_and_unknowns(client, pusher, namespace, endpoints):
    repository = f"{namespace}/app"
    pusher.push_image(repository, "1", "first")
    client.delete_image(_ref(endpoints, repository, "1"))
    pusher.push_image(repository, "1", "a new image took the tag")

    conflict = api_error(client.restore_image, _ref(endpoints, repository, "1"))
    assert conflict.status_code == 409
    assert conflict.http_response.json()["errors"][0]["code"] == "CRT0500E"
    assert api_error(client.restore_image, _ref(endpoints, repository, "never")).status_code == 404


def test_restore_by_digest_restores_free_tags_and_reports_clashes(client, pusher, namespace, endpoints):
    repository = f"{namespace}/app"
    digest = pusher.push_image(repository, "1", "digest restore")
    client.tag_image(_ref(endpoints, repository, "1"), _ref(endpoints, repository, "2"))
    client.delete_image(_ref(endpoints, repository, digest=digest))
    newer = pusher.push_image(repository, "2", "took tag 2")

    result = client.restore_tags(_ref(endpoints, repository, digest=digest)).get_result()
    assert result == {"successful": ["1"], "unsuccessful": ["2"]}
    tags = {tag: image["RepoDigests"][0] for image in client.list_images(namespace=namespace).get_result()
            for tag in image["RepoTags"]}
    assert tags == {_ref(endpoints, repository, "1"): _ref(endpoints, repository, digest=digest),
                    _ref(endpoints, repository, "2"): _ref(endpoints, repository, digest=newer)}
    # the digest stays listed in the trash after a restore, as on ICR
    assert _ref(endpoints, repository, digest=digest) in client.list_deleted_images(namespace=namespace).get_result()
    missing = _ref(endpoints, repository, digest="sha256:" + "1" * 64)
    assert api_error(client.restore_tags, missing).status_code == 404


def test_restoring_an_untagged_digest_shows_in_digests_not_in_images(client, pusher, namespace, endpoints):
    repository = f"{namespace}/app"
    old = pusher.push_image(repository, "1", "old")
    pusher.push_image(repository, "1", "new")          # old is now untagged
    client.bulk_delete_images([_ref(endpoints, repository, digest=old)])
    assert client.restore_tags(_ref(endpoints, repository, digest=old)).get_result() == {"successful": [], "unsuccessful": []}
    digests = {d["id"] for d in client.list_image_digests(repositories=[_ref(endpoints, repository)]).get_result()}
    assert old in digests
    assert all(old not in image["DigestTags"] for image in client.list_images(namespace=namespace).get_result())
