# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""image_archive: an engine's ``docker save`` archive, spooled into a copy-engine source.

Archives are built in memory with ``tarfile`` in the two layouts engines write: the classic
one (``<v1 id>/layer.tar``, ``<config hex>.json``) and the OCI layout of docker 25+
(``blobs/sha256/<hex>``, layers possibly already gzip-compressed).
"""
import gzip
import hashlib
import io
import json
import os
import tarfile
import time

import pytest

from ansible_collections.icr.registry.plugins.module_utils import image_archive
from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError
from ansible_collections.icr.registry.plugins.module_utils.image_archive import (
    ArchiveError, ChunkReader, DigestMemo, gzip_file, spool_archive)
from ansible_collections.icr.registry.plugins.module_utils.oci_manifest import (
    DOCKER_CONFIG, DOCKER_LAYER_GZIP, DOCKER_MANIFEST)


# ------------------------------------------------------------------ helpers

def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def noise(seed, size):
    """``size`` deterministic bytes that do not compress much."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(b"%s-%d" % (seed, counter)).digest()
        counter += 1
    return bytes(out[:size])


def tar_of(members):
    """A tar stream of ``(name, bytes)`` files; ``(name, None)`` is a directory,
    ``(name, ("->", target))`` a symbolic link and ``(name, ("=>", target))`` a hard link."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.mtime = 0
            if data is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                archive.addfile(info)
            elif isinstance(data, tuple):
                info.type = tarfile.SYMTYPE if data[0] == "->" else tarfile.LNKTYPE
                info.linkname = data[1]
                archive.addfile(info)
            else:
                info.size = len(data)
                info.mode = 0o644
                archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def layer_tar(seed, size=300 * 1024):
    """A layer as an engine saves it: an uncompressed tar of a few files."""
    return tar_of([("etc", None), ("etc/%s.conf" % seed.decode(), b"name=%s\n" % seed),
                   ("data/%s.bin" % seed.decode(), noise(seed, size))])


def config_of(diff_ids, **extra):
    doc = {"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/sh"]},
           "rootfs": {"type": "layers", "diff_ids": list(diff_ids)}}
    doc.update(extra)
    return json.dumps(doc, sort_keys=True).encode()


def classic_members(layers, layer_names=None, diff_ids=None, entries=None):
    """Members of a classic ``docker save`` archive of one image: ``(members, image_id)``.

    ``layer_names`` overrides what manifest.json lists as the layers, ``diff_ids`` what
    the config says, ``entries`` the whole manifest.json document."""
    diff_ids = [sha(layer) for layer in layers] if diff_ids is None else diff_ids
    config = config_of(diff_ids)
    image_id = sha(config)
    members = []
    names = []
    for index, layer in enumerate(layers):
        v1_id = hashlib.sha256(b"v1-%d-" % index + layer).hexdigest()
        members += [(v1_id, None), (v1_id + "/VERSION", b"1.0"), (v1_id + "/json", b'{"id": "%s"}' % v1_id.encode()),
                    (v1_id + "/layer.tar", layer)]
        names.append(v1_id + "/layer.tar")
    config_name = image_id.split(":")[1] + ".json"
    members.append((config_name, config))
    if entries is None:
        entries = [{"Config": config_name, "RepoTags": ["us.icr.io/team/app:1"],
                    "Layers": names if layer_names is None else layer_names}]
    members.append(("manifest.json", json.dumps(entries).encode()))
    members.append(("repositories", b'{"us.icr.io/team/app": {"1": "x"}}'))
    return members, image_id


def oci_members(layers, diff_ids):
    """Members of a docker 25+ archive: every blob under ``blobs/sha256``; ``layers`` are
    stored as given (uncompressed or gzip), ``diff_ids`` are their uncompressed digests."""
    config = config_of(diff_ids)
    image_id = sha(config)
    members = [("blobs", None), ("blobs/sha256", None), ("blobs/sha256/" + image_id.split(":")[1], config)]
    names = []
    for layer in layers:
        name = "blobs/sha256/" + sha(layer).split(":")[1]
        if (name, layer) not in members:
            members.append((name, layer))
        names.append(name)
    members += [("oci-layout", b'{"imageLayoutVersion": "1.0.0"}'), ("index.json", b'{"schemaVersion": 2}'),
                ("manifest.json", json.dumps([{"Config": "blobs/sha256/" + image_id.split(":")[1],
                                               "RepoTags": None, "Layers": names}]).encode())]
    return members, image_id


def chunked(data, size=7777):
    """The archive as the engine's stream delivers it: odd-sized chunks."""
    return (data[start:start + size] for start in range(0, len(data), size))


