"""ICR's rules that need both the API state and a region's registry storage.

The /api/v1 handlers parse a request and format the answer; what ICR decides in between
lives here: what image-rm keeps in the trash and how a restore puts it back, which images
a retention policy removes, which manifests can be tagged, the plan and quota rules, and
the pulled bytes counted against the traffic quota. ``admin`` is the region's
``RegistryAdmin``; callers hold the region's lock around a rule that reads storage and
then writes it.
"""

from . import registry
from .config import MANAGER, READER, ROLES, WRITER
from .state import MEGABYTE, PLANS, UNLIMITED, Refused

# Retention never touches images built before this moment (ICR documentation).
RETENTION_CUTOFF = 1358554419   # 2013-01-19T00:13:39Z
QUOTA_FIELDS = ("storage_megabytes", "traffic_megabytes")


# ---- service roles (docs/sandbox-auth.md, "Roles") -----------------------------------------

NOT_AUTHORIZED = "You are not authorized to access the specified resource."
# What each role lets a token ask the realm for; a role includes the roles before it.
REGISTRY_ACTIONS = {READER: {"pull"}, WRITER: {"pull", "push", "delete"}, MANAGER: {"pull", "push", "delete"}}
PRIVATE_ONLY = ("Your account is set to accept image pushes and pulls only over private network connections "
                "(private_only). Use the private endpoint {private} instead of {public}.")


def role_allows(principal, needed):
    """True when the principal has ``needed`` (or a stronger role); no role means no restriction."""
    return principal.role is None or ROLES.index(principal.role) >= ROLES.index(needed)


def check_role(principal, needed):
    """/api/v1: 403 unless the caller's service role covers the operation's."""
    if not role_allows(principal, needed):
        raise Refused(403, "CRG9403E", f"{NOT_AUTHORIZED} The operation needs the {needed} service role on "
                                       f"Container Registry; {principal.name} has {principal.role}.")


def registry_actions(principal):
    """/v2 actions the principal's role allows on its own account's repositories."""
    return {"pull", "push", "delete"} if principal.role is None else REGISTRY_ACTIONS[principal.role]


def private_only_refusal(state, region, account_id, private):
    """The realm's message when a public push or pull meets the private_only setting, else None."""
    if private or not state.account_settings(region.name, account_id)["private_only"]:
        return None
    return PRIVATE_ONLY.format(private=region.private_domain, public=region.domain)


# ---- trash ---------------------------------------------------------------------------------

def trash_and_delete(state, admin, repository, digest):
    """image-rm: the digest and all its tags in this repository go to the trash."""
    info = admin.manifest_info(digest)
    tags = [tag for tag, d in admin.storage.tags(repository).items() if d == digest]
    state.trash_put(admin.region.name, repository, digest, tags, info.raw, info.media_type)
    admin.delete_manifest(repository, digest)


def restore_tag(state, admin, ref):
    """Puts the newest trashed image that had ``ref.tag`` back under that tag (409 if taken)."""
    items = _trashed(state, admin, ref, lambda item: ref.tag in item["tags"])
    item = max(items, key=lambda i: i["deleted_at"])
    if ref.tag in admin.storage.tags(ref.repository):
        raise Refused(409, "CRT0500E", f"The tag '{ref}' already exists. Untag it before you restore the image.")
    _put_back(admin, item, ref.tag)


def restore_digest(state, admin, ref):
    """Puts a trashed digest back, then each of its tags nobody took meanwhile.

    Returns (restored tags, tags left out because they are live again)."""
    item = _trashed(state, admin, ref, lambda item: item["digest"] == ref.digest)[0]
    _put_back(admin, item, ref.digest)
    live = admin.storage.tags(ref.repository)
    restored, taken = [], []
    for tag in item["tags"]:
        if tag in live:
            taken.append(tag)
        else:
            _put_back(admin, item, tag)
            restored.append(tag)
    return restored, taken


def _trashed(state, admin, ref, wanted):
    items = [item for item in state.trash_items(admin.region.name, [ref.namespace])
             if item["repository"] == ref.repository and wanted(item)]
    if not items:
        raise Refused(404, "CRT9404E", f"The image '{ref}' is not in the trash.")
    return items


def _put_back(admin, item, reference):
    """Re-PUTs a trashed manifest; its blobs are still in storage (no garbage collection yet)."""
    admin.put_manifest(item["repository"], reference, item["manifest"], item["media_type"])


