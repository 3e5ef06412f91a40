"""Retention policies (as IBM documents them): keep the N newest images per repository by build date."""

from sdk_helpers import REGION, api_error, client, image_ref, namespace, pusher  # noqa: F401


def _ref(endpoints, repository, tag=None, digest=None):
    return image_ref(endpoints, REGION, repository, tag, digest)


def _push_generations(pusher, repository):
    """Three images pushed newest first, so push order and build date disagree."""
    return {
        "march": pusher.push_image(repository, "march", "c", created="2024-03-01T00:00:00Z"),
        "january": pusher.push_image(repository, "january", "a", created="2024-01-01T00:00:00Z"),
        "february": pusher.push_image(repository, "february", "b", created="2024-02-01T00:00:00Z"),
    }


def test_analyze_keeps_the_newest_by_build_date_and_counts_a_digest_once(client, pusher, namespace, endpoints):
    repository = f"{namespace}/app"
    digests = _push_generations(pusher, repository)
    client.tag_image(_ref(endpoints, repository, "march"), _ref(endpoints, repository, "latest"))
    result = client.analyze_retention_policy(namespace, images_per_repo=2).get_result()
    assert result == {_ref(endpoints, repository): [_ref(endpoints, repository, digest=digests["january"])]}
    everything = client.analyze_retention_policy(namespace, images_per_repo=1).get_result()
    assert sorted(everything[_ref(endpoints, repository)]) == sorted(
        _ref(endpoints, repository, digest=digests[m]) for m in ("january", "february"))
    assert client.analyze_retention_policy(namespace, images_per_repo=-1).get_result() == {}


def test_untagged_images_count_unless_retained(client, pusher, namespace, endpoints):
    repository = f"{namespace}/app"
    pusher.push_image(repository, "x", "untagged, newest", created="2024-06-01T00:00:00Z")
    client.delete_image_tag(_ref(endpoints, repository, "x"))
    tagged = pusher.push_image(repository, "t", "tagged, older", created="2024-01-01T00:00:00Z")
    counted = client.analyze_retention_policy(namespace, images_per_repo=1).get_result()
    assert counted == {_ref(endpoints, repository): [_ref(endpoints, repository, digest=tagged)]}
    retained = client.analyze_retention_policy(namespace, images_per_repo=1, retain_untagged=True).get_result()
    assert retained == {}


def test_manifest_lists_are_never_counted(client, pusher, namespace, endpoints):
    repository = f"{namespace}/multi"
    child = pusher.push_image(repository, "child", "child", created="2024-01-01T00:00:00Z")
    pusher.push_index(repository, "list", [(child, pusher.manifest_size(repository, child), "amd64")])
    pusher.push_image(repository, "newer", "newer", created="2024-05-01T00:00:00Z")
    older = pusher.push_image(repository, "older", "older", created="2023-05-01T00:00:00Z")
    result = client.analyze_retention_policy(namespace, images_per_repo=1).get_result()
    assert result == {_ref(endpoints, repository): [_ref(endpoints, repository, digest=older)]}


def test_setting_a_policy_runs_it_once_and_trashes_the_rest(client, pusher, namespace, endpoints):
    repository = f"{namespace}/app"
    digests = _push_generations(pusher, repository)
    assert client.set_retention_policy(namespace, images_per_repo=1).get_status_code() == 201
    assert pusher.tags(repository) == ["march"]
    trash = client.list_deleted_images(namespace=namespace).get_result()
    assert set(trash) == {_ref(endpoints, repository, digest=digests[m]) for m in ("january", "february")}
    assert client.get_retention_policy(namespace).get_result() == {
        "namespace": namespace, "images_per_repo": 1, "retain_untagged": False}


def test_policy_input_is_validated(client, namespace):
    assert api_error(client.set_retention_policy, namespace, images_per_repo=-2).status_code == 400
    assert api_error(client.set_retention_policy, "no-such-namespace-here").status_code == 404
    assert client.get_retention_policy(namespace).get_result()["images_per_repo"] == -1
