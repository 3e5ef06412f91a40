# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
from ansible_collections.icr.registry.plugins.modules import cr_plan_info
from module_runner import run


def test_plan_info_reports_plan_and_region(api):
    out = run(cr_plan_info, {"region": "eu-central"})
    assert out.result == {"changed": False, "plan": "Free", "region": "eu-de"}
