# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""One in-memory fake of ``IcrApi`` (plugins/module_utils/icr_api.py) for the module tests.

``FakeIcrApi`` models one account in one region: namespaces with their details, the digests
of each repository (tags, created, size, manifest type, manifest bytes), the trash,
retention policies, quota, plan, authorization options and settings. Its public API
methods have IcrApi's names and signatures (``test_fake_api.py`` holds it to that) and
return the shapes IcrApi's docstrings give; unknown namespaces and images fail the way
ICR does (``IcrError`` with status 404, 400 or 409), after the model of ``sandbox/``.

Every API call is recorded in ``calls`` as ``(method, *arguments in signature order,
defaults filled in)``; ``writes`` and ``reads`` split them. ``fail(method, error)`` makes
a method raise ``error`` (after recording the call) until ``fail(method, None)``.
``FakeVaApi`` does the same for ``VaApi`` (plugins/module_utils/va_api.py).

Seeding: ``add_namespace``, ``add_image``, ``add_trash``, and the plain attributes
``quota`` (bytes, as ``get_quota`` returns it), ``plan``, ``auth``, ``settings``.
"""
import copy
import functools
import hashlib
import inspect
import json
import time

from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError
from ansible_collections.icr.registry.plugins.module_utils.icr_api import trash_entry
from ansible_collections.icr.registry.plugins.module_utils.icr_images import is_list_type

LIST_TYPE = "Docker Manifest List V2, Schema 2"
IMAGE_TYPE = "Docker Image Manifest V2, Schema 2"
LIST_MEDIA_TYPE = "application/vnd.docker.distribution.manifest.list.v2+json"
IMAGE_MEDIA_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
MB = 1048576


def dg(char):
    """A digest made of one repeated character: ``dg("a")`` is ``sha256:aaa...``."""
    return "sha256:" + char * 64


def api_method(write=False):
    """Record the call, raise an injected failure, else run the model; results are copies."""
    def wrap(func):
        signature = inspect.signature(func)

        @functools.wraps(func)
        def method(self, *args, **kwargs):
            bound = signature.bind(self, *args, **kwargs)
            bound.apply_defaults()
            self.calls.append((func.__name__,) + copy.deepcopy(tuple(bound.arguments.values())[1:]))
            error = self.failures.get(func.__name__)
            if error is not None:
                raise error
            return copy.deepcopy(func(self, *args, **kwargs))
        method.is_write = write
        return method
    return wrap


def set_given(values, **changes):
    """Update ``values`` with the changes that are not None (None leaves a value as is)."""
    values.update((name, value) for name, value in changes.items() if value is not None)


def in_bytes(megabytes):
    """Megabytes of 1,048,576 bytes as bytes; -1 (unlimited) and None stay as they are."""
    return megabytes if megabytes in (None, -1) else megabytes * MB


def config_id(digest):
    """The image ID (config digest) the fake inspects for a manifest digest: another digest."""
    return "sha256:" + hashlib.sha256(digest.encode("ascii")).hexdigest()


def rfc3339(seconds):
    """Epoch seconds as ICR's inspection gives a build date: the image config's RFC 3339 text."""
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000000Z", time.gmtime(seconds))


def not_found(what, code="CRI9404E"):
    return IcrError("%s was not found" % what, status=404, code=code)


class RecordingFake:
    """What every fake client shares: the call record and injected failures."""

    def fail(self, method, error):
        """Make API method ``method`` raise ``error`` (None: stop failing)."""
        if getattr(getattr(self, method, None), "is_write", None) not in (True, False):
            raise AttributeError("%s is not an API method of the fake" % method)
        if error is None:
            self.failures.pop(method, None)
        else:
            self.failures[method] = error

    def calls_to(self, method):
        """The argument tuples of every call to ``method``."""
        return [call[1:] for call in self.calls if call[0] == method]

    @property
    def writes(self):
        return [call for call in self.calls if getattr(self, call[0]).is_write]

    @property
    def reads(self):
        return [call for call in self.calls if not getattr(self, call[0]).is_write]


class FakeIcrApi(RecordingFake):
    """One account's registry in one region (``domain``), in memory. See the module docstring."""

    # What is not an IcrApi method: seeding and inspecting the fake (test_fake_api.py checks it).
    HELPERS = frozenset({"add_namespace", "add_image", "add_trash", "fail", "calls_to", "reads", "writes"})

    def __init__(self, domain="us.icr.io", default_resource_group="default-rg"):
        self.domain = domain
        self.default_resource_group = default_resource_group
        self.namespaces = {}  # name -> details, as list_namespace_details returns them
        self.repos = {}  # "<domain>/<ns>/<repo>" -> {digest: {tags, created, size, type, manifest}}
        self.trash = {}  # "<domain>/<ns>/<repo>@<digest>" -> {tags, days_until_expiry, image}
        self.policies = {}  # namespace -> {images_per_repo, retain_untagged}
        self.quota = {"limit": {"storage_bytes": -1, "traffic_bytes": -1},
                      "usage": {"storage_bytes": 0, "traffic_bytes": 0}}
        self.plan = "Free"
        self.auth = {"iam_authz": False, "private_only": False}
        self.settings = {"platform_metrics": False}
        self.calls = []
        self.failures = {}
        self.warnings = []  # module_runner.install sends module warnings here

    # ------------------------------------------------------------------ seeding and inspecting

    def add_namespace(self, name, **details):
        """A namespace whose details are exactly ``name`` and ``details``."""
        self.namespaces[name] = dict(details, name=name)

    def add_image(self, repository, digest, tags=(), created=1, size=10, manifest_type=IMAGE_TYPE, manifest=None):
        """A live digest of ``repository`` (``<domain>/<ns>/<repo>``); its namespace is created if
        missing. ``manifest``: the raw manifest text ``get_image_manifest`` serves."""
        self._seed_namespace(repository)
        self.repos.setdefault(repository, {})[digest] = {
            "tags": list(tags), "created": created, "size": size, "type": manifest_type, "manifest": manifest}

    def add_trash(self, repository, digest, tags=(), days_until_expiry=30, **image):
        """A trashed digest with the tags it had (``image``: add_image's created, size...); its
        namespace is created if missing."""
        self._seed_namespace(repository)
        record = {"tags": [], "created": 1, "size": 10, "type": IMAGE_TYPE, "manifest": None}
        record.update(image)
        self.trash["%s@%s" % (repository, digest)] = {"tags": sorted(tags), "days_until_expiry": days_until_expiry,
                                                      "image": record}

    def _seed_namespace(self, repository):
        if repository.split("/")[1] not in self.namespaces:
            self.add_namespace(repository.split("/")[1])

    # ------------------------------------------------------------------ model internals

    def _namespace(self, name):
        if name not in self.namespaces:
            raise not_found("namespace %s" % name, code="CRN9003E")
        return self.namespaces[name]

    def _parse(self, reference):
        """``(repository, tag, digest)`` of a reference in this region; 400 otherwise."""
        if reference.split("/", 1)[0] != self.domain:
            raise IcrError("%s is not in this region's registry (%s)" % (reference, self.domain),
                           status=400, code="CRI9010E")
        if "@" in reference:
            repository, digest = reference.split("@", 1)
            return repository, None, digest
        head, _slash, last = reference.rpartition("/")
        name, _colon, tag = last.partition(":")
        return "%s/%s" % (head, name), tag or "latest", None

    def _resolve(self, reference):
        """``(repository, digest, tag)`` of a live image; 404 when there is none."""
        repository, tag, digest = self._parse(reference)
        self._namespace(repository.split("/")[1])
        images = self.repos.get(repository, {})
        if digest is None:
            digest = next((d for d, item in images.items() if tag in item["tags"]), None)
        if digest not in images:
            raise not_found("image %s" % reference)
        return repository, digest, tag

    def _to_trash(self, repository, digest):
        item = self.repos[repository].pop(digest)
        key = "%s@%s" % (repository, digest)
        known = self.trash.get(key, {}).get("tags", [])
        self.trash[key] = {"tags": sorted(set(known) | set(item["tags"])), "days_until_expiry": 30,
                           "image": dict(item, tags=[])}

    def _put_back(self, key, tag=None):
        repository, digest = key.split("@", 1)
        images = self.repos.setdefault(repository, {})
        if digest not in images:
            images[digest] = copy.deepcopy(self.trash[key]["image"])
        if tag is not None:
            images[digest]["tags"].append(tag)

    def _victims(self, namespace, images_per_repo, retain_untagged):
        """``{repository: [digest refs]}`` beyond the newest ``images_per_repo`` images of every
        repository of the namespace (lists and undated images never count); -1 keeps all."""
        victims = {}
        for repository, images in sorted(self.repos.items()):
            if repository.split("/")[1] != namespace:
                continue
            candidates = sorted(((item["created"], digest) for digest, item in images.items()
                                 if item["created"] > 0 and not is_list_type(item["type"])
                                 and (item["tags"] or not retain_untagged)), reverse=True)
            doomed = candidates[images_per_repo:] if images_per_repo >= 0 else []
            victims[repository] = ["%s@%s" % (repository, digest) for _created, digest in doomed]
        return victims

    # ------------------------------------------------------------------ namespaces

    @api_method()
    def list_namespaces(self):
        return list(self.namespaces)

    @api_method()
    def list_namespace_details(self):
        return list(self.namespaces.values())

    @api_method()
    def get_namespace(self, name):
        return self.namespaces.get(name)

    @api_method(write=True)
    def create_namespace(self, name, resource_group_id=None):
        if name not in self.namespaces:
            group = resource_group_id or self.default_resource_group
            self.add_namespace(name, resource_group=group, crn="crn:%s" % name)
        return {"namespace": name}

    @api_method(write=True)
    def assign_namespace(self, name, resource_group_id):
        self._namespace(name)["resource_group"] = resource_group_id
        return {"namespace": name}

    @api_method(write=True)
    def delete_namespace(self, name):
        self._namespace(name)
        del self.namespaces[name]
        self.policies.pop(name, None)
        for store in (self.repos, self.trash):
            for key in [key for key in store if key.split("/")[1] == name]:
                del store[key]

    # ------------------------------------------------------------------ digests and images

    @api_method()
    def list_image_digests(self, repositories=None, exclude_tagged=False):
        found = {}
        for repository, images in self.repos.items():
            if repositories and repository not in repositories:
                continue
            for digest, item in images.items():
                entry = found.setdefault(digest, {"id": digest, "created": item["created"], "size": item["size"],
                                                  "manifestType": item["type"], "repoTags": {}})
                entry["repoTags"][repository] = {tag: {} for tag in item["tags"]}
        return [entry for entry in found.values()
                if not (exclude_tagged and any(entry["repoTags"].values()))]

    @api_method()
    def list_images(self, namespace=None, repository=None, include_manifest_lists=False):
        images = []
        for repo, digests in sorted(self.repos.items()):
            if (namespace and repo.split("/")[1] != namespace) or (repository and repo != repository):
                continue
            for digest, item in digests.items():
                if not item["tags"] or (is_list_type(item["type"]) and not include_manifest_lists):
                    continue
                images.append({"Id": digest, "Created": item["created"], "Size": item["size"],
                               "ManifestType": item["type"], "RepoTags": ["%s:%s" % (repo, t) for t in item["tags"]],
                               "RepoDigests": ["%s@%s" % (repo, digest)]})
        return images

    @api_method()
    def inspect_image(self, reference):
        repository, digest, _tag = self._resolve(reference)
        item = self.repos[repository][digest]
        return {"Id": config_id(digest), "Created": rfc3339(item["created"]), "Size": item["size"], "Os": "linux",
                "Architecture": "amd64", "Config": {}, "RootFS": {"Type": "layers", "Layers": []},
                "ManifestType": item["type"]}

    @api_method()
    def get_image_manifest(self, reference):
        repository, digest, _tag = self._resolve(reference)
        item = self.repos[repository][digest]
        if is_list_type(item["type"]):
            default = {"schemaVersion": 2, "mediaType": LIST_MEDIA_TYPE, "manifests": []}
            media_type = LIST_MEDIA_TYPE
        else:
            default = {"schemaVersion": 2, "mediaType": IMAGE_MEDIA_TYPE, "layers": []}
            media_type = IMAGE_MEDIA_TYPE
        return item["manifest"] if item["manifest"] is not None else json.dumps(default), media_type

    @api_method(write=True)
    def tag_image(self, source, target):
        repository, digest, _tag = self._resolve(source)
        target_repository, tag, target_digest = self._parse(target)
        if target_digest:
            raise IcrError("The target %s must be a tag, not a digest" % target, status=400, code="CRI9015E")
        self._namespace(target_repository.split("/")[1])
        images = self.repos.setdefault(target_repository, {})
        for item in images.values():
            if tag in item["tags"]:
                item["tags"].remove(tag)
        if digest not in images:
            images[digest] = dict(copy.deepcopy(self.repos[repository][digest]), tags=[])
        images[digest]["tags"].append(tag)

    @api_method(write=True)
    def delete_image(self, reference):
        repository, digest, _tag = self._resolve(reference)
        self._to_trash(repository, digest)
        return {"Untagged": reference}

    @api_method(write=True)
    def untag_image(self, reference):
        repository, digest, tag = self._resolve(reference)
        if tag is None:
            raise IcrError("%s has no tag" % reference, status=400, code="CRI9012E")
        self.repos[repository][digest]["tags"].remove(tag)
        return {"Untagged": reference}

    @api_method(write=True)
    def bulk_delete_images(self, references):
        result = {"success": [], "error": {}}
        for reference in references:
            try:
                if "@" not in reference:
                    raise IcrError("%s is not a digest reference" % reference, status=400, code="CRI9013E")
                self._to_trash(*self._resolve(reference)[:2])
                result["success"].append(reference)
            except IcrError as err:
                result["error"][reference] = {"code": err.code, "message": err.message}
        return result

    # ------------------------------------------------------------------ retention policies

    @api_method()
    def get_retention_policy(self, namespace):
        self._namespace(namespace)
        policy = self.policies.get(namespace, {"images_per_repo": -1, "retain_untagged": False})
        return dict(policy, namespace=namespace)

    @api_method()
    def analyze_retention_policy(self, namespace, images_per_repo, retain_untagged):
        """Every repository of the namespace, with an empty list where nothing would go."""
        self._namespace(namespace)
        return self._victims(namespace, images_per_repo, retain_untagged)

    @api_method(write=True)
    def set_retention_policy(self, namespace, images_per_repo, retain_untagged):
        self._namespace(namespace)
        self.policies[namespace] = {"images_per_repo": images_per_repo, "retain_untagged": retain_untagged}
        for references in self._victims(namespace, images_per_repo, retain_untagged).values():
            for reference in references:
                self._to_trash(*reference.split("@"))

    # ------------------------------------------------------------------ trash

    @api_method()
    def list_trash(self, namespace=None):
        if namespace is not None:
            self._namespace(namespace)
        return [trash_entry(key, {"daysUntilExpiry": item["days_until_expiry"], "tags": item["tags"]})
                for key, item in sorted(self.trash.items())
                if namespace is None or key.split("/")[1] == namespace]

    @api_method(write=True)
    def restore_tag(self, reference):
        repository, tag, _digest = self._parse(reference)
        holders = [(item["days_until_expiry"], key) for key, item in self.trash.items()
                   if key.split("@")[0] == repository and tag in item["tags"]]
        if not holders:
            raise not_found("%s in the trash" % reference, code="CRT9404E")
        if any(tag in item["tags"] for item in self.repos.get(repository, {}).values()):
            raise IcrError("The tag %s already exists" % reference, status=409, code="CRT0500E")
        self._put_back(max(holders)[1], tag)  # the most recently deleted holder of the tag

    @api_method(write=True)
    def restore_digest(self, reference):
        if reference not in self.trash:
            raise not_found("%s in the trash" % reference, code="CRT9404E")
        self._put_back(reference)
        live = {tag for item in self.repos[reference.split("@")[0]].values() for tag in item["tags"]}
        result = {"successful": [], "unsuccessful": []}
        for tag in self.trash[reference]["tags"]:
            if tag in live:
                result["unsuccessful"].append(tag)
            else:
                self._put_back(reference, tag)
                result["successful"].append(tag)
        return result

    # ------------------------------------------------------------------ quota, plan, account options

    @api_method()
    def get_quota(self):
        return self.quota

    @api_method(write=True)
    def update_quota(self, storage_megabytes=None, traffic_megabytes=None):
        set_given(self.quota["limit"], storage_bytes=in_bytes(storage_megabytes),
                  traffic_bytes=in_bytes(traffic_megabytes))

    @api_method()
    def get_plan(self):
        return self.plan

    @api_method()
    def get_auth_options(self):
        return self.auth

    @api_method(write=True)
    def update_auth_options(self, iam_authz=None, private_only=None):
        set_given(self.auth, iam_authz=iam_authz, private_only=private_only)

    @api_method()
    def get_settings(self):
        return self.settings

    @api_method(write=True)
    def update_settings(self, platform_metrics=None):
        set_given(self.settings, platform_metrics=platform_metrics)


