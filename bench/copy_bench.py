#!/usr/bin/env python3
# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Benchmark of registry-to-registry copies between two sandbox regions (loopback only).

Pushes a synthetic image A (``--size-mb`` in ``--layers`` incompressible layers) and an
image B sharing all of A's layers but the last, then measures, ``--reps`` times each,
min and median wall time of:

  engine   cr_image_copy's engine called in-process (copy_engine + oci_registry)
  module   the module through ansible-playbook (wall time, Ansible start-up included)
  skopeo   skopeo copy (as user nobody with a fresh blob-info cache per run, so that its
           cache cannot turn a cold copy into a mount)
  docker   docker pull + tag + push through the sandbox's engine (image removed first)
  curl     parallel curl GET | curl PUT per blob, manifest PUT after (cold only)
  raw      the same blobs read over loopback to /dev/null in parallel (cold only)

for a cold copy (fresh repository), a warm copy (same again) and the shared copy (B into
the repository that holds A). ``--latency-ms`` sets the sandbox's per-request latency
knob for the run; ``--memory`` measures the engine's peak RSS in a child process.

    source /tmp/sbx/env.sh && .venv/bin/python bench/copy_bench.py [--size-mb 1024] [--memory]

It is not a test: it prints figures. Secrets go through files (0600), never argv.
"""
import argparse
import base64
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_image  # noqa: E402  (also puts the collection on sys.path)

from ansible_collections.icr.registry.plugins.module_utils import copy_engine as ce  # noqa: E402
from ansible_collections.icr.registry.plugins.module_utils import oci_registry as oci  # noqa: E402
from ansible_collections.icr.registry.plugins.module_utils.endpoints import Endpoints  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = ROOT / ".venv" / "bin"
SRC_NS, DEST_NS = "benchsrc", "benchdst"
METHODS = ("engine", "module", "skopeo", "docker", "curl", "raw")


class Sandbox:
    """What the bench needs from the endpoints file: hosts, credentials, hooks."""

    def __init__(self, path, src_region, dest_region):
        self.endpoints = Endpoints.load(path)
        self.path = path
        data = self.endpoints.data
        self.api_key = os.environ.get("IC_API_KEY") or data.get("api_key")
        self.control_url = data.get("control_url")
        self.docker_host = data.get("docker_host") or os.environ.get("DOCKER_HOST")
        self.src_region, self.dest_region = src_region, dest_region
        self.src = self.endpoints.registry_host(src_region)
        self.dest = self.endpoints.registry_host(dest_region)
        self.src_domain = self.endpoints._entry(src_region).get("domain")
        self.dest_domain = self.endpoints._entry(dest_region).get("domain")

    def require_loopback(self):
        """Benches send traffic to loopback registries only."""
        for host in (self.src, self.dest):
            if not oci.RegistryClient(host).base_url.split("://")[1].startswith(("127.", "localhost")):
                raise SystemExit("refusing to run against %s: loopback registries only" % host)

    def client(self, host, parallel):
        return oci.RegistryClient(host, username="iamapikey", password=self.api_key,
                                  pool_size=parallel + 2)

    def ensure_namespaces(self):
        probe = oci.RegistryClient(self.src)
        if probe._ping()[0] == "none":
            return  # plain registries without auth: no namespaces to create
        from ansible_collections.icr.registry.plugins.module_utils.iam import IamSession
        from ansible_collections.icr.registry.plugins.module_utils.icr_api import IcrApi
        session = IamSession(self.api_key, self.endpoints.iam_url, account_id=self.endpoints.data.get("account_id"))
        for region, ns in ((self.src_region, SRC_NS), (self.dest_region, DEST_NS)):
            api = IcrApi(session, self.endpoints.api_url(region))
            if ns not in api.list_namespaces():
                api.create_namespace(ns)

    def control(self, method, path, body=None):
        import requests
        response = requests.request(method, self.control_url + path, json=body, timeout=30)
        response.raise_for_status()
        return response.json() if response.content else None

    def request_mark(self):
        if not self.control_url:
            return None
        return self.control("GET", "/_sandbox/requests?since=0").get("last", 0)

    def requests_since(self, mark):
        if mark is None:
            return None
        return [r for r in self.control("GET", "/_sandbox/requests?since=%d" % mark)["requests"]
                if r.get("kind") == "v2"]


def forget_pushes(docker_env, prefix):
    """Make dockerd forget which repositories named ``prefix...`` (``host/`` for a whole
    registry) got its layers.

    dockerd records, per layer, every repository it pushed the layer to, and mounts it
    from there on the next push to that registry: without this, every docker
    repetition after the first would be a mount, not a cold copy. The record is the
    sandbox engine's own metadata store (JSON files under its data root).
    """
    info = subprocess.run(["docker", "info", "--format", "{{.DockerRootDir}} {{.Driver}}"], env=docker_env,
                          check=True, capture_output=True, text=True).stdout.split()
    store = Path(info[0]) / "image" / info[1] / "distribution" / "v2metadata-by-diffid" / "sha256"
    saved = {}
    for path in store.glob("*"):
        text = path.read_text()
        records = json.loads(text)
        kept = [r for r in records if not r.get("SourceRepository", "").startswith(prefix)]
        if kept != records:
            saved[path] = text
            path.write_text(json.dumps(kept))
    return saved  # what restore_pushes puts back


def restore_pushes(saved):
    """Put back the records ``forget_pushes`` removed (and drop what was learnt since)."""
    for path, text in saved.items():
        path.write_text(text)


def write_secret(path, text):
    """Write a file only its owner can read (credentials never go on argv)."""
    fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def docker_auths(api_key, hosts):
    """A Docker/skopeo auth file's content for ``iamapikey`` and ``api_key`` on ``hosts``."""
    if not api_key:
        return json.dumps({"auths": {}})
    auth = base64.b64encode(("iamapikey:%s" % api_key).encode()).decode()
    return json.dumps({"auths": {host: {"auth": auth} for host in hosts}})


