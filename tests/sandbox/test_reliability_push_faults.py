"""Reliability: cr_image pushes survive a busy registry, and refused credentials fail fast (issue #8).

cr_image uploads what the engine built through the copy engine, so every request of a push
(ping, token, blob HEAD/upload, manifest PUT) is retried on its own on a 429/5xx or a reset;
the engine's own push gave a whole push up on one busy answer to its ping, token or manifest
request. These tests run the real cr_image in a child process under a share of faulted
requests of every kind, then check that what the registry serves is what the engine holds:
the engine pulls the pushed tag back and gets the same image ID (it checks every layer
against the config's diff_ids on the way).
"""

import os
import sys

import pytest

from conftest import endpoints_path
from module_process import collection_path, run_module
from test_reliability_errors import assert_clear_failure

sys.path.insert(0, str(collection_path()))

# pylint: disable=wrong-import-position
from ansible_collections.icr.registry.plugins.module_utils.docker_engine import DockerEngine  # noqa: E402
from ansible_collections.icr.registry.plugins.module_utils.oci_registry import RegistryClient  # noqa: E402

BUSY_PING = {"kind": "v2", "method": "GET", "path_regex": "^/v2/$", "status": 503, "retry_after": 0}
BUSY_TOKEN_SERVICE = {"kind": "token", "status": 503, "retry_after": 0}
BUSY_UPLOADS = {"kind": "v2", "path_regex": "/blobs/", "status": 429, "retry_after": 0}
BUSY_MANIFEST_PUT = {"kind": "v2", "method": "PUT", "path_regex": "/manifests/", "status": 503, "retry_after": 0}


class SandboxEnv(dict):
    """Module environment; its repr (shown by pytest on a failure) leaves the API key out."""

    def __repr__(self):
        return "SandboxEnv(%s)" % ", ".join(sorted(self))


@pytest.fixture(scope="module")
def sandbox_env(endpoints):
    return SandboxEnv(IC_API_KEY=endpoints["api_key"], DOCKER_HOST=endpoints["docker_host"],
                      ICR_ENDPOINTS=endpoints_path())


@pytest.fixture(scope="module")
def registry(endpoints):
    """``(address for clients, host:port as the module names it)`` of us-south's registry."""
    address = endpoints["regions"]["us-south"]["registry"]
    return address, address.split("://")[-1]


@pytest.fixture(scope="module")
def registry_client(endpoints, registry):
    return RegistryClient(registry[0], username="iamapikey", password=endpoints["api_key"])


@pytest.fixture(scope="module")
def namespace(sandbox_env):
    name = "push" + os.urandom(4).hex()
    assert run_module("cr_namespace", {"name": name}, sandbox_env).get("changed") is True
    yield name
    run_module("cr_namespace", {"name": name, "state": "absent", "force": True}, sandbox_env)


@pytest.fixture
def context(endpoints, tmp_path):
    """A build context whose image is new to the registry (a fresh layer each test)."""
    stamp = os.urandom(6).hex()
    # 3 MiB that deflate cannot shrink, between text: the layer's gzip mixes stored and
    # deflated blocks, which the engine must read back (it pulls the image in the test).
    (tmp_path / "noise.bin").write_bytes(b"text " * 200000 + os.urandom(3 * 1024 * 1024) + b"text " * 200000)
    (tmp_path / "Dockerfile").write_text("FROM %s\nCOPY noise.bin /noise.bin\nRUN echo %s > /stamp\n"
                                         % (endpoints["base_image"], stamp))
    return str(tmp_path)


def token_requests(control, since):
    return [entry for entry in control.requests(since)["requests"] if entry["kind"] == "token"]


def v2_writes(control, since):
    return [entry for entry in control.requests(since)["requests"] if entry["kind"] == "v2" and entry["mutating"]]


# --------------------------------------------------------------------------- cr_image

def test_cr_image_push_succeeds_while_the_registry_is_busy(control, no_faults, endpoints, sandbox_env, namespace,
                                                           context, registry_client):
    names = ["us.icr.io/%s/busy%d:1" % (namespace, i) for i in range(3)]
    since = control.last()
    # A push asks for few pings, tokens and manifests: refuse the first ones for sure, the first
    # three blob requests for sure, and a share of the rest (HEAD, POST, PUT) by chance.
    control.set_faults([dict(BUSY_PING, count=1), dict(BUSY_TOKEN_SERVICE, count=1), dict(BUSY_UPLOADS, count=3),
                        dict(BUSY_MANIFEST_PUT, count=2), dict(BUSY_UPLOADS, probability=0.15)])
    # The default retries (5): a blob transfer (its POST and PUT, retried as a whole) fails for good
    # only if 6 tries in a row meet a fault, about 0.05 % per blob at 15 % (at 30 %, 2 %: flaky).
    result = run_module("cr_image", {"names": names, "source": "build", "path": context},
                        sandbox_env, timeout=600)
    fired = [rule["fired"] for rule in control.faults()]
    control.clear_faults()
    assert result.get("failed") is not True, result
    assert all(count > 0 for count in fired[:4]), fired  # the last rule fires by chance
    assert any(entry["status"] == 503 for entry in token_requests(control, since))
    assert [item["pushed"] for item in result["images"]] == [True, True, True]
    # The second and third repositories mount the blobs the first one uploaded.
    assert result["images"][0]["blobs_copied"] >= 2 and result["images"][1]["blobs_mounted"] >= 2
    # What the registry serves now is what the module reported.
    for item in result["images"]:
        repository, tag = item["name"].split("/", 1)[1].rsplit(":", 1)
        served = registry_client.get_manifest(repository, tag)
        assert served.digest == item["digest"] and served.json["config"]["digest"] == result["image_id"]
    # The engine takes the pushed image back as the same image: every layer matches its diff_id.
    engine = DockerEngine(endpoints["docker_host"], timeout=120)
    pulled = "%s/%s" % (endpoints["regions"]["us-south"]["registry"].split("://")[-1], names[1].split("/", 1)[1])
    engine.api.remove_image(result["image_id"], force=True)
    assert engine.pull(pulled, auth_config={"username": "iamapikey", "password": endpoints["api_key"]}) \
        == result["image_id"]
    engine.api.remove_image(result["image_id"], force=True)


def test_cr_image_with_a_wrong_key_fails_fast_and_clearly(control, sandbox_env, namespace, context):
    """cr_image lists the namespaces (IAM) before the build, so IAM refuses the key first; the
    registry's refusal of a push is in the unit tests."""
    since = control.last()
    result = run_module("cr_image", {"name": "us.icr.io/%s/refused:1" % namespace, "source": "build",
                                     "path": context}, dict(sandbox_env, IC_API_KEY="not-the-key"))
    assert_clear_failure(result, "API key could not be found", "refused the API key for us.icr.io/%s/refused:1"
                         % namespace)
    assert "not-the-key" not in result["msg"] and result["error"]["status"] in (400, 401)
    # One refused question (IAM or the token service), not retried; nothing written.
    asked = [entry for entry in control.requests(since)["requests"] if entry["kind"] in ("iam", "token")]
    assert len(asked) == 1 and asked[0]["status"] in (400, 401), asked
    assert v2_writes(control, since) == []
