"""Reliability: pushes survive a busy registry, and refused credentials fail fast (issue #8).

A 429/5xx answer to dockerd's ``GET /v2/`` ping makes it take the registry for one without
auth: it pushes without a token and reports the registry's ``unauthorized: authentication
required``, exactly as for a wrong API key. cr_image then asks the token service itself
(the collection's RegistryClient, which retries 429/5xx): a token means the refusal was
transient and the push is retried; a refusal ends the task at once with one clear line.

The engine-level tests fault exactly dockerd's first ping (the test process sends none
before it), so they show both the failure and its cure every time; the module-level ones
run the real cr_image in a child process under a share of faulted pings and token requests.
"""

import os
import sys

import pytest

from module_process import collection_path, run_module
from test_reliability_errors import assert_clear_failure

sys.path.insert(0, str(collection_path()))

# pylint: disable=wrong-import-position
from ansible_collections.icr.registry.plugins.module_utils.docker_engine import (  # noqa: E402
    CredentialsRefusedError, DockerEngine)
from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError  # noqa: E402
from ansible_collections.icr.registry.plugins.module_utils.oci_registry import RegistryClient  # noqa: E402

BUSY_PING = {"kind": "v2", "method": "GET", "path_regex": "^/v2/$", "status": 503, "retry_after": 0}
BUSY_TOKEN_SERVICE = {"kind": "token", "status": 503, "retry_after": 0}


class SandboxEnv(dict):
    """Module environment; its repr (shown by pytest on a failure) leaves the API key out."""

    def __repr__(self):
        return "SandboxEnv(%s)" % ", ".join(sorted(self))


@pytest.fixture(scope="module")
def sandbox_env(endpoints):
    return SandboxEnv(IC_API_KEY=endpoints["api_key"], DOCKER_HOST=endpoints["docker_host"],
                      ICR_ENDPOINTS=os.environ.get("ICR_ENDPOINTS") or "/work/main/.sandbox/endpoints.json")


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
    run_module("cr_namespace", {"name": name, "state": "absent"}, sandbox_env)


@pytest.fixture
def context(endpoints, tmp_path):
    """A build context whose image is new to the registry (a fresh layer each test)."""
    stamp = os.urandom(6).hex()
    (tmp_path / "Dockerfile").write_text("FROM %s\nRUN echo %s > /stamp\n" % (endpoints["base_image"], stamp))
    return str(tmp_path)


def token_requests(control, since):
    return [entry for entry in control.requests(since)["requests"] if entry["kind"] == "token"]


def v2_writes(control, since):
    return [entry for entry in control.requests(since)["requests"] if entry["kind"] == "v2" and entry["mutating"]]


# --------------------------------------------------------------------------- engine level

@pytest.fixture
def engine_push(endpoints, namespace, registry):
    """``push(wrong_key=False, confirm=True)``: push a fresh repository's tag of the base image
    through DockerEngine; ``confirm_credentials`` comes from a RegistryClient with the same key."""
    engine = DockerEngine(endpoints["docker_host"], timeout=60, retries=3)
    image_id = engine.inspect(endpoints["base_image"])["Id"]
    tagged = []

    def push(wrong_key=False, confirm=True):
        key = "not-the-key" if wrong_key else endpoints["api_key"]
        repository = "%s/%s/engine%s" % (registry[1], namespace, os.urandom(3).hex())
        engine.tag(image_id, repository, "1")
        tagged.append(repository + ":1")
        client = RegistryClient(registry[0], username="iamapikey", password=key, retries=3)

        def confirm_credentials():
            client.confirm_token(repository.split("/", 1)[1], ["pull", "push"])
        return engine.push(repository, "1", {"username": "iamapikey", "password": key},
                           confirm_credentials=confirm_credentials if confirm else None)
    yield push
    for name in tagged:
        engine.api.remove_image(name)


def test_engine_push_after_a_busy_ping_is_retried(control, no_faults, engine_push):
    control.set_faults([dict(BUSY_PING, count=1)])
    with pytest.raises(IcrError, match="unauthorized: authentication required"):
        engine_push(confirm=False)  # the failure of issue #8, as dockerd reports it
    assert [rule["fired"] for rule in control.faults()] == [1]

    control.set_faults([dict(BUSY_PING, count=1)])
    digest, _size = engine_push()
    assert digest.startswith("sha256:")
    assert [rule["fired"] for rule in control.faults()] == [1]


def test_engine_push_with_a_wrong_key_is_refused_after_one_question(control, engine_push):
    since = control.last()
    with pytest.raises(IcrError, match="unauthorized") as info:
        engine_push(wrong_key=True, confirm=False)
    assert not isinstance(info.value, CredentialsRefusedError)
    engine_alone = token_requests(control, since)

    since = control.last()
    with pytest.raises(CredentialsRefusedError) as info:
        engine_push(wrong_key=True)
    error = info.value
    assert error.status == 401 and "not-the-key" not in str(error)
    assert "refused the credentials" in error.message and "(the engine said: " in error.message
    # The engine's own token requests for its one push, plus our single question: no retry.
    with_question = token_requests(control, since)
    assert {entry["status"] for entry in engine_alone + with_question} == {401}
    assert len(with_question) == len(engine_alone) + 1


# --------------------------------------------------------------------------- cr_image

def test_cr_image_push_succeeds_while_the_registry_is_busy(control, no_faults, sandbox_env, namespace, context,
                                                           registry_client):
    names = ["us.icr.io/%s/busy:%d" % (namespace, i) for i in range(3)]
    since = control.last()
    control.set_faults([dict(BUSY_PING, probability=0.5), dict(BUSY_TOKEN_SERVICE, probability=0.5)])
    # retries 10: a push fails only if 11 pings in a row are faulted (1 in 2048).
    result = run_module("cr_image", {"names": names, "source": "build", "path": context, "retries": 10},
                        sandbox_env, timeout=600)
    fired = [rule["fired"] for rule in control.faults()]
    control.clear_faults()
    assert result.get("failed") is not True, result
    assert all(count > 0 for count in fired), fired
    assert any(entry["status"] == 503 for entry in token_requests(control, since))
    assert [item["pushed"] for item in result["images"]] == [True, True, True]
    # What the registry serves now is what the module reported.
    for item in result["images"]:
        repository, tag = item["name"].split("/", 1)[1].rsplit(":", 1)
        served = registry_client.get_manifest(repository, tag)
        assert served.digest == item["digest"] and served.json["config"]["digest"] == result["image_id"]


def test_cr_image_with_a_wrong_key_fails_fast_and_clearly(control, sandbox_env, namespace, context):
    """cr_image lists the namespaces (IAM) before the build, so IAM refuses the key first; the
    registry's refusal of a push is the engine-level test above (and the unit tests')."""
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
