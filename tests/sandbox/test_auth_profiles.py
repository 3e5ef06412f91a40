"""Trusted profiles through IBM's own authenticators: the assume grant (by id, name + account,
CRN), the cr-token grant (ContainerAuthenticator), the VPC instance metadata service
(VPCInstanceAuthenticator), a bearer token (BearerTokenAuthenticator); and what IAM refuses
(docs/sandbox-auth.md, "Trusted profiles and compute resources", "IAM errors")."""

import os

import pytest
import requests
from ibm_cloud_sdk_core import ApiException
from ibm_cloud_sdk_core.authenticators import (
    BearerTokenAuthenticator,
    ContainerAuthenticator,
    IAMAssumeAuthenticator,
    VPCInstanceAuthenticator,
)
from ibm_container_registry.container_registry_v1 import ContainerRegistryV1

from identity_helpers import ASSUME, CR_TOKEN, claims, expired, forged, iam_call, profile, user_token
from sdk_helpers import REGION, api_error

TIMEOUT = 30


def _client(endpoints, authenticator):
    client = ContainerRegistryV1(account=endpoints["account_id"], authenticator=authenticator)
    client.set_service_url(endpoints["regions"][REGION]["api_url"])
    return client


def _works_as(endpoints, authenticator, wanted):
    """The authenticator's token is the profile's, and /api/v1 accepts it."""
    assert _client(endpoints, authenticator).list_namespaces().get_status_code() == 200
    token_claims = claims(authenticator.token_manager.get_token())
    assert token_claims["sub_type"] == "Profile" and token_claims["iam_id"] == f"iam-{wanted['id']}"
    assert token_claims["account"]["bss"] == wanted["account_id"] == endpoints["account_id"]


@pytest.mark.parametrize("by", ["id", "name", "crn"])
def test_assume_a_trusted_profile_from_an_api_key(endpoints, by):
    writer = profile(endpoints, "Writer")
    options = {"id": {"iam_profile_id": writer["id"]},
               "name": {"iam_profile_name": writer["name"], "iam_account_id": writer["account_id"]},
               "crn": {"iam_profile_crn": writer["crn"]}}[by]
    _works_as(endpoints, IAMAssumeAuthenticator(endpoints["api_key"], url=endpoints["iam_url"], **options), writer)


@pytest.mark.parametrize("by", ["id", "name"])
def test_a_compute_resource_token_file_gets_its_profiles_token(endpoints, by):
    reader = profile(endpoints, "Reader")
    assert oct(os.stat(reader["cr_token_file"]).st_mode & 0o777) == "0o600"
    options = {"iam_profile_id": reader["id"]} if by == "id" else {"iam_profile_name": reader["name"]}
    authenticator = ContainerAuthenticator(cr_token_filename=reader["cr_token_file"], url=endpoints["iam_url"],
                                           **options)
    _works_as(endpoints, authenticator, reader)


@pytest.mark.parametrize("by", [None, "id", "name", "crn"])
def test_a_vpc_instance_gets_a_profiles_token_from_its_metadata_service(endpoints, by):
    wanted = profile(endpoints, "Reader") if by else endpoints["trusted_profiles"][0]   # the default: the first
    options = {f"iam_profile_{by}": wanted[by]} if by else {}
    _works_as(endpoints, VPCInstanceAuthenticator(url=endpoints["vpc_metadata_url"], **options), wanted)


def test_a_bearer_token_of_a_profile_works_until_it_expires(endpoints):
    writer = profile(endpoints, "Writer")
    token = IAMAssumeAuthenticator(endpoints["api_key"], iam_profile_id=writer["id"],
                                   url=endpoints["iam_url"]).token_manager.get_token()
    assert _client(endpoints, BearerTokenAuthenticator(token)).list_namespaces().get_status_code() == 200
    for bad in (expired(endpoints, token), forged(token)):
        error = api_error(_client(endpoints, BearerTokenAuthenticator(bad)).list_namespaces)
        assert error.status_code == 401 and "Authorization required" in error.message


# ---- what IAM refuses ---------------------------------------------------------------------------

def _refusal(response, status, code):
    assert response.status_code == status, response.text
    body = response.json()
    assert body["errorCode"] == code and body["errorMessage"], body
    return body


