"""Images and tags (/images, /tags): list, digests, inspect, manifest, delete, untag, tag."""

from .. import rules
from ..state import Refused
from . import references
from .responses import empty_response, json_response

VA_REPORT = {"configurationIssueCount": 0, "exemptIssueCount": 0, "issueCount": 0,
             "vulnerabilityCount": 0, "vulnerable": "false"}


# ---- listing and reading -------------------------------------------------------------------

def list_images(request):
    if request.flag("includePrivate", True) is False:
        return json_response(200, [])
    owned = request.own_namespace_names()
    namespaces = [n for n in request.params.get("namespace", []) if n in owned] if "namespace" in request.params else owned
    with_lists = request.flag("includeManifestLists", False)
    with_va = request.flag("vulnerabilities", True)
    storage = request.admin.storage
    images = []
    for repository in _repositories(request, namespaces, request.params.get("repository")):
        by_digest = {}
        for tag, digest in sorted(storage.tags(repository).items()):
            by_digest.setdefault(digest, []).append(tag)
        for digest, tags in by_digest.items():
            info = request.admin.manifest_info(digest)
            if info is None or (info.is_list and not with_lists):
                continue
            images.append(_remote_image(request, repository, info, tags, with_va))
    return json_response(200, images)


def list_image_digests(request):
    body = request.json()
    repositories = body.get("repositories") or None
    exclude_tagged = bool(body.get("exclude_tagged"))
    va_report = {} if body.get("exclude_va") else VA_REPORT
    storage = request.admin.storage
    found = {}
    for repository in _repositories(request, request.own_namespace_names(), repositories):
        tags = storage.tags(repository)
        for digest in storage.manifest_digests(repository):
            repo_tags = found.setdefault(digest, {}).setdefault(f"{request.region.domain}/{repository}", {})
            repo_tags.update({tag: dict(va_report) for tag, d in tags.items() if d == digest})
    digests = []
    for digest, repo_tags in sorted(found.items()):
        info = request.admin.manifest_info(digest)
        if info is None or (exclude_tagged and any(repo_tags.values())):
            continue
        digests.append({"id": digest, "created": info.created or 0, "manifestType": info.type_name,
                        "size": _size(request, info), "repoTags": repo_tags})
    return json_response(200, digests)


def inspect_image(request):
    ref = references.parse(request, request.args[0])
    info = request.admin.manifest_info(references.resolve(request, ref))
    if info.is_list:
        child = _pick_platform(info)
        info = request.admin.manifest_info(child) if child else None
        if info is None:
            raise Refused(404, "CRI9404E", f"The manifest list '{ref}' holds no image that can be inspected.")
    config = info.config
    rootfs = config.get("rootfs") or {}
    layers = rootfs.get("diff_ids") or []
    return json_response(200, {
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


def get_image_manifest(request):
    ref = references.parse(request, request.args[0])
    info = request.admin.manifest_info(references.resolve(request, ref))
    return 200, {"Content-Type": info.media_type}, info.raw


# ---- deleting, untagging, tagging ----------------------------------------------------------

def delete_image(request):
    ref = references.parse(request, request.args[0])
    with request.lock:
        rules.trash_and_delete(request.state, request.admin, ref.repository, references.resolve(request, ref))
    return json_response(200, {"Untagged": str(ref)})


def delete_image_tag(request):
    ref = references.parse(request, request.args[0])
    if not ref.tag:
        raise Refused(400, "CRI9012E", f"'{ref}' has no tag: untag needs <repository>:<tag>.")
    with request.lock:
        references.resolve(request, ref)
        request.admin.untag(ref.repository, ref.tag)
    return json_response(200, {"Untagged": str(ref)})


def bulk_delete_images(request):
    result = {"success": [], "error": {}}
    for text in request.json(expected=list):
        try:
            ref = references.parse(request, text if isinstance(text, str) else "")
            if not ref.digest:
                raise Refused(400, "CRI9013E", f"'{text}' is not a digest reference (<repository>@sha256:...).")
            with request.lock:
                rules.trash_and_delete(request.state, request.admin, ref.repository, references.resolve(request, ref))
            result["success"].append(str(ref))
        except Refused as refusal:
            result["error"][str(text)] = {"code": refusal.code, "message": refusal.message}
    return json_response(200, result)


def tag_image(request):
    sources, targets = request.params.get("fromimage"), request.params.get("toimage")
    if not sources or not targets:
        raise Refused(400, "CRI9014E", "Both fromimage and toimage are required.")
    if not references.in_this_region(request, targets[-1]):
        raise Refused(400, "CRI9016E", f"Images can be tagged only within one region: '{targets[-1]}' is not in "
                                       f"{request.region.domain}. To copy between regions, pull and push the image.")
    source = references.parse(request, sources[-1])
    target = references.parse(request, targets[-1])
    if target.digest:
        raise Refused(400, "CRI9015E", f"The target '{target}' must be a tag, not a digest.")
    with request.lock:
        digest = references.resolve(request, source)
        rules.copy_image(request.admin, source.repository, digest, target.repository, target.tag or "latest")
    return empty_response(201)


# ---- helpers -------------------------------------------------------------------------------

def _repositories(request, namespaces, wanted=None):
    storage = request.admin.storage
    found = [repo for ns in namespaces for repo in storage.repositories(ns)]
    if wanted:
        names = {_strip_domain(w) for w in wanted}
        found = [repo for repo in found if repo in names]
    return found


def _remote_image(request, repository, info, tags, with_va):
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
        "Size": _size(request, info),
        "VirtualSize": _size(request, info),
    }
    if with_va:
        image.update(ConfigurationIssueCount=0, ExemptIssueCount=0, IssueCount=0, VulnerabilityCount=0, Vulnerable="false")
    return image


def _size(request, info):
    """An image's size; a manifest list counts the images it holds."""
    if not info.is_list:
        return info.size
    children = (request.admin.manifest_info(child) for child in info.children)
    return sum(child.size for child in children if child)


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
