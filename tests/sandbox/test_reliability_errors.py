"""Reliability: every outage and malformed answer ends in one clear line, never a traceback.

The real modules run in child processes (module_process.py). Outages are made with closed
loopback ports, an unresolvable name and a second sandbox over TLS; malformed answers come
from a tiny loopback HTTP server, since the sandbox only ever answers well-formed.
"""

import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import endpoints_path
from module_process import run_module

ROOT = Path(__file__).resolve().parents[2]
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


def assert_clear_failure(result, *phrases):
    """Failed, changed false, one line without a traceback, naming what went wrong."""
    msg = result.get("msg", "")
    assert result.get("failed") is True, result
    assert result.get("changed") in (None, False), result
    assert "Traceback" not in msg and "\n" not in msg and "exception" not in result, result
    assert any(phrase.lower() in msg.lower() for phrase in phrases), (msg, phrases)


def push_image(registry, repo, tag, api_key, seed="rel", sign=False):
    """Push a small synthetic image over /v2 (bench/make_image.py); its digest. ``sign``: with a
    signature tag and an OCI referrer in the referrers tag schema's index."""
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "make_image.py"), "--registry", registry,
                           "--repo", repo, "--tag", tag, "--layers", "2", "--size-mb", "1", "--seed", seed]
                          + (["--sign"] if sign else []),
                          env=dict(os.environ, IC_API_KEY=api_key), capture_output=True, text=True,
                          check=True, timeout=120)
    return done.stdout.split()[-1]


def closed_port():
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def sandbox_env(endpoints):
    return {"IC_API_KEY": endpoints["api_key"], "ICR_ENDPOINTS": endpoints_path(), "IC_IAM_URL": endpoints["iam_url"]}


@pytest.fixture(scope="module")
def namespace(sandbox_env):
    name = "rel" + os.urandom(4).hex()
    result = run_module("cr_namespace", {"name": name}, sandbox_env)
    assert result.get("changed") is True, result
    yield name
    run_module("cr_namespace", {"name": name, "state": "absent", "force": True}, sandbox_env)


# --------------------------------------------------------------------------- outages

def test_iam_down(sandbox_env, control):
    control.clear_requests()
    result = run_module("cr_namespace_info", {"iam_url": "http://127.0.0.1:%d" % closed_port(), "retries": 1},
                        sandbox_env)
    assert_clear_failure(result, "IAM")
    assert not control.requests()["requests"], "nothing may reach the sandbox without a token"


def test_api_down(sandbox_env):
    result = run_module("cr_namespace_info", {"api_url": "http://127.0.0.1:%d" % closed_port(), "retries": 1},
                        sandbox_env)
    assert_clear_failure(result, "connect", "reach", "refused")


def test_registry_down(sandbox_env, namespace):
    src = "127.0.0.1:%d/team/app:1" % closed_port()
    result = run_module("cr_image_copy", {"src": src, "dest": ["us.icr.io/%s/app:1" % namespace],
                                          "retries": 1}, sandbox_env)
    assert_clear_failure(result, "connect", "reach", "refused")


def test_wrong_endpoint(sandbox_env, endpoints):
    # The region's registry port speaks HTTP but is no management API.
    registry = endpoints["regions"]["us-south"]["registry"]
    result = run_module("cr_namespace_info", {"api_url": "http://" + registry, "retries": 0}, sandbox_env)
    assert_clear_failure(result, "404", "not found", "unexpected")


def test_dns_failure(sandbox_env):
    result = run_module("cr_namespace_info", {"api_url": "https://icr.nonexistent.invalid", "retries": 0},
                        sandbox_env)
    assert_clear_failure(result, "nonexistent.invalid")


def test_dns_failure_on_the_registry(sandbox_env, namespace):
    result = run_module("cr_image_copy", {"src": "registry.nonexistent.invalid/team/app:1",
                                          "dest": ["us.icr.io/%s/app:1" % namespace], "retries": 0},
                        sandbox_env)
    assert_clear_failure(result, "nonexistent.invalid")


# --------------------------------------------------------------------------- TLS

@pytest.fixture(scope="module")
def tls_sandbox(endpoints, tmp_path_factory):
    """A second sandbox (us-south only) over HTTPS with a private CA; stopped at the end."""
    state = tmp_path_factory.mktemp("sbx-tls")
    env = dict(os.environ, PYTHONPATH=str(ROOT / "sandbox"), DOCKER_HOST=endpoints["docker_host"])
    command = [sys.executable, "-m", "icr_sandbox"]
    subprocess.run(command + ["up", "--state-dir", str(state), "--tls", "--regions", "us-south"],
                   env=env, check=True, capture_output=True, timeout=120)
    try:
        yield json.loads((state / "endpoints.json").read_text()), str(state / "endpoints.json")
    finally:
        subprocess.run(command + ["down", "--state-dir", str(state)], env=env, check=True,
                       capture_output=True, timeout=120)


def test_tls_without_ca_path_fails_clearly(tls_sandbox):
    document, path = tls_sandbox
    env = {"IC_API_KEY": document["api_key"], "ICR_ENDPOINTS": path}
    result = run_module("cr_namespace_info", {"retries": 0}, env)
    assert_clear_failure(result, "certificate", "SSL", "TLS")
    assert "ca_path" in result["msg"] or "certificate" in result["msg"].lower()


