"""Session fixtures of the sandbox conformance suite: run it against a running sandbox.

The endpoints file comes from ``$ICR_ENDPOINTS``, else this checkout's
``.sandbox/endpoints.json`` (``make sandbox-up`` writes it). Without a running sandbox every test errors, on purpose.
"""

import json
import os
import sys
from pathlib import Path

import pytest
import requests

DEFAULT_ENDPOINTS = Path(__file__).resolve().parents[2] / ".sandbox" / "endpoints.json"
TIMEOUT = 60

# sdk_helpers.py sits beside the tests and is imported by name.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def endpoints_path():
    """The endpoints file of the sandbox under test (also handed to modules the tests run)."""
    return os.environ.get("ICR_ENDPOINTS") or str(DEFAULT_ENDPOINTS)


class Control:
    """The sandbox test hooks (docs/design.md "Sandbox test hooks")."""

    def __init__(self, url):
        self.url = url.rstrip("/")

    def _call(self, method, path, **kwargs):
        response = requests.request(method, self.url + path, timeout=TIMEOUT, **kwargs)
        response.raise_for_status()
        return response

    def requests(self, since=0):
        return self._call("GET", "/_sandbox/requests", params={"since": since}).json()

    def last(self):
        return self.requests()["last"]

    def clear_requests(self):
        self._call("DELETE", "/_sandbox/requests")

    def set_faults(self, rules):
        return self._call("PUT", "/_sandbox/faults", json=rules).json()

    def faults(self):
        return self._call("GET", "/_sandbox/faults").json()

    def clear_faults(self):
        self._call("DELETE", "/_sandbox/faults")

    def reset(self):
        self._call("POST", "/_sandbox/reset")


@pytest.fixture(scope="session")
def endpoints():
    path = endpoints_path()
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except FileNotFoundError:
        pytest.fail(f"no sandbox endpoints file at {path}: start one with `make sandbox-up` "
                    "(or set ICR_ENDPOINTS)", pytrace=False)
    try:
        requests.get(document["control_url"] + "/_sandbox/health", timeout=5).raise_for_status()
    except requests.RequestException as error:
        pytest.fail(f"the sandbox of {path} does not answer at {document['control_url']}: {error}", pytrace=False)
    return document


@pytest.fixture(scope="session")
def control(endpoints):
    return Control(endpoints["control_url"])


@pytest.fixture(scope="session")
def api_key(endpoints):
    return endpoints["api_key"]


@pytest.fixture(scope="session")
def other_account(endpoints):
    return endpoints["other_accounts"][0]


@pytest.fixture
def docker_env(endpoints, tmp_path):
    """Environment for the docker CLI: the sandbox engine and an empty, private DOCKER_CONFIG."""
    config_dir = tmp_path / "docker-config"
    config_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    env.update(DOCKER_HOST=endpoints["docker_host"], DOCKER_CONFIG=str(config_dir), DOCKER_BUILDKIT="0")
    return env


@pytest.fixture
def no_faults(control):
    """Faults set by a test never outlive it."""
    yield
    control.clear_faults()


def iam_token(endpoints, api_key):
    response = requests.post(f"{endpoints['iam_url']}/identity/token", timeout=TIMEOUT,
                             data={"grant_type": "urn:ibm:params:oauth:grant-type:apikey", "apikey": api_key})
    response.raise_for_status()
    return response.json()["access_token"]


@pytest.fixture
def make_namespace(endpoints):
    """``make_namespace(region, account=None)``: a fresh namespace made over /api/v1, deleted after the test."""
    created = []

    def make(region="us-south", account=None):
        account = account or {"api_key": endpoints["api_key"], "account_id": endpoints["account_id"]}
        name = "c-" + os.urandom(5).hex()
        headers = {"Authorization": f"Bearer {iam_token(endpoints, account['api_key'])}",
                   "Account": account["account_id"]}
        url = f"{endpoints['regions'][region]['api_url']}/api/v1/namespaces/{name}"
        response = requests.put(url, headers=headers, timeout=TIMEOUT)
        assert response.status_code == 201, response.text
        created.append((url, headers))
        return name

    yield make
    for url, headers in created:
        requests.delete(url, headers=headers, timeout=TIMEOUT)
