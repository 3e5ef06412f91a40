# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""VaApi: the VA v4 SDK operations it calls, with which arguments, and what it makes of the answers."""
import pytest
from ibm_cloud_sdk_core import DetailedResponse

from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError
from ansible_collections.icr.registry.plugins.module_utils.retry import RetryPolicy
from ansible_collections.icr.registry.plugins.module_utils.va_api import VaApi, is_not_scanned
from test_icr_api import FakeService, FakeSession, api_exception

NAME = "us.icr.io/team/app:1"
NOT_SCANNED = {"errors": [{"code": "BXNVA0009E", "message": "%s has not been scanned. Try again later." % NAME}]}


def va(**answers):
    service = FakeService(**answers)
    return VaApi(FakeSession(RetryPolicy(retries=1, timeout=60, sleep=lambda s: None)), "http://x", service=service), service


def ok(body, status=200):
    return DetailedResponse(response=body, status_code=status)


def test_not_scanned_is_a_404_with_vas_code_and_is_not_retried():
    client, service = va(image_status_query_path=[api_exception(404, NOT_SCANNED)])
    with pytest.raises(IcrError) as info:
        client.image_status(NAME)
    assert is_not_scanned(info.value) and info.value.code == "BXNVA0009E"
    assert service.calls == [("image_status_query_path", {"name": NAME})]
    assert not is_not_scanned(IcrError("x", status=404, code="CRN9003E"))


def test_reports_and_listings_unwrap_their_envelopes():
    client, service = va(account_status_query_path=[ok({"images": [{"name": NAME}]})],
                         account_report_query_path=[ok({"assessments": {NAME: {"status": "OK"}}})],
                         image_report_query_path=[ok({"status": "FAIL"})])
    assert client.account_status(repository="us.icr.io/team/app") == [{"name": NAME}]
    assert client.account_report() == {NAME: {"status": "OK"}}
    assert client.image_report(NAME) == {"status": "FAIL"}
    assert service.calls[0] == ("account_status_query_path", {"repository": "us.icr.io/team/app"})


def test_exemptions_by_scope_and_a_missing_one_is_none():
    client, service = va(get_exemption_account=[api_exception(404, {"errors": [{"code": "BXNVA9404E", "message": "no"}]})],
                         get_exemption_resource=[ok({"issue_id": "CVE-2023-4911"})],
                         create_exemption_resource=[ok({"issue_id": "CVE-2023-4911"}, 201)],
                         delete_exemption_account=[ok(None, 204)])
    assert client.get_exemption("cve", "CVE-2023-4911") is None
    assert client.get_exemption("cve", "CVE-2023-4911", resource="team/app") == {"issue_id": "CVE-2023-4911"}
    client.create_exemption("cve", "CVE-2023-4911", resource="team/app")
    client.delete_exemption("cve", "CVE-2023-4911")
    assert [call[0] for call in service.calls] == [
        "get_exemption_account", "get_exemption_resource", "create_exemption_resource", "delete_exemption_account"]
    assert service.calls[2][1] == {"resource": "team/app", "issue_type": "cve", "issue_id": "CVE-2023-4911"}


def test_other_failures_of_get_exemption_are_raised():
    client = va(get_exemption_account=[api_exception(500, {"errors": [{"code": "CRG9500E", "message": "no"}]})] * 2)[0]
    with pytest.raises(IcrError) as info:
        client.get_exemption("cve", "CVE-2023-4911")
    assert info.value.status == 500