def test_tls_with_ca_path_succeeds(tls_sandbox):
    document, path = tls_sandbox
    env = {"IC_API_KEY": document["api_key"], "ICR_ENDPOINTS": path}
    result = run_module("cr_namespace_info", {"ca_path": document["ca_path"]}, env)
    assert not result.get("failed"), result
    assert result["changed"] is False


def test_tls_registry_with_ca_path_copies(tls_sandbox, endpoints, namespace):
    """A daemonless copy from the plain sandbox into the TLS one: /v2 over HTTPS with ca_path."""
    document, path = tls_sandbox
    source_digest = push_image(endpoints["regions"]["us-south"]["registry"], namespace + "/tls", "1",
                               endpoints["api_key"])
    # No registry override: the TLS sandbox's endpoints file gives the registry as https://…
    env = {"IC_API_KEY": document["api_key"], "ICR_ENDPOINTS": path, "ICR_CA_PATH": document["ca_path"]}
    name = "tls" + os.urandom(4).hex()
    result = run_module("cr_image_copy", {
        "src": "%s/%s/tls:1" % (endpoints["regions"]["us-south"]["registry"], namespace),
        "src_username": "iamapikey", "src_password": endpoints["api_key"],
        "dest": ["us.icr.io/%s/tls:1" % name], "create_namespace": True}, env)
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is True and result["digest"] == source_digest


# --------------------------------------------------------------------------- malformed answers

class FakeServer:
    """Loopback HTTP server answering ``routes[(method, path)] = (status, headers, body)``."""

    def __init__(self):
        self.routes = {}
        routes = self.routes

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                status, headers, body = routes.get((self.command, self.path.split("?")[0]),
                                                   (404, {"Content-Type": "text/plain"}, b"no route"))
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_HEAD = do_POST = do_PUT = _answer

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *_exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake():
    with FakeServer() as server:
        yield server


@pytest.mark.parametrize("body,content_type,phrases", [
    (b'{"namespaces": ["a", ', "application/json", ("Error processing the HTTP response",)),
    (b"<html><body>Gateway</body></html>", "text/html", ("answered text/html instead of JSON",)),
])
def test_malformed_api_answer(sandbox_env, fake, body, content_type, phrases):
    fake.routes[("GET", "/api/v1/namespaces/details")] = (200, {"Content-Type": content_type}, body)
    fake.routes[("GET", "/api/v1/namespaces")] = (200, {"Content-Type": content_type}, body)
    result = run_module("cr_namespace_info", {"api_url": fake.url, "retries": 0}, sandbox_env)
    assert_clear_failure(result, *phrases)


def test_malformed_api_answer_to_a_write_is_not_changed(sandbox_env, fake):
    for path in ("/api/v1/namespaces/details", "/api/v1/namespaces"):
        fake.routes[("GET", path)] = (200, {"Content-Type": "application/json"}, b"[]")
    fake.routes[("PUT", "/api/v1/namespaces/relfake1")] = (201, {"Content-Type": "application/json"}, b'{"nam')
    result = run_module("cr_namespace", {"name": "relfake1", "api_url": fake.url, "retries": 0}, sandbox_env)
    assert_clear_failure(result, "Creating namespace relfake1 failed: Error processing the HTTP response")


@pytest.mark.parametrize("body,content_type", [
    (b'{"access_token": "abc', "application/json"),
    (b"<html>maintenance</html>", "text/html"),
])
def test_malformed_iam_answer(sandbox_env, fake, body, content_type):
    fake.routes[("POST", "/identity/token")] = (200, {"Content-Type": content_type}, body)
    result = run_module("cr_namespace_info", {"iam_url": fake.url, "retries": 0}, sandbox_env)
    assert_clear_failure(result, "IAM")


def test_manifest_whose_digest_does_not_match(sandbox_env, fake, namespace, control):
    manifest = json.dumps({"schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
                           "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                                      "digest": "sha256:" + "1" * 64, "size": 2},
                           "layers": []}).encode()
    claimed = "sha256:" + hashlib.sha256(manifest + b" ").hexdigest()
    headers = {"Content-Type": DOCKER_MANIFEST, "Docker-Content-Digest": claimed}
    fake.routes[("GET", "/v2/")] = (200, {"Content-Type": "application/json"}, b"{}")
    fake.routes[("GET", "/v2/team/app/manifests/" + claimed)] = (200, headers, manifest)
    fake.routes[("HEAD", "/v2/team/app/manifests/" + claimed)] = (200, headers, manifest)
    control.clear_requests()
    src = "%s/team/app@%s" % (fake.url[len("http://"):], claimed)
    result = run_module("cr_image_copy", {"src": src, "dest": ["us.icr.io/%s/app:bad" % namespace],
                                          "retries": 0}, sandbox_env)
    assert_clear_failure(result, "do not match digest")
    writes = [r for r in control.requests()["requests"] if r["mutating"]]
    assert not writes, writes
