"""Quotas, plans, settings and auth options (as IBM documents them)."""

import os

import pytest
import requests
from sdk_helpers import REGION, api_error, client, image_ref, namespace, pusher, wait_for  # noqa: F401

MEGABYTE = 1024 * 1024


@pytest.fixture
def restore_quota(client):
    limit = client.get_quota().get_result()["limit"]
    yield
    client.update_quota(**{f"{kind}_megabytes": -1 if limit[f"{kind}_bytes"] == -1 else limit[f"{kind}_bytes"] // MEGABYTE
                           for kind in ("storage", "traffic")})


def _usage(client):
    return client.get_quota().get_result()["usage"]["storage_bytes"]


def test_quota_is_set_in_megabytes_and_read_in_bytes(client, restore_quota):
    client.update_quota(storage_megabytes=500, traffic_megabytes=-1)
    assert client.get_quota().get_result()["limit"] == {"storage_bytes": 524288000, "traffic_bytes": -1}
    assert api_error(client.update_quota, storage_megabytes=-5).status_code == 400


def test_storage_usage_counts_tagged_and_untagged_images_and_each_blob_once(client, pusher, namespace, endpoints):
    start = _usage(client)
    pusher.push_image(f"{namespace}/one", "1", "same bytes")
    after_first = _usage(client)
    assert after_first > start
    pusher.push_image(f"{namespace}/two", "1", "same bytes")         # identical image in another repository
    assert _usage(client) == after_first
    pusher.push_image(f"{namespace}/one", "2", os.urandom(4096))
    after_second = _usage(client)
    assert after_second > after_first + 4096
    client.delete_image_tag(image_ref(endpoints, REGION, f"{namespace}/one", "2"))   # untagged is still billed
    assert _usage(client) == after_second
    client.delete_image(image_ref(endpoints, REGION, f"{namespace}/one", "1"))       # trash is not billed, but
    assert _usage(client) == after_second                                            # two/1 still holds those blobs


def test_pushes_stop_once_storage_usage_exceeds_the_quota(client, pusher, namespace, restore_quota):
    limit_megabytes = _usage(client) // MEGABYTE + 1
    client.update_quota(storage_megabytes=limit_megabytes)
    pusher.push_image(f"{namespace}/big", "1", os.urandom(MEGABYTE + 1024))   # allowed: usage was under the limit
    assert _usage(client) > limit_megabytes * MEGABYTE
    with pytest.raises(requests.HTTPError):
        pusher.push_image(f"{namespace}/big", "2", "one more")
    client.update_quota(storage_megabytes=-1)
    pusher.push_image(f"{namespace}/big", "2", "one more")


def test_pulled_bytes_count_as_traffic_and_stop_pulls_over_the_quota(client, pusher, namespace, endpoints, restore_quota):
    repository = f"{namespace}/app"
    pusher.push_image(repository, "1", os.urandom(2048))
    layer = client.get_image_manifest(image_ref(endpoints, REGION, repository, "1")).get_result().json()["layers"][0]

    def traffic():
        return client.get_quota().get_result()["usage"]["traffic_bytes"]

    before = traffic()
    pusher.pull_blob(repository, layer["digest"])
    # The registry reports pulls asynchronously (its notification endpoint), so wait for it.
    assert wait_for(lambda: traffic() >= before + layer["size"])
    client.update_quota(traffic_megabytes=0)
    with pytest.raises(requests.HTTPError):
        pusher.pull_blob(repository, layer["digest"])
    client.update_quota(traffic_megabytes=-1)
    assert len(pusher.pull_blob(repository, layer["digest"])) == layer["size"]


def test_plan_upgrades_to_standard_and_never_back(client):
    assert client.update_plans(plan="Standard").get_status_code() == 200
    assert client.get_plans().get_result() == {"plan": "Standard"}
    assert api_error(client.update_plans, plan="Free").status_code == 403
    assert api_error(client.update_plans, plan="Gold").status_code == 400
    assert client.get_plans().get_result() == {"plan": "Standard"}


def test_settings_and_auth_options_round_trip(client):
    before_settings, before_auth = client.get_settings().get_result(), client.get_auth().get_result()
    try:
        client.update_settings(platform_metrics=True)
        assert client.get_settings().get_result() == {"platform_metrics": True}
        client.update_auth(private_only=True)
        assert client.get_auth().get_result() == {"iam_authz": before_auth["iam_authz"], "private_only": True}
        client.update_auth(iam_authz=not before_auth["iam_authz"])
        assert client.get_auth().get_result() == {"iam_authz": not before_auth["iam_authz"], "private_only": True}
        assert api_error(client.update_settings, platform_metrics="yes").status_code == 400
    finally:
        client.update_settings(**before_settings)
        client.update_auth(**before_auth)