def spool(directory, members, image_id, chunk=7777, parallel=2, memo=None):
    os.makedirs(str(directory), exist_ok=True)
    return spool_archive(chunked(tar_of(members), chunk), str(directory), image_id, parallel=parallel, memo=memo)


def blob(archive, digest):
    with archive.open_blob(digest) as chunks:
        return b"".join(bytes(chunk) for chunk in chunks)


LAYER_A = layer_tar(b"a")
LAYER_B = layer_tar(b"b", size=1500 * 1024)  # more than one CHUNK: compressed in several pieces
LAYER_C = layer_tar(b"c", size=20 * 1024)


# ------------------------------------------------------------------ the classic layout

def test_classic_archive_becomes_a_v2_manifest_over_gzip_layers(tmp_path):
    members, image_id = classic_members([LAYER_A, LAYER_B])
    config = dict(members)[image_id.split(":")[1] + ".json"]
    archive = spool(tmp_path, members, image_id)

    manifest = archive.manifest
    assert manifest.media_type == DOCKER_MANIFEST and not manifest.is_index
    assert archive.digest == manifest.digest == sha(manifest.raw)
    assert archive.images() == [manifest]
    doc = manifest.json
    assert doc["schemaVersion"] == 2 and doc["mediaType"] == DOCKER_MANIFEST
    assert doc["config"] == {"mediaType": DOCKER_CONFIG, "size": len(config), "digest": image_id}
    assert blob(archive, image_id) == config
    assert len(doc["layers"]) == 2 and doc["layers"][0]["digest"] != doc["layers"][1]["digest"]
    for descriptor, layer in zip(doc["layers"], [LAYER_A, LAYER_B]):
        data = blob(archive, descriptor["digest"])
        assert descriptor["mediaType"] == DOCKER_LAYER_GZIP
        assert descriptor["size"] == len(data) and descriptor["digest"] == sha(data)
        assert data[:2] == b"\x1f\x8b" and gzip.decompress(data) == layer
        assert descriptor["digest"] != sha(layer)  # compressed, not the tar itself
    # What the copy engine walks: the config first, then the layers in order.
    assert [d["digest"] for d in manifest.blobs()] == [image_id] + [d["digest"] for d in doc["layers"]]


def test_the_same_image_spools_to_the_same_manifest(tmp_path, monkeypatch):
    members, image_id = classic_members([LAYER_A, LAYER_B, LAYER_C])
    monkeypatch.setattr(time, "time", lambda: 1000000000.0)
    first = spool(tmp_path / "one", members, image_id, chunk=7777, parallel=1)
    monkeypatch.setattr(time, "time", lambda: 1700000000.0)  # a timestamp in a gzip header would show
    second = spool(tmp_path / "two", members, image_id, chunk=65536, parallel=4)
    assert first.digest == second.digest and first.manifest.raw == second.manifest.raw
    for descriptor in first.manifest.json["layers"]:
        assert blob(first, descriptor["digest"]) == blob(second, descriptor["digest"])


def test_a_layer_listed_twice_is_compressed_once(tmp_path, monkeypatch):
    calls = []
    real_gzip_file = image_archive.gzip_file

    def counting_gzip_file(source, target, *args, **kwargs):
        calls.append(source)
        return real_gzip_file(source, target, *args, **kwargs)
    monkeypatch.setattr(image_archive, "gzip_file", counting_gzip_file)
    members, image_id = classic_members([LAYER_A, LAYER_C])
    names = [name for name, data in members if name.endswith("/layer.tar")]
    # The same member listed again (a RUN that changed nothing repeats the empty layer).
    members, image_id = classic_members([LAYER_A, LAYER_C], layer_names=names + [names[0]],
                                        diff_ids=[sha(LAYER_A), sha(LAYER_C), sha(LAYER_A)])
    archive = spool(tmp_path, members, image_id)
    layers = archive.manifest.json["layers"]
    assert len(layers) == 3 and layers[0] == layers[2] and layers[0] != layers[1]
    assert gzip.decompress(blob(archive, layers[2]["digest"])) == LAYER_A
    assert len(calls) == 2
    assert len([name for name in os.listdir(str(tmp_path)) if name.endswith(".gz")]) == 2


