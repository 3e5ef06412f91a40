# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
import pytest

from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError
from ansible_collections.icr.registry.plugins.modules import cr_va_info
from module_runner import run

APP = "us.icr.io/team/app:1.0"


@pytest.fixture
def sleeps(monkeypatch):
    """Waits are recorded, not slept; the clock moves by each wait."""
    now = [1000.0]
    waited = []

    def sleep(seconds):
        waited.append(seconds)
        now[0] += seconds
    monkeypatch.setattr(cr_va_info.time, "sleep", sleep)
    monkeypatch.setattr(cr_va_info.time, "monotonic", lambda: now[0])
    return waited


def test_status_of_named_images_in_order(va):
    va.add_scan(APP, "FAIL", cves=["CVE-2023-4911", ("CVE-2023-5363", "exempt")])
    va.add_scan("us.icr.io/team/base:latest", "OK")
    out = run(cr_va_info, {"names": [APP, "us.icr.io/team/base"]}, check=True)
    assert not out.failed and out.result["changed"] is False
    first, second = out.result["images"]
    assert first == {"name": APP, "status": "FAIL", "scan_time": 1700000000, "vulnerability_count": 1,
                     "exempt_vulnerability_count": 1, "issue_count": 1, "exempt_issue_count": 1}
    assert (second["name"], second["status"]) == ("us.icr.io/team/base:latest", "OK")
    assert va.writes == [] and [c[0] for c in va.calls] == ["image_status", "image_status"]


def test_full_report_adds_the_report_and_active_cves(va):
    va.add_scan(APP, "FAIL", cves=["CVE-2023-4911", ("CVE-2023-5363", "exempt")])
    image = run(cr_va_info, {"names": [APP], "full_report": True}).result["images"][0]
    assert image["active_cves"] == ["CVE-2023-4911"]
    assert [v["cve_id"] for v in image["report"]["vulnerabilities"]] == ["CVE-2023-4911", "CVE-2023-5363"]


def test_not_scanned_is_unscanned_without_waiting(va, sleeps):
    out = run(cr_va_info, {"names": [APP]})
    assert out.result["images"][0]["status"] == "UNSCANNED" and sleeps == []


def test_wait_for_scan_polls_with_growing_pauses_until_scanned(va, sleeps):
    va.add_scan(APP, "OK", pending=4)
    out = run(cr_va_info, {"names": [APP], "wait_for_scan": True, "wait_timeout": 600})
    assert out.result["images"][0]["status"] == "OK"
    assert len(sleeps) == 4 and all(s >= 1 for s in sleeps)
    assert len(va.calls_to("image_status")) == 5


def test_wait_for_scan_gives_up_at_the_timeout_in_one_line(va, sleeps):
    out = run(cr_va_info, {"names": [APP], "wait_for_scan": True, "wait_timeout": 20})
    assert out.failed
    assert "has not been scanned by Vulnerability Advisor within 20 s" in out.result["msg"]
    assert APP in out.result["msg"] and "\n" not in out.result["msg"]
    assert sum(sleeps) == pytest.approx(20)       # waits up to the deadline, not past it


def test_fail_on_names_image_status_and_first_active_cves(va):
    cves = ["CVE-2023-%04d" % n for n in range(1000, 1007)]
    va.add_scan(APP, "FAIL", cves=cves)
    va.add_scan("us.icr.io/team/ok:1", "OK")
    out = run(cr_va_info, {"names": [APP, "us.icr.io/team/ok:1"], "fail_on": ["FAIL", "UNSUPPORTED"]})
    assert out.failed
    message = out.result["msg"]
    assert message.startswith("Vulnerability Advisor: %s is FAIL (CVE-2023-1000, " % APP)
    assert "CVE-2023-1004, ...)" in message and "CVE-2023-1005" not in message and "ok:1" not in message


def test_fail_on_unscanned(va):
    out = run(cr_va_info, {"names": [APP], "fail_on": ["UNSCANNED"]})
    assert out.failed and "%s is UNSCANNED" % APP in out.result["msg"]


def test_listing_of_the_account_or_one_repository(va):
    va.add_scan(APP, "FAIL", cves=["CVE-2023-4911"])
    va.add_scan("us.icr.io/team/app:2.0", "OK", pending=1)
    va.add_scan("us.icr.io/team/other:1", "OK")
    out = run(cr_va_info, {"repository": "us.icr.io/team/app"})
    assert [(i["name"], i["status"]) for i in out.result["images"]] == [
        (APP, "FAIL"), ("us.icr.io/team/app:2.0", "UNSCANNED")]
    assert va.calls_to("account_status") == [("us.icr.io/team/app",)]
    everything = run(cr_va_info, {"full_report": True, "region": "us-south"}).result["images"]
    assert len(everything) == 3 and everything[0]["active_cves"] == ["CVE-2023-4911"]


def test_options_are_checked_before_any_request(va):
    for args, message in (({"names": ["docker.io/library/busybox"]}, "is not an ICR image"),
                          ({"repository": "us.icr.io/team/app:1"}, "must not have a tag"),
                          ({"names": [APP], "repository": "us.icr.io/team/app"}, "mutually exclusive"),
                          ({"names": [APP], "wait_timeout": -1}, "wait_timeout")):
        out = run(cr_va_info, args)
        assert out.failed and message in out.result["msg"], out.result["msg"]
    assert va.calls == []


def test_other_errors_are_not_taken_for_not_scanned(va):
    va.fail("image_status", IcrError("Reading failed", status=401, code="CRG0014E"))
    out = run(cr_va_info, {"names": [APP], "wait_for_scan": True})
    assert out.failed and "CRG0014E" in out.result["msg"] and len(va.calls) == 1
