"""The sandbox scanner's pure logic: Debian and Alpine version orderings (examples and
properties), layers and whiteouts, os-release and package databases, advisory files."""

import gzip
import hashlib
import io
import json
import sys
import tarfile
import time
from functools import cmp_to_key
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "sandbox"))

from icr_sandbox import cli, scanner  # noqa: E402
from icr_sandbox.versions import apk_compare, debian_compare  # noqa: E402


def sign(number):
    return (number > 0) - (number < 0)


# ---- Debian -------------------------------------------------------------------------------

@pytest.mark.parametrize("lower, higher", [
    ("1.0", "1.1"), ("1.0~rc1", "1.0"), ("1.0~~", "1.0~"), ("1.0", "1.0a"), ("1.0a", "1.0+"),
    ("1:0.9", "2:0.1"), ("0.9", "1:0.1"), ("2.36-9+deb12u1", "2.36-9+deb12u3"),
    ("3.0.11-1~deb12u1", "3.0.11-1~deb12u2"), ("3.0.11-1~deb12u2", "3.0.11-1"), ("1.2.9", "1.2.10"),
    ("7.88.1-10+deb12u4", "7.88.1-10+deb12u5"), ("2.35-0ubuntu3.3", "2.35-0ubuntu3.4"), ("1.0-1", "1.0-1.1"),
    ("1.0-9", "1.0-10"), ("1.0", "1.0-1"), ("1.0+b", "1.0.1"),
])
def test_debian_examples(lower, higher):
    assert debian_compare(lower, higher) < 0 < debian_compare(higher, lower)


@pytest.mark.parametrize("left, right", [("1.0", "1.0"), ("1.0", "1.0-0"), ("0:1.0", "1.0"), ("1.01", "1.1"),
                                         ("1.0-01", "1.0-1")])
def test_debian_equal(left, right):
    assert debian_compare(left, right) == 0


debian_piece = st.text(alphabet="0123456789abz.+~", min_size=0, max_size=6)
debian_versions = st.builds(
    lambda epoch, digit, upstream, revision: (f"{epoch}:" if epoch is not None else "") + digit + upstream
    + (f"-{revision}" if revision else ""),
    st.one_of(st.none(), st.integers(0, 3)), st.sampled_from("0123456789"), debian_piece,
    st.text(alphabet="0123456789abz.+~", min_size=0, max_size=5))


@given(debian_versions)
def test_debian_tilde_sorts_before_anything_and_epoch_dominates(version):
    epoch, rest = version.split(":", 1) if ":" in version else ("", version)
    upstream, dash, revision = rest.rpartition("-") if "-" in rest else (rest, "", "")
    tilde = (f"{epoch}:" if epoch else "") + upstream + "~" + (f"-{revision}" if dash else "")
    assert debian_compare(tilde, version) < 0
    assert debian_compare(version, f"{int(epoch or 0) + 1}:0") < 0


# ---- Alpine -------------------------------------------------------------------------------

@pytest.mark.parametrize("lower, higher", [
    ("1.0", "1.1"), ("1.2", "1.2.1"), ("1.2_rc1", "1.2"), ("1.2_alpha", "1.2_beta"), ("1.2_beta2", "1.2_pre1"),
    ("1.2_pre1", "1.2_rc1"), ("1.2", "1.2_p1"), ("1.2_p1", "1.2_p2"), ("1.2", "1.2a"), ("1.2a", "1.2b"),
    ("1.2-r0", "1.2-r1"), ("1.2-r9", "1.2-r10"), ("1.2_rc1-r5", "1.2-r0"), ("3.1.3-r0", "3.1.4-r0"),
    ("1.2.9", "1.2.10"), ("1.2_cvs", "1.2_p"), ("1.2_git1", "1.2_hg1"), ("1.2_p1", "1.2a"), ("1.2a", "1.2.1"),
    ("8.4.0-r0", "8.4.0-r1"), ("1.2-r1", "1.2_p1"),
])
def test_apk_examples(lower, higher):
    assert apk_compare(lower, higher) < 0 < apk_compare(higher, lower)


@pytest.mark.parametrize("bad", ["", "a1", "1.2-", "1.2_foo", "1..2", "1.2-rx"])
def test_apk_rejects_what_is_not_a_version(bad):
    with pytest.raises(ValueError):
        apk_compare(bad, "1.0")