@pytest.mark.parametrize("link", [("->", "../ffff/layer.tar"), ("=>", "ffff/layer.tar")])
def test_a_repeated_layer_saved_as_a_link_is_read(tmp_path, link):
    """Classic ``docker save`` (docker < 25) writes a layer whose diff_id it already saved as
    a symlink ``<v1 id 2>/layer.tar -> ../<v1 id 1>/layer.tar``; the link may come first."""
    config = config_of([sha(LAYER_A), sha(LAYER_C), sha(LAYER_A)])
    image_id = sha(config)
    members = [("0000", None), ("0000/layer.tar", link), ("8888/layer.tar", LAYER_C), ("ffff/layer.tar", LAYER_A),
               ("cfg.json", config),
               ("manifest.json", json.dumps([{"Config": "cfg.json", "RepoTags": None,
                                              "Layers": ["ffff/layer.tar", "8888/layer.tar", "0000/layer.tar"]}]).encode())]
    if link[0] == "=>":  # a hard link names a member stored before it
        members = [members[0], members[3], members[1], members[2]] + members[4:]
    archive = spool(tmp_path, members, image_id)
    layers = archive.manifest.json["layers"]
    assert len(layers) == 3 and layers[0] == layers[2] != layers[1]
    assert gzip.decompress(blob(archive, layers[2]["digest"])) == LAYER_A
    assert len([name for name in os.listdir(str(tmp_path)) if name.endswith(".gz")]) == 2


def test_a_link_to_nothing_is_a_missing_layer(tmp_path):
    config = config_of([sha(LAYER_A)])
    members = [("0000/layer.tar", ("->", "../ffff/layer.tar")), ("cfg.json", config),
               ("manifest.json", json.dumps([{"Config": "cfg.json", "Layers": ["0000/layer.tar"]}]).encode())]
    with pytest.raises(ArchiveError, match=r"has no layer \(0000/layer.tar\)"):
        spool(tmp_path, members, sha(config))


# ------------------------------------------------------------------ the OCI layout (docker 25+)

def test_oci_layout_passes_gzip_layers_through_and_compresses_tar_layers(tmp_path):
    # The engine's own compression: a timestamp, a name and level 1, unlike ours.
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="layer.tar", mode="wb", fileobj=buffer, compresslevel=1, mtime=1234567) as out:
        out.write(LAYER_B)
    gzipped = buffer.getvalue()
    members, image_id = oci_members([LAYER_A, gzipped], [sha(LAYER_A), sha(LAYER_B)])
    archive = spool(tmp_path, members, image_id)
    doc = archive.manifest.json
    assert doc["config"]["digest"] == image_id and blob(archive, image_id) == dict(members)["blobs/sha256/" + image_id[7:]]
    first, second = doc["layers"]
    assert second == {"mediaType": DOCKER_LAYER_GZIP, "size": len(gzipped), "digest": sha(gzipped)}
    assert blob(archive, second["digest"]) == gzipped  # byte for byte
    data = blob(archive, first["digest"])
    assert gzip.decompress(data) == LAYER_A and first["digest"] == sha(data) and first["size"] == len(data)


def test_oci_layout_with_a_layer_listed_twice(tmp_path):
    members, image_id = oci_members([LAYER_C, LAYER_A, LAYER_C], [sha(LAYER_C), sha(LAYER_A), sha(LAYER_C)])
    assert len([name for name, data in members if name.startswith("blobs/sha256/") and data is not None]) == 3
    archive = spool(tmp_path, members, image_id)
    layers = archive.manifest.json["layers"]
    assert layers[0] == layers[2] != layers[1]
    assert gzip.decompress(blob(archive, layers[0]["digest"])) == LAYER_C


# ------------------------------------------------------------------ archives that do not match

