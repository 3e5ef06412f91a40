# -*- coding: utf-8 -*-
# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Which way cr_image pushes an image the Docker engine holds: the engine's own push, or an
export through the copy engine; and what this host records about the engine's pushes.

The copy engine (``image_archive`` + ``copy_engine``) needs the whole image exported
(``docker save``) before it can upload the one layer a rebuild changed: seconds per
hundreds of megabytes, on every rebuild. The engine's own push sends only a HEAD for a layer
it already pushed to (or pulled from) that repository, so a rebuild costs what its new layers
cost. The engine knows only what it pushed or pulled itself, not what the copy engine uploaded.

The rule (``choose_path``):

- an image this host pushed through the copy engine before (the DigestMemo names its config
  and every layer): the copy engine, which writes the same manifest (same digest) again;
- an image the engine pushed before (this record names it): the engine;
- a remote engine (``docker_host`` ssh://, tcp:// to another host): the engine, so the bytes
  do not travel through the host that runs the module;
- a new image at least half of whose layers this host pushed before, through either path
  (a rebuild): the engine. Layers only the copy engine pushed are uploaded by the engine once
  (then it knows them), or mounted when the engine pulled them from that registry;
- otherwise (a first push, a new CI runner): the copy engine, faster than the engine's push
  for an image the registry lacks, and which finds the layers a reproducible gzip made before.

The engine signs in with a registry token (``registrytoken`` in ``X-Registry-Auth``: the engine
sends it as it is and asks the token service for nothing), scoped to pull and push on the
task's repositories in that region and valid minutes; it is part of that one request and
never stored by the engine. When the engine's push fails for any reason but a refusal (a busy
answer to its ping or manifest request, which it does not retry; a reset; a registry it cannot
reach; an ``unauthorized`` that a busy answer to its ping causes), the push falls back to the
copy engine, whose every request is retried.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError
from ansible_collections.icr.registry.plugins.module_utils.image_archive import DigestMemo, predict_manifest
from ansible_collections.icr.registry.plugins.module_utils.oci_registry import repository_scope

ENGINE = "engine"
COPY = "copy engine"
# What dockerd says when the registry refuses a push: the copy engine would be refused too. Not
# "unauthorized": dockerd also gets that when a busy answer to its ping kept it from learning the
# Bearer challenge (it then sends no token at all); the copy engine finds out what it means.
_REFUSED_RE = re.compile(r"\bdenied\b", re.IGNORECASE)
# The layer statuses of a finished engine push.
_SKIPPED, _MOUNTED, _PUSHED = "Layer already exists", "Mounted from", "Pushed"


def engine_record(path, base_url, registry_host):
    """What the engine at ``base_url`` pushed to ``registry_host``, as seen from this host: a
    DigestMemo (same file, its own key) of ``diff_id -> (layer digest, size)`` and
    ``image ID -> (manifest digest, size)``."""
    return DigestMemo(path, key="engine %s pushed to %s" % (base_url, registry_host))


def choose_path(image_id, diff_ids, memo, record, remote=False):
    """``(ENGINE or COPY, (manifest digest, size) the push would write when known, else None)``
    for image ``image_id`` whose layers are ``diff_ids``; ``memo``: the copy engine's DigestMemo,
    ``record``: ``engine_record``; ``remote``: the engine runs on another host."""
    ours = predict_manifest(memo, image_id, diff_ids)
    theirs = record.get(image_id)
    if remote:
        return ENGINE, theirs
    if ours is not None:
        return COPY, (ours.digest, ours.size)
    if theirs is not None:
        return ENGINE, theirs
    known = sum(1 for diff_id in diff_ids or [] if memo.get(diff_id) or record.get(diff_id))
    if diff_ids and 2 * known >= len(diff_ids):
        return ENGINE, None
    return COPY, None


def push_scopes(repositories):
    """The registry token scopes of an engine push to ``repositories`` (one region): pull and
    push on each, so that one token (one auth config) serves every push of the task and the
    engine may mount a layer from one into the next."""
    return [repository_scope(repository, ["pull", "push"]) for repository in sorted(set(repositories))]


def engine_auth(token):
    """The ``X-Registry-Auth`` value of an engine push with registry token ``token``."""
    return {"registrytoken": token}


def is_refusal(err):
    """Whether an engine push failed because the registry refused it (not worth a fallback)."""
    return bool(_REFUSED_RE.search(err.message or ""))


def refusal_error(err):
    """The refusal as the registry client would report it (403), for explain_refused_write."""
    return IcrError(err.message, status=403)


def layer_counts(statuses):
    """``(uploaded, skipped, mounted)`` layers from the engine push's last status per layer."""
    values = list(statuses.values())
    return (sum(1 for value in values if value == _PUSHED),
            sum(1 for value in values if value == _SKIPPED),
            sum(1 for value in values if value.startswith(_MOUNTED)))


def record_push(record, image_id, diff_ids, manifest):
    """Note in ``record`` that the engine pushed ``image_id`` as ``manifest`` (what the registry
    serves now): each layer's digest and size, and the manifest's digest and size."""
    layers = manifest.json.get("layers") or []
    if len(layers) != len(diff_ids or []):
        return
    for diff_id, layer in zip(diff_ids, layers):
        record.put(diff_id, layer.get("digest"), int(layer.get("size") or 0))
    record.put(image_id, manifest.digest, manifest.size)
    record.save()
