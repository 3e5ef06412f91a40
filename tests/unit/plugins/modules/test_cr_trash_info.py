# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
from ansible_collections.icr.registry.plugins.modules import cr_trash_info
from fake_api import dg
from module_runner import run

REPO = "us.icr.io/team-a/app"
OLD = dg("a")


def test_trash_info_lists_entries(api):
    api.add_trash(REPO, OLD, ["1.0"])
    out = run(cr_trash_info, {"namespace": "team-a"})
    assert out.result["changed"] is False and [e["digest"] for e in out.result["images"]] == [OLD]
