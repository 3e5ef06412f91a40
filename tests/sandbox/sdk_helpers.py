"""Helpers for the /api/v1 conformance tests: IBM's SDK as client, tiny images pushed over /v2.

Images are built here byte by byte (one small tar layer + a config with a chosen
``created``) and pushed with the registry's token flow, like any OCI client would.
"""

import gzip
import hashlib
import io
import json
import re
import tarfile
import time
import uuid

import pytest
import requests
from ibm_cloud_sdk_core import ApiException
from ibm_cloud_sdk_core.authenticators import IAMAuthenticator
from ibm_container_registry.container_registry_v1 import ContainerRegistryV1
from ibm_container_registry.vulnerability_advisor_v4 import VulnerabilityAdvisorV4

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
TIMEOUT = 30


def sdk_client(endpoints, region, api_key=None, account_id=None):
    """ContainerRegistryV1 for one sandbox region, authenticated through the sandbox IAM."""
    authenticator = IAMAuthenticator(api_key or endpoints["api_key"], url=endpoints["iam_url"])
    client = ContainerRegistryV1(account=account_id or endpoints["account_id"], authenticator=authenticator)
    client.set_service_url(endpoints["regions"][region]["api_url"])
    return client


def va_client(endpoints, region, api_key=None, account_id=None):
    """VulnerabilityAdvisorV4 for one sandbox region (its service URL is the region's api_url)."""
    authenticator = IAMAuthenticator(api_key or endpoints["api_key"], url=endpoints["iam_url"])
    client = VulnerabilityAdvisorV4(account=account_id or endpoints["account_id"], authenticator=authenticator)
    client.set_service_url(endpoints["regions"][region]["api_url"])
    return client


def api_error(call, *args, **kwargs):
    """The ApiException an SDK call raises (fails the test if it succeeds)."""
    try:
        call(*args, **kwargs)
    except ApiException as error:
        return error
    raise AssertionError(f"{call.__name__} succeeded but was expected to fail")


def unique_namespace(prefix="t"):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


