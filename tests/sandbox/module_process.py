"""Run a collection module's main() in a child process, arguments on stdin, JSON result back.

The child is the real module, exactly as Ansible would execute it, so an uncaught exception
shows up as a traceback on stderr and no JSON (the caller's assertion then fails loudly).
Secrets travel in the stdin JSON, never on the command line.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COLLECTIONS = ROOT / ".build" / "collections"
MODULES = "ansible_collections.icr.registry.plugins.modules."


def collection_path():
    link = COLLECTIONS / "ansible_collections" / "icr" / "registry"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(ROOT, target_is_directory=True)
    return COLLECTIONS


def run_module(name, args, env=None, timeout=120):
    """The module's result dict; ``env`` replaces the ICR/IC variables of this process."""
    child_env = {k: v for k, v in os.environ.items() if not k.startswith(("IC_", "ICR_", "IBMCLOUD_"))}
    child_env.update(env or {})
    child_env["PYTHONPATH"] = str(collection_path())
    payload = json.dumps({"ANSIBLE_MODULE_ARGS": args})
    done = subprocess.run([sys.executable, "-m", MODULES + name], input=payload, text=True,
                          capture_output=True, env=child_env, timeout=timeout, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, "module %s printed no result; stderr:\n%s" % (name, done.stderr)
    return json.loads(lines[-1])
