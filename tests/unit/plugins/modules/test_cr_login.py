# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
import base64
import fcntl
import json
import multiprocessing
import os
import stat
import threading
import time
from pathlib import Path

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.icr.registry.plugins.module_utils import docker_config
from ansible_collections.icr.registry.plugins.module_utils.docker_config import CredentialHelper, DockerConfig
from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError
from ansible_collections.icr.registry.plugins.module_utils.icr_module import IcrModule
from ansible_collections.icr.registry.plugins.modules import cr_login
from module_runner import Exit, patch_exits

SECRET = "super-secret-api-key"
FIXTURES = Path(__file__).parent / "fixtures"


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


def test_null_auths_is_replaced(tmp_path, token):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"auths": None}))
    assert run({"config_path": str(path)}).result["changed"] and list(stored(path)["auths"]) == ["us.icr.io"]


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


# --------------------------------------------------------------------------- lock, atomic replace, symlink

def _login_hosts(path, hosts, rounds):
    """In a forked process: log in to each of ``hosts`` ``rounds`` times; the changed flags."""
    return [run({"config_path": path, "registry_host": host}).result["changed"]
            for _round in range(rounds) for host in hosts]


def _fork_pool(size):
    return multiprocessing.get_context("fork").Pool(size)


def test_concurrent_logins_keep_every_entry(tmp_path, token):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"auths": {"quay.io": {"auth": "eHg6eXk="}}}))
    hosts = ["127.0.0.1:%d" % (5200 + n) for n in range(6)]
    with _fork_pool(len(hosts)) as pool:
        changed = pool.starmap(_login_hosts, [(str(path), [host], 5) for host in hosts])
    auths = stored(path)["auths"]
    assert sorted(auths) == sorted(hosts + ["quay.io"])
    assert all(base64.b64decode(auths[host]["auth"]).decode() == "iamapikey:" + SECRET for host in hosts)
    assert changed == [[True, False, False, False, False]] * len(hosts)  # decided from what was read under the lock
    assert sorted(os.listdir(tmp_path)) == ["config.json", "config.json.lock"]  # no temporary file left


def test_concurrent_logins_to_one_registry_change_it_once(tmp_path, token):
    path = str(tmp_path / "config.json")
    with _fork_pool(4) as pool:
        changed = pool.starmap(_login_hosts, [(path, ["de.icr.io"], 1)] * 8)
    assert sum(flag for flags in changed for flag in flags) == 1


def test_writer_waits_for_the_lock_on_the_sidecar_file(tmp_path, token):
    path = tmp_path / "config.json"
    path.write_text("{}")
    inode = os.stat(path).st_ino
    done = []
    with open(str(path) + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        writer = threading.Thread(target=lambda: done.append(run({"config_path": str(path)})))
        writer.start()
        time.sleep(0.5)
        assert writer.is_alive() and stored(path) == {}  # blocked before reading
        fcntl.flock(lock, fcntl.LOCK_UN)
        writer.join(10)
    assert done and done[0].result["changed"] and "us.icr.io" in stored(path)["auths"]
    assert os.stat(path).st_ino != inode  # the config was replaced, the lock file was not


def test_lock_wait_is_bounded_by_timeout(tmp_path, token):
    path = tmp_path / "config.json"
    with open(str(path) + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        outcome = run({"config_path": str(path), "timeout": 1})
    assert outcome.failed and "held the lock %s.lock" % path in outcome.result["msg"]
    assert not path.exists()


def test_replace_is_atomic_0600_and_leaves_nothing_behind(tmp_path, token, monkeypatch):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"auths": {"quay.io": {"auth": "eHg6eXk="}}}))
    os.chmod(path, 0o644)
    run({"config_path": str(path), "api_key": "old-key"})
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    before = path.read_text()

    def broken_fsync(fd):
        raise OSError(5, "Input/output error")
    monkeypatch.setattr(docker_config.os, "fsync", broken_fsync)
    outcome = run({"config_path": str(path)})
    assert outcome.failed and "Cannot write Docker config" in outcome.result["msg"]
    assert path.read_text() == before  # the old file is untouched
    assert sorted(os.listdir(tmp_path)) == ["config.json", "config.json.lock"]


