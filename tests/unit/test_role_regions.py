"""The roles know the regions the modules know: every current and former name of
``endpoints.REGIONS``, each with its region's public domain (roles/*/vars/main.yml)."""
from pathlib import Path

import pytest
import yaml

from ansible_collections.icr.registry.plugins.module_utils.endpoints import REGIONS, get_region

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("role", ["build_push", "cross_region_copy"])
def test_role_region_maps_match_the_modules(role):
    role_vars = yaml.safe_load((ROOT / "roles" / role / "vars" / "main.yml").read_text())
    assert role_vars[role + "_domains"] == {region.name: region.domain for region in REGIONS}
    former = role_vars[role + "_former_regions"]
    assert former == {name: region.name for region in REGIONS for name in region.former_names}
    for name, current in former.items():
        assert get_region(name.upper()).name == current
