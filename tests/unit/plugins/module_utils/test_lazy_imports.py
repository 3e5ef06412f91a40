# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The heavy libraries load when a task needs them, not with the module (issue #19), and a
missing one is still reported as a missing requirement."""
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from ansible_collections.icr.registry.plugins.module_utils import docker_engine, sdk_client
from ansible_collections.icr.registry.plugins.module_utils.docker_engine import DockerEngine
from ansible_collections.icr.registry.plugins.module_utils.errors import MissingLibrary
from ansible_collections.icr.registry.plugins.module_utils.icr_api import IcrApi
from ansible_collections.icr.registry.plugins.module_utils.va_api import VaApi

COLLECTIONS = str(Path(sdk_client.__file__).parents[5])  # the folder holding ansible_collections/


@pytest.mark.parametrize("module", ["cr_image", "cr_image_copy", "cr_namespace_info", "cr_va_info", "cr_login"])
def test_importing_a_module_loads_neither_ibms_sdk_nor_the_docker_sdk(module):
    code = ("import sys; import ansible_collections.icr.registry.plugins.modules.%s; import json; "
            "print(json.dumps([n for n in ('ibm_cloud_sdk_core', 'ibm_container_registry', 'docker') "
            "if n in sys.modules]))" % module)
    out = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=COLLECTIONS),
                         capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == []


@pytest.fixture
def without(monkeypatch):
    """``without(name)``: importing ``name`` fails, as when the package is not installed."""
    def hide(*names):
        for name in names:
            monkeypatch.setitem(sys.modules, name, None)
    return hide


def test_a_missing_docker_sdk_is_a_missing_library(without):
    without("docker", "docker.errors", "docker.utils", "docker.utils.build")
    with pytest.raises(MissingLibrary) as caught:
        DockerEngine("unix:///x")
    assert caught.value.library == docker_engine.DOCKER_REQUIREMENTS and "docker" in caught.value.import_error


@pytest.mark.parametrize("client, sdk_module", [(IcrApi, "ibm_container_registry.container_registry_v1"),
                                                (VaApi, "ibm_container_registry.vulnerability_advisor_v4")])
def test_a_missing_ibm_sdk_is_a_missing_library(without, client, sdk_module):
    without(sdk_module)
    session = SimpleNamespace(policy=None, account_id="a", authenticator=None)
    with pytest.raises(MissingLibrary) as caught:
        client(session, "http://127.0.0.1:1")
    assert caught.value.library == sdk_client.SDK_REQUIREMENTS


def test_a_missing_sdk_core_fails_the_session_as_a_missing_library(without):
    without("ibm_cloud_sdk_core")
    with pytest.raises(MissingLibrary):
        sdk_client.require_sdk()