def test_a_config_that_is_not_the_image_is_refused(tmp_path):
    members, image_id = classic_members([LAYER_A])
    other = sha(b"another image")
    with pytest.raises(ArchiveError, match="exported config %s for image %s" % (image_id, other)):
        spool(tmp_path, members, other)


@pytest.mark.parametrize("layout", ["classic", "oci"])
def test_a_layer_that_does_not_match_its_diff_id_is_named(tmp_path, layout):
    diff_ids = [sha(LAYER_A), sha(LAYER_B)]  # the second member holds LAYER_C
    if layout == "classic":
        members, image_id = classic_members([LAYER_A, LAYER_C], diff_ids=diff_ids)
    else:
        members, image_id = oci_members([LAYER_A, gzip.compress(LAYER_C)], diff_ids)
    with pytest.raises(ArchiveError, match=r"layer 2 of the engine's archive of %s does not match its diff_id %s"
                       % (image_id, sha(LAYER_B))):
        spool(tmp_path, members, image_id)


def test_a_corrupt_gzip_layer_is_a_mismatch_not_a_traceback(tmp_path):
    gzipped = gzip.compress(LAYER_C)
    corrupt = gzipped[:10] + b"\xff" + gzipped[11:]  # an invalid deflate block type: zlib.error
    members, image_id = oci_members([LAYER_A, corrupt], [sha(LAYER_A), sha(LAYER_C)])
    with pytest.raises(ArchiveError, match="layer 2 of the engine's archive of %s does not match" % image_id):
        spool(tmp_path, members, image_id)


def test_a_repeated_member_is_checked_against_every_diff_id(tmp_path):
    members, dummy = classic_members([LAYER_A, LAYER_C])
    names = [name for name, data in members if name.endswith("/layer.tar")]
    members, image_id = classic_members([LAYER_A, LAYER_C], layer_names=names + [names[0]],
                                        diff_ids=[sha(LAYER_A), sha(LAYER_C), sha(LAYER_B)])
    with pytest.raises(ArchiveError, match="layer 3 .* does not match its diff_id %s" % sha(LAYER_B)):
        spool(tmp_path, members, image_id)


@pytest.mark.parametrize("listed, configured", [(2, 1), (1, 2)])
def test_layer_count_must_match_the_config(tmp_path, listed, configured):
    members, image_id = classic_members([LAYER_A, LAYER_C][:listed],
                                        diff_ids=[sha(LAYER_A), sha(LAYER_C)][:configured])
    with pytest.raises(ArchiveError, match="lists %d layers, its config %d" % (listed, configured)):
        spool(tmp_path, members, image_id)


def test_an_archive_of_two_images_is_refused(tmp_path):
    members, image_id = classic_members([LAYER_A])
    entry = json.loads(dict(members)["manifest.json"])[0]
    members, image_id = classic_members([LAYER_A], entries=[entry, dict(entry, RepoTags=["other:1"])])
    with pytest.raises(ArchiveError, match="should hold one image, it lists 2"):
        spool(tmp_path, members, image_id)


def test_missing_or_unreadable_parts_are_archive_errors(tmp_path):
    members, image_id = classic_members([LAYER_A])
    cases = {
        "no manifest.json": [m for m in members if m[0] != "manifest.json"],
        "unreadable manifest.json": [(n, b"{not json" if n == "manifest.json" else d) for n, d in members],
        "no image config": [m for m in members if not m[0].endswith(".json") or m[0] == "manifest.json"],
        "no layer": [m for m in members if not m[0].endswith("/layer.tar")],
    }
    for index, (words, broken) in enumerate(sorted(cases.items())):
        with pytest.raises(ArchiveError, match=words):
            spool(tmp_path / str(index), broken, image_id)
    for index, bad in enumerate([json.dumps({"os": "linux"}).encode(), json.dumps({"rootfs": {}}).encode(), b"\x00binary"]):
        manifest = json.dumps([{"Config": "cfg.json", "Layers": []}]).encode()
        with pytest.raises(ArchiveError, match="the config of image %s has no rootfs.diff_ids" % sha(bad)):
            spool(tmp_path / ("c%d" % index), [("cfg.json", bad), ("manifest.json", manifest)], sha(bad))