apk_versions = st.builds(
    lambda numbers, letter, suffixes, revision: ".".join(map(str, numbers)) + letter
    + "".join(f"_{s}{n if n is not None else ''}" for s, n in suffixes) + (f"-r{revision}" if revision is not None else ""),
    st.lists(st.integers(0, 20), min_size=1, max_size=4), st.sampled_from(["", "a", "b"]),
    st.lists(st.tuples(st.sampled_from(["alpha", "beta", "pre", "rc", "cvs", "git", "p"]),
                       st.one_of(st.none(), st.integers(0, 5))), max_size=2),
    st.one_of(st.none(), st.integers(0, 12)))


ORDERINGS = [(debian_compare, debian_versions), (apk_compare, apk_versions)]


@pytest.mark.parametrize("compare, versions", ORDERINGS, ids=["debian", "apk"])
@settings(max_examples=300)
@given(data=st.data())
def test_orderings_are_antisymmetric(compare, versions, data):
    a, b = data.draw(versions), data.draw(versions)
    assert sign(compare(a, b)) == -sign(compare(b, a))


@pytest.mark.parametrize("compare, versions", ORDERINGS, ids=["debian", "apk"])
@settings(max_examples=200)
@given(data=st.data())
def test_orderings_sort_consistently(compare, versions, data):
    ordered = sorted(data.draw(st.lists(versions, min_size=3, max_size=8)), key=cmp_to_key(compare))
    for i, low in enumerate(ordered):
        for high in ordered[i:]:
            assert compare(low, high) <= 0                  # transitive: a total preorder


@given(st.lists(st.integers(0, 50), min_size=1, max_size=4), st.integers(0, 9),
       st.sampled_from(["alpha", "beta", "pre", "rc"]), st.sampled_from(["cvs", "svn", "git", "hg", "p"]))
def test_apk_pre_releases_before_release_before_post_releases(numbers, revision, pre, post):
    base = ".".join(map(str, numbers))
    assert apk_compare(f"{base}_{pre}1", base) < 0 < apk_compare(f"{base}_{post}1", base)
    assert apk_compare(base, f"{base}-r{revision + 1}") < 0
    assert apk_compare(f"{base}-r{revision}", f"{base}.1") < 0


# ---- layers, files, advisories ------------------------------------------------------------

def layer(files, symlinks=None):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as archive:
        for name, data in files.items():
            member = tarfile.TarInfo(name)
            member.size = len(data)
            archive.addfile(member, io.BytesIO(data))
        for name, target in (symlinks or {}).items():
            member = tarfile.TarInfo(name)
            member.type = tarfile.SYMTYPE
            member.linkname = target
            archive.addfile(member)
    return gzip.compress(raw.getvalue())


DEBIAN = b'ID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n'


def test_later_layers_and_whiteouts_win():
    files = {}
    scanner.apply_layer(files, layer({"usr/lib/os-release": DEBIAN, "var/lib/dpkg/status": b"old"},
                                     {"etc/os-release": "../usr/lib/os-release"}))
    assert scanner.read_os(files)["version_codename"] == "bookworm"
    scanner.apply_layer(files, layer({"./var/lib/dpkg/status": b"new"}))
    assert scanner.read_file(files, "var/lib/dpkg/status") == b"new"
    scanner.apply_layer(files, layer({"var/lib/.wh.dpkg": b""}))
    assert scanner.read_file(files, "var/lib/dpkg/status") is None
    scanner.apply_layer(files, layer({"usr/lib/.wh..wh..opq": b"", "usr/lib/other": b""}))
    assert scanner.read_os(files) is None                      # the link now points nowhere


def test_os_release_and_package_databases():
    assert scanner.read_os({"etc/os-release": b'ID="raspbian"\nID_LIKE=debian\n'})["format"] == "dpkg"
    assert scanner.read_os({"etc/os-release": b"ID=fedora\n"})["format"] is None
    status = (b"Package: a\nStatus: install ok installed\nVersion: 1.0\nSource: src (1.0)\nDescription: x\n y\n\n"
              b"Package: b\nStatus: deinstall ok config-files\nVersion: 2.0\n")
    assert scanner.parse_dpkg_status(status.decode()) == [{"name": "a", "version": "1.0", "source": "src"}]
    assert scanner.parse_apk_installed("P:libssl3\nV:3.1.3-r0\no:openssl\n\nP:x\nV:1\n") == [
        {"name": "libssl3", "version": "3.1.3-r0", "source": "openssl"}, {"name": "x", "version": "1", "source": "x"}]


