# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""A registry in memory with RegistryClient's methods (oci_registry.py), for the module tests
of cr_image (the destination of a push) and cr_image_copy (source and destinations)."""
import hashlib
import json
import threading

from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError
from ansible_collections.icr.registry.plugins.module_utils.oci_registry import Manifest

IMAGE_MEDIA_TYPE = "application/vnd.docker.distribution.manifest.v2+json"


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


class BlobResponse:
    """What ``get_blob`` returns: a streaming response's ``iter_content`` and ``close``."""

    def __init__(self, data):
        self.data = data
        self.content = data
        self.closed = False

    def iter_content(self, chunk_size):
        return iter([self.data[start:start + chunk_size] for start in range(0, len(self.data), chunk_size)])

    def close(self):
        self.closed = True


class FakeRegistry:
    """A registry in memory with the RegistryClient methods the copy engine and cr_image use.

    ``error``: raised by manifest reads; ``put_error``: by every write (upload, manifest);
    ``blob_failures``: errors raised by the next blob uploads, one each."""

    def __init__(self, host="us.icr.io"):
        self.host = host
        self.manifests = {}  # (repository, tag or digest) -> Manifest
        self.blobs = {}  # (repository, digest) -> bytes
        self.uploads = []  # (repository, digest) of every blob uploaded
        self.mounts = []  # (repository, digest, from repository)
        self.manifest_puts = []
        self.sessions = {}  # upload URL -> [repository, bytes so far]
        self.cancelled = []
        self.error = None
        self.put_error = None
        self.blob_failures = []
        self.referrers_index = None  # {(repository, digest): [descriptors]}: serves the referrers API
        self.token_scopes = []  # the scopes of every registry token handed out (bearer_token)
        self._lock = threading.Lock()
        self._count = 0

    def bearer_token(self, scopes):
        self.token_scopes.append(list(scopes))
        return "registry-token-%d" % len(self.token_scopes)

    def head_manifest(self, repository, reference):
        manifest = self.get_manifest(repository, reference, missing_ok=True)
        return None if manifest is None else (manifest.digest, manifest.media_type)

    def get_manifest(self, repository, reference, missing_ok=False):
        if self.error:
            raise self.error  # pylint: disable=raising-bad-type
        manifest = self.manifests.get((repository, reference))
        if manifest is None and not missing_ok:
            raise IcrError("manifest %s:%s not found on %s" % (repository, reference, self.host), status=404)
        return manifest

    def list_tags(self, repository):
        return sorted({ref for (repo, ref) in self.manifests if repo == repository and not ref.startswith("sha256:")})

    def referrers(self, repository, digest):
        if self.referrers_index is None:
            return None
        return list(self.referrers_index.get((repository, digest), []))

    def get_blob(self, repository, digest, retry=True):
        if (repository, digest) not in self.blobs:
            raise IcrError("blob %s not found in %s on %s" % (digest, repository, self.host), status=404)
        return BlobResponse(self.blobs[(repository, digest)])

    def blob_exists(self, repository, digest):
        return (repository, digest) in self.blobs

    def start_upload(self, repository, mount_digest=None, mount_from=None, retry=True):
        if self.put_error:
            raise self.put_error  # pylint: disable=raising-bad-type
        with self._lock:
            if mount_digest and mount_from and (mount_from, mount_digest) in self.blobs:
                self.blobs[(repository, mount_digest)] = self.blobs[(mount_from, mount_digest)]
                self.mounts.append((repository, mount_digest, mount_from))
                return True, None
            self._count += 1
            url = "https://%s/v2/%s/blobs/uploads/%d" % (self.host, repository, self._count)
            self.sessions[url] = [repository, b""]
            return False, url

    def put_blob(self, upload_url, digest, chunks, size, repository):
        with self._lock:
            failure = self.blob_failures.pop(0) if self.blob_failures else None
        if failure:
            raise failure  # pylint: disable=raising-bad-type
        self.patch_blob(upload_url, chunks, len(self.sessions[upload_url][1]), size, repository)
        self.commit_blob(upload_url, digest, repository)

    def patch_blob(self, upload_url, chunk_iter, start, length, repository):
        session = self.sessions[upload_url]
        assert session[0] == repository and start == len(session[1])
        data = b"".join(bytes(chunk) for chunk in chunk_iter)
        assert len(data) == length
        session[1] += data
        return upload_url

    def commit_blob(self, upload_url, digest, repository):
        repository_of_session, data = self.sessions.pop(upload_url)
        if repository_of_session != repository or sha(data) != digest:
            raise IcrError("DIGEST_INVALID: %s" % digest, status=400)
        with self._lock:
            self.blobs[(repository, digest)] = data
            self.uploads.append((repository, digest))

    def cancel_upload(self, upload_url, repository):
        self.cancelled.append(upload_url)
        self.sessions.pop(upload_url, None)

    def put_manifest(self, repository, reference, manifest):
        if self.put_error:
            raise self.put_error  # pylint: disable=raising-bad-type
        for blob in manifest.blobs():
            if (repository, blob["digest"]) not in self.blobs:
                raise IcrError("MANIFEST_BLOB_UNKNOWN: %s" % blob["digest"], status=400)
        self.manifest_puts.append((repository, reference))
        self.manifests[(repository, reference)] = self.manifests[(repository, manifest.digest)] = manifest
        return manifest.digest

    def add_image(self, repository, tag, layers=(b"layer",)):
        """An image (a config blob and ``layers``) stored under ``tag``; returns its Manifest."""
        config = json.dumps({"architecture": "amd64", "os": "linux",
                             "rootfs": {"type": "layers", "diff_ids": [sha(layer) for layer in layers]}}).encode()
        descriptors = []
        for blob, media_type in [(config, "application/vnd.docker.container.image.v1+json")] + \
                [(layer, "application/vnd.docker.image.rootfs.diff.tar.gzip") for layer in layers]:
            self.blobs[(repository, sha(blob))] = blob
            descriptors.append({"mediaType": media_type, "size": len(blob), "digest": sha(blob)})
        raw = json.dumps({"schemaVersion": 2, "mediaType": IMAGE_MEDIA_TYPE, "config": descriptors[0],
                          "layers": descriptors[1:]}).encode()
        manifest = Manifest.from_bytes(raw, IMAGE_MEDIA_TYPE)
        self.manifests[(repository, tag)] = self.manifests[(repository, manifest.digest)] = manifest
        return manifest


class Registries(dict):
    """One FakeRegistry per host, made on first use; ``clients``: every RegistryClient made."""

    def __init__(self):
        super().__init__()
        self.clients = []

    def __missing__(self, host):
        self[host] = FakeRegistry(host)
        return self[host]

    def client(self, url, **kwargs):
        self.clients.append((url, kwargs.get("username")))
        return self[url.split("://")[-1]]
