# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
import base64
import json
import sys

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError, MissingLibrary
from ansible_collections.icr.registry.plugins.module_utils.icr_context import INT64_MAX, whole_number
from ansible_collections.icr.registry.plugins.module_utils.icr_module import IcrModule
from module_runner import Exit, patch_exits

ENV = ("IC_API_KEY", "IBMCLOUD_API_KEY", "IC_REGION", "IBMCLOUD_REGION", "IC_ACCOUNT_ID", "ICR_ENDPOINTS",
       "ICR_REGISTRY_HOST", "ICR_API_URL", "IC_IAM_URL", "ICR_CA_PATH")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    patch_exits(monkeypatch)


def make(args=None, **spec):
    with patch_module_args(args or {}):
        return IcrModule(argument_spec=spec, supports_check_mode=True)


def test_defaults_and_merged_spec():
    module = make({"name": "x"}, name=dict(type="str"))
    assert module.params["name"] == "x"
    assert module.region.name == "us-south"
    assert (module.params["timeout"], module.params["retries"], module.params["validate_certs"]) == (60, 5, True)
    assert module.registry_host() == "us.icr.io"
    assert module.api_url() == "https://us.icr.io"
    assert module.iam_url == "https://iam.cloud.ibm.com"


def test_env_fallbacks_in_order(monkeypatch):
    monkeypatch.setenv("IBMCLOUD_API_KEY", "second")
    assert make().api_key == "second"
    monkeypatch.setenv("IC_API_KEY", "first")
    monkeypatch.setenv("IBMCLOUD_REGION", "uk-south")
    module = make()
    assert module.api_key == "first"
    assert module.region.name == "eu-gb"
    assert module.params["region"] == "uk-south"
    assert make({"api_key": "explicit", "region": "eu-de"}).api_key == "explicit"
    assert "first" in make().ansible_module.no_log_values


def test_missing_key_is_an_icr_error():
    with pytest.raises(IcrError, match="IC_API_KEY"):
        make().api_key


def test_unknown_region_fails_cleanly():
    with pytest.raises(Exit) as info:
        make({"region": "mars-1"})
    assert info.value.failed and info.value.result["msg"].startswith("Unknown region 'mars-1'")


def test_endpoints_file_and_explicit_overrides(tmp_path, monkeypatch):
    path = tmp_path / "endpoints.json"
    path.write_text(json.dumps({"iam_url": "http://127.0.0.1:7000", "regions": {
        "us-south": {"registry": "127.0.0.1:5201", "api_url": "http://127.0.0.1:6201"},
        "eu-de": {"registry": "127.0.0.1:5202", "api_url": "http://127.0.0.1:6202"}}}))
    monkeypatch.setenv("ICR_ENDPOINTS", str(path))
    module = make()
    assert module.registry_host("eu-central") == "127.0.0.1:5202"
    assert module.registry_url() == "http://127.0.0.1:5201"
    assert module.api_url("eu-de") == "http://127.0.0.1:6202"
    assert module.registry_host("jp-tok") == "jp.icr.io"
    assert module.iam_url == "http://127.0.0.1:7000"
    module = make({"registry_host": "https://10.1.1.1:443", "api_url": "https://api.example/", "iam_url": "https://iam.x"})
    assert module.registry_host() == "10.1.1.1:443" and module.registry_url() == "https://10.1.1.1:443"
    assert module.api_url() == "https://api.example"
    with pytest.raises(IcrError, match=r"^registry_host https://10.1.1.1:443 applies to region us-south .* only, "
                       r"but region eu-de is needed too"):
        module.registry_host("eu-de")  # an override never silently skips another region
    with pytest.raises(IcrError, match=r"^api_url https://api.example/ applies to region us-south"):
        module.api("eu-de")
    assert module.iam_url == "https://iam.x"


def test_fail_from_is_one_line_without_traceback():
    module = make()
    with pytest.raises(Exit) as info:
        module.fail_from(IcrError("Creating namespace ab failed: taken", status=409, code="CRN0002E",
                                  transaction_id="t-9"))
    result = info.value.result
    assert result["msg"] == "Creating namespace ab failed: taken (HTTP 409, code CRN0002E, transaction id t-9)"
    assert result["error"] == {"status": 409, "code": "CRN0002E", "transaction_id": "t-9"}
    assert "exception" not in result


class RegionWorker:
    def __init__(self, module):
        self.module = module

    def __call__(self):
        return {"changed": True, "region": self.module.region.name}


class BrokenWorker:
    def __init__(self, module):
        pass

    def __call__(self):
        raise IcrError("Listing namespaces failed: boom", status=500)


class RefusingWorker:
    def __init__(self, module):
        raise IcrError("Invalid namespace 'a': must be 4 to 30 characters long (got 1)")


def test_run_exits_with_result_or_fails_on_icr_error():
    module = make()
    with pytest.raises(Exit) as info:
        module.run(RegionWorker)
    assert not info.value.failed and info.value.result == {"changed": True, "region": "us-south"}

    with pytest.raises(Exit) as info:
        module.run(BrokenWorker)
    assert info.value.failed and info.value.result["msg"] == "Listing namespaces failed: boom (HTTP 500)"

    with pytest.raises(Exit) as info:
        module.run(RefusingWorker)
    assert info.value.failed and info.value.result["msg"].startswith("Invalid namespace 'a'")


def test_missing_library_is_reported_with_the_interpreter():
    module = make()

    class NeedsDocker:
        def __init__(self, module):
            raise MissingLibrary("docker>=7.0.0", ImportError("No module named 'docker'"))

    with pytest.raises(Exit) as info:
        module.run(NeedsDocker)
    msg = info.value.result["msg"]
    assert info.value.failed and "Failed to import the required Python library (docker>=7.0.0)" in msg
    assert sys.executable in msg
    assert "No module named 'docker'" in info.value.result["exception"]


