# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
import gzip
import io
import json
import os
import tarfile
from types import SimpleNamespace

import pytest
from ansible.module_utils import basic

from ansible_collections.icr.registry.plugins.module_utils import icr_context, icr_module, image_archive
from ansible_collections.icr.registry.plugins.module_utils.docker_engine import BUILD_HASH_LABEL, build_hash
from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError
from ansible_collections.icr.registry.plugins.module_utils.retry import RetryPolicy
from ansible_collections.icr.registry.plugins.modules import cr_image
from fake_api import dg
from fake_registry import FakeRegistry, sha
from module_runner import run

REPO = "us.icr.io/team/app"


def tar_of(files):
    """An uncompressed tar of ``(name, bytes)`` files, as an engine saves a layer or an image."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


BASE_LAYER = tar_of([("etc/os-release", b"ID=base\n"), ("bin/sh", b"\x7fELF" + b"\x00" * 5000)])


class FakeEngine:
    """Images by name and ID. Each image has a config whose sha256 is its ID (as in a real
    engine) and layers: the shared base layer, then its own. Every build makes a new image;
    ``export`` writes the classic ``docker save`` archive of an image."""

    def __init__(self):
        self.base_url = "unix:///fake.sock"
        self.images = {}
        self.saved = {}  # image ID -> (config bytes, [layer bytes])
        self.calls = []
        self.registry = None
        self.pushed = {}  # diff_id -> digest of the blob this engine pushed for it
        self.push_error = None

    def add(self, names, labels=None, layer=b"app"):
        layers = [BASE_LAYER, tar_of([("app/content", layer)])]
        config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Labels": labels},
                             "rootfs": {"type": "layers", "diff_ids": [sha(item) for item in layers]}},
                            sort_keys=True).encode()
        image_id = sha(config)
        image = {"Id": image_id, "Os": "linux", "Architecture": "amd64", "Config": {"Labels": labels},
                 "RootFS": {"Type": "layers", "Layers": [sha(item) for item in layers]}}
        for name in list(names) + [image_id]:
            self.images[name] = image
        self.saved[image_id] = (config, layers)
        return image_id

    def inspect(self, name):
        return self.images.get(name)

    def build(self, context, tag, labels=None, **kwargs):
        self.calls.append(("build", tag, labels, kwargs))
        return self.add([tag], labels, layer=b"build %d" % len(self.calls))

    def pull(self, reference, auth_config=None, platform=None):
        self.calls.append(("pull", reference, auth_config))
        return self.images[reference]["Id"]

    def tag(self, image, repository, tag):
        self.calls.append(("tag", image, "%s:%s" % (repository, tag)))
        self.images["%s:%s" % (repository, tag)] = self.images[image]

    def push(self, repository, tag, auth_config):
        """dockerd's push, in short: a layer it pushed to this repository before gets a HEAD only,
        any other is gzipped its own way (not the collection's reproducible gzip) and uploaded;
        the manifest is written last."""
        self.calls.append(("push", "%s:%s" % (repository, tag), auth_config))
        if self.push_error:
            raise self.push_error  # pylint: disable=raising-bad-type
        repo = repository.split("/", 1)[1]
        image = self.images["%s:%s" % (repository, tag)]
        config, layers = self.saved[image["Id"]]
        statuses, described = {}, []
        for layer in layers:
            known = self.pushed.get(sha(layer))
            if known and (repo, known) in self.registry.blobs:
                statuses[known[7:19]] = "Layer already exists"
            else:
                blob = gzip.compress(layer, compresslevel=1, mtime=0)
                known = self.pushed[sha(layer)] = sha(blob)
                self.registry.blobs[(repo, known)] = blob
                statuses[known[7:19]] = "Pushed"
            described.append((known, len(self.registry.blobs[(repo, known)])))
        self.registry.blobs[(repo, image["Id"])] = config
        manifest = image_archive.archive_manifest(image["Id"], len(config), described)
        return self.registry.put_manifest(repo, tag, manifest), statuses

    def export(self, image_id):
        self.calls.append(("export", image_id))
        config, layers = self.saved[image_id]
        files, names = [], []
        for index, layer in enumerate(layers):
            names.append("%064x/layer.tar" % (index + 1))
            files += [("%064x/VERSION" % (index + 1), b"1.0"), (names[-1], layer)]
        files.append((image_id[7:] + ".json", config))
        files.append(("manifest.json", json.dumps([{"Config": image_id[7:] + ".json", "RepoTags": [],
                                                    "Layers": names}]).encode()))
        data = tar_of(files)
        return iter([data[start:start + 3001] for start in range(0, len(data), 3001)])


@pytest.fixture
def fakes(api, monkeypatch, tmp_path_factory):
    registry = FakeRegistry()
    engine = FakeEngine()
    engine.registry = registry
    created = []

    def new_engine(*args, **kwargs):
        created.append((args, kwargs))
        return engine
    moduletmp = tmp_path_factory.mktemp("moduletmp")
    monkeypatch.setattr(basic.AnsibleModule, "tmpdir", property(lambda self: str(moduletmp)))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setattr(cr_image, "DockerEngine", new_engine)
    monkeypatch.setattr(icr_context, "RegistryClient", lambda *a, **k: registry)
    return SimpleNamespace(engine=engine, registry=registry, api=api, created=created, moduletmp=moduletmp)


@pytest.fixture
def context(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM base\nCOPY a.txt /\n")
    (tmp_path / "a.txt").write_text("a")
    return tmp_path


def build_args(context, **extra):
    return dict({"name": REPO + ":1.0", "source": "build", "path": str(context)}, **extra)


def exports(engine):
    return [call for call in engine.calls if call[0] == "export"]


def test_build_push_then_nothing(fakes, context):
    engine, registry = fakes.engine, fakes.registry
    first = run(cr_image, build_args(context)).result
    assert first["changed"] and first["built"] and first["pushed"]
    image_id = first["image_id"]
    manifest = registry.manifests[("team/app", "1.0")]
    assert first["digest"] == manifest.digest and manifest.json["config"]["digest"] == image_id
    assert first["repo_digest"] == REPO + "@" + first["digest"]
    assert first["size"] == manifest.size == first["images"][0]["bytes_copied"]
    assert first["images"][0]["blobs_copied"] == 3 and len(registry.uploads) == 3  # config and two layers
    assert ("tag", image_id, "us.icr.io/team/app:1.0") in engine.calls and exports(engine) == [("export", image_id)]
    # What the registry holds is the engine's image: every layer gunzips to its diff_id.
    config, layers = engine.saved[image_id]
    assert registry.blobs[("team/app", image_id)] == config
    assert [sha(gzip.decompress(registry.blobs[("team/app", d["digest"])])) for d in manifest.json["layers"]] == \
        [sha(layer) for layer in layers] == json.loads(config)["rootfs"]["diff_ids"]
    assert list(fakes.moduletmp.iterdir()) == []  # the spooled archive is gone
    options = {"build_args": {}, "target": None, "labels": {}, "platform": None}
    assert engine.images["us.icr.io/team/app:1.0"]["Config"]["Labels"][BUILD_HASH_LABEL] == \
        build_hash(str(context), None, options)
    calls, puts = len(engine.calls), len(registry.manifest_puts)
    second = run(cr_image, build_args(context)).result
    assert not second["changed"] and not second["built"] and not second["pushed"]
    assert second["digest"] == first["digest"] and len(engine.calls) == calls  # no build, tag nor export
    assert len(registry.uploads) == 3 and len(registry.manifest_puts) == puts


def test_changed_context_rebuilds_and_pushes(fakes, context):
    registry = fakes.registry
    first = run(cr_image, build_args(context)).result
    (context / "a.txt").write_text("b")
    second = run(cr_image, build_args(context)).result
    assert second["built"] and second["pushed"] and second["digest"] != first["digest"]
    assert second["image_id"] != first["image_id"]
    assert registry.manifests[("team/app", "1.0")].json["config"]["digest"] == second["image_id"]
    # A rebuild on a host that pushed the base layer: the engine pushes, nothing is exported. It
    # never pushed the base layer itself (the copy engine did), so it uploads it this once.
    assert second["images"][0]["pushed_by"] == "engine" and len(exports(fakes.engine)) == 1
    assert (second["images"][0]["blobs_skipped"], second["images"][0]["blobs_copied"]) == (0, 2)
    (context / "a.txt").write_text("c")
    third = run(cr_image, build_args(context)).result
    assert third["images"][0]["pushed_by"] == "engine" and len(exports(fakes.engine)) == 1
    assert (third["images"][0]["blobs_skipped"], third["images"][0]["blobs_copied"]) == (1, 1)
    assert registry.manifests[("team/app", "1.0")].json["config"]["digest"] == third["image_id"]
    changed_option = run(cr_image, build_args(context, build_args={"V": 2})).result
    assert changed_option["built"]


def compressions(monkeypatch):
    """Count the layers gzip_file compresses (the up-front compression, not a lazy one)."""
    done = []
    real = image_archive.gzip_file

    def counted(source, target, level=image_archive.GZIP_LEVEL):
        done.append(source)
        return real(source, target, level)
    monkeypatch.setattr(image_archive, "gzip_file", counted)
    return done


def test_a_rebuild_compresses_only_its_new_layer(fakes, context, monkeypatch):
    compressed = compressions(monkeypatch)
    first = run(cr_image, build_args(context)).result
    assert len(compressed) == 2
    memo_path = image_archive.DigestMemo.default_path()
    assert os.stat(memo_path).st_mode & 0o777 == 0o600
    entries = list(json.load(open(memo_path)).values())[0]
    layers = fakes.registry.manifests[("team/app", "1.0")].json["layers"]
    config = fakes.registry.manifests[("team/app", "1.0")].json["config"]  # its size too, for check mode
    assert sorted(entries.values()) == sorted([d["digest"], d["size"]] for d in layers + [config])
    assert entries[first["image_id"]] == [first["image_id"], config["size"]]
    (context / "a.txt").write_text("b")
    fakes.engine.push_error = IcrError("Pushing failed: received unexpected HTTP status: 503 Service Unavailable")
    second = run(cr_image, build_args(context)).result  # the engine's push fails: the copy engine pushes
    assert second["images"][0]["pushed_by"] == "copy engine" and "503" in second["images"][0]["engine_error"]
    assert second["pushed"] and len(compressed) == 3  # the base layer was not compressed again
    assert fakes.registry.manifests[("team/app", "1.0")].json["layers"][0] == layers[0]
    assert second["images"][0]["blobs_skipped"] == 1


def fresh_args(pushed):
    """Push the image of an earlier result to a new repository."""
    return {"name": "us.icr.io/team/fresh:1", "source": "local", "source_image": pushed["image_id"]}


def test_a_known_layer_the_registry_lacks_is_gzipped_on_the_way(fakes, context, monkeypatch):
    compressed = compressions(monkeypatch)
    first = run(cr_image, build_args(context)).result
    other = run(cr_image, fresh_args(first)).result  # a repository with nothing in it, nothing to mount from
    assert len(compressed) == 2 and other["images"][0]["blobs_copied"] == 3
    manifest = fakes.registry.manifests[("team/fresh", "1")]
    assert manifest.digest == first["digest"]
    config, layers = fakes.engine.saved[first["image_id"]]
    assert [sha(gzip.decompress(fakes.registry.blobs[("team/fresh", d["digest"])])) for d in manifest.json["layers"]] \
        == [sha(layer) for layer in layers]


def test_a_stale_digest_record_fails_clearly(fakes, context):
    first = run(cr_image, build_args(context)).result
    memo_path = image_archive.DigestMemo.default_path()
    data = json.load(open(memo_path))
    for key, entry in list(data.values())[0].items():
        if key != first["image_id"]:  # the record names the image (its config): the copy engine pushes it
            entry[0] = dg("e")  # what this zlib would not make of the layer
    with open(memo_path, "w") as handle:
        json.dump(data, handle)
    outcome = run(cr_image, fresh_args(first))
    assert outcome.failed and memo_path in outcome.result["msg"] and "delete that file" in outcome.result["msg"]
    assert ("team/fresh", "1") not in fakes.registry.manifests
    os.unlink(memo_path)
    assert run(cr_image, fresh_args(first)).result["digest"] == first["digest"]


def test_unchanged_image_missing_remotely_is_pushed(fakes, context):
    engine, registry = fakes.engine, fakes.registry
    first = run(cr_image, build_args(context)).result
    registry.manifests.clear()
    again = run(cr_image, build_args(context)).result
    assert again["changed"] and not again["built"] and again["pushed"] and again["digest"] == first["digest"]
    assert (again["images"][0]["blobs_skipped"], again["images"][0]["blobs_copied"]) == (3, 0)
    assert len(registry.uploads) == 3 and len(exports(engine)) == 2


def test_two_names_in_one_region_upload_once_and_mount(fakes, context):
    engine, registry = fakes.engine, fakes.registry
    names = [REPO + ":1.0", "us.icr.io/team/other:2"]
    result = run(cr_image, {"names": names, "source": "build", "path": str(context)}).result
    first, second = result["images"]
    assert first["pushed"] and second["pushed"] and first["digest"] == second["digest"]
    assert (first["blobs_copied"], first["blobs_mounted"]) == (3, 0)
    assert (second["blobs_copied"], second["blobs_mounted"], second["bytes_copied"]) == (0, 3, 0)
    assert len(registry.uploads) == 3 and {m[2] for m in registry.mounts} == {"team/app"}
    assert registry.manifests[("team/other", "2")].json["config"]["digest"] == result["image_id"]
    assert len(exports(engine)) == 1  # exported once for both names


def test_check_mode_neither_builds_nor_pushes(fakes, context):
    engine, registry, api = fakes.engine, fakes.registry, fakes.api
    result = run(cr_image, build_args(context, create_namespace=True, name="us.icr.io/fresh/app:1"), check=True).result
    assert result["changed"] and result["built"] and result["pushed"] and result["digest"] is None
    assert engine.calls == [] and api.writes == [] and registry.manifests == {} and registry.uploads == []


def test_pull_from_another_registry_with_credentials(fakes):
    engine, registry = fakes.engine, fakes.registry
    image_id = engine.add(["quay.io/org/tool:2"], layer=b"tool")
    args = {"name": REPO + ":tool", "source": "pull", "source_image": "quay.io/org/tool:2",
            "src_username": "robot", "src_password": "pw"}
    result = run(cr_image, args).result
    assert result["pushed"] and engine.calls[0] == ("pull", "quay.io/org/tool:2", {"username": "robot", "password": "pw"})
    assert result["image_id"] == image_id == registry.manifests[("team/app", "tool")].json["config"]["digest"]
    assert not run(cr_image, args).result["changed"]


def test_the_former_credential_names_source_username_and_source_password_still_work(fakes):
    engine = fakes.engine
    engine.add(["quay.io/org/tool:2"], layer=b"tool")
    outcome = run(cr_image, {"name": REPO + ":tool", "source": "pull", "source_image": "quay.io/org/tool:2",
                             "source_username": "robot", "source_password": "pw"})
    assert outcome.result["pushed"] and engine.calls[0] == ("pull", "quay.io/org/tool:2", {"username": "robot", "password": "pw"})
    assert "pw" not in repr(outcome.result)
    alone = run(cr_image, {"name": REPO + ":tool", "source": "pull", "source_image": "quay.io/org/tool:2",
                           "src_username": "robot"})
    assert alone.failed and "src_username" in alone.result["msg"] and "src_password" in alone.result["msg"]


@pytest.mark.parametrize("option", ["pull_base_image", "pull"])
def test_pull_base_image_always_builds_with_pull(fakes, context, option):
    engine = fakes.engine
    run(cr_image, build_args(context))
    result = run(cr_image, build_args(context, **{option: True})).result
    builds = [call for call in engine.calls if call[0] == "build"]
    assert len(builds) == 2 and builds[0][3]["pull"] is False and builds[1][3]["pull"] is True
    assert result["built"] and result["pushed"]


def test_check_mode_predicts_the_digest_of_an_image_pushed_before(fakes, context):
    engine, registry, api = fakes.engine, fakes.registry, fakes.api
    first = run(cr_image, build_args(context)).result
    calls, uploads = len(engine.calls), len(registry.uploads)
    planned = run(cr_image, fresh_args(first), check=True).result  # a repository that holds nothing
    assert planned["changed"] and planned["pushed"] and not planned["built"]
    assert (planned["digest"], planned["size"]) == (first["digest"], first["size"])
    assert planned["repo_digest"] == "us.icr.io/team/fresh@" + first["digest"]
    into_new_namespace = dict(fresh_args(first), name="us.icr.io/fresh/app:1", create_namespace=True)
    new_ns = run(cr_image, into_new_namespace, check=True).result
    assert new_ns["images"][0]["namespace_created"] and new_ns["digest"] == first["digest"]
    assert len(engine.calls) == calls and len(registry.uploads) == uploads and api.writes == []  # no export, no push
    assert ("team/fresh", "1") not in registry.manifests
    pushed = run(cr_image, fresh_args(first)).result
    assert pushed["digest"] == planned["digest"] == registry.manifests[("team/fresh", "1")].digest


def test_check_mode_does_not_guess_a_digest_the_layer_record_cannot_name(fakes, context):
    first = run(cr_image, build_args(context)).result
    os.unlink(image_archive.DigestMemo.default_path())
    planned = run(cr_image, fresh_args(first), check=True).result
    assert planned["pushed"] and planned["digest"] is None and planned["repo_digest"] is None
    assert exports(fakes.engine) == [("export", first["image_id"])]  # only the first, real push exported


def test_pull_from_icr_uses_the_api_key_and_the_region_host(fakes):
    engine = fakes.engine
    engine.add(["us.icr.io/team/base:1"], layer=b"base")
    result = run(cr_image, {"name": REPO + ":base", "source": "pull", "source_image": "us.icr.io/team/base:1"}).result
    assert result["pushed"]
    assert engine.calls[0] == ("pull", "us.icr.io/team/base:1", {"username": "iamapikey", "password": "k"})


def test_check_mode_pull_uses_only_what_the_engine_has(fakes):
    engine = fakes.engine
    result = run(cr_image, {"name": REPO + ":x", "source": "pull", "source_image": "quay.io/org/absent:1"},
                 check=True).result
    assert result["changed"] and result["image_id"] is None and engine.calls == []


def test_local_source_must_exist(fakes):
    outcome = run(cr_image, {"name": REPO, "source": "local", "source_image": "nope:1"})
    assert outcome.failed and "not in the Docker engine" in outcome.result["msg"]


def test_missing_namespace_is_named_and_can_be_created(fakes, context):
    registry, api = fakes.registry, fakes.api
    registry.error = IcrError("reading manifest ghost/app:1.0: authentication required", status=401)
    outcome = run(cr_image, build_args(context, name="us.icr.io/ghost/app:1.0"))
    assert outcome.failed and "Namespace ghost does not exist" in outcome.result["msg"]
    assert "create_namespace" in outcome.result["msg"]
    assert fakes.engine.calls == []          # refused before the build, not after it
    pulled = run(cr_image, {"name": "us.icr.io/ghost/app:1.0", "source": "pull", "source_image": "docker.io/x:1"})
    assert pulled.failed and "Namespace ghost does not exist" in pulled.result["msg"]
    assert fakes.engine.calls == []          # nor pulled
    registry.error = None
    created = run(cr_image, build_args(context, name="us.icr.io/ghost/app:1.0", create_namespace=True)).result
    assert created["images"][0]["namespace_created"] and ("create_namespace", "ghost", None) in api.writes
    assert registry.manifests[("ghost/app", "1.0")].json["config"]["digest"] == created["image_id"]


def test_quota_refusal_says_so(fakes, context):
    registry, api = fakes.registry, fakes.api
    registry.put_error = IcrError("starting a blob upload to team/app failed: DENIED: denied: requested access to the "
                                  "resource is denied", status=403, code="DENIED")
    plain = run(cr_image, build_args(context))
    assert plain.failed and "quota" not in plain.result["msg"] and "denied" in plain.result["msg"]
    assert registry.manifests == {}
    api.quota = {"limit": {"storage_bytes": 1000}, "usage": {"storage_bytes": 1500}}
    outcome = run(cr_image, build_args(context))
    assert outcome.failed and "over its storage quota in region us-south (1500 of 1000 bytes used)" in outcome.result["msg"]
    assert "cr_quota" in outcome.result["msg"] and "denied" in outcome.result["msg"]
    # Over quota, the token service grants pull only: the registry then answers 401, not a word of quota.
    registry.put_error = IcrError("starting a blob upload to team/app failed: UNAUTHORIZED: authentication required",
                                  status=401, code="UNAUTHORIZED")
    outcome = run(cr_image, build_args(context))
    assert "over its storage quota" in outcome.result["msg"] and "refused the API key" not in outcome.result["msg"]
    api.quota = {"limit": {"storage_bytes": -1}, "usage": {"storage_bytes": 1500}}
    registry.put_error = IcrError("writing manifest team/app:1.0 failed: Your account has exceeded its storage quota",
                                  status=403)
    assert "over its storage quota" in run(cr_image, build_args(context)).result["msg"]
    assert registry.manifests == {}


def test_refused_credentials_name_the_registry_and_the_reference(fakes, context):
    engine, registry = fakes.engine, fakes.registry
    registry.error = IcrError("reading manifest team/app:1.0 failed: the token service of us.icr.io refused the "
                              "credentials: The login credentials are not valid", status=401, code="UNAUTHORIZED")
    outcome = run(cr_image, build_args(context))
    assert outcome.failed and outcome.result["msg"].startswith(
        "The registry us.icr.io (region us-south) refused the API key for us.icr.io/team/app:1.0")
    assert "login credentials are not valid" in outcome.result["msg"] and outcome.result["error"]["status"] == 401
    assert exports(engine) == []  # refused before anything was exported
    # A refusal of the upload itself reads the same.
    registry.error = None
    registry.put_error = IcrError("starting a blob upload to team/app failed: UNAUTHORIZED: authentication required",
                                  status=401, code="UNAUTHORIZED")
    outcome = run(cr_image, build_args(context))
    assert outcome.failed and outcome.result["msg"].startswith(
        "The registry us.icr.io (region us-south) refused the API key for us.icr.io/team/app:1.0")
    assert "authentication required" in outcome.result["msg"] and outcome.result["error"]["code"] == "UNAUTHORIZED"


def test_a_failed_upload_leaves_no_tag(fakes, context):
    registry = fakes.registry
    registry.blob_failures = [IcrError("uploading blob to team/app failed: BLOB_UPLOAD_INVALID: blob upload invalid",
                                       status=400, code="BLOB_UPLOAD_INVALID")]
    outcome = run(cr_image, build_args(context))
    assert outcome.failed and "BLOB_UPLOAD_INVALID" in outcome.result["msg"]
    assert ("team/app", "1.0") not in registry.manifests and registry.manifest_puts == []
    assert registry.sessions == {} and registry.cancelled  # the broken upload session was dropped
    assert list(fakes.moduletmp.iterdir()) == []
    again = run(cr_image, build_args(context)).result
    assert again["pushed"] and not again["built"]
    assert again["images"][0]["blobs_copied"] + again["images"][0]["blobs_skipped"] == 3
    assert registry.manifests[("team/app", "1.0")].json["config"]["digest"] == again["image_id"]


def test_a_busy_registry_is_retried_blob_by_blob(fakes, context, monkeypatch):
    registry = fakes.registry
    pauses = []
    monkeypatch.setattr(icr_module.IcrModule, "retry_policy", property(
        lambda self: RetryPolicy(retries=self.params["retries"], timeout=self.params["timeout"], sleep=pauses.append)))
    registry.blob_failures = [IcrError("uploading blob to team/app failed: 503 Service Unavailable", status=503)] * 2
    result = run(cr_image, build_args(context)).result
    assert result["pushed"] and result["images"][0]["blobs_copied"] == 3 and len(pauses) == 2
    assert registry.manifests[("team/app", "1.0")].json["config"]["digest"] == result["image_id"]


def carries(value, secret):
    """Whether ``secret`` is anywhere in a call's arguments (nested dicts, lists, tuples)."""
    if isinstance(value, dict):
        return any(carries(key, secret) or carries(item, secret) for key, item in value.items())
    if isinstance(value, (list, tuple, set)):
        return any(carries(item, secret) for item in value)
    return value == secret


def test_the_api_key_never_reaches_the_engine(fakes, context):
    engine = fakes.engine
    names = [REPO + ":1.0", "us.icr.io/team/other:2"]
    assert run(cr_image, {"names": names, "source": "build", "path": str(context)}).result["pushed"]
    engine.add(["quay.io/org/tool:2"], layer=b"tool")
    assert run(cr_image, {"name": REPO + ":tool", "source": "pull", "source_image": "quay.io/org/tool:2"}).result["pushed"]
    (context / "a.txt").write_text("b")
    assert run(cr_image, {"names": names, "source": "build", "path": str(context)}).result["images"][0]["pushed_by"] == "engine"
    assert {call[0] for call in engine.calls} == {"build", "tag", "export", "pull", "push"}
    # The engine's push gets a registry token scoped to the task's repositories, nothing else.
    # (the pulled tool shares the base layer with the build: the engine pushed it too), one token per task.
    assert [call[2] for call in engine.calls if call[0] == "push"] == [{"registrytoken": "registry-token-1"}] + \
        [{"registrytoken": "registry-token-2"}] * 2
    assert fakes.registry.token_scopes == [["repository:team/app:pull,push"],
                                           ["repository:team/app:pull,push", "repository:team/other:pull,push"]]
    assert carries(("build", "k"), "k")  # the check itself finds a key
    assert not any(carries(call, "k") for call in engine.calls + fakes.created)  # the fake api key is "k"
    assert "iamapikey" not in repr(engine.calls + fakes.created)


def test_present_needs_tags_and_a_source(fakes, context):
    assert "names a digest" in run(cr_image, build_args(context, name=REPO + "@" + dg("a"))).result["msg"]
    assert "needs source" in run(cr_image, {"name": REPO}).result["msg"]


def test_absent_by_tag_digest_and_several(fakes):
    api = fakes.api
    api.add_image(REPO, dg("a"), ["1.0", "stable"])
    api.add_image(REPO, dg("b"), ["2.0"])
    api.add_image(REPO, dg("c"), [])
    check = run(cr_image, {"names": [REPO + ":1.0", REPO + ":stable", REPO + "@" + dg("c")], "state": "absent"},
                check=True).result
    assert [(e["digest"], e["tags"]) for e in check["deleted"]] == [(dg("a"), ["1.0", "stable"]), (dg("c"), [])]
    assert api.writes == []
    run(cr_image, {"names": [REPO + ":1.0", REPO + ":stable", REPO + "@" + dg("c")], "state": "absent"})
    assert api.writes == [("delete_image", REPO + "@" + dg("a")), ("delete_image", REPO + "@" + dg("c"))]
    again = run(cr_image, {"names": [REPO + ":1.0", REPO + "@" + dg("c")], "state": "absent"}).result
    assert not again["changed"] and len(api.writes) == 2
    assert run(cr_image, {"name": REPO, "state": "absent"}).result["deleted"] == []  # latest: none


def test_a_refused_engine_push_is_explained_and_not_retried_through_the_copy_engine(fakes, context):
    run(cr_image, build_args(context))
    fakes.api.quota = {"limit": {"storage_bytes": 1000}, "usage": {"storage_bytes": 1500}}
    fakes.engine.push_error = IcrError("Pushing failed: denied: requested access to the resource is denied")
    (context / "a.txt").write_text("b")
    outcome = run(cr_image, build_args(context))
    assert outcome.failed and "over its storage quota in region us-south" in outcome.result["msg"]
    assert len(exports(fakes.engine)) == 1  # only the first push's: no fallback export after a refusal


def test_a_failed_engine_push_falls_back_for_every_reference_of_the_region(fakes, context):
    names = [REPO + ":1.0", "us.icr.io/team/other:2"]
    run(cr_image, {"names": names, "source": "build", "path": str(context)})
    (context / "a.txt").write_text("b")
    fakes.engine.push_error = IcrError("Pushing failed: EOF")
    result = run(cr_image, {"names": names, "source": "build", "path": str(context)}).result
    assert [(item["pushed_by"], item["engine_error"]) for item in result["images"]] == [
        ("copy engine", "Pushing failed: EOF"), ("copy engine", None)]
    assert len([call for call in fakes.engine.calls if call[0] == "push"]) == 1  # not tried again for the second
    for item, name in zip(result["images"], ["team/app", "team/other"]):
        assert fakes.registry.manifests[(name, item["name"].rsplit(":", 1)[1])].json["config"]["digest"] == \
            result["image_id"]


def test_check_mode_predicts_the_digest_of_an_image_the_engine_pushed(fakes, context):
    run(cr_image, build_args(context))
    (context / "a.txt").write_text("b")
    pushed = run(cr_image, build_args(context)).result  # a rebuild: the engine pushes it
    assert pushed["images"][0]["pushed_by"] == "engine"
    args = {"name": "us.icr.io/team/copy:1", "source": "local", "source_image": pushed["image_id"]}
    predicted = run(cr_image, args, check=True).result
    assert (predicted["images"][0]["pushed_by"], predicted["digest"]) == ("engine", pushed["digest"])
    again = run(cr_image, args).result
    assert again["digest"] == pushed["digest"] and again["images"][0]["pushed_by"] == "engine"


def test_an_unauthorized_engine_push_falls_back_and_the_copy_engine_names_the_cause(fakes, context):
    run(cr_image, build_args(context))
    # dockerd says "unauthorized" when a busy ping hid the challenge from it, and over quota alike.
    fakes.engine.push_error = IcrError("Pushing failed: unauthorized: authentication required")
    fakes.registry.put_error = IcrError("starting a blob upload to team/app failed: UNAUTHORIZED: authentication "
                                        "required", status=401, code="UNAUTHORIZED")
    fakes.api.quota = {"limit": {"storage_bytes": 1000}, "usage": {"storage_bytes": 1500}}
    (context / "a.txt").write_text("b")
    outcome = run(cr_image, build_args(context))
    assert outcome.failed and "over its storage quota" in outcome.result["msg"]
    assert len(exports(fakes.engine)) == 2  # the copy engine tried, and was refused the same way


def test_an_engine_push_is_checked_against_what_the_registry_serves(fakes, context, monkeypatch):
    run(cr_image, build_args(context))
    real = fakes.engine.push

    def misreported(repository, tag, auth_config):
        _digest, statuses = real(repository, tag, auth_config)
        return dg("0"), statuses
    monkeypatch.setattr(fakes.engine, "push", misreported)
    (context / "a.txt").write_text("b")
    outcome = run(cr_image, build_args(context))
    assert outcome.failed and "The engine pushed us.icr.io/team/app:1.0 as %s" % dg("0") in outcome.result["msg"]