def test_findings_by_distribution_release_and_version():
    advisories = scanner.load_advisories()
    os_info = {"id": "debian", "id_like": [], "version_id": "12", "version_codename": "bookworm", "format": "dpkg"}
    packages = [{"name": "libc6", "version": "2.36-9+deb12u1", "source": "glibc"},
                {"name": "curl", "version": "7.88.1-10+deb12u4", "source": "curl"}]
    assert [f["cve_id"] for f in scanner.findings(os_info, packages, advisories)] == ["CVE-2023-4911"]
    assert scanner.findings(dict(os_info, version_codename="bullseye", version_id="11"), packages, advisories) == []
    alpine = {"id": "alpine", "id_like": [], "version_id": "3.18.4", "version_codename": "", "format": "apk"}
    found = scanner.findings(alpine, [{"name": "libssl3", "version": "3.1.3-r0", "source": "openssl"}], advisories)
    assert [f["notice_id"] for f in found] == ["ALPINE-CVE-2023-5363"]


@pytest.mark.parametrize("entry, message", [
    ({"cve_id": "CVE-2023-1", "notice_id": "N", "summary": "s", "distribution": "debian", "package": "p",
      "fixed_version": "1.0"}, "entry 0 (CVE-2023-1): 'cve_id' must look like"),
    ({"cve_id": "CVE-2023-12345", "notice_id": "N", "summary": "s", "distribution": "debian",
      "fixed_version": "1.0"}, "entry 0 (CVE-2023-12345): 'package' must be a non-empty string"),
    ({"cve_id": "CVE-2023-12345", "notice_id": "N", "summary": "s", "distribution": "alpine", "package": "p",
      "fixed_version": "1.0-x"}, "'fixed_version': not an apk version"),
    ("nope", "entry 0: expected an object"),
])
def test_malformed_advisories_name_the_entry(tmp_path, entry, message):
    path = tmp_path / "feed.json"
    path.write_text(json.dumps([entry]))
    with pytest.raises(scanner.AdvisoryError) as raised:
        scanner.load_advisories(str(path))
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_up_refuses_a_malformed_feed_in_one_line(tmp_path, capsys):
    feed = tmp_path / "feed.json"
    feed.write_text(json.dumps([{"cve_id": "CVE-2023-12345", "notice_id": "N", "summary": "s",
                                 "distribution": "debian", "package": "p", "fixed_version": ""}]))
    assert cli.main(["up", "--state-dir", str(tmp_path / "state"), "--advisories", str(feed)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "entry 0 (CVE-2023-12345): 'fixed_version'" in error
    assert not (tmp_path / "state" / "config.json").exists()


# ---- the worker -----------------------------------------------------------------------------

class MemoryState:
    def __init__(self):
        self.scans = {}

    def va_scan(self, region_name, digest):
        return self.scans.get((region_name, digest))

    def va_put_scan(self, region_name, digest, scan):
        self.scans[(region_name, digest)] = scan


def store_blob(root, data):
    hexdigest = hashlib.sha256(data).hexdigest()
    path = root / "docker" / "registry" / "v2" / "blobs" / "sha256" / hexdigest[:2] / hexdigest / "data"
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    return "sha256:" + hexdigest


def test_the_scanner_scans_tagged_manifest_pushes_after_its_delay(tmp_path):
    status = b"Package: libc6\nStatus: install ok installed\nVersion: 2.36-9\nSource: glibc\n"
    layer_digest = store_blob(tmp_path, layer({"etc/os-release": DEBIAN, "var/lib/dpkg/status": status}))
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                           "config": {"digest": "sha256:" + "0" * 64, "size": 2},
                           "layers": [{"digest": layer_digest, "size": 1}]}).encode()
    digest = store_blob(tmp_path, manifest)
    region = SimpleNamespace(name="us-south", storage_root=str(tmp_path))
    state = MemoryState()
    worker = scanner.Scanner(None, state, scanner.load_advisories(), delay=0.3)
    media_type = "application/vnd.docker.distribution.manifest.v2+json"
    worker.on_events(region, [
        {"action": "push", "target": {"mediaType": media_type, "digest": digest, "repository": "ns/untagged"}},
        {"action": "push", "target": {"mediaType": "application/octet-stream", "digest": layer_digest, "repository": "ns/a",
                                      "tag": "x"}},
        {"action": "pull", "target": {"mediaType": media_type, "digest": digest, "repository": "ns/a", "tag": "1"}}])
    worker.on_events(region, [{"action": "push", "target": {"mediaType": media_type, "digest": digest,
                                                            "repository": "ns/a", "tag": "1"}}])
    pushed = time.monotonic()
    while state.va_scan("us-south", digest) is None and time.monotonic() - pushed < 5:
        time.sleep(0.02)
    assert time.monotonic() - pushed >= 0.25                       # not before the delay
    scan = state.va_scan("us-south", digest)
    assert scan["supported"] and scan["complete"] and [f["cve_id"] for f in scan["findings"]] == ["CVE-2023-4911"]
    assert list(state.scans) == [("us-south", digest)]             # nothing else was scanned
