"""Image semantics of the management API (as IBM documents them): listing, digests, inspect,
manifest, image-rm, untag, image-tag (including indexes) and bulk delete."""

import hashlib
import json
import subprocess
import uuid

from sdk_helpers import (  # noqa: F401
    OCI_INDEX, REGION, api_error, client, image_ref, namespace, pusher, sdk_client, unique_namespace,
)


def _ref(endpoints, repository, tag=None, digest=None):
    return image_ref(endpoints, REGION, repository, tag, digest)


def _images(client, **filters):
    return {tag: image for image in client.list_images(**filters).get_result() for tag in image["RepoTags"]}


def _digests(client, endpoints, repository):
    return {d["id"]: d for d in client.list_image_digests(repositories=[_ref(endpoints, repository)]).get_result()}


def test_list_shows_tagged_images_grouped_by_digest_with_their_fields(client, pusher, namespace, endpoints):
    repository = f"{namespace}/app"
    digest = pusher.push_image(repository, "1.0", "one", created="2024-05-06T07:08:09.123456789Z", labels={"a": "b"})
    client.tag_image(_ref(endpoints, repository, "1.0"), _ref(endpoints, repository, "stable"))
    pusher.push_image(repository, "doomed", "untagged soon")
    client.delete_image_tag(_ref(endpoints, repository, "doomed"))

    images = client.list_images(namespace=namespace).get_result()
    assert len(images) == 1
    image = images[0]
    assert sorted(image["RepoTags"]) == [_ref(endpoints, repository, "1.0"), _ref(endpoints, repository, "stable")]
    assert image["RepoDigests"] == [_ref(endpoints, repository, digest=digest)]
    assert sorted(image["DigestTags"][digest]) == ["1.0", "stable"]
    assert image["Created"] == 1714979289
    assert image["Labels"] == {"a": "b"}
    assert image["ManifestType"] == "Docker Image Manifest V2, Schema 2"
    assert image["Id"].startswith("sha256:") and image["Id"] != digest   # the config digest, like docker's image ID
    assert image["Size"] > 0


def test_list_filters_by_namespace_and_repository_repeatable(client, pusher, endpoints):
    first, second = unique_namespace(), unique_namespace()
    for name in (first, second):
        client.create_namespace(name)
    try:
        pusher.push_image(f"{first}/a", "1", "a")
        pusher.push_image(f"{first}/b", "1", "b")
        pusher.push_image(f"{second}/c", "1", "c")
        both = client.list_images(namespace=[first, second])  # the SDK sends the parameter once per value
        assert sorted(t for i in both.get_result() for t in i["RepoTags"]) == sorted(
            [_ref(endpoints, f"{first}/a", "1"), _ref(endpoints, f"{first}/b", "1"), _ref(endpoints, f"{second}/c", "1")])
        only = client.list_images(repository=[_ref(endpoints, f"{first}/b"), f"{second}/c"])
        assert sorted(t for i in only.get_result() for t in i["RepoTags"]) == sorted(
            [_ref(endpoints, f"{first}/b", "1"), _ref(endpoints, f"{second}/c", "1")])
    finally:
        for name in (first, second):
            client.delete_namespace(name)


def test_manifest_lists_are_listed_only_on_request(client, pusher, namespace, endpoints):
    repository = f"{namespace}/multi"
    amd = pusher.push_image(repository, "amd", "amd64 bits")
    arm = pusher.push_image(repository, "arm", "arm64 bits", architecture="arm64")
    pusher.push_index(repository, "both", [(amd, pusher.manifest_size(repository, amd), "amd64"),
                                           (arm, pusher.manifest_size(repository, arm), "arm64")])
    assert set(_images(client, namespace=namespace)) == {_ref(endpoints, repository, "amd"), _ref(endpoints, repository, "arm")}
    with_lists = _images(client, namespace=namespace, include_manifest_lists=True)
    assert with_lists[_ref(endpoints, repository, "both")]["ManifestType"] == "OCI Image Index v1"


def test_a_docker_built_image_is_described_from_its_real_config(client, namespace, endpoints, docker_env, tmp_path):
    registry_host = endpoints["regions"][REGION]["registry"]
    local_tag = f"{registry_host}/{namespace}/built:1"
    stamp = uuid.uuid4().hex
    (tmp_path / "Dockerfile").write_text(f"FROM {endpoints['base_image']}\nLABEL stamp={stamp}\nRUN echo {stamp} > /stamp\n")

    def docker(*args, stdin=None):
        result = subprocess.run(["docker", *args], input=stdin, env=docker_env, text=True, capture_output=True, timeout=180)
        assert result.returncode == 0, result.stderr
        return result.stdout

    docker("build", "-q", "-t", local_tag, str(tmp_path))
    docker("login", registry_host, "-u", "iamapikey", "--password-stdin", stdin=endpoints["api_key"] + "\n")
    docker("push", local_tag)
    local = json.loads(docker("image", "inspect", local_tag))[0]
    docker("rmi", local_tag)

    image = _images(client, namespace=namespace)[_ref(endpoints, f"{namespace}/built", "1")]
    assert image["Labels"]["stamp"] == stamp
    assert image["Id"] == local["Id"]                      # the config digest is docker's image ID
    inspection = client.inspect_image(_ref(endpoints, f"{namespace}/built", "1")).get_result()
    assert inspection["Created"] == local["Created"]
    assert inspection["DockerVersion"] == local["DockerVersion"]
    assert inspection["RootFS"]["Layers"] == local["RootFS"]["Layers"]
    assert inspection["Config"]["Labels"]["stamp"] == stamp


