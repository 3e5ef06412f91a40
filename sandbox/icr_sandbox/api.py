"""The ICR management API, /api/v1, for one region at a time.

Routing matches the raw, undecoded path (image references arrive percent-encoded as one
segment), then decodes each path argument. Every operation except GET /messages needs an
IAM bearer token and an ``Account`` header naming the token's account. Errors carry
``errors[0].message`` (what IBM's SDK core reads) and an ICR-style message ID; message IDs
numbered 9xxx are the sandbox's own, the others come from IBM's documentation.
"""

import json
import logging
import re
import threading
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote

from . import registry
from .registry import RegistryAdmin, RegistryError
from .state import MEGABYTE, PLANS, UNLIMITED, Refused

LOG = logging.getLogger(__name__)
PREFIX = "/api/v1/"
AUTH_REQUIRED = ("Authorization required. See https://cloud.ibm.com/docs/Registry?"
                 "topic=Registry-troubleshoot-auth-req")
DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")
TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
REPOSITORY = re.compile(r"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)+$")
# Retention never touches images built before this moment (ICR documentation).
RETENTION_CUTOFF = 1358554419   # 2013-01-19T00:13:39Z
VA_REPORT = {"configurationIssueCount": 0, "exemptIssueCount": 0, "issueCount": 0,
             "vulnerabilityCount": 0, "vulnerable": "false"}


@dataclass
class ImageRef:
    """``<domain>/<namespace>/<repo>[:tag|@digest]`` resolved to a region's repository."""

    domain: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def namespace(self):
        return self.repository.split("/", 1)[0]

    def __str__(self):
        suffix = f"@{self.digest}" if self.digest else (f":{self.tag}" if self.tag else "")
        return f"{self.domain}/{self.repository}{suffix}"


@dataclass
class Request:
    region: object
    account: object
    args: list
    params: dict
    headers: object
    body: bytes

    def flag(self, name, default=None):
        values = self.params.get(name)
        if not values:
            return default
        value = values[-1].lower()
        if value not in ("true", "false"):
            raise Refused(400, "CRG9400E", f"The query parameter '{name}' must be true or false.")
        return value == "true"

    def json(self, expected=dict):
        try:
            document = json.loads(self.body or b"null")
        except ValueError:
            raise Refused(400, "CRG9400E", "The request body is not valid JSON.") from None
        if document is None and expected is dict:
            document = {}
        if not isinstance(document, expected):
            raise Refused(400, "CRG9400E", f"The request body must be a JSON {expected.__name__}.")
        return document


