#!/usr/bin/env python3
# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Push a synthetic image (incompressible layers) straight through /v2, no daemon.

Each layer is an uncompressed tar holding one file of pseudo-random bytes, so docker can
pull and run the image too (it sniffs compression; its push then gzips the layers).

Used by the copy benchmark and the cr_image_copy integration target. Layers are
pseudo-random bytes generated from a seed (same seed, same layer, same digest), so a
second image can share layers with a first one. Credentials come from the environment
(REGISTRY_USERNAME / REGISTRY_PASSWORD, or IC_API_KEY as ``iamapikey``), never argv.

    make_image.py --registry 127.0.0.1:5201 --repo ns/app --tag big --layers 6 --size-mb 300
    make_image.py ... --index linux/amd64=ns/app:amd64 linux/arm64=ns/app:arm64 --tag multi
"""
import argparse
import hashlib
import json
import os
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / ".build" / "collections"))
LINK = ROOT / ".build" / "collections" / "ansible_collections" / "icr" / "registry"
if not LINK.exists():
    LINK.parent.mkdir(parents=True, exist_ok=True)
    LINK.symlink_to(ROOT, target_is_directory=True)

from ansible_collections.icr.registry.plugins.module_utils import oci_manifest as om  # noqa: E402
from ansible_collections.icr.registry.plugins.module_utils import oci_registry as oci  # noqa: E402

BLOCK = 1024 * 1024


def _file_size(layer_size):
    """Payload size of the one file of a layer tar of about ``layer_size`` bytes."""
    return max(0, (layer_size - 3 * 512) // 512 * 512)


def tar_size(layer_size):
    return 512 + _file_size(layer_size) + 1024


def layer_blocks(seed, layer_size):
    """A deterministic tar layer: header, incompressible payload (shake_256 counter mode), end."""
    payload = _file_size(layer_size)
    info = tarfile.TarInfo("data/%s.bin" % seed)
    info.size, info.mtime, info.mode = payload, 0, 0o644
    yield info.tobuf(format=tarfile.USTAR_FORMAT)
    produced = 0
    counter = 0
    while produced < payload:
        block = hashlib.shake_256(("%s:%d" % (seed, counter)).encode()).digest(min(BLOCK, payload - produced))
        produced += len(block)
        counter += 1
        yield block
    yield b"\0" * 1024


def layer_digest(seed, size):
    hasher = hashlib.sha256()
    for block in layer_blocks(seed, size):
        hasher.update(block)
    return "sha256:" + hasher.hexdigest()


def client_for(registry, parallel=4):
    username = os.environ.get("REGISTRY_USERNAME")
    password = os.environ.get("REGISTRY_PASSWORD")
    if username is None and os.environ.get("IC_API_KEY"):
        username, password = "iamapikey", os.environ["IC_API_KEY"]
    return oci.RegistryClient(registry, username=username, password=password, pool_size=parallel)


def push_blob(client, repo, digest, size, blocks):
    if client.blob_exists(repo, digest):
        return False
    _, url = client.start_upload(repo)
    client.put_blob(url, digest, blocks, size, repo)
    return True


def push_image(client, repo, tag, layer_seeds, layer_size, arch="amd64", size_lie=0):
    """Push the image; ``size_lie`` adds bytes to the first layer's declared size (a manifest
    registries accept, whose blob can never match it: for digest-verification tests)."""
    layers = []
    for seed in layer_seeds:
        digest = layer_digest(seed, layer_size)
        push_blob(client, repo, digest, tar_size(layer_size), layer_blocks(seed, layer_size))
        layers.append({"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                       "size": tar_size(layer_size), "digest": digest})
    config = json.dumps({"architecture": arch, "os": "linux", "config": {"Cmd": ["/data"]},
                         "created": "2026-01-01T00:00:00Z",
                         "rootfs": {"type": "layers", "diff_ids": [l["digest"] for l in layers]},
                         "comment": "synthetic %s" % tag}).encode()
    config_digest = om.sha256_digest(config)
    push_blob(client, repo, config_digest, len(config), [config])
    raw = json.dumps({"schemaVersion": 2, "mediaType": om.DOCKER_MANIFEST,
                      "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                                 "size": len(config), "digest": config_digest},
                      "layers": layers}, indent=3)
    if size_lie:
        doc = json.loads(raw)
        doc["layers"][0]["size"] += size_lie
        raw = json.dumps(doc, indent=3)
    raw = raw.encode()
    manifest = om.Manifest.from_bytes(raw, om.DOCKER_MANIFEST)
    client.put_manifest(repo, tag, manifest)
    return manifest


EMPTY_CONFIG = b"{}"
EMPTY_MEDIA_TYPE = "application/vnd.oci.empty.v1+json"


def push_artifact(client, repo, tag, payload, layer_type, artifact_type=None, subject=None):
    """Push a small OCI artifact manifest (one layer holding ``payload``), under ``tag`` when given
    (else by digest); ``subject``: the Manifest it refers to (OCI 1.1)."""
    push_blob(client, repo, om.sha256_digest(EMPTY_CONFIG), len(EMPTY_CONFIG), [EMPTY_CONFIG])
    push_blob(client, repo, om.sha256_digest(payload), len(payload), [payload])
    doc = {"schemaVersion": 2, "mediaType": om.OCI_MANIFEST,
           "config": {"mediaType": EMPTY_MEDIA_TYPE if artifact_type else "application/vnd.oci.image.config.v1+json",
                      "size": len(EMPTY_CONFIG), "digest": om.sha256_digest(EMPTY_CONFIG)},
           "layers": [{"mediaType": layer_type, "size": len(payload), "digest": om.sha256_digest(payload)}]}
    if artifact_type:
        doc["artifactType"] = artifact_type
    if subject is not None:
        doc["subject"] = {"mediaType": subject.media_type, "size": len(subject.raw), "digest": subject.digest}
    manifest = om.Manifest.from_bytes(json.dumps(doc, indent=2).encode(), om.OCI_MANIFEST)
    client.put_manifest(repo, tag or manifest.digest, manifest)
    return manifest


def push_signatures(client, repo, image):
    """What signing tools leave next to ``image`` on a registry without the referrers API: a
    cosign-style signature tag (``sha256-<hex>.sig``) and an OCI 1.1 referrer (an SBOM artifact
    whose ``subject`` is the image) listed in the referrers tag schema's index (``sha256-<hex>``)."""
    stem = "sha256-" + image.digest.split(":", 1)[1]
    payload = json.dumps({"critical": {"image": {"docker-manifest-digest": image.digest},
                                       "type": "cosign container image signature"}}).encode()
    push_artifact(client, repo, stem + ".sig", payload, "application/vnd.dev.cosign.simplesigning.v1+json")
    sbom = push_artifact(client, repo, None, json.dumps({"sbom": image.digest}).encode(),
                         "application/spdx+json", artifact_type="application/spdx+json", subject=image)
    index = {"schemaVersion": 2, "mediaType": om.OCI_INDEX,
             "manifests": [{"mediaType": om.OCI_MANIFEST, "size": len(sbom.raw), "digest": sbom.digest,
                            "artifactType": "application/spdx+json"}]}
    client.put_manifest(repo, stem, om.Manifest.from_bytes(json.dumps(index, indent=2).encode(), om.OCI_INDEX))