def test_symlinked_config_is_written_through(tmp_path, token):
    real = tmp_path / "dotfiles" / "docker.json"
    real.parent.mkdir()
    real.write_text(json.dumps({"auths": {"quay.io": {"auth": "eHg6eXk="}}}))
    link = tmp_path / "docker" / "config.json"
    link.parent.mkdir()
    link.symlink_to(Path("..") / "dotfiles" / "docker.json")
    result = run({"config_path": str(link)}).result
    assert result["changed"] and result["config_path"] == str(link)
    assert link.is_symlink() and os.readlink(link) == str(Path("..") / "dotfiles" / "docker.json")
    assert sorted(stored(real)["auths"]) == ["quay.io", "us.icr.io"]
    assert stat.S_IMODE(os.stat(real).st_mode) == 0o600
    assert (tmp_path / "dotfiles" / "docker.json.lock").exists() and not (tmp_path / "docker" / "config.json.lock").exists()
    assert not run({"config_path": str(link)}).result["changed"]
    assert run({"config_path": str(link), "state": "absent"}).result["changed"]
    assert link.is_symlink() and sorted(stored(real)["auths"]) == ["quay.io"]


# --------------------------------------------------------------------------- credential helpers

@pytest.fixture
def helper(tmp_path, monkeypatch):
    """docker-credential-icrtest on PATH, keeping its credentials in creds.json; returns that file."""
    creds = tmp_path / "creds.json"
    monkeypatch.setenv("PATH", "%s%s%s" % (FIXTURES, os.pathsep, os.environ["PATH"]))
    monkeypatch.setenv("ICRTEST_CREDS_FILE", str(creds))
    monkeypatch.delenv("ICRTEST_FAIL", raising=False)
    return creds


def calls(creds):
    """The helper's command lines so far."""
    log = Path(str(creds) + ".log")
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_helper_protocol_round_trip(helper):
    icrtest = CredentialHelper("icrtest")
    assert icrtest.get("us.icr.io") is None
    icrtest.store("us.icr.io", "iamapikey", SECRET)
    assert icrtest.get("us.icr.io") == ("iamapikey", SECRET)
    assert json.loads(helper.read_text()) == {"us.icr.io": {"Username": "iamapikey", "Secret": SECRET}}
    icrtest.erase("us.icr.io")
    icrtest.erase("us.icr.io")  # erasing what is not there is fine
    assert icrtest.get("us.icr.io") is None
    assert calls(helper) == [["get"], ["store"], ["get"], ["erase"], ["erase"], ["get"]]


def test_login_through_creds_store(tmp_path, token, helper):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"credsStore": "icrtest", "auths": {"quay.io": {}}}))
    first = run({"config_path": str(path)}, diff=True).result
    assert first["changed"] and first["credential_helper"] == "docker-credential-icrtest"
    assert first["diff"]["before"]["logged_in"] is False and first["diff"]["after"]["username"] == "iamapikey"
    assert json.loads(helper.read_text())["us.icr.io"] == {"Username": "iamapikey", "Secret": SECRET}
    assert stored(path) == {"credsStore": "icrtest", "auths": {"quay.io": {}, "us.icr.io": {}}}
    assert SECRET not in json.dumps(first) and not any(SECRET in arg for call in calls(helper) for arg in call)
    mtime = os.stat(path).st_mtime_ns
    assert not run({"config_path": str(path)}).result["changed"]
    assert os.stat(path).st_mtime_ns == mtime and calls(helper)[-1] == ["get"]
    assert run({"config_path": str(path), "api_key": "new-key"}).result["changed"]
    assert json.loads(helper.read_text())["us.icr.io"]["Secret"] == "new-key"


def test_cred_helpers_entry_wins_and_plain_auth_is_moved(tmp_path, token, helper):
    path = tmp_path / "config.json"
    plain = base64.b64encode(("iamapikey:" + SECRET).encode()).decode()
    path.write_text(json.dumps({"credsStore": "not-installed", "credHelpers": {"us.icr.io": "icrtest"},
                                "auths": {"us.icr.io": {"auth": plain}}}))
    result = run({"config_path": str(path)}).result
    assert result["changed"] and result["credential_helper"] == "docker-credential-icrtest"
    assert stored(path)["auths"] == {"us.icr.io": {}} and SECRET not in path.read_text()
    # credentials already in the helper, only the file entry was missing: rewritten, helper not asked to store
    path.write_text(json.dumps({"credHelpers": {"us.icr.io": "icrtest"}}))
    assert run({"config_path": str(path)}).result["changed"]
    assert stored(path)["auths"] == {"us.icr.io": {}} and calls(helper)[-1] == ["get"]


