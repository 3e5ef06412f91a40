"""Vulnerability Advisor v4 through IBM's SDK: images pushed over /v2 are scanned (after the
sandbox's scan delay), reports parse into the SDK's models, exemptions apply at once."""

import time

import pytest
from ibm_container_registry.vulnerability_advisor_v4 import (
    Exemption,
    ExemptionDeletionInfo,
    ExemptionTypeInfo,
    ScanReport,
    ScanReportList,
    ScanreportImageSummaryList,
    ScanreportSummary,
)
from sdk_helpers import (  # noqa: F401
    ALPINE, REGION, VULNERABLE_DEBIAN, api_error, client, dpkg_status, image_ref, namespace, pusher, va_client,
    wait_for,
)

@pytest.fixture
def va(endpoints):
    return va_client(endpoints, REGION)


def scanned(va, name, seconds=20):
    """The image's report once it is scanned."""
    def report():
        try:
            return va.image_report_query_path(name=name)
        except Exception:  # noqa: BLE001 - 404 until the scan is done
            return None
    response = wait_for(report, seconds=seconds, interval=0.2)
    assert response is not None, f"{name} was not scanned in {seconds} s"
    return response


def test_a_pushed_image_is_scanned_then_reported(va, pusher, namespace, endpoints):
    repository = f"{namespace}/deb"
    pusher.push_files(repository, "1", [VULNERABLE_DEBIAN, {"unique": namespace.encode()}])   # never scanned before
    name = image_ref(endpoints, REGION, repository, "1")
    early = api_error(va.image_report_query_path, name=name)
    assert early.status_code == 404
    assert "BXNVA0009E" in early.http_response.text and "Try again later" in early.message

    response = scanned(va, name)
    assert response.get_status_code() == 200
    report = ScanReport.from_dict(response.get_result())
    assert report.status == "FAIL"
    assert (report.os_distribution.distribution_id, report.os_distribution.version_code_name) == ("debian", "bookworm")
    cves = {v.cve_id: v for v in report.vulnerabilities}
    assert sorted(cves) == ["CVE-2023-4911", "CVE-2023-5363"]
    glibc = cves["CVE-2023-4911"].security_notices[0]
    assert glibc.notice_id == "DSA-5514-1"
    assert [(p.package_name, p.installed_version, p.fix_version) for p in glibc.vulnerable_packages] == [
        ("libc6", "2.36-9+deb12u1", "2.36-9+deb12u3")]
    assert all(v.exempt_status == "active" and not v.cve_exempt for v in report.vulnerabilities)

    status = va.image_status_query_path(name=name)
    assert status.get_status_code() == 200
    summary = ScanreportSummary.from_dict(status.get_result())
    assert (summary.status, summary.vulnerability_count, summary.exempt_vulnerability_count) == ("FAIL", 2, 0)