def test_digests_include_untagged_images_in_the_repo_tags_shape(client, pusher, namespace, endpoints):
    repository = f"{namespace}/app"
    old = pusher.push_image(repository, "1", "old build")
    new = pusher.push_image(repository, "1", "new build")   # the tag moves; the old digest stays, untagged
    digests = _digests(client, endpoints, repository)
    assert digests[new]["repoTags"] == {_ref(endpoints, repository): {"1": digests[new]["repoTags"][_ref(endpoints, repository)]["1"]}}
    assert digests[old]["repoTags"] == {_ref(endpoints, repository): {}}
    untagged_only = client.list_image_digests(exclude_tagged=True, repositories=[_ref(endpoints, repository)]).get_result()
    assert [d["id"] for d in untagged_only] == [old]
    assert _ref(endpoints, repository, "1") in _images(client, namespace=namespace)
    assert len(_images(client, namespace=namespace)) == 1


def test_inspect_reads_the_image_config(client, pusher, namespace, endpoints):
    repository = f"{namespace}/app"
    pusher.push_image(repository, "1", "inspect me", created="2023-03-04T05:06:07Z", architecture="arm64", labels={"k": "v"})
    for reference in (_ref(endpoints, repository, "1"),
                      _ref(endpoints, repository, digest=pusher.push_image(repository, "1", "inspect me", created="2023-03-04T05:06:07Z",
                                                                           architecture="arm64", labels={"k": "v"}))):
        inspection = client.inspect_image(reference).get_result()
        assert inspection["Created"] == "2023-03-04T05:06:07Z"
        assert (inspection["Architecture"], inspection["Os"]) == ("arm64", "linux")
        assert inspection["Config"]["Labels"] == {"k": "v"} and inspection["Config"]["Cmd"] == ["/hello.txt"]
        assert inspection["RootFS"]["Type"] == "layers" and len(inspection["RootFS"]["Layers"]) == 1


def test_manifest_is_returned_raw_with_its_media_type(client, pusher, namespace, endpoints):
    repository = f"{namespace}/multi"
    child = pusher.push_image(repository, "child", "child")
    index = pusher.push_index(repository, "idx", [(child, pusher.manifest_size(repository, child), "amd64")])
    response = client.get_image_manifest(_ref(endpoints, repository, "idx"))
    assert response.get_headers()["Content-Type"] == OCI_INDEX
    body = response.get_result().content   # not JSON to the SDK: it hands back the raw response
    assert json.loads(body)["manifests"][0]["digest"] == child
    assert "sha256:" + hashlib.sha256(body).hexdigest() == index


def test_image_rm_removes_the_digest_and_all_its_tags_in_that_repository_only(client, pusher, namespace, endpoints):
    repository, copy = f"{namespace}/app", f"{namespace}/copy"
    digest = pusher.push_image(repository, "1", "shared")
    client.tag_image(_ref(endpoints, repository, "1"), _ref(endpoints, repository, "also"))
    client.tag_image(_ref(endpoints, repository, "1"), _ref(endpoints, copy, "kept"))
    other = pusher.push_image(repository, "other", "unrelated")

    result = client.delete_image(_ref(endpoints, repository, "also")).get_result()
    assert result == {"Untagged": _ref(endpoints, repository, "also")}
    assert pusher.tags(repository) == ["other"]
    assert pusher.tags(copy) == ["kept"]
    assert digest not in _digests(client, endpoints, repository) and other in _digests(client, endpoints, repository)
    trash = client.list_deleted_images(namespace=namespace).get_result()
    assert trash[_ref(endpoints, repository, digest=digest)] == {"daysUntilExpiry": 30, "tags": ["1", "also"]}


def test_image_rm_without_a_tag_means_latest(client, pusher, namespace, endpoints):
    repository = f"{namespace}/app"
    pusher.push_image(repository, "latest", "newest")
    pusher.push_image(repository, "1", "older")
    client.delete_image(_ref(endpoints, repository))
    assert pusher.tags(repository) == ["1"]
    assert api_error(client.delete_image, _ref(endpoints, repository)).status_code == 404


