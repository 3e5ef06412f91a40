# -*- coding: utf-8 -*-
# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""An image exported from a Docker engine (``docker save``), made ready for the copy engine.

``cr_image`` pushes what an engine built or pulled through the copy engine rather than
through the engine's own push: every request then gets the collection's retries (the engine
retries only blob uploads, and gives a whole push up on one busy answer to its ping, token
or manifest request), the engine never receives registry credentials, and the tag is
written only after every blob is committed.

``spool_archive`` reads the archive stream once into a private directory. Uncompressed
layers (what every engine saves) are gzip-compressed reproducibly: no timestamp, no file
name, and megabytes that deflate cannot shrink are stored (at ~20 times the speed). So
pushing the same image twice gives the same blob digests, and the second push skips them;
``DigestMemo`` remembers those digests per layer, so a layer pushed before is not compressed
again (only streamed through gzip if a registry turns out to lack it). Both archive layouts
are read from ``manifest.json``: the classic one (``<id>/layer.tar``) and the OCI layout of
newer engines (``blobs/sha256/<hex>``), whose layers may already be gzip-compressed and are
then sent as they are. Every layer is checked against the ``diff_ids`` of the image config,
and the config against the image ID.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import hashlib
import io
import json
import os
import struct
import tarfile
import tempfile
import zlib
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError
from ansible_collections.icr.registry.plugins.module_utils.oci_manifest import (
    DOCKER_CONFIG, DOCKER_LAYER_GZIP, DOCKER_MANIFEST, Manifest)
GZIP_LEVEL = 6  # what the engine's own push uses
GZIP_FORMAT = 2  # bumped whenever gzip_chunks would write other bytes for the same layer
CHUNK = 1024 * 1024
PROBE_BYTES = 64 * 1024
INCOMPRESSIBLE_RATIO = 0.97
STORED_MAX = 65535
GZIP_KEY_PREFIX = "gzip format "
RECORDS_KEPT = 16  # records besides the gzip one in one DigestMemo file
GZIP_KEY = "%s%d, zlib %s level %d" % (GZIP_KEY_PREFIX, GZIP_FORMAT, zlib.ZLIB_RUNTIME_VERSION, GZIP_LEVEL)
# A gzip member header with no timestamp, no name and OS "unknown": the same bytes on every host.
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"


class ArchiveError(IcrError):
    """The engine's archive is not a readable image archive, or does not match its config."""


class ChunkReader(io.RawIOBase):
    """A read-only file object over an iterator of byte chunks (what ``tarfile`` streams from)."""

    def __init__(self, chunks):
        super(ChunkReader, self).__init__()
        self._chunks = iter(chunks)
        self._chunk = memoryview(b"")

    def readable(self):
        return True

    def readinto(self, buffer):
        while not self._chunk:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._chunk = memoryview(chunk)
        count = min(len(buffer), len(self._chunk))
        buffer[:count] = self._chunk[:count]
        self._chunk = self._chunk[count:]
        return count


def file_chunks(path, chunk_size=CHUNK):
    with open(path, "rb") as handle:
        while True:
            chunk = handle.read(chunk_size)
            if not chunk:
                return
            yield chunk


def sha256_file(path, decompress=False):
    """``sha256:<hex>`` of the file's bytes, or of its gunzipped bytes with ``decompress``."""
    hasher = hashlib.sha256()
    inflater = zlib.decompressobj(31) if decompress else None
    for chunk in file_chunks(path):
        hasher.update(inflater.decompress(chunk) if inflater else chunk)
    if inflater:
        hasher.update(inflater.flush())
    return "sha256:" + hasher.hexdigest()


def incompressible(chunk):
    """Whether deflate would gain (almost) nothing on ``chunk``, judged on a sample at level 1.

    Layers often hold data that is compressed already (archives, media, model weights);
    deflating it costs ~20 times storing it, for output no smaller than the input.
    """
    sample = chunk[:PROBE_BYTES]
    return len(zlib.compress(sample, 1)) >= len(sample) * INCOMPRESSIBLE_RATIO


