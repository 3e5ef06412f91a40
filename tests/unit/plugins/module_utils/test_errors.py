# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError, one_line


def test_message_only():
    assert str(IcrError("Namespace not found")) == "Namespace not found"


def test_all_details_in_order():
    err = IcrError("Deleting namespace ns1 failed", status=404, code="CRN0001E", transaction_id="abc")
    assert str(err) == "Deleting namespace ns1 failed (HTTP 404, code CRN0001E, transaction id abc)"


def test_only_known_details():
    assert str(IcrError("Boom", transaction_id="t1")) == "Boom (transaction id t1)"
    assert str(IcrError("Boom", status=503)) == "Boom (HTTP 503)"


def test_message_is_one_line():
    err = IcrError("Traceback:\n  line 1\n\tline 2  ")
    assert "\n" not in str(err)
    assert str(err) == "Traceback: line 1 line 2"
    assert one_line("a\r\nb") == "a b"


def test_as_dict_and_retry_after():
    err = IcrError("x", status=429, code=None, transaction_id="t", retry_after=3)
    assert err.as_dict() == {"status": 429, "code": None, "transaction_id": "t"}
    assert err.retry_after == 3
