"""Reliability: a push that is told to stop (SIGTERM), or whose controller goes away (its
stdout loses the reader, as when ansible-playbook is killed), stops before it writes a tag
and leaves no spooled layers behind; a rerun completes it.

The window is made deterministic: the destination's proxy holds the layer uploads, and the
test acts once that fault rule has fired, while the module is in the middle of the push.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile

import pytest

from conftest import endpoints_path
from module_process import MODULES, collection_path, run_module
from test_reliability_errors import assert_clear_failure
from test_reliability_registry_stopped import push_image, served_digest, wait_for_rule

SOURCE, DEST = "us-south", "eu-de"
HOLD_MS = 3000        # each layer upload is held this long: the push lasts seconds
STOP_WITHIN = 15      # seconds the module may take to stop once told


class Done:
    """``done.is_set()`` for wait_for_rule: whether the module process has ended."""

    def __init__(self, process):
        self.process = process

    def is_set(self):
        return self.process.poll() is not None

    def wait(self, seconds):
        try:
            self.process.wait(seconds)
        except subprocess.TimeoutExpired:
            pass


def start_module(name, args, env):
    """The module as Ansible runs it: arguments on stdin, its result on a pipe we may close."""
    child_env = {k: v for k, v in os.environ.items() if not k.startswith(("IC_", "ICR_", "IBMCLOUD_"))}
    child_env.update(env, PYTHONPATH=str(collection_path()))
    with tempfile.TemporaryFile() as stdin:
        stdin.write(json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode())
        stdin.seek(0)
        return subprocess.Popen([sys.executable, "-m", MODULES + name], stdin=stdin,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=child_env)


@pytest.fixture
def held_push(endpoints, control, make_namespace, no_faults, tmp_path):
    """A cr_image pull-and-push into ``DEST`` whose layer uploads the proxy holds, caught in the
    middle of the push: ``(process, dest_ref, args, env)``. The module's temporary folder (where
    the push spools its layers) is ``tmp_path``."""
    src_ns, dest_ns = make_namespace(SOURCE), make_namespace(DEST)
    repo = "halt" + os.urandom(3).hex()
    push_image(endpoints["regions"][SOURCE]["registry"], "%s/%s" % (src_ns, repo), endpoints["api_key"], size_mb=4)
    dest_ref = "de.icr.io/%s/%s:1" % (dest_ns, repo)
    args = {"name": dest_ref, "source": "pull", "source_image": "us.icr.io/%s/%s:1" % (src_ns, repo),
            "_ansible_remote_tmp": str(tmp_path), "_ansible_keep_remote_files": False}
    env = {"IC_API_KEY": endpoints["api_key"], "ICR_ENDPOINTS": endpoints_path()}
    control.set_faults([{"kind": "v2", "region": DEST, "method": "PUT", "path_regex": "/blobs/uploads/",
                         "latency_ms": HOLD_MS}])
    process = start_module("cr_image", args, env)
    try:
        assert wait_for_rule(control, Done(process)), process.communicate()
        assert os.listdir(tmp_path), "the push spools its layers under the module's temporary folder"
        yield process, dest_ref, args, env
    finally:
        process.kill()
        control.clear_faults()


def test_sigterm_mid_push_leaves_no_tag_and_no_spool(endpoints, control, held_push, tmp_path):
    process, dest_ref, args, env = held_push
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=STOP_WITHIN)
    control.clear_faults()

    result = json.loads(out.decode().strip().splitlines()[-1])
    assert_clear_failure(result, "stopped by SIGTERM")
    assert b"Traceback" not in err
    assert served_digest(endpoints, DEST, dest_ref) is None
    assert os.listdir(tmp_path) == []

    again = run_module("cr_image", args, env)
    assert not again.get("failed"), again.get("msg")
    assert served_digest(endpoints, DEST, dest_ref) == again["digest"]


def test_a_push_whose_controller_has_gone_stops_before_the_tag(endpoints, held_push, tmp_path):
    process, dest_ref, _args, _env = held_push
    # The controller dies: nobody reads the module's output any more.
    process.stdout.close()
    process.stderr.close()
    process.wait(timeout=STOP_WITHIN)

    assert served_digest(endpoints, DEST, dest_ref) is None, "the orphaned module wrote its tag"
    assert os.listdir(tmp_path) == []
