"""Real skopeo against the sandbox registries: inspect, and copy between two regions."""

import json
import os
import subprocess

import pytest

BAD_CREDENTIALS = "The login credentials are not valid, or your IBM Cloud account is not active."


@pytest.fixture
def skopeo(tmp_path):
    env = dict(os.environ, REGISTRY_AUTH_FILE=str(tmp_path / "auth.json"))

    def run(*args, check=True):
        result = subprocess.run(["skopeo", *args], env=env, text=True, capture_output=True, timeout=180)
        if check:
            assert result.returncode == 0, f"skopeo {' '.join(args)} failed:\n{result.stderr}"
        return result
    return run


@pytest.fixture
def source_image(skopeo, endpoints, api_key, make_namespace):
    """The sandbox base image pushed from the engine to us-south."""
    ref = f"{endpoints['regions']['us-south']['registry']}/{make_namespace('us-south')}/base:1"
    skopeo("copy", "--src-daemon-host", endpoints["docker_host"], "--dest-tls-verify=false",
           "--dest-creds", f"iamapikey:{api_key}", f"docker-daemon:{endpoints['base_image']}", f"docker://{ref}")
    return ref


def _inspect(skopeo, ref, creds):
    return skopeo("inspect", "--tls-verify=false", "--creds", creds, f"docker://{ref}", check=False)


def test_inspect_with_good_and_bad_credentials(skopeo, source_image, api_key):
    good = _inspect(skopeo, source_image, f"iamapikey:{api_key}")
    assert good.returncode == 0, good.stderr
    assert json.loads(good.stdout)["Digest"].startswith("sha256:")
    bad = _inspect(skopeo, source_image, "iamapikey:wrong")
    assert bad.returncode != 0 and BAD_CREDENTIALS in bad.stderr


def test_copy_between_regions_keeps_the_digest(skopeo, source_image, endpoints, api_key, make_namespace):
    creds = f"iamapikey:{api_key}"
    dest = f"{endpoints['regions']['eu-de']['registry']}/{make_namespace('eu-de')}/base:copied"
    skopeo("copy", "--src-tls-verify=false", "--dest-tls-verify=false", "--src-creds", creds, "--dest-creds", creds,
           f"docker://{source_image}", f"docker://{dest}")
    digests = [json.loads(_inspect(skopeo, ref, creds).stdout)["Digest"] for ref in (source_image, dest)]
    assert digests[0] == digests[1]


def test_copy_into_another_accounts_namespace_is_denied(skopeo, source_image, endpoints, api_key, other_account,
                                                         make_namespace):
    dest = f"{endpoints['regions']['eu-de']['registry']}/{make_namespace('eu-de', other_account)}/base:1"
    creds = f"iamapikey:{api_key}"
    result = skopeo("copy", "--src-tls-verify=false", "--dest-tls-verify=false", "--src-creds", creds,
                    "--dest-creds", creds, f"docker://{source_image}", f"docker://{dest}", check=False)
    assert result.returncode != 0 and "denied" in result.stderr
