#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cr_image_sync
short_description: Mirror ICR namespaces or repositories into other regions, with their signatures
version_added: 0.1.0
description:
  - Keeps the images of an ICR namespace, an ICR repository, or a repository of any registry mirrored into one or
    more ICR namespaces (for example in other regions, which ICR does not replicate by itself).
  - Plans per repository - lists the tags on both sides, keeps those the filters select, and copies an image only
    when the destination tag does not hold the source digest - then copies O(parallel) images at a time on the same
    copy engine as M(icr.registry.cr_image_copy) (streamed, verified, blobs skipped or mounted when present).
  - A sync with nothing new reads one tag listing per repository and side and at most one manifest per selected tag,
    and writes nothing. For ICR the listing comes from the management API (one digest listing per region gives every
    repository, tag and digest at once, since ICR's registry has no catalog), so such a run makes no C(/v2) request
    except, with O(signatures), one probe of the source's referrers API.
  - A tag is written only after every blob and manifest it references, so a sync cut off half-way (a stop, faults)
    leaves no tag on an incomplete image, and a rerun completes it.
author:
  - Contributors to the icr.registry project (!UNKNOWN)
options:
  src:
    description:
      - What to mirror - an ICR namespace (V(us.icr.io/team-a)), an ICR repository (V(us.icr.io/team-a/app)), or a
        repository in any registry (V(quay.io/org/app), with O(src_username) and O(src_password) when it needs them).
      - The repositories of a namespace come from the management API. No tag or digest - select tags with O(tags),
        O(exclude_tags), O(semver) and O(latest).
    type: str
    required: true
  dest:
    description:
      - One destination namespace (V(de.icr.io/team-a)) or a list of them (several regions at once).
      - Repository names are kept below it - V(us.icr.io/team-a/tools/app) goes to V(de.icr.io/team-a/tools/app); a
        repository of another registry keeps the path below its first component (V(quay.io/org/app) to
        V(<dest>/app)).
      - A destination equal to the source, or named twice, is refused.
    type: list
    elements: str
    required: true
  create_namespace:
    description:
      - Create destination namespaces that do not exist yet, instead of failing before anything is copied.
    type: bool
    default: false
  resource_group_id:
    description:
      - Resource group of namespaces created by O(create_namespace); default the account's default group.
    type: str
  tags:
    description:
      - Regular expressions (Python C(re.search); anchor them with C(^) and C($)) of which a tag must match at least
        one. Default - every tag.
      - The filters (O(tags), O(exclude_tags), O(semver), O(latest)) select image tags only. Signature and referrer
        tags (C(sha256-<hex>), C(sha256-<hex>.sig), C(.att), C(.sbom)) are never selected by them - they go with
        the image they refer to when O(signatures) is true, and not at all otherwise.
    type: list
    elements: str
  exclude_tags:
    description:
      - Regular expressions that drop a tag matching any of them.
    type: list
    elements: str
  semver:
    description:
      - A version range a tag must be in, such as V(>=1.2.0 <2), V(^1.2), V(~1.4), V(1.x) or V(>=1.0 <1.4 || >=2);
        tags that are not versions (C([v]MAJOR[.MINOR[.PATCH]][-PRERELEASE])) are left out when it is set.
      - Comparators V(>=), V(>), V(<=), V(<), V(=); V(^) and V(~) as in npm; wildcards V(x), V(*); space means and,
        V(||) means or. A prerelease tag (V(2.0.0-rc.1)) matches only a range that names a prerelease of the same
        version. Hyphen ranges are not supported.
    type: str
  latest:
    description:
      - Keep only the newest N selected tags per repository - by version when O(semver) is set, else by the image's
        creation time (for a registry other than ICR this reads each candidate's manifest and config).
      - Images with the same creation time (reproducible builds often set one fixed time) are ordered by tag name,
        highest first in string order (V(latest) before V(dev), V(1.9) before V(1.10)); set O(semver) to order
        release tags by version.
    type: int
  platforms:
    description:
      - As in M(icr.registry.cr_image_copy) - V(all) copies indexes as they are; a list such as V([linux/amd64]) copies
        only those platforms of an index under a new index (whose digest then differs from the source's, and whose
        signatures are not copied, since they sign the source's digest).
    type: list
    elements: str
    default: [all]
  signatures:
    description:
      - Copy with each image what refers to it, after the image itself - cosign's tags (C(sha256-<hex>.sig), C(.att),
        C(.sbom)) and OCI referrers (the referrers API where the source registry serves it, else the referrers tag
        schema's C(sha256-<hex>) index).
      - Referrers read through the API are copied by digest and, when the destination has no referrers API (ICR
        documents none), listed in the destination's C(sha256-<hex>) index.
      - cosign keeps all the signatures of an image in its one C(.sig) tag, so a destination image that was also signed
        in the destination gets the source's C(.sig) tag instead (as with C(skopeo sync)); sign after the sync, or set
        V(false) to leave the destination's signature tags alone.
    type: bool
    default: true
  prune:
    description:
      - Delete (untag) the destination tags of the synced repositories that the source does not hold, or that the
        filters no longer select. In check mode they are listed with action V(pruned).
      - Signature and referrer tags go with their image - with O(signatures=true), those the source does not hold
        for a kept image are removed too; with O(signatures=false) the sync does not manage them, and those of the
        images it keeps stay (for example signatures made in the destination region).
    type: bool
    default: false
  parallel:
    description:
      - How many images are copied at the same time (each copy also streams up to 4 blobs at once).
    type: int
    default: 4
  src_username:
    description:
      - User name for the source registry (Basic auth or its token service). Without it, an ICR source is read as the
        module signs in, and another registry anonymously.
    type: str
  src_password:
    description:
      - Password or token for O(src_username).
    type: str
notes:
  - The destinations use the shared ICR options (O(api_key), O(endpoints), O(validate_certs), O(ca_path), O(timeout),
    O(retries)); each failed request or blob transfer is retried at most O(retries) times.
  - Tags whose source changed are copied again (the destination tag moves to the new digest).
extends_documentation_fragment:
  - icr.registry.icr
  - icr.registry.icr.attributes
  - icr.registry.icr.actiongroup
attributes:
  check_mode:
    support: full
    details:
      - Returns the same plan (RV(images) with the action each would get) and writes nothing.
  diff_mode:
    support: full
    details:
      - The destination tags the sync writes or prunes, each with the digest it held before and will hold after.
  idempotent:
    support: full
seealso:
  - module: icr.registry.cr_image_copy
"""

EXAMPLES = r"""
- name: Mirror a namespace into two regions, releases of 1.x only, with their signatures
  icr.registry.cr_image_sync:
    src: us.icr.io/team-a
    dest:
      - de.icr.io/team-a
      - jp.icr.io/team-a
    semver: ">=1.0.0 <2"
    create_namespace: true
  register: mirrored

- name: Report what was copied
  ansible.builtin.debug:
    msg: "{{ mirrored.counts.copied }} copied: {{ mirrored.images | selectattr('action', 'equalto', 'copied') | map(attribute='dest') | list }}"

- name: Keep the five newest release tags of one repository, and remove the others there
  icr.registry.cr_image_sync:
    src: us.icr.io/team-a/app
    dest: de.icr.io/team-a
    tags: ['^v?[0-9]+\.[0-9]+\.[0-9]+$']
    exclude_tags: ['-debug$']
    latest: 5
    prune: true

- name: Mirror a repository of a private registry
  icr.registry.cr_image_sync:
    src: registry.example.com/org/tool
    src_username: robot
    src_password: "{{ vault_registry_password }}"
    dest: us.icr.io/mirror
    platforms: [linux/amd64]

- name: Show the plan without copying
  icr.registry.cr_image_sync:
    src: us.icr.io/team-a
    dest: de.icr.io/team-a
    prune: true
  check_mode: true
  register: plan
"""

RETURN = r"""
images:
  description:
    - One entry per destination tag considered, in plan order, with what was done (in check mode, what would be).
      Signature and referrer tags have entries of their own; referrers copied by digest name the digest.
  returned: success
  type: list
  elements: dict
  sample:
    - src: us.icr.io/team-a/app:1.4.2
      dest: de.icr.io/team-a/app:1.4.2
      digest: sha256:db68314c3a2f1ac7d0e8b4d0f4c6fd8f2f0c9a5e1d3c1b8e2a9f7c6d5e4b3a21
      action: copied
  contains:
    src:
      description: The source tag (null for V(pruned)).
      type: str
    dest:
      description: The destination tag (canonical domain).
      type: str
    digest:
      description: The digest the destination holds after the sync (for V(pruned), the one it held).
      type: str
    action:
      description: V(copied), V(skipped) (already there) or V(pruned).
      type: str
counts:
  description: How many entries of RV(images) have each action (in check mode, would have).
  returned: success
  type: dict
  sample: {copied: 3, skipped: 12, pruned: 0}
  contains:
    copied:
      description: Tags (and referrers) copied.
      type: int
    skipped:
      description: Tags already in place.
      type: int
    pruned:
      description: Destination tags removed.
      type: int
repositories:
  description: The source repositories that were synced (path below the source registry).
  returned: success
  type: list
  elements: str
namespaces_created:
  description: Destination namespaces created (or, in check mode, that would be), as C(region/namespace).
  returned: success
  type: list
  elements: str
"""

from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError
from ansible_collections.icr.registry.plugins.module_utils.icr_module import IcrModule
from ansible_collections.icr.registry.plugins.module_utils.image_sync import ImageSync, SyncSource, SyncTarget
from ansible_collections.icr.registry.plugins.module_utils.namespaces import ensure_namespace, missing_namespace
from ansible_collections.icr.registry.plugins.module_utils.oci_manifest import check_platforms
from ansible_collections.icr.registry.plugins.module_utils.references import (
    ImageReference, parse_reference, validate_namespace)
from ansible_collections.icr.registry.plugins.module_utils.sync_plan import TagSelection, dest_repository

ENGINE_PARALLEL = 4  # blobs in flight per image (the copy engine's default)


class ImageSyncModule:
    """Checks every option (no request), then lists, plans and syncs."""

    def __init__(self, module):
        self.module = module
        params = module.params
        self.parallel = module.number("parallel", minimum=1, maximum=64)
        if params["latest"] is not None:
            module.number("latest", minimum=1)
        check_platforms(params["platforms"])
        self.selection = TagSelection(params["tags"], params["exclude_tags"], params["semver"], params["latest"])
        self.src_text = params["src"]
        self.src_region, self.src_namespace, self.src_ref = self._parse_src(params["src"])
        self.dests = [self._parse_dest(text) for text in params["dest"]]
        if not self.dests:
            raise IcrError("dest: name at least one destination namespace")
        for region, namespace in self.dests:
            self._refuse_same(region, namespace)
        # By region name: a namespace is one namespace whether reached publicly or privately.
        if len({(region.name, namespace) for region, namespace in self.dests}) < len(self.dests):
            raise IcrError("dest names the same namespace twice: %s" % ", ".join(params["dest"]))

    # ------------------------------------------------------------------ options
    def _parse_src(self, text):
        """``(region or None, namespace or None, ImageReference or None)``."""
        host, _sep, path = (text or "").partition("/")
        region = self.module.endpoints.region_for_host(host.lower()) if path else None
        if region is not None and "/" not in path.strip("/"):
            return region, validate_namespace(path.strip("/")), None
        if self.module.endpoints.region_for_host(text.strip().rstrip("/").lower()) is not None:
            # Not Docker Hub's library/us.icr.io, which a bare name would otherwise be.
            raise IcrError("src %s names a registry; name a namespace (%s/<namespace>) or a repository"
                           % (text, text.strip().rstrip("/")))
        ref = parse_reference(text, default_tag=None)
        if ref.tag or ref.digest:
            raise IcrError("src %s names an image; name a namespace or repository and select tags with tags, "
                           "exclude_tags, semver or latest" % text)
        return self.module.endpoints.region_for_host(ref.registry), None, ref

    def _parse_dest(self, text):
        host, _sep, path = (text or "").partition("/")
        region = self.module.endpoints.region_for_host(host.lower()) if path else None
        if region is None:
            raise IcrError("dest %s is not an ICR namespace (expected <region domain>/<namespace>, for example "
                           "de.icr.io/team-a)" % text)
        if "/" in path.strip("/"):
            raise IcrError("dest %s names a repository; name the namespace the repositories go below (%s/%s)"
                           % (text, host, path.split("/")[0]))
        return region, validate_namespace(path.strip("/"))

    def _refuse_same(self, region, namespace):
        if self.src_region is None or region.name != self.src_region.name:
            return
        if self.src_namespace is not None:
            same = namespace == self.src_namespace
        else:
            same = dest_repository(self.src_ref.repository, namespace, True) == self.src_ref.repository
        if same:
            raise IcrError("dest %s/%s is the source %s itself" % (region.domain, namespace, self.src_text))

    # ------------------------------------------------------------------ work
    def __call__(self):
        module, params = self.module, self.module.params
        pool = self.parallel * ENGINE_PARALLEL + 2
        source = self._source(pool)
        if self.src_namespace is not None:
            source.list_namespace(self.src_namespace)
        else:
            source.list_repository(self.src_ref.repository)
        targets, created = [], []
        for region, namespace in self.dests:
            target = SyncTarget(region, namespace, module.api(region), module.registry(region, pool))
            if params["create_namespace"]:
                target.created = ensure_namespace(module, region, namespace, params["resource_group_id"])
                if target.created:
                    created.append("%s/%s" % (region.name, namespace))
            elif namespace not in target.api.list_namespaces():
                raise missing_namespace(ImageReference(region.domain, namespace + "/*"), region)
            targets.append(target)
        sync = ImageSync(module, source, targets, self.selection, whole_namespace=self.src_namespace is not None,
                         platforms=params["platforms"], signatures=params["signatures"], prune=params["prune"],
                         parallel=self.parallel)
        images, counts = sync.run()
        changed = bool(counts["copied"] or counts["pruned"] or created)
        before = dict((dest, old) for dest, (old, _new) in sorted(sync.changes.items()) if old is not None)
        after = dict((dest, new) for dest, (_old, new) in sorted(sync.changes.items()) if new is not None)
        return module.result(changed, before=before, after=after, images=images, counts=counts, repositories=sorted(source.listings),
                             namespaces_created=created)

    def _source(self, pool):
        module, params = self.module, self.module.params
        username, password = params["src_username"], params["src_password"]
        region = self.src_region
        if region is None:
            return SyncSource(module.registry_client(self.src_ref.registry, username, password, pool),
                              self.src_ref.registry)
        if username is None:
            client = module.registry(region, pool)
        else:
            client = module.registry_client(module.registry_url(region), username, password, pool)
        # The API lists an ICR namespace; a repository read with other credentials is listed with them.
        api = module.api(region) if username is None or self.src_namespace is not None else None
        return SyncSource(client, region.domain, api)


def main():
    module = IcrModule(
        argument_spec=dict(
            src=dict(type="str", required=True),
            dest=dict(type="list", elements="str", required=True),
            create_namespace=dict(type="bool", default=False),
            resource_group_id=dict(type="str"),
            tags=dict(type="list", elements="str"),
            exclude_tags=dict(type="list", elements="str"),
            semver=dict(type="str"),
            latest=dict(type="int"),
            platforms=dict(type="list", elements="str", default=["all"]),
            signatures=dict(type="bool", default=True),
            prune=dict(type="bool", default=False),
            parallel=dict(type="int", default=4),
            src_username=dict(type="str"),
            src_password=dict(type="str", no_log=True),
        ),
        required_together=[("src_username", "src_password")],
        supports_check_mode=True,
    )
    module.run(ImageSyncModule)


if __name__ == "__main__":
    main()
