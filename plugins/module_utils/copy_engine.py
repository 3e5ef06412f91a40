# -*- coding: utf-8 -*-
# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Parallel, streaming, verified copy of an image into a registry, on top of ``oci_registry``.

The source is a registry (``SourceImage``, for cr_image_copy) or an image exported from a
Docker engine (``image_archive.ArchiveImage``, for cr_image's push). Blob bytes go from the
source straight into the destination's upload, through a generator that hashes them on the
way: nothing is buffered beyond one chunk per blob, a registry-to-registry copy touches no
disk, and a blob whose bytes do not hash to its digest is aborted before the registry could
commit it. Manifests are PUT only after every blob they
reference is committed (for an index: the children, then the index), so a tag never
points at an incomplete image.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import hashlib
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from http.client import HTTPException

from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError
from ansible_collections.icr.registry.plugins.module_utils.oci_manifest import select_platforms
from ansible_collections.icr.registry.plugins.module_utils.oci_registry import registry_failure_is_transient
from ansible_collections.icr.registry.plugins.module_utils.retry import RetryPolicy

DEFAULT_PARALLEL = 4
READ_CHUNK = 1024 * 1024  # bytes per read from the source stream


class DigestMismatch(IcrError):
    """The bytes streamed from the source do not match the descriptor; never retried."""


class CopyAborted(IcrError):
    """Another blob of the same copy failed; this one stopped early."""


class SourceReadError(IcrError):
    """Reading a blob from the source broke off (reset, cut short); the blob is retried.

    Deliberately not an OSError: raised inside an upload body, a ConnectionResetError
    would be taken by urllib3 for the *destination* resetting, and it would then wait
    for a response the destination never sends (it is still waiting for the body).
    """


def verified_chunks(chunks, digest, size, abort=None):
    """Yield ``chunks`` while checking that they hash to ``digest`` and total ``size`` bytes.

    The last chunk is held back until the whole stream is verified, so a consumer that
    uploads what it is given never sends a complete body for a blob that does not match:
    the upload is cut short and the registry cannot commit it.
    """
    if not digest.startswith("sha256:"):
        raise IcrError("unsupported digest algorithm in %s (only sha256 is supported)" % digest)
    hasher = hashlib.sha256()
    count = 0
    held = None
    for chunk in chunks:
        if abort is not None and abort.is_set():
            raise CopyAborted("copy aborted after another blob failed")
        if not chunk:
            continue
        hasher.update(chunk)
        count += len(chunk)
        if count > size:
            raise DigestMismatch("blob %s: the source sent more than the %d bytes its descriptor "
                                 "declares; refusing to copy it" % (digest, size))
        if held is not None:
            yield held
        held = chunk
    actual = "sha256:" + hasher.hexdigest()
    if count != size or actual != digest:
        raise DigestMismatch("blob %s: the source sent %d bytes hashing to %s (descriptor: %d bytes); "
                             "refusing to commit it" % (digest, count, actual, size))
    if held is not None:
        yield held


def response_chunks(response, chunk_size=READ_CHUNK):
    """The body of a streaming ``requests`` response as chunks, without per-chunk allocation.

    Reads straight from the underlying ``http.client`` response into two buffers used in
    turn, and yields views of them: a view stays valid until the consumer asks for the
    next-but-one chunk, which is all ``verified_chunks`` (one chunk held back) and an
    upload (each chunk sent before the next is asked for) need. Saves a copy and an
    allocation per chunk, which is what matters at loopback speeds on a small machine.
    """
    raw = getattr(getattr(response, "raw", None), "_fp", None)
    try:
        if raw is None or not hasattr(raw, "readinto"):
            yield from response.iter_content(chunk_size)
            return
        views = [memoryview(bytearray(chunk_size)), memoryview(bytearray(chunk_size))]
        turn = 0
        while True:
            count = raw.readinto(views[turn])
            if not count:
                return
            yield views[turn][:count]
            turn ^= 1
    except (OSError, HTTPException) as exc:  # requests' errors are OSErrors too
        raise SourceReadError("reading the blob from the source broke off: %s" % exc)


def byte_slices(chunks, slice_size):
    """Regroup an iterator of byte chunks into consecutive slices of ``slice_size`` bytes,
    each slice itself an iterator of chunks (consume each slice before asking for the next)."""
    iterator = iter(chunks)
    pending = [b""]

    def one_slice():
        remaining = slice_size
        while remaining > 0:
            chunk = pending[0] or next(iterator, b"")
            if not chunk:
                return
            piece, pending[0] = chunk[:remaining], chunk[remaining:]
            remaining -= len(piece)
            yield piece

    while True:
        if not pending[0]:
            pending[0] = next(iterator, b"")
            if not pending[0]:
                return
        yield one_slice()


class SourceImage:
    """What to copy from a registry: the top manifest (possibly a platform-filtered index)
    and, loaded only when a destination needs it, the image manifests it references.

    The copy engine asks a source for ``digest``, ``manifest``, ``images()``, ``host`` (a
    destination on the same host mounts blobs from ``repository``) and ``open_blob()``;
    ``image_archive.ArchiveImage`` answers the same for an image exported from an engine.
    """

    def __init__(self, client, repository, manifest):
        self.client = client
        self.repository = repository
        self.manifest = manifest
        self._images = None

    @property
    def digest(self):
        return self.manifest.digest

    @property
    def host(self):
        return self.client.host

    @contextlib.contextmanager
    def open_blob(self, digest):
        """The blob's bytes as chunks (not yet verified), streamed from the registry."""
        # Not retried by the client: the copy engine retries the whole blob transfer.
        response = self.client.get_blob(self.repository, digest, retry=False)
        try:
            yield response_chunks(response)
        finally:
            response.close()

    def images(self):
        """Image manifests to copy, children before parents; each has ``.blobs()``."""
        if self._images is None:
            ordered = []
            self._walk(self.manifest, ordered)
            self._images = ordered
        return self._images

    def _walk(self, manifest, ordered):
        for child in manifest.children():
            child_manifest = self.client.get_manifest(self.repository, child["digest"])
            self._walk(child_manifest, ordered)
        ordered.append(manifest)


class CopyResult:
    def __init__(self):
        self.changed = False
        self.blobs_copied = 0
        self.blobs_skipped = 0
        self.blobs_mounted = 0
        self.bytes_copied = 0
        self.seconds = 0.0
        self._lock = threading.Lock()

    def count(self, outcome, size=0):
        with self._lock:
            setattr(self, "blobs_" + outcome, getattr(self, "blobs_" + outcome) + 1)
            if outcome == "copied":
                self.bytes_copied += size

    def as_dict(self):
        return {"changed": self.changed, "blobs_copied": self.blobs_copied,
                "blobs_skipped": self.blobs_skipped, "blobs_mounted": self.blobs_mounted,
                "bytes_copied": self.bytes_copied, "seconds": round(self.seconds, 3)}


def blob_failure_is_transient(exc):
    """``should_retry`` for a whole blob transfer (upload start, source read, upload)."""
    if isinstance(exc, (DigestMismatch, CopyAborted)):
        return False, None
    if isinstance(exc, SourceReadError):
        return True, None
    return registry_failure_is_transient(exc)


def unique_blobs(images):
    """The descriptors of every blob the image manifests reference, each once, largest first
    (the pool finishes when its longest stream does)."""
    blobs = {}
    for image in images:
        for blob in image.blobs():
            blobs.setdefault(blob["digest"], blob)
    return sorted(blobs.values(), key=lambda d: -int(d.get("size") or 0))


def run_all(func, items, parallel, abort):
    """Call ``func(item)`` for every item with at most ``parallel`` threads; the first failure
    sets ``abort``, cancels what has not started and is raised once the running calls end (a
    call that stopped because of it, CopyAborted, is not reported in its place). An interrupt
    in the calling thread sets ``abort`` too, so the calls in flight stop instead of finishing."""
    if not items:
        return
    with ThreadPoolExecutor(max_workers=min(parallel, len(items))) as pool:
        futures = [pool.submit(func, item) for item in items]
        try:
            done, pending = wait(futures, return_when=FIRST_EXCEPTION)
        except BaseException:
            # Interrupted (a signal in this thread): stop the transfers in flight before
            # the pool waits for them, rather than let them finish.
            abort.set()
            for future in futures:
                future.cancel()
            raise
        failed = [f for f in done if f.exception() is not None]
        if failed:
            abort.set()
            for future in pending:
                future.cancel()
            wait(pending)
            # Report the root cause, not a blob that stopped because of it.
            errors = [f.exception() for f in futures if f.done() and not f.cancelled()
                      and f.exception() is not None]
            errors.sort(key=lambda e: isinstance(e, CopyAborted))
            raise errors[0]


class CopyEngine:
    """Copies one source image to destinations with a bounded pool of ``parallel`` threads.

    ``chunk_size``: None uploads each blob with one streamed ``PUT ?digest=`` (fastest on
    a good link); a size in bytes uploads blobs larger than it as PATCH chunks of that size.
    ``policy``: the RetryPolicy for whole blob transfers (its deadline counts from each try,
    so a long transfer that breaks late is tried again). ``before_tag``: called right before
    the tag is written; it raises to stop (the module's "is the controller still there").
    ``abort``: an Event shared by copies made side by side (a sync's images in flight): once set,
    every copy stops its transfers and writes no more manifests; by default each copy has its own.
    """

    def __init__(self, parallel=DEFAULT_PARALLEL, chunk_size=None, policy=None, before_tag=None, abort=None):
        self.parallel = max(1, int(parallel))
        self.chunk_size = chunk_size
        self.policy = policy or RetryPolicy()
        self.before_tag = before_tag
        self.abort = abort

    # ------------------------------------------------------------------ source
    def resolve(self, client, repository, reference, platforms="all"):
        """Read the source's top manifest (one request) and apply the platform choice."""
        manifest = client.get_manifest(repository, reference)
        if manifest.is_index:
            manifest = select_platforms(manifest, platforms)
        return SourceImage(client, repository, manifest)

    # ------------------------------------------------------------ destination
    def copy(self, source, dest, repository, tag=None, check_mode=False, mount_from=None):
        """Make ``dest``/``repository`` hold ``source`` (under ``tag`` when given).

        ``mount_from``: a repository of ``dest`` known to hold the image already (an earlier
        destination); its blobs are mounted instead of streamed again.
        """
        started = time.monotonic()
        result = CopyResult()
        current = dest.head_manifest(repository, tag or source.digest)
        if current is not None and current[0] == source.digest:
            result.seconds = time.monotonic() - started
            return result
        result.changed = True
        images = source.images()
        if dest.host == source.host:
            mount_from = source.repository
        if mount_from == repository:
            mount_from = None
        ordered = unique_blobs(images)
        abort = self.abort if self.abort is not None else threading.Event()

        def task(descriptor):
            return self._copy_blob(source, dest, repository, descriptor, mount_from,
                                   check_mode, abort, result)

        self._run_all(task, ordered, abort)
        if not check_mode:
            children = [image for image in images if image is not source.manifest]
            self._run_all(lambda image: dest.put_manifest(repository, image.digest, image),
                          children, abort)
            self._write_top(source, dest, repository, tag, abort)
        result.seconds = time.monotonic() - started
        return result

    def tag(self, source, dest, repository, tag):
        """Add ``tag`` in ``dest``/``repository`` to an image that ``copy`` has written there
        (one manifest PUT; the blobs and children are in place already)."""
        self._write_top(source, dest, repository, tag, self.abort)

    def _write_top(self, source, dest, repository, tag, abort):
        """The last write of a copy: the top manifest, under its tag. Not once the copy (or a
        copy beside it) is aborted, nor when ``before_tag`` says to stop."""
        if abort is not None and abort.is_set():
            raise CopyAborted("copy aborted after another transfer failed")
        if self.before_tag is not None:
            self.before_tag()
        dest.put_manifest(repository, tag or source.digest, source.manifest)

    @staticmethod
    def predict_into_empty(source):
        """What ``copy`` would report for a repository that does not exist yet (check mode before
        a namespace is created, when there is no registry to ask): every blob copied."""
        result = CopyResult()
        result.changed = True
        for descriptor in unique_blobs(source.images()):
            result.count("copied", int(descriptor.get("size") or 0))
        return result

    def _run_all(self, func, items, abort):
        run_all(func, items, self.parallel, abort)

    def _copy_blob(self, source, dest, repository, descriptor, mount_from, check_mode,
                   abort, result):
        digest, size = descriptor["digest"], int(descriptor.get("size") or 0)
        if abort.is_set():
            raise CopyAborted("copy aborted after another blob failed")
        if dest.blob_exists(repository, digest):
            result.count("skipped")
            return
        if check_mode:
            result.count("copied", size)
            return

        def attempt():
            mounted, upload_url = dest.start_upload(repository, digest if mount_from else None,
                                                    mount_from, retry=False)
            if mounted:
                return "mounted"
            self._stream_blob(source, dest, repository, upload_url, digest, size, abort)
            return "copied"

        outcome = self.policy.call(attempt, blob_failure_is_transient, deadline_from_each_try=True)
        result.count(outcome, size)

    def _stream_blob(self, source, dest, repository, upload_url, digest, size, abort):
        """Read from the source straight into the destination's upload session."""
        try:
            with source.open_blob(digest) as raw_chunks:
                chunks = verified_chunks(raw_chunks, digest, size, abort)
                if self.chunk_size and size > self.chunk_size:
                    offset = 0
                    for piece in byte_slices(chunks, self.chunk_size):
                        length = min(self.chunk_size, size - offset)
                        upload_url = dest.patch_blob(upload_url, piece, offset, length, repository)
                        offset += length
                    dest.commit_blob(upload_url, digest, repository)
                else:
                    dest.put_blob(upload_url, digest, chunks, size, repository)
        except BaseException:
            dest.cancel_upload(upload_url, repository)
            raise
