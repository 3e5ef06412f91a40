# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
import pytest

from ansible_collections.icr.registry.plugins.module_utils import icr_context
from fake_api import FakeIcrApi
from fake_registry import Registries
from module_runner import install


@pytest.fixture
def api(monkeypatch):
    """The fake ICR API every module.api() returns: an account with the namespace ``team``."""
    fake = install(monkeypatch, FakeIcrApi())
    fake.add_namespace("team")
    return fake


@pytest.fixture
def va(monkeypatch):
    """The fake Vulnerability Advisor every module.va() returns (module.api() too)."""
    from ansible_collections.icr.registry.plugins.module_utils.icr_module import IcrModule
    from fake_api import FakeVaApi
    fake = install(monkeypatch, FakeVaApi())
    monkeypatch.setattr(IcrModule, "va", lambda self, region=None: fake)
    return fake


@pytest.fixture
def registries(api, monkeypatch):
    """Every RegistryClient the module makes is a FakeRegistry of its host (cr_image_copy, cr_image_sync)."""
    monkeypatch.delenv("ICR_ENDPOINTS", raising=False)
    monkeypatch.delenv("ICR_REGISTRY_HOST", raising=False)
    fakes = Registries()
    monkeypatch.setattr(icr_context, "RegistryClient", fakes.client)
    return fakes
