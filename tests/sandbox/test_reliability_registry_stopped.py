"""Reliability: a copy or push whose destination registry really stops mid-transfer (the
process ended through the sandbox hook, not a fault rule answering in its place) fails with
one clear line naming the registry, leaves no tag on an incomplete image, and completes on a
rerun once the registry is back.

The windows are made deterministic, not timed. Copy: blobs go up in 1 MiB PATCH chunks, each
held LATENCY_MS by the destination's proxy, and the registry stops as soon as its own log
shows a first chunk stored. Push: the proxy holds the manifest PUT (or a layer's upload PUT),
and the registry stops as soon as that rule has fired.
"""

import hashlib
import json
import os
import subprocess
import sys
import threading
from urllib.parse import quote

import pytest
import requests

from conftest import TIMEOUT, endpoints_path, iam_token
from module_process import run_module
from test_reliability_errors import ROOT, assert_clear_failure

SOURCE, DEST = "us-south", "eu-de"
LATENCY_MS = 300          # per destination chunk: the copy lasts seconds, the hook takes ~0.1 s
LOG_POLL_SECONDS = 0.02
IMAGE_MB = 8              # two layers: 8 chunks of 1 MiB to upload


def push_image(registry, repo, api_key, size_mb=IMAGE_MB):
    """Push a synthetic two-layer image over /v2 (bench/make_image.py); its digest."""
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "make_image.py"), "--registry", registry,
                           "--repo", repo, "--tag", "1", "--layers", "2", "--size-mb", str(size_mb),
                           "--seed", repo], env=dict(os.environ, IC_API_KEY=api_key),
                          capture_output=True, text=True, check=True, timeout=120)
    return done.stdout.split()[-1]


@pytest.fixture
def module_env(endpoints):
    return {"IC_API_KEY": endpoints["api_key"], "ICR_ENDPOINTS": endpoints_path()}


def registry_hook(control, region, action=None):
    """The registry-process hook: its state, after ``stop`` or ``start`` when given."""
    path = "/_sandbox/registries/%s" % region + ("/%s" % action if action else "")
    response = requests.request("POST" if action else "GET", control.url + path, timeout=TIMEOUT)
    response.raise_for_status()
    return response.json()


@pytest.fixture
def restart_dest(control):
    """Whatever a test does, the destination registry runs again after it."""
    yield
    registry_hook(control, DEST, "start")


def manifest_bytes(endpoints, region, reference):
    """The manifest the API serves for ``reference``; None when there is none."""
    headers = {"Authorization": "Bearer " + iam_token(endpoints, endpoints["api_key"]),
               "Account": endpoints["account_id"]}
    url = "%s/api/v1/images/%s/manifest" % (endpoints["regions"][region]["api_url"], quote(reference, safe=""))
    response = requests.get(url, headers=headers, timeout=TIMEOUT)
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return response.content


def served_digest(endpoints, region, reference):
    """sha256 of the manifest served for ``reference``; None when there is none."""
    content = manifest_bytes(endpoints, region, reference)
    return None if content is None else "sha256:" + hashlib.sha256(content).hexdigest()


def served_manifest(endpoints, region, reference):
    return json.loads(manifest_bytes(endpoints, region, reference))


def wait_for_request(control, since, region, method, path_part, done):
    """Polls the request log until ``region`` served ``method`` on a path containing
    ``path_part`` (True), or the copy ``done`` first (False)."""
    while not done.is_set():
        for entry in control.requests(since)["requests"]:
            if entry["kind"] == "v2" and entry["region"] == region and entry["method"] == method \
                    and path_part in entry["path"] and entry["status"] < 400:
                return True
        done.wait(LOG_POLL_SECONDS)
    return False


def program_of(pid):
    """The program a PID runs now, or None when no such process exists."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            return os.path.basename(handle.read().split(b"\0")[0].decode())
    except FileNotFoundError:
        return None


def wait_for_rule(control, done):
    """Polls the fault rules until the first one fired (True), or the module ``done`` first (False)."""
    while not done.is_set():
        if control.faults()[0]["fired"]:
            return True
        done.wait(LOG_POLL_SECONDS)
    return False


def run_in_background(name, args, env):
    """Starts ``run_module`` in a thread; returns (thread, outcome dict, done event)."""
    outcome, done = {}, threading.Event()

    def run():
        try:
            outcome["result"] = run_module(name, args, env)
        finally:
            done.set()

    worker = threading.Thread(target=run)
    worker.start()
    return worker, outcome, done


def partial_uploads(endpoints, region, repository):
    """Upload sessions holding bytes in the region's registry storage for ``repository``."""
    uploads = os.path.join(endpoints["state_dir"], "data", region, "docker", "registry", "v2", "repositories",
                           repository, "_uploads")
    return [name for name in (os.listdir(uploads) if os.path.isdir(uploads) else [])
            if os.path.getsize(os.path.join(uploads, name, "data")) > 0]


