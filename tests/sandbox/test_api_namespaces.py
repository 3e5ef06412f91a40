"""Namespace rules of ICR (as IBM documents them) and the API's auth/error conventions."""

import pytest
from ibm_cloud_sdk_core import ApiException
from sdk_helpers import (  # noqa: F401
    REGION, add_legacy_namespace, api_error, client, image_ref, namespace, pusher, raw_call, sdk_client, unique_namespace,
)


@pytest.mark.parametrize("name", ["abc", "a" * 31, "-abcd", "abcd-", "_abcd", "ABcd", "ab.cd", "ab cd"])
def test_invalid_namespace_names_are_refused(client, name):
    error = api_error(client.create_namespace, name)
    assert error.status_code == 400 and "not valid" in error.message


@pytest.mark.parametrize("name", ["a-_b", "a" * 30, "0--0"])
def test_boundary_names_are_accepted(client, name):
    try:
        client.delete_namespace(name)
    except ApiException:
        pass
    assert client.create_namespace(name).get_status_code() == 201
    client.delete_namespace(name)


def test_a_name_is_unique_across_accounts_in_a_region(client, namespace, endpoints):
    other = endpoints["other_accounts"][0]
    other_client = sdk_client(endpoints, REGION, other["api_key"], other["account_id"])
    error = api_error(other_client.create_namespace, namespace)
    assert error.status_code == 409 and "already in use" in error.message
    assert namespace not in other_client.list_namespaces().get_result()


def test_the_same_name_can_exist_in_another_region(client, namespace, endpoints):
    other_region = next(r for r in endpoints["regions"] if r != REGION)
    elsewhere = sdk_client(endpoints, other_region)
    assert elsewhere.create_namespace(namespace).get_status_code() == 201
    elsewhere.delete_namespace(namespace)


def test_at_most_100_namespaces_per_region_and_account(endpoints):
    region = next(r for r in endpoints["regions"] if r != REGION)
    regional = sdk_client(endpoints, region)
    existing = len(regional.list_namespaces().get_result())
    created = [unique_namespace("lim") for _ in range(100 - existing)]
    try:
        for name in created:
            assert regional.create_namespace(name).get_status_code() == 201
        error = api_error(regional.create_namespace, unique_namespace("lim"))
        assert error.status_code == 400 and "limit of 100" in error.message
    finally:
        for name in created:
            regional.delete_namespace(name)


def test_resource_group_defaults_to_the_accounts_first_group(client, namespace, endpoints):
    details = {d["name"]: d for d in client.list_namespace_details().get_result()}[namespace]
    assert details["resource_group"] == endpoints["resource_groups"][0]
    assert details["crn"].endswith(f":a/{endpoints['account_id']}::namespace:{namespace}")


def test_resource_group_header_must_name_one_of_the_accounts_groups(client, endpoints):
    other_group = endpoints["other_accounts"][0]["resource_groups"][0]
    error = api_error(client.create_namespace, unique_namespace(), x_auth_resource_group=other_group)
    assert error.status_code == 400 and other_group in error.message
    chosen = endpoints["resource_groups"][-1]
    name = unique_namespace()
    client.create_namespace(name, x_auth_resource_group=chosen)
    details = {d["name"]: d for d in client.list_namespace_details().get_result()}[name]
    client.delete_namespace(name)
    assert details["resource_group"] == chosen


def test_an_unassigned_namespace_is_assigned_exactly_once(client, endpoints):
    legacy = unique_namespace("legacy")
    add_legacy_namespace(endpoints, REGION, legacy)
    try:
        before = {d["name"]: d for d in client.list_namespace_details().get_result()}[legacy]
        assert "crn" not in before and "resource_group" not in before
        client.assign_namespace(endpoints["resource_groups"][0], legacy)
        after = {d["name"]: d for d in client.list_namespace_details().get_result()}[legacy]
        assert after["resource_group"] == endpoints["resource_groups"][0] and after["crn"]
        error = api_error(client.assign_namespace, endpoints["resource_groups"][-1], legacy)
        assert error.status_code == 400 and "already assigned" in error.message
    finally:
        client.delete_namespace(legacy)


def test_assigning_a_namespace_created_in_a_group_is_refused(client, namespace, endpoints):
    error = api_error(client.assign_namespace, endpoints["resource_groups"][0], namespace)
    assert error.status_code == 400


def test_deleting_a_namespace_deletes_its_images_for_good(client, pusher, endpoints):
    name = unique_namespace()
    client.create_namespace(name)
    pusher.push_image(f"{name}/app", "1", "gone soon")
    client.delete_image(image_ref(endpoints, REGION, f"{name}/app", "1"))
    pusher.push_image(f"{name}/app", "2", "gone too")
    assert client.delete_namespace(name).get_status_code() == 204
    assert name not in client.list_namespaces().get_result()
    client.create_namespace(name)
    try:
        assert client.list_images(namespace=name).get_result() == []
        prefix = image_ref(endpoints, REGION, name) + "/"
        repositories = {repo for d in client.list_image_digests().get_result() for repo in d["repoTags"]}
        assert not [repo for repo in repositories if repo.startswith(prefix)]
        assert client.list_deleted_images(namespace=name).get_result() == {}
    finally:
        client.delete_namespace(name)


def test_requests_need_a_bearer_token_and_the_matching_account_header(endpoints):
    assert raw_call(endpoints, "GET", "/api/v1/namespaces").status_code == 200
    other = endpoints["other_accounts"][0]
    for response in (raw_call(endpoints, "GET", "/api/v1/namespaces", account_id=False),
                     raw_call(endpoints, "GET", "/api/v1/namespaces", account_id=other["account_id"]),
                     raw_call(endpoints, "GET", "/api/v1/namespaces", headers={"Authorization": "Bearer not-a-token"})):
        assert response.status_code == 401
        assert response.json()["errors"][0]["message"].startswith("Authorization required")
        assert response.headers["X-Global-Transaction-ID"]


def test_messages_need_no_account(endpoints):
    response = raw_call(endpoints, "GET", "/api/v1/messages", account_id=False, headers={"Authorization": ""})
    assert response.status_code == 204


def test_errors_carry_a_message_code_and_transaction_id(client, endpoints):
    error = api_error(client.create_namespace, "BAD")
    assert error.message.startswith("The namespace name 'BAD' is not valid")
    assert error.http_response.json()["errors"][0]["code"].startswith("CR")
    assert error.global_transaction_id
    assert raw_call(endpoints, "GET", "/api/v1/plans").headers["X-Global-Transaction-ID"]
