# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
import pytest

from ansible_collections.icr.registry.plugins.module_utils.icr_module import IcrModule
from ansible_collections.icr.registry.plugins.modules import cr_quota as mod
from fake_api import MB
from module_runner import patch_exits, run


@pytest.mark.parametrize("megabytes, size", [(-1, -1), (0, 0), (1, MB), (500, 524288000), (512, 536870912)])
def test_megabytes_and_bytes_round_trip(megabytes, size):
    assert mod.megabytes_to_bytes(megabytes) == size
    assert mod.bytes_to_megabytes(size) == megabytes


def test_inexact_bytes_give_fractional_megabytes():
    assert mod.bytes_to_megabytes(MB + MB // 2) == 1.5


def test_human_size():
    assert mod.human_size(-1) == "unlimited"
    assert mod.human_size(536870912) == "512.00 MB"
    assert mod.human_size(5368709120) == "5.00 GB"


def test_limit_changes_only_for_given_and_different_limits():
    current = {"storage": 512 * MB, "traffic": -1}
    assert mod.limit_changes(current, {"storage": 512, "traffic": None}) == {}
    assert mod.limit_changes(current, {"storage": 500, "traffic": -1}) == {"storage_megabytes": 500}
    assert mod.limit_changes(current, {"storage": None, "traffic": 5120}) == {"traffic_megabytes": 5120}
    assert mod.limit_changes(current, {"storage": -1, "traffic": None}) == {"storage_megabytes": -1}


def test_missing_limits_read_as_unlimited():
    assert mod.limits_in_bytes({}) == {"storage": -1, "traffic": -1}
    assert mod.describe({})["traffic"]["usage_bytes"] == 0


def test_read_only_without_limits(api):
    api.quota["limit"]["storage_bytes"], api.quota["usage"]["storage_bytes"] = 512 * MB, 3 * MB
    out = run(mod, {})
    assert not out.failed and not out.result["changed"] and api.writes == []
    assert out.result["quota"]["storage"] == {"limit_bytes": 536870912, "limit_megabytes": 512,
                                              "limit_human": "512.00 MB", "usage_bytes": 3 * MB,
                                              "usage_human": "3.00 MB"}
    assert out.result["quota"]["traffic"]["limit_human"] == "unlimited"


def test_check_mode_predicts_without_writing(api):
    out = run(mod, {"storage_megabytes": 2048}, check=True, diff=True)
    assert out.result["changed"] and api.writes == []
    assert out.result["quota"]["storage"]["limit_bytes"] == 2048 * MB
    assert out.result["diff"] == {"before": {"storage_megabytes": -1, "traffic_megabytes": -1},
                                  "after": {"storage_megabytes": 2048, "traffic_megabytes": -1}}


def test_sets_only_the_differing_limit_then_idempotent(api):
    api.quota["limit"]["storage_bytes"] = 500 * MB
    first = run(mod, {"storage_megabytes": 500, "traffic_megabytes": 1024})
    assert first.result["changed"] and api.writes == [("update_quota", None, 1024)]
    assert first.result["quota"]["traffic"]["limit_megabytes"] == 1024
    second = run(mod, {"storage_megabytes": 500, "traffic_megabytes": 1024})
    assert not second.result["changed"] and len(api.writes) == 1


def test_refuses_below_unlimited(api):
    out = run(mod, {"traffic_megabytes": -5})
    assert out.failed and "traffic_megabytes" in out.result["msg"] and api.writes == []


@pytest.mark.parametrize("args, message", [
    ({"storage_megabytes": 8796093022208}, "storage_megabytes must be a whole number of megabytes from 0 to "
                                           "8796093022207, or -1 (unlimited); got 8796093022208"),
    ({"traffic_megabytes": -2}, "traffic_megabytes must be a whole number of megabytes from 0 to 8796093022207"),
])
def test_limits_the_api_cannot_store_fail_before_any_request(monkeypatch, args, message):
    monkeypatch.setattr(IcrModule, "api", lambda self, region=None: pytest.fail("no API call expected"))
    patch_exits(monkeypatch)
    out = run(mod, args)
    assert out.failed and message in out.result["msg"] and "\n" not in out.result["msg"]


def test_the_largest_storable_limit_is_accepted(api):
    out = run(mod, {"storage_megabytes": mod.MAX_MEGABYTES})
    assert out.result["quota"]["storage"]["limit_bytes"] == mod.MAX_MEGABYTES * MB <= 2 ** 63 - 1