class RegistryPusher:
    """Pushes hand-made images to a registry; ``token_for(repositories)`` gives a bearer token."""

    def __init__(self, host, token_for):
        self.base = f"http://{host}/v2"
        self._token_for = token_for

    def _headers(self, *repositories, **extra):
        return {"Authorization": f"Bearer {self._token_for(list(repositories))}", **extra}

    def push_blob(self, repository, data):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        started = requests.post(f"{self.base}/{repository}/blobs/uploads/", headers=self._headers(repository), timeout=TIMEOUT)
        started.raise_for_status()
        location = started.headers["Location"]
        if location.startswith("/"):
            location = self.base[: -len("/v2")] + location
        separator = "&" if "?" in location else "?"
        done = requests.put(f"{location}{separator}digest={digest}", data=data,
                            headers=self._headers(repository, **{"Content-Type": "application/octet-stream"}), timeout=TIMEOUT)
        done.raise_for_status()
        return {"digest": digest, "size": len(data)}

    def push_manifest(self, repository, reference, manifest, media_type):
        body = json.dumps(manifest).encode()
        response = requests.put(f"{self.base}/{repository}/manifests/{reference}", data=body,
                                headers=self._headers(repository, **{"Content-Type": media_type}), timeout=TIMEOUT)
        response.raise_for_status()
        return "sha256:" + hashlib.sha256(body).hexdigest(), len(body)

    def push_image(self, repository, tag, content, created="2024-01-01T00:00:00Z", labels=None, architecture="amd64"):
        """A one-layer image whose single file holds ``content``; returns its manifest digest."""
        layer = _tar_gz({"hello.txt": content.encode() if isinstance(content, str) else content})
        layer_descriptor = self.push_blob(repository, layer)
        config = {"architecture": architecture, "os": "linux", "created": created,
                  "config": {"Cmd": ["/hello.txt"], "Labels": labels or {}, "Env": ["PATH=/bin"]},
                  "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(_gunzip(layer)).hexdigest()]},
                  "history": [{"created": created, "created_by": "sdk_helpers"}]}
        config_descriptor = self.push_blob(repository, json.dumps(config).encode())
        manifest = {"schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
                    "config": {"mediaType": DOCKER_CONFIG, **config_descriptor},
                    "layers": [{"mediaType": DOCKER_LAYER, **layer_descriptor}]}
        digest, _ = self.push_manifest(repository, tag, manifest, DOCKER_MANIFEST)
        return digest

    def push_files(self, repository, tag, layers, created="2024-01-01T00:00:00Z"):
        """An image of several layers, each a {path: bytes} (a path ending in ``.wh.<name>`` is a
        whiteout); returns its manifest digest. ``tag`` may be a digest-less push: pass None to
        push by digest only (an untagged image)."""
        blobs = [_tar_gz(files) for files in layers]
        descriptors = [self.push_blob(repository, blob) for blob in blobs]
        config = {"architecture": "amd64", "os": "linux", "created": created, "config": {"Env": ["PATH=/bin"]},
                  "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(_gunzip(b)).hexdigest()
                                                            for b in blobs]}}
        config_descriptor = self.push_blob(repository, json.dumps(config).encode())
        manifest = {"schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
                    "config": {"mediaType": DOCKER_CONFIG, **config_descriptor},
                    "layers": [{"mediaType": DOCKER_LAYER, **d} for d in descriptors]}
        body = json.dumps(manifest).encode()
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        self.push_manifest(repository, tag or digest, manifest, DOCKER_MANIFEST)
        return digest

    def push_index(self, repository, tag, children):
        """An OCI index over already pushed manifests: ``children`` = [(digest, size, architecture)]."""
        manifest = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
            {"mediaType": DOCKER_MANIFEST, "digest": d, "size": s, "platform": {"os": "linux", "architecture": a}}
            for d, s, a in children]}
        digest, _ = self.push_manifest(repository, tag, manifest, OCI_INDEX)
        return digest

    def manifest_size(self, repository, digest):
        response = requests.head(f"{self.base}/{repository}/manifests/{digest}",
                                 headers=self._headers(repository, Accept=DOCKER_MANIFEST), timeout=TIMEOUT)
        response.raise_for_status()
        return int(response.headers["Content-Length"])

    def pull_blob(self, repository, digest):
        response = requests.get(f"{self.base}/{repository}/blobs/{digest}", headers=self._headers(repository), timeout=TIMEOUT)
        response.raise_for_status()
        return response.content

    def tags(self, repository):
        response = requests.get(f"{self.base}/{repository}/tags/list", headers=self._headers(repository), timeout=TIMEOUT)
        if response.status_code == 404:
            return []
        response.raise_for_status()
        return sorted(response.json().get("tags") or [])


def wait_for(check, seconds=15.0, interval=0.2):
    """Polls ``check()`` until it returns something truthy (for effects of asynchronous registry events)."""
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)


def realm_token_source(host, api_key):
    """token_for(repositories) through the registry's advertised token realm, as docker does."""
    challenge = requests.get(f"http://{host}/v2/", timeout=TIMEOUT).headers["WWW-Authenticate"]
    fields = dict(re.findall(r'(\w+)="([^"]*)"', challenge))

    def token_for(repositories):
        params = [("service", fields["service"])] + [("scope", f"repository:{r}:push,pull") for r in repositories]
        response = requests.get(fields["realm"], params=params, auth=("iamapikey", api_key), timeout=TIMEOUT)
        response.raise_for_status()
        return response.json()["token"]

    return token_for


