# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
import pytest

from image_harness import FakeApi
from module_runner import install


@pytest.fixture
def api(monkeypatch):
    """The image modules' fake ICR API (tests of other modules define their own ``api``)."""
    return install(monkeypatch, FakeApi())
