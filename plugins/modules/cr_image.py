#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cr_image
short_description: Build, pull or take a local image and push it to IBM Cloud Container Registry, or delete an image
version_added: 0.1.0
description:
  - With O(state=present), gets an image into a Docker engine (build it, pull it from any registry, or take one the
    engine already has) and pushes it to one or more ICR references.
  - A build runs only when the Dockerfile, the build context (as the engine would receive it, honouring
    C(.dockerignore)) or the build options changed since the image the engine holds under the first O(name) was built;
    the identity of a build is recorded in the image label C(icr.registry.build-hash).
  - Before pushing, the manifest of the tag is read from the registry (the manifest only, no layer) and its config
    digest compared with the local image ID; when they are equal nothing is pushed.
  - A push goes one of two ways; RV(images[].pushed_by) says which. The rule on a host that pushed the earlier
    version is the engine's own push; the exception - a first push, a new CI runner - is the copy engine.
  - B(The engine's push) is used when this host pushed at least half of the image's layers before (a rebuild), when the
    engine pushed this very image before, and always with a remote engine (O(docker_host) C(ssh://), or C(tcp://) to
    another host), so that the image does not travel through the host running the module. The engine sends only a
    C(HEAD) for each layer it already pushed to (or pulled from) that repository and uploads the rest. It is signed
    in with a registry token scoped to pull and push on the task's repositories, valid minutes and handed over in
    that one request (the engine stores nothing; no C(docker login), no Docker config file). When the engine's push
    fails for any reason but the registry's refusal (C(denied)) - a busy answer it does not retry, a reset, a
    registry it cannot reach - the copy engine pushes instead (RV(images[].engine_error)).
  - B(The copy engine) exports the image from the engine (as C(docker save) does) into a private temporary directory
    under the remote temporary directory, compresses its layers reproducibly, and uploads it the way
    M(icr.registry.cr_image_copy) copies - layers in parallel, every request retried on 429, 5xx and resets, layers
    the repository already has skipped, and the tag written last, only once every layer is committed. It is used
    for an image none of whose layers (or fewer than half) this host pushed before, and for an image it pushed
    before, which it pushes again with the same digest.
  - Either way the registry accepts the tag only once every layer is in the repository, and the module then reads
    the tag back and fails unless it serves the image pushed, with the local image ID as its config digest.
  - The gzip digest of every layer the copy engine compressed, and the digest of every layer and image the engine
    pushed, are recorded in C(~/.cache/icr.registry/layer-digests.json) (under E(XDG_CACHE_HOME) when set; digests
    only, mode 0600), so a layer pushed before is not compressed again to name it, and not at all when the registry
    has it; this record also chooses the way of the next push.
  - With a remote engine (O(docker_host)) and a copy-engine push (the fallback), the image travels from the engine
    to the host running the module, then to the registry; that host needs free space for the image while the task
    runs.
  - With O(state=absent), deletes images by tag or digest the way C(ibmcloud cr image-rm) does; the digest and every
    tag on it in that repository go to the trash (restore them with M(icr.registry.cr_image_restore)).
author:
  - Contributors to the icr.registry project (!UNKNOWN)
options:
  name:
    description:
      - ICR reference C(<domain>/<namespace>/<repository>[:<tag>]), for example V(us.icr.io/team/app:1.0).
      - The tag defaults to V(latest). With O(state=absent) a digest reference (C(...@sha256:...)) is allowed too.
      - The domain gives the region; endpoints-file registry hosts are accepted and mapped to their region.
      - Exactly one of O(name) and O(names) is required.
    type: str
  names:
    description:
      - Several references, as for O(name). With O(state=present) the same image is pushed to each one.
    type: list
    elements: str
  state:
    description:
      - V(present) pushes the image; V(absent) deletes the named images.
    type: str
    choices: [present, absent]
    default: present
  source:
    description:
      - Where the image comes from, with O(state=present).
      - V(build) builds O(path) with the engine's classic builder.
      - V(pull) pulls O(source_image) from any registry, then tags and pushes it.
      - V(local) takes O(source_image), an image the engine already has (name or ID).
    type: str
    choices: [build, pull, local]
  path:
    description:
      - Build context folder, with O(source=build).
    type: path
  dockerfile:
    description:
      - Dockerfile, relative to O(path) or absolute. Default C(Dockerfile) in O(path).
    type: str
  build_args:
    description:
      - Build-time variables (C(ARG)) and their values.
    type: dict
  target:
    description:
      - Build stage to stop at, in a multi-stage Dockerfile.
    type: str
  labels:
    description:
      - Labels to set on the built image.
    type: dict
  platform:
    description:
      - Platform to build or pull, for example V(linux/amd64). Default the engine's.
    type: str
  pull_base_image:
    description:
      - With O(source=build), pull a newer version of the base images while building (C(docker build --pull)). The
        build then always runs; the result counts as a change only when the image ID changes.
      - Not to be confused with O(source=pull), which pulls the image to push.
    type: bool
    default: false
    aliases: [pull]
  nocache:
    description:
      - With O(source=build), build without the engine's build cache. The build always runs and makes a new image,
        which is then pushed, so a task with O(nocache=true) reports a change every time.
    type: bool
    default: false
  source_image:
    description:
      - With O(source=pull), the image to pull, for example V(docker.io/library/nginx:1.27) or V(quay.io/org/app@sha256:...).
        An ICR source is pulled with the ICR credentials unless O(src_username) is set.
      - With O(source=local), an image the engine has, by name or ID.
    type: str
  src_username:
    description:
      - User name for the registry of O(source_image), as in M(icr.registry.cr_image_copy).
    type: str
    aliases: [source_username]
  src_password:
    description:
      - Password or token for O(src_username).
    type: str
    aliases: [source_password]
  docker_host:
    description:
      - The Docker engine, for example V(unix:///var/run/docker.sock), V(tcp://build-host:2376) or V(ssh://me@build-host).
      - If not set, E(DOCKER_HOST) is used, then the local socket. E(DOCKER_TLS_VERIFY) and E(DOCKER_CERT_PATH) set up TLS.
      - V(ssh://) engines use paramiko when it is installed, else the C(ssh) client on the controller's PATH.
    type: str
  create_namespace:
    description:
      - Create a namespace that does not exist before pushing to it, instead of failing.
    type: bool
    default: false
  resource_group_id:
    description:
      - Resource group of namespaces created by O(create_namespace); default the account's default group.
    type: str
extends_documentation_fragment:
  - icr.registry.icr
  - icr.registry.icr.attributes
  - icr.registry.icr.actiongroup
attributes:
  check_mode:
    support: full
    details:
      - Nothing is built, pulled, tagged, pushed or deleted. A build that would run, or a source image the engine
        does not have yet, is reported as a change with no digest. A push of an image the engine has is reported
        with the digest it would write when that can be known without exporting the image (see RV(digest)).
  diff_mode:
    support: none
  idempotent:
    support: partial
    details:
      - Idempotent except with O(nocache=true), which builds and pushes a new image on every run.
requirements:
  - docker >= 7.0.0 (the Python docker SDK), with O(state=present)
notes:
  - Builds use the engine's classic builder, which every engine has (BuildKit is not used).
seealso:
  - module: icr.registry.cr_image_tag
  - module: icr.registry.cr_image_copy
  - module: icr.registry.cr_image_info
"""

EXAMPLES = r"""
- name: Build and push; nothing is built or pushed when the context did not change
  icr.registry.cr_image:
    name: us.icr.io/team/app:1.0
    source: build
    path: "{{ playbook_dir }}/app"
    build_args:
      VERSION: "1.0"

- name: Build on a remote engine and push under two tags
  icr.registry.cr_image:
    names:
      - us.icr.io/team/app:1.0
      - us.icr.io/team/app:latest
    source: build
    path: ./app
    docker_host: ssh://builder@build-host

- name: Mirror an image from a private registry
  icr.registry.cr_image:
    name: de.icr.io/team/nginx:1.27
    source: pull
    source_image: registry.example.com/mirror/nginx:1.27
    src_username: robot
    src_password: "{{ vault_registry_password }}"
    create_namespace: true

- name: Rebuild on the newest base image
  icr.registry.cr_image:
    name: us.icr.io/team/app:1.0
    source: build
    path: ./app
    pull_base_image: true

- name: Which digest would a push of the image the engine holds write? (check mode, nothing pushed)
  icr.registry.cr_image:
    name: de.icr.io/team/app:1.0
    source: local
    source_image: us.icr.io/team/app:1.0
  check_mode: true
  register: planned_push

- name: Report it
  ansible.builtin.debug:
    msg: "{{ planned_push.repo_digest | default('unknown until pushed', true) }}"

- name: Delete by tag and by digest (image-rm semantics)
  icr.registry.cr_image:
    names:
      - us.icr.io/team/app:old
      - us.icr.io/team/app@sha256:2d1b5f3c0e6b7c7d0f7a3c1f2b4e9a8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a29
    state: absent
"""

RETURN = r"""
digest:
  description:
    - Manifest digest of the (first) reference.
    - In check mode, the digest the reference already holds, or the one a push would write when it can be known
      without exporting the image - the engine has the image and the layer-digest record of this host
      (C(~/.cache/icr.registry/layer-digests.json)) knows it (its config and every layer, as after an earlier push
      of that image (or of its layers and config) through the copy engine, or the manifest of an earlier push of that
      image by the engine). Otherwise null (a build or pull that would run, or an image this host never pushed).
  returned: state=present
  type: str
  sample: sha256:8d17b365f63c8f6c5fd04a40e9ea59d69b681a462d05c139ffcef17e2b01d757
repo_digest:
  description: The (first) reference pinned to its digest; null when RV(digest) is.
  returned: state=present
  type: str
  sample: us.icr.io/team/app@sha256:8d17b365f63c8f6c5fd04a40e9ea59d69b681a462d05c139ffcef17e2b01d757
size:
  description: Bytes of the (first) image in the registry (config and compressed layers); null when RV(digest) is.
  returned: state=present
  type: int
  sample: 1066496
pushed:
  description: Whether anything was (or in check mode would be) pushed.
  returned: state=present
  type: bool
image_id:
  description: ID (config digest) of the local image; null in check mode when it is not known yet.
  returned: state=present
  type: str
built:
  description: Whether the image was (or would be) built.
  returned: state=present
  type: bool
images:
  description: One entry per reference in O(name)/O(names).
  returned: state=present
  type: list
  elements: dict
  contains:
    name: {description: The reference., type: str}
    digest: {description: Manifest digest (in check mode as for RV(digest))., type: str}
    repo_digest: {description: Reference pinned to the digest., type: str}
    size: {description: Bytes in the registry., type: int}
    pushed: {description: Whether it was pushed (in check mode - would be)., type: bool}
    namespace_created: {description: Whether its namespace was created (in check mode - would be)., type: bool}
    blobs_copied: {description: Blobs (config and layers) uploaded by this push; 0 in check mode., type: int}
    blobs_skipped: {description: Blobs the repository already had; 0 in check mode., type: int}
    blobs_mounted: {description: Blobs mounted from another repository of the same region pushed by this task., type: int}
    bytes_copied: {description: Bytes uploaded by the copy engine; 0 in check mode and for a push by the engine., type: int}
    pushed_by:
      description:
        - How the image was (in check mode - would be) pushed, V(engine) or V(copy engine); null when nothing was
          pushed. A push whose engine attempt failed reports V(copy engine) and RV(images[].engine_error).
        - For a push by the engine, RV(images[].blobs_copied), RV(images[].blobs_skipped) and
          RV(images[].blobs_mounted) count layers as the engine reported them.
      type: str
      choices: [engine, copy engine]
    engine_error: {description: Why the engine's push failed before the copy engine pushed instead; else null., type: str}
deleted:
  description: Images deleted (or that would be) with O(state=absent), each with every tag it carried in its repository.
  returned: state=absent
  type: list
  elements: dict
  sample:
    - reference: us.icr.io/team/app@sha256:2d1b5f3c0e6b7c7d0f7a3c1f2b4e9a8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a29
      digest: sha256:2d1b5f3c0e6b7c7d0f7a3c1f2b4e9a8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a29
      repository: us.icr.io/team/app
      tags: [old, stable]
      created: 1764185000
      size: 1066496
  contains:
    reference: {description: The image by digest., type: str}
    digest: {description: Manifest digest., type: str}
    repository: {description: The repository with its domain., type: str}
    tags: {description: Tags it carried in the repository., type: list}
    created: {description: Build date in seconds since the epoch (UTC); 0 when unknown., type: int}
    size: {description: Bytes., type: int}
actions:
  description: What was done (or would be done in check mode).
  returned: always
  type: list
  elements: str
"""

import shutil
import tempfile

from ansible_collections.icr.registry.plugins.module_utils.copy_engine import DEFAULT_PARALLEL, DigestMismatch
from ansible_collections.icr.registry.plugins.module_utils.docker_engine import (
    BUILD_HASH_LABEL, DockerEngine, build_hash, is_remote, platform_of)
from ansible_collections.icr.registry.plugins.module_utils.engine_push import (
    COPY, ENGINE, choose_path, engine_auth, engine_record, is_refusal, layer_counts, push_scopes, record_push,
    refusal_error)
from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError
from ansible_collections.icr.registry.plugins.module_utils.icr_images import (
    RepositoryDigests, icr_reference, locate_reference, repository_name)
from ansible_collections.icr.registry.plugins.module_utils.icr_module import IcrModule
from ansible_collections.icr.registry.plugins.module_utils.image_archive import DigestMemo, spool_archive
from ansible_collections.icr.registry.plugins.module_utils.namespaces import (
    ensure_namespace, explain_refused_write, require_namespaces)


class ImagePresent:
    """Gets the image into the engine, then makes each reference hold it."""

    def __init__(self, module, refs):
        self.module = module
        self.params = module.params
        self.refs = refs
        self.actions = []
        self.engine = DockerEngine(self.params["docker_host"], timeout=self.params["timeout"])
        self.copier = module.copy_engine()
        self._archive = None
        self._memo = None
        self._spool = None
        self._uploaded = {}  # region name -> a repository there that holds the image (mount from it)
        self._paths = {}  # region name -> ENGINE or COPY: how this task pushes there
        self._records = {}  # region name -> engine_record of the registry serving it
        self._auths = {}  # region name -> the engine's X-Registry-Auth for this task's pushes there

    def __call__(self):
        try:
            image_id, built = self.local_image()
            image = self.engine.inspect(image_id) if image_id else None
            images = [self.publish(ref, region, image) for ref, region in self.refs]
        finally:
            if self._spool:
                shutil.rmtree(self._spool, ignore_errors=True)
        first = images[0]
        return dict(changed=bool(self.actions), actions=self.actions, image_id=image_id, built=built,
                    digest=first["digest"], repo_digest=first["repo_digest"], size=first["size"],
                    pushed=any(item["pushed"] for item in images), images=images)

    # ---------------------------------------------------------------- the local image
    def push_repository(self, ref, region):
        """The engine's name for ``ref``: the host that serves the region, not the ICR domain."""
        return "%s/%s" % (self.module.registry_host(region), ref.repository)

    def local_image(self):
        """``(image ID or None when check mode cannot know it, built)``."""
        source = self.params["source"]
        if source == "build":
            return self.build()
        if source == "pull":
            return self.pull()
        image = self.engine.inspect(self.params["source_image"])
        if image is None:
            raise IcrError("Image %s is not in the Docker engine at %s" % (self.params["source_image"], self.engine.base_url))
        return image["Id"], False

    def build(self):
        params = self.params
        ref, region = self.refs[0]
        tag = "%s:%s" % (self.push_repository(ref, region), ref.tag)
        build_args = {key: str(value) for key, value in (params["build_args"] or {}).items()}
        user_labels = {key: str(value) for key, value in (params["labels"] or {}).items()}
        options = {"build_args": build_args, "target": params["target"], "labels": user_labels,
                   "platform": params["platform"]}
        identity = build_hash(params["path"], params["dockerfile"], options)
        current = self.engine.inspect(tag)
        current_id = current["Id"] if current else None
        recorded = ((current or {}).get("Config") or {}).get("Labels") or {}
        if current and recorded.get(BUILD_HASH_LABEL) == identity and not (params["pull_base_image"] or params["nocache"]):
            return current_id, False
        if self.module.check_mode:
            self.actions.append("built %s from %s" % (tag, params["path"]))
            return None, True
        self.require_namespaces()
        labels = dict(user_labels, **{BUILD_HASH_LABEL: identity})
        image_id = self.engine.build(params["path"], tag, dockerfile=params["dockerfile"],
                                     build_args=build_args, target=params["target"], labels=labels,
                                     platform=params["platform"], pull=params["pull_base_image"], nocache=params["nocache"])
        if image_id == current_id:
            return image_id, False
        self.actions.append("built %s from %s" % (tag, params["path"]))
        return image_id, True

    def pull(self):
        params = self.params
        source, region = locate_reference(self.module, params["source_image"])
        auth = None
        if params["src_username"]:
            auth = {"username": params["src_username"], "password": params["src_password"]}
        if region is not None:
            source = source.with_registry(self.module.registry_host(region))
            if auth is None:
                username, password = self.module.registry_credentials()
                auth = {"username": username, "password": password() if callable(password) else password}
        if self.module.check_mode:
            image = self.engine.inspect(str(source))
            return (image["Id"] if image else None), False
        self.require_namespaces()
        return self.engine.pull(str(source), auth_config=auth, platform=params["platform"]), False

    # ---------------------------------------------------------------- the registry
    def remote(self, ref, region, image):
        """``(manifest digest, config digest, size)`` the registry holds under the tag, or None.
        For an index, the config digest and size are those of the entry for the local platform."""
        client = self.module.registry(region)
        manifest = client.get_manifest(ref.repository, ref.tag, missing_ok=True)
        if manifest is None:
            return None
        image_manifest = manifest
        if manifest.is_index:
            child = manifest.child_for(platform_of(image)) if image else None
            if child is None:
                return manifest.digest, None, None
            image_manifest = client.get_manifest(ref.repository, child)
        return manifest.digest, (image_manifest.json.get("config") or {}).get("digest"), image_manifest.size

    def publish(self, ref, region, image):
        outcome = {"name": str(ref), "digest": None, "repo_digest": None, "size": None, "pushed": False,
                   "namespace_created": False, "blobs_copied": 0, "blobs_skipped": 0, "blobs_mounted": 0,
                   "bytes_copied": 0, "pushed_by": None, "engine_error": None}
        if self.params["create_namespace"] and ensure_namespace(self.module, region, ref.namespace,
                                                                self.params["resource_group_id"]):
            self.actions.append("created namespace %s in %s" % (ref.namespace, region.name))
            outcome["namespace_created"] = True
            if self.module.check_mode:
                outcome["pushed"] = True
                self.actions.append("pushed %s" % ref)
                return self.predict(outcome, ref, region, image)
        try:
            remote = self.remote(ref, region, image)
        except IcrError as err:
            raise explain_refused_write(self.module, ref, region, err)
        if remote and image and remote[1] == image["Id"]:
            return self.describe(outcome, ref, remote)
        outcome["pushed"] = True
        self.actions.append("pushed %s" % ref)
        if self.module.check_mode:
            return self.predict(outcome, ref, region, image)
        # The engine's push pushes this name; after the copy engine's, the engine keeps it as after a docker push.
        self.engine.tag(image["Id"], self.push_repository(ref, region), ref.tag)
        if self.path(region, image)[0] == ENGINE:
            pushed = self.engine_push(outcome, ref, region, image)
            if pushed is not None:
                return self.describe(outcome, ref, pushed)
        outcome["pushed_by"] = COPY
        try:
            result = self.copier.copy(self.archive(image["Id"]), self.module.registry(region), ref.repository, ref.tag,
                                      mount_from=self._uploaded.get(region.name))
        except DigestMismatch as err:
            raise IcrError("Pushing %s failed: %s. If the layer digests recorded in %s are stale, delete that "
                           "file and run again" % (ref, err.message, self._memo.path))
        except IcrError as err:
            raise explain_refused_write(self.module, ref, region, err)
        self._uploaded[region.name] = ref.repository
        pushed = self.remote(ref, region, image)
        if pushed is None or pushed[0] != self._archive.digest:
            raise IcrError("Pushed %s as %s, but the registry now serves %s under that tag"
                           % (ref, self._archive.digest, pushed[0] if pushed else "nothing"))
        outcome.update(blobs_copied=result.blobs_copied, blobs_skipped=result.blobs_skipped,
                       blobs_mounted=result.blobs_mounted, bytes_copied=result.bytes_copied)
        return self.describe(outcome, ref, pushed)

    def archive(self, image_id):
        """The image as the copy engine's source: exported from the engine once per task."""
        if self._archive is None:
            self._spool = tempfile.mkdtemp(prefix="icr-push-", dir=self.module.ansible_module.tmpdir)
            self._archive = spool_archive(self.engine.export(image_id), self._spool, image_id,
                                          parallel=DEFAULT_PARALLEL, memo=self.memo())
            self._memo.save()
        return self._archive

    def memo(self):
        """The copy engine's layer-digest record of this host (DigestMemo)."""
        if self._memo is None:
            self._memo = DigestMemo(DigestMemo.default_path())
        return self._memo

    def record(self, region):
        """What the engine pushed to ``region``'s registry, as this host recorded it."""
        if region.name not in self._records:
            self._records[region.name] = engine_record(DigestMemo.default_path(), self.engine.base_url,
                                                       self.module.registry_host(region))
        return self._records[region.name]

    def path(self, region, image):
        """``(ENGINE or COPY, (digest, size) the push would write or None)`` (engine_push.choose_path)."""
        path, known = choose_path(image["Id"], diff_ids(image), self.memo(), self.record(region),
                                  remote=is_remote(self.engine.base_url))
        return self._paths.get(region.name, path), known

    def engine_push(self, outcome, ref, region, image):
        """Push ``ref`` through the engine; the registry's ``(digest, config digest, size)``, or None
        when the engine's push failed but for a refusal (then the copy engine pushes, and pushes
        the rest of the task's references to that region)."""
        repository = self.push_repository(ref, region)
        try:
            if region.name not in self._auths:
                scopes = push_scopes(other.repository for other, where in self.refs if where.name == region.name)
                token = self.module.registry(region).bearer_token(scopes)
                if token is None:
                    raise IcrError("the registry at %s issues no registry token" % self.module.registry_host(region))
                self.module.no_log(token)
                self._auths[region.name] = engine_auth(token)
            digest, statuses = self.engine.push(repository, ref.tag, self._auths[region.name])
        except IcrError as err:
            if is_refusal(err):
                raise explain_refused_write(self.module, ref, region, refusal_error(err))
            self._paths[region.name] = COPY
            outcome["engine_error"] = err.message
            return None
        # The tag read back: the manifest the engine reported, of the local image (its config).
        served = self.module.registry(region).get_manifest(ref.repository, ref.tag, missing_ok=True)
        config = (served.json.get("config") or {}).get("digest") if served else None
        if served is None or served.digest != digest or config != image["Id"]:
            raise IcrError("The engine pushed %s as %s (image %s), but the registry now serves %s under that tag"
                           % (ref, digest, image["Id"], "%s (config %s)" % (served.digest, config) if served else "nothing"))
        self._paths[region.name] = ENGINE
        record_push(self.record(region), image["Id"], diff_ids(image), served)
        uploaded, skipped, mounted = layer_counts(statuses)
        outcome.update(pushed_by=ENGINE, blobs_copied=uploaded, blobs_skipped=skipped, blobs_mounted=mounted)
        return served.digest, config, served.size

    def predict(self, outcome, ref, region, image):
        """Check mode, a push that would happen: how, and the digest it would write when this host's
        records name it (an image pushed before, no export needed); else the outcome as it is."""
        if image is None:
            return outcome
        path, known = self.path(region, image)
        outcome["pushed_by"] = path
        if known is None:
            return outcome
        return self.describe(outcome, ref, (known[0], image["Id"], known[1]))

    @staticmethod
    def describe(outcome, ref, remote):
        digest, size = remote[0], remote[2]
        outcome.update(digest=digest, repo_digest="%s@%s" % (repository_name(ref), digest), size=size)
        return outcome

    def require_namespaces(self):
        """Before a build or a pull (minutes of work): fail now if a target namespace is missing
        and will not be created, rather than after the work, at the push."""
        if not self.params["create_namespace"]:
            require_namespaces(self.module, self.refs)


def diff_ids(image):
    """The layers (diff_ids) of an engine image inspection, bottom first."""
    return (image.get("RootFS") or {}).get("Layers") or []


class ImageAbsent:
    """image-rm for each reference: the digest and all its tags in that repository."""

    def __init__(self, module, refs):
        self.module = module
        self.refs = refs

    def __call__(self):
        deleted, actions, listings = [], [], {}
        for ref, region in self.refs:
            repository = repository_name(ref)
            key = (region.name, repository)
            if key not in listings:
                listings[key] = RepositoryDigests.read(self.module.api(region), repository)
            digest = listings[key].digest_of(ref)
            if digest is None or any(item["digest"] == digest and item["repository"] == repository for item in deleted):
                continue
            entry = dict(listings[key].entry(digest), repository=repository)
            deleted.append(entry)
            actions.append("deleted %s (tags: %s)" % (entry["reference"], ", ".join(entry["tags"]) or "none"))
            if not self.module.check_mode:
                self.module.api(region).delete_image(entry["reference"])
        return dict(changed=bool(deleted), actions=actions, deleted=deleted)


class ImageWorker:
    """Checks the references, then hands them to ImagePresent or ImageAbsent."""

    def __init__(self, module):
        params = module.params
        refs = [icr_reference(module, text) for text in params["names"] or [params["name"]]]
        if params["state"] == "absent":
            self.work = ImageAbsent(module, refs)
            return
        if not params["source"]:
            raise IcrError("state=present needs source: build, pull or local")
        digests = [str(ref) for ref, _region in refs if ref.digest]
        if digests:
            raise IcrError("state=present pushes to tags; %s names a digest" % ", ".join(digests))
        if params["src_password"]:
            module.no_log(params["src_password"])
        self.work = ImagePresent(module, refs)

    def __call__(self):
        return self.work()


def main():
    module = IcrModule(
        argument_spec=dict(
            name=dict(type="str"),
            names=dict(type="list", elements="str"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            source=dict(type="str", choices=["build", "pull", "local"]),
            path=dict(type="path"),
            dockerfile=dict(type="str"),
            build_args=dict(type="dict"),
            target=dict(type="str"),
            labels=dict(type="dict"),
            platform=dict(type="str"),
            pull_base_image=dict(type="bool", default=False, aliases=["pull"]),
            nocache=dict(type="bool", default=False),
            source_image=dict(type="str"),
            src_username=dict(type="str", aliases=["source_username"]),
            src_password=dict(type="str", no_log=True, aliases=["source_password"]),
            docker_host=dict(type="str"),
            create_namespace=dict(type="bool", default=False),
            resource_group_id=dict(type="str"),
        ),
        mutually_exclusive=[("name", "names")],
        required_one_of=[("name", "names")],
        required_if=[("source", "build", ["path"]), ("source", "pull", ["source_image"]),
                     ("source", "local", ["source_image"])],
        required_together=[("src_username", "src_password")],
        supports_check_mode=True,
    )
    module.run(ImageWorker)


if __name__ == "__main__":
    main()
