"""Run playbooks or integration targets at -vvvv --diff and look for leaked secrets.

Needles: every API key of the sandbox (endpoints.json; accounts and service IDs), the contents
of its compute-resource token files, ``iamapikey:<key>`` in base64 (a Docker auth), and any JWT
whose claims name one of the sandbox's accounts (IAM tokens carry
``account.bss``, registry tokens ``sub``). Tokens are minted per run, so they are found by
shape and claims rather than by value.

Looked at: everything the run prints (results and diffs included, at -vvvv), every file
written under /tmp, $HOME and the checkout while it ran (a Docker config, recognised by its
``auths`` object, may hold the key but must be mode 0600), and ``/proc/*/cmdline`` of every
process, sampled every few milliseconds while it runs.

    set -a; . /tmp/sbx/env.sh; set +a
    .venv/bin/python tests/reliability/scan_secrets.py --all            # every target (slow)
    .venv/bin/python tests/reliability/scan_secrets.py cr_login cr_image # some targets
"""
import argparse
import base64
import json
import os
import re
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{40,}={0,2}")
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")
# Not the collection's writing: sandbox state, engine data, other jobs, tool caches (but
# cr_image's own, ~/.cache/icr.registry, is scanned).
SKIP_DIRS = re.compile(r"^/tmp/(?:sbx-|icr-sbx-|bash_jobs|pytest-of-|\.X11)|/\.git$|/\.venv$|/\.sandbox$|"
                       r"/docker/(?:data|exec)|/\.cache/(?!icr\.registry$)[^/]+$|/__pycache__$|/\.hypothesis$")
MAX_FILE_BYTES = 8 * 1024 * 1024


def cr_tokens(endpoints):
    """The contents of the sandbox's compute-resource token files (read now: each ``up`` rewrites them)."""
    tokens = []
    for profile in endpoints.get("trusted_profiles") or []:
        try:
            tokens.append(Path(profile["cr_token_file"]).read_text().strip())
        except (KeyError, OSError):
            continue
    return [token for token in tokens if token]


class Needles:
    """What must never be seen, built from a sandbox endpoints file."""

    def __init__(self, endpoints):
        accounts = [endpoints] + list(endpoints.get("other_accounts") or [])
        # Service IDs' keys too, and the compute-resource tokens of the trusted profiles (their
        # files' contents: a CR token is a secret whatever its claims say).
        self.keys = [a["api_key"] for a in accounts + list(endpoints.get("service_ids") or []) if a.get("api_key")]
        self.account_ids = [a["account_id"] for a in accounts if a.get("account_id")]
        self.literals = list(self.keys) + cr_tokens(endpoints)
        for key in self.keys:
            # a Docker auth value: base64 of "<user>:<key>"
            for prefix in ("iamapikey:", "iambearer:"):
                self.literals.append(base64.b64encode((prefix + key).encode()).decode().rstrip("="))

    def _ours(self, token):
        try:
            payload = token.split(".")[1]
            claims = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode("utf-8", "replace")
        except (IndexError, ValueError):
            return False
        return any(account in claims or account[:8] in claims for account in self.account_ids)

    def find(self, text, nested=False):
        """Leaks in ``text`` as short masked descriptions (never the secret itself)."""
        found = []
        for literal in self.literals:
            at = text.find(literal)
            if at >= 0:
                found.append("credential #%d at offset %d" % (self.literals.index(literal), at))
        for match in JWT.finditer(text):
            if self._ours(match.group(0)):
                found.append("token %s... at offset %d" % (match.group(0)[:12], match.start()))
        if not nested:
            # A Docker auth wraps "<user>:<secret>" in base64: look inside such runs too.
            for match in BASE64_RUN.finditer(text):
                try:
                    inner = base64.b64decode(match.group(0) + "=" * (-len(match.group(0)) % 4)).decode("utf-8")
                except ValueError:
                    continue
                found.extend("base64 at offset %d: %s" % (match.start(), leak)
                             for leak in self.find(inner, nested=True))
        return found


class CmdlineSampler(threading.Thread):
    """Reads every process's command line until stopped; records leaks and what it saw."""

    def __init__(self, needles, interval=0.01):
        super().__init__(daemon=True)
        self.needles, self.interval = needles, interval
        self.leaks, self.seen, self.samples = [], set(), 0
        self._halt = threading.Event()

    def run(self):
        own = os.getpid()
        while not self._halt.is_set():
            for entry in os.scandir("/proc"):
                if not entry.name.isdigit() or int(entry.name) == own:
                    continue
                try:
                    raw = Path(entry.path, "cmdline").read_bytes()
                except OSError:
                    continue
                text = raw.replace(b"\0", b" ").decode("utf-8", "replace")
                self.seen.add(text[:200])
                for leak in self.needles.find(text):
                    # Name the program only: the rest of the line holds the secret.
                    self.leaks.append("pid %s (%s): %s" % (entry.name, text.split(" ", 1)[0][:60], leak))
            self.samples += 1
            time.sleep(self.interval)

    def stop(self):
        self._halt.set()
        self.join()


