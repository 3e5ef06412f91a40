"""Private endpoints (private.<domain>) and the account's private_only setting
(docs/sandbox-auth.md, "Private endpoints"): with it on, the realm refuses public pushes and
pulls with a message naming the private endpoint; the private endpoint keeps working."""

import subprocess

import pytest
import requests

from sdk_helpers import (  # noqa: F401
    REGION, RegistryPusher, client, namespace, realm_token_source, sdk_client,
)

TIMEOUT = 30


@pytest.fixture
def private_only(client):
    """Turns private_only on for the main account in REGION; off again afterwards."""
    client.update_auth(private_only=True)
    yield
    client.update_auth(private_only=False)


def _pusher(endpoints, which):
    host = endpoints["regions"][REGION][which]
    return RegistryPusher(host, realm_token_source(host, endpoints["api_key"]))


def test_the_private_endpoint_answers_as_its_own_service(endpoints):
    region = endpoints["regions"][REGION]
    assert region["private_domain"] == f"private.{region['domain']}"
    challenge = requests.get(f"http://{region['private_registry']}/v2/", timeout=TIMEOUT).headers["WWW-Authenticate"]
    assert f'service="{region["private_domain"]}"' in challenge
    private_api = sdk_client(endpoints, REGION)
    private_api.set_service_url(region["private_api_url"])
    assert private_api.get_auth().get_status_code() == 200


def test_both_endpoints_share_the_images_while_private_only_is_off(endpoints, namespace):
    public, private = _pusher(endpoints, "registry"), _pusher(endpoints, "private_registry")
    public.push_image(f"{namespace}/app", "public", "over the public endpoint")
    private.push_image(f"{namespace}/app", "private", "over the private endpoint")
    assert public.tags(f"{namespace}/app") == private.tags(f"{namespace}/app") == ["private", "public"]


def test_private_only_refuses_public_pushes_and_pulls(endpoints, namespace, private_only):
    private = _pusher(endpoints, "private_registry")
    digest = private.push_image(f"{namespace}/app", "1", "private only")
    assert private.manifest_size(f"{namespace}/app", digest) > 0
    public = _pusher(endpoints, "registry")
    for attempt in (lambda: public.tags(f"{namespace}/app"),
                    lambda: public.push_image(f"{namespace}/app", "2", "public")):
        with pytest.raises(requests.HTTPError) as refused:
            attempt()
        assert refused.value.response.status_code == 401
        error = refused.value.response.json()["errors"][0]
        assert error["code"] == "DENIED" and "private" in error["message"]
        assert endpoints["regions"][REGION]["private_domain"] in error["message"]


def test_skopeo_sees_the_private_only_message(endpoints, namespace, private_only, tmp_path):
    region = endpoints["regions"][REGION]
    _pusher(endpoints, "private_registry").push_image(f"{namespace}/app", "1", "for skopeo")
    env = {"REGISTRY_AUTH_FILE": str(tmp_path / "auth.json"), "PATH": "/usr/local/bin:/usr/bin:/bin"}

    def inspect(host):
        return subprocess.run(["skopeo", "inspect", "--tls-verify=false", "--creds", f"iamapikey:{endpoints['api_key']}",
                               f"docker://{host}/{namespace}/app:1"], env=env, text=True, capture_output=True,
                              timeout=120)

    assert inspect(region["private_registry"]).returncode == 0
    public = inspect(region["registry"])
    assert public.returncode != 0 and "private" in public.stderr, public.stderr
