# -*- coding: utf-8 -*-
# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""IcrModule: the module base every ``cr_*`` module stands on (composition, not inheritance).

    class NamespaceWorker:
        def __init__(self, module):          # read and check the options; no request yet
            self.module = module
            self.name = module.params["name"]

        def __call__(self):                  # do the work; return the result dict
            before = self.module.api().get_namespace(self.name)
            ...
            return self.module.result(changed, before=before, after=after, namespace=after)

    def main():
        module = IcrModule(argument_spec=dict(name=dict(type="str", required=True)),
                           supports_check_mode=True)
        module.run(NamespaceWorker)

``IcrModule`` merges the shared options (doc fragment ``icr.registry.icr``), resolves the
region and its endpoints, hands out clients lazily (one per run), keeps every secret in
``no_log_values`` and turns an ``IcrError`` into one ``fail_json`` line without a traceback.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.icr.registry.plugins.module_utils.errors import IcrError, MissingLibrary
from ansible_collections.icr.registry.plugins.module_utils.icr_context import ICR_COMMON_ARGS, IcrContext
from ansible_collections.icr.registry.plugins.module_utils.interrupts import ControllerWatch, Interrupted, install, restore


class IcrModule(IcrContext):
    """Wraps ``AnsibleModule``; see the module docstring for the usage pattern. Options,
    endpoints, sign-in and clients come from ``IcrContext`` (shared with the lookup plugins)."""

    def __init__(self, argument_spec=None, module_class=AnsibleModule, **kwargs):
        spec = dict(ICR_COMMON_ARGS)
        spec.update(argument_spec or {})
        self._module = module_class(argument_spec=spec, **kwargs)
        try:
            IcrContext.__init__(self, self._module.params, self._module.no_log_values)
        except IcrError as err:
            self.fail_from(err)

    # -------------------------------------------------------------- AnsibleModule proxies

    @property
    def check_mode(self):
        return self._module.check_mode

    @property
    def diff_mode(self):
        return self._module._diff

    @property
    def ansible_module(self):
        """The wrapped AnsibleModule, for what this wrapper does not proxy."""
        return self._module

    def exit_json(self, **result):
        self._module.exit_json(**result)

    def fail_json(self, msg, **result):
        self._module.fail_json(msg=msg, **result)

    def warn(self, text):
        self._module.warn(text)

    def fail_from(self, err):
        """One line: what failed, HTTP status, ICR code, transaction id; no traceback.
        A missing Python library is reported the way every Ansible module reports it."""
        if isinstance(err, MissingLibrary):
            self.fail_json(msg=missing_required_lib(err.library), exception=err.import_error)
        self.fail_json(msg=str(err), error=err.as_dict())

    def run(self, worker_class):
        """Build ``worker_class(self)``, call it, and exit with the dict it returns.
        An IcrError raised on the way becomes one ``fail_from`` line. A stop signal, or a
        controller that has gone, interrupts the work (``interrupts``): finally blocks and
        Ansible's temporary-folder cleanup run, and the task fails in one line."""
        replaced = install()
        watch = ControllerWatch()
        watch.start()
        try:
            result = worker_class(self)()
        except IcrError as err:
            self.fail_from(err)
            return
        except Interrupted as stop:
            self.fail_json(msg=str(stop))
            return
        finally:
            watch.stop()
            restore(replaced)
        self.exit_json(**result)

    def result(self, changed, before=None, after=None, **fields):
        """A result dict: ``changed`` and ``fields``, plus ``diff`` (``before``/``after``)
        when diff mode is on."""
        result = dict(fields, changed=bool(changed))
        if self.diff_mode:
            result["diff"] = {"before": before, "after": after}
        return result