def test_result_adds_a_diff_only_in_diff_mode():
    assert make().result(["did"], before={"a": 1}, after={"a": 2}, x=1) == {"changed": True, "x": 1}
    with patch_module_args({"_ansible_diff": True, "api_key": "k"}):
        module = IcrModule(supports_check_mode=True)
    assert module.result(False, before={"a": 1}, after={"a": 1}) == {
        "changed": False, "diff": {"before": {"a": 1}, "after": {"a": 1}}}


def test_bad_timeout_fails():
    with pytest.raises(Exit) as info:
        make({"timeout": 0})
    assert info.value.failed


class FakeSession:
    def __init__(self, token, account):
        self._token, self.account_id = token, account

    def token(self):
        return self._token


def test_secrets_are_masked():
    module = make({"api_key": "the-key"})
    module._session = FakeSession("tok.en.value", "acc1")
    assert module.iam_token() == "tok.en.value"
    auth = module.docker_auth()
    assert base64.b64decode(auth).decode() == "iamapikey:the-key"
    masked = module.ansible_module.no_log_values
    assert {"the-key", "tok.en.value", auth} <= masked
    assert module.account_id == "acc1"


def test_check_and_diff_mode_proxies():
    with patch_module_args({"_ansible_check_mode": True, "_ansible_diff": True}):
        module = IcrModule(supports_check_mode=True)
    assert module.check_mode and module.diff_mode


@pytest.mark.parametrize("key", [" ", "   ", "\t\n"])
def test_blank_api_key_fails_in_one_readable_line_before_any_request(monkeypatch, key):
    from ansible.module_utils import basic
    from ansible.module_utils.common.parameters import remove_values

    def fail_as_printed(self, **result):  # what Ansible prints: the message after masking
        raise Exit(True, dict(result, msg=remove_values(result["msg"], self.no_log_values)))
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_as_printed)
    monkeypatch.setattr(IcrModule, "session", property(lambda self: pytest.fail("no IAM request expected")))
    with pytest.raises(Exit) as info:
        make({"api_key": key})
    assert info.value.failed
    assert info.value.result["msg"] == ("api_key is blank: set it (or IC_API_KEY / IBMCLOUD_API_KEY) to an "
                                        "IBM Cloud API key")


def test_blank_api_key_from_the_environment_is_refused_too(monkeypatch):
    monkeypatch.setenv("IC_API_KEY", "  ")
    with pytest.raises(Exit) as info:
        make()
    assert info.value.failed and "api_key is blank" in info.value.result["msg"]


@pytest.mark.parametrize("value, minimum, maximum, also, message", [
    (-1, 0, INT64_MAX, None, "keep_latest must be a whole number of at least 0; got -1"),
    (True, 0, INT64_MAX, None, "got True"),
    (2.5, 0, INT64_MAX, None, "got 2.5"),
    (11, 0, 10, None, "keep_latest must be a whole number from 0 to 10; got 11"),
    (2 ** 63, 0, INT64_MAX, None, "from 0 to 9223372036854775807; got 9223372036854775808"),
    (-2, 0, 10, {-1: "unlimited"}, "from 0 to 10, or -1 (unlimited); got -2"),
])
def test_whole_number_refuses_in_one_line(value, minimum, maximum, also, message):
    with pytest.raises(IcrError) as info:
        whole_number("keep_latest", value, minimum, maximum, also)
    assert message in str(info.value)


def test_whole_number_accepts():
    assert whole_number("n", None) is None
    assert whole_number("n", 0) == 0 and whole_number("n", INT64_MAX) == INT64_MAX
    assert whole_number("n", -1, also={-1: "unlimited"}) == -1


def test_timeout_and_retries_are_checked_by_the_module_base():
    for args, message in (({"timeout": 0}, "timeout must be a whole number of at least 1; got 0"),
                          ({"retries": -1}, "retries must be a whole number of at least 0; got -1")):
        with pytest.raises(Exit) as info:
            make(args)
        assert info.value.failed and info.value.result["msg"] == message


def test_private_endpoints_for_a_play_and_for_private_references(tmp_path, monkeypatch):
    from ansible_collections.icr.registry.plugins.module_utils.icr_images import icr_reference
    path = tmp_path / "endpoints.json"
    path.write_text(json.dumps({"regions": {"us-south": {
        "registry": "127.0.0.1:5201", "api_url": "http://127.0.0.1:6201",
        "private_registry": "127.0.0.1:5301", "private_api_url": "http://127.0.0.1:6301"}}}))
    monkeypatch.setenv("ICR_ENDPOINTS", str(path))
    module = make()
    assert module.registry_host() == "127.0.0.1:5201"
    ref, region = icr_reference(module, "private.us.icr.io/team/app:1")
    assert str(ref) == "us.icr.io/team/app:1" and region.private  # the API still gets the canonical name
    assert module.registry_url(region) == "http://127.0.0.1:5301" and module.api_url(region) == "http://127.0.0.1:6301"
    assert icr_reference(module, "127.0.0.1:5301/team/app")[1].private
    assert module.registry_host("eu-de") == "de.icr.io"
    module = make({"private_endpoints": True})
    assert (module.registry_host(), module.api_url()) == ("127.0.0.1:5301", "http://127.0.0.1:6301")
    assert (module.registry_host("eu-de"), module.api_url("eu-de")) == ("private.de.icr.io", "https://private.de.icr.io")
    with pytest.raises(Exit, match="Region eu-fr2 has no private endpoint"):
        make({"private_endpoints": True, "region": "eu-fr2"})