@pytest.mark.parametrize("cut", [700, 513 * 3, 0.5, -12000])
def test_a_truncated_stream_is_an_archive_error(tmp_path, cut):
    members, image_id = classic_members([LAYER_A, LAYER_C])
    data = tar_of(members)
    end = int(len(data) * cut) if isinstance(cut, float) else cut
    with pytest.raises(ArchiveError, match="archive"):
        spool_archive(chunked(data[:end]), str(tmp_path), image_id)


@pytest.mark.parametrize("data", [b"", b"not a tar archive\n" * 100, hashlib.sha256(b"x").digest() * 100])
def test_garbage_is_an_archive_error(tmp_path, data):
    with pytest.raises(ArchiveError, match="could not be read") as info:
        spool_archive(chunked(data), str(tmp_path), sha(b"x"))
    assert isinstance(info.value, IcrError) and "\n" not in str(info.value)


def test_an_error_of_the_engine_stream_is_not_disguised(tmp_path):
    data = tar_of(classic_members([LAYER_A])[0])

    def broken():
        yield data[:5000]
        raise IcrError("Exporting image x from the engine failed: connection reset")
    with pytest.raises(IcrError, match="connection reset"):
        spool_archive(broken(), str(tmp_path), sha(b"x"))


# ------------------------------------------------------------------ pieces

def test_chunk_reader_reads_odd_chunks_back_exactly():
    big = noise(b"big", 100003)
    chunks = [b"", memoryview(b"abc"), b"", bytearray(b"defgh"), b"i" * 1000, b"", memoryview(big)[5:], b"z", b""]
    expected = b"abcdefgh" + b"i" * 1000 + big[5:] + b"z"

    reader = ChunkReader(iter(chunks))
    assert reader.readable() and not reader.writable()
    pieces = []
    for size in [1, 2, 3, 5, 7, 11, 13, 4096, 999, 65537]:
        pieces.append(reader.read(size))
    pieces.append(reader.read())
    assert b"".join(pieces) == expected
    assert reader.read(10) == b"" and reader.read() == b""

    buffered = io.BufferedReader(ChunkReader(chunks), 7)
    out = bytearray()
    while True:
        piece = buffered.read(13)
        if not piece:
            break
        out += piece
    assert bytes(out) == expected

    target = bytearray(10)
    reader = ChunkReader([b"12", b"", b"34567890abc"])
    assert reader.readinto(target) == 2 and target[:2] == b"12"  # one chunk at a time, never past it
    assert reader.readinto(target) == 10 and bytes(target) == b"34567890ab"
    assert reader.readinto(target) == 1 and target[:1] == b"c"
    assert reader.readinto(target) == 0
    assert ChunkReader([]).read() == b""


