"""Account switches: auth options (/auth), settings (/settings) and messages (/messages)."""

from .responses import boolean_fields, empty_response, json_response


def get_auth(request):
    settings = request.settings()
    return json_response(200, {"iam_authz": settings["iam_authz"], "private_only": settings["private_only"]})


def update_auth(request):
    request.update_settings(**boolean_fields(request.json(), ("iam_authz", "private_only")))
    return empty_response(204)


def get_settings(request):
    return json_response(200, {"platform_metrics": request.settings()["platform_metrics"]})


def update_settings(request):
    request.update_settings(**boolean_fields(request.json(), ("platform_metrics",)))
    return empty_response(204)


def get_messages(request):
    return empty_response(204)
