# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
import json
from types import SimpleNamespace

import pytest

from ansible_collections.icr.registry.plugins.module_utils.docker_engine import BUILD_HASH_LABEL, build_hash
from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError
from ansible_collections.icr.registry.plugins.module_utils.oci_registry import DOCKER_MANIFEST, Manifest
from ansible_collections.icr.registry.plugins.modules import cr_image
from image_harness import dg
from module_runner import run

REPO = "us.icr.io/team/app"


class FakeEngine:
    """Images by name; every build makes a new ID; a push stores the image in ``registry``."""

    def __init__(self, registry):
        self.registry = registry
        self.base_url = "unix:///fake.sock"
        self.images = {}
        self.calls = []
        self.push_error = None

    def inspect(self, name):
        return self.images.get(name)

    def build(self, context, tag, labels=None, **kwargs):
        self.calls.append(("build", tag))
        image_id = "sha256:%064x" % len(self.calls)
        image = {"Id": image_id, "Os": "linux", "Architecture": "amd64", "Config": {"Labels": labels}}
        self.images[tag] = self.images[image_id] = image
        return image_id

    def pull(self, reference, auth_config=None, platform=None):
        self.calls.append(("pull", reference, auth_config))
        return self.images[reference]["Id"]

    def tag(self, image, repository, tag):
        self.calls.append(("tag", image, "%s:%s" % (repository, tag)))

    def push(self, repository, tag, auth_config, confirm_credentials=None):
        self.calls.append(("push", repository, tag, auth_config))
        if self.push_error:
            if "unauthorized" in self.push_error and confirm_credentials:
                confirm_credentials()  # the real engine asks on refused credentials (test_docker_engine_push)
            raise IcrError(self.push_error)
        image_id = self.images[[c for c in self.calls if c[0] == "tag"][-1][1]]["Id"]
        return self.registry.store(repository.split("/", 1)[1], tag, image_id), 500


class FakeRegistry:
    def __init__(self):
        self.manifests = {}
        self.error = None
        self.token_error = None
        self.token_requests = []

    def confirm_token(self, repository, actions):
        self.token_requests.append((repository, tuple(actions)))
        if self.token_error:
            raise self.token_error  # pylint: disable=raising-bad-type

    def store(self, repository, tag, config_digest):
        body = {"schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
                "config": {"digest": config_digest, "size": 100}, "layers": [{"digest": dg("f"), "size": 900}]}
        raw = json.dumps(body).encode()
        manifest = Manifest.from_bytes(raw, DOCKER_MANIFEST)
        self.manifests[(repository, tag)] = self.manifests[(repository, manifest.digest)] = manifest
        return manifest.digest

    def get_manifest(self, repository, reference, missing_ok=False):
        if self.error:
            raise self.error  # pylint: disable=raising-bad-type
        return self.manifests.get((repository, reference))


@pytest.fixture
def fakes(api, monkeypatch):
    registry = FakeRegistry()
    engine = FakeEngine(registry)
    monkeypatch.setattr(cr_image, "DockerEngine", lambda *a, **k: engine)
    monkeypatch.setattr(cr_image, "RegistryClient", lambda *a, **k: registry)
    return SimpleNamespace(engine=engine, registry=registry, api=api)


