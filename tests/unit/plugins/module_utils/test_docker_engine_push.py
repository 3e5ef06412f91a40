# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Push retries when the engine reports refused credentials (issue #8).

After a 429/5xx to its ``GET /v2/`` ping, dockerd pushes without a token and reports the
registry's ``unauthorized: authentication required``, as for refused credentials.
``DockerEngine.push`` then asks ``confirm_credentials`` (the token service, through our own
client): a token means the refusal was transient, a refusal is final.
"""
import pytest

from ansible_collections.icr.registry.plugins.module_utils.docker_engine import (
    TransientAuthError, CredentialsRefusedError, DockerEngine, is_auth_refusal, is_transient_push_error)
from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError

DIGEST = "sha256:" + "a" * 64
UNAUTHORIZED = "unauthorized: authentication required"
REPOSITORY = "127.0.0.1:5201/team/app"


class ScriptedEngineApi:
    """Each push reports the next scripted error; with none left it succeeds."""

    def __init__(self, errors):
        self.errors = list(errors)
        self.pushes = 0

    def push(self, repository, tag=None, stream=False, decode=False, auth_config=None):
        self.pushes += 1
        if self.errors:
            message = self.errors.pop(0)
            return iter([{"status": "Preparing"}, {"error": message, "errorDetail": {"message": message}}])
        return iter([{"aux": {"Tag": tag, "Digest": DIGEST, "Size": 525}}])


class TokenService:
    """``confirm_credentials``: answers from a script (None: a token), then grants."""

    def __init__(self, answers=()):
        self.answers = list(answers)
        self.asked = 0

    def __call__(self):
        self.asked += 1
        answer = self.answers.pop(0) if self.answers else None
        if answer is not None:
            raise answer


def push(api, retries=5, confirm=None):
    slept = []
    engine = DockerEngine("unix:///x", api=api, retries=retries, sleep=slept.append)
    return engine.push(REPOSITORY, "1", {"username": "iamapikey", "password": "secret"},
                       confirm_credentials=confirm), slept


def test_refused_credentials_the_token_service_accepts_are_retried():
    api, service = ScriptedEngineApi([UNAUTHORIZED, UNAUTHORIZED]), TokenService()
    (digest, size), slept = push(api, confirm=service)
    assert (digest, size) == (DIGEST, 525)
    assert api.pushes == 3 and service.asked == 2 and len(slept) == 2


def test_a_real_refusal_fails_at_once_naming_the_registry_and_repository():
    refusal = IcrError("the token service of 127.0.0.1:5201 refused the credentials: The login credentials "
                       "are not valid", status=401, code="UNAUTHORIZED")
    api, service = ScriptedEngineApi([UNAUTHORIZED] * 6), TokenService([refusal])
    with pytest.raises(CredentialsRefusedError) as info:
        push(api, confirm=service)
    assert api.pushes == 1 and service.asked == 1
    error = info.value
    assert (error.status, error.code) == (401, "UNAUTHORIZED")
    assert error.message == ("Pushing 127.0.0.1:5201/team/app:1 failed: the token service of 127.0.0.1:5201 "
                             "refused the credentials: The login credentials are not valid "
                             "(the engine said: " + UNAUTHORIZED + ")")
    assert "secret" not in str(error)


def test_a_token_service_still_busy_after_its_own_retries_ends_the_push():
    busy = IcrError("the token service of 127.0.0.1:5201 refused the credentials: sandbox fault: HTTP 503",
                    status=503)
    api, service = ScriptedEngineApi([UNAUTHORIZED]), TokenService([busy])
    with pytest.raises(CredentialsRefusedError, match="HTTP 503"):
        push(api, confirm=service)
    assert api.pushes == 1 and service.asked == 1


def test_the_retry_budget_bounds_transient_refusals():
    api, service = ScriptedEngineApi([UNAUTHORIZED] * 10), TokenService()
    with pytest.raises(TransientAuthError, match="authentication required") as info:
        push(api, retries=3, confirm=service)
    assert api.pushes == 4 and service.asked == 4
    assert "the token service accepts these credentials" in info.value.message


def test_without_a_token_service_refused_credentials_are_final():
    api = ScriptedEngineApi([UNAUTHORIZED])
    with pytest.raises(IcrError, match="authentication required"):
        push(api)
    assert api.pushes == 1


def test_other_failures_never_ask_the_token_service():
    api, service = ScriptedEngineApi(["denied: requested access to the resource is denied"]), TokenService()
    with pytest.raises(IcrError, match="denied"):
        push(api, confirm=service)
    assert api.pushes == 1 and service.asked == 0
    api = ScriptedEngineApi(["received unexpected HTTP status: 503 Service Unavailable"])
    assert push(api, confirm=service)[0][0] == DIGEST
    assert api.pushes == 2 and service.asked == 0


@pytest.mark.parametrize("message, refusal", [
    ("Pushing r:1 failed: unauthorized: authentication required", True),
    ("Pushing r:1 failed: UNAUTHORIZED: The login credentials are not valid", True),
    ("Pushing r:1 failed: denied: requested access to the resource is denied", False),
    ("Pushing r:1 failed: toomanyrequests: slow down", False),
    ("Pushing r:1 failed: the namespace is unauthorizedly named", False),
    ("Pushing 127.0.0.1:5201/team/unauthorized:1 failed: denied: requested access to the resource is denied", False),
])
def test_auth_refusal_wording(message, refusal):
    assert is_auth_refusal(IcrError(message)) is refusal


@pytest.mark.parametrize("error, retry", [
    (TransientAuthError("unauthorized: authentication required"), True),
    (CredentialsRefusedError("refused (the engine said: received unexpected HTTP status: 503)"), False),
    (IcrError("unauthorized: authentication required"), False),
    (IcrError("received unexpected HTTP status: 502 Bad Gateway"), True),
    # the registry closed the connection (stopped, restarted) mid-request
    (IcrError('Pushing r:1 failed: Put "http://127.0.0.1:5201/v2/team/app/manifests/1": EOF'), True),
    (IcrError("Pushing r:1 failed: unexpected EOF"), True),
    # the link race of concurrent pushes into one repository (see oci_registry.LINK_RACE_CODES)
    (IcrError("Pushing r:1 failed: digest invalid: provided digest did not match uploaded content"), True),
    (IcrError("Pushing r:1 failed: manifest blob unknown: blob unknown to registry"), True),
    (IcrError("Pushing r:1 failed: denied: requested access to the resource is denied"), False),
    (IcrError("Pushing 127.0.0.1:5201/team/eof:1 failed: denied: requested access to the resource is denied"), False),
    (IcrError("Pushing 127.0.0.1:5201/team/unavailable:1 failed: denied: requested access to the resource is denied"),
     False),
    (IcrError("Pushing r:1 failed: engine error", status=500), True),   # the engine's own HTTP status
    (ValueError("503"), False),
])
def test_transient_push_errors(error, retry):
    assert is_transient_push_error(error) == (retry, None)


def test_push_retries_a_busy_registry():
    api = ScriptedEngineApi(["received unexpected HTTP status: 503 Service Unavailable", "toomanyrequests: slow down"])
    engine = DockerEngine("unix:///x", api=api, retries=2, sleep=lambda s: None)
    assert engine.push("r", "v1", {})[0] == DIGEST
    assert api.pushes == 3


def test_push_does_not_retry_a_refusal():
    api = ScriptedEngineApi(["denied: requested access to the resource is denied"])
    with pytest.raises(IcrError, match="denied"):
        DockerEngine("unix:///x", api=api, retries=5, sleep=lambda s: None).push("r", "v1", {})
    assert api.pushes == 1
