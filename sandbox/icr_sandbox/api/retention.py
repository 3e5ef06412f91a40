"""Retention policies (/retentions): list, read, set (and enforce), analyze."""

from .. import rules
from ..state import UNLIMITED, Refused
from .responses import empty_response, json_response


def list_retention_policies(request):
    return json_response(200, request.state.retentions(request.region.name, request.account.account_id))


def get_retention_policy(request):
    request.check_owner(request.args[0])
    return json_response(200, request.state.retention(request.region.name, request.account.account_id, request.args[0]))


def set_retention_policy(request):
    namespace, images_per_repo, retain_untagged = _policy(request)
    request.state.set_retention(request.region.name, request.account.account_id, namespace,
                                images_per_repo, retain_untagged)
    with request.lock:
        rules.enforce_retention(request.state, request.admin, namespace, images_per_repo, retain_untagged)
    return empty_response(201)


def analyze_retention_policy(request):
    victims = rules.retention_victims(request.admin, *_policy(request))
    domain = request.region.domain
    return json_response(200, {f"{domain}/{repo}": [f"{domain}/{repo}@{d}" for d in digests]
                               for repo, digests in victims.items()})


def _policy(request):
    """(namespace, images_per_repo, retain_untagged) from the body, for a namespace of the caller."""
    body = request.json()
    namespace = body.get("namespace")
    if not isinstance(namespace, str) or not namespace:
        raise Refused(400, "CRR9001E", "'namespace' is required.")
    request.check_owner(namespace)
    images_per_repo = body.get("images_per_repo", UNLIMITED)
    retain_untagged = body.get("retain_untagged", False)
    rules.check_retention_policy(images_per_repo, retain_untagged)
    return namespace, images_per_repo, retain_untagged