def _tar_gz(files):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as archive:
        for name, data in files.items():
            member = tarfile.TarInfo(name)
            member.size = len(data)
            member.mode = 0o755
            archive.addfile(member, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


def _gunzip(data):
    return gzip.decompress(data)


def add_legacy_namespace(endpoints, region, name, account_id=None):
    """A namespace from before resource groups (unassigned), made through the sandbox control hook."""
    response = requests.post(f"{endpoints['control_url']}/_sandbox/legacy-namespaces",
                             json={"region": region, "account_id": account_id or endpoints["account_id"], "name": name},
                             timeout=TIMEOUT)
    response.raise_for_status()


def image_ref(endpoints, region, repository, tag=None, digest=None):
    """A management-API reference under the region's canonical ICR domain."""
    domain = endpoints["regions"][region]["domain"]
    return f"{domain}/{repository}" + (f"@{digest}" if digest else f":{tag}" if tag else "")


# ---- images Vulnerability Advisor can scan (layers of {path: bytes}) ------------------------

BOOKWORM = b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n'
ALPINE = b'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.18.4\n'


def dpkg_status(*packages):
    """A dpkg status file: (name, version, source, status) entries."""
    blocks = []
    for name, version, source, status in packages:
        block = f"Package: {name}\nStatus: {status}\nVersion: {version}\nDescription: x\n more text\n"
        if source:
            block += f"Source: {source}\n"
        blocks.append(block)
    return "\n".join(blocks).encode()


VULNERABLE_DEBIAN = {
    "etc/os-release": BOOKWORM,
    "var/lib/dpkg/status": dpkg_status(
        ("libc6", "2.36-9+deb12u1", "glibc", "install ok installed"),        # < 2.36-9+deb12u3: CVE-2023-4911
        ("curl", "7.88.1-10+deb12u5", None, "install ok installed"),         # fixed
        ("libssl3", "3.0.11-1~deb12u1", "openssl (3.0.11-1~deb12u1)", "install ok installed"),  # ~u1 < ~u2
        ("openssl", "3.0.9-1", None, "deinstall ok config-files")),           # not installed
}

OS_IMAGES = {
    "debian-vulnerable": [VULNERABLE_DEBIAN],      # CVE-2023-4911 (DSA-5514-1), CVE-2023-5363 (DSA-5532-1)
    "debian-fixed": [VULNERABLE_DEBIAN, {"var/lib/dpkg/status": dpkg_status(
        ("libc6", "2.36-9+deb12u3", "glibc", "install ok installed"))}],
    "alpine-vulnerable": [{"etc/os-release": ALPINE,
                           "lib/apk/db/installed": b"P:libssl3\nV:3.1.3-r0\no:openssl\n"}],   # CVE-2023-5363
    "plain": [{"hello.txt": b"no distribution here"}],                                          # UNSUPPORTED
}


# ---- pytest fixtures shared by the test_api_* modules (import them by name) -----------------

REGION = "us-south"


@pytest.fixture
def client(endpoints):
    return sdk_client(endpoints, REGION)


@pytest.fixture
def pusher(endpoints):
    host = endpoints["regions"][REGION]["registry"]
    return RegistryPusher(host, realm_token_source(host, endpoints["api_key"]))


@pytest.fixture
def namespace(client):
    """A fresh namespace of the main account in REGION, deleted (with its images) afterwards."""
    name = unique_namespace()
    client.create_namespace(name)
    yield name
    try:
        client.delete_namespace(name)
    except ApiException as error:
        if error.status_code != 404:
            raise


def raw_call(endpoints, method, path, account_id=None, api_key=None, region=REGION, **kwargs):
    """A plain HTTP call to /api/v1 with the main account's IAM token (for header-level checks)."""
    authenticator = IAMAuthenticator(api_key or endpoints["api_key"], url=endpoints["iam_url"])
    headers = {"Authorization": f"Bearer {authenticator.token_manager.get_token()}", **kwargs.pop("headers", {})}
    if account_id is not False:
        headers["Account"] = account_id or endpoints["account_id"]
    return requests.request(method, endpoints["regions"][region]["api_url"] + path, headers=headers, timeout=TIMEOUT, **kwargs)
