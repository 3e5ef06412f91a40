"""What the sandbox knows beyond the registry's own storage.

Namespaces, trash, retention policies, quotas, plan and account switches, per region
(each ICR region is a separate registry instance). Image bytes live only in the
registry; this store keeps the bookkeeping real ICR keeps next to it. Thread-safe;
every change is written to ``<state_dir>/state/state.json`` atomically.

Test hook: ``add_legacy_namespace`` makes a namespace from before resource groups (July
2020), which the real API can no longer create; the control port exposes it as
``POST /_sandbox/legacy-namespaces {"region", "account_id", "name"}``.
"""

import base64
import json
import math
import os
import re
import threading
import time
from datetime import datetime, timezone

from . import registry

NAMESPACE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{2,28}[a-z0-9]$")
NAMESPACES_PER_REGION = 100
TRASH_DAYS = 30
DAY_SECONDS = 86400
MEGABYTE = 1024 * 1024
UNLIMITED = -1
PLANS = ("Free", "Standard")

ACCOUNT_DEFAULTS = {
    "plan": "Free",
    "storage_megabytes": UNLIMITED,
    "traffic_megabytes": UNLIMITED,
    "traffic_bytes_used": 0,
    "platform_metrics": False,
    "iam_authz": False,
    "private_only": False,
}


class Refused(Exception):
    """A refused request: HTTP status, ICR-style message ID and a message for the caller."""

    def __init__(self, status, code, message):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _now_iso():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _empty():
    return {"namespaces": {}, "accounts": {}, "trash": {}}