def is_docker_config(path, text):
    try:
        return isinstance(json.loads(text).get("auths"), dict)
    except (ValueError, AttributeError):
        return False


def written_files(since, roots):
    for root in roots:
        # A root asked for by name is scanned whole, even inside a folder skipped elsewhere
        # (a pytest tmp_path lives under /tmp/pytest-of-*).
        skip = None if SKIP_DIRS.search(root) else SKIP_DIRS
        for folder, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if not (skip and skip.search(os.path.join(folder, d)))]
            for name in files:
                path = os.path.join(folder, name)
                try:
                    info = os.lstat(path)
                except OSError:
                    continue
                if stat.S_ISREG(info.st_mode) and info.st_mtime >= since and info.st_size <= MAX_FILE_BYTES:
                    yield path, info


def scan_files(needles, since, roots, exclude=()):
    """``(leaks, docker_configs)`` among files written since ``since``."""
    leaks, configs = [], []
    for path, info in written_files(since, roots):
        if any(path.startswith(prefix) for prefix in exclude):
            continue
        try:
            text = Path(path).read_text(errors="replace")
        except OSError:
            continue
        found = needles.find(text)
        if found and is_docker_config(path, text):
            configs.append(path)
            if stat.S_IMODE(info.st_mode) != 0o600:
                leaks.append("%s: a Docker config with credentials, mode %o (want 600)"
                             % (path, stat.S_IMODE(info.st_mode)))
            continue
        leaks.extend("%s: %s" % (path, leak) for leak in found)
    return leaks, configs


def task_at(output, leak):
    """The ``TASK [...]`` header above the (first) offset a leak description names."""
    offset = int(re.findall(r"offset (\d+)", leak)[0])
    start = output.rfind("TASK [", 0, offset)
    return output[start:output.find("]", start) + 1] if start >= 0 else "before any task"


def run_and_scan(command, env, needles, timeout, roots=None, exclude=()):
    """Run ``command``; return ``(returncode, output, report)`` with every leak found."""
    since = time.time() - 1
    sampler = CmdlineSampler(needles)
    sampler.start()
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    finally:
        sampler.stop()
    output = done.stdout + done.stderr
    roots = roots or ["/tmp", os.path.expanduser("~"), str(ROOT)]
    file_leaks, configs = scan_files(needles, since, roots, exclude)
    report = {"output": ["output, %s: %s" % (task_at(output, leak), leak) for leak in needles.find(output)],
              "files": file_leaks,
              "cmdline": sampler.leaks, "samples": sampler.samples, "processes_seen": len(sampler.seen),
              "docker_configs": configs, "output_bytes": len(output)}
    return done.returncode, output, report


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("targets", nargs="*")
    parser.add_argument("--all", action="store_true", help="every integration target")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds for the whole run")
    args = parser.parse_args()
    endpoints_path = os.environ.get("ICR_ENDPOINTS")
    if not endpoints_path:
        sys.exit("source the sandbox's env.sh first (ICR_ENDPOINTS is not set)")
    if not args.all and not args.targets:
        sys.exit("name targets, or --all")
    needles = Needles(json.loads(Path(endpoints_path).read_text()))
    env = dict(os.environ, ANSIBLE_DIFF_ALWAYS="1")
    command = [sys.executable, str(ROOT / "tests" / "integration" / "run"), "-vvvv"] + args.targets
    started = time.monotonic()
    rc, output, report = run_and_scan(command, env, needles, args.timeout,
                                      exclude=(str(Path(endpoints_path).parent),))
    summary = [line for line in output.splitlines() if re.match(r"^\S+\s+(ok|FAILED)\s+[\d.]+ s$", line)]
    print("\n".join(summary))
    print("targets exit %d; %.0f s; %d bytes of -vvvv output; %d /proc samples over %d command lines; "
          "%d Docker config(s) at 0600" % (rc, time.monotonic() - started, report["output_bytes"],
                                           report["samples"], report["processes_seen"],
                                           len(report["docker_configs"])))
    leaks = report["output"] + report["files"] + report["cmdline"]
    for leak in leaks:
        print("LEAK " + leak)
    print("leaks: %d" % len(leaks))
    sys.exit(1 if leaks or rc else 0)


if __name__ == "__main__":
    main()
