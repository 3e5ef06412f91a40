"""The /api/v1 route table: (method, path segments, handler, service role needed).

A ``None`` segment is a path argument, handed to the handler percent-decoded in
``request.args``. The role is the Container Registry service role the caller needs
(docs/sandbox-auth.md, "Roles"); ``None`` means the route needs no account at all.
A new resource is one more handler module and its lines here.
"""

from ..config import MANAGER, READER, WRITER
from . import account, images, namespaces, quotas, retention, trash

ROUTES = [
    ("GET", ("auth",), account.get_auth, READER),
    ("PATCH", ("auth",), account.update_auth, MANAGER),
    ("GET", ("images",), images.list_images, READER),
    ("POST", ("images", "bulkdelete"), images.bulk_delete_images, WRITER),
    ("POST", ("images", "digests"), images.list_image_digests, READER),
    ("POST", ("images", "tags"), images.tag_image, WRITER),
    ("DELETE", ("images", None), images.delete_image, WRITER),
    ("GET", ("images", None, "json"), images.inspect_image, READER),
    ("GET", ("images", None, "manifest"), images.get_image_manifest, READER),
    ("GET", ("messages",), account.get_messages, None),
    ("GET", ("namespaces",), namespaces.list_namespaces, READER),
    ("GET", ("namespaces", "details"), namespaces.list_namespace_details, READER),
    ("PUT", ("namespaces", None), namespaces.create_namespace, MANAGER),
    ("PATCH", ("namespaces", None), namespaces.assign_namespace, MANAGER),
    ("DELETE", ("namespaces", None), namespaces.delete_namespace, MANAGER),
    ("GET", ("plans",), quotas.get_plans, READER),
    ("PATCH", ("plans",), quotas.update_plans, MANAGER),
    ("GET", ("quotas",), quotas.get_quota, READER),
    ("PATCH", ("quotas",), quotas.update_quota, MANAGER),
    ("GET", ("retentions",), retention.list_retention_policies, READER),
    ("POST", ("retentions",), retention.set_retention_policy, WRITER),
    ("POST", ("retentions", "analyze"), retention.analyze_retention_policy, READER),
    ("GET", ("retentions", None), retention.get_retention_policy, READER),
    ("GET", ("settings",), account.get_settings, READER),
    ("PATCH", ("settings",), account.update_settings, MANAGER),
    ("DELETE", ("tags", None), images.delete_image_tag, WRITER),
    ("GET", ("trash",), trash.list_deleted_images, READER),
    ("POST", ("trash", None, "restoretags"), trash.restore_tags, WRITER),
    ("POST", ("trash", None, "restore"), trash.restore_image, WRITER),
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