# ----------------------------------------------------------------------------- methods
class Runner:
    def __init__(self, sbx, args, workdir):
        self.sbx, self.args, self.workdir = sbx, args, workdir
        self.authfile = workdir / "auth.json"
        auths = docker_auths(sbx.api_key, (sbx.src, sbx.dest))
        write_secret(self.authfile, auths)
        (workdir / "docker").mkdir()
        write_secret(workdir / "docker" / "config.json", auths)

    def src_ref(self, tag):
        return "%s/%s/%s:%s" % (self.sbx.src, SRC_NS, self.args.repo, tag)

    def dest_ref(self, repo, tag):
        return "%s/%s/%s:%s" % (self.sbx.dest, DEST_NS, repo, tag)

    # Each method: fn(tag, dest_repo) copies image <tag> of the source into dest_repo:<tag>.
    def engine(self, tag, repo):
        parallel = self.args.parallel
        src, dest = self.sbx.client(self.sbx.src, parallel), self.sbx.client(self.sbx.dest, parallel)
        engine = ce.CopyEngine(parallel=parallel, chunk_size=self.args.chunk_mb * 1024 * 1024 or None)
        image = engine.resolve(src, "%s/%s" % (SRC_NS, self.args.repo), tag)
        engine.copy(image, dest, "%s/%s" % (DEST_NS, repo), tag)

    def module(self, tag, repo):
        src = "%s/%s/%s:%s" % (self.sbx.src_domain or self.sbx.src, SRC_NS, self.args.repo, tag)
        dest = "%s/%s/%s:%s" % (self.sbx.dest_domain or self.sbx.dest, DEST_NS, repo, tag)
        play = self.workdir / "play.yml"
        play.write_text(
            "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
            "    - icr.registry.cr_image_copy:\n        src: %s\n        dest: [%s]\n"
            "        parallel: %d\n        chunk_size_mb: %d\n" % (src, dest, self.args.parallel, self.args.chunk_mb))
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".build" / "collections"),
                   ICR_ENDPOINTS=self.sbx.path, IC_API_KEY=self.sbx.api_key or "none")
        subprocess.run([str(VENV_BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                        "-e", "ansible_python_interpreter=%s" % (VENV_BIN / "python"), str(play)],
                       check=True, env=env, stdout=subprocess.DEVNULL)

    def skopeo(self, tag, repo):
        # A fresh HOME (blob-info cache) per run, as nobody: root's shared cache would let
        # skopeo mount blobs it saw in an earlier run's repository.
        home = Path(tempfile.mkdtemp(prefix="skopeo-", dir=str(self.workdir)))
        shutil.copy(str(self.authfile), str(home / "auth.json"))
        for path in (home, home / "auth.json"):
            os.chown(str(path), 65534, 65534)
        cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
               "env", "-i", "PATH=/usr/bin:/bin", "HOME=%s" % home, "XDG_RUNTIME_DIR=%s" % home,
               "skopeo", "copy", "-q", "--authfile", str(home / "auth.json"),
               "--src-tls-verify=false", "--dest-tls-verify=false",
               "docker://" + self.src_ref(tag), "docker://" + self.dest_ref(repo, tag)]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)

    def _docker_env(self):
        return dict(os.environ, DOCKER_CONFIG=str(self.workdir / "docker"), DOCKER_HOST=self.sbx.docker_host)

    def _docker(self, *argv, check=True):
        return subprocess.run(["docker"] + list(argv), env=self._docker_env(), check=check,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL if not check else None)

    def docker_clean(self, tag, repo):
        self._docker("rmi", "-f", self.src_ref(tag), self.dest_ref(repo, tag), check=False)

    def docker_forget_pushes(self):
        forget_pushes(self._docker_env(), self.sbx.dest + "/")

    def docker(self, tag, repo):
        self._docker("pull", "-q", self.src_ref(tag))
        self._docker("tag", self.src_ref(tag), self.dest_ref(repo, tag))
        self._docker("push", "-q", self.dest_ref(repo, tag))

    def _header_file(self, client, scopes):
        path = self.workdir / ("h-%s" % uuid.uuid4().hex)
        auth = client._auth_header(scopes)
        write_secret(path, "Authorization: %s\n" % auth if auth else "Accept: */*\n")
        return path

    def curl(self, tag, repo):
        src, dest = self.sbx.client(self.sbx.src, 8), self.sbx.client(self.sbx.dest, 8)
        src_repo, dest_repo = "%s/%s" % (SRC_NS, self.args.repo), "%s/%s" % (DEST_NS, repo)
        manifest = src.get_manifest(src_repo, tag)
        get_h = self._header_file(src, [oci.repository_scope(src_repo, ["pull"])])
        put_h = self._header_file(dest, [oci.repository_scope(dest_repo, ["pull", "push"])])

        def pipe(blob):
            _, url = dest.start_upload(dest_repo)
            sep = "&" if "?" in url else "?"
            get = subprocess.Popen(["curl", "-sfL", "-H", "@%s" % get_h, "%s/v2/%s/blobs/%s"
                                    % (src.base_url, src_repo, blob["digest"])], stdout=subprocess.PIPE)
            put = subprocess.run(["curl", "-sf", "-X", "PUT", "-T", "-", "-H", "@%s" % put_h,
                                  "-H", "Content-Type: application/octet-stream",
                                  "%s%sdigest=%s" % (url, sep, blob["digest"])],
                                 stdin=get.stdout, stdout=subprocess.DEVNULL)
            get.stdout.close()
            if get.wait() or put.returncode:
                raise RuntimeError("curl pipe failed for %s" % blob["digest"])

        with ThreadPoolExecutor(self.args.parallel) as pool:
            list(pool.map(pipe, manifest.blobs()))
        dest.put_manifest(dest_repo, tag, manifest)

    def raw(self, tag, repo):
        src = self.sbx.client(self.sbx.src, 8)
        src_repo = "%s/%s" % (SRC_NS, self.args.repo)
        manifest = src.get_manifest(src_repo, tag)
        header = self._header_file(src, [oci.repository_scope(src_repo, ["pull"])])

        def read(blob):
            subprocess.run(["curl", "-sfL", "-o", "/dev/null", "-H", "@%s" % header,
                            "%s/v2/%s/blobs/%s" % (src.base_url, src_repo, blob["digest"])], check=True)

        with ThreadPoolExecutor(self.args.parallel) as pool:
            list(pool.map(read, manifest.blobs()))


