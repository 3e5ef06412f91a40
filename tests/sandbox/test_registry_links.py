"""Reading registry link files while docker-registry rewrites them (no sandbox needed).

docker-registry's filesystem driver rewrites a link in place: it truncates the file, then
writes the digest. A re-PUT of the same manifest rewrites its revision and tag links, so a
reader in between sees an empty file; the sandbox must not take that for "no digest".
"""

import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "sandbox"))

from icr_sandbox import registry  # noqa: E402 - needs the path above

DIGEST = "sha256:" + "ab" * 32
READS = 300


def _rewrite_until(path, stop):
    """Truncate-then-write, like the registry, with the file left empty for a moment each time."""
    while not stop.is_set():
        with open(path, "w", encoding="utf-8") as handle:   # "w" truncates
            handle.flush()
            time.sleep(0.0005)
            handle.write(DIGEST)
        time.sleep(0.002)


def test_a_link_being_rewritten_still_reads_as_its_digest(tmp_path):
    link = tmp_path / "link"
    link.write_text(DIGEST, encoding="utf-8")
    stop = threading.Event()
    writer = threading.Thread(target=_rewrite_until, args=(link, stop), daemon=True)
    writer.start()
    try:
        misses = sum(1 for _ in range(READS) if registry._read_link(str(link)) != DIGEST)
    finally:
        stop.set()
        writer.join()
    assert misses == 0, f"{misses} of {READS} reads lost the digest while the link was rewritten"


def test_a_missing_link_is_no_digest(tmp_path):
    assert registry._read_link(str(tmp_path / "absent" / "link")) is None


def test_an_empty_link_is_no_digest_after_a_bounded_wait(tmp_path):
    link = tmp_path / "link"
    link.write_text("", encoding="utf-8")
    started = time.monotonic()
    assert not registry._read_link(str(link))
    assert time.monotonic() - started < 1.0