class ManagementApi:
    def __init__(self, config, state, tokens):
        self._config = config
        self._state = state
        self._tokens = tokens
        self._admins = {name: RegistryAdmin(region, tokens) for name, region in config.regions.items()}
        # One writer at a time per region: image changes read storage, then write.
        self._locks = {name: threading.RLock() for name in config.regions}
        self._routes = [
            ("GET", ("auth",), self.get_auth, True),
            ("PATCH", ("auth",), self.update_auth, True),
            ("GET", ("images",), self.list_images, True),
            ("POST", ("images", "bulkdelete"), self.bulk_delete_images, True),
            ("POST", ("images", "digests"), self.list_image_digests, True),
            ("POST", ("images", "tags"), self.tag_image, True),
            ("DELETE", ("images", None), self.delete_image, True),
            ("GET", ("images", None, "json"), self.inspect_image, True),
            ("GET", ("images", None, "manifest"), self.get_image_manifest, True),
            ("GET", ("messages",), self.get_messages, False),
            ("GET", ("namespaces",), self.list_namespaces, True),
            ("GET", ("namespaces", "details"), self.list_namespace_details, True),
            ("PUT", ("namespaces", None), self.create_namespace, True),
            ("PATCH", ("namespaces", None), self.assign_namespace, True),
            ("DELETE", ("namespaces", None), self.delete_namespace, True),
            ("GET", ("plans",), self.get_plans, True),
            ("PATCH", ("plans",), self.update_plans, True),
            ("GET", ("quotas",), self.get_quota, True),
            ("PATCH", ("quotas",), self.update_quota, True),
            ("GET", ("retentions",), self.list_retention_policies, True),
            ("POST", ("retentions",), self.set_retention_policy, True),
            ("POST", ("retentions", "analyze"), self.analyze_retention_policy, True),
            ("GET", ("retentions", None), self.get_retention_policy, True),
            ("GET", ("settings",), self.get_settings, True),
            ("PATCH", ("settings",), self.update_settings, True),
            ("DELETE", ("tags", None), self.delete_image_tag, True),
            ("GET", ("trash",), self.list_deleted_images, True),
            ("POST", ("trash", None, "restoretags"), self.restore_tags, True),
            ("POST", ("trash", None, "restore"), self.restore_image, True),
        ]

    # ---- entry points --------------------------------------------------------------------

    def handle(self, region, method, raw_path, query, headers, body):
        transaction_id = headers.get("X-Global-Transaction-ID") or uuid.uuid4().hex
        try:
            status, response_headers, payload = self._dispatch(region, method, raw_path, query, headers, body)
        except Refused as refusal:
            status, response_headers, payload = _error(refusal.status, refusal.code, refusal.message, transaction_id)
        except RegistryError as failure:
            status, response_headers, payload = _error(502, "CRG9502E", str(failure), transaction_id)
        except Exception as failure:  # noqa: BLE001 - a sandbox bug must still answer like ICR would
            LOG.exception("unexpected failure in %s %s", method, raw_path)
            status, response_headers, payload = _error(500, "CRG9500E", f"Internal error: {failure!r}", transaction_id)
        response_headers["X-Global-Transaction-ID"] = transaction_id
        return status, response_headers, payload

    def record_events(self, region, events):
        """Counts pulled bytes (registry GET events) against the namespace owner's traffic."""
        for event in events:
            if event.get("action") != "pull" or event.get("request", {}).get("method") != "GET":
                continue
            target = event.get("target", {})
            owner = self._state.namespace_owner(region.name, target.get("repository", "").split("/", 1)[0])
            if owner and target.get("size"):
                self._state.add_traffic(region.name, owner, int(target["size"]))

    def _dispatch(self, region, method, raw_path, query, headers, body):
        if not raw_path.startswith(PREFIX):
            raise Refused(404, "CRG9404E", f"No such API: {method} {raw_path}")
        segments = raw_path[len(PREFIX):].rstrip("/").split("/")
        for route_method, pattern, handler, needs_account in self._routes:
            if route_method != method or len(pattern) != len(segments):
                continue
            if all(p is None or p == s for p, s in zip(pattern, segments)):
                args = [unquote(s) for p, s in zip(pattern, segments) if p is None]
                account = self._authenticate(headers) if needs_account else None
                request = Request(region, account, args, parse_qs(query or "", keep_blank_values=True), headers, body)
                return handler(request)
        raise Refused(404, "CRG9404E", f"No such API: {method} {raw_path}")

    def _authenticate(self, headers):
        authorization = headers.get("Authorization") or ""
        scheme, _, token = authorization.partition(" ")
        account = self._tokens.account_from_bearer(token.strip()) if scheme.lower() == "bearer" else None
        if account is None or headers.get("Account") != account.account_id:
            raise Refused(401, "CRG0014E", AUTH_REQUIRED)
        return account

    # ---- auth options, settings, plans, quotas, messages ----------------------------------

    def get_auth(self, request):
        settings = self._settings(request)
        return _json(200, {"iam_authz": settings["iam_authz"], "private_only": settings["private_only"]})

    def update_auth(self, request):
        changes = _booleans(request.json(), ("iam_authz", "private_only"))
        self._state.update_account_settings(request.region.name, request.account.account_id, **changes)
        return _empty(204)

    def get_settings(self, request):
        return _json(200, {"platform_metrics": self._settings(request)["platform_metrics"]})

    def update_settings(self, request):
        changes = _booleans(request.json(), ("platform_metrics",))
        self._state.update_account_settings(request.region.name, request.account.account_id, **changes)
        return _empty(204)

    def get_plans(self, request):
        return _json(200, {"plan": self._settings(request)["plan"]})

    def update_plans(self, request):
        """Upgrades Free to Standard; Standard cannot go back to Free (403), as on IBM Cloud."""
        wanted = str(request.json().get("plan", "")).capitalize()
        if wanted not in PLANS:
            raise Refused(400, "CRP9001E", f"The plan must be one of {', '.join(PLANS)}.")
        current = self._settings(request)["plan"]
        if wanted == "Free" and current == "Standard":
            raise Refused(403, "CRP9002E", "The plan cannot be changed from Standard back to Free.")
        self._state.update_account_settings(request.region.name, request.account.account_id, plan=wanted)
        return _empty(200)

    def get_quota(self, request):
        settings = self._settings(request)
        used = self._state.storage_bytes_used(request.region.name, request.account.account_id)
        return _json(200, {
            "limit": {"storage_bytes": _bytes(settings["storage_megabytes"]),
                      "traffic_bytes": _bytes(settings["traffic_megabytes"])},
            "usage": {"storage_bytes": used, "traffic_bytes": settings["traffic_bytes_used"]},
        })

    def update_quota(self, request):
        body = request.json()
        changes = {}
        for name in ("storage_megabytes", "traffic_megabytes"):
            if name in body:
                value = body[name]
                if not isinstance(value, int) or isinstance(value, bool) or value < UNLIMITED:
                    raise Refused(400, "CRQ9001E", f"'{name}' must be a whole number of megabytes, or -1 for unlimited.")
                changes[name] = value
        self._state.update_account_settings(request.region.name, request.account.account_id, **changes)
        return _empty(200)

    def get_messages(self, request):
        return _empty(204)

    def _settings(self, request):
        return self._state.account_settings(request.region.name, request.account.account_id)

    # ---- namespaces ------------------------------------------------------------------------

    def list_namespaces(self, request):
        return _json(200, [r["name"] for r in self._own_namespaces(request)])

    def list_namespace_details(self, request):
        return _json(200, [self._namespace_details(request.region, r) for r in self._own_namespaces(request)])

    def create_namespace(self, request):
        name = request.args[0]
        group = request.headers.get("X-Auth-Resource-Group")
        if group is None:
            groups = request.account.resource_groups
            group = groups[0] if groups else None
        else:
            self._check_resource_group(request, group)
        created = self._state.create_namespace(request.region.name, request.account.account_id, name, group)
        return _json(201 if created else 200, {"namespace": name})

    def assign_namespace(self, request):
        name = request.args[0]
        group = request.headers.get("X-Auth-Resource-Group")
        if not group:
            raise Refused(400, "CRN9007E", "The X-Auth-Resource-Group header is required to assign a namespace.")
        self._check_resource_group(request, group)
        self._state.assign_namespace(request.region.name, request.account.account_id, name, group)
        return _json(200, {"namespace": name})

    def delete_namespace(self, request):
        name = request.args[0]
        with self._locks[request.region.name]:
            self._own_namespace(request, name)
            self._admins[request.region.name].delete_namespace_storage(name)
            self._state.delete_namespace(request.region.name, request.account.account_id, name)
        return _empty(204)

    def _check_resource_group(self, request, group):
        if group not in request.account.resource_groups:
            raise Refused(400, "CRN9006E", f"The resource group '{group}' was not found in your account.")

    def _own_namespaces(self, request):
        return self._state.namespaces_of(request.region.name, request.account.account_id)

    def _own_namespace(self, request, name):
        if self._state.namespace_owner(request.region.name, name) != request.account.account_id:
            raise Refused(404, "CRN9003E", f"The namespace '{name}' was not found in your account in this region.")

    def _namespace_details(self, region, record):
        details = {key: record[key] for key in ("account", "created_date", "name", "updated_date")}
        if record["resource_group"]:
            location = "us-east" if region.name == "global" else region.name
            details.update(
                resource_group=record["resource_group"],
                resource_created_date=record["resource_created_date"],
                crn=f"crn:v1:bluemix:public:container-registry:{location}:a/{record['account']}::namespace:{record['name']}",
            )
        return details

    # ---- image references --------------------------------------------------------------------

    def _in_this_region(self, request, text):
        region = self._config.region_for_domain((text or "").partition("/")[0])
        return region is not None and region.name == request.region.name

    def _parse_ref(self, request, text):
        if not self._in_this_region(request, text):
            raise Refused(400, "CRI9010E", f"The image '{text}' is not in this region's registry "
                                           f"({request.region.domain}). Use a reference that starts with {request.region.domain}/.")
        ref = ImageRef(domain=request.region.domain, repository=text.partition("/")[2])
        rest = ref.repository
        if "@" in rest:
            ref.repository, _, ref.digest = rest.partition("@")
            if not DIGEST.match(ref.digest):
                raise Refused(400, "CRI9011E", f"The digest in '{text}' is not valid.")
        else:
            head, slash, last = rest.rpartition("/")
            if ":" in last:
                name, _, ref.tag = last.partition(":")
                ref.repository = f"{head}{slash}{name}"
                if not TAG.match(ref.tag):
                    raise Refused(400, "CRI9011E", f"The tag in '{text}' is not valid.")
        if not REPOSITORY.match(ref.repository):
            raise Refused(400, "CRI9011E", f"'{text}' is not a valid image reference: use <domain>/<namespace>/<repository>[:<tag>|@<digest>].")
        self._own_namespace(request, ref.namespace)
        return ref

    def _resolve(self, request, ref):
        """The digest a tag or digest reference stands for; 404 when there is none."""
        storage = self._admins[request.region.name].storage
        if ref.digest:
            digest = ref.digest if ref.digest in storage.manifest_digests(ref.repository) else None
        else:
            digest = storage.tags(ref.repository).get(ref.tag or "latest")
        if not digest:
            raise Refused(404, "CRI9404E", f"The image '{ref}' was not found.")
        return digest

    def _repositories(self, request, namespaces, wanted=None):
        storage = self._admins[request.region.name].storage
        found = [repo for ns in namespaces for repo in storage.repositories(ns)]
        if wanted:
            names = {_strip_domain(w) for w in wanted}
            found = [repo for repo in found if repo in names]
        return found

    def _info(self, request, digest):
        return self._admins[request.region.name].manifest_info(digest)

    # ---- listing and reading images ----------------------------------------------------------

    def list_images(self, request):
        if request.flag("includePrivate", True) is False:
            return _json(200, [])
        owned = [r["name"] for r in self._own_namespaces(request)]
        namespaces = [n for n in request.params.get("namespace", []) if n in owned] if "namespace" in request.params else owned
        with_lists = request.flag("includeManifestLists", False)
        with_va = request.flag("vulnerabilities", True)
        storage = self._admins[request.region.name].storage
        images = []
        for repository in self._repositories(request, namespaces, request.params.get("repository")):
            by_digest = {}
            for tag, digest in sorted(storage.tags(repository).items()):
                by_digest.setdefault(digest, []).append(tag)
            for digest, tags in by_digest.items():
                info = self._info(request, digest)
                if info is None or (info.is_list and not with_lists):
                    continue
                images.append(self._remote_image(request, repository, info, tags, with_va))
        return _json(200, images)

    def _remote_image(self, request, repository, info, tags, with_va):
        full = f"{request.region.domain}/{repository}"
        config = info.config.get("config") or {}
        image = {
            "Id": info.config_digest or info.digest,
            "ParentId": info.config.get("parent", ""),
            "Created": info.created or 0,
            "RepoTags": [f"{full}:{tag}" for tag in tags],
            "RepoDigests": [f"{full}@{info.digest}"],
            "DigestTags": {info.digest: tags},
            "Labels": config.get("Labels") or {},
            "ManifestType": info.type_name,
            "Size": self._size(request, info),
            "VirtualSize": self._size(request, info),
        }
        if with_va:
            image.update(ConfigurationIssueCount=0, ExemptIssueCount=0, IssueCount=0, VulnerabilityCount=0, Vulnerable="false")
        return image

    def _size(self, request, info):
        if not info.is_list:
            return info.size
        children = (self._info(request, child) for child in info.children)
        return sum(child.size for child in children if child)

    def list_image_digests(self, request):
        body = request.json()
        repositories = body.get("repositories") or None
        exclude_tagged = bool(body.get("exclude_tagged"))
        va_report = {} if body.get("exclude_va") else VA_REPORT
        namespaces = [r["name"] for r in self._own_namespaces(request)]
        storage = self._admins[request.region.name].storage
        found = {}
        for repository in self._repositories(request, namespaces, repositories):
            tags = storage.tags(repository)
            for digest in storage.manifest_digests(repository):
                repo_tags = found.setdefault(digest, {}).setdefault(f"{request.region.domain}/{repository}", {})
                repo_tags.update({tag: dict(va_report) for tag, d in tags.items() if d == digest})
        digests = []
        for digest, repo_tags in sorted(found.items()):
            info = self._info(request, digest)
            if info is None or (exclude_tagged and any(repo_tags.values())):
                continue
            digests.append({"id": digest, "created": info.created or 0, "manifestType": info.type_name,
                            "size": self._size(request, info), "repoTags": repo_tags})
        return _json(200, digests)

    def inspect_image(self, request):
        ref = self._parse_ref(request, request.args[0])
        info = self._info(request, self._resolve(request, ref))
        if info.is_list:
            child = _pick_platform(info)
            info = self._info(request, child) if child else None
            if info is None:
                raise Refused(404, "CRI9404E", f"The manifest list '{ref}' holds no image that can be inspected.")
        config = info.config
        rootfs = config.get("rootfs") or {}
        layers = rootfs.get("diff_ids") or []
        return _json(200, {
            "Id": info.config_digest,
            "Parent": config.get("parent", ""),
            "Comment": config.get("comment", ""),
            "Created": config.get("created", ""),
            "Container": config.get("container", ""),
            "ContainerConfig": config.get("container_config") or {},
            "DockerVersion": config.get("docker_version", ""),
            "Author": config.get("author", ""),
            "Config": config.get("config") or {},
            "Architecture": config.get("architecture", ""),
            "Os": config.get("os", ""),
            "OsVersion": config.get("os.version", ""),
            "Size": info.size,
            "VirtualSize": info.size,
            "RootFS": {"Type": rootfs.get("type", ""), "Layers": layers, "BaseLayer": layers[0] if layers else ""},
            "ManifestType": info.type_name,
        })

    def get_image_manifest(self, request):
        ref = self._parse_ref(request, request.args[0])
        info = self._info(request, self._resolve(request, ref))
        return 200, {"Content-Type": info.media_type}, info.raw

    # ---- deleting, untagging, tagging -------------------------------------------------------

    def delete_image(self, request):
        ref = self._parse_ref(request, request.args[0])
        with self._locks[request.region.name]:
            self._trash_and_delete(request, ref.repository, self._resolve(request, ref))
        return _json(200, {"Untagged": str(ref)})

    def _trash_and_delete(self, request, repository, digest):
        """image-rm: the digest and all its tags in this repository go to the trash."""
        admin = self._admins[request.region.name]
        info = admin.manifest_info(digest)
        tags = [tag for tag, d in admin.storage.tags(repository).items() if d == digest]
        self._state.trash_put(request.region.name, repository, digest, tags, info.raw, info.media_type)
        admin.delete_manifest(repository, digest)

    def delete_image_tag(self, request):
        ref = self._parse_ref(request, request.args[0])
        if not ref.tag:
            raise Refused(400, "CRI9012E", f"'{ref}' has no tag: untag needs <repository>:<tag>.")
        with self._locks[request.region.name]:
            self._resolve(request, ref)
            self._admins[request.region.name].untag(ref.repository, ref.tag)
        return _json(200, {"Untagged": str(ref)})

    def bulk_delete_images(self, request):
        result = {"success": [], "error": {}}
        for text in request.json(expected=list):
            try:
                ref = self._parse_ref(request, text if isinstance(text, str) else "")
                if not ref.digest:
                    raise Refused(400, "CRI9013E", f"'{text}' is not a digest reference (<repository>@sha256:...).")
                with self._locks[request.region.name]:
                    self._trash_and_delete(request, ref.repository, self._resolve(request, ref))
                result["success"].append(str(ref))
            except Refused as refusal:
                result["error"][str(text)] = {"code": refusal.code, "message": refusal.message}
        return _json(200, result)

    def tag_image(self, request):
        sources, targets = request.params.get("fromimage"), request.params.get("toimage")
        if not sources or not targets:
            raise Refused(400, "CRI9014E", "Both fromimage and toimage are required.")
        if not self._in_this_region(request, targets[-1]):
            raise Refused(400, "CRI9016E", f"Images can be tagged only within one region: '{targets[-1]}' is not in "
                                           f"{request.region.domain}. To copy between regions, pull and push the image.")
        source = self._parse_ref(request, sources[-1])
        target = self._parse_ref(request, targets[-1])
        if target.digest:
            raise Refused(400, "CRI9015E", f"The target '{target}' must be a tag, not a digest.")
        with self._locks[request.region.name]:
            digest = self._resolve(request, source)
            self._check_copyable(request, source.repository, digest)
            self._copy_manifest(request, source.repository, digest, target.repository, target.tag or "latest")
        return _empty(201)

    def _check_copyable(self, request, repository, digest):
        info = self._info(request, digest)
        if info.media_type in registry.DOCKER_SCHEMA1:
            raise Refused(400, "CRI0301E", "The image uses manifest schema version 1, which cannot be tagged.")
        if info.media_type not in registry.MANIFEST_TYPES:
            raise Refused(400, "CRI0302E", f"The manifest type {info.media_type} is not supported for tagging.")
        live = self._admins[request.region.name].storage.manifest_digests(repository)
        for child in info.children:
            if child not in live:
                raise Refused(400, "CRI0304E", f"The manifest list references the image {child}, which is not in {repository}.")
            self._check_copyable(request, repository, child)

    def _copy_manifest(self, request, source, digest, target, reference):
        """PUT the same bytes into the target: blobs mounted first, list children by digest."""
        admin = self._admins[request.region.name]
        info = admin.manifest_info(digest)
        if target != source:
            for child in info.children:
                self._copy_manifest(request, source, child, target, child)
            for blob in registry.referenced_blobs(info.raw):
                admin.mount_blob(target, blob, source)
        admin.put_manifest(target, reference, info.raw, info.media_type)

    # ---- trash ---------------------------------------------------------------------------------

    def list_deleted_images(self, request):
        wanted = request.params.get("namespace")
        if wanted:
            self._own_namespace(request, wanted[-1])
            namespaces = [wanted[-1]]
        else:
            namespaces = [r["name"] for r in self._own_namespaces(request)]
        items = self._state.trash_items(request.region.name, namespaces)
        return _json(200, {f"{request.region.domain}/{item['repository']}@{item['digest']}":
                           {"daysUntilExpiry": item["days_until_expiry"], "tags": item["tags"]} for item in items})

    def restore_image(self, request):
        ref = self._parse_ref(request, request.args[0])
        if not ref.tag:
            raise Refused(400, "CRT9001E", f"'{ref}' has no tag: restore needs <repository>:<tag>.")
        items = [item for item in self._state.trash_items(request.region.name, [ref.namespace])
                 if item["repository"] == ref.repository and ref.tag in item["tags"]]
        if not items:
            raise Refused(404, "CRT9404E", f"The image '{ref}' is not in the trash.")
        item = max(items, key=lambda i: i["deleted_at"])
        with self._locks[request.region.name]:
            if ref.tag in self._admins[request.region.name].storage.tags(ref.repository):
                raise Refused(409, "CRT0500E", f"The tag '{ref}' already exists. Untag it before you restore the image.")
            self._put_back(request, item, ref.tag)
        return _empty(200)

    def restore_tags(self, request):
        ref = self._parse_ref(request, request.args[0])
        if not ref.digest:
            raise Refused(400, "CRT9002E", f"'{ref}' is not a digest reference (<repository>@sha256:...).")
        items = [item for item in self._state.trash_items(request.region.name, [ref.namespace])
                 if item["repository"] == ref.repository and item["digest"] == ref.digest]
        if not items:
            raise Refused(404, "CRT9404E", f"The image '{ref}' is not in the trash.")
        result = {"successful": [], "unsuccessful": []}
        with self._locks[request.region.name]:
            self._put_back(request, items[0], ref.digest)
            live = self._admins[request.region.name].storage.tags(ref.repository)
            for tag in items[0]["tags"]:
                if tag in live:
                    result["unsuccessful"].append(tag)
                else:
                    self._put_back(request, items[0], tag)
                    result["successful"].append(tag)
        return _json(200, result)

    def _put_back(self, request, item, reference):
        """Re-PUTs a trashed manifest; its blobs are still in storage (no garbage collection yet)."""
        self._admins[request.region.name].put_manifest(item["repository"], reference, item["manifest"], item["media_type"])

    # ---- retention -----------------------------------------------------------------------------

    def list_retention_policies(self, request):
        return _json(200, self._state.retentions(request.region.name, request.account.account_id))

    def get_retention_policy(self, request):
        self._own_namespace(request, request.args[0])
        return _json(200, self._state.retention(request.region.name, request.account.account_id, request.args[0]))

    def set_retention_policy(self, request):
        namespace, images_per_repo, retain_untagged = self._policy_body(request)
        self._state.set_retention(request.region.name, request.account.account_id, namespace, images_per_repo, retain_untagged)
        with self._locks[request.region.name]:
            for repository, digests in self._retention_victims(request, namespace, images_per_repo, retain_untagged).items():
                for digest in digests:
                    self._trash_and_delete(request, repository, digest)
        return _empty(201)

    def analyze_retention_policy(self, request):
        namespace, images_per_repo, retain_untagged = self._policy_body(request)
        victims = self._retention_victims(request, namespace, images_per_repo, retain_untagged)
        domain = request.region.domain
        return _json(200, {f"{domain}/{repo}": [f"{domain}/{repo}@{d}" for d in digests] for repo, digests in victims.items()})

    def _policy_body(self, request):
        body = request.json()
        namespace = body.get("namespace")
        if not isinstance(namespace, str) or not namespace:
            raise Refused(400, "CRR9001E", "'namespace' is required.")
        self._own_namespace(request, namespace)
        images_per_repo = body.get("images_per_repo", UNLIMITED)
        if not isinstance(images_per_repo, int) or isinstance(images_per_repo, bool) or images_per_repo < UNLIMITED:
            raise Refused(400, "CRR9002E", "'images_per_repo' must be a whole number, or -1 to keep all images.")
        retain_untagged = body.get("retain_untagged", False)
        if not isinstance(retain_untagged, bool):
            raise Refused(400, "CRR9003E", "'retain_untagged' must be true or false.")
        return namespace, images_per_repo, retain_untagged

    def _retention_victims(self, request, namespace, images_per_repo, retain_untagged):
        """{repository: [digest]} beyond the N newest images (by build date) of each repository."""
        if images_per_repo == UNLIMITED:
            return {}
        storage = self._admins[request.region.name].storage
        victims = {}
        for repository in storage.repositories(namespace):
            tagged = set(storage.tags(repository).values())
            infos = [i for i in (self._info(request, d) for d in storage.manifest_digests(repository)) if i]
            # Manifest lists are never counted, and the images they hold go with them.
            in_lists = {child for i in infos if i.is_list for child in i.children}
            candidates = [i for i in infos if not i.is_list and i.digest not in in_lists
                          and i.created is not None and i.created >= RETENTION_CUTOFF
                          and (i.digest in tagged or not retain_untagged)]
            candidates.sort(key=lambda i: (i.created, i.digest), reverse=True)
            doomed = [i.digest for i in candidates[images_per_repo:]]
            if doomed:
                victims[repository] = doomed
        return victims


# ---- helpers ---------------------------------------------------------------------------------

def _json(status, document):
    return status, {"Content-Type": "application/json"}, json.dumps(document).encode()


def _empty(status):
    return status, {}, b""


def _error(status, code, message, transaction_id):
    return _json(status, {"errors": [{"code": code, "message": message}], "trace": transaction_id})


def _bytes(megabytes):
    return UNLIMITED if megabytes == UNLIMITED else megabytes * MEGABYTE


def _booleans(body, names):
    changes = {}
    for name in names:
        if name in body:
            if not isinstance(body[name], bool):
                raise Refused(400, "CRG9400E", f"'{name}' must be true or false.")
            changes[name] = body[name]
    return changes


def _strip_domain(repository):
    """``us.icr.io/ns/repo`` or ``ns/repo`` -> ``ns/repo``."""
    head, _, rest = repository.partition("/")
    return rest if ("." in head or ":" in head) else repository


def _pick_platform(info):
    """The child an inspect of a manifest list shows: linux/amd64, else the first."""
    for child, platform in info.platforms.items():
        if platform == "linux/amd64":
            return child
    return info.children[0] if info.children else None