# ----------------------------------------------------------------------------- driver
def timed(func, *argv):
    started = time.monotonic()
    func(*argv)
    return time.monotonic() - started


def measure_once(runner, sbx, method, times, warm_counts):
    """One repetition of ``method``: cold, then (not for curl/raw) warm and shared copies.

    Appends to ``times`` ({scenario: [seconds…]}); ``warm_counts`` gets the request counts
    of the warm copy, read from the sandbox request log.
    """
    fn = getattr(runner, method)
    repo = "%s-%s-%d" % (method, uuid.uuid4().hex[:6], len(times["cold"]))
    if method == "docker":
        runner.docker_clean("a", repo)
        runner.docker_forget_pushes()
    times["cold"].append(timed(fn, "a", repo))
    if method in ("curl", "raw"):
        return
    mark = sbx.request_mark()
    times["warm"].append(timed(fn, "a", repo))
    logged = sbx.requests_since(mark)
    if logged is not None:
        warm_counts[method] = {
            "manifest_src": sum(1 for r in logged if r["region"] == sbx.src_region and "/manifests/" in r["path"]),
            "manifest_dest": sum(1 for r in logged if r["region"] == sbx.dest_region and "/manifests/" in r["path"]),
            "writes": sum(1 for r in logged if r.get("mutating")),
            "total": len(logged)}
    if method == "docker":
        runner.docker_clean("b", repo)
    times["shared"].append(timed(fn, "b", repo))
    if method == "docker":
        runner.docker_clean("a", repo)
        runner.docker_clean("b", repo)


