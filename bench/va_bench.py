#!/usr/bin/env python3
# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Vulnerability Advisor at scale on the sandbox: the status of N scanned images in one call.

Pushes ``--images`` tagged images VA can scan (Debian, with a vulnerable libc6 and openssl;
the OS layer shared, one small layer of their own) into one repository, waits until VA has
scanned them all, then times, ``--reps`` times each:

  sdk     one ``GET /va/api/v4/report/account/status?repository=…`` through IBM's SDK
  module  ``cr_va_info`` listing the repository, as Ansible runs a module (a child process,
          start-up included), and the API requests it made, read from the sandbox request log

It is not a test: it prints figures. The API key comes from the endpoints file, never argv.

    set -a; . .sandbox/env.sh; set +a; .venv/bin/python bench/va_bench.py [--images 500] [--reps 5]
"""
import argparse
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

import requests
from ibm_cloud_sdk_core.authenticators import IAMAuthenticator
from ibm_container_registry.container_registry_v1 import ContainerRegistryV1
from ibm_container_registry.vulnerability_advisor_v4 import VulnerabilityAdvisorV4

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "tests" / "sandbox"))
from sdk_helpers import OS_IMAGES, RegistryPusher, realm_token_source  # noqa: E402
from soak import Sandbox, run_module  # noqa: E402

REGION = "us-south"
TOKEN_SECONDS = 240          # the realm's tokens last 300 s


def cached(token_for):
    """One realm token per repository set for TOKEN_SECONDS (the pusher asks per request)."""
    tokens = {}

    def token(repositories):
        key = tuple(repositories)
        if key not in tokens or time.monotonic() - tokens[key][1] > TOKEN_SECONDS:
            tokens[key] = (token_for(repositories), time.monotonic())
        return tokens[key][0]
    return token


def summary(values):
    return "min %.3f s, median %.3f s" % (min(values), statistics.median(values))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--scan-timeout", type=float, default=600)
    args = parser.parse_args()
    sandbox = Sandbox(os.environ.get("ICR_ENDPOINTS") or str(ROOT / ".sandbox" / "endpoints.json"))
    doc = sandbox.doc
    region = doc["regions"][REGION]
    if not region["registry"].split(":")[0] in ("127.0.0.1", "localhost"):
        sys.exit("va_bench runs against the loopback sandbox only")
    authenticator = IAMAuthenticator(doc["api_key"], url=doc["iam_url"])
    api = ContainerRegistryV1(account=doc["account_id"], authenticator=authenticator)
    api.set_service_url(region["api_url"])
    va = VulnerabilityAdvisorV4(account=doc["account_id"], authenticator=authenticator)
    va.set_service_url(region["api_url"])

    namespace = "vabench-" + uuid.uuid4().hex[:8]
    repository = "%s/app" % namespace
    domain_repository = "%s/%s" % (region["domain"], repository)
    api.create_namespace(namespace)
    try:
        pusher = RegistryPusher(region["registry"], cached(realm_token_source(region["registry"], doc["api_key"])))
        started = time.monotonic()
        for number in range(args.images):
            salt = {"salt": ("%s %d" % (namespace, number)).encode()}
            pusher.push_files(repository, "v%04d" % number, OS_IMAGES["debian-vulnerable"] + [salt])
        pushed = time.monotonic() - started
        print("pushed %d tagged images in %.1f s (%.1f ms each)" % (args.images, pushed, 1000 * pushed / args.images))

        deadline = time.monotonic() + args.scan_timeout
        while True:
            images = va.account_status_query_path(repository=domain_repository).get_result()["images"]
            unscanned = sum(1 for image in images if image["status"] == "UNSCANNED")
            if len(images) == args.images and not unscanned:
                break
            if time.monotonic() > deadline:
                sys.exit("%d of %d images still unscanned after %.0f s" % (unscanned, len(images), args.scan_timeout))
            time.sleep(1)
        print("all scanned %.1f s after the last push; statuses: %s" % (
            time.monotonic() - started - pushed,
            {s: sum(1 for i in images if i["status"] == s) for s in sorted({i["status"] for i in images})}))

        times, size = [], 0
        for _ in range(args.reps):
            begun = time.monotonic()
            response = va.account_status_query_path(repository=domain_repository)
            times.append(time.monotonic() - begun)
            size = len(json.dumps(response.get_result()))
        print("sdk    account status of %d images, one call: %s (%d kB of JSON)" % (args.images, summary(times),
                                                                                   size // 1024))

        module_times = []
        for _ in range(args.reps):
            requests.delete(sandbox.control + "/_sandbox/requests", timeout=30).raise_for_status()
            begun = time.monotonic()
            result = run_module("cr_va_info", {"repository": domain_repository}, sandbox.env())
            module_times.append(time.monotonic() - begun)
            if result.get("failed") or len(result["images"]) != args.images:
                sys.exit("cr_va_info failed: %s" % result.get("msg"))
            logged = requests.get(sandbox.control + "/_sandbox/requests", timeout=30).json()["requests"]
        calls = ["%s %s" % (r["method"], r["path"]) for r in logged if r["kind"] == "api"]
        print("module cr_va_info listing %d images: %s; API requests per run: %d (%s)" % (
            args.images, summary(module_times), len(calls), ", ".join(calls)))
    finally:
        api.delete_namespace(namespace)


if __name__ == "__main__":
    main()
