"""Reliability: a copy cut off for good fails clearly, leaves no tag on a partial image, and a
rerun completes it with the source digest. Uses the sandbox's fault rules (docs/design.md)."""

import hashlib
import os
from urllib.parse import quote

import pytest
import requests

from conftest import endpoints_path, iam_token
from module_process import run_module
from test_reliability_errors import assert_clear_failure, push_image


@pytest.fixture(scope="module")
def env(endpoints):
    return {"IC_API_KEY": endpoints["api_key"], "ICR_ENDPOINTS": endpoints_path()}


@pytest.fixture(scope="module")
def namespaces(env):
    names = ["rel" + os.urandom(4).hex() for _ in range(2)]
    for region, name in zip(("us-south", "eu-de"), names):
        assert run_module("cr_namespace", {"name": name, "region": region}, env)["changed"] is True
    yield names
    for region, name in zip(("us-south", "eu-de"), names):
        run_module("cr_namespace", {"name": name, "region": region, "state": "absent", "force": True}, env)


def served_digest(endpoints, region, reference):
    """sha256 of the manifest the API serves for ``reference``; None when there is none."""
    headers = {"Authorization": "Bearer " + iam_token(endpoints, endpoints["api_key"]),
               "Account": endpoints["account_id"]}
    url = "%s/api/v1/images/%s/manifest" % (endpoints["regions"][region]["api_url"], quote(reference, safe=""))
    response = requests.get(url, headers=headers, timeout=60)
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return "sha256:" + hashlib.sha256(response.content).hexdigest()


@pytest.mark.parametrize("rule,phrase", [
    # The source stops serving blobs partway, on every try.
    ({"kind": "v2", "region": "us-south", "method": "GET", "path_regex": "/blobs/sha256:",
      "reset_after_bytes": 50000}, "blob"),
    # The destination takes the blobs but never the manifest (it went away before the tag).
    ({"kind": "v2", "region": "eu-de", "method": "PUT", "path_regex": "/manifests/", "status": 503}, "manifest"),
])
def test_copy_cut_off_for_good_then_rerun(endpoints, control, env, namespaces, no_faults, rule, phrase):
    src_ns, dest_ns = namespaces
    repo = "cut" + os.urandom(3).hex()
    digest = push_image(endpoints["regions"]["us-south"]["registry"], "%s/%s" % (src_ns, repo), "1",
                        endpoints["api_key"], seed=repo)
    args = {"src": "us.icr.io/%s/%s:1" % (src_ns, repo), "dest": ["de.icr.io/%s/%s:1" % (dest_ns, repo)],
            "retries": 2}
    control.set_faults([rule])
    result = run_module("cr_image_copy", args, env)
    control.clear_faults()

    assert_clear_failure(result, phrase)
    assert served_digest(endpoints, "eu-de", "de.icr.io/%s/%s:1" % (dest_ns, repo)) is None

    again = run_module("cr_image_copy", args, env)
    assert not again.get("failed"), again.get("msg")
    assert again["changed"] is True and again["digest"] == digest
    assert served_digest(endpoints, "eu-de", "de.icr.io/%s/%s:1" % (dest_ns, repo)) == digest