class FakeVaApi(RecordingFake):
    """Vulnerability Advisor of one account in one region, in memory, after the model of
    ``sandbox/icr_sandbox/api/va.py``: scans by image name (``add_scan``; ``pending`` answers
    "not scanned" that many times first) and exemptions by (resource, type, id)."""

    HELPERS = frozenset({"add_scan", "fail", "calls_to", "reads", "writes"})

    def __init__(self):
        self.scans = {}  # name -> {"report", "pending"}
        self.exemptions = []  # (resource or None, issue_type, issue_id)
        self.calls = []
        self.failures = {}

    def add_scan(self, name, status="OK", cves=(), pending=0):
        """A scanned image ``name`` with ``cves`` (ids; ``(id, "exempt")`` for an exempt one)."""
        vulnerabilities = []
        for cve in cves:
            cve_id, exempt_status = cve if isinstance(cve, tuple) else (cve, "active")
            vulnerabilities.append({"cve_id": cve_id, "exempt_status": exempt_status, "cve_exempt": exempt_status == "exempt",
                                    "summary": "s", "security_notices": [], "security_notice_count": 0,
                                    "exempt_security_notice_count": 0, "total_security_notice_count": 0})
        report = {"id": "x", "status": status, "scan_time": 1700000000, "os_distribution": {},
                  "vulnerabilities": vulnerabilities, "configuration_issues": []}
        self.scans[name] = {"report": report, "pending": pending}

    def _scanned(self, name):
        scan = self.scans.get(name)
        if scan is None or scan["pending"] > 0:
            if scan is not None:
                scan["pending"] -= 1
            raise IcrError("Reading the VA status of %s failed: %s has not been scanned. Try again later." % (name, name),
                           status=404, code="BXNVA0009E")
        return scan["report"]

    @staticmethod
    def _summary(report):
        exempt = sum(1 for v in report["vulnerabilities"] if v["exempt_status"] == "exempt")
        active = len(report["vulnerabilities"]) - exempt
        return {"status": report["status"], "scan_time": report["scan_time"], "vulnerability_count": active,
                "exempt_vulnerability_count": exempt, "issue_count": active, "exempt_issue_count": exempt,
                "configuration_issue_count": 0, "exempt_configuration_issue_count": 0}

    @api_method()
    def image_status(self, name):
        return self._summary(self._scanned(name))

    @api_method()
    def image_report(self, name):
        return self._scanned(name)

    def _listed(self, repository):
        return sorted((name, scan) for name, scan in self.scans.items()
                      if repository is None or name.rpartition(":")[0] == repository)

    @api_method()
    def account_status(self, repository=None):
        return [dict(self._summary(scan["report"]) if not scan["pending"] else
                     {"status": "UNSCANNED", "scan_time": 0}, name=name, created_time=1)
                for name, scan in self._listed(repository)]

    @api_method()
    def account_report(self, repository=None):
        return {name: scan["report"] for name, scan in self._listed(repository) if not scan["pending"]}

    @api_method()
    def exemption_types(self):
        return [{"identifier": t, "display_name": t, "validation_regex": "."} for t in ("cve", "sn", "configuration")]

    @api_method()
    def get_exemption(self, issue_type, issue_id, resource=None):
        if (resource, issue_type, issue_id) not in self.exemptions:
            return None
        return {"account_id": "a", "issue_type": issue_type, "issue_id": issue_id}

    @api_method(write=True)
    def create_exemption(self, issue_type, issue_id, resource=None):
        if (resource, issue_type, issue_id) not in self.exemptions:
            self.exemptions.append((resource, issue_type, issue_id))
        return {"account_id": "a", "issue_type": issue_type, "issue_id": issue_id}

    @api_method(write=True)
    def delete_exemption(self, issue_type, issue_id, resource=None):
        if (resource, issue_type, issue_id) not in self.exemptions:
            raise not_found("exemption %s %s" % (issue_type, issue_id), code="BXNVA9404E")
        self.exemptions.remove((resource, issue_type, issue_id))

    @api_method()
    def list_exemptions(self, resource=None):
        return [{"account_id": "a", "issue_type": t, "issue_id": i} for r, t, i in self.exemptions if r == resource]

    @api_method()
    def image_exemptions(self, resource):
        return [{"account_id": "a", "issue_type": t, "issue_id": i} for r, t, i in self.exemptions
                if r is None or resource.startswith(r)]
