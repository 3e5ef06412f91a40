#!/usr/bin/env python3
# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Benchmark of namespace syncs between two sandbox regions (loopback only): cr_image_sync
against ``skopeo sync``, in one run.

Prepares a source namespace in ``--src-region`` with ``--repos`` repositories of ``--tags``
tags each: small images whose layers are mostly shared (a common base), one repository whose
first tag is a ~``--big-mb`` MB image, and ``--signed`` images with a cosign-style signature tag
and an OCI referrer under the referrers tag schema's index tag. Then, for each method, into a
fresh destination namespace of ``--dest-region``:

  cold         the first sync (everything is copied)
  warm         the same again (nothing new)
  incremental  after one new tag was pushed to the source

Methods: ``module`` is cr_image_sync run as Ansible runs it on a host (the module file with an
arguments file, in its own process: Python start-up included, the controller's not); its peak
RSS comes from wait4. ``playbook`` (``--playbook``) is the module through ansible-playbook.
``skopeo`` is ``skopeo sync`` of every repository (``images-by-tag-regex: .*``, which takes the
signature tags along as plain tags), as user nobody with a fresh blob-info cache per run. Both
copy the same tags. Every scenario's ``/v2`` requests and writes are read from the sandbox request
log. It prints figures; it is not a test.

    source .sandbox/env.sh && .venv/bin/python bench/sync_bench.py [--reps 1] [--playbook]
"""
import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_image  # noqa: E402  (also puts the collection on sys.path)
from copy_bench import Sandbox, add_sandbox_arguments, docker_auths, write_secret  # noqa: E402

from ansible_collections.icr.registry.plugins.module_utils import oci_registry as oci  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = ROOT / ".venv" / "bin"
MODULE = "ansible_collections.icr.registry.plugins.modules.cr_image_sync"
SCENARIOS = ("cold", "warm", "incremental")


def prepare(sbx, args, namespace):
    """Push the source namespace; returns (repositories, tags per repository, bytes of all blobs)."""
    client = sbx.client(sbx.src, 4)
    small = int(args.small_kb * 1024 / 3)
    big = int(args.big_mb * 1024 * 1024 / 4)
    repos = ["%s/app%02d" % (namespace, index) for index in range(args.repos)]
    total = {}
    signed = 0
    for index, repo in enumerate(repos):
        for number in range(args.tags):
            tag = "1.%d.0" % number
            if index == 0 and number == 0:
                seeds = ["big-%d" % layer for layer in range(4)]
                manifest = make_image.push_image(client, repo, tag, seeds, big)
            else:
                seeds = ["base-0", "base-1", "%s-%s" % (repo, tag)]
                manifest = make_image.push_image(client, repo, tag, seeds, small)
            for blob in manifest.blobs():
                total[blob["digest"]] = blob["size"]
            if signed < args.signed and number == args.tags - 1:
                make_image.push_signatures(client, repo, manifest)
                signed += 1
    return repos, sum(total.values())


def push_new_tag(sbx, repo, tag, small_kb):
    client = sbx.client(sbx.src, 4)
    make_image.push_image(client, repo, tag, ["base-0", "base-1", "%s-%s" % (repo, tag)], int(small_kb * 1024 / 3))


class Methods:
    def __init__(self, sbx, args, workdir, src_ns, repos):
        self.sbx, self.args, self.workdir = sbx, args, workdir
        self.src_ns, self.repos = src_ns, repos
        self.authfile = workdir / "auth.json"
        write_secret(self.authfile, docker_auths(sbx.api_key, (sbx.src, sbx.dest)))
        self.env = dict(os.environ, PYTHONPATH=str(ROOT / ".build" / "collections"),
                        ICR_ENDPOINTS=sbx.path, IC_API_KEY=sbx.api_key or "none")

    def _module_args(self, dest_ns):
        return {"src": "%s/%s" % (self.sbx.src_domain, self.src_ns),
                "dest": ["%s/%s" % (self.sbx.dest_domain, dest_ns)],
                "create_namespace": True, "parallel": self.args.parallel}

    def module(self, dest_ns):
        """The module in its own process; returns (result, peak RSS in MB)."""
        path = self.workdir / ("args-%s.json" % uuid.uuid4().hex[:8])
        write_secret(path, json.dumps({"ANSIBLE_MODULE_ARGS": self._module_args(dest_ns)}))
        child = subprocess.Popen([str(VENV_BIN / "python"), "-m", MODULE, str(path)], env=self.env,
                                 stdout=subprocess.PIPE, cwd=str(self.workdir))
        out = child.stdout.read()
        _, status, usage = os.wait4(child.pid, 0)
        result = json.loads(out.decode() or "{}")
        if status or result.get("failed"):
            raise SystemExit("module failed: %s" % result.get("msg"))
        return result, usage.ru_maxrss / 1024.0

    def playbook(self, dest_ns):
        play = self.workdir / "play.yml"
        play.write_text("- hosts: localhost\n  gather_facts: false\n  tasks:\n"
                        "    - icr.registry.cr_image_sync: %s\n" % json.dumps(self._module_args(dest_ns)))
        env = dict(self.env, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".build" / "collections"))
        env.pop("PYTHONPATH")
        subprocess.run([str(VENV_BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                        "-e", "ansible_python_interpreter=%s" % (VENV_BIN / "python"), str(play)],
                       check=True, env=env, stdout=subprocess.DEVNULL)
        return None, None

    def skopeo(self, dest_ns):
        # A fresh HOME (blob-info cache) per run, as nobody: root's shared cache would let
        # skopeo mount blobs it saw in an earlier run's repository.
        home = Path(tempfile.mkdtemp(prefix="skopeo-", dir=str(self.workdir)))
        shutil.copy(str(self.authfile), str(home / "auth.json"))
        spec = {self.sbx.src: {"tls-verify": False,
                               "images-by-tag-regex": {repo: ".*" for repo in self.repos}}}
        (home / "sync.yml").write_text(json.dumps(spec))
        for path in (home, home / "auth.json", home / "sync.yml"):
            os.chown(str(path), 65534, 65534)
        cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
               "env", "-i", "PATH=/usr/bin:/bin", "HOME=%s" % home, "XDG_RUNTIME_DIR=%s" % home,
               "skopeo", "sync", "--authfile", str(home / "auth.json"), "--src", "yaml", "--dest", "docker",
               "--dest-tls-verify=false", str(home / "sync.yml"), "%s/%s" % (self.sbx.dest, dest_ns)]
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
        if done.returncode:
            raise SystemExit("skopeo sync failed: %s" % done.stderr.strip()[-2000:])
        after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        return None, (after / 1024.0 if after > before else None)


def counted(sbx, func, *argv):
    """Run ``func``; (seconds, its return value, {v2, writes, api} requests from the log)."""
    mark = sbx.request_mark()
    started = time.monotonic()
    value = func(*argv)
    seconds = time.monotonic() - started
    log = [r for r in sbx.control("GET", "/_sandbox/requests?since=%d" % mark)["requests"]]
    v2 = [r for r in log if r["kind"] == "v2"]
    counts = {"v2": len(v2), "writes": sum(1 for r in log if r.get("mutating")),
              "api": sum(1 for r in log if r["kind"] == "api"),
              "tags_list": sum(1 for r in v2 if r["path"].endswith("/tags/list")),
              "manifests": sum(1 for r in v2 if "/manifests/" in r["path"])}
    return seconds, value, counts


def main():
    parser = argparse.ArgumentParser(description="namespace sync benchmark (loopback sandbox)")
    add_sandbox_arguments(parser)
    parser.add_argument("--repos", type=int, default=20)
    parser.add_argument("--tags", type=int, default=5)
    parser.add_argument("--small-kb", type=float, default=600.0, help="size of each small image")
    parser.add_argument("--big-mb", type=float, default=100.0, help="size of the one big image")
    parser.add_argument("--signed", type=int, default=4, help="images with a signature and a referrer")
    parser.add_argument("--parallel", type=int, default=4, help="images in flight (cr_image_sync)")
    parser.add_argument("--reps", type=int, default=1)
    parser.add_argument("--playbook", action="store_true", help="also run the module through ansible-playbook")
    args = parser.parse_args()
    if not args.endpoints:
        raise SystemExit("no endpoints file: source the sandbox's env.sh or pass --endpoints")
    if args.repos * args.tags > 500 or args.big_mb > 1024 or args.reps > 5:
        raise SystemExit("bounded bench: at most 500 images, --big-mb 1024, --reps 5")
    sbx = Sandbox(args.endpoints, args.src_region, args.dest_region)
    sbx.require_loopback()
    if os.geteuid() != 0:
        raise SystemExit("run as root: skopeo runs as nobody (fresh blob-info cache)")
    methods = ["module", "skopeo"] + (["playbook"] if args.playbook else [])
    run_id = uuid.uuid4().hex[:6]
    src_ns = "bsync-%s" % run_id
    with tempfile.TemporaryDirectory(prefix="sync-bench-") as tmp:
        workdir = Path(tmp)
        os.chmod(tmp, 0o711)  # skopeo runs as nobody inside a subfolder
        api_session = _api(sbx)
        api_session(args.src_region).create_namespace(src_ns)
        print("preparing %s: %d repositories x %d tags (one %.0f MB image), %d signed"
              % (src_ns, args.repos, args.tags, args.big_mb, args.signed), flush=True)
        repos, total_bytes = prepare(sbx, args, src_ns)
        runner = Methods(sbx, args, workdir, src_ns, repos)
        results = {m: {s: [] for s in SCENARIOS} for m in methods}
        counts = {m: {} for m in methods}
        rss = {m: [] for m in methods}
        new_tags = 0
        for rep in range(args.reps):
            dests = {m: "bs%s-%s%d" % (m[:3], run_id, rep) for m in methods}
            for method in methods:
                api_session(args.dest_region).create_namespace(dests[method])
            for scenario in SCENARIOS:
                if scenario == "incremental":
                    new_tags += 1
                    push_new_tag(sbx, repos[1], "2.%d.0" % new_tags, args.small_kb)
                for method in methods:  # round-robin: load changes weigh on every method alike
                    print("rep %d: %s %s" % (rep + 1, scenario, method), flush=True)
                    seconds, value, logged = counted(sbx, getattr(runner, method), dests[method])
                    results[method][scenario].append(seconds)
                    counts[method][scenario] = logged
                    if value[1]:
                        rss[method].append(value[1])
                    if method == "module" and value[0]:
                        logged["result"] = value[0]["counts"]
        report(args, total_bytes, results, counts, rss)


def _api(sbx):
    from ansible_collections.icr.registry.plugins.module_utils.iam import IamSession
    from ansible_collections.icr.registry.plugins.module_utils.icr_api import IcrApi
    session = IamSession(sbx.api_key, sbx.endpoints.iam_url, account_id=sbx.endpoints.data.get("account_id"))
    return lambda region: IcrApi(session, sbx.endpoints.api_url(region))


def report(args, total_bytes, results, counts, rss):
    print("\n%d repositories x %d tags (+%d signed: a .sig tag and a referrer index each), %.0f MB of blobs; "
          "parallel=%d, reps=%d" % (args.repos, args.tags, args.signed, total_bytes / 1e6, args.parallel, args.reps))
    print("%-9s %-12s %9s %6s %7s %7s %5s %5s" % ("method", "sync", "median s", "v2", "writes", "tagsls",
                                                  "mfst", "api"))
    for method, scenarios in results.items():
        for scenario, times in scenarios.items():
            logged = counts[method].get(scenario, {})
            print("%-9s %-12s %9.2f %6d %7d %7d %5d %5d" % (
                method, scenario, statistics.median(times), logged.get("v2", 0), logged.get("writes", 0),
                logged.get("tags_list", 0), logged.get("manifests", 0), logged.get("api", 0)))
    print()
    for scenario in SCENARIOS:
        module = statistics.median(results["module"][scenario])
        skopeo = statistics.median(results["skopeo"][scenario])
        print("%-12s cr_image_sync %.2f s, skopeo sync %.2f s: %.1fx" % (scenario, module, skopeo, skopeo / module))
    for scenario in SCENARIOS:
        if "result" in counts["module"].get(scenario, {}):
            print("module %-12s %s" % (scenario, counts["module"][scenario]["result"]))
    for method, values in rss.items():
        if values:
            print("%s peak RSS: %.0f MB" % (method, max(values)))


if __name__ == "__main__":
    main()
