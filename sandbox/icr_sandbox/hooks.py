"""Test hooks shared by the service and the proxies: the request log and fault rules.

The log's /v2 entries come from each registry's own log (its "response completed" and
"error authorizing context" lines), read only when someone asks for the log, so recording
them costs nothing while clients move bytes. A request the registry never saw (a fault
answered by the proxy) is recorded by the proxy itself. Calls the service makes straight
to a registry (not through the proxy) belong to an /api/v1 request and are left out.
"""

import os
import random
import re
import threading
import time
from datetime import datetime

from .registries import registry_log_name

KINDS = ("iam", "token", "api", "v2")
READ_ONLY_POSTS = re.compile(r"/images/digests/?$|/retentions/analyze/?$|/va/api/v4/exemptions/images/?$")
_FIELD = re.compile(r'([\w.]+)=("(?:[^"\\]|\\.)*"|\S+)')
FAULT_CODES = {429: "TOOMANYREQUESTS", 500: "UNKNOWN", 502: "UNAVAILABLE", 503: "UNAVAILABLE", 504: "UNAVAILABLE"}
RULE_FIELDS = {"kind", "region", "method", "path_regex", "status", "retry_after", "latency_ms",
               "reset_after_bytes", "probability", "count"}


def is_mutating(kind, method, path):
    method = method.upper()
    if kind == "v2":
        return method in ("POST", "PUT", "PATCH", "DELETE")
    if kind == "api":
        if method in ("GET", "HEAD"):
            return False
        return not (method == "POST" and READ_ONLY_POSTS.search(path))
    return False


class RequestLog:
    def __init__(self, config):
        self._config = config
        self._lock = threading.Lock()
        self._entries = []
        self._seq = 0
        self._offsets = {}
        self._skip_registry_backlog()

    def record(self, kind, region, method, path, status, when=None):
        with self._lock:
            self._append(kind, region, method, path, status, when)

    def _append(self, kind, region, method, path, status, when):
        self._seq += 1
        path = path.split("?", 1)[0]
        self._entries.append({"seq": self._seq, "time": when or time.time(), "kind": kind, "region": region,
                              "method": method, "path": path, "status": status,
                              "mutating": is_mutating(kind, method, path)})

    def since(self, seq):
        with self._lock:
            self._read_registry_logs()
            return {"requests": [e for e in self._entries if e["seq"] > seq], "last": self._seq}

    def clear(self):
        with self._lock:
            self._read_registry_logs()
            self._entries = []

    # ---- registry logs -------------------------------------------------------------------

    def _log_path(self, region_name):
        return os.path.join(self._config.state_dir, "logs", registry_log_name(region_name))

    def _skip_registry_backlog(self):
        """Lines written before this service started belong to an earlier run."""
        for name in self._config.regions:
            try:
                self._offsets[name] = os.path.getsize(self._log_path(name))
            except FileNotFoundError:
                self._offsets[name] = 0

    def _read_registry_logs(self):
        """Appends the registries' new lines, all regions merged in time order."""
        found = []
        for name in self._config.regions:
            try:
                with open(self._log_path(name), "rb") as handle:
                    handle.seek(self._offsets[name])
                    data = handle.read()
            except FileNotFoundError:
                continue
            complete = data.rfind(b"\n") + 1    # a line still being written waits for the next read
            self._offsets[name] += complete
            for line in data[:complete].decode("utf-8", "replace").splitlines():
                entry = self._parse(name, line)
                if entry:
                    found.append(entry)
        for when, region_name, method, uri, status in sorted(found, key=lambda e: e[0]):
            self._append("v2", region_name, method, uri, status, when)

    def _parse(self, region_name, line):
        """One entry per "response completed" line, and per refused authorization (a 401
        the registry logs without a status)."""
        refused = 'msg="error authorizing context' in line
        if "http.request.uri=" not in line or not (refused or "http.response.status=" in line):
            return None
        fields = {k: v.strip('"') for k, v in _FIELD.findall(line)}
        if fields.get("http.request.host") == self._config.regions[region_name].upstream:
            return None   # the service's own admin call (clients come through the proxy)
        try:
            status = 401 if refused else int(fields["http.response.status"])
        except (KeyError, ValueError):
            return None
        return (_parse_time(fields.get("time")) or time.time(), region_name, fields.get("http.request.method", ""),
                fields.get("http.request.uri", ""), status)