# ---- retention -----------------------------------------------------------------------------

def check_retention_policy(images_per_repo, retain_untagged):
    if not isinstance(images_per_repo, int) or isinstance(images_per_repo, bool) or images_per_repo < UNLIMITED:
        raise Refused(400, "CRR9002E", "'images_per_repo' must be a whole number, or -1 to keep all images.")
    if not isinstance(retain_untagged, bool):
        raise Refused(400, "CRR9003E", "'retain_untagged' must be true or false.")


def retention_victims(admin, namespace, images_per_repo, retain_untagged):
    """{repository: [digest]} beyond the N newest images (by build date) of each repository."""
    if images_per_repo == UNLIMITED:
        return {}
    storage = admin.storage
    victims = {}
    for repository in storage.repositories(namespace):
        tagged = set(storage.tags(repository).values())
        infos = [i for i in (admin.manifest_info(d) for d in storage.manifest_digests(repository)) if i]
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


def enforce_retention(state, admin, namespace, images_per_repo, retain_untagged):
    """Moves what the policy does not keep to the trash, as ICR does when a policy is set."""
    for repository, digests in retention_victims(admin, namespace, images_per_repo, retain_untagged).items():
        for digest in digests:
            trash_and_delete(state, admin, repository, digest)


# ---- tagging -------------------------------------------------------------------------------

def copy_image(admin, source, digest, target, reference):
    """Tags ``source@digest`` as ``target:reference`` after checking ICR can tag it."""
    _check_copyable(admin, source, digest)
    _copy_manifest(admin, source, digest, target, reference)


def _check_copyable(admin, repository, digest):
    info = admin.manifest_info(digest)
    if info.media_type in registry.DOCKER_SCHEMA1:
        raise Refused(400, "CRI0301E", "The image uses manifest schema version 1, which cannot be tagged.")
    if info.media_type not in registry.MANIFEST_TYPES:
        raise Refused(400, "CRI0302E", f"The manifest type {info.media_type} is not supported for tagging.")
    live = admin.storage.manifest_digests(repository)
    for child in info.children:
        if child not in live:
            raise Refused(400, "CRI0304E", f"The manifest list references the image {child}, which is not in {repository}.")
        _check_copyable(admin, repository, child)


def _copy_manifest(admin, source, digest, target, reference):
    """PUT the same bytes into the target: blobs mounted first, list children by digest."""
    info = admin.manifest_info(digest)
    if target != source:
        for child in info.children:
            _copy_manifest(admin, source, child, target, child)
        for blob in registry.referenced_blobs(info.raw):
            admin.mount_blob(target, blob, source)
    admin.put_manifest(target, reference, info.raw, info.media_type)


# ---- plans, quotas, traffic ----------------------------------------------------------------

def change_plan(state, region_name, account_id, wanted):
    """Upgrades Free to Standard; Standard cannot go back to Free (403), as on IBM Cloud."""
    wanted = str(wanted).capitalize()
    if wanted not in PLANS:
        raise Refused(400, "CRP9001E", f"The plan must be one of {', '.join(PLANS)}.")
    current = state.account_settings(region_name, account_id)["plan"]
    if wanted == "Free" and current == "Standard":
        raise Refused(403, "CRP9002E", "The plan cannot be changed from Standard back to Free.")
    state.update_account_settings(region_name, account_id, plan=wanted)


def set_quotas(state, region_name, account_id, limits):
    """``limits``: some of QUOTA_FIELDS, each whole megabytes or -1 (unlimited)."""
    for name, value in limits.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < UNLIMITED:
            raise Refused(400, "CRQ9001E", f"'{name}' must be a whole number of megabytes, or -1 for unlimited.")
    state.update_account_settings(region_name, account_id, **limits)


def limit_bytes(megabytes):
    return UNLIMITED if megabytes == UNLIMITED else megabytes * MEGABYTE


def count_pulled_bytes(state, region_name, events):
    """Counts pulled bytes (registry GET events) against the namespace owner's traffic."""
    for event in events:
        if event.get("action") != "pull" or event.get("request", {}).get("method") != "GET":
            continue
        target = event.get("target", {})
        owner = state.namespace_owner(region_name, target.get("repository", "").split("/", 1)[0])
        if owner and target.get("size"):
            state.add_traffic(region_name, owner, int(target["size"]))