def push_index(client, repo, tag, children):
    """children: [(platform "os/arch[/variant]", "repo:tag")] already in the same repo."""
    entries = []
    for platform, ref in children:
        child_repo, child_tag = ref.rsplit(":", 1)
        child = client.get_manifest(child_repo, child_tag)
        if child_repo != repo:
            raise SystemExit("index children must be in %s" % repo)
        parts = platform.split("/")
        plat = {"os": parts[0], "architecture": parts[1]}
        if len(parts) > 2:
            plat["variant"] = parts[2]
        entries.append({"mediaType": child.media_type, "size": len(child.raw),
                        "digest": child.digest, "platform": plat})
    raw = json.dumps({"schemaVersion": 2, "mediaType": om.DOCKER_MANIFEST_LIST,
                      "manifests": entries}, indent=3).encode()
    manifest = om.Manifest.from_bytes(raw, om.DOCKER_MANIFEST_LIST)
    client.put_manifest(repo, tag, manifest)
    return manifest


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--registry", required=True, help="host:port of the registry")
    parser.add_argument("--repo", required=True, help="repository, e.g. ns/app")
    parser.add_argument("--tag", required=True)
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--size-mb", type=float, default=300.0, help="total size of the layers")
    parser.add_argument("--seed", default="image-a", help="layer i is generated from <seed>-<i>")
    parser.add_argument("--shared-seed", default=None,
                        help="take every layer but the last from this seed (shared layers)")
    parser.add_argument("--arch", default="amd64")
    parser.add_argument("--corrupt-descriptor", action="store_true",
                        help="declare 1000 bytes more than the first layer has")
    parser.add_argument("--sign", action="store_true",
                        help="also push a signature tag and an OCI referrer (with its referrers tag schema index)")
    parser.add_argument("--index", nargs="+", metavar="PLATFORM=REPO:TAG",
                        help="push a manifest list of existing images instead of an image")
    args = parser.parse_args()
    client = client_for(args.registry)
    if args.index:
        manifest = push_index(client, args.repo, args.tag, [c.split("=", 1) for c in args.index])
    else:
        layer_size = int(args.size_mb * 1024 * 1024 / args.layers)
        seeds = ["%s-%d" % (args.shared_seed or args.seed, i) for i in range(args.layers - 1)]
        seeds.append("%s-%d" % (args.seed, args.layers - 1))
        manifest = push_image(client, args.repo, args.tag, seeds, layer_size, args.arch,
                              size_lie=1000 if args.corrupt_descriptor else 0)
    if args.sign:
        push_signatures(client, args.repo, manifest)
    print(manifest.digest)


if __name__ == "__main__":
    main()
