"""The /api/v1 route table: (method, path segments, handler, needs an account).

A ``None`` segment is a path argument, handed to the handler percent-decoded in
``request.args``. A new resource is one more handler module and its lines here.
"""

from . import account, images, namespaces, quotas, retention, trash, va

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

# Vulnerability Advisor v4 on the same regional API address (the SDK's service URL).
VA_PREFIX = "/va/api/v4/"
VA_ROUTES = [
    ("GET", ("report", "account"), va.get_account_report, True),
    ("GET", ("report", "account", "status"), va.get_account_status, True),
    ("GET", ("report", "image", None), va.get_image_report, True),
    ("GET", ("report", "image", "status", None), va.get_image_status, True),
    ("GET", ("exempt", "types"), va.list_exemption_types, True),
    ("GET", ("exempt", "image"), va.list_account_level_exemptions, True),
    ("GET", ("exempt", "image", "issue", None, None), va.get_account_exemption, True),
    ("POST", ("exempt", "image", "issue", None, None), va.create_account_exemption, True),
    ("DELETE", ("exempt", "image", "issue", None, None), va.delete_account_exemption, True),
    ("GET", ("exempt", "image", None), va.list_resource_exemptions, True),
    ("GET", ("exempt", "image", None, "issue", None, None), va.get_resource_exemption, True),
    ("POST", ("exempt", "image", None, "issue", None, None), va.create_resource_exemption, True),
    ("DELETE", ("exempt", "image", None, "issue", None, None), va.delete_resource_exemption, True),
    ("GET", ("exemptions", "account"), va.list_all_exemptions, True),
    ("POST", ("exemptions", "deleteAll"), va.delete_all_exemptions, True),
    ("GET", ("exemptions", "image", None), va.list_image_exemptions, True),
    ("POST", ("exemptions", "images"), va.list_images_exemptions, True),
]