def test_exemptions_apply_at_once_in_every_scope(va, pusher, namespace, endpoints):
    repository = f"{namespace}/deb"
    digest = pusher.push_files(repository, "1", [VULNERABLE_DEBIAN])
    name = image_ref(endpoints, REGION, repository, "1")
    scanned(va, name)

    types = va.exempt_handler().get_result()
    assert sorted(ExemptionTypeInfo.from_dict(t).identifier for t in types) == ["configuration", "cve", "sn"]

    created = va.create_exemption_resource(resource=f"{repository}:1", issue_type="cve", issue_id="CVE-2023-4911")
    assert created.get_status_code() == 201
    exemption = Exemption.from_dict(created.get_result())
    assert (exemption.scope.scope_type, exemption.scope.namespace, exemption.scope.tag) == ("image", namespace, "1")
    assert va.create_exemption_resource(resource=f"{repository}:1", issue_type="cve",
                                        issue_id="CVE-2023-4911").get_status_code() == 200
    va.create_exemption_resource(resource=f"{repository}@{digest}", issue_type="sn", issue_id="DSA-5532-1")

    report = ScanReport.from_dict(va.image_report_query_path(name=name).get_result())
    cves = {v.cve_id: v for v in report.vulnerabilities}
    assert cves["CVE-2023-4911"].cve_exempt and cves["CVE-2023-4911"].exempt_status == "exempt"
    assert not cves["CVE-2023-5363"].cve_exempt and cves["CVE-2023-5363"].exempt_status == "exempt"
    assert cves["CVE-2023-5363"].security_notices[0].notice_exempt
    assert report.status == "OK"
    summary = ScanreportSummary.from_dict(va.image_status_query_path(name=name).get_result())
    assert (summary.vulnerability_count, summary.exempt_vulnerability_count) == (0, 2)

    # Another tag of the same digest: the tag-scoped exemption does not reach it.
    pusher.push_files(repository, "2", [VULNERABLE_DEBIAN])
    scanned(va, image_ref(endpoints, REGION, repository, "2"))
    other = ScanreportSummary.from_dict(va.image_status_query_path(name=image_ref(endpoints, REGION, repository, "2")).get_result())
    assert (other.status, other.vulnerability_count) == ("FAIL", 1)

    listed = va.list_exemption_resource(resource=f"{repository}:1").get_result()
    assert [Exemption.from_dict(e).issue_id for e in listed] == ["CVE-2023-4911"]
    applying = va.list_image_exemptions(resource=f"{repository}:1", include_scope=True).get_result()
    assert sorted(e["issue_id"] for e in applying) == ["CVE-2023-4911", "DSA-5532-1"]
    bulk = va.list_bulk_image_exemptions(body=[f"{repository}:1", f"{repository}:2"]).get_result()
    assert [len(bulk[f"{repository}:1"]), len(bulk[f"{repository}:2"])] == [2, 1]
    everything = va.list_account_exemptions().get_result()
    assert {(e["issue_type"], e["issue_id"]) for e in everything} >= {("cve", "CVE-2023-4911"), ("sn", "DSA-5532-1")}

    got = va.get_exemption_resource(resource=f"{repository}:1", issue_type="cve", issue_id="CVE-2023-4911")
    assert got.get_status_code() == 200
    assert va.delete_exemption_resource(resource=f"{repository}:1", issue_type="cve",
                                        issue_id="CVE-2023-4911").get_status_code() == 204
    assert api_error(va.get_exemption_resource, resource=f"{repository}:1", issue_type="cve",
                     issue_id="CVE-2023-4911").status_code == 404
    assert ScanReport.from_dict(va.image_report_query_path(name=name).get_result()).status == "FAIL"

    # Namespace scope covers every repository of it.
    va.create_exemption_resource(resource=namespace, issue_type="cve", issue_id="CVE-2023-4911")
    assert ScanReport.from_dict(va.image_report_query_path(name=name).get_result()).status == "OK"


def test_account_scope_exemptions(va, pusher, namespace, endpoints):
    repository = f"{namespace}/deb"
    pusher.push_files(repository, "1", [VULNERABLE_DEBIAN])
    name = image_ref(endpoints, REGION, repository, "1")
    scanned(va, name)
    try:
        assert va.create_exemption_account(issue_type="cve", issue_id="CVE-2023-4911").get_status_code() == 201
        assert va.create_exemption_account(issue_type="cve", issue_id="CVE-2023-5363").get_status_code() == 201
        account_level = va.list_exemption_account().get_result()
        assert {e["issue_id"] for e in account_level} >= {"CVE-2023-4911", "CVE-2023-5363"}
        assert all(e["scope"]["scope_type"] == "account" for e in account_level)
        got = va.get_exemption_account(issue_type="cve", issue_id="CVE-2023-4911").get_result()
        assert Exemption.from_dict(got).scope.scope_type == "account"
        assert ScanReport.from_dict(va.image_report_query_path(name=name).get_result()).status == "OK"
    finally:
        for cve in ("CVE-2023-4911", "CVE-2023-5363"):
            va.delete_exemption_account(issue_type="cve", issue_id=cve)
    assert api_error(va.delete_exemption_account, issue_type="cve", issue_id="CVE-2023-4911").status_code == 404


@pytest.mark.parametrize("issue_type, issue_id", [("bogus", "CVE-2023-4911"), ("cve", "not-a-cve"),
                                                  ("sn", "lower-case"), ("configuration", "CVE-2023-4911")])
def test_unknown_types_and_malformed_ids_are_400(va, namespace, issue_type, issue_id):
    for call, kwargs in ((va.create_exemption_account, {}), (va.create_exemption_resource, {"resource": namespace})):
        error = api_error(call, issue_type=issue_type, issue_id=issue_id, **kwargs)
        assert error.status_code == 400
        assert error.http_response.json()["errors"][0]["code"].startswith("BXNVA")
        assert error.message


