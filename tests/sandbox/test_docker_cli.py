"""The real docker CLI against the sandbox engine and registries: login, build, push, pull, denials.

Both CLIs on this machine must work: Debian's (/usr/bin/docker, same version as the engine)
and the newer one first on PATH (/usr/local/bin/docker), which negotiates the API version.
"""

import os
import shutil
import subprocess
import uuid

import pytest

REGION = "us-south"
CLIS = [p for p in ("/usr/local/bin/docker", "/usr/bin/docker") if os.path.exists(p)] or [shutil.which("docker")]


@pytest.fixture(params=CLIS, ids=lambda p: p.replace("/", "_").strip("_"))
def docker(request, docker_env):
    def run(*args, stdin=None, check=True):
        result = subprocess.run([request.param, *args], input=stdin, env=docker_env, text=True,
                                capture_output=True, timeout=180)
        if check:
            assert result.returncode == 0, f"docker {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        return result
    return run


@pytest.fixture
def registry(endpoints):
    return endpoints["regions"][REGION]["registry"]


def _login(docker, registry, key):
    return docker("login", registry, "-u", "iamapikey", "--password-stdin", stdin=key + "\n", check=False)


def _build(docker, tmp_path, tag, endpoints):
    stamp = uuid.uuid4().hex
    (tmp_path / "Dockerfile").write_text(f"FROM {endpoints['base_image']}\nRUN echo {stamp} > /stamp && cat /stamp\n")
    docker("build", "-q", "-t", tag, str(tmp_path))


def test_login_with_a_good_key(docker, registry, api_key):
    result = _login(docker, registry, api_key)
    assert result.returncode == 0 and "Login Succeeded" in result.stdout


def test_login_with_a_bad_key_says_why(docker, registry):
    result = _login(docker, registry, "wrong-key")
    assert result.returncode != 0
    assert "The login credentials are not valid, or your IBM Cloud account is not active." in result.stderr


def test_build_push_pull_round_trip(docker, registry, api_key, make_namespace, endpoints, tmp_path):
    ns = make_namespace(REGION)
    tag = f"{registry}/{ns}/app:1"
    _build(docker, tmp_path, tag, endpoints)
    assert _login(docker, registry, api_key).returncode == 0
    pushed = docker("push", tag)
    assert "digest: sha256:" in pushed.stdout
    docker("rmi", tag)
    docker("pull", tag)
    stamp = docker("run", "--rm", "--network", "none", tag, "cat", "/stamp").stdout.strip()
    assert len(stamp) == 32


def test_push_into_a_missing_namespace_is_denied(docker, registry, api_key, endpoints):
    tag = f"{registry}/missing-{uuid.uuid4().hex[:8]}/app:1"
    docker("tag", endpoints["base_image"], tag)
    assert _login(docker, registry, api_key).returncode == 0
    result = docker("push", tag, check=False)
    docker("rmi", tag, check=False)
    assert result.returncode != 0 and "denied" in result.stderr


def test_pull_of_another_accounts_image_is_denied(docker, registry, api_key, other_account, make_namespace, endpoints):
    foreign = make_namespace(REGION, other_account)
    tag = f"{registry}/{foreign}/private:1"
    docker("tag", endpoints["base_image"], tag)
    assert _login(docker, registry, other_account["api_key"]).returncode == 0
    docker("push", tag)
    docker("rmi", tag)
    assert _login(docker, registry, api_key).returncode == 0
    result = docker("pull", tag, check=False)
    assert result.returncode != 0 and "denied" in result.stderr
