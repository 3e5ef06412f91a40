# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The module tests' FakeIcrApi must keep IcrApi's interface: a change of the real client
(a method added, removed, renamed, or a parameter changed) fails here first."""
import inspect

import pytest

from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError
from ansible_collections.icr.registry.plugins.module_utils.icr_api import IcrApi
from ansible_collections.icr.registry.plugins.module_utils.va_api import VaApi
from fake_api import FakeIcrApi, FakeVaApi, dg

REPO = "us.icr.io/team/app"


def public_methods(cls):
    return {name for name, member in inspect.getmembers(cls) if not name.startswith("_") and
            (inspect.isfunction(member) or isinstance(member, property))}


def parameters(function):
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]


def test_the_fake_has_exactly_icr_api_methods_besides_its_helpers():
    real = public_methods(IcrApi)
    assert real, "IcrApi lists no public method: the comparison would prove nothing"
    assert public_methods(FakeIcrApi) - FakeIcrApi.HELPERS == real


@pytest.mark.parametrize("name", sorted(public_methods(IcrApi)))
def test_each_method_has_icr_api_signature(name):
    assert parameters(getattr(FakeIcrApi, name)) == parameters(getattr(IcrApi, name))


def test_the_va_fake_has_exactly_va_api_methods_besides_its_helpers():
    real = public_methods(VaApi)
    assert real
    assert public_methods(FakeVaApi) - FakeVaApi.HELPERS == real


@pytest.mark.parametrize("name", sorted(public_methods(VaApi)))
def test_each_va_method_has_va_api_signature(name):
    assert parameters(getattr(FakeVaApi, name)) == parameters(getattr(VaApi, name))


def test_calls_are_recorded_with_defaults_and_split_into_reads_and_writes():
    api = FakeIcrApi()
    api.add_image(REPO, dg("a"), ["1.0"])
    api.list_image_digests([REPO])
    api.tag_image(REPO + ":1.0", target=REPO + ":2.0")
    assert api.calls == [("list_image_digests", [REPO], False), ("tag_image", REPO + ":1.0", REPO + ":2.0")]
    assert api.reads == api.calls[:1] and api.writes == api.calls[1:]
    assert api.calls_to("tag_image") == [(REPO + ":1.0", REPO + ":2.0")]


def test_an_injected_failure_is_raised_after_the_call_is_recorded():
    api = FakeIcrApi()
    api.fail("get_plan", IcrError("boom", status=500))
    with pytest.raises(IcrError, match="boom"):
        api.get_plan()
    assert api.calls == [("get_plan",)]
    api.fail("get_plan", None)
    assert api.get_plan() == "Free"
    with pytest.raises(AttributeError):
        api.fail("writes", IcrError("not an API method"))


def test_digests_and_trash_have_icr_shapes():
    api = FakeIcrApi()
    api.add_image(REPO, dg("a"), ["1.0"], created=5, size=7)
    api.tag_image(REPO + "@" + dg("a"), "us.icr.io/team/other:x")
    assert api.list_image_digests() == [{"id": dg("a"), "created": 5, "size": 7,
                                         "manifestType": "Docker Image Manifest V2, Schema 2",
                                         "repoTags": {REPO: {"1.0": {}}, "us.icr.io/team/other": {"x": {}}}}]
    assert api.delete_image(REPO + ":1.0") == {"Untagged": REPO + ":1.0"}
    assert api.list_trash("team") == [{"reference": REPO + "@" + dg("a"), "repository": REPO, "namespace": "team",
                                       "digest": dg("a"), "tags": ["1.0"], "days_until_expiry": 30}]
    assert api.restore_digest(REPO + "@" + dg("a")) == {"successful": ["1.0"], "unsuccessful": []}
    assert api.list_image_digests([REPO])[0]["repoTags"] == {REPO: {"1.0": {}}}


@pytest.mark.parametrize("call, status", [
    (lambda api: api.get_retention_policy("ghost"), 404),
    (lambda api: api.inspect_image(REPO + ":nope"), 404),
    (lambda api: api.tag_image(REPO + ":1.0", "de.icr.io/team/app:1.0"), 400),
    (lambda api: api.restore_tag(REPO + ":1.0"), 409),
])
def test_what_icr_refuses_the_fake_refuses(call, status):
    api = FakeIcrApi()
    api.add_image(REPO, dg("a"), ["1.0"])
    api.add_trash(REPO, dg("b"), ["1.0"])
    with pytest.raises(IcrError) as info:
        call(api)
    assert info.value.status == status