def test_assume_refuses_expired_forged_and_missing_tokens(endpoints):
    token = user_token(endpoints)
    writer = profile(endpoints, "Writer")
    _refusal(iam_call(endpoints, grant_type=ASSUME, access_token=expired(endpoints, token), profile_id=writer["id"]),
             400, "BXNIM0408E")
    _refusal(iam_call(endpoints, grant_type=ASSUME, access_token=forged(token), profile_id=writer["id"]),
             400, "BXNIM0407E")
    _refusal(iam_call(endpoints, grant_type=ASSUME, profile_id=writer["id"]), 400, "BXNIM0109E")


def test_assume_refuses_unknown_and_foreign_profiles(endpoints, other_account):
    token = user_token(endpoints)
    writer = profile(endpoints, "Writer")
    _refusal(iam_call(endpoints, grant_type=ASSUME, access_token=token, profile_id="Profile-nope"), 400, "BXNIM9404E")
    _refusal(iam_call(endpoints, grant_type=ASSUME, access_token=token, profile_name=writer["name"],
                      account=other_account["account_id"]), 400, "BXNIM9404E")
    _refusal(iam_call(endpoints, grant_type=ASSUME, access_token=token, profile_name=writer["name"]),
             400, "BXNIM0109E")
    # A profile trusts identities of its own account only.
    foreign = user_token(endpoints, other_account["api_key"])
    _refusal(iam_call(endpoints, grant_type=ASSUME, access_token=foreign, profile_id=writer["id"]), 403, "BXNIM9403E")


def test_the_sdk_reports_an_unknown_profile(endpoints):
    authenticator = IAMAssumeAuthenticator(endpoints["api_key"], iam_profile_id="Profile-nope", url=endpoints["iam_url"])
    with pytest.raises(ApiException) as raised:
        _client(endpoints, authenticator).list_namespaces()
    assert raised.value.status_code == 400 and "could not be found" in raised.value.message


def test_cr_token_refusals(endpoints):
    writer, reader = profile(endpoints, "Writer"), profile(endpoints, "Reader")
    with open(writer["cr_token_file"], encoding="utf-8") as handle:
        token = handle.read()
    _refusal(iam_call(endpoints, grant_type=CR_TOKEN, cr_token=expired(endpoints, token), profile_id=writer["id"]),
             400, "BXNIM0408E")
    _refusal(iam_call(endpoints, grant_type=CR_TOKEN, cr_token=forged(token), profile_id=writer["id"]),
             400, "BXNIM0407E")
    _refusal(iam_call(endpoints, grant_type=CR_TOKEN, cr_token=token, profile_name="no-such-profile"),
             400, "BXNIM9404E")
    _refusal(iam_call(endpoints, grant_type=CR_TOKEN, cr_token=token), 400, "BXNIM0109E")
    # The writer's pod is not trusted by the reader profile.
    _refusal(iam_call(endpoints, grant_type=CR_TOKEN, cr_token=token, profile_id=reader["id"]), 403, "BXNIM9403E")
    # An IAM token is not a compute resource token.
    _refusal(iam_call(endpoints, grant_type=CR_TOKEN, cr_token=user_token(endpoints), profile_id=writer["id"]),
             400, "BXNIM0407E")


def test_metadata_service_refusals(endpoints):
    base = endpoints["vpc_metadata_url"]
    flavor = {"Metadata-Flavor": "ibm"}
    version = {"version": "2022-03-01"}
    assert requests.put(f"{base}/instance_identity/v1/token", params=version, json={}, timeout=TIMEOUT).status_code == 400
    assert requests.put(f"{base}/instance_identity/v1/token", headers=flavor, json={}, timeout=TIMEOUT).status_code == 400
    issued = requests.put(f"{base}/instance_identity/v1/token", params=version, headers=flavor,
                          json={"expires_in": 60}, timeout=TIMEOUT)
    assert issued.status_code == 200 and issued.json()["expires_in"] == 60
    instance_token = issued.json()["access_token"]
    for bad in (forged(instance_token), expired(endpoints, instance_token), user_token(endpoints)):
        refused = requests.post(f"{base}/instance_identity/v1/iam_token", params=version,
                                headers={**flavor, "Authorization": f"Bearer {bad}"}, timeout=TIMEOUT)
        assert refused.status_code == 401 and refused.json()["errors"][0]["code"] == "invalid_token"
    unknown = requests.post(f"{base}/instance_identity/v1/iam_token", params=version,
                            headers={**flavor, "Authorization": f"Bearer {instance_token}"},
                            json={"trusted_profile": {"id": "Profile-nope"}}, timeout=TIMEOUT)
    assert unknown.status_code == 400 and "BXNIM9404E" in unknown.json()["errors"][0]["message"]
