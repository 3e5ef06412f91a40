# -*- coding: utf-8 -*-
# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Keeping repositories mirrored: list both sides, plan, then copy on the copy engine.

``SyncSource`` lists what a source holds: an ICR namespace or repository through the
management API (ICR's registry has no catalog; one digest listing gives every repository, tag,
digest and creation time at once), any other repository through ``/v2/<name>/tags/list`` and one
manifest ``HEAD`` per selected tag. ``SyncTarget`` lists a destination namespace through the API
(one call per region). ``ImageSync`` plans per repository (``sync_plan`` chooses the tags) and
decides copy or skip by digest, then copies ``parallel`` images at a time on one ``CopyEngine``;
each image's signature and referrer tags are copied after the image itself, and a tag is only ever
written after everything it references (the engine's rule). Nothing is written in check mode.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import threading

from ansible_collections.icr.registry.plugins.module_utils.copy_engine import run_all
from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError
from ansible_collections.icr.registry.plugins.module_utils.icr_images import RepositoryDigests, epoch_seconds
from ansible_collections.icr.registry.plugins.module_utils.oci_manifest import OCI_INDEX, Manifest
from ansible_collections.icr.registry.plugins.module_utils.sync_plan import (
    dest_repository, fallback_tag, referrer_tag, referrer_tags_of)


class Listing:
    """One repository on one side: ``tags`` ``{tag: digest or None}`` (None: not known yet) and
    ``created`` ``{tag: epoch seconds}`` where known."""

    def __init__(self, repository, tags, created=None):
        self.repository = repository
        self.tags = dict(tags)
        self.created = dict(created or {})

    @classmethod
    def from_digests(cls, repository, digests):
        """From a ``RepositoryDigests`` (the management API's view of one repository)."""
        tags, created = {}, {}
        for digest, item in digests.digests.items():
            for tag in item["tags"]:
                tags[tag] = digest
                created[tag] = epoch_seconds(item["created"])
        return cls(repository, tags, created)


class SyncSource:
    """The repositories to sync and a ``/v2`` client to read their images.

    ``domain``: the name the results use for the source registry; ``api``: the management API
    client when the source is ICR and its listing comes from it, else None."""

    def __init__(self, client, domain, api=None):
        self.client = client
        self.domain = domain
        self.api = api
        self.listings = {}
        self._referrers_api = None  # unknown until asked once
        self._probe = threading.Lock()

    def list_namespace(self, namespace):
        if namespace not in self.api.list_namespaces():
            raise IcrError("src namespace %s does not exist in %s" % (namespace, self.domain))
        for name, digests in RepositoryDigests.read_namespace(self.api, namespace).items():
            repository = name.split("/", 1)[1]
            self.listings[repository] = Listing.from_digests(repository, digests)

    def list_repository(self, repository):
        """One repository: through the API when there is one, else ``tags/list``."""
        if self.api is not None:
            namespace = repository.split("/", 1)[0]
            if namespace not in self.api.list_namespaces():
                raise IcrError("src namespace %s does not exist in %s" % (namespace, self.domain))
            digests = RepositoryDigests.read(self.api, "%s/%s" % (self.domain, repository))
            listing = Listing.from_digests(repository, digests)
        else:
            listing = Listing(repository, dict.fromkeys(self.client.list_tags(repository)))
        if not listing.tags:
            raise IcrError("src repository %s/%s has no tags (or does not exist)" % (self.domain, repository))
        self.listings[repository] = listing

    def digest(self, repository, tag):
        """The digest ``tag`` points at (one HEAD when the listing did not say)."""
        listing = self.listings[repository]
        if listing.tags.get(tag) is None:
            found = self.client.head_manifest(repository, tag)
            if found is None:
                raise IcrError("src %s/%s:%s vanished while the sync was planned" % (self.domain, repository, tag))
            listing.tags[tag] = found[0]
        return listing.tags[tag]

    def created(self, repository, tags):
        """``{tag: epoch seconds}``: from the listing, else from each image's config (``latest``
        without ``semver`` on a registry other than ICR: a manifest and a config read per tag)."""
        listing = self.listings[repository]
        for tag in tags:
            if tag not in listing.created:
                listing.created[tag] = self._config_created(repository, tag)
        return listing.created

    def _config_created(self, repository, tag):
        manifest = self.client.get_manifest(repository, tag)
        self.listings[repository].tags[tag] = manifest.digest
        if manifest.is_index:
            children = manifest.children()
            if not children:
                return 0
            manifest = self.client.get_manifest(repository, children[0]["digest"])
        config = manifest.json.get("config") or {}
        response = self.client.get_blob(repository, config.get("digest"))
        try:
            return epoch_seconds(json.loads(response.content.decode("utf-8")).get("created"))
        except ValueError:
            return 0
        finally:
            response.close()

    def referrers(self, repository, digest):
        """What refers to ``digest`` through the referrers API, or None when the source has no such
        API (asked once per run: a registry without it keeps its referrers under tags, which the
        listing has)."""
        if self._referrers_api is None:
            with self._probe:  # one probe, not one per image in flight
                if self._referrers_api is None:
                    found = self.client.referrers(repository, digest)
                    self._referrers_api = found is not None
                    return found
        if not self._referrers_api:
            return None
        return self.client.referrers(repository, digest)


class SyncTarget:
    """One destination namespace in one region: its clients and what its repositories hold."""

    def __init__(self, region, namespace, api, client):
        self.region = region
        self.namespace = namespace
        self.api = api
        self.client = client
        self.listings = {}
        self.created = False  # the namespace is (or would be) created by this run
        self.referrers_api = None
        self.mount_from = None  # a repository of this registry that holds copied images
        self.blobs = {}  # repository -> digests of the blobs this run copied or found there

    @property
    def name(self):
        return "%s/%s" % (self.region.domain, self.namespace)

    def read(self, repositories):
        """List the destination repositories (one API call); a new namespace holds nothing."""
        names = ["%s/%s" % (self.region.domain, repository) for repository in repositories]
        if self.created or not names:
            self.listings = {repository: Listing(repository, {}) for repository in repositories}
            return
        digests = RepositoryDigests.read_many(self.api, names)
        self.listings = {name.split("/", 1)[1]: Listing.from_digests(name.split("/", 1)[1], item)
                         for name, item in digests.items()}


class Copy:
    """One source image to write into one target repository: under ``tags`` (first the image,
    then the other tags), followed by its ``referrer_tags`` and the ``referrers`` the API listed."""

    def __init__(self, target, src_repository, dest_repository, digest):
        self.target = target
        self.src_repository = src_repository
        self.dest_repository = dest_repository
        self.digest = digest
        self.tags = []
        self.referrer_tags = []
        self.with_referrers = False  # ask the referrers API (the image is copied as the source has it)
        self.source = None  # the SourceImage once resolved


class ImageSync:
    """Plans and runs a sync of ``source`` into ``targets`` (see the module docstring).

    ``selection``: a ``sync_plan.TagSelection``; ``whole_namespace``: the source is an ICR
    namespace (repository paths below it are kept below each target namespace)."""

    def __init__(self, module, source, targets, selection, whole_namespace, platforms=None, signatures=True,
                 prune=False, parallel=4):
        self.module = module
        self.source = source
        self.targets = targets
        self.selection = selection
        self.whole_namespace = whole_namespace
        self.platforms = platforms if platforms and list(platforms) != ["all"] else None
        self.signatures = signatures
        self.prune = prune
        self.parallel = parallel
        self.abort = threading.Event()
        self.engine = module.copy_engine(abort=self.abort)
        self.images = []  # the results: {src, dest, digest, action}
        self.changes = {}  # destination tag -> (digest before, digest after; None: no such tag)
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ planning
    def plan(self):
        """``(copies, prunes)``: the Copy units to run and the ``(target, repository, tag, digest)``
        to untag."""
        selected = {}
        for repository, listing in sorted(self.source.listings.items()):
            created = None
            if self.selection.needs_created:
                candidates = [tag for tag in listing.tags if self.selection.matches(tag)]
                created = self.source.created(repository, candidates)
            selected[repository] = self.selection.select(listing.tags, created)
        wanted = {}  # (target name, destination repository) -> the tags the sync keeps there
        kept_digests = {}  # (target name, destination repository) -> the digests those tags will hold
        groups = {}  # (repository, digest) -> [tags]
        for repository, tags in selected.items():
            for tag in tags:
                digest = self.source.digest(repository, tag)
                groups.setdefault((repository, digest), []).append(tag)
        copies, prunes = [], []
        for target in self.targets:
            target.read(sorted({dest_repository(repo, target.namespace, self.whole_namespace)
                                for repo in self.source.listings}))
        resolved = {}
        for (repository, digest), tags in sorted(groups.items(), key=lambda item: (item[0][0], item[1])):
            top = self._top_digest(repository, digest, resolved)
            referrer_tags = []
            if self.signatures and top == digest:
                referrer_tags = referrer_tags_of(digest, self.source.listings[repository].tags)
            for target in self.targets:
                dest_repo = dest_repository(repository, target.namespace, self.whole_namespace)
                have = target.listings.get(dest_repo, Listing(dest_repo, {})).tags
                unit = Copy(target, repository, dest_repo, top)
                unit.source = resolved.get((repository, digest))
                kept_digests.setdefault((target.name, dest_repo), set()).add(top)
                for tag in tags:
                    wanted.setdefault((target.name, dest_repo), set()).add(tag)
                    self._decide(unit, unit.tags, repository, dest_repo, tag, top, have.get(tag))
                for tag in referrer_tags:
                    wanted[(target.name, dest_repo)].add(tag)
                    src_digest = self.source.digest(repository, tag)
                    self._decide(unit, unit.referrer_tags, repository, dest_repo, tag, src_digest, have.get(tag))
                unit.with_referrers = self.signatures and top == digest
                if unit.tags or unit.referrer_tags or unit.with_referrers:
                    copies.append(unit)
        if self.prune:
            for target in self.targets:
                for dest_repo, listing in sorted(target.listings.items()):
                    keep = wanted.get((target.name, dest_repo), set())
                    kept = kept_digests.get((target.name, dest_repo), set())
                    for tag, digest in sorted(listing.tags.items()):
                        if tag not in keep and not self._unmanaged_referrer(tag, kept):
                            prunes.append((target, dest_repo, tag, digest))
        return copies, prunes

    def _unmanaged_referrer(self, tag, kept):
        """Without ``signatures`` the sync does not manage signature and referrer tags: ``prune``
        leaves those of an image it keeps (signed in the destination, or by an earlier sync)."""
        parsed = None if self.signatures else referrer_tag(tag)
        return parsed is not None and parsed[0] in kept

    def _top_digest(self, repository, digest, resolved):
        """The digest the destination will hold: the source's, unless ``platforms`` selects part of an
        index (then the new index's; one manifest read)."""
        if self.platforms is None:
            return digest
        source = self.engine.resolve(self.source.client, repository, digest, self.platforms)
        resolved[(repository, digest)] = source
        return source.digest

    def _decide(self, unit, queue, src_repo, dest_repo, tag, digest, current):
        entry = {"src": "%s/%s:%s" % (self.source.domain, src_repo, tag),
                 "dest": "%s/%s:%s" % (unit.target.region.domain, dest_repo, tag),
                 "digest": digest, "action": "skipped" if current == digest else "copied"}
        self.images.append(entry)
        if current != digest:
            self.changes[entry["dest"]] = (current, digest)
            queue.append((tag, digest, entry))

    # ------------------------------------------------------------------ running
    def run(self):
        copies, prunes = self.plan()
        for target, dest_repo, tag, digest in prunes:
            dest = "%s/%s:%s" % (target.region.domain, dest_repo, tag)
            self.images.append({"src": None, "dest": dest, "digest": digest, "action": "pruned"})
            self.changes[dest] = (digest, None)
        if not self.module.check_mode:
            run_all(self._copy_unit, copies, self.parallel, self.abort)
            for target, dest_repo, tag, _digest in prunes:
                target.api.untag_image("%s/%s:%s" % (target.region.domain, dest_repo, tag))
        else:
            # Check mode: referrers the API lists are reported too (reads only).
            for unit in copies:
                if unit.with_referrers:
                    self._referrers(unit, write=False)
        counts = {action: len([entry for entry in self.images if entry["action"] == action])
                  for action in ("copied", "skipped", "pruned")}
        return self.images, counts

    def _copy_unit(self, unit):
        if self.abort.is_set():
            return
        client = self.source.client
        target = unit.target
        if unit.tags:
            source = unit.source or self.engine.resolve(client, unit.src_repository, unit.digest)
            first, rest = unit.tags[0], unit.tags[1:]
            # The listing said the tag lacks this digest: no HEAD of the tag, nor of blobs written before.
            self.engine.copy(source, target.client, unit.dest_repository, first[0], mount_from=target.mount_from,
                             listed=target.blobs.setdefault(unit.dest_repository, set()))
            target.mount_from = target.mount_from or unit.dest_repository
            for tag, _digest, _entry in rest:
                self.engine.tag(source, target.client, unit.dest_repository, tag)
        for tag, digest, _entry in unit.referrer_tags:
            source = self.engine.resolve(client, unit.src_repository, digest)
            self.engine.copy(source, target.client, unit.dest_repository, tag, mount_from=target.mount_from,
                             listed=target.blobs.setdefault(unit.dest_repository, set()))
        if unit.with_referrers:
            self._referrers(unit, write=True)

    def _referrers(self, unit, write):
        """What the source's referrers API lists for the image (None when it has none: the referrers
        tag schema's tag was copied with the listing): copied by digest, and, when the destination has
        no referrers API either, added to its referrers tag schema index."""
        found = self.source.referrers(unit.src_repository, unit.digest)
        if not found:
            return
        target, repository = unit.target, unit.dest_repository
        for descriptor in found:
            digest = descriptor["digest"]
            entry = {"src": "%s/%s@%s" % (self.source.domain, unit.src_repository, digest),
                     "dest": "%s/%s@%s" % (target.region.domain, repository, digest),
                     "digest": digest, "action": "copied"}
            if target.created:
                present = False
            else:
                present = target.client.head_manifest(repository, digest) is not None
            if present:
                entry["action"] = "skipped"
            elif write:
                source = self.engine.resolve(self.source.client, unit.src_repository, digest)
                self.engine.copy(source, target.client, repository)
            with self._lock:
                self.images.append(entry)
        if write:
            self._update_fallback_index(unit, found)

    def _update_fallback_index(self, unit, descriptors):
        """Keep the destination's ``sha256-<hex>`` index listing the referrers, unless the destination
        serves the referrers API itself (asked once per target)."""
        target, repository = unit.target, unit.dest_repository
        if target.referrers_api is None:
            target.referrers_api = target.client.referrers(repository, unit.digest) is not None
        if target.referrers_api:
            return
        tag = fallback_tag(unit.digest)
        current = target.client.get_manifest(repository, tag, missing_ok=True)
        doc = current.json if current is not None and current.is_index else {
            "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}
        listed = {item.get("digest") for item in doc.get("manifests") or []}
        added = [descriptor for descriptor in descriptors if descriptor.get("digest") not in listed]
        if not added:
            return
        doc = dict(doc, manifests=list(doc.get("manifests") or []) + added)
        index = Manifest.from_bytes(json.dumps(doc, indent=2).encode("utf-8"), OCI_INDEX)
        self.engine.tag(_Written(index), target.client, repository, tag)


class _Written:
    """A manifest built here (the referrers index), as the engine's ``tag`` takes a source."""

    def __init__(self, manifest):
        self.manifest = manifest
        self.digest = manifest.digest