def test_logout_through_helper(tmp_path, token, helper):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"credsStore": "icrtest"}))
    run({"config_path": str(path)})
    out = run({"config_path": str(path), "state": "absent"}, diff=True).result
    assert out["changed"] and out["diff"]["before"]["username"] == "iamapikey"
    assert json.loads(helper.read_text()) == {} and stored(path)["auths"] == {}
    assert not run({"config_path": str(path), "state": "absent"}).result["changed"]


def test_check_mode_with_helper_only_asks(tmp_path, token, helper):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"credsStore": "icrtest"}))
    assert run({"config_path": str(path)}, check=True).result["changed"]
    assert not helper.exists() and calls(helper) == [["get"]]
    assert stored(path) == {"credsStore": "icrtest"} and not (tmp_path / "config.json.lock").exists()


def test_bearer_through_helper_kept_while_valid_for_same_identity(tmp_path, token, helper):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"credsStore": "icrtest"}))
    run({"config_path": str(path), "username": "iambearer"})
    first_token = token["value"]
    assert json.loads(helper.read_text())["us.icr.io"]["Secret"] == first_token
    token["value"] = jwt({"iam_id": "u1", "account": {"bss": "a1"}, "exp": 2_000_000_500})
    assert not run({"config_path": str(path), "username": "iambearer"}).result["changed"]
    token["value"] = jwt({"iam_id": "u2", "account": {"bss": "a1"}, "exp": 2_000_000_500})
    assert run({"config_path": str(path), "username": "iambearer"}).result["changed"]
    assert json.loads(helper.read_text())["us.icr.io"]["Secret"] == token["value"]


def test_missing_helper_fails_naming_it(tmp_path, token):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"credsStore": "desktop"}))
    outcome = run({"config_path": str(path)})
    assert outcome.failed and outcome.result["msg"] == (
        "Docker credential helper docker-credential-desktop (credsStore in %s) not found on PATH" % path)
    assert stored(path) == {"credsStore": "desktop"}


def test_helper_failure_is_one_masked_line(tmp_path, token, helper, monkeypatch):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"credsStore": "icrtest"}))
    monkeypatch.setenv("ICRTEST_FAIL", "store")
    outcome = run({"config_path": str(path)})
    assert outcome.failed and outcome.result["msg"] == (
        "Docker credential helper docker-credential-icrtest store us.icr.io failed: icrtest: store refused")
    assert stored(path) == {"credsStore": "icrtest"}


def test_docker_config_in_check_mode_writes_nothing(tmp_path):
    path = tmp_path / "new" / "config.json"
    docker = DockerConfig(str(path), check_mode=True)
    with docker.locked():
        assert docker.get("us.icr.io") is None
        assert docker.store("us.icr.io", "iamapikey", SECRET)
        assert not docker.erase("us.icr.io")
    assert not path.parent.exists()


def test_a_trusted_profile_logs_in_as_iambearer_and_says_when_it_expires(tmp_path, token, monkeypatch):
    warnings = []
    monkeypatch.setattr(IcrModule, "warn", lambda self, text: warnings.append(text))
    path = tmp_path / "config.json"
    result = run({"config_path": str(path), "auth_type": "trusted_profile", "trusted_profile_id": "Profile-1"}).result
    assert result["username"] == "iambearer" and result["expires_at"] == "2033-05-18T03:33:20Z"
    assert base64.b64decode(stored(path)["auths"]["us.icr.io"]["auth"]).decode() == "iambearer:" + token["value"]
    assert "expires at 2033-05-18T03:33:20Z" in warnings[0]
    assert run({"config_path": str(path)}).result["expires_at"] is None  # the API key: iamapikey, no expiry


def test_iamapikey_needs_an_api_key_identity(tmp_path, token):
    failed = run({"config_path": str(tmp_path / "c.json"), "username": "iamapikey",
                  "auth_type": "trusted_profile", "trusted_profile_id": "Profile-1"})
    assert failed.failed and failed.result["msg"].startswith("username iamapikey stores an API key, but the run signs "
                                                             "in as trusted profile Profile-1 (assumed with the API key)")
    assert not (tmp_path / "c.json").exists()
