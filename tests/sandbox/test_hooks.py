"""The sandbox test hooks: request log, fault rules, reset (docs/design.md "Sandbox test hooks")."""

import hashlib
import os
import time

import pytest
import requests
from conftest import iam_token

REGION = "us-south"
TIMEOUT = 30


class Client:
    """Plain HTTP to one region: /api/v1 with an IAM token, /v2 with realm tokens."""

    def __init__(self, endpoints, region=REGION):
        self.endpoints = endpoints
        self.region = endpoints["regions"][region]
        self.api_headers = {"Authorization": f"Bearer {iam_token(endpoints, endpoints['api_key'])}",
                            "Account": endpoints["account_id"]}
        self.registry = f"http://{self.region['registry']}"

    def api(self, method, path, **kwargs):
        return requests.request(method, f"{self.region['api_url']}/api/v1{path}", headers=self.api_headers,
                                timeout=TIMEOUT, **kwargs)

    def v2_headers(self, repository):
        response = requests.get(f"{self.endpoints['control_url']}/oauth/token", timeout=TIMEOUT,
                                auth=("iamapikey", self.endpoints["api_key"]),
                                params={"service": self.region["domain"],
                                        "scope": f"repository:{repository}:push,pull"})
        response.raise_for_status()
        return {"Authorization": f"Bearer {response.json()['token']}"}

    def push_blob(self, repository, data):
        headers = self.v2_headers(repository)
        started = requests.post(f"{self.registry}/v2/{repository}/blobs/uploads/", headers=headers, timeout=TIMEOUT)
        assert started.status_code == 202, started.text
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        location = started.headers["Location"]
        location = location if location.startswith("http") else self.registry + location
        done = requests.put(location, params={"digest": digest}, data=data, timeout=TIMEOUT,
                            headers={**headers, "Content-Type": "application/octet-stream"})
        assert done.status_code == 201, done.text
        return digest


@pytest.fixture
def client(endpoints):
    return Client(endpoints)


def _since(control, mark, kind=None):
    return [e for e in control.requests(since=mark)["requests"] if kind is None or e["kind"] == kind]


def test_the_log_records_each_kind_with_mutating(control, client, make_namespace, endpoints):
    mark = control.last()
    ns = make_namespace(REGION)                                        # iam + api PUT
    client.api("GET", "/namespaces")
    client.api("POST", "/images/digests", json={})
    client.push_blob(f"{ns}/app", b"log me")                          # token + v2 POST/PUT
    entries = _since(control, mark)
    by_kind = {kind: [e for e in entries if e["kind"] == kind] for kind in ("iam", "token", "api", "v2")}
    assert all(by_kind.values()), {k: len(v) for k, v in by_kind.items()}
    api = {(e["method"], e["path"]): e for e in by_kind["api"] if e["region"] == REGION}
    assert api[("PUT", f"/api/v1/namespaces/{ns}")]["mutating"] is True
    assert api[("GET", "/api/v1/namespaces")]["mutating"] is False
    assert api[("POST", "/api/v1/images/digests")]["mutating"] is False
    v2 = [(e["method"], e["status"], e["mutating"]) for e in by_kind["v2"] if f"/v2/{ns}/app/blobs/" in e["path"]]
    assert ("POST", 202, True) in v2 and ("PUT", 201, True) in v2
    assert all(not e["mutating"] for e in by_kind["iam"] + by_kind["token"])
    seqs = [e["seq"] for e in entries]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


def test_clearing_the_log(control, client):
    client.api("GET", "/namespaces")
    control.clear_requests()
    assert control.requests()["requests"] == []


def test_api_fault_429_with_retry_after_fires_count_times(control, client, no_faults):
    control.set_faults([{"kind": "api", "region": REGION, "method": "GET", "path_regex": "/namespaces$",
                         "status": 429, "retry_after": 3, "count": 1}])
    first, second = client.api("GET", "/namespaces"), client.api("GET", "/namespaces")
    assert first.status_code == 429 and first.headers["Retry-After"] == "3"
    assert first.json()["errors"][0]["message"]
    assert second.status_code == 200
    assert control.faults()[0]["fired"] == 1


def test_v2_fault_503_answers_for_the_registry(control, client, make_namespace, no_faults):
    ns = make_namespace(REGION)
    control.set_faults([{"kind": "v2", "region": REGION, "method": "POST", "path_regex": "/blobs/uploads/",
                         "status": 503, "retry_after": 0}])
    mark = control.last()
    response = requests.post(f"{client.registry}/v2/{ns}/app/blobs/uploads/", headers=client.v2_headers(f"{ns}/app"),
                             timeout=TIMEOUT)
    assert response.status_code == 503 and response.headers["Retry-After"] == "0"
    assert response.json()["errors"][0]["code"] == "UNAVAILABLE"
    logged = [(e["method"], e["status"]) for e in _since(control, mark, "v2") if f"/v2/{ns}/" in e["path"]]
    assert logged == [("POST", 503)]