def test_untag_removes_one_tag_and_needs_a_tag(client, pusher, namespace, endpoints):
    repository = f"{namespace}/app"
    digest = pusher.push_image(repository, "1", "tagged twice")
    client.tag_image(_ref(endpoints, repository, "1"), _ref(endpoints, repository, "2"))
    assert client.delete_image_tag(_ref(endpoints, repository, "2")).get_result() == {"Untagged": _ref(endpoints, repository, "2")}
    assert pusher.tags(repository) == ["1"]
    assert digest in _digests(client, endpoints, repository)
    assert api_error(client.delete_image_tag, _ref(endpoints, repository, digest=digest)).status_code == 400
    assert api_error(client.delete_image_tag, _ref(endpoints, repository, "2")).status_code == 404


def test_image_tag_copies_across_repositories_and_own_namespaces(client, pusher, namespace, endpoints):
    second = unique_namespace()
    client.create_namespace(second)
    try:
        digest = pusher.push_image(f"{namespace}/app", "1", "to be copied")
        assert client.tag_image(_ref(endpoints, f"{namespace}/app", "1"), _ref(endpoints, f"{second}/moved", "v1")).get_status_code() == 201
        assert pusher.tags(f"{second}/moved") == ["v1"]
        assert _images(client, namespace=second)[_ref(endpoints, f"{second}/moved", "v1")]["RepoDigests"] == [
            _ref(endpoints, f"{second}/moved", digest=digest)]
        # the blobs were mounted: the copy inspects and reads like the original
        assert client.inspect_image(_ref(endpoints, f"{second}/moved", "v1")).get_result()["Config"]["Cmd"] == ["/hello.txt"]
    finally:
        client.delete_namespace(second)


def test_image_tag_refuses_another_region_and_other_accounts_namespaces(client, pusher, namespace, endpoints):
    pusher.push_image(f"{namespace}/app", "1", "stay here")
    source = _ref(endpoints, f"{namespace}/app", "1")
    other_domain = next((r["domain"] for name, r in endpoints["regions"].items() if name != REGION), "de.icr.io")
    error = api_error(client.tag_image, source, f"{other_domain}/{namespace}/app:1")
    assert error.status_code == 400 and "one region" in error.message

    other = endpoints["other_accounts"][0]
    foreign = unique_namespace("foreign")
    other_client = sdk_client(endpoints, REGION, other["api_key"], other["account_id"])
    other_client.create_namespace(foreign)
    try:
        assert api_error(client.tag_image, source, _ref(endpoints, f"{foreign}/stolen", "1")).status_code == 404
    finally:
        other_client.delete_namespace(foreign)


def test_image_tag_of_an_index_copies_its_images_and_needs_them_all(client, pusher, namespace, endpoints):
    repository, target = f"{namespace}/multi", f"{namespace}/copy"
    amd = pusher.push_image(repository, "amd", "amd64")
    arm = pusher.push_image(repository, "arm", "arm64", architecture="arm64")
    pusher.push_index(repository, "both", [(amd, pusher.manifest_size(repository, amd), "amd64"),
                                           (arm, pusher.manifest_size(repository, arm), "arm64")])
    client.tag_image(_ref(endpoints, repository, "both"), _ref(endpoints, target, "both"))
    assert set(_digests(client, endpoints, target)) >= {amd, arm}
    assert client.inspect_image(_ref(endpoints, target, "both")).get_result()["Architecture"] == "amd64"

    client.delete_image(_ref(endpoints, repository, digest=arm))
    error = api_error(client.tag_image, _ref(endpoints, repository, "both"), _ref(endpoints, target, "broken"))
    assert error.status_code == 400
    assert error.http_response.json()["errors"][0]["code"] == "CRI0304E"
    assert "broken" not in pusher.tags(target)


def test_bulk_delete_reports_success_and_errors_per_item(client, pusher, namespace, endpoints):
    repository = f"{namespace}/app"
    first = pusher.push_image(repository, "1", "first")
    second = pusher.push_image(repository, "2", "second")
    client.tag_image(_ref(endpoints, repository, "2"), _ref(endpoints, repository, "2b"))
    missing = "sha256:" + "0" * 64
    items = [_ref(endpoints, repository, digest=first), _ref(endpoints, repository, digest=second),
             _ref(endpoints, repository, digest=missing), _ref(endpoints, repository, "1")]
    result = client.bulk_delete_images(items).get_result()
    assert sorted(result["success"]) == sorted(items[:2])
    assert set(result["error"]) == set(items[2:])
    assert all(e["code"] and e["message"] for e in result["error"].values())
    assert pusher.tags(repository) == []
    assert set(client.list_deleted_images(namespace=namespace).get_result()) == set(items[:2])
