# -*- coding: utf-8 -*-
# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The ICR management API (``/api/v1``) through IBM's SDK: one region's ``ContainerRegistryV1``.

Retries, error mapping and the SDK plumbing come from ``SdkClient``. To add an operation, add
a three-line method that calls ``self._call("<what is being done>", "<sdk method>", **kwargs)``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.icr.registry.plugins.module_utils.sdk_client import SdkClient


class IcrApi(SdkClient):
    """One region's ICR management API. Methods return plain dicts/lists; failures raise IcrError."""

    service_class = ("ibm_container_registry.container_registry_v1", "ContainerRegistryV1")
    # Operations whose answer carries no JSON document (the API documents "none").
    no_json_body = frozenset({"tag_image", "restore_image", "delete_namespace", "set_retention_policy",
                              "update_quota", "update_auth", "update_settings"})
    # The Container Registry service role each write needs (every other operation: Reader), named
    # when ICR refuses one ("You are not authorized to access the specified resource").
    service_name = "Container Registry"
    roles = dict(
        dict.fromkeys(("tag_image", "delete_image", "delete_image_tag", "bulk_delete_images", "set_retention_policy",
                       "restore_image", "restore_tags"), "Writer"),
        **dict.fromkeys(("create_namespace", "assign_namespace", "delete_namespace", "update_quota", "update_plans",
                         "update_auth", "update_settings"), "Manager"))
    default_role = "Reader"

    # ------------------------------------------------------------------ namespaces

    def list_namespaces(self):
        """Names of the account's namespaces in this region."""
        return self._call("Listing namespaces", "list_namespaces")[0] or []

    def list_namespace_details(self):
        """``[{name, resource_group, crn, account, created_date, updated_date, ...}]``."""
        return self._call("Listing namespace details", "list_namespace_details")[0] or []

    def get_namespace(self, name):
        """The details of namespace ``name``, or None when the account has no such namespace."""
        for details in self.list_namespace_details():
            if details.get("name") == name:
                return details
        return None

    def create_namespace(self, name, resource_group_id=None):
        return self._call("Creating namespace %s" % name, "create_namespace",
                          name=name, x_auth_resource_group=resource_group_id)[0]

    def assign_namespace(self, name, resource_group_id):
        return self._call("Assigning namespace %s to resource group %s" % (name, resource_group_id),
                          "assign_namespace", name=name, x_auth_resource_group=resource_group_id)[0]

    def delete_namespace(self, name):
        self._call("Deleting namespace %s" % name, "delete_namespace", name=name)

    # ------------------------------------------------------------------ digests

    def list_image_digests(self, repositories=None, exclude_tagged=False):
        """``[{id, created, manifestType, size, repoTags: {<domain>/<ns>/<repo>: {tag: VA}}}]``, tagged
        and untagged; ``repositories`` (with domain) narrows it. A read-only POST; no VA data."""
        return self._call("Listing image digests", "list_image_digests", repositories=repositories,
                          exclude_tagged=exclude_tagged, exclude_va=True)[0] or []

    # ------------------------------------------------------------------ images and tags
    # References are full ``<domain>/<ns>/<repo>:<tag>`` or ``...@sha256:...`` (canonical domain).

    def list_images(self, namespace=None, repository=None, include_manifest_lists=False):
        """Tagged images as RemoteAPIImage dicts (``Id``, ``RepoTags``, ``RepoDigests``, ``Size``...); no VA data."""
        return self._call("Listing images", "list_images", namespace=namespace, repository=repository,
                          include_manifest_lists=include_manifest_lists, vulnerabilities=False)[0] or []

    def inspect_image(self, reference):
        """ImageInspection of a tag or digest (``Id``, ``Config``, ``RootFS``, ``Size``, ``Created``...)."""
        return self._call("Inspecting image %s" % reference, "inspect_image", image=reference)[0] or {}

    def get_image_manifest(self, reference):
        """``(raw manifest text, media type)`` of a tag or digest, bytes as ICR serves them."""
        response = self._run("Reading the manifest of %s" % reference,
                             lambda: self.service.get_image_manifest(image=reference, stream=True))
        raw = response.get_result()
        media_type = (response.get_headers() or {}).get("Content-Type", "").split(";")[0].strip()
        return raw.content.decode("utf-8"), media_type

    def tag_image(self, source, target):
        """Point tag ``target`` at the image ``source`` (same region; another repository is allowed)."""
        self._call("Tagging %s as %s" % (source, target), "tag_image", fromimage=source, toimage=target)

    def delete_image(self, reference):
        """image-rm: the digest of ``reference`` and every tag on it in that repository go to the trash."""
        return self._call("Deleting image %s" % reference, "delete_image", image=reference)[0] or {}

    def untag_image(self, reference):
        """image-untag: remove tag ``reference`` only; the digest and its other tags stay."""
        return self._call("Removing tag %s" % reference, "delete_image_tag", image=reference)[0] or {}

    def bulk_delete_images(self, references):
        """Delete many digest references in one call: ``{success: [refs], error: {ref: {code, message}}}``."""
        return self._call("Deleting %d images" % len(references), "bulk_delete_images",
                          bulk_delete=list(references))[0] or {}

    # ------------------------------------------------------------------ retention policies

    def get_retention_policy(self, namespace):
        """``{namespace, images_per_repo, retain_untagged}``; ``images_per_repo`` -1 keeps all."""
        return self._call("Reading the retention policy of namespace %s" % namespace,
                          "get_retention_policy", namespace=namespace)[0] or {}

    def analyze_retention_policy(self, namespace, images_per_repo, retain_untagged):
        """``{repository: [image refs]}`` the policy would delete now (read-only)."""
        return self._call("Analyzing a retention policy for namespace %s" % namespace,
                          "analyze_retention_policy", namespace=namespace,
                          images_per_repo=images_per_repo, retain_untagged=retain_untagged)[0] or {}

    def set_retention_policy(self, namespace, images_per_repo, retain_untagged):
        """Set the policy; ICR runs it straight away (deleted images go to the trash)."""
        self._call("Setting the retention policy of namespace %s" % namespace,
                   "set_retention_policy", namespace=namespace,
                   images_per_repo=images_per_repo, retain_untagged=retain_untagged)

    # ------------------------------------------------------------------ trash

    def list_trash(self, namespace=None):
        """Trashed images sorted by reference, as :func:`trash_entry` dicts."""
        raw = self._call("Listing the trash", "list_deleted_images", namespace=namespace)[0] or {}
        return [trash_entry(reference, item) for reference, item in sorted(raw.items())]

    def restore_tag(self, reference):
        """Restore ``<domain>/<ns>/<repo>:<tag>``; 404 when not trashed, 409 CRT0500E when the tag is live."""
        self._call("Restoring %s from the trash" % reference, "restore_image", image=reference)

    def restore_digest(self, reference):
        """Restore ``<domain>/<ns>/<repo>@sha256:...`` and its tags: ``{successful, unsuccessful}`` tag lists."""
        return self._call("Restoring %s from the trash" % reference, "restore_tags", digest=reference)[0] or {}

    # ------------------------------------------------------------------ quota, plan, account options

    def get_quota(self):
        """``{limit: {storage_bytes, traffic_bytes}, usage: {...}}`` in bytes; -1 is unlimited."""
        return self._call("Reading the quotas", "get_quota")[0] or {}

    def update_quota(self, storage_megabytes=None, traffic_megabytes=None):
        """Set limits in megabytes of 1,048,576 bytes (ICR's unit for setting); None leaves one as is."""
        self._call("Setting the quotas", "update_quota",
                   storage_megabytes=storage_megabytes, traffic_megabytes=traffic_megabytes)

    def get_plan(self):
        """The plan name (``Free``, ``Standard``)."""
        return (self._call("Reading the plan", "get_plans")[0] or {}).get("plan")

    def get_auth_options(self):
        """``{iam_authz, private_only}``."""
        return self._call("Reading the authorization options", "get_auth")[0] or {}

    def update_auth_options(self, iam_authz=None, private_only=None):
        self._call("Updating the authorization options", "update_auth",
                   iam_authz=iam_authz, private_only=private_only)

    def get_settings(self):
        """``{platform_metrics}``."""
        return self._call("Reading the account settings", "get_settings")[0] or {}

    def update_settings(self, platform_metrics=None):
        self._call("Updating the account settings", "update_settings", platform_metrics=platform_metrics)


def _tag_name(tag):
    """A trash tag as a bare tag name, whether ICR gives ``1.0`` or ``us.icr.io/ns/repo:1.0``."""
    return tag.rsplit("/", 1)[-1].rsplit(":", 1)[-1]


def trash_entry(reference, item):
    """One ``GET /trash`` entry (``<domain>/<ns>/<repo>@sha256:...`` -> Trash) as a flat dict:
    ``{reference, repository, namespace, digest, tags (bare names, sorted), days_until_expiry}``."""
    item = item or {}
    repository, digest = reference.partition("@")[::2]
    path = repository.split("/")
    return {
        "reference": reference,
        "repository": repository,
        "namespace": path[1] if len(path) > 2 else path[0],
        "digest": digest,
        "tags": sorted(_tag_name(tag) for tag in item.get("tags") or []),
        "days_until_expiry": item.get("daysUntilExpiry"),
    }
