"""Helpers for the trusted-profile, service-ID and private-endpoint tests: raw IAM calls and
tokens the sandbox never issued (forged with another key, or expired but signed with its key)."""

import os
import time

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

TIMEOUT = 30
APIKEY = "urn:ibm:params:oauth:grant-type:apikey"
ASSUME = "urn:ibm:params:oauth:grant-type:assume"
CR_TOKEN = "urn:ibm:params:oauth:grant-type:cr-token"


def iam_call(endpoints, **form):
    return requests.post(f"{endpoints['iam_url']}/identity/token", data=form, timeout=TIMEOUT,
                         headers={"Accept": "application/json"})


def user_token(endpoints, api_key=None):
    response = iam_call(endpoints, grant_type=APIKEY, apikey=api_key or endpoints["api_key"])
    response.raise_for_status()
    return response.json()["access_token"]


def sandbox_key(endpoints):
    with open(os.path.join(endpoints["state_dir"], "keys", "signing.key"), "rb") as handle:
        return serialization.load_pem_private_key(handle.read(), password=None)


def resign(token, key, **changes):
    """The token's claims (with ``changes``) signed by ``key``."""
    claims = dict(jwt.decode(token, options={"verify_signature": False}), **changes)
    return jwt.encode(claims, key, algorithm="RS256")


def forged(token):
    """Same claims, signed by a key the sandbox never saw."""
    return resign(token, rsa.generate_private_key(public_exponent=65537, key_size=2048))


def expired(endpoints, token):
    """Same claims, an hour past ``exp``, signed by the sandbox's own key."""
    now = int(time.time())
    return resign(token, sandbox_key(endpoints), iat=now - 7200, nbf=now - 7200, exp=now - 3600)


def profile(endpoints, role):
    return next(p for p in endpoints["trusted_profiles"] if p["role"] == role)


def service_id(endpoints, role):
    return next(s for s in endpoints["service_ids"] if s["role"] == role)


def claims(token):
    return jwt.decode(token, options={"verify_signature": False})
