"""The sandbox IAM: POST /identity/token with the apikey grant (docs/sandbox-auth.md, "IAM tokens")."""

import time

import jwt
import requests

GRANT = "urn:ibm:params:oauth:grant-type:apikey"


def _token_call(endpoints, api_key):
    return requests.post(f"{endpoints['iam_url']}/identity/token", timeout=30,
                         data={"grant_type": GRANT, "apikey": api_key},
                         headers={"Accept": "application/json"})


def test_a_good_key_gets_an_access_token_with_ibm_claims(endpoints, api_key):
    response = _token_call(endpoints, api_key)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert {"access_token", "refresh_token", "expiration", "scope"} <= set(body)
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["account"]["bss"] == endpoints["account_id"]
    assert claims["sub"] and claims["iam_id"]
    assert claims["exp"] - claims["iat"] == 3600
    assert abs(claims["exp"] - body["expiration"]) <= 1
    assert claims["iat"] <= time.time() + 60


def test_each_account_key_maps_to_its_own_account(endpoints, other_account):
    body = _token_call(endpoints, other_account["api_key"]).json()
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["account"]["bss"] == other_account["account_id"] != endpoints["account_id"]


def test_an_unknown_key_is_refused_like_ibm_cloud(endpoints):
    response = _token_call(endpoints, "not-a-key")
    assert response.status_code == 400
    assert response.json() == {"context": {}, "errorCode": "BXNIM0415E",
                               "errorMessage": "Provided API key could not be found."}


def test_the_ibm_sdk_authenticator_gets_a_token(endpoints, api_key):
    from ibm_cloud_sdk_core.authenticators import IAMAuthenticator
    token = IAMAuthenticator(api_key, url=endpoints["iam_url"]).token_manager.get_token()
    assert jwt.decode(token, options={"verify_signature": False})["account"]["bss"] == endpoints["account_id"]
