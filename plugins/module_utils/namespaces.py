# -*- coding: utf-8 -*-
# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The namespace an image is written into: make sure it exists, and explain a refused write.

``cr_image`` (push) and ``cr_image_copy`` (copy) share these, so both create a missing
namespace the same way and turn the registry's bare "denied" into the usual cause.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError


def ensure_namespace(module, region, namespace, resource_group_id=None):
    """Create ``namespace`` in ``region`` unless it exists (not in check mode); True if it
    was (or would be) created."""
    api = module.api(region)
    if namespace in api.list_namespaces():
        return False
    if not module.check_mode:
        api.create_namespace(namespace, resource_group_id)
    return True


def require_namespaces(module, targets):
    """Fail before long work (a build, a pull) when a target namespace is missing.
    ``targets``: ``(ImageReference, Region)`` pairs; one listing per region."""
    listed = {}
    for ref, region in targets:
        if region.name not in listed:
            listed[region.name] = module.api(region).list_namespaces()
        if ref.namespace not in listed[region.name]:
            raise missing_namespace(ref, region)


def missing_namespace(ref, region, err=None):
    """The error for a write into a namespace that does not exist (``err``: what the registry said)."""
    said = " (%s)" % err.message if err is not None else ""
    return IcrError("Namespace %s does not exist in region %s, so %s cannot be written%s. Create it with "
                    "icr.registry.cr_namespace or set create_namespace: true" % (ref.namespace, region.name, ref, said),
                    status=getattr(err, "status", None), code=getattr(err, "code", None))


def over_storage_quota(quota):
    """``(used, limit)`` bytes when ``GET /quotas`` shows storage over its limit, else None."""
    limit = ((quota or {}).get("limit") or {}).get("storage_bytes")
    used = ((quota or {}).get("usage") or {}).get("storage_bytes")
    if limit is None or used is None or limit < 0 or used <= limit:
        return None
    return used, limit


def explain_refused_write(module, ref, region, err):
    """The registry only says 'denied' or 'unauthorized' when it refuses a push or a copy:
    name the usual cause when it is the cause (a missing namespace, the storage quota, the
    identity and the Writer role it needs), else return ``err`` as it is."""
    if err.status not in (401, 403) and "quota" not in err.message.lower():
        return err
    if not module.params.get("create_namespace"):
        try:
            exists = ref.namespace in module.api(region).list_namespaces()
        except IcrError:
            exists = True
        if not exists:
            return missing_namespace(ref, region, err)
    # ICR refuses pushes once storage is over quota, with words that may not say so (the
    # token service then grants pull only, so the registry answers 401): ask the API first.
    try:
        over = over_storage_quota(module.api(region).get_quota())
    except IcrError:
        over = None
    if over or "quota" in err.message.lower():
        usage = " (%d of %d bytes used)" % over if over else ""
        return IcrError("Writing %s was refused because the account is over its storage quota in region %s%s. "
                        "Free space (icr.registry.cr_repo, icr.registry.cr_image state=absent) or raise the "
                        "quota (icr.registry.cr_quota). The registry said: %s"
                        % (ref, region.name, usage, err.message), status=err.status, code=err.code)
    if err.status in (401, 403):
        who = module.sign_in.describe()
        check = "check api_key (IC_API_KEY) and its access" if who == "the API key" else "check its access"
        return IcrError("The registry %s (region %s) refused %s for %s; %s to namespace %s: writing images needs the "
                        "Container Registry service role Writer. %s"
                        % (module.registry_host(region), region.name, who, ref, check, ref.namespace, err.message),
                        status=err.status, code=err.code, transaction_id=err.transaction_id)
    return err
