"""Quotas (/quotas) and pricing plans (/plans); the rules are in rules.py."""

from .. import rules
from .responses import empty_response, json_response


def get_plans(request):
    return json_response(200, {"plan": request.settings()["plan"]})


def update_plans(request):
    rules.change_plan(request.state, request.region.name, request.account.account_id,
                      request.json().get("plan", ""))
    return empty_response(200)


def get_quota(request):
    settings = request.settings()
    used = request.state.storage_bytes_used(request.region.name, request.account.account_id)
    return json_response(200, {
        "limit": {"storage_bytes": rules.limit_bytes(settings["storage_megabytes"]),
                  "traffic_bytes": rules.limit_bytes(settings["traffic_megabytes"])},
        "usage": {"storage_bytes": used, "traffic_bytes": settings["traffic_bytes_used"]},
    })


def update_quota(request):
    body = request.json()
    limits = {name: body[name] for name in rules.QUOTA_FIELDS if name in body}
    rules.set_quotas(request.state, request.region.name, request.account.account_id, limits)
    return empty_response(200)