def test_layers_whiteouts_alpine_unsupported_and_untagged(va, pusher, namespace, endpoints):
    repository = f"{namespace}/layers"
    # The second layer deletes dpkg's status file: no packages, nothing vulnerable.
    pusher.push_files(repository, "gone", [VULNERABLE_DEBIAN, {"var/lib/dpkg/.wh.status": b""}])
    # The second layer replaces it with a fixed libc6.
    fixed = {"var/lib/dpkg/status": dpkg_status(("libc6", "2.36-9+deb12u3", "glibc", "install ok installed"))}
    pusher.push_files(repository, "fixed", [VULNERABLE_DEBIAN, fixed])
    apk = b"C:Q1x\nP:libssl3\nV:3.1.3-r0\no:openssl\n\nP:curl\nV:8.4.0-r0\no:curl\n"
    pusher.push_files(repository, "alpine", [{"etc/os-release": ALPINE, "lib/apk/db/installed": apk}])
    pusher.push_files(repository, "plain", [{"hello.txt": b"hi"}])
    untagged = pusher.push_files(repository, None, [{"etc/os-release": ALPINE, "x": b"untagged"}])

    def status(tag):
        return ScanReport.from_dict(scanned(va, image_ref(endpoints, REGION, repository, tag)).get_result())

    assert status("gone").status == "OK"
    assert status("fixed").status == "OK"
    alpine = status("alpine")
    assert alpine.status == "FAIL" and [v.cve_id for v in alpine.vulnerabilities] == ["CVE-2023-5363"]
    assert alpine.os_distribution.distribution_id == "alpine"
    assert status("plain").status == "UNSUPPORTED"
    time.sleep(1.5)
    never = api_error(va.image_report_query_path, name=image_ref(endpoints, REGION, repository, digest=untagged))
    assert never.status_code == 404 and "BXNVA0009E" in never.http_response.text


def test_account_listings(va, pusher, namespace, endpoints):
    repository = f"{namespace}/deb"
    pusher.push_files(repository, "1", [VULNERABLE_DEBIAN])
    name = image_ref(endpoints, REGION, repository, "1")
    scanned(va, name)
    pusher.push_files(repository, "fresh", [VULNERABLE_DEBIAN, {"fresh": namespace.encode()}])
    domain_repository = image_ref(endpoints, REGION, repository)

    listing = va.account_status_query_path(repository=domain_repository).get_result()
    images = {i.name: i for i in ScanreportImageSummaryList.from_dict(listing).images}
    assert images[name].status == "FAIL" and images[name].vulnerability_count == 2
    assert images[name].created_time == 1704067200
    assert images[image_ref(endpoints, REGION, repository, "fresh")].status == "UNSCANNED"

    everything = ScanReportList.from_dict(va.account_report_query_path().get_result())
    assert everything.assessments[name].status == "FAIL"
    assert va.account_status_query_path(include_private="false").get_result() == {"images": []}


def test_deleting_all_exemptions(endpoints):
    """In eu-de, where no other test keeps exemptions (each region has its own)."""
    va = va_client(endpoints, "eu-de")
    va.create_exemption_account(issue_type="sn", issue_id="DSA-5514-1")
    before = len(va.list_account_exemptions().get_result())
    deleted = ExemptionDeletionInfo.from_dict(va.exemptions_account_delete_handler().get_result())
    assert deleted.number_of_exemptions_deleted == before >= 1
    assert va.list_account_exemptions().get_result() == []


def test_another_account_is_refused(endpoints, pusher, namespace):
    repository = f"{namespace}/deb"
    pusher.push_files(repository, "1", [VULNERABLE_DEBIAN])
    name = image_ref(endpoints, REGION, repository, "1")
    scanned(va_client(endpoints, REGION), name)
    other = endpoints["other_accounts"][0]
    stranger = va_client(endpoints, REGION, api_key=other["api_key"], account_id=other["account_id"])
    assert api_error(stranger.image_report_query_path, name=name).status_code == 404
    assert api_error(stranger.create_exemption_resource, resource=repository, issue_type="cve",
                     issue_id="CVE-2023-4911").status_code == 404
    assert name not in {i["name"] for i in stranger.account_status_query_path().get_result()["images"]}
    mismatch = va_client(endpoints, REGION, api_key=other["api_key"])      # Account header not the key's
    assert api_error(mismatch.exempt_handler).status_code == 401
