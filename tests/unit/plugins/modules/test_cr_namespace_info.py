# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
from ansible_collections.icr.registry.plugins.modules import cr_namespace_info
from module_runner import run


def test_info_lists_and_filters(api):
    api.namespaces.clear()
    api.add_namespace("bbbb")
    api.add_namespace("aaaa", resource_group="rg")
    everything = run(cr_namespace_info, {}, check=True).result
    assert [n["name"] for n in everything["namespaces"]] == ["aaaa", "bbbb"] and not everything["changed"]
    assert run(cr_namespace_info, {"name": "bbbb"}).result["namespaces"] == [{"name": "bbbb"}]
    assert run(cr_namespace_info, {"name": "zzzz"}).result["namespaces"] == []
    assert api.writes == []
