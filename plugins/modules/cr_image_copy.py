#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cr_image_copy
short_description: Copy an image between registries without a Docker daemon
version_added: 0.1.0
description:
  - Copies an image, or a multi-platform index, from any registry into one or more ICR repositories,
    possibly in several regions, straight through the registries' C(/v2) API.
  - Blob bytes stream from the source to the destination with a bounded number of parallel transfers; nothing is
    unpacked or written to disk, and every byte is checked against its sha256 digest before the destination may
    commit it.
  - The copy keeps the source's manifest bytes, so the destination digest equals the source digest (except when
    O(platforms) selects part of an index, which makes a new index).
  - Blobs the destination already has are skipped; within one registry they are mounted across repositories instead
    of copied. Manifests are written only after every blob they reference is committed, so a tag never points at an
    incomplete image.
  - Idempotent by digest. When every destination already has the source digest under the tag, only manifest reads
    are made.
author:
  - Contributors to the icr.registry project (!UNKNOWN)
options:
  src:
    description:
      - Source image reference in any registry, by tag or digest, for example V(us.icr.io/team/app:1.2),
        V(quay.io/org/app@sha256:...) or V(127.0.0.1:5000/app:dev).
      - ICR references (and endpoints-file registry hosts) are read with the API key unless O(src_username) is set.
    type: str
    required: true
  dest:
    description:
      - One or more ICR destination references, for example V(de.icr.io/team/app:1.2).
      - Without a tag the source's tag is used. A destination given by digest must name the source digest.
    type: list
    elements: str
    required: true
  platforms:
    description:
      - For a multi-platform source, V(all) copies the index as is.
      - A list such as V([linux/amd64, linux/arm64]) copies only those platforms under a new index
        (C(os/architecture) matches every variant; C(os/architecture/variant) only that one).
      - A single-platform source is copied as is.
    type: list
    elements: str
    default: [all]
  src_username:
    description:
      - User name for the source registry (Basic auth or the token service). Without it, a non-ICR source is read
        anonymously.
    type: str
  src_password:
    description:
      - Password or token for O(src_username).
    type: str
  create_namespace:
    description:
      - Create a destination namespace that does not exist yet (in the destination's region), instead of failing.
    type: bool
    default: false
  resource_group_id:
    description:
      - Resource group of namespaces created by O(create_namespace); default the account's default group.
    type: str
  parallel:
    description:
      - How many blobs (and manifests of an index) are transferred at the same time.
    type: int
    default: 4
  chunk_size_mb:
    description:
      - V(0) uploads each blob with one streamed request (fastest).
      - A size in MiB uploads larger blobs as chunks of that size (C(PATCH) requests), which some proxies need.
    type: int
    default: 0
notes:
  - The destinations use the shared ICR options (O(api_key), O(endpoints), O(registry_host) for the module's region,
    O(validate_certs), O(ca_path), O(timeout), O(retries)).
  - A failed transfer is retried from the start of that blob, at most O(retries) times.
extends_documentation_fragment:
  - icr.registry.icr
  - icr.registry.icr.attributes
  - icr.registry.icr.actiongroup
attributes:
  check_mode:
    support: full
    details:
      - Reads manifests and checks which blobs the destinations lack (C(HEAD)), and writes nothing. Into a namespace
        that O(create_namespace) would create, every blob of the source is counted as copied.
  diff_mode:
    support: none
  idempotent:
    support: full
seealso:
  - module: icr.registry.cr_image_tag
"""

EXAMPLES = r"""
- name: Copy a release to two other regions
  icr.registry.cr_image_copy:
    src: us.icr.io/team/app:1.2
    dest:
      - de.icr.io/team/app:1.2
      - jp.icr.io/team/app:1.2
  register: release_copy

- name: Name the destinations that did not hold the release yet
  ansible.builtin.debug:
    msg: "{{ release_copy.destinations | selectattr('changed') | map(attribute='name') | list }}"

- name: Copy a public multi-arch image, two platforms only, creating the namespace
  icr.registry.cr_image_copy:
    src: quay.io/prometheus/busybox:latest
    dest: us.icr.io/mirror/busybox:latest
    platforms: [linux/amd64, linux/arm64]
    create_namespace: true

- name: Predict what a copy into a namespace that does not exist yet would transfer
  icr.registry.cr_image_copy:
    src: us.icr.io/team/app:1.2
    dest: us.icr.io/mirror-new/app:1.2
    create_namespace: true
  check_mode: true
  register: planned

- name: Report it
  ansible.builtin.debug:
    msg: "{{ planned.destinations[0].blobs_copied }} blobs, {{ planned.destinations[0].bytes_copied }} bytes"

- name: Copy from a private registry with a user name and password
  icr.registry.cr_image_copy:
    src: registry.example.com/app@sha256:0f3e...
    src_username: robot
    src_password: "{{ vault_registry_password }}"
    dest: us.icr.io/team/app:imported
"""

RETURN = r"""
digest:
  description: Digest of the copied manifest (or index), identical on every destination.
  returned: success
  type: str
  sample: sha256:db68314c3a2f1ac7d0e8b4d0f4c6fd8f2f0c9a5e1d3c1b8e2a9f7c6d5e4b3a21
media_type:
  description: Media type of the copied manifest.
  returned: success
  type: str
  sample: application/vnd.docker.distribution.manifest.v2+json
destinations:
  description: One entry per O(dest) reference, in order, with what was done (in check mode, what would be).
  returned: success
  type: list
  elements: dict
  sample:
    - name: de.icr.io/team/app:1.2
      digest: sha256:db68314c3a2f1ac7d0e8b4d0f4c6fd8f2f0c9a5e1d3c1b8e2a9f7c6d5e4b3a21
      changed: true
      namespace_created: false
      blobs_copied: 5
      blobs_skipped: 2
      blobs_mounted: 0
      bytes_copied: 48230912
      seconds: 1.2
  contains:
    name:
      description: The destination reference (canonical domain; the source's tag when O(dest) named none).
      type: str
    digest:
      description: Digest the destination holds after the copy (the copied manifest's).
      type: str
    changed:
      description: Whether the destination did not hold the digest under the tag before.
      type: bool
    namespace_created:
      description: Whether the destination's namespace was created (in check mode, would be).
      type: bool
    blobs_copied:
      description:
        - Blobs streamed from the source. In check mode, blobs that would be - every blob of the image when
          O(create_namespace) would create the destination's namespace.
      type: int
    blobs_skipped:
      description: Blobs the destination already had.
      type: int
    blobs_mounted:
      description: Blobs mounted from the source repository in the same registry.
      type: int
    bytes_copied:
      description: Bytes streamed from the source (in check mode, that would be).
      type: int
    seconds:
      description: Wall time spent on this destination.
      type: float
namespaces_created:
  description: Destination namespaces created (or, in check mode, that would be), as C(region/namespace).
  returned: success
  type: list
  elements: str
  sample: [us-south/team]
"""

from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError
from ansible_collections.icr.registry.plugins.module_utils.icr_images import icr_reference, locate_reference
from ansible_collections.icr.registry.plugins.module_utils.icr_module import IcrModule
from ansible_collections.icr.registry.plugins.module_utils.namespaces import ensure_namespace, explain_refused_write
from ansible_collections.icr.registry.plugins.module_utils.oci_manifest import check_platforms


class ImageCopy:
    """Resolves the source once, then makes each destination hold its digest."""

    def __init__(self, module):
        self.module = module
        self.params = params = module.params
        if params["parallel"] < 1 or params["chunk_size_mb"] < 0:
            raise IcrError("parallel must be at least 1 and chunk_size_mb zero or more")
        check_platforms(params["platforms"])
        self.src, self.src_region = locate_reference(module, params["src"])
        self.dests = [self._destination(text) for text in params["dest"]]
        self.engine = module.copy_engine(parallel=params["parallel"],
                                         chunk_size=params["chunk_size_mb"] * 1024 * 1024 or None)
        self._copied = {}  # registry host -> a repository that now holds the image

    def __call__(self):
        params, src = self.params, self.src
        source = self.engine.resolve(self._source_client(), src.repository, src.digest or src.tag,
                                     params["platforms"])
        if src.digest and src.digest != source.digest:
            # A digest reference with a platform filter copies a new index.
            self.module.warn("platforms selected part of %s: the copy is the new index %s"
                             % (src, source.digest))
        for dest, _region in self.dests:
            if dest.digest and dest.digest != source.digest:
                raise IcrError("dest %s names a digest other than the source's %s" % (dest, source.digest))
        result = {"changed": False, "digest": source.digest,
                  "media_type": source.manifest.media_type, "destinations": [],
                  "namespaces_created": []}
        for dest, region in self.dests:
            outcome = self._copy_one(source, dest, region, result)
            result["destinations"].append(outcome)
            result["changed"] = result["changed"] or outcome["changed"]
        return result

    def _destination(self, text):
        dest, region = icr_reference(self.module, text, default_tag=None, what="dest")
        if dest.tag is None and dest.digest is None:
            if not self.src.tag:
                raise IcrError("dest %s needs a tag: the source is given by digest only" % text)
            dest = dest.with_tag(self.src.tag)
        return dest, region

    def _source_client(self):
        username, password = self.params["src_username"], self.params["src_password"]
        if self.src_region is None:
            return self.module.registry_client(self.src.registry, username, password, self._pool_size)
        if username is None:
            return self.module.registry(self.src_region, self._pool_size)
        return self.module.registry_client(self.module.registry_url(self.src_region), username, password,
                                           self._pool_size)

    @property
    def _pool_size(self):
        return self.params["parallel"] + 2

    def _copy_one(self, source, dest, region, result):
        check_mode = self.module.check_mode
        created = False
        if self.params["create_namespace"]:
            created = ensure_namespace(self.module, region, dest.namespace, self.params["resource_group_id"])
            if created:
                result["namespaces_created"].append("%s/%s" % (region.name, dest.namespace))
        described = {"name": str(dest), "digest": source.digest, "namespace_created": created}
        if created and check_mode:
            # Nothing to ask a namespace that does not exist yet: every blob would be copied.
            return dict(described, **self.engine.predict_into_empty(source).as_dict())
        client = self.module.registry(region, self._pool_size)
        try:
            outcome = self.engine.copy(source, client, dest.repository, dest.tag, check_mode=check_mode,
                                       mount_from=self._copied.get(client.host))
        except IcrError as err:
            raise explain_refused_write(self.module, dest, region, err)
        if not check_mode:
            self._copied[client.host] = dest.repository
        return dict(described, **outcome.as_dict())


def main():
    module = IcrModule(
        argument_spec=dict(
            src=dict(type="str", required=True),
            dest=dict(type="list", elements="str", required=True),
            platforms=dict(type="list", elements="str", default=["all"]),
            src_username=dict(type="str"),
            src_password=dict(type="str", no_log=True),
            create_namespace=dict(type="bool", default=False),
            resource_group_id=dict(type="str"),
            parallel=dict(type="int", default=4),
            chunk_size_mb=dict(type="int", default=0),
        ),
        required_together=[("src_username", "src_password")],
        supports_check_mode=True,
    )
    module.run(ImageCopy)


if __name__ == "__main__":
    main()
