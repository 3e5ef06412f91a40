#!/usr/bin/env python3
# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Benchmark of pushing an engine's image: cr_image against ``docker push`` (loopback only).

cr_image exports the image from the engine, gzips its layers and uploads them through the
copy engine; ``docker push`` has the engine gzip and upload them. Both push the same local
image of ``--size-mb`` in ``--layers`` incompressible layers (pushed with make_image.py and
pulled into the sandbox's engine), ``--reps`` times each, round-robin, min and median of:

  cold     the image into a fresh repository: dockerd's record of earlier pushes to the
           registry set aside (so it uploads rather than mounts), cr_image with an empty
           layer digest record (``XDG_CACHE_HOME``)
  rebuild  a new image (the same layers plus a small new one, built by the engine) into a
           repository that holds the earlier image: the everyday CI push. cr_image with the
           record its earlier pushes left, docker with its own; ``/fresh``: without them, as
           on a new CI runner (the engine has the image but never pushed to this registry)

cr_image runs as Ansible runs a module (a child process, arguments on stdin; no
ansible-playbook start-up). It is not a test: it prints figures. Secrets go through files
(0600) and the environment, never argv.

    set -a; . /tmp/sbx/env.sh; set +a; .venv/bin/python bench/push_bench.py [--size-mb 300] [--reps 3]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_image  # noqa: E402  (also puts the collection on sys.path)
from copy_bench import docker_auths, forget_pushes, restore_pushes, write_secret  # noqa: E402
from soak import Sandbox, run_module  # noqa: E402

NAMESPACE = "benchpush"
REGION = "us-south"


class PushBench:
    def __init__(self, sandbox, args, workdir):
        self.sandbox, self.args, self.workdir = sandbox, args, workdir
        self.registry = sandbox.doc["regions"][REGION]["registry"]
        self.domain = sandbox.doc["regions"][REGION]["domain"]
        (workdir / "docker").mkdir()
        write_secret(workdir / "docker" / "config.json", docker_auths(sandbox.doc["api_key"], [self.registry]))
        self.docker_env = dict(os.environ, DOCKER_CONFIG=str(workdir / "docker"),
                               DOCKER_HOST=sandbox.doc["docker_host"], DOCKER_BUILDKIT="0")
        self.run_id = uuid.uuid4().hex[:6]
        self.base = None

    def docker(self, *argv):
        return subprocess.run(["docker"] + list(argv), env=self.docker_env, check=True,
                              capture_output=True, text=True).stdout.strip()

    def setup(self):
        result = run_module("cr_namespace", {"name": NAMESPACE, "region": REGION}, self.sandbox.env())
        assert not result.get("failed"), result.get("msg")
        layer_size = int(self.args.size_mb * 1024 * 1024 / self.args.layers)
        seeds = ["push-%s-%d" % (self.run_id, i) for i in range(self.args.layers)]
        client = make_image.client_for(self.registry)
        make_image.push_image(client, "%s/base-%s" % (NAMESPACE, self.run_id), "1", seeds, layer_size)
        self.base = "%s/%s/base-%s:1" % (self.registry, NAMESPACE, self.run_id)
        self.docker("pull", "-q", self.base)

    def build_on_base(self):
        """A new image: the base plus a small layer of its own (as a code change makes)."""
        context = Path(tempfile.mkdtemp(dir=str(self.workdir)))
        (context / "stamp").write_text(uuid.uuid4().hex)  # the base image has no shell to RUN
        (context / "Dockerfile").write_text("FROM %s\nCOPY stamp /stamp\n" % self.base)
        name = "benchpush-app:%s" % uuid.uuid4().hex[:8]
        self.docker("build", "-q", "-t", name, str(context))
        return self.docker("image", "inspect", "--format", "{{.Id}}", name)

    # Each method pushes local image ``image`` to ``repo:tag`` of the sandbox's us-south.
    def cr_image(self, image, repo, tag, cache):
        """``cache``: the folder of cr_image's layer digest record (a fresh one: nothing known)."""
        env = dict(self.sandbox.env(), XDG_CACHE_HOME=str(cache))
        result = run_module("cr_image", {"name": "%s/%s/%s:%s" % (self.domain, NAMESPACE, repo, tag),
                                         "source": "local", "source_image": image}, env)
        if result.get("failed") or not result.get("pushed"):
            raise SystemExit("cr_image failed: %s" % result.get("msg", result))

    def docker_push(self, image, repo, tag, cold):
        """``cold``: dockerd forgets every push to (and pull from) this registry first, and is
        told again after, so that it compresses and uploads rather than skips or mounts."""
        target = "%s/%s/%s:%s" % (self.registry, NAMESPACE, repo, tag)
        self.docker("tag", image, target)
        saved = forget_pushes(self.docker_env, self.registry + "/") if cold else {}
        try:
            self.docker("push", "-q", target)
        finally:
            restore_pushes(saved)

    def fresh_cache(self):
        return Path(tempfile.mkdtemp(prefix="cache-", dir=str(self.workdir)))


def timed(func, *argv):
    started = time.monotonic()
    func(*argv)
    return time.monotonic() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=300.0)
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    sandbox = Sandbox(os.environ.get("ICR_ENDPOINTS") or str(Path(__file__).resolve().parents[1] / ".sandbox" /
                                                             "endpoints.json"))
    with tempfile.TemporaryDirectory(prefix="push-bench-") as tmp:
        bench = PushBench(sandbox, args, Path(tmp))
        bench.setup()
        base_id = bench.docker("image", "inspect", "--format", "{{.Id}}", bench.base)
        cache = bench.fresh_cache()  # cr_image's record on this host, kept across pushes
        methods = {
            "cold": {"cr_image": lambda *a: bench.cr_image(*a, cache=bench.fresh_cache()),
                     "docker": lambda *a: bench.docker_push(*a, cold=True)},
            "rebuild": {"cr_image": lambda *a: bench.cr_image(*a, cache=cache),
                        "cr_image/fresh": lambda *a: bench.cr_image(*a, cache=bench.fresh_cache()),
                        "docker": lambda *a: bench.docker_push(*a, cold=False),
                        "docker/fresh": lambda *a: bench.docker_push(*a, cold=True)}}
        times = {(scenario, name): [] for scenario in methods for name in methods[scenario]}
        # The rebuild repositories hold the base image first, pushed by the same method.
        for name, push in methods["rebuild"].items():
            push(base_id, "rebuild-%s-%s" % (name.replace("/", "-"), bench.run_id), "base")
        for rep in range(args.reps):
            for name, push in methods["cold"].items():
                times[("cold", name)].append(timed(push, base_id, "cold-%s-%s-%d" % (name, bench.run_id, rep), "1"))
            for name, push in methods["rebuild"].items():
                image = bench.build_on_base()
                repo = "rebuild-%s-%s" % (name.replace("/", "-"), bench.run_id)
                times[("rebuild", name)].append(timed(push, image, repo, "r%d" % rep))
            print("rep %d done" % (rep + 1), file=sys.stderr)
    print("push of a %.0f MB image in %d incompressible layers, %d reps (seconds)" % (args.size_mb, args.layers, args.reps))
    print("%-9s %-15s %8s %8s %10s" % ("scenario", "method", "min", "median", "vs docker"))
    for scenario in methods:
        docker_median = statistics.median(times[(scenario, "docker")])
        for name in methods[scenario]:
            values = times[(scenario, name)]
            print("%-9s %-15s %8.2f %8.2f %9.2fx" % (scenario, name, min(values), statistics.median(values),
                                                    docker_median / statistics.median(values)))


if __name__ == "__main__":
    main()
