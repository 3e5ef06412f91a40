"""The /api/v1 route table: (method, path segments, handler, needs an account).

A ``None`` segment is a path argument, handed to the handler percent-decoded in
``request.args``. A new resource is one more handler module and its lines here.
"""

from . import account, images, namespaces, quotas, retention, trash

ROUTES = [
    ("GET", ("auth",), account.get_auth, True),
    ("PATCH", ("auth",), account.update_auth, True),
    ("GET", ("images",), images.list_images, True),
    ("POST", ("images", "bulkdelete"), images.bulk_delete_images, True),
    ("POST", ("images", "digests"), images.list_image_digests, True),
    ("POST", ("images", "tags"), images.tag_image, True),
    ("DELETE", ("images", None), images.delete_image, True),
    ("GET", ("images", None, "json"), images.inspect_image, True),
    ("GET", ("images", None, "manifest"), images.get_image_manifest, True),
    ("GET", ("messages",), account.get_messages, False),
    ("GET", ("namespaces",), namespaces.list_namespaces, True),
    ("GET", ("namespaces", "details"), namespaces.list_namespace_details, True),
    ("PUT", ("namespaces", None), namespaces.create_namespace, True),
    ("PATCH", ("namespaces", None), namespaces.assign_namespace, True),
    ("DELETE", ("namespaces", None), namespaces.delete_namespace, True),
    ("GET", ("plans",), quotas.get_plans, True),
    ("PATCH", ("plans",), quotas.update_plans, True),
    ("GET", ("quotas",), quotas.get_quota, True),
    ("PATCH", ("quotas",), quotas.update_quota, True),
    ("GET", ("retentions",), retention.list_retention_policies, True),
    ("POST", ("retentions",), retention.set_retention_policy, True),
    ("POST", ("retentions", "analyze"), retention.analyze_retention_policy, True),
    ("GET", ("retentions", None), retention.get_retention_policy, True),
    ("GET", ("settings",), account.get_settings, True),
    ("PATCH", ("settings",), account.update_settings, True),
    ("DELETE", ("tags", None), images.delete_image_tag, True),
    ("GET", ("trash",), trash.list_deleted_images, True),
    ("POST", ("trash", None, "restoretags"), trash.restore_tags, True),
    ("POST", ("trash", None, "restore"), trash.restore_image, True),
]

# ---- Vulnerability Advisor v4 (api/va.py) on the same regional address, the SDK's service
# URL. Its paths are /va/api/v4/...; ManagementApi.handle matches them here through
# ``table_path`` (as /api/v1/va/api/v4/...). The last field is the service role it needs:
# IBM gives reading VA results to Reader and managing exemptions to Manager.
from . import va  # noqa: E402 - VA's part of the table stays one block

VA_PREFIX = "/va/api/v4/"
ROUTES += [(method, ("va", "api", "v4") + pattern, handler, role) for method, pattern, handler, role in [
    ("GET", ("report", "account"), va.get_account_report, "Reader"),
    ("GET", ("report", "account", "status"), va.get_account_status, "Reader"),
    ("GET", ("report", "image", None), va.get_image_report, "Reader"),
    ("GET", ("report", "image", "status", None), va.get_image_status, "Reader"),
    ("GET", ("exempt", "types"), va.list_exemption_types, "Reader"),
    ("GET", ("exempt", "image"), va.list_account_level_exemptions, "Reader"),
    ("GET", ("exempt", "image", "issue", None, None), va.get_account_exemption, "Reader"),
    ("POST", ("exempt", "image", "issue", None, None), va.create_account_exemption, "Manager"),
    ("DELETE", ("exempt", "image", "issue", None, None), va.delete_account_exemption, "Manager"),
    ("GET", ("exempt", "image", None), va.list_resource_exemptions, "Reader"),
    ("GET", ("exempt", "image", None, "issue", None, None), va.get_resource_exemption, "Reader"),
    ("POST", ("exempt", "image", None, "issue", None, None), va.create_resource_exemption, "Manager"),
    ("DELETE", ("exempt", "image", None, "issue", None, None), va.delete_resource_exemption, "Manager"),
    ("GET", ("exemptions", "account"), va.list_all_exemptions, "Reader"),
    ("POST", ("exemptions", "deleteAll"), va.delete_all_exemptions, "Manager"),
    ("GET", ("exemptions", "image", None), va.list_image_exemptions, "Reader"),
    ("POST", ("exemptions", "images"), va.list_images_exemptions, "Reader"),
]]


def table_path(raw_path):
    """The path the route table matches: VA's ``/va/api/v4/…`` under ``/api/v1/``."""
    return "/api/v1" + raw_path if raw_path.startswith(VA_PREFIX) else raw_path