def test_rules_only_match_their_region_and_method(control, endpoints, no_faults):
    control.set_faults([{"kind": "v2", "region": "eu-de", "method": "GET", "status": 500}])
    us = requests.get(f"http://{endpoints['regions'][REGION]['registry']}/v2/", timeout=TIMEOUT)
    de_head = requests.head(f"http://{endpoints['regions']['eu-de']['registry']}/v2/", timeout=TIMEOUT)
    de_get = requests.get(f"http://{endpoints['regions']['eu-de']['registry']}/v2/", timeout=TIMEOUT)
    assert (us.status_code, de_head.status_code, de_get.status_code) == (401, 401, 500)


def test_probability_zero_never_fires(control, client, no_faults):
    control.set_faults([{"kind": "api", "status": 500, "probability": 0}])
    assert all(client.api("GET", "/namespaces").status_code == 200 for _ in range(5))
    assert control.faults()[0]["fired"] == 0


def test_iam_and_token_faults(control, endpoints, no_faults):
    control.set_faults([{"kind": "iam", "status": 500, "count": 1}, {"kind": "token", "status": 503, "count": 1}])
    iam = requests.post(f"{endpoints['iam_url']}/identity/token", timeout=TIMEOUT,
                        data={"grant_type": "urn:ibm:params:oauth:grant-type:apikey", "apikey": endpoints["api_key"]})
    realm = requests.get(f"{endpoints['control_url']}/oauth/token", auth=("iamapikey", endpoints["api_key"]),
                         params={"service": endpoints["regions"][REGION]["domain"]}, timeout=TIMEOUT)
    assert (iam.status_code, realm.status_code) == (500, 503)
    assert iam.json()["errorMessage"]


@pytest.mark.parametrize("kind", ["api", "v2"])
def test_latency_delays_the_answer(control, client, kind, no_faults):
    control.set_faults([{"kind": kind, "region": REGION, "latency_ms": 400, "count": 1}])
    url = f"{client.region['api_url']}/api/v1/namespaces" if kind == "api" else f"{client.registry}/v2/"
    started = time.monotonic()
    response = requests.get(url, headers=client.api_headers, timeout=TIMEOUT)
    elapsed = time.monotonic() - started
    assert response.status_code == (200 if kind == "api" else 401)
    assert elapsed >= 0.4          # a lower bound only: the sleep happened
    assert control.faults()[0]["fired"] == 1


def test_reset_after_bytes_cuts_a_blob_download(control, client, make_namespace, no_faults):
    ns = make_namespace(REGION)
    data = os.urandom(1 << 20)
    digest = client.push_blob(f"{ns}/big", data)
    control.set_faults([{"kind": "v2", "region": REGION, "method": "GET", "path_regex": "/blobs/sha256:",
                         "reset_after_bytes": 100000, "count": 1}])
    url = f"{client.registry}/v2/{ns}/big/blobs/{digest}"
    headers = client.v2_headers(f"{ns}/big")
    received = bytearray()
    with pytest.raises(requests.exceptions.RequestException):
        with requests.get(url, headers=headers, stream=True, timeout=TIMEOUT) as response:
            assert response.status_code == 200
            for chunk in response.iter_content(65536):
                received += chunk
    assert len(received) <= 100000
    assert received == data[:len(received)]
    again = requests.get(url, headers=headers, timeout=TIMEOUT)    # the rule is spent
    assert again.status_code == 200 and again.content == data


def test_reset_empties_namespaces_and_storage(control, client, make_namespace):
    ns = make_namespace(REGION)
    digest = client.push_blob(f"{ns}/gone", b"bytes before the reset")
    control.set_faults([{"kind": "api", "status": 500, "probability": 0}])
    control.reset()
    assert ns not in client.api("GET", "/namespaces").json()
    assert control.faults() == []
    storage = os.path.join(client.endpoints["state_dir"], "data", REGION)
    assert not any(digest.split(":")[1] in files for _, _, files in os.walk(storage))
    assert not any(digest.split(":")[1] in dirs for _, dirs, _ in os.walk(storage))
    fresh = make_namespace(REGION)                                   # the region works after the restart
    assert client.push_blob(f"{fresh}/after", b"after").startswith("sha256:")
