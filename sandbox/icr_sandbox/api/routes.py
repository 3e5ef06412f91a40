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