def stored_blocks(data, final=False):
    """``data`` as deflate stored blocks (each: a byte-aligned header, LEN, NLEN, the bytes)."""
    view = memoryview(data)
    pieces = []
    for start in range(0, len(view), STORED_MAX):
        piece = view[start:start + STORED_MAX]
        last = final and start + STORED_MAX >= len(view)
        pieces.append(struct.pack("<BHH", 1 if last else 0, len(piece), len(piece) ^ 0xFFFF))
        pieces.append(piece)
    if final and not len(view):
        pieces.append(struct.pack("<BHH", 1, 0, 0xFFFF))
    return b"".join(pieces)


def gzip_chunks(source, level=GZIP_LEVEL):
    """The reproducible gzip of file ``source``, as chunks: no timestamp, no name, so the same
    bytes (and digest) wherever and whenever the same zlib compresses the same layer.

    One gzip member, one deflate stream: chunks that deflate well are deflated (one
    compressor for all of them, its window carried over), chunks that would not shrink are
    stored as they are. Before a stored chunk the compressor is fully flushed, so the stream
    is byte-aligned and later deflated blocks never refer back across it.
    """
    deflater = zlib.compressobj(level, zlib.DEFLATED, -15)
    crc = 0
    length = 0
    pending = False  # the compressor holds input it has not flushed
    yield _GZIP_HEADER
    for chunk in file_chunks(source):
        crc = zlib.crc32(chunk, crc)
        length += len(chunk)
        if incompressible(chunk):
            if pending:
                yield deflater.flush(zlib.Z_FULL_FLUSH)
                pending = False
            yield stored_blocks(chunk)
            continue
        data = deflater.compress(chunk)
        pending = True
        if data:
            yield data
    if pending:
        yield deflater.flush(zlib.Z_FULL_FLUSH)
    yield stored_blocks(b"", final=True) + struct.pack("<II", crc & 0xFFFFFFFF, length & 0xFFFFFFFF)


def write_hashed(chunks, path):
    """Write ``chunks`` to ``path``; return ``(sha256 digest, size)`` of what was written."""
    hasher = hashlib.sha256()
    size = 0
    with open(path, "wb") as out:
        for chunk in chunks:
            out.write(chunk)
            hasher.update(chunk)
            size += len(chunk)
    return "sha256:" + hasher.hexdigest(), size


def gzip_file(source, target, level=GZIP_LEVEL):
    """Compress ``source`` into ``target`` (``gzip_chunks``); return ``(sha256 digest, size)``."""
    return write_hashed(gzip_chunks(source, level), target)


class DigestMemo:
    """What gzip made of each layer before on this host: ``diff_id -> (digest, size)``; and the
    size of each image config exported before: ``image ID -> (image ID, size)``.

    The compression is reproducible, so this is a fact about the layer: a layer pushed once
    need not be compressed again to name it in a manifest, and when the registry already
    has it (a rebuild on the same base) it is not compressed at all. docker keeps the same
    record for its pushes. With the config's size too, the manifest a push of a known image
    writes can be named without exporting it (``predict_manifest``, cr_image's check mode).
    A JSON file of digests only (no secret), mode 0600, at most ``limit`` entries, written
    atomically; unreadable means empty. Entries are keyed by the gzip_chunks format, the zlib
    version and the level, whose output they describe.
    """

    def __init__(self, path, limit=10000, key=None):
        self.path = path
        self.limit = limit
        # Another key keeps another record in the same file (engine_push: what the engine pushed).
        self.key = key or GZIP_KEY
        self._new = {}
        self._known = self._load().get(self.key) or {}

    @staticmethod
    def default_path():
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        return os.path.join(base, "icr.registry", "layer-digests.json")

    def _load(self):
        try:
            with open(self.path) as handle:
                data = json.load(handle)
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def get(self, diff_id):
        entry = self._new.get(diff_id) or self._known.get(diff_id)
        if isinstance(entry, list) and len(entry) == 2:
            return entry[0], int(entry[1])
        return None

    def put(self, diff_id, digest, size):
        self._new[diff_id] = [digest, size]

    def save(self):
        """Merge what this run learnt into the file (another run may have written it since)."""
        if not self._new:
            return
        data = self._load()
        entries = dict(data.get(self.key) or {})
        for diff_id in self._new:
            entries.pop(diff_id, None)  # re-inserted last: the newest are kept
        entries.update(self._new)
        # Records of other keys are kept, but not those of another gzip format (stale), nor more
        # than RECORDS_KEPT other records (an engine record per engine and registry): the ones
        # saved last are kept, this one is moved to the end.
        data = {key: value for key, value in data.items()
                if key != self.key and (key == GZIP_KEY or not key.startswith(GZIP_KEY_PREFIX))}
        others = [key for key in data if key != GZIP_KEY]
        for key in others[:max(0, len(others) - RECORDS_KEPT + 1)]:
            del data[key]
        data[self.key] = dict(list(entries.items())[-self.limit:])
        directory = os.path.dirname(self.path)
        temporary = None
        try:
            os.makedirs(directory, mode=0o700, exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=directory, prefix=".layer-digests-")
            with os.fdopen(fd, "w") as handle:
                json.dump(data, handle)
            os.replace(temporary, self.path)
            temporary = None
        except OSError:
            pass  # a cache: the next push compresses again
        finally:
            if temporary:
                os.unlink(temporary)


