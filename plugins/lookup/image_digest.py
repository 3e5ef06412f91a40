# -*- coding: utf-8 -*-
# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: image_digest
author:
  - Contributors to the icr.registry project (!UNKNOWN)
version_added: 0.1.0
short_description: The digest of IBM Cloud Container Registry images at play time
description:
  - Returns the manifest digest (C(sha256:...)) of each image reference, read from the registry at play time with one
    C(HEAD) request of its manifest (the C(Docker-Content-Digest) header), to pin deployments to digests.
  - A reference that already has a digest (C(...@sha256:...)) is checked to exist and returned as given.
  - An image that does not exist (tag, digest, repository or namespace) fails the lookup in one line, unless
    O(default) is given, which is then returned for it. A refusal of the registry is told apart from a missing
    namespace through the management API (one listing of the region's namespaces, only then).
  - Signs in and reaches the registry the way the modules do, with the same options and environment variables.
options:
  _terms:
    description:
      - Image references, C(<domain>/<namespace>/<repository>[:<tag>]) or C(...@sha256:<digest>); the tag defaults to
        V(latest). The domain names the region (V(us.icr.io) is V(us-south)); an O(endpoints) file maps it to the
        address that serves it.
    type: list
    elements: str
    required: true
  default:
    description:
      - What to return for an image that does not exist, instead of failing.
    type: raw
extends_documentation_fragment:
  - icr.registry.icr.plugin_options
seealso:
  - module: icr.registry.cr_image_info
"""

EXAMPLES = r"""
- name: Deploy the image that the tag names now, pinned to its digest
  ansible.builtin.debug:
    msg: "us.icr.io/team/app@{{ lookup('icr.registry.image_digest', 'us.icr.io/team/app:1.4') }}"

- name: Several images at once (a list, in order)
  ansible.builtin.set_fact:
    pinned: "{{ query('icr.registry.image_digest', 'us.icr.io/team/app:1.4', 'de.icr.io/team/app:1.4') }}"

- name: A tag that may not exist yet
  ansible.builtin.set_fact:
    candidate: "{{ lookup('icr.registry.image_digest', 'us.icr.io/team/app:2.0', default='') }}"

- name: Options as the modules take them (module_defaults does not reach lookups)
  ansible.builtin.set_fact:
    pinned: "{{ lookup('icr.registry.image_digest', 'private.de.icr.io/team/app:1.4', api_key=vault_ibmcloud_api_key) }}"
"""

RETURN = r"""
_raw:
  description:
    - The digest of each reference, in order (or O(default) for one that does not exist).
  type: list
  elements: str
  sample: [sha256:2d1b5f3c0e6b7c7d0f7a3c1f2b4e9a8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a29]
"""

from ansible.errors import AnsibleLookupError
from ansible.module_utils.basic import remove_values
from ansible.plugins.lookup import LookupBase

from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError
from ansible_collections.icr.registry.plugins.module_utils.icr_context import ICR_COMMON_ARGS, IcrContext
from ansible_collections.icr.registry.plugins.module_utils.icr_images import icr_reference


def image_digest(context, text):
    """``(digest, None)`` for the image ``text`` stands for in its ICR region; ``(None, why)`` when
    there is no such image (``why``: what is missing, when more than the tag or digest)."""
    ref, region = icr_reference(context, text)
    registry = context.registry(region)
    reference = ref.digest or ref.tag
    try:
        found = registry.head_manifest(ref.repository, reference)
    except IcrError as err:
        # ICR's registry answers a namespace that does not exist (or is another account's) with
        # "unauthorized", as it answers a key without access: the management API tells them apart.
        if err.status in (401, 403) and not namespace_exists(context, ref, region, err):
            return None, "namespace %s does not exist in %s" % (ref.namespace, region.name)
        raise
    if found is None:
        return None, None
    digest = found[0]
    if not digest:  # a registry that leaves the header out of HEAD answers: the digest of the bytes
        digest = registry.get_manifest(ref.repository, reference).digest
    return digest, None


def namespace_exists(context, ref, region, err):
    """Whether ``ref``'s namespace is one of the account's in ``region``; ``err`` (the registry's
    refusal) is raised instead when the management API cannot say either (a wrong key)."""
    try:
        return ref.namespace in context.api(region).list_namespaces()
    except IcrError:
        raise err


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        unknown = sorted(set(kwargs) - set(self._options))
        if unknown:
            # Ansible ignores an option a lookup does not declare: a misspelt api_key would fall back silently.
            raise AnsibleLookupError("unknown option%s %s of icr.registry.image_digest (known: %s)" % (
                "s" if len(unknown) > 1 else "", ", ".join(unknown), ", ".join(sorted(name for name in self._options if name != "_terms"))))
        secrets = set()
        try:
            context = IcrContext({name: self.get_option(name) for name in ICR_COMMON_ARGS}, secrets)
            digests = []
            for term in terms:
                digest, why = image_digest(context, term)
                if digest is None:
                    if "default" not in kwargs:
                        raise IcrError("%s does not exist%s (give default to get a value for a missing image)"
                                       % (term, ": " + why if why else ""))
                    digest = self.get_option("default")
                digests.append(digest)
            return digests
        except IcrError as err:
            raise AnsibleLookupError(remove_values(str(err), secrets))
