"""Service roles (docs/sandbox-auth.md, "Roles"): service IDs and trusted profiles of the main
account, refused on /api/v1 with 403 and given fewer /v2 actions by the realm."""

import subprocess

import jwt

import pytest
import requests
from ibm_cloud_sdk_core.authenticators import IAMAssumeAuthenticator

from identity_helpers import profile, service_id
from sdk_helpers import (  # noqa: F401
    REGION, RegistryPusher, api_error, client, namespace, realm_token_source, sdk_client, unique_namespace,
)

TIMEOUT = 30


def _realm_actions(endpoints, api_key, repository, wanted="pull,push,delete"):
    host = endpoints["regions"][REGION]["registry"]
    challenge = requests.get(f"http://{host}/v2/", timeout=TIMEOUT).headers["WWW-Authenticate"]
    fields = dict(part.split("=", 1) for part in challenge.split(" ", 1)[1].split(","))
    realm, service = fields["realm"].strip('"'), fields["service"].strip('"')
    response = requests.get(realm, params={"service": service, "scope": f"repository:{repository}:{wanted}"},
                            auth=("iamapikey", api_key), timeout=TIMEOUT)
    response.raise_for_status()

    return jwt.decode(response.json()["token"], options={"verify_signature": False})["access"][0]["actions"]


def _refused_403(error):
    assert error.status_code == 403, error
    assert "not authorized" in error.message
    assert error.http_response.json()["errors"][0]["code"] == "CRG9403E"


def test_reader_reads_but_cannot_create_a_namespace(endpoints, namespace):
    reader = sdk_client(endpoints, REGION, api_key=service_id(endpoints, "Reader")["api_key"])
    assert namespace in reader.list_namespaces().get_result()
    assert reader.get_quota().get_status_code() == 200
    _refused_403(api_error(reader.create_namespace, unique_namespace()))
    _refused_403(api_error(reader.delete_namespace, namespace))


def test_writer_cannot_change_quotas_or_namespaces(endpoints, namespace):
    writer = sdk_client(endpoints, REGION, api_key=service_id(endpoints, "Writer")["api_key"])
    _refused_403(api_error(writer.update_quota, storage_megabytes=500))
    _refused_403(api_error(writer.update_plans, plan="Standard"))
    _refused_403(api_error(writer.create_namespace, unique_namespace()))
    assert writer.set_retention_policy(namespace=namespace, images_per_repo=-1).get_status_code() == 201


def test_manager_manages_namespaces(endpoints):
    manager = sdk_client(endpoints, REGION, api_key=service_id(endpoints, "Manager")["api_key"])
    name = unique_namespace()
    assert manager.create_namespace(name).get_status_code() == 201
    assert manager.delete_namespace(name).get_status_code() == 204


def test_a_reader_profile_is_refused_like_a_reader_service_id(endpoints):
    reader = profile(endpoints, "Reader")
    assumed = sdk_client(endpoints, REGION)
    assumed.authenticator = IAMAssumeAuthenticator(endpoints["api_key"], iam_profile_id=reader["id"],
                                                   url=endpoints["iam_url"])
    assert assumed.list_namespaces().get_status_code() == 200
    _refused_403(api_error(assumed.create_namespace, unique_namespace()))


def test_the_realm_grants_each_role_its_actions(endpoints, namespace):
    repository = f"{namespace}/app"
    assert _realm_actions(endpoints, service_id(endpoints, "Reader")["api_key"], repository) == ["pull"]
    assert _realm_actions(endpoints, service_id(endpoints, "Writer")["api_key"], repository) == ["delete", "pull", "push"]
    assert _realm_actions(endpoints, endpoints["api_key"], repository) == ["delete", "pull", "push"]


def test_a_reader_pulls_but_cannot_push(endpoints, namespace):
    host = endpoints["regions"][REGION]["registry"]
    writer = RegistryPusher(host, realm_token_source(host, service_id(endpoints, "Writer")["api_key"]))
    digest = writer.push_image(f"{namespace}/app", "1", "by the writer")
    reader = RegistryPusher(host, realm_token_source(host, service_id(endpoints, "Reader")["api_key"]))
    assert reader.tags(f"{namespace}/app") == ["1"]
    assert reader.manifest_size(f"{namespace}/app", digest) > 0
    with pytest.raises(requests.HTTPError) as refused:
        reader.push_image(f"{namespace}/app", "2", "by the reader")
    assert refused.value.response.status_code == 401


def test_docker_cli_iambearer_login_of_a_reader_profile_cannot_push(endpoints, namespace, docker_env):
    reader = profile(endpoints, "Reader")
    token = IAMAssumeAuthenticator(endpoints["api_key"], iam_profile_id=reader["id"],
                                   url=endpoints["iam_url"]).token_manager.get_token()
    registry = endpoints["regions"][REGION]["registry"]

    def docker(*args, stdin=None):
        return subprocess.run(["docker", *args], input=stdin, env=docker_env, text=True, capture_output=True,
                              timeout=180)

    login = docker("login", registry, "-u", "iambearer", "--password-stdin", stdin=token + "\n")
    assert login.returncode == 0, login.stderr
    tag = f"{registry}/{namespace}/app:reader"
    docker("tag", endpoints["base_image"], tag)
    pushed = docker("push", tag)
    docker("rmi", tag)
    assert pushed.returncode != 0 and "denied" in pushed.stderr
