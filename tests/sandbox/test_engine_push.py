"""cr_image's two push paths (issue #19): a rebuild on a host that pushed before goes through the
engine's own push (HEADs for the layers it knows, a registry token scoped to the task's
repositories), and falls back to the copy engine when the engine's push fails; a stop signal
in the middle of the engine's push leaves no tag.

Each test module run has its own layer-digest record (``XDG_CACHE_HOME``), so the path taken
depends on what these tests pushed, not on what ran on this host before.
"""

import json
import os
import signal

import pytest

from conftest import endpoints_path
from module_process import run_module
from test_reliability_errors import assert_clear_failure
from test_reliability_push_faults import namespace, sandbox_env  # noqa: F401 (fixtures: a namespace for this module)
from test_reliability_registry_stopped import manifest_bytes, served_digest, wait_for_rule
from test_reliability_stop import STOP_WITHIN, Done, start_module

REGION = "us-south"


class Env(dict):
    def __repr__(self):  # pytest shows it on a failure: leave the API key out
        return "Env(%s)" % ", ".join(sorted(self))


@pytest.fixture(scope="module")
def env(endpoints, tmp_path_factory):
    return Env(IC_API_KEY=endpoints["api_key"], ICR_ENDPOINTS=endpoints_path(), DOCKER_HOST=endpoints["docker_host"],
               XDG_CACHE_HOME=str(tmp_path_factory.mktemp("cache")))


class Build:
    """A build context: the sandbox's base image, 4 MiB of noise, and a stamp that ``rebuild``
    changes (the everyday CI change: one small layer)."""

    def __init__(self, endpoints, folder, noise_mb=4):
        self.folder = folder
        (folder / "noise.bin").write_bytes(os.urandom(noise_mb * 1024 * 1024))
        (folder / "Dockerfile").write_text("FROM %s\nCOPY noise.bin /noise.bin\nCOPY stamp /stamp\n"
                                           % endpoints["base_image"])
        self.rebuild()

    def rebuild(self):
        (self.folder / "stamp").write_text(os.urandom(8).hex())

    def push(self, env, name, **extra):
        return run_module("cr_image", dict({"name": name, "source": "build", "path": str(self.folder)}, **extra),
                          env, timeout=300)


def mutating(control, since):
    return [entry for entry in control.requests(since)["requests"] if entry["kind"] == "v2" and entry["mutating"]]


def assert_serves(endpoints, result):
    item = result["images"][0]
    assert served_digest(endpoints, REGION, item["name"]) == item["digest"] == result["digest"]


@pytest.fixture(scope="module")
def warm(endpoints, env, namespace, tmp_path_factory):
    """A host that pushed the image, then a rebuild of it: the copy engine, then the engine."""
    build = Build(endpoints, tmp_path_factory.mktemp("context"))
    name = "us.icr.io/%s/app:1" % namespace
    first = build.push(env, name)
    assert not first.get("failed"), first.get("msg")
    assert first["images"][0]["pushed_by"] == "copy engine"  # nothing of it pushed from this host before
    build.rebuild()
    second = build.push(env, name)
    assert not second.get("failed"), second.get("msg")
    # Most of its layers pushed before: the engine pushes (and learns the layers the copy engine pushed).
    assert second["images"][0]["pushed_by"] == "engine", second["images"][0]
    return build, name


def test_a_rebuild_is_pushed_by_the_engine_sending_heads_for_what_it_pushed_before(endpoints, control, no_faults,
                                                                                   env, warm):
    build, name = warm
    build.rebuild()
    since = control.last()
    result = build.push(env, name)
    assert not result.get("failed"), result.get("msg")
    item = result["images"][0]
    assert item["pushed_by"] == "engine" and item["engine_error"] is None
    # The base and noise layers: a HEAD each. Uploaded: the stamp layer and the config, then the tag.
    assert item["blobs_skipped"] >= 2 and item["blobs_copied"] == 1
    writes = mutating(control, since)
    assert len([entry for entry in writes if entry["method"] == "POST"]) == 2, writes
    assert writes[-1]["method"] == "PUT" and "/manifests/" in writes[-1]["path"]
    assert_serves(endpoints, result)
    # The config the registry serves is the local image (the module checked it too).
    assert json.loads(manifest_bytes(endpoints, REGION, name))["config"]["digest"] == result["image_id"]


def test_an_engine_push_that_fails_falls_back_to_the_copy_engine(endpoints, control, no_faults, env, warm):
    build, name = warm
    build.rebuild()
    # dockerd gives a push up on one busy answer to its manifest PUT, or to a blob HEAD (it retries
    # only uploads); the copy engine retries every request, a share of its blob requests busy too.
    control.set_faults([{"kind": "v2", "method": "PUT", "path_regex": "/manifests/", "status": 503, "count": 1},
                        {"kind": "v2", "path_regex": "/blobs/", "status": 429, "retry_after": 0,
                         "probability": 0.2}])
    result = build.push(env, name)
    fired = control.faults()[0]["fired"]
    control.clear_faults()
    assert not result.get("failed"), result.get("msg")
    item = result["images"][0]
    assert fired == 1 and item["pushed_by"] == "copy engine" and "through the Docker engine failed" in item["engine_error"], item
    assert_serves(endpoints, result)
    # The next rebuild goes through the engine again.
    build.rebuild()
    again = build.push(env, name)
    assert not again.get("failed") and again["images"][0]["pushed_by"] == "engine", again


def test_sigterm_during_the_engines_push_leaves_no_tag(endpoints, control, no_faults, env, namespace, tmp_path):
    build = Build(endpoints, tmp_path, noise_mb=1)
    name = "us.icr.io/%s/halt:1" % namespace
    assert not build.push(env, name).get("failed")
    build.rebuild()
    (tmp_path / "more.bin").write_bytes(os.urandom(2 * 1024 * 1024))
    (tmp_path / "Dockerfile").write_text((tmp_path / "Dockerfile").read_text() + "COPY more.bin /more.bin\n")
    stopped = name.replace(":1", ":2")
    # The engine's uploads are held: the push is caught while the engine uploads the new layers.
    control.set_faults([{"kind": "v2", "method": "PUT", "path_regex": "/blobs/uploads/", "latency_ms": 3000}])
    process = start_module("cr_image", {"name": stopped, "source": "build", "path": str(tmp_path)}, env)
    try:
        assert wait_for_rule(control, Done(process)), process.communicate()
        process.send_signal(signal.SIGTERM)
        out, _err = process.communicate(timeout=STOP_WITHIN)
    finally:
        process.kill()
    control.clear_faults()
    assert_clear_failure(json.loads(out.decode().strip().splitlines()[-1]), "stopped by SIGTERM")
    Done(process).wait(4)  # longer than the hold: an upload the engine had sent is through by now
    assert served_digest(endpoints, REGION, stopped) is None, "the engine wrote the tag after the stop"
    again = build.push(env, stopped)
    assert not again.get("failed"), again.get("msg")
    assert again["images"][0]["pushed_by"] == "engine"  # the way the stopped push went too
    assert_serves(endpoints, again)
