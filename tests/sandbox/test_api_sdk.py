"""Every /api/v1 operation through IBM's own SDK: status codes as in the reference, bodies
parsed into the SDK's models. One flow, because the operations build on each other."""

from ibm_container_registry.container_registry_v1 import (
    AccountSettings,
    AuthOptions,
    ImageBulkDeleteResult,
    ImageDeleteResult,
    ImageDigest,
    ImageInspection,
    Namespace,
    NamespaceDetails,
    Plan,
    Quota,
    RemoteAPIImage,
    RestoreResult,
    RetentionPolicy,
    Trash,
)
from sdk_helpers import (  # noqa: F401
    DOCKER_MANIFEST, REGION, add_legacy_namespace, client, image_ref, namespace, pusher, unique_namespace,
)


def test_account_level_operations(client):
    auth = client.get_auth()
    assert auth.get_status_code() == 200
    AuthOptions.from_dict(auth.get_result())
    before = auth.get_result()
    assert client.update_auth(iam_authz=True).get_status_code() == 204
    assert AuthOptions.from_dict(client.get_auth().get_result()).iam_authz is True
    client.update_auth(iam_authz=before.get("iam_authz", False))

    settings = client.get_settings()
    assert settings.get_status_code() == 200
    previous = AccountSettings.from_dict(settings.get_result()).platform_metrics
    assert client.update_settings(platform_metrics=not previous).get_status_code() == 204
    assert client.get_settings().get_result()["platform_metrics"] is (not previous)
    client.update_settings(platform_metrics=previous)

    plans = client.get_plans()
    assert plans.get_status_code() == 200
    assert Plan.from_dict(plans.get_result()).plan in ("Free", "Standard")
    assert client.update_plans(plan="Standard").get_status_code() == 200
    assert client.get_plans().get_result() == {"plan": "Standard"}

    quota = client.get_quota()
    assert quota.get_status_code() == 200
    limit_before = Quota.from_dict(quota.get_result()).limit.storage_bytes
    assert client.update_quota(storage_megabytes=500).get_status_code() == 200
    assert client.get_quota().get_result()["limit"]["storage_bytes"] == 500 * 1024 * 1024
    client.update_quota(storage_megabytes=limit_before if limit_before == -1 else limit_before // (1024 * 1024))

    messages = client.get_messages()
    assert messages.get_status_code() == 204
    assert messages.get_result() is None


def test_namespace_operations(client, endpoints):
    name = unique_namespace()
    created = client.create_namespace(name)
    assert created.get_status_code() == 201
    assert Namespace.from_dict(created.get_result()).namespace == name
    assert client.create_namespace(name).get_status_code() == 200

    listed = client.list_namespaces()
    assert listed.get_status_code() == 200 and name in listed.get_result()
    details = client.list_namespace_details()
    assert details.get_status_code() == 200
    mine = [NamespaceDetails.from_dict(d) for d in details.get_result() if d["name"] == name]
    assert mine[0].account == endpoints["account_id"] and mine[0].resource_group == endpoints["resource_groups"][0]

    legacy = unique_namespace("legacy")
    add_legacy_namespace(endpoints, REGION, legacy)
    assigned = client.assign_namespace(endpoints["resource_groups"][0], legacy)
    assert assigned.get_status_code() == 200
    assert Namespace.from_dict(assigned.get_result()).namespace == legacy

    for gone in (name, legacy):
        deleted = client.delete_namespace(gone)
        assert deleted.get_status_code() == 204
    assert name not in client.list_namespaces().get_result()


def test_image_operations(client, pusher, namespace, endpoints):
    repository = f"{namespace}/app"
    digest = pusher.push_image(repository, "1.0", "image one", labels={"team": "api"})
    ref = image_ref(endpoints, REGION, repository, "1.0")

    images = client.list_images(namespace=namespace)
    assert images.get_status_code() == 200
    parsed = [RemoteAPIImage.from_dict(i) for i in images.get_result()]
    assert [(p.repo_tags, p.labels) for p in parsed] == [([ref], {"team": "api"})]

    digests = client.list_image_digests(repositories=[image_ref(endpoints, REGION, repository)])
    assert digests.get_status_code() == 200
    assert [ImageDigest.from_dict(d).id for d in digests.get_result()] == [digest]

    inspected = client.inspect_image(ref)
    assert inspected.get_status_code() == 200
    inspection = ImageInspection.from_dict(inspected.get_result())
    assert inspection.created == "2024-01-01T00:00:00Z" and inspection.config.labels == {"team": "api"}

    manifest = client.get_image_manifest(ref)
    assert manifest.get_status_code() == 200
    assert manifest.get_headers()["Content-Type"] == DOCKER_MANIFEST

    tagged = client.tag_image(ref, image_ref(endpoints, REGION, repository, "2.0"))
    assert tagged.get_status_code() == 201
    untagged = client.delete_image_tag(image_ref(endpoints, REGION, repository, "2.0"))
    assert untagged.get_status_code() == 200
    assert ImageDeleteResult.from_dict(untagged.get_result()).untagged == image_ref(endpoints, REGION, repository, "2.0")

    removed = client.delete_image(ref)
    assert removed.get_status_code() == 200
    ImageDeleteResult.from_dict(removed.get_result())

    trash = client.list_deleted_images(namespace=namespace)
    assert trash.get_status_code() == 200
    digest_ref = image_ref(endpoints, REGION, repository, digest=digest)
    assert Trash.from_dict(trash.get_result()[digest_ref]).tags == ["1.0"]

    restored = client.restore_image(ref)
    assert restored.get_status_code() == 200
    restored_tags = client.restore_tags(digest_ref)
    assert restored_tags.get_status_code() == 200
    assert RestoreResult.from_dict(restored_tags.get_result()).unsuccessful == ["1.0"]

    bulk = client.bulk_delete_images([digest_ref])
    assert bulk.get_status_code() == 200
    assert ImageBulkDeleteResult.from_dict(bulk.get_result()).success == [digest_ref]


def test_retention_operations(client, namespace):
    set_policy = client.set_retention_policy(namespace, images_per_repo=5, retain_untagged=True)
    assert set_policy.get_status_code() == 201

    listed = client.list_retention_policies()
    assert listed.get_status_code() == 200
    assert RetentionPolicy.from_dict(listed.get_result()[namespace]).images_per_repo == 5

    one = client.get_retention_policy(namespace)
    assert one.get_status_code() == 200
    policy = RetentionPolicy.from_dict(one.get_result())
    assert (policy.namespace, policy.images_per_repo, policy.retain_untagged) == (namespace, 5, True)

    analysis = client.analyze_retention_policy(namespace, images_per_repo=1)
    assert analysis.get_status_code() == 200
    assert analysis.get_result() == {}
