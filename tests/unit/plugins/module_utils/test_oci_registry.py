# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Pure logic of the /v2 client; anything that talks to a registry is tested against the sandbox."""
import base64
import requests

from ansible_collections.icr.registry.plugins.module_utils import oci_registry as oci
from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError


def test_bearer_challenge_with_quoted_params():
    header = 'Bearer realm="http://127.0.0.1:5202/oauth/token",service="us.icr.io",scope="repository:ns/app:pull"'
    scheme, params = oci.parse_www_authenticate(header)
    assert scheme == "bearer"
    assert params == {"realm": "http://127.0.0.1:5202/oauth/token", "service": "us.icr.io",
                      "scope": "repository:ns/app:pull"}


def test_challenge_with_commas_inside_quotes_and_error_param():
    header = ('Bearer realm="https://auth.example/token",service="registry",'
              'scope="repository:a/b:pull,push repository:c/d:pull",error="insufficient_scope"')
    params = oci.parse_www_authenticate(header)[1]
    assert params["scope"] == "repository:a/b:pull,push repository:c/d:pull"
    assert params["error"] == "insufficient_scope"


def test_basic_challenge_and_unquoted_value():
    assert oci.parse_www_authenticate('Basic realm="Registry Realm"') == ("basic", {"realm": "Registry Realm"})
    assert oci.parse_www_authenticate("Bearer realm=https://a/t, service=s") == (
        "bearer", {"realm": "https://a/t", "service": "s"})
    assert oci.parse_www_authenticate(None) == (None, {})


def test_repository_scope():
    assert oci.repository_scope("ns/app", ["pull"]) == "repository:ns/app:pull"
    assert oci.repository_scope("ns/app", ["pull", "push"]) == "repository:ns/app:pull,push"


def test_retryable_statuses_and_connection_errors():
    assert oci.registry_failure_is_transient(IcrError("x", status=503, retry_after=2)) == (True, 2)
    assert oci.registry_failure_is_transient(IcrError("x", status=429)) == (True, None)
    assert oci.registry_failure_is_transient(IcrError("x", status=404)) == (False, None)
    assert oci.registry_failure_is_transient(requests.ConnectionError("reset"))[0]
    assert oci.registry_failure_is_transient(requests.exceptions.ChunkedEncodingError("cut"))[0]
    assert not oci.registry_failure_is_transient(ValueError("bug"))[0]


def test_docker_hub_references_use_its_v2_host():
    client = oci.RegistryClient("docker.io")
    assert client.base_url == "https://registry-1.docker.io"
    assert oci.RegistryClient("127.0.0.1:5000").base_url == "http://127.0.0.1:5000"
    assert oci.RegistryClient("https://127.0.0.1:5000").base_url == "https://127.0.0.1:5000"


def test_sized_stream_sends_content_length_not_chunked():
    prepared = requests.Request("PUT", "http://127.0.0.1:1/x",
                                data=oci._SizedStream(iter([b"ab", b"cd"]), 4)).prepare()
    assert prepared.headers["Content-Length"] == "4"
    assert "Transfer-Encoding" not in prepared.headers


def test_a_callable_password_is_asked_at_each_token_request():
    from ansible_collections.icr.registry.plugins.module_utils.oci_registry import RegistryClient
    tokens = iter(["iam-1", "iam-2"])
    seen = []

    class Answer:
        status_code = 200

        def json(self):
            return {"token": "t", "expires_in": 300}

    client = RegistryClient("127.0.0.1:1", username="iambearer", password=lambda: next(tokens))
    client.session.get = lambda url, headers=None, **kwargs: seen.append(headers["Authorization"]) or Answer()
    for _attempt in range(2):
        client._fetch_token({"realm": "http://realm"}, ["repository:a/b:pull"])
    assert [base64.b64decode(h.split()[1]).decode() for h in seen] == ["iambearer:iam-1", "iambearer:iam-2"]


def test_next_page_of_a_tag_listing():
    assert oci._next_page('</v2/ns/app/tags/list?n=2&last=b>; rel="next"') == "/v2/ns/app/tags/list?n=2&last=b"
    assert oci._next_page("<https://r.example/v2/x/tags/list?last=c&n=9>; rel=next") == \
        "https://r.example/v2/x/tags/list?last=c&n=9"
    assert oci._next_page(None) is None and oci._next_page('</v2/x>; rel="prev"') is None