class SpooledMember:
    """One regular file of the archive, written to the spool directory."""

    def __init__(self, path, digest, size, gzipped):
        self.path = path
        self.digest = digest
        self.size = size
        self.gzipped = gzipped


def spool_members(chunks, directory):
    """Write every regular file of the tar stream ``chunks`` to ``directory``; return
    ``{member name: SpooledMember}``. One pass, one chunk in memory at a time. A link (the
    engine saves a layer that appears twice as a symlink to the first copy) maps to the
    member it points to."""
    members = {}
    links = {}
    try:
        with tarfile.open(fileobj=io.BufferedReader(ChunkReader(chunks), CHUNK), mode="r|", bufsize=CHUNK) as archive:
            for info in archive:
                name = os.path.normpath(info.name)
                if info.issym():
                    links[name] = os.path.normpath(os.path.join(os.path.dirname(name), info.linkname))
                elif info.islnk():
                    links[name] = os.path.normpath(info.linkname)
                elif info.isfile():
                    members[name] = _spool_one(archive.extractfile(info), os.path.join(directory, "member-%d" % len(members)))
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        raise ArchiveError("the engine's image archive could not be read: %s" % exc)
    for name, target in links.items():
        for dummy in range(8):  # a link to a link, but never a loop
            target = links.get(target, target)
        if target in members:
            members[name] = members[target]
    return members


def _spool_one(source, path):
    digest, size = write_hashed(iter(lambda: source.read(CHUNK), b""), path)
    with open(path, "rb") as handle:
        gzipped = handle.read(2) == b"\x1f\x8b"
    return SpooledMember(path, digest, size, gzipped)


def _member(members, name, what):
    member = members.get(os.path.normpath(name or "-"))
    if member is None:
        raise ArchiveError("the engine's image archive has no %s (%s)" % (what, name))
    return member


def archive_manifest(config_digest, config_size, layers):
    """The Docker v2 manifest a push of an exported image writes: its config, then its gzip
    ``layers`` (``[(digest, size)]``) in order. The same bytes for the same image, every time."""
    doc = {"schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
           "config": {"mediaType": DOCKER_CONFIG, "size": config_size, "digest": config_digest},
           "layers": [{"mediaType": DOCKER_LAYER_GZIP, "size": size, "digest": digest} for digest, size in layers]}
    return Manifest.from_bytes(json.dumps(doc, indent=3).encode("utf-8"), DOCKER_MANIFEST)


def predict_manifest(memo, image_id, diff_ids):
    """The manifest a push of ``image_id`` (whose config lists ``diff_ids``) would write, named from
    the DigestMemo alone - no export - or None when the memo lacks its config or one of its layers
    (an image this host never pushed, or layers the engine exports compressed already)."""
    config = memo.get(image_id)
    layers = [memo.get(diff_id) for diff_id in diff_ids or []]
    if config is None or config[0] != image_id or not layers or None in layers:
        return None
    return archive_manifest(image_id, config[1], layers)


