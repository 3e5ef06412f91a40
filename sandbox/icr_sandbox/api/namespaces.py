"""Namespaces (/namespaces): list, details, create, assign to a resource group, delete."""

from ..state import Refused
from .responses import empty_response, json_response


def list_namespaces(request):
    return json_response(200, request.own_namespace_names())


def list_namespace_details(request):
    return json_response(200, [_details(request.region, record) for record in request.own_namespaces()])


def create_namespace(request):
    name = request.args[0]
    group = request.headers.get("X-Auth-Resource-Group")
    if group is None:
        groups = request.account.resource_groups
        group = groups[0] if groups else None
    else:
        _check_resource_group(request, group)
    created = request.state.create_namespace(request.region.name, request.account.account_id, name, group)
    return json_response(201 if created else 200, {"namespace": name})


def assign_namespace(request):
    name = request.args[0]
    group = request.headers.get("X-Auth-Resource-Group")
    if not group:
        raise Refused(400, "CRN9007E", "The X-Auth-Resource-Group header is required to assign a namespace.")
    _check_resource_group(request, group)
    request.state.assign_namespace(request.region.name, request.account.account_id, name, group)
    return json_response(200, {"namespace": name})


def delete_namespace(request):
    name = request.args[0]
    with request.lock:
        request.check_owner(name)
        request.admin.delete_namespace_storage(name)
        request.state.delete_namespace(request.region.name, request.account.account_id, name)
    return empty_response(204)


def _check_resource_group(request, group):
    if group not in request.account.resource_groups:
        raise Refused(400, "CRN9006E", f"The resource group '{group}' was not found in your account.")


def _details(region, record):
    details = {key: record[key] for key in ("account", "created_date", "name", "updated_date")}
    if record["resource_group"]:
        location = "us-east" if region.name == "global" else region.name
        details.update(
            resource_group=record["resource_group"],
            resource_created_date=record["resource_created_date"],
            crn=f"crn:v1:bluemix:public:container-registry:{location}:a/{record['account']}::namespace:{record['name']}",
        )
    return details
