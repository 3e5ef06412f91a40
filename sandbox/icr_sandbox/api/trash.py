"""The trash (/trash): list deleted images, restore by tag, restore a digest and its tags."""

from .. import rules
from ..state import Refused
from . import references
from .responses import empty_response, json_response


def list_deleted_images(request):
    wanted = request.params.get("namespace")
    if wanted:
        request.check_owner(wanted[-1])
        namespaces = [wanted[-1]]
    else:
        namespaces = request.own_namespace_names()
    items = request.state.trash_items(request.region.name, namespaces)
    return json_response(200, {f"{request.region.domain}/{item['repository']}@{item['digest']}":
                               {"daysUntilExpiry": item["days_until_expiry"], "tags": item["tags"]} for item in items})


def restore_image(request):
    ref = references.parse(request, request.args[0])
    if not ref.tag:
        raise Refused(400, "CRT9001E", f"'{ref}' has no tag: restore needs <repository>:<tag>.")
    with request.lock:
        rules.restore_tag(request.state, request.admin, ref)
    return empty_response(200)


def restore_tags(request):
    ref = references.parse(request, request.args[0])
    if not ref.digest:
        raise Refused(400, "CRT9002E", f"'{ref}' is not a digest reference (<repository>@sha256:...).")
    with request.lock:
        restored, taken = rules.restore_digest(request.state, request.admin, ref)
    return json_response(200, {"successful": restored, "unsuccessful": taken})
