# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import requests
from ibm_cloud_sdk_core import ApiException, DetailedResponse

from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError
from ansible_collections.icr.registry.plugins.module_utils.iam import IamSession, account_from_token
from ansible_collections.icr.registry.plugins.module_utils.icr_api import IcrApi
from ansible_collections.icr.registry.plugins.module_utils.retry import RetryPolicy
from ansible_collections.icr.registry.plugins.module_utils.sdk_client import (
    sdk_failure_is_transient, to_icr_error)


def make_jwt(claims):
    def part(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")
    return "%s.%s.sig" % (part({"alg": "RS256", "typ": "JWT"}), part(claims))


def http_response(status, body=None, headers=None):
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode() if body is not None else b""
    response.headers.update({"Content-Type": "application/json"})
    response.headers.update(headers or {})
    return response


def api_exception(status, body=None, headers=None):
    return ApiException(status, http_response=http_response(status, body, headers))


def test_api_exception_becomes_one_line_icr_error():
    exc = api_exception(404, {"errors": [{"code": "CRN0004E", "message": "The namespace\nwas not found."}]},
                        {"X-Global-Transaction-ID": "txn-1"})
    err = to_icr_error("Deleting namespace ns1x", exc)
    assert str(err) == ("Deleting namespace ns1x failed: The namespace was not found. "
                        "(HTTP 404, code CRN0004E, transaction id txn-1)")


def test_iam_error_code_and_retry_after():
    exc = api_exception(429, {"errorCode": "BXNIM0415E", "errorMessage": "Provided API key could not be found"},
                        {"Retry-After": "3"})
    err = to_icr_error("Getting an IAM token", exc)
    assert (err.status, err.code, err.retry_after) == (429, "BXNIM0415E", 3.0)
    assert "Provided API key could not be found" in str(err)


def test_transport_errors():
    assert "cannot reach the server" in str(to_icr_error("Listing", requests.exceptions.ConnectionError("refused")))
    assert "timed out" in str(to_icr_error("Listing", requests.exceptions.ReadTimeout("slow")))
    with pytest.raises(KeyError):
        to_icr_error("Listing", KeyError("a bug stays a bug"))


@pytest.mark.parametrize("exc,expected", [
    (api_exception(503, {}, {"Retry-After": "2"}), (True, 2.0)),
    (api_exception(500, {}), (True, None)),
    (api_exception(429, {}), (True, None)),
    (api_exception(404, {}), (False, None)),
    (api_exception(401, {}), (False, None)),
    (requests.exceptions.ConnectionError("reset"), (True, None)),
    (ValueError("x"), (False, None)),
])
def test_what_is_retried(exc, expected):
    assert sdk_failure_is_transient(exc) == expected


def test_account_claim():
    assert account_from_token(make_jwt({"account": {"bss": "acc123"}})) == "acc123"
    with pytest.raises(IcrError, match="account.bss"):
        account_from_token(make_jwt({"sub": "x"}))
    with pytest.raises(IcrError, match="not a readable JWT"):
        account_from_token("not-a-token")


class FakeService:
    """Stands in for ContainerRegistryV1: each operation answers from a queue."""

    def __init__(self, **answers):
        self.answers = answers
        self.calls = []

    def __getattr__(self, operation):
        def call(**kwargs):
            self.calls.append((operation, kwargs))
            answer = self.answers[operation].pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer
        return call


class FakeSession:
    def __init__(self, policy):
        self.policy = policy


def test_call_retries_then_returns_result_and_status():
    slept = []
    service = FakeService(list_namespaces=[api_exception(503, {}), api_exception(502, {}, {"Retry-After": "1"}),
                                           DetailedResponse(response=["ns1x"], status_code=200)])
    api = IcrApi(FakeSession(RetryPolicy(retries=3, timeout=60, sleep=slept.append)), "http://x", service=service)
    assert api.list_namespaces() == ["ns1x"]
    assert len(service.calls) == 3
    assert slept[1] == 1.0


def test_call_gives_up_with_icr_error():
    service = FakeService(delete_namespace=[api_exception(503, {})] * 3)
    api = IcrApi(FakeSession(RetryPolicy(retries=2, timeout=60, sleep=lambda s: None)), "http://x", service=service)
    with pytest.raises(IcrError) as info:
        api.delete_namespace("ns1x")
    assert info.value.status == 503 and "Deleting namespace ns1x failed" in str(info.value)


def test_get_namespace_and_create_arguments():
    details = [{"name": "aaaa", "resource_group": "rg1"}, {"name": "bbbb"}]
    service = FakeService(list_namespace_details=[DetailedResponse(response=details, status_code=200)] * 2,
                          create_namespace=[DetailedResponse(response={"namespace": "cccc"}, status_code=201)])
    api = IcrApi(FakeSession(RetryPolicy()), "http://x", service=service)
    assert api.get_namespace("bbbb") == {"name": "bbbb"}
    assert api.get_namespace("zzzz") is None
    assert api.create_namespace("cccc", "rg9") == {"namespace": "cccc"}
    assert service.calls[-1] == ("create_namespace", {"name": "cccc", "x_auth_resource_group": "rg9"})


class FakeIcr(BaseHTTPRequestHandler):
    """IAM token endpoint + one /api/v1 route, recording what the real SDK sends."""
    seen = []
    token = make_jwt({"account": {"bss": "acc-from-token"}, "iat": 1, "exp": 4102444800})

    def log_message(self, *args):
        pass

    def _answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        form = self.rfile.read(int(self.headers["Content-Length"])).decode()
        self.seen.append(("POST", self.path, form))
        if "apikey=good-key" in form:
            self._answer(200, {"access_token": self.token, "refresh_token": "r", "token_type": "Bearer",
                               "expires_in": 3600, "expiration": 4102444800})
        else:
            self._answer(400, {"errorCode": "BXNIM0415E", "errorMessage": "Provided API key could not be found"})

    def do_PUT(self):
        self.seen.append(("PUT", self.path, dict(self.headers)))
        if self.headers["Account"] != "acc-from-token":  # as ICR (and the sandbox) answer
            self._answer(401, {"errors": [{"code": "CRG0014E", "message": "Authorization required."}]})
            return
        self._answer(201, {"namespace": self.path.rsplit("/", 1)[1]})


@pytest.fixture
def fake_icr():
    FakeIcr.seen = []
    server = HTTPServer(("127.0.0.1", 0), FakeIcr)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % server.server_port
    server.shutdown()
    server.server_close()


def test_real_sdk_wiring(fake_icr):
    session = IamSession("good-key", fake_icr, timeout=5)
    assert session.account_id == "acc-from-token"
    api = IcrApi(session, fake_icr)
    assert api.create_namespace("ns1x", "rg1") == {"namespace": "ns1x"}
    method, path, headers = FakeIcr.seen[-1]
    assert (method, path) == ("PUT", "/api/v1/namespaces/ns1x")
    assert headers["Account"] == "acc-from-token"
    assert headers["X-Auth-Resource-Group"] == "rg1"
    assert headers["Authorization"] == "Bearer " + FakeIcr.token
    assert FakeIcr.seen[0][1] == "/identity/token"


def test_wrong_key_is_a_clear_error_without_the_key(fake_icr):
    session = IamSession("bad-secret-key", fake_icr, timeout=5)
    with pytest.raises(IcrError) as info:
        session.token()
    text = str(info.value)
    assert text.startswith("Getting an IAM token from %s failed: Provided API key could not be found" % fake_icr)
    assert "(HTTP 400, code BXNIM0415E)" in text
    assert "bad-secret-key" not in text


def test_a_key_of_another_account_gets_a_hint_instead_of_a_bare_refusal(fake_icr):
    session = IamSession("good-key", fake_icr, account_id="stale-acc", timeout=5)
    with pytest.raises(IcrError) as info:
        IcrApi(session, fake_icr).create_namespace("ns1x")
    assert str(info.value) == ("Creating namespace ns1x failed: the API key belongs to account acc-from-token but "
                               "account_id is stale-acc (IC_ACCOUNT_ID?) (HTTP 401, code CRG0014E)")


class MismatchedSession(FakeSession):
    def __init__(self, policy, mismatch):
        super().__init__(policy)
        self.mismatch = mismatch

    def account_mismatch(self):
        return self.mismatch


def test_other_refusals_keep_the_server_message():
    refusal = api_exception(401, {"errors": [{"code": "CRG0014E", "message": "Authorization required."}]})
    service = FakeService(list_namespaces=[refusal])
    api = IcrApi(MismatchedSession(RetryPolicy(), None), "http://x", service=service)
    with pytest.raises(IcrError, match="Listing namespaces failed: Authorization required"):
        api.list_namespaces()
    service = FakeService(get_plans=[api_exception(404, {})])
    api = IcrApi(MismatchedSession(RetryPolicy(), "accounts differ"), "http://x", service=service)
    with pytest.raises(IcrError) as info:
        api.get_plan()
    assert info.value.status == 404 and "accounts differ" not in str(info.value)


def test_missing_key():
    with pytest.raises(IcrError, match="No API key"):
        IamSession("", "http://127.0.0.1:1")