def test_copy_with_the_destination_registry_stopped_mid_transfer(
        endpoints, control, module_env, make_namespace, no_faults, restart_dest):
    src_ns, dest_ns = make_namespace(SOURCE), make_namespace(DEST)
    repo = "stop" + os.urandom(3).hex()
    digest = push_image(endpoints["regions"][SOURCE]["registry"], "%s/%s" % (src_ns, repo), endpoints["api_key"])
    dest_ref = "de.icr.io/%s/%s:1" % (dest_ns, repo)
    args = {"src": "us.icr.io/%s/%s:1" % (src_ns, repo), "dest": [dest_ref], "chunk_size_mb": 1,
            "parallel": 1, "retries": 1}
    control.set_faults([{"kind": "v2", "region": DEST, "method": "PATCH", "latency_ms": LATENCY_MS}])
    since = control.last()

    worker, outcome, done = run_in_background("cr_image_copy", args, module_env)
    try:
        assert wait_for_request(control, since, DEST, "PATCH", "/blobs/uploads/", done), \
            "the copy ended before any chunk reached the destination: %s" % outcome
        stopped = registry_hook(control, DEST, "stop")
    finally:
        worker.join(TIMEOUT * 2)
    assert stopped["running"] is False
    result = outcome["result"]
    control.clear_faults()

    registry = endpoints["regions"][DEST]["registry"]
    assert_clear_failure(result, registry)
    assert not [e for e in control.requests(since)["requests"]
                if e["region"] == DEST and e["method"] == "PUT" and "/manifests/" in e["path"]]
    assert registry_hook(control, DEST, "start")["running"] is True
    # The registry kept the chunks it stored before it stopped, but no tag points at them.
    assert partial_uploads(endpoints, DEST, "%s/%s" % (dest_ns, repo))
    assert served_digest(endpoints, DEST, dest_ref) is None

    again = run_module("cr_image_copy", args, module_env)
    assert not again.get("failed"), again.get("msg")
    assert again["changed"] is True and again["digest"] == digest
    assert served_digest(endpoints, DEST, dest_ref) == digest


def test_stop_and_start_end_the_recorded_process_and_keep_the_storage(
        endpoints, control, make_namespace, restart_dest):
    namespace, repo = make_namespace(DEST), "keep" + os.urandom(3).hex()
    registry = endpoints["regions"][DEST]["registry"]
    digest = push_image(registry, "%s/%s" % (namespace, repo), endpoints["api_key"], size_mb=1)
    before = registry_hook(control, DEST)
    assert before["running"] is True and program_of(before["pid"]) == "docker-registry"

    assert registry_hook(control, DEST, "stop") == {"region": DEST, "running": False, "pid": None}
    assert program_of(before["pid"]) != "docker-registry"
    with pytest.raises(requests.ConnectionError):
        requests.get("http://%s/v2/" % registry, timeout=TIMEOUT)
    assert registry_hook(control, DEST, "stop")["running"] is False

    started = registry_hook(control, DEST, "start")
    assert started["running"] is True and started["pid"] != before["pid"]
    assert program_of(started["pid"]) == "docker-registry"
    # Same published address, same storage: the image pushed before the stop is served again.
    assert requests.get("http://%s/v2/" % registry, timeout=TIMEOUT).status_code == 401
    assert served_digest(endpoints, DEST, "de.icr.io/%s/%s:1" % (namespace, repo)) == digest
    assert registry_hook(control, DEST, "start")["pid"] == started["pid"], "a second start must not spawn"

    unknown = requests.post(control.url + "/_sandbox/registries/nowhere/stop", timeout=TIMEOUT)
    assert unknown.status_code == 404


@pytest.mark.parametrize("held", [
    # Every blob is in; the registry stops while the proxy holds the manifest PUT.
    pytest.param({"method": "PUT", "path_regex": "/manifests/"}, id="at-the-manifest"),
    # The registry stops while a layer's upload (one streamed PUT) is held.
    pytest.param({"method": "PUT", "path_regex": "/blobs/uploads/"}, id="mid-layer"),
])
def test_push_with_the_registry_stopped(endpoints, control, module_env, make_namespace, no_faults, restart_dest,
                                        held):
    """cr_image pull (through the engine) and push, the destination registry stopped once the
    proxy holds the ``held`` request (its rule has fired): no tag can be written."""
    src_ns, dest_ns = make_namespace(SOURCE), make_namespace(DEST)
    repo = "push" + os.urandom(3).hex()
    push_image(endpoints["regions"][SOURCE]["registry"], "%s/%s" % (src_ns, repo), endpoints["api_key"], size_mb=2)
    dest_ref = "de.icr.io/%s/%s:1" % (dest_ns, repo)
    args = {"name": dest_ref, "source": "pull", "source_image": "us.icr.io/%s/%s:1" % (src_ns, repo), "retries": 1}
    control.set_faults([dict(held, kind="v2", region=DEST, latency_ms=1000)])
    worker, outcome, done = run_in_background("cr_image", args, module_env)
    try:
        assert wait_for_rule(control, done), "the push ended before the held request: %s" % outcome
        assert registry_hook(control, DEST, "stop")["running"] is False
    finally:
        worker.join(TIMEOUT * 2)
    result = outcome["result"]
    control.clear_faults()

    assert_clear_failure(result, endpoints["regions"][DEST]["registry"])
    assert registry_hook(control, DEST, "start")["running"] is True
    assert served_digest(endpoints, DEST, dest_ref) is None

    again = run_module("cr_image", args, module_env)
    assert not again.get("failed"), again.get("msg")
    assert again["changed"] is True and again["pushed"] is True
    # The layers are compressed on the push, so the digest is the push's own: what it reports is
    # what is served, and the served manifest is the engine's image (config digest = image id).
    assert served_digest(endpoints, DEST, dest_ref) == again["digest"]
    assert served_manifest(endpoints, DEST, dest_ref)["config"]["digest"] == again["image_id"]
