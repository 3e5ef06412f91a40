# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
from ansible_collections.icr.registry.plugins.modules import cr_account_settings as mod
from module_runner import run


def test_current_settings_merges_and_defaults_off():
    assert mod.current_settings({"iam_authz": True}, None) == {
        "iam_authz": True, "private_only": False, "platform_metrics": False}


def test_changes_for_ignores_none_and_equal_values():
    current = {"iam_authz": True, "private_only": False}
    assert mod.changes_for(current, {"iam_authz": True, "private_only": None}, mod.AUTH_OPTIONS) == {}
    assert mod.changes_for(current, {"iam_authz": False, "private_only": True}, mod.AUTH_OPTIONS) == {
        "iam_authz": False, "private_only": True}


def test_no_options_only_reads(api):
    api.auth["iam_authz"] = True
    out = run(mod, {})
    assert not out.result["changed"] and api.writes == []
    assert out.result["settings"] == {"iam_authz": True, "private_only": False, "platform_metrics": False}


def test_each_resource_gets_only_its_changed_options(api):
    api.auth["iam_authz"] = True
    out = run(mod, {"iam_authz": True, "private_only": True, "platform_metrics": True}, diff=True)
    assert out.result["changed"]
    assert api.writes == [("update_auth_options", None, True), ("update_settings", True)]
    assert out.result["diff"]["before"]["platform_metrics"] is False
    assert out.result["diff"]["after"] == {"iam_authz": True, "private_only": True, "platform_metrics": True}
    again = run(mod, {"iam_authz": True, "private_only": True, "platform_metrics": True})
    assert not again.result["changed"] and len(api.writes) == 2


def test_check_mode_writes_nothing(api):
    out = run(mod, {"platform_metrics": True}, check=True)
    assert out.result["changed"] and out.result["settings"]["platform_metrics"] is True and api.writes == []