def measure(runner, sbx, methods, reps_of):
    """Round-robin: repetition k of every method runs before repetition k+1 of any, so a
    change in the machine's load over the run weighs on all methods alike."""
    results = {m: {"cold": [], "warm": [], "shared": []} for m in methods}
    warm_counts = {}
    for rep in range(max(reps_of(m) for m in methods)):
        for method in methods:
            if rep < reps_of(method):
                print("rep %d: %s" % (rep + 1, method), flush=True)
                measure_once(runner, sbx, method, results[method], warm_counts)
    return results, warm_counts


def peak_rss_mb(args):
    """Run one cold engine copy in a child process; its peak RSS from wait4."""
    child = subprocess.Popen([sys.executable, __file__, "--engine-child", "--endpoints", args.endpoints,
                              "--src-region", args.src_region, "--dest-region", args.dest_region,
                              "--repo", args.repo, "--parallel", str(args.parallel),
                              "--chunk-mb", str(args.chunk_mb)])
    _, status, usage = os.wait4(child.pid, 0)
    if status:
        raise SystemExit("engine child failed")
    return usage.ru_maxrss / 1024.0


def add_sandbox_arguments(parser):
    """The options every sandbox bench takes: the endpoints file and the two regions."""
    parser.add_argument("--endpoints", default=os.environ.get("ICR_ENDPOINTS"))
    parser.add_argument("--src-region", default="us-south")
    parser.add_argument("--dest-region", default="eu-de")