@pytest.mark.parametrize("size", [0, 1, 200 * 1024, image_archive.CHUNK * 2 + 17])
def test_gzip_file_is_valid_reproducible_gzip(tmp_path, size):
    data = noise(b"gz", size // 2) + b"\x00" * (size - size // 2)
    source = tmp_path / "layer.tar"
    source.write_bytes(data)
    digest, length = gzip_file(str(source), str(tmp_path / "a.gz"))
    out = (tmp_path / "a.gz").read_bytes()
    assert gzip.decompress(out) == data
    assert digest == sha(out) and length == len(out)
    assert out[:3] == b"\x1f\x8b\x08"
    assert out[3] == 0  # no FNAME, FCOMMENT, FEXTRA, FHCRC
    assert out[4:8] == b"\x00\x00\x00\x00"  # mtime 0
    # The same bytes from another file name and modification time.
    other = tmp_path / "elsewhere.tar"
    other.write_bytes(data)
    os.utime(str(other), (1234567, 1234567))
    assert gzip_file(str(other), str(tmp_path / "b.gz")) == (digest, length)
    assert (tmp_path / "b.gz").read_bytes() == out


def test_the_spool_keeps_compressed_layers_only(tmp_path):
    members, image_id = classic_members([LAYER_A, LAYER_B])
    archive = spool(tmp_path, members, image_id)
    files = {name: (tmp_path / name).read_bytes() for name in os.listdir(str(tmp_path))}
    gz = [name for name in files if name.endswith(".gz")]
    assert sorted(sha(files[name]) for name in gz) == sorted(d["digest"] for d in archive.manifest.json["layers"])
    assert sorted(name for name, data in files.items() if len(data) > 4096) == sorted(gz)  # every large file is a layer
    assert not {sha(LAYER_A), sha(LAYER_B)} & {sha(data) for data in files.values()}  # the tars are gone
    assert dict(members)[image_id[7:] + ".json"] in files.values()  # the config stays (it is uploaded)
    assert len(files) == len([m for m in members if m[1] is not None])  # one file per member, nothing else


def test_digest_memo_merges_trims_and_survives_a_bad_file(tmp_path):
    path = str(tmp_path / "cache" / "layer-digests.json")
    first = DigestMemo(path, limit=3)
    assert first.get(sha(b"a")) is None
    first.put(sha(b"a"), sha(b"A"), 10)
    first.save()
    second = DigestMemo(path, limit=3)  # another run, started before the third one saves
    third = DigestMemo(path, limit=3)
    third.put(sha(b"b"), sha(b"B"), 20)
    third.save()
    second.put(sha(b"c"), sha(b"C"), 30)
    second.put(sha(b"d"), sha(b"D"), 40)
    second.save()  # merges with what the third run wrote, keeps the newest three
    merged = DigestMemo(path, limit=3)
    assert merged.get(sha(b"a")) is None and merged.get(sha(b"b")) == (sha(b"B"), 20)
    assert merged.get(sha(b"d")) == (sha(b"D"), 40)
    assert os.stat(path).st_mode & 0o777 == 0o600 and os.listdir(os.path.dirname(path)) == ["layer-digests.json"]
    # Entries of another zlib (or level) are not used.
    with open(path, "w") as handle:
        json.dump({"zlib 0.0 level 6": {sha(b"d"): [sha(b"D"), 40]}}, handle)
    assert DigestMemo(path).get(sha(b"d")) is None
    with open(path, "w") as handle:
        handle.write("{not json")
    assert DigestMemo(path).get(sha(b"d")) is None


def test_a_layer_the_memo_knows_is_not_compressed_until_read(tmp_path):
    members, image_id = classic_members([LAYER_A, LAYER_C])
    memo = DigestMemo(str(tmp_path / "memo.json"))
    first = spool(tmp_path / "one", members, image_id, memo=memo)
    assert memo.get(sha(LAYER_A)) is not None
    again = spool(tmp_path / "two", members, image_id, memo=memo)
    assert again.digest == first.digest
    assert not [name for name in os.listdir(str(tmp_path / "two")) if name.endswith(".gz")]
    for descriptor in again.manifest.json["layers"]:
        data = blob(again, descriptor["digest"])
        assert sha(data) == descriptor["digest"] and len(data) == descriptor["size"]


def test_gzip_stores_what_deflate_cannot_shrink_in_one_member(tmp_path):
    text = b"usr/lib/x86_64-linux-gnu/libc.so.6 " * 60000
    random_part = noise(b"r", 3 * 1024 * 1024 + 17)
    data = random_part + text + noise(b"s", 1000) + text[:999999] + noise(b"t", 70000)
    source = tmp_path / "layer.tar"
    source.write_bytes(data)
    out = b"".join(bytes(chunk) for chunk in image_archive.gzip_chunks(str(source)))
    assert gzip.decompress(out) == data
    inflater = image_archive.zlib.decompressobj(31)  # one gzip member, as every reader expects
    assert inflater.decompress(out) + inflater.flush() == data and inflater.eof and not inflater.unused_data
    assert out == b"".join(bytes(chunk) for chunk in image_archive.gzip_chunks(str(source)))
    # The random megabytes are stored (5 bytes per 64 KiB block), the text deflated (the
    # last 70 000 random bytes too: they share a 1 MiB chunk with text).
    assert len(out) < len(random_part) + 70000 + 2 * len(text) // 100 + 1000
    # Right after the gzip header: a stored block of the first 65535 random bytes, verbatim.
    assert out[10:15] == image_archive.struct.pack("<BHH", 0, 65535, 0) and out[15:15 + 65535] == random_part[:65535]
    assert image_archive.incompressible(random_part) and not image_archive.incompressible(text)
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert gzip.decompress(b"".join(image_archive.gzip_chunks(str(empty)))) == b""
