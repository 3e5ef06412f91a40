# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
import os
from types import SimpleNamespace

import pytest
import requests
from docker.errors import APIError, ImageNotFound

from ansible_collections.icr.registry.plugins.module_utils import docker_engine
from ansible_collections.icr.registry.plugins.module_utils.docker_engine import (
    DockerEngine, build_hash, client_arguments, context_entries, read_stream, resolve_dockerfile)
from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError


@pytest.fixture
def context(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM base\nCOPY . /app\n")
    (tmp_path / "app.txt").write_text("hello\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "data.bin").write_bytes(b"\x00\x01")
    return tmp_path


# ------------------------------------------------------------------ build identity

def test_hash_is_stable_and_independent_of_location(context, tmp_path_factory):
    first = build_hash(str(context))
    assert first == build_hash(str(context))
    twin = tmp_path_factory.mktemp("twin")
    for relative in ("Dockerfile", "app.txt", "sub/data.bin"):
        (twin / relative).parent.mkdir(exist_ok=True)
        (twin / relative).write_bytes((context / relative).read_bytes())
    assert build_hash(str(twin)) == first


@pytest.mark.parametrize("change", [
    lambda c: (c / "app.txt").write_text("changed\n"),
    lambda c: (c / "new.txt").write_text("new\n"),
    lambda c: (c / "sub" / "data.bin").unlink(),
    lambda c: (c / "Dockerfile").write_text("FROM base\nCOPY . /srv\n"),
    lambda c: os.chmod(c / "app.txt", 0o755),
    lambda c: os.symlink("app.txt", c / "link"),
])
def test_any_context_change_changes_the_hash(context, change):
    before = build_hash(str(context))
    change(context)
    assert build_hash(str(context)) != before


def test_options_change_the_hash(context):
    base = build_hash(str(context), options={"build_args": {"A": "1"}})
    assert build_hash(str(context), options={"build_args": {"A": "2"}}) != base
    assert build_hash(str(context), options={"build_args": {"A": "1"}, "target": "t"}) != base
    # key order of a dict option is not a change
    assert build_hash(str(context), options={"labels": {"a": "1", "b": "2"}}) == \
        build_hash(str(context), options={"labels": {"b": "2", "a": "1"}})


def test_dockerignored_files_do_not_count(context):
    (context / ".dockerignore").write_text("# comment\nignored/\n*.log\n")
    (context / "ignored").mkdir()
    before = build_hash(str(context))
    (context / "ignored" / "x").write_text("x")
    (context / "build.log").write_text("noise")
    assert build_hash(str(context)) == before
    paths = [entry[0] for entry in context_entries(str(context))]
    assert "app.txt" in paths and "build.log" not in paths and "ignored/x" not in paths


def test_dockerfile_outside_the_context_is_hashed(context, tmp_path_factory):
    outside = tmp_path_factory.mktemp("df") / "Build.dockerfile"
    outside.write_text("FROM base\n")
    first = build_hash(str(context), dockerfile=str(outside))
    assert resolve_dockerfile(str(context), str(outside))[1] is None
    outside.write_text("FROM other\n")
    assert build_hash(str(context), dockerfile=str(outside)) != first


def test_missing_dockerfile_and_context_are_reported(context):
    with pytest.raises(IcrError, match="Dockerfile .* does not exist"):
        build_hash(str(context), dockerfile="Nope")
    with pytest.raises(IcrError, match="not a directory"):
        build_hash(str(context / "app.txt"))


# ------------------------------------------------------------------ streams

def test_read_stream_returns_aux_and_raises_errors_with_context():
    events = [{"stream": "Step 1/2 : FROM base\n"}, {"aux": {"ID": "sha256:aa"}}, {"status": "x"}]
    assert read_stream(iter(events), "Building") == [{"ID": "sha256:aa"}]
    failing = [{"stream": "Step 2/2 : RUN false\n"},
               {"errorDetail": {"code": 1, "message": "returned a non-zero code: 1"},
                "error": "The command '/bin/sh -c false' returned a non-zero code: 1"}]
    with pytest.raises(IcrError) as info:
        read_stream(iter(failing), "Building app")
    assert str(info.value).startswith("Building app failed: The command")
    assert "Step 2/2" in str(info.value)


# ------------------------------------------------------------------ client arguments

def test_client_arguments_prefer_the_option_over_the_environment():
    env = {"DOCKER_HOST": "tcp://127.0.0.1:2375"}
    assert client_arguments(None, 30, env)["base_url"] == "tcp://127.0.0.1:2375"
    assert client_arguments("unix:///run/x.sock", 30, env)["base_url"] == "unix:///run/x.sock"
    assert client_arguments(None, 30, {})["base_url"] == "unix:///var/run/docker.sock"


def test_ssh_engines_use_paramiko_when_present(monkeypatch):
    monkeypatch.setattr(docker_engine, "HAS_PARAMIKO", False)
    assert client_arguments("ssh://me@host", 30, {})["use_ssh_client"] is True
    monkeypatch.setattr(docker_engine, "HAS_PARAMIKO", True)
    assert client_arguments("ssh://me@host", 30, {})["use_ssh_client"] is False
    assert "use_ssh_client" not in client_arguments("tcp://h:2376", 30, {})


# ------------------------------------------------------------------ engine calls

class FakeApi:
    def __init__(self, export=None, images=None):
        self.export = export  # what get_image returns (an iterator), or an exception it raises
        self.images = images or {}
        self.calls = []

    def get_image(self, image, chunk_size=None):
        self.calls.append(("get_image", image, chunk_size))
        if isinstance(self.export, Exception):
            raise self.export
        return self.export

    def inspect_image(self, name):
        if name not in self.images:
            raise ImageNotFound("no such image")
        return self.images[name]

    def tag(self, image, repository, tag=None, force=False):
        raise APIError("conflict", explanation="No such image: %s" % image)


def test_export_streams_the_engines_archive():
    api = FakeApi(export=iter([b"abc", b"", b"defg"]))
    chunks = DockerEngine("unix:///x", api=api).export("sha256:" + "1" * 64, chunk_size=4)
    assert api.calls == []  # nothing asked of the engine before the archive is read
    assert list(chunks) == [b"abc", b"", b"defg"]
    assert api.calls == [("get_image", "sha256:" + "1" * 64, 4)]
    assert list(DockerEngine("unix:///x", api=FakeApi(export=iter([]))).export("sha256:2")) == []


def test_export_refused_by_the_engine_is_an_icr_error():
    response = SimpleNamespace(status_code=404, reason="Not Found")
    api = FakeApi(export=APIError("404", response=response, explanation="reference does not exist"))
    with pytest.raises(IcrError) as info:
        list(DockerEngine("unix:///x", api=api).export("sha256:abc"))
    assert info.value.message == "Exporting image sha256:abc from the engine failed: reference does not exist"
    assert info.value.status == 404


@pytest.mark.parametrize("failure", [APIError("500", explanation="write /dev/stdout: broken pipe"),
                                     requests.exceptions.ChunkedEncodingError("Connection broken: IncompleteRead")])
def test_export_broken_off_mid_stream_is_an_icr_error(failure):
    def archive():
        yield b"first"
        raise failure
    chunks = DockerEngine("unix:///x", api=FakeApi(export=archive())).export("sha256:abc")
    assert next(chunks) == b"first"
    with pytest.raises(IcrError, match=r"^Exporting image sha256:abc from the engine failed: .*(broken pipe|IncompleteRead)"):
        next(chunks)


def test_inspect_missing_is_none_and_engine_errors_are_icr_errors():
    engine = DockerEngine("unix:///x", api=FakeApi(images={"a:1": {"Id": "sha256:1"}}))
    assert engine.inspect("a:1") == {"Id": "sha256:1"}
    assert engine.inspect("b:1") is None
    with pytest.raises(IcrError, match="Tagging x as r:t failed: No such image: x"):
        engine.tag("x", "r", "t")


class PushApi:
    """The engine's push: the progress stream dockerd sends (decoded), as the SDK yields it."""

    def __init__(self, events):
        self.events = events
        self.calls = []

    def push(self, repository, tag=None, stream=False, decode=False, auth_config=None):
        self.calls.append((repository, tag, stream, decode, auth_config))
        return iter(self.events)


def test_push_returns_the_digest_and_each_layers_last_status():
    api = PushApi([{"status": "The push refers to repository [r/ns/app]"},
                   {"status": "Preparing", "id": "aaa"}, {"status": "Preparing", "id": "bbb"},
                   {"status": "Layer already exists", "id": "aaa"},
                   {"status": "Pushing", "id": "bbb", "progressDetail": {"current": 1, "total": 2}},
                   {"status": "Pushed", "id": "bbb"},
                   {"status": "1: digest: sha256:" + "d" * 64 + " size: 739"},
                   {"aux": {"Tag": "1", "Digest": "sha256:" + "d" * 64, "Size": 739}}])
    digest, statuses = DockerEngine("unix:///x", api=api).push("r/ns/app", "1", {"registrytoken": "t"})
    assert digest == "sha256:" + "d" * 64 and statuses == {"aaa": "Layer already exists", "bbb": "Pushed"}
    assert api.calls == [("r/ns/app", "1", True, True, {"registrytoken": "t"})]


def test_a_failed_push_is_an_icr_error_and_one_without_a_digest_too():
    failed = PushApi([{"status": "Preparing", "id": "aaa"},
                      {"errorDetail": {"message": "received unexpected HTTP status: 503 Service Unavailable"},
                       "error": "received unexpected HTTP status: 503 Service Unavailable"}])
    with pytest.raises(IcrError, match="Pushing r/ns/app:1 through the Docker engine failed: received unexpected HTTP "
                                       "status: 503"):
        DockerEngine("unix:///x", api=failed).push("r/ns/app", "1", {})
    with pytest.raises(IcrError, match="no manifest digest"):
        DockerEngine("unix:///x", api=PushApi([{"status": "Pushed", "id": "a"}])).push("r/ns/app", "1", {})


@pytest.mark.parametrize("url, remote", [
    ("unix:///var/run/docker.sock", False), ("npipe:////./pipe/docker_engine", False), (None, False),
    ("tcp://127.0.0.1:2375", False), ("tcp://localhost:2376", False), ("tcp://[::1]:2376", False),
    ("tcp://build-host:2376", True), ("tcp://10.0.0.5:2376", True), ("ssh://me@build-host", True),
    ("ssh://127.0.0.1", True), ("https://build-host:2376", True)])
def test_an_engine_is_remote_when_it_runs_elsewhere(url, remote):
    assert docker_engine.is_remote(url) is remote
