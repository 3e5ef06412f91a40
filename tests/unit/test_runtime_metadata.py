"""meta/runtime.yml must put every module in the `icr` action group (and only modules that exist)."""
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_action_group_lists_every_module():
    runtime = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())
    group = runtime["action_groups"]["icr"]
    modules = sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("*.py") if p.stem != "__init__")
    assert modules, "no modules found"
    assert sorted(group) == modules


def _pinned_core(requirements):
    """major.minor of the ansible-core pinned in a requirements or constraints file."""
    for line in (ROOT / requirements).read_text().splitlines():
        if line.startswith("ansible-core=="):
            return tuple(int(part) for part in line.split("==")[1].split(".")[:2])
    raise AssertionError("no ansible-core pin in %s" % requirements)


def test_requires_ansible_names_only_the_tested_range():
    """`make sanity` runs the oldest (requirements-oldest.txt) and the newest (constraints.txt)
    ansible-core: requires_ansible must start at the one and end before the next minor release
    after the other, and each needs its ignore file (no file for an untested version)."""
    oldest, newest = _pinned_core("requirements-oldest.txt"), _pinned_core("constraints.txt")
    runtime = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())
    assert runtime["requires_ansible"] == ">=%d.%d.0,<%d.%d" % (oldest + (newest[0], newest[1] + 1))
    ignores = sorted(p.name for p in (ROOT / "tests" / "sanity").glob("ignore-*.txt"))
    assert ignores == sorted({"ignore-%d.%d.txt" % oldest, "ignore-%d.%d.txt" % newest})