class State:
    def __init__(self, config):
        self._config = config
        self._lock = threading.RLock()
        self._path = os.path.join(config.state_dir, "state", "state.json")
        self._data = self._load()

    # ---- interface used by the token realm -------------------------------------------

    def namespace_owner(self, region_name, namespace):
        with self._lock:
            record = self._data["namespaces"].get(region_name, {}).get(namespace)
            return record["account"] if record else None

    def push_allowed(self, region_name, account_id):
        limit = self.account_settings(region_name, account_id)["storage_megabytes"]
        if limit == UNLIMITED:
            return True
        return self.storage_bytes_used(region_name, account_id) <= limit * MEGABYTE

    def pull_allowed(self, region_name, account_id):
        settings = self.account_settings(region_name, account_id)
        limit = settings["traffic_megabytes"]
        return limit == UNLIMITED or settings["traffic_bytes_used"] <= limit * MEGABYTE

    def reset(self):
        with self._lock:
            self._data = _empty()
            self._save()

    # ---- namespaces ------------------------------------------------------------------

    def namespaces_of(self, region_name, account_id):
        with self._lock:
            region = self._data["namespaces"].get(region_name, {})
            return [dict(r, name=n) for n, r in sorted(region.items()) if r["account"] == account_id]

    def create_namespace(self, region_name, account_id, name, resource_group):
        """Returns True when created, False when the account already had it."""
        _check_namespace_name(name)
        with self._lock:
            region = self._data["namespaces"].setdefault(region_name, {})
            existing = region.get(name)
            if existing:
                if existing["account"] != account_id:
                    raise Refused(409, "CRN9002E", f"The namespace '{name}' is already in use by another IBM Cloud account in this region. Choose another name.")
                return False
            owned = sum(1 for r in region.values() if r["account"] == account_id)
            if owned >= NAMESPACES_PER_REGION:
                raise Refused(400, "CRN9005E", f"You have reached the limit of {NAMESPACES_PER_REGION} namespaces in this region.")
            now = _now_iso()
            region[name] = {"account": account_id, "created_date": now, "updated_date": now,
                            "resource_group": resource_group, "resource_created_date": now,
                            "retention": None}
            self._save()
            return True

    def add_legacy_namespace(self, region_name, account_id, name):
        """Test hook: a namespace from before resource groups (July 2020), not yet assigned."""
        self.create_namespace(region_name, account_id, name, None)
        with self._lock:
            record = self._data["namespaces"][region_name][name]
            record["resource_group"] = None
            record["resource_created_date"] = None
            self._save()

    def assign_namespace(self, region_name, account_id, name, resource_group):
        with self._lock:
            record = self._own_namespace(region_name, account_id, name)
            if record["resource_group"]:
                raise Refused(400, "CRN9010E", f"The namespace '{name}' is already assigned to a resource group; a namespace cannot be moved between resource groups.")
            now = _now_iso()
            record.update(resource_group=resource_group, resource_created_date=now, updated_date=now)
            self._save()

    def delete_namespace(self, region_name, account_id, name):
        with self._lock:
            self._own_namespace(region_name, account_id, name)
            del self._data["namespaces"][region_name][name]
            trash = self._data["trash"].get(region_name, {})
            for key in [k for k, item in trash.items() if item["namespace"] == name]:
                del trash[key]
            self._save()

    def check_owner(self, region_name, account_id, name):
        """404 unless the account owns the namespace in this region."""
        with self._lock:
            self._own_namespace(region_name, account_id, name)

    def _own_namespace(self, region_name, account_id, name):
        record = self._data["namespaces"].get(region_name, {}).get(name)
        if not record or record["account"] != account_id:
            raise Refused(404, "CRN9003E", f"The namespace '{name}' was not found in your account in this region.")
        return record

    # ---- retention policies (kept on the namespace record) -----------------------------

    def set_retention(self, region_name, account_id, name, images_per_repo, retain_untagged):
        with self._lock:
            record = self._own_namespace(region_name, account_id, name)
            record["retention"] = {"images_per_repo": images_per_repo, "retain_untagged": retain_untagged}
            self._save()

    def retention(self, region_name, account_id, name):
        """The namespace's policy; a namespace without one keeps everything."""
        with self._lock:
            record = self._own_namespace(region_name, account_id, name)
            policy = record["retention"] or {"images_per_repo": UNLIMITED, "retain_untagged": False}
            return dict(policy, namespace=name)

    def retentions(self, region_name, account_id):
        return {r["name"]: dict(r["retention"], namespace=r["name"])
                for r in self.namespaces_of(region_name, account_id) if r["retention"]}

    # ---- per-account settings: plan, quotas, traffic, switches --------------------------

    def account_settings(self, region_name, account_id):
        with self._lock:
            stored = self._data["accounts"].get(region_name, {}).get(account_id, {})
            return {**ACCOUNT_DEFAULTS, **stored}

    def update_account_settings(self, region_name, account_id, **changes):
        unknown = set(changes) - set(ACCOUNT_DEFAULTS)
        if unknown:
            raise ValueError(f"unknown account settings {sorted(unknown)}")
        with self._lock:
            stored = self._data["accounts"].setdefault(region_name, {}).setdefault(account_id, {})
            stored.update(changes)
            self._save()

    def add_traffic(self, region_name, account_id, size):
        with self._lock:   # re-entrant: read and write as one step
            used = self.account_settings(region_name, account_id)["traffic_bytes_used"]
            self.update_account_settings(region_name, account_id, traffic_bytes_used=used + size)

    def storage_bytes_used(self, region_name, account_id):
        """Bytes of the account's live images (tagged and untagged), each blob once."""
        region = self._config.regions[region_name]
        names = [r["name"] for r in self.namespaces_of(region_name, account_id)]
        return registry.storage_usage(region.storage_root, names)

    # ---- trash -----------------------------------------------------------------------

    def trash_put(self, region_name, repository, digest, tags, manifest, media_type):
        """Keeps a deleted manifest (bytes and media type) so a restore can re-PUT it."""
        key = f"{repository}@{digest}"
        with self._lock:
            trash = self._data["trash"].setdefault(region_name, {})
            item = trash.get(key)
            known_tags = item["tags"] if item else []
            trash[key] = {"namespace": repository.split("/", 1)[0], "repository": repository,
                          "digest": digest, "tags": sorted(set(known_tags) | set(tags)),
                          "deleted_at": time.time(), "media_type": media_type,
                          "manifest": base64.b64encode(manifest).decode()}
            self._save()

    def trash_items(self, region_name, namespaces):
        """Unexpired items of these namespaces, each with ``days_until_expiry`` and ``manifest`` bytes."""
        with self._lock:
            trash = self._data["trash"].get(region_name, {})
            now = time.time()
            expired = [k for k, item in trash.items() if _days_left(item, now) <= 0]
            for key in expired:
                del trash[key]
            if expired:
                self._save()
            return [dict(item, tags=list(item["tags"]), manifest=base64.b64decode(item["manifest"]),
                         days_until_expiry=_days_left(item, now))
                    for item in trash.values() if item["namespace"] in namespaces]

    # ---- Vulnerability Advisor: scans (by digest) and exemptions -------------------------

    def va_scan(self, region_name, digest):
        """The stored scan of a manifest digest (``scanner.scan_manifest``), or None."""
        with self._lock:
            return self._data.setdefault("va_scans", {}).get(region_name, {}).get(digest)

    def va_put_scan(self, region_name, digest, scan):
        with self._lock:
            self._data.setdefault("va_scans", {}).setdefault(region_name, {})[digest] = scan
            self._save()

    def va_exemptions(self, region_name, account_id):
        """The account's exemptions in this region: ``[{resource, issue_type, issue_id}]``
        (``resource`` "" is the whole account)."""
        with self._lock:
            return [dict(e) for e in self._data.setdefault("va_exemptions", {}).get(region_name, {}).get(account_id, [])]

    def va_put_exemption(self, region_name, account_id, resource, issue_type, issue_id):
        """Returns True when added, False when the account already had it."""
        wanted = {"resource": resource, "issue_type": issue_type, "issue_id": issue_id}
        with self._lock:
            entries = self._data.setdefault("va_exemptions", {}).setdefault(region_name, {}).setdefault(account_id, [])
            if wanted in entries:
                return False
            entries.append(wanted)
            self._save()
            return True

    def va_delete_exemption(self, region_name, account_id, resource, issue_type, issue_id):
        """Returns True when removed, False when there was none."""
        wanted = {"resource": resource, "issue_type": issue_type, "issue_id": issue_id}
        with self._lock:
            entries = self._data.setdefault("va_exemptions", {}).setdefault(region_name, {}).setdefault(account_id, [])
            if wanted not in entries:
                return False
            entries.remove(wanted)
            self._save()
            return True

    # ---- persistence -----------------------------------------------------------------

    def _load(self):
        try:
            with open(self._path, encoding="utf-8") as handle:
                return {**_empty(), **json.load(handle)}
        except FileNotFoundError:
            return _empty()

    def _save(self):
        os.makedirs(os.path.dirname(self._path), exist_ok=True)
        temporary = self._path + ".tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(self._data, handle, indent=1, sort_keys=True)
        os.replace(temporary, self._path)


def _days_left(item, now):
    return math.ceil((item["deleted_at"] + TRASH_DAYS * DAY_SECONDS - now) / DAY_SECONDS)


def _check_namespace_name(name):
    if not NAMESPACE_PATTERN.match(name or ""):
        raise Refused(400, "CRN9001E", f"The namespace name '{name}' is not valid. A namespace must be 4 to 30 characters long, "
                                          "contain only lowercase letters, numbers, hyphens (-) and underscores (_), "
                                          "and start and end with a letter or number.")
