#!/usr/bin/env python3
# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Soak the modules under injected faults and print a table of what survived.

Against a running sandbox (its env.sh sourced, loopback only). While each run executes,
about 10% of IAM, token, API and /v2 requests are answered 503 or 429 with Retry-After,
and 1% of /v2 blob transfers are reset mid-stream. Each operation then gets checked with
the faults off: the destination serves the digest of the source.

    set -a; . /tmp/sbx-soak/env.sh; set +a
    .venv/bin/python bench/soak.py [--runs 100] [--ops push,tag,copy,namespace] [--budget 1800]

Operations: push (cr_image build + push of a fresh image), tag (cr_image_tag, server side),
copy (cr_image_copy us-south -> eu-de of a fresh 1 MiB image), namespace (cr_namespace
create, then delete). ``--budget`` bounds the wall time: runs stop starting after it.
"""
import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import requests

ROOT = Path(__file__).resolve().parents[1]
COLLECTIONS = ROOT / ".build" / "collections"
MODULES = "ansible_collections.icr.registry.plugins.modules."
OPS = ("push", "tag", "copy", "namespace")


def fault_rules(retry_after):
    """1% blob resets first (checked in order), then ~5% 503 and ~5% 429 of what is left."""
    rules = [{"kind": "v2", "method": "GET", "path_regex": "/blobs/sha256:", "reset_after_bytes": 20000,
              "probability": 0.01}]
    for kind in ("iam", "token", "api", "v2"):
        rules.append({"kind": kind, "status": 503, "retry_after": retry_after, "probability": 0.05})
        rules.append({"kind": kind, "status": 429, "retry_after": retry_after, "probability": 0.0527})
    return rules


class Sandbox:
    def __init__(self, endpoints_path):
        self.path = endpoints_path
        self.doc = json.loads(Path(endpoints_path).read_text())
        self.control = self.doc["control_url"].rstrip("/")
        self._token = None

    def faults(self, rules=None):
        """Set ``rules`` (None clears); returns how many times the previous rules fired."""
        fired = sum(r.get("fired", 0) for r in requests.get(self.control + "/_sandbox/faults", timeout=30).json())
        requests.delete(self.control + "/_sandbox/faults", timeout=30).raise_for_status()
        if rules:
            requests.put(self.control + "/_sandbox/faults", json=rules, timeout=30).raise_for_status()
        return fired

    def manifest(self, region, reference):
        """The bytes the API serves for ``reference``; None when it does not exist."""
        if self._token is None:
            answer = requests.post(self.doc["iam_url"] + "/identity/token", timeout=30, data={
                "grant_type": "urn:ibm:params:oauth:grant-type:apikey", "apikey": self.doc["api_key"]})
            self._token = answer.json()["access_token"]
        url = "%s/api/v1/images/%s/manifest" % (self.doc["regions"][region]["api_url"], quote(reference, safe=""))
        answer = requests.get(url, timeout=30, headers={"Authorization": "Bearer " + self._token,
                                                        "Account": self.doc["account_id"]})
        return None if answer.status_code == 404 else answer.content

    def digest(self, region, reference):
        raw = self.manifest(region, reference)
        return None if raw is None else "sha256:" + hashlib.sha256(raw).hexdigest()

    def namespaces(self, region):
        result = run_module("cr_namespace_info", {"region": region}, self.env())
        return [entry["name"] for entry in result["namespaces"]]

    def env(self):
        return {"IC_API_KEY": self.doc["api_key"], "ICR_ENDPOINTS": self.path, "DOCKER_HOST": self.doc["docker_host"]}


def run_module(name, args, env):
    """Run one module as Ansible would (arguments and key on stdin); its result dict."""
    child = {k: v for k, v in os.environ.items() if not k.startswith(("IC_", "ICR_", "IBMCLOUD_"))}
    child.update(env, PYTHONPATH=str(COLLECTIONS))
    done = subprocess.run([sys.executable, "-m", MODULES + name], input=json.dumps({"ANSIBLE_MODULE_ARGS": args}),
                          text=True, capture_output=True, env=child, timeout=600, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return {"failed": True, "msg": "no result: " + done.stderr.strip().splitlines()[-1:][0]}
    return json.loads(lines[-1])


def push_synthetic(sandbox, repo, tag, seed):
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "make_image.py"), "--registry",
                           sandbox.doc["regions"]["us-south"]["registry"], "--repo", repo, "--tag", tag,
                           "--layers", "2", "--size-mb", "1", "--seed", seed],
                          env=dict(os.environ, IC_API_KEY=sandbox.doc["api_key"]), capture_output=True,
                          text=True, check=True, timeout=300)
    return done.stdout.split()[-1]


class Soak:
    def __init__(self, sandbox, context, prefix):
        self.sandbox = sandbox
        self.context = context
        self.src_ns, self.dest_ns = prefix + "src", prefix + "dst"
        self.prefix = prefix
        self.base_digest = None
        self.paths = {}  # how cr_image pushed: engine, copy engine (after the engine's push failed)

    def setup(self):
        env = self.sandbox.env()
        for region, name in (("us-south", self.src_ns), ("eu-de", self.dest_ns)):
            result = run_module("cr_namespace", {"name": name, "region": region}, env)
            assert not result.get("failed"), result
        self.base_digest = push_synthetic(self.sandbox, self.src_ns + "/base", "1", self.prefix + "base")

    def cleanup(self):
        for region, name in (("us-south", self.src_ns), ("eu-de", self.dest_ns)):
            run_module("cr_namespace", {"name": name, "region": region, "state": "absent"}, self.sandbox.env())

    # Each op: prepare (faults off), act (faults on) and check (faults off) -> (ok, note).
    def push(self, i):
        tag = "p%d" % i
        act = lambda: run_module("cr_image", {  # noqa: E731
            "name": "us.icr.io/%s/built:%s" % (self.src_ns, tag), "source": "build", "path": self.context,
            "build_args": {"RUN_ID": "%s-%d" % (self.prefix, i)}}, self.sandbox.env())
        def check(result):
            raw = self.sandbox.manifest("us-south", "us.icr.io/%s/built:%s" % (self.src_ns, tag))
            served = "sha256:" + hashlib.sha256(raw).hexdigest() if raw else None
            config = json.loads(raw)["config"]["digest"] if raw else None
            return served == result.get("digest") and config == result.get("image_id")
        return None, act, check

    def tag(self, i):
        dest = "us.icr.io/%s/base:t%d" % (self.src_ns, i)
        act = lambda: run_module("cr_image_tag", {  # noqa: E731
            "name": "us.icr.io/%s/base:1" % self.src_ns, "tags": [dest]}, self.sandbox.env())
        return None, act, lambda result: self.sandbox.digest("us-south", dest) == self.base_digest

    def copy(self, i):
        repo = "%s/c%d" % (self.src_ns, i)
        prepare = lambda: push_synthetic(self.sandbox, repo, "1", "%s-c%d" % (self.prefix, i))  # noqa: E731
        dest = "de.icr.io/%s/c%d:1" % (self.dest_ns, i)
        act = lambda: run_module("cr_image_copy", {  # noqa: E731
            "src": "us.icr.io/%s:1" % repo, "dest": [dest]}, self.sandbox.env())
        return prepare, act, lambda result: self.sandbox.digest("eu-de", dest) == result.get("digest") == self.prepared

    def namespace(self, i):
        name = "%sn%d" % (self.prefix, i)
        act = lambda: run_module("cr_namespace", {"name": name}, self.sandbox.env())  # noqa: E731

        def check(result):
            present = name in self.sandbox.namespaces("us-south")
            run_module("cr_namespace", {"name": name, "state": "absent"}, self.sandbox.env())
            return present and result.get("changed") is True
        return None, act, check

    def run(self, op, i, rules):
        prepare, act, check = getattr(self, op)(i)
        self.prepared = prepare() if prepare else None
        self.sandbox.faults(rules)
        started = time.monotonic()
        result = act()
        seconds = time.monotonic() - started
        fired = self.sandbox.faults(None)
        ok = not result.get("failed")
        matched = ok and check(result)
        for item in result.get("images") or []:  # cr_image: which way each push went (issue #19)
            if item.get("pushed_by"):
                way = item["pushed_by"] + (" after the engine's push failed" if item.get("engine_error") else "")
                self.paths[way] = self.paths.get(way, 0) + 1
        return ok, matched, seconds, fired, result.get("msg")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--ops", default=",".join(OPS))
    parser.add_argument("--budget", type=float, default=1800.0, help="seconds; no run starts after it")
    parser.add_argument("--retry-after", type=int, default=1)
    args = parser.parse_args()
    endpoints = os.environ.get("ICR_ENDPOINTS")
    if not endpoints:
        sys.exit("source the sandbox's env.sh first (ICR_ENDPOINTS is not set)")
    ops = [op for op in args.ops.split(",") if op]
    if set(ops) - set(OPS):
        sys.exit("unknown op(s): %s" % ", ".join(sorted(set(ops) - set(OPS))))
    sandbox = Sandbox(endpoints)
    rules = fault_rules(args.retry_after)
    deadline = time.monotonic() + args.budget

    with tempfile.TemporaryDirectory(prefix="soak-") as context:
        Path(context, "Dockerfile").write_text(
            "FROM %s\nARG RUN_ID\nRUN echo $RUN_ID > /run-id\n" % sandbox.doc["base_image"])
        soak = Soak(sandbox, context, "sk%s" % os.urandom(3).hex())
        soak.setup()
        stats = {op: {"ok": 0, "match": 0, "runs": 0, "fired": 0, "seconds": [], "errors": []} for op in ops}
        try:
            for i in range(args.runs):
                if time.monotonic() > deadline:
                    print("budget spent after %d rounds" % i, file=sys.stderr)
                    break
                for op in ops:
                    ok, matched, seconds, fired, msg = soak.run(op, i, rules)
                    row = stats[op]
                    row["runs"] += 1
                    row["ok"] += ok
                    row["match"] += matched
                    row["fired"] += fired
                    row["seconds"].append(seconds)
                    if not matched:
                        row["errors"].append("run %d: %s" % (i, msg or "digest/state check failed"))
                print("round %d done" % (i + 1), file=sys.stderr, flush=True)
        finally:
            sandbox.faults(None)
            soak.cleanup()

    print("%-10s %5s %5s %8s %7s %8s %8s %8s" % ("op", "runs", "ok", "digest=", "faults", "median", "p95", "max"))
    for op in ops:
        row = stats[op]
        times = sorted(row["seconds"]) or [0.0]
        p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
        print("%-10s %5d %5d %8d %7d %7.2fs %7.2fs %7.2fs" % (
            op, row["runs"], row["ok"], row["match"], row["fired"], statistics.median(times), p95, times[-1]))
    if soak.paths:
        print("cr_image pushes by way: " + ", ".join("%s %d" % item for item in sorted(soak.paths.items())))
    failures = [(op, e) for op in ops for e in stats[op]["errors"]]
    for op, error in failures[:20]:
        print("FAILED %s %s" % (op, error))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
