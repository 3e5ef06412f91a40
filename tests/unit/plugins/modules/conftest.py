# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
import pytest

from fake_api import FakeIcrApi
from module_runner import install


@pytest.fixture
def api(monkeypatch):
    """The fake ICR API every module.api() returns: an account with the namespace ``team``."""
    fake = install(monkeypatch, FakeIcrApi())
    fake.add_namespace("team")
    return fake
