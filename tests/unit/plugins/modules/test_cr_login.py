# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
import base64
import json
import os
import stat

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError
from ansible_collections.icr.registry.plugins.module_utils.icr_module import IcrModule
from ansible_collections.icr.registry.plugins.modules import cr_login
from module_runner import Exit, patch_exits

SECRET = "super-secret-api-key"


def jwt(claims):
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return "h.%s.s" % body


@pytest.fixture
def token(monkeypatch):
    """The IAM token the module gets (the key is checked with IAM through iam_token)."""
    holder = {"value": jwt({"iam_id": "u1", "account": {"bss": "a1"}, "exp": 2_000_000_000})}
    monkeypatch.setattr(IcrModule, "iam_token", lambda self: holder["value"])
    patch_exits(monkeypatch)
    monkeypatch.delenv("ICR_ENDPOINTS", raising=False)
    monkeypatch.delenv("ICR_REGISTRY_HOST", raising=False)
    return holder


def run(args, check=False, diff=False):
    args = dict({"api_key": SECRET}, **args)
    args.update(_ansible_check_mode=check, _ansible_diff=diff)
    with patch_module_args(args):
        with pytest.raises(Exit) as info:
            cr_login.main()
    return info.value


def stored(path):
    return json.loads(path.read_text())


def test_login_writes_0600_and_is_idempotent(tmp_path, token):
    path = tmp_path / "docker" / "config.json"
    first = run({"region": "eu-de", "config_path": str(path)})
    assert first.result["changed"] and first.result["registry"] == "de.icr.io"
    auth = stored(path)["auths"]["de.icr.io"]["auth"]
    assert base64.b64decode(auth).decode() == "iamapikey:" + SECRET
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert SECRET not in json.dumps(first.result) and auth not in json.dumps(first.result)
    mtime = os.stat(path).st_mtime_ns
    second = run({"region": "eu-de", "config_path": str(path)})
    assert not second.result["changed"] and os.stat(path).st_mtime_ns == mtime


def test_other_entries_are_kept_and_key_change_rewrites(tmp_path, token):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"auths": {"quay.io": {"auth": "eHg6eXk="}}, "psFormat": "x"}))
    run({"config_path": str(path), "api_key": "old-key"})
    assert run({"config_path": str(path)}).result["changed"]
    config = stored(path)
    assert config["psFormat"] == "x" and config["auths"]["quay.io"] == {"auth": "eHg6eXk="}
    assert base64.b64decode(config["auths"]["us.icr.io"]["auth"]).decode() == "iamapikey:" + SECRET


def test_check_mode_writes_nothing(tmp_path, token):
    path = tmp_path / "config.json"
    result = run({"config_path": str(path)}, check=True, diff=True).result
    assert result["changed"] and not path.exists()
    assert result["diff"]["after"] == {"registry": "us.icr.io", "logged_in": True, "username": "iamapikey"}


def test_logout(tmp_path, token):
    path = tmp_path / "config.json"
    run({"config_path": str(path)})
    out = run({"config_path": str(path), "state": "absent"}, diff=True).result
    assert out["changed"] and "us.icr.io" not in stored(path)["auths"]
    assert out["diff"]["before"]["logged_in"] and not out["diff"]["after"]["logged_in"]
    assert not run({"config_path": str(path), "state": "absent"}).result["changed"]


def test_bearer_kept_while_valid_for_same_identity(tmp_path, token):
    path = tmp_path / "config.json"
    run({"config_path": str(path), "username": "iambearer"})
    first_token = token["value"]
    token["value"] = jwt({"iam_id": "u1", "account": {"bss": "a1"}, "exp": 2_000_000_500})
    assert not run({"config_path": str(path), "username": "iambearer"}).result["changed"]
    token["value"] = jwt({"iam_id": "u2", "account": {"bss": "a1"}, "exp": 2_000_000_500})
    assert run({"config_path": str(path), "username": "iambearer"}).result["changed"]
    assert first_token not in path.read_text()


def test_credential_helper_is_refused(tmp_path, token):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"credsStore": "desktop"}))
    outcome = run({"config_path": str(path)})
    assert outcome.failed and "credential helper 'desktop'" in outcome.result["msg"]


def test_wrong_key_writes_nothing(tmp_path, token, monkeypatch):
    def reject(self):
        raise IcrError("Getting an IAM token failed: Provided API key could not be found", status=400)
    monkeypatch.setattr(IcrModule, "iam_token", reject)
    path = tmp_path / "config.json"
    outcome = run({"config_path": str(path)})
    assert outcome.failed and "(HTTP 400)" in outcome.result["msg"] and not path.exists()


def test_default_config_path(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    assert cr_login.default_config_path() == str(tmp_path / "config.json")
