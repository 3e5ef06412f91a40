"""up/down of a second, private sandbox (its own state folder, engine and ports): ``up`` twice is
harmless, ``down`` stops exactly what it started and frees every port, ``--purge`` removes the folder.
The sandbox under test is left alone."""

import json
import os
import socket
import subprocess
import sys

import pytest
import requests

SANDBOX_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "sandbox")


def _cli(state_dir, *args):
    env = {k: v for k, v in os.environ.items() if k != "DOCKER_HOST"}   # no engine given: it starts its own
    env["PYTHONPATH"] = os.path.abspath(SANDBOX_ROOT)
    return subprocess.run([sys.executable, "-m", "icr_sandbox", *args, "--state-dir", str(state_dir)],
                          env=env, text=True, capture_output=True, timeout=120)


def _pids(state_dir):
    with open(os.path.join(state_dir, "run", "pids.json"), encoding="utf-8") as handle:
        return {name: entry["pid"] for name, entry in json.load(handle).items()}


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _ports(endpoints):
    ports = {int(endpoints["control_url"].rsplit(":", 1)[1])}
    for region in endpoints["regions"].values():
        ports |= {int(region["registry"].rsplit(":", 1)[1]), int(region["api_url"].rsplit(":", 1)[1])}
    return ports


def _bound(port):
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def private_sandbox(tmp_path):
    state_dir = tmp_path / "sbx"
    yield state_dir
    _cli(state_dir, "down", "--purge")


def test_up_twice_then_down_leaves_nothing(private_sandbox, endpoints):
    first = _cli(private_sandbox, "up", "--regions", "us-south")
    assert first.returncode == 0, first.stderr
    with open(private_sandbox / "endpoints.json", encoding="utf-8") as handle:
        mine = json.load(handle)
    assert oct(os.stat(private_sandbox / "endpoints.json").st_mode & 0o777) == "0o600"
    assert mine["state_dir"] == str(private_sandbox) and list(mine["regions"]) == ["us-south"]
    pids = _pids(private_sandbox)
    assert set(pids) == {"dockerd", "registry-us-south", "registry-us-south-private", "service"}
    key = mine["api_key"]

    second = _cli(private_sandbox, "up", "--regions", "us-south")
    assert second.returncode == 0 and "already running" in second.stdout
    assert _pids(private_sandbox) == pids
    token = requests.post(f"{mine['iam_url']}/identity/token", timeout=30,
                          data={"grant_type": "urn:ibm:params:oauth:grant-type:apikey", "apikey": key})
    assert token.status_code == 200

    down = _cli(private_sandbox, "down")
    assert down.returncode == 0, down.stderr
    assert [name for name, pid in pids.items() if _alive(pid)] == []
    assert [port for port in _ports(mine) if _bound(port)] == []
    # The sandbox under test still runs.
    assert requests.get(endpoints["control_url"] + "/_sandbox/health", timeout=30).status_code == 200

    again = _cli(private_sandbox, "up", "--regions", "us-south")   # same folder: same accounts
    assert again.returncode == 0, again.stderr
    with open(private_sandbox / "endpoints.json", encoding="utf-8") as handle:
        assert json.load(handle)["api_key"] == key
    purge = _cli(private_sandbox, "down", "--purge")
    assert purge.returncode == 0, purge.stderr
    assert not private_sandbox.exists()


def test_tls_serves_registry_iam_and_api_with_the_private_ca(private_sandbox, endpoints):
    env = dict(os.environ, DOCKER_HOST=endpoints["docker_host"], PYTHONPATH=os.path.abspath(SANDBOX_ROOT))
    started = subprocess.run([sys.executable, "-m", "icr_sandbox", "up", "--tls", "--regions", "us-south",
                              "--state-dir", str(private_sandbox)],
                             env=env, text=True, capture_output=True, timeout=120)
    assert started.returncode == 0, started.stderr
    assert "reused" in started.stdout                                   # the engine it was given
    with open(private_sandbox / "endpoints.json", encoding="utf-8") as handle:
        mine = json.load(handle)
    ca = mine["ca_path"]
    registry = mine["regions"]["us-south"]["registry"]
    assert mine["iam_url"].startswith("https://") and mine["regions"]["us-south"]["api_url"].startswith("https://")
    assert registry.startswith("https://127.0.0.1:")                  # the scheme is in the file
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{registry}/v2/", timeout=30)
    challenge = requests.get(f"{registry}/v2/", verify=ca, timeout=30)
    assert challenge.status_code == 401
    assert challenge.headers["WWW-Authenticate"].startswith(f'Bearer realm="{mine["iam_url"]}/oauth/token"')
    token = requests.post(f"{mine['iam_url']}/identity/token", verify=ca, timeout=30,
                          data={"grant_type": "urn:ibm:params:oauth:grant-type:apikey", "apikey": mine["api_key"]})
    assert token.status_code == 200
    namespaces = requests.get(f"{mine['regions']['us-south']['api_url']}/api/v1/namespaces", verify=ca, timeout=30,
                              headers={"Authorization": f"Bearer {token.json()['access_token']}",
                                       "Account": mine["account_id"]})
    assert namespaces.status_code == 200
    down = _cli(private_sandbox, "down", "--purge")
    assert down.returncode == 0, down.stderr
    assert [port for port in _ports(mine) if _bound(port)] == []
