# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Failure paths the reliability suite found broken: each must end in an IcrError, promptly."""
import socket

import pytest
import requests
from ibm_cloud_sdk_core import DetailedResponse
from ibm_cloud_sdk_core.token_managers import token_manager as sdk_token_manager

from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError
from ansible_collections.icr.registry.plugins.module_utils.iam import IamSession
from ansible_collections.icr.registry.plugins.module_utils.icr_api import IcrApi
from ansible_collections.icr.registry.plugins.module_utils.oci_registry import RegistryClient
from ansible_collections.icr.registry.plugins.module_utils.retry import RetryPolicy


class FakeService:
    def __init__(self, answer):
        self.answer = answer

    def __getattr__(self, operation):
        return lambda **kwargs: self.answer


class FakeSession:
    def __init__(self):
        self.policy = RetryPolicy(retries=0)


def html_answer():
    response = requests.Response()
    response.status_code = 200
    response._content = b"<html>maintenance</html>"
    response.headers["Content-Type"] = "text/html"
    return DetailedResponse(response=response, headers=response.headers, status_code=200)


def test_non_json_api_answer_is_an_icr_error():
    api = IcrApi(FakeSession(), "http://x", service=FakeService(html_answer()))
    with pytest.raises(IcrError, match="Listing namespace details failed: the server answered text/html "
                                       "instead of JSON"):
        api.list_namespace_details()


def test_non_json_answer_to_an_operation_without_a_body_is_ignored():
    api = IcrApi(FakeSession(), "http://x", service=FakeService(html_answer()))
    api.tag_image("us.icr.io/team/app:1", "us.icr.io/team/app:2")


def test_iam_retry_after_a_failed_fetch_does_not_wait_for_the_sdk_pacing(monkeypatch):
    # The SDK sleeps while it believes another fetch is in flight; a failed fetch must not
    # leave that belief behind, or every retry waits a minute.
    def no_sdk_sleep(_seconds):
        raise AssertionError("the SDK waited for a token fetch that had already failed")
    monkeypatch.setattr(sdk_token_manager.time, "sleep", no_sdk_sleep)
    session = IamSession("key", "http://x", policy=RetryPolicy(retries=1, sleep=lambda s: None))
    manager = session.authenticator.token_manager
    answers = [requests.exceptions.ConnectionError("refused"),
               {"access_token": "t", "refresh_token": "r", "expires_in": 3600, "expiration": 2 ** 40}]

    def request_token():
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer
    monkeypatch.setattr(manager, "request_token", request_token)
    monkeypatch.setattr(manager, "_save_token_info", lambda info: setattr(manager, "expire_time", 2 ** 40)
                        or setattr(manager, "refresh_time", 2 ** 40) or setattr(manager, "access_token", "t"))
    assert session.token() == "t"
    assert not answers


def test_unreachable_registry_is_an_icr_error_naming_the_host():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = RegistryClient("127.0.0.1:%d" % port, policy=RetryPolicy(retries=0, timeout=5))
    with pytest.raises(IcrError) as info:
        client.get_manifest("team/app", "1")
    message = str(info.value)
    assert message.startswith("reading manifest team/app:1 failed: cannot reach 127.0.0.1:%d" % port)
    assert "\n" not in message


def test_registry_ca_path_wins_over_requests_ca_bundle(monkeypatch):
    # requests lets REQUESTS_CA_BUNDLE override session.verify, so a private CA given as
    # ca_path would be ignored wherever that variable is set (many CI images set it).
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    used = []

    def send(self, request, **kwargs):
        used.append(kwargs.get("verify"))
        raise requests.exceptions.ConnectionError("stop here")
    monkeypatch.setattr(requests.Session, "send", send)
    client = RegistryClient("https://127.0.0.1:1", verify="/private/ca.crt", policy=RetryPolicy(retries=0, timeout=5))
    with pytest.raises(IcrError):
        client.get_manifest("team/app", "1")
    assert used == ["/private/ca.crt"]


class RefusingService:
    """Every operation answers like ICR refusing a role: 403 'You are not authorized...'."""

    def __getattr__(self, operation):
        def refuse(**kwargs):
            from ibm_cloud_sdk_core import ApiException
            response = requests.Response()
            response.status_code = 403
            response._content = (b'{"errors": [{"code": "CRG9403E", "message": "You are not authorized to access the '
                                 b'specified resource."}]}')
            response.headers["Content-Type"] = "application/json"
            raise ApiException(403, http_response=response)
        return refuse


class ReaderSession(FakeSession):
    def __init__(self):
        super().__init__()
        from ansible_collections.icr.registry.plugins.module_utils.iam import SignIn
        self.sign_in = SignIn("trusted_profile", api_key="k", profile=("trusted_profile_name", "sandbox-reader"))

    def account_mismatch(self):
        return None


@pytest.mark.parametrize("call, message", [
    (lambda api: api.create_namespace("team"), "Creating namespace team failed: trusted profile sandbox-reader "
                                               "(assumed with the API key) lacks the Container Registry service role "
                                               "Manager that this needs (the service said: You are not authorized"),
    (lambda api: api.tag_image("us.icr.io/team/a:1", "us.icr.io/team/a:2"), "role Writer that this needs"),
    (lambda api: api.list_namespaces(), "role Reader that this needs"),
])
def test_a_refused_role_is_named_in_one_line(call, message):
    api = IcrApi(ReaderSession(), "http://x", service=RefusingService())
    with pytest.raises(IcrError) as info:
        call(api)
    assert message in str(info.value) and "(HTTP 403, code CRG9403E)" in str(info.value)
