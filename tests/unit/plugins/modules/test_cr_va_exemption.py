# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
import pytest

from ansible_collections.icr.registry.plugins.modules import cr_va_exemption
from module_runner import run

CVE = "CVE-2023-4911"


@pytest.mark.parametrize("scope, resource, shown", [
    ("account", None, "account"),
    ("us.icr.io/team", "team", "us.icr.io/team"),
    ("team/app", "team/app", "us.icr.io/team/app"),
    ("us.icr.io/team/app:1.0", "team/app:1.0", "us.icr.io/team/app:1.0"),
    ("us.icr.io/team/app@sha256:" + "a" * 64, "team/app@sha256:" + "a" * 64, "us.icr.io/team/app@sha256:" + "a" * 64),
])
def test_create_is_idempotent_in_every_scope(va, scope, resource, shown):
    out = run(cr_va_exemption, {"scope": scope, "issue_type": "cve", "issue_id": [CVE]})
    assert out.result["changed"] and out.result["created"] == [CVE]
    assert out.result["exemptions"] == [{"issue_type": "cve", "issue_id": CVE, "scope": shown}]
    assert va.exemptions == [(resource, "cve", CVE)]
    again = run(cr_va_exemption, {"scope": scope, "issue_type": "cve", "issue_id": [CVE]})
    assert not again.result["changed"] and again.result["created"] == []
    assert len(va.writes) == 1


def test_a_list_only_creates_the_missing_ones_and_absent_removes(va):
    va.create_exemption("sn", "DSA-5514-1", resource="team/app")
    out = run(cr_va_exemption, {"scope": "us.icr.io/team/app", "issue_type": "sn",
                                "issue_id": ["DSA-5514-1", "DSA-5532-1"]})
    assert out.result["created"] == ["DSA-5532-1"]
    gone = run(cr_va_exemption, {"scope": "us.icr.io/team/app", "issue_type": "sn",
                                 "issue_id": ["DSA-5514-1", "DSA-9999-1"], "state": "absent"})
    assert gone.result["changed"] and gone.result["deleted"] == ["DSA-5514-1"]
    assert va.exemptions == [("team/app", "sn", "DSA-5532-1")]
    assert not run(cr_va_exemption, {"scope": "us.icr.io/team/app", "issue_type": "sn", "issue_id": ["DSA-5514-1"],
                                     "state": "absent"}).result["changed"]


def test_check_mode_predicts_without_writing_and_diff_shows_both_sides(va):
    out = run(cr_va_exemption, {"issue_type": "cve", "issue_id": [CVE]}, check=True, diff=True)
    assert out.result["changed"] and out.result["created"] == [CVE] and va.writes == []
    assert out.result["diff"] == {"before": [], "after": [{"issue_type": "cve", "issue_id": CVE, "scope": "account"}]}
    va.create_exemption("cve", CVE)
    removed = run(cr_va_exemption, {"issue_type": "cve", "issue_id": CVE, "state": "absent"}, check=True, diff=True)
    assert removed.result["changed"] and removed.result["diff"]["after"] == [] and va.exemptions


@pytest.mark.parametrize("args, message", [
    ({"issue_type": "cve", "issue_id": ["CVE-23-1"]}, "CVE-23-1 is not a valid cve ID"),
    ({"issue_type": "sn", "issue_id": ["dsa-1"]}, "is not a valid sn ID"),
    ({"issue_type": "configuration", "issue_id": [CVE]}, "is not a valid configuration ID"),
    ({"issue_type": "cve", "issue_id": [CVE], "scope": "Team"}, "Team"),
    ({"issue_type": "cve", "issue_id": [CVE], "scope": "quay.io/team/app"}, "serves no ICR region"),
    ({"issue_type": "cve", "issue_id": [CVE], "scope": "us.icr.io/team/app:bad tag"}, "whitespace"),
])
def test_bad_options_fail_before_any_request(va, args, message):
    out = run(cr_va_exemption, args)
    assert out.failed and message in out.result["msg"], out.result["msg"]
    assert va.calls == []


def test_region_comes_from_the_scope_domain(monkeypatch, va):
    regions = []
    from ansible_collections.icr.registry.plugins.module_utils.icr_module import IcrModule
    monkeypatch.setattr(IcrModule, "va", lambda self, region=None: regions.append(region.name) or va)
    run(cr_va_exemption, {"scope": "de.icr.io/team", "issue_type": "cve", "issue_id": [CVE]})
    run(cr_va_exemption, {"region": "global", "issue_type": "cve", "issue_id": [CVE]})
    assert regions == ["eu-de", "global"]