class ArchiveImage:
    """A spooled image as a copy-engine source: a Docker v2 manifest over local blobs."""

    host = None  # no registry: nothing can be mounted from it
    repository = None

    def __init__(self, config, layers):
        """``config``: SpooledMember; ``layers``: ``[(path, digest, size, compress)]`` in order;
        ``compress``: the file is the uncompressed layer, gzipped only if a registry lacks it."""
        self._blobs = {config.digest: (config.path, False)}
        for path, digest, size, compress in layers:
            self._blobs[digest] = (path, compress)
        self.manifest = archive_manifest(config.digest, config.size,
                                         [(digest, size) for _path, digest, size, _compress in layers])

    @property
    def digest(self):
        return self.manifest.digest

    def images(self):
        return [self.manifest]

    @contextlib.contextmanager
    def open_blob(self, digest):
        """The blob's bytes; the copy engine checks them against ``digest`` on the way."""
        path, compress = self._blobs[digest]
        yield gzip_chunks(path) if compress else file_chunks(path)


def spool_archive(chunks, directory, image_id, parallel=2, memo=None):
    """Read the engine's archive of ``image_id`` into ``directory``; return an ArchiveImage.
    ``memo`` (a DigestMemo): layers it knows are not compressed now, only if uploaded."""
    members = spool_members(chunks, directory)
    try:
        entries = json.loads(_member_bytes(_member(members, "manifest.json", "manifest.json")))
    except ValueError as exc:
        raise ArchiveError("the engine's image archive has an unreadable manifest.json: %s" % exc)
    if not isinstance(entries, list) or len(entries) != 1:
        raise ArchiveError("the engine's image archive should hold one image, it lists %s"
                           % (len(entries) if isinstance(entries, list) else "none"))
    entry = entries[0]
    config = _member(members, entry.get("Config"), "image config")
    if config.digest != image_id:
        raise ArchiveError("the engine exported config %s for image %s" % (config.digest, image_id))
    if memo is not None:
        memo.put(image_id, config.digest, config.size)
    try:
        diff_ids = json.loads(_member_bytes(config))["rootfs"]["diff_ids"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ArchiveError("the config of image %s has no rootfs.diff_ids (%s)" % (image_id, exc))
    names = entry.get("Layers") or []
    if len(names) != len(diff_ids):
        raise ArchiveError("the engine's archive of %s lists %d layers, its config %d"
                           % (image_id, len(names), len(diff_ids)))
    layers = [_member(members, name, "layer") for name in names]

    def prepare(index):
        member, diff_id = layers[index], diff_ids[index]
        if member.digest == diff_id:
            known = memo.get(diff_id) if memo is not None else None
            if known:
                return member.path, known[0], known[1], True
            target = member.path + ".gz"
            digest, size = gzip_file(member.path, target)
            os.unlink(member.path)
            if memo is not None:
                memo.put(diff_id, digest, size)
            return target, digest, size, False
        try:
            gunzipped = sha256_file(member.path, decompress=True) if member.gzipped else None
        except zlib.error:
            gunzipped = None
        if gunzipped == diff_id:
            return member.path, member.digest, member.size, False
        raise ArchiveError("layer %d of the engine's archive of %s does not match its diff_id %s"
                           % (index + 1, image_id, diff_id))

    # The same layer may appear twice in one image: prepare each member once.
    first = {}
    for index, member in enumerate(layers):
        earlier = first.setdefault(member.path, index)
        if diff_ids[earlier] != diff_ids[index]:  # one file cannot match two diff_ids
            raise ArchiveError("layer %d of the engine's archive of %s does not match its diff_id %s"
                               % (index + 1, image_id, diff_ids[index]))
    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:  # zlib releases the GIL
        prepared = dict(zip(first.values(), pool.map(prepare, first.values())))
    return ArchiveImage(config, [prepared[first[member.path]] for member in layers])


def _member_bytes(member):
    with open(member.path, "rb") as handle:
        return handle.read()