def _parse_time(text):
    """Epoch seconds of a registry log time (RFC 3339, nanoseconds), or None."""
    if not text:
        return None
    text = re.sub(r"(\.\d{6})\d+", r"\1", text).replace("Z", "+00:00")
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


class FaultRules:
    """Fault rules as PUT on /_sandbox/faults; ``match`` finds one, ``fire`` spends it."""

    def __init__(self):
        self._lock = threading.Lock()
        self._rules = []

    @staticmethod
    def validate(rules):
        if not isinstance(rules, list):
            raise ValueError("the body must be a JSON list of rules")
        for rule in rules:
            if not isinstance(rule, dict):
                raise ValueError("each rule must be a JSON object")
            unknown = set(rule) - RULE_FIELDS - {"fired"}
            if unknown:
                raise ValueError(f"unknown rule fields: {sorted(unknown)}")
            if rule.get("kind") not in KINDS:
                raise ValueError(f"rule kind must be one of {list(KINDS)}")
            if not any(rule.get(k) is not None for k in ("status", "latency_ms", "reset_after_bytes")):
                raise ValueError("a rule needs status, latency_ms or reset_after_bytes")
            if rule.get("reset_after_bytes") is not None and rule["kind"] != "v2":
                raise ValueError("reset_after_bytes applies to v2 rules only")
            if rule.get("path_regex") is not None:
                re.compile(rule["path_regex"])

    def replace(self, rules):
        self.validate(rules)
        with self._lock:
            self._rules = [dict(r, fired=0) for r in rules]

    def clear(self):
        with self._lock:
            self._rules = []

    def listing(self):
        with self._lock:
            return [dict(r) for r in self._rules]

    def active(self, kind, region=None):
        """True when some unspent rule could apply (the proxy then inspects new connections)."""
        with self._lock:
            return any(r["kind"] == kind and _left(r) and region in (None, r.get("region") or region)
                       for r in self._rules)

    def match(self, kind, region, method, path):
        """The first unspent rule for this request, or None (probability is drawn here)."""
        with self._lock:
            for rule in self._rules:
                if rule["kind"] != kind or not _left(rule):
                    continue
                if rule.get("region") and rule["region"] != region:
                    continue
                if rule.get("method") and rule["method"].upper() != method.upper():
                    continue
                if rule.get("path_regex") and not re.search(rule["path_regex"], path):
                    continue
                if random.random() >= float(rule.get("probability", 1)):
                    continue
                return rule
        return None

    def fire(self, rule):
        """Spends one use of the rule; False when another request spent the last one first."""
        with self._lock:
            if not _left(rule):
                return False
            rule["fired"] += 1
            return True


def _left(rule):
    return rule.get("count") is None or rule["fired"] < rule["count"]


def fault_body(kind, status):
    """A small error body in the style of the faulted endpoint."""
    message = f"sandbox fault: HTTP {status}"
    if kind == "iam":
        return {"context": {}, "errorCode": f"BXNIM0{status}E", "errorMessage": message}
    if kind == "api":
        return {"errors": [{"code": f"CRG0{status}E", "message": message}]}
    return {"errors": [{"code": FAULT_CODES.get(status, "UNKNOWN"), "message": message}]}


def fault_headers(rule):
    if rule.get("retry_after") is not None:
        return {"Retry-After": str(rule["retry_after"])}
    return {"Retry-After": "1"} if rule.get("status") == 429 else {}