@pytest.fixture
def context(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM base\nCOPY a.txt /\n")
    (tmp_path / "a.txt").write_text("a")
    return tmp_path


def build_args(context, **extra):
    return dict({"name": REPO + ":1.0", "source": "build", "path": str(context)}, **extra)


def test_build_push_then_nothing(fakes, context):
    engine, registry = fakes.engine, fakes.registry
    first = run(cr_image, build_args(context)).result
    assert first["changed"] and first["built"] and first["pushed"]
    assert first["digest"] == registry.manifests[("team/app", "1.0")].digest
    assert first["repo_digest"] == REPO + "@" + first["digest"] and first["size"] == 1000
    push = [c for c in engine.calls if c[0] == "push"][0]
    assert push[1:3] == ("us.icr.io/team/app", "1.0") and push[3] == {"username": "iamapikey", "password": "k"}
    options = {"build_args": {}, "target": None, "labels": {}, "platform": None}
    assert engine.images["us.icr.io/team/app:1.0"]["Config"]["Labels"][BUILD_HASH_LABEL] == \
        build_hash(str(context), None, options)
    calls = len(engine.calls)
    second = run(cr_image, build_args(context)).result
    assert not second["changed"] and not second["built"] and not second["pushed"]
    assert second["digest"] == first["digest"] and len(engine.calls) == calls


def test_changed_context_rebuilds_and_pushes(fakes, context):
    first = run(cr_image, build_args(context)).result
    (context / "a.txt").write_text("b")
    second = run(cr_image, build_args(context)).result
    assert second["built"] and second["pushed"] and second["digest"] != first["digest"]
    changed_option = run(cr_image, build_args(context, build_args={"V": 2})).result
    assert changed_option["built"]


def test_unchanged_image_missing_remotely_is_pushed(fakes, context):
    registry = fakes.registry
    run(cr_image, build_args(context))
    registry.manifests.clear()
    again = run(cr_image, build_args(context)).result
    assert again["changed"] and not again["built"] and again["pushed"]


def test_check_mode_neither_builds_nor_pushes(fakes, context):
    engine, registry, api = fakes.engine, fakes.registry, fakes.api
    result = run(cr_image, build_args(context, create_namespace=True, name="us.icr.io/fresh/app:1"), check=True).result
    assert result["changed"] and result["built"] and result["pushed"] and result["digest"] is None
    assert engine.calls == [] and api.writes == [] and registry.manifests == {}


def test_pull_from_another_registry_with_credentials(fakes):
    engine = fakes.engine
    engine.images["quay.io/org/tool:2"] = {"Id": dg("7"), "Os": "linux", "Architecture": "amd64"}
    engine.images[dg("7")] = engine.images["quay.io/org/tool:2"]
    args = {"name": REPO + ":tool", "source": "pull", "source_image": "quay.io/org/tool:2",
            "source_username": "robot", "source_password": "pw"}
    result = run(cr_image, args).result
    assert result["pushed"] and engine.calls[0] == ("pull", "quay.io/org/tool:2", {"username": "robot", "password": "pw"})
    assert not run(cr_image, args).result["changed"]


def test_pull_from_icr_uses_the_api_key_and_the_region_host(fakes):
    engine = fakes.engine
    engine.images["us.icr.io/team/base:1"] = {"Id": dg("8"), "Os": "linux", "Architecture": "amd64"}
    engine.images[dg("8")] = engine.images["us.icr.io/team/base:1"]
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
    assert created["images"][0]["namespace_created"] and ("create_namespace", "ghost") in api.writes


def test_quota_refusal_says_so(fakes, context):
    engine, api = fakes.engine, fakes.api
    engine.push_error = "Pushing x failed: denied: requested access to the resource is denied"
    plain = run(cr_image, build_args(context))
    assert plain.failed and "quota" not in plain.result["msg"] and "denied" in plain.result["msg"]
    api.quota = {"limit": {"storage_bytes": 1000}, "usage": {"storage_bytes": 1500}}
    outcome = run(cr_image, build_args(context))
    assert outcome.failed and "over its storage quota in region us-south (1500 of 1000 bytes used)" in outcome.result["msg"]
    assert "cr_quota" in outcome.result["msg"] and "denied" in outcome.result["msg"]
    api.quota = {"limit": {"storage_bytes": -1}, "usage": {"storage_bytes": 1500}}
    engine.push_error = "Pushing x failed: Your account has exceeded its storage quota"
    assert "over its storage quota" in run(cr_image, build_args(context)).result["msg"]


def test_refused_credentials_name_the_registry_and_the_reference(fakes, context):
    engine, registry = fakes.engine, fakes.registry
    engine.push_error = "Pushing x failed: unauthorized: authentication required"
    registry.token_error = IcrError("the token service of 127.0.0.1:5201 refused the credentials: "
                                    "The login credentials are not valid", status=401, code="UNAUTHORIZED")
    outcome = run(cr_image, build_args(context))
    assert outcome.failed and registry.token_requests == [("team/app", ("pull", "push"))]
    assert outcome.result["msg"].startswith("The registry us.icr.io (region us-south) refused the API key for "
                                            "us.icr.io/team/app:1.0")
    assert "login credentials are not valid" in outcome.result["msg"] and outcome.result["error"]["status"] == 401


def test_present_needs_tags_and_a_source(fakes, context):
    assert "names a digest" in run(cr_image, build_args(context, name=REPO + "@" + dg("a"))).result["msg"]
    assert "needs source" in run(cr_image, {"name": REPO}).result["msg"]


def test_absent_by_tag_digest_and_several(fakes):
    api = fakes.api
    api.add(REPO, dg("a"), ["1.0", "stable"])
    api.add(REPO, dg("b"), ["2.0"])
    api.add(REPO, dg("c"), [])
    check = run(cr_image, {"names": [REPO + ":1.0", REPO + ":stable", REPO + "@" + dg("c")], "state": "absent"},
                check=True).result
    assert [(e["digest"], e["tags"]) for e in check["deleted"]] == [(dg("a"), ["1.0", "stable"]), (dg("c"), [])]
    assert api.writes == []
    run(cr_image, {"names": [REPO + ":1.0", REPO + ":stable", REPO + "@" + dg("c")], "state": "absent"})
    assert api.writes == [("delete", REPO + "@" + dg("a")), ("delete", REPO + "@" + dg("c"))]
    again = run(cr_image, {"names": [REPO + ":1.0", REPO + "@" + dg("c")], "state": "absent"}).result
    assert not again["changed"] and len(api.writes) == 2
    assert run(cr_image, {"name": REPO, "state": "absent"}).result["deleted"] == []  # latest: none


def test_platform_child_and_size():
    index = {"manifests": [{"digest": dg("1"), "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
                           {"digest": dg("2"), "platform": {"os": "linux", "architecture": "amd64"}}]}
    assert cr_image.platform_child(index, {"os": "linux", "architecture": "amd64", "variant": ""}) == dg("2")
    assert cr_image.platform_child(index, {"os": "linux", "architecture": "arm64", "variant": "v8"}) == dg("1")
    assert cr_image.platform_child(index, {"os": "linux", "architecture": "s390x", "variant": ""}) is None
    assert cr_image.manifest_size({"config": {"size": 2}, "layers": [{"size": 3}, {"size": 4}]}) == 9
