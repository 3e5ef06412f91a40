# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The image operations of IcrApi through IBM's real SDK, against a local fake of /api/v1."""
import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from ansible_collections.icr.registry.plugins.module_utils.iam import IamSession
from ansible_collections.icr.registry.plugins.module_utils.icr_api import IcrApi

MANIFEST = b'{\n   "schemaVersion": 2,\n   "mediaType": "application/vnd.docker.distribution.manifest.v2+json"}'
MEDIA_TYPE = "application/vnd.docker.distribution.manifest.v2+json"


def jwt(claims):
    def part(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")
    return "%s.%s.sig" % (part({"alg": "none"}), part(claims))


class FakeImages(BaseHTTPRequestHandler):
    seen = []

    def log_message(self, *args):
        pass

    def _answer(self, status, data, content_type="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.seen.append(("GET", self.path, None))
        self._answer(200, MANIFEST, MEDIA_TYPE + "; charset=utf-8")

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        self.seen.append(("POST", self.path, body))
        if self.path == "/identity/token":
            token = jwt({"account": {"bss": "acc"}, "iat": 1, "exp": 4102444800})
            self._answer(200, json.dumps({"access_token": token, "token_type": "Bearer", "expires_in": 3600,
                                          "expiration": 4102444800}).encode())
        elif self.path.startswith("/api/v1/images/bulkdelete"):
            refs = json.loads(body)
            self._answer(200, json.dumps({"success": refs[:1], "error": {refs[1]: {"code": "X", "message": "m"}}}).encode())
        else:
            self._answer(201, b"", "text/plain")


@pytest.fixture
def api():
    FakeImages.seen = []
    server = HTTPServer(("127.0.0.1", 0), FakeImages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d" % server.server_port
    yield IcrApi(IamSession("key", url, timeout=5), url)
    server.shutdown()
    server.server_close()


def test_raw_manifest_keeps_the_bytes_and_media_type(api):
    raw, media_type = api.get_image_manifest("us.icr.io/ns1x/app:1.0")
    assert raw.encode() == MANIFEST and media_type == MEDIA_TYPE
    # the whole reference is one percent-encoded path segment, as ICR expects
    assert FakeImages.seen[-1][1] == "/api/v1/images/us.icr.io%2Fns1x%2Fapp%3A1.0/manifest"


def test_bulk_delete_sends_one_array_and_returns_per_item_results(api):
    refs = ["us.icr.io/ns1x/app@sha256:" + "a" * 64, "us.icr.io/ns1x/app@sha256:" + "b" * 64]
    result = api.bulk_delete_images(refs)
    assert result == {"success": refs[:1], "error": {refs[1]: {"code": "X", "message": "m"}}}
    posts = [entry for entry in FakeImages.seen if entry[1].startswith("/api/v1/")]
    assert len(posts) == 1 and json.loads(posts[0][2]) == refs


def test_tag_image_names_source_and_target(api):
    api.tag_image("us.icr.io/ns1x/app@sha256:" + "a" * 64, "us.icr.io/ns2x/app:1.0")
    method, path = FakeImages.seen[-1][:2]
    assert method == "POST" and path.startswith("/api/v1/images/tags?")
    assert "toimage=us.icr.io%2Fns2x%2Fapp%3A1.0" in path and "fromimage=us.icr.io%2Fns1x%2Fapp%40sha256%3A" in path
