#!/usr/bin/env python3
# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""What every task pays before its work: a module's start-up (imports, signing in), measured.

For each module in ``--modules``: the import of the module in a fresh interpreter (what
``python -X importtime`` sums up; which of the heavy libraries it loads), and the wall time of
a task that has nothing to do, run as Ansible runs a module (a child process, arguments on
stdin; no ansible-playbook start-up):

  cr_image           source=local, an image the tag already holds: engine inspect + one manifest GET
  cr_namespace_info  one namespace: the IAM token, then one API call

``--root`` measures another checkout (e.g. an older commit exported with ``git archive``) against
the same sandbox. Median and min of ``--reps`` runs, seconds. It is not a test: it prints figures.

    set -a; . .sandbox/env.sh; set +a; .venv/bin/python bench/startup_bench.py [--reps 7] [--root DIR]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

HEAVY = ("requests", "ibm_cloud_sdk_core", "ibm_container_registry", "docker", "jwt", "cryptography")
NAMESPACE = "benchstart"


def collections_path(root):
    link = root / ".build" / "collections" / "ansible_collections" / "icr" / "registry"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(root, target_is_directory=True)
    return root / ".build" / "collections"


def import_time(root, module):
    code = ("import sys, time; t = time.monotonic(); import ansible_collections.icr.registry.plugins.modules.%s; "
            "print(time.monotonic() - t); print(','.join(n for n in %r if n in sys.modules))" % (module, HEAVY))
    out = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=str(collections_path(root))),
                         capture_output=True, text=True, check=True).stdout.split("\n")
    return float(out[0]), out[1]


def task_time(root, module, args):
    child = {k: v for k, v in os.environ.items() if not k.startswith(("IC_", "ICR_", "IBMCLOUD_"))}
    child.update(SANDBOX_ENV, PYTHONPATH=str(collections_path(root)))
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "ansible_collections.icr.registry.plugins.modules." + module],
                          input=json.dumps({"ANSIBLE_MODULE_ARGS": args}), capture_output=True, text=True, env=child,
                          check=False)
    elapsed = time.monotonic() - started
    result = json.loads([line for line in done.stdout.splitlines() if line.startswith("{")][-1])
    if result.get("failed") or result.get("changed"):
        raise SystemExit("%s did not run as a no-op: %s" % (module, result.get("msg", result)))
    return elapsed


SANDBOX_ENV = {}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args()
    root = args.root.resolve()
    endpoints = os.environ.get("ICR_ENDPOINTS") or str(Path(__file__).resolve().parents[1] / ".sandbox" / "endpoints.json")
    doc = json.loads(Path(endpoints).read_text())
    SANDBOX_ENV.update(IC_API_KEY=doc["api_key"], ICR_ENDPOINTS=endpoints, DOCKER_HOST=doc["docker_host"])
    # Set up the no-op cases: a namespace, and an image the tag holds.
    setup = {"name": NAMESPACE}
    child = dict(os.environ, **SANDBOX_ENV, PYTHONPATH=str(collections_path(root)))
    modules = "ansible_collections.icr.registry.plugins.modules."
    subprocess.run([sys.executable, "-m", modules + "cr_namespace"], input=json.dumps({"ANSIBLE_MODULE_ARGS": setup}),
                   capture_output=True, text=True, env=child, check=True)
    image = "%s/%s" % (doc["regions"]["us-south"]["registry"].split("://")[-1], "icr-sandbox/busybox:latest")
    base = doc.get("base_image") or image
    ref = "us.icr.io/%s/noop-%s:1" % (NAMESPACE, uuid.uuid4().hex[:6])
    pushed = subprocess.run([sys.executable, "-m", modules + "cr_image"], capture_output=True, text=True, env=child,
                            input=json.dumps({"ANSIBLE_MODULE_ARGS": {"name": ref, "source": "local",
                                                                      "source_image": base}}), check=True)
    assert '"failed": true' not in pushed.stdout, pushed.stdout
    tasks = {"cr_image": {"name": ref, "source": "local", "source_image": base},
             "cr_namespace_info": {"name": NAMESPACE}}
    imports = {name: [] for name in tasks}
    loaded = {}
    runs = {name: [] for name in tasks}
    for _rep in range(args.reps):
        for name, task in tasks.items():
            seconds, loaded[name] = import_time(root, name)
            imports[name].append(seconds)
            runs[name].append(task_time(root, name, task))
    print("module start-up, %s, %d reps (seconds: median / min)" % (root, args.reps))
    print("%-18s %15s %15s   %s" % ("module", "import", "no-op task", "heavy libraries loaded by the import"))
    for name in tasks:
        print("%-18s %7.3f / %5.3f %7.3f / %5.3f   %s" % (
            name, statistics.median(imports[name]), min(imports[name]), statistics.median(runs[name]),
            min(runs[name]), loaded[name] or "-"))


if __name__ == "__main__":
    main()
