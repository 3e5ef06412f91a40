"""The registry token realm: credentials, scopes per namespace ownership, what the registry then allows."""

import re

import jwt
import pytest
import requests
from conftest import iam_token

REGION = "us-south"
UNAUTHORIZED = {"errors": [{"code": "UNAUTHORIZED", "message": "The login credentials are not valid, "
                                                               "or your IBM Cloud account is not active."}]}


@pytest.fixture(scope="module")
def challenge(endpoints):
    """realm and service the region's registry advertises in its Bearer challenge."""
    response = requests.get(f"http://{endpoints['regions'][REGION]['registry']}/v2/", timeout=30)
    assert response.status_code == 401
    header = response.headers["WWW-Authenticate"]
    assert header.startswith("Bearer ")
    return dict(re.findall(r'(\w+)="([^"]*)"', header))


def _token(challenge, auth, *scopes):
    params = [("service", challenge["service"])] + [("scope", s) for s in scopes]
    return requests.get(challenge["realm"], params=params, auth=auth, timeout=30)


def _access(response):
    assert response.status_code == 200, response.text
    body = response.json()
    assert "refresh_token" not in body      # docker would switch to OAuth POSTs
    claims = jwt.decode(body["token"], options={"verify_signature": False})
    return {(a["type"], a["name"]): sorted(a["actions"]) for a in claims["access"]}, claims


def test_the_challenge_names_the_regions_domain_as_service(challenge, endpoints):
    assert challenge["service"] == endpoints["regions"][REGION]["domain"]


def test_own_namespace_gets_push_pull_and_delete(challenge, api_key, make_namespace):
    ns = make_namespace(REGION)
    access, claims = _access(_token(challenge, ("iamapikey", api_key), f"repository:{ns}/app:push,pull,delete"))
    assert access == {("repository", f"{ns}/app"): ["delete", "pull", "push"]}
    assert claims["aud"] == challenge["service"] and isinstance(claims["exp"], int)


def test_missing_and_foreign_namespaces_get_no_actions(challenge, api_key, other_account, make_namespace):
    foreign = make_namespace(REGION, other_account)
    access, _ = _access(_token(challenge, ("iamapikey", api_key),
                               "repository:nothere-x1/app:push,pull", f"repository:{foreign}/app:pull"))
    assert access == {("repository", "nothere-x1/app"): [], ("repository", f"{foreign}/app"): []}


def test_several_scopes_in_one_parameter_and_only_what_was_asked(challenge, api_key, make_namespace):
    ns = make_namespace(REGION)
    both = f"repository:{ns}/a:pull repository:{ns}/b:push,pull"
    access, _ = _access(_token(challenge, ("iamapikey", api_key), both))
    assert access == {("repository", f"{ns}/a"): ["pull"], ("repository", f"{ns}/b"): ["pull", "push"]}


def test_the_catalog_is_never_granted(challenge, api_key):
    access, _ = _access(_token(challenge, ("iamapikey", api_key), "registry:catalog:*"))
    assert access == {("registry", "catalog"): []}


def test_an_iam_bearer_token_is_accepted_as_password(challenge, endpoints, api_key, make_namespace):
    ns = make_namespace(REGION)
    bearer = iam_token(endpoints, api_key)
    access, claims = _access(_token(challenge, ("iambearer", bearer), f"repository:{ns}/app:pull"))
    assert access == {("repository", f"{ns}/app"): ["pull"]}
    assert claims["sub"] == endpoints["account_id"]


@pytest.mark.parametrize("auth", [("iamapikey", "wrong"), ("iambearer", "not.a.jwt"), ("someone", "x"), None])
def test_bad_credentials_get_401_with_the_icr_message(challenge, auth):
    response = _token(challenge, auth, "repository:any/app:pull")
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


def test_the_registry_enforces_the_granted_scope(challenge, endpoints, api_key, other_account, make_namespace):
    registry = endpoints["regions"][REGION]["registry"]
    own, foreign = make_namespace(REGION), make_namespace(REGION, other_account)
    for ns, expected in ((own, 202), (foreign, 401)):   # 202: the registry started an upload
        token = _token(challenge, ("iamapikey", api_key), f"repository:{ns}/app:push,pull").json()["token"]
        response = requests.post(f"http://{registry}/v2/{ns}/app/blobs/uploads/", timeout=30,
                                 headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == expected, response.text
