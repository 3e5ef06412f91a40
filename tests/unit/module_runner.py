# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Run a module's main() in-process with a fake ICR API and catch its result.

``install(monkeypatch, fake)`` makes every ``IcrModule.api()`` return ``fake`` and turns
``exit_json``/``fail_json`` into an ``Exit`` exception; ``run(module, args)`` calls the
module's ``main()`` with those arguments and returns that ``Exit``.
"""
import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.icr.registry.plugins.module_utils.icr_module import IcrModule


class Exit(Exception):
    """What exit_json (failed=False) or fail_json (failed=True) was called with."""

    def __init__(self, failed, result):
        super().__init__(result)
        self.failed, self.result = failed, result


def raise_exit(self, **result):
    raise Exit(False, result)


def raise_fail(self, **result):
    raise Exit(True, result)


def patch_exits(monkeypatch):
    monkeypatch.setattr(basic.AnsibleModule, "exit_json", raise_exit)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", raise_fail)


def install(monkeypatch, fake):
    """Every module.api() returns ``fake``; warnings land in ``fake.warnings`` if it has one."""
    monkeypatch.setattr(IcrModule, "api", lambda self, region=None: fake)
    patch_exits(monkeypatch)
    if hasattr(fake, "warnings"):
        monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, text: fake.warnings.append(text))
    return fake


def run(module, args, check=False, diff=False):
    args = dict(args, api_key="k", _ansible_check_mode=check, _ansible_diff=diff)
    with patch_module_args(args):
        with pytest.raises(Exit) as info:
            module.main()
    return info.value