def main():
    parser = argparse.ArgumentParser(description="registry-to-registry copy benchmark (loopback sandbox)")
    add_sandbox_arguments(parser)
    parser.add_argument("--size-mb", type=float, default=300.0)
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--docker-reps", type=int, default=1, help="docker is slow: fewer repetitions")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--chunk-mb", type=int, default=0, help="engine upload chunk (0: one PUT per blob)")
    parser.add_argument("--latency-ms", type=int, default=0, help="sandbox latency knob for the run")
    parser.add_argument("--memory", action="store_true", help="also measure the engine's peak RSS")
    parser.add_argument("--repo", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--engine-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.endpoints:
        raise SystemExit("no endpoints file: source the sandbox's env.sh or pass --endpoints")
    if args.size_mb > 4096 or args.reps > 10:
        raise SystemExit("bounded bench: --size-mb at most 4096, --reps at most 10")
    args.repo = args.repo or "img%d" % int(args.size_mb)
    sbx = Sandbox(args.endpoints, args.src_region, args.dest_region)
    sbx.require_loopback()

    with tempfile.TemporaryDirectory(prefix="copy-bench-") as tmp:
        workdir = Path(tmp)
        os.chmod(tmp, 0o711)  # skopeo runs as nobody inside a subfolder
        runner = Runner(sbx, args, workdir)
        if args.engine_child:
            runner.engine("a", "mem-%s" % uuid.uuid4().hex[:8])
            return
        sbx.ensure_namespaces()
        client = sbx.client(sbx.src, 4)
        layer_size = int(args.size_mb * 1024 * 1024 / args.layers)
        seeds_a = ["a%d-%d" % (args.size_mb, i) for i in range(args.layers)]
        seeds_b = seeds_a[:-1] + ["b%d-%d" % (args.size_mb, args.layers - 1)]
        repo = "%s/%s" % (SRC_NS, args.repo)
        print("preparing %s: A and B, %d layers of %.1f MB" % (repo, args.layers, layer_size / 1e6), flush=True)
        image_a = make_image.push_image(client, repo, "a", seeds_a, layer_size)
        make_image.push_image(client, repo, "b", seeds_b, layer_size)
        size_mb = sum(b["size"] for b in image_a.blobs()) / 1e6

        if args.latency_ms:
            rules = [{"kind": kind, "latency_ms": args.latency_ms} for kind in ("v2", "token")]
            sbx.control("PUT", "/_sandbox/faults", rules)
        methods = [m for m in args.methods.split(",") if m != "docker" or sbx.docker_host]
        unknown = sorted(set(methods) - set(METHODS))
        if unknown:
            raise SystemExit("unknown method(s) %s; choose from %s" % (", ".join(unknown), ", ".join(METHODS)))
        try:
            results, warm_counts = measure(
                runner, sbx, methods, lambda m: args.docker_reps if m == "docker" else args.reps)
        finally:
            if args.latency_ms:
                sbx.control("DELETE", "/_sandbox/faults")
        rss = peak_rss_mb(args) if args.memory else None
        report(args, size_mb, results, warm_counts, rss)


def report(args, size_mb, results, warm_counts, rss):
    print("\nimage A: %.0f MB in %d layers; parallel=%d, chunk=%s, latency=%d ms, reps=%d"
          % (size_mb, args.layers, args.parallel, "%d MB" % args.chunk_mb if args.chunk_mb else "one PUT",
             args.latency_ms, args.reps))
    print("%-8s %-7s %9s %9s %9s" % ("method", "copy", "min s", "median s", "MB/s"))
    for method, scenarios in results.items():
        for scenario, times in scenarios.items():
            if times:
                print("%-8s %-7s %9.2f %9.2f %9.0f" % (method, scenario, min(times), statistics.median(times),
                                                       size_mb / statistics.median(times)))
    cold = {m: statistics.median(s["cold"]) for m, s in results.items() if s["cold"]}
    if "engine" in cold:
        print()
        for other in ("skopeo", "curl", "docker"):
            if other in cold:
                print("cold copy, engine vs %-6s: %.2fx faster" % (other, cold[other] / cold["engine"]))
        if "raw" in cold:
            print("cold copy, engine vs raw read : %.0f%% of the read-only limit" % (100 * cold["raw"] / cold["engine"]))
    for method, counts in warm_counts.items():
        if counts:
            print("warm %s requests: manifests src=%d dest=%d, writes=%d, all /v2=%d"
                  % (method, counts["manifest_src"], counts["manifest_dest"], counts["writes"], counts["total"]))
    if rss is not None:
        print("engine peak RSS, cold copy of %.0f MB: %.0f MB" % (size_mb, rss))


if __name__ == "__main__":
    main()
