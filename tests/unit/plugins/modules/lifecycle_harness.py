# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Runs a lifecycle module's main() against a fake IcrApi and returns its result."""
import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.icr.registry.plugins.module_utils.icr_module import IcrModule


class Exit(Exception):
    def __init__(self, failed, result):
        super().__init__(result)
        self.failed, self.result = failed, result


def install(monkeypatch, fake):
    """Every module.api() returns ``fake``; exit_json/fail_json raise Exit."""
    monkeypatch.setattr(IcrModule, "api", lambda self, region=None: fake)
    monkeypatch.setattr(basic.AnsibleModule, "exit_json", lambda self, **kw: (_ for _ in ()).throw(Exit(False, kw)))
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", lambda self, **kw: (_ for _ in ()).throw(Exit(True, kw)))
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, text: fake.warnings.append(text))
    return fake


def run(module, args, check=False, diff=False):
    args = dict(args, api_key="k", _ansible_check_mode=check, _ansible_diff=diff)
    with patch_module_args(args):
        with pytest.raises(Exit) as info:
            module.main()
    return info.value
